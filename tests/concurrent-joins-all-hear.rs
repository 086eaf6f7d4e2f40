//! Participants joining at the same moment all end up wired: four supervisors start listening
//! while the agent's media is still coming up, and each of them hears both the customer and
//! the agent. (A rewire that copied the participant list before taking its lock could leave a
//! listener without a source when two joins raced.)

mod common;
use common::*;

const CUSTOMER_HZ: f64 = 440.0;
const AGENT_HZ: f64 = 880.0;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn supervisors_joining_together_all_hear_both_sides() {
    let server = Server::start("").await;
    for i in 0..4 {
        server.add_user(&format!("sup{i}"), "supervisor");
    }
    let mut agent = agent_available(&server, "alice").await;
    let customer = customer_calls(&server, "Test Caller").await;
    customer.peer.wait_connected().await;
    let _c = customer.peer.start_tone(CUSTOMER_HZ).await;
    agent.expect("call_offered").await;
    let call_id = customer.call_id.clone();

    // The agent accepts and four supervisors listen, all at once.
    let accept = {
        let call_id = call_id.clone();
        tokio::spawn(async move {
            let peer = agent_accepts(&mut agent, &call_id).await;
            let tone = peer.start_tone(AGENT_HZ).await;
            (agent, peer, tone)
        })
    };
    let listeners: Vec<_> = (0..4)
        .map(|i| {
            let addr = server.addr.clone();
            let call_id = call_id.clone();
            tokio::spawn(async move {
                supervisor_listens_as(&addr, &format!("sup{i}"), &call_id, Layout::Listener).await
            })
        })
        .collect();
    let (_agent, agent_peer, _tone) = accept.await.unwrap();
    let mut sups = vec![];
    for l in listeners {
        sups.push(l.await.unwrap());
    }
    agent_peer.wait_tone(0, CUSTOMER_HZ).await;
    for (i, (_ws, peer)) in sups.iter().enumerate() {
        peer.wait_connected().await;
        let c = peer.wait_tone(0, CUSTOMER_HZ).await;
        let a = peer.wait_tone(1, AGENT_HZ).await;
        println!("supervisor {i}: customer at {c:.0} Hz, agent at {a:.0} Hz");
    }
}
