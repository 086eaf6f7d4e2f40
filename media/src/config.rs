//! Media configuration: where to bind, what to advertise, ICE timing.

use serde::{Deserialize, Serialize};
use std::net::IpAddr;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct MediaConfig {
    /// Local addresses to bind UDP sockets on. `0.0.0.0` means every non-loopback interface.
    pub bind_ips: Vec<IpAddr>,
    /// First UDP port for peer connections (0 with `port_max` 0: any free port).
    pub port_min: u16,
    /// Last UDP port for peer connections.
    pub port_max: u16,
    /// Addresses to advertise in ICE candidates instead of the bound ones (a server behind
    /// NAT advertises its public address). Empty: advertise what is bound.
    pub public_ips: Vec<String>,
    /// ICE reports a peer disconnected after this long without traffic (ms).
    pub ice_disconnected_ms: u64,
    /// ICE gives up on a peer after this long without traffic (ms), counted from the last
    /// packet like `ice_disconnected_ms`, not after it.
    pub ice_failed_ms: u64,
    /// How often the server sends ICE keepalives (ms); also the resolution of the two timers.
    pub ice_keepalive_ms: u64,
    /// Resolve browsers' mDNS (`.local`) candidates. Off by default: a server needs no mDNS
    /// (browsers reach it through its own candidates and are learnt as peer-reflexive), and
    /// in a container or namespace without a multicast route the mDNS socket cannot be
    /// opened. When on and the socket fails, calls go on without it (logged once).
    pub mdns: bool,
    /// Packets queued per subscriber before the oldest are dropped.
    pub down_track_queue: usize,
}

impl Default for MediaConfig {
    fn default() -> Self {
        Self {
            bind_ips: vec![IpAddr::from([127, 0, 0, 1])],
            port_min: 0,
            port_max: 0,
            public_ips: vec![],
            ice_disconnected_ms: 4000,
            ice_failed_ms: 8000,
            ice_keepalive_ms: 1000,
            mdns: false,
            down_track_queue: 256,
        }
    }
}
