//! Chinese text to Kokoro's Mandarin phonemes: each character's pinyin (the `pinyin` crate),
//! written in IPA with the tone as an arrow after the syllable (`→` 1, `↗` 2, `↓` 3, `↘` 4,
//! none for the neutral tone), syllables of a clause run together and clauses separated by
//! their punctuation. Numbers are read the Chinese way, codes digit by digit; Latin words in
//! Chinese text go through the English front end.

use crate::TtsError;
use pinyin::ToPinyin;

const DIGITS: [&str; 10] = ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九"];

/// A number as Chinese numerals (up to 99,999,999); `None` beyond.
fn number(n: u64) -> Option<String> {
    if n >= 100_000_000 {
        return None;
    }
    if n == 0 {
        return Some("零".into());
    }
    fn below_10k(n: u64) -> String {
        let units = ["", "十", "百", "千"];
        let d = [n / 1000 % 10, n / 100 % 10, n / 10 % 10, n % 10];
        let mut s = String::new();
        let mut zero = false;
        for (i, &x) in d.iter().enumerate() {
            if x == 0 {
                zero = !s.is_empty();
                continue;
            }
            if zero {
                s.push('零');
                zero = false;
            }
            s.push_str(DIGITS[x as usize]);
            s.push_str(units[3 - i]);
        }
        s
    }
    let (hi, lo) = (n / 10_000, n % 10_000);
    let mut s = String::new();
    if hi > 0 {
        s.push_str(&below_10k(hi));
        s.push('万');
        if lo > 0 && lo < 1000 {
            s.push('零');
        }
    }
    if lo > 0 {
        s.push_str(&below_10k(lo));
    }
    // 一十二 -> 十二
    if s.starts_with("一十") {
        s = s.replacen("一十", "十", 1);
    }
    Some(s)
}

/// Digits made speakable: runs of five or more (codes, phone numbers) digit by digit,
/// others as numbers.
pub fn normalize(text: &str) -> String {
    let mut out = String::new();
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.is_empty() {
            return;
        }
        let spoken = if run.len() >= 5 || run.starts_with('0') && run.len() > 1 {
            run.chars()
                .map(|c| DIGITS[c.to_digit(10).unwrap_or(0) as usize])
                .collect()
        } else {
            run.parse().ok().and_then(number).unwrap_or(run.clone())
        };
        out.push_str(&spoken);
        run.clear();
    };
    for c in text.chars() {
        if c.is_ascii_digit() {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// A pinyin syllable with its tone number at the end (`zhong1`, `de`) split into its body
/// and tone (5 for the neutral tone).
fn split_tone(py: &str) -> (&str, char) {
    match py.chars().last() {
        Some(t @ '1'..='5') => (&py[..py.len() - 1], t),
        _ => (py, '5'),
    }
}

/// Mandarin tone sandhi over a run of syllables: a third tone before a third tone is said as
/// a second; 不 before a fourth tone is second; 一 before a fourth tone is second and before
/// the others fourth.
fn sandhi(run: &mut [(char, String, char)]) {
    for i in 0..run.len().saturating_sub(1) {
        let next = run[i + 1].2;
        let (c, _, tone) = &mut run[i];
        match (*c, *tone, next) {
            (_, '3', '3') => *tone = '2',
            ('不', '4', '4') => *tone = '2',
            ('一', '1', '4') => *tone = '2',
            ('一', '1', '1' | '2' | '3') => *tone = '4',
            _ => {}
        }
    }
}

/// IPA of one pinyin syllable with its tone number at the end (`zhong1`, `de`).
fn syllable(py: &str) -> String {
    let (body, tone) = split_tone(py);
    let body = body.replace('ü', "v");
    const INITIALS: [(&str, &str); 21] = [
        ("zh", "ꭧ"),
        ("ch", "ꭧʰ"),
        ("sh", "ʂ"),
        ("b", "p"),
        ("p", "pʰ"),
        ("m", "m"),
        ("f", "f"),
        ("d", "t"),
        ("t", "tʰ"),
        ("n", "n"),
        ("l", "l"),
        ("g", "k"),
        ("k", "kʰ"),
        ("h", "x"),
        ("j", "ʨ"),
        ("q", "ʨʰ"),
        ("x", "ɕ"),
        ("r", "ɻ"),
        ("z", "ʦ"),
        ("c", "ʦʰ"),
        ("s", "s"),
    ];
    let (ini, ini_ipa, rest) = INITIALS
        .iter()
        .find(|(p, _)| body.starts_with(p))
        .map(|(p, i)| (*p, *i, &body[p.len()..]))
        .unwrap_or(("", "", body.as_str()));
    // y- and w- spellings back to their finals.
    let fin: String = match (ini, rest) {
        ("", r) if r.starts_with("yu") => format!("v{}", &r[2..]),
        ("", r) if r.starts_with("yi") => r[1..].to_string(),
        ("", r) if r.starts_with('y') => format!("i{}", &r[1..]),
        ("", r) if r.starts_with("wu") => r[1..].to_string(),
        ("", r) if r.starts_with('w') => format!("u{}", &r[1..]),
        // ju, qu, xu are jü, qü, xü.
        ("j" | "q" | "x", r) if r.starts_with('u') => format!("v{}", &r[1..]),
        (_, r) => r.to_string(),
    };
    let fin_ipa = match (ini, fin.as_str()) {
        ("zh" | "ch" | "sh" | "r", "i") => "ɻ",
        ("z" | "c" | "s", "i") => "ɹ",
        (_, f) => match f {
            "a" => "a",
            "o" => "o",
            "e" => "ɤ",
            "ai" => "ai",
            "ei" => "ei",
            "ao" => "au",
            "ou" => "ou",
            "an" => "an",
            "en" => "ən",
            "ang" => "aŋ",
            "eng" => "əŋ",
            "ong" => "ʊŋ",
            "er" => "ɚ",
            "i" => "i",
            "ia" => "ja",
            "ie" => "je",
            "iao" => "jau",
            "iu" | "iou" => "jou",
            "ian" => "jɛn",
            "in" => "in",
            "iang" => "jaŋ",
            "ing" => "iŋ",
            "iong" => "jʊŋ",
            "u" => "u",
            "ua" => "wa",
            "uo" => "wo",
            "uai" => "wai",
            "ui" | "uei" => "wei",
            "uan" => "wan",
            "un" | "uen" => "wən",
            "uang" => "waŋ",
            "ueng" => "wəŋ",
            "v" => "y",
            "ve" | "ue" => "ɥe",
            "van" => "ɥɛn",
            "vn" => "yn",
            "n" => "n",
            "ng" => "ŋ",
            "m" => "m",
            other => return format!("{ini_ipa}{other}"),
        },
    };
    let arrow = match tone {
        '1' => "→",
        '2' => "↗",
        '3' => "↓",
        '4' => "↘",
        _ => "",
    };
    format!("{ini_ipa}{fin_ipa}{arrow}")
}

fn is_han(c: char) -> bool {
    ('\u{4E00}'..='\u{9FFF}').contains(&c) || ('\u{3400}'..='\u{4DBF}').contains(&c)
}

/// Phonemes for a Chinese phrase (Latin words inside it through `espeak`).
pub fn phonemize(text: &str, espeak: &str) -> Result<String, TtsError> {
    let text = normalize(text);
    let mut out = String::new();
    let mut latin = String::new();
    let flush_latin = |latin: &mut String, out: &mut String| -> Result<(), TtsError> {
        if latin.trim().chars().any(|c| c.is_alphanumeric()) {
            let ipa = crate::english::phonemize(latin.trim(), espeak)?;
            if !out.is_empty() && !out.ends_with(' ') {
                out.push(' ');
            }
            out.push_str(&ipa);
            out.push(' ');
        }
        latin.clear();
        Ok(())
    };
    let mut run: Vec<(char, String, char)> = vec![];
    let flush_run = |run: &mut Vec<(char, String, char)>, out: &mut String| {
        sandhi(run);
        for (_, body, tone) in run.drain(..) {
            out.push_str(&syllable(&format!("{body}{tone}")));
        }
    };
    for c in text.chars() {
        if is_han(c) {
            flush_latin(&mut latin, &mut out)?;
            if let Some(py) = c.to_pinyin() {
                let (body, tone) = split_tone(py.with_tone_num_end());
                run.push((c, body.to_string(), tone));
            }
            continue;
        }
        flush_run(&mut run, &mut out);
        let mark = match c {
            '，' | '、' | ',' => Some(','),
            '。' | '.' => Some('.'),
            '！' | '!' => Some('!'),
            '？' | '?' => Some('?'),
            '：' | ':' => Some(':'),
            '；' | ';' => Some(';'),
            _ => None,
        };
        match mark {
            Some(m) if latin.trim().is_empty() => {
                latin.clear();
                let t = out.trim_end().len();
                out.truncate(t);
                if !out.is_empty() {
                    out.push(m);
                    out.push(' ');
                }
            }
            _ if c.is_whitespace() && latin.trim().is_empty() => {}
            _ => latin.push(c),
        }
    }
    flush_run(&mut run, &mut out);
    flush_latin(&mut latin, &mut out)?;
    Ok(out.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syllables() {
        assert_eq!(syllable("ni3"), "ni↓");
        assert_eq!(syllable("hao3"), "xau↓");
        assert_eq!(syllable("shi4"), "ʂɻ↘");
        assert_eq!(syllable("jie4"), "ʨje↘");
        assert_eq!(syllable("xue2"), "ɕɥe↗");
        assert_eq!(syllable("yu2"), "y↗");
        assert_eq!(syllable("wo3"), "wo↓");
        assert_eq!(syllable("zi4"), "ʦɹ↘");
        assert_eq!(syllable("de"), "tɤ");
    }

    #[test]
    fn tone_sandhi() {
        let mut run: Vec<(char, String, char)> = "你好不是一个"
            .chars()
            .map(|c| {
                let (b, t) = split_tone(c.to_pinyin().unwrap().with_tone_num_end());
                (c, b.to_string(), t)
            })
            .collect();
        sandhi(&mut run);
        let tones: String = run.iter().map(|r| r.2).collect();
        assert_eq!(tones, "232424");
    }

    #[test]
    fn numbers() {
        assert_eq!(normalize("3天"), "三天");
        assert_eq!(normalize("12个"), "十二个");
        assert_eq!(normalize("105元"), "一百零五元");
        assert_eq!(normalize("20300"), "二零三零零");
        assert_eq!(number(2024).unwrap(), "二千零二十四");
        assert_eq!(number(30_005).unwrap(), "三万零五");
    }

    #[test]
    fn a_sentence() {
        assert_eq!(
            phonemize("你好，世界。", "espeak-ng").unwrap(),
            "ni↗xau↓, ʂɻ↘ʨje↘."
        );
    }
}
