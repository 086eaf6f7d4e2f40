//! Who hears and sees whom in one call, as data: made by the call center's policy, carried out
//! by the media room.

use crate::ParticipantId;

/// What one subscriber receives: the publishers whose audio (and video) feed its slots, in slot
/// order. Slot `k` of a kind carries the `k`-th publisher listed for that kind; a subscriber
/// with fewer slots than publishers receives the first ones only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    pub to: ParticipantId,
    pub audio: Vec<ParticipantId>,
    pub video: Vec<ParticipantId>,
}

/// The routes of every subscriber of a call. A participant without a route receives nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    pub routes: Vec<Route>,
}

impl Plan {
    /// The route of `to`, if it has one.
    pub fn route(&self, to: &ParticipantId) -> Option<&Route> {
        self.routes.iter().find(|r| &r.to == to)
    }

    /// Whether `to` receives `from`'s audio in any slot (given enough slots).
    pub fn hears(&self, to: &ParticipantId, from: &ParticipantId) -> bool {
        self.route(to).is_some_and(|r| r.audio.contains(from))
    }
}
