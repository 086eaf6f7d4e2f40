//! Switchboard signalling: the WebSocket wire protocol, call and agent state, and queue routing.
//!
//! This crate owns *what may happen* in a contact centre: who may act on which call, which
//! agent is offered which call, and what everyone is told. It owns no sockets, no clock and no
//! media: [`center::CallCenter`] is a sans-IO state machine driven by [`center::Input`]s and an
//! `Instant` supplied by the caller, and it produces [`center::Output`]s for the shell (the
//! `switchboard` binary) to deliver. It never depends on the `media` crate.

#![forbid(unsafe_code)]

pub mod center;
pub mod error;
pub mod ids;
pub mod protocol;

pub use error::{ErrorCode, SignalError};
pub use ids::*;
