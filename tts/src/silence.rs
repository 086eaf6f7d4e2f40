//! The silence around a phrase. Kokoro returns each phrase with about 0.3 s of silence before
//! the first sound and 0.5 s after the last. Played as they come, every answer would start a
//! third of a second late and every pair of phrases would be almost a second apart. A phrase
//! is cut to just before its first sound and given the pause its last character calls for:
//! a sentence end pauses longer than a clause.

/// Audio kept before the first sound (soft onsets such as an "s" start below the threshold).
const LEAD_MS: u32 = 20;
/// Pause after a phrase that ends a sentence.
const SENTENCE_PAUSE_MS: u32 = 350;
/// Pause after a phrase that ends at a comma or mid-sentence (a long sentence cut in two).
const CLAUSE_PAUSE_MS: u32 = 150;
/// Sound is where a 5 ms window reaches this fraction of the phrase's peak (-34 dB)...
const RELATIVE_LEVEL: f32 = 0.02;
/// ...and at least this absolute level (-60 dBFS), so that a silent phrase stays silent.
const FLOOR: f32 = 0.001;

/// Whether `text` ends a sentence (its last non-space character is a full stop, question or
/// exclamation mark, in either script, or an ellipsis), so the pause after it is a long one.
pub fn ends_sentence(text: &str) -> bool {
    let last = text
        .trim_end()
        .trim_end_matches(['"', '\'', ')', '”', '’', '」', '）'])
        .chars()
        .last();
    matches!(
        last,
        Some('.' | '?' | '!' | '…' | '。' | '？' | '！' | '；' | ';')
    )
}

/// The pause (in ms) that follows `text` when it is spoken as one phrase.
pub fn pause_after(text: &str) -> u32 {
    if ends_sentence(text) {
        SENTENCE_PAUSE_MS
    } else {
        CLAUSE_PAUSE_MS
    }
}

/// `samples` (mono, `rate` Hz) from `LEAD_MS` before the first sound to `pause_ms` after the
/// last, padded with zeros where the engine left less. All silence gives nothing.
pub fn fit(samples: &[f32], rate: u32, pause_ms: u32) -> Vec<f32> {
    let window = (rate as usize / 200).max(1);
    let peak = samples.iter().fold(0f32, |m, s| m.max(s.abs()));
    let level = (peak * RELATIVE_LEVEL).max(FLOOR);
    let loud = |w: &[f32]| w.iter().any(|s| s.abs() >= level);
    let windows: Vec<&[f32]> = samples.chunks(window).collect();
    let Some(first) = windows.iter().position(|w| loud(w)) else {
        return Vec::new();
    };
    let last = windows.iter().rposition(|w| loud(w)).unwrap_or(first);
    let ms = |ms: u32| (ms as u64 * rate as u64 / 1000) as usize;
    let start = (first * window).saturating_sub(ms(LEAD_MS));
    let sound_end = ((last + 1) * window).min(samples.len());
    let end = (sound_end + ms(pause_ms)).min(samples.len());
    let mut out = samples[start..end].to_vec();
    out.resize(sound_end - start + ms(pause_ms), 0.0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE: u32 = 24_000;

    fn tone(ms: u32, amp: f32) -> Vec<f32> {
        (0..(ms * RATE / 1000) as usize)
            .map(|i| amp * (i as f32 * 0.1).sin())
            .collect()
    }

    fn silence(ms: u32) -> Vec<f32> {
        vec![0.0; (ms * RATE / 1000) as usize]
    }

    fn ms_of(n: usize) -> u32 {
        (n as u64 * 1000 / RATE as u64) as u32
    }

    #[test]
    fn a_phrase_starts_just_before_its_sound_and_ends_with_its_pause() {
        let mut a = silence(330);
        a.extend(tone(800, 0.5));
        a.extend(silence(550));
        let out = fit(&a, RATE, 350);
        // 20 ms lead (to a 5 ms window), the sound, 350 ms of pause.
        assert!(
            (ms_of(out.len()) as i32 - (20 + 800 + 350)).abs() <= 6,
            "{}",
            ms_of(out.len())
        );
        let first = out.iter().position(|s| s.abs() > 0.01).unwrap();
        assert!(ms_of(first) <= 25 && ms_of(first) >= 15, "{}", ms_of(first));
        let last = out.iter().rposition(|s| s.abs() > 0.01).unwrap();
        assert!((ms_of(out.len() - last) as i32 - 350).abs() <= 6);
    }

    #[test]
    fn a_short_tail_is_padded_to_the_pause() {
        let mut a = tone(300, 0.5);
        a.extend(silence(40));
        let out = fit(&a, RATE, 150);
        assert!(
            (ms_of(out.len()) as i32 - (300 + 150)).abs() <= 6,
            "{}",
            ms_of(out.len())
        );
        assert!(out[out.len() - 10..].iter().all(|&s| s == 0.0));
    }

    #[test]
    fn quiet_sound_inside_the_phrase_is_kept() {
        // A soft consonant between two loud syllables, and a soft ending.
        let mut a = silence(200);
        a.extend(tone(200, 0.6));
        a.extend(tone(100, 0.02));
        a.extend(tone(200, 0.6));
        a.extend(tone(60, 0.02));
        a.extend(silence(400));
        let out = fit(&a, RATE, 150);
        assert!(
            (ms_of(out.len()) as i32 - (20 + 560 + 150)).abs() <= 6,
            "{}",
            ms_of(out.len())
        );
    }

    #[test]
    fn silence_gives_nothing() {
        assert!(fit(&silence(500), RATE, 350).is_empty());
        assert!(fit(&[], RATE, 350).is_empty());
        // Below -60 dBFS is silence even though it is the phrase's own peak.
        assert!(fit(&tone(300, 0.0005), RATE, 350).is_empty());
    }

    #[test]
    fn sentences_pause_longer_than_clauses() {
        assert!(ends_sentence("Our opening hours are nine to five."));
        assert!(ends_sentence("Can I help? "));
        assert!(ends_sentence("您好，欢迎致电客服中心。"));
        assert!(ends_sentence("He said \"stop!\""));
        assert!(!ends_sentence("You can return any item"));
        assert!(!ends_sentence("Thanks for waiting,"));
        assert!(!ends_sentence("您好，"));
        assert!(pause_after("Sure.") > pause_after("Sure,"));
    }
}
