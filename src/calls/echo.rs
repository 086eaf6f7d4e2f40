//! Echo safety for the bot's voice, sans-IO (time is an argument).
//!
//! A caller on a loudspeaker sends the bot's own voice back: delayed (playout, the room, the
//! network), quieter, filtered. The server knows exactly what the bot played and when, so it
//! can tell that echo from the caller talking without the browser's echo canceller: the
//! loudness envelope (energy per 20 ms frame, in dB) of what the caller sends is compared with
//! the envelope of what the bot played, at every delay up to [`MAX_DELAY`]. Echo follows the
//! bot's envelope closely at one delay and is not louder than it; a caller's own words do not
//! follow it, even while the bot talks (double talk).
//!
//! A second, independent check works on words: what was recognised from an utterance that
//! began over the bot is its echo when its words are, nearly all, the words the bot was
//! playing then ([`EchoGuard::repeats_bot`]). It catches the echo the envelopes miss (the
//! first frames of a phrase, a pause that blurs the evidence, a late playout).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// One envelope frame.
pub const FRAME: Duration = Duration::from_millis(20);
/// The longest echo path considered (playout buffer, loudspeaker to microphone, network).
pub const MAX_DELAY: Duration = Duration::from_millis(600);
/// The caller audio judged: the last this much.
const WINDOW: Duration = Duration::from_millis(800);
/// Envelopes kept.
const KEEP: Duration = Duration::from_secs(4);
/// Frames quieter than this (dBFS) are silence.
const FLOOR_DB: f32 = -55.0;
/// Correlation of the envelopes above which the caller's audio is the bot's echo.
const ECHO_CORRELATION: f32 = 0.7;
/// Below that, still echo when the caller's level follows the bot's at a steady loss: the
/// spread (standard deviation, dB) of caller minus bot over frames where both sound.
const ECHO_SPREAD_DB: f32 = 4.0;
const ECHO_MIN_CORRELATION: f32 = 0.4;
/// ... or when it is this much (dB) quieter than the bot: the faint tail of an echo.
const QUIET_ECHO_DB: f32 = 6.0;
/// The bot's phrases kept for the word check.
const KEEP_PHRASES: usize = 16;
/// A transcript this short ("yes", "no thanks") may well be the caller's answer using the
/// bot's words: the word check needs at least this many words (Chinese: characters).
const MIN_ECHO_WORDS: usize = 3;
const MIN_ECHO_CHARS_ZH: usize = 4;
/// Share of a transcript's words found in what the bot was playing, for it to be echo.
const ECHO_WORD_SHARE: f32 = 0.7;
/// Slack around a phrase's planned playing time (playout buffers, the echo path, where the
/// endpointer put the utterance's start).
const PHRASE_SLACK: Duration = Duration::from_millis(1500);

fn db(sum_sq: f64, n: usize) -> f32 {
    if n == 0 {
        return -100.0;
    }
    (10.0 * (sum_sq / n as f64 + 1e-10).log10()) as f32
}

/// Both sides' recent loudness.
#[derive(Debug, Default)]
pub struct EchoGuard {
    /// What the bot played: frame start time, dB.
    bot: VecDeque<(Instant, f32)>,
    /// When the bot's queued audio runs out.
    busy_until: Option<Instant>,
    /// What the caller sent: frame end time, dB.
    caller: VecDeque<(Instant, f32)>,
    /// Caller samples not yet making a whole frame (sum of squares, count).
    partial: (f64, usize),
    /// The bot's phrases: when each plays (start, end) and its words.
    phrases: VecDeque<(Instant, Instant, Vec<String>)>,
}

/// A text's words for comparing, lower case without punctuation; Chinese by character.
fn words(text: &str) -> Vec<String> {
    let mut out = vec![];
    let mut cur = String::new();
    for c in text.chars() {
        if ('\u{4E00}'..='\u{9FFF}').contains(&c) {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            out.push(c.to_string());
        } else if c.is_alphanumeric() {
            cur.extend(c.to_lowercase());
        } else if c == '\'' || c == '’' {
            // "I'm" is one word.
        } else if !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

impl EchoGuard {
    /// The bot queued `pcm` (mono, `rate` Hz) saying `text`: it plays after what is already
    /// queued.
    pub fn bot_plays(&mut self, now: Instant, text: &str, pcm: &[i16], rate: u32) {
        let per = (rate as usize / 50).max(1);
        let mut t = self.busy_until.filter(|b| *b > now).unwrap_or(now);
        let start = t;
        for chunk in pcm.chunks(per) {
            let s: f64 = chunk.iter().map(|&x| (x as f64 / 32768.0).powi(2)).sum();
            self.bot.push_back((t, db(s, chunk.len())));
            t += FRAME;
        }
        self.busy_until = Some(t);
        self.phrases.push_back((start, t, words(text)));
        while self.phrases.len() > KEEP_PHRASES {
            self.phrases.pop_front();
        }
        self.trim(now);
    }

    /// Whether `text`, recognised from an utterance that began at `began`, is the bot's own
    /// words coming back: long enough to tell, and nearly all its words are in the phrases
    /// the bot was playing from a little before `began` to `now`.
    pub fn repeats_bot(&self, text: &str, began: Instant, now: Instant) -> bool {
        let heard = words(text);
        let zh = heard
            .iter()
            .any(|w| w.chars().count() == 1 && !w.is_ascii());
        if heard.len()
            < if zh {
                MIN_ECHO_CHARS_ZH
            } else {
                MIN_ECHO_WORDS
            }
        {
            return false;
        }
        let from = began.checked_sub(PHRASE_SLACK).unwrap_or(began);
        let played: std::collections::HashSet<&str> = self
            .phrases
            .iter()
            .filter(|(start, end, _)| *end + PHRASE_SLACK >= from && *start <= now)
            .flat_map(|(_, _, w)| w.iter().map(String::as_str))
            .collect();
        let found = heard.iter().filter(|w| played.contains(w.as_str())).count();
        found as f32 >= ECHO_WORD_SHARE * heard.len() as f32
    }

    /// The bot fell silent now (barge-in): what it had queued never plays.
    pub fn bot_stopped(&mut self, now: Instant) {
        while self.bot.back().is_some_and(|(t, _)| *t > now) {
            self.bot.pop_back();
        }
        self.busy_until = Some(now);
        // What had not started playing was never heard.
        while self
            .phrases
            .back()
            .is_some_and(|(start, _, _)| *start > now)
        {
            self.phrases.pop_back();
        }
    }

    /// Whether the bot is (or was within `MAX_DELAY`) playing at `now`.
    pub fn bot_recent(&self, now: Instant) -> bool {
        self.busy_until.is_some_and(|b| b + MAX_DELAY > now)
    }

    /// Whether the caller's voice is sounding now: a frame within `window` before `now` is
    /// above the quiet floor and within 25 dB of their loudest in the last seconds. A short
    /// sound ("mhm") that is over is not.
    pub fn caller_voiced(&self, now: Instant, window: Duration) -> bool {
        let peak = self.caller.iter().map(|(_, d)| *d).fold(f32::MIN, f32::max);
        let recent = self
            .caller
            .iter()
            .filter(|(t, _)| *t + window >= now)
            .map(|(_, d)| *d)
            .fold(f32::MIN, f32::max);
        recent > FLOOR_DB && recent >= peak - 25.0
    }

    /// The caller's audio (mono, `rate` Hz) arrived; it ends at `now`.
    pub fn caller_audio(&mut self, now: Instant, samples: &[f32], rate: u32) {
        let per = (rate as usize / 50).max(1);
        let total = samples.len();
        let mut done = 0usize;
        for &x in samples {
            self.partial.0 += (x as f64).powi(2);
            self.partial.1 += 1;
            done += 1;
            if self.partial.1 == per {
                // The frame ended this many samples before the end of the batch.
                let left = total - done;
                let end = now
                    .checked_sub(Duration::from_secs_f64(left as f64 / rate as f64))
                    .unwrap_or(now);
                self.caller.push_back((end, db(self.partial.0, per)));
                self.partial = (0.0, 0);
            }
        }
        self.trim(now);
    }

    fn trim(&mut self, now: Instant) {
        let Some(old) = now.checked_sub(KEEP) else {
            return;
        };
        while self.bot.front().is_some_and(|(t, _)| *t < old) {
            self.bot.pop_front();
        }
        while self.caller.front().is_some_and(|(t, _)| *t < old) {
            self.caller.pop_front();
        }
    }

    /// The bot's level at time `t` (silence where it played nothing).
    fn bot_at(&self, t: Instant) -> f32 {
        let i = self.bot.partition_point(|(s, _)| *s <= t);
        if i == 0 {
            return -100.0;
        }
        let (s, d) = self.bot[i - 1];
        if t.duration_since(s) < FRAME {
            d
        } else {
            -100.0
        }
    }

    /// The evidence: the best correlation, at which delay, and both levels there.
    pub fn judge(&self, now: Instant) -> Option<Judgement> {
        let from = now.checked_sub(WINDOW)?;
        let caller: Vec<(Instant, f32)> = self
            .caller
            .iter()
            .filter(|(t, _)| *t >= from)
            .copied()
            .collect();
        let voiced = caller.iter().filter(|(_, d)| *d > FLOOR_DB).count();
        if voiced < 8 || !self.bot_recent(now) {
            return None;
        }
        let lags = (MAX_DELAY.as_millis() / FRAME.as_millis()) as u32;
        let mut best = (f32::MIN, 0u32);
        for lag in 0..=lags {
            let shift = FRAME * lag;
            // Only where the caller makes a sound: silence on both sides says nothing.
            let pairs: Vec<(f32, f32)> = caller
                .iter()
                .filter(|(_, c)| *c > FLOOR_DB)
                .filter_map(|(t, c)| t.checked_sub(shift).map(|bt| (*c, self.bot_at(bt))))
                .collect();
            // Echo sounds only while the bot talked, at this delay.
            let bot_voiced = pairs.iter().filter(|(_, b)| *b > FLOOR_DB).count();
            if bot_voiced < 6 || (bot_voiced as f32) < 0.7 * pairs.len() as f32 {
                continue;
            }
            let r = correlation(&pairs);
            if r > best.0 {
                best = (r, lag);
            }
        }
        if best.0 == f32::MIN {
            return None;
        }
        // Echo is not louder than what the bot played.
        let shift = FRAME * best.1;
        let (mut c_sum, mut b_sum, mut n) = (0.0f32, 0.0f32, 0);
        let mut diffs = vec![];
        for (t, c) in &caller {
            if let Some(bt) = t.checked_sub(shift) {
                let b = self.bot_at(bt);
                if *c > FLOOR_DB && b > FLOOR_DB {
                    c_sum += c;
                    b_sum += b;
                    n += 1;
                    diffs.push(c - b);
                }
            }
        }
        let spread = if diffs.len() >= 4 {
            let m = diffs.iter().sum::<f32>() / diffs.len() as f32;
            (diffs.iter().map(|d| (d - m).powi(2)).sum::<f32>() / diffs.len() as f32).sqrt()
        } else {
            f32::MAX
        };
        let (caller_db, bot_db) = if n > 0 {
            (c_sum / n as f32, b_sum / n as f32)
        } else {
            (-100.0, -100.0)
        };
        Some(Judgement {
            correlation: best.0,
            delay: shift,
            caller_db,
            bot_db,
            spread_db: spread,
            echo: (best.0 >= ECHO_CORRELATION
                || (best.0 >= ECHO_MIN_CORRELATION
                    && (spread <= ECHO_SPREAD_DB || caller_db <= bot_db - QUIET_ECHO_DB)))
                && n > 0
                && caller_db <= bot_db,
        })
    }
}

/// What [`EchoGuard::judge`] found.
#[derive(Clone, Copy, Debug)]
pub struct Judgement {
    pub correlation: f32,
    pub delay: Duration,
    pub caller_db: f32,
    pub bot_db: f32,
    pub spread_db: f32,
    pub echo: bool,
}

/// Pearson correlation of (x, y) pairs, levels floored at silence.
fn correlation(pairs: &[(f32, f32)]) -> f32 {
    let n = pairs.len() as f32;
    if n < 4.0 {
        return 0.0;
    }
    let p: Vec<(f32, f32)> = pairs
        .iter()
        .map(|(a, b)| (a.max(FLOOR_DB - 10.0), b.max(FLOOR_DB - 10.0)))
        .collect();
    let (mx, my) = p
        .iter()
        .fold((0.0, 0.0), |(sx, sy), (x, y)| (sx + x, sy + y));
    let (mx, my) = (mx / n, my / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (x, y) in &p {
        sxy += (x - mx) * (y - my);
        sxx += (x - mx).powi(2);
        syy += (y - my).powi(2);
    }
    if sxx <= 1e-6 || syy <= 1e-6 {
        return 0.0;
    }
    sxy / (sxx.sqrt() * syy.sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Speech-like audio: noise bursts of varying length and loudness with pauses.
    fn speechlike(seed: u64, secs: f32, rate: u32) -> Vec<f32> {
        // splitmix64
        let mut x = seed;
        let mut rnd = move || {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            ((z >> 40) as f32 / (1u64 << 24) as f32) - 0.5
        };
        let n = (secs * rate as f32) as usize;
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let burst = (rate as f32 * (0.08 + 0.25 * (rnd() + 0.5))) as usize;
            let gain = 0.1 + 0.5 * (rnd() + 0.5);
            for _ in 0..burst {
                out.push(rnd() * gain);
            }
            let pause = (rate as f32 * (0.03 + 0.15 * (rnd() + 0.5))) as usize;
            out.extend(std::iter::repeat_n(0.0, pause));
        }
        out.truncate(n);
        out
    }

    fn to_i16(v: &[f32]) -> Vec<i16> {
        v.iter().map(|s| (s * 32767.0) as i16).collect()
    }

    /// Feed the bot's audio and the caller's (both 16 kHz) in 20 ms steps; ask at the end.
    fn judge(bot: &[f32], caller: &[f32]) -> bool {
        let t0 = Instant::now();
        let mut g = EchoGuard::default();
        g.bot_plays(t0, "", &to_i16(bot), 16_000);
        let frames = caller.len() / 320;
        for k in 0..frames {
            let now = t0 + FRAME * (k as u32 + 1);
            g.caller_audio(now, &caller[k * 320..(k + 1) * 320], 16_000);
        }
        let j = g.judge(t0 + FRAME * frames as u32);
        println!("{j:?}");
        j.is_some_and(|j| j.echo)
    }

    #[test]
    fn the_bots_voice_coming_back_is_echo() {
        let bot = speechlike(1, 3.0, 16_000);
        // 180 ms later, 10 dB quieter, smoothed (a loudspeaker and a room).
        let delay = 16_000 * 180 / 1000;
        let mut echo = vec![0.0; delay];
        let mut lp = 0.0;
        for s in &bot {
            lp = 0.7 * lp + 0.3 * s;
            echo.push(lp * 0.3);
        }
        echo.truncate(bot.len());
        assert!(judge(&bot, &echo));
    }

    #[test]
    fn a_caller_talking_is_not_echo_even_over_the_bot() {
        let bot = speechlike(1, 3.0, 16_000);
        let own = speechlike(2, 3.0, 16_000);
        assert!(!judge(&bot, &own), "own words");
        // Double talk: their words, louder than the echo underneath.
        let mix: Vec<f32> = own.iter().zip(&bot).map(|(o, b)| o + 0.1 * b).collect();
        assert!(!judge(&bot, &mix), "double talk");
        // The bot silent: nothing can be its echo.
        assert!(!judge(&[], &own));
    }

    #[test]
    fn a_short_sound_that_is_over_is_not_a_voice_sounding() {
        let t0 = Instant::now();
        let mut g = EchoGuard::default();
        let mut sound = speechlike(7, 0.35, 16_000);
        for x in sound.iter_mut() {
            *x = if *x == 0.0 { 0.2 } else { *x }; // no pauses inside it
        }
        sound.extend(vec![0.0; 16_000 * 2 / 5]);
        let window = Duration::from_millis(60);
        let mut voiced_at = vec![];
        for k in 0..sound.len() / 320 {
            let now = t0 + FRAME * (k as u32 + 1);
            g.caller_audio(now, &sound[k * 320..(k + 1) * 320], 16_000);
            voiced_at.push(g.caller_voiced(now, window));
        }
        // 20 ms frames: voiced through the sound (17 frames), not after it has stopped.
        assert!(voiced_at[2..17].iter().all(|v| *v), "{voiced_at:?}");
        assert!(voiced_at[22..].iter().all(|v| !*v), "{voiced_at:?}");
    }

    #[test]
    fn words_the_bot_was_playing_coming_back_are_its_echo() {
        let t0 = Instant::now();
        let mut g = EchoGuard::default();
        let pcm = vec![1000i16; 16_000 * 2];
        g.bot_plays(t0, "Hi, I'm the virtual assistant.", &pcm, 16_000);
        g.bot_plays(t0, "Ask me anything about your account.", &pcm, 16_000);
        let later = t0 + Duration::from_secs(5);
        // Misheard a little, and the end of one phrase with the start of the next.
        assert!(g.repeats_bot("Hi, I'm the virtual assistance", t0, later));
        assert!(g.repeats_bot("assistant. Ask me anything", t0, later));
        // The caller's own words, or an answer too short to tell from the bot's.
        assert!(!g.repeats_bot("I want to ask about my account", t0, later));
        assert!(!g.repeats_bot("your account", t0, later));
        // Long after the bot said it, it is the caller saying it.
        let much_later = t0 + Duration::from_secs(30);
        assert!(!g.repeats_bot("Ask me anything", much_later, much_later));
        // Chinese, by character.
        g.bot_plays(later, "您好，我是虚拟助手。", &pcm, 16_000);
        assert!(g.repeats_bot("我是虚拟助手", later, later));
        assert!(!g.repeats_bot("我要退款", later, later));
    }

    #[test]
    fn phrases_a_barge_in_cut_off_were_never_heard() {
        let t0 = Instant::now();
        let mut g = EchoGuard::default();
        let pcm = vec![1000i16; 16_000 * 2];
        g.bot_plays(t0, "The first phrase plays now.", &pcm, 16_000);
        g.bot_plays(t0, "Then comes the second one.", &pcm, 16_000);
        g.bot_stopped(t0 + Duration::from_secs(1));
        let later = t0 + Duration::from_secs(3);
        assert!(g.repeats_bot("the first phrase plays", t0, later));
        assert!(!g.repeats_bot("then comes the second one", t0, later));
    }
}
