//! Administration with a running server: a supervisor creates an agent and changes skills and
//! queue rules through `/api/admin`, and the waiting contacts are routed by the new rules at
//! once; changes made with the command line reach the running server too; every change is in
//! the audit log; bad or unauthorized changes are refused and change nothing; the last
//! supervisor cannot be removed; a deleted account's session is ended.

mod common;
use common::*;
use serde_json::{json, Value};
use std::process::{Command, Stdio};
use std::time::Duration;

const CONFIG: &str = r#"
[[center.queues]]
name = "billing"
min_proficiency = 4
overflow_when_no_agents = false

[[center.queues]]
name = "technical"
overflow_when_no_agents = false
"#;

async fn api(
    server: &Server,
    method: &str,
    path: &str,
    user: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let client = reqwest::Client::new();
    let url = format!("http://{}{path}", server.addr);
    let req = match method {
        "GET" => client.get(url),
        "PUT" => client.put(url),
        "DELETE" => client.delete(url),
        _ => unreachable!(),
    };
    let req = req.basic_auth(user, Some("demo"));
    let req = match body {
        Some(b) => req
            .header("content-type", "application/json")
            .body(b.to_string()),
        None => req,
    };
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn sam(server: &Server, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    api(server, method, path, "sam", body).await
}

/// A chat into `queue`: the session and its call id, or the error (no call id).
async fn chat_into(server: &Server, queue: &str) -> (Ws, String) {
    let (ws, v) = chat_or_error(server, queue).await;
    (ws, v["call_id"].as_str().unwrap_or_default().to_string())
}

async fn chat_or_error(server: &Server, queue: &str) -> (Ws, Value) {
    let mut ws = Ws::connect(server).await;
    ws.request(json!({"type":"start_chat","caller":{"name":"Caller"},"queue":queue}))
        .await;
    let v = ws
        .wait_for("call_state or error", |v| {
            v["type"] == "call_state" || v["type"] == "error"
        })
        .await;
    (ws, v)
}

async fn login_with(server: &Server, user: &str, password: &str) -> (Ws, Value) {
    let mut ws = Ws::connect(server).await;
    ws.request(json!({"type":"login","username":user,"password":password}))
        .await;
    let v = ws
        .wait_for("logged_in or error", |v| {
            v["type"] == "logged_in" || v["type"] == "error"
        })
        .await;
    (ws, v)
}

/// No offer reaches `ws` for a while.
async fn no_offer(ws: &mut Ws, d: Duration) {
    let seen = ws.drain_for(d).await;
    assert!(
        !seen.iter().any(|v| v["type"] == "call_offered"),
        "unexpected offer: {seen:?}"
    );
}

fn cli(server: &Server, args: &[&str]) -> (bool, String) {
    let out = Command::new(server_bin())
        .args(args)
        .arg("--data-dir")
        .arg(&server.data_dir)
        .arg("--config")
        .arg(server.data_dir.join("switchboard.toml"))
        .env("USER", "ops")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_agent_and_new_skills_route_the_waiting_contact_at_once() {
    let server = Server::start(CONFIG).await;
    // A new agent with a technical skill only.
    let (s, dana) = sam(
        &server,
        "PUT",
        "/api/admin/users/dana",
        Some(json!({"name":"Dana Agent","role":"agent","password":"dana-pass-1","skills":{"technical":4}})),
    )
    .await;
    assert_eq!(s, 201, "{dana}");
    assert_eq!(dana["skills"], json!({"technical":4}));
    assert!(dana.get("password").is_none() && dana.get("password_hash").is_none());
    let (mut agent, v) = login_with(&server, "dana", "dana-pass-1").await;
    assert_eq!(v["type"], "logged_in", "{v}");
    agent.set_available().await;

    let (_customer, call) = chat_into(&server, "billing").await;
    no_offer(&mut agent, Duration::from_millis(600)).await;

    // Billing at 4, the queue's minimum: the contact waiting is offered to her.
    let (s, v) = sam(
        &server,
        "PUT",
        "/api/admin/users/dana",
        Some(json!({"skills":{"technical":4,"billing":4}})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let offer = agent.expect("call_offered").await;
    assert_eq!(offer["call_id"], call.as_str());

    // Who did what, with before and after, and never a password.
    let (s, log) = sam(&server, "GET", "/api/admin/audit?target=dana", None).await;
    assert_eq!(s, 200);
    let log = log.as_array().unwrap();
    assert_eq!(log.len(), 2, "{log:?}");
    assert_eq!(log[0]["action"], "user.update");
    assert_eq!(log[0]["actor"], "sam");
    assert_eq!(log[0]["detail"]["before"]["skills"], json!({"technical":4}));
    assert_eq!(log[0]["detail"]["after"]["skills"]["billing"], 4);
    assert_eq!(log[1]["action"], "user.create");
    assert!(!serde_json::to_string(log).unwrap().contains("argon2"));
    assert!(!serde_json::to_string(log).unwrap().contains("dana-pass-1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_rules_change_live_survive_a_restart_and_bad_rules_change_nothing() {
    let mut server = Server::start(CONFIG).await;
    server.add_agent_with_skills("bea", &["billing=2"]);
    let mut bea = agent_available(&server, "bea").await;
    let (_customer, call) = chat_into(&server, "billing").await;
    no_offer(&mut bea, Duration::from_millis(600)).await;

    let (s, before) = sam(&server, "GET", "/api/admin/queues/billing", None).await;
    assert_eq!(s, 200);
    assert_eq!(before["min_proficiency"], 4);
    assert_eq!(before["waiting"], 1);

    // Refused, and nothing changes: a proficiency out of range, an overflow to no queue, an
    // unknown field, a body naming another queue, a queue with a contact waiting.
    for bad in [
        json!({"min_proficiency": 9}),
        json!({"overflow":[{"after_s":5,"queue":"nowhere"}]}),
        json!({"min_proficency": 2}),
        json!({"name":"technical","min_proficiency": 2}),
        json!({"hours":{"timezone":"Mars/Olympus","open":["mon-fri 08:00-18:00"]}}),
    ] {
        let (s, v) = sam(
            &server,
            "PUT",
            "/api/admin/queues/billing",
            Some(bad.clone()),
        )
        .await;
        assert_eq!(s, 400, "{bad} -> {v}");
        assert!(v["error"].is_string());
    }
    let (s, v) = sam(&server, "DELETE", "/api/admin/queues/billing", None).await;
    assert_eq!(s, 409, "{v}");
    let (_, after) = sam(&server, "GET", "/api/admin/queues/billing", None).await;
    assert_eq!(after, before);
    no_offer(&mut bea, Duration::from_millis(300)).await;

    // The minimum down to 2: the waiting contact goes to bea.
    let mut rules = before.clone();
    rules["min_proficiency"] = json!(2);
    let (s, v) = sam(&server, "PUT", "/api/admin/queues/billing", Some(rules)).await;
    assert_eq!(s, 200, "{v}");
    let offer = bea.expect("call_offered").await;
    assert_eq!(offer["call_id"], call.as_str());

    // A new queue: customers may choose it at once; deleted, they may not.
    let (s, v) = sam(
        &server,
        "PUT",
        "/api/admin/queues/sales",
        Some(json!({"overflow_when_no_agents": false})),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let public: Value = reqwest::get(format!("http://{}/api/queues", server.addr))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = public
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["billing", "technical", "sales"]);
    let (mut c2, _) = chat_into(&server, "sales").await;
    c2.wait_call_state("queued").await;
    drop(c2);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (s, v) = sam(&server, "DELETE", "/api/admin/queues/sales", None).await;
    assert_eq!(s, 200, "{v}");
    let (_c3, e) = chat_or_error(&server, "sales").await;
    assert_eq!(e["code"], "bad_message", "{e}");
    assert!(
        e["message"].as_str().unwrap().contains("unknown queue"),
        "{e}"
    );

    // The database's rules count after a restart, not the configuration's.
    drop(bea);
    server.kill9_and_restart().await;
    let (s, q) = sam(&server, "GET", "/api/admin/queues/billing", None).await;
    assert_eq!(s, 200);
    assert_eq!(q["min_proficiency"], 2);
    let (_, all) = sam(&server, "GET", "/api/admin/queues", None).await;
    assert_eq!(all.as_array().unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_are_checked_the_last_supervisor_stays_and_the_command_line_reaches_the_server() {
    let server = Server::start(CONFIG).await;
    server.add_agent_with_skills("bea", &["technical=3"]);
    // Not a supervisor, or nobody: refused.
    let (s, _) = api(&server, "GET", "/api/admin/users", "bea", None).await;
    assert_eq!(s, 403);
    let (s, _) = api(
        &server,
        "PUT",
        "/api/admin/users/bea",
        "bea",
        Some(json!({"skills":{"billing":5}})),
    )
    .await;
    assert_eq!(s, 403);
    let r = reqwest::get(format!("http://{}/api/admin/audit", server.addr))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    // Bad changes.
    for (path, body) in [
        (
            "/api/admin/users/new%20user",
            json!({"role":"agent","password":"long-enough"}),
        ),
        (
            "/api/admin/users/neo",
            json!({"role":"agent","password":"short"}),
        ),
        (
            "/api/admin/users/neo",
            json!({"role":"admin","password":"long-enough"}),
        ),
        ("/api/admin/users/neo", json!({"role":"agent"})),
        (
            "/api/admin/users/neo",
            json!({"role":"supervisor","password":"long-enough","skills":{"billing":3}}),
        ),
        ("/api/admin/users/bea", json!({"skills":{"billing":7}})),
        ("/api/admin/users/bea", json!({"skills":{"Bad Skill":3}})),
    ] {
        let (s, v) = sam(&server, "PUT", path, Some(body.clone())).await;
        assert_eq!(s, 400, "{path} {body} -> {v}");
    }
    let (_, users) = sam(&server, "GET", "/api/admin/users", None).await;
    let names: Vec<&str> = users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert!(!names.contains(&"neo"), "{names:?}");
    assert_eq!(
        users
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["username"] == "bea")
            .unwrap()["skills"],
        json!({"technical":3})
    );
    // Sam is the only supervisor.
    let (s, v) = sam(
        &server,
        "PUT",
        "/api/admin/users/sam",
        Some(json!({"role":"agent"})),
    )
    .await;
    assert_eq!(s, 409, "{v}");
    let (s, _) = sam(&server, "DELETE", "/api/admin/users/sam", None).await;
    assert_eq!(s, 409);

    // The command line, while the server runs: bea gets billing and takes the waiting call.
    let mut bea = agent_available(&server, "bea").await;
    let (_customer, call) = chat_into(&server, "billing").await;
    no_offer(&mut bea, Duration::from_millis(500)).await;
    let (ok, out) = cli(
        &server,
        &[
            "users",
            "set",
            "bea",
            "--skill",
            "technical=3",
            "--skill",
            "billing=5",
        ],
    );
    assert!(ok, "{out}");
    let offer = bea.expect("call_offered").await;
    assert_eq!(offer["call_id"], call.as_str());
    let (ok, out) = cli(&server, &["users", "set", "bea", "--skill", "billing=9"]);
    assert!(!ok && out.contains("1 to 5"), "{out}");
    let (ok, out) = cli(&server, &["audit", "--target", "bea"]);
    assert!(ok, "{out}");
    let last: Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert_eq!(last["actor"], "cli:ops");
    assert_eq!(last["detail"]["after"]["skills"]["billing"], 5);

    // Deleted while logged in: the session is told and closed; the password is gone.
    let (s, _) = sam(&server, "DELETE", "/api/admin/users/bea", None).await;
    assert_eq!(s, 200);
    let e = bea.expect_error("not_authenticated").await;
    assert!(
        e["message"].as_str().unwrap().contains("administrator"),
        "{e}"
    );
    let (_ws, v) = login_with(&server, "bea", "demo").await;
    assert_eq!(v["code"], "bad_credentials", "{v}");
}
