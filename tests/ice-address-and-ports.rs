//! The UDP port range and the address advertised in ICE candidates come from the configuration
//! (a server behind NAT advertises its public address, never its private one).

mod common;
use common::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answer_advertises_configured_address_and_ports() {
    let server = Server::start(
        "[media]\nport_min = 41000\nport_max = 41009\npublic_ips = [\"198.51.100.7\"]\n",
    )
    .await;
    for _ in 0..3 {
        let mut ws = Ws::connect(&server).await;
        let peer = Peer::new(Layout::Talker).await;
        let sdp = peer.offer().await;
        ws.request(json!({"type":"start_call","sdp":sdp})).await;
        let answer = ws.expect("answer").await;
        let sdp = answer["sdp"].as_str().unwrap();
        let candidates: Vec<&str> = sdp
            .lines()
            .filter(|l| l.starts_with("a=candidate"))
            .collect();
        assert!(!candidates.is_empty(), "no candidates in answer:\n{sdp}");
        for c in &candidates {
            let f: Vec<&str> = c.split_whitespace().collect();
            assert_eq!(f[4], "198.51.100.7", "advertised address in {c}");
            let port: u16 = f[5].parse().unwrap();
            assert!(
                (41000..=41009).contains(&port),
                "port {port} outside the range in {c}"
            );
        }
        assert!(!sdp.contains("127.0.0.1"), "private address leaked:\n{sdp}");
    }
}
