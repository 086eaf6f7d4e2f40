//! A customer's page that reloads, in virtual time: the call waits while the customer's
//! session is away, the new peer connection replaces the old one in the plan, and a page that
//! does not come back ends the call as `customer_disconnected` (see `rejoin.rs`).

use super::test_util::{drain, start_chat, talking};
use super::*;

fn closed(outs: &[Output]) -> Option<EndReason> {
    outs.iter().find_map(|o| match o {
        Output::CloseCall(_, r) => Some(*r),
        _ => None,
    })
}

/// What the agent was last told of the customer's connection.
fn told_connected(outs: &[Output]) -> Option<bool> {
    outs.iter().rev().find_map(|o| match o {
        Output::Notify(
            Recipient::Agent(_),
            Event::PeerConnection {
                party: ParticipantKind::Customer,
                connected,
                ..
            },
        ) => Some(*connected),
        _ => None,
    })
}

fn last_plan(outs: &[Output]) -> Option<Plan> {
    outs.iter().rev().find_map(|o| match o {
        Output::Route(_, p) => Some(p.clone()),
        _ => None,
    })
}

#[test]
fn a_reloaded_page_rejoins_and_the_new_connection_replaces_the_old() {
    let t = Instant::now();
    let mut c = CallCenter::new(CenterConfig::default());
    let (call, _) = talking(&mut c, t);
    // The page goes: its connection (the session is kept), then its media.
    c.customer_away(t, &call, true);
    c.media_lost(t, &call, &"pc".into(), MediaLoss::Left)
        .unwrap();
    let outs = drain(&mut c);
    assert_eq!(closed(&outs), None, "{outs:?}");
    assert_eq!(told_connected(&outs), Some(false), "{outs:?}");
    let plan = last_plan(&outs).expect("re-routed without the customer");
    assert!(!plan.hears(&"pa".into(), &"pc".into()));
    // The call waits customer_rejoin_s for the page.
    let wait = Duration::from_secs(c.config().customer_rejoin_s);
    assert_eq!(c.poll_timeout(), Some(t + wait));
    c.handle_timeout(t + wait - Duration::from_millis(1));
    assert_eq!(closed(&drain(&mut c)), None);
    assert!(c.is_live(&call));

    // The new page resumes the session, then rejoins with a new connection.
    let back = t + Duration::from_secs(3);
    c.customer_away(back, &call, false);
    c.customer_rejoined(&call, Some("pc2".into())).unwrap();
    let outs = drain(&mut c);
    assert_eq!(told_connected(&outs), Some(true), "{outs:?}");
    let plan = last_plan(&outs).expect("re-routed with the new connection");
    assert!(plan.hears(&"pa".into(), &"pc2".into()));
    assert!(plan.hears(&"pc2".into(), &"pa".into()));
    assert!(!plan.hears(&"pa".into(), &"pc".into()));
    assert!(
        outs.iter().any(|o| matches!(
            o,
            Output::Notify(
                Recipient::Customer(id),
                Event::CallState {
                    state: CallStateName::Connected,
                    ..
                }
            ) if *id == call
        )),
        "the customer is told where the contact stands: {outs:?}"
    );
    assert_eq!(c.poll_timeout(), None, "nothing waits any more");
    c.handle_timeout(t + wait + Duration::from_secs(60));
    assert_eq!(closed(&drain(&mut c)), None);
    // The old connection's late news changes nothing.
    c.media_lost(back, &call, &"pc".into(), MediaLoss::Failed)
        .unwrap();
    assert_eq!(closed(&drain(&mut c)), None);
    assert_eq!(c.agent_of(&call), Some("a".into()));
}

#[test]
fn media_that_closes_first_waits_for_the_connection_to_go_too() {
    let t = Instant::now();
    let mut c = CallCenter::new(CenterConfig::default());
    let (call, _) = talking(&mut c, t);
    c.media_lost(t, &call, &"pc".into(), MediaLoss::Closed)
        .unwrap();
    assert_eq!(closed(&drain(&mut c)), None);
    c.customer_away(t + CLOSE_SETTLE / 2, &call, true);
    c.handle_timeout(t + CLOSE_SETTLE);
    assert_eq!(closed(&drain(&mut c)), None, "a reload, not a hang-up");
    assert!(c.is_live(&call));
}

#[test]
fn a_page_that_does_not_come_back_ends_the_call_as_a_disconnect() {
    let t = Instant::now();
    // Media closed and the connection stayed: the customer closed the call's media only.
    let mut c = CallCenter::new(CenterConfig::default());
    let (call, _) = talking(&mut c, t);
    c.media_lost(t, &call, &"pc".into(), MediaLoss::Closed)
        .unwrap();
    c.handle_timeout(t + CLOSE_SETTLE - Duration::from_millis(1));
    assert_eq!(closed(&drain(&mut c)), None);
    c.handle_timeout(t + CLOSE_SETTLE);
    assert_eq!(
        closed(&drain(&mut c)),
        Some(EndReason::CustomerDisconnected)
    );

    // The page went (connection, then media) and never came back, or came back and never
    // rejoined: the call ends customer_rejoin_s after the media went.
    for resumes in [false, true] {
        let mut c = CallCenter::new(CenterConfig::default());
        let (call, _) = talking(&mut c, t);
        c.customer_away(t, &call, true);
        c.media_lost(t, &call, &"pc".into(), MediaLoss::Left)
            .unwrap();
        if resumes {
            c.customer_away(t + Duration::from_secs(2), &call, false);
        }
        let wait = Duration::from_secs(c.config().customer_rejoin_s);
        assert_eq!(c.poll_timeout(), Some(t + wait));
        c.handle_timeout(t + wait);
        assert_eq!(
            closed(&drain(&mut c)),
            Some(EndReason::CustomerDisconnected)
        );
        // (only the agent's wrap-up is left to time)
        assert!(
            c.poll_timeout().is_none_or(|d| d > t + wait),
            "an ended call waits for nothing"
        );
    }

    // Media first, then the connection (the other order of a reload): the same wait, from
    // when the media went; going away and coming back again does not make it longer.
    let mut c = CallCenter::new(CenterConfig::default());
    let (call, _) = talking(&mut c, t);
    c.media_lost(t, &call, &"pc".into(), MediaLoss::Closed)
        .unwrap();
    c.customer_away(t + Duration::from_millis(300), &call, true);
    let wait = Duration::from_secs(c.config().customer_rejoin_s);
    assert_eq!(c.poll_timeout(), Some(t + wait));
    for k in 1..4 {
        let at = t + Duration::from_secs(2 * k);
        c.customer_away(at, &call, false);
        c.customer_away(at + Duration::from_secs(1), &call, true);
    }
    assert_eq!(c.poll_timeout(), Some(t + wait));
    c.handle_timeout(t + wait);
    assert_eq!(
        closed(&drain(&mut c)),
        Some(EndReason::CustomerDisconnected)
    );

    // A network that failed with the connection still up ends it at once, as before.
    let mut c = CallCenter::new(CenterConfig::default());
    let (call, _) = talking(&mut c, t);
    c.media_lost(t, &call, &"pc".into(), MediaLoss::Failed)
        .unwrap();
    assert_eq!(closed(&drain(&mut c)), Some(EndReason::MediaFailed));

    // ... and with the connection gone too, it waits for the page like a reload, then ends
    // as what it was.
    let mut c = CallCenter::new(CenterConfig::default());
    let (call, _) = talking(&mut c, t);
    c.customer_away(t, &call, true);
    c.media_lost(t, &call, &"pc".into(), MediaLoss::Failed)
        .unwrap();
    assert_eq!(closed(&drain(&mut c)), None);
    let wait = Duration::from_secs(c.config().customer_rejoin_s);
    c.handle_timeout(t + wait);
    assert_eq!(closed(&drain(&mut c)), Some(EndReason::MediaFailed));

    // A resumed session whose media never went away waits for nothing.
    let mut c = CallCenter::new(CenterConfig::default());
    let (call, _) = talking(&mut c, t);
    c.customer_away(t, &call, true);
    c.customer_away(t + Duration::from_secs(1), &call, false);
    assert_eq!(c.poll_timeout(), None);
}

#[test]
fn a_rejoin_that_does_not_fit_the_contact_is_refused_and_changes_nothing() {
    let t = Instant::now();
    let mut c = CallCenter::new(CenterConfig::default());
    let (call, _) = talking(&mut c, t);
    // A voice call needs the new connection.
    assert!(matches!(
        c.customer_rejoined(&call, None),
        Err(SignalError::BadRequest(_))
    ));
    // A chat has none.
    let chat = start_chat(&mut c, t, "c2");
    assert!(matches!(
        c.customer_rejoined(&chat, Some("x".into())),
        Err(SignalError::BadRequest(_))
    ));
    drain(&mut c);
    // Unknown or ended calls are not found.
    assert!(matches!(
        c.customer_rejoined(&"nope".into(), Some("x".into())),
        Err(SignalError::CallNotFound(_))
    ));
    c.end_call(t, &chat, EndReason::CustomerHungUp).unwrap();
    drain(&mut c);
    assert!(c.customer_rejoined(&chat, None).is_err());
    // The voice call is as it was: the customer's media is still the first connection.
    let plan = c.plan(&call);
    assert!(plan.hears(&"pa".into(), &"pc".into()));
    assert!(!plan.hears(&"pa".into(), &"x".into()));
    assert!(drain(&mut c).is_empty());
}

#[test]
fn a_chat_rejoins_without_media_and_a_muted_customer_comes_back_unmuted() {
    let t = Instant::now();
    let mut c = CallCenter::new(CenterConfig::default());
    let chat = start_chat(&mut c, t, "c2");
    drain(&mut c);
    c.customer_away(t, &chat, true);
    c.customer_away(t, &chat, false);
    assert_eq!(c.poll_timeout(), None, "a chat has no media to wait for");
    c.customer_rejoined(&chat, None).unwrap();
    assert!(drain(&mut c).iter().any(|o| matches!(
        o,
        Output::Notify(Recipient::Customer(id), Event::CallState { .. }) if *id == chat
    )));

    let mut c = CallCenter::new(CenterConfig::default());
    let (call, a) = talking(&mut c, t);
    c.set_muted(&call, ParticipantKind::Customer, None, true)
        .unwrap();
    drain(&mut c);
    c.customer_rejoined(&call, Some("pc2".into())).unwrap();
    let outs = drain(&mut c);
    assert!(
        outs.iter().any(|o| matches!(
            o,
            Output::Notify(
                Recipient::Agent(x),
                Event::PeerMuted { muted: false, .. }
            ) if *x == a
        )),
        "{outs:?}"
    );
    assert_eq!(
        told_connected(&outs),
        None,
        "a connection replaced before its media went is no news to the agent"
    );
}
