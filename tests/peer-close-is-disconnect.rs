//! A participant whose peer connection says goodbye (RTCP BYE, then the DTLS close, as aiortc
//! does when it stops) has left: the call ends at once as
//! `customer_disconnected`, not ~11 s later as `media_failed` when ICE gives up. (Chrome's
//! close, without a BYE, is covered by the browser test: it ends after `ice_failed_ms`.)

mod common;

use common::*;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_the_peer_connection_ends_the_call_as_a_disconnect() {
    let server = Server::start("").await;
    let (customer, mut agent, _agent_peer) = connected_call(&server, "alice").await;
    let _tone = customer.peer.start_tone(300.0).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let t0 = Instant::now();
    // The WebSocket stays open: only the media says goodbye.
    customer.peer.goodbye_and_close().await;
    let ended = agent.wait_call_state("ended").await;
    let took = t0.elapsed();
    assert_eq!(ended["reason"], "customer_disconnected", "{ended}");
    // ICE would need 8 s (`ice_failed_ms`) to notice.
    assert!(took < Duration::from_secs(3), "ended after {took:?}");
    server.wait_metric("switchboard_rooms", 0.0).await;
    drop(customer);
}
