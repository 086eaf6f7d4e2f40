//! `ice_failed_ms` counts from the last packet, like `ice_disconnected_ms`: a peer whose
//! network vanishes (cut at a relay: no BYE, no DTLS close) ends its call after
//! `ice_failed_ms`, not after the sum of the two (4 s + 8 s by default, seen as ~11.3 s).

mod common;

use common::*;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vanished_peer_fails_after_ice_failed_ms() {
    let server = Server::start("[media]\nice_disconnected_ms = 3000\nice_failed_ms = 4000\n").await;
    let mut agent_ws = agent_available(&server, "alice").await;
    // The customer's media goes through a relay the test can cut.
    let mut ws = Ws::connect(&server).await;
    let mut peer = Peer::new(Layout::Talker).await;
    let sdp = relay::strip_candidates(&peer.offer().await);
    ws.request(serde_json::json!({"type":"start_call","sdp":sdp,"caller":{"name":"Vanishing"}}))
        .await;
    let answer = ws.expect("answer").await;
    let relay = peer.apply_answer_via_relay(&answer).await;
    peer.wait_connected().await;
    let call = answer["call_id"].as_str().unwrap().to_string();
    agent_ws.expect("call_offered").await;
    let _agent_peer = agent_accepts(&mut agent_ws, &call).await;
    ws.wait_call_state("connected").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let t0 = Instant::now();
    // The customer's network vanishes (no BYE, no DTLS close); their WebSocket stays.
    relay.cut();
    let ended = agent_ws.wait_call_state("ended").await;
    let took = t0.elapsed();
    assert_eq!(ended["reason"], "media_failed", "{ended}");
    // 4 s after the last packet the server counted (ICE checks every keepalive interval, 1 s,
    // so that may be up to 1 s before the cut) plus up to 1 s of timer resolution; the sum
    // would be 7 s.
    assert!(
        took >= Duration::from_millis(2900) && took <= Duration::from_millis(6000),
        "failed after {took:?}"
    );
    drop(peer);
}
