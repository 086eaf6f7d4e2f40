//! The signalling side of one participant: a WebSocket speaking docs/protocol.md (requests
//! with ids, replies and events as JSON), with deadlines instead of panics, so that one call
//! that fails is counted and the others go on.

use anyhow::{anyhow, bail, Context, Result};
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::{tungstenite::Message, MaybeTlsStream, WebSocketStream};

type Stream = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub struct Session {
    stream: Stream,
    next_id: u64,
}

impl Session {
    /// Connects to `ws://addr/ws` and waits for the server's `welcome`.
    pub async fn connect(addr: &str, wait: Duration) -> Result<Session> {
        let (stream, _) = tokio::time::timeout(
            wait,
            tokio_tungstenite::connect_async(format!("ws://{addr}/ws")),
        )
        .await
        .map_err(|_| anyhow!("websocket connect timed out"))?
        .context("websocket connect")?;
        let mut s = Session { stream, next_id: 1 };
        s.wait_for(wait, |v| v["type"] == "welcome").await?;
        Ok(s)
    }

    /// Sends `v` with a fresh request id.
    pub async fn request(&mut self, mut v: Value) -> Result<()> {
        v["id"] = json!(self.next_id);
        self.next_id += 1;
        self.stream
            .send(Message::Text(v.to_string().into()))
            .await
            .context("websocket send")
    }

    /// The first message `pred` accepts within `wait` (others are dropped); an `error` reply
    /// ends the wait with that error unless `pred` accepts it.
    pub async fn wait_for(
        &mut self,
        wait: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Result<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let msg = tokio::time::timeout_at(deadline, self.stream.next())
                .await
                .map_err(|_| anyhow!("timed out"))?;
            let text = match msg {
                Some(Ok(Message::Text(t))) => t,
                Some(Ok(_)) => continue,
                Some(Err(e)) => bail!("websocket: {e}"),
                None => bail!("websocket closed"),
            };
            let v: Value = serde_json::from_str(&text).context("a message that is not JSON")?;
            if pred(&v) {
                return Ok(v);
            }
            if v["type"] == "error" {
                bail!("server error: {}", v);
            }
        }
    }

    /// Logs in, waiting as told while the server's password checks are busy
    /// (`rate_limited` with `retry_after_ms`).
    pub async fn login(&mut self, user: &str, password: &str, wait: Duration) -> Result<()> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            self.request(json!({"type": "login", "username": user, "password": password}))
                .await?;
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let v = self
                .wait_for(left, |v| {
                    v["type"] == "logged_in"
                        || (v["type"] == "error" && v["code"] == "rate_limited")
                })
                .await
                .with_context(|| format!("login {user}"))?;
            if v["type"] == "logged_in" {
                return Ok(());
            }
            let ms = v["retry_after_ms"].as_u64().unwrap_or(500);
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
    }

    /// Reads (and drops) everything until `stop` turns true, so that the server's pings are
    /// answered; returns whether the server closed the session first.
    pub async fn drain_until(mut self, mut stop: tokio::sync::watch::Receiver<bool>) -> bool {
        loop {
            tokio::select! {
                m = self.stream.next() => match m {
                    Some(Ok(_)) => {}
                    _ => return true,
                },
                _ = crate::peer::stopped(&mut stop) => {
                    let _ = self.stream.close(None).await;
                    return false;
                }
            }
        }
    }
}
