import { AgentPhone } from '../sdk/switchboard.js';
import { OfferAlert } from '../alert.js';
import {
  $, show, sdkOptions, showError, fmtDuration, fillMetadata, renderUtterance, renderChatMessage,
  renderHandoff, AGENT_STATES, CHANNELS, keepSession, chatForm,
} from '../ui.js';
// Ring, notify and badge the tab title while a contact rings for this agent.
const offerAlert = new OfferAlert();
window.sbAlert = offerAlert;
/** Supervisors speaking on the current call: supervisor id -> whisper | barge. */
const speaking = new Map();

const phone = new AgentPhone({
  ...sdkOptions(),
  audioElement: $('#remote-audio'),
  videoElement: $('#remote-video'),
});
window.sb = phone;

let state = 'offline';
let offerDeadline = 0; // ms timestamp when the current offer times out
let caller = null; // the caller of the current or last call
let callStartedAt = 0;
let transcriptCall = null; // the call whose transcript #transcript shows
let chatCall = null; // the contact whose messages #chat-log shows
let shownOffer = null; // the offer #offer-panel was filled from
const SPEAKERS = { customer: 'Customer', agent: 'You' };
const chatNames = (c = caller) => ({ customer: c?.name || 'Customer', agent: 'You', bot: 'Assistant' });

/** Empty the transcript when it belongs to another call than `callId`. */
// "on Mon 7 Dec, 10:30" in the agent's own time zone, for a callback asked for a time.
function callbackTime(cb) {
  if (!cb?.at) return '';
  const t = new Date(cb.at);
  if (Number.isNaN(t.getTime())) return `at ${cb.at}`;
  return 'on ' + t.toLocaleString(undefined, {
    weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit',
  });
}

function transcriptFor(callId) {
  if (transcriptCall === callId) return;
  transcriptCall = callId;
  $('#transcript').replaceChildren();
}

/** Empty the chat when it belongs to another contact than `callId`. */
function chatFor(callId) {
  if (chatCall === callId) return;
  chatCall = callId;
  $('#chat-log').replaceChildren();
  $('#chat-input').value = '';
}

function render() {
  $('#agent-state').dataset.state = state;
  $('#agent-state').textContent = AGENT_STATES[state] ?? state;
  const avail = $('#avail-btn');
  avail.textContent = state === 'away' ? 'Go available' : 'Go away';
  avail.disabled = !['away', 'available', 'wrap_up'].includes(state);

  const offering = !!phone.offer && state !== 'on_call';
  show('#offer-panel', offering);
  show('#call-panel', state === 'on_call');
  show('#wrapup-panel', state === 'wrap_up');
  if (offering && shownOffer !== phone.offer) {
    shownOffer = phone.offer;
    const c = phone.offer.caller ?? {};
    const channel = phone.offer.channel ?? 'voice';
    $('#offer-kind').textContent = { chat: 'chat', callback: 'callback' }[channel] ?? 'call';
    const cb = phone.offer.callback;
    show('#offer-callback', channel === 'callback' && !!cb);
    $('#offer-callback-contact').textContent = cb?.contact ?? '';
    $('#offer-callback-note').textContent = cb?.note ? `(“${cb.note}”)` : '';
    $('#offer-callback-at').textContent = callbackTime(cb);
    $('#offer-channel').dataset.channel = channel;
    $('#offer-channel').textContent = CHANNELS[channel] ?? channel;
    $('#offer-name').textContent = c.name || (channel === 'chat' ? 'Anonymous customer' : 'Anonymous caller');
    $('#offer-topic').textContent = c.topic || 'no topic given';
    fillMetadata($('#offer-meta'), c.metadata);
    renderHandoff($('#offer-handoff'), phone.offer.handoff, { names: chatNames(c) });
  }
  if (!offering) shownOffer = null;
  $('#offer-panel').dataset.ringing = String(offering);
  if (offering) {
    const c = phone.offer.caller ?? {};
    const kind = { chat: 'chat', callback: 'callback' }[phone.offer.channel] ?? 'call';
    offerAlert.start({ title: `Incoming ${kind}`, body: [c.name, c.topic].filter(Boolean).join(' — ') || 'A customer' });
  } else {
    offerAlert.stop();
  }
  $('#logout-btn').disabled = ['on_call', 'ringing'].includes(state) || offering;
  if (state === 'on_call' && caller) {
    const channel = phone.contact?.channel ?? 'voice';
    const callback = channel === 'callback';
    const chat = channel === 'chat' || callback; // no media either way
    $('#call-panel').dataset.channel = channel;
    $('#call-kind').textContent = callback ? 'callback' : chat ? 'chat' : 'call';
    const cb = phone.contact?.callback;
    show('#call-callback', callback && !!cb);
    $('#call-callback-contact').textContent = cb?.contact ?? '';
    $('#call-callback-note').textContent = cb?.note ? `(“${cb.note}”)` : '';
    $('#call-callback-at').textContent = callbackTime(cb);
    const tr = phone.contact?.transfer;
    show('#call-transfer', !!tr);
    $('#call-transfer').textContent = tr
      ? `Transferred by ${tr.from_agent}${tr.from_queue ? ` from ${tr.from_queue}` : ''}${tr.note ? `: “${tr.note}”` : ''}`
      : '';
    show('#chat-panel', !callback);
    $('#call-channel').dataset.channel = channel;
    $('#call-channel').textContent = CHANNELS[channel] ?? channel;
    $('#call-name').textContent = caller.name || (chat ? 'Anonymous customer' : 'Anonymous caller');
    $('#call-topic').textContent = caller.topic || 'no topic given';
    fillMetadata($('#call-meta'), caller.metadata);
    $('#mute-btn').hidden = chat;
    $('#transcript-panel').hidden = chat;
    $('#hangup-btn').textContent = callback ? 'Done' : chat ? 'End chat' : 'Hang up';
    $('#chat-heading').textContent = chat ? 'Chat' : 'Messages (the customer may type during the call)';
    if ($('#call-handoff').dataset.callId !== phone.contact?.call_id) {
      $('#call-handoff').dataset.callId = phone.contact?.call_id ?? '';
      renderHandoff($('#call-handoff'), phone.contact?.handoff, { conversation: false });
    }
  }
  if (state !== 'on_call') {
    $('#peer-muted').hidden = true;
    $('#peer-connection').hidden = true;
    speaking.clear();
    $('#supervision').hidden = true;
    $('#remote-video').hidden = true;
    $('#mute-btn').dataset.muted = 'false';
    $('#mute-btn').textContent = 'Mute';
  }
}

// The video transceiver always exists; show the picture only once the customer sends one.
$('#remote-video').addEventListener('resize', (ev) => { ev.target.hidden = ev.target.videoWidth === 0; });

const AWAY_REASONS = {
  missed_call: 'You were set away: a call rang unanswered.',
  connection_lost: 'You were set away: your connection dropped.',
};
phone.on('agent_lost', () => {
  $('#away-reason').dataset.lostCall = 'true';
});
phone.on('agent_state', (m) => {
  const why = $('#away-reason');
  why.hidden = !(m.state === 'away' && AWAY_REASONS[m.reason]);
  why.dataset.reason = m.reason ?? '';
  why.textContent = (AWAY_REASONS[m.reason] ?? '') +
    (m.reason === 'connection_lost' && why.dataset.lostCall === 'true' ? ' Your call went back to the queue.' : '');
  if (m.state !== 'away') delete why.dataset.lostCall;
  if (m.state === 'on_call' && state !== 'on_call') callStartedAt = Date.now();
  if (m.state === 'on_call' && m.call_id) {
    transcriptFor(m.call_id); // also when accepted elsewhere
    chatFor(m.call_id);
    if (phone.contact?.call_id === m.call_id) caller = phone.contact.caller;
  }
  state = m.state;
  render();
});
phone.on('call_offered', (m) => {
  offerDeadline = Date.now() + m.timeout_s * 1000;
  render();
});
phone.on('offer_withdrawn', render);
// Why the last contact ended, for the wrap-up.
const ENDED = {
  customer_hung_up: 'The customer hung up.', agent_hung_up: 'You ended it.',
  customer_disconnected: 'The customer was disconnected.', media_failed: 'The connection failed.',
  server_shutdown: 'The server is restarting.',
};
phone.on('call_state', (m) => {
  if (m.state === 'connected' && m.call_id === phone.callId && !callStartedAt) callStartedAt = Date.now();
  if (m.state === 'ended' && m.call_id === lastContact) {
    $('#wrapup-reason').textContent = ENDED[m.reason] ?? 'The call has ended.';
    $('#wrapup-reason').dataset.reason = m.reason ?? '';
  }
});
phone.on('transferred', (m) => {
  if (m.call_id !== lastContact) return;
  $('#wrapup-reason').textContent = `You transferred it to ${m.queue}.`;
  $('#wrapup-reason').dataset.reason = 'transferred';
});
phone.on('peer_muted', (m) => { $('#peer-muted').hidden = !m.muted; });
phone.on('peer_connection', (m) => { $('#peer-connection').hidden = m.connected; });
// Supervisors on this call who speak: whisper (only you hear them) or barge (all do).
phone.on('supervision', (m) => {
  if (m.mode === 'listen') speaking.delete(m.supervisor_id);
  else speaking.set(m.supervisor_id, m.mode);
  const el = $('#supervision');
  el.hidden = speaking.size === 0;
  el.dataset.mode = [...speaking.values()].includes('barge') ? 'barge' : (speaking.size ? 'whisper' : 'listen');
  el.textContent = [...speaking].map(([who, mode]) =>
    mode === 'whisper' ? `${who} is whispering to you` : `${who} has joined the call`).join('; ');
});
// Partials, finals and emotions of both parties, folded by the SDK (phone.transcript).
phone.on('utterance', ({ call_id, utterance }) => {
  transcriptFor(call_id);
  renderUtterance($('#transcript'), utterance, SPEAKERS);
});
// Typed messages of the contact: the handoff's conversation first, then live ones (the SDK's
// phone.conversation); your own come back from the server and are shown then.
phone.on('chat_message', ({ call_id, message }) => {
  chatFor(call_id);
  renderChatMessage($('#chat-log'), message, chatNames(phone.contact?.call_id === call_id ? phone.contact.caller : caller));
});
phone.on('error', (e) => showError(`${e.message} (${e.code})`));
let loggingOut = false;
phone.on('close', () => {
  state = 'offline';
  offerAlert.stop();
  if (loggingOut) {
    loggingOut = false;
    show('#main', false);
    show('#login-form', true);
    $('#login-pass').value = '';
  }
  render();
});
$('#logout-btn').onclick = () => {
  loggingOut = true;
  session.logout();
};
// Keyboard: Alt+A accept, Alt+D decline, Alt+M mute, Alt+H hang up (by key position, so
// layouts where Alt changes the character work too).
document.addEventListener('keydown', (ev) => {
  if (!ev.altKey || ev.ctrlKey || ev.metaKey) return;
  const button = { KeyA: '#accept-btn', KeyD: '#decline-btn', KeyM: '#mute-btn', KeyH: '#hangup-btn' }[ev.code];
  const el = button && $(button);
  if (!el || el.disabled || el.offsetParent === null) return;
  ev.preventDefault();
  el.click();
});

// Logged in (by the form, or again from the stored session token after a reload or a
// server restart): the softphone shows.
function loggedIn(who) {
  $('#agent-name').textContent = who.name || who.username;
  if (state === 'offline') state = 'away'; // until the server says otherwise
  show('#login-form', false);
  show('#main', true);
  render();
}
// The login click is a user gesture: sound and notifications may start later.
const session = keepSession(phone, 'switchboard.agent.token', loggedIn, { beforeLogin: () => offerAlert.prepare() });

async function setAvailable(on) {
  showError(null);
  try { await phone.setAvailable(on); } catch (e) { showError(e); }
}
// Tickets: the caller's earlier ones during the contact, this one's notes in wrap-up.
let lastContact = null;
const api = (path, opts = {}) => fetch(path, {
  ...opts,
  headers: { Authorization: `Bearer ${phone.user?.token}`, ...(opts.headers ?? {}) },
});
// What happened in a contact, for the agent: answered or not, and how it ended.
const OUTCOMES = {
  customer_hung_up: 'ended by the customer', agent_hung_up: 'ended by the agent',
  customer_disconnected: 'customer disconnected', media_failed: 'connection failed',
  server_shutdown: 'server restart', server_crash: 'server stopped',
  message_left: 'left a message', callback_requested: 'asked for a callback',
};
async function showHistory(callId) {
  const box = $('#caller-history-box');
  box.hidden = true;
  $('#caller-history').replaceChildren();
  try {
    const r = await api(`/api/calls/${encodeURIComponent(callId)}/contacts`);
    if (!r.ok) return;
    const { contacts, matched_by: by } = await r.json();
    $('#caller-history-by').textContent = by === 'name' ? '(matched by name only)' : by ? `(by ${by})` : '';
    for (const c of contacts) {
      const li = document.createElement('li');
      li.dataset.callId = c.call_id;
      if (c.ticket) li.dataset.ticket = c.ticket;
      const when = new Date(c.started_at).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
      const parts = [when, CHANNELS[c.channel] ?? c.channel ?? 'Voice call'];
      if (c.queue) parts.push(c.queue);
      parts.push(c.answered ? `with ${c.agent}` : 'not answered');
      if (c.ended_at == null) parts.push('live');
      else if (c.end_reason) parts.push(OUTCOMES[c.end_reason] ?? c.end_reason);
      if (c.transfers) parts.push(`transferred ×${c.transfers}`);
      if (c.csat) parts.push(`rated ${c.csat}/5`);
      if (c.ticket) parts.push(`ticket ${c.ticket} (${c.ticket_kind}, ${c.ticket_status}${c.disposition ? `, ${c.disposition}` : ''})`);
      li.textContent = parts.join(' · ');
      $('#caller-history').append(li);
    }
    box.hidden = contacts.length === 0;
  } catch { /* history is a help, not a must */ }
}
phone.on('agent_state', (m) => {
  if (m.state === 'on_call' && m.call_id && lastContact !== m.call_id) {
    lastContact = m.call_id;
    $('#wrapup-notes').value = '';
    $('#wrapup-reason').textContent = 'The call has ended.';
    delete $('#wrapup-reason').dataset.reason;
    $('#wrapup-saved').textContent = '';
    delete $('#wrapup-saved').dataset.ticket;
    showHistory(m.call_id);
  }
});
$('#wrapup-form').onsubmit = async (ev) => {
  ev.preventDefault();
  showError(null);
  if (!lastContact) return;
  const disposition = $('#wrapup-disposition').value;
  try {
    const made = await api('/api/tickets', { method: 'POST', body: JSON.stringify({ call_id: lastContact }) });
    if (!made.ok) throw new Error((await made.json()).error);
    const { ticket } = await made.json();
    const patch = await api(`/api/tickets/${ticket}`, {
      method: 'PATCH',
      body: JSON.stringify({
        notes: $('#wrapup-notes').value.trim(),
        disposition,
        status: disposition === 'resolved' ? 'solved' : 'pending',
      }),
    });
    if (!patch.ok) throw new Error((await patch.json()).error);
    $('#wrapup-saved').dataset.ticket = ticket;
    $('#wrapup-saved').textContent = `Saved to ${ticket}`;
  } catch (e) {
    showError(e);
  }
};

$('#avail-btn').onclick = () => setAvailable(state === 'away');
$('#ready-btn').onclick = () => setAvailable(true);

$('#accept-btn').onclick = async () => {
  if (!phone.offer) return;
  showError(null);
  caller = phone.offer.caller ?? {};
  transcriptFor(phone.offer.call_id);
  chatFor(phone.offer.call_id);
  $('#accept-btn').disabled = $('#decline-btn').disabled = true;
  try {
    await phone.accept(phone.offer.call_id);
    if (phone.contact?.channel === 'chat') setTimeout(() => $('#chat-input').focus()); // once shown
  } catch (e) {
    showError(e);
  } finally {
    $('#accept-btn').disabled = $('#decline-btn').disabled = false;
    render();
  }
};
$('#decline-btn').onclick = () => {
  if (!phone.offer) return;
  try { phone.decline(phone.offer.call_id); } catch (e) { showError(e); }
  render();
};

$('#mute-btn').onclick = () => {
  try {
    phone.mute(!phone.muted);
    $('#mute-btn').dataset.muted = String(phone.muted);
    $('#mute-btn').textContent = phone.muted ? 'Unmute' : 'Mute';
  } catch (e) { showError(e); }
};
$('#hangup-btn').onclick = () => phone.hangUp();

// The queues a contact can be transferred to.
fetch('/api/queues').then((r) => (r.ok ? r.json() : [])).then((queues) => {
  for (const q of queues) {
    const o = document.createElement('option');
    o.value = q.name;
    o.textContent = q.name;
    $('#transfer-queue').append(o);
  }
  show('#transfer-form', queues.length > 0);
}).catch(() => show('#transfer-form', false));
$('#transfer-form').onsubmit = async (ev) => {
  ev.preventDefault();
  const callId = phone.contact?.call_id;
  if (!callId || !$('#transfer-queue').value) return;
  showError(null);
  $('#transfer-btn').disabled = true;
  try {
    await phone.transfer(callId, $('#transfer-queue').value, $('#transfer-note').value.trim());
    $('#transfer-note').value = '';
  } catch (e) { showError(e); }
  $('#transfer-btn').disabled = false;
};

chatForm(phone);

// Clocks tick locally between server messages.
setInterval(() => {
  if (phone.offer) {
    const left = Math.max(0, Math.ceil((offerDeadline - Date.now()) / 1000));
    $('#offer-countdown').textContent = `${left} s`;
  }
  if (state === 'on_call') $('#call-timer').textContent = fmtDuration((Date.now() - callStartedAt) / 1000);
  else callStartedAt = 0;
}, 250);

// Audio devices: the microphone for the next call (getUserMedia's deviceId), the speaker at once
// (setSinkId, where the browser has it). Labels appear once the page may use the microphone.
async function listDevices() {
  if (!navigator.mediaDevices?.enumerateDevices) return;
  const devices = await navigator.mediaDevices.enumerateDevices().catch(() => []);
  for (const [select, kind] of [[$('#mic-select'), 'audioinput'], [$('#speaker-select'), 'audiooutput']]) {
    const chosen = select.value;
    select.replaceChildren(Object.assign(document.createElement('option'), { value: '', textContent: 'System default' }));
    devices.filter((d) => d.kind === kind && d.deviceId && d.deviceId !== 'default').forEach((d, i) => {
      select.append(Object.assign(document.createElement('option'), {
        value: d.deviceId, textContent: d.label || `${kind === 'audioinput' ? 'Microphone' : 'Speaker'} ${i + 1}`,
      }));
    });
    select.value = [...select.options].some((o) => o.value === chosen) ? chosen : '';
  }
  $('#speaker-select').disabled = typeof $('#remote-audio').setSinkId !== 'function';
}
navigator.mediaDevices?.addEventListener?.('devicechange', listDevices);
$('#devices').addEventListener('toggle', listDevices);
$('#mic-select').onchange = () => {
  const id = $('#mic-select').value;
  if (id) phone.audioOptions.deviceId = { exact: id };
  else delete phone.audioOptions.deviceId;
};
$('#speaker-select').onchange = async () => {
  try { await $('#remote-audio').setSinkId($('#speaker-select').value); } catch (e) { showError(e); }
};
// The microphone level while on a voice call (0 while muted).
(function meter() {
  const el = $('#mic-level');
  if (el && phone.micTrack) el.value = phone.muted ? 0 : phone.micLevel();
  else if (el) el.value = 0;
  requestAnimationFrame(meter);
})();
