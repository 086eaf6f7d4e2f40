//! Shared test harness: starts the real `switchboard` binary, speaks the WebSocket protocol, and
//! runs real WebRTC peers (the `webrtc` crate) that send an Opus tone of a chosen frequency and
//! measure the dominant frequency of what they receive on each track.

#![allow(dead_code)]

pub mod relay;
pub mod soak;

use futures::{SinkExt, StreamExt};
use rtc::media_stream::MediaStreamTrack;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use rtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit};
use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio_tungstenite::{tungstenite::Message, MaybeTlsStream, WebSocketStream};
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    register_default_interceptors, MediaEngine, PeerConnection, PeerConnectionBuilder,
    PeerConnectionEventHandler, RTCIceGatheringState, RTCPeerConnectionState,
    RTCSessionDescription, Registry,
};

pub const WAIT: Duration = Duration::from_secs(15);

// ---- server ---------------------------------------------------------------------------------

/// The English Whisper model `scripts/fetch-models.sh` puts in the repository's `models/`.
pub fn model_path() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/ggml-tiny.en.bin");
    assert!(
        p.exists(),
        "{} is missing: run scripts/fetch-models.sh (make test does)",
        p.display()
    );
    p
}

/// Speak `text` with espeak-ng (en-us, 130 words per minute) and return 48 kHz mono samples.
pub fn espeak_48k(text: &str, extra_args: &[&str]) -> Vec<i16> {
    let out = Command::new("espeak-ng")
        .args(["-v", "en-us", "-s", "130", "--stdout"])
        .args(extra_args)
        .arg(text)
        .output()
        .expect("espeak-ng must be installed (make test installs it)");
    assert!(out.status.success(), "espeak-ng failed");
    let (rate, pcm) = parse_wav_i16(&out.stdout);
    resample_linear(&pcm, rate, 48_000)
}

/// A 16-bit mono WAV file's rate and samples (espeak-ng writes a streaming header).
pub fn parse_wav_i16(bytes: &[u8]) -> (u32, Vec<i16>) {
    assert_eq!(&bytes[0..4], b"RIFF");
    let mut i = 12;
    let mut rate = 0;
    while i + 8 <= bytes.len() {
        let id = &bytes[i..i + 4];
        let len = u32::from_le_bytes(bytes[i + 4..i + 8].try_into().unwrap()) as usize;
        if id == b"fmt " {
            rate = u32::from_le_bytes(bytes[i + 12..i + 16].try_into().unwrap());
        }
        if id == b"data" {
            let end = if len == 0 || i + 8 + len > bytes.len() {
                bytes.len()
            } else {
                i + 8 + len
            };
            let pcm = bytes[i + 8..end]
                .chunks_exact(2)
                .map(|b| i16::from_le_bytes([b[0], b[1]]))
                .collect();
            return (rate, pcm);
        }
        i += 8 + len;
    }
    panic!("no data chunk");
}

pub fn resample_linear(pcm: &[i16], from: u32, to: u32) -> Vec<i16> {
    let n = (pcm.len() as u64 * to as u64 / from as u64) as usize;
    (0..n)
        .map(|j| {
            let x = j as f64 * from as f64 / to as f64;
            let i = x as usize;
            let f = x - i as f64;
            let a = pcm[i.min(pcm.len() - 1)] as f64;
            let b = pcm[(i + 1).min(pcm.len() - 1)] as f64;
            (a + (b - a) * f) as i16
        })
        .collect()
}

pub struct Server {
    child: Child,
    pub addr: String,
    pub data_dir: PathBuf,
    speech: bool,
    rust_log: String,
}

impl Server {
    /// Start the server in demo mode with extra TOML config, without live transcription.
    pub async fn start(extra_toml: &str) -> Server {
        Self::start_opts(extra_toml, false).await
    }

    /// Start the server with live transcription on (the repository's tiny.en model).
    pub async fn start_with_speech(extra_toml: &str) -> Server {
        Self::start_opts(extra_toml, true).await
    }

    pub async fn start_opts(extra_toml: &str, speech: bool) -> Server {
        let log = std::env::var("SB_LOG").unwrap_or_else(|_| "warn".into());
        Self::start_logged(extra_toml, speech, &log).await
    }

    /// Start with `RUST_LOG=rust_log`; the server's log is in [`Server::log`].
    pub async fn start_logged(extra_toml: &str, speech: bool, rust_log: &str) -> Server {
        let dir = std::env::temp_dir().join(format!("sb-test-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        // `--demo` turns the bot on for every contact; tests that are not about the bot take
        // calls straight into the queue, as a deployment without the bot does.
        let mut toml = if extra_toml.contains("entry_points") {
            extra_toml.to_string()
        } else {
            format!("{extra_toml}\n[[entry_points]]\nname = \"default\"\nbot = false\n")
        };
        // Preparing every answer's first phrase at start costs tens of CPU-seconds in the
        // background: only the tests about it turn it on.
        if !toml.contains("prepare =") {
            if toml.contains("[bot.voice]\n") {
                toml = toml.replacen("[bot.voice]\n", "[bot.voice]\nprepare = false\n", 1);
            } else {
                toml.push_str("\n[bot.voice]\nprepare = false\n");
            }
        }
        // A test's `Ws` answers the server's pings only while the test reads it; tests that
        // are not about idle sessions leave some unread for long waits, so the server keeps
        // them (tests/silent-session-is-gone.rs sets its own).
        if !extra_toml.contains("[session]") {
            toml.push_str("\n[session]\nidle_timeout_ms = 0\nresume_grace_ms = 0\n");
        }
        std::fs::write(dir.join("switchboard.toml"), toml).unwrap();
        Self::start_in(dir, speech, rust_log).await
    }

    /// Kill the server with SIGKILL (no clean-up of any kind) and start it again on the
    /// same data directory and configuration (on a new port).
    pub async fn kill9_and_restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let (child, addr) = Self::spawn_in(&self.data_dir, self.speech, &self.rust_log).await;
        self.child = child;
        self.addr = addr;
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.data_dir.join("server.log")).unwrap_or_default()
    }

    async fn start_in(dir: PathBuf, speech: bool, rust_log: &str) -> Server {
        let (child, addr) = Self::spawn_in(&dir, speech, rust_log).await;
        Server {
            child,
            addr,
            data_dir: dir,
            speech,
            rust_log: rust_log.to_string(),
        }
    }

    async fn spawn_in(dir: &std::path::Path, speech: bool, rust_log: &str) -> (Child, String) {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cfg = dir.join("switchboard.toml");
        let mut cmd = Command::new(server_bin());
        if speech {
            cmd.arg("--model").arg(model_path());
        } else {
            cmd.arg("--no-speech");
        }
        let child = cmd
            .args(["--demo", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(dir)
            .arg("--config")
            .arg(&cfg)
            .env("RUST_LOG", rust_log)
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(dir.join("server.log"))
                    .unwrap(),
            ))
            .spawn()
            .expect("start switchboard");
        let addr = format!("127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(r) = reqwest::get(format!("http://{addr}/healthz")).await {
                if r.status().is_success() {
                    break;
                }
            }
            assert!(Instant::now() < deadline, "server did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        (child, addr)
    }

    /// `GET path` as `user` (password "demo", HTTP Basic): the status and the JSON body
    /// (`Null` when it is not JSON).
    pub async fn get_as(&self, user: &str, path: &str) -> (u16, Value) {
        let r = reqwest::Client::new()
            .get(format!("http://{}{path}", self.addr))
            .basic_auth(user, Some("demo"))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// Today's KPIs as the supervisor sam reads them (`GET /api/kpis`).
    pub async fn kpis(&self) -> Value {
        let (status, k) = self.get_as("sam", "/api/kpis").await;
        assert_eq!(status, 200, "{k}");
        k
    }

    pub async fn metrics(&self) -> String {
        reqwest::get(format!("http://{}/metrics", self.addr))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// Value of a metric line (exact name with labels), 0 if absent.
    pub async fn metric(&self, name: &str) -> f64 {
        let text = self.metrics().await;
        text.lines()
            .find_map(|l| {
                let (k, v) = l.rsplit_once(' ')?;
                (k == name).then(|| v.parse().unwrap())
            })
            .unwrap_or(0.0)
    }

    /// Wait until a metric reaches `want`.
    pub async fn wait_metric(&self, name: &str, want: f64) {
        let deadline = Instant::now() + WAIT;
        loop {
            let v = self.metric(name).await;
            if v == want {
                return;
            }
            assert!(Instant::now() < deadline, "{name} = {v}, want {want}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Send SIGTERM and wait for the process to exit; returns its exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let ok = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("kill")
            .success();
        assert!(ok, "kill -TERM failed");
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "server did not exit after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Create an agent account (password "demo") in the running server's database.
    pub fn add_agent(&self, username: &str) {
        self.add_user(username, "agent");
    }

    /// Create an account of `role` (agent or supervisor; password "demo").
    pub fn add_user(&self, username: &str, role: &str) {
        self.add_user_with(username, role, &[]);
    }

    /// Create an agent (password "demo") with skills such as `billing=5`.
    pub fn add_agent_with_skills(&self, username: &str, skills: &[&str]) {
        let args: Vec<String> = skills.iter().map(|s| format!("--skill={s}")).collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.add_user_with(username, "agent", &args);
    }

    fn add_user_with(&self, username: &str, role: &str, extra: &[&str]) {
        let status = Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .args([
                "add-user",
                "--role",
                role,
                "--password",
                "demo",
                "--username",
                username,
            ])
            .args(extra)
            .arg("--data-dir")
            .arg(&self.data_dir)
            .stdout(Stdio::null())
            .status()
            .expect("add-user");
        assert!(status.success());
    }

    /// Resident memory of the server process, in KiB.
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }

    /// CPU time (user + system) the server has used, in seconds.
    pub fn cpu_seconds(&self) -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).unwrap();
        let after = &stat[stat.rfind(')').unwrap() + 2..];
        let f: Vec<&str> = after.split_whitespace().collect();
        let ticks: f64 = f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap();
        ticks / 100.0
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let log = self.log();
            let tail: Vec<&str> = log.lines().rev().take(60).collect();
            eprintln!("--- server log (last lines) ---");
            for l in tail.into_iter().rev() {
                eprintln!("{l}");
            }
        }
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

// ---- signalling client ----------------------------------------------------------------------

pub struct Ws {
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pub inbox: VecDeque<Value>,
    next_id: u64,
    /// The server's `welcome` (null for a stream made elsewhere).
    pub welcome: Value,
}

impl Ws {
    pub async fn connect(server: &Server) -> Ws {
        Self::connect_addr(&server.addr).await
    }

    /// Connect to a server by address (for tasks that do not hold the [`Server`]).
    pub async fn connect_addr(addr: &str) -> Ws {
        let (stream, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
            .await
            .expect("ws connect");
        let mut ws = Ws::from_stream(stream);
        ws.welcome = ws.expect("welcome").await;
        ws
    }

    pub fn from_stream(stream: WebSocketStream<MaybeTlsStream<TcpStream>>) -> Ws {
        Ws {
            stream,
            inbox: VecDeque::new(),
            next_id: 1,
            welcome: Value::Null,
        }
    }

    pub async fn send(&mut self, v: Value) {
        self.stream
            .send(Message::Text(v.to_string().into()))
            .await
            .unwrap();
    }

    pub async fn send_raw(&mut self, text: String) {
        self.stream.send(Message::Text(text.into())).await.unwrap();
    }

    /// Send with a fresh request id; returns the id.
    pub async fn request(&mut self, mut v: Value) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        v["id"] = json!(id);
        self.send(v).await;
        id
    }

    async fn read_one(&mut self, deadline: Instant) -> Option<Value> {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, self.stream.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => Some(serde_json::from_str(&t).unwrap()),
            Ok(Some(Ok(_))) => Some(Value::Null),
            _ => None,
        }
    }

    /// The next message (buffered or new); `None` after [`WAIT`] without one.
    pub async fn next_json(&mut self) -> Option<Value> {
        if let Some(v) = self.inbox.pop_front() {
            return Some(v);
        }
        let deadline = Instant::now() + WAIT;
        loop {
            match self.read_one(deadline).await {
                Some(Value::Null) => continue,
                other => return other,
            }
        }
    }

    /// The first message (buffered or new) matching `pred`; earlier non-matching ones stay buffered.
    pub async fn wait_for(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        self.wait_for_within(what, WAIT, pred).await
    }

    /// [`Ws::wait_for`], waiting at most `within` instead of [`WAIT`].
    pub async fn wait_for_within(
        &mut self,
        what: &str,
        within: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Value {
        if let Some(i) = self.inbox.iter().position(&pred) {
            return self.inbox.remove(i).unwrap();
        }
        let deadline = Instant::now() + within;
        loop {
            match self.read_one(deadline).await {
                Some(Value::Null) => continue,
                Some(v) if pred(&v) => return v,
                Some(v) => self.inbox.push_back(v),
                None => panic!("timed out waiting for {what}; inbox: {:?}", self.inbox),
            }
        }
    }

    pub async fn expect(&mut self, ty: &str) -> Value {
        let t = ty.to_string();
        self.wait_for(ty, move |v| v["type"] == t.as_str()).await
    }

    /// Wait for an error with this code.
    pub async fn expect_error(&mut self, code: &str) -> Value {
        let c = code.to_string();
        self.wait_for(&format!("error {code}"), move |v| {
            v["type"] == "error" && v["code"] == c.as_str()
        })
        .await
    }

    /// Messages that arrive within `d`, without waiting for any in particular.
    pub async fn drain_for(&mut self, d: Duration) -> Vec<Value> {
        let deadline = Instant::now() + d;
        while let Some(v) = self.read_one(deadline).await {
            if !v.is_null() {
                self.inbox.push_back(v);
            }
        }
        self.inbox.drain(..).collect()
    }

    /// Whether the server closes this connection within `d` (messages before are kept).
    pub async fn closed_within(&mut self, d: Duration) -> bool {
        let deadline = Instant::now() + d;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.stream.next()).await {
                Err(_) => return false,
                Ok(None) | Ok(Some(Err(_))) | Ok(Some(Ok(Message::Close(_)))) => return true,
                Ok(Some(Ok(Message::Text(t)))) => {
                    self.inbox.push_back(serde_json::from_str(&t).unwrap())
                }
                Ok(Some(Ok(_))) => {}
            }
        }
    }

    pub async fn close(mut self) {
        let _ = self.stream.close(None).await;
    }

    /// The `resume` request that takes this session over on a new connection.
    pub fn resume_request(&self) -> Value {
        json!({
            "type": "resume",
            "session_id": self.welcome["session_id"],
            "token": self.welcome["resume_token"],
        })
    }

    /// Close as a page that goes away (a reload, a closed tab) does: code 1001.
    pub async fn close_going_away(mut self) {
        use tokio_tungstenite::tungstenite::protocol::{frame::coding::CloseCode, CloseFrame};
        let frame = CloseFrame {
            code: CloseCode::Away,
            reason: "".into(),
        };
        let _ = self.stream.close(Some(frame)).await;
    }

    /// Log in, waiting as told while the server's password checks are busy (`rate_limited`
    /// with `retry_after_ms`), as a client written from the protocol would.
    pub async fn login(&mut self, user: &str) -> Value {
        loop {
            self.request(json!({"type":"login","username":user,"password":"demo"}))
                .await;
            let v = self
                .wait_for("logged_in", |v| {
                    v["type"] == "logged_in"
                        || (v["type"] == "error" && v["code"] == "rate_limited")
                })
                .await;
            if v["type"] == "logged_in" {
                return v;
            }
            let ms = v["retry_after_ms"].as_u64().unwrap_or(1000);
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
    }

    /// An agent session becomes available (and waits until the server says so).
    pub async fn set_available(&mut self) {
        self.request(json!({"type":"set_state","state":"available"}))
            .await;
        self.wait_for("available", |v| {
            v["type"] == "agent_state" && v["state"] == "available"
        })
        .await;
    }

    /// A customer session starts a chat (no media); returns the call id once its first
    /// state arrives.
    pub async fn start_chat(&mut self, name: &str, language: Option<&str>) -> String {
        let mut m = json!({"type":"start_chat","caller":{"name": name}});
        if let Some(l) = language {
            m["language"] = json!(l);
        }
        self.request(m).await;
        let v = self.expect("call_state").await;
        v["call_id"].as_str().unwrap().to_string()
    }

    /// The next chat line from `from` (customer, agent or bot).
    pub async fn chat_from(&mut self, from: &str) -> Value {
        let f = from.to_string();
        self.wait_for(&format!("chat from {from}"), move |v| {
            v["type"] == "chat" && v["from"] == f.as_str()
        })
        .await
    }

    pub async fn wait_call_state(&mut self, state: &str) -> Value {
        let s = state.to_string();
        self.wait_for(&format!("call_state {state}"), move |v| {
            v["type"] == "call_state" && v["state"] == s.as_str()
        })
        .await
    }
}

// ---- WebRTC peer ----------------------------------------------------------------------------

/// What one received track carried.
#[derive(Default, Clone, Debug)]
pub struct Received {
    pub packets: usize,
    /// When the last packet arrived, and the longest wait between two packets since
    /// [`Peer::reset_gap`].
    pub last_at: Option<Instant>,
    pub max_gap: Duration,
    /// When the last packet that decoded to sound (a sample over 300 of 32767) arrived:
    /// what a listener hears, where `last_at` counts encoded silence too.
    pub last_sound_at: Option<Instant>,
    /// Decoded PCM (48 kHz mono) of the last few seconds.
    pub pcm: Vec<i16>,
    /// Everything decoded (48 kHz mono), the first minute.
    pub recorded: Vec<i16>,
    /// RTP timestamp of the last packet, and how many packets advanced it by exactly one
    /// 20 ms Opus frame (960) or by anything else.
    pub last_ts: Option<u32>,
    pub ts_steps_20ms: usize,
    pub ts_steps_other: usize,
}

#[derive(Default)]
struct PeerState {
    connected: bool,
    gathered: bool,
    /// Keyed by the server's slot index (the suffix of the track id).
    tracks: HashMap<usize, Received>,
}

struct Handler(Arc<Mutex<PeerState>>);

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_gathering_state_change(&self, s: RTCIceGatheringState) {
        if s == RTCIceGatheringState::Complete {
            self.0.lock().unwrap().gathered = true;
        }
    }
    async fn on_connection_state_change(&self, s: RTCPeerConnectionState) {
        self.0.lock().unwrap().connected = s == RTCPeerConnectionState::Connected;
    }
    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let id = track.track_id().await;
        let slot: usize = id
            .rsplit('-')
            .next()
            .and_then(|s| s.parse().ok())
            .unwrap_or(99);
        let state = self.0.clone();
        tokio::spawn(async move {
            let mut dec = opus::Decoder::new(48000, opus::Channels::Mono).unwrap();
            let mut buf = vec![0i16; 5760];
            while let Some(ev) = track.poll().await {
                if let TrackRemoteEvent::OnRtpPacket(p) = ev {
                    let n = dec.decode(&p.payload, &mut buf, false).unwrap_or(0);
                    let mut st = state.lock().unwrap();
                    let r = st.tracks.entry(slot).or_default();
                    r.packets += 1;
                    let now = Instant::now();
                    if let Some(last) = r.last_at {
                        r.max_gap = r.max_gap.max(now - last);
                    }
                    r.last_at = Some(now);
                    if buf[..n].iter().any(|s| s.unsigned_abs() > 300) {
                        r.last_sound_at = Some(now);
                    }
                    if let Some(t) = r.last_ts {
                        if p.header.timestamp.wrapping_sub(t) == 960 {
                            r.ts_steps_20ms += 1;
                        } else {
                            r.ts_steps_other += 1;
                        }
                    }
                    r.last_ts = Some(p.header.timestamp);
                    r.pcm.extend_from_slice(&buf[..n]);
                    if r.recorded.len() < 48000 * 60 {
                        r.recorded.extend_from_slice(&buf[..n]);
                    }
                    let excess = r.pcm.len().saturating_sub(48000 * 2);
                    r.pcm.drain(..excess);
                }
            }
        });
    }
}

pub struct Peer {
    pub pc: Arc<dyn PeerConnection>,
    state: Arc<Mutex<PeerState>>,
    local: Option<(Arc<TrackLocalStaticRTP>, u32)>,
    /// The next RTP sequence number and timestamp of the microphone: one stream that goes on
    /// across senders, as a browser's does (a sender that started over would be rejected by
    /// SRTP replay protection as old packets).
    rtp_next: Arc<Mutex<(u16, u32)>>,
    pub peer_id: Option<String>,
}

/// How the peer's audio m-lines are set up.
#[derive(Clone, Copy, Debug)]
pub enum Layout {
    /// One sendrecv audio m-line (customer, agent).
    Talker,
    /// A sendrecv audio m-line plus one recvonly: a microphone and two audio slots (a
    /// supervisor who may whisper, or a customer or agent who can hear a second voice).
    MicAndTwoSlots,
    /// Two recvonly audio m-lines (a plain listening supervisor).
    Listener,
}

impl Peer {
    pub async fn new(layout: Layout) -> Peer {
        let mut me = MediaEngine::default();
        me.register_default_codecs().unwrap();
        let reg = register_default_interceptors(Registry::new(), &mut me).unwrap();
        let state = Arc::new(Mutex::new(PeerState::default()));
        let pc: Arc<dyn PeerConnection> = Arc::new(
            PeerConnectionBuilder::new()
                .with_media_engine(me)
                // No mDNS: a test client needs none, and it works in a namespace without a
                // multicast route (tests/mdns-optional.rs).
                .with_setting_engine(
                    rtc::peer_connection::configuration::setting_engine::SettingEngineBuilder::new(
                    )
                    .with_multicast_dns_mode(rtc::ice::mdns::MulticastDnsMode::Disabled)
                    .build(),
                )
                .with_interceptor_registry(reg)
                .with_handler(Arc::new(Handler(state.clone())))
                .with_udp_addrs(vec!["127.0.0.1:0"])
                .build()
                .await
                .unwrap(),
        );
        let recvonly = || RTCRtpTransceiverInit {
            direction: RTCRtpTransceiverDirection::Recvonly,
            ..Default::default()
        };
        let mut local = None;
        match layout {
            Layout::Listener => {
                pc.add_transceiver_from_kind(RtpCodecKind::Audio, Some(recvonly()))
                    .await
                    .unwrap();
                pc.add_transceiver_from_kind(RtpCodecKind::Audio, Some(recvonly()))
                    .await
                    .unwrap();
            }
            Layout::Talker | Layout::MicAndTwoSlots => {
                let ssrc: u32 = rand::random();
                let track = Arc::new(TrackLocalStaticRTP::new(MediaStreamTrack::new(
                    "test".into(),
                    format!("mic-{ssrc}"),
                    "mic".into(),
                    RtpCodecKind::Audio,
                    vec![RTCRtpEncodingParameters {
                        rtp_coding_parameters: RTCRtpCodingParameters {
                            ssrc: Some(ssrc),
                            ..Default::default()
                        },
                        codec: RTCRtpCodec {
                            mime_type: "audio/opus".into(),
                            clock_rate: 48000,
                            channels: 2,
                            sdp_fmtp_line: "minptime=10;useinbandfec=1".into(),
                            rtcp_feedback: vec![],
                        },
                        ..Default::default()
                    }],
                )));
                pc.add_transceiver_from_track(
                    track.clone() as Arc<dyn TrackLocal>,
                    Some(RTCRtpTransceiverInit {
                        direction: RTCRtpTransceiverDirection::Sendrecv,
                        ..Default::default()
                    }),
                )
                .await
                .unwrap();
                if matches!(layout, Layout::MicAndTwoSlots) {
                    pc.add_transceiver_from_kind(RtpCodecKind::Audio, Some(recvonly()))
                        .await
                        .unwrap();
                }
                local = Some((track, ssrc));
            }
        }
        Peer {
            pc,
            state,
            local,
            rtp_next: Arc::new(Mutex::new((rand::random(), rand::random()))),
            peer_id: None,
        }
    }

    /// Create the offer and wait for host candidates so it carries them.
    pub async fn offer(&self) -> String {
        let offer = self.pc.create_offer(None).await.unwrap();
        self.pc.set_local_description(offer).await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(3);
        while !self.state.lock().unwrap().gathered && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.pc.local_description().await.unwrap().sdp
    }

    /// Apply `answer` with every packet to and from the server passing `relay::Relay` (started
    /// here), so the test can cut the network under a live peer. The offer must have gone
    /// without the peer's candidates (`relay::strip_candidates`).
    pub async fn apply_answer_via_relay(&mut self, answer: &Value) -> relay::Relay {
        self.peer_id = answer["peer_id"].as_str().map(str::to_string);
        let sdp = answer["sdp"].as_str().expect("answer sdp");
        let server = relay::server_candidate(sdp);
        let r = relay::Relay::start(server).await;
        let sdp = relay::via_relay(sdp, server, r.client_facing);
        self.pc
            .set_remote_description(RTCSessionDescription::answer(sdp).unwrap())
            .await
            .unwrap();
        r
    }

    pub async fn apply_answer(&mut self, answer: &Value) {
        self.peer_id = answer["peer_id"].as_str().map(str::to_string);
        let sdp = answer["sdp"].as_str().expect("answer sdp").to_string();
        self.pc
            .set_remote_description(RTCSessionDescription::answer(sdp).unwrap())
            .await
            .unwrap();
    }

    pub async fn wait_connected(&self) {
        let deadline = Instant::now() + WAIT;
        while !self.state.lock().unwrap().connected {
            assert!(Instant::now() < deadline, "peer did not connect");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn connected(&self) -> bool {
        self.state.lock().unwrap().connected
    }

    /// Send an Opus-encoded sine of `hz` for as long as the returned task runs.
    pub async fn start_tone(&self, hz: f64) -> tokio::task::JoinHandle<()> {
        let mut phase = 0.0f64;
        self.send_frames(move || {
            (0..960)
                .map(|_| {
                    phase += 2.0 * std::f64::consts::PI * hz / 48000.0;
                    (phase.sin() * 12000.0) as i16
                })
                .collect()
        })
        .await
    }

    /// Send the 20 ms frames (960 samples at 48 kHz) `next` makes, Opus-encoded, one every
    /// 20 ms, for as long as the returned task runs.
    async fn send_frames(
        &self,
        mut next: impl FnMut() -> Vec<i16> + Send + 'static,
    ) -> tokio::task::JoinHandle<()> {
        let (track, ssrc) = self.local.clone().expect("peer has no microphone");
        let pt = self.payload_type().await;
        let clock = self.rtp_next.clone();
        tokio::spawn(async move {
            let mut enc =
                opus::Encoder::new(48000, opus::Channels::Mono, opus::Application::Voip).unwrap();
            let mut out = vec![0u8; 1500];
            let mut tick = tokio::time::interval(Duration::from_millis(20));
            loop {
                tick.tick().await;
                let frame = next();
                let n = enc.encode(&frame, &mut out).unwrap();
                let p = {
                    let mut c = clock.lock().unwrap();
                    let (seq, ts) = *c;
                    *c = (seq.wrapping_add(1), ts.wrapping_add(960));
                    opus_packet(pt, seq, ts, ssrc, &out[..n])
                };
                if track.write_rtp(p).await.is_err() {
                    break;
                }
            }
        })
    }

    /// The payload type our Opus sender negotiated.
    async fn payload_type(&self) -> u8 {
        let sender = self
            .pc
            .get_senders()
            .await
            .into_iter()
            .next()
            .expect("sender");
        sender
            .get_parameters()
            .await
            .ok()
            .and_then(|p| p.rtp_parameters.codecs.first().map(|c| c.payload_type))
            .unwrap_or(111)
    }

    /// Send `pcm` (48 kHz mono) as Opus in real time, then silence until the task is aborted.
    pub async fn start_pcm(&self, pcm: Vec<i16>, looped: bool) -> tokio::task::JoinHandle<()> {
        let mut pos = 0usize;
        self.send_frames(move || {
            if looped && pos >= pcm.len() {
                pos = 0;
            }
            let frame = (0..960)
                .map(|k| pcm.get(pos + k).copied().unwrap_or(0))
                .collect();
            pos += 960;
            frame
        })
        .await
    }

    /// Play back what arrives on slot 0, `delay_ms` later, times `gain`, smoothed by a
    /// one-pole low-pass: a loudspeaker next to the microphone with no echo cancelling.
    pub async fn start_echo(&self, delay_ms: usize, gain: f32) -> tokio::task::JoinHandle<()> {
        let state = self.state.clone();
        let lag = delay_ms * 48;
        let mut cursor = 0usize;
        let mut lp = 0.0f32;
        self.send_frames(move || {
            let st = state.lock().unwrap();
            let rec = st.tracks.get(&0).map(|r| &r.recorded[..]).unwrap_or(&[]);
            if rec.len() < cursor + 960 + lag {
                return vec![0; 960];
            }
            let f = rec[cursor..cursor + 960]
                .iter()
                .map(|&x| {
                    lp = 0.6 * lp + 0.4 * x as f32;
                    (lp * gain) as i16
                })
                .collect();
            cursor += 960;
            f
        })
        .await
    }

    /// What arrived on the server's slot `slot` so far.
    /// How many audio m-lines of the server's answer carry a server track (the slots it
    /// negotiated for us).
    pub async fn audio_slots(&self) -> usize {
        let sdp = self
            .pc
            .remote_description()
            .await
            .expect("answer applied")
            .sdp;
        let mut n = 0;
        let mut in_audio = false;
        for line in sdp.lines() {
            if line.starts_with("m=") {
                in_audio = line.starts_with("m=audio");
            } else if in_audio && line.starts_with("a=msid:") {
                // A server track is attached to this m-line: a slot.
                n += 1;
            }
        }
        n
    }

    pub fn received(&self, slot: usize) -> Received {
        self.state
            .lock()
            .unwrap()
            .tracks
            .get(&slot)
            .cloned()
            .unwrap_or_default()
    }

    /// Start measuring the longest gap between packets on `slot` afresh.
    pub fn reset_gap(&self, slot: usize) {
        if let Some(r) = self.state.lock().unwrap().tracks.get_mut(&slot) {
            r.max_gap = Duration::ZERO;
        }
    }

    /// Total packets received on all tracks.
    pub fn total_packets(&self) -> usize {
        self.state
            .lock()
            .unwrap()
            .tracks
            .values()
            .map(|r| r.packets)
            .sum()
    }

    /// Wait until slot `slot` carries a tone near `hz` (within 5%), returning the measured frequency.
    pub async fn wait_tone(&self, slot: usize, hz: f64) -> f64 {
        let deadline = Instant::now() + WAIT;
        loop {
            let r = self.received(slot);
            if r.pcm.len() >= 48000 / 2 {
                let f = dominant_hz(&r.pcm[r.pcm.len() - 48000 / 2..]);
                if (f - hz).abs() < hz * 0.05 {
                    return f;
                }
            }
            assert!(
                Instant::now() < deadline,
                "slot {slot}: no {hz} Hz tone ({} packets, last freq {:?})",
                r.packets,
                (r.pcm.len() >= 4800).then(|| dominant_hz(&r.pcm[r.pcm.len() - 4800..]))
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn close(&self) {
        let _ = self.pc.close().await;
    }

    /// The next RTP sequence number and timestamp the microphone sends (e.g. a new page's
    /// stream that starts behind the old one's).
    pub fn start_rtp_at(&self, seq: u16, ts: u32) {
        *self.rtp_next.lock().unwrap() = (seq, ts);
    }

    /// The next RTP sequence number and timestamp the microphone would send.
    pub fn rtp_next(&self) -> (u16, u32) {
        *self.rtp_next.lock().unwrap()
    }

    /// Close as a sender that says goodbye does (aiortc): an RTCP BYE for the
    /// sent stream, then the DTLS close.
    pub async fn goodbye_and_close(&self) {
        if let Some((track, ssrc)) = &self.local {
            let bye = rtc::rtcp::goodbye::Goodbye {
                sources: vec![*ssrc],
                reason: Default::default(),
            };
            let _ = track.write_rtcp(vec![Box::new(bye)]).await;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.close().await;
    }
}

/// Frequency of a clean tone by zero crossings.
/// One 20 ms Opus frame as an RTP packet.
fn opus_packet(pt: u8, seq: u16, ts: u32, ssrc: u32, payload: &[u8]) -> rtc::rtp::Packet {
    let mut p = rtc::rtp::Packet::default();
    p.header.version = 2;
    p.header.payload_type = pt;
    p.header.sequence_number = seq;
    p.header.timestamp = ts;
    p.header.ssrc = ssrc;
    p.payload = bytes::Bytes::copy_from_slice(payload);
    p
}

/// The server binary: this build's, or `SB_SERVER_BIN` (a benchmark comparing two builds in
/// one run).
pub fn server_bin() -> std::path::PathBuf {
    std::env::var_os("SB_SERVER_BIN")
        .map(Into::into)
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_switchboard").into())
}

/// Loudness (RMS) of the last `ms` of what a slot received.
pub fn rms_tail(pcm: &[i16], ms: usize) -> f64 {
    let n = (48 * ms).min(pcm.len());
    if n == 0 {
        return 0.0;
    }
    let tail = &pcm[pcm.len() - n..];
    (tail.iter().map(|&s| (s as f64).powi(2)).sum::<f64>() / n as f64).sqrt()
}

/// Write 16-bit mono PCM as a WAV file.
pub fn write_wav_i16(path: &std::path::Path, rate: u32, pcm: &[i16]) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for &x in pcm {
        w.write_sample(x).unwrap();
    }
    w.finalize().unwrap();
}

/// `secs` of a sine tone at `hz`, at `rate`, at about -12 dBFS.
pub fn tone_pcm(hz: f64, rate: u32, secs: f64) -> Vec<i16> {
    (0..(rate as f64 * secs) as usize)
        .map(|i| ((i as f64 * hz * 2.0 * std::f64::consts::PI / rate as f64).sin() * 8000.0) as i16)
        .collect()
}

pub fn dominant_hz(pcm: &[i16]) -> f64 {
    let crossings = pcm.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count();
    crossings as f64 / 2.0 / (pcm.len() as f64 / 48000.0)
}

// ---- flows ----------------------------------------------------------------------------------

/// A customer connected with a call in the queue.
pub struct Customer {
    pub ws: Ws,
    pub peer: Peer,
    pub call_id: String,
}

pub async fn customer_calls(server: &Server, name: &str) -> Customer {
    customer_calls_at(&server.addr, name).await
}

pub async fn customer_calls_at(addr: &str, name: &str) -> Customer {
    customer_calls_with(addr, name, Layout::Talker).await
}

pub async fn customer_calls_with(addr: &str, name: &str, layout: Layout) -> Customer {
    let mut ws = Ws::connect_addr(addr).await;
    let mut peer = Peer::new(layout).await;
    let sdp = peer.offer().await;
    ws.request(json!({"type":"start_call","sdp":sdp,"caller":{"name":name,"topic":"billing"}}))
        .await;
    let answer = ws.expect("answer").await;
    peer.apply_answer(&answer).await;
    let call_id = answer["call_id"].as_str().unwrap().to_string();
    Customer { ws, peer, call_id }
}

/// An agent logged in and available.
pub async fn agent_available(server: &Server, user: &str) -> Ws {
    agent_available_at(&server.addr, user).await
}

pub async fn agent_available_at(addr: &str, user: &str) -> Ws {
    let mut ws = Ws::connect_addr(addr).await;
    ws.login(user).await;
    ws.set_available().await;
    ws
}

/// LibriVox read speech (pocketsphinx-testdata) at 48 kHz, with `pause_ms` of silence after
/// it so that utterances end between loops.
pub fn librivox_48k(pause_ms: usize) -> Vec<i16> {
    let bytes = std::fs::read(
        "/usr/share/pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0870.wav",
    )
    .expect("pocketsphinx-testdata must be installed (make test installs it)");
    let (rate, pcm) = parse_wav_i16(&bytes);
    let mut v = resample_linear(&pcm, rate, 48_000);
    v.extend(vec![0i16; 48 * pause_ms]);
    v
}

/// The agent accepts `call_id` with a fresh peer; returns the peer once connected.
pub async fn agent_accepts(agent: &mut Ws, call_id: &str) -> Peer {
    agent_accepts_with(agent, call_id, Layout::Talker).await
}

pub async fn agent_accepts_with(agent: &mut Ws, call_id: &str, layout: Layout) -> Peer {
    let mut peer = Peer::new(layout).await;
    let sdp = peer.offer().await;
    agent
        .request(json!({"type":"accept","call_id":call_id,"sdp":sdp}))
        .await;
    let answer = agent.expect("answer").await;
    peer.apply_answer(&answer).await;
    peer.wait_connected().await;
    peer
}

/// A chat accepted by `agent_user`: (the customer's session, the call id, the agent's session),
/// once the customer is told it is connected.
pub async fn connected_chat(server: &Server, agent_user: &str, name: &str) -> (Ws, String, Ws) {
    let mut agent = agent_available(server, agent_user).await;
    let mut customer = Ws::connect(server).await;
    let call = customer.start_chat(name, None).await;
    let offer = agent.expect("call_offered").await;
    assert_eq!(offer["call_id"], call.as_str());
    agent
        .request(json!({"type":"accept","call_id": call}))
        .await;
    customer.wait_call_state("connected").await;
    (customer, call, agent)
}

/// A connected call: customer and agent with media up.
pub async fn connected_call(server: &Server, agent_user: &str) -> (Customer, Ws, Peer) {
    connected_call_with(server, agent_user, Layout::Talker).await
}

/// A connected call whose customer and agent peers both have `layout`.
pub async fn connected_call_with(
    server: &Server,
    agent_user: &str,
    layout: Layout,
) -> (Customer, Ws, Peer) {
    let mut agent = agent_available(server, agent_user).await;
    let mut customer = customer_calls_with(&server.addr, "Test Caller", layout).await;
    let offer = agent.expect("call_offered").await;
    assert_eq!(offer["call_id"], customer.call_id.as_str());
    let agent_peer = agent_accepts_with(&mut agent, &customer.call_id, layout).await;
    customer.ws.wait_call_state("connected").await;
    (customer, agent, agent_peer)
}

/// Supervisor sam listens to `call_id` at the server at `addr` with a peer of `layout`;
/// returns the session and the peer once its answer is applied (not waiting for media).
pub async fn supervisor_listens(addr: &str, call_id: &str, layout: Layout) -> (Ws, Peer) {
    supervisor_listens_as(addr, "sam", call_id, layout).await
}

pub async fn supervisor_listens_as(
    addr: &str,
    user: &str,
    call_id: &str,
    layout: Layout,
) -> (Ws, Peer) {
    let mut sup = Ws::connect_addr(addr).await;
    sup.login(user).await;
    let mut peer = Peer::new(layout).await;
    let sdp = peer.offer().await;
    sup.request(json!({"type":"listen","call_id":call_id,"sdp":sdp}))
        .await;
    let answer = sup.expect("answer").await;
    peer.apply_answer(&answer).await;
    (sup, peer)
}

// ---- speech ---------------------------------------------------------------------------------

/// Lower-case words without punctuation ("ill-disposed" → "ill disposed", "Mr." → "mister").
pub fn words(text: &str) -> Vec<String> {
    text.to_lowercase()
        .replace(['-', '—'], " ")
        .split_whitespace()
        .map(|w| {
            w.chars()
                .filter(|c| c.is_alphanumeric() || *c == '\'')
                .collect::<String>()
        })
        .filter(|w| !w.is_empty())
        .map(|w| match w.as_str() {
            "mr" => "mister".to_string(),
            "mrs" => "missus".to_string(),
            _ => w,
        })
        .collect()
}

/// Word error rate of `hyp` against `reference`: (substitutions + deletions + insertions) / words.
pub fn wer(reference: &str, hyp: &str) -> f64 {
    let (r, h) = (words(reference), words(hyp));
    word_edits(&r, &h) as f64 / r.len().max(1) as f64
}

pub fn word_edits(r: &[String], h: &[String]) -> usize {
    switchboard::speech::eval::edit_distance(r, h)
}

/// `switchboard transcribe FILE` with the test model (and `multilingual` for other languages):
/// the text of each utterance.
pub fn transcribe_texts(
    file: &std::path::Path,
    language: &str,
    multilingual: Option<&std::path::Path>,
) -> Vec<String> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_switchboard"));
    cmd.arg("transcribe")
        .arg(file)
        .arg("--model")
        .arg(model_path())
        .args(["--language", language])
        .env("RUST_LOG", "warn");
    if let Some(m) = multilingual {
        cmd.arg("--multilingual-model").arg(m);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            v["text"].as_str().unwrap_or_default().to_string()
        })
        .collect()
}

/// The weekday (`mon` ... `sun`) of the day after tomorrow in UTC: a day on which a queue open
/// only then is closed now and tomorrow.
pub fn day_after_tomorrow_utc() -> &'static str {
    let later = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .checked_add(jiff::Span::new().days(2))
        .unwrap();
    ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        [later.weekday().to_monday_zero_offset() as usize]
}

// ---- the bot's voice -------------------------------------------------------------------------

/// Everything the customer's slot received after `from` samples, once the bot has been
/// quiet for 2 s (at most 90 s).
pub async fn heard_after(peer: &Peer, from: usize) -> Vec<i16> {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let r = peer.received(0);
        if r.recorded.len() > from + 48_000 && r.last_at.is_some_and(|t| t.elapsed().as_secs() >= 2)
        {
            return r.recorded[from..].to_vec();
        }
        assert!(Instant::now() < deadline, "the bot's answer never ended");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits out the greeting (its text and its audio).
pub async fn greeted(customer: &mut Customer) {
    customer.ws.wait_call_state("with_bot").await;
    customer.ws.chat_from("bot").await;
    customer.peer.wait_connected().await;
    heard_after(&customer.peer, 0).await;
}
