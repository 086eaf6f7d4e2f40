//! The bot keeps a waiting voice caller told where they stand: when they move up (at most
//! every `bot_position_update_s`) and, after `bot_position_reminder_s` without news, again.
//! A chat shows the position as it changes, so the bot says nothing more there.

use super::test_util::drain;
use super::*;

fn hand_over(c: &mut CallCenter, now: Instant, id: &str, channel: Channel) {
    let start = Start {
        channel,
        bot: true,
        language: Some("en".into()),
        ..Default::default()
    };
    c.start_call(now, id.into(), CallerInfo::default(), start);
    c.handle(
        now,
        Input::BotSaid {
            call: id.into(),
            turn: Box::new(BotTurn {
                text: "Passing you to a colleague.".into(),
                entry_id: None,
                escalate: Some((
                    EscalationReason::AskedForHuman,
                    HandoffCard {
                        reason: EscalationReason::AskedForHuman,
                        intent: None,
                        slots: Default::default(),
                        conversation: vec![],
                        sentiment: vec![],
                        summary: String::new(),
                    },
                )),
                queue: None,
            }),
            at_ms: 1,
        },
    )
    .unwrap();
}

/// What the bot was told to say about positions: (call, position, news).
fn news(outs: &[Output]) -> Vec<(String, usize, QueueNews)> {
    outs.iter()
        .filter_map(|o| match o {
            Output::Bot(id, BotInput::Queued { position, news, .. }) => {
                Some((id.to_string(), *position, *news))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn a_waiting_voice_caller_hears_that_they_moved_up_and_later_a_reminder() {
    let t0 = Instant::now();
    let s = Duration::from_secs;
    let mut c = CallCenter::new(CenterConfig::default());
    for id in ["v1", "v2"] {
        hand_over(&mut c, t0, id, Channel::Voice);
    }
    hand_over(&mut c, t0, "c3", Channel::Chat);
    hand_over(&mut c, t0, "v4", Channel::Voice);
    let joined = news(&drain(&mut c));
    assert_eq!(
        joined,
        [
            ("v1".into(), 1, QueueNews::Joined),
            ("v2".into(), 2, QueueNews::Joined),
            ("c3".into(), 3, QueueNews::Joined),
            ("v4".into(), 4, QueueNews::Joined),
        ]
    );
    assert!(c.poll_timeout().is_some_and(|t| t <= t0 + s(30)));

    // An agent takes the first call at 10 s: the others move up, but news waits for 30 s.
    let bob = AgentId::from("bob");
    c.agent_login(t0 + s(10), bob.clone(), "Bob".into(), Default::default());
    c.set_availability(t0 + s(10), &bob, true).unwrap();
    c.handle(
        t0 + s(10),
        Input::Accept {
            agent: bob.clone(),
            call: "v1".into(),
        },
    )
    .unwrap();
    let outs = drain(&mut c);
    assert!(news(&outs).is_empty(), "{outs:?}");
    c.handle(t0 + s(20), Input::Timeout).unwrap();
    assert!(news(&drain(&mut c)).is_empty());

    c.handle(t0 + s(30), Input::Timeout).unwrap();
    assert_eq!(
        news(&drain(&mut c)),
        [
            ("v2".into(), 1, QueueNews::MovedUp),
            ("v4".into(), 3, QueueNews::MovedUp),
        ],
        "the chat (c3) is told by its page, not by the bot"
    );

    // Nothing changes: a reminder 90 s after the last news, not before.
    c.handle(t0 + s(100), Input::Timeout).unwrap();
    assert!(news(&drain(&mut c)).is_empty());
    let due = c.poll_timeout().expect("a reminder is due");
    assert!(due <= t0 + s(120), "{:?}", due - t0);
    c.handle(t0 + s(120), Input::Timeout).unwrap();
    assert_eq!(
        news(&drain(&mut c)),
        [
            ("v2".into(), 1, QueueNews::Unchanged),
            ("v4".into(), 3, QueueNews::Unchanged),
        ]
    );

    // Once an agent has the call, the bot says nothing more about the queue to that caller.
    let amy = AgentId::from("amy");
    c.agent_login(t0 + s(130), amy.clone(), "Amy".into(), Default::default());
    c.set_availability(t0 + s(130), &amy, true).unwrap();
    c.handle(
        t0 + s(131),
        Input::Accept {
            agent: amy,
            call: "v2".into(),
        },
    )
    .unwrap();
    drain(&mut c);
    c.handle(t0 + s(400), Input::Timeout).unwrap();
    let later = news(&drain(&mut c));
    assert!(
        later.iter().all(|(id, _, _)| id != "v2"),
        "no queue news once connected: {later:?}"
    );
    assert!(
        later.contains(&("v4".into(), 2, QueueNews::MovedUp)),
        "{later:?}"
    );
}

#[test]
fn zero_turns_spoken_position_news_off() {
    let t0 = Instant::now();
    let mut c = CallCenter::new(CenterConfig {
        bot_position_update_s: 0,
        bot_position_reminder_s: 0,
        ..Default::default()
    });
    hand_over(&mut c, t0, "v1", Channel::Voice);
    hand_over(&mut c, t0, "v2", Channel::Voice);
    drain(&mut c);
    c.end_call(t0, &"v1".into(), EndReason::CustomerHungUp)
        .unwrap();
    drain(&mut c);
    c.handle(t0 + Duration::from_secs(3600), Input::Timeout)
        .unwrap();
    assert!(news(&drain(&mut c)).is_empty());
}
