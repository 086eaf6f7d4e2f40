//! A sentence-transformers encoder as ONNX, run by ONNX Runtime: the English second opinion on
//! what a question means, beside the multilingual Universal Sentence Encoder ([`crate::embed`]).
//! The shipped one is all-mpnet-base-v2 (`tools/mpnet_to_onnx.py` writes its graph; 768
//! numbers); all-MiniLM-L6-v2 as ONNX (384) loads the same way. The sentence vector is the
//! mean of the last hidden states over the question's tokens, L2-normalised, as those models
//! define it. The graph's inputs are looked up by name (`token_type_ids` only if it has one),
//! and the width is read from its output.

use crate::embed::{EmbedError, Embedder};
use ort::session::Session;
use ort::value::Tensor;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

/// Longer questions are cut (all-mpnet-base-v2 was trained on up to 384 word pieces).
const MAX_TOKENS: usize = 384;

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

pub struct TransformerEncoder {
    /// One session: a question takes tens of milliseconds, and a session holds the weights.
    session: Mutex<Session>,
    tokenizer: tokenizers::Tokenizer,
    /// Whether the graph takes `token_type_ids` (BERT exports do; the MPNet graph does not).
    token_types: bool,
    dim: usize,
}

impl TransformerEncoder {
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
        let token_types = s.inputs().iter().any(|i| i.name() == "token_type_ids");
        let mut me = Self {
            session: Mutex::new(s),
            tokenizer,
            token_types,
            dim: 0,
        };
        // The width is the output's last dimension: one short run tells it.
        let probe = me.hidden("hello").map_err(e)?;
        me.dim = probe.1;
        if me.dim == 0 {
            return Err(e("the model gives no output".into()));
        }
        Ok(me)
    }

    /// Numbers in a sentence vector.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The last hidden states of `text`'s tokens (row-major) and the width of one.
    fn hidden(&self, text: &str) -> Result<(Vec<f32>, usize, usize), String> {
        let enc = self
            .tokenizer
            .encode(text, true)
            .map_err(|e| e.to_string())?;
        let ids: Vec<i64> = enc.get_ids().iter().map(|&x| x as i64).collect();
        let n = ids.len();
        if n == 0 {
            return Ok((vec![], self.dim, 0));
        }
        let mask = vec![1i64; n];
        let mut session = self.session.lock().unwrap_or_else(|p| p.into_inner());
        let result = (|| {
            let mut inputs = ort::inputs![
                "input_ids" => Tensor::from_array(([1usize, n], ids))?,
                "attention_mask" => Tensor::from_array(([1usize, n], mask))?,
            ];
            if self.token_types {
                inputs.push((
                    "token_type_ids".into(),
                    Tensor::from_array(([1usize, n], vec![0i64; n]))?.into(),
                ));
            }
            let outputs = session.run(inputs)?;
            let (shape, hidden) = outputs[0].try_extract_tensor::<f32>()?;
            let width = shape.last().copied().unwrap_or(0).max(0) as usize;
            Ok::<_, ort::Error>((hidden.to_vec(), width))
        })()
        .map_err(|e| e.to_string());
        drop(session);
        let (hidden, width) = result?;
        if width == 0 || hidden.len() != n * width {
            return Err(format!("unexpected output of {} numbers", hidden.len()));
        }
        Ok((hidden, width, n))
    }

    fn try_embed(&self, text: &str) -> Result<Vec<f32>, String> {
        let (hidden, width, n) = self.hidden(text)?;
        if width != self.dim {
            return Err(format!("output of width {width}, not {}", self.dim));
        }
        let mut v = vec![0.0f32; width];
        for t in 0..n {
            for (d, x) in v.iter_mut().enumerate() {
                *x += hidden[t * width + d];
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

impl Embedder for TransformerEncoder {
    /// A zero vector (no opinion) when the model fails: the first opinion still stands.
    fn embed(&self, text: &str) -> Vec<f32> {
        self.try_embed(text).unwrap_or_else(|_| vec![0.0; self.dim])
    }
}
