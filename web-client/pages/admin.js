import { SupervisorConsole } from '../sdk/switchboard.js';
import { $, el, show, showError, supervisorPage } from '../ui.js';

const ACTIONS = {
  'user.create': 'account created', 'user.update': 'account changed', 'user.delete': 'account deleted',
  'queue.create': 'queue created', 'queue.update': 'queue changed', 'queue.delete': 'queue deleted',
};
let users = [];
let queues = [];
let editingUser = null; // username, or null when adding
let editingQueue = null; // the stored rules being edited, or null when adding

const status = (text) => { $('#admin-status').textContent = text; };
const levels = (select, { none } = {}) => {
  if (none) select.append(el('option', { text: none, attrs: { value: '' } }));
  for (let i = 1; i <= 5; i++) select.append(el('option', { text: String(i), attrs: { value: String(i) } }));
  return select;
};
levels($('#queue-min'));

const { api: rest } = supervisorPage({
  Console: SupervisorConsole,
  what: 'Administration',
  load: () => Promise.all([loadUsers(), loadQueues(), loadAudit()]),
  reset: () => { closeUser(); closeQueue(); },
});
// JSON bodies.
const api = (method, path, body) => rest(method, path, body === undefined ? {} : { body: JSON.stringify(body) });

function confirmDelete(text) {
  return new Promise((resolve) => {
    const d = $('#confirm-dialog');
    $('#confirm-text').textContent = text;
    d.addEventListener('close', () => resolve(d.returnValue === 'yes'), { once: true });
    d.returnValue = '';
    d.showModal();
  });
}

const fmtSkills = (skills = {}) => Object.entries(skills).map(([s, p]) => `${s} ${p}`).join(', ');

// ---- users ----

async function loadUsers() {
  users = await api('GET', '/api/admin/users');
  const tbody = $('#users-table tbody');
  tbody.replaceChildren(...users.map((u) => el('tr', { data: { username: u.username, role: u.role } },
    el('td', { cls: 'username' }, el('code', { text: u.username })),
    el('td', { cls: 'name', text: u.name }),
    el('td', { cls: 'role', text: u.role }),
    el('td', { cls: 'skills', text: u.role === 'agent' ? (fmtSkills(u.skills) || 'none') : '—' }),
    el('td', { cls: 'action' },
      el('button', { cls: 'secondary small', text: 'Edit', attrs: { type: 'button', value: u.username, 'aria-label': `Edit ${u.username}` }, data: { editUser: '' } }),
      ' ',
      el('button', { cls: 'danger small', text: 'Delete', attrs: { type: 'button', value: u.username, 'aria-label': `Delete ${u.username}` }, data: { deleteUser: '' } })))));
}

function skillRow(name = '', level = 3) {
  const input = el('input', { cls: 'skill-name', attrs: { 'aria-label': 'Skill', maxlength: '64', pattern: '[a-z0-9._\\-]+', required: '' } });
  input.value = name;
  const select = levels(el('select', { cls: 'skill-level', attrs: { 'aria-label': 'Proficiency' } }));
  select.value = String(level);
  const remove = el('button', { cls: 'secondary small skill-remove', text: 'Remove', attrs: { type: 'button' } });
  const li = el('li', { cls: 'skill-row' }, input, ' ', select, ' ', remove);
  remove.addEventListener('click', () => li.remove());
  return li;
}

function syncRole() {
  const agent = $('#user-role').value === 'agent';
  $('#skills-fieldset').disabled = !agent;
  show('#skills-fieldset', agent);
}
$('#user-role').addEventListener('change', syncRole);

function openUser(u) {
  editingUser = u?.username ?? null;
  $('#user-panel').dataset.mode = u ? 'edit' : 'add';
  $('#user-heading').textContent = u ? `Edit ${u.username}` : 'Add a person';
  $('#user-username').value = u?.username ?? '';
  $('#user-username').readOnly = !!u;
  $('#user-name').value = u?.name ?? '';
  $('#user-role').value = u?.role ?? 'agent';
  $('#user-password').value = '';
  $('#user-password').required = !u;
  $('#user-password').placeholder = u ? 'unchanged' : '';
  $('#skills-list').replaceChildren(...Object.entries(u?.skills ?? {}).map(([s, p]) => skillRow(s, p)));
  show('#user-error', false);
  syncRole();
  show('#user-panel', true);
  (u ? $('#user-name') : $('#user-username')).focus();
}

function closeUser() { show('#user-panel', false); editingUser = null; }

$('#user-add').addEventListener('click', () => openUser(null));
$('#user-cancel').addEventListener('click', closeUser);
$('#skill-add').addEventListener('click', () => {
  const row = skillRow();
  $('#skills-list').append(row);
  row.querySelector('input').focus();
});

$('#user-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const username = $('#user-username').value.trim();
  const body = { name: $('#user-name').value.trim() || username, role: $('#user-role').value };
  if ($('#user-password').value) body.password = $('#user-password').value;
  if (body.role === 'agent') {
    body.skills = {};
    for (const row of $('#skills-list').querySelectorAll('.skill-row')) {
      const name = row.querySelector('.skill-name').value.trim();
      if (name) body.skills[name] = Number(row.querySelector('.skill-level').value);
    }
  }
  $('#user-save').disabled = true;
  try {
    await api('PUT', `/api/admin/users/${encodeURIComponent(username)}`, body);
    status(editingUser ? `${username}: saved.` : `${username}: created.`);
    closeUser();
    await Promise.all([loadUsers(), loadAudit()]);
  } catch (e) {
    if (e.status !== 401) { $('#user-error').textContent = e.message; show('#user-error', true); }
  } finally {
    $('#user-save').disabled = false;
  }
});

$('#users-table').addEventListener('click', async (ev) => {
  const edit = ev.target.closest('button[data-edit-user]');
  if (edit) { openUser(users.find((u) => u.username === edit.value)); return; }
  const del = ev.target.closest('button[data-delete-user]');
  if (!del) return;
  if (!(await confirmDelete(`Delete the account ${del.value}? Their calls and tickets stay; they are logged out.`))) return;
  showError(null);
  try {
    await api('DELETE', `/api/admin/users/${encodeURIComponent(del.value)}`);
    status(`${del.value}: deleted.`);
    await Promise.all([loadUsers(), loadAudit()]);
  } catch (e) { if (e.status !== 401) showError(e); }
});

// ---- queues ----

function overflowText(q) {
  return (q.overflow ?? []).map((s) => {
    const who = [s.min_proficiency ? `proficiency ${s.min_proficiency}+` : null, s.queue ? `${s.queue} agents` : null].filter(Boolean).join(' and ');
    return `after ${s.after_s} s: ${who}`;
  }).join('; ') || 'none';
}

async function loadQueues() {
  queues = await api('GET', '/api/admin/queues');
  $('#queues-table tbody').replaceChildren(...queues.map((q) => {
    const limits = [q.max_waiting ? `${q.max_waiting} waiting` : null, q.max_wait_s ? `${q.max_wait_s} s wait` : null,
      q.overflow_when_no_agents ? 'turned away when nobody can take it' : null].filter(Boolean).join(', ') || 'none';
    const hours = q.hours ? `${(q.hours.open ?? []).join(', ')} (${q.hours.timezone || 'UTC'})` : 'always open';
    return el('tr', { data: { queue: q.name } },
      el('td', { cls: 'name' }, el('code', { text: q.name })),
      el('td', { cls: 'skill', text: q.skill || q.name }),
      el('td', { cls: 'min', text: String(q.min_proficiency) }),
      el('td', { cls: 'steps', text: overflowText(q) }),
      el('td', { cls: 'limits', text: limits }),
      el('td', { cls: 'hours', text: hours }),
      el('td', { cls: 'waiting', text: String(q.waiting ?? 0) }),
      el('td', { cls: 'action' },
        el('button', { cls: 'secondary small', text: 'Edit', attrs: { type: 'button', value: q.name, 'aria-label': `Edit queue ${q.name}` }, data: { editQueue: '' } }),
        ' ',
        el('button', { cls: 'danger small', text: 'Delete', attrs: { type: 'button', value: q.name, 'aria-label': `Delete queue ${q.name}` }, data: { deleteQueue: '' } })));
  }));
}

function stepRow(step = { after_s: 30 }) {
  const after = el('input', { cls: 'step-after', attrs: { type: 'number', min: '0', 'aria-label': 'After (seconds)', required: '' } });
  after.value = String(step.after_s ?? 30);
  const min = levels(el('select', { cls: 'step-min', attrs: { 'aria-label': 'Lowest proficiency' } }), { none: 'same proficiency' });
  min.value = step.min_proficiency ? String(step.min_proficiency) : '';
  const queue = el('select', { cls: 'step-queue', attrs: { 'aria-label': 'Also agents of' } },
    el('option', { text: 'no other queue', attrs: { value: '' } }),
    ...queues.filter((q) => q.name !== editingQueue?.name).map((q) => el('option', { text: `${q.name} agents`, attrs: { value: q.name } })));
  queue.value = step.queue ?? '';
  const remove = el('button', { cls: 'secondary small step-remove', text: 'Remove', attrs: { type: 'button' } });
  const li = el('li', { cls: 'step-row' }, 'After ', after, ' s: ', min, ' ', queue, ' ', remove);
  remove.addEventListener('click', () => li.remove());
  return li;
}

function openQueue(q) {
  editingQueue = q ?? null;
  $('#queue-panel').dataset.mode = q ? 'edit' : 'add';
  $('#queue-heading').textContent = q ? `Edit queue ${q.name}` : 'Add a queue';
  $('#queue-name').value = q?.name ?? '';
  $('#queue-name').readOnly = !!q;
  $('#queue-skill').value = q?.skill ?? '';
  $('#queue-min').value = String(q?.min_proficiency ?? 1);
  $('#queue-sl').value = String(q?.service_level_s ?? 20);
  $('#queue-max-waiting').value = q?.max_waiting ?? '';
  $('#queue-max-wait').value = q?.max_wait_s ?? '';
  $('#queue-no-agents').checked = q ? !!q.overflow_when_no_agents : true;
  $('#queue-timezone').value = q?.hours?.timezone ?? '';
  $('#queue-hours').value = (q?.hours?.open ?? []).join('\n');
  $('#steps-list').replaceChildren(...(q?.overflow ?? []).map(stepRow));
  show('#queue-error', false);
  show('#queue-panel', true);
  (q ? $('#queue-min') : $('#queue-name')).focus();
}

function closeQueue() { show('#queue-panel', false); editingQueue = null; }

$('#queue-add').addEventListener('click', () => openQueue(null));
$('#queue-cancel').addEventListener('click', closeQueue);
$('#step-add').addEventListener('click', () => $('#steps-list').append(stepRow()));

const numberOrNull = (v) => (v.trim() === '' ? null : Number(v));

$('#queue-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const name = $('#queue-name').value.trim();
  // Fields this form does not show are kept as stored.
  const rules = { ...(editingQueue ?? {}) };
  delete rules.waiting;
  Object.assign(rules, {
    name,
    skill: $('#queue-skill').value.trim() || null,
    min_proficiency: Number($('#queue-min').value),
    service_level_s: Number($('#queue-sl').value || 20),
    max_waiting: numberOrNull($('#queue-max-waiting').value),
    max_wait_s: numberOrNull($('#queue-max-wait').value),
    overflow_when_no_agents: $('#queue-no-agents').checked,
    overflow: [...$('#steps-list').querySelectorAll('.step-row')].map((row) => ({
      after_s: Number(row.querySelector('.step-after').value),
      min_proficiency: numberOrNull(row.querySelector('.step-min').value),
      queue: row.querySelector('.step-queue').value || null,
    })),
  });
  const open = $('#queue-hours').value.split('\n').map((l) => l.trim()).filter(Boolean);
  rules.hours = open.length ? { timezone: $('#queue-timezone').value.trim() || null, open } : null;
  $('#queue-save').disabled = true;
  try {
    await api('PUT', `/api/admin/queues/${encodeURIComponent(name)}`, rules);
    status(editingQueue ? `Queue ${name}: saved.` : `Queue ${name}: created.`);
    closeQueue();
    await Promise.all([loadQueues(), loadAudit()]);
  } catch (e) {
    if (e.status !== 401) { $('#queue-error').textContent = e.message; show('#queue-error', true); }
  } finally {
    $('#queue-save').disabled = false;
  }
});

$('#queues-table').addEventListener('click', async (ev) => {
  const edit = ev.target.closest('button[data-edit-queue]');
  if (edit) { openQueue(queues.find((q) => q.name === edit.value)); return; }
  const del = ev.target.closest('button[data-delete-queue]');
  if (!del) return;
  if (!(await confirmDelete(`Delete the queue ${del.value}?`))) return;
  showError(null);
  try {
    await api('DELETE', `/api/admin/queues/${encodeURIComponent(del.value)}`);
    status(`Queue ${del.value}: deleted.`);
    await Promise.all([loadQueues(), loadAudit()]);
  } catch (e) { if (e.status !== 401) showError(e); }
});

// ---- audit ----

const fmtValue = (v) => {
  if (v == null) return '—';
  if (Array.isArray(v)) return v.length && v.every((x) => x && 'after_s' in x) ? overflowText({ overflow: v }) : (v.length ? JSON.stringify(v) : 'none');
  if (typeof v === 'object') {
    const values = Object.values(v);
    if (!values.length) return 'none';
    return values.every((x) => typeof x === 'number') ? fmtSkills(v) : JSON.stringify(v);
  }
  return String(v);
};

function changeText(e) {
  if (e.action.endsWith('.delete')) return 'deleted';
  const before = e.detail?.before ?? {};
  const after = e.detail?.after ?? {};
  const created = e.action.endsWith('.create');
  const parts = [];
  for (const k of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (k === 'username' || JSON.stringify(before[k]) === JSON.stringify(after[k])) continue;
    if (created && after[k] == null) continue;
    parts.push(created ? `${k}: ${fmtValue(after[k])}` : `${k}: ${fmtValue(before[k])} → ${fmtValue(after[k])}`);
  }
  if (e.detail?.password_changed) parts.push('password changed');
  return parts.join('; ') || '—';
}

async function loadAudit() {
  const rows = await api('GET', '/api/admin/audit?limit=200');
  $('#audit-table tbody').replaceChildren(...rows.map((e) => el('tr', { data: { auditId: String(e.id), action: e.action } },
    el('td', { cls: 'when', text: new Date(e.at).toLocaleString() }),
    el('td', { cls: 'actor', text: e.actor }),
    el('td', { cls: 'action', text: ACTIONS[e.action] ?? e.action }),
    el('td', { cls: 'target' }, el('code', { text: e.target })),
    el('td', { cls: 'change', text: changeText(e) }))));
}

$('#audit-refresh').addEventListener('click', async () => {
  showError(null);
  try { await Promise.all([loadUsers(), loadQueues(), loadAudit()]); } catch (e) { if (e.status !== 401) showError(e); }
});
