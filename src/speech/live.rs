//! Live transcription of calls: one light async task per speaker stream, all sharing one
//! [`AsrPool`]. The task runs the endpointer on decoded frames, queues partial and final jobs,
//! scores finals for emotion and hands events to a [`SpeechSink`].

use super::asr::{AsrOutcome, AsrPool, Job, JobKind};
use super::emotion::{self, Emotion, SpeakerBaseline, Trend};
use super::endpoint::{EndpointEvent, Endpointer, SAMPLE_RATE};
use super::{SpeechConfig, SpeechMetrics};
use media::FrameQueue;
use signaling::CallId;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use vocab::ParticipantKind;

/// A partial or final transcript of one utterance.
#[derive(Clone, Debug, PartialEq)]
pub struct TranscriptEvent {
    pub speaker: ParticipantKind,
    /// Unique within the call: `customer-3`, `agent-1`.
    pub utterance_id: String,
    /// Milliseconds since the call started.
    pub start_ms: u64,
    pub end_ms: u64,
    /// Empty in a final means "this utterance was not speech after all": forget its partials.
    pub text: String,
    pub is_final: bool,
}

/// A final utterance with its emotion and the speaker's running trend.
#[derive(Clone, Debug)]
pub struct FinalUtterance {
    pub event: TranscriptEvent,
    pub emotion: Emotion,
    pub trend: Trend,
    pub language: String,
    /// End-of-utterance decision to final text (zero when it was recognised at the pause
    /// before the decision).
    pub latency: Duration,
    /// The speaker's last voiced sound to the end-of-utterance decision (the silence waited
    /// for, and how late the audio arrived).
    pub endpointing: Duration,
}

/// Where a stream's results go (the server, or a benchmark).
pub trait SpeechSink: Send + Sync + 'static {
    fn transcript(&self, call: &CallId, event: TranscriptEvent);
    fn utterance(&self, call: &CallId, utterance: FinalUtterance);
    /// A speaker started talking (voice activity, before any words are recognised). The
    /// utterance id is the one its transcript events will carry.
    fn speech_started(&self, _call: &CallId, _speaker: ParticipantKind, _utterance: &str) {}
    /// That speaker stopped (the utterance ended, recognised or not).
    fn speech_ended(&self, _call: &CallId, _speaker: ParticipantKind, _utterance: &str) {}
    /// A speaker's audio as it arrives (16 kHz mono), before voice activity is judged.
    fn audio(&self, _call: &CallId, _speaker: ParticipantKind, _samples: &[f32]) {}
    /// An utterance of that speaker ended without words (not speech, nothing recognised): no
    /// final follows its `speech_ended`.
    fn no_words(&self, _call: &CallId, _speaker: ParticipantKind) {}
    /// Whether this speaker's words are wanted early: recognised at each pause (`early_final_ms`)
    /// so that the final is ready when the utterance ends there (someone is waiting to answer).
    fn wants_early_finals(&self, _call: &CallId, _speaker: ParticipantKind) -> bool {
        false
    }
    /// Whether `text`, this speaker's words in `utterance` up to a pause (an early final), is
    /// a whole turn that someone is waiting to answer: then the utterance ends once the pause
    /// has lasted `turn_end_ms`, not `min_silence_ms`.
    fn ends_turn(
        &self,
        _call: &CallId,
        _speaker: ParticipantKind,
        _utterance: &str,
        _text: &str,
    ) -> bool {
        false
    }
}

/// Each live call's streams (stream key, its frame queue).
type StreamRegistry = HashMap<CallId, Vec<(u64, FrameQueue)>>;

/// The live pipeline: a shared pool and the settings every stream uses.
pub struct LiveSpeech {
    pool: Arc<AsrPool>,
    cfg: SpeechConfig,
    metrics: SpeechMetrics,
    next_stream: AtomicU64,
    /// The streams of each live call, so that ending the call ends them.
    calls: Arc<Mutex<StreamRegistry>>,
}

impl LiveSpeech {
    pub fn new(pool: AsrPool, cfg: SpeechConfig, metrics: SpeechMetrics) -> Self {
        Self {
            pool: Arc::new(pool),
            cfg,
            metrics,
            next_stream: AtomicU64::new(1),
            calls: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// The call ended: its streams stop taking audio at once, their queued partials go, and
    /// finals still queued after `end_grace_ms` are dropped.
    pub fn stop_call(&self, call: &CallId) {
        let streams = self.calls.lock().expect("lock").remove(call);
        for (key, frames) in streams.unwrap_or_default() {
            frames.close();
            self.pool.cancel(key, true);
        }
    }

    pub fn config(&self) -> &SpeechConfig {
        &self.cfg
    }

    pub fn supports(&self, language: &str) -> bool {
        self.pool.models().supports(language)
    }

    /// Transcribe `frames` (one speaker of one call) until the queue closes, then finish the
    /// utterances still being recognised.
    pub fn start_stream(
        &self,
        sink: Arc<dyn SpeechSink>,
        call: CallId,
        speaker: ParticipantKind,
        language: String,
        frames: FrameQueue,
        call_started: Instant,
    ) {
        let key = self.next_stream.fetch_add(1, Ordering::Relaxed);
        self.calls
            .lock()
            .expect("lock")
            .entry(call.clone())
            .or_default()
            .push((key, frames.clone()));
        let stream = Stream {
            key,
            registry: self.calls.clone(),
            grace: Duration::from_millis(self.cfg.end_grace_ms),
            pool: self.pool.clone(),
            metrics: self.metrics.clone(),
            sink,
            call,
            speaker,
            language,
            call_started,
            starts: HashMap::new(),
            finals: HashMap::new(),
            shown: HashSet::new(),
            done: HashSet::new(),
            early: HashMap::new(),
            baseline: SpeakerBaseline::default(),
            trend: Trend::default(),
            turn_end_ms: self.cfg.turn_end_ms,
        };
        let ep = Endpointer::new(self.cfg.endpoint());
        tokio::spawn(stream.run(ep, frames));
    }
}

type Reply = (u64, Tag, AsrOutcome);

/// What a recognition job was for.
#[derive(Clone, Copy, Debug)]
enum Tag {
    Partial,
    Final,
    /// Asked at a pause that ended at sample `end`.
    Early {
        end: u64,
    },
}

/// A final recognised at a pause, kept until the utterance ends (there, or later).
struct Early {
    end: u64,
    len: usize,
    outcome: Option<AsrOutcome>,
    /// The utterance ended at this pause, at this instant: the outcome is its final.
    ended_at: Option<Instant>,
}

/// After this long without frames, a stream counts the gap as silence.
const STALL: Duration = Duration::from_millis(250);

struct Stream {
    key: u64,
    registry: Arc<Mutex<StreamRegistry>>,
    grace: Duration,
    pool: Arc<AsrPool>,
    metrics: SpeechMetrics,
    sink: Arc<dyn SpeechSink>,
    call: CallId,
    speaker: ParticipantKind,
    language: String,
    call_started: Instant,
    /// Start (ms since call start) of utterances not yet final.
    starts: HashMap<u64, u64>,
    /// Finals being recognised: start, end (ms), audio.
    finals: HashMap<u64, (u64, u64, Vec<f32>, Duration)>,
    /// Utterances that had a partial shown.
    shown: HashSet<u64>,
    /// Utterances whose final is out.
    done: HashSet<u64>,
    /// Early finals, by utterance.
    early: HashMap<u64, Early>,
    baseline: SpeakerBaseline,
    trend: Trend,
    /// The pause that ends a whole turn ([`SpeechSink::ends_turn`]); 0: off.
    turn_end_ms: u32,
}

impl Stream {
    async fn run(mut self, mut ep: Endpointer, frames: FrameQueue) {
        self.metrics.live_streams.inc();
        let (tx, mut rx) = mpsc::unbounded_channel::<Reply>();
        let mut open = true;
        let mut deadline = tokio::time::Instant::now();
        loop {
            if !open && self.finals.is_empty() {
                break;
            }
            tokio::select! {
                batch = frames.recv_all(), if open => {
                    let events = match batch {
                        Some(batch) => {
                            let mut ev = vec![];
                            for f in batch {
                                self.sink.audio(&self.call, self.speaker, &f.samples);
                                ev.extend(ep.push(&f.samples));
                            }
                            ev
                        }
                        None => {
                            open = false;
                            // Finals still due get a little time; partials are moot.
                            deadline = tokio::time::Instant::now() + self.grace;
                            self.pool.cancel(self.key, true);
                            ep.finish()
                        }
                    };
                    let now = Instant::now();
                    let pos = ep.position();
                    for e in events {
                        self.on_endpoint(e, now, pos, &tx);
                    }
                }
                Some((u, tag, outcome)) = rx.recv() => {
                    // Words that make a whole turn end it at their pause, sooner.
                    if let Some(end) = self.on_reply(u, tag, outcome, &tx) {
                        let events = ep.end_early(u, end, self.turn_end_ms);
                        let now = Instant::now();
                        let pos = ep.position();
                        for e in events {
                            self.on_endpoint(e, now, pos, &tx);
                        }
                    }
                }
                // No audio (the speaker muted, or their packets stopped): that is silence, and
                // it must still end the utterance in progress.
                _ = tokio::time::sleep(STALL), if open && ep.is_speaking() => {
                    let silence = vec![0f32; STALL.as_millis() as usize * SAMPLE_RATE / 1000];
                    let events = ep.push(&silence);
                    let now = Instant::now();
                    let pos = ep.position();
                    for e in events {
                        self.on_endpoint(e, now, pos, &tx);
                    }
                }
                _ = tokio::time::sleep_until(deadline), if !open => break,
            }
        }
        // Whatever is still queued belongs to a call that has ended.
        self.pool.cancel(self.key, false);
        {
            let mut reg = self.registry.lock().expect("lock");
            if let Some(v) = reg.get_mut(&self.call) {
                v.retain(|(k, _)| *k != self.key);
                if v.is_empty() {
                    reg.remove(&self.call);
                }
            }
        }
        self.metrics.live_streams.dec();
    }

    /// Milliseconds since the call started of sample `s`, given that sample `pos` is `now`.
    fn call_ms(&self, s: u64, now: Instant, pos: u64) -> u64 {
        let now_ms = now.duration_since(self.call_started).as_millis() as u64;
        now_ms.saturating_sub(pos.saturating_sub(s) * 1000 / SAMPLE_RATE as u64)
    }

    fn utterance_id(&self, u: u64) -> String {
        format!("{}-{u}", self.speaker.as_str())
    }

    fn on_endpoint(
        &mut self,
        e: EndpointEvent,
        now: Instant,
        pos: u64,
        tx: &mpsc::UnboundedSender<Reply>,
    ) {
        match e {
            EndpointEvent::Started { utterance, start } => {
                let ms = self.call_ms(start, now, pos);
                self.starts.insert(utterance, ms);
                let id = self.utterance_id(utterance);
                self.sink.speech_started(&self.call, self.speaker, &id);
            }
            EndpointEvent::Partial {
                utterance, audio, ..
            } => {
                // An early final of this utterance is being recognised: it is the newest
                // partial there will be, and a partial now would take its CPU.
                let early_pending = self
                    .early
                    .get(&utterance)
                    .is_some_and(|e| e.outcome.is_none());
                if !early_pending && !super::nonspeech::is_non_speech(&audio) {
                    self.submit(utterance, Tag::Partial, audio, now, tx);
                }
            }
            EndpointEvent::Pause {
                utterance,
                end,
                audio,
                ..
            } => {
                // Only while the recognisers keep up: under load an early final would delay
                // someone's real final, and the speaker may still go on.
                if !self.sink.wants_early_finals(&self.call, self.speaker)
                    || self.pool.finals_waiting() > 0
                    || super::nonspeech::is_non_speech(&audio)
                {
                    return;
                }
                self.early.insert(
                    utterance,
                    Early {
                        end,
                        len: audio.len(),
                        outcome: None,
                        ended_at: None,
                    },
                );
                self.submit(utterance, Tag::Early { end }, audio, now, tx);
            }
            EndpointEvent::Ended {
                utterance,
                start,
                end,
                audio,
            } => {
                let start_ms = self
                    .starts
                    .remove(&utterance)
                    .unwrap_or_else(|| self.call_ms(start, now, pos));
                let end_ms = self.call_ms(end, now, pos);
                let id = self.utterance_id(utterance);
                self.sink.speech_ended(&self.call, self.speaker, &id);
                let early = self.early.remove(&utterance);
                if super::nonspeech::is_non_speech(&audio) {
                    // A tone or hum: nothing to recognise; withdraw any partial shown.
                    self.metrics.non_speech.inc();
                    self.sink.no_words(&self.call, self.speaker);
                    if self.shown.remove(&utterance) {
                        self.sink.transcript(
                            &self.call,
                            TranscriptEvent {
                                speaker: self.speaker,
                                utterance_id: self.utterance_id(utterance),
                                start_ms,
                                end_ms,
                                text: String::new(),
                                is_final: true,
                            },
                        );
                    }
                    return;
                }
                // Ended at the pause that early final was for: the same words (its audio may
                // have less trailing silence, when `early_final_ms` < `pad_ms`).
                let same = early
                    .as_ref()
                    .is_some_and(|e| e.end == end && e.len <= audio.len());
                let endpointing =
                    Duration::from_secs_f64(pos.saturating_sub(end) as f64 / SAMPLE_RATE as f64);
                self.finals
                    .insert(utterance, (start_ms, end_ms, audio.clone(), endpointing));
                match early {
                    // Recognised at the pause it ended with: that is the final, now or when
                    // it comes.
                    Some(mut e) if same => match e.outcome.take() {
                        Some(outcome) => self.on_result(utterance, outcome, Some(now)),
                        None => {
                            e.ended_at = Some(now);
                            self.early.insert(utterance, e);
                        }
                    },
                    _ => self.submit(utterance, Tag::Final, audio, now, tx),
                }
            }
        }
    }

    fn submit(
        &self,
        utterance: u64,
        tag: Tag,
        audio: Vec<f32>,
        now: Instant,
        tx: &mpsc::UnboundedSender<Reply>,
    ) {
        let tx = tx.clone();
        let kind = match tag {
            Tag::Partial => JobKind::Partial,
            Tag::Final => JobKind::Final,
            Tag::Early { .. } => JobKind::Early,
        };
        let turn = self.sink.wants_early_finals(&self.call, self.speaker);
        self.pool.submit(Job {
            stream: self.key,
            utterance,
            kind,
            audio,
            language: self.language.clone(),
            turn,
            queued_at: now,
            reply: Box::new(move |o| {
                let _ = tx.send((utterance, tag, o));
            }),
        });
    }

    /// A recognition came back. `Some(end)`: an early final of the utterance's pause at
    /// `end` whose words make a whole turn (the caller may have gone on since).
    fn on_reply(
        &mut self,
        u: u64,
        tag: Tag,
        outcome: AsrOutcome,
        tx: &mpsc::UnboundedSender<Reply>,
    ) -> Option<u64> {
        match tag {
            Tag::Partial => self.on_partial(u, outcome),
            Tag::Final => self.on_result(u, outcome, None),
            Tag::Early { end } => {
                let Some(e) = self.early.get_mut(&u).filter(|e| e.end == end) else {
                    return None; // the speaker went on after that pause
                };
                if !matches!(outcome, AsrOutcome::Done(_)) {
                    // Dropped or failed: the utterance gets an ordinary final.
                    let ended = e.ended_at.is_some();
                    self.early.remove(&u);
                    if let Some((_, _, audio, _)) = self.finals.get(&u).filter(|_| ended) {
                        let audio = audio.clone();
                        self.submit(u, Tag::Final, audio, Instant::now(), tx);
                    }
                    return None;
                }
                match e.ended_at {
                    Some(ended) => {
                        self.early.remove(&u);
                        self.on_result(u, outcome, Some(ended));
                    }
                    None => {
                        e.outcome = Some(outcome);
                        // Until the utterance ends here, it is the best partial there is.
                        if let Some(AsrOutcome::Done(r)) = &e.outcome {
                            if super::offline::keep(r) {
                                let r = r.clone();
                                let whole = self.turn_end_ms > 0
                                    && self.sink.ends_turn(
                                        &self.call,
                                        self.speaker,
                                        &self.utterance_id(u),
                                        &r.text,
                                    );
                                self.on_partial(u, AsrOutcome::Done(r));
                                return whole.then_some(end);
                            }
                        }
                    }
                }
            }
        }
        None
    }

    fn on_partial(&mut self, u: u64, outcome: AsrOutcome) {
        let AsrOutcome::Done(r) = outcome else { return };
        if self.done.contains(&u) || self.finals.contains_key(&u) || r.text.is_empty() {
            return; // the final is due or out: a partial now would go backwards
        }
        let Some(&start_ms) = self.starts.get(&u) else {
            return;
        };
        let end_ms = start_ms + (r.audio_s * 1000.0) as u64;
        self.shown.insert(u);
        self.sink.transcript(
            &self.call,
            TranscriptEvent {
                speaker: self.speaker,
                utterance_id: self.utterance_id(u),
                start_ms,
                end_ms,
                text: r.text,
                is_final: false,
            },
        );
    }

    /// An utterance's final; `ended` is when it ended, if it was recognised before that.
    fn on_result(&mut self, u: u64, outcome: AsrOutcome, ended: Option<Instant>) {
        let Some((start_ms, end_ms, audio, endpointing)) = self.finals.remove(&u) else {
            return;
        };
        self.done.insert(u);
        let (speaker, utterance_id) = (self.speaker, self.utterance_id(u));
        let event = move |text: String| TranscriptEvent {
            speaker,
            utterance_id: utterance_id.clone(),
            start_ms,
            end_ms,
            text,
            is_final: true,
        };
        match outcome {
            AsrOutcome::Done(r) if super::offline::keep(&r) => {
                let emotion = emotion::score(&audio, &r.text, &self.language, &mut self.baseline);
                self.trend.update(&emotion);
                self.metrics
                    .utterances
                    .with_label_values(&[emotion.label.as_str()])
                    .inc();
                self.sink.utterance(
                    &self.call,
                    FinalUtterance {
                        event: event(r.text),
                        emotion,
                        trend: self.trend.clone(),
                        language: self.language.clone(),
                        latency: ended.map_or(r.latency, |t| t.elapsed()),
                        endpointing,
                    },
                );
            }
            other => {
                if let AsrOutcome::Failed(e) = &other {
                    tracing::warn!(call_id = %self.call, "recognition failed: {e}");
                }
                if self.shown.contains(&u) {
                    self.sink.transcript(&self.call, event(String::new()));
                }
                self.sink.no_words(&self.call, self.speaker);
            }
        }
        self.shown.remove(&u);
    }
}
