//! At the end of a contact its customer gets a token to rate it 1 to 5, once; nobody else can
//! rate it; the rating is the KPIs' CSAT.

mod common;
use common::*;
use serde_json::{json, Value};

async fn rate(server: &Server, body: Value) -> u16 {
    reqwest::Client::new()
        .post(format!("http://{}/api/ratings", server.addr))
        .body(body.to_string())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_customer_rates_the_contact_once_and_it_counts_as_csat() {
    let server = Server::start("").await;
    let mut alice = agent_available(&server, "alice").await;
    let mut ws = Ws::connect(&server).await;
    let call = ws.start_chat("Rater", None).await;
    alice.expect("call_offered").await;
    alice.request(json!({"type":"accept","call_id":call})).await;
    ws.wait_call_state("connected").await;
    alice
        .request(json!({"type":"hang_up","call_id":call}))
        .await;
    ws.wait_call_state("ended").await;
    let prompt = ws.expect("rate_prompt").await;
    assert_eq!(prompt["call_id"], call.as_str());
    let token = prompt["token"].as_str().unwrap().to_string();

    // Another contact's token, a wrong score, an unknown field: refused.
    let mut other = Ws::connect(&server).await;
    let other_call = other.start_chat("Other", None).await;
    other
        .request(json!({"type":"hang_up","call_id":other_call}))
        .await;
    let other_token = other.expect("rate_prompt").await["token"].clone();
    assert_eq!(
        rate(
            &server,
            json!({"call_id":call,"token":other_token,"score":1})
        )
        .await,
        403
    );
    assert_eq!(
        rate(&server, json!({"call_id":call,"token":"00","score":1})).await,
        403
    );
    assert_eq!(
        rate(&server, json!({"call_id":call,"token":token,"score":6})).await,
        400
    );
    assert_eq!(
        rate(&server, json!({"call_id":call,"token":token,"score":0})).await,
        400
    );
    assert_eq!(
        rate(
            &server,
            json!({"call_id":call,"token":token,"score":4,"stars":4})
        )
        .await,
        400
    );
    // Once.
    assert_eq!(
        rate(
            &server,
            json!({"call_id":call,"token":token,"score":4,"comment":"helpful"})
        )
        .await,
        201
    );
    assert_eq!(
        rate(&server, json!({"call_id":call,"token":token,"score":1})).await,
        409
    );

    let v: Value = reqwest::Client::new()
        .get(format!("http://{}/api/kpis", server.addr))
        .basic_auth("sam", Some("demo"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["overall"]["csat"], 4.0, "{v}");
    assert_eq!(v["overall"]["csat_count"], 1);
}
