//! Customer and agent hear each other; a listening supervisor hears both; nobody hears the
//! supervisor, not even in a second audio slot that customer and agent negotiated and that
//! would carry a whispering or barging supervisor. Each party sends its own tone, so what
//! arrives where proves the routing.

mod common;
use common::*;
use std::time::Duration;

const CUSTOMER_HZ: f64 = 440.0;
const AGENT_HZ: f64 = 880.0;
const SUPERVISOR_HZ: f64 = 1320.0;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audio_flows_by_role() {
    let server = Server::start("").await;
    let (customer, _agent_ws, agent_peer) =
        connected_call_with(&server, "alice", Layout::MicAndTwoSlots).await;
    customer.peer.wait_connected().await;
    let _c = customer.peer.start_tone(CUSTOMER_HZ).await;
    let _a = agent_peer.start_tone(AGENT_HZ).await;

    // Customer -> agent and agent -> customer.
    agent_peer.wait_tone(0, CUSTOMER_HZ).await;
    customer.peer.wait_tone(0, AGENT_HZ).await;

    // A supervisor listens; its own microphone sends a third tone that must reach nobody.
    let (_sup, sup_peer) =
        supervisor_listens(&server.addr, &customer.call_id, Layout::MicAndTwoSlots).await;
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
    // Their second slots exist (negotiated, ready for a second voice) and carry nothing: a
    // listening supervisor is heard by nobody.
    assert_eq!(customer.peer.received(1).packets, 0);
    assert_eq!(agent_peer.received(1).packets, 0);
    assert_eq!(customer.peer.audio_slots().await, 2);
    assert_eq!(agent_peer.audio_slots().await, 2);
    assert!(
        server
            .metric("switchboard_forwarded_rtp_packets_total{kind=\"audio\"}")
            .await
            > 200.0
    );
}
