//! Business hours: a contact for a queue outside its hours is told it is closed (and may
//! leave a message); one inside its hours waits as usual.

mod common;
use common::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outside_its_hours_a_queue_turns_contacts_away() {
    // Open only on the day after tomorrow (UTC), all day; "support" always.
    let day = day_after_tomorrow_utc();
    let server = Server::start(&format!(
        r#"
[[center.queues]]
name = "billing"
overflow_when_no_agents = false
hours = {{ timezone = "UTC", open = ["{day} 00:00-24:00"] }}

[[center.queues]]
name = "support"
overflow_when_no_agents = false
hours = {{ timezone = "Europe/Paris", open = ["daily 00:00-24:00"] }}
"#
    ))
    .await;
    // The first check runs as the server starts; give it a moment.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let mut ws = Ws::connect(&server).await;
    ws.request(json!({"type":"start_chat","queue":"billing","caller":{"name":"Night Owl"}}))
        .await;
    let s = ws.expect("call_state").await;
    assert_eq!(s["state"], "overflow", "{s}");
    assert_eq!(s["overflow"], "closed");
    let call = s["call_id"].as_str().unwrap().to_string();
    ws.request(json!({"type":"leave_message","call_id":call,"text":"call me tomorrow"}))
        .await;
    assert_eq!(ws.wait_call_state("ended").await["reason"], "message_left");

    let mut ws = Ws::connect(&server).await;
    ws.request(json!({"type":"start_chat","queue":"support","caller":{"name":"Day Bird"}}))
        .await;
    assert_eq!(ws.expect("call_state").await["state"], "queued");
}
