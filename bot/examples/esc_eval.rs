//! Development tool: escalation decisions on a script file.
//! cargo run -p bot --example esc_eval -- MODEL_DIR SCRIPTS.json KB.en.json KB.zh.json
use bot::eval::{escalation, Script};
use bot::kb::{parse, Format, Language};
use bot::{Brain, DialogueConfig, Intents, MatchConfig, Matcher, UseEncoder};
use std::sync::Arc;

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let enc = Arc::new(UseEncoder::load(std::path::Path::new(&a[1])).expect("model"));
    let scripts: Vec<Script> =
        serde_json::from_str(&std::fs::read_to_string(&a[2]).unwrap()).unwrap();
    let mut entries = parse(
        &std::fs::read_to_string(&a[3]).unwrap(),
        Format::Json,
        Language::En,
    )
    .unwrap()
    .entries;
    entries.extend(
        parse(
            &std::fs::read_to_string(&a[4]).unwrap(),
            Format::Json,
            Language::Zh,
        )
        .unwrap()
        .entries,
    );
    let mut m = Matcher::new(enc.clone(), MatchConfig::default());
    m.load(entries);
    let intents = Intents::load(bot::intents::BUILT_IN, enc.as_ref()).unwrap();
    let brain = Brain::new(m, intents, DialogueConfig::default());
    let r = escalation(&brain, &scripts);
    for x in &r.results {
        println!(
            "{} {} expect {:?} {:?} got {:?} {:?}",
            if x.right { "ok  " } else { "MISS" },
            x.id,
            x.expect_turn,
            x.expect_reason,
            x.got_turn,
            x.got_reason
        );
    }
    println!(
        "right {}/{} reason {}/{}",
        r.right, r.scripts, r.reason_right, r.scripts
    );
}
