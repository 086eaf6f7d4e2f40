//! Voice-to-voice latency of the bot (`cargo bench --profile dev --bench voice_latency`;
//! results in docs/benchmarks.md): the real server with live transcription and the bot's
//! voice, real WebRTC customers on loopback asking questions in espeak-ng speech. For each
//! question: from the true end of the caller's speech (the last voiced sample sent) to the
//! first packet of the bot's answer arriving at the caller, and to the first packet that
//! decodes to sound (what the caller hears first). Also reported: where the time goes
//! (the server's `switchboard_bot_turn_stage_seconds`) and the server's CPU per bot call.
//!
//! Settings (defaults in brackets): `SB_BENCH_ROUNDS` questions per caller [6],
//! `SB_BENCH_CALLS` callers at once, each its own bot call, questions staggered [1],
//! `SB_BENCH_TTS_THREADS` threads for synthesis [2, the server's default],
//! `SB_BENCH_ASR_THREADS` threads per recognition worker [1, the server's default],
//! `SB_BENCH_PREPARE=0` (no prepared answers), `SB_BENCH_TURN_WINDOW=0` (no cheaper first
//! recognition), `SB_SERVER_BIN` (the server to run, e.g. target/release/switchboard),
//! `SB_BENCH_TURN_THREADS` threads of a bot turn's early final [1, the
//! server's default], `SB_BENCH_SPEECH` more `[speech]` settings separated by `;`
//! (e.g. `early_final_ms = 200; turn_end_ms = 0; turn_threads_idle = 1`),
//! `SB_BENCH_LOG` (a file to copy the server's log to). The demo
//! knowledge base answers the questions.

#[path = "../tests/common/mod.rs"]
mod common;

use common::*;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[path = "shared/questions.rs"]
mod questions;
use questions::QUESTIONS;

fn pct(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() - 1) as f64 * p).round() as usize]
}

/// Last sample index above a quiet level (the true end of the speech).
fn speech_end(pcm: &[i16]) -> usize {
    pcm.iter()
        .rposition(|s| s.unsigned_abs() > 300)
        .unwrap_or(0)
}

/// Waits until the slot has been quiet (no packet) for `quiet`.
async fn wait_quiet(peer: &Peer, quiet: Duration) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = peer.received(0);
        if r.packets > 0 && r.last_at.is_some_and(|t| t.elapsed() >= quiet) {
            return;
        }
        assert!(Instant::now() < deadline, "the bot never fell quiet");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One caller: waits out the greeting, then asks `rounds` questions starting at `first`;
/// the voice-to-voice time of each answered one.
async fn caller(server: Arc<Server>, n: usize, first: usize, rounds: usize) -> Vec<(f64, f64)> {
    let mut customer = customer_calls(&server, &format!("Latency {n}")).await;
    customer.ws.wait_call_state("with_bot").await;
    customer.ws.chat_from("bot").await; // the greeting
    customer.peer.wait_connected().await;
    // Phrases of a long answer can be seconds apart on a small machine: quiet means 3 s.
    wait_quiet(&customer.peer, Duration::from_secs(3)).await;
    let mut v2v = vec![];
    for r in 0..rounds {
        let q = QUESTIONS[(first + r) % QUESTIONS.len()];
        let speech = espeak_48k(q, &["-s", "150"]);
        let end = speech_end(&speech);
        let mut pcm = speech.clone();
        pcm.extend(vec![0i16; 48 * 4000]);
        let before = customer.peer.received(0).packets;
        let t_start = Instant::now();
        let audio = customer.peer.start_pcm(pcm, false).await;
        let t_end = t_start + Duration::from_secs_f64(end as f64 / 48000.0);
        // The first packet of the answer after the end of the question, and the first that
        // the caller can hear (a phrase may begin with encoded silence).
        let deadline = t_end + Duration::from_secs(30);
        let (mut first, mut heard) = (None, None);
        while Instant::now() < deadline {
            let r = customer.peer.received(0);
            if first.is_none() && r.packets > before && r.last_at.is_some_and(|t| t > t_end) {
                first = r.last_at;
            }
            if r.last_sound_at.is_some_and(|t| t > t_end) {
                heard = r.last_sound_at;
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let reply = tokio::time::timeout(Duration::from_secs(14), customer.ws.chat_from("bot"))
            .await
            .unwrap_or_default();
        match (first, heard) {
            (Some(p), Some(h)) => {
                let ms = |t: Instant| t.duration_since(t_end).as_secs_f64() * 1000.0;
                println!(
                    "[{n}] {:7.0} ms to the first packet, {:7.0} ms to the first sound  {q:?} -> {:?}",
                    ms(p),
                    ms(h),
                    reply["text"]
                );
                v2v.push((ms(p), ms(h)));
            }
            _ => println!("[{n}]    none  {q:?}: no spoken answer within 30 s"),
        }
        wait_quiet(&customer.peer, Duration::from_secs(3)).await;
        audio.abort();
    }
    v2v
}

const STAGES: [&str; 4] = ["endpointing", "recognition", "answer", "first_phrase"];

async fn stages(server: &Server) -> Vec<(f64, f64)> {
    let mut out = vec![];
    for s in STAGES {
        let name = format!("switchboard_bot_turn_stage_seconds_sum{{stage=\"{s}\"}}");
        let count = name.replace("_sum{", "_count{");
        out.push((server.metric(&name).await, server.metric(&count).await));
    }
    out
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let rounds = env("SB_BENCH_ROUNDS", 6);
    let calls = env("SB_BENCH_CALLS", 1).max(1);
    let threads = env("SB_BENCH_TTS_THREADS", 2).max(1);
    let asr_threads = env("SB_BENCH_ASR_THREADS", 1).max(1);
    let turn_threads = env("SB_BENCH_TURN_THREADS", 1).max(1);
    // Off, for the "before" rows: no prepared answers, no cheaper first try.
    let prepare = env("SB_BENCH_PREPARE", 1) == 1;
    let turn_window = if env("SB_BENCH_TURN_WINDOW", 1) == 1 {
        ""
    } else {
        "turn_window = \"full\"\n"
    };
    // More `[speech]` settings, `;`-separated, e.g. "early_final_ms = 200; turn_end_ms = 0"
    // (the turn ending at its pause off, for a "before" row).
    let speech_extra = std::env::var("SB_BENCH_SPEECH")
        .unwrap_or_default()
        .replace(';', "\n");
    let server = Arc::new(
        Server::start_with_speech(&format!(
            "[speech]\nthreads_per_worker = {asr_threads}\nturn_threads = {turn_threads}\n{turn_window}\n{speech_extra}\n[bot.voice]\nthreads = {threads}\nprepare = {prepare}\n\n[[entry_points]]\nname = \"phone\"\nbot = true\nlanguage = \"en\"\n"
        ))
        .await,
    );
    // The server makes its fixed lines and answers' first phrases ready in the background at
    // start: the callers come once that is done (as they would to a server up for a while).
    if prepare {
        let t_prep = Instant::now();
        while server.metric("switchboard_bot_voice_preparing").await != 0.0
            && t_prep.elapsed() < Duration::from_secs(300)
        {
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        let n = server
            .metric("switchboard_bot_prepared_phrases_total{source=\"synthesised\"}")
            .await
            + server
                .metric("switchboard_bot_prepared_phrases_total{source=\"disk\"}")
                .await;
        println!(
            "{n} phrases prepared in {:.0} s",
            t_prep.elapsed().as_secs_f64()
        );
    }
    let s0 = stages(&server).await;
    let used0 = server
        .metric("switchboard_bot_speculative_phrases_total{result=\"used\"}")
        .await;
    let cpu0 = server.cpu_seconds();
    let t0 = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for n in 0..calls {
        let server = server.clone();
        set.spawn(async move {
            // Staggered, so that the callers do not all ask at the same instant.
            tokio::time::sleep(Duration::from_millis(700 * n as u64)).await;
            caller(server, n, n, rounds).await
        });
    }
    let mut v2v = vec![];
    while let Some(r) = set.join_next().await {
        v2v.extend(r.expect("caller"));
    }
    let cpu = server.cpu_seconds() - cpu0;
    let wall = t0.elapsed().as_secs_f64();
    let s1 = stages(&server).await;
    let used = server
        .metric("switchboard_bot_speculative_phrases_total{result=\"used\"}")
        .await
        - used0;
    let asked = calls * rounds;
    let mut packet: Vec<f64> = v2v.iter().map(|v| v.0).collect();
    let mut sound: Vec<f64> = v2v.iter().map(|v| v.1).collect();
    println!(
        "{calls} call(s), synthesis threads {threads}, recognition threads {asr_threads}, turn recognition threads {turn_threads}: voice to voice over {} of {asked} questions",
        v2v.len(),
    );
    for (what, v) in [("first packet", &mut packet), ("first sound", &mut sound)] {
        println!(
            "  to the {what}: p50 {:.0} ms, p95 {:.0} ms, max {:.0} ms",
            pct(&mut v.clone(), 0.5),
            pct(&mut v.clone(), 0.95),
            pct(v, 1.0),
        );
    }
    let mut line = String::from("server stages (means):");
    for (i, s) in STAGES.iter().enumerate() {
        let (a, b) = (s0[i], s1[i]);
        let mean = if b.1 > a.1 {
            (b.0 - a.0) / (b.1 - a.1) * 1000.0
        } else {
            f64::NAN
        };
        line.push_str(&format!(" {s} {mean:.0} ms;"));
    }
    println!("{line} first phrases made ahead and used: {used}");
    if let Ok(path) = std::env::var("SB_BENCH_LOG") {
        let _ = std::fs::write(&path, server.log());
    }
    println!(
        "server CPU: {cpu:.1} s over {wall:.0} s = {:.0} % of one core per bot call (greeting and questions)",
        cpu / wall / calls as f64 * 100.0
    );
}
