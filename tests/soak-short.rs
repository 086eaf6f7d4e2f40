//! The CI variant of the soak benchmark (`benches/soak.rs`): calls with speech come and go for
//! a minute; afterwards no room, peer connection, speech stream, queued job or session is left,
//! and file descriptors and threads are back where they were.

mod common;

use common::soak;
use common::Server;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_coming_and_going_leave_nothing_behind() {
    let server = Server::start_with_speech("[center]\nwrap_up_s = 0\n").await;
    let before = soak::sample(&server, std::time::Instant::now(), 0).await;
    let (samples, last) = soak::run(
        &server,
        3,
        12.0,
        Duration::from_secs(60),
        Duration::from_secs(10),
    )
    .await;
    for s in &samples {
        eprintln!("{}", s.row());
    }
    eprintln!("{}", last.row());
    assert!(
        last.calls_done >= 9,
        "only {} calls completed",
        last.calls_done
    );
    assert_eq!(last.rooms, 0.0);
    assert_eq!(last.peers, 0.0);
    assert_eq!(last.streams, 0.0);
    assert_eq!(last.asr_queue, 0.0);
    assert_eq!(last.sessions, 0.0);
    assert!(
        last.fds <= before.fds + 4,
        "fds {} before, {} after",
        before.fds,
        last.fds
    );
    // Whisper's worker threads start with the first job; nothing else may stay.
    let peak_threads = samples.iter().map(|s| s.threads).max().unwrap_or(0);
    assert!(last.threads <= peak_threads, "threads grew after the calls");
}
