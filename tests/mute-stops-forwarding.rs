//! `mute` stops the server forwarding that party's audio (not just a flag on the other side's
//! page); unmuting resumes it. The other direction is not affected.

mod common;
use common::*;
use serde_json::json;
use std::time::Duration;

async fn packets_during(peer: &Peer, slot: usize, d: Duration) -> usize {
    let before = peer.received(slot).packets;
    tokio::time::sleep(d).await;
    peer.received(slot).packets - before
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_muted_customer_is_not_forwarded_until_unmuted() {
    let server = Server::start("").await;
    let (mut customer, mut agent, agent_peer) = connected_call(&server, "alice").await;
    let _c = customer.peer.start_tone(440.0).await;
    let _a = agent_peer.start_tone(880.0).await;
    agent_peer.wait_tone(0, 440.0).await;
    customer.peer.wait_tone(0, 880.0).await;

    customer
        .ws
        .request(json!({"type":"mute","call_id":customer.call_id,"muted":true}))
        .await;
    let told = agent
        .wait_for("peer_muted", |v| v["type"] == "peer_muted")
        .await;
    assert_eq!(told["muted"], true);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let second = Duration::from_secs(1);
    assert_eq!(packets_during(&agent_peer, 0, second).await, 0);
    // The agent is still heard.
    assert!(packets_during(&customer.peer, 0, second).await > 30);

    customer
        .ws
        .request(json!({"type":"mute","call_id":customer.call_id,"muted":false}))
        .await;
    assert!(packets_during(&agent_peer, 0, second).await > 30);
    agent_peer.wait_tone(0, 440.0).await;
}
