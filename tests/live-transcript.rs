//! A live call is transcribed: a programmatic WebRTC customer speaks espeak-ng sentences, the
//! agent speaks one too, and the agent receives partial and final transcript events with
//! emotion for both sides; a supervisor who opens the transcript gets its history and live
//! events; the REST endpoint returns the stored transcript to authorised readers only.

mod common;

use common::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const CUSTOMER: [&str; 3] = [
    "I would like to check the status of my order.",
    "My internet connection keeps dropping every evening.",
    "Can you help me reset my password please?",
];
const AGENT: &str = "Sure, I can help you with that today.";

fn gap(ms: usize) -> Vec<i16> {
    vec![0; ms * 48]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_call_is_transcribed_for_the_agent_and_supervisor() {
    let server = Server::start_with_speech("").await;
    let (mut customer, mut agent, agent_peer) = connected_call(&server, "alice").await;
    let mut sup = Ws::connect(&server).await;
    sup.login("sam").await;

    // The customer says three sentences with pauses; then the agent answers.
    let mut speech = gap(500);
    for s in CUSTOMER {
        speech.extend(espeak_48k(s, &[]));
        speech.extend(gap(1500));
    }
    let customer_audio = customer.peer.start_pcm(speech, false).await;
    let mut agent_speech = gap(500);
    agent_speech.extend(espeak_48k(AGENT, &[]));

    // The supervisor opens the call's transcript: history (maybe empty) first.
    sup.request(json!({"type":"watch_transcript","call_id":customer.call_id}))
        .await;
    let history = sup.expect("transcript_history").await;
    assert_eq!(history["call_id"], customer.call_id.as_str());

    let mut finals: Vec<Value> = vec![];
    let mut partials = 0;
    let mut emotions: Vec<Value> = vec![];
    let mut agent_audio = None;
    let deadline = Instant::now() + Duration::from_secs(90);
    while Instant::now() < deadline {
        let Ok(Some(m)) = tokio::time::timeout(Duration::from_secs(1), agent.next_json()).await
        else {
            continue;
        };
        match m["type"].as_str() {
            Some("transcript") => {
                assert_eq!(m["call_id"], customer.call_id.as_str());
                if m["final"] == true {
                    if !m["text"].as_str().unwrap_or("").is_empty() {
                        finals.push(m);
                    }
                } else {
                    partials += 1;
                }
            }
            Some("emotion") => emotions.push(m),
            _ => {}
        }
        let customer_finals = finals.iter().filter(|f| f["speaker"] == "customer").count();
        if customer_finals >= 3 && agent_audio.is_none() {
            agent_audio = Some(agent_peer.start_pcm(agent_speech.clone(), false).await);
        }
        if finals.iter().any(|f| f["speaker"] == "agent")
            && emotions.iter().any(|e| e["speaker"] == "agent")
        {
            break;
        }
    }
    customer_audio.abort();

    let said: Vec<&str> = finals
        .iter()
        .filter(|f| f["speaker"] == "customer")
        .map(|f| f["text"].as_str().unwrap())
        .collect();
    eprintln!("customer finals: {said:?}; partials: {partials}");
    let hyp = said.join(" ");
    let reference = CUSTOMER.join(" ");
    let w = wer(&reference, &hyp);
    assert!(w <= 0.25, "customer WER {w:.2}: {hyp:?}");
    for key in ["order", "internet", "password"] {
        assert!(
            words(&hyp).contains(&key.to_string()),
            "{key} missing: {hyp}"
        );
    }
    assert!(
        partials >= 1,
        "partial hypotheses arrive while the customer talks"
    );

    let agent_said: Vec<&str> = finals
        .iter()
        .filter(|f| f["speaker"] == "agent")
        .map(|f| f["text"].as_str().unwrap())
        .collect();
    assert!(
        wer(AGENT, &agent_said.join(" ")) <= 0.34,
        "agent: {agent_said:?}"
    );

    // Times are in call time and ordered; every final has an emotion.
    for f in &finals {
        let (s, e) = (
            f["start_ms"].as_u64().unwrap(),
            f["end_ms"].as_u64().unwrap(),
        );
        assert!(s < e && e - s < 10_000, "{f}");
        let id = &f["utterance_id"];
        let em = emotions
            .iter()
            .find(|e| &e["utterance_id"] == id)
            .unwrap_or_else(|| panic!("no emotion for {id}"));
        assert!(
            ["neutral", "positive", "frustrated", "angry"].contains(&em["label"].as_str().unwrap())
        );
        let v = em["valence"].as_f64().unwrap();
        assert!((-1.0..=1.0).contains(&v));
    }

    // The supervisor watching got the same finals.
    let sup_msgs = sup.drain_for(Duration::from_millis(500)).await;
    let sup_finals = sup_msgs
        .iter()
        .filter(|m| m["type"] == "transcript" && m["final"] == true)
        .count();
    assert!(
        sup_finals >= finals.len(),
        "supervisor got {sup_finals} finals"
    );
    // ... and the dashboard shows the customer's sentiment.
    let dash = sup
        .wait_for("dashboard with sentiment", |m| {
            m["type"] == "dashboard"
                && m["calls"]
                    .as_array()
                    .is_some_and(|c| c.iter().any(|c| c["sentiment"]["label"].is_string()))
        })
        .await;
    assert!(dash["calls"][0]["sentiment"]["trend"].is_number());

    // The transcript is stored with the call: REST, Basic auth, role checks.
    if let Some(a) = agent_audio {
        a.abort();
    }
    customer
        .ws
        .request(json!({"type":"hang_up","call_id":customer.call_id}))
        .await;
    server.wait_metric("switchboard_active_calls", 0.0).await;
    let url = format!(
        "http://{}/api/calls/{}/transcript",
        server.addr, customer.call_id
    );
    let http = reqwest::Client::new();
    let r = http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().contains_key("www-authenticate"));
    let r = http
        .get(&url)
        .basic_auth("sam", Some("nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = http
        .get(&url)
        .basic_auth("bob", Some("demo"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "bob did not take this call");
    let r = http
        .get(format!("http://{}/api/calls/nope/transcript", server.addr))
        .basic_auth("sam", Some("demo"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    for user in ["sam", "alice"] {
        let r = http
            .get(&url)
            .basic_auth(user, Some("demo"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let body: Value = r.json().await.unwrap();
        let stored = body["utterances"].as_array().unwrap();
        assert_eq!(stored.len(), finals.len(), "{user}: {body}");
        assert!(
            stored
                .iter()
                .all(|u| u["text"].as_str().is_some_and(|t| !t.is_empty())
                    && u["emotion"].is_string())
        );
    }
}
