//! In a network namespace (or container) without a multicast route, calls work: mDNS is off by
//! default, and turned on it is dropped (with a warning) when its socket cannot be opened.
//! Before, every call there failed with `internal: media setup failed`.
//!
//! The test runs its other half in a new network namespace (`unshare --net --map-root-user`,
//! util-linux), which has only a loopback interface and so no multicast route.

mod common;

use common::*;
use std::process::Command;

#[test]
fn calls_work_without_a_multicast_route() {
    let exe = std::env::current_exe().unwrap();
    let out = Command::new("unshare")
        .args(["--net", "--map-root-user"])
        .arg(&exe)
        .args([
            "--exact",
            "in_a_namespace_without_multicast",
            "--ignored",
            "--nocapture",
        ])
        .output()
        .expect("unshare (util-linux)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("1 passed"),
        "the namespaced half did not run:\n{text}"
    );
}

#[test]
#[ignore = "run by calls_work_without_a_multicast_route inside a new network namespace"]
fn in_a_namespace_without_multicast() {
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
