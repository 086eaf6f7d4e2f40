//! A subscriber's fixed outgoing slot: rewrites SSRC, sequence numbers, timestamps and payload
//! type so that the slot can switch between sources without the receiver noticing a new stream.

use crate::plan::Kind;
use crate::sdp::VideoCodec;
use futures::FutureExt;
use rtc::rtp::header::Header;
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
    /// `mark_switch` sets the marker bit on the first packet of a new source (the start of a
    /// talk spurt, for audio; for video the marker means the end of a frame and is left alone).
    pub(crate) fn rewrite(
        &mut self,
        p: &mut Packet,
        now: Instant,
        clock_rate: u32,
        mark_switch: bool,
    ) {
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
            if mark_switch {
                h.marker = true;
            }
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

/// What a slot sends as: its kind and index among the subscriber's slots of that kind, and
/// the RTP identity the receiver negotiated.
pub(crate) struct SlotSpec {
    pub kind: Kind,
    pub index: usize,
    pub ssrc: u32,
    pub payload_type: u8,
    pub clock_rate: u32,
    /// The video codec of a video slot (to find keyframes on a switch).
    pub video: Option<VideoCodec>,
}

/// Where a slot stands with its current source.
#[derive(Debug, Default)]
struct SlotState {
    rewriter: Rewriter,
    /// The source whose packets this slot forwards now. A video source switched to is not
    /// current until its first keyframe.
    current: Option<u32>,
}

/// One outgoing slot of a subscriber's peer connection.
pub struct DownTrack {
    pub(crate) kind: Kind,
    pub(crate) index: usize,
    ssrc: u32,
    payload_type: u8,
    clock_rate: u32,
    video: Option<VideoCodec>,
    state: Mutex<SlotState>,
    tx: mpsc::Sender<Packet>,
    /// The subscriber's track, written to directly while nothing waits in `tx` (None in unit
    /// tests: everything goes through `tx`).
    direct: Option<Arc<TrackLocalStaticRTP>>,
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
        let (tx, mut rx) = mpsc::channel::<Packet>(queue);
        let writer = track.clone();
        let writer_for_direct = track.clone();
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
        let mut me = Self::new(spec, tx, ready);
        me.direct = Some(writer_for_direct);
        Arc::new(me)
    }

    pub(crate) fn new(spec: SlotSpec, tx: mpsc::Sender<Packet>, ready: Arc<AtomicBool>) -> Self {
        Self {
            kind: spec.kind,
            index: spec.index,
            ssrc: spec.ssrc,
            payload_type: spec.payload_type,
            clock_rate: spec.clock_rate,
            video: spec.video,
            state: Mutex::new(SlotState::default()),
            tx,
            direct: None,
            ready,
        }
    }

    /// The slot's kind and its index among the subscriber's slots of that kind.
    pub fn slot(&self) -> (Kind, usize) {
        (self.kind, self.index)
    }

    /// Whether the subscriber can receive yet.
    pub(crate) fn ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed)
    }

    /// Queue a copy of `p` for sending, rewritten for this slot. `false` if the queue is full
    /// (the packet is dropped). A video slot that switched source drops the new source's
    /// packets until its next keyframe, so the receiver never decodes a frame against the
    /// wrong reference.
    pub(crate) fn push(&self, p: &Packet) -> bool {
        let mut out = Packet {
            // The publisher's header extensions carry ids negotiated with the publisher, which
            // mean something else (or nothing) to this receiver: they are not forwarded. The
            // subscriber's own stack adds the extensions it negotiated.
            header: Header {
                version: 2,
                marker: p.header.marker,
                sequence_number: p.header.sequence_number,
                timestamp: p.header.timestamp,
                ssrc: p.header.ssrc,
                ..Default::default()
            },
            payload: p.payload.clone(),
        };
        {
            let mut st = self.state.lock().expect("lock");
            let src = p.header.ssrc;
            if st.current != Some(src) {
                if let Some(codec) = self.video {
                    if !is_keyframe_start(codec, &p.payload) {
                        return true; // held back on purpose, not a queue overflow
                    }
                }
                st.current = Some(src);
            }
            st.rewriter.rewrite(
                &mut out,
                Instant::now(),
                self.clock_rate,
                self.video.is_none(),
            );
        }
        out.header.ssrc = self.ssrc;
        out.header.payload_type = self.payload_type;
        // Straight into the subscriber's connection when nothing waits in the queue: no task
        // hop per packet. The write completes at once unless the connection's own queue is
        // full (or its track lock is taken); then the packet waits in ours, in order, for the
        // writer task.
        if let Some(track) = &self.direct {
            if self.tx.capacity() == self.tx.max_capacity() {
                match track.write_rtp(out.clone()).now_or_never() {
                    Some(Ok(())) => return true,
                    Some(Err(_)) => return false,
                    None => {}
                }
            }
        }
        self.tx.try_send(out).is_ok()
    }
}

/// Whether an RTP payload starts a keyframe: a VP8 key frame's first partition, or an H.264
/// IDR/SPS NAL unit (alone, first in a STAP-A, or the start of an FU-A).
pub(crate) fn is_keyframe_start(codec: VideoCodec, payload: &[u8]) -> bool {
    match codec {
        VideoCodec::Vp8 => {
            // RFC 7741 payload descriptor: X R N S R PID(3), optional extension bytes.
            let Some(&b0) = payload.first() else {
                return false;
            };
            let start = b0 & 0x10 != 0 && b0 & 0x07 == 0;
            let mut i = 1;
            if b0 & 0x80 != 0 {
                let Some(&x) = payload.get(1) else {
                    return false;
                };
                i = 2;
                if x & 0x80 != 0 {
                    // PictureID: one or two bytes.
                    let Some(&pid) = payload.get(i) else {
                        return false;
                    };
                    i += if pid & 0x80 != 0 { 2 } else { 1 };
                }
                if x & 0x40 != 0 {
                    i += 1; // TL0PICIDX
                }
                if x & 0x30 != 0 {
                    i += 1; // TID/Y/KEYIDX
                }
            }
            // VP8 payload header: P bit (bit 0) is 0 for a key frame.
            start && payload.get(i).is_some_and(|h| h & 0x01 == 0)
        }
        VideoCodec::H264 => {
            let Some(&nal) = payload.first() else {
                return false;
            };
            let key = |t: u8| t == 5 || t == 7;
            match nal & 0x1F {
                24 => {
                    // STAP-A: 16-bit sizes, each followed by a NAL unit.
                    let mut i = 1;
                    while i + 2 < payload.len() {
                        let size = u16::from_be_bytes([payload[i], payload[i + 1]]) as usize;
                        if key(payload[i + 2] & 0x1F) {
                            return true;
                        }
                        i += 2 + size;
                    }
                    false
                }
                28 => payload
                    .get(1)
                    .is_some_and(|fu| fu & 0x80 != 0 && key(fu & 0x1F)),
                t => key(t),
            }
        }
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
            r.rewrite(
                &mut p,
                t + Duration::from_millis(20 * i as u64),
                48000,
                true,
            );
            out.push(p.header);
        }
        // Switch to a source with unrelated numbers, 100 ms after the last packet.
        let mut p = pkt(2, 60000, 5);
        r.rewrite(&mut p, t + Duration::from_millis(140), 48000, true);
        assert_eq!(p.header.sequence_number, 103);
        assert_eq!(p.header.timestamp, 1000 + 960 * 2 + 4800);
        assert!(p.header.marker);
        let mut q = pkt(2, 60001, 965);
        r.rewrite(&mut q, t + Duration::from_millis(160), 48000, true);
        assert_eq!(q.header.sequence_number, 104);
        assert_eq!(q.header.timestamp, 1000 + 960 * 3 + 4800);
        assert_eq!(out[0].sequence_number, 100);
    }

    #[test]
    fn sequence_wraps() {
        let mut r = Rewriter::default();
        let t = Instant::now();
        let mut a = pkt(1, 65535, 0);
        r.rewrite(&mut a, t, 48000, true);
        let mut b = pkt(1, 0, 960);
        r.rewrite(&mut b, t, 48000, true);
        assert_eq!(b.header.sequence_number, 0);
        let mut c = pkt(3, 7, 7);
        r.rewrite(&mut c, t, 48000, true);
        assert_eq!(c.header.sequence_number, 1);
    }

    fn slot(video: Option<VideoCodec>) -> (DownTrack, mpsc::Receiver<Packet>) {
        let (tx, rx) = mpsc::channel(16);
        let spec = SlotSpec {
            kind: if video.is_some() {
                Kind::Video
            } else {
                Kind::Audio
            },
            index: 0,
            ssrc: 4242,
            payload_type: 111,
            clock_rate: if video.is_some() { 90000 } else { 48000 },
            video,
        };
        (
            DownTrack::new(spec, tx, Arc::new(AtomicBool::new(true))),
            rx,
        )
    }

    #[test]
    fn publisher_header_extensions_are_not_forwarded() {
        let (d, mut rx) = slot(None);
        let mut p = pkt(9, 1, 960);
        p.header.payload_type = 100;
        p.header
            .set_extension(3, bytes::Bytes::from_static(&[0xAA]))
            .unwrap();
        assert!(p.header.extension);
        assert!(d.push(&p));
        let out = rx.try_recv().unwrap();
        assert!(!out.header.extension);
        assert!(out.header.extensions.is_empty());
        assert_eq!(out.header.ssrc, 4242);
        assert_eq!(out.header.payload_type, 111);
    }

    fn vp8(key: bool, start: bool) -> bytes::Bytes {
        // Descriptor with X=0: S bit and PID 0; then the VP8 payload header's P bit.
        let b0 = if start { 0x10 } else { 0x00 };
        bytes::Bytes::from(vec![b0, if key { 0x00 } else { 0x01 }, 0, 0])
    }

    #[test]
    fn a_video_switch_waits_for_the_new_sources_keyframe() {
        let (d, mut rx) = slot(Some(VideoCodec::Vp8));
        let mut a = pkt(1, 10, 0);
        a.payload = vp8(true, true);
        assert!(d.push(&a));
        assert!(rx.try_recv().is_ok());
        let mut a2 = pkt(1, 11, 3000);
        a2.payload = vp8(false, true);
        assert!(d.push(&a2));
        assert!(rx.try_recv().is_ok());
        // Source 2 sends delta frames: held back, nothing goes out, no marker forced.
        let mut b = pkt(2, 500, 90000);
        b.payload = vp8(false, true);
        assert!(d.push(&b));
        assert!(rx.try_recv().is_err());
        // Its keyframe starts the switch; the sequence continues from the last one sent.
        let mut bk = pkt(2, 501, 93000);
        bk.payload = vp8(true, true);
        bk.header.marker = false;
        assert!(d.push(&bk));
        let out = rx.try_recv().unwrap();
        assert_eq!(out.header.sequence_number, 12);
        assert!(
            !out.header.marker,
            "video marker means end of frame; not set on a switch"
        );
    }

    #[test]
    fn keyframes_are_recognised() {
        assert!(is_keyframe_start(VideoCodec::Vp8, &vp8(true, true)));
        assert!(!is_keyframe_start(VideoCodec::Vp8, &vp8(false, true)));
        assert!(!is_keyframe_start(VideoCodec::Vp8, &vp8(true, false)));
        // VP8 with an extended descriptor (X, I with a 2-byte picture id).
        assert!(is_keyframe_start(
            VideoCodec::Vp8,
            &[0x90, 0x80, 0x81, 0x23, 0x00]
        ));
        assert!(is_keyframe_start(VideoCodec::H264, &[0x65, 0]));
        assert!(is_keyframe_start(VideoCodec::H264, &[0x67, 0]));
        assert!(!is_keyframe_start(VideoCodec::H264, &[0x41, 0]));
        assert!(is_keyframe_start(VideoCodec::H264, &[0x78, 0, 2, 0x67, 0]));
        assert!(is_keyframe_start(VideoCodec::H264, &[0x7C, 0x85, 0]));
        assert!(!is_keyframe_start(VideoCodec::H264, &[0x7C, 0x05, 0]));
        assert!(!is_keyframe_start(VideoCodec::Vp8, &[]));
    }
}
