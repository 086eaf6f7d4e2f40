//! Customer and agent hear each other; a listening supervisor hears both; nobody hears the
//! supervisor. Each party sends its own tone, so what arrives where proves the routing.

mod common;
use common::*;
use serde_json::json;
use std::time::Duration;

const CUSTOMER_HZ: f64 = 440.0;
const AGENT_HZ: f64 = 880.0;
const SUPERVISOR_HZ: f64 = 1320.0;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audio_flows_by_role() {
    let server = Server::start("").await;
    let (customer, _agent_ws, agent_peer) = connected_call(&server, "alice").await;
    customer.peer.wait_connected().await;
    let _c = customer.peer.start_tone(CUSTOMER_HZ).await;
    let _a = agent_peer.start_tone(AGENT_HZ).await;

    // Customer -> agent and agent -> customer.
    agent_peer.wait_tone(0, CUSTOMER_HZ).await;
    customer.peer.wait_tone(0, AGENT_HZ).await;

    // A supervisor listens; its own microphone sends a third tone that must reach nobody.
    let mut sup = Ws::connect(&server).await;
    sup.login("sam").await;
    let mut sup_peer = Peer::new(Layout::ListenerWithMic).await;
    let sdp = sup_peer.offer().await;
    sup.request(json!({"type":"listen","call_id":customer.call_id,"sdp":sdp}))
        .await;
    let answer = sup.expect("answer").await;
    sup_peer.apply_answer(&answer).await;
    sup_peer.wait_connected().await;
    let _s = sup_peer.start_tone(SUPERVISOR_HZ).await;

    let heard_customer = sup_peer.wait_tone(0, CUSTOMER_HZ).await;
    let heard_agent = sup_peer.wait_tone(1, AGENT_HZ).await;
    println!(
        "supervisor hears customer at {heard_customer:.0} Hz and agent at {heard_agent:.0} Hz"
    );

    // Two more seconds of everyone talking: customer and agent still hear only each other.
    tokio::time::sleep(Duration::from_secs(2)).await;
    agent_peer.wait_tone(0, CUSTOMER_HZ).await;
    customer.peer.wait_tone(0, AGENT_HZ).await;
    let c = customer.peer.received(0);
    let a = agent_peer.received(0);
    for (who, r) in [("customer", &c), ("agent", &a)] {
        let f = dominant_hz(&r.pcm[r.pcm.len() - 24000..]);
        assert!(
            (f - SUPERVISOR_HZ).abs() > 100.0,
            "{who} hears the supervisor ({f} Hz)"
        );
    }
    // Neither has any track other than the one for the other party.
    assert_eq!(customer.peer.received(1).packets, 0);
    assert_eq!(agent_peer.received(1).packets, 0);
    assert!(
        server
            .metric("switchboard_forwarded_rtp_packets_total{kind=\"audio\"}")
            .await
            > 200.0
    );
}
