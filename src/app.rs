//! The wiring between signalling, media and storage: shared state, and the carrying out of the
//! call center's outputs (messages to deliver, plans for media rooms, calls to close, records
//! and metrics). Media events and speech results go in as center inputs; what a call does is
//! decided there, not here. The join sagas that create media live in [`crate::calls`].
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
use media::{MediaEvent, MediaEventKind, Sfu};
use signaling::center::{CallCenter, MediaLoss, Member, Milestone, Output, Recipient};
use signaling::protocol::{EndReason, SentimentView, ServerMessage, UtteranceView};
use signaling::{AgentId, CallId, ParticipantId, SessionId, SupervisorId};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use vocab::ParticipantKind;

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
    pub peers: DashMap<ParticipantId, PeerInfo>,
    /// Live transcription; `None` when `speech.enabled` is off.
    pub speech: Option<Arc<LiveSpeech>>,
    media_metrics: media::MediaMetrics,
    /// The queue announcement (16 kHz mono), loaded at start.
    pub announcement: Option<Arc<Vec<i16>>>,
    /// The announcement voice of each waiting call.
    pub announcements: DashMap<CallId, ParticipantId>,
    dashboard_dirty: AtomicBool,
    /// Wakes the timer task after every step of the center.
    wake: Arc<tokio::sync::Notify>,
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
        let announcement = match &config.calls.queue_announcement {
            Some(p) => {
                let pcm = crate::speech::wav::read_16k_mono(p)
                    .map_err(|e| anyhow::anyhow!("queue_announcement {}: {e}", p.display()))?;
                Some(Arc::new(
                    pcm.iter()
                        .map(|x| (x.clamp(-1.0, 1.0) * 32767.0) as i16)
                        .collect(),
                ))
            }
            None => None,
        };
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
            announcement,
            announcements: DashMap::new(),
            dashboard_dirty: AtomicBool::new(false),
            wake: Arc::new(tokio::sync::Notify::new()),
            shutting_down: AtomicBool::new(false),
            log_limit: crate::loglimit::LogLimiter::new(10, Duration::from_secs(60)),
        });
        tokio::spawn(media_events(Arc::downgrade(&app), media_rx));
        tokio::spawn(timers(Arc::downgrade(&app), app.wake.clone()));
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

    /// Send `msg` to whoever may read a call's transcript live (the center says who).
    fn to_transcript_readers(&self, call: &CallId, msg: &ServerMessage) {
        let readers = self
            .center
            .lock()
            .expect("center lock")
            .transcript_readers(call);
        for r in readers {
            self.send_to(&r, msg);
        }
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
        let r = f(&mut center, now());
        let outputs: Vec<Output> = std::iter::from_fn(|| center.poll_output()).collect();
        if !outputs.is_empty() {
            // A new deadline or a dashboard change: the timer task looks again.
            self.wake.notify_one();
        }
        self.metrics
            .set_census(&center.census(), center.queue_len());
        (r, outputs)
    }

    pub fn deliver(&self, outputs: Vec<Output>) {
        for o in outputs {
            match o {
                Output::ToCustomer(call, msg) => self.send_to(&Recipient::Customer(call), &msg),
                Output::ToAgent(agent, msg) => self.send_to(&Recipient::Agent(agent), &msg),
                Output::ToSupervisor(sup, msg) => self.send_to(&Recipient::Supervisor(sup), &msg),
                Output::CloseCall(call, reason) => self.close_call(call, reason),
                Output::StopListening(call, sup) => {
                    let member = Member::Supervisor(sup);
                    self.drop_peers(|p| p.call == call && p.member == member);
                }
                Output::Mute(call, party, muted) => self.mute_media(&call, party, muted),
                Output::Route(call, plan) => {
                    if let Some(room) = self.sfu.find_room(&call) {
                        room.set_plan(plan);
                    }
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
        self.announcements.remove(&call);
        self.peers.retain(|_, p| p.call != call);
        let sfu = self.sfu.clone();
        tokio::spawn(async move { sfu.close_room(&call).await });
    }

    /// Forget the peers matching `pred` and close each in its own call's room.
    pub fn drop_peers(&self, pred: impl Fn(&PeerInfo) -> bool) {
        let gone: Vec<ParticipantId> = self
            .peers
            .iter()
            .filter(|e| pred(e.value()))
            .map(|e| e.key().clone())
            .collect();
        for id in gone {
            self.drop_peer(&id);
        }
    }

    /// Forget one peer and close it.
    pub fn drop_peer(&self, id: &ParticipantId) {
        let Some((id, info)) = self.peers.remove(id) else {
            return;
        };
        self.with_center(|c, _| c.media_left(&info.call, &id));
        let sfu = self.sfu.clone();
        tokio::spawn(async move {
            let _ = sfu.leave(&info.call, &id).await;
        });
    }

    /// Mute or unmute a party's audio in the media layer.
    fn mute_media(&self, call: &CallId, party: ParticipantKind, muted: bool) {
        let Some(room) = self.sfu.find_room(call) else {
            return;
        };
        for e in self.peers.iter().filter(|e| &e.value().call == call) {
            let is_party = matches!(
                (&e.value().member, party),
                (Member::Customer, ParticipantKind::Customer)
                    | (Member::Agent(_), ParticipantKind::Agent)
            );
            if is_party {
                room.set_muted(e.key(), muted);
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
        self.center.lock().expect("center lock").dashboard(now())
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
        if e.speaker == ParticipantKind::Customer {
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

/// Media events become center inputs; the center's media-failure policy decides.
async fn media_events(app: std::sync::Weak<App>, mut rx: mpsc::UnboundedReceiver<MediaEvent>) {
    while let Some(ev) = rx.recv().await {
        let Some(app) = app.upgrade() else { break };
        let Some(info) = app.peers.get(&ev.participant).map(|p| p.clone()) else {
            continue; // a peer we already closed
        };
        let loss = match ev.kind {
            MediaEventKind::Connected => {
                let kind = match info.member {
                    Member::Customer => ParticipantKind::Customer,
                    Member::Agent(_) => ParticipantKind::Agent,
                    _ => continue,
                };
                let _ = app.with_center(|c, now| c.media_up(now, &info.call, kind));
                continue;
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
        let _ = app.with_center(|c, now| c.media_lost(now, &info.call, &ev.participant, loss));
        // Whatever the policy decided, this connection is gone.
        app.drop_peer(&ev.participant);
    }
}

/// The time the shell gives the center: tokio's clock, so tests can run it virtually
/// (`tokio::time::pause`).
pub fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// How long dashboard changes are gathered before they are pushed, and how often the whole
/// view is refreshed anyway (so the durations on it stay honest).
const DASHBOARD_COALESCE: Duration = Duration::from_millis(200);
const DASHBOARD_REFRESH: Duration = Duration::from_secs(2);

/// Ring timeouts, wrap-up ends and dashboard pushes. The task sleeps until the earliest of the
/// center's next deadline, a pending dashboard change, and the periodic refresh; every step of
/// the center wakes it to look again.
async fn timers(app: std::sync::Weak<App>, wake: Arc<tokio::sync::Notify>) {
    let mut last_refresh = tokio::time::Instant::now();
    // When the first dashboard change not yet pushed was seen: changes go out at most
    // DASHBOARD_COALESCE after it, however many follow.
    let mut dirty_since: Option<tokio::time::Instant> = None;
    loop {
        let wake_at = {
            let Some(app) = app.upgrade() else { break };
            let center_due = app
                .center
                .lock()
                .expect("center lock")
                .poll_timeout()
                .map(tokio::time::Instant::from_std);
            if dirty_since.is_none() && app.dashboard_dirty.load(Ordering::Relaxed) {
                dirty_since = Some(tokio::time::Instant::now());
            }
            let dashboard_due = dirty_since.map(|t| t + DASHBOARD_COALESCE);
            [
                center_due,
                dashboard_due,
                Some(last_refresh + DASHBOARD_REFRESH),
            ]
            .into_iter()
            .flatten()
            .min()
            .expect("the refresh is always due")
        };
        tokio::select! {
            _ = tokio::time::sleep_until(wake_at) => {}
            _ = wake.notified() => continue,
        }
        let Some(app) = app.upgrade() else { break };
        let due = app
            .center
            .lock()
            .expect("center lock")
            .poll_timeout()
            .is_some_and(|t| t <= now());
        if due {
            app.with_center(|c, now| c.handle_timeout(now));
        }
        let t = tokio::time::Instant::now();
        let refresh = t >= last_refresh + DASHBOARD_REFRESH;
        if refresh {
            last_refresh = t;
        }
        if refresh || dirty_since.is_some_and(|d| t >= d + DASHBOARD_COALESCE) {
            dirty_since = None;
            app.push_dashboards(refresh);
        }
    }
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
        app.with_center(|c, now| {
            c.agent_login(now, a.clone(), "A".into());
            c.set_availability(now, &a, true).unwrap();
            c.start_call(now, call.clone(), CallerInfo::default());
        });
        let ringing = |app: &App| app.center.lock().unwrap().census().calls_ringing;
        assert_eq!(ringing(&app), 1);
        tokio::time::sleep(Duration::from_millis(19_900)).await;
        assert_eq!(ringing(&app), 1, "withdrawn before the ring timeout");
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(ringing(&app), 0, "still ringing after the ring timeout");
        let census = app.center.lock().unwrap().census();
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
        let _closed = app.add_session(session.clone(), tx);
        let sam = SupervisorId::from("sam");
        app.bind_supervisor(sam.clone(), session);
        app.with_center(|c, _| c.supervisor_login(sam));
        let t0 = tokio::time::Instant::now();
        // A change every 50 ms for 1 s.
        let mut first = None;
        for i in 0..20 {
            app.with_center(|c, now| {
                c.start_call(
                    now,
                    CallId::from(format!("c{i}").as_str()),
                    CallerInfo::default(),
                )
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
