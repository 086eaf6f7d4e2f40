//! Scoring the bot on labelled data: FAQ top-1 accuracy (the fallback counting as a class) and
//! escalation decisions on scripted conversations. Used by `switchboard kb eval`.

use crate::kb::Language;
use crate::matcher::Matcher;
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// A labelled query: `expect` is the entry id that answers it, or `None` for the fallback.
#[derive(Clone, Debug, Deserialize)]
pub struct Query {
    pub text: String,
    pub expect: Option<String>,
}

/// One query's outcome.
#[derive(Clone, Debug, Serialize)]
pub struct QueryResult {
    pub text: String,
    pub expect: Option<String>,
    pub got: Option<String>,
    pub confidence: f32,
    pub right: bool,
}

/// FAQ accuracy over a query set.
#[derive(Clone, Debug, Serialize)]
pub struct FaqReport {
    pub language: Language,
    pub queries: usize,
    pub right: usize,
    pub top1: f64,
    /// Of the queries an entry answers: right entry.
    pub in_scope_right: usize,
    pub in_scope: usize,
    /// Of the out-of-scope queries: fell back.
    pub out_of_scope_right: usize,
    pub out_of_scope: usize,
    /// Median time per answer, microseconds.
    pub median_us: u64,
    pub results: Vec<QueryResult>,
}

pub fn faq(matcher: &Matcher, language: Language, queries: &[Query]) -> FaqReport {
    let mut results = Vec::new();
    let mut times = Vec::new();
    for q in queries {
        let t0 = Instant::now();
        let v = matcher.ask(language, &q.text);
        times.push(t0.elapsed().as_micros() as u64);
        results.push(QueryResult {
            text: q.text.clone(),
            expect: q.expect.clone(),
            right: v.id == q.expect,
            got: v.id,
            confidence: v.confidence,
        });
    }
    times.sort_unstable();
    let count = |f: &dyn Fn(&QueryResult) -> bool| results.iter().filter(|r| f(r)).count();
    let right = count(&|r| r.right);
    FaqReport {
        language,
        queries: results.len(),
        right,
        top1: if results.is_empty() {
            0.0
        } else {
            right as f64 / results.len() as f64
        },
        in_scope_right: count(&|r| r.expect.is_some() && r.right),
        in_scope: count(&|r| r.expect.is_some()),
        out_of_scope_right: count(&|r| r.expect.is_none() && r.right),
        out_of_scope: count(&|r| r.expect.is_none()),
        median_us: times.get(times.len() / 2).copied().unwrap_or(0),
        results,
    }
}

/// A scripted conversation with the expected hand-over decision (the bot-dev format).
#[derive(Clone, Debug, Deserialize)]
pub struct Script {
    pub id: String,
    pub language: Language,
    pub turns: Vec<String>,
    pub expect: ScriptExpect,
}

#[derive(Clone, Debug, Deserialize)]
pub struct ScriptExpect {
    pub escalate: bool,
    pub at_turn: Option<usize>,
    pub reason: Option<crate::dialogue::Reason>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ScriptResult {
    pub id: String,
    pub expect_turn: Option<usize>,
    pub got_turn: Option<usize>,
    pub expect_reason: Option<crate::dialogue::Reason>,
    pub got_reason: Option<crate::dialogue::Reason>,
    /// `escalate` and `at_turn` both right.
    pub right: bool,
    pub reason_right: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct EscalationReport {
    pub scripts: usize,
    pub right: usize,
    pub reason_right: usize,
    pub results: Vec<ScriptResult>,
}

/// Plays every script through a fresh conversation; the first hand-over is the decision.
pub fn escalation(brain: &crate::dialogue::Brain, scripts: &[Script]) -> EscalationReport {
    let mut results = Vec::new();
    for s in scripts {
        let mut c = crate::dialogue::Conversation::new(s.language);
        c.greet(brain, 0);
        let mut got = None;
        for (i, t) in s.turns.iter().enumerate() {
            let r = c.hear(brain, t, None, (i as u64 + 1) * 1000);
            if let Some(reason) = r.escalate {
                got = Some((i + 1, reason));
                break;
            }
        }
        let expect_turn = if s.expect.escalate {
            s.expect.at_turn
        } else {
            None
        };
        let got_turn = got.map(|g| g.0);
        let right = expect_turn == got_turn;
        results.push(ScriptResult {
            id: s.id.clone(),
            expect_turn,
            got_turn,
            expect_reason: s.expect.reason,
            got_reason: got.map(|g| g.1),
            right,
            reason_right: right && s.expect.reason == got.map(|g| g.1),
        });
    }
    EscalationReport {
        scripts: results.len(),
        right: results.iter().filter(|r| r.right).count(),
        reason_right: results.iter().filter(|r| r.reason_right).count(),
        results,
    }
}
