use super::test_util::{drain, talking};
use super::*;

fn t0() -> Instant {
    Instant::now()
}

fn offers_to(outs: &[Output]) -> Vec<(AgentId, CallId)> {
    outs.iter()
        .filter_map(|o| match o {
            Output::Notify(Recipient::Agent(a), Event::CallOffered { call_id, .. }) => {
                Some((a.clone(), call_id.clone()))
            }
            _ => None,
        })
        .collect()
}

fn available(c: &mut CallCenter, now: Instant, name: &str) -> AgentId {
    let a = AgentId::from(name);
    c.agent_login(now, a.clone(), name.to_uppercase(), Default::default());
    c.set_availability(now, &a, true).unwrap();
    a
}

#[test]
fn longest_idle_available_agent_gets_the_call() {
    let now = t0();
    let mut c = CallCenter::new(CenterConfig::default());
    let bob = available(&mut c, now, "bob");
    let _amy = available(&mut c, now + Duration::from_secs(5), "amy");
    drain(&mut c);
    c.start_call(
        now + Duration::from_secs(10),
        "c1".into(),
        CallerInfo::default(),
        Start::default(),
    );
    assert_eq!(offers_to(&drain(&mut c)), vec![(bob, "c1".into())]);
}

#[test]
fn waiting_customers_get_positions_and_estimates() {
    let now = t0();
    let mut c = CallCenter::new(CenterConfig::default());
    c.start_call(now, "c1".into(), CallerInfo::default(), Start::default());
    c.start_call(now, "c2".into(), CallerInfo::default(), Start::default());
    let outs = drain(&mut c);
    let last_c2 = outs
        .iter()
        .rev()
        .find_map(|o| match o {
            Output::Notify(
                Recipient::Customer(id),
                Event::CallState {
                    position,
                    estimated_wait_s,
                    ..
                },
            ) if id.as_str() == "c2" => Some((*position, *estimated_wait_s)),
            _ => None,
        })
        .unwrap();
    assert_eq!(last_c2, (Some(2), Some(360)));
    // The first caller hangs up: the second moves to position 1.
    c.end_call(now, &"c1".into(), EndReason::CustomerHungUp)
        .unwrap();
    let outs = drain(&mut c);
    assert!(
        outs.iter().any(|o| matches!(o,
        Output::Notify(Recipient::Customer(id), Event::CallState { position: Some(1), .. }) if id.as_str() == "c2"))
    );
    assert_eq!(c.queue_len(), 1);
}

#[test]
fn decline_moves_the_call_to_the_next_agent() {
    let now = t0();
    let mut c = CallCenter::new(CenterConfig::default());
    let a = available(&mut c, now, "a");
    let b = available(&mut c, now + Duration::from_secs(1), "b");
    c.start_call(now, "c1".into(), CallerInfo::default(), Start::default());
    drain(&mut c);
    c.decline(now, &a, &"c1".into()).unwrap();
    let outs = drain(&mut c);
    assert_eq!(offers_to(&outs), vec![(b.clone(), "c1".into())]);
    // The decliner is available again but is not offered the same call.
    assert_eq!(c.census().agents["available"], 1);
    // Declining a call that is not yours is refused and changes nothing.
    assert_eq!(
        c.decline(now, &a, &"c1".into()).unwrap_err().code(),
        crate::ErrorCode::Forbidden
    );
    assert_eq!(c.agent_of(&"c1".into()), Some(b));
}

#[test]
fn unanswered_offer_times_out_to_next_agent_and_sets_first_away() {
    let now = t0();
    let cfg = CenterConfig {
        ring_timeout_s: 15,
        ..Default::default()
    };
    let mut c = CallCenter::new(cfg);
    let a = available(&mut c, now, "a");
    let b = available(&mut c, now + Duration::from_secs(1), "b");
    c.start_call(now, "c1".into(), CallerInfo::default(), Start::default());
    drain(&mut c);
    assert_eq!(c.poll_timeout(), Some(now + Duration::from_secs(15)));
    c.handle_timeout(now + Duration::from_secs(14));
    assert!(offers_to(&drain(&mut c)).is_empty());
    c.handle_timeout(now + Duration::from_secs(15));
    let outs = drain(&mut c);
    assert!(outs.iter().any(|o| matches!(o,
        Output::Notify(Recipient::Agent(x), Event::OfferWithdrawn { reason, .. }) if *x == a && *reason == WithdrawReason::Timeout)));
    assert_eq!(offers_to(&outs), vec![(b, "c1".into())]);
    assert!(outs.iter().any(|o| matches!(o,
        Output::Notify(Recipient::Agent(x), Event::AgentState { state: AgentStateName::Away, .. }) if *x == a)));
}

#[test]
fn accept_then_media_connects_and_hang_up_wraps_up() {
    let now = t0();
    let cfg = CenterConfig {
        wrap_up_s: 10,
        ..Default::default()
    };
    let mut c = CallCenter::new(cfg);
    let a = available(&mut c, now, "a");
    let call: CallId = "c1".into();
    c.start_call(now, call.clone(), CallerInfo::default(), Start::default());
    c.media_up(
        now + Duration::from_millis(300),
        &call,
        ParticipantKind::Customer,
    )
    .unwrap();
    c.accept(now + Duration::from_secs(2), &a, &call).unwrap();
    // Accepting twice is a state error.
    assert_eq!(
        c.accept(now, &a, &call).unwrap_err().code(),
        crate::ErrorCode::WrongState
    );
    drain(&mut c);
    c.media_up(
        now + Duration::from_millis(2400),
        &call,
        ParticipantKind::Agent,
    )
    .unwrap();
    let outs = drain(&mut c);
    assert!(outs.iter().any(|o| matches!(o,
        Output::Milestone(_, Milestone::TwoWay { since_accept }) if *since_accept == Duration::from_millis(400))));
    assert!(outs.iter().any(|o| matches!(
        o,
        Output::Notify(
            Recipient::Customer(_),
            Event::CallState {
                state: CallStateName::Connected,
                ..
            }
        )
    )));
    assert_eq!(c.census().calls_connected, 1);

    let end = now + Duration::from_secs(60);
    c.end_call(end, &call, EndReason::AgentHungUp).unwrap();
    let outs = drain(&mut c);
    assert!(outs.contains(&Output::CloseCall(call.clone(), EndReason::AgentHungUp)));
    assert_eq!(c.census().agents["wrap_up"], 1);
    assert!(c.call_ids().is_empty());
    // Hanging up an ended call is refused.
    assert!(c.end_call(end, &call, EndReason::AgentHungUp).is_err());
    c.handle_timeout(end + Duration::from_secs(10));
    assert_eq!(c.census().agents["available"], 1);
}

#[test]
fn only_the_assigned_agent_may_act_on_a_call() {
    let now = t0();
    let mut c = CallCenter::new(CenterConfig::default());
    let a = available(&mut c, now, "a");
    let intruder = AgentId::from("x");
    c.agent_login(now, intruder.clone(), "X".into(), Default::default());
    let call: CallId = "c1".into();
    c.start_call(now, call.clone(), CallerInfo::default(), Start::default());
    assert_eq!(
        c.accept(now, &intruder, &call).unwrap_err().code(),
        crate::ErrorCode::Forbidden
    );
    c.accept(now, &a, &call).unwrap();
    assert!(c
        .check_party(&call, ParticipantKind::Agent, Some(&intruder))
        .is_err());
    assert!(c
        .set_muted(&call, ParticipantKind::Agent, Some(&intruder), true)
        .is_err());
    assert!(!c.is_muted(&call, ParticipantKind::Agent));
    assert!(c
        .check_party(&call, ParticipantKind::Agent, Some(&a))
        .is_ok());
}

#[test]
fn listeners_are_stopped_when_the_call_ends() {
    let now = t0();
    let mut c = CallCenter::new(CenterConfig::default());
    let sup = SupervisorId::from("s");
    c.supervisor_login(sup.clone());
    let call: CallId = "c1".into();
    c.start_call(now, call.clone(), CallerInfo::default(), Start::default());
    c.start_listening(&call, &sup).unwrap();
    assert!(c.start_listening(&call, &sup).is_err());
    drain(&mut c);
    c.end_call(now, &call, EndReason::CustomerHungUp).unwrap();
    let outs = drain(&mut c);
    assert!(outs
        .iter()
        .any(|o| matches!(o, Output::Notify(Recipient::Supervisor(s), Event::ListenStopped { .. }) if *s == sup)));
    assert!(c.check_listen(&call, &sup).is_err());
}

#[test]
fn a_customer_negative_for_n_utterances_alerts_every_supervisor_once() {
    let now = t0();
    let mut c = CallCenter::new(CenterConfig::default());
    let (s1, s2) = (SupervisorId::from("s1"), SupervisorId::from("s2"));
    c.supervisor_login(s1.clone());
    c.supervisor_login(s2.clone());
    let call: CallId = "c1".into();
    c.start_call(now, call.clone(), CallerInfo::default(), Start::default());
    drain(&mut c);
    let mood = |run: u32| SentimentView {
        label: if run > 0 { "angry" } else { "neutral" }.into(),
        trend: -0.1 * run as f32,
        negative_run: run,
    };
    let alerts = |outs: &[Output]| {
        outs.iter()
            .filter(|o| {
                matches!(
                    o,
                    Output::Notify(Recipient::Supervisor(_), Event::SentimentAlert { .. })
                )
            })
            .count()
    };
    for (run, want) in [(1, 0), (2, 0), (3, 2), (4, 0), (0, 0)] {
        c.customer_sentiment(&call, mood(run), 3, "text".into())
            .unwrap();
        let outs = drain(&mut c);
        assert_eq!(alerts(&outs), want, "run {run}");
        assert!(outs.contains(&Output::DashboardChanged));
    }
    // The dashboard carries the latest mood.
    let Dashboard { calls, .. } = c.dashboard(now);
    assert_eq!(calls[0].sentiment.as_ref().unwrap().negative_run, 0);
    // Unknown calls are refused.
    assert!(c
        .customer_sentiment(&"nope".into(), mood(3), 3, String::new())
        .is_err());
}

#[test]
fn the_dashboard_queue_shows_ringing_calls_too() {
    let now = t0();
    let mut c = CallCenter::new(CenterConfig::default());
    let _bob = available(&mut c, now, "bob");
    c.start_call(now, "c1".into(), CallerInfo::default(), Start::default());
    c.start_call(now, "c2".into(), CallerInfo::default(), Start::default());
    drain(&mut c);
    let Dashboard { queue, calls, .. } = c.dashboard(now);
    let states: Vec<_> = calls.iter().map(|v| (v.call_id.clone(), v.state)).collect();
    assert!(
        states.contains(&("c1".into(), CallStateName::Ringing)),
        "{states:?}"
    );
    let ids: Vec<_> = queue
        .iter()
        .map(|q| (q.call_id.clone(), q.position))
        .collect();
    assert_eq!(ids, vec![("c1".into(), 1), ("c2".into(), 2)]);
}

/// A connected call c1 with agent a, customer peer "pc" and agent peer "pa".
fn last_route(outs: &[Output]) -> Option<Plan> {
    outs.iter().rev().find_map(|o| match o {
        Output::Route(_, p) => Some(p.clone()),
        _ => None,
    })
}

#[test]
fn every_change_of_who_is_in_the_call_re_routes_it() {
    let now = t0();
    let mut c = CallCenter::new(CenterConfig::default());
    let call: CallId = "c1".into();
    c.start_call(now, call.clone(), CallerInfo::default(), Start::default());
    drain(&mut c);
    c.media_joined(&call, "pc".into(), Member::Customer)
        .unwrap();
    c.media_joined(&call, "bot".into(), Member::Bot).unwrap();
    let plan = last_route(&drain(&mut c)).unwrap();
    assert!(plan.hears(&"pc".into(), &"bot".into()));
    // Joining an unknown call is refused.
    assert!(c
        .media_joined(&"nope".into(), "x".into(), Member::Bot)
        .is_err());
    c.media_left(&call, &"bot".into());
    let plan = last_route(&drain(&mut c)).unwrap();
    assert!(!plan.hears(&"pc".into(), &"bot".into()));
}

#[test]
fn supervisor_modes_route_and_tell_the_agent() {
    let now = t0();
    let mut c = CallCenter::new(CenterConfig::default());
    let (call, a) = talking(&mut c, now);
    let sam = SupervisorId::from("sam");
    c.supervisor_login(sam.clone());
    // Not listening yet: refused.
    assert_eq!(
        c.set_supervisor_mode(&call, &sam, SupervisorMode::Whisper)
            .unwrap_err()
            .code(),
        crate::ErrorCode::WrongState
    );
    c.start_listening(&call, &sam).unwrap();
    c.media_joined(&call, "ps".into(), Member::Supervisor(sam.clone()))
        .unwrap();
    let plan = last_route(&drain(&mut c)).unwrap();
    assert!(plan.hears(&"ps".into(), &"pc".into()));
    assert!(!plan.hears(&"pa".into(), &"ps".into()));

    c.set_supervisor_mode(&call, &sam, SupervisorMode::Whisper)
        .unwrap();
    let outs = drain(&mut c);
    assert!(outs.iter().any(|o| matches!(o,
        Output::Notify(Recipient::Agent(x), Event::Supervision { mode: SupervisorMode::Whisper, .. }) if *x == a)));
    let plan = last_route(&outs).unwrap();
    assert!(plan.hears(&"pa".into(), &"ps".into()));
    assert!(!plan.hears(&"pc".into(), &"ps".into()));

    c.set_supervisor_mode(&call, &sam, SupervisorMode::Barge)
        .unwrap();
    let plan = last_route(&drain(&mut c)).unwrap();
    assert!(plan.hears(&"pc".into(), &"ps".into()));
    let Dashboard { calls, .. } = c.dashboard(now);
    assert_eq!(calls[0].supervisors[0].mode, SupervisorMode::Barge);

    // Stopping listening while barging: the agent is told, the supervisor leaves the plan.
    c.stop_listening(&call, &sam).unwrap();
    let outs = drain(&mut c);
    assert!(outs.iter().any(|o| matches!(
        o,
        Output::Notify(
            Recipient::Agent(_),
            Event::Supervision {
                mode: SupervisorMode::Listen,
                ..
            }
        )
    )));
    let plan = last_route(&outs).unwrap();
    assert!(plan.route(&"ps".into()).is_none());
    assert!(!plan.hears(&"pc".into(), &"ps".into()));
}

#[test]
fn whisper_needs_an_agent_talking() {
    let now = t0();
    let mut c = CallCenter::new(CenterConfig::default());
    let call: CallId = "c1".into();
    c.start_call(now, call.clone(), CallerInfo::default(), Start::default());
    let sam = SupervisorId::from("sam");
    c.start_listening(&call, &sam).unwrap();
    let e = c
        .set_supervisor_mode(&call, &sam, SupervisorMode::Barge)
        .unwrap_err();
    assert_eq!(e.code(), crate::ErrorCode::WrongState);
    assert_eq!(c.supervisor_mode(&call, &sam), Some(SupervisorMode::Listen));
}

#[test]
fn the_media_failure_policy_lives_in_the_center() {
    let now = t0();
    // ICE failure of the customer: media_failed.
    let mut c = CallCenter::new(CenterConfig::default());
    let (call, _) = talking(&mut c, now);
    c.media_lost(now, &call, &"pc".into(), MediaLoss::Failed)
        .unwrap();
    assert!(drain(&mut c).contains(&Output::CloseCall(call.clone(), EndReason::MediaFailed)));
    // ICE failure of the agent: the call goes back to the queue (agent_loss_tests.rs).
    let mut c = CallCenter::new(CenterConfig::default());
    let (call, _) = talking(&mut c, now);
    c.media_lost(now, &call, &"pa".into(), MediaLoss::Failed)
        .unwrap();
    assert!(!drain(&mut c)
        .iter()
        .any(|o| matches!(o, Output::CloseCall(..))));
    assert!(c.is_live(&call));
    // The customer said goodbye: customer_disconnected, once their connection had the time
    // to show a page that reloads (rejoin_tests.rs).
    let mut c = CallCenter::new(CenterConfig::default());
    let (call, _) = talking(&mut c, now);
    c.media_lost(now, &call, &"pc".into(), MediaLoss::Left)
        .unwrap();
    assert_eq!(c.poll_timeout(), Some(now + CLOSE_SETTLE));
    c.handle_timeout(now + CLOSE_SETTLE);
    assert!(drain(&mut c).contains(&Output::CloseCall(
        call.clone(),
        EndReason::CustomerDisconnected
    )));
    // A supervisor's media going away only stops their listening; an unknown peer changes
    // nothing.
    let mut c = CallCenter::new(CenterConfig::default());
    let (call, _) = talking(&mut c, now);
    let sam = SupervisorId::from("sam");
    c.start_listening(&call, &sam).unwrap();
    c.media_joined(&call, "ps".into(), Member::Supervisor(sam.clone()))
        .unwrap();
    drain(&mut c);
    c.media_lost(now, &call, &"ps".into(), MediaLoss::Closed)
        .unwrap();
    let outs = drain(&mut c);
    assert!(outs.contains(&Output::Leave(call.clone(), "ps".into())));
    assert!(!outs.iter().any(|o| matches!(o, Output::CloseCall(..))));
    c.media_lost(now, &call, &"ghost".into(), MediaLoss::Failed)
        .unwrap();
    assert!(drain(&mut c).is_empty());
    assert!(c.is_live(&call));
}

#[test]
fn transcript_readers_are_the_agent_and_watching_supervisors() {
    let now = t0();
    let mut c = CallCenter::new(CenterConfig::default());
    let (call, a) = talking(&mut c, now);
    let sam = SupervisorId::from("sam");
    c.supervisor_login(sam.clone());
    assert_eq!(
        c.transcript_readers(&call),
        vec![Recipient::Agent(a.clone())]
    );
    c.watch_transcript(&call, &sam).unwrap();
    assert_eq!(
        c.transcript_readers(&call),
        vec![
            Recipient::Agent(a.clone()),
            Recipient::Supervisor(sam.clone())
        ]
    );
    assert!(c.watch_transcript(&"nope".into(), &sam).is_err());
    // The supervisor's last session closes: they stop reading.
    c.supervisor_logout(&sam);
    assert_eq!(c.transcript_readers(&call), vec![Recipient::Agent(a)]);
}

#[test]
fn mute_and_hang_up_are_decided_here() {
    let now = t0();
    let mut c = CallCenter::new(CenterConfig::default());
    let (call, a) = talking(&mut c, now);
    c.set_muted(&call, ParticipantKind::Agent, Some(&a), true)
        .unwrap();
    let outs = drain(&mut c);
    assert!(outs.contains(&Output::Mute(call.clone(), "pa".into(), true)));
    // Another agent may neither mute nor hang up this call.
    let intruder = AgentId::from("mallory");
    assert!(c
        .hang_up(now, &call, ParticipantKind::Agent, Some(&intruder))
        .is_err());
    assert!(c.is_live(&call));
    c.hang_up(now, &call, ParticipantKind::Customer, None)
        .unwrap();
    assert!(drain(&mut c).contains(&Output::CloseCall(call, EndReason::CustomerHungUp)));
}

fn card(reason: EscalationReason) -> HandoffCard {
    HandoffCard {
        reason,
        intent: Some("billing-due-date".into()),
        slots: Default::default(),
        conversation: vec![],
        sentiment: vec![0.0],
        summary: "Asked about bills.".into(),
    }
}

#[test]
fn a_bot_contact_waits_outside_the_queue_until_the_bot_hands_it_over() {
    let now = t0();
    let mut c = CallCenter::new(CenterConfig::default());
    let bob = available(&mut c, now, "bob");
    drain(&mut c);
    let chat = Start {
        channel: Channel::Chat,
        bot: true,
        language: Some("en".into()),
        ..Default::default()
    };
    c.start_call(now, "c1".into(), CallerInfo::default(), chat);
    let outs = drain(&mut c);
    assert!(
        offers_to(&outs).is_empty(),
        "no agent is offered a bot contact"
    );
    assert!(outs.contains(&Output::Bot(
        "c1".into(),
        BotInput::Start {
            language: Some("en".into()),
            voice: false,
        }
    )));
    assert_eq!(c.census().calls_with_bot, 1);

    // The customer's line goes to the customer and the bot; not to any agent.
    c.handle(
        now,
        Input::Chat {
            call: "c1".into(),
            party: ParticipantKind::Customer,
            agent: None,
            text: "  when is my bill due  ".into(),
            at_ms: 1,
        },
    )
    .unwrap();
    let outs = drain(&mut c);
    assert!(outs.iter().any(|o| matches!(o,
        Output::Bot(_, BotInput::Text { text, .. }) if text == "when is my bill due")));
    assert!(!outs
        .iter()
        .any(|o| matches!(o, Output::Notify(Recipient::Agent(_), _))));

    // An empty line or an agent who is not on the contact is refused.
    let empty = c.handle(
        now,
        Input::Chat {
            call: "c1".into(),
            party: ParticipantKind::Customer,
            agent: None,
            text: "   ".into(),
            at_ms: 2,
        },
    );
    assert_eq!(
        empty.unwrap_err().code(),
        crate::error::ErrorCode::BadMessage
    );
    let intruder = c.handle(
        now,
        Input::Chat {
            call: "c1".into(),
            party: ParticipantKind::Agent,
            agent: Some(bob.clone()),
            text: "hi".into(),
            at_ms: 2,
        },
    );
    assert!(intruder.is_err());
    assert!(drain(&mut c).is_empty());

    // The bot hands over: the contact is offered with its card.
    c.handle(
        now,
        Input::BotSaid {
            call: "c1".into(),
            turn: Box::new(BotTurn {
                text: "Passing you over.".into(),
                entry_id: None,
                escalate: Some((
                    EscalationReason::AskedForHuman,
                    card(EscalationReason::AskedForHuman),
                )),
                queue: None,
            }),
            at_ms: 3,
        },
    )
    .unwrap();
    let outs = drain(&mut c);
    let offer = outs.iter().find_map(|o| match o {
        Output::Notify(
            Recipient::Agent(a),
            Event::CallOffered {
                channel, handoff, ..
            },
        ) => Some((a.clone(), *channel, handoff.clone())),
        _ => None,
    });
    let (a, channel, handoff) = offer.expect("offered after the hand-over");
    assert_eq!(a, bob);
    assert_eq!(channel, Channel::Chat);
    assert_eq!(handoff.unwrap().reason, EscalationReason::AskedForHuman);
    assert_eq!(
        c.dashboard(now).calls[0].escalation,
        Some(EscalationReason::AskedForHuman)
    );

    // While it rings the bot still answers; after the accept it leaves and the chat is live.
    c.handle(
        now,
        Input::Chat {
            call: "c1".into(),
            party: ParticipantKind::Customer,
            agent: None,
            text: "still there?".into(),
            at_ms: 4,
        },
    )
    .unwrap();
    assert!(drain(&mut c)
        .iter()
        .any(|o| matches!(o, Output::Bot(_, BotInput::Text { .. }))));
    c.handle(
        now,
        Input::Accept {
            agent: bob.clone(),
            call: "c1".into(),
        },
    )
    .unwrap();
    let outs = drain(&mut c);
    assert!(outs.contains(&Output::Bot("c1".into(), BotInput::Stop)));
    assert!(
        outs.iter().any(|o| matches!(
            o,
            Output::Notify(
                Recipient::Customer(_),
                Event::CallState {
                    state: CallStateName::Connected,
                    ..
                }
            )
        )),
        "a chat is connected on accept: {outs:?}"
    );
    c.handle(
        now,
        Input::Chat {
            call: "c1".into(),
            party: ParticipantKind::Agent,
            agent: Some(bob.clone()),
            text: "Hello, I'm Bob".into(),
            at_ms: 5,
        },
    )
    .unwrap();
    let outs = drain(&mut c);
    assert!(outs.iter().any(|o| matches!(
        o,
        Output::Notify(
            Recipient::Customer(_),
            Event::Chat {
                from: ChatFrom::Agent,
                ..
            }
        )
    )));
    assert!(!outs.iter().any(|o| matches!(o, Output::Bot(..))));
    // A late bot answer after the accept is dropped.
    c.handle(
        now,
        Input::BotSaid {
            call: "c1".into(),
            turn: Box::new(BotTurn {
                text: "late".into(),
                entry_id: None,
                escalate: None,
                queue: None,
            }),
            at_ms: 6,
        },
    )
    .unwrap();
    assert!(drain(&mut c).is_empty());
}

#[test]
fn the_bot_speaks_in_voice_calls_and_only_there() {
    let now = t0();
    let mut c = CallCenter::new(CenterConfig::default());
    for (id, channel) in [("v1", Channel::Voice), ("c1", Channel::Chat)] {
        let start = Start {
            channel,
            bot: true,
            language: None,
            ..Default::default()
        };
        c.start_call(now, id.into(), CallerInfo::default(), start);
    }
    drain(&mut c);
    for id in ["v1", "c1"] {
        c.handle(
            now,
            Input::BotSaid {
                call: id.into(),
                turn: Box::new(BotTurn {
                    text: "Hello, how can I help?".into(),
                    entry_id: None,
                    escalate: None,
                    queue: None,
                }),
                at_ms: 1,
            },
        )
        .unwrap();
    }
    let outs = drain(&mut c);
    let spoken: Vec<&Output> = outs
        .iter()
        .filter(|o| matches!(o, Output::Speak(..)))
        .collect();
    assert_eq!(
        spoken,
        [&Output::Speak("v1".into(), "Hello, how can I help?".into())]
    );
    // Both still see the line as text.
    for id in ["v1", "c1"] {
        assert!(outs.iter().any(|o| matches!(o,
            Output::Notify(Recipient::Customer(c), Event::Chat { from: ChatFrom::Bot, .. }) if c.as_str() == id)));
    }
}
