//! Overflow and tickets in virtual time: a contact no agent can take (nobody logged in who
//! could, the queue full, waited too long, outside business hours) is told why and may leave
//! a message or ask for a callback; each of those, and escalated and abandoned contacts, open
//! a ticket. Bad requests change nothing.

use super::routing::QueueRules;
use super::test_util::drain;
use super::*;

fn tickets(outs: &[Output]) -> Vec<(String, TicketKind, Option<String>)> {
    outs.iter()
        .filter_map(|o| match o {
            Output::Ticket(id, t) => Some((id.as_str().to_string(), t.kind, t.reason.clone())),
            _ => None,
        })
        .collect()
}

/// The ticket among `outs`.
fn ticket(outs: &[Output]) -> TicketFacts {
    outs.iter()
        .find_map(|o| match o {
            Output::Ticket(_, t) => Some((**t).clone()),
            _ => None,
        })
        .expect("a ticket")
}

fn overflowed(outs: &[Output], call: &str) -> Option<OverflowReason> {
    outs.iter().find_map(|o| match o {
        Output::Notify(
            Recipient::Customer(id),
            Event::CallState {
                state: CallStateName::Overflow,
                overflow,
                ..
            },
        ) if id.as_str() == call => *overflow,
        _ => None,
    })
}

fn center(q: QueueRules) -> CallCenter {
    CallCenter::new(CenterConfig {
        queues: vec![q],
        ..Default::default()
    })
}

fn billing() -> QueueRules {
    QueueRules {
        name: "billing".into(),
        ..Default::default()
    }
}

fn call(c: &mut CallCenter, now: Instant, id: &str, channel: Channel) {
    c.start_call(
        now,
        id.into(),
        CallerInfo::default(),
        Start {
            queue: Some("billing".into()),
            channel,
            ..Default::default()
        },
    );
}

fn billing_agent(c: &mut CallCenter, now: Instant, name: &str, available: bool) -> AgentId {
    let a = AgentId::from(name);
    c.agent_login(
        now,
        a.clone(),
        name.into(),
        [("billing".to_string(), 3u8)].into_iter().collect(),
    );
    if available {
        c.set_availability(now, &a, true).unwrap();
    }
    a
}

#[test]
fn with_nobody_logged_in_who_could_take_it_a_contact_overflows_at_once() {
    let now = Instant::now();
    let mut c = center(billing());
    // Someone without the skill does not count.
    let a = AgentId::from("tech");
    c.agent_login(now, a, "tech".into(), Default::default());
    call(&mut c, now, "c1", Channel::Voice);
    let outs = drain(&mut c);
    assert_eq!(overflowed(&outs, "c1"), Some(OverflowReason::NoAgents));
    assert!(outs.contains(&Output::Announce(
        "c1".into(),
        Announcement::Overflow(OverflowReason::NoAgents)
    )));
    assert_eq!(
        tickets(&outs),
        [("c1".into(), TicketKind::Overflow, Some("no_agents".into()))]
    );
    assert_eq!(c.queue_len(), 0);
    // A billing agent logged in (even away) is someone: the next contact waits.
    billing_agent(&mut c, now, "bea", false);
    call(&mut c, now, "c2", Channel::Voice);
    assert_eq!(overflowed(&drain(&mut c), "c2"), None);
    assert_eq!(c.queue_len(), 1);
    // When the last of them logs out, those waiting are told.
    c.agent_logout(now, &AgentId::from("bea"));
    assert_eq!(
        overflowed(&drain(&mut c), "c2"),
        Some(OverflowReason::NoAgents)
    );
}

#[test]
fn a_full_queue_turns_the_next_contact_away() {
    let now = Instant::now();
    let mut c = center(QueueRules {
        max_waiting: Some(2),
        ..billing()
    });
    billing_agent(&mut c, now, "bea", false);
    call(&mut c, now, "c1", Channel::Voice);
    call(&mut c, now, "c2", Channel::Voice);
    call(&mut c, now, "c3", Channel::Voice);
    let outs = drain(&mut c);
    assert_eq!(overflowed(&outs, "c1"), None);
    assert_eq!(overflowed(&outs, "c2"), None);
    assert_eq!(overflowed(&outs, "c3"), Some(OverflowReason::QueueFull));
    assert_eq!(c.queue_len(), 2);
}

#[test]
fn a_contact_that_waited_max_wait_overflows_then() {
    let now = Instant::now();
    let mut c = center(QueueRules {
        max_wait_s: Some(120),
        ..billing()
    });
    billing_agent(&mut c, now, "bea", false);
    call(&mut c, now, "c1", Channel::Chat);
    drain(&mut c);
    assert_eq!(c.poll_timeout(), Some(now + Duration::from_secs(120)));
    c.handle_timeout(now + Duration::from_secs(119));
    assert_eq!(overflowed(&drain(&mut c), "c1"), None);
    c.handle_timeout(now + Duration::from_secs(120));
    let outs = drain(&mut c);
    assert_eq!(overflowed(&outs, "c1"), Some(OverflowReason::WaitTooLong));
    // A chat hears nothing.
    assert!(!outs.iter().any(|o| matches!(o, Output::Announce(..))));
}

#[test]
fn outside_business_hours_arrivals_overflow_and_waiting_contacts_stay() {
    let now = Instant::now();
    let mut c = center(billing());
    billing_agent(&mut c, now, "bea", false);
    call(&mut c, now, "c1", Channel::Voice);
    c.set_queue_open("billing", false);
    call(&mut c, now, "c2", Channel::Voice);
    let outs = drain(&mut c);
    assert_eq!(overflowed(&outs, "c1"), None);
    assert_eq!(overflowed(&outs, "c2"), Some(OverflowReason::Closed));
    c.set_queue_open("billing", true);
    call(&mut c, now, "c3", Channel::Voice);
    assert_eq!(overflowed(&drain(&mut c), "c3"), None);
    assert_eq!(c.queue_len(), 2);
}

#[test]
fn an_overflowed_customer_leaves_a_message_or_asks_for_a_callback() {
    let now = Instant::now();
    let mut c = center(billing());
    call(&mut c, now, "c1", Channel::Chat);
    call(&mut c, now, "c2", Channel::Voice);
    drain(&mut c);
    // A chat's message needs words; a refused request changes nothing.
    assert!(c
        .leave_message(now, &"c1".into(), Some("  ".into()))
        .is_err());
    assert!(c.leave_message(now, &"c1".into(), None).is_err());
    let too_long = "x".repeat(overflow::MAX_MESSAGE_CHARS + 1);
    assert!(c.leave_message(now, &"c1".into(), Some(too_long)).is_err());
    assert!(drain(&mut c).is_empty());
    c.leave_message(now, &"c1".into(), Some("Please fix my invoice".into()))
        .unwrap();
    let outs = drain(&mut c);
    let t = ticket(&outs);
    assert_eq!(t.kind, TicketKind::Message);
    assert_eq!(t.message.as_deref(), Some("Please fix my invoice"));
    assert_eq!(t.reason.as_deref(), Some("no_agents"));
    assert!(outs.contains(&Output::CloseCall("c1".into(), EndReason::MessageLeft)));
    assert!(!c.is_live(&"c1".into()));

    // A callback needs somewhere to call.
    for bad in ["", "ab", "call me maybe", &"9".repeat(201)] {
        assert!(
            c.request_callback(now, &"c2".into(), bad.into(), None, None)
                .is_err(),
            "{bad:?}"
        );
    }
    assert!(drain(&mut c).is_empty());
    c.request_callback(
        now,
        &"c2".into(),
        "+44 20 7946 0000".into(),
        Some("after 5pm".into()),
        None,
    )
    .unwrap();
    let outs = drain(&mut c);
    let t = ticket(&outs);
    assert_eq!(t.kind, TicketKind::Callback);
    assert_eq!(t.contact.as_deref(), Some("+44 20 7946 0000"));
    assert_eq!(t.message.as_deref(), Some("after 5pm"));
    assert!(outs.contains(&Output::CloseCall(
        "c2".into(),
        EndReason::CallbackRequested
    )));
}

#[test]
fn only_an_overflowed_contact_may_leave_a_message() {
    let now = Instant::now();
    let mut c = center(billing());
    billing_agent(&mut c, now, "bea", false);
    call(&mut c, now, "c1", Channel::Chat);
    drain(&mut c);
    let e = c
        .leave_message(now, &"c1".into(), Some("hi".into()))
        .unwrap_err();
    assert_eq!(e.code(), crate::ErrorCode::WrongState);
    let e = c
        .request_callback(now, &"c1".into(), "+1 555 0100".into(), None, None)
        .unwrap_err();
    assert_eq!(e.code(), crate::ErrorCode::WrongState);
    assert!(drain(&mut c).is_empty());
    assert!(c.is_live(&"c1".into()));
}

#[test]
fn leaving_the_queue_is_abandoning_and_a_hand_over_opens_a_ticket() {
    let now = Instant::now();
    let mut c = center(billing());
    billing_agent(&mut c, now, "bea", false);
    call(&mut c, now, "c1", Channel::Voice);
    drain(&mut c);
    c.hang_up(now, &"c1".into(), ParticipantKind::Customer, None)
        .unwrap();
    assert_eq!(
        tickets(&drain(&mut c)),
        [("c1".into(), TicketKind::Abandoned, None)]
    );

    // A contact the bot served and that ended there is contained: no ticket.
    let bot = |c: &mut CallCenter, id: &str| {
        c.start_call(
            now,
            id.into(),
            CallerInfo::default(),
            Start {
                bot: true,
                queue: Some("billing".into()),
                ..Default::default()
            },
        )
    };
    bot(&mut c, "c2");
    drain(&mut c);
    c.hang_up(now, &"c2".into(), ParticipantKind::Customer, None)
        .unwrap();
    assert!(tickets(&drain(&mut c)).is_empty());

    // The bot hands over: a ticket with its reason and card.
    bot(&mut c, "c3");
    drain(&mut c);
    let card = HandoffCard {
        reason: EscalationReason::AskedForHuman,
        intent: Some("refund".into()),
        slots: Default::default(),
        conversation: vec![],
        sentiment: vec![-0.2],
        summary: "wants a refund".into(),
    };
    c.bot_said(
        now,
        &"c3".into(),
        BotTurn {
            text: "Passing you on".into(),
            entry_id: None,
            escalate: Some((EscalationReason::AskedForHuman, card)),
            queue: None,
        },
        0,
    );
    let outs = drain(&mut c);
    let t = ticket(&outs);
    assert_eq!(t.kind, TicketKind::Escalated);
    assert_eq!(t.reason.as_deref(), Some("asked_for_human"));
    assert_eq!(t.handoff.unwrap().intent.as_deref(), Some("refund"));
    assert_eq!(overflowed(&outs, "c3"), None);
}

#[test]
fn a_callback_waits_for_an_agent_without_overflowing_and_goes_ahead_of_new_calls() {
    let t0 = Instant::now();
    let mut q = billing();
    q.max_wait_s = Some(60);
    let mut c = center(q);
    call(&mut c, t0, "c1", Channel::Voice);
    assert_eq!(
        overflowed(&drain(&mut c), "c1"),
        Some(OverflowReason::NoAgents)
    );
    c.request_callback(
        t0,
        &"c1".into(),
        "+44 20 7946 0000".into(),
        Some("evenings".into()),
        None,
    )
    .unwrap();
    let outs = drain(&mut c);
    assert!(outs.iter().any(|o| matches!(o,
        Output::Milestone(id, Milestone::CallbackStarted { view, priority: 2, .. })
            if id.as_str() == "c1-cb" && view.of_call.as_str() == "c1" && view.at.is_none())));
    // Nobody logged in and far past the queue's longest wait: it still waits.
    c.handle(t0 + Duration::from_secs(3600), Input::Timeout)
        .unwrap();
    assert!(overflowed(&drain(&mut c), "c1-cb").is_none());
    assert!(c.is_live(&"c1-cb".into()));
    // A new call arrives, then an agent: the callback (priority 2) is offered first.
    let t1 = t0 + Duration::from_secs(3601);
    billing_agent(&mut c, t1, "bea", false);
    call(&mut c, t1, "c2", Channel::Chat);
    drain(&mut c);
    c.set_availability(t1, &"bea".into(), true).unwrap();
    let offer = drain(&mut c)
        .into_iter()
        .find_map(|o| match o {
            Output::Notify(
                Recipient::Agent(_),
                Event::CallOffered {
                    call_id,
                    channel,
                    callback,
                    ..
                },
            ) => Some((call_id, channel, callback)),
            _ => None,
        })
        .expect("an offer");
    assert_eq!(offer.0.as_str(), "c1-cb");
    assert_eq!(offer.1, Channel::Callback);
    let cb = offer.2.expect("whom to call back");
    assert_eq!(cb.of_call.as_str(), "c1");
    assert_eq!(cb.contact, "+44 20 7946 0000");
    assert_eq!(cb.note.as_deref(), Some("evenings"));
    // Accepted without media, it is connected at once; it has no chat.
    c.accept(t1, &"bea".into(), &"c1-cb".into()).unwrap();
    assert!(drain(&mut c).iter().any(|o| matches!(o,
        Output::Notify(_, Event::CallState { call_id, state: CallStateName::Connected, .. })
            if call_id.as_str() == "c1-cb")));
    assert!(c
        .chat(
            &"c1-cb".into(),
            ParticipantKind::Agent,
            Some(&"bea".into()),
            "hi".into(),
            0
        )
        .is_err());
}

#[test]
fn a_callback_for_a_later_time_is_not_offered_before_it_then_waits_like_any() {
    let t0 = Instant::now();
    let mut c = center(billing());
    call(&mut c, t0, "c1", Channel::Chat);
    drain(&mut c);
    let due = t0 + Duration::from_secs(2 * 3600);
    c.request_callback(
        t0,
        &"c1".into(),
        "+1 555 0100".into(),
        None,
        Some(CallbackTime {
            at: "2026-12-07T10:30:00Z".into(),
            due,
        }),
    )
    .unwrap();
    drain(&mut c);
    assert_eq!(c.poll_timeout(), Some(due));
    assert_eq!(c.census().calls_scheduled, 1);
    // An agent free all along is not offered it before its time.
    billing_agent(&mut c, t0, "bea", true);
    let early = drain(&mut c);
    assert!(test_util::offers(&early).is_empty(), "{early:?}");
    c.handle(due - Duration::from_secs(1), Input::Timeout)
        .unwrap();
    assert!(test_util::offers(&drain(&mut c)).is_empty());
    let board = c.dashboard(t0);
    assert!(board.queue.is_empty());
    assert!(board
        .calls
        .iter()
        .any(|v| v.call_id.as_str() == "c1-cb" && v.state == CallStateName::Scheduled));
    // At its time it is offered, with the time shown.
    c.handle(due, Input::Timeout).unwrap();
    let outs = drain(&mut c);
    assert_eq!(
        test_util::offers(&outs),
        vec![("bea".to_string(), "c1-cb".to_string())]
    );
    let shown = outs.iter().find_map(|o| match o {
        Output::Notify(_, Event::CallOffered { callback, .. }) => callback.clone(),
        _ => None,
    });
    assert_eq!(shown.unwrap().at.as_deref(), Some("2026-12-07T10:30:00Z"));
    assert_eq!(c.census().calls_scheduled, 0);
}

#[test]
fn a_restored_callback_waits_again_and_one_past_its_time_is_queued_at_once() {
    let t0 = Instant::now();
    let mut c = center(billing());
    let saved = |id: &str, due: Option<Instant>| SavedCallback {
        call: id.into(),
        caller: Default::default(),
        queue: Some("billing".into()),
        priority: 2,
        handoff: None,
        view: crate::protocol::CallbackView {
            of_call: id.trim_end_matches("-cb").into(),
            contact: "+1 555 0100".into(),
            note: None,
            at: None,
        },
        due,
    };
    c.handle(
        t0,
        Input::RestoreCallback(Box::new(saved("a-cb", Some(t0 + Duration::from_secs(60))))),
    )
    .unwrap();
    c.handle(t0, Input::RestoreCallback(Box::new(saved("b-cb", None))))
        .unwrap();
    // Restored twice (a second start-up read): still one of each.
    c.handle(t0, Input::RestoreCallback(Box::new(saved("b-cb", None))))
        .unwrap();
    drain(&mut c);
    billing_agent(&mut c, t0, "bea", true);
    assert_eq!(
        test_util::offers(&drain(&mut c)),
        vec![("bea".to_string(), "b-cb".to_string())]
    );
    assert_eq!(c.census().calls_scheduled, 1);
}
