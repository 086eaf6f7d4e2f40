//! Overload: more live talkers than ASR workers. Forwarding keeps its full packet rate, the
//! recogniser's backlog stays bounded (superseded and stale jobs are dropped and counted),
//! every call still gets final transcripts (the queue is fair), and memory stops growing.

mod common;

use common::*;
use std::time::{Duration, Instant};

const CALLS: usize = 5;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_talkers_than_workers_degrades_recognition_not_forwarding() {
    let server = Server::start_with_speech("[speech]\nworkers = 1\nmax_queued_finals = 2\n").await;
    let agents = ["alice", "bob", "carol", "dave", "erin"];
    for a in &agents[2..] {
        server.add_agent(a);
    }
    let speech = librivox_48k(700);
    let mut calls = vec![];
    for (i, a) in agents.iter().enumerate().take(CALLS) {
        let (customer, agent_ws, agent_peer) = connected_call(&server, a).await;
        // Start each talker at a different point of the clip.
        let offset = i * speech.len() / CALLS;
        let mut rotated = speech[offset..].to_vec();
        rotated.extend_from_slice(&speech[..offset]);
        let audio = customer.peer.start_pcm(rotated, true).await;
        calls.push((customer, agent_ws, agent_peer, audio));
    }

    tokio::time::sleep(Duration::from_secs(12)).await;
    let rss_early = server.rss_kib();
    let before: Vec<usize> = calls.iter().map(|c| c.2.received(0).packets).collect();
    let t0 = Instant::now();
    let mut max_depth = 0.0f64;
    while t0.elapsed() < Duration::from_secs(20) {
        max_depth = max_depth.max(server.metric("switchboard_asr_queue_depth").await);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let secs = t0.elapsed().as_secs_f64();
    let after: Vec<usize> = calls.iter().map(|c| c.2.received(0).packets).collect();
    let rss_late = server.rss_kib();

    // Forwarding: every agent still gets the customer's 50 packets a second.
    for (i, (b, a)) in before.iter().zip(&after).enumerate() {
        let rate = (a - b) as f64 / secs;
        assert!(rate >= 45.0, "call {i}: {rate:.1} packets/s forwarded");
    }
    // Recognition fell behind and said so.
    let dropped = server
        .metric("switchboard_asr_dropped_jobs_total{kind=\"partial\"}")
        .await;
    assert!(dropped > 0.0, "superseded/stale partials are counted");
    // The backlog is bounded: at most one partial and `max_queued_finals` finals per stream.
    assert!(
        max_depth <= (2 * CALLS * 3) as f64,
        "queue depth {max_depth}"
    );
    // Fairness: every call got final transcripts.
    for (i, (_, ws, _, _)) in calls.iter_mut().enumerate() {
        let msgs = ws.drain_for(Duration::from_millis(200)).await;
        let finals = msgs
            .iter()
            .filter(|m| m["type"] == "transcript" && m["final"] == true)
            .count();
        assert!(finals >= 1, "call {i} got no final transcript");
    }
    // Memory: no growth with the backlog (whisper's buffers are allocated by then).
    let growth = rss_late as i64 - rss_early as i64;
    eprintln!(
        "rss {rss_early} -> {rss_late} KiB; dropped partials {dropped}; max depth {max_depth}"
    );
    assert!(growth < 24 * 1024, "RSS grew {growth} KiB in {secs:.0} s");
    for c in &calls {
        c.3.abort();
    }
}
