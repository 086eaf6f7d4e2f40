//! One WebSocket session, an adapter: frames in become requests checked against the
//! session's identity and handed to the call center or the join sagas ([`crate::calls`]);
//! what they produce goes out as frames. It holds no call policy.
//!
//! The pump is generic over any `Sink`/`Stream` of WebSocket messages, so it is unit-tested
//! over channels. A refused request gets an `error` frame for this session only.

use crate::app::{App, Outbound};
use crate::calls::{setup, Identity, Refusal};
use crate::store::AccountRole;
use axum::extract::ws::{Message, WebSocket};
use futures::{Sink, SinkExt, Stream, StreamExt};
use signaling::center::Input;
use signaling::protocol::{
    parse_client_frame, AgentAvailability, ClientMessage, ServerMessage, PROTOCOL_VERSION,
};
use signaling::{AgentId, CallId, ErrorCode, SessionId, SupervisorId};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::mpsc;
use tracing::Instrument;
use vocab::ParticipantKind;

type Reply = Result<(), Refusal>;

/// Token bucket: `RATE` messages per second, bursts of `BURST`.
struct RateLimit {
    tokens: f64,
    last: Instant,
}

const RATE: f64 = 20.0;
const BURST: f64 = 60.0;

impl RateLimit {
    fn allow(&mut self, now: Instant) -> bool {
        self.tokens = (self.tokens + (now - self.last).as_secs_f64() * RATE).min(BURST);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

struct Session {
    app: Arc<App>,
    id: SessionId,
    identity: Identity,
    /// The client's address, for login lockout.
    addr: Option<std::net::IpAddr>,
}

pub async fn run(app: Arc<App>, socket: WebSocket, addr: Option<std::net::IpAddr>) {
    let id = SessionId::random();
    let span = tracing::info_span!("session", session = %id);
    let (sink, stream) = socket.split();
    serve(app, sink, stream, id, addr).instrument(span).await
}

/// Pump one session until the client goes or the server closes it.
pub async fn serve<W, R, E>(
    app: Arc<App>,
    mut sink: W,
    mut stream: R,
    id: SessionId,
    addr: Option<std::net::IpAddr>,
) where
    W: Sink<Message> + Unpin + Send + 'static,
    R: Stream<Item = Result<Message, E>> + Unpin,
{
    let (tx, rx) = mpsc::channel::<Outbound>(256);
    let handle = app.add_session(id.clone(), tx);
    let mut closed = handle.closed.clone();
    let mut writer_closed = handle.closed;
    let taken_over = handle.taken_over;
    // The queue outlives the writer: a session parked for a resume keeps what is unsent.
    let rx = Arc::new(tokio::sync::Mutex::new(rx));
    let ping_every = std::time::Duration::from_millis(app.config.session.ping_interval_ms);
    let idle_timeout = std::time::Duration::from_millis(app.config.session.idle_timeout_ms);
    let writer_rx = rx.clone();
    let writer_taken_over = taken_over.clone();
    let writer = tokio::spawn(async move {
        let mut rx = writer_rx.lock().await;
        let mut ping = (!ping_every.is_zero()).then(|| {
            let mut i =
                tokio::time::interval_at(tokio::time::Instant::now() + ping_every, ping_every);
            i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            i
        });
        loop {
            let (out, closing, ping_due) = tokio::select! {
                out = rx.recv() => (out, false, false),
                _ = writer_closed.wait_for(|c| *c) => (Some(Outbound::Close), true, false),
                _ = async { ping.as_mut().expect("guarded").tick().await }, if ping.is_some() => {
                    (None, false, true)
                }
            };
            if ping_due {
                if sink.send(Message::Ping(Default::default())).await.is_err() {
                    break;
                }
                continue;
            }
            if closing && writer_taken_over.load(Ordering::Relaxed) {
                // A resume took the session over: what is queued is for the new connection.
                break;
            }
            if closing {
                // What was queued before the close (the error that says why) goes first, for
                // at most a second: a client too slow to read gets no more than that.
                let _ = tokio::time::timeout(std::time::Duration::from_secs(1), async {
                    while let Ok(Outbound::Text(t)) = rx.try_recv() {
                        if sink.send(Message::Text(t.into())).await.is_err() {
                            break;
                        }
                    }
                })
                .await;
            }
            let Some(out) = out else {
                // The session is gone. If the server closed it, say so to the client.
                if *writer_closed.borrow() && !writer_taken_over.load(Ordering::Relaxed) {
                    let _ = sink.send(Message::Close(None)).await;
                }
                break;
            };
            match out {
                Outbound::Text(t) => {
                    if sink.send(Message::Text(t.into())).await.is_err() {
                        break;
                    }
                }
                Outbound::Close => {
                    let _ = sink.send(Message::Close(None)).await;
                    break;
                }
            }
        }
    });
    let mut session = Session {
        app: app.clone(),
        id: id.clone(),
        identity: Identity::Anonymous,
        addr,
    };
    app.send(
        &id,
        &ServerMessage::Welcome {
            protocol: PROTOCOL_VERSION,
            session_id: id.clone(),
            resume_token: handle.resume_token,
        },
    );
    let mut rate = RateLimit {
        tokens: BURST,
        last: Instant::now(),
    };
    let mut rate_limited_until: Option<Instant> = None;
    // The client closed the connection itself (a close frame, other than a page going away
    // with 1001): nothing to keep for a resume.
    let mut said_goodbye = false;
    loop {
        // Anything from the client (a frame, a pong) shows it is still there.
        let silent = async {
            if idle_timeout.is_zero() {
                std::future::pending::<()>().await
            } else {
                tokio::time::sleep(idle_timeout).await
            }
        };
        let msg = tokio::select! {
            msg = stream.next() => msg,
            _ = closed.wait_for(|c| *c) => break,
            _ = silent => {
                tracing::info!(
                    "closing a session silent for {} ms (no frame, no pong)",
                    idle_timeout.as_millis()
                );
                app.metrics.ws_idle_closed.inc();
                break;
            }
        };
        let Some(msg) = msg else { break };
        let text = match msg {
            Ok(Message::Text(t)) => t.to_string(),
            Ok(Message::Binary(_)) => {
                session.refuse(
                    None,
                    Refusal::new(ErrorCode::BadJson, "binary frames are not supported"),
                );
                continue;
            }
            Ok(Message::Close(frame)) => {
                said_goodbye = frame.is_none_or(|f| f.code != 1001);
                break;
            }
            Err(_) => break,
            Ok(_) => continue,
        };
        let now = Instant::now();
        if !rate.allow(now) {
            // One error per second at most; the rest are dropped and only counted.
            if rate_limited_until.is_none_or(|t| now >= t) {
                rate_limited_until = Some(now + std::time::Duration::from_secs(1));
                session.refuse(
                    None,
                    Refusal::retry(
                        "too many messages; slow down",
                        std::time::Duration::from_millis((1000.0 / RATE) as u64),
                    ),
                );
            } else {
                app.metrics
                    .ws_errors
                    .with_label_values(&[ErrorCode::RateLimited.as_str()])
                    .inc();
            }
            continue;
        }
        if app.shutting_down.load(Ordering::Relaxed) {
            session.refuse(
                None,
                Refusal::new(ErrorCode::ShuttingDown, "the server is shutting down"),
            );
            continue;
        }
        match parse_client_frame(&text) {
            Ok(frame) => {
                let re = frame.id.clone();
                app.expect_reply(&session.id, re.clone(), reply_types(&frame.message));
                let done = session.handle(frame.message).await;
                if done.is_err() {
                    app.expect_reply(&session.id, None, &[]);
                }
                match done {
                    Ok(()) => {
                        if let Some(re) = re {
                            session.send(&ServerMessage::Ok { re });
                        }
                    }
                    Err(r) => session.refuse(re, r),
                }
            }
            Err(e) => session.refuse(e.id, Refusal::new(e.code, e.message)),
        }
    }
    let id = session.id.clone();
    let taken = taken_over.load(Ordering::Relaxed);
    // The server closed it (slow client, account changed): that is the end. A resume that
    // took it over, or a connection that just went, leaves it parked for a resume.
    let server_closed = *closed.borrow() && !taken;
    let keep = taken
        || (!said_goodbye
            && !server_closed
            && !matches!(session.identity, Identity::Anonymous)
            && app.config.session.resume_grace_ms > 0);
    if keep {
        writer.abort();
        let _ = writer.await;
        if let Ok(rx) = Arc::try_unwrap(rx) {
            let who = std::mem::replace(&mut session.identity, Identity::Anonymous);
            crate::resume::park(&app, id, who, rx.into_inner());
            return;
        }
        session.cleanup();
        app.remove_session(&id);
        return;
    }
    session.cleanup();
    app.remove_session(&id);
    // Removing the session drops the queue's sender: the writer sends what is still queued
    // (the error that says why the server closed it) and ends. It is stopped if a client that
    // does not read keeps it waiting.
    let stop = writer.abort_handle();
    if tokio::time::timeout(std::time::Duration::from_secs(2), writer)
        .await
        .is_err()
    {
        stop.abort();
    }
}

/// The message types that answer a request (the first of them carries its `re`).
fn reply_types(m: &ClientMessage) -> &'static [&'static str] {
    match m {
        ClientMessage::StartCall { .. } | ClientMessage::Listen { .. } => &["answer"],
        ClientMessage::Accept { sdp: Some(_), .. } => &["answer"],
        ClientMessage::Accept { sdp: None, .. } | ClientMessage::SetState { .. } => {
            &["agent_state"]
        }
        ClientMessage::StartChat { .. }
        | ClientMessage::RequestAgent { .. }
        | ClientMessage::LeaveMessage { .. }
        | ClientMessage::RequestCallback { .. } => &["call_state"],
        ClientMessage::Login { .. } => &["logged_in"],
        ClientMessage::Resume { .. } => &["resumed"],
        ClientMessage::Rejoin { sdp: Some(_), .. } => &["answer"],
        ClientMessage::Rejoin { sdp: None, .. } => &["call_state"],
        ClientMessage::WatchTranscript { .. } => &["transcript_history"],
        ClientMessage::Supervise { .. } => &["supervision"],
        ClientMessage::Transfer { .. } => &["transferred"],
        ClientMessage::Ping => &["pong"],
        _ => &[],
    }
}

impl Session {
    fn send(&self, msg: &ServerMessage) {
        self.app.send(&self.id, msg);
    }

    fn refuse(&self, re: Option<serde_json::Value>, r: Refusal) {
        let code = r.code.as_str();
        tracing::debug!(code = %code, "refused: {}", r.message);
        self.app.metrics.ws_errors.with_label_values(&[code]).inc();
        match r.retry_after {
            Some(after) => self.send(&ServerMessage::retry_later(r.message, re, after)),
            None => self.send(&ServerMessage::error(r.code, r.message, re)),
        }
    }

    async fn handle(&mut self, msg: ClientMessage) -> Reply {
        match msg {
            ClientMessage::Ping => {
                self.send(&ServerMessage::Pong);
                Ok(())
            }
            ClientMessage::Resume { session_id, token } => {
                if !matches!(self.identity, Identity::Anonymous) {
                    return Err(Refusal::new(
                        ErrorCode::WrongState,
                        "resume is for a new connection, before anything else",
                    ));
                }
                let identity =
                    crate::resume::resume(&self.app, &self.id, &session_id, &token).await?;
                self.id = session_id;
                self.identity = identity;
                Ok(())
            }
            ClientMessage::Login {
                username,
                password,
                token,
            } => self.login(username, password, token).await,
            ClientMessage::StartCall {
                sdp,
                caller,
                language,
                entry,
                queue,
            } => self.start_call(sdp, caller, language, entry, queue).await,
            ClientMessage::StartChat {
                caller,
                language,
                entry,
                queue,
            } => self.start_chat(caller, language, entry, queue).await,
            ClientMessage::Chat { call_id, text } => {
                let (party, agent) = self.party_for(&call_id)?;
                self.apply(Input::Chat {
                    call: call_id,
                    party,
                    agent,
                    text,
                    at_ms: crate::calls::bot::unix_ms(),
                })
                .await
            }
            ClientMessage::RequestAgent { call_id } => {
                self.customer_of(&call_id)?;
                self.apply(Input::RequestAgent { call: call_id }).await
            }
            ClientMessage::RejectAnswer { call_id } => {
                self.customer_of(&call_id)?;
                self.apply(Input::RejectAnswer { call: call_id }).await
            }
            ClientMessage::LeaveMessage { call_id, text } => {
                self.customer_of(&call_id)?;
                self.apply(Input::LeaveMessage {
                    call: call_id,
                    text,
                })
                .await
            }
            ClientMessage::RequestCallback {
                call_id,
                contact,
                note,
                at,
            } => {
                self.customer_of(&call_id)?;
                let at = match at.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
                    Some(a) => Some(crate::callbacks::time_for(&self.app, &call_id, a).await?),
                    None => None,
                };
                self.apply(Input::RequestCallback {
                    call: call_id,
                    contact,
                    note,
                    at,
                })
                .await
            }
            ClientMessage::IceCandidate { peer_id, candidate } => {
                setup::ice_candidate(&self.app, &self.id, &peer_id, candidate).await
            }
            ClientMessage::Mute { call_id, muted } => {
                let (party, agent) = self.party_for(&call_id)?;
                self.apply(Input::Mute {
                    call: call_id,
                    party,
                    agent,
                    muted,
                })
                .await
            }
            ClientMessage::HangUp { call_id } => {
                let (party, agent) = self.party_for(&call_id)?;
                self.apply(Input::HangUp {
                    call: call_id,
                    party,
                    agent,
                })
                .await
            }
            ClientMessage::SetState { state } => {
                let agent = self.agent()?;
                self.apply(Input::SetAvailability {
                    agent,
                    available: state == AgentAvailability::Available,
                })
                .await
            }
            ClientMessage::Accept { call_id, sdp } => {
                let agent = self.agent()?;
                match sdp {
                    Some(sdp) => setup::accept(&self.app, &self.id, &agent, &call_id, &sdp).await,
                    None => setup::accept_chat(&self.app, &agent, &call_id).await,
                }
            }
            ClientMessage::Transfer {
                call_id,
                queue,
                note,
            } => {
                let agent = self.agent()?;
                self.apply(Input::Transfer {
                    call: call_id,
                    agent,
                    queue,
                    note,
                })
                .await
            }
            ClientMessage::Decline { call_id } => {
                let agent = self.agent()?;
                self.apply(Input::Decline {
                    agent,
                    call: call_id,
                })
                .await
            }
            ClientMessage::Listen { call_id, sdp } => {
                let sup = self.supervisor()?;
                setup::listen(&self.app, &self.id, &sup, &call_id, &sdp).await
            }
            ClientMessage::Supervise { call_id, mode } => {
                let sup = self.supervisor()?;
                setup::supervise(&self.app, &sup, &call_id, mode).await
            }
            ClientMessage::StopListening { call_id } => {
                let sup = self.supervisor()?;
                self.apply(Input::StopListening { sup, call: call_id })
                    .await
            }
            ClientMessage::WatchTranscript { call_id } => {
                let sup = self.supervisor()?;
                self.apply(Input::WatchTranscript {
                    sup,
                    call: call_id.clone(),
                })
                .await
                .map_err(|_| {
                    Refusal::new(ErrorCode::NotFound, format!("no live call {call_id}"))
                })?;
                let utterances = self
                    .app
                    .store
                    .transcript(call_id.as_str())
                    .map_err(|e| {
                        tracing::error!(call_id = %call_id, "store: {e:#}");
                        Refusal::new(ErrorCode::Internal, "could not read the transcript")
                    })?
                    .unwrap_or_default();
                self.send(&ServerMessage::TranscriptHistory {
                    call_id,
                    utterances,
                });
                Ok(())
            }
            ClientMessage::UnwatchTranscript { call_id } => {
                let sup = self.supervisor()?;
                self.apply(Input::UnwatchTranscript { sup, call: call_id })
                    .await
            }
            ClientMessage::Rejoin { call_id, sdp } => {
                self.customer_of(&call_id)?;
                setup::rejoin(&self.app, &self.id, &call_id, sdp.as_deref()).await
            }
        }
    }

    /// Hand an input to the call center; its refusal is this request's.
    async fn apply(&self, input: Input) -> Reply {
        Ok(self.app.center.apply(input).await?)
    }

    fn agent(&self) -> Result<AgentId, Refusal> {
        match &self.identity {
            Identity::Agent(a) => Ok(a.clone()),
            Identity::Anonymous => Err(Refusal::new(
                ErrorCode::NotAuthenticated,
                "log in as an agent first",
            )),
            _ => Err(Refusal::new(
                ErrorCode::Forbidden,
                "only agents may do this",
            )),
        }
    }

    fn supervisor(&self) -> Result<SupervisorId, Refusal> {
        match &self.identity {
            Identity::Supervisor(s) => Ok(s.clone()),
            Identity::Anonymous => Err(Refusal::new(
                ErrorCode::NotAuthenticated,
                "log in as a supervisor first",
            )),
            _ => Err(Refusal::new(
                ErrorCode::Forbidden,
                "only supervisors may do this",
            )),
        }
    }

    /// Which party of `call_id` this session is, if any.
    /// Only the customer of `call_id` may do this.
    fn customer_of(&self, call_id: &CallId) -> Result<(), Refusal> {
        match self.party_for(call_id)? {
            (ParticipantKind::Customer, _) => Ok(()),
            _ => Err(Refusal::new(
                ErrorCode::Forbidden,
                "only the customer of the contact may do this",
            )),
        }
    }

    fn party_for(&self, call_id: &CallId) -> Result<(ParticipantKind, Option<AgentId>), Refusal> {
        match &self.identity {
            Identity::Customer(c) if c == call_id => Ok((ParticipantKind::Customer, None)),
            Identity::Agent(a) => Ok((ParticipantKind::Agent, Some(a.clone()))),
            Identity::Anonymous | Identity::Customer(_) => {
                // Never reveal whether another customer's call exists.
                Err(Refusal::new(
                    ErrorCode::NotFound,
                    format!("call {call_id} not found"),
                ))
            }
            Identity::Supervisor(_) => Err(Refusal::new(
                ErrorCode::Forbidden,
                "supervisors listen; they are not a party of the call",
            )),
        }
    }

    async fn login(
        &mut self,
        username: Option<String>,
        password: Option<String>,
        token: Option<String>,
    ) -> Reply {
        if self.identity != Identity::Anonymous {
            return Err(Refusal::new(
                ErrorCode::WrongState,
                "this session is already in use",
            ));
        }
        use crate::auth::AuthError;
        let checked = match (username, password, token) {
            (_, _, Some(token)) => self
                .app
                .auth
                .token(&self.app.store, &token)
                .map(|(a, exp)| (a, Some((token, exp)))),
            (Some(u), Some(p), None) => self
                .app
                .auth
                .password(&self.app.store, &u, &p, self.addr)
                .await
                .map(|a| (a, None)),
            _ => {
                return Err(Refusal::new(
                    ErrorCode::BadMessage,
                    "login needs username and password, or token",
                ))
            }
        };
        let (account, token) = match checked {
            Ok(ok) => ok,
            Err(AuthError::BadCredentials) => {
                // Usernames are personal data: not logged. The metric counts failures.
                tracing::debug!("bad credentials");
                return Err(Refusal::new(
                    ErrorCode::BadCredentials,
                    "wrong username or password",
                ));
            }
            Err(AuthError::Locked(wait)) => {
                return Err(Refusal::retry(
                    format!(
                        "too many failed logins; try again in {} s",
                        wait.as_secs().max(1)
                    ),
                    wait,
                ))
            }
            Err(AuthError::Busy) => {
                return Err(Refusal::retry(
                    "the server is busy checking other logins; try again shortly",
                    std::time::Duration::from_secs(1),
                ))
            }
            Err(AuthError::Internal(e)) => {
                tracing::error!("login: {e:#}");
                return Err(Refusal::new(ErrorCode::Internal, "login failed"));
            }
        };
        let (token, expires_at) = token.unwrap_or_else(|| self.app.auth.issue(&account));
        self.send(&ServerMessage::LoggedIn {
            username: account.username.clone(),
            name: account.name.clone(),
            role: account.role.as_str().into(),
            token,
            expires_at,
        });
        tracing::info!(username = %account.username, role = account.role.as_str(), "logged in");
        match account.role {
            AccountRole::Agent => {
                let agent = AgentId(account.username);
                self.identity = Identity::Agent(agent.clone());
                self.app.bind_agent(agent.clone(), self.id.clone());
                let skills = self.app.store.agent_skills(&agent.0).unwrap_or_else(|e| {
                    tracing::error!("store: {e:#}");
                    Default::default()
                });
                self.apply(Input::AgentLogin {
                    agent,
                    name: account.name,
                    skills,
                })
                .await?;
            }
            AccountRole::Supervisor => {
                let sup = SupervisorId(account.username);
                self.identity = Identity::Supervisor(sup.clone());
                self.app.bind_supervisor(sup.clone(), self.id.clone());
                self.apply(Input::SupervisorLogin { sup }).await?;
                if let Some(view) = self.app.dashboard().await {
                    self.send(&view);
                }
            }
        }
        Ok(())
    }

    /// A session may start a contact if it is anonymous or its last one ended.
    async fn may_start(&self) -> Result<(), Refusal> {
        match &self.identity {
            Identity::Anonymous => {}
            Identity::Customer(call) => {
                let call = call.clone();
                let live = self.app.center.read(move |c, _| c.is_live(&call)).await?;
                if live {
                    return Err(Refusal::new(
                        ErrorCode::WrongState,
                        "this session already has a call",
                    ));
                }
                // The previous call ended: this session may call again.
            }
            _ => {
                return Err(Refusal::new(
                    ErrorCode::Forbidden,
                    "agents and supervisors cannot start calls",
                ))
            }
        }
        Ok(())
    }

    /// A caller's own priority: a VIP's when the embedding site signed it.
    fn caller_priority(&self, caller: &signaling::protocol::CallerInfo) -> Result<i32, Refusal> {
        let key = self.app.config.auth.caller_signing_key.as_deref();
        match crate::auth::caller::is_vip(key, &caller.metadata) {
            Ok(true) => Ok(self.app.config.center.priority.vip),
            Ok(false) => Ok(0),
            Err(e) => Err(Refusal::new(ErrorCode::BadMessage, e)),
        }
    }

    /// The entry point a contact names, and how it starts there.
    fn entry(
        &self,
        entry: Option<String>,
        channel: signaling::protocol::Channel,
        language: Option<String>,
        queue: Option<String>,
    ) -> Result<(signaling::center::Start, crate::calls::speaker::VoicePrefs), Refusal> {
        let ep = self
            .app
            .config
            .entry_point(entry.as_deref())
            .ok_or_else(|| {
                Refusal::new(
                    ErrorCode::BadMessage,
                    format!(
                        "unknown entry point {:?}",
                        entry
                            .as_deref()
                            .unwrap_or_default()
                            .chars()
                            .take(40)
                            .collect::<String>()
                    ),
                )
            })?;
        let queues = self.app.queues();
        if let Some(q) = queue
            .as_deref()
            .filter(|q| !queues.iter().any(|x| x.name == *q))
        {
            return Err(Refusal::new(
                ErrorCode::BadMessage,
                format!("unknown queue {:?}", q.chars().take(40).collect::<String>()),
            ));
        }
        let bot = ep.bot && self.app.bot.is_some();
        let prefs = crate::calls::speaker::VoicePrefs {
            voice: ep.voice.clone(),
            speed: ep.speed,
        };
        let start = signaling::center::Start {
            channel,
            bot,
            language: language.or(Some(ep.bot_language().to_string())),
            queue_chosen: queue.is_some(),
            queue: queue.or(ep.queue.clone()),
            priority: 0,
        };
        Ok((start, prefs))
    }

    async fn start_chat(
        &mut self,
        caller: signaling::protocol::CallerInfo,
        language: Option<String>,
        entry: Option<String>,
        queue: Option<String>,
    ) -> Reply {
        self.may_start().await?;
        let caller = sanitize_caller(caller)?;
        if let Some(l) = &language {
            if bot::Language::parse(l).is_none() {
                return Err(Refusal::new(
                    ErrorCode::BadMessage,
                    format!(
                        "chat language {:?}: en or zh",
                        l.chars().take(20).collect::<String>()
                    ),
                ));
            }
        }
        let (mut start, _) =
            self.entry(entry, signaling::protocol::Channel::Chat, language, queue)?;
        start.priority = self.caller_priority(&caller)?;
        let call_id = setup::start_chat(&self.app, &self.id, caller, start).await?;
        self.identity = Identity::Customer(call_id);
        Ok(())
    }

    async fn start_call(
        &mut self,
        sdp: String,
        caller: signaling::protocol::CallerInfo,
        language: Option<String>,
        entry: Option<String>,
        queue: Option<String>,
    ) -> Reply {
        self.may_start().await?;
        let caller = sanitize_caller(caller)?;
        let entry_language = self
            .app
            .config
            .entry_point(entry.as_deref())
            .and_then(|e| e.language);
        let language = match language.or(entry_language) {
            None => self.app.config.speech.language.clone(),
            Some(l) if crate::speech::valid_language(&l) => l,
            Some(l) => {
                return Err(Refusal::new(
                    ErrorCode::BadMessage,
                    format!("unknown language {l:?}: use an ISO 639-1 code such as en or zh"),
                ))
            }
        };
        if let Some(sp) = &self.app.speech {
            if !sp.supports(&language) {
                return Err(Refusal::new(
                    ErrorCode::BadMessage,
                    format!("language {language:?} is not available on this server"),
                ));
            }
        }
        let (mut start, prefs) = self.entry(
            entry,
            signaling::protocol::Channel::Voice,
            Some(language.clone()),
            queue,
        )?;
        start.priority = self.caller_priority(&caller)?;
        let call_id =
            setup::start_call(&self.app, &self.id, caller, language, start, prefs, &sdp).await?;
        self.identity = Identity::Customer(call_id);
        Ok(())
    }

    /// The session closed: whatever it was doing ends cleanly.
    fn cleanup(&mut self) {
        let who = std::mem::replace(&mut self.identity, Identity::Anonymous);
        setup::session_closed(&self.app, &self.id, who);
    }
}

/// Bound what a customer may attach to a call.
fn sanitize_caller(
    c: signaling::protocol::CallerInfo,
) -> Result<signaling::protocol::CallerInfo, Refusal> {
    let too_long = |s: &Option<String>| s.as_ref().is_some_and(|s| s.chars().count() > 200);
    if too_long(&c.name) || too_long(&c.topic) {
        return Err(Refusal::new(
            ErrorCode::BadMessage,
            "caller name and topic are limited to 200 characters",
        ));
    }
    if c.metadata.len() > 32
        || c.metadata
            .iter()
            .any(|(k, v)| k.chars().count() > 64 || v.chars().count() > 512)
    {
        return Err(Refusal::new(
            ErrorCode::BadMessage,
            "caller metadata is limited to 32 entries, keys of 64 and values of 512 characters",
        ));
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    //! The session adapter over channels: no socket, no browser.

    use super::*;
    use futures::channel::mpsc as fmpsc;
    use std::pin::Pin;
    use std::task::{Context, Poll};
    use std::time::Duration;

    fn app() -> Arc<App> {
        crate::app::test_app(crate::config::Config::default())
    }

    type Frames = fmpsc::UnboundedSender<Result<Message, std::io::Error>>;

    fn start(
        app: &Arc<App>,
        sink: impl Sink<Message> + Unpin + Send + 'static,
    ) -> (Frames, SessionId, tokio::task::JoinHandle<()>) {
        let (frames, stream) = fmpsc::unbounded();
        let id = SessionId::random();
        let task = tokio::spawn(serve(app.clone(), sink, stream, id.clone(), None));
        (frames, id, task)
    }

    async fn next_json(rx: &mut fmpsc::UnboundedReceiver<Message>) -> serde_json::Value {
        let m = tokio::time::timeout(Duration::from_secs(5), rx.next())
            .await
            .expect("a reply within 5 s")
            .expect("session open");
        match m {
            Message::Text(t) => serde_json::from_str(&t).unwrap(),
            other => panic!("not text: {other:?}"),
        }
    }

    #[tokio::test]
    async fn frames_in_become_replies_out() {
        let app = app();
        let (tx, mut rx) = fmpsc::unbounded::<Message>();
        let (frames, id, _task) = start(&app, tx);
        let welcome = next_json(&mut rx).await;
        assert_eq!(welcome["type"], "welcome");
        assert_eq!(welcome["session_id"], id.as_str());
        let send = |t: &str| frames.unbounded_send(Ok(Message::Text(t.to_string().into())));
        send(r#"{"type":"ping","id":1}"#).unwrap();
        assert_eq!(next_json(&mut rx).await["type"], "pong");
        assert_eq!(next_json(&mut rx).await["re"], 1);
        // Not logged in: refused for this session, nothing else changes.
        send(r#"{"type":"supervise","id":2,"call_id":"c","mode":"barge"}"#).unwrap();
        let e = next_json(&mut rx).await;
        assert_eq!(
            (e["code"].as_str(), e["re"].as_i64()),
            (Some("not_authenticated"), Some(2))
        );
        send("{not json").unwrap();
        assert_eq!(next_json(&mut rx).await["code"], "bad_json");
        frames
            .unbounded_send(Ok(Message::Binary(vec![1, 2, 3].into())))
            .unwrap();
        assert_eq!(next_json(&mut rx).await["code"], "bad_json");
    }

    #[tokio::test]
    async fn a_session_the_server_ends_is_told_why_before_the_close() {
        let app = app();
        // A client on a slow link: every frame takes a while to go out.
        let (tx, mut rx) = fmpsc::unbounded::<Message>();
        let slow = tx.with(|m: Message| {
            Box::pin(async move {
                tokio::time::sleep(Duration::from_millis(30)).await;
                Ok::<_, fmpsc::SendError>(m)
            }) as Pin<Box<dyn std::future::Future<Output = _> + Send>>
        });
        let (_frames, id, task) = start(&app, slow);
        assert_eq!(next_json(&mut rx).await["type"], "welcome");
        app.bind_agent(AgentId::from("bea"), id.clone());
        for _ in 0..3 {
            app.send(&id, &ServerMessage::Pong);
        }
        app.end_account_sessions("bea");
        for _ in 0..3 {
            assert_eq!(next_json(&mut rx).await["type"], "pong");
        }
        let e = next_json(&mut rx).await;
        assert_eq!(e["code"], "not_authenticated", "{e}");
        let last = tokio::time::timeout(Duration::from_secs(5), rx.next()).await;
        assert!(matches!(last, Ok(Some(Message::Close(_)))), "{last:?}");
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("the session ends")
            .unwrap();
    }

    /// A sink that never takes anything: a client that stopped reading.
    struct Stuck;

    impl Sink<Message> for Stuck {
        type Error = std::io::Error;
        fn poll_ready(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Pending
        }
        fn start_send(self: Pin<&mut Self>, _: Message) -> Result<(), Self::Error> {
            Ok(())
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Pending
        }
        fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Pending
        }
    }

    #[tokio::test]
    async fn a_client_that_never_reads_is_disconnected() {
        let app = app();
        let (_frames, id, task) = start(&app, Stuck);
        tokio::time::sleep(Duration::from_millis(50)).await;
        // More than the session's queue holds: the close must not wait behind them.
        for _ in 0..400 {
            app.send(&id, &ServerMessage::Pong);
        }
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("the server closes a client too slow to read")
            .unwrap();
        assert_eq!(app.metrics.ws_sessions.get(), 0);
    }
}
