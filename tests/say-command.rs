//! `switchboard say` speaks with the bot's voice: English (order numbers read character by
//! character, amounts of money) and Chinese, each understood by real Whisper; the first word
//! comes at once and phrases follow each other like speech; a voice the model does not have
//! is a clear error.

mod common;
use common::*;
use std::path::PathBuf;
use std::process::Command;

fn say(text: &str, language: &str, extra: &[&str]) -> (std::process::Output, PathBuf) {
    let out = std::env::temp_dir().join(format!(
        "sb-say-{language}-{}-{}.wav",
        std::process::id(),
        text.len()
    ));
    let o = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["say", "--language", language, "--out"])
        .arg(&out)
        .args(extra)
        .arg(text)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    (o, out)
}

#[test]
fn english_is_spoken_so_whisper_understands_it() {
    let text = "Thanks for waiting. Your order NW123456 shipped yesterday, and the refund of $4.50 is on its way.";
    let (o, wav) = say(text, "en", &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let report: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&o.stdout).trim()).unwrap();
    println!("{report}");
    assert!(report["audio_s"].as_f64().unwrap() > 3.0);
    assert!(report["phrases"].as_array().unwrap().len() >= 2);
    let heard = transcribe_texts(&wav, "en", None).join(" ");
    println!("heard {heard:?}");
    // Whisper writes what it hears either way: "NW123456" and "$4.50", or spelt out.
    let spelt = "thanks for waiting your order n w 1 2 3 4 5 6 shipped yesterday and the refund of 4 dollars 50 cents is on its way";
    let w = wer(text, &heard).min(wer(spelt, &heard.replace(['-', ','], " ")));
    println!("WER {w:.2}");
    assert!(w <= 0.35, "WER {w:.2}");
    let _ = std::fs::remove_file(&wav);
}

#[test]
fn chinese_is_spoken_so_whisper_understands_it() {
    let base = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/ggml-base.bin");
    assert!(
        base.exists(),
        "models/ggml-base.bin: run scripts/fetch-models.sh --base"
    );
    let text = "您好，欢迎致电客服中心。请问有什么可以帮您？";
    let (o, wav) = say(text, "zh", &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let heard = transcribe_texts(&wav, "zh", Some(&base)).join("");
    let reference: Vec<char> = text.chars().filter(|c| c.is_alphanumeric()).collect();
    let hyp: Vec<char> = heard.chars().filter(|c| c.is_alphanumeric()).collect();
    let r: Vec<String> = reference.iter().map(|c| c.to_string()).collect();
    let h: Vec<String> = hyp.iter().map(|c| c.to_string()).collect();
    let cer = word_edits(&r, &h) as f64 / r.len() as f64;
    println!("heard {heard:?} CER {cer:.2}");
    assert!(cer <= 0.35, "CER {cer:.2}");
    let _ = std::fs::remove_file(&wav);
}

/// Lead before the first sound, tail after the last, longest silence in between (ms).
fn silences(wav: &std::path::Path) -> (u64, u64, u64) {
    let (rate, pcm) = parse_wav_i16(&std::fs::read(wav).unwrap());
    let ms = |n: usize| n as u64 * 1000 / rate as u64;
    let loud = |s: &i16| s.unsigned_abs() > 300;
    let first = pcm.iter().position(loud).expect("no sound");
    let last = pcm.iter().rposition(loud).unwrap();
    let mut gap = 0;
    let mut run = 0;
    for s in &pcm[first..=last] {
        run = if loud(s) { 0 } else { run + 1 };
        gap = gap.max(run);
    }
    (ms(first), ms(pcm.len() - 1 - last), ms(gap))
}

#[test]
fn the_first_word_comes_at_once_and_phrases_follow_like_speech() {
    // Kokoro gives every phrase ~0.3 s of silence before it and ~0.5 s after: an answer
    // would start late and its phrases would be almost a second apart.
    let (o, wav) = say("Sure.", "en", &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (lead, tail, _) = silences(&wav);
    println!("one phrase: lead {lead} ms, tail {tail} ms");
    assert!(lead <= 60, "{lead} ms of silence before the first word");
    assert!((250..=450).contains(&tail), "{tail} ms after a sentence");
    let _ = std::fs::remove_file(&wav);

    let text = "Our opening hours are nine to five. On Saturdays we open at ten.";
    let (o, wav) = say(text, "en", &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let report: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&o.stdout).trim()).unwrap();
    assert!(report["phrases"].as_array().unwrap().len() >= 2, "{report}");
    let (lead, _, gap) = silences(&wav);
    println!("two phrases: lead {lead} ms, longest pause {gap} ms");
    assert!(lead <= 60, "{lead} ms of silence before the first word");
    assert!(gap <= 600, "{gap} ms between two sentences");
    let heard = transcribe_texts(&wav, "en", None).join(" ");
    let w = wer(
        text,
        &heard
            .replace("10", "ten")
            .replace("9", "nine")
            .replace("5", "five"),
    );
    println!("heard {heard:?} WER {w:.2}");
    assert!(w <= 0.25, "WER {w:.2}: {heard:?}");
    let _ = std::fs::remove_file(&wav);
}

#[test]
fn an_unknown_voice_is_a_clear_error() {
    let (o, wav) = say("hello", "en", &["--voice", "xx_nobody"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("unknown voice") && err.contains("af_heart"),
        "{err}"
    );
    assert!(!wav.exists());
}
