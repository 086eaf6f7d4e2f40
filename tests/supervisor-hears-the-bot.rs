//! A supervisor who listens to a call the bot is serving hears the bot's voice: its words,
//! which real Whisper recognises, on one of the supervisor's slots (the caller says nothing,
//! so any sound there is the bot's).

mod common;
use common::*;
use std::time::{Duration, Instant};

const BOT: &str = "[[entry_points]]\nname = \"phone\"\nbot = true\nlanguage = \"en\"\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listening_supervisor_hears_the_bot() {
    let server = Server::start_with_speech(BOT).await;
    let mut customer = customer_calls(&server, "Quiet Caller").await;
    customer.ws.wait_call_state("with_bot").await;
    let greeting = customer.ws.chat_from("bot").await;
    let greeting = greeting["text"].as_str().unwrap().to_string();
    let (_sup, sup_peer) =
        supervisor_listens(&server.addr, &customer.call_id, Layout::Listener).await;
    sup_peer.wait_connected().await;

    // The greeting takes about 8 s to say: the supervisor, in from its first seconds, hears
    // the rest of it.
    let deadline = Instant::now() + Duration::from_secs(40);
    let (slot, heard) = loop {
        let quiet_after_sound = (0..2).find_map(|i| {
            let r = sup_peer.received(i);
            let loud = r
                .recorded
                .iter()
                .filter(|s| s.unsigned_abs() > 1000)
                .count();
            let done = loud > 4_800
                && r.last_at
                    .is_some_and(|t| t.elapsed() > Duration::from_secs(1));
            done.then_some((i, r.recorded))
        });
        if let Some(found) = quiet_after_sound {
            break found;
        }
        assert!(
            Instant::now() < deadline,
            "the supervisor heard no voice: {:?}",
            (0..2)
                .map(|i| sup_peer.received(i).packets)
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let wav = std::env::temp_dir().join(format!("sb-sup-bot-{}.wav", std::process::id()));
    write_wav_i16(&wav, 48_000, &heard);
    let said = transcribe_texts(&wav, "en", None).join(" ");
    let _ = std::fs::remove_file(&wav);
    println!("slot {slot}: heard {said:?} (greeting {greeting:?})");
    let greeting_words = words(&greeting);
    let common = words(&said)
        .into_iter()
        .filter(|w| w.len() > 3 && greeting_words.contains(w))
        .count();
    assert!(
        common >= 3,
        "what the supervisor heard is not the bot's greeting: {said:?}"
    );
    // The caller said nothing: the other slot carries no voice.
    let other = sup_peer.received(1 - slot);
    let loud = other
        .recorded
        .iter()
        .filter(|s| s.unsigned_abs() > 1000)
        .count();
    assert!(loud < 480, "the other slot has sound: {loud} loud samples");
}
