//! One WebSocket session: parse frames, check the sender's role and call, act, reply.
//!
//! Every request is checked against the session's identity before anything changes; a refused
//! request gets an `error` frame for this session only.

use crate::app::{App, Outbound, PeerInfo, PeerOwner};
use crate::store::AccountRole;
use axum::extract::ws::{Message, WebSocket};
use futures::{SinkExt, StreamExt};
use media::{MediaError, ParticipantId, Role, RoomId};
use signaling::center::Party;
use signaling::protocol::{
    parse_client_frame, AgentAvailability, ClientMessage, EndReason, ServerMessage,
    PROTOCOL_VERSION,
};
use signaling::{AgentId, CallId, ErrorCode, PeerId, SessionId, SignalError, SupervisorId};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::mpsc;
use tracing::Instrument;

/// Who is on the other end of a session.
#[derive(Clone, Debug, PartialEq)]
enum Identity {
    Anonymous,
    Customer(CallId),
    Agent(AgentId),
    Supervisor(SupervisorId),
}

/// A refused request.
struct Refusal {
    code: ErrorCode,
    message: String,
    retry_after: Option<std::time::Duration>,
}

impl Refusal {
    fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// `rate_limited`, with when to try again.
    fn retry(message: impl Into<String>, after: std::time::Duration) -> Self {
        Self {
            code: ErrorCode::RateLimited,
            message: message.into(),
            retry_after: Some(after),
        }
    }
}

impl From<SignalError> for Refusal {
    fn from(e: SignalError) -> Self {
        Self::new(e.code(), e.to_string())
    }
}

impl From<MediaError> for Refusal {
    fn from(e: MediaError) -> Self {
        match e {
            MediaError::BadSdp(_) | MediaError::BadCandidate(_) => {
                Self::new(ErrorCode::BadSdp, e.to_string())
            }
            MediaError::RoomNotFound(_) | MediaError::ParticipantNotFound(_) => {
                Self::new(ErrorCode::NotFound, e.to_string())
            }
            other => {
                tracing::error!("media: {other}");
                Self::new(ErrorCode::Internal, "media setup failed")
            }
        }
    }
}

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
    serve(app, socket, id, addr).instrument(span).await
}

async fn serve(app: Arc<App>, socket: WebSocket, id: SessionId, addr: Option<std::net::IpAddr>) {
    let (mut sink, mut stream) = socket.split();
    let (tx, mut rx) = mpsc::channel::<Outbound>(256);
    let mut closed = app.add_session(id.clone(), tx);
    let mut writer_closed = closed.clone();
    let writer = tokio::spawn(async move {
        loop {
            let out = tokio::select! {
                out = rx.recv() => out,
                _ = writer_closed.wait_for(|c| *c) => Some(Outbound::Close),
            };
            let Some(out) = out else { break };
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
        },
    );
    let mut rate = RateLimit {
        tokens: BURST,
        last: Instant::now(),
    };
    let mut rate_limited_until: Option<Instant> = None;
    loop {
        let msg = tokio::select! {
            msg = stream.next() => msg,
            _ = closed.wait_for(|c| *c) => break,
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
            Ok(Message::Close(_)) | Err(_) => break,
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
                match session.handle(frame.message).await {
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
    session.cleanup();
    app.remove_session(&id);
    writer.abort();
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
            ClientMessage::Login {
                username,
                password,
                token,
            } => self.login(username, password, token).await,
            ClientMessage::StartCall {
                sdp,
                caller,
                language,
            } => self.start_call(sdp, caller, language).await,
            ClientMessage::IceCandidate { peer_id, candidate } => {
                self.ice_candidate(peer_id, candidate).await
            }
            ClientMessage::Mute { call_id, muted } => {
                let (party, agent) = self.party_for(&call_id)?;
                self.app
                    .with_center(|c, _| c.set_muted(&call_id, party, agent.as_ref(), muted))?;
                self.app.mute_media(&call_id, party, muted);
                Ok(())
            }
            ClientMessage::HangUp { call_id } => {
                let (party, agent) = self.party_for(&call_id)?;
                let reason = match party {
                    Party::Customer => EndReason::CustomerHungUp,
                    Party::Agent => EndReason::AgentHungUp,
                };
                self.app.with_center(|c, now| {
                    c.check_party(&call_id, party, agent.as_ref())?;
                    c.end_call(now, &call_id, reason)
                })?;
                Ok(())
            }
            ClientMessage::SetState { state } => {
                let agent = self.agent()?;
                self.app.with_center(|c, now| {
                    c.set_availability(now, &agent, state == AgentAvailability::Available)
                })?;
                Ok(())
            }
            ClientMessage::Accept { call_id, sdp } => self.accept(call_id, sdp).await,
            ClientMessage::Decline { call_id } => {
                let agent = self.agent()?;
                self.app
                    .with_center(|c, now| c.decline(now, &agent, &call_id))?;
                Ok(())
            }
            ClientMessage::Listen { call_id, sdp } => self.listen(call_id, sdp).await,
            ClientMessage::StopListening { call_id } => {
                let sup = self.supervisor()?;
                self.app
                    .with_center(|c, _| c.stop_listening(&call_id, &sup))?;
                Ok(())
            }
            ClientMessage::WatchTranscript { call_id } => {
                let sup = self.supervisor()?;
                if !self.app.with_center(|c, _| c.is_live(&call_id)) {
                    return Err(Refusal::new(
                        ErrorCode::NotFound,
                        format!("no live call {call_id}"),
                    ));
                }
                let utterances = self
                    .app
                    .store
                    .transcript(call_id.as_str())
                    .map_err(|e| {
                        tracing::error!(call_id = %call_id, "store: {e:#}");
                        Refusal::new(ErrorCode::Internal, "could not read the transcript")
                    })?
                    .unwrap_or_default();
                self.app.watch_transcript(&call_id, &sup);
                self.send(&ServerMessage::TranscriptHistory {
                    call_id,
                    utterances,
                });
                Ok(())
            }
            ClientMessage::UnwatchTranscript { call_id } => {
                let sup = self.supervisor()?;
                self.app.unwatch_transcript(&call_id, &sup);
                Ok(())
            }
        }
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
    fn party_for(&self, call_id: &CallId) -> Result<(Party, Option<AgentId>), Refusal> {
        match &self.identity {
            Identity::Customer(c) if c == call_id => Ok((Party::Customer, None)),
            Identity::Agent(a) => Ok((Party::Agent, Some(a.clone()))),
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
                self.app
                    .with_center(|c, now| c.agent_login(now, agent, account.name));
            }
            AccountRole::Supervisor => {
                let sup = SupervisorId(account.username);
                self.identity = Identity::Supervisor(sup.clone());
                self.app.bind_supervisor(sup.clone(), self.id.clone());
                self.app.with_center(|c, _| c.supervisor_login(sup));
                self.send(&self.app.dashboard());
            }
        }
        Ok(())
    }

    async fn start_call(
        &mut self,
        sdp: String,
        caller: signaling::protocol::CallerInfo,
        language: Option<String>,
    ) -> Reply {
        match &self.identity {
            Identity::Anonymous => {}
            Identity::Customer(call) => {
                if self.app.with_center(|c, _| c.is_live(call)) {
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
        let caller = sanitize_caller(caller)?;
        let language = match language {
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
        let call_id = CallId::random();
        let (peer_id, answer) = match self
            .join(&call_id, Role::Customer, PeerOwner::Customer, &sdp)
            .await
        {
            Ok(joined) => joined,
            Err(e) => {
                // The room was created for this call only.
                let sfu = self.app.sfu.clone();
                let room = RoomId(call_id.0.clone());
                tokio::spawn(async move { sfu.close_room(&room).await });
                return Err(e);
            }
        };
        self.identity = Identity::Customer(call_id.clone());
        self.app.bind_customer(call_id.clone(), self.id.clone());
        self.app.start_speech(&call_id, &language);
        if let Err(e) = self.app.store.call_started(
            call_id.as_str(),
            &serde_json::to_string(&caller).unwrap_or_default(),
        ) {
            tracing::error!("store: {e:#}");
        }
        let cid = call_id.clone();
        let (_, outputs) = self
            .app
            .center_step(|c, now| c.start_call(now, cid, caller));
        self.send(&ServerMessage::Answer {
            call_id: call_id.clone(),
            peer_id,
            sdp: answer,
        });
        self.app.deliver(outputs);
        tracing::info!(call_id = %call_id, "call started");
        Ok(())
    }

    /// Answer `sdp` with a new peer of this session in the call's room, and remember who owns it.
    async fn join(
        &self,
        call_id: &CallId,
        role: Role,
        owner: PeerOwner,
        sdp: &str,
    ) -> Result<(PeerId, String), Refusal> {
        let peer_id = PeerId::random();
        let (_, answer) = self
            .app
            .sfu
            .join(
                &RoomId(call_id.0.clone()),
                ParticipantId(peer_id.0.clone()),
                role,
                sdp,
                self.app.media_tx.clone(),
            )
            .await?;
        self.app.peers.insert(
            peer_id.clone(),
            PeerInfo {
                call: call_id.clone(),
                owner,
                session: self.id.clone(),
            },
        );
        Ok((peer_id, answer))
    }

    async fn accept(&mut self, call_id: CallId, sdp: String) -> Reply {
        let agent = self.agent()?;
        // Check before touching media; checked again atomically when accepting.
        self.app
            .with_center(|c, _| c.check_offered(&agent, &call_id, "accept"))?;
        let (peer_id, answer) = self
            .join(&call_id, Role::Agent, PeerOwner::Agent(agent.clone()), &sdp)
            .await?;
        let (r, outputs) = self
            .app
            .center_step(|c, now| c.accept(now, &agent, &call_id));
        if let Err(e) = r {
            // The offer timed out or was withdrawn while we set up media.
            self.app
                .drop_peers(|p| p.session == self.id && p.call == call_id, &call_id);
            self.app.deliver(outputs);
            return Err(e.into());
        }
        if let Err(e) = self
            .app
            .store
            .call_answered(call_id.as_str(), agent.as_str())
        {
            tracing::error!("store: {e:#}");
        }
        self.send(&ServerMessage::Answer {
            call_id: call_id.clone(),
            peer_id,
            sdp: answer,
        });
        self.app.deliver(outputs);
        // What the customer said before the agent picked up (in the queue, or to the bot).
        if self.app.speech.is_some() {
            match self.app.store.transcript(call_id.as_str()) {
                Ok(Some(utterances)) if !utterances.is_empty() => {
                    self.send(&ServerMessage::TranscriptHistory {
                        call_id: call_id.clone(),
                        utterances,
                    })
                }
                Ok(_) => {}
                Err(e) => tracing::error!(call_id = %call_id, "store: {e:#}"),
            }
        }
        tracing::info!(call_id = %call_id, agent = %agent, "accepted");
        Ok(())
    }

    async fn listen(&mut self, call_id: CallId, sdp: String) -> Reply {
        let sup = self.supervisor()?;
        self.app
            .with_center(|c, _| c.check_listen(&call_id, &sup))?;
        let (peer_id, answer) = self
            .join(
                &call_id,
                Role::Listener,
                PeerOwner::Listener(sup.clone()),
                &sdp,
            )
            .await?;
        if let Err(e) = self
            .app
            .with_center(|c, _| c.start_listening(&call_id, &sup))
        {
            self.app.drop_peers(
                |p| {
                    p.session == self.id
                        && p.call == call_id
                        && p.owner == PeerOwner::Listener(sup.clone())
                },
                &call_id,
            );
            return Err(e.into());
        }
        self.send(&ServerMessage::Answer {
            call_id: call_id.clone(),
            peer_id,
            sdp: answer,
        });
        tracing::info!(call_id = %call_id, supervisor = %sup, "listening");
        Ok(())
    }

    async fn ice_candidate(&self, peer_id: PeerId, c: signaling::protocol::IceCandidate) -> Reply {
        let info = self
            .app
            .peers
            .get(&peer_id)
            .map(|p| p.clone())
            .filter(|p| p.session == self.id)
            .ok_or_else(|| {
                Refusal::new(ErrorCode::NotFound, format!("peer {peer_id} not found"))
            })?;
        let room = self
            .app
            .sfu
            .find_room(&RoomId(info.call.0.clone()))
            .ok_or_else(|| Refusal::new(ErrorCode::NotFound, "call has ended"))?;
        let peer = room
            .peer(&ParticipantId(peer_id.0.clone()))
            .ok_or_else(|| {
                Refusal::new(ErrorCode::NotFound, format!("peer {peer_id} not found"))
            })?;
        peer.add_ice_candidate(webrtc::peer_connection::RTCIceCandidateInit {
            candidate: c.candidate,
            sdp_mid: c.sdp_mid,
            sdp_mline_index: c.sdp_mline_index,
            ..Default::default()
        })
        .await?;
        Ok(())
    }

    /// The session closed: whatever it was doing ends cleanly.
    fn cleanup(&mut self) {
        let id = self.id.clone();
        match std::mem::replace(&mut self.identity, Identity::Anonymous) {
            Identity::Anonymous => {}
            Identity::Customer(call) => {
                let _ = self
                    .app
                    .with_center(|c, now| c.end_call(now, &call, EndReason::CustomerDisconnected));
                self.app.unbind_customer(&call);
            }
            Identity::Agent(agent) => {
                self.app.unbind_agent(&agent, &id);
                self.app.with_center(|c, now| c.agent_logout(now, &agent));
            }
            Identity::Supervisor(sup) => {
                self.app.unbind_supervisor(&sup, &id);
                if !self.app.supervisor_online(&sup) {
                    self.app.unwatch_all(&sup);
                }
                self.app.with_center(|c, _| c.supervisor_logout(&sup));
            }
        }
        // Peers this session still owns: an agent's call cannot go on without its media (another
        // tab of the same agent has none), and a listener stops listening.
        let owned: Vec<PeerInfo> = self
            .app
            .peers
            .iter()
            .filter(|e| e.value().session == id)
            .map(|e| e.value().clone())
            .collect();
        for p in owned {
            match &p.owner {
                PeerOwner::Agent(_) => {
                    let _ = self.app.with_center(|c, now| {
                        c.end_call(now, &p.call, EndReason::AgentDisconnected)
                    });
                }
                PeerOwner::Listener(sup) => {
                    let _ = self.app.with_center(|c, _| c.stop_listening(&p.call, sup));
                }
                PeerOwner::Customer => {}
            }
            self.app.drop_peers(|q| q.session == id, &p.call);
        }
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
