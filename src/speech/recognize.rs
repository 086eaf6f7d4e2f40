//! One utterance through Whisper, with guards: decode, check the text against the audio
//! ([`guard`]), and retry a suspect text with safer settings before giving up.
//!
//! The ladder for a final: (1) the configured window, greedy; (2) the full 30 s window Whisper
//! was trained on, greedy; (3) the full window with beam search and whisper.cpp's temperature
//! fallback. A text still suspect after the last step is dropped (and counted): an empty final
//! is better than an invented one. Partials get one cheap attempt and are simply not shown
//! when suspect.
//!
//! Whisper's context carry-over is off (`no_context`): every utterance is decoded on its own, so
//! one bad decoding cannot seed the next.

use super::guard::{self, Decoded, Suspect};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// Decodings run and rejected in this process, for benchmarks (the server has metrics).
pub static DECODINGS: AtomicU64 = AtomicU64::new(0);
pub static RETRIES: AtomicU64 = AtomicU64::new(0);
pub static REJECTED: AtomicU64 = AtomicU64::new(0);
use whisper_rs::{FullParams, SamplingStrategy, WhisperState};

pub const SAMPLE_RATE: usize = 16_000;
/// Whisper's encoder window: 1500 positions of 20 ms.
pub const FULL_WINDOW: i32 = 1500;

/// How much of Whisper's 30 s encoder window the first attempt runs.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Window {
    /// Always the full 30 s window: what whisper.cpp does by default; slowest, safest.
    Full,
    /// The utterance plus a margin, at least `min_ms`: much cheaper for short turns. Suspect
    /// results are retried with the full window.
    Trimmed { margin_ms: u32, min_ms: u32 },
}

impl Default for Window {
    fn default() -> Self {
        // At least 10 s: with less, tiny.en turns "ask not" into "S NOT" on some cuts of the
        // same audio (docs/benchmarks.md); a third of the full window's cost.
        Window::Trimmed {
            margin_ms: 3000,
            min_ms: 10_000,
        }
    }
}

impl Window {
    /// Encoder positions to run for `samples` of audio (rounded up to a multiple of 64).
    pub fn audio_ctx(&self, samples: usize) -> i32 {
        match self {
            Window::Full => FULL_WINDOW,
            Window::Trimmed { margin_ms, min_ms } => {
                let ms = (samples * 1000 / SAMPLE_RATE) as u32 + margin_ms;
                let positions = ms.max(*min_ms).div_ceil(20) as usize;
                (positions.div_ceil(64) * 64).min(FULL_WINDOW as usize) as i32
            }
        }
    }
}

#[derive(Clone, Debug)]
pub struct RecognizeConfig {
    pub window: Window,
    /// A cheaper first attempt for finals someone waits on (a bot's caller): a result with
    /// no words or a suspect one goes on to `window`. With a window of a few seconds,
    /// tiny.en now and then ends a short question at once with no words: hence the ladder.
    pub quick: Option<Window>,
    pub threads: usize,
    /// Retry suspect finals (off only to measure what the guards save).
    pub retries: bool,
    /// Decode with timestamp tokens, as Whisper was mostly trained (off: `<|notimestamps|>`).
    pub timestamps: bool,
}

/// What one job came to.
#[derive(Clone, Debug)]
pub struct Recognition {
    /// Empty when nothing trustworthy was recognised.
    pub text: String,
    pub no_speech_prob: f32,
    /// Decodings run (1 when the first was fine).
    pub attempts: u32,
    /// Why each retry happened, in order.
    pub retried_for: Vec<Suspect>,
    /// Set when the text was dropped as implausible after every attempt.
    pub rejected: Option<Suspect>,
}

struct Attempt {
    window: i32,
    /// The cheaper first try: no words from it is not an answer.
    quick: bool,
    beam: bool,
    fallback: bool,
}

/// Recognise `audio` (16 kHz mono). `language` is `None` for automatic detection; `eot` is the
/// model's end-of-text token (ids below it are text).
pub fn recognize(
    state: &mut WhisperState,
    eot: i32,
    audio: &[f32],
    language: Option<&str>,
    final_: bool,
    cfg: &RecognizeConfig,
    abort: Option<&Arc<AtomicBool>>,
) -> Result<Recognition, String> {
    // whisper.cpp ignores inputs shorter than one second: pad with silence.
    let mut padded;
    let mut input = audio;
    let min = SAMPLE_RATE + SAMPLE_RATE / 4;
    if audio.len() < min {
        padded = audio.to_vec();
        padded.resize(min, 0.0);
        input = &padded;
    }
    let audio_s = audio.len() as f64 / SAMPLE_RATE as f64;
    let first = cfg.window.audio_ctx(input.len());
    let mut ladder = vec![];
    if let Some(q) = cfg.quick.as_ref().filter(|_| final_) {
        let quick = q.audio_ctx(input.len());
        if quick < first {
            ladder.push(Attempt {
                window: quick,
                quick: true,
                beam: false,
                fallback: false,
            });
        }
    }
    ladder.push(Attempt {
        window: first,
        quick: false,
        beam: false,
        fallback: false,
    });
    if final_ && cfg.retries {
        if first < FULL_WINDOW {
            ladder.push(Attempt {
                window: FULL_WINDOW,
                quick: false,
                beam: false,
                fallback: false,
            });
        }
        ladder.push(Attempt {
            window: FULL_WINDOW,
            quick: false,
            beam: true,
            fallback: true,
        });
    }
    let cjk = language.is_some_and(|l| matches!(l, "zh" | "ja" | "ko" | "yue"));
    let budget = guard::token_budget(audio_s, cjk);
    let mut out = Recognition {
        text: String::new(),
        no_speech_prob: 0.0,
        attempts: 0,
        retried_for: vec![],
        rejected: None,
    };
    for (i, a) in ladder.iter().enumerate() {
        out.attempts += 1;
        DECODINGS.fetch_add(1, Ordering::Relaxed);
        if i > 0 {
            RETRIES.fetch_add(1, Ordering::Relaxed);
        }
        let tokens = Tokens { eot, budget };
        let (d, no_speech) = decode(state, tokens, input, language, a, cfg, abort)?;
        out.no_speech_prob = no_speech;
        tracing::debug!(
            window = a.window,
            beam = a.beam,
            text = %d.text,
            tokens = d.tokens,
            avg_logprob = d.avg_logprob,
            no_speech,
            "decoded"
        );
        if a.quick && d.text.trim().is_empty() {
            continue;
        }
        match guard::check(&d, audio_s) {
            None => {
                out.text = d.text;
                out.rejected = None;
                return Ok(out);
            }
            Some(s) => {
                out.rejected = Some(s);
                out.retried_for.push(s);
            }
        }
    }
    // The last reason is what made us give up; the retries list keeps all of them.
    out.retried_for.pop();
    REJECTED.fetch_add(1, Ordering::Relaxed);
    Ok(out)
}

/// The model's end-of-text token and how many tokens a decoding may take.
#[derive(Clone, Copy)]
struct Tokens {
    eot: i32,
    budget: usize,
}

fn decode(
    state: &mut WhisperState,
    tokens: Tokens,
    audio: &[f32],
    language: Option<&str>,
    a: &Attempt,
    cfg: &RecognizeConfig,
    abort: Option<&Arc<AtomicBool>>,
) -> Result<(Decoded, f32), String> {
    let Tokens { eot, budget } = tokens;
    let strategy = if a.beam {
        SamplingStrategy::BeamSearch {
            beam_size: 5,
            patience: -1.0,
        }
    } else {
        SamplingStrategy::Greedy { best_of: 1 }
    };
    let mut p = FullParams::new(strategy);
    p.set_n_threads(cfg.threads.max(1) as i32);
    p.set_language(language);
    p.set_detect_language(false);
    p.set_translate(false);
    p.set_no_context(true);
    p.set_no_timestamps(!cfg.timestamps);
    p.set_single_segment(!cfg.timestamps);
    p.set_print_special(false);
    p.set_print_progress(false);
    p.set_print_realtime(false);
    p.set_print_timestamps(false);
    p.set_suppress_blank(true);
    p.set_suppress_nst(true);
    p.set_audio_ctx(a.window);
    if let Some(flag) = abort {
        let flag = flag.clone();
        p.set_abort_callback_safe(move || flag.load(Ordering::Relaxed));
    }
    p.set_max_tokens(budget as i32);
    p.set_temperature(0.0);
    p.set_temperature_inc(if a.fallback { 0.2 } else { 0.0 });
    state.full(p, audio).map_err(|e| e.to_string())?;
    let mut d = Decoded {
        token_budget: budget,
        ..Decoded::default()
    };
    let mut no_speech: f32 = 0.0;
    let mut logprob_sum = 0.0f32;
    for seg in state.as_iter() {
        if let Ok(t) = seg.to_str_lossy() {
            d.text.push(' ');
            d.text.push_str(&t);
        }
        no_speech = no_speech.max(seg.no_speech_probability());
        for i in 0..seg.n_tokens() {
            if let Some(tok) = seg.get_token(i) {
                let td = tok.token_data();
                if td.id < eot {
                    d.tokens += 1;
                    logprob_sum += td.plog;
                }
            }
        }
    }
    if d.tokens > 0 {
        d.avg_logprob = logprob_sum / d.tokens as f32;
    }
    d.text = clean(&d.text);
    if language == Some("zh") {
        // Whisper mixes traditional and simplified characters; `zh` callers read simplified.
        d.text = fast2s::convert(&d.text);
    }
    Ok((d, no_speech))
}

/// Tidy Whisper's output: drop non-speech annotations such as `[BLANK_AUDIO]` or `(music)`
/// and collapse whitespace.
pub fn clean(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut depth = 0i32;
    for c in text.chars() {
        match c {
            '[' | '(' | '*' => {
                if c == '*' {
                    depth = if depth > 0 { 0 } else { 1 };
                } else {
                    depth += 1;
                }
            }
            ']' | ')' => depth = (depth - 1).max(0),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleans_annotations() {
        assert_eq!(clean(" [BLANK_AUDIO] "), "");
        assert_eq!(clean(" Hello (music) there."), "Hello there.");
        assert_eq!(clean("*sigh* okay"), "okay");
    }

    #[test]
    fn trimmed_window_grows_with_audio_and_stops_at_30s() {
        let w = Window::Trimmed {
            margin_ms: 2000,
            min_ms: 4000,
        };
        assert_eq!(w.audio_ctx(16_000), 256); // 4 s minimum -> 200 positions -> 256
        assert!(w.audio_ctx(16_000 * 8) >= 500);
        assert_eq!(w.audio_ctx(16_000 * 40), FULL_WINDOW);
        assert_eq!(Window::Full.audio_ctx(16_000), FULL_WINDOW);
    }
}
