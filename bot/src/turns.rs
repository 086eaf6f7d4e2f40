//! End of turn from the words: a final transcript that stops where a sentence cannot end ("my
//! order number is", "and", "um", a trailing comma, "我的订单号是") is probably the caller
//! pausing to think or to read something out, not the end of what they want to say. The shell
//! then waits a little for the rest before the bot answers.

/// Words a finished English sentence does not end with.
const EN_OPEN: [&str; 40] = [
    "and", "but", "or", "so", "because", "if", "then", "the", "a", "an", "my", "your", "our", "is",
    "are", "was", "to", "of", "for", "with", "from", "in", "on", "at", "about", "um", "uh", "er",
    "erm", "like", "that", "which", "number", "it's", "its", "i'm", "i", "we", "me", "than",
];

/// Endings of an unfinished Chinese clause.
const ZH_OPEN: [&str; 15] = [
    "是", "和", "跟", "还有", "就是", "然后", "那个", "这个", "嗯", "呃", "因为", "但是", "所以",
    "如果", "我的",
];

/// Whether `text` (a final transcript) stops in the middle of what the speaker is saying.
pub fn unfinished(text: &str) -> bool {
    let t = text.trim();
    if t.is_empty() {
        return false;
    }
    if t.ends_with("...") || t.ends_with('…') || t.ends_with(',') || t.ends_with('，') {
        return true;
    }
    // A sentence mark at the end: finished, whatever the word before it.
    if t.ends_with(['.', '?', '!', '。', '？', '！']) {
        // Whisper often puts a full stop after a trailing filler or conjunction.
        let body = t.trim_end_matches(['.', '?', '!', '。', '？', '！']);
        return ends_open(body) && !t.ends_with('?') && !t.ends_with('？');
    }
    ends_open(t)
}

fn ends_open(t: &str) -> bool {
    let t = t.trim();
    // "不是" (no) is a whole answer.
    if ZH_OPEN.iter().any(|w| t.ends_with(w)) && !t.ends_with("不是") {
        return true;
    }
    let last = t
        .rsplit(|c: char| c.is_whitespace())
        .next()
        .unwrap_or("")
        .trim_matches(|c: char| !c.is_alphanumeric() && c != '\'')
        .to_lowercase();
    EN_OPEN.contains(&last.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_inside_a_sentence() {
        for t in [
            "My order number is",
            "my order number is...",
            "I want to return the, um",
            "It's about my bill and",
            "Yes, the order is N W 1 2 3,",
            "我的订单号是",
            "我想问一下那个",
            "So I was wondering if.",
        ] {
            assert!(unfinished(t), "{t}");
        }
    }

    #[test]
    fn finished_sentences() {
        for t in [
            "Where is my order?",
            "I want to talk to a person.",
            "NW123456",
            "yes",
            "Thank you",
            "我的订单到哪了？",
            "好的",
            "不是",
            "Is it the one I ordered?",
            "",
        ] {
            assert!(!unfinished(t), "{t}");
        }
    }
}
