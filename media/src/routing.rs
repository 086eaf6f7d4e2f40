//! Who hears and sees whom: a pure function of roles, the one place forwarding policy lives.

/// A participant's role in a room, as far as media is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    Customer,
    Agent,
    /// A supervisor listening silently: hears both sides, is heard by nobody.
    Listener,
}

/// What a subscriber's slot carries. Slots are fixed when the peer joins, from its role and
/// the m-lines of its offer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SlotKind {
    /// The other party's voice (customer hears agent, agent hears customer).
    OtherAudio,
    /// The other party's camera.
    OtherVideo,
    /// The customer's voice (listeners).
    CustomerAudio,
    /// The agent's voice (listeners).
    AgentAudio,
}

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

/// The slots a peer of `role` gets for the m-lines of its offer, in order (`None`: that
/// m-line carries nothing to this peer).
pub fn slots_for(role: Role, mlines: &[Kind]) -> Vec<Option<SlotKind>> {
    let mut audio_seen = 0;
    let mut video_seen = 0;
    mlines
        .iter()
        .map(|k| {
            let slot = match (role, k) {
                (Role::Customer | Role::Agent, Kind::Audio) if audio_seen == 0 => {
                    Some(SlotKind::OtherAudio)
                }
                (Role::Customer | Role::Agent, Kind::Video) if video_seen == 0 => {
                    Some(SlotKind::OtherVideo)
                }
                (Role::Listener, Kind::Audio) if audio_seen == 0 => Some(SlotKind::CustomerAudio),
                (Role::Listener, Kind::Audio) if audio_seen == 1 => Some(SlotKind::AgentAudio),
                _ => None,
            };
            match k {
                Kind::Audio => audio_seen += 1,
                Kind::Video => video_seen += 1,
            }
            slot
        })
        .collect()
}

/// Whether a slot of a subscriber with role `subscriber` carries a `kind` source published by
/// a participant with role `publisher`.
pub fn accepts(subscriber: Role, slot: SlotKind, publisher: Role, kind: Kind) -> bool {
    match (slot, kind) {
        (SlotKind::OtherAudio, Kind::Audio) | (SlotKind::OtherVideo, Kind::Video) => matches!(
            (subscriber, publisher),
            (Role::Customer, Role::Agent) | (Role::Agent, Role::Customer)
        ),
        (SlotKind::CustomerAudio, Kind::Audio) => {
            subscriber == Role::Listener && publisher == Role::Customer
        }
        (SlotKind::AgentAudio, Kind::Audio) => {
            subscriber == Role::Listener && publisher == Role::Agent
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Kind::*;
    use Role::*;

    /// Every (publisher, subscriber) pair: does any slot of the subscriber carry the publisher's audio?
    fn hears(sub: Role, publ: Role) -> bool {
        slots_for(sub, &[Audio, Audio, Video])
            .into_iter()
            .flatten()
            .any(|s| accepts(sub, s, publ, Audio))
    }

    #[test]
    fn forwarding_matrix() {
        assert!(hears(Agent, Customer));
        assert!(hears(Customer, Agent));
        assert!(hears(Listener, Customer));
        assert!(hears(Listener, Agent));
        // A listening supervisor is heard by nobody, and nobody hears themselves.
        for r in [Customer, Agent, Listener] {
            assert!(!hears(r, Listener), "{r:?} hears listener");
        }
        assert!(!hears(Customer, Customer));
        assert!(!hears(Agent, Agent));
    }

    #[test]
    fn slots_follow_mline_order() {
        assert_eq!(
            slots_for(Customer, &[Audio, Video, Audio]),
            vec![Some(SlotKind::OtherAudio), Some(SlotKind::OtherVideo), None]
        );
        assert_eq!(
            slots_for(Listener, &[Audio, Audio, Audio]),
            vec![
                Some(SlotKind::CustomerAudio),
                Some(SlotKind::AgentAudio),
                None
            ]
        );
        assert!(!accepts(Listener, SlotKind::CustomerAudio, Agent, Audio));
        assert!(accepts(Agent, SlotKind::OtherVideo, Customer, Video));
        assert!(!accepts(Agent, SlotKind::OtherVideo, Customer, Audio));
    }
}
