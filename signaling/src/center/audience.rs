//! Who hears and sees whom in a call: the policy, as a pure function from the call's
//! participants to the [`Plan`] the media room carries out.
//!
//! - The customer hears the agent, or the bot while no agent is on the call, then any
//!   supervisor who barged in. They see the agent.
//! - The agent hears the customer, then supervisors who whisper or barge in. They see the
//!   customer.
//! - A supervisor hears the customer, the agent, the bot, then other supervisors who whisper
//!   or barge in. They see the customer.
//! - A listening supervisor is heard by nobody; a whispering one by the agent and other
//!   supervisors; a barging one by everyone. The bot hears through a tap, not a slot.
//!
//! Lists are in slot order: a participant with one audio slot gets the first entry only, so
//! the first entry is always the one that matters most to that participant.

use vocab::{ParticipantId, ParticipantKind, Plan, Route, SupervisorMode};

/// The plan for a call with these participants (in the order they joined).
pub fn plan(members: &[(ParticipantId, ParticipantKind)]) -> Plan {
    let of = |pred: &dyn Fn(ParticipantKind) -> bool| -> Vec<ParticipantId> {
        members
            .iter()
            .filter(|(_, k)| pred(*k))
            .map(|(id, _)| id.clone())
            .collect()
    };
    let customers = of(&|k| k == ParticipantKind::Customer);
    let agents = of(&|k| k == ParticipantKind::Agent);
    let bots = of(&|k| k == ParticipantKind::Bot);
    let barging = of(&|k| k == ParticipantKind::Supervisor(SupervisorMode::Barge));
    let speaking_sups = of(&|k| {
        matches!(
            k,
            ParticipantKind::Supervisor(SupervisorMode::Whisper | SupervisorMode::Barge)
        )
    });
    let mut routes = vec![];
    for (id, kind) in members {
        let not_me = |v: &Vec<ParticipantId>| -> Vec<ParticipantId> {
            v.iter().filter(|p| *p != id).cloned().collect()
        };
        let (audio, video) = match kind {
            ParticipantKind::Customer => {
                let primary = if agents.is_empty() { &bots } else { &agents };
                (cat(&[primary, &barging]), agents.clone())
            }
            ParticipantKind::Agent => (cat(&[&customers, &speaking_sups]), customers.clone()),
            ParticipantKind::Supervisor(_) => (
                cat(&[&customers, &agents, &bots, &not_me(&speaking_sups)]),
                customers.clone(),
            ),
            ParticipantKind::Bot => continue,
        };
        routes.push(Route {
            to: id.clone(),
            audio: not_me(&audio),
            video: not_me(&video),
        });
    }
    Plan { routes }
}

fn cat(lists: &[&Vec<ParticipantId>]) -> Vec<ParticipantId> {
    lists.iter().flat_map(|l| l.iter().cloned()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ParticipantKind::*;
    use SupervisorMode::*;

    fn id(s: &str) -> ParticipantId {
        ParticipantId::from(s)
    }

    fn call(sup_mode: Option<SupervisorMode>, bot: bool, agent: bool) -> Plan {
        let mut m = vec![(id("c"), Customer)];
        if bot {
            m.push((id("b"), Bot));
        }
        if agent {
            m.push((id("a"), Agent));
        }
        if let Some(mode) = sup_mode {
            m.push((id("s"), Supervisor(mode)));
        }
        plan(&m)
    }

    /// Who hears whom, as a set of (listener, speaker) pairs.
    fn hears(p: &Plan) -> Vec<(&str, &str)> {
        let mut v: Vec<(&str, &str)> = p
            .routes
            .iter()
            .flat_map(|r| r.audio.iter().map(move |a| (r.to.as_str(), a.as_str())))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn two_party_call() {
        let p = call(None, false, true);
        assert_eq!(hears(&p), vec![("a", "c"), ("c", "a")]);
        assert_eq!(p.route(&id("c")).unwrap().video, vec![id("a")]);
        assert_eq!(p.route(&id("a")).unwrap().video, vec![id("c")]);
    }

    #[test]
    fn listen_whisper_barge() {
        let listen = call(Some(Listen), false, true);
        assert_eq!(
            hears(&listen),
            vec![("a", "c"), ("c", "a"), ("s", "a"), ("s", "c")]
        );
        let whisper = call(Some(Whisper), false, true);
        assert!(whisper.hears(&id("a"), &id("s")));
        assert!(
            !whisper.hears(&id("c"), &id("s")),
            "the customer never hears a whisper"
        );
        let barge = call(Some(Barge), false, true);
        assert!(barge.hears(&id("a"), &id("s")));
        assert!(barge.hears(&id("c"), &id("s")));
        // The agent's first slot stays the customer; the customer's stays the agent.
        assert_eq!(barge.route(&id("a")).unwrap().audio, vec![id("c"), id("s")]);
        assert_eq!(barge.route(&id("c")).unwrap().audio, vec![id("a"), id("s")]);
        // The supervisor keeps hearing both sides, customer first.
        assert_eq!(barge.route(&id("s")).unwrap().audio, vec![id("c"), id("a")]);
    }

    #[test]
    fn the_bot_speaks_to_the_customer_until_an_agent_is_on_the_call() {
        let queued = call(None, true, false);
        assert_eq!(hears(&queued), vec![("c", "b")]);
        let handed_over = call(None, true, true);
        assert!(!handed_over.hears(&id("c"), &id("b")));
        assert!(handed_over.hears(&id("c"), &id("a")));
        let watched = call(Some(Listen), true, false);
        assert_eq!(
            watched.route(&id("s")).unwrap().audio,
            vec![id("c"), id("b")]
        );
    }

    #[test]
    fn nobody_hears_themselves_and_customers_never_hear_other_customers() {
        let p = plan(&[
            (id("c1"), Customer),
            (id("c2"), Customer),
            (id("s1"), Supervisor(Barge)),
            (id("s2"), Supervisor(Whisper)),
        ]);
        for r in &p.routes {
            assert!(!r.audio.contains(&r.to), "{r:?}");
        }
        assert!(!p.hears(&id("c1"), &id("c2")));
        assert!(p.hears(&id("s1"), &id("s2")));
        assert!(p.hears(&id("s2"), &id("s1")));
    }
}
