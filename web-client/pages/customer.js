import { CustomerCall } from '../sdk/switchboard.js';
import {
  $, sdkOptions, showError, renderChatMessage, customerProblem, END_REASONS, OVERFLOW_REASONS, chatForm, fmtWait,
} from '../ui.js';
// A start that failed: say what it means and what to do next (#error[data-kind]).
function showProblem(e) {
  const p = customerProblem(e);
  showError(p.text);
  $('#error').dataset.kind = p.kind;
}

// The live contact is kept in this tab's sessionStorage: a reload comes back to it.
const call = new CustomerCall({ ...sdkOptions(), audioElement: $('#remote-audio'), persist: 'session' });
window.sb = call;
const params = new URLSearchParams(location.search);
if (['en', 'zh'].includes(params.get('lang'))) $('#language').value = params.get('lang');
const NAMES = { customer: 'You', bot: 'Assistant', agent: 'Agent' };
call.on('state', (s) => { if (s.agent_name) NAMES.agent = s.agent_name; });
const LIVE = ['calling', 'with_bot', 'queued', 'ringing', 'connected', 'overflow'];
let channel = null; // 'voice' or 'chat': the current or last contact's

function setState(state, text) {
  $('#state').dataset.state = state;
  if (channel) $('#state').dataset.channel = channel;
  // A live region: the same queue position sent again is not announced again.
  if ($('#state').textContent !== text) $('#state').textContent = text;
  const active = LIVE.includes(state);
  const chat = channel === 'chat';
  $('#call-btn').disabled = active;
  $('#chat-btn').disabled = active;
  $('#voice-controls').hidden = chat;
  $('#hangup-btn').disabled = !active || chat;
  $('#mute-btn').disabled = !active || chat || state === 'calling';
  $('#camera-btn').disabled = chat || state !== 'connected';
  $('#talk-btn').hidden = state !== 'with_bot';
  $('#talk-btn').disabled = false;
  $('#overflow-panel').hidden = state !== 'overflow';
  const typing = active && state !== 'calling';
  $('#chat-input').disabled = !typing;
  $('#chat-send').disabled = !typing;
  $('#end-chat-btn').hidden = !chat;
  $('#end-chat-btn').disabled = !active;
  if (!active) {
    $('#peer-muted').hidden = true;
    setMuteButton(false);
    $('#camera-btn').textContent = 'Camera on';
  }
  refreshReject();
}

function setMuteButton(muted) {
  $('#mute-btn').dataset.muted = String(muted);
  $('#mute-btn').textContent = muted ? 'Unmute' : 'Mute';
}

/** A new contact: an empty conversation, shown. */
function openChatPanel() {
  $('#rating-panel').hidden = true;
  $('#reject-answer').hidden = true;
  $('#chat-panel').append($('#reject-answer')); // out of the list before it is emptied
  $('#chat-log').replaceChildren();
  $('#chat-heading').textContent = channel === 'chat' ? 'Chat' : 'Messages (type during the call)';
  $('#chat-panel').hidden = false;
}

/**
 * "Not what I asked" goes under the bot's latest answer from the knowledge base (a bot
 * message with an entry id), while the bot still serves the contact.
 */
function refreshReject() {
  const link = $('#reject-answer');
  const answers = document.querySelectorAll('#chat-log li.chat-msg[data-from="bot"][data-entry-id]');
  const last = answers[answers.length - 1];
  const serving = ['with_bot', 'queued'].includes($('#state').dataset.state);
  const show = !!last && serving && last.dataset.rejected !== 'true';
  if (show && link.parentElement !== last) last.append(link);
  link.hidden = !show;
  link.disabled = false;
}

// The wait estimate counts down between the server's updates (never below "under a minute").
let queuedAt = null;
function showQueued() {
  if (!queuedAt) return;
  const left = queuedAt.wait != null ? Math.max(0, queuedAt.wait - (Date.now() - queuedAt.at) / 1000) : null;
  const wait = left != null ? `; expected wait ${fmtWait(left)}` : '';
  setState('queued', `You are number ${queuedAt.position} in the queue${wait}`);
  $('#state').dataset.waitS = left != null ? String(Math.round(left)) : '';
}
setInterval(() => {
  if ($('#state').dataset.state === 'queued') showQueued();
}, 1000);
call.on('state', (s) => {
  if (s.state !== 'queued') queuedAt = null;
  const chat = channel === 'chat';
  if (s.state === 'with_bot') {
    setState('with_bot', chat ? 'Chatting with our assistant' : 'Our assistant is answering your call');
  } else if (s.state === 'queued') {
    queuedAt = { position: s.position ?? '?', wait: s.estimated_wait_s, at: Date.now() };
    showQueued();
  } else if (s.state === 'overflow') {
    $('#overflow-reason').dataset.reason = s.overflow ?? '';
    $('#overflow-reason').textContent = OVERFLOW_REASONS[s.overflow] ?? 'no agent can take your contact now';
    $('#message-hint').textContent = chat ? '' : '(or just say it now, then press Send message)';
    setState('overflow', 'No agent can take your contact now');
  } else if (s.state === 'ringing') {
    setState('ringing', 'Connecting you to an agent…');
  } else if (s.state === 'connected') {
    $('#notice').hidden = true;
    setState('connected', s.agent_name ? `Connected to ${s.agent_name}` : 'Connected to an agent');
  } else if (s.state === 'ended') {
    $('#notice').hidden = true;
    const why = END_REASONS[s.reason];
    const what = chat ? 'Chat ended' : 'Call ended';
    setState('ended', why ? `${what}: ${why}` : what);
  }
});
$('#message-form').onsubmit = async (ev) => {
  ev.preventDefault();
  showError(null);
  try { await call.leaveMessage($('#message-text').value.trim()); } catch (e) { showError(e); }
};
$('#callback-form').onsubmit = async (ev) => {
  ev.preventDefault();
  showError(null);
  try {
    // A datetime-local value is the customer's own local time; Date reads it so.
    const when = $('#callback-at').value;
    await call.requestCallback($('#callback-contact').value.trim(),
      $('#callback-note').value.trim(), when ? new Date(when) : undefined);
  } catch (e) { showError(e); }
};
// The rating of the contact that just ended.
let score = 0;
call.on('rate_prompt', () => {
  score = 0;
  for (const b of document.querySelectorAll('#rating-stars button')) b.dataset.selected = 'false';
  $('#rating-comment').value = '';
  $('#rating-send').disabled = true;
  $('#rating-thanks').hidden = true;
  $('#rating-panel').hidden = false;
});
for (const b of document.querySelectorAll('#rating-stars button')) {
  b.onclick = () => {
    score = Number(b.dataset.score);
    for (const o of document.querySelectorAll('#rating-stars button')) o.dataset.selected = String(o === b);
    $('#rating-send').disabled = false;
  };
}
$('#rating-send').onclick = async () => {
  showError(null);
  $('#rating-send').disabled = true;
  try {
    await call.rate(score, $('#rating-comment').value.trim());
    $('#rating-thanks').hidden = false;
  } catch (e) {
    showError(e);
    $('#rating-send').disabled = false;
  }
};
call.on('transferred', (m) => {
  $('#notice').textContent = `Your agent is transferring you to ${m.queue}. Please hold: the next agent will see what was said so far.`;
  $('#notice').hidden = false;
});
call.on('agent_lost', () => {
  $('#notice').textContent = "We lost the connection to your agent. You are back at the front of the queue; the next agent will be with you shortly.";
  $('#notice').hidden = false;
});
call.on('chat_message', ({ message }) => {
  renderChatMessage($('#chat-log'), message, NAMES);
  refreshReject();
});
call.on('peer_muted', (m) => { $('#peer-muted').hidden = !m.muted; });
call.on('error', (e) => showError(`${e.message} (${e.code})`));
// The connection dropped: the SDK reconnects and resumes the contact (the server keeps it for
// a while); the call's audio goes on meanwhile.
call.on('reconnecting', () => {
  $('#conn').dataset.state = 'reconnecting';
  $('#conn').textContent = 'Connection lost: reconnecting…';
});
call.on('resumed', () => {
  $('#conn').dataset.state = 'connected';
  $('#conn').textContent = 'Connected';
});
call.on('close', () => {
  $('#conn').dataset.state = 'offline';
  $('#conn').textContent = 'Disconnected';
  const what = channel === 'chat' ? 'Chat ended' : 'Call ended';
  if ($('#state').dataset.state !== 'idle') setState('ended', `${what}: connection to the service lost`);
});

function contactOptions() {
  const opts = {
    name: $('#name').value.trim(),
    topic: $('#topic').value.trim(),
    metadata: { page: location.pathname },
  };
  if ($('#language').value) opts.language = $('#language').value;
  if (params.get('entry')) opts.entry = params.get('entry');
  if ($('#queue').value) opts.queue = $('#queue').value;
  return opts;
}

// What customers are told about transcription (the server's [calls] transcription_notice).
fetch('/api/customer-page').then((r) => (r.ok ? r.json() : {})).then((c) => {
  if (c.transcription_notice) {
    $('#transcription-notice').textContent = c.transcription_notice;
    $('#transcription-notice').hidden = false;
  }
}).catch(() => {});

// The queues a customer may choose (billing, technical, ...), if the server has any.
fetch('/api/queues').then((r) => (r.ok ? r.json() : [])).then((queues) => {
  for (const q of queues) {
    const o = document.createElement('option');
    o.value = q.name;
    o.textContent = q.name.charAt(0).toUpperCase() + q.name.slice(1);
    $('#queue').append(o);
  }
  $('#queue-label').hidden = queues.length === 0;
}).catch(() => {});

$('#call-btn').onclick = async () => {
  showError(null);
  channel = 'voice';
  openChatPanel();
  setState('calling', 'Calling…');
  try {
    await call.start(contactOptions());
    $('#conn').textContent = 'Connected';
  } catch (e) {
    showProblem(e);
    $('#chat-panel').hidden = true;
    setState('idle', 'Not in a call');
  }
};

$('#chat-btn').onclick = async () => {
  showError(null);
  channel = 'chat';
  openChatPanel();
  setState('calling', 'Starting a chat…');
  try {
    await call.startChat(contactOptions());
    $('#conn').textContent = 'Connected';
    $('#chat-input').focus();
  } catch (e) {
    showProblem(e);
    $('#chat-panel').hidden = true;
    setState('idle', 'Not in a call');
  }
};

$('#hangup-btn').onclick = () => {
  call.hangUp();
  setState('ended', 'Call ended');
};
$('#end-chat-btn').onclick = () => {
  call.hangUp();
  setState('ended', 'Chat ended');
};

$('#talk-btn').onclick = async () => {
  showError(null);
  $('#talk-btn').disabled = true;
  try { await call.requestAgent(); } catch (e) { showError(e); $('#talk-btn').disabled = false; }
};

$('#reject-answer').onclick = async () => {
  const li = $('#reject-answer').closest('li.chat-msg');
  showError(null);
  $('#reject-answer').disabled = true;
  try {
    await call.rejectAnswer();
    if (li) li.dataset.rejected = 'true';
  } catch (e) { showError(e); }
  refreshReject();
};

// Enter submits the form (the browser waits for an input method to finish composing first).
chatForm(call, () => !$('#chat-input').disabled);

$('#mute-btn').onclick = () => {
  try {
    call.mute(!call.muted);
    setMuteButton(call.muted);
  } catch (e) { showError(e); }
};

$('#camera-btn').onclick = async () => {
  try {
    if (call.cameraTrack) await call.disableCamera();
    else await call.enableCamera();
    $('#camera-btn').textContent = call.cameraTrack ? 'Camera off' : 'Camera on';
  } catch (e) { showError(e); }
};

// The level meter follows the microphone while a call has it open.
function meter() {
  const level = call.micLevel();
  $('#mic-meter').dataset.level = level.toFixed(2);
  // RMS of speech is small; scale so normal speech fills about half the bar.
  $('#mic-meter > span').style.width = `${Math.min(100, level * 300)}%`;
  requestAnimationFrame(meter);
}
requestAnimationFrame(meter);

// A reload mid-contact comes back to it (the server waits for the page as long as it keeps a
// dropped session); otherwise the page just connects.
async function comeBack() {
  const saved = call.savedContact;
  if (!saved) {
    await call.connect();
    $('#conn').textContent = 'Connected';
    return;
  }
  channel = saved.channel;
  openChatPanel();
  setState('calling', channel === 'chat' ? 'Reconnecting to your chat…' : 'Reconnecting to your call…');
  try {
    const back = await call.rejoin();
    $('#conn').textContent = 'Connected';
    if (!back) {
      $('#chat-panel').hidden = true;
      setState('idle', 'Not in a call');
    }
  } catch (e) {
    showProblem(e);
    setState('ended', channel === 'chat' ? 'Chat ended' : 'Call ended');
  }
}
comeBack().catch(() => {});
