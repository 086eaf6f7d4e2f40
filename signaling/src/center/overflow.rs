//! When no agent can take a contact: its queue is full, it has waited too long, nobody who
//! could take it is logged in, or the queue is outside its business hours. The customer is
//! told why and may leave a message or ask for a callback; either (or leaving) is a ticket.
//! Escalated and abandoned contacts get a ticket too. The center says what a ticket is about
//! ([`Output::Ticket`]); the shell stores it with what it keeps (the transcript).

use super::*;

/// What a contact's ticket records, as the center knows it.
#[derive(Clone, Debug, PartialEq)]
pub struct TicketFacts {
    pub kind: TicketKind,
    pub caller: CallerInfo,
    pub channel: Channel,
    pub queue: Option<String>,
    /// Why: the overflow reason (`no_agents`, ...) or the escalation reason.
    pub reason: Option<String>,
    /// The bot's handoff card (intent, slots, sentiment, conversation), if it served first.
    pub handoff: Option<HandoffCard>,
    /// Where to call back (callbacks).
    pub contact: Option<String>,
    /// The customer's typed message or callback note. A voice message without one is what
    /// the customer said since the overflow (the shell has the transcript).
    pub message: Option<String>,
    /// Since when the customer's words are the message (voice messages).
    pub overflow_since: Option<Instant>,
}

/// A time a customer chose for their callback: as they will see it (RFC 3339, UTC) and as
/// the center's clock has it.
#[derive(Clone, Debug, PartialEq)]
pub struct CallbackTime {
    pub at: String,
    pub due: Instant,
}

/// A callback as the records keep it, to wait again after a restart.
#[derive(Clone, Debug, PartialEq)]
pub struct SavedCallback {
    /// `<of_call>-cb`.
    pub call: CallId,
    pub caller: CallerInfo,
    pub queue: Option<String>,
    /// Its priority, the callback's bonus included.
    pub priority: i32,
    pub handoff: Option<HandoffCard>,
    pub view: crate::protocol::CallbackView,
    /// When it may be offered (its `view.at`), if that is still ahead.
    pub due: Option<Instant>,
}

/// The longest message or note a customer may leave (characters).
pub const MAX_MESSAGE_CHARS: usize = 4000;
/// The longest callback contact (characters).
pub const MAX_CONTACT_CHARS: usize = 200;

impl CallCenter {
    /// Open or update the contact's ticket.
    pub(super) fn ticket(
        &mut self,
        call_id: &CallId,
        kind: TicketKind,
        reason: Option<String>,
        contact: Option<String>,
        message: Option<String>,
    ) {
        let Some(c) = self.calls.get(call_id) else {
            return;
        };
        let overflow_since = match c.state {
            CallState::Overflow { .. } => Some(c.state_since),
            _ => None,
        };
        let facts = TicketFacts {
            kind,
            caller: c.caller.clone(),
            channel: c.channel,
            queue: c.queue.clone(),
            reason: reason.or_else(|| c.escalation.map(|e| e.as_str().to_string())),
            handoff: c.handoff.clone(),
            contact,
            message,
            overflow_since,
        };
        self.outputs
            .push_back(Output::Ticket(call_id.clone(), Box::new(facts)));
    }

    /// Whether a contact about to wait for an agent may: its queue is open, someone who could
    /// take it is logged in, and the queue is not full. If not, it overflows.
    pub(super) fn admit(&mut self, now: Instant, call_id: &CallId) -> bool {
        let Some(q) = self.calls.get(call_id).and_then(|c| c.queue.clone()) else {
            return true;
        };
        let reason = if self.closed.contains(&q) {
            Some(OverflowReason::Closed)
        } else if let Some(rules) = routing::queue(&self.config.queues, &q) {
            if rules.overflow_when_no_agents && !self.staffed(&q) {
                Some(OverflowReason::NoAgents)
            } else if rules.max_waiting.is_some_and(|m| self.waiting_in(&q) >= m) {
                Some(OverflowReason::QueueFull)
            } else {
                None
            }
        } else {
            None
        };
        match reason {
            Some(r) => {
                self.overflow(now, call_id, r);
                false
            }
            None => true,
        }
    }

    /// Whether any logged-in agent could take a call of `queue`, at any overflow step.
    pub(super) fn staffed(&self, queue: &str) -> bool {
        let ever = routing::wanted(&self.config.queues, queue, Duration::MAX);
        self.agents
            .values()
            .any(|a| a.sessions > 0 && routing::fit(&a.skills, &ever).is_some())
    }

    /// Contacts of `queue` waiting for an agent (ringing ones included).
    pub fn waiting_in(&self, queue: &str) -> usize {
        self.queue
            .iter()
            .filter_map(|id| self.calls.get(id))
            .filter(|c| {
                matches!(c.state, CallState::Queued | CallState::Ringing { .. })
                    && c.queue.as_deref() == Some(queue)
            })
            .count()
    }

    /// No agent can take the contact: out of the queue, the customer told why, a ticket.
    pub(super) fn overflow(&mut self, now: Instant, call_id: &CallId, reason: OverflowReason) {
        let Some(call) = self.calls.get_mut(call_id) else {
            return;
        };
        call.state = CallState::Overflow { reason };
        call.state_since = now;
        let voice = call.channel == Channel::Voice;
        self.set_wake(call_id, None);
        self.unlooked.remove(call_id);
        self.queue.retain(|c| c != call_id);
        self.outputs.push_back(Output::Milestone(
            call_id.clone(),
            Milestone::Overflowed { reason },
        ));
        self.ticket(
            call_id,
            TicketKind::Overflow,
            Some(reason.as_str().into()),
            None,
            None,
        );
        let msg = self.call_state_msg(call_id);
        self.outputs
            .push_back(Output::Notify(Recipient::Customer(call_id.clone()), msg));
        if voice {
            self.outputs.push_back(Output::Announce(
                call_id.clone(),
                Announcement::Overflow(reason),
            ));
        }
        self.announce_queue();
        self.outputs.push_back(Output::DashboardChanged);
    }

    fn overflow_reason(&self, call_id: &CallId, action: &'static str) -> Result<OverflowReason> {
        match self.calls.get(call_id).map(|c| &c.state) {
            Some(CallState::Overflow { reason }) => Ok(*reason),
            _ => Err(self.wrong_call_state(call_id, action)),
        }
    }

    /// The customer of an overflowed contact leaves a message: the ticket, then the end.
    pub(crate) fn leave_message(
        &mut self,
        now: Instant,
        call_id: &CallId,
        text: Option<String>,
    ) -> Result<()> {
        self.check_party(call_id, ParticipantKind::Customer, None)?;
        let reason = self.overflow_reason(call_id, "leave a message")?;
        let text = text.map(|t| t.trim().to_string()).filter(|t| !t.is_empty());
        if text
            .as_ref()
            .is_some_and(|t| t.chars().count() > MAX_MESSAGE_CHARS)
        {
            return Err(SignalError::BadRequest(format!(
                "a message is at most {MAX_MESSAGE_CHARS} characters"
            )));
        }
        if text.is_none() && self.channel_of(call_id) == Some(Channel::Chat) {
            return Err(SignalError::BadRequest(
                "a chat's message needs text".into(),
            ));
        }
        self.ticket(
            call_id,
            TicketKind::Message,
            Some(reason.as_str().into()),
            None,
            text,
        );
        self.end_call(now, call_id, EndReason::MessageLeft)
    }

    /// The customer of an overflowed contact asks to be called back at `contact`.
    pub(crate) fn request_callback(
        &mut self,
        now: Instant,
        call_id: &CallId,
        contact: String,
        note: Option<String>,
        at: Option<CallbackTime>,
    ) -> Result<()> {
        self.check_party(call_id, ParticipantKind::Customer, None)?;
        let reason = self.overflow_reason(call_id, "ask for a callback")?;
        let contact = contact.trim().to_string();
        let reachable = contact.chars().any(|c| c.is_ascii_digit()) || contact.contains('@');
        if contact.chars().count() > MAX_CONTACT_CHARS || contact.len() < 3 || !reachable {
            return Err(SignalError::BadRequest(format!(
                "a callback needs a phone number or e-mail address (3 to {MAX_CONTACT_CHARS} characters)"
            )));
        }
        let note = note.map(|t| t.trim().to_string()).filter(|t| !t.is_empty());
        if note
            .as_ref()
            .is_some_and(|t| t.chars().count() > MAX_MESSAGE_CHARS)
        {
            return Err(SignalError::BadRequest(format!(
                "a note is at most {MAX_MESSAGE_CHARS} characters"
            )));
        }
        self.ticket(
            call_id,
            TicketKind::Callback,
            Some(reason.as_str().into()),
            Some(contact.clone()),
            note.clone(),
        );
        let work = self.calls.get(call_id).map(|c| {
            (
                c.caller.clone(),
                c.queue.clone(),
                c.handoff.clone(),
                c.priority,
            )
        });
        self.end_call(now, call_id, EndReason::CallbackRequested)?;
        if let Some((caller, queue, handoff, priority)) = work {
            let due = at.as_ref().map(|t| t.due).filter(|d| *d > now);
            self.queue_callback(
                now,
                SavedCallback {
                    call: CallId::from(format!("{call_id}-cb").as_str()),
                    caller,
                    queue,
                    priority: priority + self.config.priority.callback,
                    handoff,
                    view: crate::protocol::CallbackView {
                        of_call: call_id.clone(),
                        contact,
                        note,
                        at: at.map(|t| t.at),
                    },
                    due,
                },
            );
        }
        Ok(())
    }

    /// A callback from the records (the server restarted while it waited).
    pub(crate) fn restore_callback(&mut self, now: Instant, saved: SavedCallback) {
        let due = saved.due.filter(|d| *d > now);
        self.queue_callback(now, SavedCallback { due, ..saved });
    }

    /// The callback a customer asked for, as work for an agent: it waits in the contact's
    /// queue (with `[center.priority] callback` more) until an agent who may take it is free,
    /// however long that is, and never overflows. One with a time waits for that time first.
    fn queue_callback(&mut self, now: Instant, cb: SavedCallback) {
        let id = cb.call;
        if self.calls.contains_key(&id) {
            return;
        }
        let start = Start {
            channel: Channel::Callback,
            queue: cb.queue.clone(),
            queue_chosen: true,
            priority: cb.priority,
            ..Default::default()
        };
        let mut call = Self::new_call(now, cb.caller, &start);
        call.handoff = cb.handoff.clone();
        call.callback = Some(cb.view.clone());
        if let Some(due) = cb.due {
            call.state = CallState::Scheduled { due };
        }
        self.calls.insert(id.clone(), call);
        self.outputs.push_back(Output::Milestone(
            id.clone(),
            Milestone::CallbackStarted {
                view: Box::new(cb.view),
                queue: cb.queue,
                priority: cb.priority,
                handoff: cb.handoff.map(Box::new),
            },
        ));
        self.outputs.push_back(Output::Milestone(
            id.clone(),
            Milestone::Started {
                bot: false,
                channel: Channel::Callback,
            },
        ));
        if cb.due.is_none() {
            self.enqueue(now, &id, false);
            self.dispatch(now);
        }
        self.outputs.push_back(Output::DashboardChanged);
    }

    /// Scheduled callbacks whose time has come start waiting for an agent.
    pub(super) fn start_due_callbacks(&mut self, now: Instant) {
        let due: Vec<CallId> = self
            .calls
            .iter()
            .filter(|(_, c)| matches!(c.state, CallState::Scheduled { due } if due <= now))
            .map(|(id, _)| id.clone())
            .collect();
        for id in due {
            if let Some(c) = self.calls.get_mut(&id) {
                c.state = CallState::Queued;
                c.state_since = now;
                c.queued_at = now;
            }
            self.enqueue(now, &id, false);
            self.outputs.push_back(Output::DashboardChanged);
        }
    }

    /// A queue's business hours began or ended. Contacts waiting stay; only arrivals outside
    /// the hours overflow.
    pub(crate) fn set_queue_open(&mut self, queue: &str, open: bool) {
        if open {
            self.closed.remove(queue);
        } else {
            self.closed.insert(queue.to_string());
        }
    }

    /// New queue rules. Calls waiting in a queue that is gone keep waiting under the rules of
    /// a queue not configured (its name as the skill); every waiting call is looked at again.
    pub(crate) fn set_queues(&mut self, now: Instant, queues: Vec<routing::QueueRules>) {
        self.closed
            .retain(|q| queues.iter().any(|r| &r.name == q && r.hours.is_some()));
        self.config.queues = queues;
        self.staffing_changed = true;
        self.outputs.push_back(Output::DashboardChanged);
        self.dispatch(now);
    }
}
