//! No leaked speech work: a burst of talking calls ends, and within about a second no speech
//! stream and no queued recognition job of theirs is left; a new call then gets its finals.
//! Before, 16-18 jobs stayed queued with 13 streams alive and a new call got nothing for 90 s.

mod common;

use common::*;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn speech_work_ends_with_the_calls() {
    let server = Server::start_logged(
        "[speech]\nworkers = 1\n",
        true,
        "info,webrtc=warn,rtc=error,rtc_ice=error,rtc_dtls=error,rtc_srtp=error",
    )
    .await;
    let agents = ["alice", "bob", "carol", "dave", "erin", "fred"];
    for a in &agents[2..] {
        server.add_agent(a);
    }
    let speech = librivox_48k(700);

    let mut calls = vec![];
    for (i, a) in agents.iter().enumerate() {
        let (customer, agent_ws, agent_peer) = connected_call(&server, a).await;
        let offset = i * speech.len() / agents.len();
        let mut rotated = speech[offset..].to_vec();
        rotated.extend_from_slice(&speech[..offset]);
        let audio = customer.peer.start_pcm(rotated, true).await;
        calls.push((customer, agent_ws, agent_peer, audio));
    }
    // One worker for six talkers: the recogniser is behind when the calls end.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let depth = server.metric("switchboard_asr_queue_depth").await;
    let streams = server.metric("switchboard_speech_streams").await;
    assert!(streams >= 12.0, "{streams} streams for 6 calls");
    for (mut customer, ..) in calls.drain(..) {
        customer
            .ws
            .request(serde_json::json!({"type":"hang_up","call_id":customer.call_id}))
            .await;
    }
    let t0 = Instant::now();
    // Gone within the grace (1 s) plus one running decoding.
    let deadline = t0 + Duration::from_secs(4);
    loop {
        let s = server.metric("switchboard_speech_streams").await;
        let q = server.metric("switchboard_asr_queue_depth").await;
        if s == 0.0 && q == 0.0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{s} streams and {q} queued jobs left {:?} after the calls ended (depth was {depth})",
            t0.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!(
        "queue depth at hang-up {depth}; streams and jobs gone after {:?}",
        t0.elapsed()
    );

    // A new call's speech is transcribed at once.
    let (customer, mut agent_ws, _peer) = connected_call(&server, "alice").await;
    let _a = customer.peer.start_pcm(speech.clone(), true).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let v = agent_ws.next_json().await;
        if let Some(v) = v {
            if v["type"] == "transcript" && v["final"] == true && v["text"] != "" {
                // What callers say is personal data: in the transcript, never in the log.
                let said = v["text"].as_str().unwrap().to_string();
                assert!(!server.log().contains(&said), "the log holds what was said");
                break;
            }
        }
        assert!(Instant::now() < deadline, "no final for a new call");
    }
}
