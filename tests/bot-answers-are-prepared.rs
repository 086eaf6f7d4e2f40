//! What the bot says word for word (its fixed lines, the first phrase of every
//! knowledge-base answer) is synthesised before anyone asks, kept on disk, read back after a
//! restart instead of synthesised again, and follows the knowledge base when a supervisor
//! edits it: a new answer is made ready, a removed one's audio goes.

mod common;

use common::*;
use serde_json::json;
use std::path::Path;
use std::time::{Duration, Instant};

async fn prepared(server: &Server) -> (f64, f64) {
    (
        server
            .metric("switchboard_bot_prepared_phrases_total{source=\"synthesised\"}")
            .await,
        server
            .metric("switchboard_bot_prepared_phrases_total{source=\"disk\"}")
            .await,
    )
}

/// Waits until the server says its preparation is done (it may take long at the lowest CPU
/// priority on a busy machine), then what it prepared.
async fn settled(server: &Server) -> (f64, f64) {
    let deadline = Instant::now() + Duration::from_secs(300);
    while server.metric("switchboard_bot_voice_preparing").await != 0.0 {
        assert!(
            Instant::now() < deadline,
            "preparation never ended: {:?}",
            prepared(server).await
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    prepared(server).await
}

fn cached_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    v.retain(|p| p.extension().is_some_and(|x| x == "pcm"));
    v.sort();
    v
}

#[tokio::test]
async fn answers_are_ready_before_anyone_asks_and_survive_a_restart() {
    let mut server = Server::start(
        "[bot.voice]\nprepare = true\n\n[[entry_points]]\nname = \"phone\"\nbot = true\nlanguage = \"en\"\n",
    )
    .await;
    let cache = server.data_dir.join("voice-cache");
    let (made, read) = settled(&server).await;
    let files = cached_files(&cache);
    // The demo's English knowledge base has 25 answers; with the bot's fixed lines and the
    // whole greeting, at least that many distinct phrases.
    assert!(made >= 25.0, "synthesised {made}");
    assert_eq!(read, 0.0, "nothing on disk at the first start");
    assert_eq!(
        files.len() as f64,
        made,
        "each prepared phrase is kept on disk"
    );
    let bytes: u64 = files
        .iter()
        .map(|f| std::fs::metadata(f).unwrap().len())
        .sum();
    println!(
        "{made} phrases prepared, {:.1} s of speech, {:.2} MiB",
        bytes as f64 / 48_000.0,
        bytes as f64 / 1_048_576.0
    );
    for f in &files {
        let len = std::fs::metadata(f).unwrap().len();
        // 16-bit samples at 24 kHz: even, and more than a tenth of a second of speech.
        assert!(
            len % 2 == 0 && len > 4_800,
            "{} is {len} bytes",
            f.display()
        );
    }

    // A restart reads them back; nothing is synthesised again.
    server.kill9_and_restart().await;
    let (made2, read2) = settled(&server).await;
    assert_eq!(made2, 0.0, "synthesised again after a restart");
    assert_eq!(read2, made, "read back from disk");

    // A supervisor adds an answer: its first phrase is made ready (and only it).
    let http = reqwest::Client::new();
    let base = format!("http://{}/api/kb", server.addr);
    let entry = json!({"id":"stores-pets","language":"en","question":"Are pets allowed in your stores?",
        "answer":"Dogs are welcome in every Northwind store. Please keep them on a lead.",
        "keywords":["dog","pets"],"category":"stores"});
    let r = http
        .put(&base)
        .basic_auth("sam", Some("demo"))
        .body(entry.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    // The edit started a preparation before it was answered: wait for it to end.
    let (made3, _) = settled(&server).await;
    assert_eq!(made3, 1.0, "only the new answer's first phrase");
    let with_new = cached_files(&cache);
    assert_eq!(with_new.len(), files.len() + 1);

    // Removing it takes its audio off the disk.
    let r = http
        .delete(format!("{base}/en/stores-pets"))
        .basic_auth("sam", Some("demo"))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let deadline = Instant::now() + Duration::from_secs(30);
    while cached_files(&cache) != files {
        assert!(
            Instant::now() < deadline,
            "the removed answer's audio is still cached"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
