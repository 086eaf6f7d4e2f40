//! Repeated wrong passwords lock the username for a while (then longer), whatever the
//! password tried next, and tell the client when to come back; other users are unaffected.

mod common;

use common::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_failures_lock_the_username() {
    let server = Server::start("[auth]\nlockout_s = 2\n").await;
    for _ in 0..5 {
        let mut ws = Ws::connect(&server).await;
        ws.request(json!({"type":"login","username":"alice","password":"guess"}))
            .await;
        ws.expect_error("bad_credentials").await;
    }
    // Locked: even the right password is refused, without a check, with a retry hint.
    let mut ws = Ws::connect(&server).await;
    ws.request(json!({"type":"login","username":"alice","password":"demo"}))
        .await;
    let e = ws.expect_error("rate_limited").await;
    let retry = e["retry_after_ms"].as_u64().expect("retry_after_ms");
    assert!(retry > 0 && retry <= 2000, "retry_after_ms {retry}");
    // The HTTP API answers 429 with Retry-After for the same username.
    let r = reqwest::Client::new()
        .get(format!("http://{}/api/calls/x/transcript", server.addr))
        .basic_auth("alice", Some("demo"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().get("retry-after").is_some());
    // Another user logs in normally.
    let mut bob = Ws::connect(&server).await;
    bob.login("bob").await;

    // After the lock, the right password works again.
    tokio::time::sleep(std::time::Duration::from_millis(2200)).await;
    let mut ws = Ws::connect(&server).await;
    ws.request(json!({"type":"login","username":"alice","password":"demo"}))
        .await;
    ws.expect("logged_in").await;
    assert!(
        server
            .metric("switchboard_auth_checks_total{result=\"locked\"}")
            .await
            >= 2.0
    );
}
