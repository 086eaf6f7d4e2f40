//! The bot's voice in a voice call. What the bot says (`Output::Speak`) is cut into phrases,
//! each synthesised on a blocking thread and queued into the bot's server-side voice in the
//! call's room as soon as it is ready, so the first phrase plays while the next is made. The
//! voice joins the call with the bot's first words and leaves when the bot stops (an agent
//! took over, the call ended). A customer who starts talking interrupts it (barge-in): what
//! is queued is dropped and phrases not yet made are skipped.

use crate::app::App;
use dashmap::DashMap;
use media::Voice;
use signaling::CallId;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::Instant;
use tokio::sync::mpsc;
use tts::{Lang, Speaker, Tts};

/// How an entry point wants the bot to sound (its `voice` and `speed`).
#[derive(Clone, Debug, Default)]
pub struct VoicePrefs {
    pub voice: Option<String>,
    pub speed: Option<f32>,
}

/// One utterance of a caller, as the bot's voice saw it.
#[derive(Clone, Debug)]
struct Talk {
    /// The utterance id its transcript carries.
    id: String,
    began: Instant,
    talking: bool,
    /// The bot was talking (or its voice could still be coming back) when it began.
    over_bot: bool,
    /// It was judged the bot's own voice coming back, and nothing else so far.
    echo: bool,
    /// It stopped the bot (a barge-in): the caller's own words.
    interrupted: bool,
}

/// A caller's recent utterances, the current one last. Their finals come after they end,
/// often once the next has begun: each is judged by its own record.
type Talks = std::collections::VecDeque<Talk>;
/// Utterances remembered per caller.
const KEEP_TALKS: usize = 8;

struct Line {
    tx: mpsc::UnboundedSender<(u64, String)>,
    /// Raised by each barge-in; words queued before it are not spoken.
    epoch: Arc<AtomicU64>,
    voice: Arc<std::sync::Mutex<Option<Arc<Voice>>>>,
    /// Between receiving words to say and queueing their last phrase: the bot is in the
    /// middle of a reply even while its voice waits for the next phrase to be made.
    saying: Arc<std::sync::atomic::AtomicBool>,
}

/// The bot's level while a caller may be talking over it (-12 dB).
const DUCK_GAIN: f32 = 0.25;
/// How often a caller talking over the bot is looked at again.
const CHECK_EVERY: std::time::Duration = std::time::Duration::from_millis(50);
/// The caller's voice counts as sounding with a frame this recent.
const VOICED_WINDOW: std::time::Duration = std::time::Duration::from_millis(60);
/// Checks in a row (300 ms) that the caller is more than the bot's echo, once it was echo.
const AFTER_ECHO_CHECKS: u32 = 6;
/// Checks in a row that must find the caller's sound when there was too little to compare
/// with the bot's voice.
const UNJUDGED_CHECKS: u32 = 2;

/// Phrases the bot says again and again (the greeting, "could you put it another way?",
/// the queue line) are synthesised once: the last this many are kept.
const CACHE_PHRASES: usize = 256;

type CacheKey = (String, u32, String);

/// Recently spoken phrases' audio, by voice, speed and text.
#[derive(Default)]
struct PhraseCache {
    map: std::collections::HashMap<CacheKey, Arc<[i16]>>,
    order: std::collections::VecDeque<CacheKey>,
}

impl PhraseCache {
    fn get(&self, k: &CacheKey) -> Option<Arc<[i16]>> {
        self.map.get(k).cloned()
    }

    fn put(&mut self, k: CacheKey, v: Arc<[i16]>) {
        if self.map.insert(k.clone(), v).is_none() {
            self.order.push_back(k);
        }
        while self.order.len() > CACHE_PHRASES {
            if let Some(old) = self.order.pop_front() {
                self.map.remove(&old);
            }
        }
    }
}

/// A phrase being synthesised, which others wanting the same phrase wait for.
type Pending = Arc<tokio::sync::OnceCell<Arc<[i16]>>>;

/// Every call's bot voice, and the engine they share.
pub struct Speakers {
    cache: Arc<std::sync::Mutex<PhraseCache>>,
    /// What the bot says word for word, made before anyone asks (never evicted).
    prepared: std::sync::RwLock<std::collections::HashMap<CacheKey, Arc<[i16]>>>,
    /// Raised by each preparation run; an older run stops.
    prepare_run: AtomicU64,
    /// Live phrases waiting for the engine: preparation waits while there are any.
    live_waiting: AtomicUsize,
    pending: std::sync::Mutex<std::collections::HashMap<CacheKey, Pending>>,
    /// Each call's first phrase made ahead of the final transcript, and whether it is still
    /// being made.
    ahead: DashMap<CallId, (CacheKey, bool)>,
    /// When each call's caller's last final transcript came (for the answer's time).
    heard: DashMap<CallId, Instant>,
    /// Talking over the bot for this long stops it; shorter is a backchannel.
    barge_in: std::time::Duration,
    /// Each call's caller's recent utterances: whether each is going on, whether the bot was
    /// talking when it began, what it was judged.
    caller: DashMap<CallId, Talks>,
    /// What the bot played and what each caller sent, to tell echo from a caller's words.
    echo: DashMap<CallId, super::echo::EchoGuard>,
    /// The app this serves, set once it is built.
    app: std::sync::OnceLock<Weak<App>>,
    engine: Arc<dyn Tts>,
    lines: DashMap<CallId, Line>,
    prefs: DashMap<CallId, VoicePrefs>,
}

impl std::fmt::Debug for Speakers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Speakers")
            .field("calls", &self.lines.len())
            .finish()
    }
}

impl Speakers {
    pub fn new(engine: Arc<dyn Tts>, barge_in: std::time::Duration) -> Self {
        Self {
            cache: Default::default(),
            prepared: Default::default(),
            prepare_run: AtomicU64::new(0),
            live_waiting: AtomicUsize::new(0),
            pending: Default::default(),
            ahead: DashMap::new(),
            heard: DashMap::new(),
            barge_in,
            caller: DashMap::new(),
            echo: DashMap::new(),
            app: std::sync::OnceLock::new(),
            engine,
            lines: DashMap::new(),
            prefs: DashMap::new(),
        }
    }

    /// Called once the app exists.
    pub fn attach(&self, app: Weak<App>) {
        let _ = self.app.set(app);
    }

    /// The entry point's voice for a call that is starting.
    pub fn prefer(&self, call: &CallId, prefs: VoicePrefs) {
        if prefs.voice.is_some() || prefs.speed.is_some() {
            self.prefs.insert(call.clone(), prefs);
        }
    }

    /// The caller's final words are in: the bot's answer is timed from here.
    pub fn heard(&self, call: &CallId) {
        self.heard.insert(call.clone(), Instant::now());
    }

    /// Say `text` in the call, after whatever the bot is still saying.
    pub fn speak(&self, call: &CallId, text: String) {
        let Some(app) = self.app.get().cloned() else {
            return;
        };
        if let (Some((_, t)), Some(a)) = (self.heard.remove(call), app.upgrade()) {
            a.metrics
                .bot_turn_stage
                .with_label_values(&["answer"])
                .observe(t.elapsed().as_secs_f64());
        }
        let line = self.lines.entry(call.clone()).or_insert_with(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            let epoch = Arc::new(AtomicU64::new(0));
            let voice = Arc::new(std::sync::Mutex::new(None));
            let saying = Arc::new(std::sync::atomic::AtomicBool::new(false));
            tokio::spawn(run(
                app,
                self.engine.clone(),
                call.clone(),
                rx,
                epoch.clone(),
                voice.clone(),
                saying.clone(),
            ));
            Line {
                tx,
                epoch,
                voice,
                saying,
            }
        });
        let _ = line.tx.send((line.epoch.load(Ordering::SeqCst), text));
    }

    /// The caller started talking. If the bot is speaking and the caller goes on for
    /// `barge_in`, the bot stops; a shorter sound ("mhm", "ok") lets it go on.
    pub fn caller_started(&self, call: &CallId, utterance: &str) {
        let now = Instant::now();
        // Within an echo path's delay of the bot's last sound, it may be that sound returning.
        let over_bot =
            self.speaking(call) || self.echo.get(call).is_some_and(|g| g.bot_recent(now));
        {
            let mut talks = self.caller.entry(call.clone()).or_default();
            for t in talks.iter_mut() {
                t.talking = false;
            }
            talks.push_back(Talk {
                id: utterance.to_string(),
                began: now,
                talking: true,
                over_bot,
                echo: false,
                interrupted: false,
            });
            while talks.len() > KEEP_TALKS {
                talks.pop_front();
            }
        }
        tracing::debug!(call_id = %call, over_bot, "caller started");
        if !over_bot {
            // Words the bot has not started saying yet are moot once the caller talks.
            if let Some(line) = self.lines.get(call) {
                line.epoch.fetch_add(1, Ordering::SeqCst);
            }
            return;
        }
        // The bot backs off at once (ducks); it stops if the caller goes on.
        self.duck(call, true);
        let Some(app) = self.app.get().cloned() else {
            return;
        };
        let call = call.clone();
        let utterance = utterance.to_string();
        let wait = self.barge_in;
        tokio::spawn(async move {
            tokio::time::sleep(wait).await;
            // The caller interrupts the bot when their own voice is still sounding after
            // `barge_in`: a short sound that is over by then ("mhm") lets the bot go on at its
            // own level. While the caller's sound is only the bot's voice coming back, keep
            // listening at full level: it interrupts once it is clearly more than that (300 ms
            // of checks in a row after it was echo, for the end of a phrase or a pause blurs
            // the evidence).
            let mut not_echo_run = 0u32;
            let mut was_echo = false;
            loop {
                let Some(app) = app.upgrade() else { return };
                let Some(sp) = app.speakers.clone() else {
                    return;
                };
                let still = sp.caller.get(&call).is_some_and(|talks| {
                    talks.back().is_some_and(|t| t.id == utterance && t.talking)
                });
                if !still {
                    sp.duck(&call, false);
                    return;
                }
                let now = Instant::now();
                let voiced = sp
                    .echo
                    .get(&call)
                    .is_none_or(|g| g.caller_voiced(now, VOICED_WINDOW));
                let judged = sp.echo.get(&call).and_then(|g| g.judge(now));
                if let Some(j) = judged {
                    tracing::debug!(
                        call_id = %call,
                        correlation = j.correlation,
                        delay_ms = j.delay.as_millis() as u64,
                        caller_db = j.caller_db,
                        bot_db = j.bot_db,
                        spread_db = j.spread_db,
                        echo = j.echo,
                        voiced,
                        "echo check"
                    );
                } else {
                    tracing::debug!(call_id = %call, voiced, "echo check: too little to judge");
                }
                let echo = judged.is_some_and(|j| j.echo);
                let real = if voiced {
                    not_echo_run = if echo { 0 } else { not_echo_run + 1 };
                    was_echo |= echo;
                    // Too little sound to compare (a faint tail of the bot's phrase, or a
                    // pause in its voice) is not yet evidence of the caller's own voice.
                    not_echo_run
                        >= if was_echo {
                            AFTER_ECHO_CHECKS
                        } else if judged.is_none() {
                            UNJUDGED_CHECKS
                        } else {
                            1
                        }
                } else {
                    not_echo_run = 0;
                    false
                };
                sp.duck(&call, voiced && !echo);
                sp.update_talk(&call, &utterance, |t| {
                    t.echo = was_echo && !real;
                    t.interrupted |= real;
                });
                if real {
                    sp.interrupt(&app, &call);
                    return;
                }
                drop(app);
                tokio::time::sleep(CHECK_EVERY).await;
            }
        });
    }

    /// The bot's voice at a lower level while the caller may be talking over it, or back at
    /// its own.
    fn duck(&self, call: &CallId, on: bool) {
        let voice = self
            .lines
            .get(call)
            .and_then(|l| l.voice.lock().ok().and_then(|v| v.clone()));
        if let Some(v) = voice {
            v.set_gain(if on { DUCK_GAIN } else { 1.0 });
        }
    }

    /// The caller's utterance ended.
    pub fn caller_stopped(&self, call: &CallId, utterance: &str) {
        self.update_talk(call, utterance, |t| t.talking = false);
    }

    /// Change what is known of a caller's utterance, by id.
    fn update_talk(&self, call: &CallId, utterance: &str, f: impl FnOnce(&mut Talk)) {
        if let Some(mut talks) = self.caller.get_mut(call) {
            if let Some(t) = talks.iter_mut().rev().find(|t| t.id == utterance) {
                f(t);
            }
        }
    }

    /// A caller's utterance, by id.
    fn talk(&self, call: &CallId, utterance: &str) -> Option<Talk> {
        let talks = self.caller.get(call)?;
        talks.iter().rev().find(|t| t.id == utterance).cloned()
    }

    /// Whether a caller's utterance began while the bot was talking (or its voice could still
    /// be coming back): words said over the bot ("sorry, wait, ...") are not a question asked
    /// into a silence, so their turn is not ended at the first pause.
    pub fn began_over_bot(&self, call: &CallId, utterance: &str) -> bool {
        self.talk(call, utterance).is_some_and(|t| t.over_bot)
    }

    /// Whether a final transcript is only a backchannel said while the bot was talking, which
    /// the bot does not answer.
    pub fn is_backchannel(&self, call: &CallId, utterance: &str, text: &str) -> bool {
        self.talk(call, utterance).is_some_and(|t| t.over_bot) && backchannel(text)
    }

    /// Whether a caller's utterance was only the bot's own voice coming back (a loudspeaker
    /// without echo cancelling): its transcript is not the caller's words. Either its sound
    /// followed the bot's, or it began over the bot, never stopped it, and its words are the
    /// words the bot was playing.
    pub fn was_echo(&self, call: &CallId, utterance: &str, text: &str) -> bool {
        let Some(t) = self.talk(call, utterance) else {
            return false;
        };
        if t.echo {
            return true;
        }
        let repeats = t.over_bot
            && !t.interrupted
            && self
                .echo
                .get(call)
                .is_some_and(|g| g.repeats_bot(text, t.began, Instant::now()));
        if repeats {
            tracing::debug!(call_id = %call, utterance, "echo by its words");
        }
        repeats
    }

    /// The caller's audio as the live transcript receives it (16 kHz), for the echo check.
    pub fn caller_audio(&self, call: &CallId, samples: &[f32], rate: u32) {
        if !self.lines.contains_key(call) {
            return;
        }
        self.echo
            .entry(call.clone())
            .or_default()
            .caller_audio(Instant::now(), samples, rate);
    }

    /// The bot falls silent at once.
    pub fn interrupt(&self, app: &App, call: &CallId) {
        tracing::debug!(call_id = %call, "barge-in");
        let Some(line) = self.lines.get(call) else {
            return;
        };
        let voice = line.voice.lock().ok().and_then(|v| v.clone());
        if let Some(v) = voice {
            // Counted when the bot was playing, or between two phrases of its reply (the
            // next one still being made: it is skipped below).
            if v.speaking() || line.saying.load(Ordering::SeqCst) {
                app.metrics.bot_barge_ins.inc();
            }
            v.stop();
            v.set_gain(1.0);
        }
        if let Some(mut g) = self.echo.get_mut(call) {
            g.bot_stopped(Instant::now());
        }
        line.epoch.fetch_add(1, Ordering::SeqCst);
    }

    /// Whether the bot's voice is playing in the call.
    pub fn speaking(&self, call: &CallId) -> bool {
        self.lines
            .get(call)
            .and_then(|l| l.voice.lock().ok().and_then(|v| v.clone()))
            .is_some_and(|v| v.speaking())
    }

    /// The bot leaves the call (an agent took over, or the call ended).
    pub fn stop(&self, call: &CallId) {
        self.prefs.remove(call);
        self.ahead.remove(call);
        self.heard.remove(call);
        self.caller.remove(call);
        self.echo.remove(call);
        if let Some((_, line)) = self.lines.remove(call) {
            line.epoch.fetch_add(1, Ordering::SeqCst);
            if let Some(v) = line.voice.lock().ok().and_then(|v| v.clone()) {
                v.stop();
            }
            // Dropping the sender ends the call's task, which takes the voice out.
        }
    }

    /// One phrase's audio at the voice's rate, from the cache or synthesised on a blocking
    /// thread.
    async fn phrase(
        &self,
        engine: &Arc<dyn Tts>,
        text: &str,
        lang: Lang,
        speaker: &Speaker,
    ) -> Result<Result<Arc<[i16]>, tts::TtsError>, tokio::task::JoinError> {
        let key = (
            speaker.voice.clone(),
            speaker.speed.to_bits(),
            text.to_string(),
        );
        if let Some(hit) = self.cached(&key) {
            return Ok(Ok(hit));
        }
        // Made once even when wanted twice at once (ahead of the final, then for real).
        let cell = match self.pending.lock() {
            Ok(mut p) => p.entry(key.clone()).or_default().clone(),
            Err(_) => Pending::default(),
        };
        let made = cell
            .get_or_try_init(|| async {
                let engine = engine.clone();
                let sp = speaker.clone();
                let t = text.to_string();
                self.live_waiting.fetch_add(1, Ordering::SeqCst);
                let made =
                    tokio::task::spawn_blocking(move || engine.synthesize(&t, lang, &sp)).await;
                self.live_waiting.fetch_sub(1, Ordering::SeqCst);
                match made {
                    Ok(Ok(a)) => Ok(Arc::<[i16]>::from(a.to_i16())),
                    Ok(Err(e)) => Err(Ok(e)),
                    Err(e) => Err(Err(e)),
                }
            })
            .await
            .cloned();
        if let Ok(mut p) = self.pending.lock() {
            p.remove(&key);
        }
        match made {
            Ok(pcm) => {
                if let Ok(mut c) = self.cache.lock() {
                    c.put(key, pcm.clone());
                }
                Ok(Ok(pcm))
            }
            Err(Ok(e)) => Ok(Err(e)),
            Err(Err(e)) => Err(e),
        }
    }

    /// Whether the bot speaks in the call (it has said something and not left).
    pub fn active(&self, call: &CallId) -> bool {
        self.lines.contains_key(call)
    }

    /// The caller's turn may end with `reply` as the bot's answer: its first phrase is made
    /// now, while the final transcript is still being waited for, so that the answer starts
    /// at once if it is the same. One such phrase per call at a time.
    pub fn prepare(self: &Arc<Self>, app: &App, call: &CallId, reply: &str) {
        let lang = language_for(app, call, reply);
        let speaker = self.speaker_for(app, call, lang);
        let Some(first) = tts::phrases(reply).into_iter().next() else {
            return;
        };
        let key = (
            speaker.voice.clone(),
            speaker.speed.to_bits(),
            first.clone(),
        );
        if self.cached(&key).is_some() {
            return;
        }
        match self.ahead.entry(call.clone()) {
            dashmap::mapref::entry::Entry::Occupied(o) if o.get().1 => return,
            dashmap::mapref::entry::Entry::Occupied(mut o) => {
                o.insert((key, true));
            }
            dashmap::mapref::entry::Entry::Vacant(v) => {
                v.insert((key, true));
            }
        }
        app.metrics
            .bot_speculative
            .with_label_values(&["made"])
            .inc();
        let me = self.clone();
        let engine = self.engine.clone();
        let call = call.clone();
        tokio::spawn(async move {
            if let Ok(Err(e)) = me.phrase(&engine, &first, lang, &speaker).await {
                tracing::warn!(call_id = %call, "bot voice: {e}");
            }
            if let Some(mut a) = me.ahead.get_mut(&call) {
                a.1 = false;
            }
        });
    }

    /// Whether a reply's first phrase is the one made ahead for the call (counted once).
    fn was_made_ahead(&self, call: &CallId, key: &CacheKey) -> bool {
        self.ahead.remove_if(call, |_, a| &a.0 == key).is_some()
    }

    /// A phrase's audio if it is ready: prepared, or recently made.
    fn cached(&self, key: &CacheKey) -> Option<Arc<[i16]>> {
        if let Some(hit) = self.prepared.read().ok().and_then(|p| p.get(key).cloned()) {
            return Some(hit);
        }
        self.cache.lock().ok().and_then(|c| c.get(key))
    }

    /// Makes `lines` ready to speak before anyone asks: each line's first phrase (all of
    /// them for `whole` lines, such as the greeting), read from `dir` when an earlier run
    /// left it there, else synthesised on a thread of its own at the lowest CPU priority,
    /// one phrase at a time and only while no call waits for the engine, then kept in
    /// `dir`. What an earlier preparation kept and these lines no longer say is dropped
    /// (from memory and from `dir`). A newer call stops an older one that is still going.
    pub fn prepare_lines(
        self: &Arc<Self>,
        lines: Vec<(String, Lang, Speaker, bool)>,
        dir: Option<std::path::PathBuf>,
        prepared_total: prometheus::IntCounterVec,
        preparing: prometheus::IntGauge,
    ) {
        let run = self.prepare_run.fetch_add(1, Ordering::SeqCst) + 1;
        // Set before the thread starts: from this call on, the work is known to be under way.
        preparing.set(1);
        let done = preparing.clone();
        let me = self.clone();
        let spawned = std::thread::Builder::new()
            .name("bot-voice-prepare".into())
            .spawn(move || {
                let me_tid = rustix::thread::gettid();
                if let Err(e) = rustix::process::setpriority_process(Some(me_tid), 19) {
                    tracing::debug!("could not lower the voice preparation's priority: {e}");
                }
                let mut keys: Vec<(CacheKey, Lang)> = vec![];
                for (text, lang, speaker, whole) in &lines {
                    let phrases = tts::phrases(text);
                    let take = if *whole { phrases.len() } else { 1 };
                    for p in phrases.into_iter().take(take) {
                        let k = (speaker.voice.clone(), speaker.speed.to_bits(), p);
                        if !keys.iter().any(|(x, _)| x == &k) {
                            keys.push((k, *lang));
                        }
                    }
                }
                if let Some(d) = &dir {
                    if let Err(e) = std::fs::create_dir_all(d) {
                        tracing::warn!(dir = %d.display(), "bot voice cache: {e}");
                    }
                }
                let t0 = Instant::now();
                let (mut made, mut read) = (0usize, 0usize);
                for (key, lang) in &keys {
                    if me.prepare_run.load(Ordering::SeqCst) != run {
                        return;
                    }
                    if me.prepared.read().is_ok_and(|p| p.contains_key(key)) {
                        continue;
                    }
                    let file = dir.as_ref().map(|d| d.join(cache_file(key, *lang)));
                    if let Some(pcm) = file.as_deref().and_then(read_pcm) {
                        read += 1;
                        prepared_total.with_label_values(&["disk"]).inc();
                        me.keep_prepared(key.clone(), pcm);
                        continue;
                    }
                    // Calls first: wait while any phrase of theirs waits for the engine.
                    while me.live_waiting.load(Ordering::SeqCst) > 0 {
                        std::thread::sleep(std::time::Duration::from_millis(50));
                    }
                    let speaker = Speaker {
                        voice: key.0.clone(),
                        speed: f32::from_bits(key.1),
                    };
                    match me.engine.synthesize(&key.2, *lang, &speaker) {
                        Ok(a) => {
                            let pcm: Arc<[i16]> = Arc::from(a.to_i16());
                            if let Some(f) = &file {
                                if let Err(e) = write_pcm(f, &pcm) {
                                    tracing::warn!(file = %f.display(), "bot voice cache: {e}");
                                }
                            }
                            made += 1;
                            prepared_total.with_label_values(&["synthesised"]).inc();
                            me.keep_prepared(key.clone(), pcm);
                        }
                        Err(e) => {
                            tracing::warn!("bot voice: preparing {:?}: {e}", key.2);
                            if me.prepare_run.load(Ordering::SeqCst) == run {
                                done.set(0);
                            }
                            return;
                        }
                    }
                }
                if me.prepare_run.load(Ordering::SeqCst) != run {
                    return;
                }
                // What no line says any more goes.
                if let Ok(mut p) = me.prepared.write() {
                    p.retain(|k, _| keys.iter().any(|(x, _)| x == k));
                }
                if let Some(d) = &dir {
                    let wanted: std::collections::HashSet<String> =
                        keys.iter().map(|(k, l)| cache_file(k, *l)).collect();
                    for e in std::fs::read_dir(d).into_iter().flatten().flatten() {
                        let name = e.file_name().to_string_lossy().into_owned();
                        if name.ends_with(".pcm") && !wanted.contains(&name) {
                            let _ = std::fs::remove_file(e.path());
                        }
                    }
                }
                tracing::info!(
                    phrases = keys.len(),
                    synthesised = made,
                    from_disk = read,
                    ms = t0.elapsed().as_millis() as u64,
                    "bot voice: phrases prepared"
                );
                if me.prepare_run.load(Ordering::SeqCst) == run {
                    done.set(0);
                }
            });
        if let Err(e) = spawned {
            tracing::warn!("bot voice: could not start preparing phrases: {e}");
            preparing.set(0);
        }
    }

    fn keep_prepared(&self, key: CacheKey, pcm: Arc<[i16]>) {
        if let Ok(mut p) = self.prepared.write() {
            p.insert(key, pcm);
        }
    }

    fn speaker_for(&self, app: &App, call: &CallId, lang: Lang) -> Speaker {
        let prefs = self.prefs.get(call).map(|p| p.clone()).unwrap_or_default();
        prefs.speaker(&app.config.bot.voice, lang)
    }
}

impl VoicePrefs {
    /// How the bot sounds in `lang` with these preferences: an entry point's voice is for its
    /// own language (the other keeps the default), its speed for both.
    pub fn speaker(&self, cfg: &crate::config::VoiceConfig, lang: Lang) -> Speaker {
        let default = match lang {
            Lang::En => &cfg.voice_en,
            Lang::Zh => &cfg.voice_zh,
        };
        let voice = self
            .voice
            .clone()
            .filter(|v| voice_language(v) == Some(lang))
            .unwrap_or_else(|| default.clone());
        Speaker {
            voice,
            speed: self.speed.unwrap_or(cfg.speed),
        }
    }
}

/// The language the bot speaks `text` in, in a call.
fn language_for(app: &App, call: &CallId, text: &str) -> Lang {
    match app.bot.as_ref().and_then(|b| b.language_of(call)) {
        Some(bot::Language::Zh) => Lang::Zh,
        _ if text.chars().any(|c| ('\u{4E00}'..='\u{9FFF}').contains(&c)) => Lang::Zh,
        _ => Lang::En,
    }
}

/// Short acknowledgements a listener makes without taking the turn.
pub fn backchannel(text: &str) -> bool {
    // Not "yes" or "是": said over the end of a question, they are the answer.
    const WORDS: [&str; 19] = [
        "mhm", "mm", "mmm", "hmm", "uh", "huh", "uhhuh", "aha", "ah", "um", "ok", "okay", "yeah",
        "right", "alright", "嗯", "嗯嗯", "好", "好的",
    ];
    let words: Vec<String> = text
        .split(|c: char| c.is_whitespace() || c == ',' || c == '，')
        .map(|w| {
            w.chars()
                .filter(|c| c.is_alphanumeric())
                .collect::<String>()
                .to_lowercase()
        })
        .filter(|w| !w.is_empty())
        .collect();
    !words.is_empty() && words.len() <= 2 && words.iter().all(|w| WORDS.contains(&w.as_str()))
}

/// The language of a Kokoro voice, from its name (`af_heart`: American English, `zf_...`:
/// Mandarin).
pub fn voice_language(name: &str) -> Option<Lang> {
    match name.chars().next()? {
        'a' | 'b' => Some(Lang::En),
        'z' => Some(Lang::Zh),
        _ => None,
    }
}

/// A prepared phrase's file name: a hash of the voice, speed, language and words (and of
/// the engine's version and audio revision, so that a new engine never plays an old one's
/// audio).
fn cache_file(key: &CacheKey, lang: Lang) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(env!("CARGO_PKG_VERSION").as_bytes());
    h.update([0]);
    h.update(tts::AUDIO_REVISION.to_le_bytes());
    h.update(key.0.as_bytes());
    h.update([0]);
    h.update(key.1.to_le_bytes());
    h.update(lang.as_str().as_bytes());
    h.update([0]);
    h.update(key.2.as_bytes());
    let d = h.finalize();
    let hex: String = d[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("{hex}.pcm")
}

/// A cached phrase (16-bit little-endian samples at the engine's rate); `None` if missing
/// or not whole.
fn read_pcm(path: &std::path::Path) -> Option<Arc<[i16]>> {
    let bytes = std::fs::read(path).ok()?;
    if bytes.is_empty() || bytes.len() % 2 != 0 {
        return None;
    }
    Some(
        bytes
            .chunks_exact(2)
            .map(|c| i16::from_le_bytes([c[0], c[1]]))
            .collect(),
    )
}

/// Writes a phrase whole or not at all (a temporary file renamed into place).
fn write_pcm(path: &std::path::Path, pcm: &[i16]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    let bytes: Vec<u8> = pcm.iter().flat_map(|s| s.to_le_bytes()).collect();
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

async fn run(
    app: Weak<App>,
    engine: Arc<dyn Tts>,
    call: CallId,
    mut rx: mpsc::UnboundedReceiver<(u64, String)>,
    epoch: Arc<AtomicU64>,
    slot: Arc<std::sync::Mutex<Option<Arc<Voice>>>>,
    saying: Arc<std::sync::atomic::AtomicBool>,
) {
    let mut voice: Option<Arc<Voice>> = None;
    while let Some((said_at, text)) = rx.recv().await {
        if epoch.load(Ordering::SeqCst) != said_at {
            continue;
        }
        let Some(a) = app.upgrade() else { break };
        let Some(speakers) = a.speakers.clone() else {
            break;
        };
        let lang = language_for(&a, &call, &text);
        let speaker = speakers.speaker_for(&a, &call, lang);
        if voice.is_none() {
            match super::voice::join(&a, &call).await {
                Ok(v) => {
                    if let Ok(mut s) = slot.lock() {
                        *s = Some(v.clone());
                    }
                    voice = Some(v);
                }
                Err(e) => {
                    tracing::warn!(call_id = %call, "bot voice: {}", e.message);
                    break;
                }
            }
        }
        let v = voice.clone().expect("joined above");
        let metrics = a.metrics.clone();
        drop(a);
        let speakers = speakers.clone();
        let t0 = Instant::now();
        saying.store(true, Ordering::SeqCst);
        for (i, phrase) in tts::phrases(&text).into_iter().enumerate() {
            if epoch.load(Ordering::SeqCst) != said_at {
                break;
            }
            let started = Instant::now();
            if i == 0 {
                let key = (
                    speaker.voice.clone(),
                    speaker.speed.to_bits(),
                    phrase.clone(),
                );
                if speakers.was_made_ahead(&call, &key) {
                    metrics.bot_speculative.with_label_values(&["used"]).inc();
                }
            }
            let audio = speakers.phrase(&engine, &phrase, lang, &speaker).await;
            let audio = match audio {
                Ok(Ok(a)) => a,
                Ok(Err(e)) => {
                    tracing::warn!(call_id = %call, "bot voice: {e}");
                    metrics.bot_voice_errors.inc();
                    break;
                }
                Err(e) => {
                    tracing::error!(call_id = %call, "bot voice task: {e}");
                    break;
                }
            };
            metrics
                .bot_synthesis
                .observe(started.elapsed().as_secs_f64());
            if i == 0 {
                metrics.bot_first_audio.observe(t0.elapsed().as_secs_f64());
                metrics
                    .bot_turn_stage
                    .with_label_values(&["first_phrase"])
                    .observe(t0.elapsed().as_secs_f64());
            }
            if epoch.load(Ordering::SeqCst) != said_at {
                break;
            }
            speakers.echo.entry(call.clone()).or_default().bot_plays(
                Instant::now(),
                &phrase,
                &audio,
                tts::kokoro::RATE,
            );
            if v.play(audio, tts::kokoro::RATE).is_err() {
                break;
            }
        }
        saying.store(false, Ordering::SeqCst);
    }
    if let (Some(v), Some(a)) = (voice, app.upgrade()) {
        super::voice::leave(&a, &call, v.id());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backchannels() {
        for t in ["Mhm.", "okay", "Yeah, yeah.", "嗯。", "uh-huh", "OK."] {
            assert!(backchannel(t), "{t}");
        }
        for t in [
            "",
            "Yes, I want a refund.",
            "okay so my order",
            "no",
            "wait",
        ] {
            assert!(!backchannel(t), "{t}");
        }
    }

    #[test]
    fn prepared_phrases_on_disk() {
        let dir = std::env::temp_dir().join(format!("sb-voice-cache-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let key = (
            "af_heart".to_string(),
            1.0f32.to_bits(),
            "Hello there.".to_string(),
        );
        let name = cache_file(&key, Lang::En);
        // Another voice, speed, language or text is another file.
        for other in [
            (("af_bella".to_string(), key.1, key.2.clone()), Lang::En),
            ((key.0.clone(), 1.2f32.to_bits(), key.2.clone()), Lang::En),
            ((key.0.clone(), key.1, "Hello there!".to_string()), Lang::En),
            (key.clone(), Lang::Zh),
        ] {
            assert_ne!(cache_file(&other.0, other.1), name);
        }
        let path = dir.join(&name);
        let pcm: Vec<i16> = (0..4800).map(|i| (i % 300) as i16 - 150).collect();
        write_pcm(&path, &pcm).unwrap();
        assert_eq!(read_pcm(&path).as_deref(), Some(&pcm[..]));
        assert!(
            !dir.join(name.replace(".pcm", ".tmp")).exists(),
            "no temporary file left"
        );
        // A torn or empty file is not a phrase.
        std::fs::write(&path, [1u8, 2, 3]).unwrap();
        assert!(read_pcm(&path).is_none());
        std::fs::write(&path, []).unwrap();
        assert!(read_pcm(&path).is_none());
        assert!(read_pcm(&dir.join("missing.pcm")).is_none());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
