//! An agent whose connection drops mid-call: the customer is told and waits at the head of
//! the queue at once (well within 2 s), the call is not ended, another agent gets it with the
//! transcript so far and two-way audio, and the dropped agent, back, is away for the lost
//! connection. An agent whose network vanishes (no close at all) is noticed by ICE after
//! `ice_disconnected_ms`, and the same happens.

mod common;
use common::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

fn gap(ms: usize) -> Vec<i16> {
    vec![0; ms * 48]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_agent_hands_the_call_to_the_next_with_its_transcript() {
    let server = Server::start_with_speech("").await;
    let (mut customer, mut alice, alice_peer) = connected_call(&server, "alice").await;

    // The customer says why they call; alice sees it transcribed.
    let mut speech = gap(300);
    speech.extend(espeak_48k(
        "I would like to check the status of my order.",
        &[],
    ));
    speech.extend(gap(1500));
    let audio = customer.peer.start_pcm(speech, false).await;
    let said = alice
        .wait_for("the customer's final transcript", |v: &Value| {
            v["type"] == "transcript" && v["speaker"] == "customer" && v["final"] == true
        })
        .await;
    println!("alice saw: {}", said["text"]);

    // Alice's browser goes away: her connection and her media drop, without a hang-up.
    let dropped = Instant::now();
    drop(alice);
    alice_peer.close().await;
    customer.ws.expect("agent_lost").await;
    let queued = customer.ws.wait_call_state("queued").await;
    let requeued = dropped.elapsed();
    println!(
        "the call was back in the queue {} ms after the drop",
        requeued.as_millis()
    );
    assert_eq!(queued["position"], 1);
    assert!(requeued < Duration::from_secs(2), "{requeued:?}");

    // Bob comes on: he is offered the call, with what was said so far.
    let mut bob = agent_available(&server, "bob").await;
    let offer = bob.expect("call_offered").await;
    assert_eq!(offer["call_id"], customer.call_id.as_str());
    let bob_peer = agent_accepts(&mut bob, &customer.call_id).await;
    let history = bob.expect("transcript_history").await;
    let text: String = history["utterances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["text"].as_str().unwrap_or("").to_lowercase())
        .collect();
    assert!(text.contains("order"), "bob got: {history}");
    customer.ws.wait_call_state("connected").await;

    // They hear each other.
    let _bob_tone = bob_peer.start_tone(440.0).await;
    customer.peer.wait_tone(0, 440.0).await;
    audio.abort();
    let _customer_tone = customer.peer.start_tone(660.0).await;
    bob_peer.wait_tone(0, 660.0).await;

    // Alice, back, is away, told why.
    let mut alice = Ws::connect(&server).await;
    alice.login("alice").await;
    let state = alice.expect("agent_state").await;
    assert_eq!(state["state"], "away");
    assert_eq!(state["reason"], "connection_lost");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_whose_network_vanishes_is_noticed_by_ice() {
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

    // The agent's network vanishes: no goodbye, no close, its WebSocket stays.
    let t0 = Instant::now();
    relay.cut();
    customer.ws.expect("agent_lost").await;
    let took = t0.elapsed();
    println!("the agent's loss was noticed after {took:?}");
    // The disconnected timer (1 s here) counts from the last packet the server counted (its
    // ICE checks, every keepalive interval of 1 s), plus up to 1 s of timer resolution.
    assert!(took < Duration::from_millis(3000), "noticed after {took:?}");
    let queued = customer.ws.wait_call_state("queued").await;
    assert_eq!(queued["position"], 1);
    agent.expect("agent_lost").await;
    let away = agent
        .wait_for("away after the loss", |v| {
            v["type"] == "agent_state" && v["state"] == "away" && !v["reason"].is_null()
        })
        .await;
    assert_eq!(away["reason"], "connection_lost");
    // Only the customer's peer is left; the call is alive.
    server
        .wait_metric("switchboard_peer_connections", 1.0)
        .await;
    assert_eq!(server.metric("switchboard_active_calls").await, 1.0);

    // The customer gives up: everything is freed.
    customer
        .ws
        .request(json!({"type":"hang_up","call_id":customer.call_id}))
        .await;
    server.wait_metric("switchboard_active_calls", 0.0).await;
    server.wait_metric("switchboard_rooms", 0.0).await;
    server
        .wait_metric("switchboard_peer_connections", 0.0)
        .await;
}
