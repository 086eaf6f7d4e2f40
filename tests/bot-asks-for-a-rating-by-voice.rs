//! A caller the bot helped says goodbye: the bot asks, aloud, for a rating from one to five,
//! hears the score, stores it as the contact's CSAT, and the page is not asked to rate again.
//! Real WebRTC caller (espeak-ng speaking), live Whisper, the real knowledge base and voice.

mod common;
use common::*;
use std::time::Duration;

/// The caller says `text` (then a pause); the bot's next chat line.
async fn say(customer: &mut Customer, text: &str) -> String {
    let before = customer.peer.received(0).recorded.len();
    let mut pcm = espeak_48k(text, &["-s", "140"]);
    pcm.extend(vec![0i16; 48 * 2500]);
    let audio = customer.peer.start_pcm(pcm, false).await;
    let reply = tokio::time::timeout(Duration::from_secs(90), customer.ws.chat_from("bot"))
        .await
        .unwrap_or_else(|_| panic!("the bot answers {text:?}"));
    heard_after(&customer.peer, before).await;
    audio.abort();
    reply["text"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bot_asks_for_a_score_at_goodbye_and_stores_what_it_hears() {
    let server = Server::start_with_speech(
        "[[entry_points]]\nname = \"phone\"\nbot = true\nlanguage = \"en\"\n",
    )
    .await;
    let mut customer = customer_calls(&server, "Ines").await;
    greeted(&mut customer).await;

    // A question it answers, then thanks: it asks for the rating.
    let answer = say(&mut customer, "What ways can I pay my bill?").await;
    println!("answer: {answer}");
    let ask = say(&mut customer, "Great, thank you very much.").await;
    assert!(
        ask.contains("from one to five"),
        "the bot did not ask for a rating: {ask:?}"
    );
    let thanks = say(&mut customer, "I would give it a five.").await;
    assert!(thanks.contains("noted 5"), "{thanks:?}");

    // The caller hangs up: no rating form is sent, the score is the contact's CSAT.
    customer
        .ws
        .request(serde_json::json!({"type":"hang_up","call_id": customer.call_id}))
        .await;
    let after = customer.ws.drain_for(Duration::from_secs(1)).await;
    assert!(
        after.iter().any(|v| v["state"] == "ended"),
        "no end: {after:?}"
    );
    assert!(
        !after.iter().any(|v| v["type"] == "rate_prompt"),
        "rated by voice, yet asked again: {after:?}"
    );
    let k = server.kpis().await;
    assert_eq!(k["overall"]["csat"], 5.0, "{k}");
    assert_eq!(k["overall"]["csat_count"], 1, "{k}");
}
