//! Transfers: the agent on a contact hands it to a queue (a blind transfer). The agent leaves
//! the contact and wraps up as after any contact; the contact waits in the new queue with
//! everything it carries (caller, handoff card; the transcript is in the database), ahead of
//! the others by `[center.priority] transferred`, and the next agent is told who sent it and
//! why. The customer stays connected to the server the whole time.

use super::*;

impl CallCenter {
    pub(crate) fn transfer(
        &mut self,
        now: Instant,
        call_id: &CallId,
        agent: &AgentId,
        queue: String,
        note: Option<String>,
    ) -> Result<()> {
        self.check_party(call_id, ParticipantKind::Agent, Some(agent))?;
        let queue = queue.trim().to_string();
        if routing::queue(&self.config.queues, &queue).is_none() {
            let known: Vec<&str> = self.config.queues.iter().map(|q| q.name.as_str()).collect();
            return Err(SignalError::BadRequest(format!(
                "no queue named {queue:?} (queues: {})",
                known.join(", ")
            )));
        }
        let note = note.map(|t| t.trim().to_string()).filter(|t| !t.is_empty());
        if note
            .as_ref()
            .is_some_and(|t| t.chars().count() > overflow::MAX_MESSAGE_CHARS)
        {
            return Err(SignalError::BadRequest(format!(
                "a note is at most {} characters",
                overflow::MAX_MESSAGE_CHARS
            )));
        }
        let accepted_at = match self.calls.get(call_id).map(|c| &c.state) {
            Some(CallState::Talking { accepted_at, .. }) => *accepted_at,
            _ => return Err(self.wrong_call_state(call_id, "transfer it")),
        };
        let bonus = self.config.priority.transferred;
        let call = self.call_mut(call_id)?;
        let from_queue = call.queue.replace(queue.clone());
        call.queue_chosen = true;
        call.state = CallState::Queued;
        call.state_since = now;
        // Its overflow steps and longest wait start again in the new queue.
        call.queued_at = now;
        call.agent_media = false;
        call.agent_muted = false;
        call.priority += bonus;
        call.returning = None;
        // Not straight back to the agent who sent it (unless nobody else takes it and it is
        // offered again after `reoffer_after_s`).
        call.declined_by.clear();
        call.declined_by.insert(agent.clone());
        call.declined_at = Some(now);
        call.transfer = Some(crate::protocol::TransferView {
            from_agent: agent.clone(),
            from_queue: from_queue.clone(),
            note: note.clone(),
        });
        let voice = call.channel == Channel::Voice;
        self.drop_agent_media(call_id, agent);
        self.outputs.push_back(Output::Milestone(
            call_id.clone(),
            Milestone::Transferred {
                agent: agent.clone(),
                from_queue,
                queue: queue.clone(),
                note,
            },
        ));
        let told = Event::Transferred {
            call_id: call_id.clone(),
            queue,
            by: agent.clone(),
        };
        self.outputs.push_back(Output::Notify(
            Recipient::Customer(call_id.clone()),
            told.clone(),
        ));
        self.outputs
            .push_back(Output::Notify(Recipient::Agent(agent.clone()), told));
        if voice {
            self.outputs
                .push_back(Output::Announce(call_id.clone(), Announcement::Transferred));
        }
        // The agent is done with it: handle time and wrap-up as after a hang-up.
        self.record_handle_time(now - accepted_at);
        if let Some(a) = self.agents.get_mut(agent) {
            a.last_call = Some(call_id.clone());
        }
        let until =
            (self.config.wrap_up_s > 0).then(|| now + Duration::from_secs(self.config.wrap_up_s));
        self.set_agent_state(now, agent, AgentState::WrapUp { until });
        self.enqueue(now, call_id, true);
        self.outputs.push_back(Output::DashboardChanged);
        self.dispatch(now);
        self.announce_queue();
        Ok(())
    }
}
