//! The queue and routing: waiting calls are offered to the longest-idle available agent;
//! queued customers are told their position and estimated wait.

use super::*;

impl CallCenter {
    /// Offer waiting calls to available agents, longest-idle agent first.
    pub(super) fn dispatch(&mut self, now: Instant) {
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
            let offer = Event::CallOffered {
                call_id: call_id.clone(),
                caller: call.caller.clone(),
                waited_s: secs(now - call.started),
                timeout_s: self.config.ring_timeout_s,
                channel: call.channel,
                handoff: call.handoff.clone().map(Box::new),
            };
            self.set_agent_state(now, &agent, AgentState::Ringing(call_id.clone()));
            self.outputs
                .push_back(Output::Notify(Recipient::Agent(agent), offer));
            let msg = self.call_state_msg(&call_id);
            self.outputs
                .push_back(Output::Notify(Recipient::Customer(call_id), msg));
            changed = true;
        }
        if changed {
            self.announce_queue();
            self.outputs.push_back(Output::DashboardChanged);
        }
    }

    /// Calls in the queue that are waiting (not ringing at an agent), in order.
    pub(super) fn waiting(&self) -> impl Iterator<Item = &CallId> {
        self.queue.iter().filter(|id| {
            self.calls
                .get(*id)
                .is_some_and(|c| c.state == CallState::Queued)
        })
    }

    /// Tell every queued customer their position and estimated wait.
    pub(super) fn announce_queue(&mut self) {
        let ids: Vec<CallId> = self.waiting().cloned().collect();
        for id in ids {
            let msg = self.call_state_msg(&id);
            self.outputs
                .push_back(Output::Notify(Recipient::Customer(id), msg));
        }
    }

    pub(super) fn call_state_msg(&self, call_id: &CallId) -> Event {
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
        Event::CallState {
            call_id: call_id.clone(),
            state,
            position,
            estimated_wait_s,
            reason: None,
        }
    }

    /// Position times average handle time, shared among the agents who take calls.
    pub(super) fn estimated_wait(&self, position: usize) -> u64 {
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

    pub(super) fn record_handle_time(&mut self, d: Duration) {
        self.handle_times.push_back(d);
        if self.handle_times.len() > 50 {
            self.handle_times.pop_front();
        }
    }

    pub(super) fn set_agent_state(&mut self, now: Instant, agent: &AgentId, state: AgentState) {
        if let Some(a) = self.agents.get_mut(agent) {
            if a.state != state {
                a.state = state;
                a.since = now;
                let msg = Event::AgentState {
                    state: a.state.name(),
                    call_id: a.state.call().cloned(),
                };
                self.outputs
                    .push_back(Output::Notify(Recipient::Agent(agent.clone()), msg));
                self.outputs.push_back(Output::DashboardChanged);
            }
        }
    }

    pub(super) fn call_mut(&mut self, call_id: &CallId) -> Result<&mut Call> {
        self.calls
            .get_mut(call_id)
            .ok_or_else(|| SignalError::CallNotFound(call_id.clone()))
    }

    pub(super) fn wrong_call_state(&self, call_id: &CallId, action: &'static str) -> SignalError {
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
