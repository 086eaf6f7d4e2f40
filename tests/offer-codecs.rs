//! The answer offers exactly what the server forwards (Opus for audio), and an offer the
//! server cannot serve (audio without Opus) is refused with `bad_sdp` saying what is missing,
//! leaving no room or peer behind.

mod common;

use common::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_list_only_opus_and_offers_without_it_are_refused() {
    let server = Server::start("").await;

    // A normal offer (the client offers Opus, G722, PCMU, PCMA): the answer has Opus only.
    let mut ws = Ws::connect(&server).await;
    let peer = Peer::new(Layout::Talker).await;
    // As a browser does, offer G722, PCMU and PCMA besides Opus.
    let offer = with_legacy_codecs(&peer.offer().await);
    ws.request(json!({"type":"start_call","sdp":offer,"caller":{}}))
        .await;
    let answer = ws.expect("answer").await;
    let sdp = answer["sdp"].as_str().unwrap();
    let audio: Vec<&str> = sdp
        .lines()
        .skip_while(|l| !l.starts_with("m=audio"))
        .take_while(|l| !l.starts_with("m=video"))
        .collect();
    let m = audio[0];
    assert!(m.ends_with(" 111"), "audio m-line {m}");
    for codec in ["PCMU", "PCMA", "G722"] {
        assert!(!sdp.contains(codec), "answer lists {codec}:\n{sdp}");
    }
    assert!(sdp.to_lowercase().contains("opus/48000"));
    drop(ws);

    // The same offer without Opus (a PCMU-only client).
    let pcmu_only: String = with_legacy_codecs(&Peer::new(Layout::Talker).await.offer().await)
        .lines()
        .filter(|l| !l.contains(":111 ") && !l.contains(":111\r"))
        .map(|l| {
            if l.starts_with("m=audio") {
                l.replace(" 111 ", " ")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\r\n")
        + "\r\n";
    server.wait_metric("switchboard_rooms", 0.0).await;
    let mut ws = Ws::connect(&server).await;
    ws.request(json!({"type":"start_call","sdp":pcmu_only,"caller":{}}))
        .await;
    let e = ws.expect_error("bad_sdp").await;
    let msg = e["message"].as_str().unwrap();
    assert!(msg.contains("Opus") && msg.contains("PCMU"), "{msg}");
    // Nothing was created, and the session may try again with a good offer.
    assert_eq!(server.metric("switchboard_rooms").await, 0.0);
    assert_eq!(server.metric("switchboard_active_calls").await, 0.0);
    let good = Peer::new(Layout::Talker).await.offer().await;
    ws.request(json!({"type":"start_call","sdp":good,"caller":{}}))
        .await;
    ws.expect("answer").await;
}

fn with_legacy_codecs(offer: &str) -> String {
    let mut out = String::new();
    for line in offer.lines() {
        if line.starts_with("m=audio") {
            out.push_str(&format!("{line} 9 0 8\r\n"));
        } else if line.starts_with("a=rtpmap:111 ") {
            out.push_str(line);
            out.push_str(
                "\r\na=rtpmap:9 G722/8000\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n",
            );
        } else {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out
}
