//! `switchboard transcribe FILE.wav`: the live pipeline's endpointer, recogniser and emotion
//! scorer over a recording, one JSON object per utterance.

use super::asr::{AsrOutcome, AsrPool, Job, JobKind, PoolConfig};
use super::emotion::{self, SpeakerBaseline};
use super::endpoint::{EndpointEvent, Endpointer, SAMPLE_RATE};
use super::SpeechConfig;
use serde::Serialize;
use std::path::Path;
use std::time::Instant;

#[derive(Clone, Debug, Serialize)]
pub struct UtteranceOut {
    /// Seconds from the start of the file.
    pub start: f64,
    pub end: f64,
    pub text: String,
    pub emotion: &'static str,
    pub valence: f32,
    pub arousal: f32,
}

/// Transcribe a 16 kHz mono clip. Utterances come back in order.
pub fn transcribe_samples(
    audio: &[f32],
    language: &str,
    cfg: &SpeechConfig,
    models: super::asr::Models,
) -> anyhow::Result<Vec<UtteranceOut>> {
    if !models.supports(language) {
        anyhow::bail!(super::asr::AsrError::NoModelForLanguage(language.into()));
    }
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let pool = offline_pool(models, cfg, threads);
    transcribe_on(&pool, audio, language, cfg)
}

/// A one-worker pool with `threads` for whisper.cpp, as the offline command runs it.
pub fn offline_pool(models: super::asr::Models, cfg: &SpeechConfig, threads: usize) -> AsrPool {
    AsrPool::start(
        models,
        PoolConfig {
            workers: 1,
            threads_per_worker: threads,
            max_finals_per_stream: usize::MAX,
            nice: 0,
            ..cfg.pool()
        },
        None,
    )
}

/// Transcribe a 16 kHz mono clip on an existing pool.
pub fn transcribe_on(
    pool: &AsrPool,
    audio: &[f32],
    language: &str,
    cfg: &SpeechConfig,
) -> anyhow::Result<Vec<UtteranceOut>> {
    if !pool.models().supports(language) {
        anyhow::bail!(super::asr::AsrError::NoModelForLanguage(language.into()));
    }
    let mut ep_cfg = cfg.endpoint();
    ep_cfg.partial_every_ms = 0;
    ep_cfg.pause_ms = 0;
    let mut ep = Endpointer::new(ep_cfg);
    let (tx, rx) = std::sync::mpsc::channel();
    let mut pending = vec![];
    let mut events = vec![];
    for chunk in audio.chunks(SAMPLE_RATE) {
        events.extend(ep.push(chunk));
    }
    events.extend(ep.finish());
    for ev in events {
        if let EndpointEvent::Ended {
            utterance,
            start,
            end,
            audio,
        } = ev
        {
            if super::nonspeech::is_non_speech(&audio) {
                tracing::debug!(start, end, "utterance dropped: tone or hum, not speech");
                continue;
            }
            let tx = tx.clone();
            pending.push((utterance, start, end, audio.clone()));
            pool.submit(Job {
                stream: 1,
                utterance,
                kind: JobKind::Final,
                audio,
                language: language.to_string(),
                turn: false,
                queued_at: Instant::now(),
                reply: Box::new(move |o| {
                    let _ = tx.send((utterance, o));
                }),
            });
        }
    }
    drop(tx);
    let mut results = std::collections::HashMap::new();
    for (u, o) in rx {
        results.insert(u, o);
    }
    let mut baseline = SpeakerBaseline::default();
    let mut out = vec![];
    for (u, start, end, audio) in pending {
        match results.remove(&u) {
            Some(AsrOutcome::Done(r)) => {
                if !keep(&r) {
                    tracing::debug!(
                        start,
                        end,
                        text = %r.text,
                        no_speech = r.no_speech_prob,
                        "utterance dropped: no words, or likely silence"
                    );
                    continue;
                }
                let e = emotion::score(&audio, &r.text, language, &mut baseline);
                out.push(UtteranceOut {
                    start: start as f64 / SAMPLE_RATE as f64,
                    end: end as f64 / SAMPLE_RATE as f64,
                    text: r.text,
                    emotion: e.label.as_str(),
                    valence: round2(e.valence),
                    arousal: round2(e.arousal),
                });
            }
            Some(AsrOutcome::Failed(e)) => anyhow::bail!(e),
            _ => {}
        }
    }
    Ok(out)
}

/// Whether a recognised final is speech worth showing (not silence Whisper made words of).
pub fn keep(r: &super::asr::Recognized) -> bool {
    let t = r.text.trim();
    if t.is_empty() || t.chars().all(|c| !c.is_alphanumeric()) {
        return false;
    }
    !(r.no_speech_prob > 0.8 && t.split_whitespace().count() <= 2)
}

fn round2(x: f32) -> f32 {
    (x * 100.0).round() / 100.0
}

/// The `transcribe` subcommand.
pub fn run(path: &Path, language: Option<&str>, cfg: &SpeechConfig) -> anyhow::Result<()> {
    let language = language.unwrap_or(&cfg.language);
    if !super::valid_language(language) {
        anyhow::bail!(
            "unknown language code {language:?} (use an ISO 639-1 code such as en or zh, or auto)"
        );
    }
    let audio = super::wav::read_16k_mono(path)?;
    let models = if language == "en" {
        cfg.load_models()?
    } else {
        // Other languages need only the multilingual model.
        let p = cfg.multilingual_model.clone().ok_or_else(|| {
            anyhow::anyhow!(
                "language {language:?} needs the multilingual model: pass --multilingual-model models/ggml-base.bin (scripts/fetch-models.sh --base fetches it)"
            )
        })?;
        super::asr::Models {
            english: None,
            multilingual: Some(std::sync::Arc::new(super::asr::load_model(&p)?)),
        }
    };
    let utterances = transcribe_samples(&audio, language, cfg, models)?;
    let stdout = std::io::stdout();
    let mut lock = stdout.lock();
    for u in utterances {
        use std::io::Write;
        serde_json::to_writer(&mut lock, &u)?;
        writeln!(lock)?;
    }
    Ok(())
}
