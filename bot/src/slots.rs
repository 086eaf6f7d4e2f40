//! Reading a value out of what the customer said: order numbers (typed, or as speech
//! recognition writes them when spelt out: "n w one two three four five six", "November
//! Whiskey 12 34 56"), phone numbers, dates, yes and no. Each kind validates what it reads;
//! nothing valid means the bot asks again.

use crate::kb::Language;
use serde::{Deserialize, Serialize};

/// What a slot holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum SlotKind {
    /// Letters then digits: `prefix` (e.g. "NW") and `digits` long.
    OrderNumber { prefix: String, digits: usize },
    /// 7 to 15 digits, a leading + kept.
    Phone,
    /// A calendar date (YYYY-MM-DD), resolved against `today`.
    Date,
    /// Any non-empty text (an item's name, a reason).
    Text,
}

const EN_DIGITS: &[(&str, char)] = &[
    ("zero", '0'),
    ("oh", '0'),
    ("o", '0'),
    ("one", '1'),
    ("won", '1'),
    ("two", '2'),
    ("to", '2'),
    ("too", '2'),
    ("three", '3'),
    ("tree", '3'),
    ("four", '4'),
    ("for", '4'),
    ("five", '5'),
    ("six", '6'),
    ("seven", '7'),
    ("eight", '8'),
    ("ate", '8'),
    ("nine", '9'),
    ("niner", '9'),
];

const ZH_DIGITS: &[(char, char)] = &[
    ('零', '0'),
    ('〇', '0'),
    ('一', '1'),
    ('幺', '1'),
    ('二', '2'),
    ('两', '2'),
    ('三', '3'),
    ('四', '4'),
    ('五', '5'),
    ('六', '6'),
    ('七', '7'),
    ('八', '8'),
    ('九', '9'),
];

/// NATO and common spoken spellings of letters.
const SPELLING: &[(&str, char)] = &[
    ("alpha", 'A'),
    ("bravo", 'B'),
    ("charlie", 'C'),
    ("delta", 'D'),
    ("echo", 'E'),
    ("foxtrot", 'F'),
    ("golf", 'G'),
    ("hotel", 'H'),
    ("india", 'I'),
    ("juliet", 'J'),
    ("kilo", 'K'),
    ("lima", 'L'),
    ("mike", 'M'),
    ("november", 'N'),
    ("oscar", 'O'),
    ("papa", 'P'),
    ("quebec", 'Q'),
    ("romeo", 'R'),
    ("sierra", 'S'),
    ("tango", 'T'),
    ("uniform", 'U'),
    ("victor", 'V'),
    ("whiskey", 'W'),
    ("xray", 'X'),
    ("yankee", 'Y'),
    ("zulu", 'Z'),
    ("en", 'N'),
    ("double-u", 'W'),
    ("doubleyou", 'W'),
    ("dee", 'D'),
    ("bee", 'B'),
    ("cee", 'C'),
    ("see", 'C'),
    ("ess", 'S'),
    ("tee", 'T'),
    ("why", 'Y'),
    ("are", 'R'),
    ("pee", 'P'),
    ("kay", 'K'),
    ("jay", 'J'),
    ("el", 'L'),
    ("em", 'M'),
    ("eks", 'X'),
    ("ex", 'X'),
    ("zed", 'Z'),
    ("zee", 'Z'),
];

/// Words speech recognition writes for a letter said on its own ("N" heard as "and"): read
/// as the letter only when what follows is spelt out too (a single character, or a letter
/// and digits such as "W1"), never in ordinary words.
const HEARD_AS_LETTER: &[(&str, char)] = &[
    ("and", 'N'),
    ("an", 'N'),
    ("in", 'N'),
    ("you", 'U'),
    ("eye", 'I'),
    ("tea", 'T'),
    ("queue", 'Q'),
];

/// Whether a token is spelt-out material: one character, a letter with digits ("W1",
/// "W123456"), or a
/// letter or digit said as a word ("double-u", "one").
fn spelt_token(w: &str) -> bool {
    let n = w.chars().count();
    n == 1
        || SPELLING.iter().any(|(k, _)| *k == w)
        || EN_DIGITS.iter().any(|(k, _)| *k == w)
        || (n <= 12
            && w.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && w.chars().skip(1).all(|c| c.is_ascii_digit()))
}

/// The text as a run of letters and digits: spelt words become characters, "double five"
/// becomes 55, everything else is dropped.
fn spelled(text: &str) -> String {
    let lower = text.to_lowercase().replace("double u", "double-u");
    let mut out = String::new();
    let mut repeat = 1;
    let tokens: Vec<&str> = lower
        .split(|c: char| c.is_whitespace() || c == ',' || c == '.')
        .map(|raw| raw.trim_matches(|c: char| !c.is_alphanumeric() && c != '-'))
        .filter(|w| !w.is_empty())
        .collect();
    for (i, &w) in tokens.iter().enumerate() {
        if let Some((_, l)) = HEARD_AS_LETTER.iter().find(|(k, _)| *k == w) {
            if tokens.get(i + 1).is_some_and(|n| spelt_token(n)) {
                out.push(*l);
                continue;
            }
        }
        match w {
            "double" => {
                repeat = 2;
                continue;
            }
            "triple" => {
                repeat = 3;
                continue;
            }
            _ => {}
        }
        let piece: String = if let Some((_, d)) = EN_DIGITS.iter().find(|(k, _)| *k == w) {
            d.to_string()
        } else if let Some((_, l)) = SPELLING.iter().find(|(k, _)| *k == w) {
            l.to_string()
        } else if w.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            w.chars()
                .filter(|c| c.is_ascii_alphanumeric())
                .collect::<String>()
                .to_uppercase()
        } else {
            // Chinese digits inside other text.
            w.chars()
                .filter_map(|c| {
                    ZH_DIGITS
                        .iter()
                        .find(|(z, _)| *z == c)
                        .map(|(_, d)| *d)
                        .or(c.is_ascii_alphanumeric().then(|| c.to_ascii_uppercase()))
                })
                .collect()
        };
        for _ in 0..repeat {
            out.push_str(&piece);
        }
        repeat = 1;
    }
    out
}

/// An order number such as NW123456 in `text`, however it was written or spoken.
pub fn order_number(text: &str, prefix: &str, digits: usize) -> Option<String> {
    let prefix = prefix.to_uppercase();
    // Typed: find the pattern directly first.
    let upper: String = text
        .to_uppercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || c.is_whitespace())
        .collect();
    let compact: String = upper.chars().filter(|c| !c.is_whitespace()).collect();
    for hay in [compact.clone(), spelled(text)] {
        if let Some(i) = hay.find(&prefix) {
            let rest: String = hay[i + prefix.len()..]
                .chars()
                .take_while(|c| c.is_ascii_digit())
                .collect();
            if rest.len() == digits {
                return Some(format!("{prefix}{rest}"));
            }
        }
    }
    // Digits alone, when the customer leaves the prefix out.
    let only: String = spelled(text)
        .chars()
        .filter(|c| c.is_ascii_digit())
        .collect();
    if only.len() == digits
        && !spelled(text)
            .chars()
            .any(|c| c.is_ascii_alphabetic() && !prefix.contains(c))
    {
        return Some(format!("{prefix}{only}"));
    }
    None
}

/// A phone number (7 to 15 digits, a leading + kept).
pub fn phone(text: &str) -> Option<String> {
    let plus = text.trim_start().starts_with('+');
    let digits: String = spelled(text)
        .chars()
        .filter(|c| c.is_ascii_digit())
        .collect();
    (7..=15)
        .contains(&digits.len())
        .then(|| if plus { format!("+{digits}") } else { digits })
}

/// A date said relative to `today` (year, month, day): "tomorrow", "friday", "the 5th",
/// "2026-12-05", "5 december", 明天, 后天, 周五, 12月5日.
pub fn date(text: &str, today: (i32, u32, u32), lang: Language) -> Option<String> {
    let t = text.to_lowercase();
    let days_from_today = |n: i64| Some(fmt(add_days(today, n)));
    if t.contains("day after tomorrow") || t.contains("后天") {
        return days_from_today(2);
    }
    if t.contains("tomorrow") || t.contains("明天") {
        return days_from_today(1);
    }
    if t.contains("today") || t.contains("今天") {
        return days_from_today(0);
    }
    // ISO.
    if let Some(d) = iso(&t) {
        return Some(d);
    }
    let wd_today = weekday(today);
    let en_days = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    for (i, d) in en_days.iter().enumerate() {
        if t.contains(d)
            || t.contains(&d[..3])
                && t.split_whitespace()
                    .any(|w| w.trim_matches(|c: char| !c.is_alphabetic()) == &d[..3])
        {
            let mut n = (i as i64 - wd_today as i64).rem_euclid(7);
            if n == 0 || t.contains("next") {
                n += if n == 0 { 7 } else { 0 };
            }
            return days_from_today(n);
        }
    }
    let zh_days = ['一', '二', '三', '四', '五', '六', '日'];
    for marker in ["周", "星期", "礼拜"] {
        if let Some(p) = t.find(marker) {
            let c = t[p + marker.len()..].chars().next();
            let c = if c == Some('天') { Some('日') } else { c };
            if let Some(i) = c.and_then(|c| zh_days.iter().position(|d| *d == c)) {
                let mut n = (i as i64 - wd_today as i64).rem_euclid(7);
                if n == 0 || t.contains("下") {
                    n += 7 * (n == 0 || t.contains("下周") && n < 7) as i64;
                }
                return days_from_today(n);
            }
        }
    }
    // 12月5日 / 5号.
    if lang == Language::Zh || t.contains('月') || t.contains('号') || t.contains('日') {
        let norm = zh_numerals(&t);
        if let Some(m) = norm.find('月') {
            let month: String = norm[..m]
                .chars()
                .rev()
                .take_while(|c| c.is_ascii_digit())
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            let day: String = norm[m + '月'.len_utf8()..]
                .chars()
                .take_while(|c| c.is_ascii_digit())
                .collect();
            if let (Ok(mo), Ok(d)) = (month.parse::<u32>(), day.parse::<u32>()) {
                return month_day(today, mo, d);
            }
        }
    }
    // "5 december", "december 5th", "the 5th".
    let months = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    let words: Vec<String> = t
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(String::from)
        .collect();
    let day_of = |w: &str| -> Option<u32> {
        let n: String = w.chars().take_while(|c| c.is_ascii_digit()).collect();
        let rest = &w[n.len()..];
        (matches!(rest, "" | "st" | "nd" | "rd" | "th"))
            .then(|| n.parse().ok())
            .flatten()
            .filter(|d| (1..=31).contains(d))
    };
    for (i, w) in words.iter().enumerate() {
        if let Some(mo) = months.iter().position(|m| {
            w == m || (w.len() >= 3 && m.starts_with(w.as_str()) && w != "may" && w.len() == 3)
        }) {
            let near = [i.checked_sub(1), Some(i + 1), i.checked_sub(2)];
            for j in near.into_iter().flatten() {
                if let Some(d) = words.get(j).and_then(|w| day_of(w)) {
                    return month_day(today, mo as u32 + 1, d);
                }
            }
        }
    }
    for (i, w) in words.iter().enumerate() {
        if w.ends_with("st") || w.ends_with("nd") || w.ends_with("rd") || w.ends_with("th") {
            if let Some(d) = day_of(w) {
                if i > 0 || words.len() <= 3 {
                    let (y, m, _) = today;
                    let (y, m) = if d < today.2 {
                        if m == 12 {
                            (y + 1, 1)
                        } else {
                            (y, m + 1)
                        }
                    } else {
                        (y, m)
                    };
                    return valid(y, m, d).then(|| fmt((y, m, d)));
                }
            }
        }
    }
    None
}

/// Runs of Chinese numerals up to 99 as Arabic digits: 十二 -> 12, 二十五 -> 25, 三 -> 3.
fn zh_numerals(t: &str) -> String {
    let digit = |c: char| {
        ZH_DIGITS
            .iter()
            .find(|(z, _)| *z == c)
            .map(|(_, d)| *d as u32 - '0' as u32)
    };
    let mut out = String::new();
    let chars: Vec<char> = t.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if digit(c).is_some() || c == '十' {
            let mut j = i;
            while j < chars.len() && (digit(chars[j]).is_some() || chars[j] == '十') {
                j += 1;
            }
            let run = &chars[i..j];
            let value = match run.iter().position(|&c| c == '十') {
                Some(p) => {
                    let tens = if p == 0 {
                        1
                    } else {
                        run[..p]
                            .iter()
                            .filter_map(|&c| digit(c))
                            .fold(0, |a, d| a * 10 + d)
                    };
                    let units = run[p + 1..]
                        .iter()
                        .filter_map(|&c| digit(c))
                        .fold(0, |a, d| a * 10 + d);
                    tens * 10 + units
                }
                None => run
                    .iter()
                    .filter_map(|&c| digit(c))
                    .fold(0, |a, d| a * 10 + d),
            };
            out.push_str(&value.to_string());
            i = j;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn iso(t: &str) -> Option<String> {
    let parts: Vec<&str> = t
        .split(|c: char| !(c.is_ascii_digit() || c == '-' || c == '/'))
        .filter(|p| p.len() >= 8)
        .collect();
    for p in parts {
        let f: Vec<&str> = p.split(['-', '/']).collect();
        if f.len() == 3 && f[0].len() == 4 {
            if let (Ok(y), Ok(m), Ok(d)) = (f[0].parse(), f[1].parse(), f[2].parse()) {
                if valid(y, m, d) {
                    return Some(fmt((y, m, d)));
                }
            }
        }
    }
    None
}

fn month_day(today: (i32, u32, u32), m: u32, d: u32) -> Option<String> {
    let y = if (m, d) < (today.1, today.2) {
        today.0 + 1
    } else {
        today.0
    };
    valid(y, m, d).then(|| fmt((y, m, d)))
}

fn fmt((y, m, d): (i32, u32, u32)) -> String {
    format!("{y:04}-{m:02}-{d:02}")
}

fn leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn month_len(y: i32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap(y) => 29,
        _ => 28,
    }
}

fn valid(y: i32, m: u32, d: u32) -> bool {
    (1..=12).contains(&m) && d >= 1 && d <= month_len(y, m)
}

fn add_days((mut y, mut m, mut d): (i32, u32, u32), n: i64) -> (i32, u32, u32) {
    for _ in 0..n {
        d += 1;
        if d > month_len(y, m) {
            d = 1;
            m += 1;
            if m > 12 {
                m = 1;
                y += 1;
            }
        }
    }
    (y, m, d)
}

/// 0 = Monday.
fn weekday((y, m, d): (i32, u32, u32)) -> u32 {
    // Days since 1970-01-01 (a Thursday).
    let mut days: i64 = 0;
    for yy in 1970..y {
        days += if leap(yy) { 366 } else { 365 };
    }
    for mm in 1..m {
        days += month_len(y, mm) as i64;
    }
    days += d as i64 - 1;
    ((days + 3).rem_euclid(7)) as u32
}

/// The calendar date of a Unix time in milliseconds (UTC).
pub fn date_of_unix_ms(ms: u64) -> (i32, u32, u32) {
    add_days((1970, 1, 1), (ms / 86_400_000) as i64)
}

/// Yes, no, or neither.
pub fn yes_no(text: &str, lang: Language) -> Option<bool> {
    let t = crate::matcher::normalize(text, lang);
    let words: Vec<&str> = t.split_whitespace().collect();
    const NO_EN: &[&str] = &[
        "no", "nope", "nah", "don't", "dont", "not", "cancel", "stop", "wrong", "never",
    ];
    const YES_EN: &[&str] = &[
        "yes",
        "yeah",
        "yep",
        "yup",
        "sure",
        "ok",
        "okay",
        "correct",
        "right",
        "please",
        "absolutely",
        "definitely",
        "go",
    ];
    if lang == Language::Zh || !t.is_ascii() {
        for n in ["不是", "不要", "不用", "不对", "别", "取消", "算了", "不"] {
            if t.contains(n) {
                return Some(false);
            }
        }
        for y in [
            "是的", "对", "好的", "好", "可以", "行", "没错", "嗯", "确认", "是",
        ] {
            if t.contains(y) {
                return Some(true);
            }
        }
        return None;
    }
    if words.iter().any(|w| NO_EN.contains(w)) {
        return Some(false);
    }
    if words.iter().any(|w| YES_EN.contains(w)) || t.contains("go ahead") || t.contains("do it") {
        return Some(true);
    }
    None
}

/// Reads a slot of `kind` from `text`.
pub fn read(kind: &SlotKind, text: &str, today: (i32, u32, u32), lang: Language) -> Option<String> {
    match kind {
        SlotKind::OrderNumber { prefix, digits } => order_number(text, prefix, *digits),
        SlotKind::Phone => phone(text),
        SlotKind::Date => date(text, today, lang),
        SlotKind::Text => {
            let t = text.trim();
            (!t.is_empty() && t.chars().count() <= 200).then(|| t.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_numbers_typed_or_spelt_out() {
        let o = |t: &str| order_number(t, "NW", 6);
        assert_eq!(o("it's NW123456").as_deref(), Some("NW123456"));
        assert_eq!(o("nw-123 456").as_deref(), Some("NW123456"));
        assert_eq!(
            o("n w one two three four five six").as_deref(),
            Some("NW123456")
        );
        assert_eq!(o("November Whiskey 12 34 56").as_deref(), Some("NW123456"));
        assert_eq!(
            o("en double u one two three double four six").as_deref(),
            Some("NW123446")
        );
        assert_eq!(o("123456").as_deref(), Some("NW123456"));
        assert_eq!(o("NW12345"), None);
        assert_eq!(o("I don't know it"), None);
        assert_eq!(o("订单号NW一二三四五六").as_deref(), Some("NW123456"));
        // A letter said alone, as recognition writes it: "N" as "and", before spelt material.
        assert_eq!(
            o("My order number is and W1, 2, 3, 4, 5, 6.").as_deref(),
            Some("NW123456")
        );
        assert_eq!(o("and double U 1 2 3 4 5 6").as_deref(), Some("NW123456"));
        assert_eq!(o("and W123456.").as_deref(), Some("NW123456"));
        assert_eq!(o("and then 123456 and more").as_deref(), None);
    }

    #[test]
    fn phones_and_dates() {
        assert_eq!(phone("+44 7700 900123").as_deref(), Some("+447700900123"));
        assert_eq!(phone("oh seven seven double oh nine hundred"), None);
        assert_eq!(phone("call 12"), None);
        let today = (2026, 12, 2); // a Wednesday
        assert_eq!(weekday(today), 2);
        let d = |t: &str| date(t, today, Language::En);
        assert_eq!(d("tomorrow please").as_deref(), Some("2026-12-03"));
        assert_eq!(d("friday").as_deref(), Some("2026-12-04"));
        assert_eq!(d("next wednesday").as_deref(), Some("2026-12-09"));
        assert_eq!(d("the 5th").as_deref(), Some("2026-12-05"));
        assert_eq!(d("5 january").as_deref(), Some("2027-01-05"));
        assert_eq!(d("december 24th").as_deref(), Some("2026-12-24"));
        assert_eq!(d("2026-12-31").as_deref(), Some("2026-12-31"));
        assert_eq!(d("february 30th"), None);
        assert_eq!(d("whenever"), None);
        let z = |t: &str| date(t, today, Language::Zh);
        assert_eq!(z("明天").as_deref(), Some("2026-12-03"));
        assert_eq!(z("后天下午").as_deref(), Some("2026-12-04"));
        assert_eq!(z("周五").as_deref(), Some("2026-12-04"));
        assert_eq!(z("十二月二十日").as_deref(), Some("2026-12-20"));
        assert_eq!(z("12月20日").as_deref(), Some("2026-12-20"));
        assert_eq!(date_of_unix_ms(1_796_169_600_000), (2026, 12, 2));
    }

    #[test]
    fn yes_and_no() {
        assert_eq!(yes_no("yes please", Language::En), Some(true));
        assert_eq!(yes_no("no don't", Language::En), Some(false));
        assert_eq!(yes_no("hmm what", Language::En), None);
        assert_eq!(yes_no("好的", Language::Zh), Some(true));
        assert_eq!(yes_no("不用了", Language::Zh), Some(false));
    }
}
