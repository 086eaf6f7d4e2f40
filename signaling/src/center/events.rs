//! What the center tells people, as domain events. Only the shell knows the wire: it turns
//! each event into a protocol message (`src/calls/present.rs`). Fields are the protocol's
//! shared vocabulary (states, reasons, caller info), never strings the center would have to
//! agree on with the wire.

use crate::ids::{AgentId, CallId, ParticipantKind, SupervisorId, SupervisorMode};
use crate::protocol::{
    AgentStateName, AgentView, AwayReason, CallStateName, CallView, CallerInfo, Channel, ChatFrom,
    EndReason, HandoffCard, OverflowReason, QueueEntryView, WithdrawReason,
};

#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// A call's progress as its customer (and agent) see it.
    CallState {
        call_id: CallId,
        state: CallStateName,
        position: Option<usize>,
        estimated_wait_s: Option<u64>,
        reason: Option<EndReason>,
        overflow: Option<OverflowReason>,
        /// The display name of the agent talking with the customer (connected only).
        agent_name: Option<String>,
    },
    /// A party muted or unmuted (told to the other party).
    PeerMuted {
        call_id: CallId,
        party: ParticipantKind,
        muted: bool,
    },
    /// A party's media went away while their page may come back (a reload), or came back
    /// (told to the other party).
    PeerConnection {
        call_id: CallId,
        party: ParticipantKind,
        connected: bool,
    },
    /// An agent's own state.
    AgentState {
        state: AgentStateName,
        call_id: Option<CallId>,
        reason: Option<AwayReason>,
    },
    /// The agent of a call in progress was lost; the call waits again.
    AgentLost { call_id: CallId },
    /// The contact's agent transferred it to `queue`.
    Transferred {
        call_id: CallId,
        queue: String,
        by: AgentId,
    },
    /// A call rings for an agent.
    CallOffered {
        call_id: CallId,
        caller: CallerInfo,
        waited_s: f64,
        timeout_s: u64,
        channel: Channel,
        handoff: Option<Box<HandoffCard>>,
        /// The queue it waited in.
        queue: Option<String>,
        callback: Option<Box<crate::protocol::CallbackView>>,
        transfer: Option<Box<crate::protocol::TransferView>>,
    },
    /// One chat line of a contact.
    Chat {
        call_id: CallId,
        from: ChatFrom,
        text: String,
        at_ms: u64,
        entry_id: Option<String>,
    },
    /// An offer was taken back from an agent.
    OfferWithdrawn {
        call_id: CallId,
        reason: WithdrawReason,
    },
    /// A supervisor no longer listens to a call.
    ListenStopped { call_id: CallId },
    /// How a supervisor takes part in a call changed.
    Supervision {
        call_id: CallId,
        supervisor_id: SupervisorId,
        mode: SupervisorMode,
    },
    /// A customer has stayed negative for `negative_utterances` in a row.
    SentimentAlert {
        call_id: CallId,
        agent: Option<AgentId>,
        negative_utterances: u32,
        trend: f32,
        last_text: String,
    },
}

/// The supervisors' live view.
#[derive(Clone, Debug, PartialEq)]
pub struct Dashboard {
    pub calls: Vec<CallView>,
    pub agents: Vec<AgentView>,
    pub queue: Vec<QueueEntryView>,
}
