//! Emotion evaluation (`make eval-emotion`): every clip of eval/emotion (calm, frustrated and
//! angry speech in English and Chinese, with acoustic variety from synthesis parameters) goes
//! through the recogniser and the emotion scorer as one utterance of a fresh speaker; prints
//! the confusion matrix and per-class precision and recall. `SB_EVAL_TEXT=reference` scores
//! the reference text instead of the recognised one (the scorer alone, without ASR errors).
//!
//! Needs models/ggml-tiny.en.bin and, for Chinese, models/ggml-base.bin.

use std::path::PathBuf;
use std::sync::Arc;
use switchboard::speech::asr::{load_model, Models};
use switchboard::speech::emotion::{self, EmotionLabel, SpeakerBaseline};
use switchboard::speech::{offline, wav, SpeechConfig};

const CLASSES: [&str; 3] = ["calm", "frustrated", "angry"];

fn class_of(l: EmotionLabel) -> usize {
    match l {
        EmotionLabel::Neutral | EmotionLabel::Positive => 0,
        EmotionLabel::Frustrated => 1,
        EmotionLabel::Angry => 2,
    }
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    whisper_rs::install_logging_hooks();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("eval/emotion");
    let manifest = std::fs::read_to_string(dir.join("manifest.tsv")).expect("eval/emotion");
    let use_reference = std::env::var("SB_EVAL_TEXT").is_ok_and(|v| v == "reference");
    let cfg = SpeechConfig::default();
    let ml = root.join("models/ggml-base.bin");
    let pool = offline::offline_pool(
        Models {
            english: Some(Arc::new(
                load_model(&root.join("models/ggml-tiny.en.bin")).expect("tiny.en"),
            )),
            multilingual: ml
                .exists()
                .then(|| Arc::new(load_model(&ml).expect("base"))),
        },
        &cfg,
        2,
    );
    // [language][truth][predicted]
    let mut m = std::collections::BTreeMap::<String, [[usize; 3]; 3]>::new();
    for line in manifest.lines().skip(1) {
        let c: Vec<&str> = line.splitn(4, '\t').collect();
        if c.len() < 4 {
            continue;
        }
        let (id, lang, label, reference) = (c[0], c[1], c[2], c[3]);
        let Some(truth) = CLASSES.iter().position(|x| *x == label) else {
            continue;
        };
        let path = root
            .join("eval/speech/cache")
            .join(format!("emotion-{id}.wav"));
        let audio = match wav::read_16k_mono(&path) {
            Ok(a) => a,
            Err(_) => {
                println!(
                    "{id}: missing {} (scripts/fetch-eval-speech.sh)",
                    path.display()
                );
                continue;
            }
        };
        if lang != "en" && !pool.models().supports(lang) {
            println!("skip {id}: no model for {lang}");
            continue;
        }
        let text = if use_reference {
            reference.to_string()
        } else {
            offline::transcribe_on(&pool, &audio, lang, &cfg)
                .map(|u| {
                    u.iter()
                        .map(|x| x.text.clone())
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_default()
        };
        let e = emotion::score(&audio, &text, lang, &mut SpeakerBaseline::default());
        let p = class_of(e.label);
        println!(
            "{id:<22} {label:<10} -> {:<10} v {:+.2} a {:.2} (text {:+.2}, {:.1} dB, {:.0} Hz, var {:.1} st, {:.1} syl/s)  {text}",
            e.label.as_str(),
            e.valence,
            e.arousal,
            e.text_valence,
            e.acoustics.level_db,
            e.acoustics.pitch_hz,
            e.acoustics.pitch_var_st,
            e.acoustics.rate_sps,
        );
        for key in [lang.to_string(), "all".to_string()] {
            m.entry(key).or_insert([[0; 3]; 3])[truth][p] += 1;
        }
    }
    for (lang, cm) in &m {
        println!("\n## {lang}: rows = truth, columns = predicted\n");
        println!("| truth \\ predicted | calm | frustrated | angry | recall |");
        println!("|---|---|---|---|---|");
        for (t, row) in cm.iter().enumerate() {
            let n: usize = row.iter().sum();
            println!(
                "| {} | {} | {} | {} | {:.0}% |",
                CLASSES[t],
                row[0],
                row[1],
                row[2],
                100.0 * row[t] as f64 / n.max(1) as f64
            );
        }
        print!("| precision |");
        for (p, diag) in cm.iter().enumerate().map(|(i, row)| (i, row[i])) {
            let col: usize = cm.iter().map(|row| row[p]).sum();
            print!(" {:.0}% |", 100.0 * diag as f64 / col.max(1) as f64);
        }
        let correct: usize = (0..3).map(|i| cm[i][i]).sum();
        let total: usize = cm.iter().flatten().sum();
        println!(
            " accuracy {:.0}% |",
            100.0 * correct as f64 / total.max(1) as f64
        );
    }
}
