//! A room: the peers of one call, and the wiring of sources to slots by role.

use crate::metrics::MediaMetrics;
use crate::peer::Peer;
use crate::routing::{accepts, Kind, Role};
use crate::source::TapPacket;
use crate::{ParticipantId, RoomId};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

pub struct Room {
    id: RoomId,
    peers: Mutex<Vec<Arc<Peer>>>,
    taps: Mutex<Vec<(Role, Kind, mpsc::Sender<TapPacket>)>>,
    metrics: MediaMetrics,
}

impl Room {
    pub(crate) fn new(id: RoomId, metrics: MediaMetrics) -> Self {
        metrics.rooms.inc();
        Self {
            id,
            peers: Mutex::new(vec![]),
            taps: Mutex::new(vec![]),
            metrics,
        }
    }

    pub fn id(&self) -> &RoomId {
        &self.id
    }

    pub fn peer(&self, participant: &ParticipantId) -> Option<Arc<Peer>> {
        self.peers
            .lock()
            .expect("lock")
            .iter()
            .find(|p| p.id() == participant)
            .cloned()
    }

    pub fn participants(&self) -> Vec<(ParticipantId, Role)> {
        self.peers
            .lock()
            .expect("lock")
            .iter()
            .map(|p| (p.id().clone(), p.role()))
            .collect()
    }

    pub(crate) fn add(&self, peer: Arc<Peer>) {
        self.peers.lock().expect("lock").push(peer);
        self.rewire();
    }

    pub(crate) fn remove(&self, participant: &ParticipantId) -> Option<Arc<Peer>> {
        let removed = {
            let mut peers = self.peers.lock().expect("lock");
            let idx = peers.iter().position(|p| p.id() == participant)?;
            peers.remove(idx)
        };
        self.rewire();
        Some(removed)
    }

    pub(crate) fn drain(&self) -> Vec<Arc<Peer>> {
        let peers = std::mem::take(&mut *self.peers.lock().expect("lock"));
        self.taps.lock().expect("lock").clear();
        for p in &peers {
            for s in p.sources() {
                s.set_subscribers(vec![]);
                s.set_taps(vec![]);
            }
        }
        peers
    }

    /// Receive a copy of every packet of `kind` that participants of `role` publish in this
    /// room, now and later. The channel holds `capacity` packets; when the consumer falls
    /// behind, new packets are dropped and counted, and forwarding is not slowed.
    pub fn tap(&self, role: Role, kind: Kind, capacity: usize) -> mpsc::Receiver<TapPacket> {
        let (tx, rx) = mpsc::channel(capacity);
        self.taps.lock().expect("lock").push((role, kind, tx));
        self.rewire();
        rx
    }

    /// Point every source at the slots routing says should carry it.
    pub(crate) fn rewire(&self) {
        let peers = self.peers.lock().expect("lock").clone();
        let mut taps = self.taps.lock().expect("lock");
        taps.retain(|(_, _, tx)| !tx.is_closed());
        for publisher in &peers {
            for source in publisher.sources() {
                let subs = peers
                    .iter()
                    .filter(|sub| !Arc::ptr_eq(sub, publisher))
                    .flat_map(|sub| {
                        sub.slots
                            .iter()
                            .filter(|slot| {
                                slot.kind == source.kind
                                    && accepts(sub.role(), slot.slot, source.role, source.kind)
                            })
                            .cloned()
                            .collect::<Vec<_>>()
                    })
                    .collect();
                source.set_subscribers(subs);
                source.set_taps(
                    taps.iter()
                        .filter(|(r, k, _)| *r == source.role && *k == source.kind)
                        .map(|(_, _, tx)| tx.clone())
                        .collect(),
                );
            }
        }
    }

    /// A subscriber asked for a keyframe: ask every video publisher except itself.
    pub(crate) fn request_keyframes(&self, except: &ParticipantId) {
        let peers = self.peers.lock().expect("lock").clone();
        for p in peers.iter().filter(|p| p.id() != except) {
            for s in p.sources() {
                if s.kind == Kind::Video {
                    s.request_keyframe();
                }
            }
        }
    }
}

impl Drop for Room {
    fn drop(&mut self) {
        self.metrics.rooms.dec();
    }
}
