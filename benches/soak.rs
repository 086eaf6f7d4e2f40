//! Soak: N talking calls with live transcription, each hung up after a while and replaced, for
//! a long time; reports the server's RSS, open fds, threads, rooms, peer connections, speech
//! streams and ASR queue over time, and what is left after the calls end (it should be
//! nothing). Results go in docs/benchmarks.md.
//!
//! `SOAK_CALLS=50 SOAK_MINUTES=30 cargo bench --bench soak` (defaults: 10 calls, 3 minutes,
//! calls of 45 s, a sample every 30 s).

#[path = "../tests/common/mod.rs"]
mod common;

use common::soak::{self, Sample};
use common::Server;
use std::time::Duration;

fn env<T: std::str::FromStr>(k: &str, d: T) -> T {
    std::env::var(k)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(d)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let calls: usize = env("SOAK_CALLS", 10);
    let minutes: f64 = env("SOAK_MINUTES", 3.0);
    let call_s: f64 = env("SOAK_CALL_S", 45.0);
    let every: f64 = env("SOAK_EVERY_S", 30.0);
    let server = Server::start_with_speech("[center]\nwrap_up_s = 0\n").await;
    let idle = soak::sample(&server, std::time::Instant::now(), 0).await;
    eprintln!("soak: {calls} calls of {call_s} s for {minutes} min");
    let (samples, last) = soak::run(
        &server,
        calls,
        call_s,
        Duration::from_secs_f64(minutes * 60.0),
        Duration::from_secs_f64(every),
    )
    .await;
    println!("{}", Sample::header());
    println!("{} (idle, before)", idle.row());
    for s in &samples {
        println!("{}", s.row());
    }
    println!("{} (after the calls ended)", last.row());
    let steady: Vec<f64> = samples.iter().skip(1).map(|s| s.rss_mib).collect();
    if let (Some(first), Some(lastrss)) = (steady.first(), steady.last()) {
        println!(
            "RSS while talking: first {first:.1} MiB, last {lastrss:.1} MiB ({:+.1} MiB); {} calls completed",
            lastrss - first,
            last.calls_done
        );
    }
}
