// Switchboard browser SDK: a thin wrapper over the WebSocket protocol v1
// (signaling/src/protocol.rs is the authority). No dependencies, no build step:
//   import { CustomerCall } from '/sdk/switchboard.js';
//
// Every class is an event emitter. Each server message is emitted under its `type`
// ('call_state', 'dashboard', 'transcript', 'emotion', 'sentiment_alert', 'chat', ...) and under
// 'message'; 'close' fires when the socket closes. AgentPhone and SupervisorConsole also fold
// live transcripts into Transcript objects and emit 'utterance' {call_id, utterance} for every
// utterance that changed (`utterance.removed` is true when the server withdrew it).
//
// Chat and the bot. A contact is a voice call or a text chat; with the bot on, the bot serves it
// first (call_state 'with_bot') until the customer asks for a person or the bot hands over
// (then 'queued', 'ringing', 'connected' as for any call). Text can be typed on either channel.
//   CustomerCall
//     start({name, topic, metadata, caller, language, entry, queue, video})   a voice call (microphone)
//     startChat({name, topic, metadata, caller, language, entry, queue})      a text chat, no microphone;
//                                           resolves with the first call_state ('with_bot' or 'queued')
//     sendChat(text)       1..2000 characters to the contact (voice or chat, any live state);
//                          resolves on the server's ok. Shown when it comes back as 'chat_message'
//     requestAgent()       "talk to a person": leave the bot for the queue
//     rejectAnswer()       "not what I asked": the bot's last answer missed (the bot asks again)
//     hangUp()             ends a call or a chat
//     channel ('voice' | 'chat'), state (the last call_state's state, e.g. 'with_bot'),
//     conversation (the contact's Conversation)
//   AgentPhone
//     accept(callId)       a chat or callback offer is accepted without media (no microphone, no SDP)
//     sendChat(text)       to the customer of the accepted contact
//     offer.channel, offer.handoff (what the bot learnt, when it served the contact first);
//     contact {call_id, channel, caller, handoff} of the accepted (or last) contact, and its
//     conversation, seeded with the handoff's conversation
//   SupervisorConsole: a watched call's chat is in conversations.get(callId).
// Events: 'chat_message' {call_id, message} for every message new to the contact's Conversation
// (message = {from: 'customer' | 'agent' | 'bot', text, at_ms, entry_id?}; each side's own messages
// come back from the server and are emitted then, not on send); 'state' {call_id, state, ...}
// (CustomerCall, every call_state of its contact, 'with_bot' included); 'handoff'
// {call_id, channel, handoff} (AgentPhone, an offer the bot handed over).

export const PROTOCOL_VERSION = 1;

/** The server's WebSocket endpoint on the page's own host. */
export function defaultUrl() {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${proto}//${location.host}/ws`;
}

/** A refusal from the server (`error` message) or a local failure, with a protocol error code. */
export class SwitchboardError extends Error {
  constructor(code, message, re) {
    super(message);
    this.name = 'SwitchboardError';
    this.code = code;
    this.re = re;
  }
}

class Emitter {
  #handlers = new Map();
  /** Subscribe; returns a function that unsubscribes. */
  on(type, fn) {
    if (!this.#handlers.has(type)) this.#handlers.set(type, new Set());
    this.#handlers.get(type).add(fn);
    return () => this.off(type, fn);
  }
  off(type, fn) {
    this.#handlers.get(type)?.delete(fn);
  }
  emit(type, data) {
    // Copy first: a handler may unsubscribe itself. A throwing handler must not stop the others.
    for (const fn of [...(this.#handlers.get(type) ?? [])]) {
      try { fn(data); } catch (e) { console.error(`switchboard: '${type}' handler failed`, e); }
    }
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * One WebSocket connection: requests, replies, events, keep-alive and reconnection.
 *
 * Reconnect policy. A connection that drops (the network, a server restart; not close()) is
 * re-opened with back-off (about 0.25, 0.5, 1, 2, 4, then every 5 s, with jitter) and the
 * session resumed with `resume {session_id, token}`: calls go on, and what the server sent
 * meanwhile arrives then. Events: 'reconnecting' {attempt, delay_ms} before each try,
 * 'resumed' {session_id, role?, call_id?} when the session is back, 'reconnected' when it was
 * gone and a new one had to be made (agents and supervisors log in again with their session
 * token; `restoreSession()` does it), and 'close' {code, reason} when the client gives up: a
 * customer after `resumeWindowMs` (the server keeps a session 20 s by default), agents and
 * supervisors never (they wait for the server to come back). A socket that stops answering
 * pings for `deadAfterMs` counts as dropped. `reconnect: false` turns all this off.
 */
export class SwitchboardClient extends Emitter {
  constructor({
    url, pingIntervalMs = 4000, deadAfterMs = 10000, requestTimeoutMs = 15000, iceServers = [],
    reconnect = true, resumeWindowMs = 20000,
  } = {}) {
    super();
    this.url = url || defaultUrl();
    this.pingIntervalMs = pingIntervalMs;
    this.deadAfterMs = deadAfterMs;
    this.requestTimeoutMs = requestTimeoutMs;
    this.iceServers = iceServers;
    this.reconnect = reconnect;
    this.resumeWindowMs = resumeWindowMs;
    this.ws = null;
    this.sessionId = null;
    this.resumeToken = null;
    /** True between a dropped connection and its resumption (or giving up). */
    this.reconnecting = false;
    this._connecting = null;
    this._closedByUs = false;
    this._nextId = 1;
    this._pending = new Map(); // request id -> {type, match, resolve, reject, timer}
    this._peers = new Map(); // peer_id -> PeerLink, to route server ICE candidates
    this._earlyIce = new Map(); // peer_id -> candidates that arrived before the answer was handled
    this._pingTimer = null;
  }

  get connected() {
    return this.ws?.readyState === WebSocket.OPEN && this.sessionId !== null;
  }

  /** Open the socket; resolves with the `welcome` message. Calling it again reuses the connection. */
  connect() {
    if (this._connecting) return this._connecting;
    this._closedByUs = false;
    this._connecting = new Promise((resolve, reject) => {
      const ws = new WebSocket(this.url);
      this.ws = ws;
      let welcomed = false;
      ws.onmessage = (ev) => {
        this._heardAt = Date.now();
        let msg;
        try { msg = JSON.parse(ev.data); } catch { return; }
        if (msg.type === 'welcome' && !welcomed) {
          welcomed = true;
          this.sessionId = msg.session_id;
          this.resumeToken = msg.resume_token ?? null;
          // While reconnecting, the session to resume is the old one, not this welcome's.
          if (!this.reconnecting) this._rememberSession();
          if (msg.protocol !== PROTOCOL_VERSION) {
            console.warn(`switchboard: server speaks protocol ${msg.protocol}, SDK speaks ${PROTOCOL_VERSION}`);
          }
          this._startHeartbeat(ws);
          resolve(msg);
        }
        this._dispatch(msg);
      };
      ws.onclose = (ev) => {
        if (this.ws !== ws) return; // an old socket, already given up on
        this._socketGone(ws, { code: ev.code, reason: ev.reason }, welcomed, reject);
      };
      // The browser reports no detail on socket errors; onclose always follows and does the work.
      ws.onerror = () => {};
    });
    return this._connecting;
  }

  /** Ping every pingIntervalMs; a ping unanswered for deadAfterMs means the socket is dead. */
  _startHeartbeat(ws) {
    clearInterval(this._pingTimer);
    this._pingSentAt = null;
    this._heardAt = Date.now();
    this._pingTimer = setInterval(() => {
      if (this.ws !== ws) return;
      const now = Date.now();
      // Timers of a hidden tab may fire late: only an unanswered ping counts, not a quiet gap.
      if (this._pingSentAt && this._heardAt < this._pingSentAt && now - this._pingSentAt > this.deadAfterMs) {
        this._socketGone(ws, { code: 4408, reason: 'no answer to pings' }, true, null);
        try { ws.close(); } catch { /* already closing */ }
        return;
      }
      if (!this._pingSentAt || this._heardAt >= this._pingSentAt) {
        if (this._sendRaw({ type: 'ping' })) this._pingSentAt = now;
      }
    }, this.pingIntervalMs);
  }

  _socketGone(ws, info, welcomed, rejectConnect) {
    if (this.ws === ws) this.ws = null;
    clearInterval(this._pingTimer);
    this.sessionId = null;
    this._connecting = null;
    const err = new SwitchboardError('disconnected', `connection closed (${info.code})`);
    if (!welcomed && rejectConnect) rejectConnect(err);
    for (const p of this._pending.values()) { clearTimeout(p.timer); p.reject(err); }
    this._pending.clear();
    if (this.reconnecting) return; // the reconnect loop goes on
    if (welcomed && !this._closedByUs && this.reconnect && this._worthResuming()) {
      this._reconnectLoop();
      return;
    }
    this.emit('close', info);
  }

  /** Whether a dropped connection has anything to come back to (subclasses say more). */
  _worthResuming() {
    return false;
  }

  /** Whether to keep trying after `elapsedMs` without success. */
  _keepTrying(elapsedMs) {
    return elapsedMs < this.resumeWindowMs;
  }

  /** The session is gone (the server restarted, the grace ran out): make a new one if we can. */
  async restoreSession() {
    return false;
  }

  async _reconnectLoop() {
    const resume = { session_id: this._resumeId, token: this._resumeTok };
    this.reconnecting = true;
    const started = Date.now();
    let attempt = 0;
    try {
      while (!this._closedByUs) {
        const delay = Math.round(Math.min(250 * 2 ** attempt, 5000) * (0.8 + Math.random() * 0.4));
        attempt++;
        this.emit('reconnecting', { attempt, delay_ms: delay });
        await sleep(delay);
        if (this._closedByUs) break;
        try {
          await this.connect();
        } catch {
          if (!this._keepTrying(Date.now() - started)) break;
          continue;
        }
        try {
          const r = await this.request({ type: 'resume', ...resume }, 'resumed', () => true, { quiet: true });
          this.sessionId = r.session_id;
          this.resumeToken = resume.token;
          this._rememberSession();
          this.reconnecting = false;
          this.emit('resumed', r);
          return;
        } catch (e) {
          if (e.code === 'disconnected' || e.code === 'timeout') continue;
        }
        // The server does not know the session any more.
        let restored = false;
        try { restored = await this.restoreSession(); } catch (e) {
          if (e.code === 'disconnected' || e.code === 'timeout') continue;
        }
        this.reconnecting = false;
        if (restored) {
          this._rememberSession();
          this.emit('reconnected', { session_id: this.sessionId });
          return;
        }
        this.emit('close', { code: 4404, reason: 'the session could not be resumed' });
        return;
      }
    } finally {
      this.reconnecting = false;
    }
    if (!this._closedByUs) this.emit('close', { code: 4408, reason: 'the service could not be reached again' });
  }

  /** Keep what a later resume needs (the welcome's id and token, or the resumed session's). */
  _rememberSession() {
    this._resumeId = this.sessionId;
    this._resumeTok = this.resumeToken;
  }

  close() {
    this._closedByUs = true;
    this.ws?.close(1000);
  }

  _sendRaw(msg) {
    if (this.ws?.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(msg));
    return true;
  }

  /** Fire and forget. Throws when the socket is not open, so callers notice lost actions. */
  send(msg) {
    if (!this._sendRaw(msg)) throw new SwitchboardError('disconnected', 'not connected');
  }

  /**
   * Send `msg` with a fresh `id` and wait until the server settles it: `ok {re}` resolves with
   * the reply of type `replyType` that came before it (or with the `ok` itself when the request
   * causes no such reply, e.g. set_state to the current state); `error {re}` rejects.
   */
  request(msg, replyType, match = () => true, { quiet = false } = {}) {
    const id = `r${this._nextId++}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this._pending.delete(id);
        reject(new SwitchboardError('timeout', `no '${replyType}' reply to '${msg.type}'`, id));
      }, this.requestTimeoutMs);
      this._pending.set(id, { type: replyType, match, resolve, reject, timer, quiet });
      if (!this._sendRaw({ ...msg, id })) {
        clearTimeout(timer);
        this._pending.delete(id);
        reject(new SwitchboardError('disconnected', 'not connected', id));
      }
    });
  }

  _dispatch(msg) {
    if (msg.type === 'error') {
      const p = msg.re != null ? this._pending.get(msg.re) : undefined;
      if (p) {
        clearTimeout(p.timer);
        this._pending.delete(msg.re);
        p.reject(new SwitchboardError(msg.code, msg.message, msg.re));
        // The SDK's own requests (a resume) settle quietly: no 'error' event for the page.
        if (p.quiet) return;
      }
    } else if (msg.type === 'ice_candidate') {
      const link = this._peers.get(msg.peer_id);
      if (link) link.addRemoteCandidate(msg.candidate);
      else {
        const early = this._earlyIce.get(msg.peer_id) ?? [];
        early.push(msg.candidate);
        this._earlyIce.set(msg.peer_id, early);
      }
    } else if (msg.type === 'ok') {
      const p = this._pending.get(msg.re);
      if (p) {
        clearTimeout(p.timer);
        this._pending.delete(msg.re);
        p.resolve(p.reply ?? msg);
      }
    } else {
      // Remember the reply; the request settles on its `ok`. One reply belongs to at most one
      // request (two pending `listen`s each get their own answer).
      for (const p of this._pending.values()) {
        if (!p.reply && p.type === msg.type && p.match(msg)) {
          p.reply = msg;
          break;
        }
      }
    }
    this.emit('message', msg);
    this.emit(msg.type, msg);
  }

  _claimPeer(link) {
    this._peers.set(link.peerId, link);
    for (const c of this._earlyIce.get(link.peerId) ?? []) link.addRemoteCandidate(c);
    this._earlyIce.delete(link.peerId);
  }

  _releasePeer(link) {
    if (link.peerId) this._peers.delete(link.peerId);
  }
}

/**
 * Log an agent or supervisor in on `client`: with a username and password, or with the
 * session token of an earlier login ({token}). The token is what a page keeps (e.g. in
 * sessionStorage) to come back after a reload or a server restart without the password.
 */
async function accountLogin(client, credentials) {
  await client.connect();
  const msg = credentials.token
    ? { type: 'login', token: credentials.token }
    : { type: 'login', username: credentials.username, password: credentials.password };
  client.user = await client.request(msg, 'logged_in');
  return client.user;
}

/**
 * One RTCPeerConnection to the server with trickle ICE in both directions. Local candidates
 * wait until the server has named the peer (its `answer` carries peer_id); remote ones wait
 * until the answer is applied, because addIceCandidate fails before setRemoteDescription.
 */
export class PeerLink {
  constructor(client) {
    this.client = client;
    this.peerId = null;
    this.pc = new RTCPeerConnection({ iceServers: client.iceServers });
    this._localQueue = [];
    this._remoteQueue = [];
    this._remoteSet = false;
    this.pc.onicecandidate = (ev) => {
      // A null or empty candidate means "gathering finished"; protocol v1 has no message for it.
      if (!ev.candidate || !ev.candidate.candidate) return;
      const { candidate, sdpMid, sdpMLineIndex } = ev.candidate.toJSON();
      const c = { candidate, sdpMid, sdpMLineIndex };
      if (this.peerId) this._sendCandidate(c);
      else this._localQueue.push(c);
    };
  }

  async createOffer() {
    await this.pc.setLocalDescription(await this.pc.createOffer());
    return this.pc.localDescription.sdp;
  }

  async applyAnswer(answer) {
    this.peerId = answer.peer_id;
    this.client._claimPeer(this);
    for (const c of this._localQueue) this._sendCandidate(c);
    this._localQueue = [];
    await this.pc.setRemoteDescription({ type: 'answer', sdp: answer.sdp });
    this._remoteSet = true;
    for (const c of this._remoteQueue) this._addIce(c);
    this._remoteQueue = [];
  }

  addRemoteCandidate(c) {
    if (this._remoteSet) this._addIce(c);
    else this._remoteQueue.push(c);
  }

  _addIce(c) {
    // Chromium rejects a candidate with neither sdpMid nor sdpMLineIndex; with BUNDLE any m-line will do.
    const init = { candidate: c.candidate, sdpMid: c.sdpMid ?? null, sdpMLineIndex: c.sdpMLineIndex ?? null };
    if (init.sdpMid === null && init.sdpMLineIndex === null) init.sdpMLineIndex = 0;
    this.pc.addIceCandidate(init).catch((e) => console.warn('switchboard: bad remote candidate', e));
  }

  _sendCandidate(c) {
    this.client._sendRaw({ type: 'ice_candidate', peer_id: this.peerId, candidate: c });
  }

  close() {
    this.client._releasePeer(this);
    this.pc.close();
  }
}

/**
 * One call's live transcript: `transcript`, `emotion` and `transcript_history` messages folded
 * into utterances keyed by utterance_id. An utterance is
 *   {utterance_id, speaker, start_ms, end_ms, text, final, emotion?, valence?, arousal?, trend?}
 * where `emotion` is the label (neutral, positive, frustrated, angry) once the final is scored.
 * A later message for an utterance replaces the earlier one; a final with empty text withdraws it.
 */
export class Transcript {
  constructor(callId) {
    this.callId = callId;
    this._byId = new Map();
  }

  /**
   * Fold in one message of this call; returns the utterances it changed (a withdrawn one comes
   * back with `removed: true`). Messages of other calls change nothing.
   */
  apply(msg) {
    if (msg.call_id !== this.callId) return [];
    if (msg.type === 'transcript') {
      const id = msg.utterance_id;
      const old = this._byId.get(id);
      if (msg.final && !msg.text) {
        this._byId.delete(id);
        return [{ ...old, utterance_id: id, speaker: msg.speaker, final: true, removed: true }];
      }
      // A partial never replaces a final.
      if (old?.final && !msg.final) return [];
      const u = {
        ...old,
        utterance_id: id,
        speaker: msg.speaker,
        start_ms: msg.start_ms,
        end_ms: msg.end_ms,
        text: msg.text,
        final: !!msg.final,
      };
      this._byId.set(id, u);
      return [u];
    }
    if (msg.type === 'emotion') {
      const u = this._byId.get(msg.utterance_id);
      if (!u) return [];
      Object.assign(u, { emotion: msg.label, valence: msg.valence, arousal: msg.arousal, trend: msg.trend });
      return [u];
    }
    if (msg.type === 'transcript_history') {
      // Merge: live messages may have arrived before the history.
      return (msg.utterances ?? []).map((h) => {
        const u = {
          ...this._byId.get(h.utterance_id),
          utterance_id: h.utterance_id,
          speaker: h.speaker,
          start_ms: h.start_ms,
          end_ms: h.end_ms,
          text: h.text,
          final: true,
          emotion: h.emotion,
          valence: h.valence,
          arousal: h.arousal,
        };
        this._byId.set(h.utterance_id, u);
        return u;
      });
    }
    return [];
  }

  get(utteranceId) {
    return this._byId.get(utteranceId);
  }

  get size() {
    return this._byId.size;
  }

  /** Every utterance in time order (start, then id). */
  list() {
    return [...this._byId.values()].sort(compareUtterances);
  }
}

/** Time order of utterances: by start_ms, then by utterance_id. */
export function compareUtterances(a, b) {
  return (a.start_ms ?? 0) - (b.start_ms ?? 0) || String(a.utterance_id).localeCompare(String(b.utterance_id));
}

/**
 * One contact's chat: `chat` messages, and the conversation of a bot's handoff, folded into
 * messages {from, text, at_ms, entry_id?} (`from` is 'customer', 'agent' or 'bot'; `entry_id`
 * names the knowledge-base entry a bot answer came from). A message already held (same sender,
 * time and text: one in a handoff's history that also arrives live) is not added twice.
 */
export class Conversation {
  constructor(callId) {
    this.callId = callId;
    this._messages = [];
    this._keys = new Set();
  }

  /** Fold in one `chat` message (or a handoff entry, which has no call_id); returns it if new, else null. */
  add(m) {
    if (m.call_id != null && m.call_id !== this.callId) return null;
    const key = `${m.from}\u0000${m.at_ms}\u0000${m.text}`;
    if (this._keys.has(key)) return null;
    this._keys.add(key);
    const msg = { from: m.from, text: m.text ?? '', at_ms: m.at_ms ?? 0 };
    if (m.entry_id != null) msg.entry_id = m.entry_id;
    this._messages.push(msg);
    return msg;
  }

  get size() {
    return this._messages.length;
  }

  /** Every message in the order said (at_ms; arrival order within the same millisecond). */
  list() {
    return this._messages.map((m, i) => [m, i]).sort((a, b) => a[0].at_ms - b[0].at_ms || a[1] - b[1]).map(([m]) => m);
  }

  /** The bot's latest message, or null. */
  lastBot() {
    return this.list().filter((m) => m.from === 'bot').pop() ?? null;
  }
}

/** The caller object of start_call / start_chat from `caller` or the name/topic/metadata shorthand. */
function callerInfo({ caller, name, topic, metadata } = {}) {
  const c = { ...caller };
  if (name) c.name = name;
  if (topic) c.topic = topic;
  if (metadata && Object.keys(metadata).length) c.metadata = metadata;
  return c;
}

function attachStream(el, stream) {
  el.autoplay = true;
  el.srcObject = stream;
  // With autoplay allowed this starts at once; otherwise the page must call play() after a click.
  el.play?.().catch(() => {});
}

/**
 * What customers and agents share: a microphone, one peer connection with an audio and a
 * video transceiver (sendrecv both, so a camera can be added later without renegotiation),
 * mute, hang-up and a microphone level meter.
 */
class CallParty extends SwitchboardClient {
  constructor(opts = {}) {
    super(opts);
    this.audioOptions = { echoCancellation: true, noiseSuppression: true, autoGainControl: true, ...opts.audio };
    this.audioElement = opts.audioElement || null;
    this.videoElement = opts.videoElement || null;
    this.link = null;
    this.pc = null;
    this.callId = null;
    this.muted = false;
    this.micTrack = null;
    this.cameraTrack = null;
    this._videoSender = null;
    this._meter = null;
    this.channel = null; // 'voice' or 'chat': the current (or last) contact's
    this.conversation = null; // its Conversation (typed messages, on either channel)
    this.on('call_state', (m) => {
      if (m.call_id === this.callId && m.state === 'ended') this._endMedia();
    });
  }

  /** Get the microphone, build the peer connection and return the SDP offer. */
  async _openMedia() {
    this._endMedia();
    const stream = await navigator.mediaDevices.getUserMedia({ audio: { ...this.audioOptions } });
    this.micTrack = stream.getAudioTracks()[0];
    this.micTrack.enabled = true;
    this.muted = false;
    this.link = new PeerLink(this);
    this.pc = this.link.pc;
    const audio = this.pc.addTransceiver(this.micTrack, { direction: 'sendrecv' });
    const video = this.pc.addTransceiver('video', { direction: 'sendrecv' });
    // A second voice: a supervisor whispering to the agent, or barging in on the customer.
    const second = this.pc.addTransceiver('audio', { direction: 'recvonly' });
    this._videoSender = video.sender;
    // The receivers' tracks exist from the start (muted until media flows), so attach them now
    // instead of waiting for ontrack, which depends on how the server labels its streams.
    // Both voices play, mixed, through the one audio element.
    if (!this.audioElement) this.audioElement = new Audio();
    attachStream(this.audioElement, new MediaStream([audio.receiver.track, second.receiver.track]));
    if (this.videoElement) attachStream(this.videoElement, new MediaStream([video.receiver.track]));
    return this.link.createOffer();
  }

  async _answered(answer) {
    this.callId = answer.call_id;
    await this.link.applyAnswer(answer);
  }

  /** Stop (or resume) sending audio: the track is disabled locally and the server is told. */
  mute(muted = true) {
    this.muted = !!muted;
    if (this.micTrack) this.micTrack.enabled = !this.muted;
    if (this.callId) this.send({ type: 'mute', call_id: this.callId, muted: this.muted });
  }

  hangUp() {
    if (this.callId) this._sendRaw({ type: 'hang_up', call_id: this.callId });
    this._endMedia();
  }

  /**
   * Type a message into the contact (a chat, or a voice call: text works on both). Resolves on
   * the server's `ok`; the message itself arrives back as a 'chat' ('chat_message') event, which
   * is when pages should show it. The server trims it. Rejects with the server's code:
   * bad_message (empty, over 2000 characters), wrong_state, forbidden / not_found.
   */
  sendChat(text) {
    if (!this.callId) return Promise.reject(new SwitchboardError('wrong_state', 'no contact'));
    return this.request({ type: 'chat', call_id: this.callId, text: String(text) }, 'ok');
  }

  /** Fold a `chat` message into `conversation` and emit 'chat_message' when it is new. */
  _foldChat(m) {
    if (this.conversation?.callId !== m.call_id) this.conversation = new Conversation(m.call_id);
    const message = this.conversation.add(m);
    if (message) this.emit('chat_message', { call_id: m.call_id, message });
  }

  /** Start sending the camera on the existing video transceiver (no renegotiation). */
  async enableCamera(constraints = true) {
    if (!this._videoSender) throw new SwitchboardError('wrong_state', 'no call');
    if (this.cameraTrack) return;
    const stream = await navigator.mediaDevices.getUserMedia({ video: constraints });
    this.cameraTrack = stream.getVideoTracks()[0];
    await this._videoSender.replaceTrack(this.cameraTrack);
  }

  async disableCamera() {
    await this._videoSender?.replaceTrack(null);
    this.cameraTrack?.stop();
    this.cameraTrack = null;
  }

  /** Microphone loudness as RMS in 0..1 (0 while muted). Cheap enough to call every frame. */
  micLevel() {
    if (!this.micTrack || this.micTrack.readyState !== 'live') return 0;
    if (!this._meter) {
      const ctx = new AudioContext();
      const analyser = ctx.createAnalyser();
      analyser.fftSize = 1024;
      ctx.createMediaStreamSource(new MediaStream([this.micTrack])).connect(analyser);
      this._meter = { ctx, analyser, buf: new Float32Array(analyser.fftSize) };
    }
    const { ctx, analyser, buf } = this._meter;
    if (ctx.state === 'suspended') ctx.resume().catch(() => {});
    analyser.getFloatTimeDomainData(buf);
    let sum = 0;
    for (const x of buf) sum += x * x;
    return Math.min(1, Math.sqrt(sum / buf.length));
  }

  _endMedia() {
    this.link?.close();
    this.link = null;
    // Keep .pc (closed) so its final stats stay readable; it is replaced on the next call.
    this.micTrack?.stop();
    this.micTrack = null;
    this.cameraTrack?.stop();
    this.cameraTrack = null;
    this._videoSender = null;
    this._meter?.ctx.close().catch(() => {});
    this._meter = null;
  }
}

/**
 * The customer side: one contact at a time, a voice call or a chat. Emits 'state' with each
 * `call_state` of the contact ('with_bot' while the bot serves it, then 'queued', 'ringing',
 * 'connected', 'ended'), and 'chat_message' {call_id, message} for each message of it.
 */
export class CustomerCall extends CallParty {
  constructor(opts = {}) {
    super(opts);
    this.state = null;
    this.on('rate_prompt', (m) => { this.ratePrompt = m; });
    this.on('call_state', (m) => {
      // The first call_state may arrive before the answer has been handled.
      if (!this.callId && m.state !== 'ended') this.callId = m.call_id;
      if (m.call_id !== this.callId) return;
      this.state = m.state;
      this.emit('state', m);
    });
    this.on('chat', (m) => {
      if (m.call_id === this.callId) this._foldChat(m);
    });
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

/**
 * The agent side: log in, become available, accept offered calls and chats. While on a voice
 * call it receives 'transcript' and 'emotion' events for both parties; `transcript` is the
 * current (or last) call's Transcript, and 'utterance' {call_id, utterance} fires for every
 * change to it. `offer` is the ringing offer ({call_id, caller, channel, handoff?, ...}; a
 * 'handoff' event fires for one the bot handed over), `contact` the accepted (or last) contact
 * and `conversation` its Conversation: the handoff's conversation first, then live messages,
 * each emitted as 'chat_message' {call_id, message}.
 */
export class AgentPhone extends CallParty {
  constructor(opts = {}) {
    super(opts);
    this.user = null;
    this.state = null;
    this.offer = null;
    this.contact = null;
    this.transcript = null;
    const fold = (m) => {
      // A call accepted on another session of this agent starts a new transcript too.
      if (this.transcript?.callId !== m.call_id) this.transcript = new Transcript(m.call_id);
      for (const u of this.transcript.apply(m)) this.emit('utterance', { call_id: m.call_id, utterance: u });
    };
    this.on('transcript', fold);
    this.on('emotion', fold);
    this.on('chat', (m) => this._foldChat(m));
    this.on('agent_state', (m) => {
      this.state = m.state;
      // What the agent wants to be after a server restart: away if away, else available.
      this._wantAvailable = m.state !== 'away';
      // Accepted on another session of this agent: the offer says what the contact is.
      if (m.state === 'on_call' && m.call_id && this.contact?.call_id !== m.call_id) {
        this._startContact(m.call_id, this.offer?.call_id === m.call_id ? this.offer : null);
        if (!this.link) this.callId = m.call_id;
      }
      // If the server ends the call without a call_state (e.g. straight to wrap-up), drop the media.
      // peerId is set only once the answer arrived, so an accept in flight is left alone.
      if (['wrap_up', 'available', 'away'].includes(m.state) && this.link?.peerId) this._endMedia();
    });
    this.on('call_offered', (m) => {
      this.offer = { ...m, channel: m.channel ?? 'voice' };
      if (m.handoff) this.emit('handoff', { call_id: m.call_id, channel: this.offer.channel, handoff: m.handoff });
    });
    this.on('offer_withdrawn', (m) => {
      if (this.offer?.call_id === m.call_id) this.offer = null;
    });
  }

  /** Log in with a username and password; resolves with `logged_in` (its `token` is the session token). */
  login(username, password) {
    return accountLogin(this, { username, password });
  }

  /** Log in again with the `token` of an earlier `logged_in` (after a reload or a restart). */
  loginWithToken(token) {
    return accountLogin(this, { token });
  }

  _worthResuming() {
    return !!this.user;
  }

  /** Agents and supervisors wait for the server however long it takes. */
  _keepTrying() {
    return true;
  }

  /** The server forgot the session (a restart): log in again with the session token. */
  async restoreSession() {
    if (!this.user?.token) return false;
    const before = this._wantAvailable; // the new login's first agent_state says away
    await accountLogin(this, { token: this.user.token });
    this._wantAvailable = before;
    await this._afterRestore?.();
    return true;
  }

  /** Available (true) or away (false); resolves with the resulting `agent_state`. */
  setAvailable(available) {
    return this.request({ type: 'set_state', state: available ? 'available' : 'away' }, 'agent_state');
  }

  /** Remember what the contact is and start its conversation with the handoff's history. */
  _startContact(callId, offer, channel) {
    this.contact = {
      call_id: callId,
      channel: channel ?? offer?.channel ?? 'voice',
      caller: offer?.caller ?? {},
      handoff: offer?.handoff ?? null,
      // A callback: {of_call, contact, note, at?}, whom to call back.
      callback: offer?.callback ?? null,
      // Transferred by another agent: {from_agent, from_queue?, note?}.
      transfer: offer?.transfer ?? null,
    };
    // Messages of this contact may have arrived already; keep them.
    if (this.conversation?.callId !== callId) this.conversation = new Conversation(callId);
    for (const h of this.contact.handoff?.conversation ?? []) {
      const message = this.conversation.add(h);
      if (message) this.emit('chat_message', { call_id: callId, message });
    }
  }

  /**
   * Accept the offered contact. A voice call opens the microphone and a peer connection
   * (resolves with the `answer`); a chat has no media (resolves with `agent_state on_call`, or
   * the `ok`). `channel` defaults to the offer's.
   */
  async accept(callId, { channel } = {}) {
    const offer = this.offer?.call_id === callId ? this.offer : null;
    const kind = channel ?? offer?.channel ?? 'voice';
    // A chat, or a callback (the agent calls the customer back outside the server): no media.
    if (kind === 'chat' || kind === 'callback') {
      this._endMedia();
      this.callId = callId;
      this.transcript = new Transcript(callId);
      this._startContact(callId, offer, kind);
      try {
        const done = await this.request({ type: 'accept', call_id: callId }, 'agent_state',
          (m) => m.state === 'on_call' && m.call_id === callId);
        this.offer = null;
        return done;
      } catch (e) {
        this.callId = null;
        this.contact = null;
        throw e;
      }
    }
    const sdp = await this._openMedia();
    this.callId = callId;
    this.transcript = new Transcript(callId);
    this._startContact(callId, offer, kind);
    try {
      const answer = await this.request({ type: 'accept', call_id: callId, sdp }, 'answer', (m) => m.call_id === callId);
      await this._answered(answer);
      this.offer = null;
      return answer;
    } catch (e) {
      this.callId = null;
      this.contact = null;
      this._endMedia();
      throw e;
    }
  }

  /** After a new login (the server restarted): what was going on is gone; be as chosen before. */
  async _afterRestore() {
    this._endMedia();
    this.offer = null;
    this.callId = null;
    if (this._wantAvailable) await this.setAvailable(true).catch(() => {});
  }

  decline(callId) {
    this.send({ type: 'decline', call_id: callId });
    if (this.offer?.call_id === callId) this.offer = null;
  }

  /**
   * Hand the contact being handled to `queue` (a blind transfer) with an optional `note` for
   * the next agent. This agent leaves it (its media closes) and wraps up. Resolves with the
   * `transferred` event; rejects with 'bad_message' for a queue that does not exist.
   */
  transfer(callId, queue, note) {
    const msg = { type: 'transfer', call_id: callId, queue };
    if (note) msg.note = note;
    return this.request(msg, 'transferred', (m) => m.call_id === callId);
  }
}

/**
 * The supervisor side: a live dashboard, silent listening, live transcripts and sentiment
 * alerts. Emits 'transcript_history', 'transcript' and 'emotion' for watched calls,
 * 'sentiment_alert' for any call, and 'utterance' {call_id, utterance} for every change to a
 * watched call's Transcript (in `transcripts`). A watched contact's typed messages (customer,
 * bot, agent) are folded into `conversations` and emitted as 'chat_message' {call_id, message}.
 */
export class SupervisorConsole extends SwitchboardClient {
  constructor(opts = {}) {
    super(opts);
    this.user = null;
    this.dashboard = null;
    this.listening = new Map(); // call_id -> {link, element, stream, customer, agent, mode}
    this.mic = null; // the microphone, opened on the first whisper or barge
    this.transcripts = new Map(); // call_id -> Transcript, for calls being watched
    this.conversations = new Map(); // call_id -> Conversation, for calls being watched
    this.pc = null; // the most recent listening peer connection
    this.on('dashboard', (d) => { this.dashboard = d; });
    this.on('listen_stopped', (m) => this._drop(m.call_id));
    const fold = (m) => {
      // Other sessions of the same supervisor may watch calls this one does not: ignore those.
      const t = this.transcripts.get(m.call_id);
      if (!t) return;
      for (const u of t.apply(m)) this.emit('utterance', { call_id: m.call_id, utterance: u });
    };
    this.on('transcript_history', fold);
    this.on('transcript', fold);
    this.on('emotion', fold);
    this.on('chat', (m) => {
      const message = this.conversations.get(m.call_id)?.add(m);
      if (message) this.emit('chat_message', { call_id: m.call_id, message });
    });
  }

  /** Log in with a username and password; resolves with `logged_in` (its `token` is the session token). */
  login(username, password) {
    return accountLogin(this, { username, password });
  }

  /** Log in again with the `token` of an earlier `logged_in` (after a reload or a restart). */
  loginWithToken(token) {
    return accountLogin(this, { token });
  }

  _worthResuming() {
    return !!this.user;
  }

  /** Agents and supervisors wait for the server however long it takes. */
  _keepTrying() {
    return true;
  }

  /** The server forgot the session (a restart): log in again with the session token. */
  async restoreSession() {
    if (!this.user?.token) return false;
    const before = this._wantAvailable; // the new login's first agent_state says away
    await accountLogin(this, { token: this.user.token });
    this._wantAvailable = before;
    await this._afterRestore?.();
    return true;
  }

  /**
   * Listen to a call. The offer has two audio m-lines: the first carries the customer's voice
   * (and, later, sends the supervisor's microphone when they whisper or barge in: it is
   * sendrecv with no track until then, so nothing is sent and no microphone is asked for), the
   * second the agent's. Both play, mixed, through one audio element.
   */
  async listen(callId, audioElement) {
    if (this.listening.has(callId)) return;
    const link = new PeerLink(this);
    const customer = link.pc.addTransceiver('audio', { direction: 'sendrecv' });
    const agent = link.pc.addTransceiver('audio', { direction: 'recvonly' });
    const element = audioElement || new Audio();
    const stream = new MediaStream([customer.receiver.track, agent.receiver.track]);
    attachStream(element, stream);
    this.listening.set(callId, { link, element, stream, customer, agent, mode: 'listen' });
    this.pc = link.pc;
    this.emit('listening', { call_id: callId, listening: true });
    try {
      const sdp = await link.createOffer();
      const answer = await this.request({ type: 'listen', call_id: callId, sdp }, 'answer', (m) => m.call_id === callId);
      await link.applyAnswer(answer);
    } catch (e) {
      this._drop(callId);
      throw e;
    }
  }

  /**
   * Receive a call's live transcript: resolves with the `transcript_history` reply (the final
   * utterances so far); live 'transcript', 'emotion' and 'chat' events follow until the call
   * ends or unwatchTranscript. The Transcript is in `transcripts.get(callId)`, the typed
   * messages from now on in `conversations.get(callId)`.
   */
  async watchTranscript(callId) {
    const fresh = !this.transcripts.has(callId);
    // Created before asking: live events may arrive ahead of the history.
    if (fresh) {
      this.transcripts.set(callId, new Transcript(callId));
      this.conversations.set(callId, new Conversation(callId));
    }
    try {
      return await this.request({ type: 'watch_transcript', call_id: callId }, 'transcript_history', (m) => m.call_id === callId);
    } catch (e) {
      if (fresh) {
        this.transcripts.delete(callId);
        this.conversations.delete(callId);
      }
      throw e;
    }
  }

  /** Stop receiving a call's transcript; resolves with the `ok` (sent even if not watching). */
  unwatchTranscript(callId) {
    this.transcripts.delete(callId);
    this.conversations.delete(callId);
    return this.request({ type: 'unwatch_transcript', call_id: callId }, 'ok');
  }

  /**
   * Change how this supervisor takes part in a call they listen to: 'whisper' (only the agent
   * hears them), 'barge' (the agent and the customer do) or 'listen' (nobody does). The
   * microphone is opened on the first whisper or barge, and sends only in those modes.
   * Resolves with the `supervision` confirmation; rejects with wrong_state when no agent is
   * on the call yet.
   */
  async supervise(callId, mode) {
    const entry = this.listening.get(callId);
    if (!entry) throw new SwitchboardError('wrong_state', 'listen to the call first');
    if (mode !== 'listen') {
      if (!this.mic) {
        const s = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: true } });
        this.mic = s.getAudioTracks()[0];
      }
      if (entry.customer.sender.track !== this.mic) await entry.customer.sender.replaceTrack(this.mic);
    }
    const done = await this.request({ type: 'supervise', call_id: callId, mode }, 'supervision',
      (m) => m.call_id === callId && m.mode === mode);
    entry.mode = mode;
    if (mode === 'listen') await entry.customer.sender.replaceTrack(null);
    this.emit('supervising', { call_id: callId, mode });
    return done;
  }

  /** After a new login (the server restarted): the calls listened to are gone. */
  async _afterRestore() {
    for (const callId of [...this.listening.keys()]) this._drop(callId);
    this.transcripts.clear();
    this.conversations.clear();
  }

  /** Forget a listening session locally, without telling the server (it already knows). */
  forget(callId) {
    this._drop(callId);
  }

  stopListening(callId) {
    if (!this.listening.has(callId)) return;
    this._sendRaw({ type: 'stop_listening', call_id: callId });
    this._drop(callId);
  }

  _drop(callId) {
    const entry = this.listening.get(callId);
    if (!entry) return;
    this.listening.delete(callId);
    entry.link.close();
    if (this.mic && ![...this.listening.values()].some((e) => e.mode !== 'listen')) {
      this.mic.stop();
      this.mic = null;
    }
    // The page may have pointed the element at another call since.
    if (entry.element.srcObject === entry.stream) entry.element.srcObject = null;
    this.emit('listening', { call_id: callId, listening: false });
  }
}
