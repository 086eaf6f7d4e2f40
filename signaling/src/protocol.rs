//! The WebSocket wire protocol, version 1 (`docs/protocol.md` is the reference for client authors).
//!
//! Every frame is one JSON object with a `type` field. A client may add a string or number `id`
//! to any request; the server then ends its handling of that request with `ok {re: id}` or
//! `error {re: id, ...}`, after any other replies the request caused.
//! This module owns only the shapes of messages and their parsing; what they do lives in
//! [`crate::center`] and in the server shell.

use crate::error::ErrorCode;
use crate::ids::{AgentId, CallId, ParticipantId, SessionId, SupervisorId, SupervisorMode};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The protocol version this crate speaks.
pub const PROTOCOL_VERSION: u32 = 1;
/// Largest accepted client frame, in bytes (an SDP offer with video is about 6 KB).
pub const MAX_FRAME_BYTES: usize = 64 * 1024;

/// What a customer tells about themselves when calling. Everything is optional.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CallerInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// Free-form key/value pairs passed through by the embedding website (order id, page, ...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
}

/// A trickled ICE candidate, as the browser's `RTCIceCandidate.toJSON()` gives it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IceCandidate {
    pub candidate: String,
    #[serde(default, rename = "sdpMid", skip_serializing_if = "Option::is_none")]
    pub sdp_mid: Option<String>,
    #[serde(
        default,
        rename = "sdpMLineIndex",
        skip_serializing_if = "Option::is_none"
    )]
    pub sdp_mline_index: Option<u16>,
}

/// Availability an agent may choose.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentAvailability {
    Available,
    Away,
}

/// Messages from client to server.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMessage {
    /// Customer: start a call with an SDP offer (audio, optionally a video transceiver).
    StartCall {
        sdp: String,
        #[serde(default)]
        caller: CallerInfo,
        /// Language spoken on the call (ISO 639-1, e.g. `en`, `zh`); the deployment's default
        /// when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        language: Option<String>,
        /// The entry point the customer came through (`[[entry_points]]` of the config); the
        /// first one when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        entry: Option<String>,
        /// The queue (`[[center.queues]]`) the customer chose; the entry point's when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        queue: Option<String>,
    },
    /// Customer: start a text chat (no media). Answered with `call_state` (`with_bot` when the
    /// entry point's bot serves it first, else `queued`).
    StartChat {
        #[serde(default)]
        caller: CallerInfo,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        language: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        entry: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        queue: Option<String>,
    },
    /// Customer of a contact (voice or chat) or the agent on it: one chat message.
    Chat { call_id: CallId, text: String },
    /// Customer served by the bot: hand me to a person now.
    RequestAgent { call_id: CallId },
    /// Customer served by the bot: the last answer was not what I asked.
    RejectAnswer { call_id: CallId },
    /// Customer of a contact in `overflow`: leave a message for the agents (a ticket) and end
    /// the contact. `text` is the message; in a voice call it may be left out, and what the
    /// customer said since the overflow is the message.
    LeaveMessage {
        call_id: CallId,
        #[serde(default)]
        text: Option<String>,
    },
    /// Customer of a contact in `overflow`: ask to be called back at `contact` (a phone
    /// number or e-mail address) and end the contact.
    RequestCallback {
        call_id: CallId,
        contact: String,
        #[serde(default)]
        note: Option<String>,
        /// When to call back (RFC 3339, e.g. `2026-12-07T10:30:00+01:00`); absent: as soon
        /// as an agent can.
        #[serde(default)]
        at: Option<String>,
    },
    /// Any peer owner: trickle one ICE candidate for one of its peer connections.
    IceCandidate {
        peer_id: ParticipantId,
        candidate: IceCandidate,
    },
    /// Customer or agent: stop (or resume) sending its audio to the other party.
    Mute { call_id: CallId, muted: bool },
    /// Customer or agent: end the call.
    HangUp { call_id: CallId },
    /// Agent on a call: hand it to another queue (a blind transfer). The agent leaves it and
    /// wraps up; it waits in `queue` ahead of the others, and the next agent is offered it
    /// with `note`.
    Transfer {
        call_id: CallId,
        queue: String,
        #[serde(default)]
        note: Option<String>,
    },
    /// Agent or supervisor: authenticate this connection, with a username and password or
    /// with the session token an earlier `logged_in` returned.
    Login {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        username: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        password: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token: Option<String>,
    },
    /// Agent: become available for calls, or away.
    SetState { state: AgentAvailability },
    /// Agent: accept an offered call, with the SDP offer of the agent's peer connection (a
    /// voice call), or without one (a chat).
    Accept {
        call_id: CallId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sdp: Option<String>,
    },
    /// Agent: decline an offered call; it is offered to the next agent.
    Decline { call_id: CallId },
    /// Supervisor: listen silently to a live call, with a receive-only SDP offer.
    Listen { call_id: CallId, sdp: String },
    /// Supervisor: stop listening.
    StopListening { call_id: CallId },
    /// Supervisor listening to a call: change how they take part (`listen`, `whisper` to the
    /// agent only, `barge` in so both sides hear them). Whisper and barge need an agent on the
    /// call, and a `listen` offer whose first audio m-line sends (the supervisor's microphone).
    Supervise {
        call_id: CallId,
        mode: SupervisorMode,
    },
    /// Supervisor: receive a call's live transcript (its history first).
    WatchTranscript { call_id: CallId },
    /// Supervisor: stop receiving a call's transcript.
    UnwatchTranscript { call_id: CallId },
    /// Anyone: keep-alive; answered with `pong`.
    Ping,
    /// A new connection takes over a session whose connection dropped (within
    /// `[session] resume_grace_ms`), with the `session_id` and `resume_token` of its `welcome`.
    Resume {
        session_id: SessionId,
        token: String,
    },
    /// Customer, after a `resume` (a page that reloaded): come back to the live contact. A
    /// voice call needs the SDP offer of a new peer connection (answered with `answer`; the
    /// new connection replaces the old one); a chat none. Then `call_state` says where the
    /// contact stands and the chat so far is sent again as `chat` messages.
    Rejoin {
        call_id: CallId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sdp: Option<String>,
    },
}

impl ClientMessage {
    /// Every `type` value a client may send.
    pub const TYPES: &'static [&'static str] = &[
        "start_call",
        "start_chat",
        "chat",
        "request_agent",
        "reject_answer",
        "leave_message",
        "request_callback",
        "ice_candidate",
        "mute",
        "hang_up",
        "transfer",
        "login",
        "set_state",
        "accept",
        "decline",
        "listen",
        "stop_listening",
        "supervise",
        "watch_transcript",
        "unwatch_transcript",
        "ping",
        "resume",
        "rejoin",
    ];
}

/// A parsed client frame: the message and the request id to echo back.
#[derive(Clone, Debug, PartialEq)]
pub struct ClientFrame {
    pub id: Option<serde_json::Value>,
    pub message: ClientMessage,
}

/// A parse failure: the code, a safe message, and the request id if one could be read.
#[derive(Clone, Debug, PartialEq)]
pub struct ParseError {
    pub code: ErrorCode,
    pub message: String,
    pub id: Option<serde_json::Value>,
}

/// Parse one client text frame, telling apart bad JSON, unknown types and bad fields.
pub fn parse_client_frame(text: &str) -> Result<ClientFrame, ParseError> {
    if text.len() > MAX_FRAME_BYTES {
        return Err(ParseError {
            code: ErrorCode::TooLarge,
            message: format!("frame is {} bytes; limit is {MAX_FRAME_BYTES}", text.len()),
            id: None,
        });
    }
    let mut value: serde_json::Value = serde_json::from_str(text).map_err(|e| ParseError {
        code: ErrorCode::BadJson,
        message: format!("invalid JSON: {e}"),
        id: None,
    })?;
    let obj = value.as_object_mut().ok_or_else(|| ParseError {
        code: ErrorCode::BadJson,
        message: "a frame must be a JSON object".into(),
        id: None,
    })?;
    let id = obj.remove("id").filter(|v| v.is_string() || v.is_number());
    let ty = match obj.get("type") {
        Some(serde_json::Value::String(t)) => t.clone(),
        _ => {
            return Err(ParseError {
                code: ErrorCode::UnknownType,
                message: "missing string field `type`".into(),
                id,
            })
        }
    };
    if !ClientMessage::TYPES.contains(&ty.as_str()) {
        return Err(ParseError {
            code: ErrorCode::UnknownType,
            message: format!("unknown message type `{}`", truncate(&ty, 40)),
            id,
        });
    }
    let message = serde_json::from_value(value).map_err(|e| ParseError {
        code: ErrorCode::BadMessage,
        message: format!("bad `{ty}` message: {e}"),
        id: id.clone(),
    })?;
    Ok(ClientFrame { id, message })
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// Who ended a call, or why it ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    CustomerHungUp,
    AgentHungUp,
    CustomerDisconnected,
    AgentDisconnected,
    MediaFailed,
    ServerShutdown,
    /// Found unfinished when the server started again after it was killed or crashed.
    ServerCrash,
    /// No agent could take it and the customer left a message (a ticket).
    MessageLeft,
    /// No agent could take it and the customer asked to be called back (a ticket).
    CallbackRequested,
}

impl EndReason {
    pub const ALL: [EndReason; 9] = [
        EndReason::CustomerHungUp,
        EndReason::AgentHungUp,
        EndReason::CustomerDisconnected,
        EndReason::AgentDisconnected,
        EndReason::MediaFailed,
        EndReason::ServerShutdown,
        EndReason::ServerCrash,
        EndReason::MessageLeft,
        EndReason::CallbackRequested,
    ];

    /// The wire name (`customer_hung_up`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::CustomerHungUp => "customer_hung_up",
            EndReason::AgentHungUp => "agent_hung_up",
            EndReason::CustomerDisconnected => "customer_disconnected",
            EndReason::AgentDisconnected => "agent_disconnected",
            EndReason::MediaFailed => "media_failed",
            EndReason::ServerShutdown => "server_shutdown",
            EndReason::ServerCrash => "server_crash",
            EndReason::MessageLeft => "message_left",
            EndReason::CallbackRequested => "callback_requested",
        }
    }
}

/// Why an offered call was taken back from an agent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WithdrawReason {
    /// The agent declined it.
    Declined,
    /// The agent did not answer within the ring timeout.
    Timeout,
    /// The agent's last session closed.
    AgentLeft,
    /// The customer hung up (or the call ended otherwise).
    CallEnded,
}

/// Why the server set an agent away.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AwayReason {
    /// A call rang for the agent until the ring timeout and was not answered.
    MissedCall,
    /// The agent's connection (signaling or media) dropped during a call.
    ConnectionLost,
}

/// How a contact talks: by voice (WebRTC) or by text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    #[default]
    Voice,
    Chat,
    /// A callback the customer asked for: work for an agent, who calls them back at the
    /// number or address given (outside the server). No media and no chat; accepted like a
    /// chat (no SDP) and ended with `hang_up` when done.
    Callback,
}

/// A contact an agent handed to another queue, as the next agent is told.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TransferView {
    /// The agent who transferred it.
    pub from_agent: AgentId,
    /// The queue it waited in before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_queue: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// What an agent offered a callback needs: whom to call back and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CallbackView {
    /// The contact that asked for it (its transcript and ticket carry what was said).
    pub of_call: CallId,
    /// A phone number or e-mail address, as the customer gave it.
    pub contact: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// When the customer asked to be called (RFC 3339, UTC); absent: as soon as possible.
    /// The callback is offered to agents from then on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
}

/// Why the bot handed a contact to the agents' queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EscalationReason {
    /// The customer asked for a person.
    AskedForHuman,
    /// Clear anger, insults, threats, sarcasm.
    NegativeEmotion,
    /// Two questions in a row the knowledge base could not answer.
    NoAnswerRepeated,
    /// By policy: suspected fraud, a safety hazard, a disputed charge.
    Flow,
}

impl EscalationReason {
    pub fn as_str(self) -> &'static str {
        match self {
            EscalationReason::AskedForHuman => "asked_for_human",
            EscalationReason::NegativeEmotion => "negative_emotion",
            EscalationReason::NoAnswerRepeated => "no_answer_repeated",
            EscalationReason::Flow => "flow",
        }
    }
}

/// Who wrote a chat line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChatFrom {
    Customer,
    Agent,
    Bot,
}

impl ChatFrom {
    /// The wire name, also the `speaker` of the line in the stored transcript.
    pub fn as_str(self) -> &'static str {
        match self {
            ChatFrom::Customer => "customer",
            ChatFrom::Agent => "agent",
            ChatFrom::Bot => "bot",
        }
    }

    /// The writer of a line whose speaker is `s` (`customer`, `agent`; anything else is the bot).
    pub fn from_speaker(s: &str) -> Self {
        match s {
            "customer" => ChatFrom::Customer,
            "agent" => ChatFrom::Agent,
            _ => ChatFrom::Bot,
        }
    }
}

/// One line of a conversation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChatLine {
    pub from: ChatFrom,
    pub text: String,
    /// Unix time, milliseconds.
    pub at_ms: u64,
}

/// What an agent is given with a contact the bot served.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HandoffCard {
    pub reason: EscalationReason,
    /// The knowledge-base entry (or intent) the customer's words last matched.
    pub intent: Option<String>,
    /// Details the bot collected (order number, ...).
    #[serde(default)]
    pub slots: std::collections::BTreeMap<String, String>,
    pub conversation: Vec<ChatLine>,
    /// One valence (-1..1) per customer turn, oldest first.
    pub sentiment: Vec<f32>,
    pub summary: String,
}

/// Most characters in one chat message.
pub const MAX_CHAT_CHARS: usize = 2000;

/// A call's state as the customer and the dashboards see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallStateName {
    /// The bot serves the contact; it is not in the agents' queue (yet).
    WithBot,
    Queued,
    Ringing,
    Connected,
    /// No agent can take the contact now (see `overflow` on `call_state`): the customer may
    /// leave a message or ask for a callback.
    Overflow,
    /// A callback asked for a later time: it waits for that time, then for an agent.
    Scheduled,
    Ended,
}

/// Why a contact could not wait for an agent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OverflowReason {
    /// Its queue already had `max_waiting` contacts waiting.
    QueueFull,
    /// It waited `max_wait_s`.
    WaitTooLong,
    /// No agent who could take it is logged in.
    NoAgents,
    /// Its queue is outside its business hours.
    Closed,
}

impl OverflowReason {
    pub fn as_str(self) -> &'static str {
        match self {
            OverflowReason::QueueFull => "queue_full",
            OverflowReason::WaitTooLong => "wait_too_long",
            OverflowReason::NoAgents => "no_agents",
            OverflowReason::Closed => "closed",
        }
    }
}

/// What a ticket is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketKind {
    /// The bot handed the contact to the agents.
    Escalated,
    /// The customer left while waiting for an agent.
    Abandoned,
    /// No agent could take the contact and the customer did not choose what to do.
    Overflow,
    /// The customer left a message.
    Message,
    /// The customer asked to be called back.
    Callback,
    /// An agent opened it.
    Agent,
}

impl TicketKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TicketKind::Escalated => "escalated",
            TicketKind::Abandoned => "abandoned",
            TicketKind::Overflow => "overflow",
            TicketKind::Message => "message",
            TicketKind::Callback => "callback",
            TicketKind::Agent => "agent",
        }
    }
}

/// An agent's state as dashboards and the agent see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentStateName {
    Away,
    Available,
    Ringing,
    OnCall,
    WrapUp,
}

/// One call in the supervisor's live view.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CallView {
    pub call_id: CallId,
    pub state: CallStateName,
    pub caller: CallerInfo,
    /// Seconds since the call started.
    pub duration_s: f64,
    /// Seconds in the current state.
    pub state_s: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<AgentId>,
    /// Supervisors listening to the call, in any mode.
    pub listeners: Vec<SupervisorId>,
    /// The same supervisors with how each takes part.
    #[serde(default)]
    pub supervisors: Vec<SupervisorView>,
    /// The customer's mood so far (absent until they have said something).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sentiment: Option<SentimentView>,
    #[serde(default)]
    pub channel: Channel,
    /// Why the bot handed the contact over (absent if it did not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalation: Option<EscalationReason>,
}

/// A supervisor on a call and how they take part.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SupervisorView {
    pub supervisor_id: SupervisorId,
    pub mode: SupervisorMode,
}

/// A speaker's mood in a call.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SentimentView {
    /// Label of the latest utterance: neutral, positive, frustrated or angry.
    pub label: String,
    /// Rolling valence, -1 (negative) .. 1 (positive).
    pub trend: f32,
    /// Negative utterances in a row.
    pub negative_run: u32,
}

/// One stored utterance of a call's transcript.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UtteranceView {
    pub utterance_id: String,
    /// `customer` or `agent`.
    pub speaker: String,
    pub start_ms: u64,
    pub end_ms: u64,
    pub text: String,
    pub emotion: String,
    pub valence: f32,
    pub arousal: f32,
}

/// One agent in the supervisor's live view.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AgentView {
    pub agent_id: AgentId,
    pub name: String,
    pub state: AgentStateName,
    /// Seconds in the current state.
    pub state_s: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call_id: Option<CallId>,
}

/// One waiting call in the supervisor's live view, in queue order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QueueEntryView {
    pub call_id: CallId,
    pub position: usize,
    pub waiting_s: f64,
    /// The queue it waits in (absent: any agent may take it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    /// Its priority now, what waiting added included.
    #[serde(default)]
    pub priority: f64,
}

/// Messages from server to client.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// First frame on every connection.
    Welcome {
        protocol: u32,
        session_id: SessionId,
        /// Proof of this session for `resume` after the connection drops.
        resume_token: String,
    },
    /// Reply to `resume`: this connection now is the session `session_id`; what the server
    /// sent while the client was away follows.
    Resumed {
        session_id: SessionId,
        /// `customer`, `agent`, `supervisor`, or absent when the session had no identity yet.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        role: Option<String>,
        /// The customer's contact, when the session is a customer's.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        call_id: Option<CallId>,
    },
    /// Answer to `start_call`, `accept` or `listen`: the server's SDP answer for a peer connection.
    Answer {
        call_id: CallId,
        peer_id: ParticipantId,
        sdp: String,
    },
    /// A trickled server ICE candidate for one peer connection.
    IceCandidate {
        peer_id: ParticipantId,
        candidate: IceCandidate,
    },
    /// The customer's (and the agent's) view of a call's progress.
    CallState {
        call_id: CallId,
        state: CallStateName,
        /// 1-based place in the queue (queued only).
        #[serde(skip_serializing_if = "Option::is_none")]
        position: Option<usize>,
        /// Estimated wait in seconds (queued only).
        #[serde(skip_serializing_if = "Option::is_none")]
        estimated_wait_s: Option<u64>,
        /// Why the call ended (ended only).
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<EndReason>,
        /// Why no agent can take it (overflow only).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        overflow: Option<OverflowReason>,
        /// The display name of the agent the customer talks with (connected only).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        agent_name: Option<String>,
    },
    /// The other party muted or unmuted.
    PeerMuted {
        call_id: CallId,
        role: String,
        muted: bool,
    },
    /// To the agent: the customer's page lost its media and may come back (a reload:
    /// `connected: false`), or came back (`rejoin`: `connected: true`).
    PeerConnection {
        call_id: CallId,
        role: String,
        connected: bool,
    },
    /// Answer to `login`.
    LoggedIn {
        username: String,
        name: String,
        role: String,
        /// A signed session token: `login {token}` on a new connection and
        /// `Authorization: Bearer` on the HTTP API, without the password.
        token: String,
        /// When the token stops being accepted (Unix time, seconds).
        expires_at: u64,
    },
    /// An agent's own state changed (also after `set_state`).
    AgentState {
        state: AgentStateName,
        #[serde(skip_serializing_if = "Option::is_none")]
        call_id: Option<CallId>,
        /// Why the server set the agent away (`missed_call`, `connection_lost`); absent when
        /// the agent chose their state.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<AwayReason>,
    },
    /// The agent of a call in progress was lost (their connection dropped). To the customer:
    /// the call is back at the head of its queue (a `call_state` follows); to the agent's
    /// remaining sessions: the call is no longer theirs.
    AgentLost { call_id: CallId },
    /// The agent of the contact transferred it to `queue`: to the customer (a `call_state`
    /// follows: it waits there) and to the agent's sessions (the contact is no longer theirs;
    /// they wrap up).
    Transferred {
        call_id: CallId,
        queue: String,
        by: AgentId,
    },
    /// To the customer, after their contact ended: rate it with this token
    /// (`POST /api/ratings`).
    RatePrompt { call_id: CallId, token: String },
    /// An agent is offered a call; accept or decline within `timeout_s`.
    CallOffered {
        call_id: CallId,
        caller: CallerInfo,
        waited_s: f64,
        timeout_s: u64,
        channel: Channel,
        /// The bot's handoff card, when the bot served the contact first.
        #[serde(skip_serializing_if = "Option::is_none")]
        handoff: Option<Box<HandoffCard>>,
        /// The queue the call waited in.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        queue: Option<String>,
        /// With `channel: callback`: whom to call back.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        callback: Option<Box<CallbackView>>,
        /// A contact another agent transferred: who, from which queue, and their note.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        transfer: Option<Box<TransferView>>,
    },
    /// The offer was withdrawn (timed out, or the customer hung up).
    OfferWithdrawn {
        call_id: CallId,
        reason: WithdrawReason,
    },
    /// Supervisors: the whole live view, pushed whenever it changes.
    Dashboard {
        calls: Vec<CallView>,
        agents: Vec<AgentView>,
        queue: Vec<QueueEntryView>,
    },
    /// Supervisors: listening stopped (asked for, or the call ended).
    ListenStopped { call_id: CallId },
    /// The agent on a call and the supervisor concerned: a supervisor now listens, whispers to
    /// the agent, or has barged in (after `supervise`, and when they stop listening: `listen`).
    Supervision {
        call_id: CallId,
        supervisor_id: SupervisorId,
        mode: SupervisorMode,
    },
    /// Agent on the call and supervisors watching it: a partial (`final: false`) or final
    /// transcript of one utterance. A later message with the same `utterance_id` replaces an
    /// earlier one; a final with empty `text` withdraws the utterance (it was not speech).
    Transcript {
        call_id: CallId,
        speaker: String,
        utterance_id: String,
        start_ms: u64,
        end_ms: u64,
        text: String,
        #[serde(rename = "final")]
        is_final: bool,
    },
    /// Agent on the call and supervisors watching it: the emotion of a final utterance, and the
    /// speaker's rolling sentiment.
    Emotion {
        call_id: CallId,
        speaker: String,
        utterance_id: String,
        label: String,
        valence: f32,
        arousal: f32,
        trend: f32,
    },
    /// Supervisors: a customer has stayed negative for `negative_utterances` in a row.
    SentimentAlert {
        call_id: CallId,
        #[serde(skip_serializing_if = "Option::is_none")]
        agent: Option<AgentId>,
        negative_utterances: u32,
        trend: f32,
        last_text: String,
    },
    /// Answer to `watch_transcript`: the call's final utterances so far.
    TranscriptHistory {
        call_id: CallId,
        utterances: Vec<UtteranceView>,
    },
    /// The customer, the agent on the contact and supervisors watching its transcript: one
    /// chat line (each writer gets its own lines back too).
    Chat {
        call_id: CallId,
        from: ChatFrom,
        text: String,
        at_ms: u64,
        /// The knowledge-base entry a bot answer came from.
        #[serde(skip_serializing_if = "Option::is_none")]
        entry_id: Option<String>,
    },
    /// Answer to `ping`.
    Pong,
    /// A request that carried an `id` succeeded; sent after any replies it caused.
    Ok { re: serde_json::Value },
    /// A request was refused; nothing changed.
    Error {
        code: ErrorCode,
        message: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        re: Option<serde_json::Value>,
        /// With `rate_limited`: how long to wait before trying again.
        #[serde(skip_serializing_if = "Option::is_none")]
        retry_after_ms: Option<u64>,
    },
}

impl ServerMessage {
    pub fn error(
        code: ErrorCode,
        message: impl Into<String>,
        re: Option<serde_json::Value>,
    ) -> Self {
        ServerMessage::Error {
            code,
            message: message.into(),
            re,
            retry_after_ms: None,
        }
    }

    /// A `rate_limited` error that says when to try again.
    pub fn retry_later(
        message: impl Into<String>,
        re: Option<serde_json::Value>,
        retry_after: std::time::Duration,
    ) -> Self {
        ServerMessage::Error {
            code: ErrorCode::RateLimited,
            message: message.into(),
            re,
            retry_after_ms: Some(retry_after.as_millis() as u64),
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("server messages always serialize")
    }
}

#[cfg(test)]
mod wire_name_tests {
    use super::*;

    #[test]
    fn wire_names_match_serde() {
        for r in EndReason::ALL {
            assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_start_call_with_caller_and_id() {
        let f = parse_client_frame(
            r#"{"type":"start_call","id":7,"sdp":"v=0","caller":{"name":"Ann","metadata":{"order":"42"}}}"#,
        )
        .unwrap();
        assert_eq!(f.id, Some(serde_json::json!(7)));
        match f.message {
            ClientMessage::StartCall { sdp, caller, .. } => {
                assert_eq!(sdp, "v=0");
                assert_eq!(caller.name.as_deref(), Some("Ann"));
                assert_eq!(caller.metadata["order"], "42");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn classifies_bad_frames() {
        assert_eq!(
            parse_client_frame("{").unwrap_err().code,
            ErrorCode::BadJson
        );
        assert_eq!(
            parse_client_frame("[1]").unwrap_err().code,
            ErrorCode::BadJson
        );
        assert_eq!(
            parse_client_frame(r#"{"type":"fly"}"#).unwrap_err().code,
            ErrorCode::UnknownType
        );
        assert_eq!(
            parse_client_frame(r#"{"sdp":"x"}"#).unwrap_err().code,
            ErrorCode::UnknownType
        );
        let e = parse_client_frame(r#"{"type":"accept","id":"a1"}"#).unwrap_err();
        assert_eq!(e.code, ErrorCode::BadMessage);
        assert_eq!(e.id, Some(serde_json::json!("a1")));
        let big = format!(
            r#"{{"type":"ping","pad":"{}"}}"#,
            "x".repeat(MAX_FRAME_BYTES)
        );
        assert_eq!(
            parse_client_frame(&big).unwrap_err().code,
            ErrorCode::TooLarge
        );
    }

    /// One message of every variant. The match in `type_of` is exhaustive: a new variant does
    /// not compile until it is named there, and then this test fails until it is listed in
    /// `TYPES` and given a sample here.
    fn samples() -> Vec<ClientMessage> {
        let call_id = CallId::from("c1");
        vec![
            ClientMessage::StartCall {
                sdp: "v=0".into(),
                caller: CallerInfo::default(),
                language: None,
                entry: Some("sales".into()),
                queue: Some("billing".into()),
            },
            ClientMessage::StartChat {
                caller: CallerInfo::default(),
                language: Some("zh".into()),
                entry: None,
                queue: None,
            },
            ClientMessage::Chat {
                call_id: call_id.clone(),
                text: "hello".into(),
            },
            ClientMessage::RequestAgent {
                call_id: call_id.clone(),
            },
            ClientMessage::RejectAnswer {
                call_id: call_id.clone(),
            },
            ClientMessage::LeaveMessage {
                call_id: call_id.clone(),
                text: Some("call me".into()),
            },
            ClientMessage::RequestCallback {
                call_id: call_id.clone(),
                contact: "+44 20 7946 0000".into(),
                note: None,
                at: Some("2026-12-07T10:30:00Z".into()),
            },
            ClientMessage::IceCandidate {
                peer_id: ParticipantId::from("p1"),
                candidate: IceCandidate {
                    candidate: "candidate:1".into(),
                    sdp_mid: None,
                    sdp_mline_index: None,
                },
            },
            ClientMessage::Mute {
                call_id: call_id.clone(),
                muted: true,
            },
            ClientMessage::HangUp {
                call_id: call_id.clone(),
            },
            ClientMessage::Transfer {
                call_id: call_id.clone(),
                queue: "billing".into(),
                note: Some("wants a refund".into()),
            },
            ClientMessage::Login {
                username: Some("u".into()),
                password: Some("p".into()),
                token: None,
            },
            ClientMessage::SetState {
                state: AgentAvailability::Away,
            },
            ClientMessage::Accept {
                call_id: call_id.clone(),
                sdp: Some("v=0".into()),
            },
            ClientMessage::Decline {
                call_id: call_id.clone(),
            },
            ClientMessage::Listen {
                call_id: call_id.clone(),
                sdp: "v=0".into(),
            },
            ClientMessage::StopListening {
                call_id: call_id.clone(),
            },
            ClientMessage::Supervise {
                call_id: call_id.clone(),
                mode: SupervisorMode::Whisper,
            },
            ClientMessage::WatchTranscript {
                call_id: call_id.clone(),
            },
            ClientMessage::UnwatchTranscript { call_id },
            ClientMessage::Ping,
            ClientMessage::Resume {
                session_id: SessionId::from("s1"),
                token: "t".into(),
            },
            ClientMessage::Rejoin {
                call_id: CallId::from("c1"),
                sdp: Some("v=0".into()),
            },
        ]
    }

    fn type_of(m: &ClientMessage) -> &'static str {
        match m {
            ClientMessage::StartCall { .. } => "start_call",
            ClientMessage::StartChat { .. } => "start_chat",
            ClientMessage::Chat { .. } => "chat",
            ClientMessage::RequestAgent { .. } => "request_agent",
            ClientMessage::RejectAnswer { .. } => "reject_answer",
            ClientMessage::LeaveMessage { .. } => "leave_message",
            ClientMessage::RequestCallback { .. } => "request_callback",
            ClientMessage::IceCandidate { .. } => "ice_candidate",
            ClientMessage::Mute { .. } => "mute",
            ClientMessage::HangUp { .. } => "hang_up",
            ClientMessage::Transfer { .. } => "transfer",
            ClientMessage::Login { .. } => "login",
            ClientMessage::SetState { .. } => "set_state",
            ClientMessage::Accept { .. } => "accept",
            ClientMessage::Decline { .. } => "decline",
            ClientMessage::Listen { .. } => "listen",
            ClientMessage::StopListening { .. } => "stop_listening",
            ClientMessage::Supervise { .. } => "supervise",
            ClientMessage::WatchTranscript { .. } => "watch_transcript",
            ClientMessage::UnwatchTranscript { .. } => "unwatch_transcript",
            ClientMessage::Ping => "ping",
            ClientMessage::Resume { .. } => "resume",
            ClientMessage::Rejoin { .. } => "rejoin",
        }
    }

    #[test]
    fn every_variant_round_trips_through_the_parser() {
        let samples = samples();
        assert_eq!(samples.len(), ClientMessage::TYPES.len());
        for m in samples {
            let json = serde_json::to_string(&m).unwrap();
            let v: serde_json::Value = serde_json::from_str(&json).unwrap();
            assert_eq!(v["type"], type_of(&m), "{json}");
            assert!(ClientMessage::TYPES.contains(&type_of(&m)), "{json}");
            let parsed = parse_client_frame(&json).unwrap_or_else(|e| panic!("{json}: {e:?}"));
            assert_eq!(parsed.message, m);
        }
    }

    #[test]
    fn supervise_modes_are_checked() {
        let ok =
            parse_client_frame(r#"{"type":"supervise","call_id":"c","mode":"barge"}"#).unwrap();
        assert!(matches!(
            ok.message,
            ClientMessage::Supervise {
                mode: SupervisorMode::Barge,
                ..
            }
        ));
        let bad =
            parse_client_frame(r#"{"type":"supervise","call_id":"c","mode":"shout"}"#).unwrap_err();
        assert_eq!(bad.code, ErrorCode::BadMessage);
    }
}
