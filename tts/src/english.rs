//! English text to the phonemes Kokoro was trained on.
//!
//! Text is first made speakable (amounts of money, order numbers and other codes read out
//! character by character), then cut into clauses at punctuation; each clause is turned into
//! IPA by `espeak-ng` run as a program (it is GPL: we run it, we do not link it) and the
//! clause's punctuation is put back, since the model uses it for pauses and intonation.

use crate::TtsError;
use std::io::Write;
use std::process::{Command, Stdio};

/// Make text speakable: `$4.50` -> `4 dollars 50 cents`, `NW123456` -> `N W 1 2 3 4 5 6`.
pub fn normalize(text: &str) -> String {
    let mut out = Vec::new();
    for word in text.split_whitespace() {
        // Keep trailing punctuation apart from the word it follows.
        let core_end = word
            .char_indices()
            .rev()
            .find(|(_, c)| c.is_alphanumeric() || *c == '%')
            .map(|(i, c)| i + c.len_utf8())
            .unwrap_or(0);
        let (core, tail) = word.split_at(core_end);
        let spoken = money(core)
            .or_else(|| code(core))
            .unwrap_or(core.to_string());
        out.push(format!("{spoken}{tail}"));
    }
    out.join(" ")
}

fn money(w: &str) -> Option<String> {
    let (unit, units, cents) = match w.chars().next()? {
        '$' => ("dollar", "dollars", "cents"),
        '£' => ("pound", "pounds", "pence"),
        '€' => ("euro", "euros", "cents"),
        _ => return None,
    };
    let rest = &w[w.chars().next()?.len_utf8()..];
    let rest = rest.replace(',', "");
    let (whole, frac) = match rest.split_once('.') {
        Some((a, b)) => (a.to_string(), Some(b.to_string())),
        None => (rest.clone(), None),
    };
    if whole.is_empty() || !whole.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let name = if whole == "1" { unit } else { units };
    match frac {
        Some(f) if !f.is_empty() && f.len() <= 2 && f.chars().all(|c| c.is_ascii_digit()) => {
            let c: u32 = format!("{f:0<2}").parse().ok()?;
            if c == 0 {
                Some(format!("{whole} {name}"))
            } else {
                Some(format!("{whole} {name} {c} {cents}"))
            }
        }
        None => Some(format!("{whole} {name}")),
        _ => None,
    }
}

/// Codes read character by character: letters and digits mixed (`NW123456`, `A12`), or five
/// or more digits in a row (a phone or account number); dashes inside are dropped.
fn code(w: &str) -> Option<String> {
    let chars: Vec<char> = w.chars().filter(|c| *c != '-').collect();
    if chars.is_empty() || !chars.iter().all(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    let digits = chars.iter().filter(|c| c.is_ascii_digit()).count();
    let letters = chars.len() - digits;
    let ordinal = letters == 2
        && digits > 0
        && ["st", "nd", "rd", "th"]
            .iter()
            .any(|s| w.to_ascii_lowercase().ends_with(s));
    let mixed = digits > 0 && letters > 0 && !ordinal;
    if !(mixed || (letters == 0 && digits >= 5)) {
        return None;
    }
    Some(
        chars
            .iter()
            .map(|c| c.to_ascii_uppercase().to_string())
            .collect::<Vec<_>>()
            .join(" "),
    )
}

fn is_clause_mark(c: char) -> bool {
    matches!(c, ',' | '.' | ';' | ':' | '!' | '?' | '—' | '…')
}

/// Phonemes for a phrase: IPA with stress marks, clause punctuation kept.
pub fn phonemize(text: &str, espeak: &str) -> Result<String, TtsError> {
    let text = normalize(text);
    let mut out = String::new();
    let mut clause = String::new();
    let flush = |clause: &mut String, mark: Option<char>, out: &mut String| {
        let ipa = if clause.trim().is_empty() {
            Ok(String::new())
        } else {
            espeak_ipa(clause.trim(), espeak)
        };
        clause.clear();
        ipa.map(|ipa| {
            if !ipa.is_empty() {
                if !out.is_empty() {
                    out.push(' ');
                }
                out.push_str(&ipa);
            }
            if let Some(m) = mark {
                if !out.is_empty() {
                    out.push(m);
                }
            }
        })
    };
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        // A mark between two letters or digits ("4.5", "o'clock") is part of the word.
        let inside = i > 0
            && chars[i - 1].is_alphanumeric()
            && chars.get(i + 1).is_some_and(|n| n.is_alphanumeric());
        if is_clause_mark(c) && !inside {
            flush(&mut clause, Some(c), &mut out)?;
        } else {
            clause.push(c);
        }
    }
    flush(&mut clause, None, &mut out)?;
    Ok(out)
}

/// One clause through `espeak-ng --ipa`, its lines joined, mapped to the model's symbols.
fn espeak_ipa(clause: &str, espeak: &str) -> Result<String, TtsError> {
    let mut child = Command::new(espeak)
        .args(["-q", "--ipa", "-b", "1", "-v", "en-us"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| TtsError::Phonemes(format!("cannot run {espeak}: {e}")))?;
    // The text goes on standard input, so a phrase starting with "-" is not an option.
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(clause.as_bytes())
            .map_err(|e| TtsError::Phonemes(format!("{espeak}: {e}")))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| TtsError::Phonemes(format!("{espeak}: {e}")))?;
    if !out.status.success() {
        return Err(TtsError::Phonemes(format!(
            "{espeak} exited {}",
            out.status
        )));
    }
    let raw = String::from_utf8_lossy(&out.stdout);
    let joined = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    Ok(to_model_symbols(&joined))
}

/// espeak's IPA in the spelling Kokoro's vocabulary uses, language-switch marks dropped.
fn to_model_symbols(ipa: &str) -> String {
    let mut s = String::with_capacity(ipa.len());
    let mut skip = false;
    for c in ipa.chars() {
        match c {
            '(' => skip = true,
            ')' if skip => skip = false,
            _ if skip => {}
            'r' => s.push('ɹ'),
            'x' => s.push('k'),
            'ɬ' => s.push('l'),
            'ʲ' => s.push('j'),
            _ => s.push(c),
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_money_are_spoken() {
        assert_eq!(
            normalize("Order NW123456 costs $4.50, or £1."),
            "Order N W 1 2 3 4 5 6 costs 4 dollars 50 cents, or 1 pound."
        );
        assert_eq!(
            normalize("call 5550123 on the 3rd"),
            "call 5 5 5 0 1 2 3 on the 3rd"
        );
        assert_eq!(normalize("in 3 days, 2024"), "in 3 days, 2024");
    }

    #[test]
    fn language_marks_are_dropped() {
        assert_eq!(to_model_symbols("(fr)bɔ̃ʒuːr(en) hˈɛloʊ"), "bɔ̃ʒuːɹ hˈɛloʊ");
        assert_eq!(to_model_symbols("rˈɛd"), "ɹˈɛd");
    }
}
