//! A WebSocket client that vanishes without closing (a laptop shut, a network cut with no
//! reset) is noticed by the server's pings: nothing from it (no frame, no pong) for
//! `[session] idle_timeout_ms` closes its session like a client that left. A chat agent so
//! lost puts the chat back at the head of its queue; clients that answer pings stay.

mod common;
use common::*;
use serde_json::json;
use std::time::{Duration, Instant};

const CONFIG: &str = r#"
[session]
ping_interval_ms = 200
idle_timeout_ms = 1000
# Not about resuming: a session gone silent ends as soon as it is closed.
resume_grace_ms = 0
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_agent_who_stops_answering_pings_loses_the_chat_to_the_queue() {
    let server = Server::start(CONFIG).await;
    let (mut customer, call, mut alice) = connected_chat(&server, "alice", "Ada Lovelace").await;

    // Both sides keep reading (and so answer pings) for three idle timeouts: nobody is
    // closed, the chat goes on.
    let mut idle = Ws::connect(&server).await;
    let both = async {
        tokio::join!(
            customer.drain_for(Duration::from_secs(3)),
            alice.drain_for(Duration::from_secs(3)),
            idle.drain_for(Duration::from_secs(3)),
        )
    };
    let (c, a, _) = both.await;
    assert!(
        !c.iter()
            .any(|v| v["type"] == "agent_lost" || v["state"] == "ended"),
        "{c:?}"
    );
    assert!(!a.iter().any(|v| v["type"] == "error"), "{a:?}");
    assert_eq!(server.metric("switchboard_ws_idle_closed_total").await, 0.0);
    customer
        .request(json!({"type":"chat","call_id": call,"text":"still there?"}))
        .await;
    let line = alice.chat_from("customer").await;
    assert_eq!(line["text"], "still there?");

    // Alice's machine goes silent: her socket stays open but nothing reads it, so no pong
    // comes back. Within the timeout (plus a ping) the server gives up on her.
    let silent_from = Instant::now();
    customer.expect("agent_lost").await;
    let lost_after = silent_from.elapsed();
    let queued = customer.wait_call_state("queued").await;
    println!(
        "agent lost {} ms after her client went silent",
        lost_after.as_millis()
    );
    assert_eq!(queued["position"], 1);
    assert!(lost_after >= Duration::from_millis(700), "{lost_after:?}");
    assert!(lost_after < Duration::from_secs(3), "{lost_after:?}");
    // `idle` was never read either, so it went too: two sessions, counted.
    server
        .wait_metric("switchboard_ws_idle_closed_total", 2.0)
        .await;

    // Bob takes the chat with what was said.
    let mut bob = agent_available(&server, "bob").await;
    let offer = bob.expect("call_offered").await;
    assert_eq!(offer["call_id"], call.as_str());
    bob.request(json!({"type":"accept","call_id": call})).await;
    customer.wait_call_state("connected").await;
    customer
        .request(json!({"type":"chat","call_id": call,"text":"hello again"}))
        .await;
    assert_eq!(bob.chat_from("customer").await["text"], "hello again");

    // Alice's old socket was closed by the server: reading it now ends.
    let rest = alice.drain_for(Duration::from_millis(500)).await;
    assert!(
        !rest.iter().any(|v| v["type"] == "chat"),
        "a closed session got the chat: {rest:?}"
    );
}
