//! Routing in virtual time: skills and proficiency, overflow steps, priority with ageing,
//! re-offer after a decline.

use super::routing::{OverflowStep, QueueRules, Skills};
use super::test_util::{drain, offers};
use super::*;

fn skills(pairs: &[(&str, u8)]) -> Skills {
    pairs.iter().map(|(s, p)| (s.to_string(), *p)).collect()
}

fn agent(c: &mut CallCenter, now: Instant, name: &str, s: &[(&str, u8)]) -> AgentId {
    let a = AgentId::from(name);
    c.agent_login(now, a.clone(), name.into(), skills(s));
    c.set_availability(now, &a, true).unwrap();
    a
}

fn call(c: &mut CallCenter, now: Instant, id: &str, queue: Option<&str>, priority: i32) {
    c.start_call(
        now,
        id.into(),
        CallerInfo::default(),
        Start {
            queue: queue.map(str::to_string),
            priority,
            ..Default::default()
        },
    );
}

fn queues() -> Vec<QueueRules> {
    vec![
        QueueRules {
            name: "billing".into(),
            min_proficiency: 3,
            overflow: vec![
                OverflowStep {
                    after_s: 30,
                    min_proficiency: Some(1),
                    queue: None,
                },
                OverflowStep {
                    after_s: 90,
                    queue: Some("general".into()),
                    ..Default::default()
                },
            ],
            ..Default::default()
        },
        QueueRules {
            name: "general".into(),
            ..Default::default()
        },
    ]
}

/// The queues, keeping calls waiting when nobody is logged in (`overflow_tests.rs` is about
/// turning them away).
fn center() -> CallCenter {
    let mut queues = queues();
    for q in &mut queues {
        q.overflow_when_no_agents = false;
    }
    CallCenter::new(CenterConfig {
        queues,
        ..Default::default()
    })
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

#[test]
fn the_most_proficient_agent_with_the_skill_gets_the_call_then_the_longest_idle() {
    let t0 = Instant::now();
    let mut c = center();
    agent(&mut c, t0, "ann", &[("billing", 3)]);
    agent(&mut c, t0 + secs(1), "bea", &[("billing", 5)]);
    agent(
        &mut c,
        t0 + secs(2),
        "cat",
        &[("billing", 5), ("general", 5)],
    );
    agent(&mut c, t0, "dan", &[("general", 5)]);
    drain(&mut c);
    let now = t0 + secs(10);
    for id in ["c1", "c2", "c3", "c4"] {
        call(&mut c, now, id, Some("billing"), 0);
    }
    assert_eq!(
        offers(&drain(&mut c)),
        [("bea", "c1"), ("cat", "c2"), ("ann", "c3")].map(|(a, b)| (a.to_string(), b.to_string()))
    );
    // Nobody else has the skill: the fourth call waits, though dan is free.
    assert_eq!(c.census().calls_queued, 1);
    assert_eq!(c.census().agents["available"], 1);
}

#[test]
fn a_waiting_call_widens_to_lower_proficiency_then_to_the_fallback_group() {
    let t0 = Instant::now();
    let mut c = center();
    agent(&mut c, t0, "gus", &[("general", 4)]);
    call(&mut c, t0, "c1", Some("billing"), 0);
    assert!(offers(&drain(&mut c)).is_empty());
    // A novice logs in: not yet (the queue starts at proficiency 3).
    agent(&mut c, t0 + secs(5), "nia", &[("billing", 1)]);
    assert!(offers(&drain(&mut c)).is_empty());
    assert_eq!(c.poll_timeout(), Some(t0 + secs(30)));
    c.handle_timeout(t0 + secs(29));
    assert!(offers(&drain(&mut c)).is_empty());
    c.handle_timeout(t0 + secs(30));
    assert_eq!(offers(&drain(&mut c)), [("nia".into(), "c1".into())]);

    // With no billing agent at all, the general group takes it after 90 s.
    let mut c = center();
    agent(&mut c, t0, "gus", &[("general", 4)]);
    call(&mut c, t0, "c2", Some("billing"), 0);
    c.handle_timeout(t0 + secs(30));
    assert!(offers(&drain(&mut c)).is_empty());
    assert_eq!(c.poll_timeout(), Some(t0 + secs(90)));
    c.handle_timeout(t0 + secs(90));
    assert_eq!(offers(&drain(&mut c)), [("gus".into(), "c2".into())]);
    // Nothing left to wake for.
    assert_eq!(
        c.poll_timeout(),
        Some(t0 + secs(90 + 20)),
        "only the ring timeout"
    );
}

#[test]
fn priority_goes_first_but_waiting_earns_priority_so_nobody_starves() {
    let t0 = Instant::now();
    let mut c = center();
    call(&mut c, t0, "old", Some("general"), 0);
    call(&mut c, t0 + secs(60), "plain", Some("general"), 0);
    // A VIP (priority 5) goes ahead of calls that waited less than 5 minutes more.
    call(&mut c, t0 + secs(120), "vip", Some("general"), 5);
    // Ten minutes on, a new VIP is behind the calls that have waited that long.
    call(&mut c, t0 + secs(600), "vip2", Some("general"), 5);
    let order: Vec<String> = c.waiting().map(|id| id.as_str().to_string()).collect();
    assert_eq!(order, ["vip", "old", "plain", "vip2"]);
    drain(&mut c);
    let now = t0 + secs(601);
    agent(&mut c, now, "gus", &[("general", 1)]);
    assert_eq!(offers(&drain(&mut c)), [("gus".into(), "vip".into())]);
}

#[test]
fn a_call_every_agent_declined_is_offered_again_after_a_pause() {
    let t0 = Instant::now();
    let mut c = center();
    let gus = agent(&mut c, t0, "gus", &[("general", 2)]);
    call(&mut c, t0, "c1", Some("general"), 0);
    assert_eq!(offers(&drain(&mut c)).len(), 1);
    c.decline(t0 + secs(2), &gus, &"c1".into()).unwrap();
    assert!(
        offers(&drain(&mut c)).is_empty(),
        "not at once to the same agent"
    );
    assert_eq!(c.poll_timeout(), Some(t0 + secs(32)));
    c.handle_timeout(t0 + secs(32));
    assert_eq!(offers(&drain(&mut c)), [("gus".into(), "c1".into())]);
}

#[test]
fn a_call_in_no_queue_goes_to_any_agent_and_one_in_a_queue_never_to_the_unskilled() {
    let t0 = Instant::now();
    let mut c = center();
    agent(&mut c, t0, "dan", &[]);
    call(&mut c, t0, "q", Some("general"), 0);
    call(&mut c, t0, "any", None, 0);
    assert_eq!(offers(&drain(&mut c)), [("dan".into(), "any".into())]);
    // Hours later the queued call is still not offered to someone without the skill.
    c.handle_timeout(t0 + secs(3 * 3600));
    assert!(offers(&drain(&mut c)).is_empty());
}

#[test]
fn an_idle_agent_who_fits_no_waiting_call_gets_the_next_that_fits() {
    // Routing looks at a free agent against the whole queue once; after that only at calls
    // that are new or due. Those must still reach them.
    let t0 = Instant::now();
    let mut c = center();
    agent(&mut c, t0, "tom", &[("technical", 4)]);
    for i in 0..5 {
        call(&mut c, t0, &format!("b{i}"), Some("billing"), 0);
    }
    assert!(offers(&drain(&mut c)).is_empty());
    call(&mut c, t0 + secs(1), "t1", Some("technical"), 0);
    assert_eq!(offers(&drain(&mut c)), [("tom".into(), "t1".into())]);
    // Declined, the next technical call goes to him; the declined one waits for its re-offer.
    c.decline(t0 + secs(2), &AgentId::from("tom"), &"t1".into())
        .unwrap();
    drain(&mut c);
    call(&mut c, t0 + secs(3), "t2", Some("technical"), 0);
    assert_eq!(offers(&drain(&mut c)), [("tom".into(), "t2".into())]);
}

fn hand_over(c: &mut CallCenter, now: Instant, id: &str, queue: Option<&str>) {
    let card = HandoffCard {
        reason: EscalationReason::AskedForHuman,
        intent: Some("data-slow".into()),
        slots: Default::default(),
        conversation: vec![],
        sentiment: vec![],
        summary: String::new(),
    };
    c.bot_said(
        now,
        &id.into(),
        BotTurn {
            text: "Passing you on".into(),
            entry_id: None,
            escalate: Some((EscalationReason::AskedForHuman, card)),
            queue: queue.map(str::to_string),
        },
        0,
    );
}

fn bot_contact(c: &mut CallCenter, now: Instant, id: &str, queue: Option<&str>, chosen: bool) {
    c.start_call(
        now,
        id.into(),
        CallerInfo::default(),
        Start {
            channel: Channel::Chat,
            bot: true,
            queue: queue.map(str::to_string),
            queue_chosen: chosen,
            ..Default::default()
        },
    );
}

#[test]
fn the_bot_hands_over_to_the_queue_of_the_question_unless_the_customer_chose_one() {
    let t0 = Instant::now();
    let mut c = center();
    agent(&mut c, t0, "gus", &[("general", 5)]);
    agent(&mut c, t0, "bil", &[("billing", 5)]);
    drain(&mut c);
    // From an entry point whose queue is general: the question was about billing.
    bot_contact(&mut c, t0, "c1", Some("general"), false);
    hand_over(&mut c, t0, "c1", Some("billing"));
    assert_eq!(offers(&drain(&mut c)), vec![("bil".into(), "c1".into())]);
    // The customer chose general on the page: it stays there.
    bot_contact(&mut c, t0, "c2", Some("general"), true);
    hand_over(&mut c, t0, "c2", Some("billing"));
    assert_eq!(offers(&drain(&mut c)), vec![("gus".into(), "c2".into())]);
}
