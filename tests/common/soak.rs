//! The soak driver shared by `benches/soak.rs` (long, documented) and `tests/soak-short.rs`
//! (CI): keeps `calls` talking calls up, each hung up after `call_s` and replaced by a new one,
//! for `duration`, sampling the server's resources, then ends everything and samples again.

use super::*;

#[derive(Clone, Debug)]
pub struct Sample {
    pub at_s: f64,
    pub rss_mib: f64,
    pub fds: usize,
    pub threads: usize,
    pub rooms: f64,
    pub peers: f64,
    pub streams: f64,
    pub asr_queue: f64,
    pub sessions: f64,
    pub calls_done: usize,
}

impl Sample {
    pub fn header() -> &'static str {
        "| t (s) | RSS (MiB) | fds | threads | rooms | peer connections | speech streams | ASR queue | WS sessions | calls done |\n|---|---|---|---|---|---|---|---|---|---|"
    }

    pub fn row(&self) -> String {
        format!(
            "| {:.0} | {:.1} | {} | {} | {} | {} | {} | {} | {} | {} |",
            self.at_s,
            self.rss_mib,
            self.fds,
            self.threads,
            self.rooms,
            self.peers,
            self.streams,
            self.asr_queue,
            self.sessions,
            self.calls_done
        )
    }
}

pub async fn sample(server: &Server, t0: Instant, calls_done: usize) -> Sample {
    let pid = server.pid();
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0);
    let threads = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Threads:"))
                .and_then(|v| v.trim().parse().ok())
        })
        .unwrap_or(0);
    Sample {
        at_s: t0.elapsed().as_secs_f64(),
        rss_mib: server.rss_kib() as f64 / 1024.0,
        fds,
        threads,
        rooms: server.metric("switchboard_rooms").await,
        peers: server.metric("switchboard_peer_connections").await,
        streams: server.metric("switchboard_speech_streams").await,
        asr_queue: server.metric("switchboard_asr_queue_depth").await,
        sessions: server.metric("switchboard_ws_sessions").await,
        calls_done,
    }
}

/// Run the soak; returns the samples taken while calls ran and the final one after they ended.
pub async fn run(
    server: &Server,
    calls: usize,
    call_s: f64,
    duration: Duration,
    every: Duration,
) -> (Vec<Sample>, Sample) {
    let agents: Vec<String> = (0..calls).map(|i| format!("soak{i}")).collect();
    for a in &agents {
        server.add_agent(a);
    }
    let speech = Arc::new(librivox_48k(700));
    let done = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let t0 = Instant::now();
    let mut workers = vec![];
    for (i, a) in agents.iter().enumerate() {
        let agent_user = a.clone();
        let addr = server.addr.clone();
        let speech = speech.clone();
        let done = done.clone();
        let stop = stop.clone();
        // Stagger the slots so calls do not all start and end together.
        let delay = Duration::from_secs_f64(call_s * i as f64 / calls as f64);
        workers.push(tokio::spawn(async move {
            tokio::time::sleep(delay.min(Duration::from_secs(5))).await;
            let mut agent = agent_available_at(&addr, &agent_user).await;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let mut customer = customer_calls_at(&addr, "Soak").await;
                let offer = agent
                    .wait_for("offer", |v| v["type"] == "call_offered")
                    .await;
                let call_id = offer["call_id"].as_str().unwrap().to_string();
                let agent_peer = agent_accepts(&mut agent, &call_id).await;
                let offset = (i * 7919) % speech.len();
                let mut pcm = speech[offset..].to_vec();
                pcm.extend_from_slice(&speech[..offset]);
                let audio = customer.peer.start_pcm(pcm, true).await;
                tokio::time::sleep(Duration::from_secs_f64(call_s)).await;
                customer
                    .ws
                    .request(json!({"type":"hang_up","call_id":customer.call_id}))
                    .await;
                customer.ws.wait_call_state("ended").await;
                audio.abort();
                customer.peer.close().await;
                customer.ws.close().await;
                // This slot's agent may have taken another slot's customer: that call ends when
                // its slot hangs up. Only then does the agent's peer close (closing it mid-call
                // is an agent lost: the call would go back to the queue).
                agent
                    .wait_for_within("wrap_up", Duration::from_secs_f64(call_s + 30.0), |v| {
                        v["type"] == "agent_state" && v["state"] == "wrap_up"
                    })
                    .await;
                agent_peer.close().await;
                agent.set_available().await;
                done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            agent.close().await;
        }));
    }
    let mut samples = vec![];
    while t0.elapsed() < duration {
        tokio::time::sleep(every).await;
        samples.push(sample(server, t0, done.load(std::sync::atomic::Ordering::Relaxed)).await);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in workers {
        let _ = w.await;
    }
    // Everything has ended: give clean-up its second, then look.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let last = sample(server, t0, done.load(std::sync::atomic::Ordering::Relaxed)).await;
    (samples, last)
}
