//! A voice call starts with the bot too: the customer's final transcripts are its input, its
//! replies reach the customer page as text, and asking for a person out loud hands the call
//! over. A real WebRTC customer speaks espeak-ng speech; real Whisper; real sentence model.

mod common;
use common::*;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asking_for_a_person_out_loud_hands_the_call_over() {
    let server = Server::start_with_speech(
        "[[entry_points]]\nname = \"phone\"\nbot = true\nlanguage = \"en\"\n",
    )
    .await;
    let mut customer = customer_calls(&server, "Vera").await;
    customer.ws.wait_call_state("with_bot").await;
    customer.ws.chat_from("bot").await; // the greeting, as text on the page
    customer.peer.wait_connected().await;

    let mut speech = vec![0i16; 48 * 500];
    speech.extend(espeak_48k(
        "I want to talk to a real person, please.",
        &["-s", "130"],
    ));
    speech.extend(vec![0i16; 48 * 2000]);
    let audio = customer.peer.start_pcm(speech, true).await;

    let reply = tokio::time::timeout(Duration::from_secs(90), customer.ws.chat_from("bot"))
        .await
        .expect("the bot answers the spoken request");
    assert!(
        reply["text"].as_str().unwrap().contains("passing you"),
        "{reply}"
    );
    customer.ws.wait_call_state("queued").await;
    audio.abort();

    let mut alice = agent_available(&server, "alice").await;
    let offer = alice.expect("call_offered").await;
    assert_eq!(offer["channel"], "voice");
    let card = &offer["handoff"];
    assert_eq!(card["reason"], "asked_for_human");
    let said: Vec<String> = card["conversation"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["from"] == "customer")
        .map(|l| l["text"].as_str().unwrap().to_lowercase())
        .collect();
    assert!(said.iter().any(|t| t.contains("person")), "{said:?}");
}
