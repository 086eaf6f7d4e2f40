//! A server killed with SIGKILL mid-call and started again finds the call record closed
//! (`server_crash`), every final utterance stored before the kill still there, and the
//! database consistent (WAL journal, integrity check).

mod common;

use common::*;
use std::time::{Duration, Instant};

async fn transcript_len(server: &Server, call_id: &str) -> usize {
    let r = reqwest::Client::new()
        .get(format!(
            "http://{}/api/calls/{call_id}/transcript",
            server.addr
        ))
        .basic_auth("sam", Some("demo"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    v["utterances"].as_array().unwrap().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_leaves_consistent_closed_records() {
    let mut server = Server::start_with_speech("").await;
    let (customer, _agent, _agent_peer) = connected_call(&server, "alice").await;
    let speech = librivox_48k(800);
    let _audio = customer.peer.start_pcm(speech, true).await;

    // Wait for a few stored finals, then kill mid-sentence.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut stored = 0;
    while stored < 2 {
        assert!(Instant::now() < deadline, "no finals stored");
        tokio::time::sleep(Duration::from_millis(500)).await;
        stored = transcript_len(&server, &customer.call_id).await;
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    let before_kill = transcript_len(&server, &customer.call_id).await;
    server.kill9_and_restart().await;

    // Everything stored before the kill is still there.
    assert!(transcript_len(&server, &customer.call_id).await >= before_kill);
    let db = rusqlite::Connection::open(server.data_dir.join("switchboard.db")).unwrap();
    let (reason, ended, started): (Option<String>, Option<i64>, i64) = db
        .query_row(
            "SELECT end_reason, ended_at, started_at FROM calls WHERE call_id = ?1",
            [&customer.call_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(reason.as_deref(), Some("server_crash"));
    assert!(ended.unwrap() >= started);
    let mode: String = db
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let check: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    // The restarted server takes calls again.
    let (_c, _a, _p) = connected_call(&server, "bob").await;
    drop(customer);
}
