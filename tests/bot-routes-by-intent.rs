//! The bot's hand-over waits in the queue of what the customer asked about (`[bot] queues`,
//! by knowledge-base category), not the entry point's: a slow-data question reaches the
//! technical agent. A queue the customer chose on the page is kept.

mod common;
use common::*;
use serde_json::json;

const CONFIG: &str = r#"
[[entry_points]]
name = "web"
bot = true
language = "en"
queue = "general"

[[center.queues]]
name = "general"
overflow_when_no_agents = false

[[center.queues]]
name = "technical"
overflow_when_no_agents = false

[bot.queues]
data = "technical"
"#;

/// A bot chat (into `queue` if the customer chose one) that asks about `question`, then
/// for a person; the call id.
async fn ask_then_hand_over(server: &Server, question: &str, queue: Option<&str>) -> (Ws, String) {
    let mut ws = Ws::connect(server).await;
    let mut m = json!({"type":"start_chat","caller":{"name":"Caller"}});
    if let Some(q) = queue {
        m["queue"] = json!(q);
    }
    ws.request(m).await;
    let call = ws.expect("call_state").await["call_id"]
        .as_str()
        .unwrap()
        .to_string();
    ws.chat_from("bot").await;
    for text in [question, "please let me talk to a real person"] {
        ws.request(json!({"type":"chat","call_id": call,"text": text}))
            .await;
        ws.chat_from("customer").await;
        ws.chat_from("bot").await;
    }
    (ws, call)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_question_about_data_is_handed_to_the_technical_queue() {
    let server = Server::start(CONFIG).await;
    server.add_agent_with_skills("gus", &["general=5"]);
    server.add_agent_with_skills("tina", &["technical=4"]);
    let mut gus = agent_available(&server, "gus").await;
    let mut tina = agent_available(&server, "tina").await;

    let (_c1, call) = ask_then_hand_over(
        &server,
        "my mobile internet has been really slow all day",
        None,
    )
    .await;
    let offer = tina.expect("call_offered").await;
    assert_eq!(offer["call_id"], call.as_str());
    assert_eq!(offer["queue"], "technical", "{offer}");
    assert_eq!(offer["handoff"]["intent"], "data-slow-speed", "{offer}");
    tina.request(json!({"type":"decline","call_id": call}))
        .await;

    // Chosen on the page: general it stays, whatever the question.
    let (_c2, call2) = ask_then_hand_over(
        &server,
        "why is the data on my phone so slow",
        Some("general"),
    )
    .await;
    let offer = gus
        .wait_for("the second contact", |v| {
            v["type"] == "call_offered" && v["call_id"] == call2.as_str()
        })
        .await;
    assert_eq!(offer["queue"], "general", "{offer}");
}
