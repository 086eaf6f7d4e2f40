// What was said and typed in a contact: live transcripts and chat messages.

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
