//! A chat goes to the bot first: it greets, answers from the knowledge base in English and
//! Chinese (questions worded unlike the entries), falls back on what it cannot answer, counts
//! hits and an answer the customer rejected. Real server, real protocol, real sentence model.

mod common;
use common::*;
use serde_json::json;

const BOT: &str = "[[entry_points]]\nname = \"web\"\nbot = true\nlanguage = \"en\"\n";

async fn ask(ws: &mut Ws, call: &str, text: &str) -> serde_json::Value {
    ws.request(json!({"type":"chat","call_id": call,"text": text}))
        .await;
    let mine = ws.chat_from("customer").await;
    assert_eq!(mine["text"], text.trim());
    ws.chat_from("bot").await
}

#[tokio::test]
async fn the_bot_answers_in_both_languages_and_falls_back_when_it_does_not_know() {
    let server = Server::start(BOT).await;
    let mut ws = Ws::connect(&server).await;
    let call = ws.start_chat("Grace", None).await;
    let greeting = ws.chat_from("bot").await;
    assert!(greeting["entry_id"].is_null());
    assert!(!greeting["text"].as_str().unwrap().is_empty());

    let a = ask(&mut ws, &call, "hey so uh when is this month's bill due").await;
    assert_eq!(a["entry_id"], "billing-due-date", "{a}");
    assert!(a["text"].as_str().unwrap().contains("14 days"));

    let a = ask(
        &mut ws,
        &call,
        "i'm flying to spain tomorrow, do i have to switch something on so my phone works there",
    )
    .await;
    assert_eq!(a["entry_id"], "roaming-activate", "{a}");
    // Typed, the rejection counts too, and the bot asks again instead of answering.
    let again = ask(&mut ws, &call, "no, that's not what I asked").await;
    assert!(again["entry_id"].is_null(), "{again}");
    assert!(
        again["text"].as_str().unwrap().contains("more about"),
        "{again}"
    );

    // Chinese, in the same chat: the bot follows the customer's language.
    let a = ask(&mut ws, &call, "我出国了怎么手机没法打电话").await;
    assert!(a["entry_id"].is_string(), "{a}");
    assert!(a["text"]
        .as_str()
        .unwrap()
        .chars()
        .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)));

    let answered = a["entry_id"].as_str().unwrap().to_string();

    // Out of scope: the fallback, never a random entry (the Chinese answer reset the count
    // of questions in a row the bot could not answer).
    let a = ask(
        &mut ws,
        &call,
        "what's the best pizza place near the station",
    )
    .await;
    assert!(a["entry_id"].is_null(), "{a}");
    assert!(a["text"].as_str().unwrap().contains("another way"), "{a}");

    // The customer rejects the last answer: the bot asks again, and the rejection is counted.
    ws.request(json!({"type":"reject_answer","call_id": call}))
        .await;
    let again = ws.chat_from("bot").await;
    assert!(again["entry_id"].is_null());

    let stats: serde_json::Value = reqwest::Client::new()
        .get(format!("http://{}/api/kb/stats", server.addr))
        .basic_auth("sam", Some("demo"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let row = |lang: &str, id: &str| {
        stats["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["language"] == lang && e["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("no stats for {id}: {stats}"))
    };
    assert_eq!(row("en", "billing-due-date")["hits"], 1);
    assert_eq!(row("en", "roaming-activate")["rejected"], 1);
    assert_eq!(row("zh", &answered)["rejected"], 1);
    let unanswered = stats["unanswered"].as_array().unwrap();
    assert!(
        unanswered
            .iter()
            .any(|g| g["examples"][0].as_str().unwrap().contains("pizza")),
        "{stats}"
    );

    // An agent may not use the knowledge-base API.
    let r = reqwest::Client::new()
        .get(format!("http://{}/api/kb/stats", server.addr))
        .basic_auth("alice", Some("demo"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn bad_chat_requests_are_refused_and_change_nothing() {
    let server = Server::start(BOT).await;
    let mut ws = Ws::connect(&server).await;
    let call = ws.start_chat("Ann", Some("en")).await;
    ws.chat_from("bot").await;
    ws.request(json!({"type":"chat","call_id": call,"text": "   "}))
        .await;
    ws.expect_error("bad_message").await;
    ws.request(json!({"type":"chat","call_id": call,"text": "x".repeat(2001)}))
        .await;
    ws.expect_error("bad_message").await;
    ws.request(json!({"type":"start_chat","language":"fr"}))
        .await;
    ws.expect_error("wrong_state").await;

    // Another customer cannot write into this chat, nor learn that it exists.
    let mut other = Ws::connect(&server).await;
    other
        .request(json!({"type":"chat","call_id": call,"text": "hello?"}))
        .await;
    other.expect_error("not_found").await;
    other
        .request(json!({"type":"start_chat","language":"fr"}))
        .await;
    other.expect_error("bad_message").await;
    other
        .request(json!({"type":"start_chat","entry":"nowhere"}))
        .await;
    other.expect_error("bad_message").await;

    // The first chat still works.
    let a = ask(&mut ws, &call, "how do i check how much data i've used").await;
    assert_eq!(a["entry_id"], "data-check-usage", "{a}");
}
