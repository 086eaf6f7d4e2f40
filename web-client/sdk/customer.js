// The customer side: a voice call or a chat, with the bot first.

import { SwitchboardError } from './client.js';
import { CallParty } from './call-party.js';

/** The caller object of start_call / start_chat from `caller` or the name/topic/metadata shorthand. */
function callerInfo({ caller, name, topic, metadata } = {}) {
  const c = { ...caller };
  if (name) c.name = name;
  if (topic) c.topic = topic;
  if (metadata && Object.keys(metadata).length) c.metadata = metadata;
  return c;
}

/**
 * The customer side: one contact at a time, a voice call or a chat. Emits 'state' with each
 * `call_state` of the contact ('with_bot' while the bot serves it, then 'queued', 'ringing',
 * 'connected', 'ended'), and 'chat_message' {call_id, message} for each message of it.
 */
export class CustomerCall extends CallParty {
  /**
   * `persist`: where to keep the live contact so that a reload of the page can come back to it
   * (`rejoin()`): `true` or 'session' for sessionStorage (one tab, gone with it), or any
   * Storage-like object; off by default.
   */
  constructor(opts = {}) {
    super(opts);
    this.state = null;
    this._store = opts.persist === true || opts.persist === 'session'
      ? globalThis.sessionStorage ?? null
      : opts.persist || null;
    // (widget.js peeks at this key to know, before loading the SDK, that it has a contact.)
    this._storeKey = `switchboard.contact:${this.url}`;
    this.on('rate_prompt', (m) => { this.ratePrompt = m; });
    this.on('call_state', (m) => {
      // The first call_state may arrive before the answer has been handled.
      if (!this.callId && m.state !== 'ended') this.callId = m.call_id;
      if (m.call_id !== this.callId) return;
      this.state = m.state;
      if (m.state === 'ended') this._forget();
      else this._keep();
      this.emit('state', m);
    });
    this.on('close', () => this._forget());
    this.on('chat', (m) => {
      if (m.call_id === this.callId) this._foldChat(m);
    });
  }

  /** The live contact a reload can come back to ({call_id, channel}), or null. */
  get savedContact() {
    const s = this._saved();
    return s ? { call_id: s.call_id, channel: s.channel } : null;
  }

  _saved() {
    try {
      const s = JSON.parse(this._store?.getItem(this._storeKey) ?? 'null');
      return s && s.session_id && s.token && s.call_id ? s : null;
    } catch { return null; }
  }

  /** Remember the live contact (its session and resume token) for a reload. */
  _keep() {
    if (!this._store || this._rejoining || !this.callId || !this._resumeId || !this._resumeTok) return;
    const s = { session_id: this._resumeId, token: this._resumeTok, call_id: this.callId, channel: this.channel };
    try { this._store.setItem(this._storeKey, JSON.stringify(s)); } catch { /* storage full or denied */ }
  }

  _forget() {
    try { this._store?.removeItem(this._storeKey); } catch { /* denied */ }
  }

  /**
   * Come back to the contact this page had before it was reloaded (needs `persist`): resume
   * the kept session, then rejoin the contact, a voice call with a new peer connection (the
   * microphone is asked for again), a chat without; the chat so far arrives again as
   * 'chat_message' events and the contact's state as 'state'. Resolves with {call_id,
   * channel, state}, or null when there is nothing to come back to (no contact kept, or the
   * server ended it meanwhile). The server waits for a reloading page as long as it keeps a
   * dropped session (`[session] resume_grace_ms`, 20 s by default).
   */
  async rejoin() {
    const saved = this._saved();
    if (!saved) return null;
    await this.connect();
    this._newContact(saved.channel === 'chat' ? 'chat' : 'voice');
    this.callId = saved.call_id;
    this._rejoining = true;
    let back;
    try {
      back = await this._rejoin(saved);
    } finally {
      this._rejoining = false;
    }
    if (back && back.state !== 'ended') this._keep();
    return back;
  }

  async _rejoin(saved) {
    let r;
    try {
      r = await this.request({ type: 'resume', session_id: saved.session_id, token: saved.token }, 'resumed',
        () => true, { quiet: true });
    } catch (e) {
      this.callId = null;
      this._forget();
      if (e.code === 'not_found') return null;
      throw e;
    }
    this.sessionId = r.session_id;
    this.resumeToken = saved.token;
    this._rememberSession();
    this.callId = r.call_id ?? this.callId;
    if (this.state === 'ended') return { call_id: this.callId, channel: this.channel, state: this.state };
    const callId = this.callId;
    try {
      if (this.channel === 'voice') {
        const sdp = await this._openMedia();
        const answer = await this.request({ type: 'rejoin', call_id: callId, sdp }, 'answer');
        await this._answered(answer);
      } else {
        await this.request({ type: 'rejoin', call_id: callId }, 'call_state', (m) => m.call_id === callId);
      }
    } catch (e) {
      this._endMedia();
      this._forget();
      throw e;
    }
    return { call_id: callId, channel: this.channel, state: this.state };
  }

  hangUp() {
    this._forget();
    super.hangUp();
  }

  /** A live contact is worth coming back to; nothing else is. */
  _worthResuming() {
    return !!this.callId && this.state !== 'ended';
  }

  /** True while the bot serves the contact (before the customer asked for a person). */
  get withBot() {
    return this.state === 'with_bot';
  }

  _newContact(channel) {
    this.callId = null;
    this.state = null;
    this.channel = channel;
    this.conversation = null;
    this.ratePrompt = null;
  }

  /**
   * Rate the contact that just ended, 1 to 5, with an optional comment (once; the server sent
   * 'rate_prompt' with the token when it ended). Resolves when stored; rejects with the
   * server's error otherwise.
   */
  async rate(score, comment) {
    const p = this.ratePrompt;
    if (!p) throw new SwitchboardError('wrong_state', 'no ended contact to rate');
    const base = new URL(this.url, location.href);
    base.protocol = base.protocol === 'wss:' ? 'https:' : 'http:';
    const r = await fetch(new URL('/api/ratings', base), {
      method: 'POST',
      body: JSON.stringify({ call_id: p.call_id, token: p.token, score, comment: comment || undefined }),
    });
    if (!r.ok) {
      const e = await r.json().catch(() => ({}));
      throw new SwitchboardError(r.status === 409 ? 'wrong_state' : 'bad_message', e.error ?? `HTTP ${r.status}`);
    }
    return r.json();
  }

  /**
   * Place a call; resolves once the server's answer is applied (the call may still be queued,
   * or with the bot). `language` is what the customer will speak (ISO 639-1 such as 'en' or
   * 'zh', or 'auto'); without it the server's default applies. `entry` names the entry point
   * (which bot flow greets the customer); `queue` the queue the customer chose (GET
   * /api/queues lists them); `caller` is the CallerInfo itself, or give name / topic / metadata.
   */
  async start({ name, topic, metadata, caller, language, entry, queue, video = false } = {}) {
    await this.connect();
    this._newContact('voice');
    const sdp = await this._openMedia();
    const msg = { type: 'start_call', sdp, caller: callerInfo({ caller, name, topic, metadata }) };
    if (language) msg.language = language;
    if (entry) msg.entry = entry;
    if (queue) msg.queue = queue;
    try {
      const answer = await this.request(msg, 'answer');
      await this._answered(answer);
      if (video) await this.enableCamera();
      return answer;
    } catch (e) {
      this._endMedia();
      throw e;
    }
  }

  /**
   * Start a text chat: no microphone, no peer connection. Resolves with the first `call_state`
   * ('with_bot' when the bot serves it, else 'queued'); the bot's greeting follows as a
   * 'chat_message'. `language` is the language of the chat (e.g. 'en', 'zh'), `entry` as in start().
   */
  async startChat({ name, topic, metadata, caller, language, entry, queue } = {}) {
    await this.connect();
    this._endMedia();
    this._newContact('chat');
    const msg = { type: 'start_chat', caller: callerInfo({ caller, name, topic, metadata }) };
    if (language) msg.language = language;
    if (entry) msg.entry = entry;
    if (queue) msg.queue = queue;
    const first = await this.request(msg, 'call_state');
    if (first.type === 'call_state' && !this.callId) this.callId = first.call_id;
    return first;
  }

  /** Ask for a person: the contact leaves the bot for the queue. Resolves with the next call_state (or ok). */
  requestAgent() {
    if (!this.callId) return Promise.reject(new SwitchboardError('wrong_state', 'no contact'));
    const callId = this.callId;
    return this.request({ type: 'request_agent', call_id: callId }, 'call_state', (m) => m.call_id === callId);
  }

  /** Tell the bot its last answer was not what the customer asked; it asks them to rephrase. */
  rejectAnswer() {
    if (!this.callId) return Promise.reject(new SwitchboardError('wrong_state', 'no contact'));
    return this.request({ type: 'reject_answer', call_id: this.callId }, 'ok');
  }

  /**
   * No agent can take the contact (call_state 'overflow'): leave a message and end it. In a voice
   * call `text` may be left out: what the customer said since the overflow is the message.
   * Resolves with the call_state 'ended' (reason 'message_left').
   */
  leaveMessage(text) {
    if (!this.callId) return Promise.reject(new SwitchboardError('wrong_state', 'no contact'));
    const callId = this.callId;
    const msg = { type: 'leave_message', call_id: callId };
    if (text) msg.text = text;
    return this.request(msg, 'call_state', (m) => m.call_id === callId && m.state === 'ended');
  }

  /**
   * No agent can take the contact: ask to be called back at `contact` (phone or e-mail), with
   * an optional `note`, and end it. `at` (a Date, or an RFC 3339 string) asks for a later
   * time: within 14 days and, when the queue has business hours, inside them (else the
   * promise rejects with 'bad_message' saying why). Resolves with the call_state 'ended'
   * ('callback_requested').
   */
  requestCallback(contact, note, at) {
    if (!this.callId) return Promise.reject(new SwitchboardError('wrong_state', 'no contact'));
    const callId = this.callId;
    const msg = { type: 'request_callback', call_id: callId, contact };
    if (note) msg.note = note;
    if (at) msg.at = at instanceof Date ? at.toISOString() : String(at);
    return this.request(msg, 'call_state', (m) => m.call_id === callId && m.state === 'ended');
  }
}
