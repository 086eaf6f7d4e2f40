//! A subscriber's fixed outgoing slot: rewrites SSRC, sequence numbers, timestamps and payload
//! type so that the slot can switch between sources without the receiver noticing a new stream.

use crate::routing::{Kind, SlotKind};
use rtc::rtp::Packet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::mpsc;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::{TrackLocal, TrackLocalEvent};

/// Sequence/timestamp state of a slot: output = input + offset, re-based on every switch.
#[derive(Debug, Default)]
pub(crate) struct Rewriter {
    src_ssrc: Option<u32>,
    seq_offset: u16,
    ts_offset: u32,
    last_seq: u16,
    last_ts: u32,
    last_at: Option<Instant>,
}

impl Rewriter {
    /// Rewrite `p` in place for output. `clock_rate` converts wall time across a switch.
    pub(crate) fn rewrite(&mut self, p: &mut Packet, now: Instant, clock_rate: u32) {
        let h = &mut p.header;
        if self.src_ssrc != Some(h.ssrc) {
            // A new source: continue our sequence right after the last packet we sent, and our
            // timestamps by the wall time since then (at least one 20 ms frame).
            let (next_seq, next_ts) = match self.last_at {
                Some(at) => {
                    let elapsed = now.saturating_duration_since(at).as_secs_f64();
                    let ticks = ((elapsed * clock_rate as f64) as u32).max(clock_rate / 50);
                    (
                        self.last_seq.wrapping_add(1),
                        self.last_ts.wrapping_add(ticks),
                    )
                }
                None => (h.sequence_number, h.timestamp),
            };
            self.seq_offset = next_seq.wrapping_sub(h.sequence_number);
            self.ts_offset = next_ts.wrapping_sub(h.timestamp);
            self.src_ssrc = Some(h.ssrc);
            h.marker = true;
        }
        h.sequence_number = h.sequence_number.wrapping_add(self.seq_offset);
        h.timestamp = h.timestamp.wrapping_add(self.ts_offset);
        // Only move forward: a reordered old packet must not rewind our notion of "last".
        if (h.sequence_number.wrapping_sub(self.last_seq) as i16) > 0 || self.last_at.is_none() {
            self.last_seq = h.sequence_number;
            self.last_ts = h.timestamp;
        }
        self.last_at = Some(now);
    }
}

/// What a slot sends as: its role, kind and the RTP identity the receiver negotiated.
pub(crate) struct SlotSpec {
    pub slot: SlotKind,
    pub kind: Kind,
    pub ssrc: u32,
    pub payload_type: u8,
    pub clock_rate: u32,
}

/// One outgoing slot of a subscriber's peer connection.
pub struct DownTrack {
    pub(crate) slot: SlotKind,
    pub(crate) kind: Kind,
    ssrc: u32,
    payload_type: u8,
    clock_rate: u32,
    rewriter: Mutex<Rewriter>,
    tx: mpsc::Sender<Packet>,
    /// The subscriber's DTLS is up; before that there are no SRTP keys to send with.
    ready: Arc<AtomicBool>,
}

impl DownTrack {
    /// Creates the slot and spawns its writer task, which ends when the slot is dropped.
    /// `on_keyframe_request` is called when the receiver asks for a keyframe.
    pub(crate) fn spawn(
        spec: SlotSpec,
        track: Arc<TrackLocalStaticRTP>,
        queue: usize,
        ready: Arc<AtomicBool>,
        on_keyframe_request: Arc<dyn Fn() + Send + Sync>,
    ) -> Arc<Self> {
        let SlotSpec {
            slot,
            kind,
            ssrc,
            payload_type,
            clock_rate,
        } = spec;
        let (tx, mut rx) = mpsc::channel::<Packet>(queue);
        let writer = track.clone();
        tokio::spawn(async move {
            while let Some(p) = rx.recv().await {
                if writer.write_rtp(p).await.is_err() {
                    break;
                }
            }
        });
        // Feedback from the receiver: keyframe requests go upstream.
        tokio::spawn(async move {
            while let Some(ev) = track.poll().await {
                if let TrackLocalEvent::OnRtcpPacket(pkts) = ev {
                    let wants_keyframe = pkts.iter().any(|p| {
                        let any = p.as_any();
                        any.is::<rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication>()
                            || any.is::<rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest>()
                    });
                    if wants_keyframe {
                        on_keyframe_request();
                    }
                }
            }
        });
        Arc::new(Self {
            slot,
            kind,
            ssrc,
            payload_type,
            clock_rate,
            rewriter: Mutex::new(Rewriter::default()),
            tx,
            ready,
        })
    }

    pub fn slot(&self) -> SlotKind {
        self.slot
    }

    /// Whether the subscriber can receive yet.
    pub(crate) fn ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed)
    }

    /// Queue a packet for sending; `false` if the queue is full (the packet is dropped).
    pub(crate) fn push(&self, mut p: Packet) -> bool {
        self.rewriter
            .lock()
            .expect("lock")
            .rewrite(&mut p, Instant::now(), self.clock_rate);
        p.header.ssrc = self.ssrc;
        p.header.payload_type = self.payload_type;
        self.tx.try_send(p).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn pkt(ssrc: u32, seq: u16, ts: u32) -> Packet {
        let mut p = Packet::default();
        p.header.ssrc = ssrc;
        p.header.sequence_number = seq;
        p.header.timestamp = ts;
        p
    }

    #[test]
    fn switching_sources_keeps_sequence_and_time_continuous() {
        let mut r = Rewriter::default();
        let t = Instant::now();
        let mut out = vec![];
        for i in 0..3u16 {
            let mut p = pkt(1, 100 + i, 1000 + 960 * i as u32);
            r.rewrite(&mut p, t + Duration::from_millis(20 * i as u64), 48000);
            out.push(p.header);
        }
        // Switch to a source with unrelated numbers, 100 ms after the last packet.
        let mut p = pkt(2, 60000, 5);
        r.rewrite(&mut p, t + Duration::from_millis(140), 48000);
        assert_eq!(p.header.sequence_number, 103);
        assert_eq!(p.header.timestamp, 1000 + 960 * 2 + 4800);
        assert!(p.header.marker);
        let mut q = pkt(2, 60001, 965);
        r.rewrite(&mut q, t + Duration::from_millis(160), 48000);
        assert_eq!(q.header.sequence_number, 104);
        assert_eq!(q.header.timestamp, 1000 + 960 * 3 + 4800);
        assert_eq!(out[0].sequence_number, 100);
    }

    #[test]
    fn sequence_wraps() {
        let mut r = Rewriter::default();
        let t = Instant::now();
        let mut a = pkt(1, 65535, 0);
        r.rewrite(&mut a, t, 48000);
        let mut b = pkt(1, 0, 960);
        r.rewrite(&mut b, t, 48000);
        assert_eq!(b.header.sequence_number, 0);
        let mut c = pkt(3, 7, 7);
        r.rewrite(&mut c, t, 48000);
        assert_eq!(c.header.sequence_number, 1);
    }
}
