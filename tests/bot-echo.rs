//! Echo safety: a caller on a loudspeaker with no echo cancelling sends the bot's own voice
//! back (200 ms later, 9 dB quieter, low-passed). The server knows what the bot played: that
//! echo neither stops the bot (barge-in) nor reaches the bot as the caller's words.

mod common;
use common::*;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bots_own_voice_coming_back_is_not_the_caller() {
    let server = Server::start_with_speech(
        "[[entry_points]]\nname = \"phone\"\nbot = true\nlanguage = \"en\"\n",
    )
    .await;
    let mut customer = customer_calls(&server, "Loudspeaker").await;
    customer.ws.wait_call_state("with_bot").await;
    customer.ws.chat_from("bot").await;
    customer.peer.wait_connected().await;
    let echo = customer.peer.start_echo(200, 0.35).await;

    // The whole greeting plays (about 7 s of speech; a pause between its phrases while the
    // second is synthesised), then the line is quiet. Cut short, it never gets there.
    let deadline = Instant::now() + Duration::from_secs(45);
    loop {
        let r = customer.peer.received(0);
        let secs = r.recorded.len() as f64 / 48000.0;
        if secs > 5.5
            && r.last_at
                .is_some_and(|t| t.elapsed() > Duration::from_secs(2))
        {
            println!("the caller heard {secs:.1} s of greeting");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the greeting was cut at {secs:.1} s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let barge_ins = server.metric("switchboard_bot_barge_ins_total").await;
    if barge_ins != 0.0 || std::env::var("SB_SHOW").is_ok() {
        print_judgements(&server);
    }
    assert_eq!(barge_ins, 0.0, "the bot's own echo stopped it");

    // Nor does the bot answer its own words.
    let later = customer.ws.drain_for(Duration::from_secs(6)).await;
    let replies: Vec<&serde_json::Value> = later
        .iter()
        .filter(|m| m["type"] == "chat" && m["from"] == "bot")
        .collect();
    if !replies.is_empty() {
        print_judgements(&server);
    }
    assert!(replies.is_empty(), "the bot answered its echo: {replies:?}");
    echo.abort();
}

/// With SB_LOG=switchboard=debug: how each utterance was judged.
fn print_judgements(server: &Server) {
    for l in server
        .log()
        .lines()
        .filter(|l| l.contains("caller started") || l.contains("echo") || l.contains("barge"))
    {
        println!("{l}");
    }
}
