//! Is a recognised text plausible for its audio? Whisper fails in a few recognisable ways: it
//! loops (one phrase repeated until the token limit), it transcribes a whole utterance twice,
//! or it writes more words than the audio could hold. An invented sentence on an agent's screen
//! (or in the bot's input) is worse than a missing one, so the recogniser checks every text
//! here, retries a suspect one with safer settings, and drops what stays suspect.
//!
//! Plain functions over text, audio length and token statistics; no model in here.

use std::io::Write;

/// Why a text was judged implausible.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Suspect {
    /// A short phrase repeated back to back, or text that compresses like a loop.
    Loop,
    /// A long stretch of words repeated back to back: the utterance transcribed twice.
    Duplicate,
    /// More words than the audio's length allows, or the token budget ran out.
    TooLong,
    /// The model itself was unsure of nearly every token.
    LowConfidence,
}

impl Suspect {
    pub const ALL: [Suspect; 4] = [
        Suspect::Loop,
        Suspect::Duplicate,
        Suspect::TooLong,
        Suspect::LowConfidence,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Suspect::Loop => "loop",
            Suspect::Duplicate => "duplicate",
            Suspect::TooLong => "too_long",
            Suspect::LowConfidence => "low_confidence",
        }
    }
}

/// What the recogniser knows about one decoding.
#[derive(Clone, Debug, Default)]
pub struct Decoded {
    pub text: String,
    /// Text tokens produced (special tokens excluded).
    pub tokens: usize,
    /// The token budget the decoder ran with; reaching it means it was cut off.
    pub token_budget: usize,
    /// Mean log probability of the text tokens (0 when there are none).
    pub avg_logprob: f32,
}

/// Text tokens a decoder may produce for `audio_s` seconds of speech. Fast English is about
/// 3.5 words (5 tokens) a second and Chinese about 6 characters (up to 12 tokens); the budget
/// leaves room above that, and a decoder that reaches it has gone wrong.
pub fn token_budget(audio_s: f64, cjk: bool) -> usize {
    let per_s = if cjk { 16.0 } else { 8.0 };
    (audio_s * per_s).ceil() as usize + 10
}

/// Units a transcript is measured in: words, and each CJK character on its own.
pub fn units(text: &str) -> Vec<String> {
    let mut out = vec![];
    for w in text.split_whitespace() {
        let mut cur = String::new();
        for c in w.chars() {
            if is_cjk(c) {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                out.push(c.to_string());
            } else if c.is_alphanumeric() || c == '\'' {
                cur.extend(c.to_lowercase());
            }
        }
        if !cur.is_empty() {
            out.push(cur);
        }
    }
    out
}

pub fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F)
}

/// The first reason `d` is implausible for `audio_s` seconds of audio, if any.
pub fn check(d: &Decoded, audio_s: f64) -> Option<Suspect> {
    let u = units(&d.text);
    if u.is_empty() {
        return None;
    }
    if d.token_budget > 0 && d.tokens >= d.token_budget {
        return Some(Suspect::TooLong);
    }
    if let Some(s) = repetition(&u) {
        return Some(s);
    }
    if d.text.len() >= 60 && compression_ratio(&d.text) > 2.4 {
        return Some(Suspect::Loop);
    }
    let cjk = u.iter().filter(|w| w.chars().all(is_cjk)).count();
    let words = u.len() - cjk;
    // Units per second of audio, with slack for very short clips.
    let allowed = audio_s * 5.0 + 3.0;
    if words as f64 + cjk as f64 * 0.55 > allowed {
        return Some(Suspect::TooLong);
    }
    if d.tokens >= 3 && d.avg_logprob < -1.5 {
        return Some(Suspect::LowConfidence);
    }
    None
}

/// Back-to-back repetition in a unit sequence. A span of `n` units repeated `k` times in a
/// row counts as a loop when `k` is large for its length (people do say "no no no", or repeat
/// a short phrase once), and as a duplicate when a long span (8+ units) comes twice.
pub fn repetition(u: &[String]) -> Option<Suspect> {
    let len = u.len();
    for n in 1..=len / 2 {
        let min_repeats = match n {
            1 => 5,
            2 => 4,
            3..=7 => 3,
            _ => 2,
        };
        let mut i = 0;
        while i + 2 * n <= len {
            let mut k = 1;
            while i + (k + 1) * n <= len && u[i..i + n] == u[i + k * n..i + (k + 1) * n] {
                k += 1;
            }
            if k >= min_repeats {
                return Some(if n >= 8 {
                    Suspect::Duplicate
                } else {
                    Suspect::Loop
                });
            }
            i += 1;
        }
    }
    None
}

/// Length of `text` over the length of its DEFLATE compression: loops compress far better than
/// speech (Whisper's own threshold is 2.4).
pub fn compression_ratio(text: &str) -> f64 {
    let bytes = text.as_bytes();
    if bytes.is_empty() {
        return 0.0;
    }
    let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let _ = enc.write_all(bytes);
    let compressed = enc.finish().map(|v| v.len()).unwrap_or(bytes.len());
    bytes.len() as f64 / compressed.max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Decoded {
        Decoded {
            text: text.into(),
            tokens: text.split_whitespace().count(),
            token_budget: 1000,
            avg_logprob: -0.2,
        }
    }

    #[test]
    fn a_phrase_looped_is_caught() {
        let looped = "and so my fellow Americans ".repeat(12);
        assert_eq!(check(&d(&looped), 2.0), Some(Suspect::Loop));
        // Not exact repeats, as Whisper makes them: compression still sees the loop.
        let fuzzy = "And so my fellow Americans, and so my festival America, ".repeat(6);
        assert!(check(&d(&fuzzy), 10.0).is_some());
    }

    #[test]
    fn an_utterance_transcribed_twice_is_a_duplicate() {
        let once = "I called last week about my bill and nobody has called me back since then";
        let twice = format!("{once}. {once}.");
        assert_eq!(check(&d(&twice), 15.0), Some(Suspect::Duplicate));
        assert_eq!(check(&d(once), 15.0), None);
    }

    #[test]
    fn ordinary_speech_passes() {
        for (t, s) in [
            ("No, no, no.", 1.0),
            ("Yes.", 0.6),
            ("Ask not what your country can do for you.", 3.0),
            ("Four seven two nine one, four seven two nine one.", 5.0),
            ("Thank you, thank you.", 1.5),
            ("我想查询一下我的账单,谢谢。", 3.0),
        ] {
            assert_eq!(check(&d(t), s), None, "{t}");
        }
    }

    #[test]
    fn too_many_words_for_the_audio() {
        let t = "this is a sentence with far too many words for one second of audio in it";
        assert_eq!(check(&d(t), 1.0), Some(Suspect::TooLong));
        let mut cut = d("hello there");
        cut.token_budget = 2;
        assert_eq!(check(&cut, 1.0), Some(Suspect::TooLong));
    }

    #[test]
    fn unsure_text_is_flagged() {
        let mut x = d("s not what");
        x.avg_logprob = -2.0;
        assert_eq!(check(&x, 2.0), Some(Suspect::LowConfidence));
    }

    #[test]
    fn cjk_counts_characters() {
        assert_eq!(units("你好 world").len(), 3);
        assert_eq!(units("Hello, World!"), vec!["hello", "world"]);
        assert!(token_budget(2.0, true) > token_budget(2.0, false));
    }
}
