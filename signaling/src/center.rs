//! The call center core: calls, agents, the queue and who is told what.
//!
//! `CallCenter` is sans-IO. The shell calls one method per event (a client request, a media
//! event, the passing of time) with the current `Instant`, then drains [`Output`]s with
//! [`CallCenter::poll_output`]. It owns no sockets and reads no clock, so routing, ring timeouts
//! and wrap-up are tested with plain `Instant` arithmetic.
//!
//! It does not own media or authentication: the shell authenticates sessions and creates peer
//! connections, and asks this core whether an action is allowed *before* touching media.
//!
//! Routing (one queue for now): calls wait in arrival order; the available agent who has been
//! idle longest is offered the head call. A declined call is not offered to the same agent
//! again while it waits. An offer not answered within `ring_timeout` is withdrawn, the agent is
//! set away (a missed call means nobody is at the desk) and the call goes to the next agent.

use crate::error::{Result, SignalError};
use crate::ids::{AgentId, CallId, SupervisorId};
use crate::protocol::{
    AgentStateName, AgentView, CallStateName, CallView, CallerInfo, EndReason, QueueEntryView,
    SentimentView, ServerMessage,
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
}

impl Default for CenterConfig {
    fn default() -> Self {
        Self {
            ring_timeout_s: 20,
            wrap_up_s: 30,
            default_handle_time_s: 180,
        }
    }
}

/// Which side of a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Party {
    Customer,
    Agent,
}

impl Party {
    pub fn as_str(self) -> &'static str {
        match self {
            Party::Customer => "customer",
            Party::Agent => "agent",
        }
    }
}

/// Something the shell must do: deliver a message, or tear down a call's media.
#[derive(Clone, Debug, PartialEq)]
pub enum Output {
    ToCustomer(CallId, ServerMessage),
    ToAgent(AgentId, ServerMessage),
    ToSupervisor(SupervisorId, ServerMessage),
    /// The call ended: close its room and every peer in it.
    CloseCall(CallId, EndReason),
    /// A supervisor stopped listening: close that supervisor's peer in the call's room.
    StopListening(CallId, SupervisorId),
    /// The supervisors' live view changed; the shell sends [`CallCenter::dashboard`] to them.
    DashboardChanged,
    /// A call reached a milestone the shell measures (setup times, metrics).
    Milestone(CallId, Milestone),
}

/// Points in a call's life the shell turns into metrics.
#[derive(Clone, Copy, Debug, PartialEq)]
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
}

#[derive(Clone, Debug, PartialEq)]
enum CallState {
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
    Ended,
}

impl CallState {
    fn name(&self) -> CallStateName {
        match self {
            CallState::Queued => CallStateName::Queued,
            CallState::Ringing { .. } => CallStateName::Ringing,
            CallState::Talking {
                connected: true, ..
            } => CallStateName::Connected,
            // Accepted but media not both up yet: the customer still hears it ringing.
            CallState::Talking { .. } => CallStateName::Ringing,
            CallState::Ended => CallStateName::Ended,
        }
    }

    fn label(&self) -> &'static str {
        match self {
            CallState::Queued => "queued",
            CallState::Ringing { .. } => "ringing",
            CallState::Talking { .. } => "talking",
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
    listeners: BTreeMap<SupervisorId, ()>,
    sentiment: Option<SentimentView>,
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
}

/// Counts of calls and agents by state, for gauges.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Census {
    pub calls_queued: usize,
    pub calls_ringing: usize,
    pub calls_connected: usize,
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
        rings.chain(wraps).min()
    }

    // ---- customers -------------------------------------------------------------------------

    /// A customer started a call; it joins the queue.
    pub fn start_call(&mut self, now: Instant, call_id: CallId, caller: CallerInfo) {
        self.calls.insert(
            call_id.clone(),
            Call {
                caller,
                state: CallState::Queued,
                started: now,
                state_since: now,
                declined_by: HashSet::new(),
                customer_media: false,
                agent_media: false,
                customer_muted: false,
                agent_muted: false,
                listeners: BTreeMap::new(),
                sentiment: None,
            },
        );
        self.queue.push_back(call_id);
        self.dispatch(now);
        self.announce_queue();
        self.outputs.push_back(Output::DashboardChanged);
    }

    /// A party's media connected (ICE + DTLS done).
    pub fn media_up(&mut self, now: Instant, call_id: &CallId, party: Party) -> Result<()> {
        let call = self.call_mut(call_id)?;
        match party {
            Party::Customer => {
                if !call.customer_media {
                    call.customer_media = true;
                    let since_start = now - call.started;
                    self.outputs.push_back(Output::Milestone(
                        call_id.clone(),
                        Milestone::CustomerMediaUp { since_start },
                    ));
                }
            }
            Party::Agent => call.agent_media = true,
        }
        self.maybe_connected(now, call_id);
        Ok(())
    }

    fn maybe_connected(&mut self, now: Instant, call_id: &CallId) {
        let Some(call) = self.calls.get_mut(call_id) else {
            return;
        };
        if let CallState::Talking {
            agent,
            accepted_at,
            connected,
        } = &mut call.state
        {
            if !*connected && call.customer_media && call.agent_media {
                *connected = true;
                call.state_since = now;
                let agent = agent.clone();
                let since_accept = now - *accepted_at;
                self.outputs.push_back(Output::Milestone(
                    call_id.clone(),
                    Milestone::TwoWay { since_accept },
                ));
                let msg = self.call_state_msg(call_id);
                self.outputs
                    .push_back(Output::ToCustomer(call_id.clone(), msg.clone()));
                self.outputs.push_back(Output::ToAgent(agent, msg));
                self.outputs.push_back(Output::DashboardChanged);
            }
        }
    }

    /// The customer or the agent muted or unmuted. Only a party of the call may do this.
    pub fn set_muted(
        &mut self,
        call_id: &CallId,
        party: Party,
        agent: Option<&AgentId>,
        muted: bool,
    ) -> Result<()> {
        self.check_party(call_id, party, agent)?;
        let call = self.call_mut(call_id)?;
        match party {
            Party::Customer => call.customer_muted = muted,
            Party::Agent => call.agent_muted = muted,
        }
        let msg = ServerMessage::PeerMuted {
            call_id: call_id.clone(),
            role: party.as_str().into(),
            muted,
        };
        match party {
            Party::Customer => {
                if let Some(a) = self.agent_of(call_id) {
                    self.outputs.push_back(Output::ToAgent(a, msg));
                }
            }
            Party::Agent => self
                .outputs
                .push_back(Output::ToCustomer(call_id.clone(), msg)),
        }
        Ok(())
    }

    /// Checks that `party` (and for agents, `agent`) belongs to the live call.
    pub fn check_party(
        &self,
        call_id: &CallId,
        party: Party,
        agent: Option<&AgentId>,
    ) -> Result<()> {
        let call = self
            .calls
            .get(call_id)
            .ok_or_else(|| SignalError::CallNotFound(call_id.clone()))?;
        if call.state == CallState::Ended {
            return Err(self.wrong_call_state(call_id, "act on it"));
        }
        if party == Party::Agent {
            let me = agent.ok_or_else(|| SignalError::Forbidden("not an agent".into()))?;
            match &call.state {
                CallState::Talking { agent, .. } if agent == me => {}
                _ => {
                    return Err(SignalError::NotYourCall {
                        call: call_id.clone(),
                        agent: me.clone(),
                    })
                }
            }
        }
        Ok(())
    }

    /// One side hung up, or dropped, or its media failed: the call ends for everyone.
    pub fn end_call(&mut self, now: Instant, call_id: &CallId, reason: EndReason) -> Result<()> {
        let call = self.call_mut(call_id)?;
        if call.state == CallState::Ended {
            return Err(self.wrong_call_state(call_id, "hang up"));
        }
        let prev = std::mem::replace(&mut call.state, CallState::Ended);
        call.state_since = now;
        let duration = now - call.started;
        let listeners: Vec<_> = call.listeners.keys().cloned().collect();
        call.listeners.clear();
        self.queue.retain(|c| c != call_id);
        let msg = ServerMessage::CallState {
            call_id: call_id.clone(),
            state: CallStateName::Ended,
            position: None,
            estimated_wait_s: None,
            reason: Some(reason),
        };
        self.outputs
            .push_back(Output::ToCustomer(call_id.clone(), msg.clone()));
        match prev {
            CallState::Ringing { agent, .. } => {
                self.outputs.push_back(Output::ToAgent(
                    agent.clone(),
                    ServerMessage::OfferWithdrawn {
                        call_id: call_id.clone(),
                        reason: "call_ended".into(),
                    },
                ));
                self.set_agent_state(now, &agent, AgentState::Available);
            }
            CallState::Talking {
                agent, accepted_at, ..
            } => {
                self.outputs.push_back(Output::ToAgent(agent.clone(), msg));
                self.record_handle_time(now - accepted_at);
                let until = (self.config.wrap_up_s > 0)
                    .then(|| now + Duration::from_secs(self.config.wrap_up_s));
                self.set_agent_state(now, &agent, AgentState::WrapUp { until });
            }
            _ => {}
        }
        for sup in listeners {
            self.outputs.push_back(Output::ToSupervisor(
                sup.clone(),
                ServerMessage::ListenStopped {
                    call_id: call_id.clone(),
                },
            ));
        }
        self.outputs
            .push_back(Output::CloseCall(call_id.clone(), reason));
        self.outputs.push_back(Output::Milestone(
            call_id.clone(),
            Milestone::Ended { duration },
        ));
        self.outputs.push_back(Output::DashboardChanged);
        self.announce_queue();
        self.dispatch(now);
        // Ended calls are forgotten; the database keeps the record.
        self.calls.remove(call_id);
        Ok(())
    }

    // ---- agents ----------------------------------------------------------------------------

    /// An agent's session logged in. A new agent starts away.
    pub fn agent_login(&mut self, now: Instant, agent: AgentId, name: String) {
        let entry = self.agents.entry(agent.clone()).or_insert(Agent {
            name,
            state: AgentState::Away,
            since: now,
            sessions: 0,
        });
        entry.sessions += 1;
        let msg = ServerMessage::AgentState {
            state: entry.state.name(),
            call_id: entry.state.call().cloned(),
        };
        self.outputs.push_back(Output::ToAgent(agent, msg));
        self.outputs.push_back(Output::DashboardChanged);
    }

    /// An agent's session closed. With no session left the agent is away and any call they
    /// were ringing for or talking on is dealt with.
    pub fn agent_logout(&mut self, now: Instant, agent: &AgentId) {
        let Some(a) = self.agents.get_mut(agent) else {
            return;
        };
        a.sessions = a.sessions.saturating_sub(1);
        if a.sessions > 0 {
            return;
        }
        match a.state.clone() {
            AgentState::Ringing(call) => {
                self.withdraw_offer(now, &call, agent, "agent_left");
            }
            AgentState::OnCall(call) => {
                let _ = self.end_call(now, &call, EndReason::AgentDisconnected);
            }
            _ => {}
        }
        self.set_agent_state(now, agent, AgentState::Away);
        self.outputs.push_back(Output::DashboardChanged);
        self.dispatch(now);
    }

    /// The agent chose available or away.
    pub fn set_availability(
        &mut self,
        now: Instant,
        agent: &AgentId,
        available: bool,
    ) -> Result<()> {
        let a = self
            .agents
            .get(agent)
            .ok_or_else(|| SignalError::AgentNotFound(agent.clone()))?;
        match a.state {
            AgentState::Ringing(_) | AgentState::OnCall(_) => {
                return Err(SignalError::AgentWrongState {
                    state: a.state.label(),
                    action: "change availability",
                })
            }
            _ => {}
        }
        let next = if available {
            AgentState::Available
        } else {
            AgentState::Away
        };
        self.set_agent_state(now, agent, next);
        self.dispatch(now);
        Ok(())
    }

    /// The agent accepts the call offered to them.
    pub fn accept(&mut self, now: Instant, agent: &AgentId, call_id: &CallId) -> Result<()> {
        self.check_offered(agent, call_id, "accept")?;
        let call = self.call_mut(call_id)?;
        call.state = CallState::Talking {
            agent: agent.clone(),
            accepted_at: now,
            connected: false,
        };
        call.state_since = now;
        self.queue.retain(|c| c != call_id);
        self.set_agent_state(now, agent, AgentState::OnCall(call_id.clone()));
        self.announce_queue();
        self.maybe_connected(now, call_id);
        Ok(())
    }

    /// The agent declines the call offered to them; it goes to the next agent.
    pub fn decline(&mut self, now: Instant, agent: &AgentId, call_id: &CallId) -> Result<()> {
        self.check_offered(agent, call_id, "decline")?;
        self.withdraw_offer(now, call_id, agent, "declined");
        self.set_agent_state(now, agent, AgentState::Available);
        self.dispatch(now);
        Ok(())
    }

    /// Whether `call_id` is ringing for `agent` (so the agent may accept or decline it).
    pub fn check_offered(
        &self,
        agent: &AgentId,
        call_id: &CallId,
        action: &'static str,
    ) -> Result<()> {
        let call = self
            .calls
            .get(call_id)
            .ok_or_else(|| SignalError::CallNotFound(call_id.clone()))?;
        match &call.state {
            CallState::Ringing { agent: a, .. } if a == agent => Ok(()),
            CallState::Talking { agent: a, .. } if a == agent => Err(SignalError::CallWrongState {
                call: call_id.clone(),
                state: "already accepted",
                action,
            }),
            _ => Err(SignalError::NotYourCall {
                call: call_id.clone(),
                agent: agent.clone(),
            }),
        }
    }

    /// Back to the queue (at its old place, the head) after a decline, timeout or agent drop.
    fn withdraw_offer(&mut self, now: Instant, call_id: &CallId, agent: &AgentId, reason: &str) {
        if let Some(call) = self.calls.get_mut(call_id) {
            call.state = CallState::Queued;
            call.state_since = now;
            if reason == "declined" {
                call.declined_by.insert(agent.clone());
            }
        }
        self.outputs.push_back(Output::ToAgent(
            agent.clone(),
            ServerMessage::OfferWithdrawn {
                call_id: call_id.clone(),
                reason: reason.into(),
            },
        ));
        let msg = self.call_state_msg(call_id);
        self.outputs
            .push_back(Output::ToCustomer(call_id.clone(), msg));
        self.outputs.push_back(Output::DashboardChanged);
    }

    // ---- supervisors -----------------------------------------------------------------------

    pub fn supervisor_login(&mut self, sup: SupervisorId) {
        *self.supervisors.entry(sup).or_default() += 1;
    }

    pub fn supervisor_logout(&mut self, sup: &SupervisorId) {
        if let Some(n) = self.supervisors.get_mut(sup) {
            *n -= 1;
            if *n == 0 {
                self.supervisors.remove(sup);
                let calls: Vec<CallId> = self
                    .calls
                    .iter()
                    .filter(|(_, c)| c.listeners.contains_key(sup))
                    .map(|(id, _)| id.clone())
                    .collect();
                for c in calls {
                    let _ = self.stop_listening(&c, sup);
                }
            }
        }
    }

    /// Whether a call is live (not ended).
    pub fn is_live(&self, call_id: &CallId) -> bool {
        self.calls.contains_key(call_id)
    }

    /// Whether a supervisor may start listening to this call now.
    pub fn check_listen(&self, call_id: &CallId, sup: &SupervisorId) -> Result<()> {
        let call = self
            .calls
            .get(call_id)
            .ok_or_else(|| SignalError::CallNotFound(call_id.clone()))?;
        if call.listeners.contains_key(sup) {
            return Err(SignalError::CallWrongState {
                call: call_id.clone(),
                state: "already listened to by you",
                action: "listen",
            });
        }
        Ok(())
    }

    pub fn start_listening(&mut self, call_id: &CallId, sup: &SupervisorId) -> Result<()> {
        self.check_listen(call_id, sup)?;
        self.call_mut(call_id)?.listeners.insert(sup.clone(), ());
        self.outputs.push_back(Output::DashboardChanged);
        Ok(())
    }

    pub fn stop_listening(&mut self, call_id: &CallId, sup: &SupervisorId) -> Result<()> {
        let call = self.call_mut(call_id)?;
        if call.listeners.remove(sup).is_none() {
            return Err(SignalError::CallWrongState {
                call: call_id.clone(),
                state: "not listened to by you",
                action: "stop listening",
            });
        }
        self.outputs
            .push_back(Output::StopListening(call_id.clone(), sup.clone()));
        self.outputs.push_back(Output::ToSupervisor(
            sup.clone(),
            ServerMessage::ListenStopped {
                call_id: call_id.clone(),
            },
        ));
        self.outputs.push_back(Output::DashboardChanged);
        Ok(())
    }

    pub fn supervisors(&self) -> impl Iterator<Item = &SupervisorId> {
        self.supervisors.keys()
    }

    // ---- time ------------------------------------------------------------------------------

    /// Ring timeouts and wrap-up ends that are due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
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
            self.withdraw_offer(now, &call, &agent, "timeout");
            self.set_agent_state(now, &agent, AgentState::Away);
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
        self.dispatch(now);
    }

    // ---- speech ----------------------------------------------------------------------------

    /// The customer's mood changed: update the dashboard, and alert every supervisor when the
    /// customer has just been negative `alert_after` utterances in a row.
    pub fn customer_sentiment(
        &mut self,
        call_id: &CallId,
        view: SentimentView,
        alert_after: u32,
        last_text: String,
    ) -> Result<()> {
        let call = self
            .calls
            .get_mut(call_id)
            .ok_or_else(|| SignalError::CallNotFound(call_id.clone()))?;
        let alert = alert_after > 0 && view.negative_run == alert_after;
        let trend = view.trend;
        let run = view.negative_run;
        call.sentiment = Some(view);
        let agent = match &call.state {
            CallState::Ringing { agent, .. } | CallState::Talking { agent, .. } => {
                Some(agent.clone())
            }
            _ => None,
        };
        self.outputs.push_back(Output::DashboardChanged);
        if alert {
            let msg = ServerMessage::SentimentAlert {
                call_id: call_id.clone(),
                agent,
                negative_utterances: run,
                trend,
                last_text,
            };
            for sup in self.supervisors.keys() {
                self.outputs
                    .push_back(Output::ToSupervisor(sup.clone(), msg.clone()));
            }
        }
        Ok(())
    }

    // ---- views -----------------------------------------------------------------------------

    /// The supervisors' live view at `now`.
    pub fn dashboard(&self, now: Instant) -> ServerMessage {
        let calls = self
            .calls
            .iter()
            .map(|(id, c)| CallView {
                call_id: id.clone(),
                state: c.state.name(),
                caller: c.caller.clone(),
                duration_s: secs(now - c.started),
                state_s: secs(now - c.state_since),
                agent: match &c.state {
                    CallState::Ringing { agent, .. } | CallState::Talking { agent, .. } => {
                        Some(agent.clone())
                    }
                    _ => None,
                },
                listeners: c.listeners.keys().cloned().collect(),
                sentiment: c.sentiment.clone(),
            })
            .collect();
        let agents = self
            .agents
            .iter()
            .filter(|(_, a)| a.sessions > 0 || a.state != AgentState::Away)
            .map(|(id, a)| AgentView {
                agent_id: id.clone(),
                name: a.name.clone(),
                state: a.state.name(),
                state_s: secs(now - a.since),
                call_id: a.state.call().cloned(),
            })
            .collect();
        // Every call not yet accepted, ringing ones included (the customer is still waiting);
        // unlike the customers' own `position`, which counts only calls nobody is ringing for.
        let queue = self
            .queue
            .iter()
            .filter(|id| {
                self.calls.get(*id).is_some_and(|c| {
                    matches!(c.state, CallState::Queued | CallState::Ringing { .. })
                })
            })
            .enumerate()
            .map(|(i, id)| QueueEntryView {
                call_id: id.clone(),
                position: i + 1,
                waiting_s: self.calls.get(id).map_or(0.0, |c| secs(now - c.started)),
            })
            .collect();
        ServerMessage::Dashboard {
            calls,
            agents,
            queue,
        }
    }

    /// Counts for gauges.
    pub fn census(&self) -> Census {
        let mut c = Census::default();
        for call in self.calls.values() {
            match call.state.name() {
                CallStateName::Queued => c.calls_queued += 1,
                CallStateName::Ringing => c.calls_ringing += 1,
                CallStateName::Connected => c.calls_connected += 1,
                CallStateName::Ended => {}
            }
        }
        for s in ["away", "available", "ringing", "on_call", "wrap_up"] {
            c.agents.insert(s, 0);
        }
        for a in self.agents.values().filter(|a| a.sessions > 0) {
            let key = match a.state.name() {
                AgentStateName::Away => "away",
                AgentStateName::Available => "available",
                AgentStateName::Ringing => "ringing",
                AgentStateName::OnCall => "on_call",
                AgentStateName::WrapUp => "wrap_up",
            };
            *c.agents.entry(key).or_default() += 1;
        }
        c
    }

    pub fn queue_len(&self) -> usize {
        self.queue.len()
    }

    /// Live calls (not ended).
    pub fn call_ids(&self) -> Vec<CallId> {
        self.calls.keys().cloned().collect()
    }

    /// The agent talking on a call (not one it is only ringing for).
    pub fn talking_agent(&self, call_id: &CallId) -> Option<AgentId> {
        match &self.calls.get(call_id)?.state {
            CallState::Talking { agent, .. } => Some(agent.clone()),
            _ => None,
        }
    }

    /// The agent assigned to (or ringing for) a call.
    pub fn agent_of(&self, call_id: &CallId) -> Option<AgentId> {
        match &self.calls.get(call_id)?.state {
            CallState::Ringing { agent, .. } | CallState::Talking { agent, .. } => {
                Some(agent.clone())
            }
            _ => None,
        }
    }

    /// Whether a party of a call is muted (the shell stops forwarding its audio).
    pub fn is_muted(&self, call_id: &CallId, party: Party) -> bool {
        self.calls.get(call_id).is_some_and(|c| match party {
            Party::Customer => c.customer_muted,
            Party::Agent => c.agent_muted,
        })
    }

    // ---- internals -------------------------------------------------------------------------

    /// Offer waiting calls to available agents, longest-idle agent first.
    fn dispatch(&mut self, now: Instant) {
        let mut changed = false;
        loop {
            let mut offered = None;
            for call_id in &self.queue {
                let Some(call) = self.calls.get(call_id) else {
                    continue;
                };
                if call.state != CallState::Queued {
                    continue;
                }
                let agent = self
                    .agents
                    .iter()
                    .filter(|(id, a)| {
                        a.state == AgentState::Available
                            && a.sessions > 0
                            && !call.declined_by.contains(*id)
                    })
                    .min_by_key(|(id, a)| (a.since, (*id).clone()))
                    .map(|(id, _)| id.clone());
                if let Some(agent) = agent {
                    offered = Some((call_id.clone(), agent));
                    break;
                }
            }
            let Some((call_id, agent)) = offered else {
                break;
            };
            let deadline = now + Duration::from_secs(self.config.ring_timeout_s);
            let call = self.calls.get_mut(&call_id).expect("queued call exists");
            call.state = CallState::Ringing {
                agent: agent.clone(),
                deadline,
            };
            call.state_since = now;
            let offer = ServerMessage::CallOffered {
                call_id: call_id.clone(),
                caller: call.caller.clone(),
                waited_s: secs(now - call.started),
                timeout_s: self.config.ring_timeout_s,
            };
            self.set_agent_state(now, &agent, AgentState::Ringing(call_id.clone()));
            self.outputs.push_back(Output::ToAgent(agent, offer));
            let msg = self.call_state_msg(&call_id);
            self.outputs.push_back(Output::ToCustomer(call_id, msg));
            changed = true;
        }
        if changed {
            self.announce_queue();
            self.outputs.push_back(Output::DashboardChanged);
        }
    }

    /// Calls in the queue that are waiting (not ringing at an agent), in order.
    fn waiting(&self) -> impl Iterator<Item = &CallId> {
        self.queue.iter().filter(|id| {
            self.calls
                .get(*id)
                .is_some_and(|c| c.state == CallState::Queued)
        })
    }

    /// Tell every queued customer their position and estimated wait.
    fn announce_queue(&mut self) {
        let ids: Vec<CallId> = self.waiting().cloned().collect();
        for id in ids {
            let msg = self.call_state_msg(&id);
            self.outputs.push_back(Output::ToCustomer(id, msg));
        }
    }

    fn call_state_msg(&self, call_id: &CallId) -> ServerMessage {
        let state = self
            .calls
            .get(call_id)
            .map(|c| c.state.name())
            .unwrap_or(CallStateName::Ended);
        let (position, estimated_wait_s) = if state == CallStateName::Queued {
            let pos = self
                .waiting()
                .position(|id| id == call_id)
                .map(|p| p + 1)
                .unwrap_or(1);
            (Some(pos), Some(self.estimated_wait(pos)))
        } else {
            (None, None)
        };
        ServerMessage::CallState {
            call_id: call_id.clone(),
            state,
            position,
            estimated_wait_s,
            reason: None,
        }
    }

    /// Position times average handle time, shared among the agents who take calls.
    fn estimated_wait(&self, position: usize) -> u64 {
        let aht = if self.handle_times.is_empty() {
            Duration::from_secs(self.config.default_handle_time_s)
        } else {
            self.handle_times.iter().sum::<Duration>() / self.handle_times.len() as u32
        };
        let staffed = self
            .agents
            .values()
            .filter(|a| a.sessions > 0 && a.state != AgentState::Away)
            .count()
            .max(1);
        (aht.as_secs_f64() * position as f64 / staffed as f64).round() as u64
    }

    fn record_handle_time(&mut self, d: Duration) {
        self.handle_times.push_back(d);
        if self.handle_times.len() > 50 {
            self.handle_times.pop_front();
        }
    }

    fn set_agent_state(&mut self, now: Instant, agent: &AgentId, state: AgentState) {
        if let Some(a) = self.agents.get_mut(agent) {
            if a.state != state {
                a.state = state;
                a.since = now;
                let msg = ServerMessage::AgentState {
                    state: a.state.name(),
                    call_id: a.state.call().cloned(),
                };
                self.outputs.push_back(Output::ToAgent(agent.clone(), msg));
                self.outputs.push_back(Output::DashboardChanged);
            }
        }
    }

    fn call_mut(&mut self, call_id: &CallId) -> Result<&mut Call> {
        self.calls
            .get_mut(call_id)
            .ok_or_else(|| SignalError::CallNotFound(call_id.clone()))
    }

    fn wrong_call_state(&self, call_id: &CallId, action: &'static str) -> SignalError {
        SignalError::CallWrongState {
            call: call_id.clone(),
            state: self
                .calls
                .get(call_id)
                .map(|c| c.state.label())
                .unwrap_or("ended"),
            action,
        }
    }
}

fn secs(d: Duration) -> f64 {
    (d.as_secs_f64() * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests;
