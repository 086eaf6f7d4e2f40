//! Speech recognition: one shared pool of Whisper workers for every call.
//!
//! Jobs come from many streams (one per speaker per call). The [`Scheduler`] is a fair queue:
//! finals before partials, and round-robin across streams within each class, so one long
//! talker cannot starve other calls. A stream holds at most one pending partial (a newer
//! partial replaces it; a final of the same utterance cancels it) and a few finals (the oldest
//! is dropped, and counted, when more arrive). Workers are plain OS threads at a lower CPU
//! priority than the media threads, so recognition falling behind never slows forwarding.

use super::guard::Suspect;
use super::recognize::{self, RecognizeConfig, Window};
use crate::speech::SpeechMetrics;
use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};
use whisper_rs::{WhisperContext, WhisperContextParameters};

pub const SAMPLE_RATE: usize = 16_000;

#[derive(Debug, thiserror::Error)]
pub enum AsrError {
    #[error("speech model {path}: {why}")]
    Model { path: PathBuf, why: String },
    #[error("no speech model for language {0:?}: configure speech.multilingual_model")]
    NoModelForLanguage(String),
    #[error("recognition failed: {0}")]
    Whisper(String),
}

/// Check that `path` is a whisper.cpp ggml model and load it.
pub fn load_model(path: &Path) -> Result<WhisperContext, AsrError> {
    let bad = |why: String| AsrError::Model {
        path: path.to_path_buf(),
        why,
    };
    let mut f = std::fs::File::open(path).map_err(|e| {
        bad(format!(
            "{e} (run scripts/fetch-models.sh, or `make run`, to download and convert the models)"
        ))
    })?;
    let mut magic = [0u8; 4];
    std::io::Read::read_exact(&mut f, &mut magic)
        .map_err(|_| bad("file too short to be a model".into()))?;
    if u32::from_le_bytes(magic) != 0x6767_6d6c {
        return Err(bad(
            "not a whisper.cpp ggml model (bad magic number); re-run scripts/fetch-models.sh"
                .into(),
        ));
    }
    let p = path
        .to_str()
        .ok_or_else(|| bad("path is not valid UTF-8".into()))?;
    let mut params = WhisperContextParameters::default();
    params.use_gpu(false);
    WhisperContext::new_with_params(p, params).map_err(|e| {
        bad(format!(
            "whisper.cpp could not load it ({e}); the file is corrupt or truncated: delete it and re-run scripts/fetch-models.sh"
        ))
    })
}

/// The models a pool can use.
pub struct Models {
    /// English-only model (tiny.en by default), used for `en`.
    pub english: Option<Arc<WhisperContext>>,
    /// Multilingual model (base), used for every other language and for `en` when there is no
    /// English-only model.
    pub multilingual: Option<Arc<WhisperContext>>,
}

impl Models {
    fn pick(&self, language: &str) -> Option<(usize, &Arc<WhisperContext>)> {
        if language == "en" {
            if let Some(m) = &self.english {
                return Some((0, m));
            }
        }
        self.multilingual.as_ref().map(|m| (1, m))
    }

    pub fn supports(&self, language: &str) -> bool {
        self.pick(language).is_some()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobKind {
    Partial,
    Final,
    /// A final asked for at a pause, before the utterance is known to have ended there:
    /// recognised like a final; a newer one for the same utterance replaces it in the queue.
    Early,
}

/// Which stream a job belongs to (one speaker of one call, or one file).
pub type StreamKey = u64;

pub struct Job {
    pub stream: StreamKey,
    pub utterance: u64,
    pub kind: JobKind,
    pub audio: Vec<f32>,
    pub language: String,
    /// Someone waits to answer these words (a caller the bot talks with): its finals get the
    /// cheaper first try (`turn_window`, `turn_threads`), its partials that window alone.
    pub turn: bool,
    /// When the job was queued (for partials: when the audio was cut; for finals: the
    /// end-of-utterance decision).
    pub queued_at: Instant,
    pub reply: Box<dyn FnOnce(AsrOutcome) + Send>,
}

#[derive(Clone, Debug)]
pub struct Recognized {
    /// Empty when nothing trustworthy was recognised (see `rejected`).
    pub text: String,
    pub no_speech_prob: f32,
    /// Decodings run: 1, or more when the guards asked for retries.
    pub attempts: u32,
    /// Set when every attempt gave an implausible text and it was dropped.
    pub rejected: Option<Suspect>,
    /// Seconds of audio recognised.
    pub audio_s: f64,
    /// Wall seconds spent recognising.
    pub compute_s: f64,
    /// From queueing to result.
    pub latency: Duration,
}

#[derive(Clone, Debug)]
pub enum AsrOutcome {
    Done(Recognized),
    /// Replaced by a newer job, or dropped because the stream had too many waiting.
    Dropped,
    Failed(String),
}

#[derive(Default)]
struct StreamJobs {
    finals: VecDeque<Job>,
    partial: Option<Job>,
}

/// The fair queue. Plain data, no threads: the pool wraps it in a mutex.
pub struct Scheduler {
    streams: HashMap<StreamKey, StreamJobs>,
    /// Round-robin order of streams that have something queued.
    order: VecDeque<StreamKey>,
    max_finals_per_stream: usize,
    /// Partials older than this are not worth computing any more.
    partial_ttl: Duration,
}

/// Jobs a scheduler call gave up on; their replies must be called (outside any lock).
pub type Discarded = Vec<Job>;

impl Scheduler {
    pub fn new(max_finals_per_stream: usize, partial_ttl: Duration) -> Self {
        Self {
            streams: HashMap::new(),
            order: VecDeque::new(),
            max_finals_per_stream: max_finals_per_stream.max(1),
            partial_ttl,
        }
    }

    pub fn submit(&mut self, job: Job) -> Discarded {
        let mut out = vec![];
        let key = job.stream;
        let s = self.streams.entry(key).or_default();
        match job.kind {
            JobKind::Partial => {
                if s.finals
                    .iter()
                    .any(|f| f.utterance == job.utterance && f.kind == JobKind::Final)
                {
                    out.push(job);
                } else if let Some(old) = s.partial.replace(job) {
                    out.push(old);
                }
            }
            JobKind::Final | JobKind::Early => {
                // What the speaker said up to an earlier pause is moot now.
                let (stale, keep): (VecDeque<Job>, VecDeque<Job>) = std::mem::take(&mut s.finals)
                    .into_iter()
                    .partition(|f| f.kind == JobKind::Early && f.utterance == job.utterance);
                s.finals = keep;
                out.extend(stale);
                if s.partial
                    .as_ref()
                    .is_some_and(|p| p.utterance <= job.utterance)
                {
                    out.extend(s.partial.take());
                }
                s.finals.push_back(job);
                while s.finals.len() > self.max_finals_per_stream {
                    out.extend(s.finals.pop_front());
                }
            }
        }
        if !self.order.contains(&key) {
            self.order.push_back(key);
        }
        out
    }

    /// The next job to run, fairly, plus stale partials dropped on the way. A worker that must
    /// stay free for finals passes `partials = false`.
    pub fn next(&mut self, now: Instant, partials: bool) -> (Option<Job>, Discarded) {
        let mut stale = vec![];
        for key in self.order.iter() {
            if let Some(s) = self.streams.get_mut(key) {
                if s.partial
                    .as_ref()
                    .is_some_and(|p| now.duration_since(p.queued_at) > self.partial_ttl)
                {
                    stale.extend(s.partial.take());
                }
            }
        }
        let pos = self
            .order
            .iter()
            .position(|k| self.streams.get(k).is_some_and(|s| !s.finals.is_empty()))
            .or_else(|| {
                self.order.iter().position(|k| {
                    partials && self.streams.get(k).is_some_and(|s| s.partial.is_some())
                })
            });
        let job = pos.and_then(|i| {
            let key = self.order.remove(i)?;
            let s = self.streams.get_mut(&key)?;
            let job = s.finals.pop_front().or_else(|| s.partial.take());
            if s.finals.is_empty() && s.partial.is_none() {
                self.streams.remove(&key);
            } else {
                self.order.push_back(key); // to the back: others go first
            }
            job
        });
        self.order.retain(|k| self.streams.contains_key(k));
        (job, stale)
    }

    /// Forget every queued job of a stream (its call ended); they are handed back.
    pub fn cancel(&mut self, key: StreamKey) -> Discarded {
        self.order.retain(|k| *k != key);
        match self.streams.remove(&key) {
            Some(s) => s.finals.into_iter().chain(s.partial).collect(),
            None => vec![],
        }
    }

    /// Forget a stream's queued partial (nobody will see it).
    pub fn cancel_partial(&mut self, key: StreamKey) -> Discarded {
        let Some(s) = self.streams.get_mut(&key) else {
            return vec![];
        };
        let out: Discarded = s.partial.take().into_iter().collect();
        if s.finals.is_empty() {
            self.streams.remove(&key);
            self.order.retain(|k| *k != key);
        }
        out
    }

    /// Finals (and early finals) waiting for a worker, over all streams.
    pub fn finals_waiting(&self) -> usize {
        self.streams.values().map(|s| s.finals.len()).sum()
    }

    pub fn len(&self) -> usize {
        self.streams
            .values()
            .map(|s| s.finals.len() + s.partial.is_some() as usize)
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[derive(Clone, Debug)]
pub struct PoolConfig {
    pub workers: usize,
    pub threads_per_worker: usize,
    pub max_finals_per_stream: usize,
    pub partial_ttl: Duration,
    /// Nice value of worker threads (0 = same priority as media; 10 = yield to it).
    pub nice: i32,
    /// Encoder window of the first attempt.
    pub window: Window,
    /// Finals a bot's caller waits for: a cheaper first attempt with this window; early
    /// finals (asked only while no final waits) run it on this many threads.
    pub turn_window: Option<Window>,
    pub turn_threads: usize,
    /// Threads of an early final that is the only recognition running, with nothing queued:
    /// nothing else of the recognisers' would compete for the cores.
    pub turn_threads_idle: usize,
    /// Retry suspect finals with safer settings.
    pub retries: bool,
    /// Decode with timestamp tokens.
    pub timestamps: bool,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            workers: 2,
            threads_per_worker: 1,
            max_finals_per_stream: 4,
            partial_ttl: Duration::from_millis(1500),
            nice: 10,
            window: Window::default(),
            turn_window: None,
            turn_threads: 1,
            turn_threads_idle: 1,
            retries: true,
            timestamps: false,
        }
    }
}

/// A partial being recognised, which a final or early final of its stream stops: it would
/// be out of date, and it takes the CPU the final needs.
struct RunningPartial {
    stream: StreamKey,
    abort: Arc<std::sync::atomic::AtomicBool>,
}

struct Shared {
    sched: Mutex<Scheduler>,
    wake: Condvar,
    /// Each worker's partial in progress.
    partials: Mutex<Vec<Option<RunningPartial>>>,
    stop: std::sync::atomic::AtomicBool,
    metrics: Option<SpeechMetrics>,
    /// Workers recognising something now.
    busy: std::sync::atomic::AtomicUsize,
    /// An early final runs on `turn_threads_idle` threads: the other workers start nothing
    /// until it ends (more threads than cores make whisper.cpp's threads wait on each other).
    wide: std::sync::atomic::AtomicBool,
}

/// The worker pool. Dropping it stops the workers after their current job.
pub struct AsrPool {
    shared: Arc<Shared>,
    models: Arc<Models>,
    workers: Vec<std::thread::JoinHandle<()>>,
}

impl AsrPool {
    pub fn start(models: Models, cfg: PoolConfig, metrics: Option<SpeechMetrics>) -> Self {
        let shared = Arc::new(Shared {
            sched: Mutex::new(Scheduler::new(cfg.max_finals_per_stream, cfg.partial_ttl)),
            wake: Condvar::new(),
            partials: Mutex::new((0..cfg.workers.max(1)).map(|_| None).collect()),
            stop: std::sync::atomic::AtomicBool::new(false),
            metrics,
            busy: std::sync::atomic::AtomicUsize::new(0),
            wide: std::sync::atomic::AtomicBool::new(false),
        });
        let models = Arc::new(models);
        let workers = (0..cfg.workers.max(1))
            .map(|i| {
                let shared = shared.clone();
                let models = models.clone();
                let cfg = cfg.clone();
                std::thread::Builder::new()
                    .name(format!("asr-{i}"))
                    .spawn(move || worker(i, shared, models, cfg))
                    .expect("spawn ASR worker")
            })
            .collect();
        Self {
            shared,
            models,
            workers,
        }
    }

    pub fn models(&self) -> &Models {
        &self.models
    }

    /// Finals waiting for a worker: the recognisers are behind when this is above zero.
    pub fn finals_waiting(&self) -> usize {
        self.shared
            .sched
            .lock()
            .map(|s| s.finals_waiting())
            .unwrap_or(0)
    }

    /// Queue a job; never blocks on recognition. A final (or early final) stops a partial of
    /// its stream that is being recognised.
    pub fn submit(&self, job: Job) {
        if job.kind != JobKind::Partial {
            if let Ok(running) = self.shared.partials.lock() {
                for r in running.iter().flatten().filter(|r| r.stream == job.stream) {
                    r.abort.store(true, std::sync::atomic::Ordering::Relaxed);
                }
            }
        }
        let discarded = {
            let mut s = self.shared.sched.lock().expect("sched lock");
            let d = s.submit(job);
            self.set_depth(&s);
            d
        };
        self.discard(discarded);
        self.shared.wake.notify_one();
    }

    /// Drop a stream's queued jobs: all of them, or only its partial.
    pub fn cancel(&self, stream: StreamKey, partial_only: bool) {
        let discarded = {
            let mut s = self.shared.sched.lock().expect("sched lock");
            let d = if partial_only {
                s.cancel_partial(stream)
            } else {
                s.cancel(stream)
            };
            self.set_depth(&s);
            d
        };
        self.discard(discarded);
    }

    fn set_depth(&self, s: &Scheduler) {
        if let Some(m) = &self.shared.metrics {
            m.asr_queue_depth.set(s.len() as i64);
        }
    }

    fn discard(&self, jobs: Discarded) {
        discard(&self.shared, jobs)
    }
}

fn discard(shared: &Shared, jobs: Discarded) {
    for j in jobs {
        if let Some(m) = &shared.metrics {
            let kind = match j.kind {
                JobKind::Partial => "partial",
                JobKind::Final => "final",
                JobKind::Early => "early",
            };
            m.asr_dropped.with_label_values(&[kind]).inc();
        }
        (j.reply)(AsrOutcome::Dropped);
    }
}

impl Drop for AsrPool {
    fn drop(&mut self) {
        self.shared
            .stop
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.shared.wake.notify_all();
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

/// A worker's count in `Shared::busy` (and its hold on the others, for a wide early final),
/// given back however its job ends.
struct Busy<'a> {
    shared: &'a Shared,
    wide: bool,
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        use std::sync::atomic::Ordering::SeqCst;
        self.shared.busy.fetch_sub(1, SeqCst);
        if self.wide {
            // Under the lock, so that a worker about to wait cannot miss the wake-up.
            let guard = self.shared.sched.lock();
            self.shared.wide.store(false, SeqCst);
            drop(guard);
            self.shared.wake.notify_all();
        }
    }
}

fn worker(index: usize, shared: Arc<Shared>, models: Arc<Models>, cfg: PoolConfig) {
    if cfg.nice != 0 {
        let me = rustix::thread::gettid();
        if let Err(e) = rustix::process::setpriority_process(Some(me), cfg.nice) {
            tracing::debug!("could not lower ASR worker priority: {e}");
        }
    }
    let mut states: [Option<whisper_rs::WhisperState>; 2] = [None, None];
    // With several workers, the first one only runs finals: a final never waits behind
    // partials on every worker at once.
    let partials_ok = cfg.workers <= 1 || index > 0;
    let rcfg = RecognizeConfig {
        window: cfg.window.clone(),
        quick: None,
        threads: cfg.threads_per_worker,
        retries: cfg.retries,
        timestamps: cfg.timestamps,
    };
    let turn_cfg = RecognizeConfig {
        quick: cfg.turn_window.clone(),
        threads: cfg.turn_threads.max(1),
        ..rcfg.clone()
    };
    let turn_idle_cfg = RecognizeConfig {
        threads: cfg.turn_threads_idle.max(cfg.turn_threads).max(1),
        ..turn_cfg.clone()
    };
    // Under load (finals waiting, when no early finals are asked) two threads per job
    // only fight each other: a turn's final gets the cheaper window on one.
    let turn_final_cfg = RecognizeConfig {
        threads: cfg.threads_per_worker,
        ..turn_cfg.clone()
    };
    let turn_partial_cfg = RecognizeConfig {
        window: cfg
            .turn_window
            .clone()
            .unwrap_or_else(|| cfg.window.clone()),
        ..rcfg.clone()
    };
    use std::sync::atomic::Ordering::SeqCst;
    loop {
        let (job, stale, wide) = {
            let mut s = shared.sched.lock().expect("sched lock");
            loop {
                if shared.stop.load(SeqCst) {
                    return;
                }
                if !shared.wide.load(SeqCst) {
                    let (job, stale) = s.next(Instant::now(), partials_ok);
                    if job.is_some() || !stale.is_empty() {
                        if let Some(m) = &shared.metrics {
                            m.asr_queue_depth.set(s.len() as i64);
                        }
                        // Counted under the lock: two workers never both find themselves
                        // alone.
                        let alone =
                            job.is_some() && shared.busy.fetch_add(1, SeqCst) == 0 && s.is_empty();
                        let wide = alone
                            && job.as_ref().is_some_and(|j| j.kind == JobKind::Early)
                            && cfg.turn_threads_idle > cfg.turn_threads;
                        shared.wide.store(wide, SeqCst);
                        break (job, stale, wide);
                    }
                }
                s = shared.wake.wait(s).expect("sched lock");
            }
        };
        discard(&shared, stale);
        let Some(job) = job else { continue };
        let _busy = Busy {
            shared: &shared,
            wide,
        };
        let outcome = match models.pick(&job.language) {
            None => {
                AsrOutcome::Failed(AsrError::NoModelForLanguage(job.language.clone()).to_string())
            }
            Some((slot, ctx)) => {
                if states[slot].is_none() {
                    match ctx.create_state() {
                        Ok(st) => states[slot] = Some(st),
                        Err(e) => {
                            (job.reply)(AsrOutcome::Failed(format!("whisper state: {e}")));
                            continue;
                        }
                    }
                }
                let state = states[slot].as_mut().expect("just created");
                let language = if !ctx.is_multilingual() {
                    Some("en")
                } else if job.language == "auto" {
                    None
                } else {
                    Some(job.language.as_str())
                };
                let started = Instant::now();
                let is_final = job.kind != JobKind::Partial;
                let abort = (!is_final).then(|| {
                    let flag = Arc::new(std::sync::atomic::AtomicBool::new(false));
                    if let Ok(mut running) = shared.partials.lock() {
                        running[index] = Some(RunningPartial {
                            stream: job.stream,
                            abort: flag.clone(),
                        });
                    }
                    flag
                });
                let result = recognize::recognize(
                    state,
                    ctx.token_eot(),
                    &job.audio,
                    language,
                    is_final,
                    match (job.kind, job.turn) {
                        (JobKind::Early, _) if wide => &turn_idle_cfg,
                        (JobKind::Early, _) => &turn_cfg,
                        (JobKind::Final, true) => &turn_final_cfg,
                        (JobKind::Partial, true) => &turn_partial_cfg,
                        _ => &rcfg,
                    },
                    abort.as_ref(),
                );
                if let Some(flag) = &abort {
                    if let Ok(mut running) = shared.partials.lock() {
                        running[index] = None;
                    }
                    if flag.load(std::sync::atomic::Ordering::Relaxed) {
                        if let Some(m) = &shared.metrics {
                            m.asr_dropped.with_label_values(&["partial"]).inc();
                        }
                        (job.reply)(AsrOutcome::Dropped);
                        continue;
                    }
                }
                match result {
                    Ok(r) => {
                        tracing::debug!(
                            kind = ?job.kind,
                            audio_ms = (job.audio.len() * 1000 / SAMPLE_RATE) as u64,
                            waited_ms = started.duration_since(job.queued_at).as_millis() as u64,
                            compute_ms = started.elapsed().as_millis() as u64,
                            attempts = r.attempts,
                            "recognised"
                        );
                        let out = Recognized {
                            text: r.text,
                            no_speech_prob: r.no_speech_prob,
                            attempts: r.attempts,
                            rejected: r.rejected,
                            audio_s: job.audio.len() as f64 / SAMPLE_RATE as f64,
                            compute_s: started.elapsed().as_secs_f64(),
                            latency: job.queued_at.elapsed(),
                        };
                        if let Some(m) = &shared.metrics {
                            if out.audio_s > 0.0 {
                                m.asr_rtf.observe(out.compute_s / out.audio_s);
                            }
                            if is_final {
                                m.final_latency.observe(out.latency.as_secs_f64());
                                for s in &r.retried_for {
                                    m.asr_retries.with_label_values(&[s.as_str()]).inc();
                                }
                                if let Some(s) = out.rejected {
                                    m.asr_rejected.with_label_values(&[s.as_str()]).inc();
                                }
                            }
                        }
                        AsrOutcome::Done(out)
                    }
                    Err(e) => AsrOutcome::Failed(AsrError::Whisper(e).to_string()),
                }
            }
        };
        (job.reply)(outcome);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn job(stream: u64, utterance: u64, kind: JobKind, dropped: &Arc<AtomicUsize>) -> Job {
        let d = dropped.clone();
        Job {
            stream,
            utterance,
            kind,
            audio: vec![],
            language: "en".into(),
            turn: false,
            queued_at: Instant::now(),
            reply: Box::new(move |o| {
                if matches!(o, AsrOutcome::Dropped) {
                    d.fetch_add(1, Ordering::SeqCst);
                }
            }),
        }
    }

    #[test]
    fn round_robin_across_streams_with_finals_first() {
        let d = Arc::new(AtomicUsize::new(0));
        let mut s = Scheduler::new(10, Duration::from_secs(10));
        // Stream 1 talks a lot; streams 2 and 3 a little.
        for u in 1..=4 {
            assert!(s.submit(job(1, u, JobKind::Final, &d)).is_empty());
        }
        s.submit(job(2, 1, JobKind::Partial, &d));
        s.submit(job(3, 1, JobKind::Final, &d));
        let now = Instant::now();
        let mut order = vec![];
        while let (Some(j), _) = s.next(now, true) {
            order.push((j.stream, j.utterance, j.kind));
        }
        assert_eq!(
            order,
            vec![
                (1, 1, JobKind::Final),
                (3, 1, JobKind::Final),
                (1, 2, JobKind::Final),
                (1, 3, JobKind::Final),
                (1, 4, JobKind::Final),
                (2, 1, JobKind::Partial),
            ]
        );
    }

    #[test]
    fn an_ended_streams_jobs_are_cancelled_and_others_kept() {
        let d = Arc::new(AtomicUsize::new(0));
        let mut s = Scheduler::new(10, Duration::from_secs(10));
        for u in 1..=3 {
            s.submit(job(1, u, JobKind::Final, &d));
        }
        s.submit(job(1, 4, JobKind::Partial, &d));
        s.submit(job(2, 1, JobKind::Final, &d));
        s.submit(job(3, 1, JobKind::Partial, &d));
        assert_eq!(s.cancel_partial(1).len(), 1);
        assert_eq!(s.cancel(1).len(), 3);
        assert_eq!(s.cancel_partial(3).len(), 1);
        assert_eq!(s.len(), 1);
        let (j, _) = s.next(Instant::now(), true);
        assert_eq!(j.map(|j| j.stream), Some(2));
        assert!(s.is_empty());
    }

    #[test]
    fn partials_are_replaced_and_cancelled_and_finals_bounded() {
        let d = Arc::new(AtomicUsize::new(0));
        let mut s = Scheduler::new(2, Duration::from_secs(10));
        let mut dropped = vec![];
        dropped.extend(s.submit(job(1, 1, JobKind::Partial, &d)));
        dropped.extend(s.submit(job(1, 1, JobKind::Partial, &d))); // replaces
        assert_eq!(dropped.len(), 1);
        dropped.extend(s.submit(job(1, 1, JobKind::Final, &d))); // cancels the partial
        assert_eq!(dropped.len(), 2);
        dropped.extend(s.submit(job(1, 2, JobKind::Final, &d)));
        dropped.extend(s.submit(job(1, 3, JobKind::Final, &d))); // over the bound
        assert_eq!(dropped.len(), 3);
        assert_eq!(dropped[2].utterance, 1, "the oldest final goes");
        assert_eq!(s.len(), 2);
    }

    #[test]
    fn a_finals_only_worker_leaves_partials_queued() {
        let d = Arc::new(AtomicUsize::new(0));
        let mut s = Scheduler::new(2, Duration::from_secs(10));
        s.submit(job(1, 1, JobKind::Partial, &d));
        assert!(s.next(Instant::now(), false).0.is_none());
        assert_eq!(s.len(), 1);
        s.submit(job(2, 1, JobKind::Final, &d));
        assert_eq!(s.next(Instant::now(), false).0.unwrap().stream, 2);
        assert_eq!(s.next(Instant::now(), true).0.unwrap().stream, 1);
    }

    #[test]
    fn stale_partials_expire() {
        let d = Arc::new(AtomicUsize::new(0));
        let mut s = Scheduler::new(2, Duration::from_millis(100));
        s.submit(job(1, 1, JobKind::Partial, &d));
        let (j, stale) = s.next(Instant::now() + Duration::from_secs(1), true);
        assert!(j.is_none());
        assert_eq!(stale.len(), 1);
        assert!(s.is_empty());
    }

    #[test]
    fn an_early_final_gives_way_to_a_newer_one_and_to_the_final() {
        let d = Arc::new(AtomicUsize::new(0));
        let mut s = Scheduler::new(4, Duration::from_secs(10));
        s.submit(job(1, 1, JobKind::Final, &d));
        assert!(s.submit(job(1, 2, JobKind::Early, &d)).is_empty());
        // The speaker went on: the early final of the first pause is replaced, and it never
        // pushes the previous utterance's final over the bound.
        let gone = s.submit(job(1, 2, JobKind::Early, &d));
        assert_eq!(gone.len(), 1);
        assert_eq!(gone[0].kind, JobKind::Early);
        let gone = s.submit(job(1, 2, JobKind::Final, &d));
        assert_eq!(gone.len(), 1, "the final replaces the early one");
        // A partial is not dropped for an early final of its utterance, only for its final.
        s.submit(job(1, 3, JobKind::Early, &d));
        assert!(s.submit(job(1, 3, JobKind::Partial, &d)).is_empty());
        let mut order = vec![];
        while let (Some(j), _) = s.next(Instant::now(), true) {
            order.push((j.utterance, j.kind));
        }
        assert_eq!(
            order,
            vec![
                (1, JobKind::Final),
                (2, JobKind::Final),
                (3, JobKind::Early),
                (3, JobKind::Partial)
            ]
        );
    }
}
