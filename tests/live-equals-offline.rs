//! Live equals offline: clips of the speech evaluation set (a conversation, numbers, a long
//! turn, a real recording) are spoken by a WebRTC customer through a real call, and the words
//! the agent receives score within one point of word error rate of `switchboard transcribe` on
//! the same files. Neither path may invent text.

mod common;

use common::*;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use switchboard::speech::eval::{self, Clip};

fn eval_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("eval/speech")
}

/// One English clip of each kind, gold references only.
fn chosen() -> Vec<Clip> {
    let clips = eval::load_manifests(&eval_dir()).expect("eval/speech manifests");
    let mut out = vec![];
    for group in ["conversational", "numbers", "long", "short"] {
        if let Some(c) = clips.iter().find(|c| {
            c.group == group && c.lang == "en" && c.quality == "gold" && !c.id.contains('~')
        }) {
            out.push(c.clone());
        }
    }
    if let Some(c) = clips.iter().find(|c| c.id == "jfk") {
        if !out.contains(c) {
            out.push(c.clone());
        }
    }
    out
}

fn offline(clip: &Clip) -> Vec<String> {
    transcribe_texts(&clip.audio_path(&eval_dir()), &clip.lang, None)
}

/// The customer plays `clip` into a fresh call; the customer's finals as the agent gets them.
async fn live(server: &Server, clip: &Clip, agent_user: &str) -> Vec<String> {
    let audio = switchboard::speech::wav::read_16k_mono(&clip.audio_path(&eval_dir())).unwrap();
    let pcm16: Vec<i16> = audio.iter().map(|s| (s * 32767.0) as i16).collect();
    let mut pcm = vec![0i16; 48 * 300];
    pcm.extend(resample_linear(&pcm16, 16_000, 48_000));
    let talk_ms = (pcm.len() / 48) as u64;

    let (customer, mut agent, agent_peer) = connected_call(server, agent_user).await;
    let sending = customer.peer.start_pcm(pcm, false).await;
    let started = Instant::now();
    let mut finals: Vec<(u64, String)> = vec![];
    let mut quiet_since = Instant::now();
    loop {
        let m = tokio::time::timeout(Duration::from_millis(500), agent.next_json()).await;
        if let Ok(Some(m)) = m {
            if m["type"] == "transcript" && m["final"] == true && m["speaker"] == "customer" {
                let text = m["text"].as_str().unwrap_or("").to_string();
                if !text.is_empty() {
                    finals.push((m["start_ms"].as_u64().unwrap_or(0), text));
                }
                quiet_since = Instant::now();
            }
        }
        let talked = started.elapsed() > Duration::from_millis(talk_ms + 1500);
        // Done when the clip has been played and no final came for a while.
        if talked && quiet_since.elapsed() > Duration::from_secs(4) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_millis(talk_ms + 60_000),
            "{}: finals still missing",
            clip.id
        );
    }
    sending.abort();
    customer.peer.close().await;
    agent_peer.close().await;
    customer.ws.close().await;
    agent.close().await;
    finals.sort_by_key(|f| f.0);
    finals.into_iter().map(|f| f.1).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_audio_gives_the_same_words_live_and_offline() {
    let clips = chosen();
    assert!(
        clips.len() >= 4,
        "need the evaluation set: run scripts/fetch-eval-speech.sh"
    );
    let server = Server::start_with_speech("").await;
    let (mut off_edits, mut live_edits, mut words) = (0usize, 0usize, 0usize);
    for (i, clip) in clips.iter().enumerate() {
        let off = offline(clip);
        // A fresh agent per call: the last one is in wrap-up.
        let agent = format!("eval{i}");
        server.add_agent(&agent);
        let on = live(&server, clip, &agent).await;
        assert_eq!(eval::invented(&off), None, "{} offline", clip.id);
        assert_eq!(eval::invented(&on), None, "{} live", clip.id);
        let (eo, n) = eval::score(&clip.reference, &off.join(" "), false);
        let (el, _) = eval::score(&clip.reference, &on.join(" "), false);
        eprintln!(
            "{}: offline {:.1}% {:?}\n{}: live    {:.1}% {:?}",
            clip.id,
            100.0 * eo as f64 / n as f64,
            off,
            clip.id,
            100.0 * el as f64 / n as f64,
            on
        );
        off_edits += eo;
        live_edits += el;
        words += n;
    }
    let (wo, wl) = (
        100.0 * off_edits as f64 / words as f64,
        100.0 * live_edits as f64 / words as f64,
    );
    eprintln!("WER offline {wo:.1}%, live {wl:.1}% over {words} words");
    assert!(
        (wl - wo).abs() <= 1.0,
        "live WER {wl:.1}% is more than one point from offline {wo:.1}%"
    );
}
