//! `loadgen`: N concurrent one-to-one audio calls against a Switchboard, through the real
//! protocol (docs/protocol.md) and real WebRTC peers, for a fixed time; then one JSON report.
//!
//! ```text
//! cargo run --release -p loadgen -- --spawn target/release/switchboard --calls 50 --seconds 30
//! cargo run --release -p loadgen -- --addr 127.0.0.1:8080 --pid 1234 --agents load --calls 10
//! ```
//!
//! Each call is a customer (`start_call`) and an agent (`login`, `set_state available`,
//! `accept` of the offered call), each with its own ICE/DTLS/SRTP peer and UDP socket, sending
//! pre-encoded Opus at 50 packets a second each way. Calls start at `--ramp` per second. Once
//! all are up (or failed) and two seconds have passed, a window of `--seconds` opens: packets
//! sent in it are counted per direction, matched on arrival by the send time in their payload
//! (so the one-way time of each is known), and the server's CPU time over the window is read
//! from /proc, with its memory. The generator's own CPU time is in the report too: on a small
//! machine it competes with the server, and the report says by how much.
//!
//! With `--supervise` each call also gets a supervisor listening (`listen`, a receive-only
//! peer connection hearing both parties), so each packet is forwarded twice.
//!
//! With `--spawn BIN` the generator starts that server itself on a free loopback port with a
//! throw-away data directory (no speech, no bot, no wrap-up, agents `load0..` with password
//! `demo` created by `BIN add-user`) and stops it at the end. Loopback only.

mod janus;
mod peer;
mod signal;
mod stats;

use anyhow::{anyhow, bail, Context, Result};
use clap::Parser;
use peer::{Peer, Run};
use serde_json::json;
use signal::Session;
use stats::Direction;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

#[derive(Parser, Debug)]
#[command(about = "Concurrent one-to-one audio calls against a Switchboard; prints a JSON report")]
struct Args {
    /// Address (host:port) of a running server; not with --spawn.
    #[arg(long)]
    addr: Option<String>,
    /// The running server's process id, for its CPU time and memory (/proc).
    #[arg(long)]
    pid: Option<u32>,
    /// Start this switchboard binary on loopback with a throw-away data directory.
    #[arg(long)]
    spawn: Option<PathBuf>,
    /// Concurrent calls (at most 2000).
    #[arg(long, default_value_t = 10)]
    calls: usize,
    /// Calls started per second.
    #[arg(long, default_value_t = 20.0)]
    ramp: f64,
    /// Length of the measurement window, in seconds (at most 600).
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// Agent usernames are PREFIX0, PREFIX1, ... (one per call).
    #[arg(long, default_value = "load")]
    agents: String,
    /// The agents' password.
    #[arg(long, default_value = "demo")]
    password: String,
    /// With --spawn: TOML appended to the server's configuration (e.g. "[media]\nice_check_interval_ms = 200").
    #[arg(long, default_value = "")]
    server_config: String,
    /// Each call also gets a listening supervisor (account `loadsup`, one session and one
    /// receive-only peer connection per call, `listen` once the call is two-way).
    #[arg(long)]
    supervise: bool,
    /// The customer and the agent also send video: a sendrecv VP8 m-line each, synthetic
    /// frames at 30 per second, three packets each, a key frame every 2 s.
    #[arg(long)]
    video: bool,
    /// Send this WAV file (mono, 16-bit) instead of a tone, in a loop, the agent starting
    /// half-way through; with --spawn the server transcribes (speech on), and the report
    /// gains the speech pipeline's figures from /metrics (finals, dropped, latency).
    #[arg(long)]
    speech: Option<PathBuf>,
    /// Drive Janus instead (its HTTP API base, e.g. http://10.203.0.2:8088/janus; the
    /// videocall plugin), with --pid for its CPU and memory: the side-by-side comparison.
    #[arg(long)]
    janus: Option<String>,
    /// The IP address the peers' UDP sockets bind to: loopback, or an address of the network
    /// namespace the run is in (Janus does not use loopback candidates).
    #[arg(long, default_value = "127.0.0.1")]
    bind: String,
    /// Seconds one call may take to set up before it counts as failed.
    #[arg(long, default_value_t = 20)]
    setup_timeout: u64,
}

/// The supervisor account of `--supervise` (created by `--spawn`).
const SUPERVISOR: &str = "loadsup";

/// A server this run started.
struct Spawned {
    child: Child,
    dir: PathBuf,
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn spawn_server(
    bin: &PathBuf,
    agents: &str,
    n: usize,
    password: &str,
    extra: &str,
    supervisor: bool,
    speech: bool,
) -> Result<(Spawned, String)> {
    let dir = std::env::temp_dir().join(format!("sb-loadgen-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let config =
        "[center]\nwrap_up_s = 0\n\n[session]\nidle_timeout_ms = 0\nresume_grace_ms = 0\n\n\
                  [[entry_points]]\nname = \"default\"\nbot = false\n";
    std::fs::write(dir.join("switchboard.toml"), format!("{config}\n{extra}\n"))?;
    eprintln!("loadgen: creating {n} agents");
    let users = (0..n)
        .map(|i| ("agent", format!("{agents}{i}")))
        .chain(supervisor.then(|| ("supervisor", SUPERVISOR.to_string())));
    for (role, user) in users {
        let status = Command::new(bin)
            .args([
                "add-user",
                "--role",
                role,
                "--password",
                password,
                "--username",
            ])
            .arg(&user)
            .arg("--data-dir")
            .arg(&dir)
            .stdout(Stdio::null())
            .status()
            .with_context(|| format!("{} add-user", bin.display()))?;
        if !status.success() {
            bail!("add-user {user} failed");
        }
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let addr = format!("127.0.0.1:{port}");
    let log = std::fs::File::create(dir.join("server.log"))?;
    let mut cmd = Command::new(bin);
    if !speech {
        cmd.arg("--no-speech");
    }
    let child = cmd
        .args(["--listen", &addr])
        .arg("--data-dir")
        .arg(&dir)
        .arg("--config")
        .arg(dir.join("switchboard.toml"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .spawn()
        .with_context(|| format!("start {}", bin.display()))?;
    Ok((Spawned { child, dir }, addr))
}

/// Waits until `GET url` answers with success (a server's `/healthz`, Janus's `/info`).
async fn wait_healthy(url: &str, wait: Duration) -> Result<()> {
    let http = reqwest::Client::new();
    let deadline = Instant::now() + wait;
    loop {
        let r = http.get(url).send().await;
        if r.is_ok_and(|r| r.status().is_success()) {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("{url} did not answer in {wait:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The server's Prometheus text (`GET /metrics`), or None.
async fn scrape(addr: &str) -> Option<String> {
    let r = reqwest::get(format!("http://{addr}/metrics")).await.ok()?;
    r.text().await.ok()
}

/// What one call's setup measured.
#[derive(Default, Debug)]
pub(crate) struct Setup {
    /// start_call sent -> the customer's peer connected (ICE + DTLS).
    customer_connected_ms: Option<f64>,
    /// accept sent -> both sides have received audio from the other.
    accept_to_two_way_ms: Option<f64>,
    /// start_call sent -> both sides have received audio.
    start_to_two_way_ms: Option<f64>,
    /// The call's id (Switchboard calls: for `--supervise`).
    call_id: Option<String>,
    error: Option<String>,
}

pub(crate) struct Shared {
    run: Arc<Run>,
    /// The IP address peers bind to.
    bind: String,
    /// Customer to agent, and agent to customer.
    c2a: Arc<Direction>,
    a2c: Arc<Direction>,
    /// Both parties to the supervisors listening (`--supervise`).
    to_sup: Arc<Direction>,
    supervise: bool,
    /// Video each way (`--video`).
    c2a_video: Arc<Direction>,
    a2c_video: Arc<Direction>,
    video: bool,
    stop: watch::Receiver<bool>,
    wait: Duration,
}

impl Shared {
    /// Where a party's packets count as sent: the other party, and the supervisors.
    fn outgoing(&self, to: &Arc<Direction>) -> Vec<Arc<Direction>> {
        let mut v = vec![to.clone()];
        if self.supervise {
            v.push(self.to_sup.clone());
        }
        v
    }

    /// Where a peer's received video counts, with `--video`.
    fn video_in(&self, d: &Arc<Direction>) -> Option<Arc<Direction>> {
        self.video.then(|| d.clone())
    }
}

/// A supervisor session that logs in (holding one of `logins` meanwhile) and listens to `call_id` until the run stops; `ready`
/// gets the time from `listen` to the first packet heard.
async fn supervisor(
    sh: Arc<Shared>,
    addr: String,
    password: String,
    call_id: String,
    logins: Arc<tokio::sync::Semaphore>,
    ready: tokio::sync::oneshot::Sender<f64>,
) -> Result<()> {
    let mut ws = Session::connect(&addr, sh.wait).await?;
    {
        // A few password checks at a time, as for the agents.
        let _permit = logins.acquire().await?;
        ws.login(SUPERVISOR, &password, Duration::from_secs(120))
            .await?;
    }
    let peer = Peer::listener(sh.run.clone(), sh.to_sup.clone(), &sh.bind).await?;
    let sdp = peer.offer().await?;
    let t0 = Instant::now();
    ws.request(json!({"type": "listen", "call_id": call_id, "sdp": sdp}))
        .await?;
    let answer = ws
        .wait_for(sh.wait, |v| v["type"] == "answer")
        .await
        .context("listen")?;
    peer.apply_answer(answer["sdp"].as_str().unwrap_or_default())
        .await?;
    peer.connected(sh.wait).await?;
    let deadline = Instant::now() + sh.wait;
    while peer.state.first_rx_us.load(Ordering::Relaxed) == 0 {
        if Instant::now() > deadline {
            bail!("the supervisor heard nothing");
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let _ = ready.send(t0.elapsed().as_secs_f64() * 1e3);
    let closed_by_server = ws.drain_until(sh.stop.clone()).await;
    peer.close().await;
    if closed_by_server {
        bail!("the server closed the supervisor's session");
    }
    Ok(())
}

/// An agent that logs in, becomes available, accepts the first call offered and talks until
/// the run stops. Returns its accept time and peer state for the call's setup figures.
async fn agent(
    sh: Arc<Shared>,
    addr: String,
    user: String,
    password: String,
    ready: tokio::sync::oneshot::Sender<()>,
    offered: tokio::sync::mpsc::Sender<(String, Instant, Arc<peer::PeerState>)>,
) -> Result<()> {
    let mut ws = Session::connect(&addr, sh.wait).await?;
    ws.login(&user, &password, Duration::from_secs(120)).await?;
    ws.request(json!({"type": "set_state", "state": "available"}))
        .await?;
    ws.wait_for(sh.wait, |v| {
        v["type"] == "agent_state" && v["state"] == "available"
    })
    .await
    .context("set available")?;
    let _ = ready.send(());
    // The whole run may pass before a call is offered to this agent.
    let offer = ws
        .wait_for(Duration::from_secs(3600), |v| v["type"] == "call_offered")
        .await?;
    let call_id = offer["call_id"]
        .as_str()
        .ok_or_else(|| anyhow!("call_offered without call_id"))?
        .to_string();
    let peer = Peer::new(
        sh.run.clone(),
        sh.c2a.clone(),
        &sh.bind,
        sh.video_in(&sh.c2a_video),
    )
    .await?;
    let sdp = peer.offer().await?;
    let t_accept = Instant::now();
    ws.request(json!({"type": "accept", "call_id": call_id, "sdp": sdp}))
        .await?;
    let answer = ws
        .wait_for(sh.wait, |v| v["type"] == "answer")
        .await
        .context("accept")?;
    peer.apply_answer(answer["sdp"].as_str().unwrap_or_default())
        .await?;
    let _ = offered.send((call_id, t_accept, peer.state.clone())).await;
    peer.connected(sh.wait).await?;
    let send = peer.send(
        sh.run.clone(),
        sh.outgoing(&sh.a2c),
        sh.run.half(),
        sh.stop.clone(),
    );
    let cam = peer.send_video(sh.run.clone(), sh.a2c_video.clone(), sh.stop.clone());
    let drain = ws.drain_until(sh.stop.clone());
    let (_, _, closed_by_server) = tokio::join!(send, cam, drain);
    peer.close().await;
    if closed_by_server {
        bail!("the server closed {user}'s session");
    }
    Ok(())
}

/// A customer who calls, talks until the run stops, and hangs up. Returns its call id, when
/// it started, and its setup figure so far.
async fn customer(
    sh: Arc<Shared>,
    addr: String,
    name: String,
    started: tokio::sync::mpsc::Sender<(String, Instant, Arc<peer::PeerState>, f64)>,
) -> Result<()> {
    let mut ws = Session::connect(&addr, sh.wait).await?;
    let peer = Peer::new(
        sh.run.clone(),
        sh.a2c.clone(),
        &sh.bind,
        sh.video_in(&sh.a2c_video),
    )
    .await?;
    let sdp = peer.offer().await?;
    let t0 = Instant::now();
    ws.request(json!({"type": "start_call", "sdp": sdp, "caller": {"name": name}}))
        .await?;
    let answer = ws
        .wait_for(sh.wait, |v| v["type"] == "answer")
        .await
        .context("start_call")?;
    peer.apply_answer(answer["sdp"].as_str().unwrap_or_default())
        .await?;
    let call_id = answer["call_id"].as_str().unwrap_or_default().to_string();
    peer.connected(sh.wait).await?;
    let connected_ms = t0.elapsed().as_secs_f64() * 1000.0;
    let _ = started
        .send((call_id, t0, peer.state.clone(), connected_ms))
        .await;
    let send = peer.send(sh.run.clone(), sh.outgoing(&sh.c2a), 0, sh.stop.clone());
    let cam = peer.send_video(sh.run.clone(), sh.c2a_video.clone(), sh.stop.clone());
    let drain = ws.drain_until(sh.stop.clone());
    let (_, _, closed_by_server) = tokio::join!(send, cam, drain);
    peer.close().await;
    if closed_by_server {
        bail!("the server closed the customer's session");
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    if args.calls == 0 || args.calls > 2000 {
        bail!("--calls must be 1..=2000");
    }
    if args.seconds == 0 || args.seconds > 600 {
        bail!("--seconds must be 1..=600");
    }
    let ramp = args.ramp.clamp(0.1, 1000.0);
    let (_spawned, addr, pid) = match (&args.spawn, &args.addr, &args.janus) {
        (Some(bin), None, None) => {
            let (s, addr) = spawn_server(
                bin,
                &args.agents,
                args.calls,
                &args.password,
                &args.server_config,
                args.supervise,
                args.speech.is_some(),
            )?;
            let pid = s.child.id();
            (Some(s), addr, Some(pid))
        }
        (None, Some(a), None) => (None, a.clone(), args.pid),
        (None, None, Some(j)) => (None, j.trim_end_matches('/').to_string(), args.pid),
        _ => bail!("give one of --spawn BIN, --addr HOST:PORT or --janus URL"),
    };
    if args.supervise && args.janus.is_some() {
        bail!("--supervise is for Switchboard calls (Janus's videocall has no listener)");
    }
    this_host_only(&host_of(&addr))?;
    this_host_only(&args.bind)?;
    let health = if args.janus.is_some() {
        format!("{addr}/info")
    } else {
        format!("http://{addr}/healthz")
    };
    wait_healthy(&health, Duration::from_secs(30)).await?;
    let idle = pid.and_then(stats::memory_kib);

    let (stop_tx, stop) = watch::channel(false);
    let sh = Arc::new(Shared {
        run: Arc::new(Run::new(args.speech.as_deref())?),
        bind: args.bind.clone(),
        c2a: Arc::new(Direction::default()),
        a2c: Arc::new(Direction::default()),
        to_sup: Arc::new(Direction::default()),
        supervise: args.supervise,
        c2a_video: Arc::new(Direction::default()),
        a2c_video: Arc::new(Direction::default()),
        video: args.video,
        stop,
        wait: Duration::from_secs(args.setup_timeout),
    });

    let (mut tasks, setups, t_ramp, before_calls, cpu_before_ramp) = if args.janus.is_some() {
        janus_setup(&sh, &addr, pid, args.calls, ramp).await
    } else {
        // 1. Agents, a few logins at a time (password checks are deliberately slow).
        eprintln!("loadgen: {} agents log in", args.calls);
        let (offered_tx, mut offered_rx) = tokio::sync::mpsc::channel(args.calls.max(1));
        let mut tasks = tokio::task::JoinSet::new();
        let logins = Arc::new(tokio::sync::Semaphore::new(4));
        let mut ready = Vec::new();
        for i in 0..args.calls {
            let (tx, rx) = tokio::sync::oneshot::channel();
            ready.push(rx);
            let (sh, addr, user, pw, off) = (
                sh.clone(),
                addr.clone(),
                format!("{}{i}", args.agents),
                args.password.clone(),
                offered_tx.clone(),
            );
            let permit = logins.clone();
            tasks.spawn(async move {
                let p = permit.acquire_owned().await;
                let (tx2, rx2) = tokio::sync::oneshot::channel();
                let run = tokio::spawn(agent(sh, addr, user, pw, tx2, off));
                let _ = rx2.await;
                drop(p);
                let _ = tx.send(());
                (
                    "agent",
                    run.await.map_err(|e| anyhow!("{e}")).and_then(|r| r),
                )
            });
        }
        drop(offered_tx);
        let mut agents_ready = 0;
        for r in ready {
            if r.await.is_ok() {
                agents_ready += 1;
            }
        }

        // Memory with the agents logged in and no call: what calls add is measured from here.
        let before_calls = pid.and_then(stats::memory_kib);

        // 2. Customers, at the ramp rate.
        eprintln!(
            "loadgen: {agents_ready} agents available; {} calls at {ramp}/s",
            args.calls
        );
        let (started_tx, mut started_rx) = tokio::sync::mpsc::channel(args.calls.max(1));
        let cpu_before_ramp = pid.and_then(|p| stats::cpu_seconds(Some(p)));
        let t_ramp = Instant::now();
        for i in 0..args.calls {
            let due = t_ramp + Duration::from_secs_f64(i as f64 / ramp);
            tokio::time::sleep_until(due.into()).await;
            let (sh, addr, tx) = (sh.clone(), addr.clone(), started_tx.clone());
            tasks.spawn(async move {
                (
                    "customer",
                    customer(sh, addr, format!("Load {i}"), tx).await,
                )
            });
        }
        drop(started_tx);

        // 3. Setup: every call's customer and agent both hear the other, or time out.
        let mut customers = std::collections::HashMap::new();
        let mut accepted = std::collections::HashMap::new();
        let setup_deadline = Instant::now() + sh.wait + Duration::from_secs(2);
        let mut setups: Vec<Setup> = Vec::new();
        loop {
            while let Ok((id, t0, st, ms)) = started_rx.try_recv() {
                customers.insert(id, (t0, st, ms));
            }
            while let Ok((id, ta, st)) = offered_rx.try_recv() {
                accepted.insert(id, (ta, st));
            }
            let ids: Vec<String> = customers.keys().cloned().collect();
            for id in ids {
                let Some((ta, ast)) = accepted.get(&id) else {
                    continue;
                };
                let (t0, cst, ms) = &customers[&id];
                let (a, c) = (
                    ast.first_rx_us.load(Ordering::Relaxed),
                    cst.first_rx_us.load(Ordering::Relaxed),
                );
                if a == 0 || c == 0 {
                    continue;
                }
                // Both first packets are on the run's clock; the setups' starts on Instant.
                let two_way = sh.run.epoch_instant(a.max(c));
                setups.push(Setup {
                    customer_connected_ms: Some(*ms),
                    accept_to_two_way_ms: Some(
                        two_way.saturating_duration_since(*ta).as_secs_f64() * 1e3,
                    ),
                    start_to_two_way_ms: Some(
                        two_way.saturating_duration_since(*t0).as_secs_f64() * 1e3,
                    ),
                    call_id: Some(id.clone()),
                    error: None,
                });
                customers.remove(&id);
                accepted.remove(&id);
            }
            collect_failures(&mut tasks, &mut setups);
            if setups.len() >= args.calls || Instant::now() > setup_deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        (tasks, setups, t_ramp, before_calls, cpu_before_ramp)
    };
    let ramp_s = t_ramp.elapsed().as_secs_f64();
    let connected = setups
        .iter()
        .filter(|s| s.error.is_none())
        .count()
        .min(args.calls);
    eprintln!("loadgen: {connected} calls two-way in {ramp_s:.1} s");

    // 3b. A supervisor listening to each two-way call, a few logins at a time.
    let mut listen_ms = Vec::new();
    if sh.supervise {
        let logins = Arc::new(tokio::sync::Semaphore::new(4));
        let mut waiting = Vec::new();
        for id in setups.iter().filter_map(|s| s.call_id.clone()) {
            let (tx, rx) = tokio::sync::oneshot::channel();
            let (sh2, addr2, pw, permit) = (
                sh.clone(),
                addr.clone(),
                args.password.clone(),
                logins.clone(),
            );
            tasks.spawn(async move {
                let r = supervisor(sh2, addr2, pw, id, permit, tx).await;
                if let Err(e) = &r {
                    eprintln!("loadgen: supervisor: {e:#}");
                }
                ("supervisor", r)
            });
            waiting.push(rx);
        }
        let deadline = tokio::time::Instant::now() + sh.wait + Duration::from_secs(120);
        for rx in waiting {
            if let Ok(Ok(ms)) = tokio::time::timeout_at(deadline, rx).await {
                listen_ms.push(ms);
            }
        }
        eprintln!("loadgen: {} supervisors listening", listen_ms.len());
    }
    eprintln!("loadgen: measuring {} s", args.seconds);

    // 4. The window.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let speech = args.speech.is_some() && args.janus.is_none();
    let metrics0 = if speech { scrape(&addr).await } else { None };
    let cpu0 = pid.and_then(|p| stats::cpu_seconds(Some(p)));
    let self0 = stats::cpu_seconds(None);
    let w0 = Instant::now();
    sh.run.open_window();
    tokio::time::sleep(Duration::from_secs(args.seconds)).await;
    sh.run.close_window();
    let window_s = w0.elapsed().as_secs_f64();
    let cpu1 = pid.and_then(|p| stats::cpu_seconds(Some(p)));
    let self1 = stats::cpu_seconds(None);
    let mem = pid.and_then(stats::memory_kib);
    // Packets sent at the window's end are still on their way; so are the window's last
    // finals (a few seconds behind their audio).
    tokio::time::sleep(Duration::from_millis(500)).await;
    let speech_report = if speech {
        tokio::time::sleep(Duration::from_secs(5)).await;
        match (metrics0, scrape(&addr).await) {
            (Some(a), Some(b)) => stats::speech_report(&a, &b),
            _ => json!("metrics not readable"),
        }
    } else {
        json!(null)
    };
    let _ = stop_tx.send(true);
    let mut session_errors = 0;
    while let Some(r) = tokio::time::timeout(Duration::from_secs(10), tasks.join_next())
        .await
        .ok()
        .flatten()
    {
        if let Ok((_, Err(_))) = r {
            session_errors += 1;
        }
    }

    let server_cpu = match (cpu0, cpu1) {
        (Some(a), Some(b)) => Some(b - a),
        _ => None,
    };
    let video_forwarded = sh.c2a_video.received.load(Ordering::Relaxed)
        + sh.a2c_video.received.load(Ordering::Relaxed);
    let forwarded = sh.c2a.received.load(Ordering::Relaxed)
        + sh.a2c.received.load(Ordering::Relaxed)
        + sh.to_sup.received.load(Ordering::Relaxed)
        + video_forwarded;
    let errors: Vec<&String> = setups.iter().filter_map(|s| s.error.as_ref()).collect();
    let pick = |f: fn(&Setup) -> Option<f64>| setups.iter().filter_map(f).collect::<Vec<f64>>();
    let report = json!({
        "calls": {
            "requested": args.calls,
            "two_way": connected,
            "failed": args.calls - connected,
            "first_errors": errors.iter().take(5).collect::<Vec<_>>(),
            "ended_early": session_errors,
            "ramp_s": (ramp_s * 10.0).round() / 10.0,
        },
        "setup_ms": {
            "customer_offer_to_connected": stats::summary(pick(|s| s.customer_connected_ms)),
            "accept_to_two_way_audio": stats::summary(pick(|s| s.accept_to_two_way_ms)),
            "start_call_to_two_way_audio": stats::summary(pick(|s| s.start_to_two_way_ms)),
        },
        "window_s": (window_s * 100.0).round() / 100.0,
        "customer_to_agent": sh.c2a.report(),
        "agent_to_customer": sh.a2c.report(),
        "supervisors": if sh.supervise { json!({
            "listening": listen_ms.len(),
            "listen_to_first_audio_ms": stats::summary(listen_ms),
            "both_parties_to_supervisors": sh.to_sup.report(),
        }) } else { json!(null) },
        "speech": speech_report,
        "video": if sh.video { json!({
            "customer_to_agent": sh.c2a_video.report(),
            "agent_to_customer": sh.a2c_video.report(),
        }) } else { json!(null) },
        "server": {
            "pid": pid,
            "cpu_s": server_cpu.map(|c| (c * 100.0).round() / 100.0),
            "cpu_percent_of_one_core": server_cpu.map(|c| (c * 1000.0 / window_s).round() / 10.0),
            "forwarded_packets": forwarded,
            "forwarded_video_packets": video_forwarded,
            "packets_per_cpu_second": server_cpu.filter(|c| *c > 0.0).map(|c| (forwarded as f64 / c).round()),
            "cpu_us_per_packet": server_cpu.filter(|_| forwarded > 0).map(|c| (c * 1e7 / forwarded as f64).round() / 10.0),
            "ramp_cpu_s": match (cpu_before_ramp, cpu0) { (Some(a), Some(b)) => Some(((b - a) * 100.0).round() / 100.0), _ => None },
            "rss_at_start_mib": idle.map(|(r, _)| r / 1024),
            "rss_agents_logged_in_mib": before_calls.map(|(r, _)| r / 1024),
            "rss_mib": mem.map(|(r, _)| r / 1024),
            "peak_rss_mib": mem.map(|(_, h)| h / 1024),
            "rss_per_call_kib": match (before_calls, mem) {
                (Some((a, _)), Some((b, _))) if connected > 0 => Some((b.saturating_sub(a)) / connected as u64),
                _ => None,
            },
        },
        "loadgen": {
            "cpu_s": match (self0, self1) { (Some(a), Some(b)) => Some(((b - a) * 100.0).round() / 100.0), _ => None },
            "cpu_percent_of_one_core": match (self0, self1) { (Some(a), Some(b)) => Some(((b - a) * 1000.0 / window_s).round() / 10.0), _ => None },
            "cores": std::thread::available_parallelism().map_or(1, |n| n.get()),
        },
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

/// The setup phase through Janus: calls start at `ramp` per second, each its own task (both
/// participants); returns once every call is two-way or has failed, or the deadline passed.
async fn janus_setup(
    sh: &Arc<Shared>,
    base: &str,
    pid: Option<u32>,
    calls: usize,
    ramp: f64,
) -> (Tasks, Vec<Setup>, Instant, Option<(u64, u64)>, Option<f64>) {
    let mut tasks: Tasks = tokio::task::JoinSet::new();
    let before_calls = pid.and_then(stats::memory_kib);
    eprintln!("loadgen: {calls} calls through Janus at {ramp}/s");
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(4 * calls)
        .build()
        .unwrap_or_default();
    let (done_tx, mut done_rx) = tokio::sync::mpsc::channel(calls.max(1));
    let cpu_before_ramp = pid.and_then(|p| stats::cpu_seconds(Some(p)));
    let t_ramp = Instant::now();
    for i in 0..calls {
        let due = t_ramp + Duration::from_secs_f64(i as f64 / ramp);
        tokio::time::sleep_until(due.into()).await;
        let (sh, http, base, tx) = (sh.clone(), http.clone(), base.to_string(), done_tx.clone());
        tasks.spawn(async move { ("call", janus::call(sh, http, base, i, tx).await) });
    }
    drop(done_tx);
    let deadline = Instant::now() + sh.wait + Duration::from_secs(2);
    let mut setups = Vec::new();
    while setups.len() < calls && Instant::now() < deadline {
        while let Ok(s) = done_rx.try_recv() {
            setups.push(s);
        }
        collect_failures(&mut tasks, &mut setups);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    (tasks, setups, t_ramp, before_calls, cpu_before_ramp)
}

type Tasks = tokio::task::JoinSet<(&'static str, Result<()>)>;

/// The host part of `host:port` or of a URL.
fn host_of(addr: &str) -> String {
    let rest = addr.split("://").last().unwrap_or(addr);
    let hostport = rest.split('/').next().unwrap_or(rest);
    if let Some(v6) = hostport.strip_prefix('[') {
        return v6.split(']').next().unwrap_or(v6).to_string();
    }
    hostport
        .rsplit_once(':')
        .map_or(hostport, |(h, _)| h)
        .to_string()
}

/// Refuses anything but this host: loopback, or an address of an interface here (in the
/// network namespace the run is in), which is what binding a socket to it proves.
fn this_host_only(host: &str) -> Result<()> {
    if host == "localhost" {
        return Ok(());
    }
    let ip: std::net::IpAddr = host
        .parse()
        .map_err(|_| anyhow!("loadgen needs an IP address of this host, not {host:?}"))?;
    if ip.is_loopback() || std::net::UdpSocket::bind((ip, 0)).is_ok() {
        return Ok(());
    }
    bail!("loadgen targets this host only (loopback or an address of this namespace): {ip}")
}

/// Records the tasks that ended with an error during setup: each is a call that failed (a
/// failed customer may leave its agent waiting, which is not counted twice).
fn collect_failures(tasks: &mut Tasks, setups: &mut Vec<Setup>) {
    while let Some(r) = tasks.try_join_next() {
        let (who, res) = match r {
            Ok(x) => x,
            Err(e) => ("task", Err(anyhow!("{e}"))),
        };
        if let Err(e) = res {
            setups.push(Setup {
                error: Some(format!("{who}: {e:#}")),
                ..Default::default()
            });
        }
    }
}
