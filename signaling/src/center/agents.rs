//! Agents: log in and out, choose availability, accept or decline what they are offered.

use super::*;

impl CallCenter {
    /// An agent's session logged in with the agent's skills. A new agent starts away.
    pub(crate) fn agent_login(
        &mut self,
        now: Instant,
        agent: AgentId,
        name: String,
        skills: routing::Skills,
    ) {
        let entry = self.agents.entry(agent.clone()).or_insert(Agent {
            name,
            state: AgentState::Away,
            since: now,
            sessions: 0,
            skills: Default::default(),
            away_reason: None,
            last_call: None,
        });
        entry.sessions += 1;
        self.staffing_changed = true;
        // The latest login's skills count (an administrator may have changed them).
        entry.skills = skills;
        let msg = Event::AgentState {
            state: entry.state.name(),
            call_id: entry.state.call().cloned(),
            reason: entry.away_reason,
        };
        let free = matches!(entry.state, AgentState::Away | AgentState::Available);
        self.outputs
            .push_back(Output::Notify(Recipient::Agent(agent.clone()), msg));
        self.outputs.push_back(Output::DashboardChanged);
        // Back within the grace after losing a call that still waits: it rings for them first.
        let lost = self
            .calls
            .iter()
            .find(|(_, c)| {
                c.state == CallState::Queued
                    && c.returning
                        .as_ref()
                        .is_some_and(|(a, until)| *a == agent && now < *until)
            })
            .map(|(id, _)| id.clone());
        if let (Some(call), true) = (lost, free) {
            self.offer(now, &call, &agent, false);
            self.announce_queue();
        }
    }

    /// New skills for an agent: the waiting calls are looked at again with them.
    pub(crate) fn set_agent_skills(
        &mut self,
        now: Instant,
        agent: &AgentId,
        skills: routing::Skills,
    ) {
        let Some(a) = self.agents.get_mut(agent) else {
            return;
        };
        if a.skills == skills {
            return;
        }
        a.skills = skills;
        self.staffing_changed = true;
        self.outputs.push_back(Output::DashboardChanged);
        self.dispatch(now);
    }

    /// An agent's session closed. With no session left the agent is away and any call they
    /// were ringing for or talking on is dealt with.
    pub(crate) fn agent_logout(&mut self, now: Instant, agent: &AgentId) {
        let Some(a) = self.agents.get_mut(agent) else {
            return;
        };
        a.sessions = a.sessions.saturating_sub(1);
        if a.sessions > 0 {
            return;
        }
        self.staffing_changed = true;
        match a.state.clone() {
            AgentState::Ringing(call) => {
                self.withdraw_offer(now, &call, agent, WithdrawReason::AgentLeft);
            }
            AgentState::OnCall(call) => {
                // Sets them away, for the lost connection.
                self.agent_lost(now, &call, agent);
            }
            _ => {}
        }
        if self
            .agents
            .get(agent)
            .is_some_and(|a| a.state != AgentState::Away)
        {
            self.set_agent_state(now, agent, AgentState::Away);
        }
        self.outputs.push_back(Output::DashboardChanged);
        self.dispatch(now);
    }

    /// The agent chose available or away.
    pub(crate) fn set_availability(
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
    pub(crate) fn accept(&mut self, now: Instant, agent: &AgentId, call_id: &CallId) -> Result<()> {
        self.check_offered(agent, call_id, "accept")?;
        let call = self.call_mut(call_id)?;
        call.state = CallState::Talking {
            agent: agent.clone(),
            accepted_at: now,
            connected: false,
        };
        call.state_since = now;
        let bot_leaves = std::mem::take(&mut call.bot);
        self.queue.retain(|c| c != call_id);
        if bot_leaves {
            self.outputs
                .push_back(Output::Bot(call_id.clone(), BotInput::Stop));
        }
        self.set_agent_state(now, agent, AgentState::OnCall(call_id.clone()));
        self.announce_queue();
        self.maybe_connected(now, call_id);
        Ok(())
    }

    /// The agent declines the call offered to them; it goes to the next agent.
    pub(crate) fn decline(
        &mut self,
        now: Instant,
        agent: &AgentId,
        call_id: &CallId,
    ) -> Result<()> {
        self.check_offered(agent, call_id, "decline")?;
        self.withdraw_offer(now, call_id, agent, WithdrawReason::Declined);
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
    pub(super) fn withdraw_offer(
        &mut self,
        now: Instant,
        call_id: &CallId,
        agent: &AgentId,
        reason: WithdrawReason,
    ) {
        if let Some(call) = self.calls.get_mut(call_id) {
            call.state = CallState::Queued;
            call.state_since = now;
            call.looked = false;
            self.unlooked.insert(call_id.clone());
            if reason == WithdrawReason::Declined {
                call.declined_by.insert(agent.clone());
                call.declined_at = Some(now);
            }
        }
        self.outputs.push_back(Output::Notify(
            Recipient::Agent(agent.clone()),
            Event::OfferWithdrawn {
                call_id: call_id.clone(),
                reason,
            },
        ));
        let msg = self.call_state_msg(call_id);
        self.outputs
            .push_back(Output::Notify(Recipient::Customer(call_id.clone()), msg));
        self.outputs.push_back(Output::DashboardChanged);
    }
}

impl CallCenter {
    /// The agent's peer connections leave the call's room (it is re-routed without them).
    pub(super) fn drop_agent_media(&mut self, call_id: &CallId, agent: &AgentId) {
        let Some(call) = self.calls.get_mut(call_id) else {
            return;
        };
        let gone: Vec<ParticipantId> = call
            .members
            .iter()
            .filter(|(_, m)| *m == Member::Agent(agent.clone()))
            .map(|(p, _)| p.clone())
            .collect();
        call.members.retain(|(p, _)| !gone.contains(p));
        for p in gone {
            self.outputs.push_back(Output::Leave(call_id.clone(), p));
        }
        self.push_route(call_id);
    }

    /// The agent talking on a call was lost: their last session closed or their media went
    /// away mid-call. The agent's media leaves the room, the customer is told (and, in a voice
    /// call, hears it), and the call goes back to the head of its queue with everything it
    /// carries (caller, queue, handoff card; the transcript is in the database), raised by
    /// `priority.requeued`. The agent is set away for the lost connection; if they come back
    /// within `rejoin_grace_s` while it still waits, it is offered to them first.
    pub(crate) fn agent_lost(&mut self, now: Instant, call_id: &CallId, agent: &AgentId) {
        let grace = Duration::from_secs(self.config.rejoin_grace_s);
        let requeued = self.config.priority.requeued;
        let Some(call) = self.calls.get_mut(call_id) else {
            return;
        };
        if !matches!(&call.state, CallState::Talking { agent: a, .. } if a == agent) {
            return;
        }
        call.state = CallState::Queued;
        call.state_since = now;
        call.agent_media = false;
        call.agent_muted = false;
        call.priority += requeued;
        call.returning = Some((agent.clone(), now + grace));
        call.declined_by.clear();
        call.declined_at = None;
        let voice = call.channel == Channel::Voice;
        self.drop_agent_media(call_id, agent);
        self.enqueue(now, call_id, true);
        let lost = Event::AgentLost {
            call_id: call_id.clone(),
        };
        self.outputs.push_back(Output::Notify(
            Recipient::Customer(call_id.clone()),
            lost.clone(),
        ));
        self.outputs
            .push_back(Output::Notify(Recipient::Agent(agent.clone()), lost));
        if voice {
            self.outputs
                .push_back(Output::Announce(call_id.clone(), Announcement::AgentLost));
        }
        self.set_agent_away(now, agent, AwayReason::ConnectionLost);
        self.outputs.push_back(Output::DashboardChanged);
        self.dispatch(now);
        self.announce_queue();
    }
}
