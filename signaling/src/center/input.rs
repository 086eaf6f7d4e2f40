//! Everything that can happen to the call center, as one enum: what clients ask for, what media
//! and speech report, and the passing of time. [`CallCenter::handle`] applies one input at the
//! instant it is given; a refused input changes nothing and says why.

use super::*;

#[derive(Clone, Debug, PartialEq)]
pub enum Input {
    // ---- calls
    /// A customer called or started a chat: the bot serves it first, or it joins the queue.
    StartCall {
        call: CallId,
        caller: CallerInfo,
        start: Start,
    },
    /// The customer or the agent on the contact wrote a chat line at `at_ms` (Unix ms).
    Chat {
        call: CallId,
        party: ParticipantKind,
        agent: Option<AgentId>,
        text: String,
        at_ms: u64,
    },
    /// A final transcript of the customer of a voice contact.
    CustomerSaid {
        call: CallId,
        text: String,
        valence: Option<f32>,
    },
    /// The customer asks the bot for a person.
    RequestAgent {
        call: CallId,
    },
    /// The customer says the bot's last answer was not what they asked.
    RejectAnswer {
        call: CallId,
    },
    /// The customer of an overflowed contact leaves a message.
    LeaveMessage {
        call: CallId,
        text: Option<String>,
    },
    /// The customer of an overflowed contact asks to be called back.
    RequestCallback {
        call: CallId,
        contact: String,
        note: Option<String>,
        /// A later time the customer chose (the shell checked it against the queue's hours).
        at: Option<CallbackTime>,
    },
    /// A callback that waited when the server stopped, from the records: it waits again.
    RestoreCallback(Box<SavedCallback>),
    /// The agent on a contact hands it to another queue.
    Transfer {
        call: CallId,
        agent: AgentId,
        queue: String,
        note: Option<String>,
    },
    /// A queue's business hours began (`open`) or ended.
    QueueHours {
        queue: String,
        open: bool,
    },
    /// The bot's answer to a turn.
    BotSaid {
        call: CallId,
        turn: Box<BotTurn>,
        at_ms: u64,
    },
    /// The customer or the agent (`agent`) hung up.
    HangUp {
        call: CallId,
        party: ParticipantKind,
        agent: Option<AgentId>,
    },
    /// The customer or the agent muted or unmuted.
    Mute {
        call: CallId,
        party: ParticipantKind,
        agent: Option<AgentId>,
        muted: bool,
    },
    /// The call ends for a reason of the shell's (the customer's session closed, shutdown).
    EndCall {
        call: CallId,
        reason: EndReason,
    },
    /// The customer's mood after a final utterance.
    Sentiment {
        call: CallId,
        view: SentimentView,
        alert_after: u32,
        last_text: String,
    },
    // ---- media
    MediaJoined {
        call: CallId,
        participant: ParticipantId,
        member: Member,
    },
    MediaLeft {
        call: CallId,
        participant: ParticipantId,
    },
    MediaUp {
        call: CallId,
        kind: ParticipantKind,
    },
    MediaLost {
        call: CallId,
        participant: ParticipantId,
        loss: MediaLoss,
    },
    /// The customer's session lost its connection (it is kept for a resume), or got it back.
    CustomerAway {
        call: CallId,
        away: bool,
    },
    /// The customer's page came back to the contact (`rejoin`): with the new peer connection
    /// already in the room (voice), or without media (chat).
    CustomerRejoined {
        call: CallId,
        participant: Option<ParticipantId>,
    },
    // ---- agents
    AgentLogin {
        agent: AgentId,
        name: String,
        skills: routing::Skills,
    },
    AgentLogout {
        agent: AgentId,
    },
    /// An administrator changed an agent's skills (applies at once if they are logged in).
    AgentSkills {
        agent: AgentId,
        skills: routing::Skills,
    },
    /// An administrator changed the queues and their rules: they replace the configured ones.
    SetQueues {
        queues: Vec<routing::QueueRules>,
    },
    SetAvailability {
        agent: AgentId,
        available: bool,
    },
    Accept {
        agent: AgentId,
        call: CallId,
    },
    Decline {
        agent: AgentId,
        call: CallId,
    },
    // ---- supervisors
    SupervisorLogin {
        sup: SupervisorId,
    },
    SupervisorLogout {
        sup: SupervisorId,
    },
    Listen {
        sup: SupervisorId,
        call: CallId,
    },
    StopListening {
        sup: SupervisorId,
        call: CallId,
    },
    Supervise {
        sup: SupervisorId,
        call: CallId,
        mode: SupervisorMode,
    },
    WatchTranscript {
        sup: SupervisorId,
        call: CallId,
    },
    UnwatchTranscript {
        sup: SupervisorId,
        call: CallId,
    },
    // ---- time
    /// Ring timeouts and wrap-up ends due at `now`.
    Timeout,
}

impl CallCenter {
    /// Apply one input at `now`. Outputs go to [`CallCenter::poll_output`].
    pub fn handle(&mut self, now: Instant, input: Input) -> Result<()> {
        let r = self.handle_one(now, input);
        // Positions beyond the first few are told on a timer (`queue_update_s`).
        if self.positions_stale && self.positions_due.is_none() {
            self.positions_due = Some(now + Duration::from_secs(self.config.queue_update_s));
        }
        r
    }

    fn handle_one(&mut self, now: Instant, input: Input) -> Result<()> {
        match input {
            Input::StartCall {
                call,
                caller,
                start,
            } => {
                self.start_call(now, call, caller, start);
                Ok(())
            }
            Input::Chat {
                call,
                party,
                agent,
                text,
                at_ms,
            } => self.chat(&call, party, agent.as_ref(), text, at_ms),
            Input::CustomerSaid {
                call,
                text,
                valence,
            } => {
                self.customer_said(&call, text, valence);
                Ok(())
            }
            Input::RequestAgent { call } => self.tell_bot(&call, BotInput::RequestAgent),
            Input::RejectAnswer { call } => self.tell_bot(&call, BotInput::RejectAnswer),
            Input::LeaveMessage { call, text } => self.leave_message(now, &call, text),
            Input::RequestCallback {
                call,
                contact,
                note,
                at,
            } => self.request_callback(now, &call, contact, note, at),
            Input::Transfer {
                call,
                agent,
                queue,
                note,
            } => self.transfer(now, &call, &agent, queue, note),
            Input::RestoreCallback(saved) => {
                self.restore_callback(now, *saved);
                Ok(())
            }
            Input::QueueHours { queue, open } => {
                self.set_queue_open(&queue, open);
                Ok(())
            }
            Input::BotSaid { call, turn, at_ms } => {
                self.bot_said(now, &call, *turn, at_ms);
                Ok(())
            }
            Input::HangUp { call, party, agent } => self.hang_up(now, &call, party, agent.as_ref()),
            Input::Mute {
                call,
                party,
                agent,
                muted,
            } => self.set_muted(&call, party, agent.as_ref(), muted),
            Input::EndCall { call, reason } => self.end_call(now, &call, reason),
            Input::Sentiment {
                call,
                view,
                alert_after,
                last_text,
            } => self.customer_sentiment(&call, view, alert_after, last_text),
            Input::MediaJoined {
                call,
                participant,
                member,
            } => self.media_joined(&call, participant, member),
            Input::MediaLeft { call, participant } => {
                self.media_left(&call, &participant);
                Ok(())
            }
            Input::MediaUp { call, kind } => self.media_up(now, &call, kind),
            Input::MediaLost {
                call,
                participant,
                loss,
            } => self.media_lost(now, &call, &participant, loss),
            Input::CustomerAway { call, away } => {
                self.customer_away(now, &call, away);
                Ok(())
            }
            Input::CustomerRejoined { call, participant } => {
                self.customer_rejoined(&call, participant)
            }
            Input::AgentLogin {
                agent,
                name,
                skills,
            } => {
                self.agent_login(now, agent, name, skills);
                Ok(())
            }
            Input::AgentLogout { agent } => {
                self.agent_logout(now, &agent);
                Ok(())
            }
            Input::AgentSkills { agent, skills } => {
                self.set_agent_skills(now, &agent, skills);
                Ok(())
            }
            Input::SetQueues { queues } => {
                self.set_queues(now, queues);
                Ok(())
            }
            Input::SetAvailability { agent, available } => {
                self.set_availability(now, &agent, available)
            }
            Input::Accept { agent, call } => self.accept(now, &agent, &call),
            Input::Decline { agent, call } => self.decline(now, &agent, &call),
            Input::SupervisorLogin { sup } => {
                self.supervisor_login(sup);
                Ok(())
            }
            Input::SupervisorLogout { sup } => {
                self.supervisor_logout(&sup);
                Ok(())
            }
            Input::Listen { sup, call } => self.start_listening(&call, &sup),
            Input::StopListening { sup, call } => self.stop_listening(&call, &sup),
            Input::Supervise { sup, call, mode } => self.set_supervisor_mode(&call, &sup, mode),
            Input::WatchTranscript { sup, call } => self.watch_transcript(&call, &sup),
            Input::UnwatchTranscript { sup, call } => {
                self.unwatch_transcript(&call, &sup);
                Ok(())
            }
            Input::Timeout => {
                self.handle_timeout(now);
                Ok(())
            }
        }
    }
}
