//! Skills-based routing with real peers: a call goes to the most proficient agent with its
//! queue's skill (not the longest idle one without it), widens to lower proficiency after its
//! overflow step, an unknown queue is refused, and a VIP the site signed goes ahead in the
//! queue while a forged one is refused.

mod common;
use common::*;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const CONFIG: &str = r#"
[auth]
caller_signing_key = "site-secret"

[[center.queues]]
name = "billing"
min_proficiency = 3
overflow = [{ after_s = 2, min_proficiency = 1 }]

[[center.queues]]
name = "technical"
"#;

/// A customer's call into `queue` with `metadata`; the start_call reply (answer or error).
async fn call_into(server: &Server, queue: &str, metadata: Value) -> (Ws, Peer, Value) {
    let mut ws = Ws::connect(server).await;
    let mut peer = Peer::new(Layout::Talker).await;
    let sdp = peer.offer().await;
    ws.request(json!({"type":"start_call","sdp":sdp,"queue":queue,
        "caller":{"name":"Caller","metadata":metadata}}))
        .await;
    let reply = ws
        .wait_for("answer or error", |v| {
            v["type"] == "answer" || v["type"] == "error"
        })
        .await;
    if reply["type"] == "answer" {
        peer.apply_answer(&reply).await;
    }
    (ws, peer, reply)
}

/// What the embedding site's server computes: HMAC-SHA256 over `key=value\n`, keys sorted.
fn sign(metadata: &Value) -> String {
    let mut pairs: Vec<(&String, &Value)> = metadata.as_object().unwrap().iter().collect();
    pairs.sort_by_key(|(k, _)| k.as_bytes());
    let mut text = String::new();
    for (k, v) in pairs {
        text.push_str(&format!("{k}={}\n", v.as_str().unwrap()));
    }
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"site-secret").unwrap();
    mac.update(text.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_go_to_the_best_skilled_agent_and_widen_as_they_wait() {
    let server = Server::start(CONFIG).await;
    server.add_agent_with_skills("novice", &["billing=2"]);
    server.add_agent_with_skills("expert", &["billing=5"]);
    server.add_agent_with_skills("techie", &["technical=4"]);
    // The novice has been available longest, yet the expert is offered the billing call.
    let mut novice = agent_available(&server, "novice").await;
    let mut techie = agent_available(&server, "techie").await;
    let mut expert = agent_available(&server, "expert").await;

    let (mut c1, _p1, a1) = call_into(&server, "billing", json!({})).await;
    let offer = expert.expect("call_offered").await;
    assert_eq!(offer["call_id"], a1["call_id"]);
    assert_eq!(offer["queue"], "billing");
    let _expert_peer = agent_accepts(&mut expert, a1["call_id"].as_str().unwrap()).await;
    c1.wait_call_state("connected").await;

    let (_c2, _p2, a2) = call_into(&server, "technical", json!({})).await;
    let offer = techie.expect("call_offered").await;
    assert_eq!(offer["call_id"], a2["call_id"]);

    // The expert is busy: the next billing call waits for the novice (proficiency 2) until
    // its 2 s overflow step lets proficiency 1 and up take it.
    let started = Instant::now();
    let (mut c3, _p3, a3) = call_into(&server, "billing", json!({})).await;
    c3.wait_call_state("queued").await;
    let offer = novice.expect("call_offered").await;
    assert_eq!(offer["call_id"], a3["call_id"]);
    let waited = started.elapsed();
    println!("widened after {waited:?}");
    assert!(
        waited >= Duration::from_millis(1900),
        "offered after {waited:?}"
    );

    // A queue that does not exist is refused, and nothing is created.
    let (_c4, _p4, e) = call_into(&server, "sales", json!({})).await;
    assert_eq!(e["code"], "bad_message", "{e}");
    assert!(e["message"].as_str().unwrap().contains("unknown queue"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_vip_goes_ahead_and_a_forged_one_is_refused() {
    let server = Server::start(CONFIG).await;
    // A billing agent is logged in but away: calls wait.
    server.add_agent_with_skills("bea", &["billing=3"]);
    let mut bea = Ws::connect(&server).await;
    bea.login("bea").await;
    let (mut plain, _p1, _) = call_into(&server, "billing", json!({"account":"A-1"})).await;
    let q = plain.wait_call_state("queued").await;
    assert_eq!(q["position"], 1);

    let mut forged = json!({"account":"A-2","vip":"true"});
    forged["signature"] = json!(sign(&json!({"account":"A-2","vip":"false"})));
    let (_f, _pf, e) = call_into(&server, "billing", forged).await;
    assert_eq!(e["code"], "bad_message", "{e}");
    assert!(e["message"].as_str().unwrap().contains("signature"), "{e}");
    // Unsigned, "vip" is just a word: no priority.
    let (mut claimed, _pc, _) =
        call_into(&server, "billing", json!({"account":"A-3","vip":"true"})).await;
    let q = claimed.wait_call_state("queued").await;
    assert_eq!(q["position"], 2);

    let mut vip = json!({"account":"A-4","vip":"true"});
    vip["signature"] = json!(sign(&vip));
    let (mut vip_ws, _pv, _) = call_into(&server, "billing", vip).await;
    let q = vip_ws.wait_call_state("queued").await;
    assert_eq!(q["position"], 1, "{q}");
    // The others are told they moved back.
    let moved = plain
        .wait_for("position 2", |v| {
            v["type"] == "call_state" && v["position"] == 2
        })
        .await;
    assert_eq!(moved["state"], "queued");
}
