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
    /// Pacing of ICE connectivity checks while a peer connects (ms). The ICE agent also runs
    /// its work on this tick before it is connected, so it bounds how soon a call has audio:
    /// at the `webrtc` crate's 200 ms every call waited about 200 ms on loopback, at 20 ms
    /// accept to two-way audio takes about 40 ms (RFC 8445 allows pacing down to 5 ms). A pair
    /// is tried for about 1.4 s whatever the pacing.
    pub ice_check_interval_ms: u64,
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
            ice_check_interval_ms: 20,
            mdns: false,
            down_track_queue: 256,
        }
    }
}

impl MediaConfig {
    /// Checks that the values make sense together; the server refuses to start otherwise.
    pub fn validate(&self) -> crate::Result<()> {
        let bad = |m: String| Err(crate::MediaError::Config(m));
        match (self.port_min, self.port_max) {
            (0, 0) => {}
            (0, max) => {
                return bad(format!(
                    "port_max = {max} needs port_min too (or both 0: any free port)"
                ))
            }
            (min, 0) => {
                return bad(format!(
                    "port_min = {min} needs port_max too (or both 0: any free port)"
                ))
            }
            (min, max) if min > max => {
                return bad(format!("port_min = {min} is above port_max = {max}"))
            }
            _ => {}
        }
        if self.bind_ips.is_empty() {
            return bad("bind_ips is empty: list at least one address".into());
        }
        if self.ice_keepalive_ms == 0 {
            return bad("ice_keepalive_ms must be above 0".into());
        }
        if !(5..=1000).contains(&self.ice_check_interval_ms) {
            return bad(format!(
                "ice_check_interval_ms = {} must be 5..=1000",
                self.ice_check_interval_ms
            ));
        }
        if self.ice_disconnected_ms == 0 || self.ice_failed_ms <= self.ice_disconnected_ms {
            return bad(format!(
                "ice_failed_ms ({}) must be above ice_disconnected_ms ({}), which must be above 0",
                self.ice_failed_ms, self.ice_disconnected_ms
            ));
        }
        if self.down_track_queue == 0 {
            return bad("down_track_queue must be above 0".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_ranges_are_checked() {
        let with = |min, max| MediaConfig {
            port_min: min,
            port_max: max,
            ..Default::default()
        };
        assert!(with(0, 0).validate().is_ok());
        assert!(with(40000, 40100).validate().is_ok());
        assert!(with(40000, 40000).validate().is_ok());
        let e = with(40000, 0).validate().unwrap_err().to_string();
        assert!(e.contains("port_min = 40000 needs port_max"), "{e}");
        assert!(with(0, 40000).validate().is_err());
        assert!(with(40100, 40000).validate().is_err());
    }

    #[test]
    fn timers_are_checked() {
        let c = MediaConfig {
            ice_disconnected_ms: 5000,
            ice_failed_ms: 4000,
            ..Default::default()
        };
        assert!(c.validate().is_err());
        assert!(MediaConfig::default().validate().is_ok());
    }
}
