//! `switchboard kb ...`: the knowledge base from the command line: import and export files,
//! ask a question, score the bot on labelled data.

use crate::config::Config;
use crate::store::Store;
use anyhow::Context;
use bot::eval::{Query, Script};
use bot::kb::{self, Format, Language};
use std::io::{BufRead, Write};
use std::path::Path;

/// The language of a file's rows when they do not say: `kb.zh.json` and `faq_zh.csv` are
/// Chinese; otherwise `fallback`.
pub fn language_of_file(path: &Path, fallback: Language) -> Language {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if name.contains(".zh.") || name.contains("_zh.") || name.contains("-zh.") {
        Language::Zh
    } else if name.contains(".en.") || name.contains("_en.") || name.contains("-en.") {
        Language::En
    } else {
        fallback
    }
}

/// Reads and checks a knowledge-base file.
pub fn read_file(path: &Path, fallback: Language) -> anyhow::Result<kb::Parsed> {
    let format = Format::of_path(&path.to_string_lossy())
        .with_context(|| format!("{}: the file must end in .json or .csv", path.display()))?;
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    kb::parse(&text, format, language_of_file(path, fallback))
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// Imports a file: every row is checked first, and a file with any bad row changes nothing.
/// Returns how many entries were stored.
pub fn import_file(
    store: &Store,
    path: &Path,
    replace: bool,
    fallback: Language,
) -> anyhow::Result<usize> {
    let parsed = read_file(path, fallback)?;
    if !parsed.rejected.is_empty() {
        for r in &parsed.rejected {
            eprintln!(
                "{}: row {}{}: {}",
                path.display(),
                r.row,
                r.id.as_deref()
                    .map(|i| format!(" ({i})"))
                    .unwrap_or_default(),
                r.reason
            );
        }
        anyhow::bail!(
            "{}: {} of {} rows rejected; nothing was imported",
            path.display(),
            parsed.rejected.len(),
            parsed.rejected.len() + parsed.entries.len()
        );
    }
    let n = parsed.entries.len();
    store.kb_import(&parsed.entries, replace)?;
    Ok(n)
}

#[derive(clap::Subcommand, Debug)]
pub enum KbCommand {
    /// Import a JSON (the bot-dev format) or CSV file; merges by id unless --replace.
    Import {
        file: std::path::PathBuf,
        /// Remove the entries of the file's languages first.
        #[arg(long, conflicts_with = "merge")]
        replace: bool,
        /// Add new ids and update existing ones, keep the rest (the default).
        #[arg(long)]
        merge: bool,
        /// Language of rows without one [default: from the file name, else en].
        #[arg(long)]
        language: Option<String>,
    },
    /// Export every entry, as JSON or CSV by the file's extension (`-` for JSON on stdout).
    Export { file: std::path::PathBuf },
    /// Answer questions: prints {"id", "answer", "confidence"} per question (id null: the
    /// fallback). Without TEXT, reads one question per line from standard input.
    Ask {
        #[arg(long, default_value = "en")]
        language: String,
        text: Option<String>,
    },
    /// Hits and rejections per entry, and recent unanswered questions grouped by meaning.
    Stats,
    /// Score the bot on labelled files: FAQ top-1 (fallback counted as a class) and
    /// escalation decisions; prints one JSON report.
    Eval {
        /// Knowledge-base files (the language from the file name).
        #[arg(long = "kb", required = true)]
        kb: Vec<std::path::PathBuf>,
        /// Query files (`queries.en.json`: language from the file name).
        #[arg(long = "queries")]
        queries: Vec<std::path::PathBuf>,
        /// Escalation script files.
        #[arg(long = "escalation")]
        escalation: Vec<std::path::PathBuf>,
        /// Print every query's outcome too.
        #[arg(long)]
        verbose: bool,
    },
}

pub fn run(cmd: KbCommand, config: &Config, store: &Store) -> anyhow::Result<()> {
    match cmd {
        KbCommand::Import {
            file,
            replace,
            merge: _,
            language,
        } => {
            let fallback = match language {
                Some(l) => Language::parse(&l).context("--language: en or zh")?,
                None => Language::En,
            };
            let n = import_file(store, &file, replace, fallback)?;
            println!("imported {n} entries from {}", file.display());
            // Index now, so that the server's next start does not have to.
            if config.bot.model_dir.join("weights.npz").is_file() {
                crate::calls::bot::load_brain_with(&config.bot, store.kb_entries()?, store)?;
            }
            Ok(())
        }
        KbCommand::Export { file } => {
            let entries = store.kb_entries()?;
            let s = file.to_string_lossy();
            if s == "-" {
                print!("{}", kb::write(&entries, Format::Json));
                return Ok(());
            }
            let format = Format::of_path(&s).context("the file must end in .json or .csv")?;
            std::fs::write(&file, kb::write(&entries, format))?;
            eprintln!("exported {} entries to {}", entries.len(), file.display());
            Ok(())
        }
        KbCommand::Ask { language, text } => {
            let lang = Language::parse(&language).context("--language: en or zh")?;
            let desk = crate::calls::bot::BotDesk::new(crate::calls::bot::load_brain_with(
                &config.bot,
                store.kb_entries()?,
                store,
            )?);
            let mut out = std::io::stdout().lock();
            let mut answer = |q: &str| -> anyhow::Result<()> {
                let (v, a) = desk.ask(lang, q);
                writeln!(
                    out,
                    "{}",
                    serde_json::json!({"id": v.id, "answer": a, "confidence": round3(v.confidence)})
                )?;
                Ok(())
            };
            match text {
                Some(t) => answer(&t)?,
                None => {
                    for line in std::io::stdin().lock().lines() {
                        let line = line?;
                        if !line.trim().is_empty() {
                            answer(line.trim())?;
                        }
                    }
                }
            }
            Ok(())
        }
        KbCommand::Stats => {
            let stats = store.kb_stats()?;
            let unanswered = store.kb_unanswered_list(500)?;
            let encoder = bot::UseEncoder::load(&config.bot.model_dir)
                .map_err(|e| anyhow::anyhow!("[bot] model_dir: {e}"))?;
            let groups = bot::stats::group_by_meaning(&encoder, &unanswered, 0.7);
            let report = serde_json::json!({
                "entries": stats.iter().map(|(l, id, h, r)| serde_json::json!({"language": l, "id": id, "hits": h, "rejected": r})).collect::<Vec<_>>(),
                "unanswered": groups,
            });
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(())
        }
        KbCommand::Eval {
            kb,
            queries,
            escalation,
            verbose,
        } => eval(config, &kb, &queries, &escalation, verbose),
    }
}

fn eval(
    config: &Config,
    kb_files: &[std::path::PathBuf],
    query_files: &[std::path::PathBuf],
    script_files: &[std::path::PathBuf],
    verbose: bool,
) -> anyhow::Result<()> {
    let rss_before = rss_kib();
    let mut entries = Vec::new();
    for f in kb_files {
        let p = read_file(f, Language::En)?;
        anyhow::ensure!(p.rejected.is_empty(), "{}: rejected rows", f.display());
        entries.extend(p.entries);
    }
    let t0 = std::time::Instant::now();
    let brain = crate::calls::bot::load_brain(&config.bot, entries)?;
    let load_ms = t0.elapsed().as_millis() as u64;
    let rss_loaded = rss_kib();
    let mut faq = Vec::new();
    for f in query_files {
        let lang = language_of_file(f, Language::En);
        let qs: Vec<Query> = serde_json::from_str(&std::fs::read_to_string(f)?)
            .with_context(|| format!("{}: not a query file", f.display()))?;
        let r = bot::eval::faq(&brain.matcher, lang, &qs);
        let mut v = serde_json::json!({
            "file": f.display().to_string(), "language": lang, "queries": r.queries,
            "top1": (r.top1 * 1000.0).round() / 1000.0,
            "in_scope": format!("{}/{}", r.in_scope_right, r.in_scope),
            "out_of_scope": format!("{}/{}", r.out_of_scope_right, r.out_of_scope),
            "median_ms_per_answer": r.median_us as f64 / 1000.0,
        });
        if verbose {
            v["misses"] =
                serde_json::to_value(r.results.iter().filter(|x| !x.right).collect::<Vec<_>>())?;
        }
        faq.push(v);
    }
    let mut esc = Vec::new();
    for f in script_files {
        let scripts: Vec<Script> = serde_json::from_str(&std::fs::read_to_string(f)?)
            .with_context(|| format!("{}: not a script file", f.display()))?;
        let r = bot::eval::escalation(&brain, &scripts);
        let mut v = serde_json::json!({
            "file": f.display().to_string(), "scripts": r.scripts,
            "right": r.right, "reason_right": r.reason_right,
            "accuracy": ((r.right as f64 / r.scripts.max(1) as f64) * 1000.0).round() / 1000.0,
        });
        if verbose {
            v["results"] = serde_json::to_value(&r.results)?;
        }
        esc.push(v);
    }
    let report = serde_json::json!({
        "faq": faq, "escalation": esc,
        "model_load_ms": load_ms,
        "rss_mib_models_loaded": (rss_loaded.saturating_sub(rss_before)) as f64 / 1024.0,
        "rss_mib": rss_kib() as f64 / 1024.0,
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

fn round3(x: f32) -> f64 {
    (x as f64 * 1000.0).round() / 1000.0
}

/// Resident memory of this process (KiB), from /proc; 0 where there is none.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}
