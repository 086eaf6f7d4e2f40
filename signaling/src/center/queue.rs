//! The queue and routing: waiting calls, in order of priority then arrival, are offered to
//! the best available agent for each ([`routing`]); queued customers are told their position
//! and estimated wait.

use super::*;

/// Customers at the head of the queue told their position at every change.
pub(super) const ANNOUNCE_AT_ONCE: usize = 50;

impl CallCenter {
    /// Put a call that waits for an agent in its place in the queue: behind every call of
    /// higher priority now (waiting adds the same to every call, so that order holds as time
    /// passes), and behind those of equal priority unless `ahead_of_equals` (a call going back
    /// to the head of its queue).
    pub(super) fn enqueue(&mut self, now: Instant, call_id: &CallId, ahead_of_equals: bool) {
        self.queue.retain(|c| c != call_id);
        let rules = &self.config.priority;
        let key = |c: &Call| {
            routing::effective_priority(
                rules,
                c.priority,
                now.saturating_duration_since(c.queued_at),
            )
        };
        let Some(mine) = self.calls.get(call_id).map(key) else {
            return;
        };
        self.unlooked.insert(call_id.clone());
        if let Some(c) = self.calls.get_mut(call_id) {
            c.looked = false;
            if !c.was_queued {
                c.was_queued = true;
                self.outputs.push_back(Output::Milestone(
                    call_id.clone(),
                    Milestone::Queued {
                        queue: c.queue.clone(),
                    },
                ));
            }
        }
        // The queue is in that order: the first place whose call goes after this one.
        let at = self.queue.partition_point(|id| {
            self.calls.get(id).is_none_or(|c| {
                let theirs = key(c);
                if ahead_of_equals {
                    theirs > mine
                } else {
                    theirs >= mine
                }
            })
        });
        self.queue.insert(at, call_id.clone());
    }

    /// Offer waiting calls, in queue order, to the best available agent for each; overflow
    /// those no agent can take; note when each must be looked at again.
    ///
    /// Calls are looked at in queue order while an agent is free; after that (or when nobody
    /// is free) only the calls that are due: new or back in the queue, or at their wake (an
    /// overflow step, a re-offer, their longest wait, the end of a grace). All of them when
    /// agents logged in or out. So an event costs what it touches, not the queue's length.
    pub(super) fn dispatch(&mut self, now: Instant) {
        let reoffer = Duration::from_secs(self.config.reoffer_after_s);
        let mut free: Vec<(&AgentId, &Agent)> = self
            .agents
            .iter()
            .filter(|(_, a)| a.state == AgentState::Available && a.sessions > 0)
            .collect();
        let everyone = std::mem::take(&mut self.staffing_changed);
        let mut offers = vec![];
        let mut wakes = vec![];
        let mut overflows = vec![];
        let mut looked: Vec<CallId> = vec![];
        let mut staffed: BTreeMap<&str, bool> = BTreeMap::new();
        // Who may take a call of a queue after so many overflow steps: the same for every call
        // at that step, so made once.
        let mut wants_at: BTreeMap<(&str, usize), Vec<routing::Want>> = BTreeMap::new();
        let mut visited: HashSet<&CallId> = HashSet::new();
        let mut in_order = self.queue.iter();
        let due: Vec<&CallId> = if everyone {
            vec![]
        } else {
            self.unlooked
                .iter()
                .chain(
                    self.wakes
                        .iter()
                        .take_while(|(t, _)| *t <= now)
                        .map(|(_, id)| id),
                )
                .collect()
        };
        // Agents free since the last look must see the whole queue (in order, until they are
        // offered a call); the others have seen every call that is not due.
        let mut fresh = free
            .iter()
            .filter(|(id, _)| self.fresh_agents.contains(*id))
            .count();
        let mut due = due.into_iter();
        loop {
            // In queue order while a fresh agent is free (or for all); then what is due.
            let next = if everyone || fresh > 0 {
                in_order.next().or_else(|| due.next())
            } else {
                due.next()
            };
            let Some(call_id) = next else { break };
            if !visited.insert(call_id) {
                continue;
            }
            looked.push(call_id.clone());
            let Some(call) = self.calls.get(call_id) else {
                continue;
            };
            if call.state != CallState::Queued {
                continue;
            }
            let waited = now.saturating_duration_since(call.queued_at);
            let reoffered = call.declined_at.is_some_and(|t| now >= t + reoffer);
            let wants = call.queue.as_deref().map(|q| {
                let step = routing::steps_taken(&self.config.queues, q, waited);
                &*wants_at
                    .entry((q, step))
                    .or_insert_with(|| routing::wanted(&self.config.queues, q, waited))
            });
            let best = free
                .iter()
                .enumerate()
                .filter(|(_, (id, _))| reoffered || !call.declined_by.contains(*id))
                .filter_map(|(i, (id, a))| {
                    let fit = match &wants {
                        Some(w) => routing::fit(&a.skills, w)?,
                        None => (0, 0),
                    };
                    // The agent it lost, back within the grace, before anyone else.
                    let stranger = !call
                        .returning
                        .as_ref()
                        .is_some_and(|(r, until)| r == *id && now < *until);
                    Some(((stranger, fit, a.since, *id), i))
                })
                .min()
                .map(|(_, i)| i);
            match best {
                Some(i) => {
                    let (agent, _) = free.swap_remove(i);
                    if self.fresh_agents.contains(agent) {
                        fresh -= 1;
                    }
                    offers.push((call_id.clone(), agent.clone(), reoffered));
                }
                None => {
                    let rules = call
                        .queue
                        .as_deref()
                        .and_then(|q| routing::queue(&self.config.queues, q));
                    let max_wait = rules
                        .and_then(|r| r.max_wait_s)
                        .map(|s| call.queued_at + Duration::from_secs(s));
                    // The agent it lost may come back for it: that is someone.
                    let awaited = call
                        .returning
                        .as_ref()
                        .is_some_and(|(_, until)| now < *until);
                    let nobody = rules.is_some_and(|r| {
                        r.overflow_when_no_agents
                            && !awaited
                            && !*staffed
                                .entry(r.name.as_str())
                                .or_insert_with(|| self.staffed(&r.name))
                    });
                    // A callback waits for an agent however long it takes: it is the answer
                    // to an overflow already.
                    let callback = call.channel == Channel::Callback;
                    let max_wait = max_wait.filter(|_| !callback);
                    if nobody && !callback {
                        overflows.push((call_id.clone(), OverflowReason::NoAgents));
                        continue;
                    }
                    if max_wait.is_some_and(|t| now >= t) {
                        overflows.push((call_id.clone(), OverflowReason::WaitTooLong));
                        continue;
                    }
                    // Nobody for it now: look again at its next overflow step, its re-offer or
                    // its longest wait.
                    let step = call.queue.as_deref().and_then(|q| {
                        routing::next_step(&self.config.queues, q, waited)
                            .map(|d| call.queued_at + d)
                    });
                    let again = call.declined_at.map(|t| t + reoffer).filter(|t| *t > now);
                    let grace = call
                        .returning
                        .as_ref()
                        .map(|(_, t)| *t)
                        .filter(|t| *t > now);
                    wakes.push((
                        call_id.clone(),
                        step.into_iter()
                            .chain(again)
                            .chain(max_wait)
                            .chain(grace)
                            .min(),
                    ));
                }
            }
        }
        self.fresh_agents.clear();
        for call_id in looked {
            self.unlooked.remove(&call_id);
            if let Some(c) = self.calls.get_mut(&call_id) {
                c.looked = true;
            }
            // Looked at: its old wake is spent (a new one is set below if it needs one).
            self.set_wake(&call_id, None);
        }
        for (call_id, wake) in wakes {
            self.set_wake(&call_id, wake);
        }
        let changed = !offers.is_empty();
        for (call_id, agent, reoffered) in offers {
            self.offer(now, &call_id, &agent, reoffered);
        }
        for (call_id, reason) in overflows {
            self.overflow(now, &call_id, reason);
        }
        if changed {
            self.announce_queue();
            self.outputs.push_back(Output::DashboardChanged);
        }
    }

    /// Ring `agent` for the waiting call.
    pub(super) fn offer(
        &mut self,
        now: Instant,
        call_id: &CallId,
        agent: &AgentId,
        reoffered: bool,
    ) {
        let deadline = now + Duration::from_secs(self.config.ring_timeout_s);
        let call = self.calls.get_mut(call_id).expect("queued call exists");
        call.state = CallState::Ringing {
            agent: agent.clone(),
            deadline,
        };
        call.state_since = now;
        call.returning = None;
        if reoffered {
            call.declined_by.clear();
            call.declined_at = None;
        }
        self.set_wake(call_id, None);
        let call = self.calls.get_mut(call_id).expect("queued call exists");
        let offer = Event::CallOffered {
            call_id: call_id.clone(),
            caller: call.caller.clone(),
            waited_s: secs(now - call.started),
            timeout_s: self.config.ring_timeout_s,
            channel: call.channel,
            handoff: call.handoff.clone().map(Box::new),
            queue: call.queue.clone(),
            callback: call.callback.clone().map(Box::new),
            transfer: call.transfer.clone().map(Box::new),
        };
        self.set_agent_state(now, agent, AgentState::Ringing(call_id.clone()));
        self.outputs
            .push_back(Output::Notify(Recipient::Agent(agent.clone()), offer));
        let msg = self.call_state_msg(call_id);
        self.outputs
            .push_back(Output::Notify(Recipient::Customer(call_id.clone()), msg));
    }

    /// When routing must look at a waiting call again (`None`: only when something changes).
    pub(super) fn set_wake(&mut self, call_id: &CallId, wake: Option<Instant>) {
        let Some(c) = self.calls.get_mut(call_id) else {
            return;
        };
        if let Some(old) = c.wake.take() {
            self.wakes.remove(&(old, call_id.clone()));
        }
        c.wake = wake;
        if let Some(t) = wake {
            self.wakes.insert((t, call_id.clone()));
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

    /// Tell queued customers their position and estimated wait: the first
    /// [`ANNOUNCE_AT_ONCE`] now, the others when positions are next flushed (a long queue
    /// changes at every event; telling thousands each time would cost more than routing).
    pub(super) fn announce_queue(&mut self) {
        let mut now_told: Vec<(CallId, usize)> = vec![];
        let mut more = false;
        for (i, id) in self.waiting().enumerate() {
            if i >= ANNOUNCE_AT_ONCE {
                more = true;
                break;
            }
            now_told.push((id.clone(), i + 1));
        }
        self.positions_stale |= more;
        self.tell_positions(now_told, false);
    }

    /// Tell every customer beyond the first few whose position changed since they were told.
    pub(super) fn flush_positions(&mut self) {
        let rest: Vec<(CallId, usize)> = self
            .waiting()
            .enumerate()
            .skip(ANNOUNCE_AT_ONCE)
            .map(|(i, id)| (id.clone(), i + 1))
            .collect();
        self.tell_positions(rest, true);
        self.positions_stale = false;
        self.positions_due = None;
    }

    /// The bot said `position` to the caller of `call_id` at `now`: later news is measured from
    /// here (voice contacts only; a chat shows the position as it changes).
    pub(super) fn spoke_position(&mut self, now: Instant, call_id: &CallId, position: usize) {
        let (update, remind) = self.spoken_intervals();
        let Some(c) = self.calls.get_mut(call_id) else {
            return;
        };
        if c.channel != Channel::Voice || (update.is_none() && remind.is_none()) {
            return;
        }
        c.spoken_position = Some((position, now));
        let next = now + update.into_iter().chain(remind).min().expect("one is set");
        self.spoken_due = Some(self.spoken_due.map_or(next, |t| t.min(next)));
    }

    fn spoken_intervals(&self) -> (Option<Duration>, Option<Duration>) {
        let secs = |s: u64| (s > 0).then(|| Duration::from_secs(s));
        (
            secs(self.config.bot_position_update_s),
            secs(self.config.bot_position_reminder_s),
        )
    }

    /// The bot tells each waiting voice caller it keeps company that they moved up (at most
    /// every `bot_position_update_s`) or, after `bot_position_reminder_s` without news, where
    /// they still stand.
    pub(super) fn speak_positions(&mut self, now: Instant) {
        self.spoken_due = None;
        let (update, remind) = self.spoken_intervals();
        let (aht, staffed) = self.wait_basis();
        let waiting: Vec<(CallId, usize)> = self
            .waiting()
            .enumerate()
            .map(|(i, id)| (id.clone(), i + 1))
            .collect();
        for (id, position) in waiting {
            let Some(c) = self.calls.get(&id) else {
                continue;
            };
            let Some((said, at)) = c.spoken_position.filter(|_| c.bot) else {
                continue;
            };
            let since = now.saturating_duration_since(at);
            let moved_up = position < said;
            let due = (moved_up && update.is_some_and(|u| since >= u))
                || remind.is_some_and(|r| since >= r);
            if !due {
                // Not yet: look again at the reminder, or sooner, in case they move up.
                let next = update
                    .map(|u| now + u)
                    .into_iter()
                    .chain(remind.map(|r| at + r))
                    .filter(|t| *t > now)
                    .min();
                if let Some(next) = next {
                    self.spoken_due = Some(self.spoken_due.map_or(next, |t| t.min(next)));
                }
                continue;
            }
            let news = if moved_up {
                QueueNews::MovedUp
            } else {
                QueueNews::Unchanged
            };
            self.outputs.push_back(Output::Bot(
                id.clone(),
                BotInput::Queued {
                    position,
                    estimated_wait_s: estimate(aht, position, staffed),
                    news,
                },
            ));
            self.spoke_position(now, &id, position);
        }
    }

    fn tell_positions(&mut self, who: Vec<(CallId, usize)>, only_changed: bool) {
        let (aht, staffed) = self.wait_basis();
        for (id, position) in who {
            let Some(c) = self.calls.get_mut(&id) else {
                continue;
            };
            if only_changed && c.told_position == Some(position) {
                continue;
            }
            c.told_position = Some(position);
            let msg = Event::CallState {
                call_id: id.clone(),
                state: CallStateName::Queued,
                position: Some(position),
                estimated_wait_s: Some(estimate(aht, position, staffed)),
                reason: None,
                overflow: None,
                agent_name: None,
            };
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
        let overflow = match self.calls.get(call_id).map(|c| &c.state) {
            Some(CallState::Overflow { reason }) => Some(*reason),
            _ => None,
        };
        let agent_name = match self.calls.get(call_id).map(|c| &c.state) {
            Some(CallState::Talking {
                agent,
                connected: true,
                ..
            }) => self.agents.get(agent).map(|a| a.name.clone()),
            _ => None,
        };
        Event::CallState {
            call_id: call_id.clone(),
            state,
            position,
            estimated_wait_s,
            reason: None,
            overflow,
            agent_name,
        }
    }

    /// Position times average handle time, shared among the agents who take calls.
    pub(super) fn estimated_wait(&self, position: usize) -> u64 {
        let (aht, staffed) = self.wait_basis();
        estimate(aht, position, staffed)
    }

    /// The average handle time and the number of agents taking calls, for wait estimates.
    fn wait_basis(&self) -> (Duration, usize) {
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
        (aht, staffed)
    }

    pub(super) fn record_handle_time(&mut self, d: Duration) {
        self.handle_times.push_back(d);
        if self.handle_times.len() > 50 {
            self.handle_times.pop_front();
        }
    }

    pub(super) fn set_agent_state(&mut self, now: Instant, agent: &AgentId, state: AgentState) {
        self.set_agent_state_for(now, agent, state, None);
    }

    /// The server sets the agent away, for `reason` (shown to the agent).
    pub(super) fn set_agent_away(&mut self, now: Instant, agent: &AgentId, reason: AwayReason) {
        self.set_agent_state_for(now, agent, AgentState::Away, Some(reason));
    }

    fn set_agent_state_for(
        &mut self,
        now: Instant,
        agent: &AgentId,
        state: AgentState,
        reason: Option<AwayReason>,
    ) {
        if let Some(a) = self.agents.get_mut(agent) {
            if a.state != state || a.away_reason != reason {
                if matches!(a.state, AgentState::WrapUp { .. })
                    && !matches!(state, AgentState::WrapUp { .. })
                {
                    if let Some(call) = a.last_call.take() {
                        self.outputs.push_back(Output::Milestone(
                            call,
                            Milestone::WrappedUp {
                                duration: now.saturating_duration_since(a.since),
                            },
                        ));
                    }
                }
                if a.state != state {
                    a.since = now;
                    if state == AgentState::Available {
                        self.fresh_agents.insert(agent.clone());
                    }
                }
                a.state = state;
                a.away_reason = reason;
                let msg = Event::AgentState {
                    state: a.state.name(),
                    call_id: a.state.call().cloned(),
                    reason,
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

fn estimate(aht: Duration, position: usize, staffed: usize) -> u64 {
    (aht.as_secs_f64() * position as f64 / staffed.max(1) as f64).round() as u64
}
