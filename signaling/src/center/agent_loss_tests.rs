//! Agent loss in virtual time: an agent who drops mid-call puts the call back at the head of
//! its queue (the customer is told, the agent's media leaves, another agent gets it), the agent
//! is away for the lost connection and, back within the grace, is offered the call first; a
//! missed call sets the agent away for that reason.

use super::test_util::{drain, offers};
use super::*;

fn login(c: &mut CallCenter, now: Instant, name: &str) -> AgentId {
    let a = AgentId::from(name);
    c.agent_login(now, a.clone(), name.into(), Default::default());
    a
}

fn available(c: &mut CallCenter, now: Instant, name: &str) -> AgentId {
    let a = login(c, now, name);
    c.set_availability(now, &a, true).unwrap();
    a
}

fn away_reason(outs: &[Output], agent: &str) -> Option<Option<AwayReason>> {
    outs.iter().rev().find_map(|o| match o {
        Output::Notify(
            Recipient::Agent(a),
            Event::AgentState {
                state: AgentStateName::Away,
                reason,
                ..
            },
        ) if a.0 == agent => Some(*reason),
        _ => None,
    })
}

/// `a` talks on c1 with media in the room; c2 and c3 wait behind it.
fn busy_floor(c: &mut CallCenter, now: Instant) -> AgentId {
    let a = available(c, now, "a");
    c.start_call(now, "c1".into(), CallerInfo::default(), Start::default());
    c.media_joined(&"c1".into(), "pc".into(), Member::Customer)
        .unwrap();
    c.accept(now, &a, &"c1".into()).unwrap();
    c.media_joined(&"c1".into(), "pa".into(), Member::Agent(a.clone()))
        .unwrap();
    c.media_up(now, &"c1".into(), ParticipantKind::Customer)
        .unwrap();
    c.media_up(now, &"c1".into(), ParticipantKind::Agent)
        .unwrap();
    let later = now + Duration::from_secs(60);
    c.start_call(later, "c2".into(), CallerInfo::default(), Start::default());
    c.start_call(later, "c3".into(), CallerInfo::default(), Start::default());
    drain(c);
    a
}

#[test]
fn a_dropped_agent_puts_the_call_back_at_the_head_of_the_queue() {
    let now = Instant::now();
    let mut c = CallCenter::new(CenterConfig::default());
    let a = busy_floor(&mut c, now);
    let t = now + Duration::from_secs(120);
    c.agent_logout(t, &a);
    let outs = drain(&mut c);
    // The customer is told, hears it (a voice call), and waits at position 1, ahead of calls
    // that waited longer in the queue itself.
    assert!(outs.contains(&Output::Notify(
        Recipient::Customer("c1".into()),
        Event::AgentLost {
            call_id: "c1".into()
        }
    )));
    assert!(outs.contains(&Output::Announce("c1".into(), Announcement::AgentLost)));
    assert!(outs.iter().any(|o| matches!(
        o,
        Output::Notify(
            Recipient::Customer(id),
            Event::CallState {
                state: CallStateName::Queued,
                position: Some(1),
                ..
            }
        ) if id.as_str() == "c1"
    )));
    assert!(!outs.iter().any(|o| matches!(o, Output::CloseCall(..))));
    // The agent's media leaves the room; the agent is away for the lost connection.
    assert!(outs.contains(&Output::Leave("c1".into(), "pa".into())));
    assert_eq!(
        away_reason(&outs, "a"),
        Some(Some(AwayReason::ConnectionLost))
    );
    // The next agent gets it, before the calls that were waiting.
    let b = available(&mut c, t + Duration::from_secs(1), "b");
    let outs = drain(&mut c);
    assert_eq!(offers(&outs), vec![("b".into(), "c1".into())]);
    c.accept(t + Duration::from_secs(2), &b, &"c1".into())
        .unwrap();
    c.media_joined(&"c1".into(), "pb".into(), Member::Agent(b.clone()))
        .unwrap();
    c.media_up(
        t + Duration::from_secs(2),
        &"c1".into(),
        ParticipantKind::Agent,
    )
    .unwrap();
    assert_eq!(c.agent_of(&"c1".into()), Some(b));
    let outs = drain(&mut c);
    assert!(outs.iter().any(|o| matches!(
        o,
        Output::Notify(
            Recipient::Customer(id),
            Event::CallState {
                state: CallStateName::Connected,
                ..
            }
        ) if id.as_str() == "c1"
    )));
}

#[test]
fn an_agent_whose_media_fails_loses_the_call_but_keeps_their_session() {
    let now = Instant::now();
    let mut c = CallCenter::new(CenterConfig::default());
    let a = busy_floor(&mut c, now);
    c.media_lost(now, &"c1".into(), &"pa".into(), MediaLoss::Failed)
        .unwrap();
    let outs = drain(&mut c);
    assert!(outs.contains(&Output::Notify(
        Recipient::Agent(a.clone()),
        Event::AgentLost {
            call_id: "c1".into()
        }
    )));
    assert_eq!(
        away_reason(&outs, "a"),
        Some(Some(AwayReason::ConnectionLost))
    );
    assert_eq!(c.agent_of(&"c1".into()), None);
    // Their session is still there: going available again, they get the call back (within
    // the grace) before the calls that waited longer, and the reason is cleared.
    c.set_availability(now + Duration::from_secs(5), &a, true)
        .unwrap();
    let outs = drain(&mut c);
    assert_eq!(offers(&outs), vec![("a".into(), "c1".into())]);
    assert!(outs.iter().any(|o| matches!(
        o,
        Output::Notify(
            _,
            Event::AgentState {
                state: AgentStateName::Available,
                reason: None,
                ..
            }
        )
    )));
}

#[test]
fn an_agent_back_within_the_grace_is_offered_the_call_first() {
    let now = Instant::now();
    let mut c = CallCenter::new(CenterConfig::default());
    let a = busy_floor(&mut c, now);
    // Another agent has been available all along, longer idle than `a` will be.
    let t = now + Duration::from_secs(10);
    c.agent_logout(t, &a);
    drain(&mut c);
    // Nobody was free when it dropped: it waits. `a` logs in again 5 s later (starting away)
    // and it rings for them straight away.
    login(&mut c, t + Duration::from_secs(5), "a");
    let outs = drain(&mut c);
    assert_eq!(offers(&outs), vec![("a".into(), "c1".into())]);

    // Past the grace, a returning agent is nobody special.
    let mut c = CallCenter::new(CenterConfig::default());
    let a = busy_floor(&mut c, now);
    c.agent_logout(t, &a);
    drain(&mut c);
    let late = t + Duration::from_secs(c.config().rejoin_grace_s + 1);
    login(&mut c, late, "a");
    assert!(offers(&drain(&mut c)).is_empty());
    // And it goes to whoever is free, longest idle first.
    let b = available(&mut c, late, "b");
    assert_eq!(offers(&drain(&mut c)), vec![(b.0.clone(), "c1".into())]);
}

#[test]
fn a_missed_call_sets_the_agent_away_for_that_reason() {
    let now = Instant::now();
    let mut c = CallCenter::new(CenterConfig::default());
    available(&mut c, now, "a");
    c.start_call(now, "c1".into(), CallerInfo::default(), Start::default());
    drain(&mut c);
    let due = c.poll_timeout().unwrap();
    c.handle_timeout(due);
    let outs = drain(&mut c);
    assert_eq!(away_reason(&outs, "a"), Some(Some(AwayReason::MissedCall)));
}
