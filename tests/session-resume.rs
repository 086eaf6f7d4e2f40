//! A WebSocket that drops is not the end of a contact: the session is kept for `[session]
//! resume_grace_ms` while its media goes on, the other side is told nothing, and a new
//! connection that shows the welcome's `resume_token` takes the session over with what the
//! server sent meanwhile. Past the grace the session ends as a disconnect; a wrong token
//! resumes nothing and changes nothing.

mod common;

use common::*;
use serde_json::json;
use std::time::Duration;

const CONFIG: &str = r#"
[session]
idle_timeout_ms = 0
resume_grace_ms = 8000
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_customer_connection_resumes_and_the_call_goes_on() {
    let server = Server::start(CONFIG).await;
    let (mut customer, mut agent, agent_peer) = connected_call(&server, "alice").await;
    let _tone = customer.peer.start_tone(300.0).await;
    agent_peer.wait_tone(0, 300.0).await;
    let resume = customer.ws.resume_request();
    assert_eq!(
        resume["token"].as_str().map(str::len),
        Some(32),
        "{}",
        customer.ws.welcome
    );

    // The customer's connection drops (no close frame): the media is still up.
    let fresh = Ws::connect(&server).await;
    drop(std::mem::replace(&mut customer.ws, fresh));
    server
        .wait_metric("switchboard_ws_parked_sessions", 1.0)
        .await;
    let before = agent_peer.total_packets();
    agent
        .request(json!({"type":"chat","call_id":customer.call_id,"text":"Are you still there?"}))
        .await;
    let meanwhile = agent.drain_for(Duration::from_millis(1500)).await;
    assert!(
        !meanwhile
            .iter()
            .any(|m| (m["type"] == "call_state" && m["state"] == "ended")
                || m["type"] == "agent_lost"
                || m["type"] == "peer_muted"),
        "the agent was told: {meanwhile:?}"
    );
    assert!(
        agent_peer.total_packets() > before + 30,
        "the customer's audio stopped reaching the agent"
    );

    // A new connection takes the session over, and gets what was sent while it was away.
    customer.ws.request(resume).await;
    let resumed = customer.ws.expect("resumed").await;
    assert_eq!(resumed["role"], "customer", "{resumed}");
    assert!(
        resumed["re"].is_number(),
        "the reply names its request: {resumed}"
    );
    assert_eq!(resumed["call_id"], customer.call_id.as_str(), "{resumed}");
    let line = customer.ws.chat_from("agent").await;
    assert_eq!(line["text"], "Are you still there?", "{line}");
    assert_eq!(
        server
            .metric("switchboard_ws_resumes_total{outcome=\"resumed\"}")
            .await,
        1.0
    );
    server
        .wait_metric("switchboard_ws_parked_sessions", 0.0)
        .await;

    // It is the customer's session again: a hang-up from it ends the call.
    customer
        .ws
        .request(json!({"type":"hang_up","call_id":customer.call_id}))
        .await;
    let ended = agent.wait_call_state("ended").await;
    assert_eq!(ended["reason"], "customer_hung_up", "{ended}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_not_resumed_in_time_ends_as_a_disconnect() {
    let server = Server::start(&CONFIG.replace("8000", "1500")).await;
    let (customer, _call_id, mut agent) = connected_chat(&server, "alice", "Ann").await;
    let resume = customer.resume_request();
    drop(customer);

    let ended = agent.wait_call_state("ended").await;
    assert_eq!(ended["reason"], "customer_disconnected", "{ended}");
    assert_eq!(
        server
            .metric("switchboard_ws_resumes_total{outcome=\"expired\"}")
            .await,
        1.0
    );
    // Too late: nothing to resume, and the new connection is still a working one.
    let mut late = Ws::connect(&server).await;
    late.request(resume).await;
    let e = late.expect_error("not_found").await;
    assert!(e["message"].as_str().unwrap().contains("resume"), "{e}");
    late.request(json!({"type":"ping"})).await;
    late.expect("pong").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resume_takes_over_a_live_connection_and_a_wrong_token_changes_nothing() {
    let server = Server::start(CONFIG).await;
    let mut first = agent_available(&server, "alice").await;

    // A wrong token: refused, and the agent's own connection is untouched.
    let mut stranger = Ws::connect(&server).await;
    let mut forged = first.resume_request();
    forged["token"] = json!("0".repeat(32));
    stranger.request(forged).await;
    stranger.expect_error("not_found").await;
    first.request(json!({"type":"ping"})).await;
    first.expect("pong").await;

    // The right token from a second connection while the first still looks alive (a
    // network that died without a word): the second takes over, the first is closed.
    let mut second = Ws::connect(&server).await;
    second.request(first.resume_request()).await;
    let resumed = second.expect("resumed").await;
    assert_eq!(resumed["role"], "agent", "{resumed}");
    assert_eq!(resumed["session_id"], first.welcome["session_id"]);
    assert!(
        first.closed_within(Duration::from_secs(5)).await,
        "the old connection stays open"
    );

    // Still the same logged-in, available agent: a new call is offered on the new connection.
    let caller = customer_calls(&server, "Bea").await;
    let offer = second.expect("call_offered").await;
    assert_eq!(offer["call_id"], caller.call_id.as_str());
    assert!(
        !first.inbox.iter().any(|m| m["type"] == "call_offered"),
        "the old connection got work after the takeover"
    );
    // A resumed session cannot resume again.
    second.request(first.resume_request()).await;
    second.expect_error("wrong_state").await;
}
