// The supervisor side: the dashboard, listening, whisper and barge, transcripts.

import { AccountSession, SwitchboardClient, SwitchboardError } from './client.js';
import { PeerLink, attachStream } from './peer.js';
import { Transcript, Conversation } from './conversation.js';

/**
 * The supervisor side: a live dashboard, silent listening, live transcripts and sentiment
 * alerts. Emits 'transcript_history', 'transcript' and 'emotion' for watched calls,
 * 'sentiment_alert' for any call, and 'utterance' {call_id, utterance} for every change to a
 * watched call's Transcript (in `transcripts`). A watched contact's typed messages (customer,
 * bot, agent) are folded into `conversations` and emitted as 'chat_message' {call_id, message}.
 */
export class SupervisorConsole extends AccountSession(SwitchboardClient) {
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
