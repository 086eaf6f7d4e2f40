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
