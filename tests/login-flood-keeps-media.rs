//! A flood of logins and API requests, valid or not, leaves a live call's audio untouched:
//! password checks run on a small bounded pool (the rest wait or get `rate_limited`), repeated
//! failures lock the username and the address without hashing, and memory stays bounded.
//! Before this, 20 concurrent wrong-password requests cut forwarding from 100 to 4-6
//! packets/s and 120 failed logins took the server from 113 MB to 2 GB.

mod common;

use common::*;
use serde_json::json;
use std::time::{Duration, Instant};

async fn rate_and_gap(peer: &Peer, secs: f64) -> (f64, Duration) {
    peer.reset_gap(0);
    let before = peer.received(0).packets;
    tokio::time::sleep(Duration::from_secs_f64(secs)).await;
    let r = peer.received(0);
    ((r.packets - before) as f64 / secs, r.max_gap)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn login_flood_leaves_live_audio_alone() {
    let server = Server::start("").await;
    let (customer, _agent_ws, agent_peer) = connected_call(&server, "alice").await;
    let _tone = customer.peer.start_tone(440.0).await;
    agent_peer.wait_tone(0, 440.0).await;
    let (base_rate, base_gap) = rate_and_gap(&agent_peer, 3.0).await;
    let rss_before = server.rss_kib();

    // The flood: 150 wrong-password API requests (known and unknown users), 40 WebSocket
    // logins with a wrong password and 30 with the right one, all at once, twice over.
    let http = reqwest::Client::new();
    let url = format!("http://{}/api/calls/nope/transcript", server.addr);
    let t0 = Instant::now();
    let flood = tokio::spawn({
        let server_addr = server.addr.clone();
        async move {
            let mut statuses = vec![];
            let mut ws_codes = vec![];
            for _round in 0..2 {
                let mut tasks = vec![];
                for i in 0..150 {
                    let http = http.clone();
                    let url = url.clone();
                    let user = if i % 2 == 0 {
                        "sam".to_string()
                    } else {
                        format!("ghost{i}")
                    };
                    tasks.push(tokio::spawn(async move {
                        http.get(&url)
                            .basic_auth(user, Some("wrong"))
                            .send()
                            .await
                            .map(|r| r.status().as_u16())
                            .unwrap_or(0)
                    }));
                }
                let mut logins = vec![];
                for i in 0..70 {
                    let addr = server_addr.clone();
                    logins.push(tokio::spawn(async move {
                        let (mut ws, _) =
                            tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
                                .await
                                .unwrap();
                        use futures::{SinkExt, StreamExt};
                        let pw = if i < 30 { "demo" } else { "guess" };
                        let _ = ws.next().await; // welcome
                        ws.send(tokio_tungstenite::tungstenite::Message::Text(
                            json!({"type":"login","username":"bob","password":pw})
                                .to_string()
                                .into(),
                        ))
                        .await
                        .unwrap();
                        let reply = ws.next().await;
                        let v: serde_json::Value = reply
                            .and_then(|m| m.ok())
                            .and_then(|m| m.into_text().ok())
                            .and_then(|t| serde_json::from_str(&t).ok())
                            .unwrap_or_default();
                        if v["type"] == "logged_in" {
                            "logged_in".to_string()
                        } else {
                            v["code"].as_str().unwrap_or("none").to_string()
                        }
                    }));
                }
                for t in tasks {
                    statuses.push(t.await.unwrap());
                }
                for l in logins {
                    ws_codes.push(l.await.unwrap());
                }
            }
            (statuses, ws_codes)
        }
    });
    let (flood_rate, flood_gap) = rate_and_gap(&agent_peer, 4.0).await;
    let (statuses, ws_codes) = flood.await.unwrap();
    let flood_secs = t0.elapsed().as_secs_f64();
    let rss_after = server.rss_kib();
    eprintln!(
        "baseline {base_rate:.1} pkt/s (gap {base_gap:?}); during the flood {flood_rate:.1} pkt/s \
         (gap {flood_gap:?}); flood took {flood_secs:.1} s; RSS {} -> {} MiB",
        rss_before / 1024,
        rss_after / 1024
    );

    // Media: the call's forwarding carries on at (nearly) its full rate with no audible gap.
    assert!(
        flood_rate >= 0.85 * base_rate,
        "forwarding fell from {base_rate:.1} to {flood_rate:.1} packets/s"
    );
    assert!(
        flood_gap < Duration::from_millis(400),
        "a {flood_gap:?} gap in the call's audio during the flood"
    );
    // Nothing got in with a wrong password; the flood was refused, much of it without hashing.
    assert!(
        statuses.iter().all(|s| *s == 401 || *s == 429),
        "{statuses:?}"
    );
    assert!(
        statuses.contains(&429),
        "no request was rate-limited: {statuses:?}"
    );
    assert!(!ws_codes[30..70].contains(&"logged_in".to_string()));
    assert!(
        ws_codes.contains(&"rate_limited".to_string()),
        "{ws_codes:?}"
    );
    // Memory for password checks is bounded by the pool, not by the flood.
    assert!(
        rss_after < rss_before + 100 * 1024,
        "RSS grew from {} to {} MiB",
        rss_before / 1024,
        rss_after / 1024
    );
    let locked = server
        .metric("switchboard_auth_checks_total{result=\"locked\"}")
        .await;
    assert!(locked > 0.0, "lockout never refused a check");
}
