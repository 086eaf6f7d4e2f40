//! The typed ids of the shared vocabulary (`vocab`), re-exported for users of this crate.

pub use vocab::{AgentId, CallId, ParticipantId, SessionId, SupervisorId};
pub use vocab::{ParticipantKind, Plan, Route, SupervisorMode};
