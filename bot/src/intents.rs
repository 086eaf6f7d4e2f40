//! Built-in intents beside the knowledge base: asking for a person (and declining one), goodbye,
//! anger and sarcasm, and the policy signals (fraud, a safety hazard, a disputed charge).
//!
//! Each intent has example phrasings per language, matched by meaning, and cue words matched by
//! wording. An intent is present when the meaning is close enough (`threshold`), or when a cue
//! appears and the meaning is at least near (`threshold - CUE_SLACK`): a cue alone ("a person")
//! is too easily said in passing, a paraphrase alone can be missed.

use crate::embed::{cosine, Embedder};
use crate::kb::Language;
use crate::matcher::{contains_term, normalize};
use std::collections::BTreeMap;

/// The built-in intent file.
pub const BUILT_IN: &str = include_str!("../data/intents.json");

/// How much below its threshold an intent's meaning may be when one of its cues is present.
pub const CUE_SLACK: f32 = 0.22;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Intent {
    HumanRequest,
    HumanDecline,
    Goodbye,
    Anger,
    Sarcasm,
    Fraud,
    Safety,
    Dispute,
    Rejection,
}

impl Intent {
    pub const ALL: [Intent; 9] = [
        Intent::HumanRequest,
        Intent::HumanDecline,
        Intent::Goodbye,
        Intent::Anger,
        Intent::Sarcasm,
        Intent::Fraud,
        Intent::Safety,
        Intent::Dispute,
        Intent::Rejection,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Intent::HumanRequest => "human_request",
            Intent::HumanDecline => "human_decline",
            Intent::Goodbye => "goodbye",
            Intent::Anger => "anger",
            Intent::Sarcasm => "sarcasm",
            Intent::Fraud => "fraud",
            Intent::Safety => "safety",
            Intent::Dispute => "dispute",
            Intent::Rejection => "rejection",
        }
    }
}

struct Spec {
    threshold: f32,
    cue_alone: bool,
    examples: BTreeMap<Language, Vec<Vec<f32>>>,
    cues: BTreeMap<Language, Vec<String>>,
}

/// What one utterance shows, per intent: the closest example's similarity and whether a cue
/// word appeared.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Signals {
    scores: BTreeMap<Intent, (f32, bool, f32, bool)>,
}

impl Signals {
    /// Whether `intent` is present.
    pub fn has(&self, intent: Intent) -> bool {
        self.scores
            .get(&intent)
            .is_some_and(|&(sim, cue, th, cue_alone)| {
                sim >= th || (cue && (cue_alone || sim >= th - CUE_SLACK))
            })
    }

    /// The similarity to `intent`'s closest example.
    pub fn similarity(&self, intent: Intent) -> f32 {
        self.scores.get(&intent).map_or(0.0, |s| s.0)
    }

    /// Whether a cue word of `intent` appeared.
    pub fn cue(&self, intent: Intent) -> bool {
        self.scores.get(&intent).is_some_and(|s| s.1)
    }
}

/// The intents, indexed.
pub struct Intents {
    specs: BTreeMap<Intent, Spec>,
}

impl std::fmt::Debug for Intents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Intents")
            .field("intents", &self.specs.len())
            .finish()
    }
}

impl Intents {
    /// Reads an intent file (the format of `data/intents.json`) and embeds its examples.
    pub fn load(json: &str, embedder: &dyn Embedder) -> Result<Self, String> {
        let v: serde_json::Value =
            serde_json::from_str(json).map_err(|e| format!("intent file: {e}"))?;
        let mut specs = BTreeMap::new();
        for intent in Intent::ALL {
            let Some(o) = v.get(intent.as_str()) else {
                return Err(format!("intent file: no {}", intent.as_str()));
            };
            let threshold = o
                .get("threshold")
                .and_then(|t| t.as_f64())
                .ok_or_else(|| format!("intent {}: no threshold", intent.as_str()))?
                as f32;
            let mut examples = BTreeMap::new();
            let mut cues = BTreeMap::new();
            for lang in [Language::En, Language::Zh] {
                let list = |key: String| -> Vec<String> {
                    o.get(&key)
                        .and_then(|a| a.as_array())
                        .map(|a| {
                            a.iter()
                                .filter_map(|s| s.as_str())
                                .map(|s| normalize(s, lang))
                                .filter(|s| !s.is_empty())
                                .collect()
                        })
                        .unwrap_or_default()
                };
                let ex = list(lang.as_str().to_string());
                examples.insert(lang, ex.iter().map(|t| embedder.embed(t)).collect());
                cues.insert(lang, list(format!("cues_{}", lang.as_str())));
            }
            let cue_alone = o
                .get("cue_alone")
                .and_then(|c| c.as_bool())
                .unwrap_or(false);
            specs.insert(
                intent,
                Spec {
                    threshold,
                    cue_alone,
                    examples,
                    cues,
                },
            );
        }
        Ok(Self { specs })
    }

    /// The signals of a normalised utterance `norm` whose vector is `vec`.
    pub fn detect(&self, lang: Language, norm: &str, vec: &[f32]) -> Signals {
        let mut scores = BTreeMap::new();
        for (intent, spec) in &self.specs {
            let sim = spec
                .examples
                .get(&lang)
                .map(|ex| ex.iter().map(|e| cosine(vec, e)).fold(0.0f32, f32::max))
                .unwrap_or(0.0);
            let cue = spec
                .cues
                .get(&lang)
                .is_some_and(|c| c.iter().any(|k| contains_term(norm, k, lang)));
            scores.insert(*intent, (sim, cue, spec.threshold, spec.cue_alone));
        }
        Signals { scores }
    }
}
