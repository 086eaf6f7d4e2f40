//! The SFU: creates rooms and answers participants' offers with peer connections.

use crate::config::MediaConfig;
use crate::down_track::{DownTrack, SlotSpec};
use crate::metrics::MediaMetrics;
use crate::peer::{Handler, MediaEvent, Peer, PeerShared};
use crate::plan::{slots_for, Kind};
use crate::room::Room;
use crate::{MediaError, Result};
use rtc::ice::mdns::MulticastDnsMode;
use rtc::interceptor::{NackGeneratorBuilder, NackResponderBuilder, Slot};
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::interceptor_registry::{
    configure_rtcp_reports, configure_simulcast_extension_headers, configure_twcc_receiver_only,
};
use rtc::peer_connection::configuration::media_engine::MediaEngine;
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
use vocab::{CallId, ParticipantId, ParticipantKind};
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler, RTCSessionDescription,
    Registry,
};

pub struct Sfu {
    config: MediaConfig,
    metrics: MediaMetrics,
    rooms: Mutex<HashMap<CallId, Arc<Room>>>,
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

    /// Open the room of a new call. A room's life is explicit: it exists from `open_room` to
    /// `close_room`, and a closed room is never opened again by a late join.
    pub fn open_room(&self, id: &CallId) -> Result<Arc<Room>> {
        let mut rooms = self.rooms.lock().expect("lock");
        if rooms.contains_key(id) {
            return Err(MediaError::RoomExists(id.clone()));
        }
        let room = Arc::new(Room::new(id.clone(), self.metrics.clone()));
        rooms.insert(id.clone(), room.clone());
        Ok(room)
    }

    pub fn find_room(&self, id: &CallId) -> Option<Arc<Room>> {
        self.rooms.lock().expect("lock").get(id).cloned()
    }

    pub fn room_count(&self) -> usize {
        self.rooms.lock().expect("lock").len()
    }

    /// Answer `offer_sdp` with a new peer connection for `participant` in the open room
    /// `room_id`. Every m-line of the offer gets a slot (up to [`crate::plan::MAX_SLOTS`] per
    /// kind), fed as the room's plan says. Returns the peer and the SDP answer (with the
    /// server's ICE candidates in it).
    pub async fn join(
        &self,
        room_id: &CallId,
        participant: ParticipantId,
        kind: ParticipantKind,
        offer_sdp: &str,
        events: mpsc::UnboundedSender<MediaEvent>,
    ) -> Result<(Arc<Peer>, String)> {
        let summary = crate::sdp::check_offer(offer_sdp)?;
        let mlines = summary.mlines;
        let offer = RTCSessionDescription::offer(offer_sdp.to_string())
            .map_err(|e| MediaError::BadSdp(e.to_string()))?;
        let room = self
            .find_room(room_id)
            .filter(|r| !r.is_ended())
            .ok_or_else(|| MediaError::RoomNotFound(room_id.clone()))?;
        if room.peer(&participant).is_some() {
            return Err(MediaError::ParticipantExists(participant));
        }

        let weak_room = Arc::downgrade(&room);
        let shared = Arc::new(PeerShared {
            call: room_id.clone(),
            participant: participant.clone(),
            kind,
            on_sources_changed: Arc::new(move || {
                if let Some(r) = weak_room.upgrade() {
                    r.rewire();
                }
            }),
            sources: Mutex::new(vec![]),
            muted: AtomicBool::new(false),
            connected: Arc::new(AtomicBool::new(false)),
            left: AtomicBool::new(false),
            events,
            gathered: Notify::new(),
            metrics: self.metrics.clone(),
        });
        let video = offers_video(&mlines);
        let pc = self.build_pc(shared.clone(), video).await?;

        let fail = |e: webrtc::error::Error| MediaError::BadSdp(e.to_string());
        if let Err(e) = pc.set_remote_description(offer).await {
            let _ = pc.close().await;
            return Err(fail(e));
        }

        let kinds: Vec<Kind> = mlines.iter().flatten().copied().collect();
        let mut pending = vec![];
        let video_codec = summary.video.unwrap_or(crate::sdp::VideoCodec::Vp8);
        for (kind, index) in slots_for(&kinds).into_iter().flatten() {
            let (codec, clock) = match kind {
                Kind::Video => (crate::sdp::video_codec(video_codec), 90000),
                Kind::Audio => (crate::sdp::opus(), 48000),
            };
            let ssrc: u32 = rand::random();
            let track = Arc::new(TrackLocalStaticRTP::new(MediaStreamTrack::new(
                format!("switchboard-{participant}"),
                format!("{participant}-{}", pending.len()),
                format!("{}{index}", kind.as_str()),
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
            pending.push((index, kind, ssrc, clock, track, sender));
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
        for (index, kind, ssrc, clock, track, sender) in pending {
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
                    kind,
                    index,
                    ssrc,
                    payload_type: pt,
                    clock_rate: clock,
                    video: (kind == Kind::Video).then_some(video_codec),
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
        let peer = Arc::new(Peer::new(shared, pc, slots, summary.audio_sends));
        crate::peer::watch_dtls_close(&peer);
        if let Err(e) = room.add(peer.clone()) {
            // The call ended while we negotiated.
            peer.close().await;
            return Err(e);
        }
        tracing::info!(call_id = %room_id, participant = %participant, kind = kind.as_str(), "joined");
        Ok((peer, sdp))
    }

    /// Remove a participant from a room and close its connection.
    pub async fn leave(&self, room_id: &CallId, participant: &ParticipantId) -> Result<()> {
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
    pub async fn close_room(&self, room_id: &CallId) {
        let room = self.rooms.lock().expect("lock").remove(room_id);
        if let Some(room) = room {
            for p in room.end() {
                p.close().await;
            }
        }
    }

    /// Close everything (shutdown).
    pub async fn close_all(&self) {
        let ids: Vec<CallId> = self.rooms.lock().expect("lock").keys().cloned().collect();
        for id in ids {
            self.close_room(&id).await;
        }
    }

    async fn build_pc(
        &self,
        shared: Arc<PeerShared>,
        video: bool,
    ) -> Result<Arc<dyn PeerConnection>> {
        let (min, max) = (self.config.port_min, self.config.port_max);
        // MediaConfig::validate refuses min > max; be safe if it was not called.
        let max = max.max(min);
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
            match self
                .try_build(shared.clone(), addrs.clone(), mdns, video)
                .await
            {
                Ok(pc) => return Ok(pc),
                Err(e) if mdns => {
                    // Most likely the mDNS socket (no multicast route): go on without it.
                    match self.try_build(shared.clone(), addrs, false, video).await {
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
        video: bool,
    ) -> std::result::Result<Arc<dyn PeerConnection>, webrtc::error::Error> {
        let mut media_engine = crate::sdp::media_engine()?;
        // Audio alone needs only RTCP reports: no retransmission buffer (NACK is for video;
        // browsers do not ask for lost Opus packets, FEC and the jitter buffer cover them) and
        // no transport-wide congestion feedback (the audio path does not use it). Both cost
        // a copy or a lookup per packet in the `webrtc` crate.
        let registry = if video {
            video_interceptors(&mut media_engine)?
        } else {
            configure_rtcp_reports(Registry::new())
        }
        .with(
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
            // Checks paced by `ice_check_interval_ms`, each pair tried for about 1.4 s (the
            // crate's 7 tries of 200 ms).
            .with_ice_connection_attempts(
                Some(Duration::from_millis(self.config.ice_check_interval_ms)),
                Some((1400 / self.config.ice_check_interval_ms.max(1)).clamp(2, 280) as u16),
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

/// Whether any m-line of an offer is video.
fn offers_video(mlines: &[Option<Kind>]) -> bool {
    mlines.iter().flatten().any(|k| *k == Kind::Video)
}

/// Packets of sent video kept for retransmission, per video stream a connection sends: 256
/// is about 1.7 s of 1.5 Mbit/s video (2.8 s at 700 kbit/s), far more than a NACK's round
/// trip. The `webrtc` default (1024) held about 1 MiB per stream, most of a video call's
/// memory (loadgen --video: 3.3 MiB per call).
const VIDEO_NACK_HISTORY: u16 = 256;

/// The interceptors of a connection with video: what `register_default_interceptors` sets
/// (NACK generator and responder, simulcast header extensions, transport-wide congestion
/// feedback as receiver, RTCP reports), with a shorter retransmission history. The "nack" and
/// "nack pli" feedback it would register are already on every video codec of
/// [`crate::sdp::media_engine`].
fn video_interceptors(
    media_engine: &mut MediaEngine,
) -> std::result::Result<Registry, webrtc::error::Error> {
    configure_simulcast_extension_headers(media_engine)?;
    let registry = Registry::new()
        .with(
            Slot::NackResponder,
            NackResponderBuilder::new()
                .with_size(VIDEO_NACK_HISTORY)
                .build(),
        )
        .with(Slot::NackGenerator, NackGeneratorBuilder::new().build());
    let registry = configure_twcc_receiver_only(registry, media_engine)?;
    Ok(configure_rtcp_reports(registry))
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFFER: &str = include_str!("../../fuzz/corpus/sdp_offer/chrome_audio.sdp");

    #[tokio::test]
    async fn a_room_lives_from_open_to_close_and_is_never_reopened() {
        let sfu = Sfu::new(MediaConfig::default(), MediaMetrics::unregistered());
        let id = CallId::from("c1");
        let room = sfu.open_room(&id).unwrap();
        assert!(matches!(sfu.open_room(&id), Err(MediaError::RoomExists(_))));
        assert_eq!(sfu.room_count(), 1);
        sfu.close_room(&id).await;
        assert!(room.is_ended());
        assert_eq!(sfu.room_count(), 0);
        // A join that arrives after the call ended does not bring the room back.
        let (tx, _rx) = mpsc::unbounded_channel();
        let late = sfu
            .join(
                &id,
                ParticipantId::from("p1"),
                ParticipantKind::Agent,
                OFFER,
                tx,
            )
            .await;
        assert!(
            matches!(late, Err(MediaError::RoomNotFound(_))),
            "{:?}",
            late.err()
        );
        assert_eq!(sfu.room_count(), 0);
        // Nor does a server-side voice join an ended room.
        assert!(room
            .add_voice(ParticipantId::from("bot"), ParticipantKind::Bot)
            .is_err());
    }

    #[tokio::test]
    async fn video_answers_offer_nack_and_audio_only_answers_do_not() {
        let sfu = Sfu::new(MediaConfig::default(), MediaMetrics::unregistered());
        let id = CallId::from("c3");
        sfu.open_room(&id).unwrap();
        let (tx, _rx) = mpsc::unbounded_channel();
        let video = include_str!("../../fuzz/corpus/sdp_offer/chrome_audio_video.sdp");
        let (_, answer) = sfu
            .join(
                &id,
                ParticipantId::from("v"),
                ParticipantKind::Customer,
                video,
                tx.clone(),
            )
            .await
            .unwrap();
        for fb in [" nack\r", " nack pli\r", " transport-cc\r"] {
            assert!(
                answer
                    .lines()
                    .any(|l| l.starts_with("a=rtcp-fb:") && format!("{l}\r").ends_with(fb)),
                "no{fb:?} in {answer}"
            );
        }
        let (_, answer) = sfu
            .join(
                &id,
                ParticipantId::from("a"),
                ParticipantKind::Agent,
                OFFER,
                tx,
            )
            .await
            .unwrap();
        assert!(!answer.contains(" nack"), "{answer}");
        sfu.close_room(&id).await;
    }

    #[tokio::test]
    async fn voices_take_only_the_rates_opus_encodes() {
        let sfu = Sfu::new(MediaConfig::default(), MediaMetrics::unregistered());
        let room = sfu.open_room(&CallId::from("c2")).unwrap();
        let v = room
            .add_voice(ParticipantId::from("bot"), ParticipantKind::Bot)
            .unwrap();
        assert!(v.play(vec![0; 160], 44_100).is_err());
        v.play(vec![0; 1600], 16_000).unwrap();
        assert!(v.speaking());
        tokio::time::timeout(Duration::from_secs(2), v.finished())
            .await
            .expect("100 ms of audio is sent within 2 s");
        assert!(!v.speaking());
        // The same id twice is refused.
        assert!(room
            .add_voice(ParticipantId::from("bot"), ParticipantKind::Bot)
            .is_err());
        sfu.close_room(&CallId::from("c2")).await;
    }
}
