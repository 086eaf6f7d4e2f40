//! A supervisor listens, then whispers, then barges in, then listens again, mid-call; each
//! party sends its own tone, and each step is checked by what every slot receives: listen,
//! nobody hears the supervisor; whisper, only the agent does; barge, the agent and the customer
//! do. Customer and agent peers negotiate a second audio slot for the second voice.

mod common;
use common::*;
use serde_json::json;
use std::time::Duration;

const CUSTOMER_HZ: f64 = 440.0;
const AGENT_HZ: f64 = 880.0;
const SUPERVISOR_HZ: f64 = 1320.0;

/// Packets `peer` receives on `slot` during `d`.
async fn packets_during(peer: &Peer, slot: usize, d: Duration) -> usize {
    let before = peer.received(slot).packets;
    tokio::time::sleep(d).await;
    peer.received(slot).packets - before
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_whisper_barge_listen() {
    let server = Server::start("").await;
    let (customer, mut agent, agent_peer) =
        connected_call_with(&server, "alice", Layout::MicAndTwoSlots).await;
    let call_id = customer.call_id.clone();
    let _c = customer.peer.start_tone(CUSTOMER_HZ).await;
    let _a = agent_peer.start_tone(AGENT_HZ).await;
    agent_peer.wait_tone(0, CUSTOMER_HZ).await;
    customer.peer.wait_tone(0, AGENT_HZ).await;

    let mut sup = Ws::connect(&server).await;
    sup.login("sam").await;
    // Whisper before listening is refused and changes nothing.
    sup.send(json!({"type":"supervise","id":1,"call_id":call_id,"mode":"whisper"}))
        .await;
    let e = sup.expect_error("wrong_state").await;
    assert_eq!(e["re"], 1);
    drop(sup);
    let (mut sup, sup_peer) =
        supervisor_listens(&server.addr, &call_id, Layout::MicAndTwoSlots).await;
    sup_peer.wait_connected().await;
    let _s = sup_peer.start_tone(SUPERVISOR_HZ).await;
    sup_peer.wait_tone(0, CUSTOMER_HZ).await;
    sup_peer.wait_tone(1, AGENT_HZ).await;

    // Listen: nobody hears the supervisor.
    let second = Duration::from_millis(1500);
    assert_eq!(packets_during(&agent_peer, 1, second).await, 0);
    assert_eq!(customer.peer.received(1).packets, 0);

    // Whisper: the agent hears the supervisor in its second slot, the customer does not.
    sup.request(json!({"type":"supervise","call_id":call_id,"mode":"whisper"}))
        .await;
    let told = agent
        .wait_for("supervision", |v| v["type"] == "supervision")
        .await;
    assert_eq!(told["mode"], "whisper");
    assert_eq!(told["supervisor_id"], "sam");
    agent_peer.wait_tone(1, SUPERVISOR_HZ).await;
    assert_eq!(packets_during(&customer.peer, 1, second).await, 0);
    agent_peer.wait_tone(0, CUSTOMER_HZ).await;
    customer.peer.wait_tone(0, AGENT_HZ).await;
    // A whisper never reaches the customer through its first slot either.
    let r = customer.peer.received(0);
    let f = dominant_hz(&r.pcm[r.pcm.len() - 24000..]);
    assert!((f - SUPERVISOR_HZ).abs() > 100.0, "customer hears {f} Hz");

    // Barge: both hear the supervisor; the supervisor still hears both.
    sup.request(json!({"type":"supervise","call_id":call_id,"mode":"barge"}))
        .await;
    customer.peer.wait_tone(1, SUPERVISOR_HZ).await;
    agent_peer.wait_tone(1, SUPERVISOR_HZ).await;
    customer.peer.wait_tone(0, AGENT_HZ).await;
    sup_peer.wait_tone(0, CUSTOMER_HZ).await;
    sup_peer.wait_tone(1, AGENT_HZ).await;
    let board = sup
        .wait_for("dashboard with barge", |v| {
            v["type"] == "dashboard" && v["calls"][0]["supervisors"][0]["mode"] == "barge"
        })
        .await;
    assert_eq!(board["calls"][0]["supervisors"][0]["supervisor_id"], "sam");

    // Back to listening: the second slots fall silent again.
    sup.request(json!({"type":"supervise","call_id":call_id,"mode":"listen"}))
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(packets_during(&customer.peer, 1, second).await, 0);
    assert_eq!(packets_during(&agent_peer, 1, second).await, 0);

    // Only supervisors supervise.
    agent
        .send(json!({"type":"supervise","id":"x","call_id":call_id,"mode":"barge"}))
        .await;
    agent.expect_error("forbidden").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whisper_needs_an_agent_on_the_call() {
    let server = Server::start("").await;
    let customer = customer_calls(&server, "Waiting Caller").await;
    customer.peer.wait_connected().await;
    let (mut sup, _sup_peer) =
        supervisor_listens(&server.addr, &customer.call_id, Layout::MicAndTwoSlots).await;
    sup.send(json!({"type":"supervise","id":2,"call_id":customer.call_id,"mode":"barge"}))
        .await;
    let e = sup.expect_error("wrong_state").await;
    assert!(
        e["message"].as_str().unwrap().contains("without an agent"),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listen_only_connection_cannot_whisper() {
    let server = Server::start("").await;
    let (customer, _agent, _agent_peer) = connected_call(&server, "alice").await;
    // Two recvonly audio m-lines: this supervisor has no microphone to be heard with.
    let (mut sup, sup_peer) =
        supervisor_listens(&server.addr, &customer.call_id, Layout::Listener).await;
    sup_peer.wait_connected().await;
    sup.send(json!({"type":"supervise","id":3,"call_id":customer.call_id,"mode":"whisper"}))
        .await;
    let e = sup.expect_error("wrong_state").await;
    assert!(
        e["message"].as_str().unwrap().contains("sends no audio"),
        "{e}"
    );
    // Nothing changed: still listening, so going back to listen is accepted as a no-op.
    sup.request(json!({"type":"supervise","call_id":customer.call_id,"mode":"listen"}))
        .await;
}
