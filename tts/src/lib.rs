//! The bot's voice: text to speech on the server, no cloud.
//!
//! [`Tts`] is what the rest of Switchboard sees: a phrase of text in, mono PCM out. The one
//! engine today is [`Kokoro`] (Kokoro-82M, int8 ONNX, run by ONNX Runtime loaded at start from
//! the `onnxruntime` wheel's library), English phonemes from `espeak-ng` run as a program and
//! Chinese phonemes from pinyin. Replies are spoken phrase by phrase ([`phrases`]) so the first
//! audio can leave as soon as the first phrase is synthesised.

mod chinese;
mod english;
pub mod kokoro;
mod phrases;
pub mod silence;

pub use kokoro::{Kokoro, KokoroConfig};
pub use phrases::phrases;

/// Changes whenever the same text, voice and speed would give different audio: phrases kept
/// on disk from another revision are made again. 2: silence around phrases fitted
/// ([`silence`]).
pub const AUDIO_REVISION: u32 = 2;

use std::time::Duration;

/// A language the voice speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Lang {
    En,
    Zh,
}

impl Lang {
    pub fn as_str(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh",
        }
    }
}

/// Errors of the voice.
#[derive(Debug, thiserror::Error)]
pub enum TtsError {
    /// A model file, voice or runtime library is missing or unreadable.
    #[error("tts model: {0}")]
    Model(String),
    /// The voice is not one the model has.
    #[error("unknown voice {0:?}")]
    UnknownVoice(String),
    /// Turning text into phonemes failed (espeak-ng missing or failing).
    #[error("phonemes: {0}")]
    Phonemes(String),
    /// The model refused to run.
    #[error("synthesis: {0}")]
    Synthesis(String),
}

/// Speech for one phrase: mono samples in -1..1 at `rate` Hz.
#[derive(Clone, Debug, Default)]
pub struct Audio {
    pub samples: Vec<f32>,
    pub rate: u32,
}

impl Audio {
    pub fn duration(&self) -> Duration {
        if self.rate == 0 {
            return Duration::ZERO;
        }
        Duration::from_secs_f64(self.samples.len() as f64 / self.rate as f64)
    }

    /// 16-bit PCM, clipped.
    pub fn to_i16(&self) -> Vec<i16> {
        self.samples
            .iter()
            .map(|s| (s.clamp(-1.0, 1.0) * 32767.0).round() as i16)
            .collect()
    }
}

/// How a phrase is to be spoken.
#[derive(Clone, Debug, PartialEq)]
pub struct Speaker {
    /// The model's voice name, e.g. `af_heart` (English) or `zf_xiaoxiao` (Chinese).
    pub voice: String,
    /// 1.0 is the voice's own pace; 0.5..2.0.
    pub speed: f32,
}

/// Text to speech. Implementations are blocking (call them from a blocking thread) and may be
/// shared between calls.
pub trait Tts: Send + Sync {
    /// Speak one phrase (a sentence or a clause; see [`phrases`]). The audio starts just before
    /// the first sound and ends with the pause that follows the phrase
    /// ([`silence::pause_after`]), so phrases played back to back sound like one reply.
    fn synthesize(&self, text: &str, lang: Lang, speaker: &Speaker) -> Result<Audio, TtsError>;
    /// The voices this engine has, by name.
    fn voices(&self) -> Vec<String>;
}
