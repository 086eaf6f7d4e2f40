//! Calls: a customer calls, media comes up, parties mute and hang up, the call ends; what the
//! speech pipeline learns of the customer's mood.

use super::*;

impl CallCenter {
    /// A customer started a contact: with the bot first (`bot`), or straight into the queue.
    pub(crate) fn start_call(
        &mut self,
        now: Instant,
        call_id: CallId,
        caller: CallerInfo,
        start: Start,
    ) {
        self.calls
            .insert(call_id.clone(), Self::new_call(now, caller, &start));
        self.outputs.push_back(Output::Milestone(
            call_id.clone(),
            Milestone::Started {
                bot: start.bot,
                channel: start.channel,
            },
        ));
        if start.bot {
            let msg = self.call_state_msg(&call_id);
            self.outputs
                .push_back(Output::Notify(Recipient::Customer(call_id.clone()), msg));
            self.outputs.push_back(Output::Bot(
                call_id,
                BotInput::Start {
                    language: start.language,
                    voice: start.channel == Channel::Voice,
                },
            ));
        } else if !self.admit(now, &call_id) {
            // Overflowed: the customer was told (a voice call learns it with its answer too).
        } else {
            self.enqueue(now, &call_id, false);
            if start.channel == Channel::Chat {
                // A voice call learns its state when its answer is sent; a chat now.
                let msg = self.call_state_msg(&call_id);
                self.outputs
                    .push_back(Output::Notify(Recipient::Customer(call_id), msg));
            }
            self.dispatch(now);
            self.announce_queue();
        }
        self.outputs.push_back(Output::DashboardChanged);
    }

    /// A new contact's record, before it is served.
    pub(super) fn new_call(now: Instant, caller: CallerInfo, start: &Start) -> Call {
        Call {
            caller,
            state: if start.bot {
                CallState::WithBot
            } else {
                CallState::Queued
            },
            started: now,
            state_since: now,
            declined_by: HashSet::new(),
            customer_media: false,
            agent_media: false,
            customer_muted: false,
            agent_muted: false,
            listeners: BTreeMap::new(),
            members: vec![],
            watchers: Default::default(),
            sentiment: None,
            channel: start.channel,
            bot: start.bot,
            escalation: None,
            handoff: None,
            queue: start.queue.clone(),
            queue_chosen: start.queue_chosen,
            callback: None,
            transfer: None,
            priority: start.priority,
            queued_at: now,
            declined_at: None,
            wake: None,
            returning: None,
            was_queued: false,
            looked: false,
            told_position: None,
            spoken_position: None,
            customer_away: false,
            customer_gone: None,
        }
    }

    /// A participant's media connected (ICE + DTLS done). Only the customer's and the agent's
    /// matter to the call's progress.
    pub(crate) fn media_up(
        &mut self,
        now: Instant,
        call_id: &CallId,
        kind: ParticipantKind,
    ) -> Result<()> {
        let call = self.call_mut(call_id)?;
        match kind {
            ParticipantKind::Customer if !call.customer_media => {
                call.customer_media = true;
                let since_start = now - call.started;
                self.outputs.push_back(Output::Milestone(
                    call_id.clone(),
                    Milestone::CustomerMediaUp { since_start },
                ));
            }
            ParticipantKind::Agent => call.agent_media = true,
            _ => {}
        }
        self.maybe_connected(now, call_id);
        Ok(())
    }

    pub(super) fn maybe_connected(&mut self, now: Instant, call_id: &CallId) {
        let Some(call) = self.calls.get_mut(call_id) else {
            return;
        };
        if let CallState::Talking {
            agent,
            accepted_at,
            connected,
        } = &mut call.state
        {
            let media_up =
                call.channel != Channel::Voice || (call.customer_media && call.agent_media);
            if !*connected && media_up {
                *connected = true;
                call.state_since = now;
                let agent = agent.clone();
                let since_accept = now - *accepted_at;
                self.outputs.push_back(Output::Milestone(
                    call_id.clone(),
                    Milestone::TwoWay { since_accept },
                ));
                let msg = self.call_state_msg(call_id);
                self.outputs.push_back(Output::Notify(
                    Recipient::Customer(call_id.clone()),
                    msg.clone(),
                ));
                self.outputs
                    .push_back(Output::Notify(Recipient::Agent(agent), msg));
                self.outputs.push_back(Output::DashboardChanged);
            }
        }
    }

    /// The customer or the agent muted or unmuted. Only a party of the call may do this.
    pub(crate) fn set_muted(
        &mut self,
        call_id: &CallId,
        party: ParticipantKind,
        agent: Option<&AgentId>,
        muted: bool,
    ) -> Result<()> {
        self.check_party(call_id, party, agent)?;
        let call = self.call_mut(call_id)?;
        match party {
            ParticipantKind::Customer => call.customer_muted = muted,
            _ => call.agent_muted = muted,
        }
        let media: Vec<ParticipantId> = call
            .members
            .iter()
            .filter(|(_, m)| match party {
                ParticipantKind::Customer => *m == Member::Customer,
                _ => matches!(m, Member::Agent(_)),
            })
            .map(|(p, _)| p.clone())
            .collect();
        for p in media {
            self.outputs
                .push_back(Output::Mute(call_id.clone(), p, muted));
        }
        let msg = Event::PeerMuted {
            call_id: call_id.clone(),
            party,
            muted,
        };
        match party {
            ParticipantKind::Customer => self.notify_agent_of(call_id, msg),
            _ => self
                .outputs
                .push_back(Output::Notify(Recipient::Customer(call_id.clone()), msg)),
        }
        Ok(())
    }

    /// Tell the agent ringing for or talking on the call, if there is one.
    pub(super) fn notify_agent_of(&mut self, call_id: &CallId, msg: Event) {
        if let Some(a) = self.agent_of(call_id) {
            self.outputs
                .push_back(Output::Notify(Recipient::Agent(a), msg));
        }
    }

    /// The customer or the agent hangs up: the call ends for everyone, with a reason naming who.
    pub(crate) fn hang_up(
        &mut self,
        now: Instant,
        call_id: &CallId,
        party: ParticipantKind,
        agent: Option<&AgentId>,
    ) -> Result<()> {
        self.check_party(call_id, party, agent)?;
        let reason = match party {
            ParticipantKind::Customer => EndReason::CustomerHungUp,
            _ => EndReason::AgentHungUp,
        };
        self.end_call(now, call_id, reason)
    }

    /// Checks that `party` (the customer, or the agent `agent`) belongs to the live call.
    pub fn check_party(
        &self,
        call_id: &CallId,
        party: ParticipantKind,
        agent: Option<&AgentId>,
    ) -> Result<()> {
        let call = self
            .calls
            .get(call_id)
            .ok_or_else(|| SignalError::CallNotFound(call_id.clone()))?;
        if call.state == CallState::Ended {
            return Err(self.wrong_call_state(call_id, "act on it"));
        }
        if !matches!(party, ParticipantKind::Customer | ParticipantKind::Agent) {
            return Err(SignalError::Forbidden(format!(
                "a {} is not a party of the call",
                party.as_str()
            )));
        }
        if party == ParticipantKind::Agent {
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
    pub(crate) fn end_call(
        &mut self,
        now: Instant,
        call_id: &CallId,
        reason: EndReason,
    ) -> Result<()> {
        let call = self.call_mut(call_id)?;
        if call.state == CallState::Ended {
            return Err(self.wrong_call_state(call_id, "hang up"));
        }
        // The customer gave up waiting for an agent: abandoned.
        let abandoned = matches!(call.state, CallState::Queued | CallState::Ringing { .. })
            && call.was_queued
            && matches!(
                reason,
                EndReason::CustomerHungUp
                    | EndReason::CustomerDisconnected
                    | EndReason::MediaFailed
            );
        if abandoned {
            self.ticket(call_id, TicketKind::Abandoned, None, None, None);
        }
        let call = self.call_mut(call_id)?;
        let prev = std::mem::replace(&mut call.state, CallState::Ended);
        call.state_since = now;
        let bot_leaves = std::mem::take(&mut call.bot);
        let duration = now - call.started;
        let listeners: Vec<_> = call.listeners.keys().cloned().collect();
        call.listeners.clear();
        if bot_leaves {
            self.outputs
                .push_back(Output::Bot(call_id.clone(), BotInput::Stop));
        }
        self.queue.retain(|c| c != call_id);
        let msg = Event::CallState {
            call_id: call_id.clone(),
            state: CallStateName::Ended,
            position: None,
            estimated_wait_s: None,
            reason: Some(reason),
            overflow: None,
            agent_name: None,
        };
        self.outputs.push_back(Output::Notify(
            Recipient::Customer(call_id.clone()),
            msg.clone(),
        ));
        match prev {
            CallState::Ringing { agent, .. } => {
                self.outputs.push_back(Output::Notify(
                    Recipient::Agent(agent.clone()),
                    Event::OfferWithdrawn {
                        call_id: call_id.clone(),
                        reason: WithdrawReason::CallEnded,
                    },
                ));
                self.set_agent_state(now, &agent, AgentState::Available);
            }
            CallState::Talking {
                agent, accepted_at, ..
            } => {
                self.outputs
                    .push_back(Output::Notify(Recipient::Agent(agent.clone()), msg));
                self.record_handle_time(now - accepted_at);
                if let Some(a) = self.agents.get_mut(&agent) {
                    a.last_call = Some(call_id.clone());
                }
                let until = (self.config.wrap_up_s > 0)
                    .then(|| now + Duration::from_secs(self.config.wrap_up_s));
                self.set_agent_state(now, &agent, AgentState::WrapUp { until });
            }
            _ => {}
        }
        for sup in listeners {
            self.outputs.push_back(Output::Notify(
                Recipient::Supervisor(sup.clone()),
                Event::ListenStopped {
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
        self.set_wake(call_id, None);
        self.unlooked.remove(call_id);
        self.calls.remove(call_id);
        Ok(())
    }

    /// A participant's media joined the call's room: the call is re-routed.
    pub(crate) fn media_joined(
        &mut self,
        call_id: &CallId,
        participant: ParticipantId,
        member: Member,
    ) -> Result<()> {
        let call = self.call_mut(call_id)?;
        if call.members.iter().any(|(p, _)| *p == participant) {
            return Ok(());
        }
        call.members.push((participant, member));
        self.push_route(call_id);
        Ok(())
    }

    /// A participant's media left the call's room (the call goes on): the call is re-routed.
    pub(crate) fn media_left(&mut self, call_id: &CallId, participant: &ParticipantId) {
        let Some(call) = self.calls.get_mut(call_id) else {
            return;
        };
        let before = call.members.len();
        call.members.retain(|(p, _)| p != participant);
        if call.members.len() != before {
            self.push_route(call_id);
        }
    }

    /// Who hears whom in a call now.
    pub fn plan(&self, call_id: &CallId) -> Plan {
        let Some(call) = self.calls.get(call_id) else {
            return Plan::default();
        };
        let members: Vec<(ParticipantId, ParticipantKind)> = call
            .members
            .iter()
            .map(|(p, m)| {
                let kind = match m {
                    Member::Supervisor(s) => ParticipantKind::Supervisor(
                        call.listeners.get(s).copied().unwrap_or_default(),
                    ),
                    m => m.kind(),
                };
                (p.clone(), kind)
            })
            .collect();
        audience::plan(&members)
    }

    pub(super) fn push_route(&mut self, call_id: &CallId) {
        let plan = self.plan(call_id);
        self.outputs.push_back(Output::Route(call_id.clone(), plan));
    }

    /// The customer's mood changed: update the dashboard, and alert every supervisor when the
    /// customer has just been negative `alert_after` utterances in a row.
    pub(crate) fn customer_sentiment(
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
            let msg = Event::SentimentAlert {
                call_id: call_id.clone(),
                agent,
                negative_utterances: run,
                trend,
                last_text,
            };
            for sup in self.supervisors.keys() {
                self.outputs.push_back(Output::Notify(
                    Recipient::Supervisor(sup.clone()),
                    msg.clone(),
                ));
            }
        }
        Ok(())
    }

    /// A participant's media was lost. The media-failure policy: a customer whose media fails
    /// or goes away ends the call (`media_failed` when ICE gave up, else
    /// `customer_disconnected`), unless their page may be coming back (see [`super::rejoin`]); an agent's puts the call back at the head of its queue
    /// ([`CallCenter::agent_lost`]); a supervisor stops listening; a bot's voice just leaves. Unknown participants (already gone) are ignored.
    pub(crate) fn media_lost(
        &mut self,
        now: Instant,
        call_id: &CallId,
        participant: &ParticipantId,
        loss: MediaLoss,
    ) -> Result<()> {
        let member = self
            .calls
            .get(call_id)
            .and_then(|c| c.members.iter().find(|(p, _)| p == participant))
            .map(|(_, m)| m.clone());
        let Some(member) = member else {
            return Ok(());
        };
        match member {
            Member::Customer => {
                if self.customer_media_gone(now, call_id, participant, loss) {
                    return Ok(());
                }
                let reason = match loss {
                    MediaLoss::Failed => EndReason::MediaFailed,
                    _ => EndReason::CustomerDisconnected,
                };
                self.end_call(now, call_id, reason)
            }
            Member::Agent(agent) => {
                if self.agent_of(call_id).as_ref() == Some(&agent) {
                    self.agent_lost(now, call_id, &agent);
                } else {
                    self.media_left(call_id, participant);
                }
                Ok(())
            }
            Member::Supervisor(sup) => self.stop_listening(call_id, &sup),
            Member::Bot => {
                self.media_left(call_id, participant);
                Ok(())
            }
        }
    }

    /// Who may read a call's transcript live: the agent talking on it and the supervisors
    /// watching it.
    pub fn transcript_readers(&self, call_id: &CallId) -> Vec<Recipient> {
        let Some(call) = self.calls.get(call_id) else {
            return vec![];
        };
        let agent = match &call.state {
            CallState::Talking { agent, .. } => Some(Recipient::Agent(agent.clone())),
            _ => None,
        };
        agent
            .into_iter()
            .chain(call.watchers.iter().cloned().map(Recipient::Supervisor))
            .collect()
    }
}
