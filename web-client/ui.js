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

export const END_REASONS = {
  customer_hung_up: 'the customer hung up',
  agent_hung_up: 'the agent hung up',
  customer_disconnected: 'the customer was disconnected',
  agent_disconnected: 'the agent was disconnected',
  media_failed: 'the audio connection failed',
  server_shutdown: 'the service is restarting',
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
  li.querySelector('.utterance-time').textContent = fmtDuration((u.start_ms ?? 0) / 1000);
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
