//! Multi-turn flows against the demo's order service: slot filling over several turns (an
//! invalid order number is asked again; a spelt-out one is understood), a confirmed return
//! opens a real ticket, a back end that hangs is told to the customer, and an order held for
//! fraud hands the chat over with the filled slots on the card.

mod common;
use common::*;
use serde_json::json;

// One queue that never turns contacts away: hand-overs here are about flows, not overflow.
const BOT: &str = "[[entry_points]]\nname = \"web\"\nbot = true\n\
                   [[center.queues]]\nname = \"general\"\noverflow_when_no_agents = false\n";

async fn say(ws: &mut Ws, call: &str, text: &str) -> String {
    ws.request(json!({"type":"chat","call_id": call,"text": text}))
        .await;
    ws.chat_from("customer").await;
    ws.chat_from("bot").await["text"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn order_status_and_a_return_over_several_turns() {
    let server = Server::start(BOT).await;
    let mut ws = Ws::connect(&server).await;
    let call = ws.start_chat("Omar", None).await;
    ws.chat_from("bot").await;

    let r = say(
        &mut ws,
        &call,
        "hi, where's my order? it still hasn't turned up",
    )
    .await;
    assert!(r.contains("order number"), "{r}");
    let r = say(&mut ws, &call, "it's NW12345").await;
    assert!(
        r.contains("doesn't look like an order number"),
        "re-asked: {r}"
    );
    // As speech recognition writes a number spelt out letter by letter.
    let r = say(&mut ws, &call, "n w one two three four five six").await;
    assert!(r.contains("check"), "{r}");
    let status = ws.chat_from("bot").await;
    let status = status["text"].as_str().unwrap();
    assert!(
        status.contains("NW123456") && status.contains("on its way"),
        "{status}"
    );

    let r = say(&mut ws, &call, "ok, and I want to return the phone case").await;
    assert!(r.contains("order number"), "{r}");
    say(&mut ws, &call, "NW123456").await; // "one moment"
    let items = ws.chat_from("bot").await;
    assert!(
        items["text"].as_str().unwrap().contains("clear phone case"),
        "{items}"
    );
    let r = say(&mut ws, &call, "the clear phone case").await;
    assert!(r.contains("Shall I open the return"), "{r}");
    say(&mut ws, &call, "yes please").await;
    let done = ws.chat_from("bot").await;
    let done = done["text"].as_str().unwrap().to_string();
    let ticket = done
        .split_whitespace()
        .find(|w| w.starts_with("RT-"))
        .unwrap_or_else(|| panic!("no ticket in {done:?}"))
        .trim_end_matches('.')
        .to_string();
    let t: serde_json::Value = reqwest::Client::new()
        .get(format!("http://{}/api/tickets/{ticket}", server.addr))
        .basic_auth("alice", Some("demo"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(t["kind"], "return");
    assert_eq!(t["details"]["order_number"], "NW123456");
    assert_eq!(t["details"]["item"], "the clear phone case");
}

#[tokio::test]
async fn a_hanging_back_end_and_a_fraud_hold_are_handled_in_the_dialogue() {
    let server = Server::start(BOT).await;
    let mut ws = Ws::connect(&server).await;
    let call = ws.start_chat("Lena", None).await;
    ws.chat_from("bot").await;
    say(&mut ws, &call, "can you track my parcel for me").await;
    say(&mut ws, &call, "NW999999").await; // "one moment"
    let sorry = ws.chat_from("bot").await;
    assert!(
        sorry["text"]
            .as_str()
            .unwrap()
            .contains("can't reach our order system"),
        "{sorry}"
    );
    // The conversation goes on: a cancelled flow, then an order the back end says needs a
    // person.
    let r = say(&mut ws, &call, "has my order shipped yet").await;
    assert!(r.contains("order number"), "{r}");
    let r = say(&mut ws, &call, "never mind").await;
    assert!(r.contains("cancelled"), "{r}");
    say(&mut ws, &call, "where is my order").await;
    say(&mut ws, &call, "NW666666").await;
    ws.chat_from("bot").await; // handing over
    ws.wait_call_state("queued").await;

    let mut alice = Ws::connect(&server).await;
    alice.login("alice").await;
    alice.set_available().await;
    let offer = alice.expect("call_offered").await;
    let card = &offer["handoff"];
    assert_eq!(card["reason"], "flow");
    assert_eq!(card["intent"], "order_status");
    assert_eq!(card["slots"]["order_number"], "NW666666");
}
