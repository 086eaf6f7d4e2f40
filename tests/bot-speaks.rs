//! The bot speaks in voice calls: its greeting and answers are synthesised on the server
//! (Kokoro) into its own voice in the call, which a real WebRTC customer receives and real
//! Whisper understands; a caller who talks over it stops it (barge-in); when an agent takes
//! the call the bot's voice is gone and the customer hears the agent.

mod common;
use common::*;
use std::time::{Duration, Instant};

const BOT: &str = "[[entry_points]]\nname = \"phone\"\nbot = true\nlanguage = \"en\"\n";

/// Waits until the slot has received `secs` of audio and then nothing new for `quiet`.
async fn wait_spoken(peer: &Peer, secs: f64, quiet: Duration) -> Vec<i16> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = peer.received(0);
        let done = r.recorded.len() as f64 >= secs * 48000.0
            && r.last_at.is_some_and(|t| t.elapsed() >= quiet);
        if done {
            return r.recorded;
        }
        assert!(
            Instant::now() < deadline,
            "the bot said only {:.1} s",
            r.recorded.len() as f64 / 48000.0
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn transcript_of(pcm: &[i16], tag: &str) -> String {
    let wav = std::env::temp_dir().join(format!("sb-bot-{tag}-{}.wav", std::process::id()));
    write_wav_i16(&wav, 48_000, pcm);
    let text = transcribe_texts(&wav, "en", None).join(" ");
    let _ = std::fs::remove_file(&wav);
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_hears_the_bot_greet_and_answer_in_words_whisper_understands() {
    let server = Server::start_with_speech(BOT).await;
    let mut customer = customer_calls(&server, "Vera").await;
    customer.ws.wait_call_state("with_bot").await;
    let greeting = customer.ws.chat_from("bot").await;
    let greeting = greeting["text"].as_str().unwrap().to_string();
    customer.peer.wait_connected().await;

    // The greeting arrives as audio on the customer's slot, and it is the greeting's words.
    let heard = wait_spoken(&customer.peer, 3.0, Duration::from_millis(1500)).await;
    let said = transcript_of(&heard, "greeting");
    let w = wer(&greeting, &said);
    println!("greeting {greeting:?}\nheard    {said:?}\nWER {w:.2}");
    assert!(
        w <= 0.35,
        "the spoken greeting is not the greeting: WER {w:.2}"
    );
    let r = customer.peer.received(0);
    assert!(r.ts_steps_20ms >= 100, "paced as 20 ms frames");

    // The caller asks for a person out loud: the bot says so, aloud, and the call queues.
    let before = customer.peer.received(0).recorded.len();
    let mut speech = espeak_48k("I want to talk to a real person, please.", &["-s", "130"]);
    speech.extend(vec![0i16; 48 * 3000]);
    let audio = customer.peer.start_pcm(speech, false).await;
    let reply = tokio::time::timeout(Duration::from_secs(90), customer.ws.chat_from("bot"))
        .await
        .expect("the bot answers the spoken request");
    let mut reply = reply["text"].as_str().unwrap().to_string();
    customer.ws.wait_call_state("queued").await;
    // Then where they stand in the queue, spoken too.
    let queue_line = customer.ws.chat_from("bot").await;
    reply.push(' ');
    reply.push_str(queue_line["text"].as_str().unwrap());
    let heard = wait_spoken(
        &customer.peer,
        before as f64 / 48000.0 + 1.5,
        Duration::from_millis(1500),
    )
    .await;
    let said = transcript_of(&heard[before..], "reply");
    println!("reply {reply:?}\nheard {said:?}");
    let w = wer(&reply, &said);
    assert!(w <= 0.35, "the spoken reply is not the reply: WER {w:.2}");
    audio.abort();

    // An agent takes the call: the bot's voice leaves and the slot carries the agent.
    let mut alice = agent_available(&server, "alice").await;
    alice.expect("call_offered").await;
    let agent_peer = agent_accepts(&mut alice, &customer.call_id).await;
    customer.ws.wait_call_state("connected").await;
    let _tone = agent_peer.start_tone(880.0).await;
    let f = customer.peer.wait_tone(0, 880.0).await;
    println!("after the accept the customer hears {f:.0} Hz");
    assert!(
        server
            .metric("switchboard_bot_first_audio_seconds_count")
            .await
            >= 2.0,
        "both replies were timed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_talking_over_the_bot_stops_it() {
    let server = Server::start_with_speech(BOT).await;
    let mut customer = customer_calls(&server, "Barge").await;
    customer.ws.wait_call_state("with_bot").await;
    customer.ws.chat_from("bot").await;
    customer.peer.wait_connected().await;
    // The greeting is playing (about 7 s of speech).
    let deadline = Instant::now() + Duration::from_secs(30);
    while customer.peer.received(0).recorded.len() < 48000 {
        assert!(Instant::now() < deadline, "the greeting never started");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(rms_tail(&customer.peer.received(0).pcm, 300) > 300.0);

    // The caller talks over it.
    let mut speech = espeak_48k(
        "Sorry, wait, I have a question about my bill.",
        &["-s", "150"],
    );
    speech.extend(vec![0i16; 48 * 2000]);
    let level = rms_tail(&customer.peer.received(0).pcm, 1000);
    let t_talk = Instant::now();
    let audio = customer.peer.start_pcm(speech, false).await;
    // The bot backs off (ducks) at once, then stops (a barge-in) well before its greeting
    // would have ended, and falls silent. (A pause in its audio is not the stop: the next
    // phrase may still be being made.)
    let deadline = t_talk + Duration::from_secs(3);
    let mut ducked = None;
    loop {
        let r = customer.peer.received(0);
        if ducked.is_none() && rms_tail(&r.pcm, 100) < level * 0.4 {
            ducked = Some(t_talk.elapsed());
        }
        if server.metric("switchboard_bot_barge_ins_total").await >= 1.0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the bot kept talking over the caller"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let stopped = t_talk.elapsed();
    let deadline = Instant::now() + Duration::from_secs(1);
    while customer
        .peer
        .received(0)
        .last_at
        .is_none_or(|t| t.elapsed() <= Duration::from_millis(300))
    {
        assert!(
            Instant::now() < deadline,
            "the bot's audio went on after it stopped"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!(
        "the bot ducked {:?} ms and stopped {} ms after the caller started",
        ducked.map(|d| d.as_millis()),
        stopped.as_millis()
    );
    audio.abort();
}
