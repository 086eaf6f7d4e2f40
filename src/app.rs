//! The wiring between signalling, media and storage: shared state, and the carrying out of the
//! call center's outputs (messages to deliver, plans for media rooms, calls to close, records
//! and metrics). Media events and speech results go in as center inputs; what a call does is
//! decided there, not here. The join sagas that create media live in [`crate::calls`].
//!
//! The call center lives in its own task ([`crate::calls::driver`]); everyone holds a
//! [`Center`] handle that sends it inputs and reads. That task calls [`App::deliver`] with what
//! the center produced.

use crate::calls::driver::Center;
use crate::calls::present;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::speech::live::{FinalUtterance, LiveSpeech, SpeechSink, TranscriptEvent};
use crate::speech::SpeechMetrics;
use crate::store::Store;
use dashmap::DashMap;
use media::{MediaEvent, MediaEventKind, Sfu};
use signaling::center::{
    CallCenter, Event, Input, MediaLoss, Member, Milestone, Output, Recipient,
};
use signaling::protocol::{
    ChatFrom, EndReason, SentimentView, ServerMessage, TicketKind, UtteranceView,
};
use signaling::{AgentId, CallId, ParticipantId, SessionId, SupervisorId};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use vocab::ParticipantKind;

/// A message's `json` with the `re` of the request it answers, when it is that request's
/// first reply of an expected type.
fn tag_reply(s: &SessionTx, json: &str) -> Option<String> {
    let mut pending = s.reply.lock().expect("lock");
    let p = pending.as_ref()?;
    if std::time::Instant::now() > p.until {
        *pending = None;
        return None;
    }
    // Serde writes the tag first: `{"type":"answer",...}`.
    let ty = json.strip_prefix("{\"type\":\"")?.split('"').next()?;
    if !p.types.contains(&ty) {
        return None;
    }
    let tagged = with_re(json, &p.re);
    *pending = None;
    Some(tagged)
}

/// A server message's JSON with `"re"` (the id of the request it answers) added.
pub(crate) fn with_re(json: &str, re: &serde_json::Value) -> String {
    format!("{{\"re\":{re},{}", &json[1..])
}

/// What goes out on a session's WebSocket.
#[derive(Debug)]
pub enum Outbound {
    Text(String),
    Close,
}

/// A session's outbound queue and its close signal.
pub(crate) struct SessionTx {
    pub(crate) tx: mpsc::Sender<Outbound>,
    pub(crate) close: tokio::sync::watch::Sender<bool>,
    /// What a `resume` must show to take the session over (`welcome.resume_token`).
    pub(crate) resume_token: String,
    /// Set when a `resume` takes the session over from a connection that still looks alive:
    /// that connection ends without ending the session.
    pub(crate) taken_over: Arc<AtomicBool>,
    /// The request being handled on this session: its id goes on the first message of one
    /// of its reply types (`re`).
    pub(crate) reply: std::sync::Mutex<Option<PendingReply>>,
}

/// A request whose reply has not gone out yet.
pub(crate) struct PendingReply {
    pub re: serde_json::Value,
    pub types: &'static [&'static str],
    /// Replies made by the call center may follow the request's `ok`; none comes later.
    pub until: std::time::Instant,
}

/// How long after its request a reply still gets the request's `re`.
const REPLY_WINDOW: std::time::Duration = std::time::Duration::from_secs(2);

/// What a new connection of a session gets from [`App::add_session`].
pub struct SessionHandle {
    /// Turns true when the server closes the session (a client too slow to read what it is
    /// sent, an account changed, a `resume` elsewhere).
    pub closed: tokio::sync::watch::Receiver<bool>,
    pub resume_token: String,
    pub taken_over: Arc<AtomicBool>,
}

/// A browser's peer connection: its call, who it is in the call, and the session that owns it
/// (which alone may trickle candidates for it, and whose closing closes it).
#[derive(Clone, Debug)]
pub struct PeerInfo {
    pub call: CallId,
    pub member: Member,
    pub session: SessionId,
}

pub struct App {
    pub config: Config,
    /// The call center's task.
    pub center: Center,
    pub sfu: Arc<Sfu>,
    pub store: Store,
    pub metrics: Metrics,
    pub auth: crate::auth::Auth,
    pub media_tx: mpsc::UnboundedSender<MediaEvent>,
    pub(crate) sessions: DashMap<SessionId, SessionTx>,
    /// Sessions whose connection dropped, kept for `[session] resume_grace_ms`.
    pub(crate) parked: DashMap<SessionId, crate::resume::Parked>,
    customers: DashMap<CallId, SessionId>,
    agent_sessions: DashMap<AgentId, Vec<SessionId>>,
    supervisor_sessions: DashMap<SupervisorId, Vec<SessionId>>,
    pub peers: DashMap<ParticipantId, PeerInfo>,
    /// Live transcription; `None` when `speech.enabled` is off.
    pub speech: Option<Arc<LiveSpeech>>,
    media_metrics: media::MediaMetrics,
    /// The queue announcement (16 kHz mono), loaded at start.
    pub announcement: Option<Arc<[i16]>>,
    /// The announcement voice of each waiting call.
    pub announcements: DashMap<CallId, ParticipantId>,
    pub shutting_down: AtomicBool,
    /// The bot, when an entry point has it.
    pub bot: Option<Arc<crate::calls::bot::BotDesk>>,
    /// The bot's voice in voice calls, when the bot is on and `[bot.voice]` enabled.
    pub speakers: Option<Arc<crate::calls::speaker::Speakers>>,
    /// Callers' turns held while they stop mid-sentence.
    pub turns: crate::calls::turns::Turns,
    bot_tx: mpsc::UnboundedSender<(CallId, signaling::center::BotInput)>,
    /// Bounds log lines about repeated client faults.
    pub log_limit: crate::loglimit::LogLimiter,
    /// The queues and their rules now (administered in the database; `src/admin.rs`).
    queues: std::sync::RwLock<Arc<Vec<signaling::center::routing::QueueRules>>>,
    /// Wakes the business-hours task when the queues change.
    pub queues_changed: Arc<tokio::sync::Notify>,
    /// The last audit-log entry applied to this server.
    pub admin_applied: tokio::sync::Mutex<i64>,
}

impl App {
    /// Builds the app and starts its background tasks (media events, timers, dashboards).
    pub fn start(config: Config, store: Store) -> anyhow::Result<Arc<Self>> {
        let metrics = Metrics::new()?;
        let media_metrics = media::MediaMetrics::new(&metrics.registry)?;
        let sfu = Sfu::new(config.media.clone(), media_metrics.clone());
        let speech = if config.speech.enabled {
            let models = config.speech.load_models()?;
            let speech_metrics = SpeechMetrics::new(&metrics.registry)?;
            let pool = crate::speech::asr::AsrPool::start(
                models,
                config.speech.pool(),
                Some(speech_metrics.clone()),
            );
            Some(Arc::new(LiveSpeech::new(
                pool,
                config.speech.clone(),
                speech_metrics,
            )))
        } else {
            None
        };
        let auth = crate::auth::Auth::new(
            &config.auth,
            Some(&config.data_dir),
            Some(metrics.auth_checks.clone()),
        )?;
        let announcement = match &config.calls.queue_announcement {
            Some(p) => {
                let pcm = crate::speech::wav::read_16k_mono(p)
                    .map_err(|e| anyhow::anyhow!("queue_announcement {}: {e}", p.display()))?;
                Some(
                    pcm.iter()
                        .map(|x| (x.clamp(-1.0, 1.0) * 32767.0) as i16)
                        .collect(),
                )
            }
            None => None,
        };
        let bot = if config.bot_enabled() {
            let mut entries = store.kb_entries()?;
            if entries.is_empty() && !config.bot.seed_kb.is_empty() {
                for p in &config.bot.seed_kb {
                    let n = crate::kbcli::import_file(&store, p, false, bot::Language::En)?;
                    tracing::info!(file = %p.display(), entries = n, "knowledge base seeded");
                }
                entries = store.kb_entries()?;
            }
            let brain = crate::calls::bot::load_brain_with(&config.bot, entries, &store)?;
            Some(Arc::new(crate::calls::bot::BotDesk::new(brain)))
        } else {
            None
        };
        let speakers = if bot.is_some() && config.bot.voice.enabled {
            let t0 = std::time::Instant::now();
            let engine = tts::Kokoro::load(&config.bot.voice.kokoro())
                .map_err(|e| anyhow::anyhow!("[bot.voice]: {e}"))?;
            for v in [&config.bot.voice.voice_en, &config.bot.voice.voice_zh]
                .into_iter()
                .chain(config.entry_points.iter().filter_map(|e| e.voice.as_ref()))
            {
                if !tts::Tts::voices(&engine).contains(v) {
                    anyhow::bail!("[bot.voice]: the model has no voice {v:?}");
                }
            }
            tracing::info!(
                ms = t0.elapsed().as_millis() as u64,
                sessions = config.bot.voice.sessions,
                "bot voice loaded"
            );
            Some(Arc::new(crate::calls::speaker::Speakers::new(
                Arc::new(engine),
                Duration::from_millis(config.bot.voice.barge_in_ms),
            )))
        } else {
            None
        };
        let queues = crate::admin::startup_queues(&store, &config.center.queues)?;
        for e in &config.entry_points {
            if let Some(q) = &e.queue {
                if !queues.iter().any(|x| &x.name == q) {
                    anyhow::bail!(
                        "[[entry_points]] {}: queue {q:?} is not a queue (the queues are {:?})",
                        e.name,
                        queues.iter().map(|q| q.name.as_str()).collect::<Vec<_>>()
                    );
                }
            }
        }
        for (what, q) in &config.bot.queues {
            if !queues.iter().any(|x| &x.name == q) {
                tracing::warn!(
                    "[bot.queues] {what} = {q:?}: no such queue; those hand-overs keep their queue"
                );
            }
        }
        let admin_applied = store.admin_revision()?;
        let (bot_tx, bot_rx) = mpsc::unbounded_channel();
        let (media_tx, media_rx) = mpsc::unbounded_channel();
        let (center, jobs) = Center::channel();
        let turns = crate::calls::turns::Turns::new(
            Duration::from_millis(config.bot.voice.turn_hold_ms),
            Duration::from_millis(config.bot.voice.turn_max_hold_ms),
            center.clone(),
        );
        let app = Arc::new(Self {
            auth,
            center,
            config,
            sfu,
            store,
            metrics,
            media_tx,
            sessions: DashMap::new(),
            parked: DashMap::new(),
            customers: DashMap::new(),
            agent_sessions: DashMap::new(),
            supervisor_sessions: DashMap::new(),
            peers: DashMap::new(),
            speech,
            media_metrics,
            announcement,
            announcements: DashMap::new(),
            shutting_down: AtomicBool::new(false),
            bot,
            turns,
            speakers,
            bot_tx,
            log_limit: crate::loglimit::LogLimiter::new(10, Duration::from_secs(60)),
            queues: std::sync::RwLock::new(Arc::new(queues)),
            queues_changed: Arc::new(tokio::sync::Notify::new()),
            admin_applied: tokio::sync::Mutex::new(admin_applied),
        });
        if let Some(sp) = &app.speakers {
            sp.attach(Arc::downgrade(&app));
        }
        app.prepare_voice();
        tokio::spawn(media_events(Arc::downgrade(&app), media_rx));
        tokio::spawn(crate::calls::bot::run(Arc::downgrade(&app), bot_rx));
        tokio::spawn(crate::hours::run(Arc::downgrade(&app)));
        tokio::spawn(crate::admin::watch(Arc::downgrade(&app)));
        let mut center_config = app.config.center.clone();
        center_config.queues = app.queues().to_vec();
        tokio::spawn(crate::calls::driver::run(
            CallCenter::new(center_config),
            jobs,
            Arc::downgrade(&app),
        ));
        Ok(app)
    }

    /// The bot's voice makes ready what it says word for word (the greeting first, then its
    /// other fixed lines and the first phrase of every answer) in each bot entry point's
    /// language and voice: at start and after each change to the knowledge base.
    pub fn prepare_voice(&self) {
        let (Some(sp), Some(desk)) = (&self.speakers, &self.bot) else {
            return;
        };
        let v = &self.config.bot.voice;
        let mut lines: Vec<(String, tts::Lang, tts::Speaker, bool)> = vec![];
        let mut speakers: Vec<(bot::Language, tts::Lang, tts::Speaker)> = vec![];
        for e in self.config.entry_points.iter().filter(|e| e.bot) {
            let (language, lang) = match bot::Language::parse(e.bot_language()) {
                Some(bot::Language::Zh) => (bot::Language::Zh, tts::Lang::Zh),
                _ => (bot::Language::En, tts::Lang::En),
            };
            let prefs = crate::calls::speaker::VoicePrefs {
                voice: e.voice.clone(),
                speed: e.speed,
            };
            let speaker = prefs.speaker(v, lang);
            let item = (language, lang, speaker);
            if !speakers.contains(&item) {
                speakers.push(item);
            }
        }
        // Every caller hears the greeting: all of it, for every voice, before the rest.
        for (language, lang, speaker) in &speakers {
            lines.push((desk.greeting(*language), *lang, speaker.clone(), true));
        }
        if v.prepare {
            for (language, lang, speaker) in &speakers {
                for text in desk.spoken_lines(*language) {
                    lines.push((text, *lang, speaker.clone(), false));
                }
            }
        }
        let dir = v.prepare.then(|| {
            if v.cache_dir.as_os_str().is_empty() {
                self.config.data_dir.join("voice-cache")
            } else {
                v.cache_dir.clone()
            }
        });
        sp.prepare_lines(
            lines,
            dir,
            self.metrics.bot_prepared.clone(),
            self.metrics.bot_preparing.clone(),
        );
    }

    // ---- administration --------------------------------------------------------------------

    /// The queues and their rules now.
    pub fn queues(&self) -> Arc<Vec<signaling::center::routing::QueueRules>> {
        self.queues.read().expect("lock").clone()
    }

    /// New queue rules: for the call center, the business hours and the pages.
    pub fn set_queues(&self, queues: Vec<signaling::center::routing::QueueRules>) {
        *self.queues.write().expect("lock") = Arc::new(queues.clone());
        self.center.tell(Input::SetQueues { queues });
        self.queues_changed.notify_one();
    }

    /// End every session of an account (deleted, or its role or password changed): each is
    /// told why, then closed; the pages log in again.
    pub fn end_account_sessions(&self, username: &str) {
        let mut ids: Vec<SessionId> = vec![];
        if let Some(v) = self.agent_sessions.get(&AgentId::from(username)) {
            ids.extend(v.iter().cloned());
        }
        if let Some(v) = self.supervisor_sessions.get(&SupervisorId::from(username)) {
            ids.extend(v.iter().cloned());
        }
        for id in ids {
            self.send(
                &id,
                &ServerMessage::error(
                    signaling::error::ErrorCode::NotAuthenticated,
                    "an administrator changed this account: log in again",
                    None,
                ),
            );
            if let Some(s) = self.sessions.get(&id) {
                s.close.send_replace(true);
            }
            tracing::info!(user = %username, session = %id, "session ended: account changed");
        }
    }

    // ---- sessions --------------------------------------------------------------------------

    /// Register a session's outbound queue.
    pub fn add_session(&self, id: SessionId, tx: mpsc::Sender<Outbound>) -> SessionHandle {
        let (close, closed) = tokio::sync::watch::channel(false);
        let resume_token = crate::resume::new_token();
        let taken_over = Arc::new(AtomicBool::new(false));
        self.sessions.insert(
            id,
            SessionTx {
                tx,
                close,
                resume_token: resume_token.clone(),
                taken_over: taken_over.clone(),
                reply: std::sync::Mutex::new(None),
            },
        );
        self.metrics.ws_sessions.set(self.sessions.len() as i64);
        SessionHandle {
            closed,
            resume_token,
            taken_over,
        }
    }

    pub fn remove_session(&self, id: &SessionId) {
        self.sessions.remove(id);
        self.metrics.ws_sessions.set(self.sessions.len() as i64);
    }

    /// Queue a message for one session. A session whose queue is full is too slow to keep up
    /// and is closed rather than letting memory grow.
    pub fn send(&self, session: &SessionId, msg: &ServerMessage) {
        if let Some(s) = self.sessions.get(session) {
            let json = msg.to_json();
            let text = tag_reply(&s, &json).unwrap_or(json);
            if s.tx.try_send(Outbound::Text(text)).is_err() && !*s.close.borrow() {
                s.close.send_replace(true);
                if self.log_limit.allow("slow_client") {
                    tracing::warn!(session = %session, "client too slow; closing");
                } else {
                    self.metrics
                        .log_suppressed
                        .with_label_values(&["slow_client"])
                        .inc();
                }
            }
        }
    }

    /// After `session` sent the request `re`, the first message of one of `types` it is sent
    /// within [`REPLY_WINDOW`] carries `re` (docs/protocol.md, "Requests, id, re and ok").
    /// `None` (a refused request) ends it.
    pub fn expect_reply(
        &self,
        session: &SessionId,
        re: Option<serde_json::Value>,
        types: &'static [&'static str],
    ) {
        if let Some(s) = self.sessions.get(session) {
            *s.reply.lock().expect("lock") =
                re.filter(|_| !types.is_empty()).map(|re| PendingReply {
                    re,
                    types,
                    until: std::time::Instant::now() + REPLY_WINDOW,
                });
        }
    }

    pub fn bind_customer(&self, call: CallId, session: SessionId) {
        self.customers.insert(call, session);
    }

    pub fn unbind_customer(&self, call: &CallId) {
        self.customers.remove(call);
    }

    pub fn bind_agent(&self, agent: AgentId, session: SessionId) {
        self.agent_sessions.entry(agent).or_default().push(session);
    }

    pub fn unbind_agent(&self, agent: &AgentId, session: &SessionId) {
        if let Some(mut v) = self.agent_sessions.get_mut(agent) {
            v.retain(|s| s != session);
        }
        self.agent_sessions.remove_if(agent, |_, v| v.is_empty());
    }

    pub fn bind_supervisor(&self, sup: SupervisorId, session: SessionId) {
        self.supervisor_sessions
            .entry(sup)
            .or_default()
            .push(session);
    }

    pub fn unbind_supervisor(&self, sup: &SupervisorId, session: &SessionId) {
        if let Some(mut v) = self.supervisor_sessions.get_mut(sup) {
            v.retain(|s| s != session);
        }
        self.supervisor_sessions.remove_if(sup, |_, v| v.is_empty());
    }

    // ---- speech ----------------------------------------------------------------------------

    /// Start transcribing both sides of a call whose room exists.
    pub fn start_speech(self: &Arc<Self>, call: &CallId, language: &str) {
        let Some(speech) = &self.speech else { return };
        let Some(room) = self.sfu.find_room(call) else {
            return;
        };
        let sink: Arc<dyn SpeechSink> = Arc::new(AppSink(Arc::downgrade(self)));
        let started = now();
        for party in [ParticipantKind::Customer, ParticipantKind::Agent] {
            let rx = room.tap(party, media::Kind::Audio, 256);
            let frames =
                media::decode_tap(rx, speech.config().frame_queue, self.media_metrics.clone());
            speech.start_stream(
                sink.clone(),
                call.clone(),
                party,
                language.to_string(),
                frames,
                started,
            );
        }
    }

    /// Send `msg` to whoever may read a call's transcript live (the center says who, in its
    /// task).
    fn to_transcript_readers(self: &Arc<Self>, call: &CallId, msg: ServerMessage) {
        let app = self.clone();
        let call = call.clone();
        self.center.inspect(move |c, _| {
            for r in c.transcript_readers(&call) {
                app.send_to(&r, &msg);
            }
        });
    }

    /// Deliver `msg` to every session of a recipient.
    pub fn send_to(&self, to: &Recipient, msg: &ServerMessage) {
        let sessions: Vec<SessionId> = match to {
            Recipient::Customer(call) => self.customers.get(call).map(|s| vec![s.clone()]),
            Recipient::Agent(a) => self.agent_sessions.get(a).map(|v| v.clone()),
            Recipient::Supervisor(s) => self.supervisor_sessions.get(s).map(|v| v.clone()),
        }
        .unwrap_or_default();
        for s in sessions {
            self.send(&s, msg);
        }
    }

    // ---- the call center's outputs ---------------------------------------------------------

    /// Carry out what the center produced (called by its task).
    pub fn deliver(&self, outputs: Vec<Output>) {
        for o in outputs {
            match o {
                Output::Notify(to, e) => {
                    if let (Recipient::Agent(a), Event::AgentState { state, .. }) = (&to, &e) {
                        // Every change of an agent's state, for the KPIs (occupancy).
                        let name = serde_json::to_value(state)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_string))
                            .unwrap_or_default();
                        log_store(self.store.agent_state(a.as_str(), &name));
                    }
                    if let (
                        Recipient::Customer(call),
                        Event::Chat {
                            from, text, at_ms, ..
                        },
                    ) = (&to, &e)
                    {
                        // Every chat line reaches the customer once: stored then.
                        self.store_chat_line(call, *from, text, *at_ms);
                    }
                    self.send_to(&to, &present::event(e))
                }
                Output::Bot(call, input) => {
                    if input == signaling::center::BotInput::Stop {
                        if let Some(sp) = &self.speakers {
                            sp.stop(&call);
                        }
                    }
                    let _ = self.bot_tx.send((call, input));
                }
                Output::Speak(call, text) => {
                    if let Some(sp) = &self.speakers {
                        sp.speak(&call, text);
                    }
                }
                Output::Announce(call, what) => {
                    if let Some(sp) = &self.speakers {
                        let lang = self.bot_language(&call);
                        let phrases = bot::dialogue::Phrases::default_for(lang);
                        let text = match what {
                            signaling::center::Announcement::AgentLost => phrases.agent_lost,
                            signaling::center::Announcement::Transferred => phrases.transferred,
                            signaling::center::Announcement::Overflow(_) => phrases.overflow,
                        };
                        sp.speak(&call, text);
                    }
                }
                Output::Ticket(call, facts) => self.store_ticket(&call, *facts),
                Output::CloseCall(call, reason) => self.close_call(call, reason),
                Output::Leave(_, participant) => self.drop_peer(&participant),
                Output::Mute(call, participant, muted) => {
                    if let Some(room) = self.sfu.find_room(&call) {
                        room.set_muted(&participant, muted);
                    }
                }
                Output::Route(call, plan) => {
                    if let Some(room) = self.sfu.find_room(&call) {
                        room.set_plan(plan);
                    }
                }
                // The center's task pushes dashboards.
                Output::DashboardChanged => {}
                Output::Milestone(call, m) => match m {
                    Milestone::CustomerMediaUp { since_start } => {
                        tracing::info!(call_id = %call, ms = since_start.as_millis() as u64, "customer media up");
                        self.metrics
                            .call_setup
                            .with_label_values(&["offer_to_connected"])
                            .observe(since_start.as_secs_f64());
                    }
                    Milestone::TwoWay { since_accept } => {
                        tracing::info!(call_id = %call, ms = since_accept.as_millis() as u64, "two-way audio");
                        self.metrics
                            .call_setup
                            .with_label_values(&["accept_to_two_way"])
                            .observe(since_accept.as_secs_f64());
                    }
                    Milestone::Ended { duration } => {
                        self.metrics.call_duration.observe(duration.as_secs_f64())
                    }
                    Milestone::CallbackStarted {
                        view,
                        queue,
                        priority,
                        handoff,
                    } => {
                        log_store(self.store.callback_started(&crate::store::CallbackRow {
                            call_id: call.to_string(),
                            of_call: view.of_call.to_string(),
                            caller_json: String::new(),
                            contact: view.contact,
                            note: view.note,
                            at: view.at,
                            queue,
                            priority: priority.into(),
                            handoff_json: handoff.and_then(|h| serde_json::to_string(&h).ok()),
                        }));
                    }
                    Milestone::Transferred {
                        agent,
                        from_queue,
                        queue,
                        note,
                    } => {
                        // The note may name the customer: not logged.
                        tracing::info!(call_id = %call, agent = %agent, from = from_queue.as_deref().unwrap_or("-"), to = %queue, with_note = note.is_some(), "transferred");
                        log_store(self.store.call_transferred(call.as_str()));
                    }
                    Milestone::Started { bot, channel } => {
                        let channel = channel_name(channel);
                        log_store(self.store.call_meta(call.as_str(), bot, channel));
                    }
                    Milestone::Queued { queue } => {
                        log_store(self.store.call_queued(call.as_str(), queue.as_deref()));
                    }
                    Milestone::Overflowed { reason } => {
                        tracing::info!(call_id = %call, reason = reason.as_str(), "overflow");
                        log_store(
                            self.store
                                .call_overflowed(call.as_str(), None, reason.as_str()),
                        );
                    }
                    Milestone::WrappedUp { duration } => {
                        log_store(
                            self.store
                                .call_wrapped_up(call.as_str(), duration.as_millis() as i64),
                        );
                    }
                },
            }
        }
    }

    /// The language a contact's bot starts in when the customer named none.
    pub fn bot_language(&self, _call: &CallId) -> bot::Language {
        self.config
            .entry_point(None)
            .and_then(|e| bot::Language::parse(e.bot_language()))
            .unwrap_or(bot::Language::En)
    }

    /// Open or update a contact's ticket with what the center said of it.
    fn store_ticket(&self, call: &CallId, t: signaling::center::TicketFacts) {
        let kind = t.kind.as_str();
        // A voice message is what the customer says from the overflow on: read with the
        // ticket, since its last words are still being transcribed now.
        let details = (t.kind == TicketKind::Message && t.message.is_none())
            .then_some(t.overflow_since)
            .flatten()
            .map(|since| {
                let ago = since.elapsed().as_millis() as u64;
                serde_json::json!({ "voice_message_since": crate::calls::bot::unix_ms().saturating_sub(ago) })
                    .to_string()
            });
        let record = crate::store::TicketRecord {
            kind: kind.to_string(),
            caller_json: serde_json::to_string(&t.caller).unwrap_or_else(|_| "{}".into()),
            channel: Some(channel_name(t.channel).into()),
            queue: t.queue,
            reason: t.reason,
            contact: t.contact,
            message: t.message,
            handoff_json: t.handoff.and_then(|h| serde_json::to_string(&h).ok()),
            details_json: details,
        };
        match self.store.contact_ticket(call.as_str(), &record) {
            Ok(id) => {
                tracing::info!(call_id = %call, ticket = %id, kind, "ticket");
                self.metrics.tickets.with_label_values(&[kind]).inc();
            }
            Err(e) => tracing::error!(call_id = %call, "store: {e:#}"),
        }
    }

    fn store_chat_line(&self, call: &CallId, from: ChatFrom, text: &str, at_ms: u64) {
        let speaker = from.as_str();
        let view = UtteranceView {
            utterance_id: format!("chat-{at_ms}-{speaker}-{}", rand::random::<u32>()),
            speaker: speaker.into(),
            start_ms: at_ms,
            end_ms: at_ms,
            text: text.into(),
            emotion: "neutral".into(),
            valence: 0.0,
            arousal: 0.0,
        };
        if let Err(e) = self.store.add_utterance(call.as_str(), &view, "chat") {
            tracing::error!(call_id = %call, "store: {e:#}");
        }
    }

    fn close_call(&self, call: CallId, reason: EndReason) {
        let reason_s = reason.as_str();
        tracing::info!(call_id = %call, reason = %reason_s, "call ended");
        self.metrics
            .calls_ended
            .with_label_values(&[reason_s])
            .inc();
        if let Err(e) = self.store.call_ended(call.as_str(), reason_s) {
            tracing::error!(call_id = %call, "store: {e:#}");
        }
        // The customer may rate it (after the call_state ended they were just sent), unless
        // they did already, by voice to the bot.
        let rated = self.store.is_rated(call.as_str()).unwrap_or(false);
        if reason != EndReason::ServerShutdown && !rated {
            let token = self.auth.rating_token(call.as_str());
            self.send_to(
                &Recipient::Customer(call.clone()),
                &ServerMessage::RatePrompt {
                    call_id: call.clone(),
                    token,
                },
            );
        }
        if let Some(speech) = &self.speech {
            speech.stop_call(&call);
        }
        self.customers.remove(&call);
        self.announcements.remove(&call);
        if let Some(sp) = &self.speakers {
            sp.stop(&call);
        }
        self.turns.forget(&call);
        self.peers.retain(|_, p| p.call != call);
        let sfu = self.sfu.clone();
        tokio::spawn(async move { sfu.close_room(&call).await });
    }

    /// Forget one peer and close it.
    pub fn drop_peer(&self, id: &ParticipantId) {
        let Some((id, info)) = self.peers.remove(id) else {
            return;
        };
        self.center.tell(Input::MediaLeft {
            call: info.call.clone(),
            participant: id.clone(),
        });
        let sfu = self.sfu.clone();
        tokio::spawn(async move {
            let _ = sfu.leave(&info.call, &id).await;
        });
    }

    /// Send the live view to every supervisor session (called by the center's task).
    pub fn push_dashboards(&self, center: &CallCenter) {
        let sessions: Vec<SessionId> = self
            .supervisor_sessions
            .iter()
            .flat_map(|e| e.value().clone())
            .collect();
        if sessions.is_empty() {
            return;
        }
        let msg = present::dashboard(center.dashboard(now()));
        for s in sessions {
            self.send(&s, &msg);
        }
    }

    /// The supervisors' live view now.
    pub async fn dashboard(&self) -> Option<ServerMessage> {
        let view = self.center.read(|c, now| c.dashboard(now)).await.ok()?;
        Some(present::dashboard(view))
    }

    /// End every call, tell everyone, close every peer (graceful shutdown).
    pub async fn shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
        let calls = self
            .center
            .read(|c, _| c.call_ids())
            .await
            .unwrap_or_default();
        for call in calls {
            let _ = self
                .center
                .apply(Input::EndCall {
                    call,
                    reason: EndReason::ServerShutdown,
                })
                .await;
        }
        self.sfu.close_all().await;
        let bye = ServerMessage::error(
            signaling::ErrorCode::ShuttingDown,
            "the server is shutting down",
            None,
        );
        let ids: Vec<SessionId> = self.sessions.iter().map(|e| e.key().clone()).collect();
        for id in ids {
            self.send(&id, &bye);
            if let Some(s) = self.sessions.get(&id) {
                let _ = s.tx.try_send(Outbound::Close);
            }
        }
    }
}

/// Delivers the speech pipeline's results: protocol events, storage, the customer's mood.
struct AppSink(std::sync::Weak<App>);

impl SpeechSink for AppSink {
    fn speech_started(&self, call: &CallId, speaker: ParticipantKind, utterance: &str) {
        let Some(app) = self.0.upgrade() else { return };
        // Barge-in: the caller talking over the bot silences it (unless it is only "mhm").
        if speaker == ParticipantKind::Customer {
            if let Some(sp) = &app.speakers {
                sp.caller_started(call, utterance);
            }
            app.turns.caller_started(call);
        }
    }

    fn audio(&self, call: &CallId, speaker: ParticipantKind, samples: &[f32]) {
        if speaker != ParticipantKind::Customer {
            return;
        }
        let Some(app) = self.0.upgrade() else { return };
        let rate = crate::speech::endpoint::SAMPLE_RATE as u32;
        if let Some(sp) = &app.speakers {
            sp.caller_audio(call, samples, rate);
        }
        app.turns.caller_audio(call, samples.len(), rate);
    }

    fn speech_ended(&self, call: &CallId, speaker: ParticipantKind, utterance: &str) {
        let Some(app) = self.0.upgrade() else { return };
        if speaker == ParticipantKind::Customer {
            if let Some(sp) = &app.speakers {
                sp.caller_stopped(call, utterance);
            }
            app.turns.caller_stopped(call);
        }
    }

    fn transcript(&self, call: &CallId, e: TranscriptEvent) {
        let Some(app) = self.0.upgrade() else { return };
        app.to_transcript_readers(call, transcript_message(call, &e));
        // The caller may be about to stop: what the bot would answer to these words is made
        // ready to speak now (kept if the final says the same).
        let speculate = e.speaker == ParticipantKind::Customer
            && !e.is_final
            && !e.text.trim().is_empty()
            && app.speakers.as_ref().is_some_and(|sp| sp.active(call));
        if speculate {
            let call = call.clone();
            tokio::task::spawn_blocking(move || {
                let (Some(bot), Some(sp)) = (&app.bot, &app.speakers) else {
                    return;
                };
                if let Some(reply) = bot.predict(&call, &e.text) {
                    sp.prepare(&app, &call, &reply);
                }
            });
        }
    }

    fn no_words(&self, call: &CallId, speaker: ParticipantKind) {
        let Some(app) = self.0.upgrade() else { return };
        if speaker == ParticipantKind::Customer {
            app.turns.nothing_said(call);
        }
    }

    fn wants_early_finals(&self, call: &CallId, speaker: ParticipantKind) -> bool {
        speaker == ParticipantKind::Customer
            && self
                .0
                .upgrade()
                .and_then(|app| app.speakers.clone())
                .is_some_and(|sp| sp.active(call))
    }

    fn ends_turn(
        &self,
        call: &CallId,
        speaker: ParticipantKind,
        utterance: &str,
        text: &str,
    ) -> bool {
        // The caller waits for the bot's answer: a finished question asked while the bot is
        // quiet is answered at once.
        speaker == ParticipantKind::Customer
            && bot::turns::whole(text)
            && self
                .0
                .upgrade()
                .and_then(|app| app.speakers.clone())
                .is_some_and(|sp| sp.active(call) && !sp.began_over_bot(call, utterance))
    }

    fn utterance(&self, call: &CallId, u: FinalUtterance) {
        let Some(app) = self.0.upgrade() else { return };
        let e = &u.event;
        // What was said is personal data: it goes to the database and to the people allowed to
        // read it, never to the log.
        tracing::info!(
            call_id = %call,
            speaker = e.speaker.as_str(),
            emotion = u.emotion.label.as_str(),
            latency_ms = u.latency.as_millis() as u64,
            chars = e.text.chars().count(),
            "utterance"
        );
        app.to_transcript_readers(call, transcript_message(call, e));
        app.to_transcript_readers(
            call,
            ServerMessage::Emotion {
                call_id: call.clone(),
                speaker: e.speaker.as_str().into(),
                utterance_id: e.utterance_id.clone(),
                label: u.emotion.label.as_str().into(),
                valence: u.emotion.valence,
                arousal: u.emotion.arousal,
                trend: u.trend.valence,
            },
        );
        let view = UtteranceView {
            utterance_id: e.utterance_id.clone(),
            speaker: e.speaker.as_str().into(),
            start_ms: e.start_ms,
            end_ms: e.end_ms,
            text: e.text.clone(),
            emotion: u.emotion.label.as_str().into(),
            valence: u.emotion.valence,
            arousal: u.emotion.arousal,
        };
        if let Err(err) = app.store.add_utterance(call.as_str(), &view, &u.language) {
            tracing::error!(call_id = %call, "store: {err:#}");
        }
        if e.speaker == ParticipantKind::Customer {
            if let Some(sp) = app.speakers.as_ref().filter(|sp| sp.active(call)) {
                let stage = &app.metrics.bot_turn_stage;
                stage
                    .with_label_values(&["endpointing"])
                    .observe(u.endpointing.as_secs_f64());
                stage
                    .with_label_values(&["recognition"])
                    .observe(u.latency.as_secs_f64());
                sp.heard(call);
            }
            let alert_after = app.config.speech.alert_after;
            let sentiment = SentimentView {
                label: u.emotion.label.as_str().into(),
                trend: u.trend.valence,
                negative_run: u.trend.negative_run,
            };
            app.center.tell(Input::Sentiment {
                call: call.clone(),
                view: sentiment,
                alert_after,
                last_text: e.text.clone(),
            });
            // While the bot serves a voice contact it hears the customer's final words, bar
            // a backchannel ("mhm", "ok") said while it was talking.
            let backchannel = app.speakers.as_ref().is_some_and(|sp| {
                sp.is_backchannel(call, &e.utterance_id, &e.text)
                    || sp.was_echo(call, &e.utterance_id, &e.text)
            });
            if backchannel || app.bot.is_none() {
                app.turns.nothing_said(call);
                return;
            }
            app.turns
                .said(call, e.text.clone(), Some(u.emotion.valence));
        }
    }
}

fn transcript_message(call: &CallId, e: &TranscriptEvent) -> ServerMessage {
    ServerMessage::Transcript {
        call_id: call.clone(),
        speaker: e.speaker.as_str().into(),
        utterance_id: e.utterance_id.clone(),
        start_ms: e.start_ms,
        end_ms: e.end_ms,
        text: e.text.clone(),
        is_final: e.is_final,
    }
}

fn log_store(r: anyhow::Result<()>) {
    if let Err(e) = r {
        tracing::error!("store: {e:#}");
    }
}

/// Media events become center inputs; the center's media-failure policy decides.
async fn media_events(app: std::sync::Weak<App>, mut rx: mpsc::UnboundedReceiver<MediaEvent>) {
    while let Some(ev) = rx.recv().await {
        let Some(app) = app.upgrade() else { break };
        let Some(info) = app.peers.get(&ev.participant).map(|p| p.clone()) else {
            continue; // a peer we already closed
        };
        let loss = match ev.kind {
            MediaEventKind::Connected => {
                app.center.tell(Input::MediaUp {
                    call: info.call.clone(),
                    kind: info.member.kind(),
                });
                continue;
            }
            // An agent nobody hears is no agent: their call goes back to the queue now rather
            // than after the ICE failure timeout (the agent may take it back, see the center).
            MediaEventKind::Disconnected if matches!(info.member, Member::Agent(_)) => {
                MediaLoss::Failed
            }
            MediaEventKind::Disconnected => {
                tracing::info!(call_id = %info.call, participant = %ev.participant, "peer disconnected; waiting for recovery");
                continue;
            }
            MediaEventKind::Failed => MediaLoss::Failed,
            MediaEventKind::Closed => MediaLoss::Closed,
            MediaEventKind::Left => MediaLoss::Left,
        };
        tracing::info!(call_id = %info.call, participant = %ev.participant, kind = ?ev.kind, "peer lost");
        app.center.tell(Input::MediaLost {
            call: info.call.clone(),
            participant: ev.participant.clone(),
            loss,
        });
        // Whatever the policy decides, this connection is gone.
        app.drop_peer(&ev.participant);
    }
}

/// The time the shell gives the center: tokio's clock, so tests can run it virtually
/// (`tokio::time::pause`).
pub fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// An app with speech off and a fresh data directory, for unit tests of the shell.
#[cfg(test)]
pub fn test_app(mut config: Config) -> Arc<App> {
    let dir = std::env::temp_dir().join(format!(
        "sb-app-test-{}-{}",
        std::process::id(),
        SessionId::random()
    ));
    config.data_dir = dir.clone();
    config.speech.enabled = false;
    let store = Store::open(&dir).expect("test store");
    App::start(config, store).expect("test app")
}

/// A channel's name in the records (`calls.channel`, tickets).
fn channel_name(c: signaling::protocol::Channel) -> &'static str {
    match c {
        signaling::protocol::Channel::Voice => "voice",
        signaling::protocol::Channel::Chat => "chat",
        signaling::protocol::Channel::Callback => "callback",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use signaling::protocol::CallerInfo;

    /// The timer task sleeps until the center's next deadline, in tokio's (here virtual) time:
    /// a ring timeout fires when it is due, not on the next tick of a poll loop.
    #[tokio::test(start_paused = true)]
    async fn ring_timeouts_fire_when_due_in_virtual_time() {
        let mut config = Config::default();
        config.center.ring_timeout_s = 20;
        let app = test_app(config);
        let a = AgentId::from("a");
        let call = CallId::from("c1");
        app.center
            .commit(
                vec![
                    Input::AgentLogin {
                        agent: a.clone(),
                        name: "A".into(),
                        skills: Default::default(),
                    },
                    Input::SetAvailability {
                        agent: a.clone(),
                        available: true,
                    },
                    Input::StartCall {
                        call: call.clone(),
                        caller: CallerInfo::default(),
                        start: Default::default(),
                    },
                ],
                None,
            )
            .await
            .unwrap();
        let census = |app: &Arc<App>| {
            let app = app.clone();
            async move { app.center.read(|c, _| c.census()).await.unwrap() }
        };
        assert_eq!(census(&app).await.calls_ringing, 1);
        tokio::time::sleep(Duration::from_millis(19_900)).await;
        assert_eq!(
            census(&app).await.calls_ringing,
            1,
            "withdrawn before the ring timeout"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        let census = census(&app).await;
        assert_eq!(
            census.calls_ringing, 0,
            "still ringing after the ring timeout"
        );
        assert_eq!(census.calls_queued, 1);
        assert_eq!(
            census.agents["away"], 1,
            "a missed call sets the agent away"
        );
    }

    /// Dashboard changes go out within the coalescing delay even while more keep coming.
    #[tokio::test(start_paused = true)]
    async fn dashboard_changes_are_pushed_within_200_ms_under_a_stream_of_changes() {
        let app = test_app(Config::default());
        let (tx, mut rx) = mpsc::channel(256);
        let session = SessionId::random();
        let _session = app.add_session(session.clone(), tx);
        let sam = SupervisorId::from("sam");
        app.bind_supervisor(sam.clone(), session);
        app.center.tell(Input::SupervisorLogin { sup: sam });
        let t0 = tokio::time::Instant::now();
        // A change every 50 ms for 1 s.
        let mut first = None;
        for i in 0..20 {
            app.center.tell(Input::StartCall {
                call: CallId::from(format!("c{i}").as_str()),
                caller: CallerInfo::default(),
                start: Default::default(),
            });
            tokio::time::sleep(Duration::from_millis(50)).await;
            while let Ok(Outbound::Text(t)) = rx.try_recv() {
                if first.is_none() && t.contains("\"dashboard\"") {
                    first = Some(tokio::time::Instant::now() - t0);
                }
            }
        }
        let first = first.expect("a dashboard was pushed during the stream of changes");
        assert!(
            first <= Duration::from_millis(250),
            "first push after {first:?}"
        );
    }
}
