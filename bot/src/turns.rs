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

/// Spoken digits, as Whisper may write a number read out digit by digit.
const EN_DIGITS: [&str; 11] = [
    "zero", "oh", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
];

/// Whether `text` (the words up to a pause) is a whole turn that can be answered before the
/// usual pause has passed: a finished sentence that does not end in a number, a digit or a
/// letter, since a caller reading out an order or phone number pauses between groups
/// ("N W 1 2 3", "四五六") and finishes the same way.
pub fn whole(text: &str) -> bool {
    let t = text.trim();
    if t.is_empty() || unfinished(t) {
        return false;
    }
    let body = t.trim_end_matches(|c: char| !c.is_alphanumeric());
    let Some(last_char) = body.chars().last() else {
        return false;
    };
    if last_char.is_ascii_digit() || "零一二三四五六七八九十两〇".contains(last_char) {
        return false;
    }
    let last = body
        .rsplit(|c: char| c.is_whitespace() || c == '-' || c == ',')
        .next()
        .unwrap_or("")
        .to_lowercase();
    // A single letter (not "I" or "a", which end no sentence anyway) or a spoken digit.
    let letter = last.chars().count() == 1 && last.chars().all(|c| c.is_ascii_alphabetic());
    !(letter || EN_DIGITS.contains(&last.as_str()))
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

    #[test]
    fn whole_turns_answer_at_once_but_numbers_being_read_wait() {
        for t in [
            "Where is my order?",
            "I want to talk to a person.",
            "yes",
            "No, thank you.",
            "What time do you open on Saturday?",
            "我的订单到哪了？",
            "好的",
        ] {
            assert!(whole(t), "{t}");
        }
        for t in [
            "",
            "My order number is",
            "It's about my bill and",
            "My order number is N W 1 2 3.",
            "NW123456",
            "N W one two three",
            "The code is 4 4 1, 8 2 0.",
            "my postcode is S W 1 A",
            "我的电话是一三九。",
            "我的订单号是",
        ] {
            assert!(!whole(t), "{t}");
        }
    }
}
