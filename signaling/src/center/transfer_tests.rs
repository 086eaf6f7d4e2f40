//! Transfers in virtual time: the agent on a contact hands it to another queue; they wrap up,
//! it waits there ahead of others and is offered to that queue's agent with who sent it and
//! why, not back to the sender; refused transfers change nothing.

use super::routing::QueueRules;
use super::test_util::{drain, offers};
use super::*;

fn center() -> CallCenter {
    let q = |name: &str| QueueRules {
        name: name.into(),
        ..Default::default()
    };
    CallCenter::new(CenterConfig {
        queues: vec![q("billing"), q("technical")],
        wrap_up_s: 0,
        ..Default::default()
    })
}

fn agent(c: &mut CallCenter, now: Instant, name: &str, skill: &str) -> AgentId {
    let a = AgentId::from(name);
    c.agent_login(
        now,
        a.clone(),
        name.into(),
        [(skill.to_string(), 3u8)].into_iter().collect(),
    );
    c.set_availability(now, &a, true).unwrap();
    a
}

fn chat(c: &mut CallCenter, now: Instant, id: &str, queue: &str) {
    c.start_call(
        now,
        id.into(),
        CallerInfo::default(),
        Start {
            queue: Some(queue.into()),
            channel: Channel::Chat,
            ..Default::default()
        },
    );
}

fn agent_state(c: &CallCenter, a: &str) -> AgentState {
    c.agents[&AgentId::from(a)].state.clone()
}

#[test]
fn a_transferred_contact_waits_in_the_new_queue_ahead_and_reaches_its_agent() {
    let t0 = Instant::now();
    let mut c = center();
    let bill = agent(&mut c, t0, "bill", "billing");
    chat(&mut c, t0, "c1", "billing");
    c.accept(t0, &bill, &"c1".into()).unwrap();
    // Someone already waits for technical when the transfer comes (nobody can take it yet).
    let tess = AgentId::from("tess");
    c.agent_login(
        t0,
        tess.clone(),
        "tess".into(),
        [("technical".to_string(), 3u8)].into_iter().collect(),
    );
    chat(&mut c, t0, "c2", "technical");
    drain(&mut c);

    // Refused: no such queue, not the agent's contact, a note too long. Nothing changes.
    let t1 = t0 + Duration::from_secs(60);
    assert!(matches!(
        c.transfer(t1, &"c1".into(), &bill, "sales".into(), None),
        Err(SignalError::BadRequest(m)) if m.contains("technical")
    ));
    assert!(c
        .transfer(t1, &"c1".into(), &tess, "billing".into(), None)
        .is_err());
    assert!(c
        .transfer(
            t1,
            &"c1".into(),
            &bill,
            "technical".into(),
            Some("x".repeat(overflow::MAX_MESSAGE_CHARS + 1))
        )
        .is_err());
    assert!(drain(&mut c).is_empty());
    assert!(matches!(agent_state(&c, "bill"), AgentState::OnCall(_)));

    c.transfer(
        t1,
        &"c1".into(),
        &bill,
        " technical ".into(),
        Some("router reboots".into()),
    )
    .unwrap();
    let outs = drain(&mut c);
    assert!(outs.iter().any(|o| matches!(o,
        Output::Milestone(id, Milestone::Transferred { queue, from_queue: Some(f), .. })
            if id.as_str() == "c1" && queue == "technical" && f == "billing")));
    assert!(outs.iter().any(|o| matches!(o,
        Output::Notify(Recipient::Customer(id), Event::Transferred { queue, by, .. })
            if id.as_str() == "c1" && queue == "technical" && by.as_str() == "bill")));
    // Bill wraps up; the contact waits in technical ahead of c2, which came first.
    assert!(matches!(agent_state(&c, "bill"), AgentState::WrapUp { .. }));
    let board = c.dashboard(t1);
    let order: Vec<&str> = board.queue.iter().map(|q| q.call_id.as_str()).collect();
    assert_eq!(order, vec!["c1", "c2"]);
    assert_eq!(board.queue[0].queue.as_deref(), Some("technical"));

    // Tess is offered it first, with who sent it and why.
    c.set_availability(t1, &tess, true).unwrap();
    let outs = drain(&mut c);
    assert_eq!(offers(&outs), vec![("tess".to_string(), "c1".to_string())]);
    let view = outs
        .iter()
        .find_map(|o| match o {
            Output::Notify(_, Event::CallOffered { transfer, .. }) => transfer.clone(),
            _ => None,
        })
        .expect("the offer says it was transferred");
    assert_eq!(view.from_agent.as_str(), "bill");
    assert_eq!(view.from_queue.as_deref(), Some("billing"));
    assert_eq!(view.note.as_deref(), Some("router reboots"));
}

#[test]
fn a_transfer_to_the_same_queue_goes_to_another_agent_not_back() {
    let t0 = Instant::now();
    let mut c = center();
    let ann = agent(&mut c, t0, "ann", "billing");
    chat(&mut c, t0, "c1", "billing");
    c.accept(t0, &ann, &"c1".into()).unwrap();
    // A ringing contact cannot be transferred by the agent it rings for.
    let ben = agent(&mut c, t0, "ben", "billing");
    chat(&mut c, t0, "c2", "billing");
    drain(&mut c);
    assert!(c
        .transfer(t0, &"c2".into(), &ben, "billing".into(), None)
        .is_err());
    c.decline(t0, &ben, &"c2".into()).unwrap();
    c.handle(
        t0,
        Input::HangUp {
            call: "c2".into(),
            party: ParticipantKind::Customer,
            agent: None,
        },
    )
    .unwrap();
    drain(&mut c);

    // Ann hands c1 on within billing; she is ready again at once (wrap_up_s = 0 waits for
    // her), so only Ben may get it.
    c.transfer(t0, &"c1".into(), &ann, "billing".into(), None)
        .unwrap();
    c.set_availability(t0, &ann, true).unwrap();
    let outs = drain(&mut c);
    assert_eq!(offers(&outs), vec![("ben".to_string(), "c1".to_string())]);
}
