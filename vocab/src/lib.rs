//! Switchboard's shared vocabulary: the words every layer uses for the same things.
//!
//! A leaf crate (it depends on nothing of ours) so that `signaling`, `media` and the binary can
//! all speak of a [`CallId`], a [`ParticipantId`] or a [`ParticipantKind`] without depending on
//! each other. One typed id per concept; one participant kind used by the protocol, the call
//! center, media routing, the speech pipeline and the store.

#![forbid(unsafe_code)]

mod ids;
mod participant;
mod plan;

pub use ids::*;
pub use participant::{ParticipantKind, SupervisorMode};
pub use plan::{Plan, Route};
