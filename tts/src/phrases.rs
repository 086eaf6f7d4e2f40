//! Cutting a reply into phrases to speak one after the other.
//!
//! Sentences are cut at their end marks (`.` `!` `?` followed by a space or the end, and the
//! Chinese `。！？；`). The first sentence is cut again at its first comma when it is long, and
//! a first phrase still long is cut before a word that starts a phrase of its own ("in",
//! "after", "or"...), so that the first audio is short and leaves quickly; a phrase longer than
//! [`MAX_CHARS`] is cut at commas, then at spaces, so the model never sees more than it can
//! take in one run.

/// The longest phrase handed to the model in one piece.
pub const MAX_CHARS: usize = 180;

/// Words in a first sentence above which it is cut at its first comma.
const FIRST_CUT_WORDS: usize = 8;

/// A first phrase longer than this many words is cut before a phrase-starting word found at
/// word [`FIRST_MIN_WORDS`] to this.
const FIRST_MAX_WORDS: usize = 7;
const FIRST_MIN_WORDS: usize = 4;

/// English words a spoken phrase naturally starts with (prepositions and conjunctions), so a
/// cut before one sounds like a breath, not a stumble. Not "to", "of", "that": they bind to
/// what comes before ("need to", "one of").
const PHRASE_STARTS: [&str; 22] = [
    "in", "on", "at", "under", "by", "with", "from", "for", "or", "and", "but", "so", "because",
    "when", "if", "until", "after", "before", "while", "through", "using", "within",
];

/// `p` cut before its first phrase-starting word between word `FIRST_MIN_WORDS` and
/// `FIRST_MAX_WORDS`, when it is longer than that.
fn cut_first(p: &str) -> Vec<String> {
    let words: Vec<&str> = p.split_whitespace().collect();
    if words.len() <= FIRST_MAX_WORDS || p.chars().any(is_cjk) {
        return vec![p.to_string()];
    }
    let at = (FIRST_MIN_WORDS..=FIRST_MAX_WORDS).find(|&k| {
        let w: String = words[k]
            .chars()
            .filter(|c| c.is_alphanumeric())
            .collect::<String>()
            .to_lowercase();
        PHRASE_STARTS.contains(&w.as_str()) && !words[k - 1].ends_with(is_comma)
    });
    match at {
        Some(k) => vec![words[..k].join(" "), words[k..].join(" ")],
        None => vec![p.to_string()],
    }
}

fn is_end(c: char) -> bool {
    matches!(c, '.' | '!' | '?' | '。' | '！' | '？' | '；' | '…')
}

fn is_comma(c: char) -> bool {
    matches!(c, ',' | ';' | ':' | '，' | '、' | '：')
}

fn is_cjk(c: char) -> bool {
    ('\u{4E00}'..='\u{9FFF}').contains(&c) || ('\u{3400}'..='\u{4DBF}').contains(&c)
}

/// Words in a piece of text: space-separated words, each CJK character counting as half.
fn words(s: &str) -> usize {
    let cjk = s.chars().filter(|c| is_cjk(*c)).count();
    s.split_whitespace()
        .filter(|w| !w.chars().all(is_cjk))
        .count()
        + cjk / 2
}

/// The reply cut into phrases in speaking order, none empty.
pub fn phrases(text: &str) -> Vec<String> {
    let sentences = sentences(text);
    let mut out = Vec::new();
    for (i, s) in sentences.iter().enumerate() {
        let mut parts = vec![s.clone()];
        if i == 0 && words(s) > FIRST_CUT_WORDS {
            if let Some(cut) = first_comma(s) {
                let (a, b) = s.split_at(cut);
                if words(a) >= 2 && !b.trim().is_empty() {
                    parts = vec![a.trim().to_string(), b.trim().to_string()];
                }
            }
        }
        if i == 0 {
            let rest = parts.split_off(1);
            parts = cut_first(&parts[0]);
            parts.extend(rest);
        }
        for p in parts {
            split_long(&p, &mut out);
        }
    }
    out.retain(|p| p.chars().any(|c| c.is_alphanumeric()));
    out
}

/// Byte index just after the first comma that has words on both sides.
fn first_comma(s: &str) -> Option<usize> {
    s.char_indices()
        .find(|&(i, c)| is_comma(c) && i > 0)
        .map(|(i, c)| i + c.len_utf8())
}

fn sentences(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut cur = String::new();
    for (i, &c) in chars.iter().enumerate() {
        cur.push(c);
        if is_end(c) {
            let next = chars.get(i + 1).copied();
            let cjk_end = matches!(c, '。' | '！' | '？' | '；' | '…');
            let ends = cjk_end || next.is_none_or(|n| n.is_whitespace() || is_end(n) || n == '"');
            // "4.50", "e.g.x": a dot between non-spaces is not an end.
            if ends && !next.is_some_and(is_end) {
                let s = cur.trim().to_string();
                if !s.is_empty() {
                    out.push(s);
                }
                cur.clear();
            }
        }
    }
    let s = cur.trim().to_string();
    if !s.is_empty() {
        out.push(s);
    }
    out
}

fn split_long(p: &str, out: &mut Vec<String>) {
    if p.chars().count() <= MAX_CHARS {
        out.push(p.to_string());
        return;
    }
    // At the comma nearest the middle, else at the space nearest the middle, else in half.
    let chars: Vec<(usize, char)> = p.char_indices().collect();
    let mid = chars.len() / 2;
    let pick = |pred: &dyn Fn(char) -> bool| {
        chars
            .iter()
            .enumerate()
            .filter(|(_, (_, c))| pred(*c))
            .min_by_key(|(k, _)| k.abs_diff(mid))
            .map(|(_, (b, c))| b + c.len_utf8())
    };
    let cut = pick(&is_comma)
        .or_else(|| pick(&|c: char| c.is_whitespace()))
        .unwrap_or(chars[mid].0);
    let (a, b) = p.split_at(cut);
    if a.trim().is_empty() || b.trim().is_empty() {
        out.push(p.to_string());
        return;
    }
    split_long(a.trim(), out);
    split_long(b.trim(), out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_and_a_short_first_phrase() {
        let p = phrases(
            "Thanks for waiting, I have looked up your order and it shipped yesterday. It costs $4.50! Anything else?",
        );
        assert_eq!(
            p,
            [
                "Thanks for waiting,",
                "I have looked up your order and it shipped yesterday.",
                "It costs $4.50!",
                "Anything else?"
            ]
        );
    }

    #[test]
    fn a_long_first_phrase_is_cut_where_a_phrase_starts() {
        assert_eq!(
            phrases("Your bill is due 14 days after the statement date. You can see it."),
            [
                "Your bill is due 14 days",
                "after the statement date.",
                "You can see it."
            ]
        );
        // Not before "to", not after fewer than four words, and short phrases stay whole.
        assert_eq!(
            phrases("You will need to restart the phone and wait for a minute."),
            [
                "You will need to restart the phone",
                "and wait for a minute."
            ]
        );
        assert_eq!(
            phrases("Thanks for calling us."),
            ["Thanks for calling us."]
        );
        assert_eq!(
            phrases("Please hold the line while I check that everything is fine."),
            [
                "Please hold the line",
                "while I check that everything is fine."
            ]
        );
    }

    #[test]
    fn chinese_sentences() {
        let p = phrases("您好，欢迎致电北风公司。请问有什么可以帮您？");
        assert_eq!(p, ["您好，欢迎致电北风公司。", "请问有什么可以帮您？"]);
    }

    #[test]
    fn long_phrases_are_cut_and_nothing_is_lost() {
        let long = "word ".repeat(100);
        let p = phrases(&long);
        assert!(p.len() >= 3, "{p:?}");
        assert!(p.iter().all(|x| x.chars().count() <= MAX_CHARS));
        assert_eq!(p.join(" ").split_whitespace().count(), 100);
        assert!(phrases("  ... ").is_empty());
    }
}
