//! `ice_failed_ms` counts from the last packet, like `ice_disconnected_ms`: a peer that
//! vanishes ends its call after `ice_failed_ms`, not after the sum of the two (4 s + 8 s by
//! default, seen as ~11.3 s).

mod common;

use common::*;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vanished_peer_fails_after_ice_failed_ms() {
    let server = Server::start("[media]\nice_disconnected_ms = 3000\nice_failed_ms = 4000\n").await;
    let (mut customer, agent_ws, agent_peer) = connected_call(&server, "alice").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let t0 = Instant::now();
    // The agent's media stops answering (no BYE); its WebSocket stays.
    agent_peer.close().await;
    let ended = customer.ws.wait_call_state("ended").await;
    let took = t0.elapsed();
    assert_eq!(ended["reason"], "media_failed", "{ended}");
    // 4 s, plus up to one keepalive interval (1 s) of timer resolution; the sum would be 7 s.
    assert!(
        took >= Duration::from_millis(3500) && took <= Duration::from_millis(6000),
        "failed after {took:?}"
    );
    drop(agent_ws);
}
