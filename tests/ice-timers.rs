//! `ice_failed_ms` counts from the last packet, like `ice_disconnected_ms`: a peer that
//! vanishes ends its call after `ice_failed_ms`, not after the sum of the two (4 s + 8 s by
//! default, seen as ~11.3 s).

mod common;

use common::*;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vanished_peer_fails_after_ice_failed_ms() {
    let server = Server::start("[media]\nice_disconnected_ms = 3000\nice_failed_ms = 4000\n").await;
    let (customer, mut agent_ws, _agent_peer) = connected_call(&server, "alice").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let t0 = Instant::now();
    // The customer's media stops answering (no BYE); their WebSocket stays.
    customer.peer.close().await;
    let ended = agent_ws.wait_call_state("ended").await;
    let took = t0.elapsed();
    assert_eq!(ended["reason"], "media_failed", "{ended}");
    // 4 s after the last packet the server counted (ICE checks every keepalive interval, 1 s,
    // so that may be up to 1 s before the close) plus up to 1 s of timer resolution; the sum
    // would be 7 s.
    assert!(
        took >= Duration::from_millis(2900) && took <= Duration::from_millis(6000),
        "failed after {took:?}"
    );
    drop(customer);
}
