//! A publication (a microphone, a camera, a server-side voice) and its fan-out to subscribers
//! and taps.

use crate::down_track::DownTrack;
use crate::metrics::MediaMetrics;
use crate::plan::Kind;
use prometheus::IntCounter;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp::Packet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use vocab::{ParticipantId, ParticipantKind};
use webrtc::media_stream::track_remote::TrackRemote;

/// A copy of a packet for a server-side consumer, with who published it.
#[derive(Clone, Debug)]
pub struct TapPacket {
    pub publisher: ParticipantKind,
    pub kind: Kind,
    pub packet: Packet,
}

/// Counters of one source, resolved once so that forwarding looks nothing up per packet.
struct Counters {
    packets: IntCounter,
    bytes: IntCounter,
    dropped: IntCounter,
    tap_dropped: IntCounter,
}

/// One published stream. Fed by a remote track's reader task or by a server-side
/// [`crate::Voice`], and forwarded to whatever [`DownTrack`]s the room points at it.
pub struct Source {
    pub(crate) publisher: ParticipantId,
    pub(crate) publisher_kind: ParticipantKind,
    pub(crate) kind: Kind,
    subscribers: RwLock<Vec<Arc<DownTrack>>>,
    taps: RwLock<Vec<mpsc::Sender<TapPacket>>>,
    muted: AtomicBool,
    remote: Option<Arc<dyn TrackRemote>>,
    media_ssrc: u32,
    last_keyframe_request: Mutex<Option<Instant>>,
    counters: Counters,
}

impl Source {
    pub(crate) fn new(
        publisher: ParticipantId,
        publisher_kind: ParticipantKind,
        kind: Kind,
        remote: Option<Arc<dyn TrackRemote>>,
        media_ssrc: u32,
        metrics: &MediaMetrics,
    ) -> Self {
        Self {
            publisher,
            publisher_kind,
            kind,
            subscribers: RwLock::new(vec![]),
            taps: RwLock::new(vec![]),
            muted: AtomicBool::new(false),
            remote,
            media_ssrc,
            last_keyframe_request: Mutex::new(None),
            counters: Counters {
                packets: metrics
                    .forwarded_packets
                    .with_label_values(&[kind.as_str()]),
                bytes: metrics.forwarded_bytes.with_label_values(&[kind.as_str()]),
                dropped: metrics.dropped_packets.clone(),
                tap_dropped: metrics.tap_dropped_packets.clone(),
            },
        }
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// Forward one packet to every subscriber and tap. Never blocks, allocates no list.
    pub fn forward(&self, packet: &Packet) {
        if self.muted.load(Ordering::Relaxed) {
            return;
        }
        {
            let subs = self.subscribers.read().expect("lock");
            for d in subs.iter().filter(|d| d.ready()) {
                if d.push(packet) {
                    self.counters.packets.inc();
                    self.counters.bytes.inc_by(packet.payload.len() as u64);
                } else {
                    self.counters.dropped.inc();
                }
            }
        }
        let taps = self.taps.read().expect("lock");
        for t in taps.iter() {
            let copy = TapPacket {
                publisher: self.publisher_kind,
                kind: self.kind,
                packet: packet.clone(),
            };
            if t.try_send(copy).is_err() {
                self.counters.tap_dropped.inc();
            }
        }
    }

    pub(crate) fn set_subscribers(&self, subs: Vec<Arc<DownTrack>>) {
        let mut cur = self.subscribers.write().expect("lock");
        let added = subs.iter().any(|s| !cur.iter().any(|c| Arc::ptr_eq(c, s)));
        *cur = subs;
        drop(cur);
        if added && self.kind == Kind::Video {
            self.request_keyframe();
        }
    }

    pub(crate) fn set_taps(&self, taps: Vec<mpsc::Sender<TapPacket>>) {
        *self.taps.write().expect("lock") = taps;
    }

    /// Feed nobody any more (its publisher left the room, or the room ended).
    pub(crate) fn detach(&self) {
        self.set_subscribers(vec![]);
        self.set_taps(vec![]);
    }

    pub fn subscriber_count(&self) -> usize {
        self.subscribers.read().expect("lock").len()
    }

    /// Stop (or resume) forwarding this source.
    pub fn set_muted(&self, muted: bool) {
        self.muted.store(muted, Ordering::Relaxed);
    }

    /// Ask the publisher for a keyframe (a new subscriber, or a subscriber's PLI/FIR).
    /// Rate-limited to one request per 500 ms.
    pub fn request_keyframe(&self) {
        let Some(remote) = self.remote.clone() else {
            return;
        };
        {
            let mut last = self.last_keyframe_request.lock().expect("lock");
            let now = Instant::now();
            if last.is_some_and(|t| now - t < Duration::from_millis(500)) {
                return;
            }
            *last = Some(now);
        }
        let media_ssrc = self.media_ssrc;
        tokio::spawn(async move {
            let pli = PictureLossIndication {
                sender_ssrc: 0,
                media_ssrc,
            };
            let _ = remote.write_rtcp(vec![Box::new(pli)]).await;
        });
    }
}
