//! Errors of the media core.

use crate::{ParticipantId, RoomId};

#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// The offer could not be parsed or applied.
    #[error("bad SDP offer: {0}")]
    BadSdp(String),
    /// An ICE candidate could not be parsed or applied.
    #[error("bad ICE candidate: {0}")]
    BadCandidate(String),
    #[error("room {0} not found")]
    RoomNotFound(RoomId),
    #[error("participant {0} not found")]
    ParticipantNotFound(ParticipantId),
    #[error("participant {0} already exists")]
    ParticipantExists(ParticipantId),
    /// No UDP port of the configured range could be bound.
    #[error("no free UDP port in {0}-{1}")]
    NoPort(u16, u16),
    #[error("webrtc: {0}")]
    WebRtc(String),
}

pub type Result<T> = std::result::Result<T, MediaError>;
