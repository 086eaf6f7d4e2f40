//! A customer's page that reloads mid-contact comes back to it: the old page's connection
//! goes away (close 1001) and its peer connection closes, the call goes on for the agent, the
//! new page resumes the session and `rejoin`s with a new peer connection that replaces the old
//! one (audio both ways, the customer still transcribed), a chat gets its conversation back,
//! and a page that does not come back ends the call as a disconnect. Rejoins that do not fit
//! are refused and change nothing.

mod common;

use common::*;
use serde_json::{json, Value};
use std::time::Duration;

const CONFIG: &str = r#"
[session]
idle_timeout_ms = 0
resume_grace_ms = 8000
"#;

/// The page goes away as a reload does: its WebSocket closes with 1001 and its peer
/// connection closes (DTLS close_notify).
async fn reload(customer: Customer) -> (Value, String) {
    let resume = customer.ws.resume_request();
    let Customer { ws, peer, call_id } = customer;
    ws.close_going_away().await;
    peer.close().await;
    (resume, call_id)
}

/// The agent was told nothing that ends or moves the call.
fn undisturbed(msgs: &[Value]) -> bool {
    !msgs.iter().any(|m| {
        (m["type"] == "call_state" && m["state"] == "ended")
            || m["type"] == "agent_lost"
            || m["type"] == "offer_withdrawn"
    })
}

/// `text` said by espeak-ng (48 kHz), with a short pause before and a long one after.
fn spoken(text: &str) -> Vec<i16> {
    let mut pcm = vec![0i16; 300 * 48];
    pcm.extend(espeak_48k(text, &[]));
    pcm.extend(vec![0i16; 1500 * 48]);
    pcm
}

/// The new page: a new connection resumes the session.
async fn resumed(server: &Server, resume: Value) -> Ws {
    let mut ws = Ws::connect(server).await;
    ws.request(resume).await;
    let r = ws.expect("resumed").await;
    assert_eq!(r["role"], "customer", "{r}");
    ws
}

/// It rejoins the voice call with `peer`, new; returns it once its media is up.
async fn rejoin_voice(ws: &mut Ws, call_id: &str, mut peer: Peer) -> Peer {
    let sdp = peer.offer().await;
    let id = ws
        .request(json!({"type":"rejoin","call_id":call_id,"sdp":sdp}))
        .await;
    let answer = ws.expect("answer").await;
    assert_eq!(answer["re"], id, "the answer names its request: {answer}");
    assert_eq!(answer["call_id"], call_id, "{answer}");
    peer.apply_answer(&answer).await;
    peer.wait_connected().await;
    peer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reloaded_page_rejoins_the_call_and_audio_flows_both_ways() {
    let server = Server::start(CONFIG).await;
    let (mut customer, mut agent, agent_peer) = connected_call(&server, "alice").await;
    let tone = customer.peer.start_tone(300.0).await;
    agent_peer.wait_tone(0, 300.0).await;
    agent
        .request(json!({"type":"chat","call_id":customer.call_id,"text":"Let me look that up."}))
        .await;
    customer.ws.chat_from("agent").await;

    let (resume, call_id) = reload(customer).await;
    tone.abort();
    // The agent's call goes on while the page reloads.
    let meanwhile = agent.drain_for(Duration::from_secs(3)).await;
    assert!(undisturbed(&meanwhile), "the agent was told: {meanwhile:?}");
    assert!(
        meanwhile
            .iter()
            .any(|m| m["type"] == "peer_connection" && m["connected"] == false),
        "the agent hears why the customer went quiet: {meanwhile:?}"
    );
    assert_eq!(server.metric("switchboard_active_calls").await, 1.0);
    server
        .wait_metric("switchboard_peer_connections", 1.0)
        .await;

    let mut ws = resumed(&server, resume).await;
    let peer = rejoin_voice(&mut ws, &call_id, Peer::new(Layout::Talker).await).await;
    let state = ws.wait_call_state("connected").await;
    assert_eq!(state["call_id"], call_id.as_str(), "{state}");
    let line = ws.chat_from("agent").await;
    assert_eq!(
        line["text"], "Let me look that up.",
        "the chat so far comes again"
    );
    let back = agent.expect("peer_connection").await;
    assert_eq!(back["connected"], true, "{back}");
    assert_eq!(back["role"], "customer", "{back}");

    // Both ways on the new connection: the agent's slot now carries the new page's audio.
    let _mic = peer.start_tone(500.0).await;
    agent_peer.wait_tone(0, 500.0).await;
    let _agent_mic = agent_peer.start_tone(700.0).await;
    peer.wait_tone(0, 700.0).await;
    server
        .wait_metric("switchboard_peer_connections", 2.0)
        .await;
    let meanwhile = agent.drain_for(Duration::from_millis(200)).await;
    assert!(undisturbed(&meanwhile), "the agent was told: {meanwhile:?}");

    // It is the customer's call: a hang-up from the new page ends it.
    ws.request(json!({"type":"hang_up","call_id":call_id}))
        .await;
    let ended = agent.wait_call_state("ended").await;
    assert_eq!(ended["reason"], "customer_hung_up", "{ended}");
    server.wait_metric("switchboard_rooms", 0.0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rejoined_customer_is_still_transcribed() {
    let server = Server::start_with_speech(CONFIG).await;
    let (customer, mut agent, _agent_peer) = connected_call(&server, "alice").await;
    let first = customer
        .peer
        .start_pcm(spoken("I am calling about my broken router."), false)
        .await;
    let said = agent
        .wait_for("the customer's first final", |v: &Value| {
            v["type"] == "transcript" && v["speaker"] == "customer" && v["final"] == true
        })
        .await;
    first.abort();
    let old_next = customer.peer.rtp_next();

    let (resume, call_id) = reload(customer).await;
    let mut ws = resumed(&server, resume).await;
    let peer = Peer::new(Layout::Talker).await;
    // The new page's stream starts behind the old one's (a new stream starts anywhere).
    peer.start_rtp_at(old_next.0.wrapping_sub(5000), old_next.1);
    let peer = rejoin_voice(&mut ws, &call_id, peer).await;

    let _second = peer
        .start_pcm(spoken("The light on the front keeps blinking red."), false)
        .await;
    let first_id = said["utterance_id"].clone();
    let heard = agent
        .wait_for("a final from the new connection", |v: &Value| {
            v["type"] == "transcript"
                && v["speaker"] == "customer"
                && v["final"] == true
                && v["utterance_id"] != first_id
                && !v["text"].as_str().unwrap_or("").trim().is_empty()
        })
        .await;
    let text = heard["text"].as_str().unwrap().to_lowercase();
    assert!(
        ["light", "front", "blink", "red"]
            .iter()
            .any(|w| text.contains(w)),
        "the new connection's words: {heard}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reloaded_chat_gets_its_conversation_back() {
    let server = Server::start(CONFIG).await;
    let (mut customer, call_id, mut agent) = connected_chat(&server, "alice", "Ann").await;
    customer
        .request(json!({"type":"chat","call_id":call_id,"text":"My parcel has not arrived."}))
        .await;
    customer.chat_from("customer").await;
    agent
        .request(json!({"type":"chat","call_id":call_id,"text":"Which order number is it?"}))
        .await;
    customer.chat_from("agent").await;

    let resume = customer.resume_request();
    customer.close_going_away().await;
    let mut ws = resumed(&server, resume).await;
    let id = ws.request(json!({"type":"rejoin","call_id":call_id})).await;
    let state = ws
        .wait_for("the rejoin's call_state", |v| {
            v["type"] == "call_state" && v["re"] == id
        })
        .await;
    assert_eq!(state["state"], "connected", "{state}");
    let mine = ws.chat_from("customer").await;
    assert_eq!(mine["text"], "My parcel has not arrived.");
    let theirs = ws.chat_from("agent").await;
    assert_eq!(theirs["text"], "Which order number is it?");
    assert!(
        mine["at_ms"].as_u64() <= theirs["at_ms"].as_u64(),
        "in the order written"
    );
    // The chat goes on from the new page.
    ws.request(json!({"type":"chat","call_id":call_id,"text":"It is 4417."}))
        .await;
    agent
        .wait_for("the new page's line", |v| {
            v["type"] == "chat" && v["from"] == "customer" && v["text"] == "It is 4417."
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejoins_that_do_not_fit_are_refused_and_change_nothing() {
    let server = Server::start(CONFIG).await;
    let (mut customer, mut agent, agent_peer) = connected_call(&server, "alice").await;
    let call_id = customer.call_id.clone();
    let _tone = customer.peer.start_tone(300.0).await;
    agent_peer.wait_tone(0, 300.0).await;
    let offer = Peer::new(Layout::Talker).await.offer().await;

    // Someone else's session: a stranger, another customer, the agent.
    let mut stranger = Ws::connect(&server).await;
    stranger
        .request(json!({"type":"rejoin","call_id":call_id,"sdp":offer}))
        .await;
    stranger.expect_error("not_found").await;
    let mut other = Ws::connect(&server).await;
    let other_call = other.start_chat("Bea", None).await;
    other
        .request(json!({"type":"rejoin","call_id":call_id,"sdp":offer}))
        .await;
    other.expect_error("not_found").await;
    agent
        .request(json!({"type":"rejoin","call_id":call_id,"sdp":offer}))
        .await;
    agent.expect_error("forbidden").await;
    // The customer's own: a voice call without an offer, a bad offer, a chat with an offer.
    customer
        .ws
        .request(json!({"type":"rejoin","call_id":call_id}))
        .await;
    let e = customer.ws.expect_error("bad_message").await;
    assert!(e["message"].as_str().unwrap().contains("SDP"), "{e}");
    customer
        .ws
        .request(json!({"type":"rejoin","call_id":call_id,"sdp":"v=0 nonsense"}))
        .await;
    customer.ws.expect_error("bad_sdp").await;
    other
        .request(json!({"type":"rejoin","call_id":other_call,"sdp":offer}))
        .await;
    other.expect_error("bad_message").await;

    // Nothing changed: the first connection still carries the call.
    let before = agent_peer.total_packets();
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(
        agent_peer.total_packets() > before + 20,
        "the customer's audio stopped"
    );
    assert_eq!(server.metric("switchboard_peer_connections").await, 2.0);
    let meanwhile = agent.drain_for(Duration::from_millis(200)).await;
    assert!(undisturbed(&meanwhile), "the agent was told: {meanwhile:?}");

    // An ended call is not rejoined.
    customer
        .ws
        .request(json!({"type":"hang_up","call_id":call_id}))
        .await;
    agent.wait_call_state("ended").await;
    customer
        .ws
        .request(json!({"type":"rejoin","call_id":call_id,"sdp":offer}))
        .await;
    customer.ws.expect_error("not_found").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_that_does_not_come_back_ends_the_call_as_a_disconnect() {
    let server = Server::start(&CONFIG.replace("8000", "1500")).await;
    let (customer, mut agent, _agent_peer) = connected_call(&server, "alice").await;
    let (_resume, _) = reload(customer).await;
    let ended = agent.wait_call_state("ended").await;
    assert_eq!(ended["reason"], "customer_disconnected", "{ended}");
    server.wait_metric("switchboard_rooms", 0.0).await;
    server
        .wait_metric("switchboard_peer_connections", 0.0)
        .await;
}
