//! The SFU: creates rooms and answers participants' offers with peer connections.

use crate::config::MediaConfig;
use crate::down_track::{DownTrack, SlotSpec};
use crate::metrics::MediaMetrics;
use crate::peer::{Handler, MediaEvent, Peer, PeerShared};
use crate::room::Room;
use crate::routing::{slots_for, Kind, Role, SlotKind};
use crate::{MediaError, ParticipantId, Result, RoomId};
use rtc::ice::mdns::MulticastDnsMode;
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::setting_engine::SettingEngineBuilder;
use rtc::peer_connection::transport::RTCIceCandidateType;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, Notify};
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::peer_connection::{
    register_default_interceptors, PeerConnection, PeerConnectionBuilder,
    PeerConnectionEventHandler, RTCSessionDescription, Registry,
};

pub struct Sfu {
    config: MediaConfig,
    metrics: MediaMetrics,
    rooms: Mutex<HashMap<RoomId, Arc<Room>>>,
    next_port: AtomicU32,
    /// Set when opening the mDNS socket failed once: later peers do not try again.
    mdns_failed: AtomicBool,
}

impl Sfu {
    pub fn new(config: MediaConfig, metrics: MediaMetrics) -> Arc<Self> {
        let first = config.port_min as u32;
        Arc::new(Self {
            config,
            metrics,
            rooms: Mutex::new(HashMap::new()),
            next_port: AtomicU32::new(first),
            mdns_failed: AtomicBool::new(false),
        })
    }

    pub fn metrics(&self) -> &MediaMetrics {
        &self.metrics
    }

    /// The room with this id, created if needed.
    pub fn room(&self, id: &RoomId) -> Arc<Room> {
        self.rooms
            .lock()
            .expect("lock")
            .entry(id.clone())
            .or_insert_with(|| Arc::new(Room::new(id.clone(), self.metrics.clone())))
            .clone()
    }

    pub fn find_room(&self, id: &RoomId) -> Option<Arc<Room>> {
        self.rooms.lock().expect("lock").get(id).cloned()
    }

    pub fn room_count(&self) -> usize {
        self.rooms.lock().expect("lock").len()
    }

    /// Answer `offer_sdp` with a new peer connection for `participant` in `room_id`.
    /// Returns the peer and the SDP answer (with the server's ICE candidates in it).
    pub async fn join(
        &self,
        room_id: &RoomId,
        participant: ParticipantId,
        role: Role,
        offer_sdp: &str,
        events: mpsc::UnboundedSender<MediaEvent>,
    ) -> Result<(Arc<Peer>, String)> {
        let summary = crate::sdp::check_offer(offer_sdp)?;
        let mlines = summary.mlines;
        let offer = RTCSessionDescription::offer(offer_sdp.to_string())
            .map_err(|e| MediaError::BadSdp(e.to_string()))?;
        let room = self.room(room_id);
        if room.peer(&participant).is_some() {
            return Err(MediaError::ParticipantExists(participant));
        }

        let shared = Arc::new(PeerShared {
            room_id: room_id.clone(),
            participant: participant.clone(),
            role,
            room: Arc::downgrade(&room),
            sources: Mutex::new(vec![]),
            muted: AtomicBool::new(false),
            connected: Arc::new(AtomicBool::new(false)),
            left: AtomicBool::new(false),
            events,
            gathered: Notify::new(),
            metrics: self.metrics.clone(),
        });
        let pc = self.build_pc(shared.clone()).await?;

        let fail = |e: webrtc::error::Error| MediaError::BadSdp(e.to_string());
        if let Err(e) = pc.set_remote_description(offer).await {
            let _ = pc.close().await;
            return Err(fail(e));
        }

        let kinds: Vec<Kind> = mlines.iter().flatten().copied().collect();
        let mut pending = vec![];
        for slot in slots_for(role, &kinds).into_iter().flatten() {
            let (kind, codec, clock) = match slot {
                SlotKind::OtherVideo => (
                    Kind::Video,
                    crate::sdp::video_codec(summary.video.unwrap_or(crate::sdp::VideoCodec::Vp8)),
                    90000,
                ),
                _ => (Kind::Audio, crate::sdp::opus(), 48000),
            };
            let ssrc: u32 = rand::random();
            let track = Arc::new(TrackLocalStaticRTP::new(MediaStreamTrack::new(
                format!("switchboard-{participant}"),
                format!("{participant}-{}", pending.len()),
                format!("{slot:?}"),
                match kind {
                    Kind::Audio => RtpCodecKind::Audio,
                    Kind::Video => RtpCodecKind::Video,
                },
                vec![RTCRtpEncodingParameters {
                    rtp_coding_parameters: RTCRtpCodingParameters {
                        ssrc: Some(ssrc),
                        ..Default::default()
                    },
                    codec,
                    ..Default::default()
                }],
            )));
            let sender = match pc.add_track(track.clone() as Arc<dyn TrackLocal>).await {
                Ok(s) => s,
                Err(e) => {
                    let _ = pc.close().await;
                    return Err(MediaError::WebRtc(e.to_string()));
                }
            };
            pending.push((slot, kind, ssrc, clock, track, sender));
        }

        let answer = match pc.create_answer(None).await {
            Ok(a) => a,
            Err(e) => {
                let _ = pc.close().await;
                return Err(fail(e));
            }
        };
        if let Err(e) = pc.set_local_description(answer).await {
            let _ = pc.close().await;
            return Err(fail(e));
        }
        // Host candidates gather at once; wait so the answer carries them.
        let _ = tokio::time::timeout(Duration::from_secs(3), shared.gathered.notified()).await;

        let mut slots = vec![];
        for (slot, kind, ssrc, clock, track, sender) in pending {
            let pt = sender
                .get_parameters()
                .await
                .ok()
                .and_then(|p| p.rtp_parameters.codecs.first().map(|c| c.payload_type))
                .unwrap_or(if kind == Kind::Audio { 111 } else { 96 });
            let weak_room = Arc::downgrade(&room);
            let me = participant.clone();
            let on_kf: Arc<dyn Fn() + Send + Sync> = Arc::new(move || {
                if let Some(r) = weak_room.upgrade() {
                    r.request_keyframes(&me);
                }
            });
            slots.push(DownTrack::spawn(
                SlotSpec {
                    slot,
                    kind,
                    ssrc,
                    payload_type: pt,
                    clock_rate: clock,
                },
                track,
                self.config.down_track_queue,
                shared.connected.clone(),
                on_kf,
            ));
        }

        let sdp = match pc.local_description().await {
            Some(d) => {
                crate::sdp::advertise(&d.sdp, &self.config.bind_ips, &self.config.public_ips)
            }
            None => {
                let _ = pc.close().await;
                return Err(MediaError::WebRtc("no local description".into()));
            }
        };
        let peer = Arc::new(Peer::new(shared, pc, slots));
        room.add(peer.clone());
        tracing::info!(room = %room_id, participant = %participant, ?role, "joined");
        Ok((peer, sdp))
    }

    /// Remove a participant from a room and close its connection.
    pub async fn leave(&self, room_id: &RoomId, participant: &ParticipantId) -> Result<()> {
        let room = self
            .find_room(room_id)
            .ok_or_else(|| MediaError::RoomNotFound(room_id.clone()))?;
        let peer = room
            .remove(participant)
            .ok_or_else(|| MediaError::ParticipantNotFound(participant.clone()))?;
        peer.close().await;
        Ok(())
    }

    /// Close a room and every peer in it.
    pub async fn close_room(&self, room_id: &RoomId) {
        let room = self.rooms.lock().expect("lock").remove(room_id);
        if let Some(room) = room {
            for p in room.drain() {
                p.close().await;
            }
        }
    }

    /// Close everything (shutdown).
    pub async fn close_all(&self) {
        let ids: Vec<RoomId> = self.rooms.lock().expect("lock").keys().cloned().collect();
        for id in ids {
            self.close_room(&id).await;
        }
    }

    async fn build_pc(&self, shared: Arc<PeerShared>) -> Result<Arc<dyn PeerConnection>> {
        let (min, max) = (self.config.port_min, self.config.port_max);
        let attempts = if min == 0 { 1 } else { (max - min) as u32 + 1 };
        let mut last_err = None;
        for _ in 0..attempts {
            let port = if min == 0 {
                0
            } else {
                let span = (max - min) as u32 + 1;
                let n = self.next_port.fetch_add(1, Ordering::Relaxed);
                min + ((n.wrapping_sub(min as u32)) % span) as u16
            };
            let addrs: Vec<String> = self
                .config
                .bind_ips
                .iter()
                .map(|ip| std::net::SocketAddr::new(*ip, port).to_string())
                .collect();
            let mdns = self.config.mdns && !self.mdns_failed.load(Ordering::Relaxed);
            match self.try_build(shared.clone(), addrs.clone(), mdns).await {
                Ok(pc) => return Ok(pc),
                Err(e) if mdns => {
                    // Most likely the mDNS socket (no multicast route): go on without it.
                    match self.try_build(shared.clone(), addrs, false).await {
                        Ok(pc) => {
                            self.mdns_failed.store(true, Ordering::Relaxed);
                            tracing::warn!("mDNS is unavailable ({e}); answering without it");
                            return Ok(pc);
                        }
                        Err(e) => last_err = Some(e),
                    }
                }
                Err(e) => last_err = Some(e),
            }
        }
        if min == 0 {
            Err(MediaError::WebRtc(
                last_err.map(|e| e.to_string()).unwrap_or_default(),
            ))
        } else {
            Err(MediaError::NoPort(min, max))
        }
    }

    async fn try_build(
        &self,
        shared: Arc<PeerShared>,
        addrs: Vec<String>,
        mdns: bool,
    ) -> std::result::Result<Arc<dyn PeerConnection>, webrtc::error::Error> {
        let mut media_engine = crate::sdp::media_engine()?;
        let registry = register_default_interceptors(Registry::new(), &mut media_engine)?.with(
            crate::keyframe_requests::slot(),
            crate::keyframe_requests::KeyframeRequests::default(),
        );
        let mut settings = SettingEngineBuilder::new()
            // The ICE agent's failed timer starts when the disconnected one fires; the config
            // counts both from the last packet.
            .with_ice_timeouts(
                Some(Duration::from_millis(self.config.ice_disconnected_ms)),
                Some(Duration::from_millis(
                    self.config
                        .ice_failed_ms
                        .saturating_sub(self.config.ice_disconnected_ms)
                        .max(1),
                )),
                Some(Duration::from_millis(self.config.ice_keepalive_ms)),
            )
            .with_multicast_dns_mode(if mdns {
                MulticastDnsMode::QueryOnly
            } else {
                MulticastDnsMode::Disabled
            })
            .with_include_loopback_candidate(true);
        if !self.config.public_ips.is_empty() {
            settings = settings
                .with_nat_1to1_ips(self.config.public_ips.clone(), RTCIceCandidateType::Host);
        }
        let pc = PeerConnectionBuilder::new()
            .with_media_engine(media_engine)
            .with_setting_engine(settings.build())
            .with_interceptor_registry(registry)
            .with_handler(Arc::new(Handler(shared)) as Arc<dyn PeerConnectionEventHandler>)
            .with_udp_addrs(addrs)
            .build()
            .await?;
        Ok(Arc::new(pc))
    }
}
