//! The live speech pipeline: what is said on every call, and how.
//!
//! Flow per speaker (customer and agent separately): the media tap decodes Opus to 16 kHz
//! ([`media::decode_tap`]) → [`endpoint::Endpointer`] finds utterances → the shared
//! [`asr::AsrPool`] transcribes partials and finals → [`emotion::score`] labels each final →
//! [`live`] hands events to the server (protocol, storage, alerts). The offline command
//! ([`offline`]) runs the same endpointer, pool and scorer over a WAV file.
//!
//! Glossary: a *stream* is one speaker's audio in one call; an *utterance* is a stretch of
//! speech between pauses; a *partial* is a hypothesis for an utterance still in progress, a
//! *final* the text of a finished one.

pub mod asr;
pub mod emotion;
pub mod endpoint;
pub mod eval;
pub mod guard;
pub mod live;
pub mod nonspeech;
pub mod offline;
pub mod recognize;
pub mod wav;

use prometheus::{Histogram, HistogramOpts, IntCounterVec, IntGauge, Opts, Registry};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct SpeechConfig {
    /// Transcribe live calls. When on, the English model must load or the server won't start.
    pub enabled: bool,
    /// English-only Whisper model (ggml), used for `en`.
    pub model: PathBuf,
    /// Multilingual Whisper model (ggml), used for other languages. Optional.
    pub multilingual_model: Option<PathBuf>,
    /// Language of calls unless the customer's `start_call` says otherwise (`en`, `zh`, ...).
    pub language: String,
    /// ASR worker threads shared by all calls.
    pub workers: usize,
    /// Threads each worker gives whisper.cpp.
    pub threads_per_worker: usize,
    /// Nice value of ASR workers: recognition yields the CPU to forwarding.
    pub worker_nice: i32,
    /// Decoded 20 ms frames a stream may hold before the oldest are dropped.
    pub frame_queue: usize,
    pub vad_threshold: f32,
    pub min_speech_ms: u32,
    pub min_silence_ms: u32,
    pub max_utterance_ms: u32,
    /// Audio kept before the first and after the last voiced frame of an utterance.
    pub pad_ms: u32,
    pub partial_every_ms: u32,
    /// In calls the bot answers: after this much silence the caller's utterance is recognised
    /// early, so that its final is ready when the utterance ends at that pause (0: off). The
    /// early final saw only this much trailing silence where it is less than `pad_ms`.
    pub early_final_ms: u32,
    /// In calls the bot answers: when the early final's words are a whole turn (a finished
    /// sentence, not "my order number is", not a number still being read out), the
    /// caller's utterance ends once the pause has lasted this long instead of
    /// `min_silence_ms` (0: always `min_silence_ms`).
    pub turn_end_ms: u32,
    /// The first, cheaper attempt at those early finals: the encoder window (`full`, or
    /// `trimmed` with a margin and a minimum) and the threads it runs on. An attempt with
    /// no words or a suspect one goes on with `window`. Off: `turn_window = "full"` is
    /// never cheaper, so it is skipped.
    pub turn_window: recognize::Window,
    pub turn_threads: usize,
    /// Threads of such an early final when it is the only recognition running and nothing
    /// waits (one caller asking the bot on a quiet server); otherwise `turn_threads`.
    pub turn_threads_idle: usize,
    /// Finals per stream that may wait for a worker; more drop the oldest (counted).
    pub max_queued_finals: usize,
    /// Alert supervisors when the customer has been negative this many utterances in a row.
    pub alert_after: u32,
    /// Encoder window of the first decoding attempt (`full`, or `trimmed` with a margin).
    pub window: recognize::Window,
    /// Retry implausible finals (loops, duplicates, too many words) with safer settings.
    pub retries: bool,
    /// Let Whisper decode timestamp tokens (its usual mode) instead of `<|notimestamps|>`.
    pub timestamps: bool,
    /// After a call ends, how long its last finals may still take (ms); what is still queued
    /// then is dropped, so ended calls never hold the recognisers.
    pub end_grace_ms: u64,
}

impl Default for SpeechConfig {
    fn default() -> Self {
        let ep = endpoint::EndpointConfig::default();
        Self {
            enabled: true,
            model: PathBuf::from("models/ggml-tiny.en.bin"),
            multilingual_model: None,
            language: "en".into(),
            workers: 2,
            threads_per_worker: 1,
            worker_nice: 10,
            frame_queue: 250,
            vad_threshold: ep.threshold,
            min_speech_ms: ep.min_speech_ms,
            min_silence_ms: ep.min_silence_ms,
            max_utterance_ms: ep.max_utterance_ms,
            pad_ms: ep.pad_ms,
            partial_every_ms: ep.partial_every_ms,
            early_final_ms: 120,
            turn_end_ms: 250,
            // Below 6 s, tiny.en ended some 2-3 s questions at once with no words
            // (benches/turn_asr.rs).
            turn_window: recognize::Window::Trimmed {
                margin_ms: 2000,
                min_ms: 6000,
            },
            turn_threads: 1,
            turn_threads_idle: 2,
            max_queued_finals: 4,
            alert_after: 3,
            window: recognize::Window::default(),
            retries: true,
            timestamps: false,
            end_grace_ms: 1000,
        }
    }
}

impl SpeechConfig {
    pub fn endpoint(&self) -> endpoint::EndpointConfig {
        endpoint::EndpointConfig {
            threshold: self.vad_threshold,
            min_speech_ms: self.min_speech_ms,
            min_silence_ms: self.min_silence_ms,
            max_utterance_ms: self.max_utterance_ms,
            pad_ms: self.pad_ms,
            partial_every_ms: self.partial_every_ms,
            pause_ms: self.early_final_ms,
        }
    }

    pub fn pool(&self) -> asr::PoolConfig {
        asr::PoolConfig {
            workers: self.workers,
            threads_per_worker: self.threads_per_worker,
            max_finals_per_stream: self.max_queued_finals,
            partial_ttl: std::time::Duration::from_millis(1500),
            nice: self.worker_nice,
            window: self.window.clone(),
            turn_window: Some(self.turn_window.clone()),
            turn_threads: self.turn_threads,
            turn_threads_idle: self.turn_threads_idle,
            retries: self.retries,
            timestamps: self.timestamps,
        }
    }

    /// Load the configured models (the English one is required).
    pub fn load_models(&self) -> Result<asr::Models, asr::AsrError> {
        let english = Some(std::sync::Arc::new(asr::load_model(&self.model)?));
        let multilingual = match &self.multilingual_model {
            Some(p) => Some(std::sync::Arc::new(asr::load_model(p)?)),
            None => None,
        };
        Ok(asr::Models {
            english,
            multilingual,
        })
    }
}

/// Languages a call may ask for: ISO 639-1 codes Whisper knows, or `auto`.
pub fn valid_language(code: &str) -> bool {
    code == "auto"
        || (code.len() == 2 && code.chars().all(|c| c.is_ascii_lowercase()))
        || code == "yue"
        || code == "haw"
}

#[derive(Clone)]
pub struct SpeechMetrics {
    pub asr_queue_depth: IntGauge,
    pub final_latency: Histogram,
    pub asr_rtf: Histogram,
    pub asr_dropped: IntCounterVec,
    pub asr_retries: IntCounterVec,
    pub asr_rejected: IntCounterVec,
    pub utterances: IntCounterVec,
    pub live_streams: IntGauge,
    pub non_speech: prometheus::IntCounter,
}

impl SpeechMetrics {
    pub fn new(registry: &Registry) -> prometheus::Result<Self> {
        let m = Self {
            asr_queue_depth: IntGauge::new(
                "switchboard_asr_queue_depth",
                "Recognition jobs waiting for a worker",
            )?,
            final_latency: Histogram::with_opts(
                HistogramOpts::new(
                    "switchboard_asr_final_latency_seconds",
                    "End-of-utterance decision to final transcript",
                )
                .buckets(vec![
                    0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0,
                ]),
            )?,
            asr_rtf: Histogram::with_opts(
                HistogramOpts::new(
                    "switchboard_asr_real_time_factor",
                    "Recognition wall time divided by audio duration, per job",
                )
                .buckets(vec![0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 2.0, 5.0]),
            )?,
            asr_dropped: IntCounterVec::new(
                Opts::new(
                    "switchboard_asr_dropped_jobs_total",
                    "Recognition jobs dropped: superseded or stale partials, finals over the per-stream bound",
                ),
                &["kind"],
            )?,
            asr_retries: IntCounterVec::new(
                Opts::new(
                    "switchboard_asr_retries_total",
                    "Final decodings retried with safer settings, by what the guard found",
                ),
                &["reason"],
            )?,
            asr_rejected: IntCounterVec::new(
                Opts::new(
                    "switchboard_asr_rejected_total",
                    "Finals dropped because every attempt gave an implausible text, by reason",
                ),
                &["reason"],
            )?,
            utterances: IntCounterVec::new(
                Opts::new(
                    "switchboard_utterances_total",
                    "Final utterances by emotion label",
                ),
                &["emotion"],
            )?,
            live_streams: IntGauge::new(
                "switchboard_speech_streams",
                "Speaker streams being transcribed",
            )?,
            non_speech: prometheus::IntCounter::new(
                "switchboard_speech_non_speech_total",
                "Utterances the voice detector found that were tones or hum, never recognised",
            )?,
        };
        registry.register(Box::new(m.asr_queue_depth.clone()))?;
        registry.register(Box::new(m.final_latency.clone()))?;
        registry.register(Box::new(m.asr_rtf.clone()))?;
        registry.register(Box::new(m.asr_dropped.clone()))?;
        registry.register(Box::new(m.asr_retries.clone()))?;
        registry.register(Box::new(m.asr_rejected.clone()))?;
        registry.register(Box::new(m.utterances.clone()))?;
        registry.register(Box::new(m.live_streams.clone()))?;
        registry.register(Box::new(m.non_speech.clone()))?;
        for l in emotion::EmotionLabel::ALL {
            m.utterances.with_label_values(&[l.as_str()]);
        }
        for k in ["partial", "final"] {
            m.asr_dropped.with_label_values(&[k]);
        }
        for s in guard::Suspect::ALL {
            m.asr_retries.with_label_values(&[s.as_str()]);
            m.asr_rejected.with_label_values(&[s.as_str()]);
        }
        Ok(m)
    }
}
