//! Hang-up and disconnect end the call for both sides and bring every gauge back to zero.

mod common;
use common::*;
use serde_json::json;

async fn assert_all_clean(server: &Server) {
    server.wait_metric("switchboard_active_calls", 0.0).await;
    server.wait_metric("switchboard_rooms", 0.0).await;
    server
        .wait_metric("switchboard_peer_connections", 0.0)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_hang_up_ends_call_and_frees_everything() {
    let server = Server::start("[center]\nwrap_up_s = 0\n").await;
    let (mut customer, mut agent, _agent_peer) = connected_call(&server, "alice").await;
    assert_eq!(server.metric("switchboard_peer_connections").await, 2.0);
    assert_eq!(server.metric("switchboard_rooms").await, 1.0);

    agent
        .request(json!({"type":"hang_up","call_id":customer.call_id}))
        .await;
    let ended = customer.ws.wait_call_state("ended").await;
    assert_eq!(ended["reason"], "agent_hung_up");
    agent.wait_call_state("ended").await;
    agent
        .wait_for("wrap_up", |v| {
            v["type"] == "agent_state" && v["state"] == "wrap_up"
        })
        .await;
    assert_all_clean(&server).await;
    assert_eq!(
        server
            .metric("switchboard_calls_ended_total{reason=\"agent_hung_up\"}")
            .await,
        1.0
    );
    // Wrap-up ends when the agent says so.
    agent
        .request(json!({"type":"set_state","state":"available"}))
        .await;
    agent
        .wait_for("available", |v| {
            v["type"] == "agent_state" && v["state"] == "available"
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customer_disconnect_ends_call_and_frees_everything() {
    let server = Server::start("").await;
    let (customer, mut agent, _agent_peer) = connected_call(&server, "bob").await;
    // The customer's browser tab closes: WebSocket and peer connection go away.
    customer.peer.close().await;
    customer.ws.close().await;
    let ended = agent.wait_call_state("ended").await;
    let reason = ended["reason"].as_str().unwrap();
    assert!(reason == "customer_disconnected", "reason {reason}");
    assert_all_clean(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_network_loss_is_detected_by_ice() {
    let server = Server::start("[media]\nice_disconnected_ms = 1000\nice_failed_ms = 2000\n").await;
    let mut agent = agent_available(&server, "alice").await;
    let mut customer = customer_calls(&server, "Test Caller").await;
    agent.expect("call_offered").await;
    // The agent's media goes through a relay the test can cut.
    let mut agent_peer = Peer::new(Layout::Talker).await;
    let sdp = relay::strip_candidates(&agent_peer.offer().await);
    agent
        .request(json!({"type":"accept","call_id":customer.call_id,"sdp":sdp}))
        .await;
    let answer = agent.expect("answer").await;
    let relay = agent_peer.apply_answer_via_relay(&answer).await;
    agent_peer.wait_connected().await;
    customer.ws.wait_call_state("connected").await;
    let _tone = agent_peer.start_tone(880.0).await;
    customer.peer.wait_tone(0, 880.0).await;

    // The agent's network vanishes: no goodbye, no close, its WebSocket stays. ICE must notice.
    let t0 = std::time::Instant::now();
    relay.cut();
    let ended = customer.ws.wait_call_state("ended").await;
    let took = t0.elapsed();
    assert_eq!(ended["reason"], "media_failed", "{ended}");
    // Not before the disconnected timer; about ice_failed_ms after the last packet (plus up
    // to a keepalive interval of timer resolution), never the sum of both timers and more.
    println!("network loss detected after {took:?}");
    assert!(
        took >= std::time::Duration::from_millis(1000)
            && took < std::time::Duration::from_millis(4500),
        "detected after {took:?}"
    );
    assert_all_clean(&server).await;
    drop(agent);
}
