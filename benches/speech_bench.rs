//! Speech pipeline benchmark (`cargo bench --bench speech_bench`; results in docs/benchmarks.md).
//!
//! 1. Real-time factor of one recognition job per utterance length (1 worker, 1 thread).
//! 2. Live capacity: N simulated calls fed in real time (20 ms frames) through the same
//!    endpointer, fair pool and emotion scorer the server uses. Each call alternates a customer
//!    and an agent reading LibriVox clips, so one of its two streams is always talking. For each
//!    N: end-of-utterance → final latency p50/p95, finals and partials dropped, CPU use.
//!
//! Needs models/ggml-tiny.en.bin (scripts/fetch-models.sh) and pocketsphinx-testdata.
//! `SB_BENCH_CALLS=5,10,20` and `SB_BENCH_SECS=30` choose the runs; `SB_BENCH_MODEL` the model.

use media::{FrameQueue, PcmFrame};
use signaling::CallId;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use switchboard::speech::asr::{AsrOutcome, AsrPool, Job, JobKind, PoolConfig};
use switchboard::speech::live::{FinalUtterance, LiveSpeech, SpeechSink, TranscriptEvent};
use switchboard::speech::{SpeechConfig, SpeechMetrics};
use vocab::ParticipantKind;

const LIBRIVOX: &str = "/usr/share/pocketsphinx/test/data/librivox";

fn clips() -> Vec<Vec<f32>> {
    let mut v: Vec<_> = std::fs::read_dir(LIBRIVOX)
        .expect("pocketsphinx-testdata")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "wav"))
        .collect();
    v.sort();
    v.iter()
        .map(|p| switchboard::speech::wav::read_16k_mono(p).unwrap())
        .collect()
}

fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    (f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap()) / 100.0
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() - 1) as f64 * p).round() as usize]
}

fn rtf(cfg: &SpeechConfig, clips: &[Vec<f32>]) {
    println!("## Real-time factor (1 worker, 1 thread, greedy, audio_ctx trimmed)");
    let pool = AsrPool::start(
        cfg.load_models().unwrap(),
        PoolConfig {
            workers: 1,
            threads_per_worker: 1,
            nice: 0,
            max_finals_per_stream: 100,
            ..PoolConfig::default()
        },
        None,
    );
    let long: Vec<f32> = clips.concat();
    for secs in [1.0f64, 2.0, 4.0, 8.0] {
        let n = (secs * 16_000.0) as usize;
        let mut rtfs = vec![];
        for i in 0..5 {
            let start = (i * 37_000) % (long.len() - n);
            let audio = long[start..start + n].to_vec();
            let (tx, rx) = std::sync::mpsc::channel();
            pool.submit(Job {
                stream: i as u64,
                utterance: 1,
                kind: JobKind::Final,
                audio,
                language: "en".into(),
                turn: false,
                queued_at: Instant::now(),
                reply: Box::new(move |o| {
                    let _ = tx.send(o);
                }),
            });
            if let Ok(AsrOutcome::Done(r)) = rx.recv() {
                rtfs.push(r.compute_s / r.audio_s);
            }
        }
        let med = pct(&mut rtfs, 0.5);
        println!(
            "utterance {secs:>4.1} s: RTF median {med:.3} ({:.0} ms compute)",
            med * secs * 1000.0
        );
    }
}

#[derive(Default)]
struct Tally {
    latencies: Vec<f64>,
    finals: usize,
    partials: usize,
}

struct Sink(Mutex<Tally>);

impl SpeechSink for Sink {
    fn transcript(&self, _call: &CallId, e: TranscriptEvent) {
        if !e.is_final {
            self.0.lock().unwrap().partials += 1;
        }
    }
    fn utterance(&self, _call: &CallId, u: FinalUtterance) {
        let mut t = self.0.lock().unwrap();
        t.finals += 1;
        t.latencies.push(u.latency.as_secs_f64());
    }
}

async fn live(cfg: &SpeechConfig, clips: &[Vec<f32>], calls: usize, secs: u64) {
    let registry = prometheus::Registry::new();
    let metrics = SpeechMetrics::new(&registry).unwrap();
    let pool = AsrPool::start(
        cfg.load_models().unwrap(),
        cfg.pool(),
        Some(metrics.clone()),
    );
    let speech = LiveSpeech::new(pool, cfg.clone(), metrics.clone());
    let sink = Arc::new(Sink(Mutex::new(Tally::default())));
    let started = Instant::now();
    let mut feeders = vec![];
    for c in 0..calls {
        let call = CallId(format!("call{c}"));
        let queues = [
            FrameQueue::new(cfg.frame_queue),
            FrameQueue::new(cfg.frame_queue),
        ];
        for (q, party) in queues
            .iter()
            .zip([ParticipantKind::Customer, ParticipantKind::Agent])
        {
            speech.start_stream(
                sink.clone(),
                call.clone(),
                party,
                "en".into(),
                q.clone(),
                started,
            );
        }
        // Customer reads a clip, then the agent does, and so on; the silent side sends silence.
        let clips: Vec<Vec<f32>> = clips.to_vec();
        feeders.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(20));
            let mut k = c; // each call starts at a different clip
            let mut pos = (c * 5_333) % clips[k % clips.len()].len();
            let mut turn = c % 2;
            let mut seq = 0u64;
            loop {
                tick.tick().await;
                let clip = &clips[k % clips.len()];
                let mut frame: Vec<f32> = clip.iter().skip(pos).take(320).copied().collect();
                frame.resize(320, 0.0);
                pos += 320;
                if pos >= clip.len() + 16_000 / 2 {
                    // half a second of pause, then the other side talks
                    pos = 0;
                    k += 1;
                    turn ^= 1;
                }
                for (i, q) in queues.iter().enumerate() {
                    let samples = if i == turn {
                        frame.clone()
                    } else {
                        vec![0.0; 320]
                    };
                    q.push(PcmFrame {
                        samples,
                        seq,
                        concealed: false,
                    });
                }
                seq += 1;
            }
        }));
    }
    let warm = Duration::from_secs(5);
    tokio::time::sleep(warm).await;
    let (cpu0, t0) = (cpu_seconds(), Instant::now());
    let base = {
        let mut t = sink.0.lock().unwrap();
        t.latencies.clear();
        (t.finals, t.partials)
    };
    let drop0 = (
        metrics.asr_dropped.with_label_values(&["final"]).get(),
        metrics.asr_dropped.with_label_values(&["partial"]).get(),
    );
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let cpu = (cpu_seconds() - cpu0) / t0.elapsed().as_secs_f64();
    for f in feeders {
        f.abort();
    }
    let mut t = sink.0.lock().unwrap();
    let finals = t.finals - base.0;
    let partials = t.partials - base.1;
    let dropped_finals = metrics.asr_dropped.with_label_values(&["final"]).get() - drop0.0;
    let dropped_partials = metrics.asr_dropped.with_label_values(&["partial"]).get() - drop0.1;
    let p50 = pct(&mut t.latencies, 0.5) * 1000.0;
    let p95 = pct(&mut t.latencies, 0.95) * 1000.0;
    println!(
        "| {calls:>3} | {finals:>4} | {dropped_finals:>3} | {partials:>5} | {dropped_partials:>5} | {p50:>6.0} | {p95:>6.0} | {:>4.0} % |",
        cpu * 100.0
    );
}

fn main() {
    whisper_rs::install_logging_hooks(); // whisper.cpp logs go to (absent) tracing
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let cfg = SpeechConfig {
        model: std::env::var("SB_BENCH_MODEL")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|_| root.join("models/ggml-tiny.en.bin")),
        ..SpeechConfig::default()
    };
    println!("# model {}, window {:?}", cfg.model.display(), cfg.window);
    let clips = clips();
    if std::env::args().any(|a| a == "--test") {
        return; // `cargo test --benches` only checks that it builds
    }
    rtf(&cfg, &clips);
    let calls: Vec<usize> = std::env::var("SB_BENCH_CALLS")
        .unwrap_or_else(|_| "5,10,20,30".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let secs: u64 = std::env::var("SB_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    println!(
        "\n## Live calls ({} workers x {} thread, partial every {} ms, min silence {} ms, {secs} s per run)",
        cfg.workers, cfg.threads_per_worker, cfg.partial_every_ms, cfg.min_silence_ms
    );
    println!("| calls | finals | finals dropped | partials | partials dropped | final p50 ms | final p95 ms | CPU |");
    println!("|---|---|---|---|---|---|---|---|");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    for n in calls {
        rt.block_on(live(&cfg, &clips, n, secs));
        std::thread::sleep(Duration::from_secs(2));
    }
}
