import { SupervisorConsole } from '../sdk/switchboard.js';
import {
  $, show, sdkOptions, showError, fmtDuration, fmtSigned, emotionBadge, renderUtterance, renderChatMessage,
  AGENT_STATES, CALL_STATES, CHANNELS, ESCALATIONS, HANDOFF_REASONS, keepSession,
} from '../ui.js';

const sup = new SupervisorConsole(sdkOptions());
window.sb = sup;
let receivedAt = 0; // when the shown dashboard arrived; durations tick from there
let openCall = null; // the call whose transcript #sup-transcript shows
const alerted = new Set(); // calls with a sentiment alert, highlighted until they end
const MAX_ALERTS = 50;

function row(attrs, cells) {
  const tr = document.createElement('tr');
  for (const [k, v] of Object.entries(attrs)) tr.dataset[k] = v;
  for (const [cls, content] of cells) {
    const td = document.createElement('td');
    td.className = cls;
    if (content instanceof Node) td.append(content);
    else td.textContent = content;
    tr.append(td);
  }
  return tr;
}

function fill(tbody, rows, columns, emptyText) {
  if (rows.length) tbody.replaceChildren(...rows);
  else tbody.replaceChildren(row({}, [['empty', emptyText]]));
  if (!rows.length) tbody.firstChild.firstChild.colSpan = columns;
}

function listenButton(callId, state, channel) {
  const b = document.createElement('button');
  b.dataset.listen = callId;
  const on = sup.listening.has(callId);
  b.dataset.listening = String(on);
  b.textContent = on ? 'Stop' : 'Listen';
  b.className = on ? 'danger' : 'secondary';
  // A chat has no audio to hear; its transcript panel shows the messages.
  b.disabled = !on && (state !== 'connected' || channel === 'chat');
  if (channel === 'chat') b.title = 'A chat has no audio: open its transcript to read it';
  return b;
}

function transcriptButton(callId) {
  const b = document.createElement('button');
  b.dataset.transcript = callId;
  const on = openCall === callId;
  b.dataset.watching = String(on);
  b.textContent = on ? 'Close transcript' : 'Transcript';
  b.className = 'secondary';
  return b;
}

/** Whisper / Barge toggles for a call this supervisor listens to. */
function superviseButtons(c) {
  const entry = sup.listening.get(c.call_id);
  if (!entry || c.state !== 'connected') return [];
  return [['whisper', 'Whisper'], ['barge', 'Barge in']].map(([mode, label]) => {
    const b = document.createElement('button');
    b.dataset.supervise = mode;
    b.dataset.call = c.call_id;
    const on = entry.mode === mode;
    b.dataset.active = String(on);
    b.textContent = on ? `Stop ${label.toLowerCase()}` : label;
    b.className = on ? 'danger' : 'secondary';
    b.title = mode === 'whisper' ? 'Only the agent hears you' : 'The agent and the customer hear you';
    return b;
  });
}

function actions(c) {
  const f = document.createDocumentFragment();
  f.append(listenButton(c.call_id, c.state, c.channel ?? 'voice'), ...superviseButtons(c), transcriptButton(c.call_id));
  return f;
}

function listenersText(c) {
  const modes = new Map((c.supervisors || []).map((s) => [s.supervisor_id, s.mode]));
  return c.listeners.map((id) => {
    const m = modes.get(id);
    return m === 'whisper' ? `${id} (whispering)` : m === 'barge' ? `${id} (barged in)` : id;
  }).join(', ');
}

/** The customer's mood: "frustrated (−0.42)" in the label's colour; '' before they spoke. */
function sentimentBadge(s) {
  if (!s) return '';
  const run = s.negative_run === 1 ? '1 negative utterance' : `${s.negative_run} negative utterances`;
  return emotionBadge(s.label, {
    text: `${s.label} (${fmtSigned(s.trend)})`,
    title: `rolling valence ${Number(s.trend).toFixed(2)}; ${run} in a row`,
  });
}

function callerText(c = {}) {
  const name = c.name || 'Anonymous';
  return c.topic ? `${name} (${c.topic})` : name;
}

// Sorting (a click on a column heading) and filtering, kept across dashboards.
const sorting = { calls: { key: null, dir: 1 }, agents: { key: null, dir: 1 } };
const STATE_ORDER = ['with_bot', 'queued', 'overflow', 'ringing', 'connected', 'scheduled', 'available', 'on_call', 'wrap_up', 'away'];
function sortValue(item, key, names) {
  if (key === 'caller') return callerText(item.caller).toLowerCase();
  if (key === 'agent') return (item.agent ? names(item.agent) : '').toLowerCase();
  if (key === 'sentiment') return item.sentiment ? Number(item.sentiment.trend) : Infinity;
  if (key === 'state') return STATE_ORDER.indexOf(item.state);
  const v = item[key];
  return typeof v === 'string' ? v.toLowerCase() : (v ?? '');
}
function sorted(list, which, names) {
  const { key, dir } = sorting[which];
  if (!key) return list;
  return [...list].sort((a, b) => {
    const x = sortValue(a, key, names);
    const y = sortValue(b, key, names);
    return (x < y ? -1 : x > y ? 1 : 0) * dir;
  });
}
function setupSorting(table, which) {
  for (const th of table.querySelectorAll('th[data-sort]')) {
    const b = document.createElement('button');
    b.type = 'button';
    b.append(...th.childNodes);
    th.append(b);
    th.setAttribute('aria-sort', 'none');
    b.addEventListener('click', () => {
      const s = sorting[which];
      s.dir = s.key === th.dataset.sort ? -s.dir : 1;
      s.key = th.dataset.sort;
      for (const o of table.querySelectorAll('th[data-sort]')) o.setAttribute('aria-sort', 'none');
      th.setAttribute('aria-sort', s.dir > 0 ? 'ascending' : 'descending');
      render();
    });
  }
}
setupSorting($('#calls-table'), 'calls');
setupSorting($('#agents-table'), 'agents');
for (const el of ['#calls-filter', '#calls-state-filter', '#agents-state-filter']) $(el).addEventListener('input', () => render());

function render() {
  const d = sup.dashboard;
  if (!d) return;
  // People by name everywhere: agents as in the agents table, waiting contacts by caller.
  const agentName = (id) => d.agents.find((a) => a.agent_id === id)?.name || id;
  const callerOf = (id) => d.calls.find((c) => c.call_id === id)?.caller;
  const find = $('#calls-filter').value.trim().toLowerCase();
  const callState = $('#calls-state-filter').value;
  const calls = sorted(d.calls.filter((c) => (!callState || c.state === callState)
    && (!find || [c.call_id, callerText(c.caller), c.agent ? agentName(c.agent) : '', ...Object.values(c.caller?.metadata ?? {})]
      .some((t) => String(t).toLowerCase().includes(find)))), 'calls', agentName);
  $('#calls-count').textContent = calls.length === d.calls.length ? `(${d.calls.length})` : `(${calls.length} of ${d.calls.length})`;
  fill($('#calls-table tbody'), calls.map((c) => {
    const channel = c.channel ?? 'voice';
    const attrs = { callId: c.call_id, state: c.state, channel, mode: sup.listening.get(c.call_id)?.mode ?? '' };
    const tr = row(attrs, [
      ['id', c.call_id],
      ['channel', CHANNELS[channel] ?? channel],
      ['state', CALL_STATES[c.state] ?? c.state],
      ['escalation', c.escalation ? (ESCALATIONS[c.escalation] ?? c.escalation) : ''],
      ['caller', callerText(c.caller)],
      ['agent', c.agent ? agentName(c.agent) : ''],
      ['dur', ''],
      ['listeners', listenersText(c)],
      ['sentiment', sentimentBadge(c.sentiment)],
      ['action', actions(c)],
    ]);
    tr.querySelector('td.dur').dataset.base = String(c.duration_s);
    tr.querySelector('td.channel').dataset.channel = channel;
    if (c.escalation) {
      const td = tr.querySelector('td.escalation');
      td.dataset.escalation = c.escalation;
      td.title = HANDOFF_REASONS[c.escalation] ?? c.escalation;
    }
    if (c.sentiment) {
      const td = tr.querySelector('td.sentiment');
      td.dataset.emotion = c.sentiment.label;
      td.dataset.trend = Number(c.sentiment.trend).toFixed(2);
      td.dataset.negativeRun = String(c.sentiment.negative_run);
    }
    if (alerted.has(c.call_id)) {
      tr.classList.add('alerted');
      tr.dataset.alert = 'true';
    }
    return tr;
  }), 10, d.calls.length ? 'No call matches the filter' : 'No calls');
  const agentState = $('#agents-state-filter').value;
  const agents = sorted(d.agents.filter((a) => !agentState || a.state === agentState), 'agents', agentName);
  $('#agents-count').textContent = agents.length === d.agents.length ? `(${d.agents.length})` : `(${agents.length} of ${d.agents.length})`;
  fill($('#agents-table tbody'), agents.map((a) => {
    const tr = row({ agentId: a.agent_id, state: a.state }, [
      ['name', a.name],
      ['state', AGENT_STATES[a.state] ?? a.state],
      ['since', ''],
    ]);
    tr.querySelector('td.since').dataset.base = String(a.state_s);
    return tr;
  }), 3, d.agents.length ? 'No agent matches the filter' : 'No agents logged in');
  fill($('#queue-table tbody'), d.queue.map((q) => {
    const tr = row({ callId: q.call_id }, [
      ['pos', String(q.position)],
      ['id', callerText(callerOf(q.call_id))],
      ['waiting', ''],
    ]);
    tr.querySelector('td.waiting').dataset.base = String(q.waiting_s);
    return tr;
  }), 3, 'Nobody waiting');
  tick();
}

// Only the clock cells change between dashboards, so buttons are not rebuilt under the cursor.
function tick() {
  const d = sup.dashboard;
  if (!d || document.body.dataset.stale === 'true') return;
  const extra = (Date.now() - receivedAt) / 1000;
  for (const td of document.querySelectorAll('#main td[data-base]')) {
    td.textContent = fmtDuration(Number(td.dataset.base) + extra);
  }
}
setInterval(tick, 1000);

sup.on('dashboard', (d) => {
  receivedAt = Date.now();
  const live = (id) => d.calls.some((c) => c.call_id === id);
  // Stop listening to calls that vanished, in case listen_stopped was missed.
  for (const id of [...sup.listening.keys()]) {
    if (!live(id)) sup.forget(id);
  }
  for (const id of [...alerted]) {
    if (!live(id)) alerted.delete(id);
  }
  // An ended call's transcript stays readable until closed; the server sends no more.
  if (openCall && !live(openCall)) $('#sup-transcript-status').textContent = 'call ended';
  for (const b of document.querySelectorAll('#alerts button[data-open-transcript]')) {
    if (!live(b.dataset.openTranscript)) b.remove();
  }
  render();
});
sup.on('listening', render);
sup.on('supervising', render);

// ---- transcripts ----

async function openTranscript(id) {
  if (openCall === id) return;
  if (openCall) closeTranscript();
  openCall = id;
  const panel = $('#sup-transcript');
  panel.dataset.callId = id;
  $('#sup-transcript-call').textContent = id;
  $('#sup-transcript-status').textContent = 'live';
  $('#sup-transcript-list').replaceChildren();
  $('#sup-chat-list').replaceChildren();
  show(panel, true);
  render();
  try {
    await sup.watchTranscript(id); // history and live events arrive as 'utterance' events
  } catch (e) {
    showError(e);
    if (openCall === id) closeTranscript();
  }
}

function closeTranscript() {
  const id = openCall;
  openCall = null;
  show('#sup-transcript', false);
  delete $('#sup-transcript').dataset.callId;
  $('#sup-transcript-list').replaceChildren();
  $('#sup-chat-list').replaceChildren();
  render();
  if (id) sup.unwatchTranscript(id).catch(() => {}); // the call may be gone already
}

sup.on('utterance', ({ call_id, utterance }) => {
  if (call_id !== openCall) return;
  renderUtterance($('#sup-transcript-list'), utterance, { customer: 'Customer', agent: 'Agent' });
});
sup.on('chat_message', ({ call_id, message }) => {
  if (call_id !== openCall) return;
  renderChatMessage($('#sup-chat-list'), message, { customer: 'Customer', agent: 'Agent', bot: 'Assistant' });
});
$('#sup-transcript-close').onclick = closeTranscript;

// ---- alerts ----

function span(cls, text) {
  const s = document.createElement('span');
  s.className = cls;
  s.textContent = text;
  return s;
}

// A short two-note chime for a new alert (Web Audio: no sound file), unless turned off.
let chime = null;
function playChime() {
  if (!$('#alert-sound').checked) return;
  try {
    chime ??= new AudioContext();
    chime.resume?.();
    const t = chime.currentTime;
    for (const [f, at] of [[880, 0], [660, 0.18]]) {
      const o = chime.createOscillator();
      const g = chime.createGain();
      o.frequency.value = f;
      g.gain.setValueAtTime(0.0001, t + at);
      g.gain.exponentialRampToValueAtTime(0.08, t + at + 0.02);
      g.gain.exponentialRampToValueAtTime(0.0001, t + at + 0.16);
      o.connect(g).connect(chime.destination);
      o.start(t + at);
      o.stop(t + at + 0.17);
    }
    chimes += 1;
  } catch { /* no audio here: the list still shows it */ }
}
let chimes = 0;
window.sbChimes = () => chimes;

function countNew() {
  const n = document.querySelectorAll('#alerts li.alert-item:not([data-acked="true"])').length;
  const badge = $('#alerts-new');
  badge.dataset.count = String(n);
  badge.textContent = n ? `(${n} new)` : '';
  $('#alerts-ack-all').disabled = n === 0;
}

function acknowledge(li) {
  li.dataset.acked = 'true';
  li.querySelector('button[data-ack]')?.remove();
  li.append(span('alert-acked', ` acknowledged ${new Date().toLocaleTimeString()}`));
  countNew();
}

sup.on('sentiment_alert', (a) => {
  alerted.add(a.call_id);
  const d = sup.dashboard;
  const call = d?.calls.find((c) => c.call_id === a.call_id);
  const agent = a.agent ? (d?.agents.find((x) => x.agent_id === a.agent)?.name || a.agent) : null;
  const li = document.createElement('li');
  li.className = 'alert-item';
  li.dataset.callId = a.call_id;
  li.dataset.acked = 'false';
  const open = document.createElement('button');
  open.className = 'secondary';
  open.dataset.openTranscript = a.call_id;
  open.textContent = 'Transcript';
  const ack = document.createElement('button');
  ack.className = 'secondary';
  ack.dataset.ack = a.call_id;
  ack.textContent = 'Acknowledge';
  li.append(
    span('alert-time', new Date().toLocaleTimeString()), ' ',
    span('alert-call', call ? callerText(call.caller) : a.call_id), ' ',
    span('alert-agent', agent ? `with ${agent}` : 'no agent'), ': ',
    span('alert-count', `${a.negative_utterances} negative utterances in a row`),
    span('alert-trend', ` (trend ${fmtSigned(a.trend)})`), ' ',
    span('alert-text', `“${a.last_text}”`), ' ',
    open, ack,
  );
  const list = $('#alerts');
  list.prepend(li);
  while (list.children.length > MAX_ALERTS) list.lastElementChild.remove();
  countNew();
  playChime();
  render();
});

$('#alerts').addEventListener('click', (ev) => {
  const b = ev.target.closest('button[data-open-transcript]');
  if (b) openTranscript(b.dataset.openTranscript);
  const k = ev.target.closest('button[data-ack]');
  if (k) acknowledge(k.closest('li'));
});
$('#alerts-ack-all').addEventListener('click', () => {
  for (const li of document.querySelectorAll('#alerts li.alert-item:not([data-acked="true"])')) acknowledge(li);
});
sup.on('error', (e) => showError(`${e.message} (${e.code})`));
// Disconnected: what is shown is as of the last dashboard; it stops counting and says so
// until the connection is back (the SDK reconnects by itself).
function stale(why) {
  document.body.dataset.stale = 'true';
  const at = receivedAt ? new Date(receivedAt).toLocaleTimeString() : 'before the connection dropped';
  $('#stale-banner').textContent = `${why}: the calls and agents below are as of ${at} and no longer update.`;
  $('#stale-banner').hidden = false;
}
function fresh() {
  delete document.body.dataset.stale;
  $('#stale-banner').hidden = true;
}
sup.on('reconnecting', () => stale('Connection to the server lost, reconnecting'));
sup.on('resumed', fresh);
sup.on('close', () => stale('Disconnected from the server'));

$('#calls-table').addEventListener('click', async (ev) => {
  const t = ev.target.closest('button[data-transcript]');
  if (t) {
    const id = t.dataset.transcript;
    if (openCall === id) closeTranscript();
    else openTranscript(id);
    return;
  }
  const m = ev.target.closest('button[data-supervise]');
  if (m) {
    showError(null);
    const mode = m.dataset.active === 'true' ? 'listen' : m.dataset.supervise;
    try { await sup.supervise(m.dataset.call, mode); } catch (e) { showError(e); }
    render();
    return;
  }
  const b = ev.target.closest('button[data-listen]');
  if (!b) return;
  const id = b.dataset.listen;
  showError(null);
  try {
    if (sup.listening.has(id)) sup.stopListening(id);
    else await sup.listen(id, $('#listen-audio'));
  } catch (e) { showError(e); }
});

// The KPI strip: today's figures (docs/kpis.md), since local midnight.
const KPIS = [
  ['service_level', 'Service level', (v, k) => `${Math.round(v * 100)}% in ${k.service_level_s} s`],
  ['asa_s', 'Avg. speed of answer', (v) => `${v.toFixed(1)} s`],
  ['abandonment_rate', 'Abandoned', (v, k) => `${Math.round(v * 100)}% (${k.abandoned_short} within 5 s)`],
  ['longest_wait_s', 'Longest wait now', (v) => `${Math.round(v)} s`],
  ['offered', 'Offered', (v) => String(v)],
  ['handled', 'Handled', (v) => String(v)],
  ['aht_s', 'Avg. handle time', (v) => `${Math.round(v)} s`],
  ['containment_rate', 'Bot containment', (v) => `${Math.round(v * 100)}%`],
  ['occupancy', 'Occupancy', (v) => `${Math.round(v * 100)}%`],
  ['csat', 'Satisfaction', (v, k) => `${v.toFixed(1)} / 5 (${k.csat_count})`],
];
async function refreshKpis(token) {
  const midnight = new Date();
  midnight.setHours(0, 0, 0, 0);
  try {
    const r = await fetch(`/api/kpis?from=${midnight.getTime()}`, { headers: { Authorization: `Bearer ${token}` } });
    if (!r.ok) return;
    const k = (await r.json()).overall;
    const strip = $('#kpi-strip');
    strip.replaceChildren(...KPIS.map(([name, label, fmt]) => {
      const el = document.createElement('span');
      el.className = 'kpi';
      el.dataset.kpi = name;
      const v = k[name];
      el.dataset.value = v ?? '';
      const l = document.createElement('span');
      l.className = 'kpi-label';
      l.textContent = label;
      const val = document.createElement('span');
      val.className = 'kpi-value';
      val.textContent = v == null ? '—' : fmt(v, k);
      el.append(l, val);
      return el;
    }));
    strip.dataset.updated = String(Date.now());
  } catch { /* the next refresh tries again */ }
}

// Logged in (by the form, or again from the stored session token after a reload or a
// server restart): the dashboard shows and the KPIs refresh with the session's token.
let kpiTimer = null;
function loggedIn(who) {
  $('#sup-name').textContent = `— ${who.name || who.username}`;
  show('#login-form', false);
  show('#main', true);
  fresh();
  render();
  refreshKpis(who.token);
  clearInterval(kpiTimer);
  kpiTimer = setInterval(() => refreshKpis(sup.user?.token ?? who.token), 15_000);
}
keepSession(sup, 'switchboard.supervisor.token', loggedIn);
