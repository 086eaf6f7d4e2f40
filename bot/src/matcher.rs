//! Finding the entry that answers a question, or knowing that none does.
//!
//! Every entry of a language is indexed once: its question and alternates (and its answer, which
//! often holds the customer's words: "can I pay at a shop" / "cash at any store") as sentence
//! vectors, and its keywords normalised. A question is normalised the same way (case, width,
//! punctuation, fillers such as "um" or 嗯), embedded, and scored against every entry:
//!
//! - `exact` entries match only their question or an alternate, word for word;
//! - `contains` entries match when one of their keywords appears;
//! - `smart` entries score the best cosine over their phrasings, the answer counting a little
//!   less, plus a small bonus per keyword present.
//!
//! With a second encoder for a language (all-mpnet-base-v2 for English,
//! [`Matcher::set_second`]), a smart entry's meaning is a weighted mean of both encoders'
//! scores (`second_weight`).
//!
//! The best score is the confidence. Under the threshold the bot does not guess: the answer is
//! the fallback ("could you put it another way?"), as it is when two different entries are
//! nearly tied far from certainty.

use crate::embed::{cosine, Embedder};
use crate::kb::{Entry, Language, MatchMode};
use std::collections::BTreeMap;
use std::sync::Arc;
use unicode_normalization::UnicodeNormalization;

/// Tunables of matching.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MatchConfig {
    /// Confidence under which the bot falls back instead of answering.
    pub threshold: f32,
    /// How much less the answer's text counts than a phrasing of the question.
    pub answer_discount: f32,
    /// Added to a smart entry's score per keyword found in the question (at most two).
    pub keyword_bonus: f32,
    /// How much the mean over an entry's phrasings counts beside the best one (0..1).
    pub mean_weight: f32,
    /// Weight of the word-overlap score (BM25 over the entry's question, alternates,
    /// keywords and answer, capped at `lexical_cap` and scaled to 0..1).
    pub lexical_weight: f32,
    pub lexical_cap: f32,
    /// With a second encoder for the language: how much its opinion counts in the meaning
    /// (0..1; the first encoder's counts the rest).
    pub second_weight: f32,
    /// With a second encoder: the score at which the bot answers (its cosines have their own
    /// scale). Such a score is shifted by `threshold - second_threshold`, so confidences of
    /// every language read alike (`threshold` is where the bot answers).
    pub second_threshold: f32,
    /// With a second encoder: the weight of the word-overlap score (`lexical_weight`'s).
    pub second_lexical_weight: f32,
}

impl Default for MatchConfig {
    fn default() -> Self {
        Self {
            threshold: 0.58,
            answer_discount: 0.05,
            keyword_bonus: 0.0,
            mean_weight: 0.3,
            lexical_weight: 0.25,
            lexical_cap: 8.0,
            second_weight: 1.0,
            second_threshold: 0.44,
            second_lexical_weight: 0.1,
        }
    }
}

/// The verdict on one question.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Verdict {
    /// The entry that answers it; `None` means the fallback.
    pub id: Option<String>,
    /// 0..1: how sure the match is.
    pub confidence: f32,
    /// The best candidates, best first (id, score), whether or not one was taken.
    pub candidates: Vec<(String, f32)>,
}

struct Indexed {
    entry: Entry,
    phrasings: Vec<Vec<f32>>,
    exact: Vec<String>,
    answer: Vec<f32>,
    /// The same texts by the second encoder (empty without one for the entry's language).
    phrasings2: Vec<Vec<f32>>,
    answer2: Vec<f32>,
    keywords: Vec<String>,
    /// The entry's words for BM25.
    terms: Vec<String>,
}

/// Document frequencies of one language's entries, for BM25.
#[derive(Default)]
struct Stats {
    df: std::collections::HashMap<String, usize>,
    docs: usize,
    avg_len: f32,
}

/// A sentence encoder and the vectors of entry texts it made: kept in the database by the
/// shell (loading a large knowledge base does not embed every text again), and the ones made
/// since [`Matcher::take_new_vectors`].
struct Encoder {
    embedder: Arc<dyn Embedder>,
    dim: usize,
    known: std::collections::HashMap<String, Vec<f32>>,
    new_vectors: Vec<String>,
}

impl Encoder {
    fn new(embedder: Arc<dyn Embedder>, dim: usize) -> Self {
        Self {
            embedder,
            dim,
            known: Default::default(),
            new_vectors: vec![],
        }
    }

    fn remember(&mut self, vectors: impl IntoIterator<Item = (String, Vec<f32>)>) {
        let dim = self.dim;
        self.known
            .extend(vectors.into_iter().filter(|(_, v)| v.len() == dim));
    }

    fn take_new(&mut self) -> Vec<(String, Vec<f32>)> {
        std::mem::take(&mut self.new_vectors)
            .into_iter()
            .filter_map(|t| self.known.get(&t).map(|v| (t, v.clone())))
            .collect()
    }

    /// Embeds every text not known yet, on up to four threads.
    fn embed_all(&mut self, texts: Vec<String>) {
        let mut seen = std::collections::HashSet::new();
        let todo: Vec<String> = texts
            .into_iter()
            .filter(|n| !self.known.contains_key(n) && seen.insert(n.clone()))
            .collect();
        if todo.is_empty() {
            return;
        }
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .clamp(1, 4);
        let chunk = todo.len().div_ceil(threads);
        let embedder = &self.embedder;
        let vectors: Vec<Vec<Vec<f32>>> = std::thread::scope(|s| {
            let handles: Vec<_> = todo
                .chunks(chunk)
                .map(|part| s.spawn(move || part.iter().map(|t| embedder.embed(t)).collect()))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_default())
                .collect()
        });
        for (t, v) in todo.into_iter().zip(vectors.into_iter().flatten()) {
            self.known.insert(t.clone(), v);
            self.new_vectors.push(t);
        }
    }

    fn vector(&mut self, norm: String) -> Vec<f32> {
        if let Some(v) = self.known.get(&norm) {
            return v.clone();
        }
        let v = self.embedder.embed(&norm);
        self.known.insert(norm.clone(), v.clone());
        self.new_vectors.push(norm);
        v
    }
}

/// An index of knowledge-base entries, per language.
pub struct Matcher {
    first: Encoder,
    /// A second opinion on meaning for one language.
    second: Option<(Language, Encoder)>,
    /// The tag its vectors are kept under (which encoder, which conversion).
    second_tag: String,
    config: MatchConfig,
    index: BTreeMap<Language, Vec<Indexed>>,
    stats: BTreeMap<Language, Stats>,
}

impl std::fmt::Debug for Matcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Matcher")
            .field("entries", &self.len())
            .finish()
    }
}

impl Matcher {
    pub fn new(embedder: Arc<dyn Embedder>, config: MatchConfig) -> Self {
        Self {
            first: Encoder::new(embedder, crate::embed::DIM),
            second: None,
            second_tag: String::new(),
            config,
            index: BTreeMap::new(),
            stats: BTreeMap::new(),
        }
    }

    /// A second encoder (vectors of `dim` numbers) for the questions and entries of
    /// `language`; set before loading entries.
    pub fn set_second(
        &mut self,
        language: Language,
        embedder: Arc<dyn Embedder>,
        dim: usize,
        tag: impl Into<String>,
    ) {
        self.second = Some((language, Encoder::new(embedder, dim)));
        self.second_tag = tag.into();
    }

    /// The tag the second encoder's vectors are kept under ("" without one).
    pub fn second_tag(&self) -> &str {
        &self.second_tag
    }

    /// Whether a second encoder votes for `language`.
    pub fn has_second(&self, language: Language) -> bool {
        self.second.as_ref().is_some_and(|(l, _)| *l == language)
    }

    pub fn config(&self) -> &MatchConfig {
        &self.config
    }

    pub fn embedder(&self) -> &Arc<dyn Embedder> {
        &self.first.embedder
    }

    /// Vectors of normalised entry texts computed before (by this model), so that loading a
    /// large knowledge base does not embed every text again.
    pub fn remember(&mut self, vectors: impl IntoIterator<Item = (String, Vec<f32>)>) {
        self.first.remember(vectors);
    }

    /// The same for the second encoder.
    pub fn remember_second(&mut self, vectors: impl IntoIterator<Item = (String, Vec<f32>)>) {
        if let Some((_, e)) = &mut self.second {
            e.remember(vectors);
        }
    }

    /// The vectors computed since the last call, to keep.
    pub fn take_new_vectors(&mut self) -> Vec<(String, Vec<f32>)> {
        self.first.take_new()
    }

    /// The second encoder's.
    pub fn take_new_second_vectors(&mut self) -> Vec<(String, Vec<f32>)> {
        self.second
            .as_mut()
            .map(|(_, e)| e.take_new())
            .unwrap_or_default()
    }

    /// Embeds every text of `entries` not known yet.
    fn embed_all(&mut self, entries: &[Entry]) {
        let texts = |only: Option<Language>| -> Vec<String> {
            entries
                .iter()
                .filter(|e| only.is_none_or(|l| l == e.language))
                .flat_map(|e| {
                    std::iter::once(&e.question)
                        .chain(&e.alternates)
                        .chain(std::iter::once(&e.answer))
                        .map(|t| normalize(t, e.language))
                })
                .collect()
        };
        self.first.embed_all(texts(None));
        if let Some((l, _)) = &self.second {
            let t = texts(Some(*l));
            if let Some((_, e)) = &mut self.second {
                e.embed_all(t);
            }
        }
    }

    /// Replaces the whole index with `entries` (all languages).
    pub fn load(&mut self, entries: impl IntoIterator<Item = Entry>) {
        self.index.clear();
        let entries: Vec<Entry> = entries.into_iter().collect();
        self.embed_all(&entries);
        for e in entries {
            self.add(e);
        }
        let langs: Vec<Language> = self.index.keys().copied().collect();
        for l in langs {
            self.rebuild(l);
        }
    }

    /// Adds or replaces one entry.
    pub fn insert(&mut self, entry: Entry) {
        let lang = entry.language;
        self.add(entry);
        self.rebuild(lang);
    }

    fn rebuild(&mut self, lang: Language) {
        let mut st = Stats::default();
        if let Some(list) = self.index.get(&lang) {
            st.docs = list.len();
            let mut total = 0usize;
            for ix in list {
                total += ix.terms.len();
                let uniq: std::collections::HashSet<&String> = ix.terms.iter().collect();
                for t in uniq {
                    *st.df.entry(t.clone()).or_default() += 1;
                }
            }
            st.avg_len = total as f32 / st.docs.max(1) as f32;
        }
        self.stats.insert(lang, st);
    }

    fn add(&mut self, entry: Entry) {
        if let Some(list) = self.index.get_mut(&entry.language) {
            list.retain(|i| i.entry.id != entry.id);
        }
        let lang = entry.language;
        let texts: Vec<&String> = std::iter::once(&entry.question)
            .chain(&entry.alternates)
            .collect();
        let exact: Vec<String> = texts.iter().map(|t| normalize(t, lang)).collect();
        let phrasings = exact.iter().map(|t| self.first.vector(t.clone())).collect();
        let answer = self.first.vector(normalize(&entry.answer, lang));
        let (phrasings2, answer2) = match &mut self.second {
            Some((l, e)) if *l == lang => (
                exact.iter().map(|t| e.vector(t.clone())).collect(),
                e.vector(normalize(&entry.answer, lang)),
            ),
            _ => (vec![], vec![]),
        };
        let keywords = entry
            .keywords
            .iter()
            .map(|k| normalize(k, lang))
            .filter(|k| !k.is_empty())
            .collect();
        let all = std::iter::once(&entry.question)
            .chain(&entry.alternates)
            .chain(&entry.keywords)
            .chain(std::iter::once(&entry.answer))
            .map(|t| normalize(t, lang))
            .collect::<Vec<_>>()
            .join(" ");
        let terms = terms(&all, lang);
        self.index.entry(lang).or_default().push(Indexed {
            entry,
            phrasings,
            exact,
            answer,
            phrasings2,
            answer2,
            keywords,
            terms,
        });
    }

    /// Removes an entry; true if it was there.
    pub fn remove(&mut self, language: Language, id: &str) -> bool {
        let Some(list) = self.index.get_mut(&language) else {
            return false;
        };
        let before = list.len();
        list.retain(|i| i.entry.id != id);
        let removed = list.len() != before;
        if removed {
            self.rebuild(language);
        }
        removed
    }

    pub fn len(&self) -> usize {
        self.index.values().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every entry of `language`.
    pub fn entries(&self, language: Language) -> impl Iterator<Item = &Entry> {
        self.index
            .get(&language)
            .into_iter()
            .flatten()
            .map(|i| &i.entry)
    }

    /// The entry `id` of `language`.
    pub fn entry(&self, language: Language, id: &str) -> Option<&Entry> {
        self.index
            .get(&language)?
            .iter()
            .map(|i| &i.entry)
            .find(|e| e.id == id)
    }

    /// Scores `text` against the entries of `language`.
    pub fn ask(&self, language: Language, text: &str) -> Verdict {
        let norm = normalize(text, language);
        if norm.is_empty() {
            return Verdict {
                id: None,
                confidence: 0.0,
                candidates: vec![],
            };
        }
        let q = self.first.embedder.embed(&norm);
        self.ask_embedded(language, &norm, &q)
    }

    /// As [`Matcher::ask`], for a question already normalised (`norm`) and embedded (`q`).
    pub fn ask_embedded(&self, language: Language, norm: &str, q: &[f32]) -> Verdict {
        let q2 = self.second_vector(language, norm);
        self.ask_embedded_with(language, norm, q, q2.as_deref())
    }

    /// The question by the second encoder, when one votes for `language`.
    pub fn second_vector(&self, language: Language, norm: &str) -> Option<Vec<f32>> {
        match &self.second {
            Some((l, e)) if *l == language && !norm.is_empty() => Some(e.embedder.embed(norm)),
            _ => None,
        }
    }

    /// What is added to a second-encoder cosine to put it on the common confidence scale
    /// (`threshold - second_threshold`).
    pub fn second_shift(&self) -> f32 {
        self.config.threshold - self.config.second_threshold
    }

    /// As [`Matcher::ask_embedded`], with the second encoder's vector of the question
    /// already made ([`Matcher::second_vector`]; `None` for a language it does not vote for).
    pub fn ask_embedded_with(
        &self,
        language: Language,
        norm: &str,
        q: &[f32],
        q2: Option<&[f32]>,
    ) -> Verdict {
        let q2 = q2.filter(|_| self.has_second(language));
        let Some(list) = self.index.get(&language).filter(|l| !l.is_empty()) else {
            return Verdict {
                id: None,
                confidence: 0.0,
                candidates: vec![],
            };
        };
        if norm.is_empty() {
            return Verdict {
                id: None,
                confidence: 0.0,
                candidates: vec![],
            };
        }
        let stats = self.stats.get(&language);
        let qterms = query_terms(norm, language, stats);
        let mut scored: Vec<(usize, f32)> = list
            .iter()
            .enumerate()
            .map(|(i, ix)| {
                let lex = stats.map_or(0.0, |st| bm25(st, &ix.terms, &qterms));
                (i, self.score(ix, norm, q, q2, language, lex))
            })
            .collect();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1));
        let shift = if q2.is_some() {
            self.second_shift()
        } else {
            0.0
        };
        let candidates: Vec<(String, f32)> = scored
            .iter()
            .take(3)
            .map(|&(i, s)| (list[i].entry.id.clone(), round3(s + shift)))
            .collect();
        let (best, score) = scored[0];
        let confidence = (score + shift).clamp(0.0, 1.0);
        let id = (confidence >= self.config.threshold).then(|| list[best].entry.id.clone());
        Verdict {
            id,
            confidence: round3(confidence),
            candidates,
        }
    }

    fn score(
        &self,
        ix: &Indexed,
        norm: &str,
        q: &[f32],
        q2: Option<&[f32]>,
        lang: Language,
        lex: f32,
    ) -> f32 {
        let hits = ix
            .keywords
            .iter()
            .filter(|k| contains_term(norm, k, lang))
            .count();
        match ix.entry.mode {
            MatchMode::Exact => {
                if ix.exact.iter().any(|e| e == norm) {
                    1.0
                } else {
                    0.0
                }
            }
            MatchMode::Contains => {
                if hits > 0 {
                    (0.85 + 0.05 * hits as f32).min(1.0)
                } else {
                    0.0
                }
            }
            MatchMode::Smart => {
                if ix.exact.iter().any(|e| e == norm) {
                    return 1.0;
                }
                let c = &self.config;
                let opinion = |q: &[f32], phrasings: &[Vec<f32>], answer: &[f32]| {
                    let sims: Vec<f32> = phrasings.iter().map(|p| cosine(q, p)).collect();
                    let best = sims.iter().copied().fold(f32::MIN, f32::max);
                    let mean = sims.iter().sum::<f32>() / sims.len().max(1) as f32;
                    let meaning = (1.0 - c.mean_weight) * best + c.mean_weight * mean;
                    meaning.max(cosine(q, answer) - c.answer_discount)
                };
                let first = opinion(q, &ix.phrasings, &ix.answer);
                let (meaning, lexical_weight) = match q2 {
                    Some(q2) if !ix.phrasings2.is_empty() => {
                        let w = c.second_weight.clamp(0.0, 1.0);
                        let second = opinion(q2, &ix.phrasings2, &ix.answer2);
                        ((1.0 - w) * first + w * second, c.second_lexical_weight)
                    }
                    _ => (first, c.lexical_weight),
                };
                meaning
                    + lexical_weight * lex.min(c.lexical_cap) / c.lexical_cap.max(1e-6)
                    + c.keyword_bonus * hits.min(2) as f32
            }
        }
    }
}

/// Okapi BM25 of the question's terms against one entry's.
fn bm25(st: &Stats, doc: &[String], query: &[String]) -> f32 {
    const K1: f32 = 1.2;
    const B: f32 = 0.75;
    let n = st.docs as f32;
    let len = doc.len() as f32;
    let mut uniq: Vec<&String> = query.iter().collect();
    uniq.sort();
    uniq.dedup();
    uniq.into_iter()
        .map(|w| {
            let f = doc.iter().filter(|t| *t == w).count() as f32;
            if f == 0.0 {
                return 0.0;
            }
            let df = *st.df.get(w).unwrap_or(&0) as f32;
            let idf = (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
            idf * f * (K1 + 1.0) / (f + K1 * (1.0 - B + B * len / st.avg_len.max(1.0)))
        })
        .sum()
}

/// Words too common to tell entries apart.
const EN_STOP: &[&str] = &[
    "i", "me", "my", "we", "our", "you", "your", "it", "its", "is", "are", "was", "be", "been",
    "do", "does", "did", "a", "an", "the", "to", "of", "and", "or", "in", "on", "at", "for",
    "with", "can", "could", "would", "should", "will", "how", "what", "why", "when", "where",
    "which", "who", "this", "that", "there", "here", "so", "just", "get", "got", "have", "has",
    "had", "not", "no", "any", "some", "about", "from", "up", "out", "if", "then", "than", "as",
    "by", "im", "ive", "dont",
];

/// Terms for word overlap: English words (stop words out, a light suffix fold); Chinese
/// character pairs (no segmenter needed, and robust to recognition errors of one character)
/// and, for an entry, the same pairs as toneless pinyin (see [`query_terms`]).
pub fn terms(norm: &str, lang: Language) -> Vec<String> {
    if lang == Language::Zh {
        let (mut chars, sounds) = zh_pairs(norm);
        chars.extend(sounds);
        return chars;
    }
    en_terms(norm)
}

/// A question's terms: as [`terms`], but a Chinese character pair that no entry has is looked
/// up by its sound instead, so that a homophone speech recognition wrote ("化肺鱼" for 话费余额,
/// both "hua fei yu") still meets the entry's words, while pairs written right count once.
fn query_terms(norm: &str, lang: Language, known: Option<&Stats>) -> Vec<String> {
    if lang != Language::Zh {
        return en_terms(norm);
    }
    let (chars, sounds) = zh_pairs(norm);
    let mut out = vec![];
    for (c, s) in chars.into_iter().zip(sounds) {
        if known.is_some_and(|st| st.df.contains_key(&c)) {
            out.push(c);
        } else {
            out.push(s);
        }
    }
    out
}

/// Chinese character pairs and the same pairs' toneless pinyin (`hua~fei`).
fn zh_pairs(norm: &str) -> (Vec<String>, Vec<String>) {
    use pinyin::ToPinyin;
    let chars: Vec<char> = norm.chars().filter(|c| !c.is_whitespace()).collect();
    let sounds: Vec<String> = chars
        .iter()
        .map(|c| match c.to_pinyin() {
            Some(p) => p.plain().to_string(),
            None => c.to_lowercase().collect(),
        })
        .collect();
    (
        chars.windows(2).map(|w| w.iter().collect()).collect(),
        sounds
            .windows(2)
            .map(|w| format!("{}~{}", w[0], w[1]))
            .collect(),
    )
}

fn en_terms(norm: &str) -> Vec<String> {
    norm.split_whitespace()
        .map(|w| w.replace('\'', ""))
        .filter(|w| w.chars().count() >= 2 && !EN_STOP.contains(&w.as_str()))
        .map(|w| {
            for suf in ["ing", "ed", "es", "s"] {
                if let Some(stem) = w.strip_suffix(suf) {
                    if stem.chars().count() >= 3 {
                        return stem.to_string();
                    }
                }
            }
            w
        })
        .collect()
}

fn round3(x: f32) -> f32 {
    (x * 1000.0).round() / 1000.0
}

/// Words that carry no meaning in a question, dropped before matching.
const EN_FILLERS: &[&str] = &[
    "um", "umm", "uh", "uhh", "uhm", "erm", "er", "hmm", "hm", "mm", "ah", "eh", "pls", "plz",
    "please",
];
const ZH_FILLERS: &[&str] = &["嗯", "呃", "额", "那个", "就是说", "请问", "您好", "你好"];

/// Lower case, full-width folded (NFKC), punctuation to spaces, fillers dropped, spaces collapsed.
pub fn normalize(text: &str, lang: Language) -> String {
    let folded: String = text.nfkc().collect::<String>().to_lowercase();
    let spaced: String = folded
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '\'' || c.is_whitespace() {
                c
            } else {
                ' '
            }
        })
        .collect();
    let mut words: Vec<&str> = spaced
        .split_whitespace()
        .filter(|w| !EN_FILLERS.contains(w))
        .collect();
    let mut out = words.join(" ");
    if lang == Language::Zh {
        for f in ZH_FILLERS {
            out = out.replace(f, " ");
        }
        words = out.split_whitespace().collect();
        out = words.join(" ");
    }
    out
}

/// Whether `term` appears in `text` (both normalised): on word boundaries for text with spaces,
/// anywhere for Chinese.
pub fn contains_term(text: &str, term: &str, lang: Language) -> bool {
    if term.is_empty() {
        return false;
    }
    if lang == Language::Zh || !term.is_ascii() {
        return text.contains(term);
    }
    let padded = format!(" {text} ");
    if padded.contains(&format!(" {term} ")) {
        return true;
    }
    term.split_whitespace()
        .all(|w| padded.contains(&format!(" {w} ")) || stem_match(&padded, w))
}

/// "payments" finds "payment", "charged" finds "charge": a crude English plural/tense fold.
fn stem_match(padded: &str, w: &str) -> bool {
    let stem = w.trim_end_matches('s').trim_end_matches("ed");
    stem.len() >= 4
        && padded
            .split_whitespace()
            .any(|t| t.starts_with(stem) && t.len() <= stem.len() + 3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_folds_case_width_punctuation_and_fillers() {
        assert_eq!(
            normalize("Um, so WHEN is my bill due?!", Language::En),
            "so when is my bill due"
        );
        assert_eq!(normalize("嗯，那个我的流量？", Language::Zh), "我的流量");
        assert_eq!(normalize("ＡＢＣ", Language::En), "abc");
    }

    #[test]
    fn chinese_homophones_share_terms() {
        let heard = query_terms("我想查一下化肺鱼", Language::Zh, None);
        let entry = terms("怎么查询话费余额", Language::Zh);
        let shared: Vec<&String> = heard.iter().filter(|t| entry.contains(t)).collect();
        assert!(shared.iter().any(|t| *t == "hua~fei"), "{shared:?}");
        assert!(shared.iter().any(|t| *t == "fei~yu"), "{shared:?}");
    }

    #[test]
    fn terms_match_on_word_boundaries() {
        assert!(contains_term("can i pay by card", "card", Language::En));
        assert!(!contains_term("discard it", "card", Language::En));
        assert!(contains_term(
            "my bank transfer failed",
            "bank transfer",
            Language::En
        ));
        assert!(contains_term("我的账单呢", "账单", Language::Zh));
    }
}
