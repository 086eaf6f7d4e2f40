//! The English second opinion (all-mpnet-base-v2, the graph tools/mpnet_to_onnx.py writes, run
//! by ONNX Runtime and mean-pooled) gives what the original model gives in PyTorch with
//! Hugging Face transformers 5.25 (`AutoModel`, mean of `last_hidden_state`, normalised): the
//! first numbers of a vector and the pairwise similarities of four sentences (a question, a
//! paraphrase in other words, an unrelated question, a greeting).
//!
//! The shipped graph stores 8-bit weights and quantises activations per token, so it is close
//! to the float model rather than equal: numbers within 0.01 (a number of a unit vector of 768
//! is about 0.036 on average) and similarities within 0.03. The float graph (`--float`) meets
//! 2e-4 and 2e-3. What the matcher relies on is checked as well: the paraphrase is much closer
//! than anything unrelated.

use bot::embed::cosine;
use bot::transformer::TransformerEncoder;
use bot::Embedder;
use std::path::Path;

#[test]
fn vectors_and_similarities_match_the_reference() {
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models");
    let dir = models.join("mpnet");
    let runtime = models.join("onnxruntime/libonnxruntime.so.1.32.0");
    assert!(
        dir.join("model.onnx").exists() && runtime.exists(),
        "models/mpnet or models/onnxruntime is missing: run scripts/fetch-models.sh"
    );
    let m = TransformerEncoder::load(&dir, &runtime).expect("model loads");
    let s = [
        "When is my bill due?",
        "what day do i have to pay my invoice",
        "Can I bring my dog to the store?",
        "hello",
    ];
    let v: Vec<Vec<f32>> = s.iter().map(|t| m.embed(t)).collect();
    assert_eq!(v[0].len(), 768);
    let first = [0.00241f32, 0.03621, -0.00245, -0.03206, 0.00255, 0.01771];
    for (got, want) in v[0].iter().zip(first) {
        assert!((got - want).abs() < 0.01, "{:?} vs {:?}", &v[0][..6], first);
    }
    let want = [
        [1.0, 0.561, 0.0791, 0.1408],
        [0.561, 1.0, 0.0955, 0.0571],
        [0.0791, 0.0955, 1.0, 0.0404],
        [0.1408, 0.0571, 0.0404, 1.0],
    ];
    for i in 0..4 {
        for j in 0..4 {
            let c = cosine(&v[i], &v[j]);
            assert!(
                (c - want[i][j]).abs() < 0.03,
                "{i},{j}: {c} vs {}",
                want[i][j]
            );
        }
    }
    let paraphrase = cosine(&v[0], &v[1]);
    for (i, j) in [(0, 2), (0, 3), (1, 2), (1, 3), (2, 3)] {
        assert!(
            paraphrase > cosine(&v[i], &v[j]) + 0.3,
            "the paraphrase ({paraphrase}) is not clearly closer than {i},{j}"
        );
    }
}
