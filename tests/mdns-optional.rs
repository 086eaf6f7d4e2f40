//! In a network namespace (or container) without a multicast route, calls work: mDNS is off by
//! default, and turned on it is dropped (with a warning) when its socket cannot be opened.
//! Before, every call there failed with `internal: media setup failed`.
//!
//! Needs CAP_SYS_ADMIN (root, as `make test` runs in CI) to make the namespace.

mod common;

use common::*;
use std::process::Command;

#[test]
fn calls_work_without_a_multicast_route() {
    // This thread (and the runtime, server and `ip` started from it) move to a new network
    // namespace that has only a loopback interface: no multicast route.
    #[allow(deprecated)]
    rustix::thread::unshare(rustix::thread::UnshareFlags::NEWNET)
        .expect("a network namespace needs CAP_SYS_ADMIN: run the tests as root");
    let up = Command::new("ip")
        .args(["link", "set", "lo", "up"])
        .status()
        .expect("ip (iproute2)");
    assert!(up.success());
    let routes = Command::new("ip")
        .args(["route", "show", "table", "all"])
        .output()
        .unwrap();
    let routes = String::from_utf8_lossy(&routes.stdout).to_string();
    assert!(
        !routes.contains("224.0.0.0"),
        "the namespace has a multicast route: {routes}"
    );

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        for config in ["", "[media]\nmdns = true\n"] {
            let server = Server::start(config).await;
            let (customer, _agent, agent_peer) = connected_call(&server, "alice").await;
            let _tone = customer.peer.start_tone(440.0).await;
            agent_peer.wait_tone(0, 440.0).await;
            if config.contains("mdns = true") {
                assert!(
                    server.log().contains("mDNS is unavailable"),
                    "{}",
                    server.log()
                );
            }
        }
    });
}
