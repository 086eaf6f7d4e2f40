//! Emotion: clearly angry speech (words and voice) is told apart from calm speech, an agitated
//! voice alone raises arousal, and a customer who stays negative on a live call raises an alert
//! for supervisors.

mod common;

use common::*;
use serde_json::Value;
use std::process::Command;
use std::time::Duration;

/// Synthesise `text` with espeak-ng voice settings and run `switchboard transcribe` on it.
fn say_and_score(text: &str, speed: &str, amplitude: &str, pitch: &str) -> Vec<Value> {
    let dir = std::env::temp_dir().join(format!("sb-emo-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let wav = dir.join("x.wav");
    let st = Command::new("espeak-ng")
        .args([
            "-v", "en-us", "-s", speed, "-a", amplitude, "-p", pitch, "-w",
        ])
        .arg(&wav)
        .arg(text)
        .status()
        .expect("espeak-ng must be installed (make test installs it)");
    assert!(st.success());
    let out = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("transcribe")
        .arg(&wav)
        .arg("--model")
        .arg(model_path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn f(v: &Value, k: &str) -> f64 {
    v[k].as_f64().unwrap()
}

#[test]
fn angry_words_and_voice_versus_calm() {
    let angry = say_and_score(
        "This is ridiculous! I have been waiting for an hour and nobody helps me. I am furious!",
        "175",
        "200",
        "75",
    );
    let calm = say_and_score(
        "Thank you, that sounds good. I really appreciate your help.",
        "120",
        "40",
        "35",
    );
    eprintln!("angry: {angry:?}\ncalm: {calm:?}");
    assert_eq!(angry.len(), 1);
    assert_eq!(calm.len(), 1);
    let (a, c) = (&angry[0], &calm[0]);
    assert!(
        ["angry", "frustrated"].contains(&a["emotion"].as_str().unwrap()),
        "{a}"
    );
    assert!(
        ["positive", "neutral"].contains(&c["emotion"].as_str().unwrap()),
        "{c}"
    );
    assert!(f(a, "valence") < -0.3 && f(c, "valence") > 0.3, "{a} {c}");
    assert!(f(a, "arousal") > f(c, "arousal") + 0.2, "{a} {c}");
}

#[test]
fn clear_anger_said_loudly_is_angry_not_frustrated() {
    // The sentence from the issue, shouted, and a complaint said in a level voice.
    let angry = say_and_score(
        "I am very angry. This is the worst service ever.",
        "165",
        "190",
        "70",
    );
    let fed_up = say_and_score(
        "This is the third time I have called and it is still not fixed.",
        "140",
        "70",
        "45",
    );
    eprintln!("angry: {angry:?}\nfed up: {fed_up:?}");
    let label = |v: &[Value]| {
        v.iter()
            .map(|u| u["emotion"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert!(label(&angry).iter().all(|l| l == "angry"), "{angry:?}");
    assert!(
        label(&fed_up).iter().all(|l| l == "frustrated"),
        "a complaint in a level voice is frustrated: {fed_up:?}"
    );
}

#[test]
fn an_agitated_voice_alone_raises_arousal() {
    let text = "I want to talk about my account.";
    let shouted = say_and_score(text, "180", "200", "80");
    let spoken = say_and_score(text, "120", "40", "30");
    eprintln!("shouted: {shouted:?}\nspoken: {spoken:?}");
    let (s, q) = (&shouted[0], &spoken[0]);
    assert!(f(s, "arousal") > f(q, "arousal") + 0.15, "{s} {q}");
    assert!(f(s, "valence") <= f(q, "valence"), "{s} {q}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_who_stays_negative_alerts_supervisors() {
    let server = Server::start_with_speech("[speech]\nalert_after = 2\n").await;
    let mut sup = Ws::connect(&server).await;
    sup.login("sam").await;
    let (customer, _agent, _agent_peer) = connected_call(&server, "alice").await;
    let mut speech = vec![0i16; 48 * 500];
    for s in [
        "This is ridiculous, I am furious with your terrible service!",
        "I hate this, it is the worst experience I ever had!",
    ] {
        speech.extend(espeak_48k(s, &["-a", "200", "-p", "75"]));
        speech.extend(vec![0i16; 48 * 1500]);
    }
    let audio = customer.peer.start_pcm(speech, false).await;
    let alert = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let m = sup.next_json().await;
            if let Some(m) = m {
                if m["type"] == "sentiment_alert" {
                    return m;
                }
            }
        }
    })
    .await
    .expect("a sentiment alert within 60 s");
    audio.abort();
    assert_eq!(alert["call_id"], customer.call_id.as_str());
    assert_eq!(alert["agent"], "alice");
    assert_eq!(alert["negative_utterances"], 2);
    assert!(alert["trend"].as_f64().unwrap() < -0.2, "{alert}");
    assert!(!alert["last_text"].as_str().unwrap().is_empty());
    let dash = sup
        .wait_for("dashboard with a negative sentiment", |m| {
            m["type"] == "dashboard"
                && m["calls"].as_array().is_some_and(|c| {
                    c.iter()
                        .any(|c| c["sentiment"]["negative_run"].as_u64() >= Some(2))
                })
        })
        .await;
    let label = dash["calls"][0]["sentiment"]["label"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(["angry", "frustrated"].contains(&label.as_str()), "{dash}");
}
