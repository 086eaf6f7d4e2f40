//! The agent taking a contact sees the caller's earlier contacts (recognised by the site's
//! e-mail, not by the name typed): when, which queue, who answered, how it ended, its ticket.
//! Other callers' contacts are not in it; other agents may not read it.

mod common;
use common::*;
use serde_json::{json, Value};

/// A chat from `name` <`email`> that alice takes and the customer ends; its call id.
async fn chat_with_alice(server: &Server, alice: &mut Ws, name: &str, email: &str) -> (Ws, String) {
    let mut ws = Ws::connect(server).await;
    ws.request(json!({"type":"start_chat","caller":{"name":name,"metadata":{"email":email}}}))
        .await;
    let call = ws.expect("call_state").await["call_id"]
        .as_str()
        .unwrap()
        .to_string();
    let offer = alice.expect("call_offered").await;
    assert_eq!(offer["call_id"], call.as_str());
    alice
        .request(json!({"type":"accept","call_id": call}))
        .await;
    ws.wait_call_state("connected").await;
    (ws, call)
}

async fn end_and_ready(ws: &mut Ws, alice: &mut Ws, call: &str) {
    ws.request(json!({"type":"hang_up","call_id": call})).await;
    ws.wait_call_state("ended").await;
    alice
        .wait_for("wrap-up", |v: &Value| {
            v["type"] == "agent_state" && v["state"] == "wrap_up"
        })
        .await;
    alice.set_available().await;
}

async fn history(server: &Server, user: &str, call: &str) -> (u16, Value) {
    server
        .get_as(user, &format!("/api/calls/{call}/contacts"))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_sees_this_callers_earlier_contacts_and_only_theirs() {
    let server = Server::start("[center]\nwrap_up_s = 0\n").await;
    let mut alice = agent_available(&server, "alice").await;

    let (mut ws, first) =
        chat_with_alice(&server, &mut alice, "Ada Lovelace", "ada@example.com").await;
    // A ticket on the first contact.
    let made: Value = reqwest::Client::new()
        .post(format!("http://{}/api/tickets", server.addr))
        .basic_auth("alice", Some("demo"))
        .body(json!({"call_id": first}).to_string())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ticket = made["ticket"].as_str().unwrap().to_string();
    end_and_ready(&mut ws, &mut alice, &first).await;
    let (mut other, second) =
        chat_with_alice(&server, &mut alice, "Ada Lovelace", "other@example.com").await;
    end_and_ready(&mut other, &mut alice, &second).await;

    // The same e-mail under another name: alice sees the first contact, not the namesake's.
    let (_ws, third) = chat_with_alice(&server, &mut alice, "A. Lovelace", "ADA@example.com").await;
    let (status, h) = history(&server, "alice", &third).await;
    assert_eq!(status, 200, "{h}");
    assert_eq!(h["matched_by"], "email");
    let contacts = h["contacts"].as_array().unwrap();
    assert_eq!(contacts.len(), 1, "{h}");
    let c = &contacts[0];
    assert_eq!(c["call_id"], first.as_str());
    assert_eq!(c["answered"], true);
    assert_eq!(c["agent"], "alice");
    assert_eq!(c["channel"], "chat");
    assert_eq!(c["end_reason"], "customer_hung_up");
    assert_eq!(c["ticket"], ticket.as_str());

    // Bob has nothing to do with it; sam supervises; an unknown contact is 404.
    assert_eq!(history(&server, "bob", &third).await.0, 403);
    assert_eq!(history(&server, "sam", &third).await.0, 200);
    assert_eq!(history(&server, "alice", "no-such-call").await.0, 404);
    // The namesake's contact has no history of its own.
    let (_, h) = history(&server, "sam", &second).await;
    assert_eq!(h["contacts"].as_array().unwrap().len(), 0, "{h}");
}
