//! Multi-turn flows: a task the bot carries out with the customer, step by step, from a
//! documented JSON file (`data/flows.json` is the built-in one; `[bot] flows = PATH` replaces
//! it). A flow starts when the customer's words are close to one of its trigger phrasings
//! (and closer than any knowledge-base entry), then runs its steps:
//!
//! - `{"ask": SLOT, "kind": {...}, "prompt": {en, zh}, "invalid": {en, zh}}`: ask for a value
//!   and read it ([`crate::slots`]); an unreadable answer is asked again (three tries, then a
//!   hand-over);
//! - `{"confirm": {en, zh}}`: a yes/no question; "no" ends the flow without acting;
//! - `{"call": WEBHOOK, "with": [SLOT, ...]}`: the shell calls the back end (an HTTP webhook
//!   with a timeout); the JSON fields of its answer become slots; a failure or timeout is told
//!   to the customer (`on_error`) and ends the flow; an answer with `"requires_human": true`
//!   hands the contact over (reason `flow`);
//! - `{"say": {en, zh}}`: tell the customer, `{slot}` replaced by its value;
//! - `{"handover": true}`: hand the contact over (reason `flow`).
//!
//! "cancel", "never mind", 算了 leave a flow at any step.

use crate::embed::{cosine, Embedder};
use crate::kb::Language;
use crate::matcher::normalize;
use crate::slots::SlotKind;
use serde::Deserialize;
use std::collections::BTreeMap;

/// The built-in flows (order status, a return, a delivery slot change) for the demo's order
/// service.
pub const BUILT_IN: &str = include_str!("../data/flows.json");

/// Words per language.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Said {
    #[serde(default)]
    pub en: String,
    #[serde(default)]
    pub zh: String,
}

impl Said {
    pub fn get(&self, lang: Language) -> &str {
        match lang {
            Language::Zh if !self.zh.is_empty() => &self.zh,
            _ => &self.en,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum Step {
    Ask {
        ask: String,
        kind: SlotKind,
        prompt: Said,
        invalid: Said,
    },
    Confirm {
        confirm: Said,
        #[serde(default)]
        declined: Said,
    },
    Call {
        call: String,
        #[serde(default)]
        with: Vec<String>,
        #[serde(default)]
        on_error: Said,
    },
    Say {
        say: Said,
    },
    Handover {
        handover: bool,
    },
}

#[derive(Clone, Debug, Deserialize)]
struct FlowFile {
    threshold: f32,
    trigger: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    cues: BTreeMap<String, Vec<String>>,
    steps: Vec<Step>,
}

/// One flow, its triggers embedded.
#[derive(Debug)]
pub struct Flow {
    pub name: String,
    pub threshold: f32,
    pub steps: Vec<Step>,
    triggers: BTreeMap<Language, Vec<Vec<f32>>>,
    /// The trigger phrases, normalised (for a second encoder).
    trigger_texts: BTreeMap<Language, Vec<String>>,
    /// The same by the second encoder, for the language it votes for.
    triggers2: BTreeMap<Language, Vec<Vec<f32>>>,
    cues: BTreeMap<Language, Vec<String>>,
}

/// All flows.
#[derive(Debug, Default)]
pub struct Flows {
    pub flows: Vec<Flow>,
}

impl Flows {
    /// Reads a flow file (a JSON object of flows by name; keys starting with `_` are notes).
    pub fn load(json: &str, embedder: &dyn Embedder) -> Result<Self, String> {
        let v: BTreeMap<String, serde_json::Value> =
            serde_json::from_str(json).map_err(|e| format!("flow file: {e}"))?;
        let mut flows = Vec::new();
        for (name, body) in v {
            if name.starts_with('_') {
                continue;
            }
            let f: FlowFile =
                serde_json::from_value(body).map_err(|e| format!("flow {name}: {e}"))?;
            if f.steps.is_empty() {
                return Err(format!("flow {name}: no steps"));
            }
            let mut triggers = BTreeMap::new();
            let mut trigger_texts = BTreeMap::new();
            for (l, phrases) in f.trigger {
                let lang = Language::parse(&l).ok_or(format!("flow {name}: language {l}"))?;
                let texts: Vec<String> = phrases.iter().map(|p| normalize(p, lang)).collect();
                triggers.insert(lang, texts.iter().map(|t| embedder.embed(t)).collect());
                trigger_texts.insert(lang, texts);
            }
            let mut cues = BTreeMap::new();
            for (l, words) in f.cues {
                let lang = Language::parse(&l).ok_or(format!("flow {name}: language {l}"))?;
                cues.insert(lang, words.iter().map(|w| normalize(w, lang)).collect());
            }
            flows.push(Flow {
                name,
                threshold: f.threshold,
                steps: f.steps,
                triggers,
                trigger_texts,
                triggers2: BTreeMap::new(),
                cues,
            });
        }
        Ok(Self { flows })
    }

    /// Gives `language`'s triggers the second encoder's opinion (the one the knowledge base
    /// uses for that language), so a flow and an answer are compared on one scale.
    pub fn set_second(&mut self, language: Language, embedder: &dyn Embedder) {
        for f in &mut self.flows {
            if let Some(texts) = f.trigger_texts.get(&language) {
                let v = texts.iter().map(|t| embedder.embed(t)).collect();
                f.triggers2.insert(language, v);
            }
        }
    }

    /// The flow the words start, with its similarity: above its threshold, or near it with
    /// one of its cue words. `second` is the question by the second encoder and the shift
    /// that puts its cosines on the common scale ([`crate::Matcher::second_shift`]); flows
    /// with that encoder's triggers for `lang` are judged by it.
    pub fn trigger(
        &self,
        lang: Language,
        norm: &str,
        vec: &[f32],
        second: Option<(&[f32], f32)>,
    ) -> Option<(usize, f32)> {
        self.flows
            .iter()
            .enumerate()
            .filter_map(|(i, f)| {
                let best = match (second, f.triggers2.get(&lang)) {
                    (Some((q2, shift)), Some(t2)) if !t2.is_empty() => {
                        t2.iter().map(|t| cosine(q2, t)).fold(f32::MIN, f32::max) + shift
                    }
                    _ => f
                        .triggers
                        .get(&lang)?
                        .iter()
                        .map(|t| cosine(vec, t))
                        .fold(f32::MIN, f32::max),
                };
                let cue = f.cues.get(&lang).is_some_and(|c| {
                    c.iter()
                        .any(|w| crate::matcher::contains_term(norm, w, lang))
                });
                let on =
                    best >= f.threshold || (cue && best >= f.threshold - crate::intents::CUE_SLACK);
                // A cue lifts the flow above an equally close knowledge-base answer.
                on.then_some((i, if cue { best + 0.1 } else { best }))
            })
            .max_by(|a, b| a.1.total_cmp(&b.1))
    }
}

/// Fills `{slot}` placeholders.
pub fn fill(template: &str, slots: &BTreeMap<String, String>) -> String {
    let mut out = template.to_string();
    for (k, v) in slots {
        out = out.replace(&format!("{{{k}}}"), v);
    }
    out
}

/// Words that leave a flow.
pub fn is_cancel(text: &str, lang: Language) -> bool {
    let t = normalize(text, lang);
    [
        "cancel",
        "never mind",
        "nevermind",
        "forget it",
        "stop",
        "算了",
        "取消",
        "不用了",
    ]
    .iter()
    .any(|c| t == *c || t.starts_with(&format!("{c} ")) || (!c.is_ascii() && t.contains(c)))
}
