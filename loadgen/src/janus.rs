//! The same calls through Janus (1.1.x, its HTTP API and the `janus.plugin.videocall`
//! plugin), for the side-by-side comparison in docs/benchmarks.md: per call a caller and a
//! callee, each its own Janus session and handle and its own WebRTC peer (one sendrecv audio
//! m-line, as against Switchboard), the callee answering the offer Janus makes it.
//!
//! The videocall plugin is Janus's one-to-one relay, the closest match to a Switchboard call
//! (two peer connections per call, each sending and receiving); the videoroom would need four
//! (a publisher and a subscriber each way).

use crate::peer::{stopped, Peer};
use crate::{Setup, Shared};
use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// One Janus session with one videocall handle, and the events its long poll brings.
struct Handle {
    http: reqwest::Client,
    /// `http://host:port/janus/SESSION`.
    session_url: String,
    handle_url: String,
    events: mpsc::UnboundedReceiver<Value>,
    next: u64,
}

fn transaction(n: &mut u64) -> String {
    *n += 1;
    format!("t{n}")
}

async fn post(http: &reqwest::Client, url: &str, body: Value) -> Result<Value> {
    let v: Value = http
        .post(url)
        .json(&body)
        .send()
        .await
        .with_context(|| format!("POST {url}"))?
        .json()
        .await
        .context("a Janus reply that is not JSON")?;
    if v["janus"] == "error" {
        bail!("janus: {}", v["error"]);
    }
    Ok(v)
}

impl Handle {
    /// Creates a session, attaches the videocall plugin and starts the session's long poll,
    /// which runs until `stop`.
    async fn open(
        http: reqwest::Client,
        base: &str,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) -> Result<Handle> {
        let mut next = 0;
        let v = post(
            &http,
            base,
            json!({"janus": "create", "transaction": transaction(&mut next)}),
        )
        .await?;
        let session = v["data"]["id"]
            .as_u64()
            .ok_or_else(|| anyhow!("create: no session id"))?;
        let session_url = format!("{base}/{session}");
        let v = post(
            &http,
            &session_url,
            json!({"janus": "attach", "plugin": "janus.plugin.videocall",
                   "transaction": transaction(&mut next)}),
        )
        .await?;
        let handle = v["data"]["id"]
            .as_u64()
            .ok_or_else(|| anyhow!("attach: no handle id"))?;
        let (tx, events) = mpsc::unbounded_channel();
        let (poll_http, poll_url) = (http.clone(), format!("{session_url}?maxev=10"));
        tokio::spawn(async move {
            loop {
                let got = tokio::select! {
                    r = poll_http.get(&poll_url).send() => r,
                    _ = stopped(&mut stop) => return,
                };
                let Ok(resp) = got else { return };
                let Ok(v) = resp.json::<Value>().await else {
                    return;
                };
                for ev in v.as_array().cloned().unwrap_or_else(|| vec![v]) {
                    if ev["janus"] != "keepalive" && tx.send(ev).is_err() {
                        return;
                    }
                }
            }
        });
        Ok(Handle {
            http,
            handle_url: format!("{session_url}/{handle}"),
            session_url,
            events,
            next,
        })
    }

    /// Sends a plugin message (with a JSEP when given); its result comes as an event.
    async fn message(&mut self, body: Value, jsep: Option<Value>) -> Result<()> {
        let mut m = json!({"janus": "message", "body": body,
                           "transaction": transaction(&mut self.next)});
        if let Some(j) = jsep {
            m["jsep"] = j;
        }
        post(&self.http, &self.handle_url, m).await.map(|_| ())
    }

    /// Tells Janus our candidates are all in the SDP it already has.
    async fn candidates_done(&mut self) -> Result<()> {
        let m = json!({"janus": "trickle", "candidate": {"completed": true},
                       "transaction": transaction(&mut self.next)});
        post(&self.http, &self.handle_url, m).await.map(|_| ())
    }

    /// The next videocall event `want` (e.g. "registered"), within `wait`; a plugin error or a
    /// hangup ends the wait with an error.
    async fn wait_event(&mut self, want: &str, wait: Duration) -> Result<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let ev = tokio::time::timeout_at(deadline, self.events.recv())
                .await
                .map_err(|_| anyhow!("no '{want}' from Janus in {wait:?}"))?
                .ok_or_else(|| anyhow!("Janus long poll ended"))?;
            let data = &ev["plugindata"]["data"];
            if data["error"].is_string() {
                bail!("videocall: {}", data["error"]);
            }
            let event = data["result"]["event"].as_str().unwrap_or_default();
            if event == want {
                return Ok(ev);
            }
            if event == "hangup" {
                bail!("videocall hangup: {}", data["result"]["reason"]);
            }
        }
    }

    async fn destroy(&self) {
        let _ = post(
            &self.http,
            &self.session_url,
            json!({"janus": "destroy", "transaction": "bye"}),
        )
        .await;
    }
}

/// Call number `i` through Janus: the callee registers, the caller registers and calls, the
/// callee answers Janus's offer; both talk until the run stops. The setup figures go to
/// `done` as soon as both sides hear each other.
pub async fn call(
    sh: Arc<Shared>,
    http: reqwest::Client,
    base: String,
    i: usize,
    done: mpsc::Sender<Setup>,
) -> Result<()> {
    let tag = format!("{}-{i}", std::process::id());
    let mut callee = Handle::open(http.clone(), &base, sh.stop.clone()).await?;
    let mut caller = Handle::open(http, &base, sh.stop.clone()).await?;
    let result = talk(&sh, &mut caller, &mut callee, &tag, done).await;
    caller.destroy().await;
    callee.destroy().await;
    result
}

async fn talk(
    sh: &Arc<Shared>,
    caller: &mut Handle,
    callee: &mut Handle,
    tag: &str,
    done: mpsc::Sender<Setup>,
) -> Result<()> {
    let (callee_name, caller_name) = (format!("a{tag}"), format!("c{tag}"));
    for (h, name) in [(&mut *callee, &callee_name), (&mut *caller, &caller_name)] {
        h.message(json!({"request": "register", "username": name}), None)
            .await?;
        h.wait_event("registered", sh.wait).await?;
    }
    let cpeer = Peer::new(
        sh.run.clone(),
        sh.a2c.clone(),
        &sh.bind,
        sh.video_in(&sh.a2c_video),
    )
    .await?;
    let apeer = Peer::new(
        sh.run.clone(),
        sh.c2a.clone(),
        &sh.bind,
        sh.video_in(&sh.c2a_video),
    )
    .await?;
    let offer = cpeer.offer().await?;
    let t0 = Instant::now();
    caller
        .message(
            json!({"request": "call", "username": callee_name}),
            Some(json!({"type": "offer", "sdp": offer})),
        )
        .await?;
    caller.candidates_done().await?;
    let incoming = callee.wait_event("incomingcall", sh.wait).await?;
    let their_offer = incoming["jsep"]["sdp"]
        .as_str()
        .ok_or_else(|| anyhow!("incomingcall without an offer"))?
        .to_string();
    let answer = apeer.answer(&their_offer).await?;
    let t_accept = Instant::now();
    callee
        .message(
            json!({"request": "accept"}),
            Some(json!({"type": "answer", "sdp": answer})),
        )
        .await?;
    callee.candidates_done().await?;
    let accepted = caller.wait_event("accepted", sh.wait).await?;
    cpeer
        .apply_answer(accepted["jsep"]["sdp"].as_str().unwrap_or_default())
        .await?;
    cpeer.connected(sh.wait).await?;
    let connected_ms = t0.elapsed().as_secs_f64() * 1e3;
    apeer.connected(sh.wait).await?;

    let send_c = cpeer.send(sh.run.clone(), vec![sh.c2a.clone()], 0, sh.stop.clone());
    let send_a = apeer.send(
        sh.run.clone(),
        vec![sh.a2c.clone()],
        sh.run.half(),
        sh.stop.clone(),
    );
    let measure = async {
        let deadline = Instant::now() + sh.wait;
        loop {
            let (a, c) = (
                apeer
                    .state
                    .first_rx_us
                    .load(std::sync::atomic::Ordering::Relaxed),
                cpeer
                    .state
                    .first_rx_us
                    .load(std::sync::atomic::Ordering::Relaxed),
            );
            if a != 0 && c != 0 {
                let two_way = sh.run.epoch_instant(a.max(c));
                let _ = done
                    .send(Setup {
                        customer_connected_ms: Some(connected_ms),
                        accept_to_two_way_ms: Some(
                            two_way.saturating_duration_since(t_accept).as_secs_f64() * 1e3,
                        ),
                        start_to_two_way_ms: Some(
                            two_way.saturating_duration_since(t0).as_secs_f64() * 1e3,
                        ),
                        call_id: None,
                        error: None,
                    })
                    .await;
                return;
            }
            if Instant::now() > deadline {
                let _ = done
                    .send(Setup {
                        error: Some("no two-way audio".into()),
                        ..Default::default()
                    })
                    .await;
                return;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    };
    let cam_c = cpeer.send_video(sh.run.clone(), sh.c2a_video.clone(), sh.stop.clone());
    let cam_a = apeer.send_video(sh.run.clone(), sh.a2c_video.clone(), sh.stop.clone());
    tokio::join!(send_c, send_a, cam_c, cam_a, measure);
    cpeer.close().await;
    apeer.close().await;
    Ok(())
}
