//! A callback a customer asks for is work for an agent: it waits in its queue (however long,
//! with nobody logged in), is offered with whom to call back, accepted without media, done
//! with `hang_up` and wrap-up; the KPIs count it apart from the contacts.

mod common;
use common::*;
use serde_json::{json, Value};

const CONFIG: &str = r#"
[[center.queues]]
name = "billing"
max_wait_s = 1
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_requested_callback_is_offered_to_the_next_agent_who_can_take_it() {
    let server = Server::start(CONFIG).await;
    // Nobody who could take billing: the chat overflows, the customer asks for a callback.
    let mut ws = Ws::connect(&server).await;
    ws.request(json!({"type":"start_chat","queue":"billing","caller":{"name":"Grace Hopper"}}))
        .await;
    let state = ws.expect("call_state").await;
    assert_eq!(state["state"], "overflow", "{state}");
    let call = state["call_id"].as_str().unwrap().to_string();
    ws.request(json!({"type":"request_callback","call_id": call,
        "contact":"+44 20 7946 0018","note":"about invoice 4471"}))
        .await;
    let ended = ws.wait_call_state("ended").await;
    assert_eq!(ended["reason"], "callback_requested");

    // Longer than the queue's longest wait, and still nobody: it waits.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    server.add_agent_with_skills("bea", &["billing=3"]);
    let mut bea = agent_available(&server, "bea").await;
    let offer = bea.expect("call_offered").await;
    assert_eq!(offer["channel"], "callback", "{offer}");
    assert_eq!(offer["call_id"], format!("{call}-cb"));
    assert_eq!(offer["callback"]["contact"], "+44 20 7946 0018");
    assert_eq!(offer["callback"]["note"], "about invoice 4471");
    assert_eq!(offer["callback"]["of_call"], call.as_str());
    assert_eq!(offer["caller"]["name"], "Grace Hopper");
    let cb = offer["call_id"].as_str().unwrap().to_string();

    // With an SDP it is refused; without, accepted; no chat on it.
    bea.request(json!({"type":"accept","call_id": cb,"sdp":"v=0"}))
        .await;
    bea.expect_error("bad_message").await;
    bea.request(json!({"type":"accept","call_id": cb})).await;
    bea.wait_for("on the callback", |v| {
        v["type"] == "agent_state" && v["state"] == "on_call"
    })
    .await;
    bea.request(json!({"type":"chat","call_id": cb,"text":"hello?"}))
        .await;
    let e = bea.expect_error("bad_message").await;
    assert!(e["message"].as_str().unwrap().contains("callback"), "{e}");
    bea.request(json!({"type":"hang_up","call_id": cb})).await;
    bea.wait_for("wrap-up", |v| {
        v["type"] == "agent_state" && v["state"] == "wrap_up"
    })
    .await;

    // The wrap-up's notes go to the callback's ticket (opened when it was asked for).
    let c = reqwest::Client::new();
    let made: Value = c
        .post(format!("http://{}/api/tickets", server.addr))
        .basic_auth("bea", Some("demo"))
        .body(json!({"call_id": cb}).to_string())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let t: Value = c
        .get(format!(
            "http://{}/api/tickets/{}",
            server.addr,
            made["ticket"].as_str().unwrap()
        ))
        .basic_auth("sam", Some("demo"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(t["kind"], "callback", "{t}");
    assert_eq!(t["contact"], "+44 20 7946 0018", "{t}");

    // Counted apart: one callback, taken; the overflowed chat is the one contact.
    let r = reqwest::Client::new()
        .get(format!("http://{}/api/kpis", server.addr))
        .basic_auth("sam", Some("demo"))
        .send()
        .await
        .unwrap();
    let k: Value = r.json().await.unwrap();
    let overall = &k["overall"];
    assert_eq!(overall["callbacks"], 1, "{overall}");
    assert_eq!(overall["callbacks_taken"], 1, "{overall}");
    assert_eq!(overall["contacts"], 1, "{overall}");
    assert_eq!(overall["handled"], 0, "{overall}");
}

/// A chat to `queue` that overflows (nobody who could take it is logged in): its call id.
async fn overflowed_chat(ws: &mut Ws, queue: &str) -> String {
    ws.request(json!({"type":"start_chat","queue":queue,"caller":{"name":"Alan Turing"}}))
        .await;
    let state = ws.expect("call_state").await;
    assert_eq!(state["state"], "overflow", "{state}");
    state["call_id"].as_str().unwrap().to_string()
}

fn rfc3339_in(secs: i64) -> String {
    jiff::Timestamp::now()
        .checked_add(jiff::Span::new().seconds(secs))
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_for_a_later_time_waits_for_it_even_across_a_restart() {
    // "weekly" is open on one day only: the day after tomorrow (UTC).
    let day = day_after_tomorrow_utc();
    let mut server = Server::start(&format!(
        r#"{CONFIG}
[[center.queues]]
name = "weekly"
hours = {{ timezone = "UTC", open = ["{day} 00:00-24:00"] }}
"#
    ))
    .await;
    let mut ws = Ws::connect(&server).await;

    // Times that cannot be: refused with the reason, and the contact still overflowed.
    let call = overflowed_chat(&mut ws, "billing").await;
    for (at, says) in [
        ("tomorrow at ten".to_string(), "RFC 3339"),
        (rfc3339_in(-3600), "passed"),
        (rfc3339_in(30 * 86_400), "14 days"),
    ] {
        ws.request(json!({"type":"request_callback","call_id": call,
            "contact":"+1 555 0100","at": at}))
            .await;
        let e = ws.expect_error("bad_message").await;
        let m = e["message"].as_str().unwrap();
        assert!(m.contains(says), "{m}");
    }
    // Tomorrow the weekly queue is closed: refused, naming its hours.
    let mut other = Ws::connect(&server).await;
    let weekly = overflowed_chat(&mut other, "weekly").await;
    other
        .request(json!({"type":"request_callback","call_id": weekly,
            "contact":"+1 555 0101","at": rfc3339_in(86_400)}))
        .await;
    let e = other.expect_error("bad_message").await;
    assert!(
        e["message"].as_str().unwrap().contains("closed then"),
        "{e}"
    );

    // In four seconds: accepted; the agent who is free now is not offered it before then.
    ws.request(json!({"type":"request_callback","call_id": call,
        "contact":"+1 555 0100","note":"after lunch","at": rfc3339_in(4)}))
        .await;
    let ended = ws.wait_call_state("ended").await;
    assert_eq!(ended["reason"], "callback_requested");
    let asked = std::time::Instant::now();
    server.add_agent_with_skills("bea", &["billing=3"]);
    let mut bea = agent_available(&server, "bea").await;
    let early = bea.drain_for(std::time::Duration::from_millis(1000)).await;
    assert!(
        !early.iter().any(|v| v["type"] == "call_offered"),
        "offered before its time: {early:?}"
    );
    let mut sam = Ws::connect(&server).await;
    sam.login("sam").await;
    let board = sam
        .wait_for("the scheduled callback on the dashboard", |v| {
            v["type"] == "dashboard"
                && v["calls"]
                    .as_array()
                    .is_some_and(|c| c.iter().any(|c| c["state"] == "scheduled"))
        })
        .await;
    assert!(board["queue"].as_array().unwrap().is_empty(), "{board}");

    // The server is killed: the callback is kept and still waits for its time.
    drop(bea);
    drop(sam);
    server.kill9_and_restart().await;
    let mut bea = agent_available(&server, "bea").await;
    let offer = bea.expect("call_offered").await;
    let waited = asked.elapsed();
    println!(
        "offered {} ms after it was asked for (due in 4 s)",
        waited.as_millis()
    );
    assert!(
        waited >= std::time::Duration::from_millis(3500),
        "{waited:?}"
    );
    assert_eq!(offer["channel"], "callback", "{offer}");
    assert_eq!(offer["call_id"], format!("{call}-cb"));
    assert_eq!(offer["callback"]["contact"], "+1 555 0100");
    assert_eq!(offer["callback"]["note"], "after lunch");
    assert!(
        offer["callback"]["at"].as_str().unwrap().ends_with('Z'),
        "{offer}"
    );
    assert_eq!(offer["caller"]["name"], "Alan Turing");
}
