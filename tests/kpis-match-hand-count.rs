//! The KPIs a supervisor reads from `GET /api/kpis` match a hand count over a scripted
//! sequence of contacts: one answered, one abandoned at once, one abandoned after waiting, one
//! the bot served alone. Agents may not read them.

mod common;
use common::*;
use serde_json::{json, Value};
use std::time::Duration;

const CONFIG: &str = r#"
[[entry_points]]
name = "default"
bot = false

[[entry_points]]
name = "assistant"
bot = true

[[center.queues]]
name = "billing"
overflow_when_no_agents = false
service_level_s = 20
"#;

async fn chat(server: &Server, name: &str, extra: Value) -> (Ws, String) {
    let mut ws = Ws::connect(server).await;
    let mut m = json!({"type":"start_chat","caller":{"name":name}});
    for (k, v) in extra.as_object().unwrap() {
        m[k] = v.clone();
    }
    ws.request(m).await;
    let call = ws.expect("call_state").await["call_id"]
        .as_str()
        .unwrap()
        .to_string();
    (ws, call)
}

async fn hang_up(ws: &mut Ws, call: &str) {
    ws.request(json!({"type":"hang_up","call_id":call})).await;
    ws.wait_call_state("ended").await;
}

async fn kpis(server: &Server, user: &str, query: &str) -> (u16, Value) {
    let r = reqwest::Client::new()
        .get(format!("http://{}/api/kpis{query}", server.addr))
        .basic_auth(user, Some("demo"))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kpis_match_a_hand_count_of_a_scripted_sequence() {
    let started = std::time::SystemTime::now();
    let server = Server::start(CONFIG).await;
    server.add_agent_with_skills("bea", &["billing=3"]);
    let mut bea = agent_available(&server, "bea").await;

    // 1. Answered at once, one second of talk, half a second of wrap-up.
    let (mut c1, call1) = chat(&server, "One", json!({"queue":"billing"})).await;
    bea.expect("call_offered").await;
    bea.request(json!({"type":"accept","call_id":call1})).await;
    c1.wait_call_state("connected").await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    hang_up(&mut c1, &call1).await;
    bea.wait_for("wrap-up", |v| {
        v["type"] == "agent_state" && v["state"] == "wrap_up"
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    bea.request(json!({"type":"set_state","state":"away"}))
        .await;
    bea.wait_for("away", |v| {
        v["type"] == "agent_state" && v["state"] == "away"
    })
    .await;

    // 2. Gives up at once (a short abandon); 3. after 5.5 s.
    let (mut c2, call2) = chat(&server, "Two", json!({"queue":"billing"})).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    hang_up(&mut c2, &call2).await;
    let (mut c3, call3) = chat(&server, "Three", json!({"queue":"billing"})).await;
    tokio::time::sleep(Duration::from_millis(5500)).await;
    hang_up(&mut c3, &call3).await;

    // 4. The bot answers and the customer is done.
    let (mut c4, call4) = chat(&server, "Four", json!({"entry":"assistant"})).await;
    c4.chat_from("bot").await;
    hang_up(&mut c4, &call4).await;

    let (code, v) = kpis(&server, "sam", "?bucket=15m").await;
    assert_eq!(code, 200, "{v}");
    println!("{}", serde_json::to_string_pretty(&v["overall"]).unwrap());
    let k = &v["overall"];
    assert_eq!(k["contacts"], 4);
    assert_eq!(k["offered"], 3);
    assert_eq!(k["handled"], 1);
    assert_eq!(k["abandoned"], 2);
    assert_eq!(k["abandoned_short"], 1);
    assert_eq!(k["waiting"], 0);
    // One answered in time, of the three offered less the short abandon.
    assert_eq!(k["service_level"], 0.5);
    assert_eq!(k["abandonment_rate"], 0.667);
    assert_eq!(k["bot_contacts"], 1);
    assert_eq!(k["containment_rate"], 1.0);
    assert_eq!(k["first_contact_resolution"], 1.0);
    let f = |key: &str| k[key].as_f64().unwrap_or_else(|| panic!("{key}: {k}"));
    assert!(f("asa_s") < 2.0, "{k}");
    assert!((0.9..3.0).contains(&f("talk_s")), "{k}");
    assert!((0.4..2.5).contains(&f("acw_s")), "{k}");
    assert!((f("aht_s") - f("talk_s") - f("acw_s")).abs() < 0.01, "{k}");
    // Bea was staffed (available, on the call, in wrap-up) for part of the day and busy for
    // part of that.
    assert!(f("occupancy") > 0.0 && f("occupancy") < 1.0, "{k}");
    assert_eq!(v["queues"]["billing"]["offered"], 3);
    assert_eq!(v["queues"]["billing"]["service_level_s"], 20);
    // The buckets add up to the whole.
    let buckets = v["buckets"].as_array().unwrap();
    let offered: u64 = buckets
        .iter()
        .map(|b| b["overall"]["offered"].as_u64().unwrap())
        .sum();
    assert_eq!(offered, 3);

    // The same figures for Prometheus: today since 00:00 UTC, which is this test's contacts
    // unless it ran across midnight.
    let day = |t: std::time::SystemTime| {
        t.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() / 86_400
    };
    if day(started) == day(std::time::SystemTime::now()) {
        let gauge =
            |kpi: &str, queue: &str| format!("switchboard_kpi{{kpi=\"{kpi}\",queue=\"{queue}\"}}");
        assert_eq!(server.metric(&gauge("offered", "billing")).await, 3.0);
        assert_eq!(server.metric(&gauge("service_level", "all")).await, 0.5);
        assert_eq!(server.metric(&gauge("containment_rate", "all")).await, 1.0);
    }

    // Agents may not read them; bad parameters are refused.
    assert_eq!(kpis(&server, "bea", "").await.0, 403);
    assert_eq!(kpis(&server, "sam", "?bucket=5m").await.0, 400);
    assert_eq!(kpis(&server, "sam", "?from=10&to=5").await.0, 400);
    assert_eq!(kpis(&server, "sam", "?colour=red").await.0, 400);
}
