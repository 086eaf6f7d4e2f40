//! An administrator's changes in virtual time: new skills and new queue rules apply to the
//! calls already waiting, not only to the next login or the next call.

use super::routing::{QueueRules, Skills};
use super::test_util::{drain, offers};
use super::*;

fn skills(pairs: &[(&str, u8)]) -> Skills {
    pairs.iter().map(|(s, p)| (s.to_string(), *p)).collect()
}

fn center(queues: Vec<QueueRules>) -> CallCenter {
    CallCenter::new(CenterConfig {
        queues,
        ..Default::default()
    })
}

fn queue(name: &str, min: u8) -> QueueRules {
    QueueRules {
        name: name.into(),
        min_proficiency: min,
        overflow_when_no_agents: false,
        ..Default::default()
    }
}

fn call(c: &mut CallCenter, now: Instant, id: &str, queue: &str) {
    c.handle(
        now,
        Input::StartCall {
            call: id.into(),
            caller: CallerInfo::default(),
            start: Start {
                queue: Some(queue.into()),
                ..Default::default()
            },
        },
    )
    .unwrap();
}

fn available(c: &mut CallCenter, now: Instant, name: &str, s: &[(&str, u8)]) -> AgentId {
    let a = AgentId::from(name);
    c.handle(
        now,
        Input::AgentLogin {
            agent: a.clone(),
            name: name.into(),
            skills: skills(s),
        },
    )
    .unwrap();
    c.handle(
        now,
        Input::SetAvailability {
            agent: a.clone(),
            available: true,
        },
    )
    .unwrap();
    a
}

#[test]
fn a_skill_given_to_a_logged_in_agent_brings_them_the_waiting_call() {
    let t0 = Instant::now();
    let mut c = center(vec![queue("billing", 1)]);
    let ann = available(&mut c, t0, "ann", &[("technical", 5)]);
    call(&mut c, t0, "c1", "billing");
    assert!(
        offers(&drain(&mut c)).is_empty(),
        "ann has no billing skill yet"
    );
    c.handle(
        t0 + Duration::from_secs(1),
        Input::AgentSkills {
            agent: ann,
            skills: skills(&[("technical", 5), ("billing", 2)]),
        },
    )
    .unwrap();
    assert_eq!(offers(&drain(&mut c)), vec![("ann".into(), "c1".into())]);
}

#[test]
fn a_skill_taken_away_stops_new_offers() {
    let t0 = Instant::now();
    let mut c = center(vec![queue("billing", 1)]);
    let ann = available(&mut c, t0, "ann", &[("billing", 4)]);
    c.handle(
        t0,
        Input::AgentSkills {
            agent: ann,
            skills: skills(&[("technical", 4)]),
        },
    )
    .unwrap();
    drain(&mut c);
    call(&mut c, t0 + Duration::from_secs(1), "c1", "billing");
    assert!(offers(&drain(&mut c)).is_empty());
}

#[test]
fn a_lower_minimum_proficiency_applies_to_calls_already_waiting() {
    let t0 = Instant::now();
    let mut c = center(vec![queue("billing", 4)]);
    available(&mut c, t0, "ann", &[("billing", 2)]);
    call(&mut c, t0, "c1", "billing");
    assert!(
        offers(&drain(&mut c)).is_empty(),
        "ann is below the minimum"
    );
    assert_eq!(c.waiting_in("billing"), 1);
    c.handle(
        t0 + Duration::from_secs(2),
        Input::SetQueues {
            queues: vec![queue("billing", 2)],
        },
    )
    .unwrap();
    assert_eq!(offers(&drain(&mut c)), vec![("ann".into(), "c1".into())]);
    assert_eq!(
        c.waiting_in("billing"),
        1,
        "ringing still counts as waiting"
    );
    assert_eq!(c.waiting_in("technical"), 0);
}

#[test]
fn a_queue_whose_hours_are_removed_opens() {
    let t0 = Instant::now();
    let mut q = queue("billing", 1);
    q.hours = Some(routing::Hours {
        timezone: None,
        open: vec!["mon-fri 08:00-18:00".into()],
    });
    let mut c = center(vec![q]);
    c.handle(
        t0,
        Input::QueueHours {
            queue: "billing".into(),
            open: false,
        },
    )
    .unwrap();
    c.handle(
        t0,
        Input::SetQueues {
            queues: vec![queue("billing", 1)],
        },
    )
    .unwrap();
    available(&mut c, t0, "ann", &[("billing", 3)]);
    drain(&mut c);
    call(&mut c, t0 + Duration::from_secs(1), "c1", "billing");
    assert_eq!(offers(&drain(&mut c)), vec![("ann".into(), "c1".into())]);
}
