//! Every metric family the README names is on `/metrics` from the start, before its first
//! event (dashboards and alerts can be set up against a fresh server).

mod common;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_family_is_registered_at_start() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let mut names: Vec<String> = readme
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("switchboard_") && w.len() > "switchboard_".len())
        .map(str::to_string)
        .collect();
    names.sort();
    names.dedup();
    assert!(names.len() >= 20, "README names {} families", names.len());
    let server = Server::start_with_speech("").await;
    let text = server.metrics().await;
    let missing: Vec<&String> = names
        .iter()
        .filter(|n| !text.lines().any(|l| l.starts_with(&format!("# TYPE {n} "))))
        .collect();
    assert!(missing.is_empty(), "not on /metrics at start: {missing:?}");
    // Labelled families carry their series at zero already.
    for series in [
        "switchboard_calls_ended_total{reason=\"server_crash\"} 0",
        "switchboard_ws_errors_total{code=\"rate_limited\"} 0",
        "switchboard_auth_checks_total{result=\"locked\"} 0",
    ] {
        assert!(text.contains(series), "{series}");
    }
}
