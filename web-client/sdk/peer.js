// One peer connection to the server, with trickle ICE; how received media is played.

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

export function attachStream(el, stream) {
  el.autoplay = true;
  el.srcObject = stream;
  // With autoplay allowed this starts at once; otherwise the page must call play() after a click.
  el.play?.().catch(() => {});
}
