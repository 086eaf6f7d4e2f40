//! Switchboard's media core: an SFU on `webrtc` 0.21 that terminates ICE, DTLS and SRTP for
//! every participant and forwards RTP between them as the call's plan says.
//!
//! Vocabulary (shared with the rest of Switchboard through `vocab`): a [`Room`] holds the
//! media of one call, keyed by its `CallId`. Its participants are browsers' [`Peer`]s and
//! server-side [`Voice`]s (the bot, announcements), each with a `ParticipantId` and a
//! `ParticipantKind`. A participant *publishes* [`Source`]s (a microphone, a camera, a voice)
//! and *subscribes* through fixed [`DownTrack`] slots, one per m-line of its offer, negotiated
//! once when it joins. Who hears whom is not decided here: the call center hands the room a
//! `Plan` listing, for each subscriber, the publishers that feed its slots in order
//! ([`plan::feeder`]). A new plan only re-points slots at other sources (with sequence and
//! timestamp rewriting), so a change of who hears whom never renegotiates a connection.
//!
//! Server-side taps ([`Room::tap`]) receive a copy of a kind of participant's audio for the
//! speech pipeline; a tap that falls behind loses packets, counted, and never slows forwarding.
//!
//! This crate knows nothing of queues, accounts or the signalling protocol.

#![forbid(unsafe_code)]

pub mod audio_tap;
#[doc(hidden)]
pub mod bench_support;
mod config;
mod down_track;
mod error;
mod keyframe_requests;
mod metrics;
mod peer;
pub mod plan;
mod room;
pub mod sdp;
mod sfu;
mod source;
mod voice;

pub use audio_tap::{decode_tap, FrameQueue, OpusTap, PcmFrame, TAP_SAMPLE_RATE};
pub use config::MediaConfig;
pub use down_track::DownTrack;
pub use error::{MediaError, Result};
pub use metrics::MediaMetrics;
pub use peer::{MediaEvent, MediaEventKind, Peer};
pub use plan::Kind;
pub use room::Room;
pub use sfu::Sfu;
pub use source::{Source, TapPacket};
pub use vocab::{CallId, ParticipantId, ParticipantKind, Plan, Route, SupervisorMode};
pub use voice::{Voice, VOICE_RATES};

/// Re-exported so users of the crate can read tapped packets without naming `rtc`.
pub use rtc::rtp::Packet as RtpPacket;
