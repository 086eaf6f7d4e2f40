//! Development tool: FAQ top-1 of a KB file on a query file, with the misses.
//! cargo run --release -p bot --example faq_eval -- MODEL_DIR LANG KB.json QUERIES.json
use bot::eval::{faq, Query};
use bot::kb::{parse, Format, Language};
use bot::{MatchConfig, Matcher, UseEncoder};
use std::sync::Arc;

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let enc = Arc::new(UseEncoder::load(std::path::Path::new(&a[1])).expect("model"));
    let lang = Language::parse(&a[2]).expect("lang");
    let kb = parse(&std::fs::read_to_string(&a[3]).unwrap(), Format::Json, lang).unwrap();
    let qs: Vec<Query> = serde_json::from_str(&std::fs::read_to_string(&a[4]).unwrap()).unwrap();
    let mut cfg = MatchConfig::default();
    if let Ok(t) = std::env::var("T") {
        cfg.threshold = t.parse().unwrap();
    }
    let mut m = Matcher::new(enc, cfg);
    m.load(kb.entries);
    let r = faq(&m, lang, &qs);
    for x in r.results.iter().filter(|x| !x.right) {
        println!(
            "MISS {:.3} expect={:?} got={:?}  {}",
            x.confidence, x.expect, x.got, x.text
        );
    }
    println!(
        "top1 {:.3} ({}/{}) in-scope {}/{} oos {}/{} median {} us",
        r.top1,
        r.right,
        r.queries,
        r.in_scope_right,
        r.in_scope,
        r.out_of_scope_right,
        r.out_of_scope,
        r.median_us
    );
}
