// The agent side: availability, offers, accepting and handling contacts.

import { AccountSession } from './client.js';
import { CallParty } from './call-party.js';
import { Transcript, Conversation } from './conversation.js';

/**
 * The agent side: log in, become available, accept offered calls and chats. While on a voice
 * call it receives 'transcript' and 'emotion' events for both parties; `transcript` is the
 * current (or last) call's Transcript, and 'utterance' {call_id, utterance} fires for every
 * change to it. `offer` is the ringing offer ({call_id, caller, channel, handoff?, ...}; a
 * 'handoff' event fires for one the bot handed over), `contact` the accepted (or last) contact
 * and `conversation` its Conversation: the handoff's conversation first, then live messages,
 * each emitted as 'chat_message' {call_id, message}.
 */
export class AgentPhone extends AccountSession(CallParty) {
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
