//! Which source feeds which slot: a pure function of the call's [`Plan`] and of what each
//! participant publishes. The policy (who may hear whom) is not here: it is the call center's,
//! handed to the room as a [`Plan`].

use vocab::{ParticipantId, Plan};

/// Media kind of a source or slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Audio,
    Video,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Audio => "audio",
            Kind::Video => "video",
        }
    }
}

/// Most slots a subscriber gets per kind: enough for a customer hearing an agent and a barging
/// supervisor, or a supervisor hearing customer, agent and bot.
pub const MAX_SLOTS: usize = 4;

/// The slot each m-line of an offer gets, in order: `(kind, index among slots of that kind)`,
/// or `None` past [`MAX_SLOTS`] of a kind.
pub fn slots_for(mlines: &[Kind]) -> Vec<Option<(Kind, usize)>> {
    let (mut audio, mut video) = (0, 0);
    mlines
        .iter()
        .map(|&k| {
            let n = match k {
                Kind::Audio => &mut audio,
                Kind::Video => &mut video,
            };
            let slot = (*n < MAX_SLOTS).then_some((k, *n));
            *n += 1;
            slot
        })
        .collect()
}

/// The publisher whose `kind` source feeds slot `index` of `subscriber`, if any. Nobody is
/// ever fed their own media, whatever the plan says.
pub fn feeder<'a>(
    plan: &'a Plan,
    subscriber: &ParticipantId,
    kind: Kind,
    index: usize,
) -> Option<&'a ParticipantId> {
    let route = plan.route(subscriber)?;
    let list = match kind {
        Kind::Audio => &route.audio,
        Kind::Video => &route.video,
    };
    list.get(index).filter(|p| *p != subscriber)
}

#[cfg(test)]
mod tests {
    use super::*;
    use vocab::Route;
    use Kind::*;

    fn id(s: &str) -> ParticipantId {
        ParticipantId::from(s)
    }

    #[test]
    fn slots_follow_mline_order_per_kind() {
        assert_eq!(
            slots_for(&[Audio, Video, Audio]),
            vec![Some((Audio, 0)), Some((Video, 0)), Some((Audio, 1))]
        );
        let many = slots_for(&[Audio; 6]);
        assert_eq!(many[3], Some((Audio, 3)));
        assert_eq!(many[4], None);
    }

    #[test]
    fn slot_k_carries_the_kth_listed_publisher() {
        let plan = Plan {
            routes: vec![Route {
                to: id("agent"),
                audio: vec![id("customer"), id("sup")],
                video: vec![id("customer")],
            }],
        };
        assert_eq!(feeder(&plan, &id("agent"), Audio, 0), Some(&id("customer")));
        assert_eq!(feeder(&plan, &id("agent"), Audio, 1), Some(&id("sup")));
        assert_eq!(feeder(&plan, &id("agent"), Audio, 2), None);
        assert_eq!(feeder(&plan, &id("agent"), Video, 0), Some(&id("customer")));
        // Not in the plan: hears nothing.
        assert_eq!(feeder(&plan, &id("customer"), Audio, 0), None);
    }

    #[test]
    fn nobody_is_fed_their_own_media() {
        let plan = Plan {
            routes: vec![Route {
                to: id("a"),
                audio: vec![id("a")],
                video: vec![],
            }],
        };
        assert_eq!(feeder(&plan, &id("a"), Audio, 0), None);
    }
}
