//! One password check per login: `logged_in` carries a signed, expiring token that a new
//! connection (`login {token}`) and the HTTP API (`Authorization: Bearer`) accept instead of
//! the password. Forged, altered or foreign tokens are refused like a wrong password.

mod common;

use common::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_token_stands_in_for_the_password() {
    let server = Server::start("").await;
    let mut ws = Ws::connect(&server).await;
    ws.request(json!({"type":"login","username":"sam","password":"demo"}))
        .await;
    let logged = ws.expect("logged_in").await;
    let token = logged["token"].as_str().expect("token").to_string();
    let exp = logged["expires_at"].as_u64().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(
        exp > now + 3600 && exp <= now + 12 * 3600 + 5,
        "expires_at {exp}"
    );
    assert!(!token.contains("demo"));

    // A second connection logs in with the token alone.
    let mut again = Ws::connect(&server).await;
    again.request(json!({"type":"login","token":token})).await;
    let v = again.expect("logged_in").await;
    assert_eq!(v["username"], "sam");
    assert_eq!(v["role"], "supervisor");
    again.expect("dashboard").await;

    // The HTTP API takes it as a bearer token (404: authenticated, the call does not exist).
    let http = reqwest::Client::new();
    let url = format!("http://{}/api/calls/no-such-call/transcript", server.addr);
    let r = http.get(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 404);

    // Altered, truncated and made-up tokens are refused.
    let mut altered = token.clone().into_bytes();
    let i = altered.len() / 3;
    altered[i] = if altered[i] == b'A' { b'B' } else { b'A' };
    let altered = String::from_utf8(altered).unwrap();
    for bad in [altered.as_str(), &token[..token.len() - 4], "abc.def", ""] {
        let r = http.get(&url).bearer_auth(bad).send().await.unwrap();
        assert_eq!(r.status(), 401, "bearer {bad:?}");
        let mut w = Ws::connect(&server).await;
        w.request(json!({"type":"login","token":bad})).await;
        w.expect_error("bad_credentials").await;
    }
    // Neither password nor token: a bad message, not a crash.
    let mut w = Ws::connect(&server).await;
    w.request(json!({"type":"login","username":"sam"})).await;
    w.expect_error("bad_message").await;

    // Another server (another key) does not accept it.
    let other = Server::start("").await;
    let mut w = Ws::connect(&other).await;
    w.request(json!({"type":"login","token":token})).await;
    w.expect_error("bad_credentials").await;
}
