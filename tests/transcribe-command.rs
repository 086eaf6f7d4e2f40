//! `switchboard transcribe` on real recordings: word error rate against the LibriVox clips of
//! Debian's pocketsphinx-testdata, other WAV layouts (stereo, float, 44.1 kHz), and clear errors
//! for unreadable input.

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const LIBRIVOX: &str = "/usr/share/pocketsphinx/test/data/librivox";

fn transcribe(file: &Path, extra: &[&str]) -> (bool, Vec<Value>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("transcribe")
        .arg(file)
        .arg("--model")
        .arg(model_path())
        .args(extra)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let lines = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect();
    (
        out.status.success(),
        lines,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// (clip, reference) pairs from the `transcription` file.
fn references() -> Vec<(PathBuf, String)> {
    let text = std::fs::read_to_string(format!("{LIBRIVOX}/transcription"))
        .expect("pocketsphinx-testdata must be installed (make test installs it)");
    text.lines()
        .filter_map(|l| {
            let (body, id) = l.rsplit_once('(')?;
            let id = id.trim_end_matches(')').trim();
            let body = body.replace("<s>", "").replace("</s>", "");
            Some((
                PathBuf::from(format!("{LIBRIVOX}/{id}.wav")),
                body.trim().to_string(),
            ))
        })
        .collect()
}

fn text_of(lines: &[Value]) -> String {
    lines
        .iter()
        .map(|l| l["text"].as_str().unwrap())
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn librivox_word_error_rate() {
    let refs = references();
    assert_eq!(refs.len(), 5);
    let (mut edits, mut total) = (0, 0);
    for (wav, reference) in &refs {
        let (ok, lines, err) = transcribe(wav, &[]);
        assert!(ok, "{err}");
        assert!(!lines.is_empty(), "{}: no utterance", wav.display());
        for l in &lines {
            let (s, e) = (l["start"].as_f64().unwrap(), l["end"].as_f64().unwrap());
            assert!(0.0 <= s && s < e, "{l}");
            assert!(
                l["emotion"].is_string() && l["valence"].is_number() && l["arousal"].is_number()
            );
        }
        let hyp = text_of(&lines);
        let r = words(reference);
        let e = word_edits(&r, &words(&hyp));
        eprintln!("{:.2} {hyp}", e as f64 / r.len() as f64);
        edits += e;
        total += r.len();
    }
    let w = edits as f64 / total as f64;
    eprintln!("LibriVox WER {w:.3} ({edits}/{total})");
    // Whisper tiny.en's published WER on LibriSpeech test-clean is 5.7%.
    assert!(w <= 0.10, "WER {w:.3}");
}

#[test]
fn stereo_float_44k_gives_the_same_words() {
    let (wav, reference) = &references()[0];
    let dir = std::env::temp_dir().join(format!("sb-wav-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("stereo-float.wav");
    let st = Command::new("sox")
        .arg(wav)
        .args(["-r", "44100", "-c", "2", "-e", "floating-point", "-b", "32"])
        .arg(&out)
        .status()
        .expect("sox must be installed (make test installs it)");
    assert!(st.success());
    let (ok, lines, err) = transcribe(&out, &["--language", "en"]);
    assert!(ok, "{err}");
    let w = wer(reference, &text_of(&lines));
    assert!(w <= 0.15, "WER {w:.2}: {}", text_of(&lines));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn unreadable_input_gets_a_clear_error() {
    let dir = std::env::temp_dir().join(format!("sb-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let garbage = dir.join("garbage.wav");
    std::fs::write(&garbage, b"this is not audio at all").unwrap();
    let cases = [
        (dir.join("missing.wav"), "cannot read"),
        (garbage.clone(), "cannot read"),
    ];
    for (file, want) in cases {
        let (ok, lines, err) = transcribe(&file, &[]);
        assert!(!ok && lines.is_empty());
        assert!(err.contains(want) && err.contains("error:"), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    // A missing or corrupt model is named as such.
    let (wav, _) = &references()[0];
    let out = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("transcribe")
        .arg(wav)
        .arg("--model")
        .arg(&garbage)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("not a whisper.cpp ggml model"),
        "{err}"
    );
    let (_, _, err) = transcribe(wav, &["--language", "xx-bad"]);
    assert!(err.contains("unknown language"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
