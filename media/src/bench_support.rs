//! Fixtures for the criterion benches (`media/benches/hot_path.rs`): the forwarding hot path
//! without a network. Not part of the crate's API; nothing else uses it.

use crate::down_track::{DownTrack, SlotSpec};
use crate::metrics::MediaMetrics;
use crate::plan::Kind;
use crate::source::Source;
use rtc::rtp::Packet;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use tokio::sync::mpsc;
use vocab::{ParticipantId, ParticipantKind};

/// One audio source feeding `n` subscriber slots, each slot's queue drained by the caller
/// (where a real slot's writer task would hand the packet to its peer connection).
pub struct FanOut {
    source: Source,
    queues: Vec<mpsc::Receiver<Packet>>,
}

impl FanOut {
    pub fn new(n: usize) -> FanOut {
        let metrics = MediaMetrics::unregistered();
        let source = Source::new(
            ParticipantId::from("bench-publisher"),
            ParticipantKind::Customer,
            Kind::Audio,
            None,
            1,
            &metrics,
        );
        let mut subs = Vec::with_capacity(n);
        let mut queues = Vec::with_capacity(n);
        for i in 0..n {
            let (tx, rx) = mpsc::channel(64);
            let spec = SlotSpec {
                kind: Kind::Audio,
                index: 0,
                ssrc: 1000 + i as u32,
                payload_type: 111,
                clock_rate: 48000,
                video: None,
            };
            subs.push(Arc::new(DownTrack::new(
                spec,
                tx,
                Arc::new(AtomicBool::new(true)),
            )));
            queues.push(rx);
        }
        source.set_subscribers(subs);
        FanOut { source, queues }
    }

    /// One packet in, one rewritten copy queued per subscriber.
    pub fn forward(&self, p: &Packet) {
        self.source.forward(p);
    }

    /// Takes everything queued; returns how many packets that was.
    pub fn drain(&mut self) -> usize {
        let mut n = 0;
        for q in &mut self.queues {
            while q.try_recv().is_ok() {
                n += 1;
            }
        }
        n
    }
}
