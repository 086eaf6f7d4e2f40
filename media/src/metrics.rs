//! Prometheus metrics of the media core, registered by the binary into its registry.

use prometheus::{IntCounter, IntCounterVec, IntGauge, Opts, Registry};

#[derive(Clone)]
pub struct MediaMetrics {
    pub forwarded_packets: IntCounterVec,
    pub forwarded_bytes: IntCounterVec,
    pub dropped_packets: IntCounter,
    pub tap_dropped_packets: IntCounter,
    pub audio_frames: IntCounterVec,
    pub audio_dropped_frames: IntCounter,
    pub peer_connections: IntGauge,
    pub rooms: IntGauge,
}

impl MediaMetrics {
    pub fn new(registry: &Registry) -> prometheus::Result<Self> {
        let m = Self {
            forwarded_packets: IntCounterVec::new(
                Opts::new(
                    "switchboard_forwarded_rtp_packets_total",
                    "RTP packets forwarded to subscribers",
                ),
                &["kind"],
            )?,
            forwarded_bytes: IntCounterVec::new(
                Opts::new(
                    "switchboard_forwarded_rtp_bytes_total",
                    "RTP payload bytes forwarded to subscribers",
                ),
                &["kind"],
            )?,
            dropped_packets: IntCounter::new(
                "switchboard_forward_dropped_packets_total",
                "RTP packets dropped because a subscriber's queue was full",
            )?,
            tap_dropped_packets: IntCounter::new(
                "switchboard_tap_dropped_packets_total",
                "RTP packets a server-side tap could not take (it fell behind)",
            )?,
            audio_frames: IntCounterVec::new(
                Opts::new(
                    "switchboard_tap_audio_frames_total",
                    "Audio frames decoded by server-side taps: decoded, concealed (PLC), recovered (FEC), late",
                ),
                &["outcome"],
            )?,
            audio_dropped_frames: IntCounter::new(
                "switchboard_speech_dropped_audio_frames_total",
                "Decoded audio frames dropped because the speech pipeline fell behind (oldest first)",
            )?,
            peer_connections: IntGauge::new(
                "switchboard_peer_connections",
                "Open peer connections",
            )?,
            rooms: IntGauge::new("switchboard_rooms", "Open media rooms")?,
        };
        registry.register(Box::new(m.forwarded_packets.clone()))?;
        registry.register(Box::new(m.forwarded_bytes.clone()))?;
        registry.register(Box::new(m.dropped_packets.clone()))?;
        registry.register(Box::new(m.tap_dropped_packets.clone()))?;
        registry.register(Box::new(m.audio_frames.clone()))?;
        registry.register(Box::new(m.audio_dropped_frames.clone()))?;
        registry.register(Box::new(m.peer_connections.clone()))?;
        registry.register(Box::new(m.rooms.clone()))?;
        // Every series at zero from the start, not only after the first packet.
        for k in ["audio", "video"] {
            m.forwarded_packets.with_label_values(&[k]);
            m.forwarded_bytes.with_label_values(&[k]);
        }
        for o in ["decoded", "concealed", "recovered", "late", "corrupt"] {
            m.audio_frames.with_label_values(&[o]);
        }
        Ok(m)
    }

    /// Metrics registered nowhere, for tests and tools.
    pub fn unregistered() -> Self {
        Self::new(&Registry::new()).expect("fresh registry")
    }
}
