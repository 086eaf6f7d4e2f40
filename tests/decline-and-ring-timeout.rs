//! A declined call goes to the next agent; an unanswered one times out to the next agent, and
//! the agent who missed it is set away.

mod common;
use common::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decline_then_timeout_moves_the_call_on() {
    let server = Server::start("[center]\nring_timeout_s = 2\n").await;
    // alice has been available longest, so she is offered the call first.
    let mut alice = agent_available(&server, "alice").await;
    let mut bob = agent_available(&server, "bob").await;
    let mut customer = customer_calls(&server, "Dana").await;

    let offer = alice.expect("call_offered").await;
    assert_eq!(offer["call_id"], customer.call_id.as_str());
    assert_eq!(offer["caller"]["name"], "Dana");
    customer.ws.wait_call_state("ringing").await;

    alice
        .request(json!({"type":"decline","call_id":customer.call_id}))
        .await;
    let offer = bob.expect("call_offered").await;
    assert_eq!(offer["call_id"], customer.call_id.as_str());

    // bob lets it ring out: the offer is withdrawn and bob goes away.
    let w = bob.expect("offer_withdrawn").await;
    assert_eq!(w["reason"], "timeout");
    bob.wait_for("away", |v| {
        v["type"] == "agent_state" && v["state"] == "away"
    })
    .await;
    // alice declined this call, so it waits in the queue for someone else.
    let q = customer.ws.wait_call_state("queued").await;
    assert_eq!(q["position"], 1);

    // bob comes back and answers this time.
    bob.request(json!({"type":"set_state","state":"available"}))
        .await;
    bob.expect("call_offered").await;
    let _peer = agent_accepts(&mut bob, &customer.call_id).await;
    customer.ws.wait_call_state("connected").await;
    assert_eq!(
        server.metric("switchboard_agents{state=\"on_call\"}").await,
        1.0
    );
}
