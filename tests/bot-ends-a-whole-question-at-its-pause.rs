//! A caller who has finished a question is answered at the pause, without waiting out the
//! silence that ends other utterances: the early final's words are a whole sentence, so the
//! caller's utterance ends there. Words that stop on a number being read out still wait the
//! whole silence. Real WebRTC caller (espeak-ng speech), live Whisper, the bot's voice.
//!
//! The silence that ends an utterance is set to 2.5 s here, so that "ended at the pause"
//! and "ended by the silence" are far apart in the caller's own audio time (the server's
//! `endpointing` stage: from the caller's last voiced sound to the end of the utterance,
//! counted in audio received).

mod common;
use common::*;
use std::time::Duration;

const ENDPOINTING: &str = "switchboard_bot_turn_stage_seconds_sum{stage=\"endpointing\"}";
const TURNS: &str = "switchboard_bot_turn_stage_seconds_count{stage=\"endpointing\"}";

/// Says `text` and returns how long the caller's pause lasted before their utterance ended
/// (the server's measure), and the bot's reply.
async fn ask(server: &Server, customer: &mut Customer, text: &str) -> (f64, serde_json::Value) {
    let (sum0, n0) = (server.metric(ENDPOINTING).await, server.metric(TURNS).await);
    let mut q = espeak_48k(text, &["-s", "140"]);
    q.extend(vec![0i16; 48 * 4000]);
    let audio = customer.peer.start_pcm(q, false).await;
    let reply = tokio::time::timeout(Duration::from_secs(60), customer.ws.chat_from("bot"))
        .await
        .unwrap_or_else(|_| panic!("the bot answers {text:?}"));
    server.wait_metric(TURNS, n0 + 1.0).await;
    let waited = server.metric(ENDPOINTING).await - sum0;
    heard_after(&customer.peer, customer.peer.received(0).recorded.len()).await;
    audio.abort();
    (waited, reply)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finished_question_ends_at_its_pause_and_a_number_waits_the_silence() {
    let server = Server::start_with_speech(
        "[speech]\nmin_silence_ms = 2500\n\n[[entry_points]]\nname = \"phone\"\nbot = true\nlanguage = \"en\"\n",
    )
    .await;
    let mut customer = customer_calls(&server, "Ines").await;
    greeted(&mut customer).await;

    let (waited, reply) = ask(&server, &mut customer, "What ways can I pay my bill?").await;
    println!(
        "question: ended {waited:.3} s after the voice; bot: {}",
        reply["text"]
    );
    assert!(
        waited < 2.0,
        "a finished question waited {waited:.3} s: the whole silence, not its pause"
    );
    assert!(
        reply["text"].as_str().unwrap_or_default().contains("card"),
        "the payment entry: {reply}"
    );

    // A number being read out: the caller may go on with the next group.
    let (waited, reply) = ask(&server, &mut customer, "My reference is 4 4 1 8").await;
    println!(
        "number: ended {waited:.3} s after the voice; bot: {}",
        reply["text"]
    );
    assert!(
        waited >= 2.5,
        "words ending in a number ended after {waited:.3} s, before the silence"
    );
}
