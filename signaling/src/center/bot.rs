//! Chat and the bot: text lines between the customer, the bot and the agent, and the bot's
//! hand-over into the queue. The bot itself (what it answers, when it escalates) lives outside
//! the center; the center decides who hears each line and what the hand-over changes.

use super::*;

/// How a contact starts.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Start {
    pub channel: Channel,
    /// The bot serves the contact first.
    pub bot: bool,
    /// The language the customer asked for, if any.
    pub language: Option<String>,
    /// The queue the contact waits in for an agent (`None`: any agent).
    pub queue: Option<String>,
    /// The customer chose `queue` (else it is the entry point's): a hand-over by the bot to
    /// another queue (`BotTurn::queue`) does not change it.
    pub queue_chosen: bool,
    /// Its priority (a VIP's), before escalation and waiting add theirs.
    pub priority: i32,
}

/// What the bot decided on one turn.
#[derive(Clone, Debug, PartialEq)]
pub struct BotTurn {
    pub text: String,
    /// The knowledge-base entry answered.
    pub entry_id: Option<String>,
    /// Set on the turn the bot hands the contact over.
    pub escalate: Option<(EscalationReason, HandoffCard)>,
    /// On a hand-over: the queue of what the customer last asked about (its intent), used
    /// unless the customer chose a queue.
    pub queue: Option<String>,
}

impl CallCenter {
    /// Everyone who sees a contact's chat: the customer, the agent on it, watching supervisors.
    /// The agent whose phone rings sees the conversation go on too.
    fn chat_audience(&self, call_id: &CallId) -> Vec<Recipient> {
        let mut to = vec![Recipient::Customer(call_id.clone())];
        if let Some(CallState::Ringing { agent, .. }) = self.calls.get(call_id).map(|c| &c.state) {
            to.push(Recipient::Agent(agent.clone()));
        }
        to.extend(self.transcript_readers(call_id));
        to
    }

    fn tell_chat(
        &mut self,
        call_id: &CallId,
        from: ChatFrom,
        text: String,
        at_ms: u64,
        entry_id: Option<String>,
    ) {
        // The handoff card's conversation stays whole until an agent takes the contact.
        if let Some(card) = self.calls.get_mut(call_id).and_then(|c| c.handoff.as_mut()) {
            card.conversation.push(crate::protocol::ChatLine {
                from,
                text: text.clone(),
                at_ms,
            });
        }
        for r in self.chat_audience(call_id) {
            self.outputs.push_back(Output::Notify(
                r,
                Event::Chat {
                    call_id: call_id.clone(),
                    from,
                    text: text.clone(),
                    at_ms,
                    entry_id: entry_id.clone(),
                },
            ));
        }
    }

    /// The customer or the agent on the contact wrote a line.
    pub(crate) fn chat(
        &mut self,
        call_id: &CallId,
        party: ParticipantKind,
        agent: Option<&AgentId>,
        text: String,
        at_ms: u64,
    ) -> Result<()> {
        let text = text.trim().to_string();
        if text.is_empty() {
            return Err(SignalError::BadRequest("a chat message needs text".into()));
        }
        if text.chars().count() > crate::protocol::MAX_CHAT_CHARS {
            return Err(SignalError::BadRequest(format!(
                "a chat message has at most {} characters",
                crate::protocol::MAX_CHAT_CHARS
            )));
        }
        self.check_party(call_id, party, agent)?;
        if self.channel_of(call_id) == Some(Channel::Callback) {
            return Err(SignalError::BadRequest(
                "a callback has no chat: call the customer back, then hang up".into(),
            ));
        }
        let from = if party == ParticipantKind::Customer {
            ChatFrom::Customer
        } else {
            ChatFrom::Agent
        };
        self.tell_chat(call_id, from, text.clone(), at_ms, None);
        if from == ChatFrom::Customer && self.calls.get(call_id).is_some_and(|c| c.bot) {
            self.outputs.push_back(Output::Bot(
                call_id.clone(),
                BotInput::Text {
                    text,
                    valence: None,
                },
            ));
        }
        Ok(())
    }

    /// The customer of a voice contact said something (a final transcript): the bot hears it
    /// while it serves the contact.
    pub(crate) fn customer_said(&mut self, call_id: &CallId, text: String, valence: Option<f32>) {
        if self.calls.get(call_id).is_some_and(|c| c.bot) && !text.trim().is_empty() {
            self.outputs.push_back(Output::Bot(
                call_id.clone(),
                BotInput::Text { text, valence },
            ));
        }
    }

    /// The customer pressed "talk to a person" or rejected an answer: the bot is told, if it
    /// serves the contact.
    pub(crate) fn tell_bot(&mut self, call_id: &CallId, input: BotInput) -> Result<()> {
        self.check_party(call_id, ParticipantKind::Customer, None)?;
        let call = self.call_mut(call_id)?;
        if !call.bot {
            return Err(self.wrong_call_state(call_id, "ask the bot"));
        }
        self.outputs.push_back(Output::Bot(call_id.clone(), input));
        Ok(())
    }

    /// The bot answered; on a hand-over the contact joins the queue with its card, and the bot
    /// keeps answering while the customer waits.
    pub(crate) fn bot_said(&mut self, now: Instant, call_id: &CallId, turn: BotTurn, at_ms: u64) {
        let Some(call) = self.calls.get(call_id) else {
            return;
        };
        if !call.bot || call.state == CallState::Ended {
            // The agent took over (or the call ended) while the bot was thinking.
            return;
        }
        if call.channel == Channel::Voice && !turn.text.is_empty() {
            self.outputs
                .push_back(Output::Speak(call_id.clone(), turn.text.clone()));
        }
        self.tell_chat(call_id, ChatFrom::Bot, turn.text, at_ms, turn.entry_id);
        let Some((reason, card)) = turn.escalate else {
            return;
        };
        let call = self.calls.get_mut(call_id).expect("checked above");
        if call.state != CallState::WithBot {
            return;
        }
        call.escalation = Some(reason);
        call.handoff = Some(card);
        if let Some(q) = turn.queue.filter(|_| !call.queue_chosen) {
            call.queue = Some(q);
        }
        call.state = CallState::Queued;
        call.state_since = now;
        call.queued_at = now;
        let rules = &self.config.priority;
        call.priority += match reason {
            EscalationReason::NegativeEmotion => rules.angry,
            _ => rules.escalated,
        };
        self.ticket(call_id, TicketKind::Escalated, None, None, None);
        if !self.admit(now, call_id) {
            return;
        }
        self.enqueue(now, call_id, false);
        self.dispatch(now);
        self.announce_queue();
        self.outputs.push_back(Output::DashboardChanged);
        // Still waiting (no agent took it at once): the bot says where they stand.
        if let Event::CallState {
            position: Some(position),
            estimated_wait_s: Some(estimated_wait_s),
            ..
        } = self.call_state_msg(call_id)
        {
            self.outputs.push_back(Output::Bot(
                call_id.clone(),
                BotInput::Queued {
                    position,
                    estimated_wait_s,
                    news: QueueNews::Joined,
                },
            ));
            self.spoke_position(now, call_id, position);
        }
    }
}
