//! A room: the media of one call. It holds the call's participants (browsers' peer connections
//! and server-side voices), the call's [`Plan`] of who hears whom, and server-side taps, and
//! points every source at the slots the plan says it feeds.
//!
//! Every change (a participant joins or leaves, a source appears or ends, a new plan, a tap)
//! rewires under one lock, so two concurrent changes can never leave a stale wiring behind.

use crate::metrics::MediaMetrics;
use crate::peer::Peer;
use crate::plan::{feeder, Kind};
use crate::source::{Source, TapPacket};
use crate::voice::Voice;
use crate::{MediaError, Result};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;
use vocab::{CallId, ParticipantId, ParticipantKind, Plan};

#[derive(Default)]
struct State {
    peers: Vec<Arc<Peer>>,
    voices: Vec<Arc<Voice>>,
    taps: Vec<(ParticipantKind, Kind, mpsc::Sender<TapPacket>)>,
    plan: Plan,
    /// Set when the room is closed: nothing joins an ended room.
    ended: bool,
}

pub struct Room {
    id: CallId,
    state: Mutex<State>,
    metrics: MediaMetrics,
}

impl Room {
    pub(crate) fn new(id: CallId, metrics: MediaMetrics) -> Self {
        metrics.rooms.inc();
        Self {
            id,
            state: Mutex::new(State::default()),
            metrics,
        }
    }

    pub fn id(&self) -> &CallId {
        &self.id
    }

    pub fn peer(&self, participant: &ParticipantId) -> Option<Arc<Peer>> {
        self.state
            .lock()
            .expect("lock")
            .peers
            .iter()
            .find(|p| p.id() == participant)
            .cloned()
    }

    pub fn voice(&self, participant: &ParticipantId) -> Option<Arc<Voice>> {
        self.state
            .lock()
            .expect("lock")
            .voices
            .iter()
            .find(|v| v.id() == participant)
            .cloned()
    }

    /// Everyone in the room: peers and voices.
    pub fn participants(&self) -> Vec<(ParticipantId, ParticipantKind)> {
        let st = self.state.lock().expect("lock");
        st.peers
            .iter()
            .map(|p| (p.id().clone(), p.kind()))
            .chain(st.voices.iter().map(|v| (v.id().clone(), v.kind())))
            .collect()
    }

    pub fn is_ended(&self) -> bool {
        self.state.lock().expect("lock").ended
    }

    /// Replace who hears whom, and rewire.
    pub fn set_plan(&self, plan: Plan) {
        let mut st = self.state.lock().expect("lock");
        st.plan = plan;
        Self::rewire_locked(&mut st);
    }

    fn has(st: &State, participant: &ParticipantId) -> bool {
        st.peers.iter().any(|p| p.id() == participant)
            || st.voices.iter().any(|v| v.id() == participant)
    }

    pub(crate) fn add(&self, peer: Arc<Peer>) -> Result<()> {
        let mut st = self.state.lock().expect("lock");
        if st.ended {
            return Err(MediaError::RoomNotFound(self.id.clone()));
        }
        if Self::has(&st, peer.id()) {
            return Err(MediaError::ParticipantExists(peer.id().clone()));
        }
        st.peers.push(peer);
        Self::rewire_locked(&mut st);
        Ok(())
    }

    /// Add a server-side voice (the bot, an announcement) to the room. It is heard by whoever
    /// the plan routes it to.
    pub fn add_voice(&self, id: ParticipantId, kind: ParticipantKind) -> Result<Arc<Voice>> {
        let mut st = self.state.lock().expect("lock");
        if st.ended {
            return Err(MediaError::RoomNotFound(self.id.clone()));
        }
        if Self::has(&st, &id) {
            return Err(MediaError::ParticipantExists(id));
        }
        let voice = Arc::new(Voice::spawn(id, kind, &self.metrics));
        st.voices.push(voice.clone());
        Self::rewire_locked(&mut st);
        Ok(voice)
    }

    pub(crate) fn remove(&self, participant: &ParticipantId) -> Option<Arc<Peer>> {
        let mut st = self.state.lock().expect("lock");
        let i = st.peers.iter().position(|p| p.id() == participant)?;
        let removed = st.peers.remove(i);
        removed.sources().iter().for_each(|s| s.detach());
        Self::rewire_locked(&mut st);
        Some(removed)
    }

    /// Remove a voice; `false` if there was none with that id.
    pub fn remove_voice(&self, participant: &ParticipantId) -> bool {
        let mut st = self.state.lock().expect("lock");
        let Some(i) = st.voices.iter().position(|v| v.id() == participant) else {
            return false;
        };
        st.voices.remove(i).retire();
        Self::rewire_locked(&mut st);
        true
    }

    /// End the room: nothing may join it again. Returns its peers, to be closed.
    pub(crate) fn end(&self) -> Vec<Arc<Peer>> {
        let mut st = self.state.lock().expect("lock");
        st.ended = true;
        let peers = std::mem::take(&mut st.peers);
        // A voice may outlive the room in its owner's hands: it falls silent.
        std::mem::take(&mut st.voices)
            .iter()
            .for_each(|v| v.retire());
        st.taps.clear();
        for p in &peers {
            p.sources().iter().for_each(|s| s.detach());
        }
        peers
    }

    /// Receive a copy of every packet of `kind` that participants of `publisher` kind publish
    /// in this room (a supervisor's mode does not matter), now and later. The channel holds
    /// `capacity` packets; when the consumer falls behind, new packets are dropped and counted,
    /// and forwarding is not slowed.
    pub fn tap(
        &self,
        publisher: ParticipantKind,
        kind: Kind,
        capacity: usize,
    ) -> mpsc::Receiver<TapPacket> {
        let (tx, rx) = mpsc::channel(capacity);
        let mut st = self.state.lock().expect("lock");
        if !st.ended {
            st.taps.push((publisher, kind, tx));
            Self::rewire_locked(&mut st);
        }
        rx
    }

    /// Mute or unmute a participant's audio for everyone. `false` if no such participant.
    pub fn set_muted(&self, participant: &ParticipantId, muted: bool) -> bool {
        let st = self.state.lock().expect("lock");
        if let Some(p) = st.peers.iter().find(|p| p.id() == participant) {
            p.set_muted(muted);
            return true;
        }
        if let Some(v) = st.voices.iter().find(|v| v.id() == participant) {
            v.source.set_muted(muted);
            return true;
        }
        false
    }

    /// A participant's sources changed (a track started or ended): rewire.
    pub(crate) fn rewire(&self) {
        let mut st = self.state.lock().expect("lock");
        Self::rewire_locked(&mut st);
    }

    /// Point every source at the slots the plan says it feeds, and at the taps for its kind.
    fn rewire_locked(st: &mut State) {
        st.taps.retain(|(_, _, tx)| !tx.is_closed());
        // Each participant's first source of each kind is what it publishes of that kind.
        let mut published: HashMap<(&ParticipantId, Kind), Arc<Source>> = HashMap::new();
        let mut all: Vec<Arc<Source>> = vec![];
        for p in &st.peers {
            for s in p.sources() {
                published
                    .entry((p.id(), s.kind))
                    .or_insert_with(|| s.clone());
                all.push(s);
            }
        }
        for v in &st.voices {
            published
                .entry((v.id(), Kind::Audio))
                .or_insert_with(|| v.source.clone());
            all.push(v.source.clone());
        }
        let mut feeds: HashMap<*const Source, Vec<Arc<crate::DownTrack>>> = HashMap::new();
        for sub in &st.peers {
            for slot in &sub.slots {
                let (kind, index) = slot.slot();
                let Some(publisher) = feeder(&st.plan, sub.id(), kind, index) else {
                    continue;
                };
                if let Some(src) = published.get(&(publisher, kind)) {
                    feeds
                        .entry(Arc::as_ptr(src))
                        .or_default()
                        .push(slot.clone());
                }
            }
        }
        for s in &all {
            s.set_subscribers(feeds.remove(&Arc::as_ptr(s)).unwrap_or_default());
            s.set_taps(
                st.taps
                    .iter()
                    .filter(|(k, kind, _)| k.same_as(s.publisher_kind) && *kind == s.kind)
                    .map(|(_, _, tx)| tx.clone())
                    .collect(),
            );
        }
    }

    /// A subscriber asked for a keyframe: ask every video publisher except itself.
    pub(crate) fn request_keyframes(&self, except: &ParticipantId) {
        let peers = self.state.lock().expect("lock").peers.clone();
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
