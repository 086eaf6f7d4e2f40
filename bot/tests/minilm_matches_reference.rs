//! The English second opinion (all-MiniLM-L6-v2 int8 through ONNX Runtime, mean-pooled) gives
//! what the same model gives in Python's onnxruntime with the Hugging Face tokenizer: the
//! first numbers of a vector and the pairwise similarities of four sentences (a question, a
//! paraphrase in other words, an unrelated question, a greeting).

use bot::embed::cosine;
use bot::minilm::{MiniLm, MINILM_DIM};
use bot::Embedder;
use std::path::Path;

#[test]
fn vectors_and_similarities_match_the_reference() {
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models");
    let dir = models.join("minilm");
    let runtime = models.join("onnxruntime/libonnxruntime.so.1.32.0");
    assert!(
        dir.join("model.onnx").exists() && runtime.exists(),
        "models/minilm or models/onnxruntime is missing: run scripts/fetch-models.sh"
    );
    let m = MiniLm::load(&dir, &runtime).expect("model loads");
    let s = [
        "When is my bill due?",
        "what day do i have to pay my invoice",
        "Can I bring my dog to the store?",
        "hello",
    ];
    let v: Vec<Vec<f32>> = s.iter().map(|t| m.embed(t)).collect();
    assert_eq!(v[0].len(), MINILM_DIM);
    let first = [-0.03621f32, 0.0018, 0.04989, -0.00455, 0.01278, -0.01254];
    for (got, want) in v[0].iter().zip(first) {
        assert!((got - want).abs() < 2e-4, "{:?} vs {:?}", &v[0][..6], first);
    }
    let want = [
        [1.0, 0.6671, 0.0563, 0.1034],
        [0.6671, 1.0, 0.1465, 0.0263],
        [0.0563, 0.1465, 1.0, 0.041],
        [0.1034, 0.0263, 0.041, 1.0],
    ];
    for i in 0..4 {
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
