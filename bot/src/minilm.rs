//! all-MiniLM-L6-v2 (int8 ONNX, via ONNX Runtime): a second, English-only opinion on what a
//! question means, beside the multilingual Universal Sentence Encoder ([`crate::embed`]).
//! Mean of the last hidden states over the question's tokens, L2-normalised (as the
//! sentence-transformers model defines it); 384 numbers.

use crate::embed::{EmbedError, Embedder};
use ort::session::Session;
use ort::value::Tensor;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

pub const MINILM_DIM: usize = 384;
/// Longer questions are cut (the model was trained on up to 256 word pieces).
const MAX_TOKENS: usize = 256;

static RUNTIME: OnceLock<Result<(), String>> = OnceLock::new();

fn load_runtime(lib: &Path) -> Result<(), EmbedError> {
    RUNTIME
        .get_or_init(|| {
            if !lib.is_file() {
                return Err("the ONNX Runtime library is missing".into());
            }
            // The first caller's library counts; a second `init_from` is a no-op.
            ort::init_from(lib)
                .map(|b| {
                    b.with_name("switchboard").commit();
                })
                .map_err(|e| e.to_string())
        })
        .clone()
        .map_err(|reason| EmbedError::Load {
            path: lib.display().to_string(),
            reason,
        })
}

pub struct MiniLm {
    /// One session: a question takes a few milliseconds, and each session costs ~160 MB.
    session: Mutex<Session>,
    tokenizer: tokenizers::Tokenizer,
}

impl MiniLm {
    /// `dir` holds model.onnx and tokenizer.json; `runtime` is libonnxruntime.so.
    pub fn load(dir: &Path, runtime: &Path) -> Result<Self, EmbedError> {
        load_runtime(runtime)?;
        let model: PathBuf = dir.join("model.onnx");
        let tok = dir.join("tokenizer.json");
        let load_err = |path: &Path, reason: String| EmbedError::Load {
            path: path.display().to_string(),
            reason,
        };
        let mut tokenizer =
            tokenizers::Tokenizer::from_file(&tok).map_err(|e| load_err(&tok, e.to_string()))?;
        // One question at a time: no padding; long ones cut.
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(tokenizers::TruncationParams {
                max_length: MAX_TOKENS,
                ..Default::default()
            }))
            .map_err(|e| load_err(&tok, e.to_string()))?;
        let e = |e: String| load_err(&model, e);
        let s = Session::builder()
            .map_err(|x| e(x.to_string()))?
            .with_intra_threads(1)
            .map_err(|x| e(x.to_string()))?
            .with_inter_threads(1)
            .map_err(|x| e(x.to_string()))?
            // Threads that spin between runs take the CPU from media and recognition.
            .with_intra_op_spinning(false)
            .map_err(|x| e(x.to_string()))?
            // Small questions: no arena or memory plan kept between runs.
            .with_memory_pattern(false)
            .map_err(|x| e(x.to_string()))?
            .with_execution_providers([ort::ep::CPU::default().with_arena_allocator(false).build()])
            .map_err(|x| e(x.to_string()))?
            .commit_from_file(&model)
            .map_err(|x| e(x.to_string()))?;
        Ok(Self {
            session: Mutex::new(s),
            tokenizer,
        })
    }

    fn try_embed(&self, text: &str) -> Result<Vec<f32>, String> {
        let enc = self
            .tokenizer
            .encode(text, true)
            .map_err(|e| e.to_string())?;
        let ids: Vec<i64> = enc.get_ids().iter().map(|&x| x as i64).collect();
        let mask: Vec<i64> = enc.get_attention_mask().iter().map(|&x| x as i64).collect();
        let n = ids.len();
        if n == 0 {
            return Ok(vec![0.0; MINILM_DIM]);
        }
        let mut session = self.session.lock().unwrap_or_else(|p| p.into_inner());
        let result = (|| {
            let outputs = session.run(ort::inputs![
                "input_ids" => Tensor::from_array(([1usize, n], ids))?,
                "attention_mask" => Tensor::from_array(([1usize, n], mask.clone()))?,
                "token_type_ids" => Tensor::from_array(([1usize, n], vec![0i64; n]))?,
            ])?;
            let (_, hidden) = outputs[0].try_extract_tensor::<f32>()?;
            Ok::<_, ort::Error>(hidden.to_vec())
        })()
        .map_err(|e| e.to_string());
        drop(session);
        let hidden = result?;
        if hidden.len() != n * MINILM_DIM {
            return Err(format!("unexpected output of {} numbers", hidden.len()));
        }
        let mut v = vec![0.0f32; MINILM_DIM];
        for (t, m) in mask.iter().enumerate() {
            if *m == 0 {
                continue;
            }
            for (d, x) in v.iter_mut().enumerate() {
                *x += hidden[t * MINILM_DIM + d];
            }
        }
        // The mean's direction is the sum's.
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm > 0.0 {
            v.iter_mut().for_each(|x| *x /= norm);
        }
        Ok(v)
    }
}

impl Embedder for MiniLm {
    /// A zero vector (no opinion) when the model fails: the first opinion still stands.
    fn embed(&self, text: &str) -> Vec<f32> {
        self.try_embed(text)
            .unwrap_or_else(|_| vec![0.0; MINILM_DIM])
    }
}
