//! Knowledge-base entries and their files: the JSON array format of `shared/bot-dev/kb.*.json`
//! and a CSV form of it, each checked row by row. Parsing never stores anything: a file with a
//! bad row gives a report naming every rejected row and why, and the caller decides (the store
//! imports all or nothing).

use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::fmt;

/// The languages the bot speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    En,
    Zh,
}

impl Language {
    pub fn as_str(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Zh => "zh",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "en" | "english" => Some(Language::En),
            "zh" | "chinese" | "zh-cn" | "cmn" => Some(Language::Zh),
            _ => None,
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How an entry is matched against what the customer said.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MatchMode {
    /// Only the question or an alternate, word for word (case, spacing and punctuation aside).
    Exact,
    /// Any of the keywords appears in the text.
    Contains,
    /// By meaning: paraphrases, fillers, recognition errors and typos.
    #[default]
    Smart,
}

impl MatchMode {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchMode::Exact => "exact",
            MatchMode::Contains => "contains",
            MatchMode::Smart => "smart",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "exact" => Some(MatchMode::Exact),
            "contains" => Some(MatchMode::Contains),
            "smart" | "" => Some(MatchMode::Smart),
            _ => None,
        }
    }
}

/// One knowledge-base entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Unique within its language.
    pub id: String,
    pub language: Language,
    pub question: String,
    #[serde(default)]
    pub alternates: Vec<String>,
    /// What the bot says: written to be spoken.
    pub answer: String,
    #[serde(default)]
    pub keywords: Vec<String>,
    #[serde(default)]
    pub category: String,
    #[serde(default, rename = "match")]
    pub mode: MatchMode,
}

/// Limits on an entry's fields (characters), so one bad row cannot bloat the store or a reply.
pub const MAX_ID: usize = 128;
pub const MAX_TEXT: usize = 500;
pub const MAX_ANSWER: usize = 2000;
pub const MAX_LIST: usize = 50;

impl Entry {
    /// Every reason this entry cannot be stored, empty when it is fine.
    pub fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        let id_ok = !self.id.is_empty()
            && self.id.chars().count() <= MAX_ID
            && self
                .id
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'));
        if !id_ok {
            p.push(format!(
                "id must be 1-{MAX_ID} letters, digits, '-', '_', '.' or ':'"
            ));
        }
        if self.question.trim().is_empty() {
            p.push("question is empty".into());
        }
        if self.answer.trim().is_empty() {
            p.push("answer is empty".into());
        }
        if self.question.chars().count() > MAX_TEXT {
            p.push(format!("question is longer than {MAX_TEXT} characters"));
        }
        if self.answer.chars().count() > MAX_ANSWER {
            p.push(format!("answer is longer than {MAX_ANSWER} characters"));
        }
        if self.alternates.len() > MAX_LIST || self.keywords.len() > MAX_LIST {
            p.push(format!("more than {MAX_LIST} alternates or keywords"));
        }
        if self
            .alternates
            .iter()
            .chain(&self.keywords)
            .any(|s| s.trim().is_empty() || s.chars().count() > MAX_TEXT)
        {
            p.push("an alternate or keyword is empty or too long".into());
        }
        if self.mode == MatchMode::Contains && self.keywords.is_empty() {
            p.push("match mode contains needs keywords".into());
        }
        p
    }
}

/// One rejected row of an import file.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Rejected {
    /// 1-based: the array index + 1 in JSON, the line's record number in CSV (header = 0).
    pub row: usize,
    /// The row's id, when it had one.
    pub id: Option<String>,
    pub reason: String,
}

/// What a file holds: the good entries and every rejected row.
#[derive(Clone, Debug, Default)]
pub struct Parsed {
    pub entries: Vec<Entry>,
    pub rejected: Vec<Rejected>,
}

/// The file formats `kb import` reads and `kb export` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
}

impl Format {
    /// From a file name's extension.
    pub fn of_path(path: &str) -> Option<Self> {
        let lower = path.to_ascii_lowercase();
        if lower.ends_with(".json") {
            Some(Format::Json)
        } else if lower.ends_with(".csv") {
            Some(Format::Csv)
        } else {
            None
        }
    }
}

/// A JSON row: the bot-dev format, with optional `language` and `match`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonRow {
    id: String,
    question: String,
    #[serde(default)]
    alternates: Vec<String>,
    answer: String,
    #[serde(default)]
    keywords: Vec<String>,
    #[serde(default)]
    category: String,
    #[serde(default)]
    language: Option<String>,
    #[serde(default, rename = "match")]
    mode: Option<String>,
}

/// Parses `text` in `format`. Rows without a `language` take `default_language`. Duplicate ids
/// within the file (per language) are rejected after the first.
pub fn parse(text: &str, format: Format, default_language: Language) -> Result<Parsed, String> {
    let rows: Rows = match format {
        Format::Json => {
            let values: Vec<serde_json::Value> = serde_json::from_str(text)
                .map_err(|e| format!("not a JSON array of entries: {e}"))?;
            values
                .into_iter()
                .enumerate()
                .map(|(i, v)| {
                    (
                        i + 1,
                        serde_json::from_value::<JsonRow>(v).map_err(|e| e.to_string()),
                    )
                })
                .collect()
        }
        Format::Csv => parse_csv(text)?,
    };
    let mut out = Parsed::default();
    let mut seen: HashSet<(Language, String)> = HashSet::new();
    for (row, r) in rows {
        let jr = match r {
            Ok(jr) => jr,
            Err(reason) => {
                out.rejected.push(Rejected {
                    row,
                    id: None,
                    reason,
                });
                continue;
            }
        };
        let reject = |reason: String| Rejected {
            row,
            id: Some(jr.id.clone()),
            reason,
        };
        let language = match jr.language.as_deref() {
            None | Some("") => default_language,
            Some(l) => match Language::parse(l) {
                Some(l) => l,
                None => {
                    out.rejected
                        .push(reject(format!("unknown language {l:?} (en or zh)")));
                    continue;
                }
            },
        };
        let mode = match MatchMode::parse(jr.mode.as_deref().unwrap_or("")) {
            Some(m) => m,
            None => {
                out.rejected.push(reject(format!(
                    "unknown match mode {:?} (exact, contains or smart)",
                    jr.mode.unwrap_or_default()
                )));
                continue;
            }
        };
        let entry = Entry {
            id: jr.id.trim().to_string(),
            language,
            question: jr.question.trim().to_string(),
            alternates: trimmed(&jr.alternates),
            answer: jr.answer.trim().to_string(),
            keywords: trimmed(&jr.keywords),
            category: jr.category.trim().to_string(),
            mode,
        };
        let problems = entry.problems();
        if !problems.is_empty() {
            out.rejected.push(reject(problems.join("; ")));
            continue;
        }
        if !seen.insert((language, entry.id.clone())) {
            out.rejected
                .push(reject("the same id appears earlier in the file".into()));
            continue;
        }
        out.entries.push(entry);
    }
    Ok(out)
}

fn trimmed(v: &[String]) -> Vec<String> {
    v.iter().map(|s| s.trim().to_string()).collect()
}

/// CSV columns: id, question, alternates, answer, keywords, category, language, match. Lists
/// are separated by `|`. The header row names the columns (any order; the last three optional).
const CSV_COLUMNS: [&str; 8] = [
    "id",
    "question",
    "alternates",
    "answer",
    "keywords",
    "category",
    "language",
    "match",
];

/// Rows by number, each parsed or with why not.
type Rows = Vec<(usize, Result<JsonRow, String>)>;

fn parse_csv(text: &str) -> Result<Rows, String> {
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let header = rdr
        .headers()
        .map_err(|e| format!("cannot read the CSV header: {e}"))?
        .clone();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
    };
    for h in header.iter() {
        if !CSV_COLUMNS.iter().any(|c| h.trim().eq_ignore_ascii_case(c)) {
            return Err(format!(
                "unknown CSV column {h:?}; the columns are {}",
                CSV_COLUMNS.join(", ")
            ));
        }
    }
    for required in ["id", "question", "answer"] {
        if col(required).is_none() {
            return Err(format!("the CSV header has no {required} column"));
        }
    }
    let idx: Vec<Option<usize>> = CSV_COLUMNS.iter().map(|c| col(c)).collect();
    let mut rows = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let row = i + 1;
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                rows.push((row, Err(format!("bad CSV record: {e}"))));
                continue;
            }
        };
        let get =
            |k: usize| -> String { idx[k].and_then(|j| rec.get(j)).unwrap_or("").to_string() };
        let list = |k: usize| -> Vec<String> {
            get(k)
                .split('|')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect()
        };
        let opt = |k: usize| Some(get(k)).filter(|s| !s.trim().is_empty());
        rows.push((
            row,
            Ok(JsonRow {
                id: get(0),
                question: get(1),
                alternates: list(2),
                answer: get(3),
                keywords: list(4),
                category: get(5),
                language: opt(6),
                mode: opt(7),
            }),
        ));
    }
    Ok(rows)
}

/// Writes entries in `format` (the import format; a round trip gives the same entries).
pub fn write(entries: &[Entry], format: Format) -> String {
    match format {
        Format::Json => {
            let rows: Vec<serde_json::Value> = entries
                .iter()
                .map(|e| {
                    serde_json::json!({
                        "id": e.id, "question": e.question, "alternates": e.alternates,
                        "answer": e.answer, "keywords": e.keywords, "category": e.category,
                        "language": e.language, "match": e.mode,
                    })
                })
                .collect();
            serde_json::to_string_pretty(&rows).unwrap_or_else(|_| "[]".into()) + "\n"
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            let _ = w.write_record(CSV_COLUMNS);
            for e in entries {
                let _ = w.write_record([
                    e.id.as_str(),
                    e.question.as_str(),
                    &e.alternates.join("|"),
                    e.answer.as_str(),
                    &e.keywords.join("|"),
                    e.category.as_str(),
                    e.language.as_str(),
                    e.mode.as_str(),
                ]);
            }
            String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_rows_are_checked_one_by_one() {
        let text = r#"[
          {"id": "a", "question": "Q?", "answer": "A.", "alternates": ["q2"]},
          {"id": "b", "question": "", "answer": "A."},
          {"id": "a", "question": "Q?", "answer": "A."},
          {"id": "c", "question": "Q?", "answer": "A.", "language": "fr"},
          {"id": "d", "question": "Q?", "answer": "A.", "colour": "red"},
          {"id": "e", "question": "Q?", "answer": "A.", "match": "contains"}
        ]"#;
        let p = parse(text, Format::Json, Language::En).unwrap();
        assert_eq!(p.entries.len(), 1);
        let rows: Vec<usize> = p.rejected.iter().map(|r| r.row).collect();
        assert_eq!(rows, vec![2, 3, 4, 5, 6]);
        assert!(p.rejected[0].reason.contains("question is empty"));
        assert!(p.rejected[1].reason.contains("earlier"));
        assert!(p.rejected[2].reason.contains("language"));
        assert!(p.rejected[3].reason.contains("colour"));
        assert!(p.rejected[4].reason.contains("keywords"));
    }

    #[test]
    fn csv_round_trips_through_export() {
        let entries = vec![Entry {
            id: "billing-1".into(),
            language: Language::Zh,
            question: "账单, \"什么时候\" 到期?".into(),
            alternates: vec!["几号交费".into(), "交费日期".into()],
            answer: "每月14日。".into(),
            keywords: vec!["账单".into()],
            category: "billing".into(),
            mode: MatchMode::Contains,
        }];
        for f in [Format::Csv, Format::Json] {
            let text = write(&entries, f);
            let back = parse(&text, f, Language::En).unwrap();
            assert!(back.rejected.is_empty(), "{:?}", back.rejected);
            assert_eq!(back.entries, entries);
        }
    }

    #[test]
    fn csv_with_an_unknown_column_is_refused_whole() {
        let err = parse(
            "id,question,answer,colour\na,b,c,d\n",
            Format::Csv,
            Language::En,
        )
        .unwrap_err();
        assert!(err.contains("colour"));
    }
}
