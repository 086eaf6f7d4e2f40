//! Turning a tapped Opus stream into 16 kHz mono PCM for the speech pipeline.
//!
//! [`OpusTap`] is sans-IO: packets go in (in any order), PCM frames come out in sequence
//! order, with losses concealed. [`FrameQueue`] is the bounded hand-over to the consumer: when
//! the consumer falls behind, the *oldest* frames are dropped and counted, so the pipeline
//! always works on the freshest audio and forwarding is never slowed. [`decode_tap`] is the
//! thin async shell joining a [`Room::tap`](crate::Room::tap) channel to a queue.

use crate::metrics::MediaMetrics;
use crate::source::TapPacket;
use bytes::Bytes;
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, Notify};

/// Output sample rate of every tap.
pub const TAP_SAMPLE_RATE: u32 = 16_000;
/// Samples in 20 ms at [`TAP_SAMPLE_RATE`], the usual Opus frame.
const FRAME_20MS: usize = 320;
/// Opus frames are at most 120 ms.
const MAX_FRAME: usize = 1920;

/// A stretch of decoded audio, 16 kHz mono, in [-1, 1].
#[derive(Clone, Debug)]
pub struct PcmFrame {
    pub samples: Vec<f32>,
    /// Extended (unwrapped) RTP sequence number of the packet this frame came from.
    pub seq: u64,
    /// True when the audio was synthesised by packet-loss concealment or recovered from FEC.
    pub concealed: bool,
}

/// What happened to the packets pushed into an [`OpusTap`] so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TapStats {
    pub decoded: u64,
    /// Frames synthesised by the decoder's packet-loss concealment.
    pub concealed: u64,
    /// Frames recovered from the in-band FEC of the following packet.
    pub recovered: u64,
    /// Packets that arrived after their turn had passed (treated as lost).
    pub late: u64,
    /// Packets the decoder rejected.
    pub corrupt: u64,
}

/// Reorders an Opus RTP stream by sequence number and decodes it to 16 kHz mono.
///
/// Up to `depth` packets are held back waiting for a missing one; after that the missing
/// packet counts as lost. A lost packet followed by a received one is rebuilt from that
/// packet's in-band FEC (the decoder falls back to PLC when the sender sent none); other
/// losses are concealed by PLC, up to `max_conceal` frames in a row. Longer gaps (a sender
/// that paused) are skipped, not filled.
pub struct OpusTap {
    decoder: opus::Decoder,
    depth: usize,
    max_conceal: u64,
    buffer: BTreeMap<u64, Bytes>,
    next: Option<u64>,
    highest: Option<u64>,
    last_frame_len: usize,
    stats: TapStats,
}

impl OpusTap {
    pub fn new(depth: usize, max_conceal: u64) -> Result<Self, opus::Error> {
        Ok(Self {
            decoder: opus::Decoder::new(TAP_SAMPLE_RATE, opus::Channels::Mono)?,
            depth: depth.max(1),
            max_conceal,
            buffer: BTreeMap::new(),
            next: None,
            highest: None,
            last_frame_len: FRAME_20MS,
            stats: TapStats::default(),
        })
    }

    pub fn stats(&self) -> TapStats {
        self.stats
    }

    /// Unwrap a 16-bit sequence number next to the highest one seen.
    fn extend(&mut self, seq: u16) -> u64 {
        let Some(h) = self.highest else {
            let e = (1u64 << 16) + seq as u64; // room to go backwards at the start
            self.highest = Some(e);
            return e;
        };
        let base = h & !0xffff;
        let candidates = [base.wrapping_sub(1 << 16), base, base + (1 << 16)];
        let e = candidates
            .into_iter()
            .map(|b| b + seq as u64)
            .min_by_key(|c| c.abs_diff(h))
            .expect("three candidates");
        if e > h {
            self.highest = Some(e);
        }
        e
    }

    /// Take one packet; returns the frames that became playable, in order.
    pub fn push(&mut self, seq: u16, payload: Bytes) -> Vec<PcmFrame> {
        let ext = self.extend(seq);
        if self.next.is_some_and(|n| ext < n) {
            self.stats.late += 1;
            return vec![];
        }
        if payload.is_empty() {
            return vec![];
        }
        self.next.get_or_insert(ext);
        self.buffer.insert(ext, payload);
        let mut out = vec![];
        self.drain(&mut out, false);
        out
    }

    /// Decode whatever is still held back (the stream ended).
    pub fn flush(&mut self) -> Vec<PcmFrame> {
        let mut out = vec![];
        self.drain(&mut out, true);
        out
    }

    fn drain(&mut self, out: &mut Vec<PcmFrame>, all: bool) {
        loop {
            let Some(next) = self.next else { return };
            if let Some(payload) = self.buffer.remove(&next) {
                self.decode(next, &payload, false, out);
                self.next = Some(next + 1);
                continue;
            }
            let Some((&first, _)) = self.buffer.iter().next() else {
                return;
            };
            if !all && self.buffer.len() < self.depth {
                return; // wait a little longer for `next`
            }
            let missing = first - next;
            if missing <= self.max_conceal {
                for s in next..first - 1 {
                    self.conceal(s, out);
                }
                // The packet right after a loss may carry the lost frame as FEC.
                let payload = self.buffer[&first].clone();
                self.decode(first - 1, &payload, true, out);
            }
            self.next = Some(first);
        }
    }

    fn decode(&mut self, seq: u64, payload: &[u8], fec: bool, out: &mut Vec<PcmFrame>) {
        let mut pcm = vec![0f32; MAX_FRAME];
        if fec {
            // Recover the previous frame: ask for exactly its length.
            pcm.truncate(self.last_frame_len);
        }
        match self.decoder.decode_float(payload, &mut pcm, fec) {
            Ok(n) => {
                pcm.truncate(n);
                clip(&mut pcm);
                if fec {
                    self.stats.recovered += 1;
                } else {
                    self.stats.decoded += 1;
                    self.last_frame_len = n;
                }
                out.push(PcmFrame {
                    samples: pcm,
                    seq,
                    concealed: fec,
                });
            }
            Err(_) => {
                self.stats.corrupt += 1;
                if !fec {
                    self.conceal(seq, out);
                }
            }
        }
    }

    fn conceal(&mut self, seq: u64, out: &mut Vec<PcmFrame>) {
        let mut pcm = vec![0f32; self.last_frame_len];
        let n = self.decoder.decode_float(&[], &mut pcm, false).unwrap_or(0);
        pcm.truncate(n);
        clip(&mut pcm);
        self.stats.concealed += 1;
        out.push(PcmFrame {
            samples: pcm,
            seq,
            concealed: true,
        });
    }
}

struct QueueInner {
    frames: Mutex<VecDeque<PcmFrame>>,
    notify: Notify,
    capacity: usize,
    closed: AtomicBool,
    dropped: AtomicU64,
}

/// Opus's float decoder may overshoot full scale slightly (found by `fuzz/audio_tap`); frames
/// promise samples in [-1, 1].
fn clip(pcm: &mut [f32]) {
    for s in pcm {
        *s = s.clamp(-1.0, 1.0);
    }
}

/// A bounded frame queue that drops the oldest frame when full. Cloning shares the queue.
#[derive(Clone)]
pub struct FrameQueue {
    inner: Arc<QueueInner>,
    dropped_metric: Option<prometheus::IntCounter>,
}

impl FrameQueue {
    pub fn new(capacity: usize) -> Self {
        Self {
            inner: Arc::new(QueueInner {
                frames: Mutex::new(VecDeque::with_capacity(capacity.min(4096))),
                notify: Notify::new(),
                capacity: capacity.max(1),
                closed: AtomicBool::new(false),
                dropped: AtomicU64::new(0),
            }),
            dropped_metric: None,
        }
    }

    fn with_metric(mut self, m: prometheus::IntCounter) -> Self {
        self.dropped_metric = Some(m);
        self
    }

    /// Append a frame; never blocks. Returns how many old frames were dropped to make room.
    pub fn push(&self, frame: PcmFrame) -> usize {
        let mut q = self.inner.frames.lock().expect("lock");
        let mut dropped = 0;
        while q.len() >= self.inner.capacity {
            q.pop_front();
            dropped += 1;
        }
        q.push_back(frame);
        drop(q);
        if dropped > 0 {
            self.inner
                .dropped
                .fetch_add(dropped as u64, Ordering::Relaxed);
            if let Some(m) = &self.dropped_metric {
                m.inc_by(dropped as u64);
            }
        }
        self.inner.notify.notify_one();
        dropped
    }

    /// Take every queued frame, waiting for at least one; `None` once closed and empty.
    pub async fn recv_all(&self) -> Option<Vec<PcmFrame>> {
        loop {
            let notified = self.inner.notify.notified();
            {
                let mut q = self.inner.frames.lock().expect("lock");
                if !q.is_empty() {
                    return Some(q.drain(..).collect());
                }
            }
            if self.inner.closed.load(Ordering::Acquire) {
                return None;
            }
            notified.await;
        }
    }

    /// Take every queued frame without waiting.
    pub fn try_recv_all(&self) -> Vec<PcmFrame> {
        self.inner.frames.lock().expect("lock").drain(..).collect()
    }

    pub fn len(&self) -> usize {
        self.inner.frames.lock().expect("lock").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Frames dropped so far because the consumer fell behind.
    pub fn dropped(&self) -> u64 {
        self.inner.dropped.load(Ordering::Relaxed)
    }

    /// No more frames will come.
    pub fn close(&self) {
        self.inner.closed.store(true, Ordering::Release);
        self.inner.notify.notify_one();
    }

    pub fn is_closed(&self) -> bool {
        self.inner.closed.load(Ordering::Acquire)
    }
}

/// Decode a tapped Opus stream into a new [`FrameQueue`] of `capacity` frames, on a task of
/// its own. The queue closes when the tap does (the room closed).
pub fn decode_tap(
    mut rx: mpsc::Receiver<TapPacket>,
    capacity: usize,
    metrics: MediaMetrics,
) -> FrameQueue {
    let queue = FrameQueue::new(capacity).with_metric(metrics.audio_dropped_frames.clone());
    let out = queue.clone();
    tokio::spawn(async move {
        let mut tap = match OpusTap::new(3, 5) {
            Ok(t) => t,
            Err(e) => {
                tracing::error!("opus decoder: {e}");
                out.close();
                return;
            }
        };
        let mut reported = TapStats::default();
        let report = |tap: &OpusTap, reported: &mut TapStats| {
            let s = tap.stats();
            let m = &metrics.audio_frames;
            m.with_label_values(&["decoded"])
                .inc_by(s.decoded - reported.decoded);
            m.with_label_values(&["concealed"])
                .inc_by(s.concealed - reported.concealed);
            m.with_label_values(&["recovered"])
                .inc_by(s.recovered - reported.recovered);
            m.with_label_values(&["late"])
                .inc_by(s.late - reported.late);
            m.with_label_values(&["corrupt"])
                .inc_by(s.corrupt - reported.corrupt);
            *reported = s;
        };
        let mut ssrc = None;
        while let Some(p) = rx.recv().await {
            let from = p.packet.header.ssrc;
            if ssrc.is_some_and(|s| s != from) {
                // Another stream of the same party (a customer's page that reloaded and
                // rejoined): its sequence numbers start anywhere, so it gets a decoder of its
                // own after what the old one still held.
                for f in tap.flush() {
                    out.push(f);
                }
                report(&tap, &mut reported);
                match OpusTap::new(3, 5) {
                    Ok(t) => tap = t,
                    Err(e) => {
                        tracing::error!("opus decoder: {e}");
                        break;
                    }
                }
                reported = TapStats::default();
            }
            ssrc = Some(from);
            for f in tap.push(p.packet.header.sequence_number, p.packet.payload) {
                out.push(f);
            }
            report(&tap, &mut reported);
        }
        for f in tap.flush() {
            out.push(f);
        }
        report(&tap, &mut reported);
        out.close();
    });
    queue
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded_tone(n: usize) -> Vec<Bytes> {
        let mut enc =
            opus::Encoder::new(48_000, opus::Channels::Mono, opus::Application::Voip).unwrap();
        enc.set_inband_fec(true).unwrap();
        enc.set_packet_loss_perc(20).unwrap();
        (0..n)
            .map(|i| {
                let pcm: Vec<f32> = (0..960)
                    .map(|k| {
                        let t = (i * 960 + k) as f32 / 48_000.0;
                        0.3 * (2.0 * std::f32::consts::PI * 440.0 * t).sin()
                    })
                    .collect();
                Bytes::from(enc.encode_vec_float(&pcm, 4000).unwrap())
            })
            .collect()
    }

    #[test]
    fn reorders_and_decodes_to_16k() {
        let pkts = encoded_tone(10);
        let mut tap = OpusTap::new(3, 5).unwrap();
        let order = [0usize, 2, 1, 3, 5, 4, 6, 7, 8, 9];
        let mut frames = vec![];
        for &i in &order {
            frames.extend(tap.push(1000 + i as u16, pkts[i].clone()));
        }
        frames.extend(tap.flush());
        let seqs: Vec<u64> = frames.iter().map(|f| f.seq).collect();
        assert_eq!(seqs.len(), 10);
        assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
        assert!(frames
            .iter()
            .all(|f| f.samples.len() == 320 && !f.concealed));
        assert_eq!(tap.stats().decoded, 10);
    }

    #[test]
    fn conceals_losses_and_recovers_from_fec() {
        let pkts = encoded_tone(20);
        let mut tap = OpusTap::new(2, 5).unwrap();
        let mut frames = vec![];
        for (i, p) in pkts.iter().enumerate() {
            if i == 5 || i == 10 || i == 11 {
                continue; // lost
            }
            frames.extend(tap.push(65_530u16.wrapping_add(i as u16), p.clone()));
        }
        frames.extend(tap.flush());
        assert_eq!(frames.len(), 20, "every 20 ms slot is filled");
        let s = tap.stats();
        assert_eq!(s.decoded, 17);
        // Each loss right before a received packet is rebuilt from that packet's FEC.
        assert_eq!(s.recovered, 2);
        assert_eq!(s.concealed, 1);
        assert!(frames[5].concealed && frames[10].concealed && frames[11].concealed);
        // A concealed frame of a steady tone is not silence.
        let rms = (frames[5].samples.iter().map(|x| x * x).sum::<f32>() / 320.0).sqrt();
        assert!(rms > 0.05, "rms {rms}");
    }

    #[test]
    fn late_packets_and_long_gaps_are_not_filled() {
        let pkts = encoded_tone(40);
        let mut tap = OpusTap::new(1, 5).unwrap();
        let mut frames = vec![];
        frames.extend(tap.push(0, pkts[0].clone()));
        frames.extend(tap.push(1, pkts[1].clone()));
        frames.extend(tap.push(30, pkts[30].clone())); // a 28-packet gap: skipped
        frames.extend(tap.push(2, pkts[2].clone())); // too late
        assert_eq!(frames.len(), 3);
        assert_eq!(tap.stats().late, 1);
        assert_eq!(tap.stats().concealed, 0);
    }

    #[test]
    fn garbage_payloads_are_concealed_not_fatal() {
        let mut tap = OpusTap::new(1, 5).unwrap();
        let pkts = encoded_tone(3);
        let mut frames = tap.push(0, pkts[0].clone());
        frames.extend(tap.push(1, Bytes::from_static(&[0xff; 7])));
        frames.extend(tap.push(2, pkts[2].clone()));
        assert_eq!(frames.len(), 3);
        assert!(tap.stats().corrupt >= 1);
    }

    /// A party's stream that starts over (a customer's page that reloaded and rejoined: a new
    /// SSRC, its sequence numbers anywhere) is decoded like the first, not dropped as late.
    #[tokio::test]
    async fn a_new_stream_of_the_same_party_is_decoded_from_its_start() {
        let metrics = crate::MediaMetrics::new(&prometheus::Registry::new()).unwrap();
        let (tx, rx) = mpsc::channel(256);
        let frames = decode_tap(rx, 256, metrics);
        let pkts = encoded_tone(40);
        let packet = |ssrc: u32, seq: u16, payload: &Bytes| {
            let mut p = rtc::rtp::Packet::default();
            p.header.ssrc = ssrc;
            p.header.sequence_number = seq;
            p.payload = payload.clone();
            crate::source::TapPacket {
                publisher: crate::ParticipantKind::Customer,
                kind: crate::Kind::Audio,
                packet: p,
            }
        };
        // The first stream at 30000.., then the new one 20000 numbers behind it.
        for (i, pl) in pkts[..20].iter().enumerate() {
            tx.send(packet(1, 30_000 + i as u16, pl)).await.unwrap();
        }
        for (i, pl) in pkts[20..].iter().enumerate() {
            tx.send(packet(2, 10_000 + i as u16, pl)).await.unwrap();
        }
        drop(tx);
        let mut got = vec![];
        while let Some(batch) = frames.recv_all().await {
            got.extend(batch);
        }
        assert_eq!(got.len(), 40, "every packet of both streams is a frame");
        assert!(got.iter().all(|f| !f.concealed));
    }

    #[tokio::test]
    async fn queue_drops_oldest_when_full() {
        let q = FrameQueue::new(3);
        for i in 0..5 {
            q.push(PcmFrame {
                samples: vec![0.0; 320],
                seq: i,
                concealed: false,
            });
        }
        assert_eq!(q.dropped(), 2);
        let got: Vec<u64> = q.recv_all().await.unwrap().iter().map(|f| f.seq).collect();
        assert_eq!(got, vec![2, 3, 4]);
        q.close();
        assert!(q.recv_all().await.is_none());
    }
}
