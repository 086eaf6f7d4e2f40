//! Speech evaluation (`make eval-speech`): `switchboard transcribe`'s pipeline (endpointer,
//! guarded recogniser) over every clip of the evaluation set in `eval/speech/`, scored per
//! group: word error rate (character error rate for Chinese), and clips with invented text
//! (loops, duplicated utterances). Plain whisper.cpp's transcripts of the same clips with the
//! same weights (`eval/speech/baseline/*.tsv`, made by tools/whispercpp_baseline.py) are
//! scored the same way alongside.
//!
//! Environment: `SB_EVAL_MODEL` (English model, default models/ggml-tiny.en.bin),
//! `SB_EVAL_ML_MODEL` (multilingual, default models/ggml-base.bin when present; Chinese needs
//! it), `SB_EVAL_WINDOW` (`full` or `trimmed:MARGIN_MS:MIN_MS`), `SB_EVAL_RETRIES` (0 to turn
//! the guards' retries off), `SB_EVAL_FILTER` (only ids or groups containing it),
//! `SB_EVAL_NO_VARIANTS=1` (skip telephone and noisy copies), `SB_EVAL_QUALITY=gold` (only
//! clips whose reference is exactly what was said), `SB_EVAL_THREADS`,
//! `SB_EVAL_OUT` (write hypotheses to this TSV), `SB_EVAL_LOG` (a tracing filter for stderr,
//! e.g. `switchboard=debug`: why utterances were dropped).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;
use switchboard::speech::asr::{load_model, Models};
use switchboard::speech::eval;
use switchboard::speech::recognize::Window;
use switchboard::speech::{offline, wav, SpeechConfig};

#[derive(Default)]
struct Tally {
    clips: usize,
    edits: usize,
    units: usize,
    invented: usize,
}

impl Tally {
    fn add(&mut self, edits: usize, units: usize, invented: bool) {
        self.clips += 1;
        self.edits += edits;
        self.units += units;
        self.invented += invented as usize;
    }
    fn rate(&self) -> f64 {
        100.0 * self.edits as f64 / self.units.max(1) as f64
    }
}

fn parse_window(s: &str) -> Window {
    if s == "full" {
        return Window::Full;
    }
    let parts: Vec<u32> = s
        .trim_start_matches("trimmed")
        .split(':')
        .filter(|p| !p.is_empty())
        .map(|p| p.parse().expect("SB_EVAL_WINDOW: trimmed:MARGIN_MS:MIN_MS"))
        .collect();
    let d = Window::default();
    let Window::Trimmed { margin_ms, min_ms } = d else {
        unreachable!()
    };
    Window::Trimmed {
        margin_ms: *parts.first().unwrap_or(&margin_ms),
        min_ms: *parts.get(1).unwrap_or(&min_ms),
    }
}

fn baselines(dir: &Path) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    let Ok(rd) = std::fs::read_dir(dir.join("baseline")) else {
        return out;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.extension().is_none_or(|x| x != "tsv") {
            continue;
        }
        let name = p.file_stem().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&p).unwrap_or_default();
        let mut m = BTreeMap::new();
        for l in text.lines().filter(|l| !l.starts_with('#')).skip(1) {
            if let Some((id, hyp)) = l.split_once('\t') {
                m.insert(id.to_string(), hyp.to_string());
            }
        }
        out.insert(name, m);
    }
    out
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` passes nothing useful: run only
    // when asked to bench.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    whisper_rs::install_logging_hooks(); // whisper.cpp logs go to tracing, shown only with:
    if let Ok(filter) = std::env::var("SB_EVAL_LOG") {
        // e.g. SB_EVAL_LOG=switchboard=debug: why an utterance was dropped, and the endpointer.
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_writer(std::io::stderr)
            .init();
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("eval/speech");
    let clips = eval::load_manifests(&dir).expect("eval/speech manifests");
    let filter = std::env::var("SB_EVAL_FILTER").unwrap_or_default();
    let no_variants = std::env::var("SB_EVAL_NO_VARIANTS").is_ok_and(|v| v == "1");
    let quality = std::env::var("SB_EVAL_QUALITY").unwrap_or_default();
    let en_model = std::env::var("SB_EVAL_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join("models/ggml-tiny.en.bin"));
    let ml_model = std::env::var("SB_EVAL_ML_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join("models/ggml-base.bin"));
    let mut cfg = SpeechConfig {
        window: std::env::var("SB_EVAL_WINDOW")
            .map(|w| parse_window(&w))
            .unwrap_or_default(),
        retries: std::env::var("SB_EVAL_RETRIES").map_or(true, |v| v != "0"),
        timestamps: std::env::var("SB_EVAL_TIMESTAMPS").is_ok_and(|v| v == "1"),
        pad_ms: std::env::var("SB_EVAL_PAD_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(200),
        ..SpeechConfig::default()
    };
    cfg.model = en_model.clone();
    let threads = std::env::var("SB_EVAL_THREADS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(2);
    let english = load_model(&en_model).expect("English model");
    let en_multilingual = english.is_multilingual();
    let multilingual = if ml_model.exists() {
        Some(Arc::new(load_model(&ml_model).expect("multilingual model")))
    } else {
        None
    };
    let pool = offline::offline_pool(
        Models {
            english: Some(Arc::new(english)),
            multilingual: multilingual.clone(),
        },
        &cfg,
        threads,
    );
    let model_name = en_model.file_stem().unwrap().to_string_lossy().into_owned();
    println!(
        "# speech eval: model {model_name} (multilingual {}), window {:?}, retries {}, {threads} threads",
        en_multilingual,
        cfg.window,
        cfg.retries
    );
    let base = baselines(&dir);
    // "ggml-tiny.en-q8_0" -> "tiny.en": the baselines are named by the weights' family.
    let family = model_name.trim_start_matches("ggml-");
    let family = family.split("-q").next().unwrap_or(family);
    let greedy_base = base.get(&format!("{family}-greedy"));
    let mut ours: BTreeMap<String, Tally> = BTreeMap::new();
    let mut theirs: BTreeMap<(String, String), Tally> = BTreeMap::new();
    // Ours on the clips each baseline has, for a like-for-like comparison.
    let mut paired: BTreeMap<(String, String), Tally> = BTreeMap::new();
    let mut hyps = vec![];
    let (mut audio_s, mut compute_s, mut missing) = (0.0, 0.0, 0);
    for clip in clips
        .iter()
        .filter(|c| filter.is_empty() || c.id.contains(&filter) || c.group.contains(&filter))
        .filter(|c| !(no_variants && c.id.contains('~')))
        .filter(|c| quality.is_empty() || c.quality == quality)
    {
        let path = clip.audio_path(&dir);
        let Ok(audio) = wav::read_16k_mono(&path) else {
            missing += 1;
            continue;
        };
        if clip.lang != "en" && multilingual.is_none() {
            println!("skip {} (needs {})", clip.id, ml_model.display());
            continue;
        }
        let t = Instant::now();
        let utts = match offline::transcribe_on(&pool, &audio, &clip.lang, &cfg) {
            Ok(u) => u,
            Err(e) => {
                println!("{}: error {e}", clip.id);
                continue;
            }
        };
        compute_s += t.elapsed().as_secs_f64();
        audio_s += audio.len() as f64 / 16_000.0;
        let texts: Vec<String> = utts.iter().map(|u| u.text.clone()).collect();
        let hyp = texts.join(" ");
        let (e, n) = eval::score(&clip.reference, &hyp, clip.is_cjk());
        let inv = eval::invented(&texts);
        // Plain whisper.cpp (greedy, same weights) on the same clip, where recorded.
        let greedy = greedy_base
            .and_then(|m| m.get(&clip.id))
            .map(|h| {
                let (te, tn) = eval::score(&clip.reference, h, clip.is_cjk());
                format!("{:>6.1}%", 100.0 * te as f64 / tn.max(1) as f64)
            })
            .unwrap_or_else(|| "     -".into());
        println!(
            "{:<28} {:<14} {:>6.1}% {greedy}  {}{}",
            clip.id,
            clip.group,
            100.0 * e as f64 / n.max(1) as f64,
            hyp,
            inv.as_ref()
                .map(|i| format!("   <-- INVENTED: {i}"))
                .unwrap_or_default()
        );
        let key = if clip.is_cjk() {
            "zh (CER)"
        } else {
            &clip.group
        };
        ours.entry(key.to_string())
            .or_default()
            .add(e, n, inv.is_some());
        if !clip.is_cjk() {
            ours.entry("all English".into())
                .or_default()
                .add(e, n, inv.is_some());
            if clip.group != "audiobook" {
                ours.entry("non-audiobook".into())
                    .or_default()
                    .add(e, n, inv.is_some());
                ours.entry(format!("non-audiobook, {} refs", clip.quality))
                    .or_default()
                    .add(e, n, inv.is_some());
            }
        }
        let ours_e = (e, inv.is_some());
        for (name, m) in &base {
            if let Some(h) = m.get(&clip.id) {
                let (te, tn) = eval::score(&clip.reference, h, clip.is_cjk());
                let tinv = eval::invented(std::slice::from_ref(h)).is_some();
                let mut keys = vec![key.to_string()];
                if !clip.is_cjk() {
                    keys.push("all English".into());
                    if clip.group != "audiobook" {
                        keys.push("non-audiobook".into());
                        keys.push(format!("non-audiobook, {} refs", clip.quality));
                    }
                }
                for k in keys {
                    theirs
                        .entry((name.clone(), k.clone()))
                        .or_default()
                        .add(te, tn, tinv);
                    paired
                        .entry((name.clone(), k))
                        .or_default()
                        .add(ours_e.0, tn, ours_e.1);
                }
            }
        }
        hyps.push((clip.clone(), hyp));
    }
    if missing > 0 {
        println!("# {missing} clips missing audio: run scripts/fetch-eval-speech.sh");
    }
    println!();
    print!("| group | clips | units | switchboard |");
    for name in base.keys() {
        print!(" same clips: ours / whisper.cpp {name} |");
    }
    println!();
    print!("|---|---|---|---|");
    for _ in base.keys() {
        print!("---|");
    }
    println!();
    for (g, t) in &ours {
        print!(
            "| {g} | {} | {} | {:.1}% ({} invented) |",
            t.clips,
            t.units,
            t.rate(),
            t.invented
        );
        for name in base.keys() {
            let k = (name.clone(), g.clone());
            match (paired.get(&k), theirs.get(&k)) {
                (Some(o), Some(b)) => print!(
                    " {:.1}% / {:.1}% ({} clips; {} invented) |",
                    o.rate(),
                    b.rate(),
                    b.clips,
                    b.invented
                ),
                _ => print!(" - |"),
            }
        }
        println!();
    }
    use std::sync::atomic::Ordering::Relaxed;
    use switchboard::speech::recognize::{DECODINGS, REJECTED, RETRIES};
    println!(
        "\n# real-time factor {:.3} ({compute_s:.1} s for {audio_s:.1} s of audio); {} decodings, {} retries, {} finals rejected",
        compute_s / audio_s.max(1e-9),
        DECODINGS.load(Relaxed),
        RETRIES.load(Relaxed),
        REJECTED.load(Relaxed)
    );
    if let Ok(out) = std::env::var("SB_EVAL_OUT") {
        let mut s = format!(
            "# switchboard {model_name} window {:?} retries {}\nid\thypothesis\n",
            cfg.window, cfg.retries
        );
        for (c, h) in hyps {
            s.push_str(&format!("{}\t{}\n", c.id, h));
        }
        std::fs::write(&out, s).expect("SB_EVAL_OUT");
    }
}
