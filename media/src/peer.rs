//! One participant's peer connection: its published sources, its subscriber slots, and the
//! connection-state events the shell needs to detect drops.

use crate::down_track::DownTrack;
use crate::metrics::MediaMetrics;
use crate::plan::Kind;
use crate::source::Source;
use crate::{MediaError, Result};
use rtc::peer_connection::transport::RTCDtlsTransportState;
use rtc::rtcp::goodbye::Goodbye;
use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, Notify};
use vocab::{CallId, ParticipantId, ParticipantKind};
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionEventHandler, RTCIceCandidateInit, RTCIceGatheringState,
    RTCPeerConnectionState,
};

/// What happened to a peer connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MediaEventKind {
    /// ICE and DTLS are up; media flows.
    Connected,
    /// Consent checks are failing; may recover.
    Disconnected,
    /// ICE gave up: the participant is gone.
    Failed,
    /// The connection was closed (by us, or by the stack).
    Closed,
    /// The participant left: its audio stream said goodbye (RTCP BYE).
    Left,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaEvent {
    pub call: CallId,
    pub participant: ParticipantId,
    pub kind: MediaEventKind,
}

/// Called when a participant's published sources change (the room rewires). Held weakly by
/// whoever calls it, so a peer never keeps its room alive and `peer.rs` never names the room.
pub(crate) type OnSourcesChanged = Arc<dyn Fn() + Send + Sync>;

/// State shared between a peer and its event handler (which exists before the peer does).
pub(crate) struct PeerShared {
    pub(crate) call: CallId,
    pub(crate) participant: ParticipantId,
    pub(crate) kind: ParticipantKind,
    pub(crate) on_sources_changed: OnSourcesChanged,
    pub(crate) sources: Mutex<Vec<Arc<Source>>>,
    pub(crate) muted: AtomicBool,
    /// Set once DTLS is up: until then packets for this peer's slots are not sent.
    pub(crate) connected: Arc<AtomicBool>,
    /// Set once the participant said goodbye, so `Left` is reported once.
    pub(crate) left: AtomicBool,
    pub(crate) events: mpsc::UnboundedSender<MediaEvent>,
    pub(crate) gathered: Notify,
    pub(crate) metrics: MediaMetrics,
}

pub(crate) struct Handler(pub(crate) Arc<PeerShared>);

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            self.0.gathered.notify_one();
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        let kind = match state {
            RTCPeerConnectionState::Connected => MediaEventKind::Connected,
            RTCPeerConnectionState::Disconnected => MediaEventKind::Disconnected,
            RTCPeerConnectionState::Failed => MediaEventKind::Failed,
            RTCPeerConnectionState::Closed => MediaEventKind::Closed,
            _ => return,
        };
        self.0
            .connected
            .store(kind == MediaEventKind::Connected, Ordering::Relaxed);
        tracing::debug!(call_id = %self.0.call, participant = %self.0.participant, ?kind, "peer state");
        let _ = self.0.events.send(MediaEvent {
            call: self.0.call.clone(),
            participant: self.0.participant.clone(),
            kind,
        });
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let shared = self.0.clone();
        let kind = match track.kind().await {
            RtpCodecKind::Video => Kind::Video,
            _ => Kind::Audio,
        };
        let ssrc = track.ssrcs().await.first().copied().unwrap_or(0);
        let source = Arc::new(Source::new(
            shared.participant.clone(),
            shared.kind,
            kind,
            Some(track.clone()),
            ssrc,
            &shared.metrics,
        ));
        source.set_muted(kind == Kind::Audio && shared.muted.load(Ordering::Relaxed));
        shared.sources.lock().expect("lock").push(source.clone());
        (shared.on_sources_changed)();
        tracing::debug!(call_id = %shared.call, participant = %shared.participant, kind = kind.as_str(), ssrc, "publishing");
        tokio::spawn(async move {
            while let Some(ev) = track.poll().await {
                match ev {
                    TrackRemoteEvent::OnRtpPacket(p) => source.forward(&p),
                    // Reported once, for the participant's audio only (a camera turned off
                    // is not a goodbye).
                    TrackRemoteEvent::OnRtcpPacket(pkts)
                        if kind == Kind::Audio
                            && pkts.iter().any(|p| p.as_any().is::<Goodbye>())
                            && !shared.left.swap(true, Ordering::SeqCst) =>
                    {
                        tracing::debug!(call_id = %shared.call, participant = %shared.participant, "RTCP BYE: the participant left");
                        let _ = shared.events.send(MediaEvent {
                            call: shared.call.clone(),
                            participant: shared.participant.clone(),
                            kind: MediaEventKind::Left,
                        });
                    }
                    TrackRemoteEvent::OnEnded => break,
                    _ => {}
                }
            }
            shared
                .sources
                .lock()
                .expect("lock")
                .retain(|s| !Arc::ptr_eq(s, &source));
            (shared.on_sources_changed)();
        });
    }
}

/// How often a connected peer's DTLS transport is looked at for the participant's close.
const DTLS_CLOSE_POLL: std::time::Duration = std::time::Duration::from_millis(250);

/// webrtc 0.21 handles a peer's DTLS `close_notify` (a browser's `pc.close()`: no RTCP BYE,
/// then silence) by closing the DTLS transport, but raises no event for it, and the
/// connection's state stays `connected` until ICE notices the silence. So a peer's DTLS state
/// is looked at every [`DTLS_CLOSE_POLL`]; closed by the participant, it has left, as with an
/// RTCP BYE. Ends with the peer (held weakly) or once it is reported.
pub(crate) fn watch_dtls_close(peer: &Arc<Peer>) {
    let weak = Arc::downgrade(peer);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(DTLS_CLOSE_POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut transport = None;
        loop {
            tick.tick().await;
            let Some(peer) = weak.upgrade() else { return };
            let done =
                |p: &Peer| p.closed.load(Ordering::SeqCst) || p.shared.left.load(Ordering::SeqCst);
            if done(&peer) {
                return;
            }
            // The senders' transport (the answerer's receivers report none in webrtc 0.21).
            if transport.is_none() {
                for s in peer.pc.get_senders().await {
                    if let Ok(Some(t)) = s.transport().await {
                        transport = Some(t);
                        break;
                    }
                }
            }
            let Some(t) = transport.as_ref() else {
                continue;
            };
            match t.state().await {
                // Closed by us (the flag is set before we close): not a departure.
                Ok(RTCDtlsTransportState::Closed) if done(&peer) => return,
                Ok(RTCDtlsTransportState::Closed) => {
                    if !peer.shared.left.swap(true, Ordering::SeqCst) {
                        tracing::debug!(call_id = %peer.shared.call, participant = %peer.shared.participant, "DTLS close_notify: the participant left");
                        let _ = peer.shared.events.send(MediaEvent {
                            call: peer.shared.call.clone(),
                            participant: peer.shared.participant.clone(),
                            kind: MediaEventKind::Left,
                        });
                    }
                    return;
                }
                Ok(_) => {}
                Err(_) => return,
            }
        }
    });
}

/// A participant's peer connection in a room.
pub struct Peer {
    pub(crate) shared: Arc<PeerShared>,
    pub(crate) pc: Arc<dyn PeerConnection>,
    pub(crate) slots: Vec<Arc<DownTrack>>,
    sends_audio: bool,
    closed: AtomicBool,
}

impl Peer {
    pub(crate) fn new(
        shared: Arc<PeerShared>,
        pc: Arc<dyn PeerConnection>,
        slots: Vec<Arc<DownTrack>>,
        sends_audio: bool,
    ) -> Self {
        shared.metrics.peer_connections.inc();
        Self {
            shared,
            pc,
            slots,
            sends_audio,
            closed: AtomicBool::new(false),
        }
    }

    /// Whether the offer's first audio m-line sends: this participant can be heard.
    pub fn sends_audio(&self) -> bool {
        self.sends_audio
    }

    pub fn id(&self) -> &ParticipantId {
        &self.shared.participant
    }

    pub fn kind(&self) -> ParticipantKind {
        self.shared.kind
    }

    pub(crate) fn sources(&self) -> Vec<Arc<Source>> {
        self.shared.sources.lock().expect("lock").clone()
    }

    /// Stop (or resume) forwarding this participant's audio to anyone.
    pub fn set_muted(&self, muted: bool) {
        self.shared.muted.store(muted, Ordering::Relaxed);
        for s in self.sources() {
            if s.kind == Kind::Audio {
                s.set_muted(muted);
            }
        }
    }

    /// Apply a trickled remote ICE candidate.
    pub async fn add_ice_candidate(&self, candidate: RTCIceCandidateInit) -> Result<()> {
        if candidate.candidate.trim().is_empty() {
            // End-of-candidates marker: nothing to add.
            return Ok(());
        }
        self.pc
            .add_ice_candidate(candidate)
            .await
            .map_err(|e| MediaError::BadCandidate(e.to_string()))
    }

    /// Close the connection. Idempotent.
    pub async fn close(&self) {
        if self.closed.swap(true, Ordering::SeqCst) {
            return;
        }
        self.shared.metrics.peer_connections.dec();
        if let Err(e) = self.pc.close().await {
            tracing::debug!(participant = %self.shared.participant, "close: {e}");
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        if !self.closed.swap(true, Ordering::SeqCst) {
            self.shared.metrics.peer_connections.dec();
            let pc = self.pc.clone();
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                rt.spawn(async move {
                    let _ = pc.close().await;
                });
            }
        }
    }
}
