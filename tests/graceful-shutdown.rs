//! SIGTERM ends every live call with reason `server_shutdown`, tells every client, closes the
//! peers and exits cleanly; the call record is complete in the database.

mod common;
use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_ends_calls_and_tells_everyone() {
    let mut server = Server::start("").await;
    let (mut customer, mut agent, agent_peer) = connected_call(&server, "alice").await;
    let mut waiting = customer_calls(&server, "Waiting").await;
    waiting.ws.wait_call_state("queued").await;

    let status = server.terminate();
    assert!(status.success(), "exit status {status}");

    for ws in [&mut customer.ws, &mut agent, &mut waiting.ws] {
        let ended = ws.wait_call_state("ended").await;
        assert_eq!(ended["reason"], "server_shutdown");
        ws.expect_error("shutting_down").await;
    }
    // The peers were closed by the server, not left to time out.
    let deadline = std::time::Instant::now() + WAIT;
    while agent_peer.connected() || customer.peer.connected() {
        assert!(
            std::time::Instant::now() < deadline,
            "peers still connected"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    // Both calls are on record as ended, nothing half-written.
    let db = server.data_dir.join("switchboard.db");
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(c.execute(\"select count(*) from calls where ended_at is not null and end_reason='server_shutdown'\").fetchone()[0])",
        ])
        .arg(&db)
        .output()
        .expect("python3");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "2");
}
