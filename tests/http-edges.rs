//! HTTP and WebSocket edges: overlong and odd paths get a 4xx without an ERROR in the log,
//! a flood of tiny frames produces a bounded number of log lines and error frames, the
//! WebSocket refuses pages from origins that are not allowed, and a failed login never puts
//! the username in the log.

mod common;

use common::*;
use futures::{SinkExt, StreamExt};
use serde_json::json;
use std::time::Duration;
use tokio_tungstenite::tungstenite::{client::IntoClientRequest, Message};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edges_get_clear_errors_and_quiet_logs() {
    let server = Server::start_logged(
        "allowed_origins = [\"https://shop.example.com\"]\n",
        false,
        "info,webrtc=warn,rtc=error,rtc_ice=error,rtc_dtls=error,rtc_srtp=error",
    )
    .await;
    let base = format!("http://{}", server.addr);

    // Paths.
    let long = format!("{base}/{}", "a".repeat(20_000));
    assert_eq!(reqwest::get(&long).await.unwrap().status(), 414);
    let odd_name = format!("{base}/{}", "b".repeat(300));
    assert_eq!(reqwest::get(&odd_name).await.unwrap().status(), 404);
    assert_eq!(
        reqwest::get(format!("{base}/%ff%fe%00"))
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        reqwest::get(format!("{base}/../../etc/passwd"))
            .await
            .unwrap()
            .status(),
        404
    );

    // Origins: other sites' pages may not open the WebSocket; our own and allowed ones may.
    let ws_url = format!("ws://{}/ws", server.addr);
    let with_origin = |origin: &str| {
        let mut req = ws_url.as_str().into_client_request().unwrap();
        req.headers_mut().insert("origin", origin.parse().unwrap());
        req
    };
    assert!(
        tokio_tungstenite::connect_async(with_origin("https://evil.example"))
            .await
            .is_err()
    );
    for ok in [
        format!("http://{}", server.addr),
        "https://shop.example.com".to_string(),
    ] {
        let (ws, _) = tokio_tungstenite::connect_async(with_origin(&ok))
            .await
            .unwrap_or_else(|e| panic!("{ok}: {e}"));
        drop(ws);
    }

    // A failed login: refused, and the username is not in the log.
    let mut ws = Ws::connect(&server).await;
    ws.request(json!({"type":"login","username":"mallory-the-prober","password":"x"}))
        .await;
    ws.expect_error("bad_credentials").await;

    // 5,000 one-byte frames in a burst: a handful of error frames and log lines, not thousands.
    let (mut raw, _) = tokio_tungstenite::connect_async(&ws_url).await.unwrap();
    let _ = raw.next().await; // welcome
    for _ in 0..5000 {
        raw.feed(Message::Text("x".into())).await.unwrap();
    }
    raw.flush().await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut errors = 0;
    while let Ok(Some(Ok(m))) = tokio::time::timeout(Duration::from_millis(300), raw.next()).await {
        if m.is_text() {
            errors += 1;
        }
    }
    assert!(errors <= 120, "{errors} error frames for one burst");
    // The server still answers another session.
    let mut other = Ws::connect(&server).await;
    other.login("alice").await;

    let log = server.log();
    assert!(!log.contains("mallory-the-prober"), "username in the log");
    let errors_logged: Vec<&str> = log.lines().filter(|l| l.contains("ERROR")).collect();
    assert!(errors_logged.is_empty(), "{errors_logged:#?}");
    let warns = log.lines().filter(|l| l.contains("WARN")).count();
    assert!(warns <= 20, "{warns} WARN lines:\n{log}");
}
