// Small helpers shared by the three demo pages (not part of the SDK).

export const $ = (sel) => document.querySelector(sel);

/** Show or hide an element. */
export function show(el, visible) {
  (typeof el === 'string' ? $(el) : el).hidden = !visible;
}

/** 75 -> "1:15", 3700 -> "1:01:40". */
export function fmtDuration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/**
 * SDK options from the page URL, so demos and tests need no code changes:
 *   ?ws=wss://host/ws   connect to another server than the page's own
 *   ?raw=1              no echo cancellation, noise suppression or gain control
 *                       (a test tone passes unchanged; real callers want the defaults)
 */
export function sdkOptions() {
  const q = new URLSearchParams(location.search);
  const opts = {};
  if (q.get('ws')) opts.url = q.get('ws');
  if (q.get('raw') === '1') {
    opts.audio = { echoCancellation: false, noiseSuppression: false, autoGainControl: false };
  }
  return opts;
}

/** Put a message in the page's #error line (empty hides it). */
export function showError(err) {
  const el = $('#error');
  if (!el) return;
  el.textContent = err ? (err.message || String(err)) : '';
  el.hidden = !err;
}

/**
 * What a failed start means for a customer and what they can do next: `{kind, text}`, kind one
 * of mic-blocked, no-mic, mic-busy, unreachable, restarting, busy, other.
 */
export function customerProblem(err) {
  const name = err?.name;
  const code = err?.code;
  const chatInstead = ', or click Chat with us to type instead.';
  if (name === 'NotAllowedError' || name === 'SecurityError') {
    return { kind: 'mic-blocked', text: 'Your browser blocked the microphone. Allow it for this site (the microphone or lock icon in the address bar), then click Call us again' + chatInstead };
  }
  if (name === 'NotFoundError' || name === 'OverconstrainedError') {
    return { kind: 'no-mic', text: 'No microphone was found. Connect one and click Call us again' + chatInstead };
  }
  if (name === 'NotReadableError' || name === 'AbortError') {
    return { kind: 'mic-busy', text: 'Your microphone is in use by another program. Close it and click Call us again' + chatInstead };
  }
  if (code === 'disconnected' || code === 'timeout') {
    return { kind: 'unreachable', text: 'We cannot reach our service right now. Check your connection and try again in a moment.' };
  }
  if (code === 'shutting_down') {
    return { kind: 'restarting', text: 'Our service is restarting. Please try again in a minute.' };
  }
  if (code === 'rate_limited') {
    return { kind: 'busy', text: 'We are very busy right now. Please try again in a few seconds.' };
  }
  return { kind: 'other', text: err?.message || String(err) };
}

/** A customer's expected wait in words: "under a minute", "about 3 minutes". */
export function fmtWait(s) {
  if (s < 60) return 'under a minute';
  const m = Math.round(s / 60);
  return `about ${m} minute${m === 1 ? '' : 's'}`;
}

export const END_REASONS = {
  customer_hung_up: 'the customer hung up',
  agent_hung_up: 'the agent hung up',
  customer_disconnected: 'the customer was disconnected',
  agent_disconnected: 'the agent was disconnected',
  media_failed: 'the audio connection failed',
  server_shutdown: 'the service is restarting',
  message_left: 'your message was left for our team',
  callback_requested: 'we will call you back',
};

export const OVERFLOW_REASONS = {
  queue_full: 'all our agents are busy and the queue is full',
  wait_too_long: 'the wait is longer than we would like',
  no_agents: 'no agent is available right now',
  closed: 'we are outside our opening hours',
};

export const AGENT_STATES = {
  away: 'Away',
  available: 'Available',
  ringing: 'Ringing',
  on_call: 'On a call',
  wrap_up: 'Wrap-up',
};

/** Render caller metadata as "key: value" list items. */
export function fillMetadata(ul, metadata = {}) {
  ul.replaceChildren(
    ...Object.entries(metadata).map(([k, v]) => {
      const li = document.createElement('li');
      li.textContent = `${k}: ${v}`;
      return li;
    }),
  );
}

/** -0.42 -> "−0.42", 0.3 -> "+0.30" (a real minus sign, for display only). */
export function fmtSigned(x, digits = 2) {
  const v = Number(x) || 0;
  const s = Math.abs(v).toFixed(digits);
  if (Number(s) === 0) return s;
  return (v < 0 ? '\u2212' : '+') + s;
}

/**
 * An emotion badge: <span class="emotion-badge" data-emotion="angry" title="valence ...">.
 * `text` defaults to the label.
 */
export function emotionBadge(label, { text, title } = {}) {
  const b = document.createElement('span');
  b.className = 'emotion-badge';
  b.dataset.emotion = label;
  b.textContent = text ?? label;
  if (title) b.title = title;
  return b;
}

/**
 * Show one utterance in a transcript list (an <ol class="transcript">), keyed by utterance_id:
 * a new one is inserted in time order, a known one is updated in place, a removed one
 * (`removed: true`) disappears. Row markup, which tests rely on:
 *   <li class="utterance" data-utterance-id data-speaker data-final="true|false" data-start-ms>
 *     <span class="utterance-time"> <span class="utterance-speaker"> <span class="utterance-text">
 *     <span class="emotion-badge" data-emotion="angry" data-valence="-0.61" data-arousal="0.72"
 *           title="valence -0.61, arousal 0.72">angry</span>            (finals, once scored)
 * `speakers` maps 'customer' / 'agent' to the names shown.
 */
export function renderUtterance(list, u, speakers = { customer: 'Customer', agent: 'Agent' }) {
  let li = [...list.children].find((el) => el.dataset.utteranceId === u.utterance_id);
  // Follow the conversation unless the reader scrolled up.
  const atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 8;
  if (u.removed) {
    li?.remove();
    return;
  }
  if (!li) {
    li = document.createElement('li');
    li.className = 'utterance';
    li.dataset.utteranceId = u.utterance_id;
    const parts = ['utterance-time', 'utterance-speaker', 'utterance-text'].map((cls) => {
      const s = document.createElement('span');
      s.className = cls;
      return s;
    });
    li.append(...parts);
    const start = u.start_ms ?? 0;
    const next = [...list.children].find((el) => {
      const s = Number(el.dataset.startMs);
      return s > start || (s === start && el.dataset.utteranceId.localeCompare(u.utterance_id) > 0);
    });
    list.insertBefore(li, next ?? null);
  }
  li.dataset.speaker = u.speaker;
  li.dataset.final = String(!!u.final);
  li.dataset.startMs = String(u.start_ms ?? 0);
  // Spoken lines carry their time into the call; typed (chat) lines their wall-clock time.
  const typed = String(u.utterance_id).startsWith('chat-');
  li.querySelector('.utterance-time').textContent = typed ? fmtClock(u.start_ms) : fmtDuration((u.start_ms ?? 0) / 1000);
  li.querySelector('.utterance-speaker').textContent = speakers[u.speaker] ?? u.speaker;
  li.querySelector('.utterance-text').textContent = u.text ?? '';
  li.querySelector('.emotion-badge')?.remove();
  if (u.final && u.emotion) {
    const valence = (Number(u.valence) || 0).toFixed(2);
    const arousal = (Number(u.arousal) || 0).toFixed(2);
    const badge = emotionBadge(u.emotion, { title: `valence ${valence}, arousal ${arousal}` });
    badge.dataset.valence = valence;
    badge.dataset.arousal = arousal;
    li.append(badge);
  }
  if (atBottom) list.scrollTop = list.scrollHeight;
}

/** Call states in words, where the raw value is not plain English. */
export const CALL_STATES = {
  with_bot: 'with bot',
};

export const CHANNELS = {
  voice: 'Voice call',
  chat: 'Chat',
  callback: 'Callback',
};

/** Why the bot handed a contact to a person (call_offered.handoff.reason, dashboard escalation). */
export const HANDOFF_REASONS = {
  asked_for_human: 'The customer asked for a person',
  negative_emotion: 'The customer seemed upset',
  no_answer_repeated: 'The assistant could not answer, more than once',
  flow: 'The conversation reached a step a person must handle',
};

/** The same reasons, short, for tables. */
export const ESCALATIONS = {
  asked_for_human: 'asked for a person',
  negative_emotion: 'upset',
  no_answer_repeated: 'bot could not answer',
  flow: 'flow',
};

const CJK = /[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]/;

/** "14:05" from a Unix time in ms. */
export function fmtClock(atMs) {
  if (!atMs) return '';
  return new Date(atMs).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

/**
 * Append one chat message to a list (an <ol class="chat-log">), in time order (at_ms; a tie goes
 * after what is already there). Row markup, which tests rely on:
 *   <li class="chat-msg" data-from="customer|agent|bot" data-at-ms data-entry-id?>
 *     <span class="chat-from"> <span class="chat-text"> <time class="chat-time">
 * `names` maps 'customer' / 'agent' / 'bot' to who is shown as saying it. Text with Chinese or
 * Japanese characters is marked lang="zh" so the browser picks a font that has them.
 */
export function renderChatMessage(list, m, names = { customer: 'Customer', agent: 'Agent', bot: 'Assistant' }) {
  const atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 8;
  const li = document.createElement('li');
  li.className = 'chat-msg';
  li.dataset.from = m.from;
  li.dataset.atMs = String(m.at_ms ?? 0);
  if (m.entry_id != null) li.dataset.entryId = m.entry_id;
  const from = document.createElement('span');
  from.className = 'chat-from';
  from.textContent = names[m.from] ?? m.from;
  const text = document.createElement('span');
  text.className = 'chat-text';
  text.textContent = m.text ?? '';
  if (CJK.test(text.textContent)) text.lang = 'zh';
  const time = document.createElement('time');
  time.className = 'chat-time';
  if (m.at_ms) time.dateTime = new Date(m.at_ms).toISOString();
  time.textContent = fmtClock(m.at_ms);
  li.append(from, text, time);
  const next = [...list.children].find((el) => Number(el.dataset.atMs) > (m.at_ms ?? 0));
  list.insertBefore(li, next ?? null);
  if (atBottom) list.scrollTop = list.scrollHeight;
  return li;
}

/**
 * The customer's mood per turn (values −1..1, oldest first) as a small bar chart: bars above the
 * middle line for positive, below for negative. <span class="sparkline" role="img" data-values="-0.20,-0.65">
 */
export function sentimentSparkline(values = []) {
  const nums = values.map((v) => Math.max(-1, Math.min(1, Number(v) || 0)));
  const wrap = document.createElement('span');
  wrap.className = 'sparkline';
  wrap.dataset.values = nums.map((v) => v.toFixed(2)).join(',');
  wrap.setAttribute('role', 'img');
  wrap.setAttribute('aria-label', nums.length
    ? `customer mood per message, oldest first: ${nums.map((v) => fmtSigned(v)).join(', ')}`
    : 'no customer messages scored');
  for (const v of nums) {
    const cell = document.createElement('span');
    cell.className = 'spark-cell';
    const bar = document.createElement('span');
    bar.className = 'spark-bar';
    bar.dataset.sign = v < 0 ? 'negative' : 'positive';
    bar.style.height = `${Math.max(4, Math.abs(v) * 50)}%`;
    bar.style[v < 0 ? 'top' : 'bottom'] = '50%';
    cell.append(bar);
    wrap.append(cell);
  }
  return wrap;
}

/**
 * Fill a handoff card (call_offered.handoff: what the bot learnt before handing the contact
 * over); hidden when there is none. Markup, which tests rely on, inside `card`:
 *   dl.handoff-fields: dd.handoff-reason[data-reason], dd.handoff-intent, ul.handoff-slots
 *   (li[data-slot] "name: value"), dd.handoff-summary, dd.handoff-sentiment (span.sparkline and
 *   span.handoff-sentiment-values), and with `conversation`: ol.handoff-conversation, the
 *   messages so far as renderChatMessage rows.
 */
export function renderHandoff(card, handoff, { conversation = true, names } = {}) {
  card.hidden = !handoff;
  card.replaceChildren();
  if (!handoff) return;
  const dl = document.createElement('dl');
  dl.className = 'handoff-fields';
  const field = (label, cls, content) => {
    const dt = document.createElement('dt');
    dt.textContent = label;
    const dd = document.createElement('dd');
    dd.className = cls;
    if (content instanceof Node) dd.append(content);
    else dd.textContent = content;
    dl.append(dt, dd);
    return dd;
  };
  const reason = field('Handed over', 'handoff-reason', HANDOFF_REASONS[handoff.reason] ?? handoff.reason ?? 'unknown');
  reason.dataset.reason = handoff.reason ?? '';
  const intent = field('Intent', 'handoff-intent', handoff.intent || 'none recognised');
  if (handoff.intent) intent.dataset.intent = handoff.intent;
  const slots = Object.entries(handoff.slots ?? {});
  const ul = document.createElement('ul');
  ul.className = 'handoff-slots meta';
  ul.append(...slots.map(([k, v]) => {
    const li = document.createElement('li');
    li.dataset.slot = k;
    li.textContent = `${k}: ${v}`;
    return li;
  }));
  field('Details given', 'handoff-slots-field', slots.length ? ul : 'none');
  field('Summary', 'handoff-summary', handoff.summary || '—');
  const mood = document.createDocumentFragment();
  const values = handoff.sentiment ?? [];
  const numbers = document.createElement('span');
  numbers.className = 'handoff-sentiment-values';
  numbers.textContent = values.length ? values.map((v) => fmtSigned(v)).join(' → ') : 'no messages scored';
  mood.append(sentimentSparkline(values), ' ', numbers);
  field('Mood', 'handoff-sentiment', mood);
  card.append(dl);
  if (conversation) {
    const h = document.createElement('h3');
    h.textContent = 'Conversation so far';
    const ol = document.createElement('ol');
    ol.className = 'handoff-conversation chat-log';
    for (const m of handoff.conversation ?? []) renderChatMessage(ol, m, names);
    card.append(h, ol);
  }
}

/** Why a REST call failed: the server's `error`, the HTTP status and the body. */
export class ApiError extends Error {
  constructor(message, status, data) {
    super(message);
    this.status = status;
    this.data = data;
  }
}

/**
 * The REST pages for supervisors (/knowledge, /admin): log in over the WebSocket with the SDK's
 * `SupervisorConsole` (`Console`; kept as window.sb, its socket closed afterwards), keep the
 * session token of `logged_in` in memory only, and call the REST API with
 * `Authorization: Bearer <token>`. Uses #login-form, #login-user, #login-pass, #login-btn,
 * #logout-btn, #main, #conn, #sup-name and #error. `load()` runs after logging in (a failure
 * logs out again); `reset()` when logging out. `what` names the page: "<what> is for
 * supervisors". Returns `api(method, path, {body, contentType})`, which resolves with the
 * parsed JSON, throws an ApiError, and logs out on 401.
 */
export function supervisorPage({ Console, what, load, reset }) {
  let token = null;

  async function api(method, path, { body, contentType = 'application/json' } = {}) {
    const headers = { Authorization: `Bearer ${token}` };
    if (body !== undefined) headers['Content-Type'] = contentType;
    const res = await fetch(path, { method, headers, body });
    const text = await res.text();
    let data = null;
    if (text) {
      try { data = JSON.parse(text); } catch { data = { error: text }; }
    }
    if (res.status === 401) {
      logout('Your session has ended: log in again.');
      throw new ApiError('not logged in', 401, data);
    }
    if (!res.ok) throw new ApiError(data?.error || `${method} ${path}: HTTP ${res.status}`, res.status, data);
    return data;
  }

  function logout(message) {
    token = null;
    reset?.();
    show('#main', false);
    show('#logout-btn', false);
    show('#login-form', true);
    $('#sup-name').textContent = '';
    $('#conn').textContent = 'Not logged in';
    showError(message || null);
  }

  $('#logout-btn').addEventListener('click', () => logout());

  $('#login-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    showError(null);
    $('#login-btn').disabled = true;
    let sup = null;
    try {
      sup = new Console(sdkOptions());
      window.sb = sup;
      const who = await sup.login($('#login-user').value.trim(), $('#login-pass').value);
      // The page needs only the session token: the REST API takes it as a Bearer token.
      sup.close();
      if (who.role !== 'supervisor') throw new Error(`${what} is for supervisors.`);
      if (!who.token) throw new Error('The server sent no session token.');
      token = who.token;
      $('#login-pass').value = '';
      await load();
      $('#conn').textContent = 'Logged in';
      $('#sup-name').textContent = `— ${who.name || who.username}`;
      show('#login-form', false);
      show('#logout-btn', true);
      show('#main', true);
    } catch (e) {
      token = null;
      sup?.close();
      if (e.status !== 401) showError(e);
    } finally {
      $('#login-btn').disabled = false;
    }
  });

  return { api, logout };
}

/**
 * Keep an agent's or supervisor's login across reloads and server restarts: the session token
 * of `logged_in` (never the password) is kept in this tab's sessionStorage under `key`.
 * `client` is the page's AgentPhone or SupervisorConsole. Shows the connection in #conn
 * (data-state: connected, reconnecting, offline) and calls `onLoggedIn(who)` after every
 * login, the automatic ones included. Wires #login-form (#login-user, #login-pass,
 * #login-btn); `beforeLogin()` runs in the click (a user gesture). Returns { logout() }.
 */
export function keepSession(client, key, onLoggedIn, { beforeLogin } = {}) {
  const conn = $('#conn');
  const setConn = (state, text) => {
    conn.dataset.state = state;
    if (conn.textContent !== text) conn.textContent = text;
  };
  const remember = (who) => {
    leaving = false;
    if (who?.token) sessionStorage.setItem(key, who.token);
    setConn('connected', 'Connected');
    onLoggedIn(who);
    return who;
  };
  client.on('reconnecting', ({ attempt }) => {
    setConn('reconnecting', attempt > 1 ? `Reconnecting… (try ${attempt})` : 'Reconnecting…');
  });
  // Back: errors from before (e.g. "the server is shutting down") no longer apply.
  client.on('resumed', () => {
    setConn('connected', 'Connected');
    showError(null);
  });
  client.on('reconnected', () => {
    showError(null);
    if (client.user?.token) sessionStorage.setItem(key, client.user.token);
    setConn('connected', 'Connected again (the server restarted)');
    onLoggedIn(client.user, { restored: true });
  });
  let leaving = false;
  client.on('close', () => setConn('offline', leaving ? 'Logged out' : 'Disconnected'));
  const saved = sessionStorage.getItem(key);
  if (saved) {
    setConn('reconnecting', 'Logging in again…');
    client.loginWithToken(saved).then(remember, (e) => {
      sessionStorage.removeItem(key);
      setConn('offline', 'Not logged in');
      if (e?.code !== 'bad_credentials') showError(e);
    });
  }
  $('#login-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    showError(null);
    beforeLogin?.();
    $('#login-btn').disabled = true;
    try {
      remember(await client.login($('#login-user').value.trim(), $('#login-pass').value));
      $('#login-pass').value = '';
    } catch (e) {
      showError(e);
    } finally {
      $('#login-btn').disabled = false;
    }
  });
  return {
    logout: () => {
      leaving = true;
      sessionStorage.removeItem(key);
      client.close();
    },
  };
}

/**
 * The chat box (#chat-form, #chat-input, #chat-send) of a contact on `client` (a CustomerCall
 * or an AgentPhone): a message goes out with sendChat and shows when the server sends it back;
 * a refused one goes back into the box. `enabled()` says whether Send is usable afterwards.
 */
export function chatForm(client, enabled = () => true) {
  $('#chat-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const input = $('#chat-input');
    const text = input.value.trim();
    if (!text || $('#chat-send').disabled) return;
    showError(null);
    input.value = ''; // shown when the server sends it back
    $('#chat-send').disabled = true;
    try {
      await client.sendChat(text);
    } catch (e) {
      showError(e);
      if (!input.value) input.value = text;
    } finally {
      $('#chat-send').disabled = !enabled();
      input.focus();
    }
  });
}

/** An element: `el('li', {cls, text, attrs, data}, ...children)`. */
export function el(tag, { cls, text, attrs, data } = {}, ...children) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  for (const [k, v] of Object.entries(attrs ?? {})) e.setAttribute(k, v);
  for (const [k, v] of Object.entries(data ?? {})) e.dataset[k] = v;
  e.append(...children);
  return e;
}
