//! A customer may choose the call's language; unknown codes and languages the server has no
//! model for are refused with `bad_message` and create no call.

mod common;

use common::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_language_is_checked() {
    // English-only deployment: tiny.en and no multilingual model.
    let server = Server::start_with_speech("").await;
    let mut ws = Ws::connect(&server).await;
    let peer = Peer::new(Layout::Talker).await;
    let sdp = peer.offer().await;
    for (lang, why) in [("klingon", "unknown language"), ("zh", "not available")] {
        ws.request(json!({"type":"start_call","sdp":sdp,"language":lang}))
            .await;
        let e = ws.expect_error("bad_message").await;
        assert!(e["message"].as_str().unwrap().contains(why), "{e}");
    }
    assert_eq!(server.metric("switchboard_active_calls").await, 0.0);
    ws.request(json!({"type":"start_call","sdp":sdp,"language":"en"}))
        .await;
    let answer = ws.expect("answer").await;
    assert!(answer["call_id"].is_string());
    assert_eq!(server.metric("switchboard_active_calls").await, 1.0);
    // Both speakers of the call are being transcribed.
    server.wait_metric("switchboard_speech_streams", 2.0).await;
}
