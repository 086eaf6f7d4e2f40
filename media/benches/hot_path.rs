//! Criterion benches for the two per-packet paths of the media core, without a network:
//! - `forward/N`: one Opus packet in, a rewritten copy queued for each of N subscribers
//!   (header rewrite, payload reference, queue, counters), the queues drained as a writer
//!   task would;
//! - `audio_tap`: one 20 ms Opus packet decoded to 16 kHz mono for the speech pipeline
//!   (jitter buffer, Opus decode with its resampling to 16 kHz).
//!
//! `cargo bench -p media --bench hot_path`. The whole path through ICE, DTLS and SRTP is
//! measured by `loadgen` (docs/benchmarks.md).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use media::bench_support::FanOut;
use media::OpusTap;
use rtc::rtp::Packet;

fn opus_frames(n: usize) -> Vec<Vec<u8>> {
    let mut enc =
        opus::Encoder::new(48000, opus::Channels::Mono, opus::Application::Voip).expect("encoder");
    let mut out = vec![0u8; 1500];
    let mut phase = 0.0f64;
    (0..n)
        .map(|_| {
            let pcm: Vec<i16> = (0..960)
                .map(|_| {
                    phase += 2.0 * std::f64::consts::PI * 300.0 / 48000.0;
                    (phase.sin() * 6000.0) as i16
                })
                .collect();
            let k = enc.encode(&pcm, &mut out).expect("encode");
            out[..k].to_vec()
        })
        .collect()
}

fn packet(seq: u16, payload: &[u8]) -> Packet {
    let mut p = Packet::default();
    p.header.version = 2;
    p.header.payload_type = 111;
    p.header.sequence_number = seq;
    p.header.timestamp = seq as u32 * 960;
    p.header.ssrc = 77;
    p.payload = bytes::Bytes::copy_from_slice(payload);
    p
}

fn forward(c: &mut Criterion) {
    let frame = opus_frames(1).remove(0);
    let mut g = c.benchmark_group("forward");
    for n in [1usize, 2, 10, 50] {
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, &n| {
            let mut fan = FanOut::new(n);
            let mut seq = 0u16;
            b.iter(|| {
                seq = seq.wrapping_add(1);
                fan.forward(&packet(seq, &frame));
                fan.drain()
            });
        });
    }
    g.finish();
}

fn audio_tap(c: &mut Criterion) {
    let frames = opus_frames(50);
    let mut g = c.benchmark_group("audio_tap");
    g.throughput(Throughput::Elements(1));
    g.bench_function("opus_20ms_to_16k", |b| {
        let mut tap = OpusTap::new(3, 5).expect("tap");
        let mut seq = 0u16;
        b.iter(|| {
            seq = seq.wrapping_add(1);
            let f = &frames[seq as usize % frames.len()];
            tap.push(seq, bytes::Bytes::copy_from_slice(f)).len()
        });
    });
    g.finish();
}

criterion_group!(benches, forward, audio_tap);
criterion_main!(benches);
