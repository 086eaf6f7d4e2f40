//! What recognising one caller's question costs (`cargo bench --profile dev --bench turn_asr`;
//! results in docs/benchmarks.md, "The bot speaks"): the encoder window and threads a
//! bot turn's recognition runs with, on the voice-latency bench's questions in espeak-ng
//! speech. Median wall time of the first decoding (no retries) per setting, and the words.
//!
//! `SB_BENCH_MODEL` (default models/ggml-tiny.en.bin), `SB_BENCH_REPEATS` [3].

use std::process::Command;
use std::time::Instant;
use switchboard::speech::asr::load_model;
use switchboard::speech::recognize::{recognize, RecognizeConfig, Window};

#[path = "shared/questions.rs"]
mod questions;
use questions::QUESTIONS;

/// espeak-ng speech at 16 kHz (its native 22,050 Hz, linearly resampled), as f32.
fn speech(text: &str) -> Vec<f32> {
    let out = Command::new("espeak-ng")
        .args(["-v", "en-us", "-s", "150", "--stdout", text])
        .output()
        .expect("espeak-ng");
    let b = &out.stdout;
    // espeak-ng writes a 44-byte header with 22,050 Hz mono 16-bit.
    let pcm: Vec<f32> = b[44..]
        .chunks_exact(2)
        .map(|c| i16::from_le_bytes([c[0], c[1]]) as f32 / 32768.0)
        .collect();
    let n = (pcm.len() as f64 * 16_000.0 / 22_050.0) as usize;
    (0..n)
        .map(|i| {
            let x = i as f64 * 22_050.0 / 16_000.0;
            let j = x as usize;
            let f = (x - j as f64) as f32;
            let a = pcm[j.min(pcm.len() - 1)];
            let b = pcm[(j + 1).min(pcm.len() - 1)];
            a + (b - a) * f
        })
        .collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let model = std::env::var("SB_BENCH_MODEL").unwrap_or("models/ggml-tiny.en.bin".into());
    let repeats: usize = std::env::var("SB_BENCH_REPEATS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let ctx = load_model(std::path::Path::new(&model)).expect("model");
    let mut state = ctx.create_state().expect("state");
    let eot = ctx.token_eot();
    let clips: Vec<Vec<f32>> = QUESTIONS.iter().map(|q| speech(q)).collect();
    let mean_s = clips.iter().map(|c| c.len() as f64 / 16_000.0).sum::<f64>() / clips.len() as f64;
    println!(
        "# {} questions, mean {mean_s:.2} s of speech; model {model}",
        clips.len()
    );
    let windows = [
        ("full 30 s", Window::Full),
        (
            "utterance + 3 s, at least 10 s (the default)",
            Window::Trimmed {
                margin_ms: 3000,
                min_ms: 10_000,
            },
        ),
        (
            "utterance + 1 s, at least 4 s",
            Window::Trimmed {
                margin_ms: 1000,
                min_ms: 4000,
            },
        ),
        (
            "utterance + 1 s, at least 3 s",
            Window::Trimmed {
                margin_ms: 1000,
                min_ms: 3000,
            },
        ),
        (
            "utterance + 2 s, at least 5 s",
            Window::Trimmed {
                margin_ms: 2000,
                min_ms: 5000,
            },
        ),
        (
            "utterance + 2 s, at least 6 s",
            Window::Trimmed {
                margin_ms: 2000,
                min_ms: 6000,
            },
        ),
    ];
    println!("| window | threads | median per question | words |");
    println!("|---|---|---|---|");
    for threads in std::env::var("SB_BENCH_THREADS")
        .ok()
        .map(|v| {
            v.split(',')
                .filter_map(|x| x.parse().ok())
                .collect::<Vec<usize>>()
        })
        .unwrap_or(vec![1, 2])
    {
        for (name, w) in &windows {
            let cfg = RecognizeConfig {
                window: w.clone(),
                quick: None,
                threads,
                retries: false,
                timestamps: false,
            };
            let mut times = vec![];
            let mut texts = vec![];
            for (i, c) in clips.iter().enumerate() {
                for r in 0..repeats {
                    let t = Instant::now();
                    let out =
                        recognize(&mut state, eot, c, Some("en"), true, &cfg, None).expect("asr");
                    times.push(t.elapsed().as_secs_f64() * 1000.0);
                    if r == 0 {
                        texts.push(format!("{}: {}", i + 1, out.text.trim()));
                    }
                }
            }
            println!(
                "| {name} | {threads} | {:.0} ms | {} |",
                median(times),
                texts.join(" / ")
            );
        }
    }
}
