//! When no agent can take a contact the customer is told why and leaves a message or asks for
//! a callback; that, and a customer who gives up waiting, leaves a ticket that agents and
//! supervisors find, work and comment through the REST API (and nobody else can).

mod common;
use common::*;
use serde_json::{json, Value};

const CONFIG: &str = r#"
[[center.queues]]
name = "billing"
max_waiting = 1
"#;

fn api(server: &Server, path: &str) -> String {
    format!("http://{}{path}", server.addr)
}

async fn get(server: &Server, path: &str, user: &str) -> (u16, Value) {
    let r = reqwest::Client::new()
        .get(api(server, path))
        .basic_auth(user, Some("demo"))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

async fn send(server: &Server, method: &str, path: &str, user: &str, body: Value) -> (u16, Value) {
    let c = reqwest::Client::new();
    let req = match method {
        "PATCH" => c.patch(api(server, path)),
        _ => c.post(api(server, path)),
    };
    let r = req
        .basic_auth(user, Some("demo"))
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

/// A chat into billing; the first call_state.
async fn chat_into_billing(server: &Server, name: &str) -> (Ws, String, Value) {
    let mut ws = Ws::connect(server).await;
    ws.request(json!({"type":"start_chat","queue":"billing","caller":{"name":name}}))
        .await;
    let state = ws.expect("call_state").await;
    let call = state["call_id"].as_str().unwrap().to_string();
    (ws, call, state)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overflowed_customer_leaves_a_message_and_agents_work_the_ticket() {
    let server = Server::start(CONFIG).await;
    // Nobody who could take billing is logged in: told at once.
    let (mut ws, call, state) = chat_into_billing(&server, "Ada Lovelace").await;
    assert_eq!(state["state"], "overflow", "{state}");
    assert_eq!(state["overflow"], "no_agents");

    // An empty message is refused and changes nothing; a real one ends the contact.
    ws.request(json!({"type":"leave_message","call_id":call,"text":"   "}))
        .await;
    ws.expect_error("bad_message").await;
    ws.request(json!({"type":"leave_message","call_id":call,
        "text":"My invoice 4411 charges me twice, please call me"}))
        .await;
    let ended = ws.wait_call_state("ended").await;
    assert_eq!(ended["reason"], "message_left");

    // An agent finds it by status, caller and words.
    let (code, list) = get(
        &server,
        "/api/tickets?status=open&caller=lovelace&q=invoice",
        "alice",
    )
    .await;
    assert_eq!(code, 200, "{list}");
    let tickets = list["tickets"].as_array().unwrap();
    assert_eq!(tickets.len(), 1, "{list}");
    let t = &tickets[0];
    assert_eq!(t["kind"], "message");
    assert_eq!(t["reason"], "no_agents");
    assert_eq!(t["queue"], "billing");
    assert_eq!(t["call_id"], call.as_str());
    assert_eq!(t["caller"]["name"], "Ada Lovelace");
    let id = t["ticket"].as_str().unwrap().to_string();

    // Works it: assigns, notes, pends, comments, solves.
    let (code, t) = send(&server, "PATCH", &format!("/api/tickets/{id}"), "alice",
        json!({"assignee":"alice","status":"pending","notes":"refund the double charge","disposition":"billing_error"})).await;
    assert_eq!(code, 200, "{t}");
    assert_eq!(t["status"], "pending");
    assert_eq!(t["assignee"], "alice");
    let (code, _) = send(
        &server,
        "POST",
        &format!("/api/tickets/{id}/comments"),
        "alice",
        json!({"text":"refunded 12.50"}),
    )
    .await;
    assert_eq!(code, 201);
    // Bad changes are refused and change nothing.
    for bad in [
        json!({"status":"closed"}),
        json!({"assignee":"nobody"}),
        json!({"colour":"red"}),
    ] {
        let (code, e) = send(
            &server,
            "PATCH",
            &format!("/api/tickets/{id}"),
            "alice",
            bad.clone(),
        )
        .await;
        assert_eq!(code, 400, "{bad} -> {e}");
    }
    let (code, t) = get(&server, &format!("/api/tickets/{id}"), "sam").await;
    assert_eq!(code, 200);
    assert_eq!(t["status"], "pending");
    assert_eq!(t["notes"], "refund the double charge");
    assert_eq!(t["disposition"], "billing_error");
    assert_eq!(t["comments"][0]["author"], "alice");
    assert_eq!(t["comments"][0]["text"], "refunded 12.50");
    let (code, _) = get(&server, "/api/tickets/RT-999999", "sam").await;
    assert_eq!(code, 404);

    // Customers have no credentials: nothing.
    let r = reqwest::get(api(&server, "/api/tickets")).await.unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let r = reqwest::Client::new()
        .get(api(&server, "/api/tickets"))
        .basic_auth("alice", Some("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_offers_a_callback_and_a_customer_who_gives_up_is_abandoned() {
    let server = Server::start(CONFIG).await;
    server.add_agent_with_skills("bea", &["billing=3"]);
    // Bea is logged in but away: contacts wait (max_waiting = 1).
    let mut bea = Ws::connect(&server).await;
    bea.login("bea").await;
    let (mut first, first_call, s1) = chat_into_billing(&server, "First").await;
    assert_eq!(s1["state"], "queued", "{s1}");
    let (mut second, second_call, s2) = chat_into_billing(&server, "Second").await;
    assert_eq!(s2["state"], "overflow", "{s2}");
    assert_eq!(s2["overflow"], "queue_full");

    // A callback needs somewhere to call; the customer of another contact may not ask.
    second
        .request(json!({"type":"request_callback","call_id":second_call,"contact":"soon"}))
        .await;
    second.expect_error("bad_message").await;
    first
        .request(json!({"type":"request_callback","call_id":second_call,"contact":"+1 555 0100"}))
        .await;
    first.expect_error("not_found").await;
    second
        .request(json!({"type":"request_callback","call_id":second_call,
            "contact":"+44 20 7946 0000","note":"after 5pm"}))
        .await;
    assert_eq!(
        second.wait_call_state("ended").await["reason"],
        "callback_requested"
    );

    // The first gives up waiting.
    first
        .request(json!({"type":"hang_up","call_id":first_call}))
        .await;
    first.wait_call_state("ended").await;

    let (_, cb) = get(&server, "/api/tickets?kind=callback", "bea").await;
    let cb = &cb["tickets"][0];
    assert_eq!(cb["call_id"], second_call.as_str());
    assert_eq!(cb["contact"], "+44 20 7946 0000");
    assert_eq!(cb["message"], "after 5pm");
    assert_eq!(cb["reason"], "queue_full");
    let (_, ab) = get(&server, "/api/tickets?kind=abandoned", "bea").await;
    assert_eq!(ab["tickets"][0]["call_id"], first_call.as_str(), "{ab}");
    assert_eq!(
        server
            .metric("switchboard_tickets_total{kind=\"callback\"}")
            .await,
        1.0
    );
    // An agent opens one by hand for a contact: the contact's ticket comes back.
    let (code, t) = send(
        &server,
        "POST",
        "/api/tickets",
        "bea",
        json!({"call_id": first_call}),
    )
    .await;
    assert_eq!(code, 201);
    assert_eq!(t["ticket"], ab["tickets"][0]["ticket"]);
    let (code, _) = send(&server, "POST", "/api/tickets", "bea", json!({})).await;
    assert_eq!(code, 400);
}
