//! Call-path benchmark: runs the real server (release build) with real WebRTC peers on loopback
//! and reports call setup times, memory per idle call and CPU per talking call.
//! `cargo bench --bench call_bench` (or `make bench`); results go in docs/benchmarks.md.

#[path = "../tests/common/mod.rs"]
mod common;

use common::*;
use serde_json::json;
use std::time::{Duration, Instant};

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[((v.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let calls: usize = std::env::var("BENCH_CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let talkers: usize = std::env::var("BENCH_TALKERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let server = Server::start("[center]\nwrap_up_s = 0\n").await;

    // 1. Setup times, one call after another.
    let mut agent = agent_available(&server, "alice").await;
    let mut offer_to_connected = vec![];
    let mut accept_to_two_way = vec![];
    for _ in 0..calls {
        let t0 = Instant::now();
        let c = customer_calls(&server, "Bench").await;
        c.peer.wait_connected().await;
        offer_to_connected.push(t0.elapsed().as_secs_f64() * 1000.0);
        let _ct = c.peer.start_tone(440.0).await;
        agent.expect("call_offered").await;
        let t1 = Instant::now();
        let mut peer = Peer::new(Layout::Talker).await;
        let sdp = peer.offer().await;
        agent
            .request(json!({"type":"accept","call_id":c.call_id,"sdp":sdp}))
            .await;
        let answer = agent.expect("answer").await;
        peer.apply_answer(&answer).await;
        let _at = peer.start_tone(880.0).await;
        // Two-way audio: the first packets of each side's voice arrive at the other.
        while peer.received(0).packets == 0 || c.peer.received(0).packets == 0 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        accept_to_two_way.push(t1.elapsed().as_secs_f64() * 1000.0);
        agent
            .request(json!({"type":"hang_up","call_id":c.call_id}))
            .await;
        agent.wait_call_state("ended").await;
        agent
            .request(json!({"type":"set_state","state":"available"}))
            .await;
        peer.close().await;
        c.peer.close().await;
        c.ws.close().await;
        server
            .wait_metric("switchboard_peer_connections", 0.0)
            .await;
    }
    println!(
        "setup over {calls} calls: offer->connected p50 {:.1} ms p95 {:.1} ms; accept->two-way audio p50 {:.1} ms p95 {:.1} ms",
        pct(&mut offer_to_connected.clone(), 0.5),
        pct(&mut offer_to_connected, 0.95),
        pct(&mut accept_to_two_way.clone(), 0.5),
        pct(&mut accept_to_two_way, 0.95),
    );
    agent.close().await;

    // 2. Memory per idle call: customers connected and waiting in the queue, silent.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss0 = server.rss_kib();
    let mut idle = vec![];
    for i in 0..calls {
        let c = customer_calls(&server, &format!("Idle {i}")).await;
        c.peer.wait_connected().await;
        idle.push(c);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss1 = server.rss_kib();
    println!(
        "memory: {} idle calls add {} KiB RSS ({:.0} KiB per call; server at {} MiB)",
        calls,
        rss1.saturating_sub(rss0),
        rss1.saturating_sub(rss0) as f64 / calls as f64,
        rss1 / 1024
    );
    for c in idle {
        c.peer.close().await;
        c.ws.close().await;
    }
    server
        .wait_metric("switchboard_peer_connections", 0.0)
        .await;

    // 3. CPU per talking call: both sides send Opus 50 packets/s.
    let mut live = vec![];
    for i in 0..talkers {
        let name = format!("bench{i}");
        server.add_agent(&name);
        let mut a = agent_available(&server, &name).await;
        let c = customer_calls(&server, "Talker").await;
        a.expect("call_offered").await;
        let p = agent_accepts(&mut a, &c.call_id).await;
        let t1 = c.peer.start_tone(440.0).await;
        let t2 = p.start_tone(880.0).await;
        live.push((c, a, p, t1, t2));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (cpu0, pk0, t0) = (
        server.cpu_seconds(),
        server
            .metric("switchboard_forwarded_rtp_packets_total{kind=\"audio\"}")
            .await,
        Instant::now(),
    );
    tokio::time::sleep(Duration::from_secs(10)).await;
    let (cpu1, pk1, secs) = (
        server.cpu_seconds(),
        server
            .metric("switchboard_forwarded_rtp_packets_total{kind=\"audio\"}")
            .await,
        t0.elapsed().as_secs_f64(),
    );
    let core_share = (cpu1 - cpu0) / secs;
    println!(
        "cpu: {talkers} talking calls use {:.1}% of one core ({:.2}% per call); {:.0} packets/s forwarded; {:.1} us CPU per forwarded packet",
        core_share * 100.0,
        core_share * 100.0 / talkers as f64,
        (pk1 - pk0) / secs,
        (cpu1 - cpu0) / (pk1 - pk0) * 1e6
    );
    for (c, _a, p, t1, t2) in live {
        t1.abort();
        t2.abort();
        p.close().await;
        c.peer.close().await;
    }
}
