//! The bot hands a chat to a person for each reason, the contact waits in the queue while the
//! bot keeps answering, and the agent gets the handoff card and continues the same chat.

mod common;
use common::*;
use serde_json::json;

// One queue that never turns contacts away: this file is about the reasons and the card, not
// where a hand-over waits (tests/bot-routes-by-intent.rs) or overflow.
const BOT: &str = "[[entry_points]]\nname = \"web\"\nbot = true\nlanguage = \"en\"\n\
                   [[center.queues]]\nname = \"general\"\noverflow_when_no_agents = false\n";

async fn say(ws: &mut Ws, call: &str, text: &str) -> serde_json::Value {
    ws.request(json!({"type":"chat","call_id": call,"text": text}))
        .await;
    ws.chat_from("customer").await;
    ws.chat_from("bot").await
}

/// Plays `turns` in a new chat; returns the turn (1-based) after which the contact was queued
/// and the reason the supervisor's dashboard shows.
async fn play(server: &Server, sam: &mut Ws, turns: &[&str]) -> Option<(usize, String)> {
    let mut ws = Ws::connect(server).await;
    let call = ws.start_chat("Test", None).await;
    ws.chat_from("bot").await;
    for (i, t) in turns.iter().enumerate() {
        say(&mut ws, &call, t).await;
        let queued = ws
            .drain_for(std::time::Duration::from_millis(300))
            .await
            .into_iter()
            .any(|v| v["type"] == "call_state" && v["state"] == "queued");
        if queued {
            let c = call.clone();
            let d = sam
                .wait_for("dashboard with the escalation", move |v| {
                    v["type"] == "dashboard"
                        && v["calls"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .any(|x| x["call_id"] == c.as_str() && !x["escalation"].is_null())
                })
                .await;
            let reason = d["calls"]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| x["call_id"] == call.as_str())
                .unwrap()["escalation"]
                .as_str()
                .unwrap()
                .to_string();
            ws.request(json!({"type":"hang_up","call_id": call})).await;
            return Some((i + 1, reason));
        }
    }
    ws.request(json!({"type":"hang_up","call_id": call})).await;
    None
}

#[tokio::test]
async fn each_reason_queues_the_contact_with_that_reason() {
    let server = Server::start(BOT).await;
    let mut sam = Ws::connect(&server).await;
    sam.login("sam").await;
    // Wording of our own, unlike the development scripts.
    type Case<'a> = (&'a [&'a str], Option<(usize, &'a str)>);
    let cases: &[Case] = &[
        (
            &[
                "how do i set up autopay",
                "could you put me through to one of your staff",
            ],
            Some((2, "asked_for_human")),
        ),
        (
            &[
                "my data is crawling today",
                "you are completely useless, this is pathetic",
            ],
            Some((2, "negative_emotion")),
        ),
        (
            &[
                "do you sell car insurance",
                "what time does the football start tonight",
            ],
            Some((2, "no_answer_repeated")),
        ),
        (
            &["there is smoke coming out of my phone while it charges"],
            Some((1, "flow")),
        ),
        (
            &[
                "no, i don't want an agent. how do i get my puk code",
                "ok thanks, that's all",
            ],
            None,
        ),
    ];
    for (turns, want) in cases {
        let got = play(&server, &mut sam, turns).await;
        let got = got.as_ref().map(|(t, r)| (*t, r.as_str()));
        assert_eq!(got, *want, "{turns:?}");
    }
}

#[tokio::test]
async fn the_agent_gets_the_card_and_continues_the_chat() {
    let server = Server::start(BOT).await;
    let mut alice = Ws::connect(&server).await;
    alice.login("alice").await;

    let mut ws = Ws::connect(&server).await;
    let call = ws.start_chat("Grace", None).await;
    ws.chat_from("bot").await;
    let a = say(&mut ws, &call, "when do i have to pay my bill by").await;
    assert_eq!(a["entry_id"], "billing-due-date");
    // The button, not words: hand over now.
    ws.request(json!({"type":"request_agent","call_id": call}))
        .await;
    ws.chat_from("bot").await;
    let q = ws.wait_call_state("queued").await;
    assert_eq!(q["position"], 1);
    assert!(q["estimated_wait_s"].as_u64().is_some());
    // The bot tells the customer where they stand.
    let place = ws.chat_from("bot").await;
    assert!(
        place["text"]
            .as_str()
            .unwrap()
            .contains("number 1 in the queue"),
        "{place}"
    );

    // Nobody is available: the bot keeps answering while the customer waits.
    let a = say(
        &mut ws,
        &call,
        "while i wait, how do i turn on roaming before i travel",
    )
    .await;
    assert_eq!(a["entry_id"], "roaming-activate", "{a}");

    // An agent cannot hand a contact to the bot's queue for the customer, nor chat into it.
    alice
        .request(json!({"type":"request_agent","call_id": call}))
        .await;
    alice.expect_error("forbidden").await;
    alice
        .request(json!({"type":"chat","call_id": call,"text":"hi"}))
        .await;
    alice.expect_error("forbidden").await;

    alice.set_available().await;
    let offer = alice.expect("call_offered").await;
    assert_eq!(offer["channel"], "chat");
    let card = &offer["handoff"];
    assert_eq!(card["reason"], "asked_for_human");
    // What the customer was asking about when the bot handed over.
    assert_eq!(card["intent"], "billing-due-date");
    let lines: Vec<&str> = card["conversation"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["text"].as_str().unwrap())
        .collect();
    assert!(
        lines.contains(&"when do i have to pay my bill by"),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.contains("roaming")),
        "the wait is in the card: {lines:?}"
    );
    assert!(!card["summary"].as_str().unwrap().is_empty());
    assert!(!card["sentiment"].as_array().unwrap().is_empty());

    // A chat is accepted without an SDP offer; with one it is refused.
    alice
        .request(json!({"type":"accept","call_id": call,"sdp":"v=0"}))
        .await;
    alice.expect_error("bad_message").await;
    alice
        .request(json!({"type":"accept","call_id": call}))
        .await;
    alice
        .wait_for("on_call", |v| {
            v["type"] == "agent_state" && v["state"] == "on_call"
        })
        .await;
    ws.wait_call_state("connected").await;

    alice
        .request(json!({"type":"chat","call_id": call,"text":"Hi Grace, Alice here."}))
        .await;
    let got = ws.chat_from("agent").await;
    assert_eq!(got["text"], "Hi Grace, Alice here.");
    ws.request(json!({"type":"chat","call_id": call,"text":"thanks alice, can i pay by card"}))
        .await;
    let got = alice.chat_from("customer").await;
    assert_eq!(got["text"], "thanks alice, can i pay by card");
    // The bot has left: no bot line after the agent took over.
    let later = ws.drain_for(std::time::Duration::from_millis(800)).await;
    assert!(
        !later
            .iter()
            .any(|v| v["type"] == "chat" && v["from"] == "bot"),
        "{later:?}"
    );

    // The stored transcript holds the whole conversation, bot included.
    let t: serde_json::Value = reqwest::Client::new()
        .get(format!(
            "http://{}/api/calls/{call}/transcript",
            server.addr
        ))
        .basic_auth("sam", Some("demo"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let speakers: Vec<&str> = t["utterances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["speaker"].as_str().unwrap())
        .collect();
    for s in ["customer", "bot", "agent"] {
        assert!(speakers.contains(&s), "{speakers:?}");
    }
}
