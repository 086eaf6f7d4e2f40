//! A caller's "okay" while the bot talks is a backchannel, not a turn: the bot backs off for
//! a moment and goes on at its own level; it is neither stopped nor answered. Real WebRTC
//! customer, espeak-ng speech, live Whisper, the bot's Kokoro voice.

mod common;
use common::*;
use serde_json::Value;
use std::time::{Duration, Instant};

const BOT: &str = "[[entry_points]]\nname = \"phone\"\nbot = true\nlanguage = \"en\"\n";

/// The customer's utterances as the server stored them.
async fn customer_words(server: &Server, call: &str) -> Vec<String> {
    let t: Value = reqwest::Client::new()
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
        .unwrap_or_default();
    t["utterances"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter(|u| u["speaker"] == "customer")
        .map(|u| u["text"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backchannel_over_the_bot_neither_stops_it_nor_is_answered() {
    let server = Server::start_with_speech(BOT).await;
    let mut customer = customer_calls(&server, "Nod").await;
    customer.ws.wait_call_state("with_bot").await;
    customer.ws.chat_from("bot").await; // the greeting, about 7 s of speech
    customer.peer.wait_connected().await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while customer.peer.received(0).recorded.len() < 48000 {
        assert!(Instant::now() < deadline, "the greeting never started");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let level = rms_tail(&customer.peer.received(0).pcm, 1000);
    assert!(level > 300.0, "the greeting is playing");

    // A short acknowledgement over the bot (about 0.4 s of voice).
    let mut nod = espeak_48k("Okay.", &["-s", "200"]);
    nod.extend(vec![0i16; 48 * 3000]);
    let audio = customer.peer.start_pcm(nod, false).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;

    // The bot is still talking, at its own level again.
    let r = customer.peer.received(0);
    assert!(
        r.last_at
            .is_some_and(|t| t.elapsed() < Duration::from_millis(300)),
        "the bot stopped for a backchannel"
    );
    let now = rms_tail(&r.pcm, 500);
    println!("bot level before {level:.0}, after the backchannel {now:.0}");
    assert!(
        now > level * 0.5,
        "the bot stayed ducked: {now:.0} vs {level:.0}"
    );
    assert_eq!(
        server.metric("switchboard_bot_barge_ins_total").await,
        0.0,
        "counted as a barge-in"
    );

    // It was heard as speech, and the bot did not answer it.
    let deadline = Instant::now() + Duration::from_secs(20);
    let heard = loop {
        let w = customer_words(&server, &customer.call_id).await;
        if !w.is_empty() {
            break w;
        }
        assert!(
            Instant::now() < deadline,
            "the backchannel was not heard as speech at all"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    println!("heard {heard:?}");
    let answered = tokio::time::timeout(Duration::from_secs(6), customer.ws.chat_from("bot")).await;
    assert!(
        answered.is_err(),
        "the bot answered a backchannel: {:?}",
        answered.ok()
    );
    audio.abort();
}
