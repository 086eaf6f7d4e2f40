//! What supervisors and metrics see: the live dashboard, counts by state, lookups.

use super::*;

impl CallCenter {
    /// The supervisors' live view at `now`.
    pub fn dashboard(&self, now: Instant) -> Dashboard {
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
                supervisors: c
                    .listeners
                    .iter()
                    .map(|(s, m)| SupervisorView {
                        supervisor_id: s.clone(),
                        mode: *m,
                    })
                    .collect(),
                sentiment: c.sentiment.clone(),
                channel: c.channel,
                escalation: c.escalation,
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
            .filter_map(|(i, id)| {
                let c = self.calls.get(id)?;
                let waited = now.saturating_duration_since(c.queued_at);
                Some(QueueEntryView {
                    call_id: id.clone(),
                    position: i + 1,
                    waiting_s: secs(now - c.started),
                    queue: c.queue.clone(),
                    priority: (routing::effective_priority(
                        &self.config.priority,
                        c.priority,
                        waited,
                    ) * 10.0)
                        .round()
                        / 10.0,
                })
            })
            .collect();
        Dashboard {
            calls,
            agents,
            queue,
        }
    }

    /// The queue a live contact waits in, or would (`Some(None)`: any agent's).
    pub fn queue_of(&self, call_id: &CallId) -> Option<Option<String>> {
        self.calls.get(call_id).map(|c| c.queue.clone())
    }

    /// How a live contact talks.
    pub fn channel_of(&self, call_id: &CallId) -> Option<Channel> {
        self.calls.get(call_id).map(|c| c.channel)
    }

    /// Counts for gauges.
    pub fn census(&self) -> Census {
        let mut c = Census::default();
        for call in self.calls.values() {
            match call.state.name() {
                CallStateName::WithBot => c.calls_with_bot += 1,
                CallStateName::Queued => c.calls_queued += 1,
                CallStateName::Ringing => c.calls_ringing += 1,
                CallStateName::Connected => c.calls_connected += 1,
                CallStateName::Overflow => c.calls_overflow += 1,
                CallStateName::Scheduled => c.calls_scheduled += 1,
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
    pub fn is_muted(&self, call_id: &CallId, party: ParticipantKind) -> bool {
        self.calls.get(call_id).is_some_and(|c| match party {
            ParticipantKind::Customer => c.customer_muted,
            ParticipantKind::Agent => c.agent_muted,
            _ => false,
        })
    }
}
