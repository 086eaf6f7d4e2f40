//! Every reply names the request it answers: the first `answer`, `logged_in`, `agent_state`,
//! `call_state`, `transcript_history`, `supervision`, `transferred`, `resumed` or `pong` a request
//! causes carries its `id` as `re`, so a client matches replies to requests without guessing
//! by type. Events that are not replies (and replies to requests without an `id`) carry none.

mod common;

use common::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_reply_to_each_request_carries_its_id() {
    let server = Server::start("").await;

    let mut agent = Ws::connect(&server).await;
    agent
        .send(json!({"type":"login","id":"L-1","username":"alice","password":"demo"}))
        .await;
    let logged_in = agent.expect("logged_in").await;
    assert_eq!(logged_in["re"], "L-1", "{logged_in}");
    agent
        .send(json!({"type":"set_state","id":7,"state":"available"}))
        .await;
    let state = agent
        .wait_for("agent_state available", |v| {
            v["type"] == "agent_state" && v["state"] == "available"
        })
        .await;
    assert_eq!(state["re"], 7, "{state}");

    let mut customer = Ws::connect(&server).await;
    customer
        .send(json!({"type":"start_chat","id":"chat-1","caller":{"name":"Ann"}}))
        .await;
    let first = customer.expect("call_state").await;
    assert_eq!(first["re"], "chat-1", "{first}");

    // The offer that follows is an event, not a reply: no `re`.
    let offer = agent.expect("call_offered").await;
    assert!(offer.get("re").is_none(), "{offer}");

    // Without an id there is nothing to name.
    customer.send(json!({"type":"ping"})).await;
    let pong = customer.expect("pong").await;
    assert!(pong.get("re").is_none(), "{pong}");
    customer.send(json!({"type":"ping","id":"p"})).await;
    let pong = customer.expect("pong").await;
    assert_eq!(pong["re"], "p", "{pong}");
    customer
        .wait_for("ok p", |v| v["type"] == "ok" && v["re"] == "p")
        .await;
}
