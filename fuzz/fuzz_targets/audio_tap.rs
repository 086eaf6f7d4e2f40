//! `media::OpusTap` under arbitrary packet scripts: reordering, duplicates, losses, sequence
//! jumps and wrap-around, empty, truncated and garbage payloads.
//!
//! Never panics, and what comes out keeps the documented shape: 16 kHz mono frames of whole
//! 2.5 ms Opus frames, at most 120 ms, samples finite and in [-1, 1], in strictly increasing
//! sequence order; a frame that is not concealed comes from a packet that was pushed; the
//! stats count every frame; after `flush` nothing is held back.
//!
//! `SB_FUZZ_ALLOW_PCM_OVERSHOOT=1` skips only the [-1, 1] check, to fuzz past that known finding
//! (fuzz/regressions/audio_tap/pcm-outside-unit-range, docs/fuzzing.md) until it is fixed.

#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use media::{OpusTap, PcmFrame, TAP_SAMPLE_RATE};
use std::collections::HashSet;
use std::sync::OnceLock;
use switchboard_fuzz::audio_script::Script;

/// 2.5 ms, the shortest Opus frame, at the tap's rate.
const OPUS_QUANTUM: usize = TAP_SAMPLE_RATE as usize / 400;
/// 120 ms, the longest Opus packet, at the tap's rate.
const MAX_SAMPLES: usize = TAP_SAMPLE_RATE as usize * 120 / 1000;

fn unit_range() -> bool {
    static STRICT: OnceLock<bool> = OnceLock::new();
    *STRICT.get_or_init(|| std::env::var_os("SB_FUZZ_ALLOW_PCM_OVERSHOOT").is_none_or(|v| v != "1"))
}

struct Checker {
    last_seq: Option<u64>,
    frames: u64,
    pushed: HashSet<u16>,
}

impl Checker {
    fn frames(&mut self, out: Vec<PcmFrame>) {
        let unit_range = unit_range();
        for f in out {
            let n = f.samples.len();
            assert!(
                n <= MAX_SAMPLES,
                "frame of {n} samples, over 120 ms at 16 kHz"
            );
            assert_eq!(
                n % OPUS_QUANTUM,
                0,
                "frame of {n} samples, not whole 2.5 ms frames"
            );
            for (i, s) in f.samples.iter().enumerate() {
                assert!(s.is_finite(), "sample {i} of frame {} is {s}", f.seq);
                assert!(
                    !unit_range || (-1.0..=1.0).contains(s),
                    "sample {i} of frame {} is {s}, outside [-1, 1]",
                    f.seq
                );
            }
            if let Some(last) = self.last_seq {
                assert!(
                    f.seq > last,
                    "frame {} after frame {last}: out of order",
                    f.seq
                );
            }
            self.last_seq = Some(f.seq);
            if !f.concealed {
                assert!(
                    self.pushed.contains(&(f.seq as u16)),
                    "decoded frame {} (seq {}) was never pushed",
                    f.seq,
                    f.seq as u16
                );
            }
            self.frames += 1;
        }
    }
}

fuzz_target!(|script: Script| {
    let depth = (script.depth % 17) as usize;
    let max_conceal = (script.max_conceal % 33) as u64;
    let mut tap = OpusTap::new(depth, max_conceal).expect("a 16 kHz mono decoder");
    let mut check = Checker {
        last_seq: None,
        frames: 0,
        pushed: HashSet::new(),
    };
    let mut seq = 0u16;
    for push in &script.pushes {
        seq = push.seq.apply(seq);
        let payload = push.payload.to_vec();
        if !payload.is_empty() {
            check.pushed.insert(seq);
        }
        let out = tap.push(seq, Bytes::from(payload));
        check.frames(out);
    }
    if script.flush {
        let out = tap.flush();
        check.frames(out);
        assert!(tap.flush().is_empty(), "a second flush found frames");
    }
    let s = tap.stats();
    assert_eq!(
        s.decoded + s.concealed + s.recovered,
        check.frames,
        "stats {s:?} do not add up to the {} frames returned",
        check.frames
    );
});
