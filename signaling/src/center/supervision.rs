//! Supervisors: listen to calls, whisper to the agent, barge in.

use super::*;

impl CallCenter {
    pub(crate) fn supervisor_login(&mut self, sup: SupervisorId) {
        *self.supervisors.entry(sup).or_default() += 1;
    }

    pub(crate) fn supervisor_logout(&mut self, sup: &SupervisorId) {
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
                for call in self.calls.values_mut() {
                    call.watchers.remove(sup);
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

    pub(crate) fn start_listening(&mut self, call_id: &CallId, sup: &SupervisorId) -> Result<()> {
        self.check_listen(call_id, sup)?;
        self.call_mut(call_id)?
            .listeners
            .insert(sup.clone(), SupervisorMode::Listen);
        self.outputs.push_back(Output::DashboardChanged);
        Ok(())
    }

    pub(crate) fn stop_listening(&mut self, call_id: &CallId, sup: &SupervisorId) -> Result<()> {
        let talking = self.talking_agent(call_id);
        let call = self.call_mut(call_id)?;
        let Some(mode) = call.listeners.remove(sup) else {
            return Err(SignalError::CallWrongState {
                call: call_id.clone(),
                state: "not listened to by you",
                action: "stop listening",
            });
        };
        let member = Member::Supervisor(sup.clone());
        let media: Vec<ParticipantId> = call
            .members
            .iter()
            .filter(|(_, m)| *m == member)
            .map(|(p, _)| p.clone())
            .collect();
        call.members.retain(|(_, m)| *m != member);
        if let (SupervisorMode::Whisper | SupervisorMode::Barge, Some(agent)) = (mode, talking) {
            self.outputs.push_back(Output::Notify(
                Recipient::Agent(agent),
                Event::Supervision {
                    call_id: call_id.clone(),
                    supervisor_id: sup.clone(),
                    mode: SupervisorMode::Listen,
                },
            ));
        }
        for p in media {
            self.outputs.push_back(Output::Leave(call_id.clone(), p));
        }
        self.push_route(call_id);
        self.outputs.push_back(Output::Notify(
            Recipient::Supervisor(sup.clone()),
            Event::ListenStopped {
                call_id: call_id.clone(),
            },
        ));
        self.outputs.push_back(Output::DashboardChanged);
        Ok(())
    }

    /// A supervisor listening to a call changes how they take part. Whisper and barge need an
    /// agent talking on the call. The agent and the supervisor are told; the call is re-routed.
    pub(crate) fn set_supervisor_mode(
        &mut self,
        call_id: &CallId,
        sup: &SupervisorId,
        mode: SupervisorMode,
    ) -> Result<()> {
        let talking = self.talking_agent(call_id);
        let call = self.call_mut(call_id)?;
        let Some(current) = call.listeners.get(sup).copied() else {
            return Err(SignalError::CallWrongState {
                call: call_id.clone(),
                state: "not listened to by you",
                action: "supervise",
            });
        };
        if mode != SupervisorMode::Listen && talking.is_none() {
            return Err(SignalError::CallWrongState {
                call: call_id.clone(),
                state: "without an agent yet",
                action: "whisper or barge in",
            });
        }
        if current == mode {
            return Ok(());
        }
        call.listeners.insert(sup.clone(), mode);
        let msg = Event::Supervision {
            call_id: call_id.clone(),
            supervisor_id: sup.clone(),
            mode,
        };
        if let Some(agent) = talking {
            self.outputs
                .push_back(Output::Notify(Recipient::Agent(agent), msg.clone()));
        }
        self.outputs
            .push_back(Output::Notify(Recipient::Supervisor(sup.clone()), msg));
        self.push_route(call_id);
        self.outputs.push_back(Output::DashboardChanged);
        Ok(())
    }

    /// How a supervisor takes part in a call, if they supervise it.
    pub fn supervisor_mode(&self, call_id: &CallId, sup: &SupervisorId) -> Option<SupervisorMode> {
        self.calls.get(call_id)?.listeners.get(sup).copied()
    }

    pub fn supervisors(&self) -> impl Iterator<Item = &SupervisorId> {
        self.supervisors.keys()
    }

    /// A supervisor starts reading a live call's transcript.
    pub(crate) fn watch_transcript(&mut self, call_id: &CallId, sup: &SupervisorId) -> Result<()> {
        self.call_mut(call_id)?.watchers.insert(sup.clone());
        Ok(())
    }

    pub(crate) fn unwatch_transcript(&mut self, call_id: &CallId, sup: &SupervisorId) {
        if let Some(c) = self.calls.get_mut(call_id) {
            c.watchers.remove(sup);
        }
    }
}
