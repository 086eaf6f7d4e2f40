//! A participant whose peer connection says goodbye (RTCP BYE, then the DTLS close, as aiortc
//! does when it stops), or only closes (DTLS close_notify, as Chrome's `pc.close()`), has
//! left: the call ends as `customer_disconnected` about a second later (the time its page's
//! WebSocket has to show a reload, which the call would wait for), not seconds later as
//! `media_failed` when ICE gives up. An agent who closes is lost at once (the call goes back
//! to the queue).

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_close_without_goodbye_is_a_disconnect_too() {
    let server = Server::start("").await;
    let (customer, mut agent, _agent_peer) = connected_call(&server, "alice").await;
    let _tone = customer.peer.start_tone(300.0).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let t0 = Instant::now();
    // No RTCP BYE: the DTLS close_notify of `pc.close()` is all the server gets.
    customer.peer.close().await;
    let ended = agent.wait_call_state("ended").await;
    let took = t0.elapsed();
    println!("ended {} ms after the close", took.as_millis());
    assert_eq!(ended["reason"], "customer_disconnected", "{ended}");
    // ICE would need 4 s to call it disconnected and 8 s to give up; the close is seen within
    // 250 ms and waits 1 s for the WebSocket.
    assert!(took < Duration::from_millis(3500), "ended after {took:?}");
    server.wait_metric("switchboard_rooms", 0.0).await;
    drop(customer);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_who_closes_is_lost_at_once_and_the_call_waits_again() {
    let server = Server::start("").await;
    let (mut customer, _agent, agent_peer) = connected_call(&server, "alice").await;
    let t0 = Instant::now();
    agent_peer.close().await;
    customer.ws.expect("agent_lost").await;
    let took = t0.elapsed();
    println!("agent lost {} ms after the close", took.as_millis());
    assert!(took < Duration::from_secs(2), "lost after {took:?}");
    customer.ws.wait_call_state("queued").await;
}
