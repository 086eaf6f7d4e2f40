//! Cutting a reply into phrases to speak one after the other.
//!
//! Sentences are cut at their end marks (`.` `!` `?` followed by a space or the end, and the
//! Chinese `。！？；`). The first sentence is cut again at its first comma when it is long, so
//! that the first audio is a short phrase and leaves quickly; a phrase longer than
//! [`MAX_CHARS`] is cut at commas, then at spaces, so the model never sees more than it can
//! take in one run.

/// The longest phrase handed to the model in one piece.
pub const MAX_CHARS: usize = 180;

/// Words in a first sentence above which it is cut at its first comma.
const FIRST_CUT_WORDS: usize = 8;

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
