//! The call center core: calls, agents, the queue and who is told what.
//!
//! `CallCenter` is sans-IO. The shell gives it one [`Input`] per event (a client request, a
//! media or speech event, the passing of time) with the current `Instant`
//! ([`CallCenter::handle`]), then drains [`Output`]s with [`CallCenter::poll_output`]: domain
//! [`Event`]s for recipients, media plans and commands, records and milestones. It owns no
//! sockets and reads no clock, so routing, ring timeouts and wrap-up are tested with plain
//! `Instant` arithmetic; in the server one task owns it and sleeps until
//! [`CallCenter::poll_timeout`].
//!
//! It does not own media or authentication: the shell authenticates sessions and creates peer
//! connections, and asks this core whether an action is allowed *before* touching media.
//!
//! Routing ([`routing`] has the rules): calls wait in order of priority, which waiting raises,
//! then arrival; each is offered to the best available agent with its queue's skill (the
//! queue's own skill before a fallback group's, the highest proficiency, the longest idle),
//! and a call that waits long enough widens who may take it (overflow steps). A call in no
//! queue may go to any agent. A declined call is not offered to the same agent again until
//! `reoffer_after_s` after its last decline. An offer not answered within `ring_timeout` is
//! withdrawn, the agent is set away (a missed call means nobody is at the desk) and the call
//! goes to the next agent.

use crate::error::{Result, SignalError};
use crate::ids::{
    AgentId, CallId, ParticipantId, ParticipantKind, Plan, SupervisorId, SupervisorMode,
};
use crate::protocol::{
    AgentStateName, AgentView, AwayReason, CallStateName, CallView, CallerInfo, Channel, ChatFrom,
    EndReason, EscalationReason, HandoffCard, OverflowReason, QueueEntryView, SentimentView,
    SupervisorView, TicketKind, WithdrawReason,
};
use std::collections::{BTreeMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

/// Tunables of the call center, with production defaults.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct CenterConfig {
    /// How long an agent's phone rings before the call goes to the next agent (seconds).
    pub ring_timeout_s: u64,
    /// After a call an agent is in wrap-up; after this many seconds they become available again
    /// by themselves. 0 means wrap-up lasts until the agent says they are ready.
    pub wrap_up_s: u64,
    /// Average handle time assumed before any call has completed (seconds), for wait estimates.
    pub default_handle_time_s: u64,
    /// A call declined by agents is offered to them again this long after the last decline,
    /// if it still waits (seconds).
    pub reoffer_after_s: u64,
    /// Customers beyond the first 50 in the queue are told their new position at most this
    /// often (seconds); the first 50 at every change.
    pub queue_update_s: u64,
    /// A voice caller the bot keeps company while they wait hears their new position when it
    /// has moved up, at most this often (seconds; 0: never).
    pub bot_position_update_s: u64,
    /// ... and, with no news for this long, where they still stand (seconds; 0: never).
    pub bot_position_reminder_s: u64,
    /// An agent lost during a call who is back within this many seconds is offered it again
    /// first, if it still waits (another agent may take it before).
    pub rejoin_grace_s: u64,
    /// A customer's page whose media closed with its connection (a reload) has this many
    /// seconds to resume its session and rejoin the call with a new peer connection before
    /// the call ends as `customer_disconnected`.
    pub customer_rejoin_s: u64,
    /// The queues and their overflow rules (`[[center.queues]]`).
    pub queues: Vec<routing::QueueRules>,
    /// How waiting calls are ordered.
    pub priority: routing::PriorityRules,
}

impl Default for CenterConfig {
    fn default() -> Self {
        Self {
            ring_timeout_s: 20,
            wrap_up_s: 30,
            default_handle_time_s: 180,
            reoffer_after_s: 30,
            rejoin_grace_s: 30,
            customer_rejoin_s: 10,
            queue_update_s: 5,
            bot_position_update_s: 30,
            bot_position_reminder_s: 90,
            queues: vec![],
            priority: routing::PriorityRules::default(),
        }
    }
}

mod agents;
pub mod audience;
mod bot;
mod events;
mod input;
pub use bot::{BotTurn, Start};
pub use events::{Dashboard, Event};
pub use input::Input;
mod calls;
mod overflow;
pub use overflow::{CallbackTime, SavedCallback, TicketFacts};
mod queue;
mod rejoin;
pub use rejoin::CLOSE_SETTLE;
pub mod routing;
mod supervision;
mod transfer;
mod views;

/// Who a participant in a call's media is, as the center knows them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Member {
    Customer,
    Agent(AgentId),
    Supervisor(SupervisorId),
    /// A server-side voice (the bot, an announcement).
    Bot,
}

impl Member {
    /// The member's kind; a supervisor as a listener (their mode is the call's, see
    /// [`CallCenter::plan`]).
    pub fn kind(&self) -> ParticipantKind {
        match self {
            Member::Customer => ParticipantKind::Customer,
            Member::Agent(_) => ParticipantKind::Agent,
            Member::Supervisor(_) => ParticipantKind::Supervisor(SupervisorMode::Listen),
            Member::Bot => ParticipantKind::Bot,
        }
    }
}

/// Someone the shell can deliver a message to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Recipient {
    /// The customer of a call.
    Customer(CallId),
    /// Every session of an agent.
    Agent(AgentId),
    /// Every session of a supervisor.
    Supervisor(SupervisorId),
}

/// How a participant's media was lost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MediaLoss {
    /// ICE gave up: the network path failed.
    Failed,
    /// The connection was closed (by the stack, or under us).
    Closed,
    /// The participant said goodbye (RTCP BYE): they left.
    Left,
}

/// Something the shell must do: deliver a message, or tear down a call's media.
#[derive(Clone, Debug, PartialEq)]
pub enum Output {
    /// Tell someone what happened.
    Notify(Recipient, Event),
    /// The call ended: close its room and every peer in it.
    CloseCall(CallId, EndReason),
    /// A participant is out of the call (a supervisor stopped listening): close its media.
    Leave(CallId, ParticipantId),
    /// Who hears whom in the call changed: hand this plan to the call's media room.
    Route(CallId, Plan),
    /// Stop (or resume) forwarding a participant's audio to anyone.
    Mute(CallId, ParticipantId, bool),
    /// The supervisors' live view changed; the shell sends [`CallCenter::dashboard`] to them.
    DashboardChanged,
    /// A call reached a milestone the shell measures (setup times, metrics).
    Milestone(CallId, Milestone),
    /// The bot serving the contact must hear this (only sent while it serves it).
    Bot(CallId, BotInput),
    /// The bot says this aloud in a voice call (after it appeared as a chat line): the shell
    /// synthesises it into the bot's voice in the call's room. `BotInput::Stop` silences it.
    Speak(CallId, String),
    /// Tell the customer of a voice call this in the server's voice, in their language (the
    /// shell has the words).
    Announce(CallId, Announcement),
    /// Open (or update) the contact's ticket: one per contact, its kind the latest that
    /// applies (an escalated contact that is then abandoned is `abandoned`).
    Ticket(CallId, Box<TicketFacts>),
}

/// What the bot of a contact is given.
#[derive(Clone, Debug, PartialEq)]
pub enum BotInput {
    /// A contact starts with the bot: greet. `language` is what the customer asked for;
    /// `voice`: the customer talks (the bot may ask for a rating by voice).
    Start {
        language: Option<String>,
        voice: bool,
    },
    /// The customer said (typed, or a final transcript with its emotion valence) this.
    Text { text: String, valence: Option<f32> },
    /// The customer pressed "talk to a person".
    RequestAgent,
    /// The customer said the last answer was not what they asked.
    RejectAnswer,
    /// The contact joined the queue after the hand-over: tell the customer where they stand.
    Queued {
        position: usize,
        estimated_wait_s: u64,
        news: QueueNews,
    },
    /// An agent took the contact over, or it ended: the bot leaves.
    Stop,
}

/// Why the bot tells a waiting customer their position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueNews {
    /// They just joined the queue.
    Joined,
    /// They moved up since they were last told.
    MovedUp,
    /// A reminder: nothing changed for a while.
    Unchanged,
}

/// What the server says to a voice caller by itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Announcement {
    /// Their agent was lost; they are back at the head of the queue.
    AgentLost,
    /// Their agent transferred them to another queue.
    Transferred,
    /// No agent can take the call: they may leave a message or ask for a callback.
    Overflow(OverflowReason),
}

/// Points in a call's life the shell turns into metrics.
#[derive(Clone, Debug, PartialEq)]
pub enum Milestone {
    /// The customer's media connected; `since_start` is offer-to-connected.
    CustomerMediaUp {
        since_start: Duration,
    },
    /// Both sides' media are up after an accept; `since_accept` is accept-to-two-way-audio.
    TwoWay {
        since_accept: Duration,
    },
    Ended {
        duration: Duration,
    },
    /// A callback (this contact) was made from contact `view.of_call`, whose caller it calls
    /// back: what the records need to offer it again after a restart.
    CallbackStarted {
        view: Box<crate::protocol::CallbackView>,
        queue: Option<String>,
        priority: i32,
        handoff: Option<Box<HandoffCard>>,
    },
    /// Its agent transferred it from `from_queue` to `queue`.
    Transferred {
        agent: AgentId,
        from_queue: Option<String>,
        queue: String,
        note: Option<String>,
    },
    /// The contact started: with the bot first or not, by voice or chat.
    Started {
        bot: bool,
        channel: Channel,
    },
    /// The contact started waiting for an agent (the first time), in `queue`.
    Queued {
        queue: Option<String>,
    },
    /// No agent could take it.
    Overflowed {
        reason: OverflowReason,
    },
    /// Its agent's wrap-up after it ended took this long.
    WrappedUp {
        duration: Duration,
    },
}

#[derive(Clone, Debug, PartialEq)]
enum CallState {
    /// The bot serves the contact; not in the queue.
    WithBot,
    Queued,
    Ringing {
        agent: AgentId,
        deadline: Instant,
    },
    /// Accepted by `agent`; `connected` once both sides' media are up.
    Talking {
        agent: AgentId,
        accepted_at: Instant,
        connected: bool,
    },
    /// No agent can take it; the customer may leave a message or ask for a callback.
    Overflow {
        reason: OverflowReason,
    },
    /// A callback for a later time: not waiting for an agent before `due`.
    Scheduled {
        due: Instant,
    },
    Ended,
}

impl CallState {
    fn name(&self) -> CallStateName {
        match self {
            CallState::WithBot => CallStateName::WithBot,
            CallState::Queued => CallStateName::Queued,
            CallState::Ringing { .. } => CallStateName::Ringing,
            CallState::Talking {
                connected: true, ..
            } => CallStateName::Connected,
            // Accepted but media not both up yet: the customer still hears it ringing.
            CallState::Talking { .. } => CallStateName::Ringing,
            CallState::Overflow { .. } => CallStateName::Overflow,
            CallState::Scheduled { .. } => CallStateName::Scheduled,
            CallState::Ended => CallStateName::Ended,
        }
    }

    fn label(&self) -> &'static str {
        match self {
            CallState::WithBot => "with the bot",
            CallState::Queued => "queued",
            CallState::Ringing { .. } => "ringing",
            CallState::Talking { .. } => "talking",
            CallState::Overflow { .. } => "overflowed",
            CallState::Scheduled { .. } => "scheduled",
            CallState::Ended => "ended",
        }
    }
}

#[derive(Debug)]
struct Call {
    caller: CallerInfo,
    state: CallState,
    started: Instant,
    state_since: Instant,
    declined_by: HashSet<AgentId>,
    customer_media: bool,
    agent_media: bool,
    customer_muted: bool,
    agent_muted: bool,
    listeners: BTreeMap<SupervisorId, SupervisorMode>,
    /// The call's participants in media, in the order they joined.
    members: Vec<(ParticipantId, Member)>,
    /// Supervisors reading the call's transcript live.
    watchers: std::collections::BTreeSet<SupervisorId>,
    sentiment: Option<SentimentView>,
    channel: Channel,
    /// The bot answers the customer (first alone, then while they wait in the queue).
    bot: bool,
    escalation: Option<EscalationReason>,
    handoff: Option<HandoffCard>,
    /// The queue it waits in (`None`: any agent may take it).
    queue: Option<String>,
    /// The customer chose `queue`: the bot's hand-over keeps it.
    queue_chosen: bool,
    /// A callback's whom and why (`channel: Callback`).
    callback: Option<crate::protocol::CallbackView>,
    /// Who transferred it here last, from where, and why.
    transfer: Option<crate::protocol::TransferView>,
    /// Its own priority (VIP, escalation), before what waiting adds.
    priority: i32,
    /// When it started waiting for an agent (overflow and ageing count from here).
    queued_at: Instant,
    /// When an agent last declined it.
    declined_at: Option<Instant>,
    /// When, while it waits, routing must look at it again (an overflow step, a re-offer).
    wake: Option<Instant>,
    /// The agent it lost, and until when they are offered it first if they come back.
    returning: Option<(AgentId, Instant)>,
    /// It waited for an agent at some point (leaving after that is abandoning).
    was_queued: bool,
    /// Routing has looked at it since it (last) started waiting: its `wake` is set.
    looked: bool,
    /// The queue position its customer was last told.
    told_position: Option<usize>,
    /// The position the bot last said to its voice caller, and when.
    spoken_position: Option<(usize, Instant)>,
    /// The customer's session has lost its connection (kept for a resume).
    customer_away: bool,
    /// The customer's media is gone: the call ends at this time, for this reason, unless
    /// they rejoin.
    customer_gone: Option<rejoin::Gone>,
}

#[derive(Clone, Debug, PartialEq)]
enum AgentState {
    Away,
    Available,
    Ringing(CallId),
    OnCall(CallId),
    WrapUp { until: Option<Instant> },
}

impl AgentState {
    fn name(&self) -> AgentStateName {
        match self {
            AgentState::Away => AgentStateName::Away,
            AgentState::Available => AgentStateName::Available,
            AgentState::Ringing(_) => AgentStateName::Ringing,
            AgentState::OnCall(_) => AgentStateName::OnCall,
            AgentState::WrapUp { .. } => AgentStateName::WrapUp,
        }
    }
    fn label(&self) -> &'static str {
        match self {
            AgentState::Away => "away",
            AgentState::Available => "available",
            AgentState::Ringing(_) => "ringing",
            AgentState::OnCall(_) => "on a call",
            AgentState::WrapUp { .. } => "in wrap-up",
        }
    }
    fn call(&self) -> Option<&CallId> {
        match self {
            AgentState::Ringing(c) | AgentState::OnCall(c) => Some(c),
            _ => None,
        }
    }
}

#[derive(Debug)]
struct Agent {
    name: String,
    state: AgentState,
    since: Instant,
    /// Number of open sessions logged in as this agent (a second tab, a reconnect).
    sessions: usize,
    skills: routing::Skills,
    /// Why the server set the agent away, while they are.
    away_reason: Option<AwayReason>,
    /// The call they last talked on (its wrap-up is theirs).
    last_call: Option<CallId>,
}

/// Counts of calls and agents by state, for gauges.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Census {
    pub calls_with_bot: usize,
    pub calls_queued: usize,
    pub calls_ringing: usize,
    pub calls_connected: usize,
    pub calls_overflow: usize,
    pub calls_scheduled: usize,
    pub agents: BTreeMap<&'static str, usize>,
}

/// The call center state machine. See the module docs.
#[derive(Debug)]
pub struct CallCenter {
    config: CenterConfig,
    calls: BTreeMap<CallId, Call>,
    queue: VecDeque<CallId>,
    agents: BTreeMap<AgentId, Agent>,
    supervisors: BTreeMap<SupervisorId, usize>,
    outputs: VecDeque<Output>,
    handle_times: VecDeque<Duration>,
    /// Queues outside their business hours (the shell says when).
    closed: HashSet<String>,
    /// Agents logged in or out (or their skills changed) since routing last looked at every
    /// waiting call.
    staffing_changed: bool,
    /// Waiting calls by when routing must look at them again.
    wakes: std::collections::BTreeSet<(Instant, CallId)>,
    /// Agents who became available since routing last looked at the whole queue for them.
    fresh_agents: std::collections::BTreeSet<AgentId>,
    /// Waiting calls routing has not looked at since they (last) started waiting.
    unlooked: std::collections::BTreeSet<CallId>,
    /// Positions beyond the first few changed since they were last told, and when to tell.
    positions_stale: bool,
    positions_due: Option<Instant>,
    /// When to look again at the positions the bot said to waiting voice callers.
    spoken_due: Option<Instant>,
}

impl CallCenter {
    pub fn new(config: CenterConfig) -> Self {
        Self {
            config,
            calls: BTreeMap::new(),
            queue: VecDeque::new(),
            agents: BTreeMap::new(),
            supervisors: BTreeMap::new(),
            outputs: VecDeque::new(),
            handle_times: VecDeque::new(),
            closed: HashSet::new(),
            staffing_changed: false,
            wakes: Default::default(),
            unlooked: Default::default(),
            fresh_agents: Default::default(),
            positions_stale: false,
            positions_due: None,
            spoken_due: None,
        }
    }

    pub fn config(&self) -> &CenterConfig {
        &self.config
    }

    /// Next output for the shell, if any.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// The earliest instant at which [`CallCenter::handle_timeout`] has work to do.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let rings = self.calls.values().filter_map(|c| match &c.state {
            CallState::Ringing { deadline, .. } => Some(*deadline),
            _ => None,
        });
        let wraps = self.agents.values().filter_map(|a| match a.state {
            AgentState::WrapUp { until } => until,
            _ => None,
        });
        let wakes = self.wakes.first().map(|(t, _)| *t);
        let customers = self.next_customer_deadline();
        let scheduled = self.calls.values().filter_map(|c| match c.state {
            CallState::Scheduled { due } => Some(due),
            _ => None,
        });
        rings
            .chain(wraps)
            .chain(scheduled)
            .chain(wakes)
            .chain(customers)
            .chain(self.positions_due)
            .chain(self.spoken_due)
            .min()
    }

    /// Ring timeouts and wrap-up ends that are due at `now`.
    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        if self.positions_due.is_some_and(|t| t <= now) {
            self.flush_positions();
        }
        if self.spoken_due.is_some_and(|t| t <= now) {
            self.speak_positions(now);
        }
        let due: Vec<(CallId, AgentId)> = self
            .calls
            .iter()
            .filter_map(|(id, c)| match &c.state {
                CallState::Ringing { agent, deadline } if *deadline <= now => {
                    Some((id.clone(), agent.clone()))
                }
                _ => None,
            })
            .collect();
        for (call, agent) in due {
            self.withdraw_offer(now, &call, &agent, WithdrawReason::Timeout);
            self.set_agent_away(now, &agent, AwayReason::MissedCall);
        }
        let wrapped: Vec<AgentId> = self
            .agents
            .iter()
            .filter(|(_, a)| matches!(a.state, AgentState::WrapUp { until: Some(t) } if t <= now))
            .map(|(id, _)| id.clone())
            .collect();
        for a in wrapped {
            self.set_agent_state(now, &a, AgentState::Available);
        }
        self.start_due_callbacks(now);
        self.end_customers_gone(now);
        self.dispatch(now);
    }
}

fn secs(d: Duration) -> f64 {
    (d.as_secs_f64() * 10.0).round() / 10.0
}

#[cfg(test)]
mod admin_tests;
#[cfg(test)]
mod agent_loss_tests;
#[cfg(test)]
mod overflow_tests;
#[cfg(test)]
mod rejoin_tests;
#[cfg(test)]
mod routing_tests;
#[cfg(test)]
mod spoken_position_tests;
#[cfg(test)]
mod test_util;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod transfer_tests;
