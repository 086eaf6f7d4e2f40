//! The wiring between signalling, media and storage: shared state, delivery of the call
//! center's outputs, and reactions to media events.
//!
//! The call center is a plain struct behind a `std::sync::Mutex` that is never held across an
//! `.await`; every change goes through [`App::with_center`], which drains the center's outputs
//! and delivers them after the lock is released.

use crate::config::Config;
use crate::metrics::Metrics;
use crate::speech::live::{FinalUtterance, LiveSpeech, SpeechSink, TranscriptEvent};
use crate::speech::SpeechMetrics;
use crate::store::Store;
use dashmap::DashMap;
use media::{MediaEvent, MediaEventKind, ParticipantId, RoomId, Sfu};
use signaling::center::{CallCenter, Milestone, Output, Party};
use signaling::protocol::{EndReason, SentimentView, ServerMessage, UtteranceView};
use signaling::{AgentId, CallId, PeerId, SessionId, SupervisorId};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// What goes out on a session's WebSocket.
#[derive(Debug)]
pub enum Outbound {
    Text(String),
    Close,
}

/// A session's outbound queue and its close signal.
struct SessionTx {
    tx: mpsc::Sender<Outbound>,
    close: tokio::sync::watch::Sender<bool>,
}

/// Who owns a peer connection.
#[derive(Clone, Debug, PartialEq)]
pub enum PeerOwner {
    Customer,
    Agent(AgentId),
    Listener(SupervisorId),
}

#[derive(Clone, Debug)]
pub struct PeerInfo {
    pub call: CallId,
    pub owner: PeerOwner,
    pub session: SessionId,
}

pub struct App {
    pub config: Config,
    pub center: Mutex<CallCenter>,
    pub sfu: Arc<Sfu>,
    pub store: Store,
    pub metrics: Metrics,
    pub auth: crate::auth::Auth,
    pub media_tx: mpsc::UnboundedSender<MediaEvent>,
    sessions: DashMap<SessionId, SessionTx>,
    customers: DashMap<CallId, SessionId>,
    agent_sessions: DashMap<AgentId, Vec<SessionId>>,
    supervisor_sessions: DashMap<SupervisorId, Vec<SessionId>>,
    pub peers: DashMap<PeerId, PeerInfo>,
    /// Live transcription; `None` when `speech.enabled` is off.
    pub speech: Option<Arc<LiveSpeech>>,
    media_metrics: media::MediaMetrics,
    /// Supervisors who opened a call's live transcript.
    transcript_watchers: DashMap<CallId, Vec<SupervisorId>>,
    dashboard_dirty: AtomicBool,
    pub shutting_down: AtomicBool,
    /// Bounds log lines about repeated client faults.
    pub log_limit: crate::loglimit::LogLimiter,
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
        let (media_tx, media_rx) = mpsc::unbounded_channel();
        let app = Arc::new(Self {
            auth,
            center: Mutex::new(CallCenter::new(config.center.clone())),
            config,
            sfu,
            store,
            metrics,
            media_tx,
            sessions: DashMap::new(),
            customers: DashMap::new(),
            agent_sessions: DashMap::new(),
            supervisor_sessions: DashMap::new(),
            peers: DashMap::new(),
            speech,
            media_metrics,
            transcript_watchers: DashMap::new(),
            dashboard_dirty: AtomicBool::new(false),
            shutting_down: AtomicBool::new(false),
            log_limit: crate::loglimit::LogLimiter::new(10, Duration::from_secs(60)),
        });
        tokio::spawn(media_events(Arc::downgrade(&app), media_rx));
        tokio::spawn(timers(Arc::downgrade(&app)));
        Ok(app)
    }

    // ---- sessions --------------------------------------------------------------------------

    /// Register a session's outbound queue; the receiver turns true when the server closes
    /// the session (a client too slow to read what it is sent).
    pub fn add_session(
        &self,
        id: SessionId,
        tx: mpsc::Sender<Outbound>,
    ) -> tokio::sync::watch::Receiver<bool> {
        let (close, closed) = tokio::sync::watch::channel(false);
        self.sessions.insert(id, SessionTx { tx, close });
        self.metrics.ws_sessions.set(self.sessions.len() as i64);
        closed
    }

    pub fn remove_session(&self, id: &SessionId) {
        self.sessions.remove(id);
        self.metrics.ws_sessions.set(self.sessions.len() as i64);
    }

    /// Queue a message for one session. A session whose queue is full is too slow to keep up
    /// and is closed rather than letting memory grow.
    pub fn send(&self, session: &SessionId, msg: &ServerMessage) {
        if let Some(s) = self.sessions.get(session) {
            if s.tx.try_send(Outbound::Text(msg.to_json())).is_err() && !*s.close.borrow() {
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
        let Some(room) = self.sfu.find_room(&RoomId(call.0.clone())) else {
            return;
        };
        let sink: Arc<dyn SpeechSink> = Arc::new(AppSink(Arc::downgrade(self)));
        let started = Instant::now();
        for (role, party) in [
            (media::Role::Customer, Party::Customer),
            (media::Role::Agent, Party::Agent),
        ] {
            let rx = room.tap(role, media::Kind::Audio, 256);
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

    /// Send `msg` to whoever may read a call's transcript live: its agent and watching
    /// supervisors.
    fn to_transcript_readers(&self, call: &CallId, msg: &ServerMessage) {
        let agent = self.center.lock().expect("center lock").talking_agent(call);
        if let Some(agent) = agent {
            let sessions = self.agent_sessions.get(&agent).map(|v| v.clone());
            for s in sessions.unwrap_or_default() {
                self.send(&s, msg);
            }
        }
        let sups = self.transcript_watchers.get(call).map(|v| v.clone());
        for sup in sups.unwrap_or_default() {
            let sessions = self.supervisor_sessions.get(&sup).map(|v| v.clone());
            for s in sessions.unwrap_or_default() {
                self.send(&s, msg);
            }
        }
    }

    pub fn watch_transcript(&self, call: &CallId, sup: &SupervisorId) {
        let mut w = self.transcript_watchers.entry(call.clone()).or_default();
        if !w.contains(sup) {
            w.push(sup.clone());
        }
    }

    /// A supervisor's last session closed: stop sending them transcripts.
    pub fn unwatch_all(&self, sup: &SupervisorId) {
        for mut w in self.transcript_watchers.iter_mut() {
            w.retain(|s| s != sup);
        }
        self.transcript_watchers.retain(|_, w| !w.is_empty());
    }

    pub fn supervisor_online(&self, sup: &SupervisorId) -> bool {
        self.supervisor_sessions.contains_key(sup)
    }

    pub fn unwatch_transcript(&self, call: &CallId, sup: &SupervisorId) {
        if let Some(mut w) = self.transcript_watchers.get_mut(call) {
            w.retain(|s| s != sup);
        }
        self.transcript_watchers
            .remove_if(call, |_, w| w.is_empty());
    }

    // ---- the call center -------------------------------------------------------------------

    /// Run `f` on the call center, then deliver what it produced.
    pub fn with_center<R>(&self, f: impl FnOnce(&mut CallCenter, Instant) -> R) -> R {
        let (r, outputs) = self.center_step(f);
        self.deliver(outputs);
        r
    }

    /// Like [`App::with_center`] but hands the outputs back, so the caller can send something
    /// (an SDP answer) before them.
    pub fn center_step<R>(
        &self,
        f: impl FnOnce(&mut CallCenter, Instant) -> R,
    ) -> (R, Vec<Output>) {
        let mut center = self.center.lock().expect("center lock");
        let r = f(&mut center, Instant::now());
        let outputs: Vec<Output> = std::iter::from_fn(|| center.poll_output()).collect();
        self.metrics
            .set_census(&center.census(), center.queue_len());
        (r, outputs)
    }

    pub fn deliver(&self, outputs: Vec<Output>) {
        for o in outputs {
            match o {
                Output::ToCustomer(call, msg) => {
                    if let Some(s) = self.customers.get(&call).map(|s| s.clone()) {
                        self.send(&s, &msg);
                    }
                }
                Output::ToAgent(agent, msg) => {
                    let sessions = self.agent_sessions.get(&agent).map(|v| v.clone());
                    for s in sessions.unwrap_or_default() {
                        self.send(&s, &msg);
                    }
                }
                Output::ToSupervisor(sup, msg) => {
                    let sessions = self.supervisor_sessions.get(&sup).map(|v| v.clone());
                    for s in sessions.unwrap_or_default() {
                        self.send(&s, &msg);
                    }
                }
                Output::CloseCall(call, reason) => self.close_call(call, reason),
                Output::StopListening(call, sup) => {
                    let owner = PeerOwner::Listener(sup);
                    self.drop_peers(|p| p.call == call && p.owner == owner, &call);
                }
                Output::DashboardChanged => self.dashboard_dirty.store(true, Ordering::Relaxed),
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
                },
            }
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
        if let Some(speech) = &self.speech {
            speech.stop_call(&call);
        }
        self.customers.remove(&call);
        self.transcript_watchers.remove(&call);
        self.peers.retain(|_, p| p.call != call);
        let sfu = self.sfu.clone();
        let room = RoomId(call.0.clone());
        tokio::spawn(async move { sfu.close_room(&room).await });
    }

    /// Forget the peers matching `pred` and close them.
    pub fn drop_peers(&self, pred: impl Fn(&PeerInfo) -> bool, call: &CallId) {
        let ids: Vec<PeerId> = self
            .peers
            .iter()
            .filter(|e| pred(e.value()))
            .map(|e| e.key().clone())
            .collect();
        for id in ids {
            self.peers.remove(&id);
            let sfu = self.sfu.clone();
            let room = RoomId(call.0.clone());
            tokio::spawn(async move {
                let _ = sfu.leave(&room, &ParticipantId(id.0)).await;
            });
        }
    }

    /// Mute or unmute a party's audio in the media layer.
    pub fn mute_media(&self, call: &CallId, party: Party, muted: bool) {
        let Some(room) = self.sfu.find_room(&RoomId(call.0.clone())) else {
            return;
        };
        for e in self.peers.iter().filter(|e| &e.value().call == call) {
            let is_party = matches!(
                (&e.value().owner, party),
                (PeerOwner::Customer, Party::Customer) | (PeerOwner::Agent(_), Party::Agent)
            );
            if is_party {
                if let Some(peer) = room.peer(&ParticipantId(e.key().0.clone())) {
                    peer.set_muted(muted);
                }
            }
        }
    }

    fn push_dashboards(&self, force: bool) {
        if !self.dashboard_dirty.swap(false, Ordering::Relaxed) && !force {
            return;
        }
        let sessions: Vec<SessionId> = self
            .supervisor_sessions
            .iter()
            .flat_map(|e| e.value().clone())
            .collect();
        if sessions.is_empty() {
            return;
        }
        let msg = self.dashboard();
        for s in sessions {
            self.send(&s, &msg);
        }
    }

    pub fn dashboard(&self) -> ServerMessage {
        self.center
            .lock()
            .expect("center lock")
            .dashboard(Instant::now())
    }

    /// End every call, tell everyone, close every peer (graceful shutdown).
    pub async fn shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
        let calls = self.center.lock().expect("center lock").call_ids();
        for c in calls {
            let _ = self.with_center(|cc, now| cc.end_call(now, &c, EndReason::ServerShutdown));
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
    fn transcript(&self, call: &CallId, e: TranscriptEvent) {
        let Some(app) = self.0.upgrade() else { return };
        app.to_transcript_readers(call, &transcript_message(call, &e));
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
        app.to_transcript_readers(call, &transcript_message(call, e));
        app.to_transcript_readers(
            call,
            &ServerMessage::Emotion {
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
        if e.speaker == Party::Customer {
            let alert_after = app.config.speech.alert_after;
            let sentiment = SentimentView {
                label: u.emotion.label.as_str().into(),
                trend: u.trend.valence,
                negative_run: u.trend.negative_run,
            };
            let _ = app.with_center(|c, _| {
                c.customer_sentiment(call, sentiment, alert_after, e.text.clone())
            });
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

/// React to peer connection state changes.
async fn media_events(app: std::sync::Weak<App>, mut rx: mpsc::UnboundedReceiver<MediaEvent>) {
    while let Some(ev) = rx.recv().await {
        let Some(app) = app.upgrade() else { break };
        let pid = PeerId(ev.participant.0.clone());
        let Some(info) = app.peers.get(&pid).map(|p| p.clone()) else {
            continue; // a peer we already closed
        };
        match ev.kind {
            MediaEventKind::Connected => {
                let party = match info.owner {
                    PeerOwner::Customer => Party::Customer,
                    PeerOwner::Agent(_) => Party::Agent,
                    PeerOwner::Listener(_) => continue,
                };
                let _ = app.with_center(|c, now| c.media_up(now, &info.call, party));
            }
            MediaEventKind::Failed | MediaEventKind::Closed | MediaEventKind::Left => {
                tracing::info!(call_id = %info.call, participant = %pid, kind = ?ev.kind, "peer lost");
                match &info.owner {
                    PeerOwner::Customer | PeerOwner::Agent(_) => {
                        // ICE gave up: the media path failed. A participant who closed its
                        // connection (RTCP BYE), or a connection closed under us, went away.
                        let reason = match (ev.kind, &info.owner) {
                            (MediaEventKind::Failed, _) => EndReason::MediaFailed,
                            (_, PeerOwner::Customer) => EndReason::CustomerDisconnected,
                            _ => EndReason::AgentDisconnected,
                        };
                        let _ = app.with_center(|c, now| c.end_call(now, &info.call, reason));
                    }
                    PeerOwner::Listener(sup) => {
                        let sup = sup.clone();
                        let r = app.with_center(|c, _| c.stop_listening(&info.call, &sup));
                        if r.is_err() {
                            app.drop_peers(
                                |p| p.call == info.call && p.owner == info.owner,
                                &info.call,
                            );
                        }
                    }
                }
            }
            MediaEventKind::Disconnected => {
                tracing::info!(call_id = %info.call, participant = %pid, "peer disconnected; waiting for recovery");
            }
        }
    }
}

/// Ring timeouts, wrap-up ends, and dashboard pushes.
async fn timers(app: std::sync::Weak<App>) {
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    let mut n: u64 = 0;
    loop {
        tick.tick().await;
        let Some(app) = app.upgrade() else { break };
        n += 1;
        let due = app
            .center
            .lock()
            .expect("center lock")
            .poll_timeout()
            .is_some_and(|t| t <= Instant::now());
        if due {
            app.with_center(|c, now| c.handle_timeout(now));
        }
        // Changes go out within 200 ms; a full refresh every 2 s keeps timers honest.
        app.push_dashboards(n.is_multiple_of(10));
    }
}
