//! Scoring transcripts against references: the speech evaluation set's manifests
//! (`eval/speech/*.tsv`), text normalisation, word and character error rates, and the checks
//! for invented text (loops, duplicated utterances) that the tests and `make eval-speech` share.
//!
//! Normalisation follows what a reader would accept as the same words: case, punctuation,
//! fillers ("um", "uh") and the spelling of numbers ("47291" = "four seven two nine one",
//! "25" = "twenty five") do not count as errors. Chinese is scored per character.

use super::guard::{self, is_cjk};
use std::path::{Path, PathBuf};

/// One clip of the evaluation set.
#[derive(Clone, Debug, PartialEq)]
pub struct Clip {
    /// Unique id; a variant's id is `base~tel` or `base~noisy`.
    pub id: String,
    /// `audiobook`, `conversational`, `short`, `long`, `numbers`, `zh`, and for variants
    /// `telephone` or `noisy`.
    pub group: String,
    pub lang: String,
    /// `gold`: the reference is exactly what was said; `silver`: written by us from listening
    /// proxies (see eval/speech/README.md).
    pub quality: String,
    pub reference: String,
}

impl Clip {
    pub fn audio_path(&self, dir: &Path) -> PathBuf {
        dir.join("cache").join(format!("{}.wav", self.id))
    }

    pub fn is_cjk(&self) -> bool {
        matches!(self.lang.as_str(), "zh" | "ja" | "ko" | "yue")
    }
}

/// Every clip of every manifest in `dir` (`*.tsv`), with its telephone and noisy variants.
pub fn load_manifests(dir: &Path) -> std::io::Result<Vec<Clip>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "tsv"))
        .collect();
    files.sort();
    let mut clips = vec![];
    for f in files {
        let text = std::fs::read_to_string(&f)?;
        let mut lines = text.lines();
        let Some(header) = lines.next() else { continue };
        if !header.starts_with("id\tgroup\tlang\tvariants") {
            continue; // not a clip manifest
        }
        for line in lines {
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let cols: Vec<&str> = line.splitn(6, '\t').collect();
            if cols.len() < 6 {
                return Err(std::io::Error::other(format!(
                    "{}: bad line (need 6 tab-separated columns): {line}",
                    f.display()
                )));
            }
            let base = Clip {
                id: cols[0].to_string(),
                group: cols[1].to_string(),
                lang: cols[2].to_string(),
                quality: cols[4].to_string(),
                reference: cols[5].trim().to_string(),
            };
            for v in cols[3].split(',').map(str::trim) {
                let group = match v {
                    "tel" => "telephone",
                    "noisy" => "noisy",
                    _ => continue,
                };
                clips.push(Clip {
                    id: format!("{}~{v}", base.id),
                    group: group.to_string(),
                    ..base.clone()
                });
            }
            clips.push(base);
        }
    }
    Ok(clips)
}

const FILLERS: [&str; 9] = ["um", "uh", "umm", "uhm", "hmm", "mm", "er", "ah", "mhm"];
const ONES: [&str; 20] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
];
const TENS: [&str; 10] = [
    "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
];

fn cardinal_en(n: u64, out: &mut Vec<String>) {
    if n >= 1000 {
        cardinal_en(n / 1000, out);
        out.push("thousand".into());
        if !n.is_multiple_of(1000) {
            cardinal_en(n % 1000, out);
        }
    } else if n >= 100 {
        out.push(ONES[(n / 100) as usize].into());
        out.push("hundred".into());
        if !n.is_multiple_of(100) {
            cardinal_en(n % 100, out);
        }
    } else if n >= 20 {
        out.push(TENS[(n / 10) as usize].into());
        if !n.is_multiple_of(10) {
            out.push(ONES[(n % 10) as usize].into());
        }
    } else {
        out.push(ONES[n as usize].into());
    }
}

const ZH_DIGITS: [char; 10] = ['零', '一', '二', '三', '四', '五', '六', '七', '八', '九'];

fn cardinal_zh(n: u64) -> String {
    if n == 0 {
        return "零".into();
    }
    let units = ['千', '百', '十', ' '];
    let digits = [n / 1000 % 10, n / 100 % 10, n / 10 % 10, n % 10];
    let mut s = String::new();
    let mut zero = false;
    for (i, &d) in digits.iter().enumerate() {
        if d == 0 {
            zero = !s.is_empty();
            continue;
        }
        if zero {
            s.push('零');
            zero = false;
        }
        if !(d == 1 && i == 2 && s.is_empty()) {
            s.push(ZH_DIGITS[d as usize]);
        }
        if units[i] != ' ' {
            s.push(units[i]);
        }
    }
    s
}

/// Spoken forms a digit string may stand for.
fn number_readings(digits: &str, cjk: bool) -> Vec<Vec<String>> {
    let by_digit: Vec<String> = digits
        .chars()
        .filter_map(|c| c.to_digit(10))
        .map(|d| {
            if cjk {
                ZH_DIGITS[d as usize].to_string()
            } else {
                ONES[d as usize].to_string()
            }
        })
        .collect();
    let mut out = vec![by_digit];
    let Ok(n) = digits.parse::<u64>() else {
        return out;
    };
    if digits.len() <= 4 && !(digits.len() > 1 && digits.starts_with('0')) {
        if cjk {
            out.push(cardinal_zh(n).chars().map(|c| c.to_string()).collect());
        } else {
            let mut w = vec![];
            cardinal_en(n, &mut w);
            out.push(w);
            if digits.len() == 4 && n % 100 != 0 {
                // Years and the like: "twenty twenty four", "nineteen oh five".
                let mut w = vec![];
                cardinal_en(n / 100, &mut w);
                if n % 100 < 10 {
                    w.push("oh".into());
                }
                cardinal_en(n % 100, &mut w);
                out.push(w);
            }
        }
    }
    out
}

/// One spelling per word: American for British ("travelling", "colour", "realise"), and a few
/// written variants.
fn spelling(w: &str) -> String {
    let fixed = match w {
        "ok" => "okay",
        "alright" => "all right",
        "mr" => "mister",
        "mrs" => "missus",
        "dr" => "doctor",
        "centre" => "center",
        "metre" => "meter",
        "metres" => "meters",
        "cheque" => "check",
        "programme" => "program",
        "licence" => "license",
        "grey" => "gray",
        "tyre" => "tire",
        "tyres" => "tires",
        "aluminium" => "aluminum",
        "enquiry" => "inquiry",
        "email" | "e mail" => "email",
        _ => "",
    };
    if !fixed.is_empty() {
        return fixed.to_string();
    }
    for (uk, us) in [("elling", "eling"), ("elled", "eled"), ("eller", "eler")] {
        if let Some(stem) = w.strip_suffix(uk) {
            // travelling, cancelled, traveller (but not "telling", "spelled": one-syllable stems)
            if stem.len() >= 3
                && !matches!(
                    stem,
                    "t" | "s"
                        | "sp"
                        | "sm"
                        | "y"
                        | "f"
                        | "qu"
                        | "sh"
                        | "dw"
                        | "sw"
                        | "exc"
                        | "comp"
                        | "exp"
                        | "rep"
                        | "prop"
                        | "dispe"
                )
            {
                return format!("{stem}{us}");
            }
        }
    }
    for (uk, us) in [
        ("our", "or"),
        ("ours", "ors"),
        ("oured", "ored"),
        ("ise", "ize"),
        ("ised", "ized"),
        ("ising", "izing"),
        ("isation", "ization"),
    ] {
        if let Some(stem) = w.strip_suffix(uk) {
            const OUR: [&str; 8] = [
                "col", "fav", "behavi", "hon", "neighb", "lab", "harb", "rum",
            ];
            const ISE: [&str; 9] = [
                "real", "organ", "recogn", "apolog", "author", "custom", "priorit", "special",
                "minim",
            ];
            if (uk.starts_with("our") && OUR.contains(&stem))
                || (uk.starts_with("is") && ISE.contains(&stem))
            {
                return format!("{stem}{us}");
            }
        }
    }
    w.to_string()
}

fn ordinal_en(n: u64) -> Vec<String> {
    let mut w = vec![];
    cardinal_en(n, &mut w);
    if let Some(last) = w.last_mut() {
        *last = match last.as_str() {
            "one" => "first".into(),
            "two" => "second".into(),
            "three" => "third".into(),
            "five" => "fifth".into(),
            "eight" => "eighth".into(),
            "nine" => "ninth".into(),
            "twelve" => "twelfth".into(),
            x if x.ends_with('y') => format!("{}ieth", &x[..x.len() - 1]),
            x => format!("{x}th"),
        };
    }
    w
}

/// Tokens of a text for scoring: lower-case words (or CJK characters), without punctuation
/// and fillers. Digit strings stay as `#123` markers for [`units_against`] to spell out.
fn raw_units(text: &str, cjk: bool) -> Vec<String> {
    // Whisper writes Chinese in either script: score both in simplified characters.
    let simplified;
    let text = if cjk {
        simplified = fast2s::convert(text);
        simplified.as_str()
    } else {
        text
    };
    let text = text
        .to_lowercase()
        .replace('’', "'")
        .replace(['-', '—', '–', '/'], " ")
        .replace('%', " percent ")
        .replace('&', " and ");
    let mut out = vec![];
    for w in text.split_whitespace() {
        let currency = match w.chars().next() {
            Some('$') => Some("dollars"),
            Some('£') => Some("pounds"),
            Some('€') => Some("euros"),
            _ => None,
        };
        // An alphanumeric code ("LS6", "K774", "3HT") is read out character by character.
        let code = w.chars().any(|c| c.is_ascii_digit())
            && w.chars().any(|c| c.is_ascii_alphabetic())
            && !is_ordinal(w)
            && w.chars().filter(|c| c.is_alphanumeric()).count() <= 12;
        if code {
            for c in w.chars().filter(|c| c.is_alphanumeric()) {
                out.push(if c.is_ascii_digit() {
                    format!("#{c}")
                } else {
                    c.to_lowercase().to_string()
                });
            }
            continue;
        }
        let mut cur = String::new();
        let flush = |cur: &mut String, out: &mut Vec<String>| {
            if cur.is_empty() {
                return;
            }
            let w = std::mem::take(cur);
            if w.chars().all(|c| c.is_ascii_digit()) {
                out.push(format!("#{w}"));
            } else if matches!(w.as_str(), "st" | "nd" | "rd" | "th")
                && out.last().is_some_and(|l| l.starts_with('#'))
            {
                // "14th": the number before it is an ordinal.
                let n = out.pop().unwrap_or_default();
                out.push(format!("%{}", &n[1..]));
            } else {
                out.push(w);
            }
        };
        let mut prev_digit = false;
        for c in w.chars() {
            if is_cjk(c) {
                flush(&mut cur, &mut out);
                out.push(if c == '幺' {
                    "一".into()
                } else {
                    c.to_string()
                });
                prev_digit = false;
            } else if c.is_ascii_digit() {
                if !prev_digit {
                    flush(&mut cur, &mut out);
                }
                cur.push(c);
                prev_digit = true;
            } else if c == ',' && prev_digit {
                // "1,200": a thousands separator; keep the number whole.
            } else if c.is_alphanumeric() || c == '\'' {
                if prev_digit {
                    flush(&mut cur, &mut out);
                }
                cur.push(c);
                prev_digit = false;
            } else {
                flush(&mut cur, &mut out);
                prev_digit = false;
            }
        }
        flush(&mut cur, &mut out);
        if let Some(c) = currency {
            out.push(c.into());
        }
    }
    out.retain(|w| !FILLERS.contains(&w.as_str()) && w != "'");
    for w in out.iter_mut() {
        *w = spelling(w.trim_matches('\''));
    }
    out.into_iter()
        .flat_map(|w| {
            if w.contains(' ') {
                w.split(' ').map(String::from).collect::<Vec<_>>()
            } else {
                vec![w]
            }
        })
        .collect()
}

/// Units of `hyp` for scoring against `reference`: each number is read the way that matches
/// the reference best (digit by digit, as a cardinal, or as a year).
pub fn units_against(hyp: &str, reference: &[String], cjk: bool) -> Vec<String> {
    let mut out = vec![];
    for u in raw_units(hyp, cjk) {
        if let Some(n) = u.strip_prefix('%').and_then(|d| d.parse().ok()) {
            out.extend(ordinal_en(n));
        } else if let Some(d) = u.strip_prefix('#') {
            let readings = number_readings(d, cjk);
            let best = readings
                .iter()
                .max_by_key(|r| (contains_run(reference, r), std::cmp::Reverse(r.len())))
                .cloned()
                .unwrap_or_default();
            out.extend(best);
        } else {
            out.push(u);
        }
    }
    out
}

/// "21st", "3rd,": a number with an ordinal suffix.
fn is_ordinal(w: &str) -> bool {
    let w = w.trim_end_matches(|c: char| !c.is_alphanumeric());
    let digits = w.chars().take_while(|c| c.is_ascii_digit()).count();
    digits > 0 && matches!(&w[digits..], "st" | "nd" | "rd" | "th")
}

/// "one hundred and twenty" = "one hundred twenty".
fn drop_number_and(mut u: Vec<String>) -> Vec<String> {
    let mut i = 1;
    while i + 1 < u.len() {
        if u[i] == "and"
            && matches!(u[i - 1].as_str(), "hundred" | "thousand")
            && (ONES.contains(&u[i + 1].as_str()) || TENS.contains(&u[i + 1].as_str()))
        {
            u.remove(i);
        } else {
            i += 1;
        }
    }
    u
}

/// Normalised units of a reference (numbers in references are written in words already; any
/// digits are spelled digit by digit).
pub fn reference_units(reference: &str, cjk: bool) -> Vec<String> {
    let mut out = vec![];
    for u in raw_units(reference, cjk) {
        if let Some(n) = u.strip_prefix('%').and_then(|d| d.parse().ok()) {
            out.extend(ordinal_en(n));
            continue;
        }
        match u.strip_prefix('#') {
            Some(d) => out.extend(number_readings(d, cjk).swap_remove(0)),
            None => out.push(u),
        }
    }
    out
}

fn contains_run(hay: &[String], needle: &[String]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

pub fn edit_distance(r: &[String], h: &[String]) -> usize {
    let mut prev: Vec<usize> = (0..=h.len()).collect();
    for i in 1..=r.len() {
        let mut cur = vec![i; h.len() + 1];
        for j in 1..=h.len() {
            let sub = prev[j - 1] + usize::from(r[i - 1] != h[j - 1]);
            cur[j] = sub.min(prev[j] + 1).min(cur[j - 1] + 1);
        }
        prev = cur;
    }
    prev[h.len()]
}

/// Edits and reference length of `hyp` against `reference` (words, or characters for CJK).
pub fn score(reference: &str, hyp: &str, cjk: bool) -> (usize, usize) {
    let r = drop_number_and(reference_units(reference, cjk));
    let h = drop_number_and(units_against(hyp, &r, cjk));
    (edit_distance(&r, &h), r.len())
}

/// Invented text in a transcript made of `utterances`: a loop inside one, or one utterance
/// repeating (most of) the one before it. Returns a description of the first problem.
pub fn invented(utterances: &[String]) -> Option<String> {
    for (i, u) in utterances.iter().enumerate() {
        let units = guard::units(u);
        if let Some(s) = guard::repetition(&units) {
            return Some(format!("utterance {} has a {}: {u:?}", i + 1, s.as_str()));
        }
        if u.len() >= 60 && guard::compression_ratio(u) > 2.4 {
            return Some(format!("utterance {} compresses like a loop: {u:?}", i + 1));
        }
        if i > 0 {
            let prev = guard::units(&utterances[i - 1]);
            if units.len() >= 6 && prev.len() >= 6 {
                let d = edit_distance(&prev, &units);
                if (d as f64) < 0.25 * units.len().max(prev.len()) as f64 {
                    return Some(format!("utterance {} repeats the one before: {u:?}", i + 1));
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wer(r: &str, h: &str) -> f64 {
        let (e, n) = score(r, h, false);
        e as f64 / n as f64
    }

    #[test]
    fn case_punctuation_and_fillers_are_not_errors() {
        assert_eq!(
            wer(
                "Okay, so, um, my router is broken.",
                "OK so my router is broken"
            ),
            0.0
        );
        assert_eq!(wer("Hello?", "hello."), 0.0);
        assert_eq!(
            wer(
                "Were you travelling? The colour, I realise.",
                "Were you traveling? The color, I realize."
            ),
            0.0
        );
        assert_eq!(wer("I was telling him", "I was telling him"), 0.0);
    }

    #[test]
    fn numbers_read_the_way_the_reference_says() {
        assert_eq!(
            wer("my order is four seven two nine one", "My order is 47291."),
            0.0
        );
        assert_eq!(wer("it cost twenty five dollars", "It cost $25."), 0.0);
        assert_eq!(wer("in twenty twenty four", "in 2024"), 0.0);
        assert_eq!(wer("ten of clubs", "10 of clubs"), 0.0);
        assert_eq!(
            wer("from the fourteenth of March", "from the 14th of March"),
            0.0
        );
        assert_eq!(wer("the twenty first", "the 21st"), 0.0);
        assert_eq!(
            wer(
                "my postcode is L S six, three H T",
                "My postcode is LS6, 3HT."
            ),
            0.0
        );
        assert_eq!(
            wer(
                "the refund was three hundred and sixty pounds",
                "the refund was £360"
            ),
            0.0
        );
        assert_eq!(wer("reference K seven seven four", "reference K774"), 0.0);
        assert_eq!(wer("three H T", "3HT"), 0.0);
        assert_eq!(wer("one two three four", "1234"), 0.0);
        assert!(wer("four seven two nine one", "47299") > 0.0);
    }

    #[test]
    fn chinese_is_scored_per_character() {
        let (e, n) = score("我的电话是一三八零零", "我的電話是13800", true);
        assert_eq!(n, 10);
        assert_eq!(e, 0, "traditional and simplified script are the same words");
        let (e, _) = score("我的电话是一三八零零", "我的电视是13800", true);
        assert_eq!(e, 1);
        let (e, _) = score("一共二百五十元", "一共250元。", true);
        assert_eq!(e, 0);
        assert_eq!(cardinal_zh(10), "十");
        assert_eq!(cardinal_zh(105), "一百零五");
        assert_eq!(cardinal_zh(1200), "一千二百");
    }

    #[test]
    fn loops_and_duplicated_utterances_are_found() {
        let l = vec!["And so my fellow Americans and so my fellow Americans and so my fellow Americans and so my fellow Americans".to_string()];
        assert!(invented(&l).is_some());
        let d = vec![
            "I was told the engineer would come on Monday between nine and twelve".to_string(),
            "I was told the engineer would come on Monday between nine and twelve.".to_string(),
        ];
        assert!(invented(&d).is_some());
        let ok = vec![
            "Yes.".to_string(),
            "Yes.".to_string(),
            "My name is Ann.".to_string(),
        ];
        assert!(invented(&ok).is_none());
    }
}
