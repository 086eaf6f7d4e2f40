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
