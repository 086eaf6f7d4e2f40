//! One of a supervisor's two tabs, the one listening to two calls, closes: both listening peers
//! go, each from its own call's room, and both calls go on. (The session's cleanup once sent
//! every leave to the first peer's room, leaving the second listener behind whenever the
//! supervisor stayed logged in elsewhere.)

mod common;
use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_a_tab_that_listens_to_two_calls_frees_both_listeners() {
    let server = Server::start("").await;
    server.add_agent("carol");
    let (c1, _a1, _p1) = connected_call(&server, "alice").await;
    let (c2, _a2, _p2) = connected_call(&server, "carol").await;
    server
        .wait_metric("switchboard_peer_connections", 4.0)
        .await;

    // Another tab of the same supervisor stays open: closing the first is not a logout.
    let mut other_tab = Ws::connect(&server).await;
    other_tab.login("sam").await;
    let (mut sup, sup_peer1) =
        supervisor_listens(&server.addr, &c1.call_id, Layout::Listener).await;
    let mut sup_peer2 = Peer::new(Layout::Listener).await;
    let sdp = sup_peer2.offer().await;
    sup.request(serde_json::json!({"type":"listen","call_id":c2.call_id,"sdp":sdp}))
        .await;
    let answer = sup.expect("answer").await;
    sup_peer2.apply_answer(&answer).await;
    sup_peer1.wait_connected().await;
    sup_peer2.wait_connected().await;
    server
        .wait_metric("switchboard_peer_connections", 6.0)
        .await;

    // The tab closes; its peer connections are not closed by the browser (it just vanished).
    sup.close().await;
    server
        .wait_metric("switchboard_peer_connections", 4.0)
        .await;
    assert_eq!(server.metric("switchboard_active_calls").await, 2.0);
    drop((sup_peer1, sup_peer2, other_tab));
}
