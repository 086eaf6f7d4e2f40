//! An agent transfers a call to another queue (a blind transfer): the customer's media stays
//! up, the first agent leaves and wraps up, the call waits in the new queue and its agent is
//! offered it with who sent it and why, and the two talk. Refused transfers change nothing;
//! the KPIs count the transfer.

mod common;
use common::*;
use serde_json::{json, Value};

const CONFIG: &str = r#"
[[center.queues]]
name = "billing"

[[center.queues]]
name = "technical"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transferred_call_reaches_the_other_queue_with_its_note_and_audio() {
    let server = Server::start(CONFIG).await;
    server.add_agent_with_skills("bill", &["billing=3"]);
    server.add_agent_with_skills("tess", &["technical=4"]);
    let mut bill = agent_available(&server, "bill").await;
    let mut tess = agent_available(&server, "tess").await;

    // A billing call, answered by bill.
    let mut ws = Ws::connect(&server).await;
    let mut peer = Peer::new(Layout::Talker).await;
    let sdp = peer.offer().await;
    ws.request(json!({"type":"start_call","sdp":sdp,"queue":"billing",
        "caller":{"name":"Grace Hopper"}}))
        .await;
    let answer = ws.expect("answer").await;
    peer.apply_answer(&answer).await;
    let mut customer = Customer {
        ws,
        peer,
        call_id: answer["call_id"].as_str().unwrap().to_string(),
    };
    let call = customer.call_id.clone();
    let offer = bill.expect("call_offered").await;
    assert_eq!(offer["call_id"], call.as_str());
    let bill_peer = agent_accepts(&mut bill, &call).await;
    customer.ws.wait_call_state("connected").await;
    let _bill_tone = bill_peer.start_tone(440.0).await;
    customer.peer.wait_tone(0, 440.0).await;

    // Refused: a queue that does not exist, someone else's call, the customer. Nothing moves.
    bill.request(json!({"type":"transfer","call_id": call,"queue":"sales"}))
        .await;
    let e = bill.expect_error("bad_message").await;
    assert!(
        e["message"].as_str().unwrap().contains("technical"),
        "the error names the queues: {e}"
    );
    tess.request(json!({"type":"transfer","call_id": call,"queue":"billing"}))
        .await;
    tess.expect_error("forbidden").await;
    customer
        .ws
        .request(json!({"type":"transfer","call_id": call,"queue":"technical"}))
        .await;
    customer.ws.expect_error("forbidden").await;
    assert!(
        !tess
            .drain_for(std::time::Duration::from_millis(300))
            .await
            .iter()
            .any(|v| v["type"] == "call_offered"),
        "a refused transfer offered the call"
    );

    // Bill transfers it to technical with a note.
    bill.request(
        json!({"type":"transfer","call_id": call,"queue":"technical",
        "note":"router keeps rebooting"}),
    )
    .await;
    let told = bill.expect("transferred").await;
    assert_eq!(told["queue"], "technical");
    bill.wait_for("bill wraps up", |v: &Value| {
        v["type"] == "agent_state" && v["state"] == "wrap_up"
    })
    .await;
    let told = customer.ws.expect("transferred").await;
    assert_eq!(told["by"], "bill");
    // Tess is offered it, with who sent it and why.
    let offer = tess.expect("call_offered").await;
    assert_eq!(offer["call_id"], call.as_str());
    assert_eq!(offer["queue"], "technical");
    assert_eq!(offer["transfer"]["from_agent"], "bill", "{offer}");
    assert_eq!(offer["transfer"]["from_queue"], "billing", "{offer}");
    assert_eq!(offer["transfer"]["note"], "router keeps rebooting");
    // Bill's peer is gone; the customer's stayed up the whole time.
    server
        .wait_metric("switchboard_peer_connections", 1.0)
        .await;
    assert!(customer.peer.connected());

    // Tess answers: the customer and she hear each other.
    let tess_peer = agent_accepts(&mut tess, &call).await;
    customer.ws.wait_call_state("connected").await;
    let _tess_tone = tess_peer.start_tone(660.0).await;
    customer.peer.wait_tone(0, 660.0).await;
    let _customer_tone = customer.peer.start_tone(880.0).await;
    tess_peer.wait_tone(0, 880.0).await;

    // Ended: one contact, handled, transferred once.
    tess.request(json!({"type":"hang_up","call_id": call}))
        .await;
    customer.ws.wait_call_state("ended").await;
    server.wait_metric("switchboard_active_calls", 0.0).await;
    let k = server.kpis().await;
    let overall = &k["overall"];
    assert_eq!(overall["contacts"], 1, "{overall}");
    assert_eq!(overall["handled"], 1, "{overall}");
    assert_eq!(overall["transfers"], 1, "{overall}");
    assert_eq!(k["queues"]["billing"]["transfers"], 1, "{k}");
}
