//! `switchboard transcribe` on the whole speech evaluation set (eval/speech: real
//! conversations, short commands, long turns, numbers, telephone-band and noisy copies,
//! Chinese): no clip may come back with a repetition loop or a duplicated utterance, and the
//! word error rate on speech that is not an audiobook must stay within one point of plain
//! whisper.cpp's with the same weights (recorded in eval/speech/baseline/), on the clips whose
//! reference is exactly what was said ("gold"). Clips with "silver" references (written from
//! Whisper's own full-window drafts, so they favour whisper.cpp) are reported, not judged.

mod common;

use common::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use switchboard::speech::eval::{self, Clip};

fn eval_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("eval/speech")
}

fn multilingual_model() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/ggml-base.bin");
    p.exists().then_some(p)
}

fn transcribe(clip: &Clip, file: &Path) -> Vec<String> {
    let ml = (clip.lang != "en").then(multilingual_model).flatten();
    transcribe_texts(file, &clip.lang, ml.as_deref())
}

/// Plain whisper.cpp's hypotheses, by clip id, from `baseline/<name>.tsv`.
fn baseline(name: &str) -> BTreeMap<String, String> {
    let path = eval_dir().join("baseline").join(format!("{name}.tsv"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .skip(1)
        .filter_map(|l| l.split_once('\t'))
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn no_clip_of_the_evaluation_set_gets_invented_text() {
    let clips = eval::load_manifests(&eval_dir()).expect("eval/speech manifests");
    let theirs = baseline("tiny.en-greedy");
    let mut invented = vec![];
    // group -> (our edits, their edits, reference units)
    let mut tally: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
    let mut missing = vec![];
    for clip in &clips {
        let file = clip.audio_path(&eval_dir());
        if !file.exists() {
            missing.push(clip.id.clone());
            continue;
        }
        if clip.lang != "en" && multilingual_model().is_none() {
            eprintln!("skipping {} (no multilingual model)", clip.id);
            continue;
        }
        let utterances = transcribe(clip, &file);
        let hyp = utterances.join(" ");
        if let Some(why) = eval::invented(&utterances) {
            invented.push(format!("{}: {why}", clip.id));
        }
        let (ours, n) = eval::score(&clip.reference, &hyp, clip.is_cjk());
        let base = theirs
            .get(&clip.id)
            .map(|h| eval::score(&clip.reference, h, clip.is_cjk()).0);
        eprintln!(
            "{:<26} {:<14} ours {:>5.1}%  whisper.cpp {:>5}  {hyp}",
            clip.id,
            clip.group,
            100.0 * ours as f64 / n.max(1) as f64,
            base.map_or("-".into(), |b| format!(
                "{:.1}%",
                100.0 * b as f64 / n.max(1) as f64
            )),
        );
        if clip.lang == "en" && clip.group != "audiobook" {
            if let Some(b) = base {
                let judged = format!("non-audiobook, {} refs", clip.quality);
                for g in [clip.group.as_str(), "non-audiobook", judged.as_str()] {
                    let t = tally.entry(g.to_string()).or_default();
                    t.0 += ours;
                    t.1 += b;
                    t.2 += n;
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "clips without audio (run scripts/fetch-eval-speech.sh; make test does): {missing:?}"
    );
    for (g, (ours, theirs, n)) in &tally {
        eprintln!(
            "{g}: ours {:.1}%, whisper.cpp {:.1}% ({n} words)",
            100.0 * *ours as f64 / *n as f64,
            100.0 * *theirs as f64 / *n as f64
        );
    }
    assert!(
        invented.is_empty(),
        "invented text:\n{}",
        invented.join("\n")
    );
    let (ours, theirs, n) = tally["non-audiobook, gold refs"];
    assert!(n > 300, "the evaluation set is too small: {n} words");
    let (ours, theirs) = (
        100.0 * ours as f64 / n as f64,
        100.0 * theirs as f64 / n as f64,
    );
    assert!(
        ours <= theirs + 1.0,
        "non-audiobook WER {ours:.1}% is more than a point worse than plain whisper.cpp's {theirs:.1}%"
    );
}
