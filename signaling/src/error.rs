//! Errors of the signalling layer and the client-facing error codes they map to.

use crate::ids::{AgentId, CallId};
use serde::{Deserialize, Serialize};

/// Error codes sent to clients in `error` messages. Documented in `docs/protocol.md`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The frame was not valid JSON or not a JSON object.
    BadJson,
    /// `type` is missing or names no known message.
    UnknownType,
    /// A field is missing or has the wrong type.
    BadMessage,
    /// The frame exceeds the size limit.
    TooLarge,
    /// The client asked for a protocol version the server does not speak.
    UnsupportedVersion,
    /// The action needs a logged-in agent or supervisor.
    NotAuthenticated,
    /// Username or password is wrong.
    BadCredentials,
    /// The sender's role or call does not allow this action.
    Forbidden,
    /// The call, peer or user does not exist (or is not visible to the sender).
    NotFound,
    /// The action is not valid in the current state (accepting twice, listening to an ended call).
    WrongState,
    /// The SDP offer or ICE candidate could not be used.
    BadSdp,
    /// Too many messages in a short time.
    RateLimited,
    /// The server is shutting down.
    ShuttingDown,
    /// Something failed inside the server; details are in the server log only.
    Internal,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 14] = [
        ErrorCode::BadJson,
        ErrorCode::UnknownType,
        ErrorCode::BadMessage,
        ErrorCode::TooLarge,
        ErrorCode::UnsupportedVersion,
        ErrorCode::NotAuthenticated,
        ErrorCode::BadCredentials,
        ErrorCode::Forbidden,
        ErrorCode::NotFound,
        ErrorCode::WrongState,
        ErrorCode::BadSdp,
        ErrorCode::RateLimited,
        ErrorCode::ShuttingDown,
        ErrorCode::Internal,
    ];

    /// The wire name (`bad_json`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadJson => "bad_json",
            ErrorCode::UnknownType => "unknown_type",
            ErrorCode::BadMessage => "bad_message",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::UnsupportedVersion => "unsupported_version",
            ErrorCode::NotAuthenticated => "not_authenticated",
            ErrorCode::BadCredentials => "bad_credentials",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::WrongState => "wrong_state",
            ErrorCode::BadSdp => "bad_sdp",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::ShuttingDown => "shutting_down",
            ErrorCode::Internal => "internal",
        }
    }
}

#[cfg(test)]
mod wire_name_tests {
    use super::*;

    #[test]
    fn wire_names_match_serde() {
        for c in ErrorCode::ALL {
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
        }
    }
}

/// A signalling failure. Every variant maps to one [`ErrorCode`]; the message is safe to show.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum SignalError {
    #[error("call {0} not found")]
    CallNotFound(CallId),
    #[error("agent {0} not found")]
    AgentNotFound(AgentId),
    #[error("call {call} is not offered to or assigned to agent {agent}")]
    NotYourCall { call: CallId, agent: AgentId },
    #[error("call {call} is {state}; cannot {action}")]
    CallWrongState {
        call: CallId,
        state: &'static str,
        action: &'static str,
    },
    #[error("agent is {state}; cannot {action}")]
    AgentWrongState {
        state: &'static str,
        action: &'static str,
    },
    #[error("this session already has a call")]
    AlreadyInCall,
    #[error("{0}")]
    Forbidden(String),
    /// The call center is not running (the server is stopping).
    #[error("the server is shutting down")]
    Stopped,
    /// A well-formed message whose content is not acceptable (an empty chat line).
    #[error("{0}")]
    BadRequest(String),
}

impl SignalError {
    pub fn code(&self) -> ErrorCode {
        match self {
            SignalError::CallNotFound(_) | SignalError::AgentNotFound(_) => ErrorCode::NotFound,
            SignalError::NotYourCall { .. } | SignalError::Forbidden(_) => ErrorCode::Forbidden,
            SignalError::CallWrongState { .. }
            | SignalError::AgentWrongState { .. }
            | SignalError::AlreadyInCall => ErrorCode::WrongState,
            SignalError::Stopped => ErrorCode::ShuttingDown,
            SignalError::BadRequest(_) => ErrorCode::BadMessage,
        }
    }
}

pub type Result<T> = std::result::Result<T, SignalError>;
