//! A published stream (a microphone or a camera) and its fan-out to subscribers and taps.

use crate::down_track::DownTrack;
use crate::metrics::MediaMetrics;
use crate::routing::{Kind, Role};
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp::Packet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use webrtc::media_stream::track_remote::TrackRemote;

/// A copy of a packet for a server-side consumer, with who published it.
#[derive(Clone, Debug)]
pub struct TapPacket {
    pub role: Role,
    pub kind: Kind,
    pub packet: Packet,
}

/// One published stream. Fed by a remote track's reader task (or, later, by a server-side
/// producer such as the bot's voice) and forwarded to whatever [`DownTrack`]s the room's
/// routing points at it.
pub struct Source {
    pub(crate) role: Role,
    pub(crate) kind: Kind,
    subscribers: RwLock<Vec<Arc<DownTrack>>>,
    taps: RwLock<Vec<mpsc::Sender<TapPacket>>>,
    muted: AtomicBool,
    remote: Option<Arc<dyn TrackRemote>>,
    media_ssrc: u32,
    last_keyframe_request: Mutex<Option<Instant>>,
    metrics: MediaMetrics,
}

impl Source {
    pub(crate) fn new(
        role: Role,
        kind: Kind,
        remote: Option<Arc<dyn TrackRemote>>,
        media_ssrc: u32,
        metrics: MediaMetrics,
    ) -> Self {
        Self {
            role,
            kind,
            subscribers: RwLock::new(vec![]),
            taps: RwLock::new(vec![]),
            muted: AtomicBool::new(false),
            remote,
            media_ssrc,
            last_keyframe_request: Mutex::new(None),
            metrics,
        }
    }

    pub fn role(&self) -> Role {
        self.role
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// Forward one packet to every subscriber and tap. Never blocks.
    pub fn forward(&self, packet: &Packet) {
        if self.muted.load(Ordering::Relaxed) {
            return;
        }
        let subs = self.subscribers.read().expect("lock").clone();
        for d in subs.iter().filter(|d| d.ready()) {
            if d.push(packet.clone()) {
                self.metrics
                    .forwarded_packets
                    .with_label_values(&[self.kind.as_str()])
                    .inc();
                self.metrics
                    .forwarded_bytes
                    .with_label_values(&[self.kind.as_str()])
                    .inc_by(packet.payload.len() as u64);
            } else {
                self.metrics.dropped_packets.inc();
            }
        }
        let taps = self.taps.read().expect("lock");
        for t in taps.iter() {
            let copy = TapPacket {
                role: self.role,
                kind: self.kind,
                packet: packet.clone(),
            };
            if t.try_send(copy).is_err() {
                self.metrics.tap_dropped_packets.inc();
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
