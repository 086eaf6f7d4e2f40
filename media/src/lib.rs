//! Switchboard's media core: an SFU on `webrtc` 0.21 that terminates ICE, DTLS and SRTP for
//! every participant and forwards RTP between them by role.
//!
//! Vocabulary: a [`Room`] holds the [`Peer`]s of one call; each peer has a [`Role`]. A peer
//! *publishes* [`Source`]s (its microphone, its camera) and *subscribes* through fixed
//! [`DownTrack`] slots negotiated once, when it joins. Who hears whom is decided by
//! [`routing::accepts`], a pure function of roles; changing who is in the room only re-points
//! slots at other sources (with sequence and timestamp rewriting), so a participant joining or
//! leaving never renegotiates anyone else's connection.
//!
//! Server-side taps ([`Room::tap`]) receive a copy of a role's audio for the speech pipeline;
//! a tap that falls behind loses packets, counted, and never slows forwarding.
//!
//! This crate knows nothing of calls, queues, accounts or the signalling protocol.

#![forbid(unsafe_code)]

pub mod audio_tap;
mod config;
mod down_track;
mod error;
mod keyframe_requests;
mod metrics;
mod peer;
mod room;
pub mod routing;
pub mod sdp;
mod sfu;
mod source;

pub use audio_tap::{decode_tap, FrameQueue, OpusTap, PcmFrame, TAP_SAMPLE_RATE};
pub use config::MediaConfig;
pub use down_track::DownTrack;
pub use error::{MediaError, Result};
pub use metrics::MediaMetrics;
pub use peer::{MediaEvent, MediaEventKind, Peer};
pub use room::Room;
pub use routing::Kind;
pub use routing::{Role, SlotKind};
pub use sfu::Sfu;
pub use source::{Source, TapPacket};

/// Re-exported so users of the crate can read tapped packets without naming `rtc`.
pub use rtc::rtp::Packet as RtpPacket;

macro_rules! media_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub String);
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

media_id!(
    /// One room (one call).
    RoomId
);
media_id!(
    /// One participant's peer connection within a room.
    ParticipantId
);
