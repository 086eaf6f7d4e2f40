//! A server-side voice in a live call: the queue announcement, a WAV file the server encodes to
//! Opus and paces as RTP with no peer connection behind it, reaches a real WebRTC customer who
//! decodes it; when an agent answers, the same slot carries the agent and the announcement is
//! gone.

mod common;
use common::*;
use std::time::Duration;

const ANNOUNCEMENT_HZ: f64 = 600.0;
const AGENT_HZ: f64 = 880.0;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_queue_announcement_is_heard_then_the_agent() {
    let wav = std::env::temp_dir().join(format!("sb-announcement-{}.wav", std::process::id()));
    // 16 kHz like most prompt recordings; the server resamples nothing and encodes it as is.
    write_wav_i16(&wav, 16_000, &tone_pcm(ANNOUNCEMENT_HZ, 16_000, 4.0));
    let server = Server::start(&format!(
        "[calls]\nqueue_announcement = {:?}\nqueue_announcement_repeat_s = 1\n",
        wav.display().to_string()
    ))
    .await;

    // Nobody is available: the customer waits and hears the announcement.
    let mut customer = customer_calls(&server, "Waiting Caller").await;
    customer.peer.wait_connected().await;
    let f = customer.peer.wait_tone(0, ANNOUNCEMENT_HZ).await;
    println!("customer hears the announcement at {f:.0} Hz");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let r = customer.peer.received(0);
    // Paced as 20 ms Opus frames: every timestamp step one frame, bar the talk-spurt starts.
    assert!(
        r.ts_steps_20ms >= 50,
        "{} packets one frame apart",
        r.ts_steps_20ms
    );
    assert!(
        r.ts_steps_other <= 2,
        "{} packets with other timestamp steps",
        r.ts_steps_other
    );

    // An agent answers: the slot switches to the agent; the announcement stops.
    let mut agent = agent_available(&server, "alice").await;
    agent.expect("call_offered").await;
    let agent_peer = agent_accepts(&mut agent, &customer.call_id).await;
    customer.ws.wait_call_state("connected").await;
    let _tone = agent_peer.start_tone(AGENT_HZ).await;
    customer.peer.wait_tone(0, AGENT_HZ).await;
    // The agent never hears the announcement (their slot is the customer's, who is silent).
    assert_eq!(agent_peer.received(0).packets, 0);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let r = customer.peer.received(0);
    let f = dominant_hz(&r.pcm[r.pcm.len() - 24000..]);
    assert!(
        (f - AGENT_HZ).abs() < 40.0,
        "customer hears {f} Hz, not the agent"
    );
    let _ = std::fs::remove_file(&wav);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_announcement_file_stops_the_server_at_start() {
    let dir = std::env::temp_dir().join(format!("sb-bad-announcement-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("not-audio.wav");
    std::fs::write(&bad, b"this is not a wav file").unwrap();
    let config = dir.join("switchboard.toml");
    std::fs::write(
        &config,
        format!(
            "[calls]\nqueue_announcement = {:?}\n",
            bad.display().to_string()
        ),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("--config")
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.join("data"))
        .arg("--no-speech")
        .arg("--listen")
        .arg("127.0.0.1:0")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("queue_announcement"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
