//! The SFU: creates rooms and answers participants' offers with peer connections.

use crate::config::MediaConfig;
use crate::down_track::{DownTrack, SlotSpec};
use crate::metrics::MediaMetrics;
use crate::peer::{Handler, MediaEvent, Peer, PeerShared};
use crate::room::Room;
use crate::routing::{slots_for, Kind, Role, SlotKind};
use crate::{MediaError, ParticipantId, Result, RoomId};
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::setting_engine::SettingEngineBuilder;
use rtc::peer_connection::transport::RTCIceCandidateType;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, Notify};
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::peer_connection::{
    register_default_interceptors, MediaEngine, PeerConnection, PeerConnectionBuilder,
    PeerConnectionEventHandler, RTCSessionDescription, Registry,
};

pub struct Sfu {
    config: MediaConfig,
    metrics: MediaMetrics,
    rooms: Mutex<HashMap<RoomId, Arc<Room>>>,
    next_port: AtomicU32,
}

/// The m-lines of an offer, in order (data channels and unknown kinds are `None`).
fn offer_mlines(sdp: &str) -> Vec<Option<Kind>> {
    sdp.lines()
        .filter(|l| l.starts_with("m="))
        .map(|l| {
            if l.starts_with("m=audio") {
                Some(Kind::Audio)
            } else if l.starts_with("m=video") {
                Some(Kind::Video)
            } else {
                None
            }
        })
        .collect()
}

fn opus() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: "audio/opus".into(),
        clock_rate: 48000,
        channels: 2,
        sdp_fmtp_line: "minptime=10;useinbandfec=1".into(),
        rtcp_feedback: vec![],
    }
}

/// VP8 unless the offer has only H.264.
fn video_codec(offer: &str) -> RTCRtpCodec {
    let has_vp8 = offer.to_ascii_uppercase().contains("VP8/90000");
    let has_h264 = offer.to_ascii_uppercase().contains("H264/90000");
    let mime = if !has_vp8 && has_h264 {
        "video/H264"
    } else {
        "video/VP8"
    };
    RTCRtpCodec {
        mime_type: mime.into(),
        clock_rate: 90000,
        channels: 0,
        sdp_fmtp_line: if mime == "video/H264" {
            "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f".into()
        } else {
            String::new()
        },
        rtcp_feedback: vec![],
    }
}

/// Replace the addresses of host candidates (and `c=` lines) with the configured public ones.
///
/// `webrtc` 0.21's socket layer derives host candidates from the bound sockets and does not apply
/// the 1:1 NAT setting, so it is applied here. With one public address every host candidate gets
/// it; with several, the n-th bound address maps to the n-th public one. Connectivity checks from
/// the browser reach the private socket through the NAT, and the server answers from it, so ICE
/// works without the server ever knowing its public address as a local one.
pub(crate) fn advertise(sdp: &str, bound: &[std::net::IpAddr], public: &[String]) -> String {
    if public.is_empty() {
        return sdp.to_string();
    }
    let map = |addr: &str| -> Option<&str> {
        if public.len() == 1 {
            return Some(public[0].as_str());
        }
        let i = bound.iter().position(|b| b.to_string() == addr)?;
        public.get(i).or(public.last()).map(String::as_str)
    };
    let mut out = String::with_capacity(sdp.len());
    for line in sdp.split_inclusive('\n') {
        let body = line.trim_end_matches(['\r', '\n']);
        let ending = &line[body.len()..];
        let mut fields: Vec<&str> = body.split(' ').collect();
        if body.starts_with("a=candidate:") && fields.len() > 7 && fields[7] == "host" {
            if let Some(p) = map(fields[4]) {
                fields[4] = p;
            }
            out.push_str(&fields.join(" "));
        } else if body.starts_with("c=IN IP") && fields.len() == 3 && fields[2] != "0.0.0.0" {
            if let Some(p) = map(fields[2]) {
                fields[2] = p;
            }
            out.push_str(&fields.join(" "));
        } else {
            out.push_str(body);
        }
        out.push_str(ending);
    }
    out
}

impl Sfu {
    pub fn new(config: MediaConfig, metrics: MediaMetrics) -> Arc<Self> {
        let first = config.port_min as u32;
        Arc::new(Self {
            config,
            metrics,
            rooms: Mutex::new(HashMap::new()),
            next_port: AtomicU32::new(first),
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
        let mlines = offer_mlines(offer_sdp);
        if !mlines.contains(&Some(Kind::Audio)) {
            return Err(MediaError::BadSdp("the offer has no audio m-line".into()));
        }
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
                SlotKind::OtherVideo => (Kind::Video, video_codec(offer_sdp), 90000),
                _ => (Kind::Audio, opus(), 48000),
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
            Some(d) => advertise(&d.sdp, &self.config.bind_ips, &self.config.public_ips),
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
            match self.try_build(shared.clone(), addrs).await {
                Ok(pc) => return Ok(pc),
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
    ) -> std::result::Result<Arc<dyn PeerConnection>, webrtc::error::Error> {
        let mut media_engine = MediaEngine::default();
        media_engine.register_default_codecs()?;
        let registry = register_default_interceptors(Registry::new(), &mut media_engine)?.with(
            crate::keyframe_requests::slot(),
            crate::keyframe_requests::KeyframeRequests::default(),
        );
        let mut settings = SettingEngineBuilder::new()
            .with_ice_timeouts(
                Some(Duration::from_millis(self.config.ice_disconnected_ms)),
                Some(Duration::from_millis(self.config.ice_failed_ms)),
                Some(Duration::from_secs(2)),
            )
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_mlines_in_order() {
        let sdp = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=x\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n";
        assert_eq!(
            offer_mlines(sdp),
            vec![Some(Kind::Audio), None, Some(Kind::Video)]
        );
        assert_eq!(
            video_codec("a=rtpmap:102 H264/90000").mime_type,
            "video/H264"
        );
        assert_eq!(
            video_codec("a=rtpmap:96 VP8/90000\r\na=rtpmap:102 H264/90000").mime_type,
            "video/VP8"
        );
    }
}
