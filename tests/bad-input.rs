//! Malformed frames, bad SDP and actions in the wrong state get a structured error for that
//! client only; the server and other calls carry on.

mod common;
use common::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_without_side_effects() {
    let server = Server::start("").await;
    let (customer, mut agent, agent_peer) = connected_call(&server, "alice").await;
    let _tone = customer.peer.start_tone(600.0).await;
    agent_peer.wait_tone(0, 600.0).await;

    let mut c = Ws::connect(&server).await;
    c.send_raw("{not json".into()).await;
    c.expect_error("bad_json").await;
    c.send_raw("[1,2,3]".into()).await;
    c.expect_error("bad_json").await;
    c.send_raw(r#"{"type":"teleport","id":"x1"}"#.into()).await;
    let e = c.expect_error("unknown_type").await;
    assert_eq!(e["re"], "x1");
    c.send_raw(r#"{"id":5}"#.into()).await;
    c.expect_error("unknown_type").await;
    c.send_raw(r#"{"type":"start_call","id":6}"#.into()).await;
    let e = c.expect_error("bad_message").await;
    assert_eq!(e["re"], 6);
    c.send_raw(r#"{"type":"mute","call_id":"x","muted":"yes"}"#.into())
        .await;
    c.expect_error("bad_message").await;
    c.send_raw(format!(
        r#"{{"type":"ping","pad":"{}"}}"#,
        "x".repeat(100_000)
    ))
    .await;
    c.expect_error("too_large").await;

    // Invalid SDP: no call is created.
    c.request(json!({"type":"start_call","sdp":"this is not sdp"}))
        .await;
    c.expect_error("bad_sdp").await;
    c.request(json!({"type":"start_call","sdp":"v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n"})).await;
    c.expect_error("bad_sdp").await;
    assert_eq!(server.metric("switchboard_active_calls").await, 1.0);
    assert_eq!(server.metric("switchboard_rooms").await, 1.0);
    // The same session can still make a real call afterwards.
    c.send(json!({"type":"ping"})).await;
    c.expect("pong").await;

    // Wrong state: accepting twice, a bogus ICE candidate, listening to an ended call.
    agent
        .request(json!({"type":"accept","call_id":customer.call_id,"sdp":"v=0"}))
        .await;
    agent.expect_error("wrong_state").await;
    agent
        .request(json!({"type":"ice_candidate","peer_id":"nope","candidate":{"candidate":"candidate:1 1 udp 1 1.2.3.4 5 typ host"}}))
        .await;
    agent.expect_error("not_found").await;
    let mut sup = Ws::connect(&server).await;
    sup.login("sam").await;
    sup.request(json!({"type":"listen","call_id":"ended-or-never-was","sdp":"v=0"}))
        .await;
    sup.expect_error("not_found").await;
    sup.request(json!({"type":"stop_listening","call_id":customer.call_id}))
        .await;
    sup.expect_error("wrong_state").await;
    sup.request(json!({"type":"login","username":"sam","password":"demo"}))
        .await;
    sup.expect_error("wrong_state").await;

    // The original call never noticed.
    assert!(customer.peer.connected());
    agent_peer.wait_tone(0, 600.0).await;
    assert_eq!(
        server
            .metric("switchboard_calls{state=\"connected\"}")
            .await,
        1.0
    );
}
