//! `switchboard say`: the bot's voice from the command line, to hear and time it.

use crate::config::VoiceConfig;
use std::path::Path;
use std::time::Instant;
use tts::{Lang, Speaker, Tts};

/// Speaks `text` into a 24 kHz mono WAV file and prints one JSON object: the phrases, the
/// audio length, the time to the first phrase and the total synthesis time.
pub fn run(
    cfg: &VoiceConfig,
    text: &str,
    language: &str,
    voice: Option<&str>,
    speed: Option<f32>,
    out: &Path,
) -> anyhow::Result<()> {
    let lang = match language {
        "en" => Lang::En,
        "zh" => Lang::Zh,
        other => anyhow::bail!("--language {other:?}: use en or zh"),
    };
    let speed = speed.unwrap_or(cfg.speed);
    if !(0.5..=2.0).contains(&speed) {
        anyhow::bail!("--speed must be between 0.5 and 2.0");
    }
    let t_load = Instant::now();
    let engine = tts::Kokoro::load(&cfg.kokoro())?;
    let load_ms = t_load.elapsed().as_millis() as u64;
    let default_voice = match lang {
        Lang::En => &cfg.voice_en,
        Lang::Zh => &cfg.voice_zh,
    };
    let speaker = Speaker {
        voice: voice.unwrap_or(default_voice).to_string(),
        speed,
    };
    if !engine.voices().contains(&speaker.voice) {
        anyhow::bail!(
            "unknown voice {:?}; the model has {}",
            speaker.voice,
            engine.voices().join(", ")
        );
    }
    let phrases = tts::phrases(text);
    if phrases.is_empty() {
        anyhow::bail!("nothing to say");
    }
    let t0 = Instant::now();
    let mut first_ms = None;
    let mut pcm: Vec<i16> = Vec::new();
    for p in &phrases {
        let audio = engine.synthesize(p, lang, &speaker)?;
        first_ms.get_or_insert(t0.elapsed().as_millis() as u64);
        // Each phrase ends with its own pause, as the live voice plays them.
        pcm.extend(audio.to_i16());
    }
    let total_ms = t0.elapsed().as_millis() as u64;
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: tts::kokoro::RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(out, spec)
        .map_err(|e| anyhow::anyhow!("{}: {e}", out.display()))?;
    for s in &pcm {
        w.write_sample(*s)?;
    }
    w.finalize()?;
    let audio_s = pcm.len() as f64 / tts::kokoro::RATE as f64;
    println!(
        "{}",
        serde_json::json!({
            "file": out.display().to_string(),
            "voice": speaker.voice,
            "phrases": phrases,
            "audio_s": (audio_s * 100.0).round() / 100.0,
            "load_ms": load_ms,
            "first_phrase_ms": first_ms,
            "synth_ms": total_ms,
            "real_time_factor": ((total_ms as f64 / 1000.0 / audio_s) * 1000.0).round() / 1000.0,
        })
    );
    Ok(())
}
