//! Voice-to-voice latency of the bot (`cargo bench --bench voice_latency`; results in
//! docs/benchmarks.md): the real server (release build) with live transcription and the bot's
//! voice, a real WebRTC customer on loopback asking questions in espeak-ng speech. For each
//! question: from the true end of the caller's speech (the last voiced sample sent) to the
//! first packet of the bot's answer arriving at the caller. The server's own stage metrics
//! (end of utterance to final transcript, reply to first audio queued, one phrase's synthesis)
//! are read from /metrics around the run.
//!
//! `SB_BENCH_ROUNDS=8` questions; the demo knowledge base answers them.

#[path = "../tests/common/mod.rs"]
mod common;

use common::*;
use std::time::{Duration, Instant};

const QUESTIONS: [&str; 8] = [
    "How do I check my data balance?",
    "Can I keep my number if I switch to you?",
    "What should I do if my phone is stolen?",
    "How can I pay my bill?",
    "Do you have coverage abroad?",
    "How do I change my plan?",
    "My internet is very slow, what can I do?",
    "How do I set up voicemail?",
];

fn pct(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() - 1) as f64 * p).round() as usize]
}

/// Sum and count of a histogram on /metrics.
async fn hist(server: &Server, name: &str) -> (f64, f64) {
    (
        server.metric(&format!("{name}_sum")).await,
        server.metric(&format!("{name}_count")).await,
    )
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

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let rounds: usize = std::env::var("SB_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(6)
        .min(QUESTIONS.len());
    let server = Server::start_with_speech(
        "[[entry_points]]\nname = \"phone\"\nbot = true\nlanguage = \"en\"\n",
    )
    .await;
    let mut customer = customer_calls(&server, "Latency").await;
    customer.ws.wait_call_state("with_bot").await;
    customer.ws.chat_from("bot").await; // the greeting
    customer.peer.wait_connected().await;
    // Phrases of a long answer can be seconds apart on a small machine: quiet means 3 s.
    wait_quiet(&customer.peer, Duration::from_secs(3)).await;
    let asr0 = hist(&server, "switchboard_asr_final_latency_seconds").await;
    let first0 = hist(&server, "switchboard_bot_first_audio_seconds").await;
    let synth0 = hist(&server, "switchboard_bot_synthesis_seconds").await;

    let mut v2v = vec![];
    for q in QUESTIONS.iter().take(rounds) {
        let speech = espeak_48k(q, &["-s", "150"]);
        let end = speech_end(&speech);
        let mut pcm = speech.clone();
        pcm.extend(vec![0i16; 48 * 4000]);
        let before = customer.peer.received(0).packets;
        let t_start = Instant::now();
        let audio = customer.peer.start_pcm(pcm, false).await;
        let t_end = t_start + Duration::from_secs_f64(end as f64 / 48000.0);
        // The first packet of the answer after the end of the question.
        let deadline = t_end + Duration::from_secs(30);
        let mut first = None;
        while Instant::now() < deadline {
            let r = customer.peer.received(0);
            if r.packets > before && r.last_at.is_some_and(|t| t > t_end) {
                first = r.last_at;
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let reply = tokio::time::timeout(Duration::from_secs(14), customer.ws.chat_from("bot"))
            .await
            .unwrap_or_default();
        match first {
            Some(t) => {
                let ms = t.duration_since(t_end).as_secs_f64() * 1000.0;
                println!("{ms:7.0} ms  {q:?} -> {:?}", reply["text"]);
                v2v.push(ms);
            }
            None => println!("   none  {q:?}: no spoken answer within 30 s"),
        }
        wait_quiet(&customer.peer, Duration::from_secs(3)).await;
        audio.abort();
    }
    let d = |a: (f64, f64), b: (f64, f64)| {
        if b.1 > a.1 {
            (b.0 - a.0) / (b.1 - a.1) * 1000.0
        } else {
            f64::NAN
        }
    };
    let asr = d(
        asr0,
        hist(&server, "switchboard_asr_final_latency_seconds").await,
    );
    let first = d(
        first0,
        hist(&server, "switchboard_bot_first_audio_seconds").await,
    );
    let synth = d(
        synth0,
        hist(&server, "switchboard_bot_synthesis_seconds").await,
    );
    println!(
        "voice to voice over {} questions: p50 {:.0} ms, p95 {:.0} ms, max {:.0} ms",
        v2v.len(),
        pct(&mut v2v.clone(), 0.5),
        pct(&mut v2v.clone(), 0.95),
        pct(&mut v2v, 1.0),
    );
    println!(
        "server stages (means): end of utterance -> final transcript {asr:.0} ms; reply -> first phrase queued {first:.0} ms; one phrase synthesised {synth:.0} ms"
    );
}
