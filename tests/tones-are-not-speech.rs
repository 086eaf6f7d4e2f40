//! Steady tones and hum are not speech: the voice detector may fire on them, but they never
//! reach the recogniser, so no invented word ("A", "you") appears in the transcript.

mod common;

use common::*;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tone_on_the_line_is_never_transcribed() {
    let server = Server::start_with_speech("").await;
    let (customer, mut agent_ws, _peer) = connected_call(&server, "alice").await;
    // 4 s of a 440 Hz tone, then silence so the utterance ends.
    let tone: Vec<i16> = (0..48_000 * 4)
        .map(|i| {
            ((i as f64 * 440.0 * 2.0 * std::f64::consts::PI / 48_000.0).sin() * 12_000.0) as i16
        })
        .chain(std::iter::repeat_n(0i16, 48_000 * 2))
        .collect();
    let _audio = customer.peer.start_pcm(tone, false).await;
    let seen = agent_ws.drain_for(Duration::from_secs(8)).await;
    let texts: Vec<&serde_json::Value> = seen
        .iter()
        .filter(|v| v["type"] == "transcript" && v["text"] != "")
        .collect();
    assert!(texts.is_empty(), "a tone was transcribed: {texts:?}");
    let non_speech = server.metric("switchboard_speech_non_speech_total").await;
    let decoded = server
        .metric("switchboard_asr_real_time_factor_count")
        .await;
    assert!(
        non_speech >= 1.0,
        "the tone never looked like speech to the detector: nothing was tested"
    );
    assert_eq!(decoded, 0.0, "the recogniser ran on a tone");
}
