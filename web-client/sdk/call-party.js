// What customers and agents share: the microphone, the peer connection, mute, hang-up.

import { SwitchboardClient, SwitchboardError } from './client.js';
import { PeerLink, attachStream } from './peer.js';
import { Conversation } from './conversation.js';

/**
 * What customers and agents share: a microphone, one peer connection with an audio and a
 * video transceiver (sendrecv both, so a camera can be added later without renegotiation),
 * mute, hang-up and a microphone level meter.
 */
export class CallParty extends SwitchboardClient {
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
