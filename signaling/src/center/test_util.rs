//! What the center's virtual-time tests share.

use super::*;

/// Every output the center has for the shell now.
pub fn drain(c: &mut CallCenter) -> Vec<Output> {
    std::iter::from_fn(|| c.poll_output()).collect()
}

/// The offers among `outs`: (agent, call).
pub fn offers(outs: &[Output]) -> Vec<(String, String)> {
    outs.iter()
        .filter_map(|o| match o {
            Output::Notify(Recipient::Agent(a), Event::CallOffered { call_id, .. }) => {
                Some((a.0.clone(), call_id.as_str().to_string()))
            }
            _ => None,
        })
        .collect()
}

/// Agent `a` (just logged in and available) talks with the customer of c1: customer media
/// "pc", agent media "pa", both up.
pub fn talking(c: &mut CallCenter, now: Instant) -> (CallId, AgentId) {
    let a = AgentId::from("a");
    c.agent_login(now, a.clone(), "A".into(), Default::default());
    c.set_availability(now, &a, true).unwrap();
    let call: CallId = "c1".into();
    c.start_call(now, call.clone(), CallerInfo::default(), Start::default());
    c.media_joined(&call, "pc".into(), Member::Customer)
        .unwrap();
    c.accept(now, &a, &call).unwrap();
    c.media_joined(&call, "pa".into(), Member::Agent(a.clone()))
        .unwrap();
    c.media_up(now, &call, ParticipantKind::Customer).unwrap();
    c.media_up(now, &call, ParticipantKind::Agent).unwrap();
    drain(c);
    (call, a)
}

/// A new text chat `id` (no bot, any queue).
pub fn start_chat(c: &mut CallCenter, now: Instant, id: &str) -> CallId {
    let call: CallId = id.into();
    let start = Start {
        channel: Channel::Chat,
        ..Start::default()
    };
    c.start_call(now, call.clone(), CallerInfo::default(), start);
    call
}
