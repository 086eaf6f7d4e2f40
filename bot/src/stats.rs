//! Statistics that help improve a knowledge base: unanswered questions grouped by meaning.

use crate::embed::{cosine, Embedder};
use crate::kb::Language;
use crate::matcher::normalize;
use serde::Serialize;

/// Questions that mean about the same thing, with how often they were asked.
#[derive(Clone, Debug, Serialize)]
pub struct Group {
    pub language: String,
    pub count: usize,
    /// Up to five examples, the first the group's seed.
    pub examples: Vec<String>,
}

/// Greedy grouping: each question joins the first group whose seed is at least `similar`
/// close, else starts one. Largest groups first.
pub fn group_by_meaning(
    embedder: &dyn Embedder,
    questions: &[(String, String)],
    similar: f32,
) -> Vec<Group> {
    let mut groups: Vec<(Vec<f32>, Group)> = Vec::new();
    for (lang, text) in questions {
        let l = Language::parse(lang).unwrap_or(Language::En);
        let v = embedder.embed(&normalize(text, l));
        match groups
            .iter_mut()
            .find(|(seed, g)| g.language == *lang && cosine(seed, &v) >= similar)
        {
            Some((_, g)) => {
                g.count += 1;
                if g.examples.len() < 5 && !g.examples.contains(text) {
                    g.examples.push(text.clone());
                }
            }
            None => groups.push((
                v,
                Group {
                    language: lang.clone(),
                    count: 1,
                    examples: vec![text.clone()],
                },
            )),
        }
    }
    let mut out: Vec<Group> = groups.into_iter().map(|(_, g)| g).collect();
    out.sort_by_key(|g| std::cmp::Reverse(g.count));
    out
}
