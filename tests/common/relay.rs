//! A UDP relay between a test peer and the server, to make a peer's network vanish without the
//! peer closing anything: no RTCP BYE, no DTLS close, its WebSocket open; packets just stop.
//!
//! The peer's offer goes without its own candidates, and the answer's server candidate is
//! replaced by the relay's client-facing port, so every packet between the two passes the
//! relay: the server only learns the relay's server-facing address (peer-reflexive).

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::net::UdpSocket;

pub struct Relay {
    /// The address the peer is told the server is at.
    pub client_facing: SocketAddr,
    cut: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Relay {
    pub async fn start(server: SocketAddr) -> Relay {
        let a = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        let b = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        let client_facing = a.local_addr().unwrap();
        let cut = Arc::new(AtomicBool::new(false));
        let client: Arc<Mutex<Option<SocketAddr>>> = Arc::default();
        let up = {
            let (a, b, cut, client) = (a.clone(), b.clone(), cut.clone(), client.clone());
            tokio::spawn(async move {
                let mut buf = vec![0u8; 2048];
                while let Ok((n, from)) = a.recv_from(&mut buf).await {
                    *client.lock().unwrap() = Some(from);
                    if !cut.load(Ordering::Relaxed) {
                        let _ = b.send_to(&buf[..n], server).await;
                    }
                }
            })
        };
        let down = {
            let cut = cut.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 2048];
                while let Ok((n, _)) = b.recv_from(&mut buf).await {
                    let to = *client.lock().unwrap();
                    if let (Some(to), false) = (to, cut.load(Ordering::Relaxed)) {
                        let _ = a.send_to(&buf[..n], to).await;
                    }
                }
            })
        };
        Relay {
            client_facing,
            cut,
            tasks: vec![up, down],
        }
    }

    /// From now on nothing passes, either way.
    pub fn cut(&self) {
        self.cut.store(true, Ordering::Relaxed);
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// An offer without the peer's own candidates.
pub fn strip_candidates(sdp: &str) -> String {
    sdp.split("\r\n")
        .filter(|l| !l.starts_with("a=candidate") && !l.starts_with("a=end-of-candidates"))
        .collect::<Vec<_>>()
        .join("\r\n")
}

/// The first UDP host candidate of an answer, and the answer with only that candidate, moved
/// to `relay`.
pub fn server_candidate(sdp: &str) -> SocketAddr {
    sdp.split("\r\n")
        .find_map(|l| {
            let c = l.strip_prefix("a=candidate:")?;
            let f: Vec<&str> = c.split_whitespace().collect();
            (f.len() > 7 && f[2].eq_ignore_ascii_case("udp") && f[7] == "host")
                .then(|| format!("{}:{}", f[4], f[5]).parse().ok())
                .flatten()
        })
        .expect("a UDP host candidate in the answer")
}

pub fn via_relay(sdp: &str, server: SocketAddr, relay: SocketAddr) -> String {
    sdp.split("\r\n")
        .filter_map(|l| {
            if !l.starts_with("a=candidate:") {
                return Some(l.to_string());
            }
            let f: Vec<&str> = l.split_whitespace().collect();
            let this = format!("{}:{}", f.get(4)?, f.get(5)?);
            (this == server.to_string()).then(|| {
                l.replacen(
                    &format!(" {} {} ", server.ip(), server.port()),
                    &format!(" {} {} ", relay.ip(), relay.port()),
                    1,
                )
            })
        })
        .collect::<Vec<_>>()
        .join("\r\n")
}
