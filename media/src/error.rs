//! Errors of the media core.

use vocab::{CallId, ParticipantId};

#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// The offer could not be parsed or applied.
    #[error("bad SDP offer: {0}")]
    BadSdp(String),
    /// An ICE candidate could not be parsed or applied.
    #[error("bad ICE candidate: {0}")]
    BadCandidate(String),
    /// No open room for this call (never opened, or already closed).
    #[error("room {0} not found")]
    RoomNotFound(CallId),
    #[error("room {0} already exists")]
    RoomExists(CallId),
    #[error("participant {0} not found")]
    ParticipantNotFound(ParticipantId),
    #[error("participant {0} already exists")]
    ParticipantExists(ParticipantId),
    /// No UDP port of the configured range could be bound.
    #[error("no free UDP port in {0}-{1}")]
    NoPort(u16, u16),
    /// Audio handed to a server-side voice that it cannot play.
    #[error("bad audio: {0}")]
    BadAudio(String),
    /// A configuration value is out of range.
    #[error("media config: {0}")]
    Config(String),
    #[error("webrtc: {0}")]
    WebRtc(String),
}

pub type Result<T> = std::result::Result<T, MediaError>;
