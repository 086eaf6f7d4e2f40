//! Every action is checked against the sender's role and call; refusals change nothing.

mod common;
use common::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthorized_actions_are_refused_and_change_nothing() {
    let server = Server::start("").await;
    let (customer, mut agent, _agent_peer) = connected_call(&server, "alice").await;
    let call = customer.call_id.clone();

    // Nobody logged in: agent and supervisor actions need authentication.
    let mut anon = Ws::connect(&server).await;
    anon.request(json!({"type":"set_state","state":"available"}))
        .await;
    anon.expect_error("not_authenticated").await;
    anon.request(json!({"type":"listen","call_id":call,"sdp":"v=0"}))
        .await;
    anon.expect_error("not_authenticated").await;
    anon.request(json!({"type":"hang_up","call_id":call})).await;
    anon.expect_error("not_found").await;

    // Wrong password.
    anon.request(json!({"type":"login","username":"alice","password":"nope"}))
        .await;
    anon.expect_error("bad_credentials").await;
    anon.request(json!({"type":"login","username":"mallory","password":"demo"}))
        .await;
    anon.expect_error("bad_credentials").await;

    // Another customer cannot touch this call, nor listen to it.
    let mut other = customer_calls(&server, "Other").await;
    other
        .ws
        .request(json!({"type":"hang_up","call_id":call}))
        .await;
    other.ws.expect_error("not_found").await;
    other
        .ws
        .request(json!({"type":"mute","call_id":call,"muted":true}))
        .await;
    other.ws.expect_error("not_found").await;
    other
        .ws
        .request(json!({"type":"listen","call_id":call,"sdp":"v=0"}))
        .await;
    other.ws.expect_error("forbidden").await;
    other
        .ws
        .request(json!({"type":"accept","call_id":call,"sdp":"v=0"}))
        .await;
    other.ws.expect_error("forbidden").await;

    // Another agent cannot accept, hang up or mute a call assigned to alice.
    let mut bob = agent_available(&server, "bob").await;
    // bob is now offered the other customer's call; ignore it.
    bob.request(json!({"type":"hang_up","call_id":call})).await;
    bob.expect_error("forbidden").await;
    bob.request(json!({"type":"accept","call_id":call,"sdp":"v=0"}))
        .await;
    bob.expect_error("forbidden").await;
    bob.request(json!({"type":"mute","call_id":call,"muted":true}))
        .await;
    bob.expect_error("forbidden").await;
    // Agents cannot listen like supervisors, nor start calls like customers.
    bob.request(json!({"type":"listen","call_id":call,"sdp":"v=0"}))
        .await;
    bob.expect_error("forbidden").await;
    bob.request(json!({"type":"start_call","sdp":"v=0"})).await;
    bob.expect_error("forbidden").await;

    // A supervisor cannot hang up or accept.
    let mut sup = Ws::connect(&server).await;
    sup.login("sam").await;
    sup.request(json!({"type":"hang_up","call_id":call})).await;
    sup.expect_error("forbidden").await;
    sup.request(json!({"type":"set_state","state":"available"}))
        .await;
    sup.expect_error("forbidden").await;

    // Nothing changed: the call is still connected and both sides still hear each other.
    let dash = sup
        .wait_for("dashboard with call", |v| {
            v["type"] == "dashboard"
                && v["calls"]
                    .as_array()
                    .is_some_and(|c| c.iter().any(|c| c["call_id"] == call.as_str()))
        })
        .await;
    let view = dash["calls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["call_id"] == call.as_str())
        .unwrap()
        .clone();
    assert_eq!(view["state"], "connected");
    assert_eq!(view["agent"], "alice");
    let _t = customer.peer.start_tone(500.0).await;
    _agent_peer.wait_tone(0, 500.0).await;
    let msgs = agent.drain_for(std::time::Duration::from_millis(300)).await;
    assert!(
        !msgs
            .iter()
            .any(|m| m["type"] == "call_state" && m["state"] == "ended"),
        "{msgs:?}"
    );
}
