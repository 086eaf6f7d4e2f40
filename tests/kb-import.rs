//! Knowledge-base files: 1,000 entries import from JSON and from CSV; a file with bad rows is
//! reported row by row and changes nothing; export gives back what was imported; the REST API
//! edits the live bot. Through the real binary and its database.

mod common;
use common::*;
use serde_json::{json, Value};
use std::process::Command;

fn kb(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(server_bin())
        .arg("--data-dir")
        .arg(dir)
        .arg("kb")
        .args(args)
        .output()
        .expect("run switchboard kb")
}

fn entries(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            json!({
                "id": format!("faq-{i:04}"),
                "question": format!("How do I use feature number {i}?"),
                "alternates": [format!("feature {i} help"), format!("what is feature {i}")],
                "answer": format!("Feature {i} is in the settings menu."),
                "keywords": [format!("feature {i}")],
                "category": "features"
            })
        })
        .collect()
}

fn exported(dir: &std::path::Path) -> Vec<Value> {
    let out = kb(dir, &["export", "-"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_thousand_entries_import_and_a_bad_file_changes_nothing() {
    let dir = std::env::temp_dir().join(format!("sb-kb-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("big.en.json");
    std::fs::write(&good, serde_json::to_string(&entries(1000)).unwrap()).unwrap();
    let out = kb(&dir, &["import", good.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let all = exported(&dir);
    assert_eq!(all.len(), 1000);
    assert_eq!(all[7]["language"], "en");

    // Two bad rows among good ones: each is reported, nothing is stored.
    let mut bad = entries(5);
    bad[1]["answer"] = json!("");
    bad[3]["id"] = json!("has spaces in it");
    bad[4]["id"] = json!("faq-new");
    let bad_file = dir.join("bad.en.json");
    std::fs::write(&bad_file, serde_json::to_string(&bad).unwrap()).unwrap();
    let out = kb(&dir, &["import", "--replace", bad_file.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("row 2") && err.contains("answer is empty"),
        "{err}"
    );
    assert!(err.contains("row 4"), "{err}");
    assert!(err.contains("nothing was imported"), "{err}");
    assert_eq!(exported(&dir).len(), 1000, "a refused file changes nothing");

    // CSV, Chinese, merged beside the English entries.
    let csv = dir.join("faq.zh.csv");
    std::fs::write(
        &csv,
        "id,question,alternates,answer,keywords,category\n\
         zh-1,怎么查话费,话费余额|还剩多少钱,打开APP首页即可查看。,话费,billing\n\
         zh-2,\"营业厅几点开门,周末呢\",,每天九点到晚上九点。,营业厅,stores\n",
    )
    .unwrap();
    let out = kb(&dir, &["import", csv.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let all = exported(&dir);
    assert_eq!(all.len(), 1002);
    let zh: Vec<&Value> = all.iter().filter(|e| e["language"] == "zh").collect();
    assert_eq!(zh.len(), 2);
    assert_eq!(zh[1]["question"], "营业厅几点开门,周末呢");

    // Export to CSV and import it into a fresh database: the same entries.
    let back = dir.join("back.csv");
    assert!(kb(&dir, &["export", back.to_str().unwrap()])
        .status
        .success());
    let dir2 = dir.join("second");
    let out = kb(&dir2, &["import", back.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(exported(&dir2), all);

    // `kb ask` answers from the stored entries, one JSON object per question.
    let ask = Command::new(server_bin())
        .arg("--data-dir")
        .arg(&dir)
        .args(["kb", "ask", "--language", "zh", "我的话费还剩多少"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&ask.stdout).unwrap();
    assert_eq!(v["id"], "zh-1", "{v}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn supervisors_edit_the_live_knowledge_base_over_http() {
    let server = Server::start("[[entry_points]]\nname = \"web\"\nbot = true\n").await;
    let http = reqwest::Client::new();
    let base = format!("http://{}/api/kb", server.addr);
    let ask = |q: &str| {
        http.get(format!("{base}/ask"))
            .query(&[("language", "en"), ("q", q)])
            .basic_auth("sam", Some("demo"))
            .send()
    };
    let q = "can i bring my dog into one of your shops";
    let before: Value = ask(q).await.unwrap().json().await.unwrap();
    assert!(before["id"].is_null(), "{before}");

    let entry = json!({"id":"stores-pets","language":"en","question":"Are pets allowed in your stores?",
        "alternates":["Can I bring my dog to the shop?"],"answer":"Dogs are welcome in every Northwind store.",
        "keywords":["dog","pets"],"category":"stores"});
    let r = http
        .put(&base)
        .basic_auth("sam", Some("demo"))
        .body(entry.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let after: Value = ask(q).await.unwrap().json().await.unwrap();
    assert_eq!(after["id"], "stores-pets", "{after}");

    // A bad import is refused whole, with the rows.
    let bad =
        json!([{"id":"ok-1","question":"Q?","answer":"A."},{"id":"x","question":"","answer":"A."}]);
    let r = http
        .post(format!("{base}/import"))
        .basic_auth("sam", Some("demo"))
        .body(bad.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["rejected"][0]["row"], 2);
    let list: Vec<Value> = http
        .get(&base)
        .basic_auth("sam", Some("demo"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(!list.iter().any(|e| e["id"] == "ok-1"));

    // Agents may not edit; deleting takes the answer away again.
    let r = http
        .delete(format!("{base}/en/stores-pets"))
        .basic_auth("alice", Some("demo"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = http
        .delete(format!("{base}/en/stores-pets"))
        .basic_auth("sam", Some("demo"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let gone: Value = ask(q).await.unwrap().json().await.unwrap();
    assert_ne!(gone["id"], "stores-pets");
}
