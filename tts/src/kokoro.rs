//! Kokoro-82M (v1.0, int8 ONNX) run by ONNX Runtime.
//!
//! The model takes phoneme ids (the vocabulary of the export's `config.json`, with a 0 at
//! each end), a 256-float style vector chosen from the voice file by the number of phonemes
//! (`voices/NAME.bin`: 510 rows of 256 f32) and a speed; it returns 24 kHz audio. Sessions run
//! with one intra-op thread each (under load, more threads per small model made things far
//! slower); `sessions` of them serve that many phrases at once.

use crate::{chinese, english, Audio, Lang, Speaker, Tts, TtsError};
use ort::session::Session;
use ort::value::Tensor;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, OnceLock};

/// Kokoro's output rate.
pub const RATE: u32 = 24_000;
/// Style rows in a voice file: one per phoneme count 0..510.
const STYLE_ROWS: usize = 510;
const STYLE_DIM: usize = 256;
/// Phonemes the model takes in one run (the style table's length, less the two pads).
const MAX_PHONEMES: usize = STYLE_ROWS - 2;

/// Where the model's files are.
#[derive(Clone, Debug)]
pub struct KokoroConfig {
    /// Folder with `kokoro-v1.0.int8.onnx`, `config.json` and `voices/`.
    pub dir: PathBuf,
    /// ONNX Runtime's shared library (`libonnxruntime.so.*`).
    pub runtime: PathBuf,
    /// The `espeak-ng` program, for English phonemes.
    pub espeak: String,
    /// Sessions kept (phrases synthesised at the same time).
    pub sessions: usize,
    /// Threads each session computes with.
    pub threads: usize,
}

pub struct Kokoro {
    pool: Mutex<Vec<Session>>,
    freed: Condvar,
    vocab: HashMap<char, i64>,
    /// The phoneme input's name: `tokens` (kokoro-onnx's export) or `input_ids`.
    ids_input: &'static str,
    voices: HashMap<String, Arc<[f32]>>,
    espeak: String,
}

static RUNTIME: OnceLock<Result<(), String>> = OnceLock::new();

fn load_runtime(lib: &Path) -> Result<(), TtsError> {
    RUNTIME
        .get_or_init(|| {
            if !lib.is_file() {
                return Err(format!("ONNX Runtime library {} is missing", lib.display()));
            }
            ort::init_from(lib)
                .map(|b| {
                    b.with_name("switchboard-tts").commit();
                })
                .map_err(|e| format!("ONNX Runtime {}: {e}", lib.display()))
        })
        .clone()
        .map_err(TtsError::Model)
}

impl Kokoro {
    pub fn load(cfg: &KokoroConfig) -> Result<Self, TtsError> {
        load_runtime(&cfg.runtime)?;
        let model = cfg.dir.join("kokoro-v1.0.int8.onnx");
        let config = cfg.dir.join("config.json");
        let text = std::fs::read_to_string(&config)
            .map_err(|e| TtsError::Model(format!("{}: {e}", config.display())))?;
        let json: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| TtsError::Model(format!("{}: {e}", config.display())))?;
        let mut vocab = HashMap::new();
        for (k, v) in json["vocab"].as_object().into_iter().flatten() {
            let mut chars = k.chars();
            if let (Some(c), None, Some(id)) = (chars.next(), chars.next(), v.as_i64()) {
                vocab.insert(c, id);
            }
        }
        if vocab.len() < 50 {
            return Err(TtsError::Model(format!(
                "{}: no phoneme vocabulary",
                config.display()
            )));
        }
        let mut voices = HashMap::new();
        let vdir = cfg.dir.join("voices");
        let entries = std::fs::read_dir(&vdir)
            .map_err(|e| TtsError::Model(format!("{}: {e}", vdir.display())))?;
        for e in entries.flatten() {
            let p = e.path();
            let (Some(name), Some("bin")) = (
                p.file_stem().and_then(|s| s.to_str()),
                p.extension().and_then(|s| s.to_str()),
            ) else {
                continue;
            };
            let bytes =
                std::fs::read(&p).map_err(|e| TtsError::Model(format!("{}: {e}", p.display())))?;
            if bytes.len() != STYLE_ROWS * STYLE_DIM * 4 {
                return Err(TtsError::Model(format!(
                    "{}: {} bytes, expected {}",
                    p.display(),
                    bytes.len(),
                    STYLE_ROWS * STYLE_DIM * 4
                )));
            }
            let floats: Vec<f32> = bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            voices.insert(name.to_string(), Arc::from(floats));
        }
        if voices.is_empty() {
            return Err(TtsError::Model(format!("no voices in {}", vdir.display())));
        }
        let mut pool = Vec::new();
        for _ in 0..cfg.sessions.max(1) {
            let rt = |e: String| TtsError::Model(format!("ONNX Runtime: {e}"));
            let s = Session::builder()
                .map_err(|e| rt(e.to_string()))?
                .with_intra_threads(cfg.threads.max(1))
                .map_err(|e| rt(e.to_string()))?
                // Threads that spin between runs take the CPU from media and recognition.
                .with_intra_op_spinning(false)
                .map_err(|e| rt(e.to_string()))?
                .with_inter_threads(1)
                .map_err(|e| rt(e.to_string()))?
                .with_optimization_level(ort::session::builder::GraphOptimizationLevel::All)
                .map_err(|e| rt(e.to_string()))?
                .commit_from_file(&model)
                .map_err(|e| TtsError::Model(format!("{}: {e}", model.display())))?;
            pool.push(s);
        }
        let ids_input = if pool[0].inputs().iter().any(|i| i.name() == "input_ids") {
            "input_ids"
        } else {
            "tokens"
        };
        Ok(Self {
            ids_input,
            pool: Mutex::new(pool),
            freed: Condvar::new(),
            vocab,
            voices,
            espeak: cfg.espeak.clone(),
        })
    }

    /// Phonemes for a phrase, in the model's symbols (unknown symbols dropped later).
    pub fn phonemes(&self, text: &str, lang: Lang) -> Result<String, TtsError> {
        match lang {
            Lang::En => english::phonemize(text, &self.espeak),
            Lang::Zh => chinese::phonemize(text, &self.espeak),
        }
    }

    fn ids(&self, phonemes: &str) -> Vec<i64> {
        phonemes
            .chars()
            .filter_map(|c| self.vocab.get(&c).copied())
            .collect()
    }

    fn run(&self, ids: &[i64], style: &[f32], speed: f32) -> Result<Vec<f32>, TtsError> {
        let mut session = {
            let mut pool = self.pool.lock().unwrap_or_else(|p| p.into_inner());
            loop {
                if let Some(s) = pool.pop() {
                    break s;
                }
                pool = self.freed.wait(pool).unwrap_or_else(|p| p.into_inner());
            }
        };
        let result = (|| {
            let mut input = Vec::with_capacity(ids.len() + 2);
            input.push(0);
            input.extend_from_slice(ids);
            input.push(0);
            let n = input.len();
            let tokens = Tensor::from_array(([1usize, n], input))?;
            let style = Tensor::from_array(([1usize, STYLE_DIM], style.to_vec()))?;
            let speed = Tensor::from_array(([1usize], vec![speed]))?;
            let outputs = session.run(ort::inputs![
                self.ids_input => tokens,
                "style" => style,
                "speed" => speed,
            ])?;
            let (_, audio) = outputs[0].try_extract_tensor::<f32>()?;
            Ok::<_, ort::Error>(audio.to_vec())
        })()
        .map_err(|e| TtsError::Synthesis(e.to_string()));
        self.pool
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(session);
        self.freed.notify_one();
        result
    }
}

impl Tts for Kokoro {
    fn synthesize(&self, text: &str, lang: Lang, speaker: &Speaker) -> Result<Audio, TtsError> {
        let voice = self
            .voices
            .get(&speaker.voice)
            .ok_or_else(|| TtsError::UnknownVoice(speaker.voice.clone()))?;
        let phonemes = self.phonemes(text, lang)?;
        let ids = self.ids(&phonemes);
        let mut samples = Vec::new();
        for chunk in ids.chunks(MAX_PHONEMES) {
            let row = chunk.len().min(STYLE_ROWS - 1);
            let style = &voice[row * STYLE_DIM..(row + 1) * STYLE_DIM];
            samples.extend(self.run(chunk, style, speaker.speed.clamp(0.5, 2.0))?);
        }
        let samples = crate::silence::fit(&samples, RATE, crate::silence::pause_after(text));
        Ok(Audio {
            samples,
            rate: RATE,
        })
    }

    fn voices(&self) -> Vec<String> {
        let mut v: Vec<String> = self.voices.keys().cloned().collect();
        v.sort();
        v
    }
}
