import { SupervisorConsole } from '../sdk/switchboard.js';
import { $, el as makeEl, show, showError, supervisorPage } from '../ui.js';

const LANGUAGES = { en: 'English', zh: 'Chinese' };
const MATCHES = { smart: 'smart', contains: 'contains', exact: 'exact' };
const CJK = /[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]/;

let entries = []; // as GET /api/kb returns them
let stats = { entries: [], unanswered: [] };
let editing = null; // {language, id} of the entry the form edits; null when adding

const key = (language, id) => `${language}/${id}`;
const findEntry = (language, id) => entries.find((e) => e.language === language && e.id === id);

/** An element (ui.js `el`), marked Chinese when its text is. */
function el(tag, opts = {}, ...children) {
  const e = makeEl(tag, opts, ...children);
  if (opts.text != null && CJK.test(opts.text)) e.lang = 'zh';
  return e;
}

function status(text) {
  $('#kb-status').textContent = text;
}

const { api } = supervisorPage({
  Console: SupervisorConsole,
  what: 'The knowledge base',
  load: () => Promise.all([loadEntries(), loadStats()]),
  reset: () => { entries = []; closeForm(); },
});

// ---- entries ----

async function loadEntries() {
  entries = await api('GET', '/api/kb');
  entries.sort((a, b) => a.language.localeCompare(b.language) || a.id.localeCompare(b.id));
  renderEntries();
  renderStats(); // marks entries deleted since
}

function matchesSearch(e, words) {
  const hay = [e.id, e.question, e.answer, e.category, ...(e.alternates ?? []), ...(e.keywords ?? [])]
    .join('\n').toLowerCase();
  return words.every((w) => hay.includes(w));
}

function actionButton(label, kind, e) {
  const b = el('button', {
    cls: kind === 'delete' ? 'danger small' : 'secondary small',
    text: label,
    attrs: { type: 'button', 'aria-label': `${label} ${e.id} (${e.language})` },
    data: { [kind]: '', language: e.language, id: e.id },
  });
  return b;
}

function renderEntries() {
  const lang = $('#kb-language').value;
  const words = $('#kb-search').value.trim().toLowerCase().split(/\s+/).filter(Boolean);
  const shown = entries.filter((e) => (!lang || e.language === lang) && matchesSearch(e, words));
  const tbody = $('#kb-table tbody');
  if (!shown.length) {
    const td = el('td', { cls: 'empty', text: entries.length ? 'No entry matches.' : 'The knowledge base is empty.' });
    td.colSpan = 7;
    tbody.replaceChildren(el('tr', {}, td));
  } else {
    tbody.replaceChildren(...shown.map((e) => {
      const alternates = e.alternates?.length ?? 0;
      const question = el('td', { cls: 'question' }, el('span', { text: e.question }));
      if (alternates) {
        question.append(' ', el('span', {
          cls: 'hint',
          text: `(+${alternates} other ${alternates === 1 ? 'way' : 'ways'} to ask)`,
          attrs: { title: e.alternates.join('\n') },
        }));
      }
      const answer = el('td', { cls: 'answer' }, el('span', { cls: 'clamp', text: e.answer, attrs: { title: e.answer } }));
      const actions = el('td', { cls: 'action' }, actionButton('Edit', 'edit', e), actionButton('Delete', 'delete', e));
      return el('tr', { data: { entryId: e.id, language: e.language, match: e.match ?? 'smart' } },
        el('td', { cls: 'id' }, el('code', { text: e.id })),
        el('td', { cls: 'language', text: e.language, attrs: { title: LANGUAGES[e.language] ?? e.language } }),
        question,
        answer,
        el('td', { cls: 'category', text: e.category ?? '' }),
        el('td', { cls: 'match', text: MATCHES[e.match] ?? e.match ?? 'smart' }),
        actions);
    }));
  }
  $('#kb-count').textContent = shown.length === entries.length
    ? `${entries.length} ${entries.length === 1 ? 'entry' : 'entries'}`
    : `${shown.length} of ${entries.length} entries`;
}

$('#kb-language').addEventListener('change', renderEntries);
$('#kb-search').addEventListener('input', renderEntries);

// ---- the add / edit form ----

const lines = (text) => text.split('\n').map((s) => s.trim()).filter(Boolean);

/** Opens the form: `entry` null for a blank new one, else its fields; `edit` to replace it. */
function openForm(entry, { edit = false } = {}) {
  const e = entry ?? {};
  editing = edit ? { language: e.language, id: e.id } : null;
  const panel = $('#entry-panel');
  panel.dataset.mode = edit ? 'edit' : 'add';
  $('#entry-heading').textContent = edit ? `Edit ${e.id} (${e.language})` : 'Add an entry';
  const filter = $('#kb-language').value;
  $('#entry-language').value = e.language ?? (filter || 'en');
  $('#entry-id').value = e.id ?? '';
  $('#entry-question').value = e.question ?? '';
  $('#entry-alternates').value = (e.alternates ?? []).join('\n');
  $('#entry-answer').value = e.answer ?? '';
  $('#entry-keywords').value = (e.keywords ?? []).join('\n');
  $('#entry-category').value = e.category ?? '';
  $('#entry-match').value = e.match ?? 'smart';
  $('#entry-language').disabled = edit;
  $('#entry-id').readOnly = edit;
  $('#entry-save').textContent = edit ? 'Save changes' : 'Add entry';
  show('#entry-error', false);
  show(panel, true);
  panel.scrollIntoView({ block: 'start' });
  (edit ? $('#entry-question') : e.id ? $('#entry-question') : $('#entry-id')).focus();
}

function closeForm() {
  editing = null;
  show('#entry-panel', false);
}

function formEntry() {
  return {
    id: $('#entry-id').value.trim(),
    language: $('#entry-language').value,
    question: $('#entry-question').value.trim(),
    alternates: lines($('#entry-alternates').value),
    answer: $('#entry-answer').value.trim(),
    keywords: lines($('#entry-keywords').value),
    category: $('#entry-category').value.trim(),
    match: $('#entry-match').value,
  };
}

$('#kb-add').addEventListener('click', () => openForm(null));
$('#entry-cancel').addEventListener('click', closeForm);

$('#entry-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const entry = formEntry();
  show('#entry-error', false);
  if (!editing && findEntry(entry.language, entry.id)) {
    const ok = await confirmDialog(`An entry ${entry.id} (${entry.language}) exists already. Replace it with this one?`, 'Replace');
    if (!ok) return;
  }
  $('#entry-save').disabled = true;
  try {
    await api('PUT', '/api/kb', { body: JSON.stringify(entry) });
    const wasEditing = !!editing;
    closeForm();
    await loadEntries();
    status(`${wasEditing ? 'Saved' : 'Added'} ${entry.id} (${entry.language}). The bot uses it now.`);
  } catch (e) {
    if (e.status === 401) return;
    $('#entry-error').textContent = `Not saved: ${e.message}`;
    show('#entry-error', true);
  } finally {
    $('#entry-save').disabled = false;
  }
});

// ---- confirmation ----

/** A modal yes / no question; resolves true for yes. */
function confirmDialog(text, yesLabel) {
  const d = $('#confirm-dialog');
  $('#confirm-text').textContent = text;
  $('#confirm-yes').textContent = yesLabel;
  d.returnValue = '';
  return new Promise((resolve) => {
    d.addEventListener('close', () => resolve(d.returnValue === 'yes'), { once: true });
    d.showModal();
  });
}

$('#kb-table').addEventListener('click', async (ev) => {
  const edit = ev.target.closest('button[data-edit]');
  if (edit) {
    const e = findEntry(edit.dataset.language, edit.dataset.id);
    if (e) openForm(e, { edit: true });
    return;
  }
  const del = ev.target.closest('button[data-delete]');
  if (!del) return;
  const { language, id } = del.dataset;
  const ok = await confirmDialog(`Delete ${id} (${language})? The bot stops using it at once.`, 'Delete');
  if (!ok) return;
  showError(null);
  try {
    await api('DELETE', `/api/kb/${encodeURIComponent(language)}/${encodeURIComponent(id)}`);
    if (editing && key(editing.language, editing.id) === key(language, id)) closeForm();
    await loadEntries();
    status(`Deleted ${id} (${language}).`);
  } catch (e) {
    if (e.status !== 401) showError(`Not deleted: ${e.message}`);
  }
});

// ---- try a question ----

$('#ask-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const q = $('#ask-q').value.trim();
  const language = $('#ask-language').value;
  if (!q) return;
  const box = $('#ask-result');
  box.dataset.state = 'pending';
  delete box.dataset.entryId;
  delete box.dataset.confidence;
  $('#ask-verdict').textContent = 'Asking…';
  show('#ask-answer', false);
  $('#ask-candidates').replaceChildren();
  show(box, true);
  $('#ask-btn').disabled = true;
  try {
    const r = await api('GET', `/api/kb/ask?language=${encodeURIComponent(language)}&q=${encodeURIComponent(q)}`);
    const confidence = Number(r.confidence) || 0;
    box.dataset.entryId = r.id ?? '';
    box.dataset.confidence = confidence.toFixed(3);
    const verdict = $('#ask-verdict');
    verdict.replaceChildren();
    if (r.id) {
      verdict.append('The bot would answer with ', el('code', { text: r.id }), ` (confidence ${confidence.toFixed(2)}):`);
      $('#ask-answer').textContent = r.answer ?? '';
      if (CJK.test(r.answer ?? '')) $('#ask-answer').lang = 'zh';
      else $('#ask-answer').removeAttribute('lang');
      show('#ask-answer', true);
    } else {
      verdict.append(`No entry matches well enough (best ${confidence.toFixed(2)}): the bot would not answer from the knowledge base.`);
    }
    $('#ask-candidates').replaceChildren(...(r.candidates ?? []).map(([id, score]) => {
      const s = Number(score) || 0;
      const e = findEntry(language, id);
      const meter = el('span', { cls: 'meter', attrs: { role: 'img', 'aria-label': `score ${s.toFixed(2)}` } });
      const bar = el('span');
      bar.style.width = `${Math.round(Math.max(0, Math.min(1, s)) * 100)}%`;
      meter.append(bar);
      return el('li', { data: { entryId: id, score: s.toFixed(3) } },
        el('code', { cls: 'candidate-id', text: id }), ' ', meter, ' ',
        el('span', { cls: 'candidate-score', text: s.toFixed(2) }),
        ...(e ? [' ', el('span', { cls: 'hint', text: e.question })] : []));
    }));
    box.dataset.state = 'done';
  } catch (e) {
    box.dataset.state = 'failed';
    if (e.status !== 401) $('#ask-verdict').textContent = `Could not ask: ${e.message}`;
  } finally {
    $('#ask-btn').disabled = false;
  }
});

// ---- import ----

function importFormat(file, text) {
  const chosen = $('#import-format').value;
  if (chosen !== 'auto') return chosen;
  const name = file.name.toLowerCase();
  if (name.endsWith('.json')) return 'json';
  if (name.endsWith('.csv')) return 'csv';
  return text.trimStart().startsWith('[') ? 'json' : 'csv';
}

$('#import-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const file = $('#import-file').files[0];
  if (!file) return;
  const replace = $('#import-replace').checked;
  const result = $('#import-result');
  const rejected = $('#import-rejected');
  if (replace) {
    const ok = await confirmDialog(`Replace the knowledge base with ${file.name}? Entries of the file's languages that it does not list are deleted.`, 'Replace');
    if (!ok) return;
  }
  show(rejected, false);
  result.textContent = 'Importing…';
  delete result.dataset.outcome;
  show(result, true);
  $('#import-btn').disabled = true;
  try {
    const text = await file.text();
    const format = importFormat(file, text);
    const params = new URLSearchParams({ format, replace: String(replace), language: $('#import-language').value });
    const r = await api('POST', `/api/kb/import?${params}`, {
      body: text,
      contentType: format === 'csv' ? 'text/csv' : 'application/json',
    });
    result.dataset.outcome = 'imported';
    result.textContent = `Imported ${file.name}: ${r.added} added, ${r.updated} updated, ${r.removed} removed; ${r.entries} entries now.`;
    await loadEntries();
    status(`Imported ${file.name}.`);
  } catch (e) {
    if (e.status === 401) return;
    result.dataset.outcome = e.data?.rejected ? 'refused' : 'failed';
    result.textContent = `Not imported: ${e.message}`;
    const rows = e.data?.rejected ?? [];
    $('#import-rejected tbody').replaceChildren(...rows.map((r) => el('tr', { data: { row: String(r.row), id: r.id ?? '' } },
      el('td', { cls: 'row', text: String(r.row) }),
      el('td', { cls: 'id' }, r.id ? el('code', { text: r.id }) : el('span', { cls: 'hint', text: '(none)' })),
      el('td', { cls: 'reason', text: r.reason }))));
    show(rejected, rows.length > 0);
  } finally {
    $('#import-btn').disabled = false;
  }
});

// ---- statistics ----

async function loadStats() {
  stats = await api('GET', '/api/kb/stats');
  renderStats();
}

function renderStats() {
  const rows = [...(stats.entries ?? [])].sort((a, b) => b.hits - a.hits || b.rejected - a.rejected || a.id.localeCompare(b.id));
  const tbody = $('#stats-table tbody');
  if (!rows.length) {
    const td = el('td', { cls: 'empty', text: 'The bot has not answered anything yet.' });
    td.colSpan = 4;
    tbody.replaceChildren(el('tr', {}, td));
  } else {
    tbody.replaceChildren(...rows.map((s) => {
      const known = findEntry(s.language, s.id);
      const id = el('td', { cls: 'id' }, el('code', { text: s.id }));
      if (!known) id.append(' ', el('span', { cls: 'hint', text: '(deleted)' }));
      const rejected = el('td', { cls: 'rejected', text: String(s.rejected) });
      const tr = el('tr', { data: { entryId: s.id, language: s.language } },
        id,
        el('td', { cls: 'language', text: s.language }),
        el('td', { cls: 'hits', text: String(s.hits) }),
        rejected);
      if (s.rejected > 0 && s.rejected * 4 >= s.hits) tr.classList.add('alerted');
      return tr;
    }));
  }
  const groups = stats.unanswered ?? [];
  $('#unanswered').replaceChildren(...groups.map((g, i) => {
    const examples = el('ul', { cls: 'unanswered-examples' }, ...(g.examples ?? []).map((x) => el('li', { text: `“${x}”` })));
    const add = el('button', {
      cls: 'secondary small',
      text: 'Add as entry',
      attrs: { type: 'button', 'aria-label': `Add an entry for questions like “${g.examples?.[0] ?? ''}”` },
      data: { addUnanswered: String(i) },
    });
    return el('li', { cls: 'unanswered-group', data: { language: g.language, count: String(g.count) } },
      el('span', { cls: 'unanswered-count', text: `${g.count} ${g.count === 1 ? 'time' : 'times'}` }), ' ',
      el('span', { cls: 'badge', text: g.language, attrs: { title: LANGUAGES[g.language] ?? g.language } }), ' ',
      add, examples);
  }));
}

$('#unanswered').addEventListener('click', (ev) => {
  const b = ev.target.closest('button[data-add-unanswered]');
  if (!b) return;
  const g = stats.unanswered?.[Number(b.dataset.addUnanswered)];
  if (!g) return;
  const [question = '', ...alternates] = g.examples ?? [];
  openForm({ language: g.language, question, alternates });
});

$('#stats-refresh').addEventListener('click', async () => {
  showError(null);
  try { await Promise.all([loadEntries(), loadStats()]); } catch (e) { if (e.status !== 401) showError(e); }
});
