// The connection: requests, replies, events, keep-alive and the reconnect policy.

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
   * the reply of type `replyType` (the one whose `re` is this request's id) that came before it (or with the `ok` itself when the request
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
    } else if (msg.re != null) {
      // A reply names its request (`re`): it settles on its `ok`.
      const p = this._pending.get(msg.re);
      if (p && !p.reply && p.type === msg.type) p.reply = msg;
    } else {
      // A server without `re` on replies: the first pending request waiting for this type
      // (one reply belongs to at most one request: two pending `listen`s each get their own).
      for (const p of this._pending.values()) {
        if (!p.reply && p.type === msg.type && p.match(msg)) {
          p.reply = msg;
          break;
        }
      }
    }
    this.emit('message', msg);
    // 'resumed' is emitted by the reconnect loop once the session is this connection's.
    if (msg.type !== 'resumed') this.emit(msg.type, msg);
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
export async function accountLogin(client, credentials) {
  await client.connect();
  const msg = credentials.token
    ? { type: 'login', token: credentials.token }
    : { type: 'login', username: credentials.username, password: credentials.password };
  client.user = await client.request(msg, 'logged_in');
  return client.user;
}

/**
 * What agents and supervisors add to a connection: an account. Log in with a password or a
 * session token; a dropped connection is always worth coming back to, however long the server
 * takes; and when the server forgot the session (a restart), log in again with the token.
 */
export const AccountSession = (Base) => class extends Base {
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
};
