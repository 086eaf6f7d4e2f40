//! Joining and leaving calls, for any participant: the sagas that create media and tell the
//! call center, with compensation when a step fails. A WebSocket session calls them for a
//! browser; a server-side participant (the queue announcement, later the bot) uses the same
//! code without a socket ([`voice`]).

pub mod bot;
pub mod driver;
pub mod echo;
pub mod present;
pub mod setup;
pub mod speaker;
pub mod turns;
pub mod voice;

use media::MediaError;
use signaling::{ErrorCode, SignalError};
use std::time::Duration;

/// Who is on the other end of a session: what its closing has to undo.
#[derive(Clone, Debug, PartialEq)]
pub enum Identity {
    Anonymous,
    /// A customer, with their (latest) call.
    Customer(signaling::CallId),
    Agent(signaling::AgentId),
    Supervisor(signaling::SupervisorId),
}

/// A refused request: nothing changed. Sessions turn it into an `error` frame.
#[derive(Debug)]
pub struct Refusal {
    pub code: ErrorCode,
    pub message: String,
    pub retry_after: Option<Duration>,
}

impl Refusal {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// `rate_limited`, with when to try again.
    pub fn retry(message: impl Into<String>, after: Duration) -> Self {
        Self {
            code: ErrorCode::RateLimited,
            message: message.into(),
            retry_after: Some(after),
        }
    }
}

impl From<SignalError> for Refusal {
    fn from(e: SignalError) -> Self {
        Self::new(e.code(), e.to_string())
    }
}

impl From<MediaError> for Refusal {
    fn from(e: MediaError) -> Self {
        match e {
            MediaError::BadSdp(_) | MediaError::BadCandidate(_) => {
                Self::new(ErrorCode::BadSdp, e.to_string())
            }
            MediaError::RoomNotFound(_) | MediaError::ParticipantNotFound(_) => {
                Self::new(ErrorCode::NotFound, e.to_string())
            }
            other => {
                tracing::error!("media: {other}");
                Self::new(ErrorCode::Internal, "media setup failed")
            }
        }
    }
}
