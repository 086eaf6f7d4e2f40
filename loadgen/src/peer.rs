//! One WebRTC participant of a load call (the `webrtc` crate: its own ICE, DTLS and SRTP, its
//! own UDP socket): one sendrecv audio m-line, as a browser softphone or call page offers.
//!
//! It sends pre-encoded Opus frames at 50 packets a second. Each payload is a real Opus frame
//! with the send time appended (8 bytes, microseconds since the run's epoch; an Opus decoder
//! takes trailing bytes as part of the frame), so the receiving peer, in the same process and
//! on the same clock, knows each packet's one-way time and which window it was sent in.

use crate::stats::Direction;
use anyhow::{anyhow, Context, Result};
use rtc::media_stream::MediaStreamTrack;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use rtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    register_default_interceptors, MediaEngine, PeerConnection, PeerConnectionBuilder,
    PeerConnectionEventHandler, RTCIceGatheringState, RTCPeerConnectionState,
    RTCSessionDescription, Registry,
};

/// What every peer of a run shares: the clock, the measurement window and the frames.
pub struct Run {
    epoch: Instant,
    /// The window, in microseconds since `epoch`: packets sent inside it count.
    window_start: AtomicU64,
    window_end: AtomicU64,
    /// Pre-encoded 20 ms Opus frames (a tone, or `--speech`), sent in turn.
    frames: Vec<Vec<u8>>,
}

impl Run {
    /// Half the frames: where the second party starts, so that in a speech run the two
    /// parties' turns interleave rather than overlap exactly.
    pub fn half(&self) -> usize {
        self.frames.len() / 2
    }

    /// Frames of a 440 Hz tone (which the server's voice detector ignores), or with `speech`
    /// the frames of that WAV file (mono, 16-bit, 8-48 kHz), so that the server transcribes.
    pub fn new(speech: Option<&std::path::Path>) -> Result<Run> {
        let frames = match speech {
            Some(path) => speech_frames(path)?,
            None => tone_frames()?,
        };
        Ok(Run {
            epoch: Instant::now(),
            window_start: AtomicU64::new(u64::MAX),
            window_end: AtomicU64::new(u64::MAX),
            frames,
        })
    }

    /// The instant `us` microseconds after the epoch.
    pub fn epoch_instant(&self, us: u64) -> Instant {
        self.epoch + Duration::from_micros(us)
    }

    pub fn now_us(&self) -> u64 {
        self.epoch.elapsed().as_micros() as u64
    }

    fn in_window(&self, t: u64) -> bool {
        t >= self.window_start.load(Ordering::Relaxed)
            && t < self.window_end.load(Ordering::Relaxed)
    }

    pub fn open_window(&self) {
        self.window_end.store(u64::MAX, Ordering::Relaxed);
        self.window_start.store(self.now_us(), Ordering::Relaxed);
    }

    pub fn close_window(&self) {
        self.window_end.store(self.now_us(), Ordering::Relaxed);
    }
}

/// 50 frames (1 s) of a 440 Hz tone, encoded once.
fn tone_frames() -> Result<Vec<Vec<u8>>> {
    let mut enc = opus::Encoder::new(48000, opus::Channels::Mono, opus::Application::Voip)
        .context("opus encoder")?;
    let mut out = vec![0u8; 1500];
    let mut phase = 0.0f64;
    let mut frames = Vec::new();
    for _ in 0..50 {
        let pcm: Vec<i16> = (0..960)
            .map(|_| {
                phase += 2.0 * std::f64::consts::PI * 440.0 / 48000.0;
                (phase.sin() * 8000.0) as i16
            })
            .collect();
        let n = enc.encode(&pcm, &mut out).context("opus encode")?;
        frames.push(out[..n].to_vec());
    }
    Ok(frames)
}

/// A WAV file's audio as 20 ms Opus frames, encoded once at the file's own rate.
fn speech_frames(path: &std::path::Path) -> Result<Vec<Vec<u8>>> {
    let mut wav =
        hound::WavReader::open(path).with_context(|| format!("open {}", path.display()))?;
    let spec = wav.spec();
    if spec.channels != 1 || spec.bits_per_sample != 16 {
        anyhow::bail!("{}: need mono 16-bit PCM", path.display());
    }
    let rate = spec.sample_rate;
    if ![8000, 12000, 16000, 24000, 48000].contains(&rate) {
        anyhow::bail!(
            "{}: sample rate {rate} is not one Opus takes",
            path.display()
        );
    }
    let pcm: Vec<i16> = wav.samples::<i16>().collect::<Result<_, _>>()?;
    let mut enc = opus::Encoder::new(rate, opus::Channels::Mono, opus::Application::Voip)
        .context("opus encoder")?;
    let n = rate as usize / 50;
    let mut out = vec![0u8; 1500];
    let mut frames = Vec::new();
    for chunk in pcm.chunks(n) {
        let mut f = chunk.to_vec();
        f.resize(n, 0);
        let k = enc.encode(&f, &mut out).context("opus encode")?;
        frames.push(out[..k].to_vec());
    }
    if frames.is_empty() {
        anyhow::bail!("{}: no audio", path.display());
    }
    Ok(frames)
}

/// The state the peer's callbacks write.
#[derive(Default)]
pub struct PeerState {
    gathered: AtomicBool,
    connected: AtomicBool,
    failed: AtomicBool,
    /// When the first packet arrived (microseconds since the epoch; 0: none yet).
    pub first_rx_us: AtomicU64,
}

struct Handler {
    state: Arc<PeerState>,
    run: Arc<Run>,
    /// The direction this peer receives.
    incoming: Arc<Direction>,
    /// Where its received video counts (`--video`).
    incoming_video: Option<Arc<Direction>>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_gathering_state_change(&self, s: RTCIceGatheringState) {
        if s == RTCIceGatheringState::Complete {
            self.state.gathered.store(true, Ordering::Relaxed);
        }
    }

    async fn on_connection_state_change(&self, s: RTCPeerConnectionState) {
        self.state
            .connected
            .store(s == RTCPeerConnectionState::Connected, Ordering::Relaxed);
        if matches!(
            s,
            RTCPeerConnectionState::Failed | RTCPeerConnectionState::Closed
        ) {
            self.state.failed.store(true, Ordering::Relaxed);
        }
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let state = self.state.clone();
        let run = self.run.clone();
        let (audio_in, video_in) = (self.incoming.clone(), self.incoming_video.clone());
        tokio::spawn(async move {
            let video = track.kind().await == RtpCodecKind::Video;
            // A video track nobody counts is still read, so its queue never fills.
            let incoming = if video { video_in } else { Some(audio_in) };
            while let Some(ev) = track.poll().await {
                let TrackRemoteEvent::OnRtpPacket(p) = ev else {
                    continue;
                };
                let now = run.now_us();
                if !video {
                    let _ = state.first_rx_us.compare_exchange(
                        0,
                        now.max(1),
                        Ordering::Relaxed,
                        Ordering::Relaxed,
                    );
                }
                let Some(incoming) = &incoming else {
                    continue;
                };
                let n = p.payload.len();
                if n < 9 {
                    continue;
                }
                let mut t = [0u8; 8];
                t.copy_from_slice(&p.payload[n - 8..]);
                let sent = u64::from_le_bytes(t);
                if run.in_window(sent) {
                    incoming.count_received(now.saturating_sub(sent));
                }
            }
        });
    }
}

/// Returns once `stop` is true (or its sender is gone).
pub async fn stopped(stop: &mut tokio::sync::watch::Receiver<bool>) {
    while !*stop.borrow_and_update() {
        if stop.changed().await.is_err() {
            return;
        }
    }
}

/// A local track named `label` sending `codec` with a random SSRC.
fn local_track(
    label: &str,
    kind: RtpCodecKind,
    codec: RTCRtpCodec,
) -> (Arc<TrackLocalStaticRTP>, u32) {
    let ssrc: u32 = rand::random();
    let track = Arc::new(TrackLocalStaticRTP::new(MediaStreamTrack::new(
        "loadgen".into(),
        format!("{label}-{ssrc}"),
        label.into(),
        kind,
        vec![RTCRtpEncodingParameters {
            rtp_coding_parameters: RTCRtpCodingParameters {
                ssrc: Some(ssrc),
                ..Default::default()
            },
            codec,
            ..Default::default()
        }],
    )));
    (track, ssrc)
}

/// An RTP packet of ours.
fn rtp(pt: u8, seq: u16, ts: u32, ssrc: u32, marker: bool, payload: Vec<u8>) -> rtc::rtp::Packet {
    let mut p = rtc::rtp::Packet::default();
    p.header.version = 2;
    p.header.payload_type = pt;
    p.header.sequence_number = seq;
    p.header.timestamp = ts;
    p.header.ssrc = ssrc;
    p.header.marker = marker;
    p.payload = bytes::Bytes::from(payload);
    p
}

pub struct Peer {
    pc: Arc<dyn PeerConnection>,
    pub state: Arc<PeerState>,
    track: Arc<TrackLocalStaticRTP>,
    ssrc: u32,
    /// The camera track and its SSRC (`--video`).
    video: Option<(Arc<TrackLocalStaticRTP>, u32)>,
}

impl Peer {
    /// A peer whose received audio counts in `incoming`, its UDP socket on `bind` (an IP
    /// address of this host: loopback, or an interface of the namespace it runs in). With
    /// `video_in` it also has a sendrecv VP8 m-line (a camera), its received video counted
    /// there.
    pub async fn new(
        run: Arc<Run>,
        incoming: Arc<Direction>,
        bind: &str,
        video_in: Option<Arc<Direction>>,
    ) -> Result<Peer> {
        let with_video = video_in.is_some();
        let mut peer = Self::bare(run, incoming, video_in, bind).await?;
        peer.pc
            .add_transceiver_from_track(
                peer.track.clone() as Arc<dyn TrackLocal>,
                Some(RTCRtpTransceiverInit {
                    direction: RTCRtpTransceiverDirection::Sendrecv,
                    ..Default::default()
                }),
            )
            .await
            .map_err(|e| anyhow!("transceiver: {e}"))?;
        if with_video {
            let (cam, ssrc) = local_track(
                "cam",
                RtpCodecKind::Video,
                RTCRtpCodec {
                    mime_type: "video/VP8".into(),
                    clock_rate: 90000,
                    channels: 0,
                    sdp_fmtp_line: String::new(),
                    rtcp_feedback: vec![],
                },
            );
            peer.pc
                .add_transceiver_from_track(
                    cam.clone() as Arc<dyn TrackLocal>,
                    Some(RTCRtpTransceiverInit {
                        direction: RTCRtpTransceiverDirection::Sendrecv,
                        ..Default::default()
                    }),
                )
                .await
                .map_err(|e| anyhow!("video transceiver: {e}"))?;
            peer.video = Some((cam, ssrc));
        }
        Ok(peer)
    }

    /// A listening supervisor's peer: two receive-only audio m-lines (the customer, then the
    /// agent, docs/protocol.md `listen`), both counted in `incoming`.
    pub async fn listener(run: Arc<Run>, incoming: Arc<Direction>, bind: &str) -> Result<Peer> {
        let peer = Self::bare(run, incoming, None, bind).await?;
        for _ in 0..2 {
            peer.pc
                .add_transceiver_from_kind(
                    RtpCodecKind::Audio,
                    Some(RTCRtpTransceiverInit {
                        direction: RTCRtpTransceiverDirection::Recvonly,
                        ..Default::default()
                    }),
                )
                .await
                .map_err(|e| anyhow!("transceiver: {e}"))?;
        }
        Ok(peer)
    }

    /// The connection and the (not yet added) microphone track.
    async fn bare(
        run: Arc<Run>,
        incoming: Arc<Direction>,
        incoming_video: Option<Arc<Direction>>,
        bind: &str,
    ) -> Result<Peer> {
        let mut me = MediaEngine::default();
        me.register_default_codecs()
            .map_err(|e| anyhow!("codecs: {e}"))?;
        // As a browser does: NACK and congestion feedback for video; audio alone gets RTCP
        // reports only (which also keeps the generator cheap).
        let reg = if incoming_video.is_some() {
            register_default_interceptors(Registry::new(), &mut me)
                .map_err(|e| anyhow!("interceptors: {e}"))?
        } else {
            rtc::peer_connection::configuration::interceptor_registry::configure_rtcp_reports(
                Registry::new(),
            )
        };
        let state = Arc::new(PeerState::default());
        let handler = Handler {
            state: state.clone(),
            run,
            incoming,
            incoming_video,
        };
        let pc: Arc<dyn PeerConnection> = Arc::new(
            PeerConnectionBuilder::new()
                .with_media_engine(me)
                .with_setting_engine(
                    rtc::peer_connection::configuration::setting_engine::SettingEngineBuilder::new(
                    )
                    .with_multicast_dns_mode(rtc::ice::mdns::MulticastDnsMode::Disabled)
                    .build(),
                )
                .with_interceptor_registry(reg)
                .with_handler(Arc::new(handler))
                .with_udp_addrs(vec![format!("{bind}:0")])
                .build()
                .await
                .map_err(|e| anyhow!("peer connection: {e}"))?,
        );
        let (track, ssrc) = local_track(
            "mic",
            RtpCodecKind::Audio,
            RTCRtpCodec {
                mime_type: "audio/opus".into(),
                clock_rate: 48000,
                channels: 2,
                sdp_fmtp_line: "minptime=10;useinbandfec=1".into(),
                rtcp_feedback: vec![],
            },
        );
        Ok(Peer {
            pc,
            state,
            track,
            ssrc,
            video: None,
        })
    }

    /// The offer, once its host candidates are gathered.
    pub async fn offer(&self) -> Result<String> {
        let offer = self
            .pc
            .create_offer(None)
            .await
            .map_err(|e| anyhow!("create offer: {e}"))?;
        self.pc
            .set_local_description(offer)
            .await
            .map_err(|e| anyhow!("set local description: {e}"))?;
        self.local_sdp().await
    }

    /// The answer to a server's `offer` (the Janus comparison, where the server offers to
    /// the callee), once its host candidates are gathered.
    pub async fn answer(&self, offer: &str) -> Result<String> {
        let offer =
            RTCSessionDescription::offer(offer.to_string()).map_err(|e| anyhow!("offer: {e}"))?;
        self.pc
            .set_remote_description(offer)
            .await
            .map_err(|e| anyhow!("set remote description: {e}"))?;
        let answer = self
            .pc
            .create_answer(None)
            .await
            .map_err(|e| anyhow!("create answer: {e}"))?;
        self.pc
            .set_local_description(answer)
            .await
            .map_err(|e| anyhow!("set local description: {e}"))?;
        self.local_sdp().await
    }

    /// The local description once gathering is complete (or 3 s have passed).
    async fn local_sdp(&self) -> Result<String> {
        let deadline = Instant::now() + Duration::from_secs(3);
        while !self.state.gathered.load(Ordering::Relaxed) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Ok(self
            .pc
            .local_description()
            .await
            .ok_or_else(|| anyhow!("no local description"))?
            .sdp)
    }

    pub async fn apply_answer(&self, sdp: &str) -> Result<()> {
        let answer =
            RTCSessionDescription::answer(sdp.to_string()).map_err(|e| anyhow!("answer: {e}"))?;
        self.pc
            .set_remote_description(answer)
            .await
            .map_err(|e| anyhow!("set remote description: {e}"))
    }

    /// Waits until ICE and DTLS are up (or `wait` passes, or the connection fails).
    pub async fn connected(&self, wait: Duration) -> Result<()> {
        let deadline = Instant::now() + wait;
        loop {
            if self.state.connected.load(Ordering::Relaxed) {
                return Ok(());
            }
            if self.state.failed.load(Ordering::Relaxed) {
                return Err(anyhow!("connection failed"));
            }
            if Instant::now() > deadline {
                return Err(anyhow!("did not connect in {wait:?}"));
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// Sends a frame every 20 ms until `stop` turns true; packets sent in the window count as
    /// sent in each of `outgoing` (the other party, and listening supervisors when there are).
    pub async fn send(
        &self,
        run: Arc<Run>,
        outgoing: Vec<Arc<Direction>>,
        first_frame: usize,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) {
        let pt = self.payload_type_of("audio/").await.unwrap_or(111);
        let track = self.track.clone();
        let ssrc = self.ssrc;
        let mut seq: u16 = rand::random();
        let mut ts: u32 = rand::random();
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        let mut k = first_frame;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stopped(&mut stop) => return,
            }
            let frame = &run.frames[k % run.frames.len()];
            k += 1;
            let now = run.now_us();
            let mut payload = Vec::with_capacity(frame.len() + 8);
            payload.extend_from_slice(frame);
            payload.extend_from_slice(&now.to_le_bytes());
            let p = rtp(pt, seq, ts, ssrc, false, payload);
            seq = seq.wrapping_add(1);
            ts = ts.wrapping_add(960);
            if track.write_rtp(p).await.is_err() {
                return;
            }
            if run.in_window(now) {
                for d in &outgoing {
                    d.count_sent();
                }
            }
        }
    }

    /// The payload type negotiated by our sender whose codec's MIME type starts with `kind`.
    async fn payload_type_of(&self, kind: &str) -> Option<u8> {
        for sender in self.pc.get_senders().await {
            let Ok(p) = sender.get_parameters().await else {
                continue;
            };
            if let Some(c) = p.rtp_parameters.codecs.first() {
                if c.rtp_codec.mime_type.to_ascii_lowercase().starts_with(kind) {
                    return Some(c.payload_type);
                }
            }
        }
        None
    }

    /// Sends synthetic VP8 video until `stop` (nothing without a camera): 30 frames a second,
    /// three 1,000-byte packets each (about 720 kbit/s), a key frame every 2 s. The payloads
    /// carry valid VP8 payload descriptors and frame-type bits (what an SFU reads: frame
    /// starts, key frames) and filler; nobody decodes them. Packets sent in the window count
    /// in `outgoing`.
    pub async fn send_video(
        &self,
        run: Arc<Run>,
        outgoing: Arc<Direction>,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) {
        let Some((track, ssrc)) = self.video.clone() else {
            return;
        };
        let pt = self.payload_type_of("video/").await.unwrap_or(96);
        let mut seq: u16 = rand::random();
        let mut ts: u32 = rand::random();
        let mut tick = tokio::time::interval(Duration::from_micros(33_333));
        for frame in 0u64.. {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stopped(&mut stop) => return,
            }
            let key = frame % 60 == 0;
            for part in 0..3u8 {
                let now = run.now_us();
                let mut payload = vec![0u8; 1000];
                // RFC 7741: S bit on the frame's first packet, partition 0.
                payload[0] = if part == 0 { 0x10 } else { 0x00 };
                // VP8 frame tag: bit 0 (P) is 0 for a key frame.
                payload[1] = if key { 0x00 } else { 0x01 };
                payload[992..].copy_from_slice(&now.to_le_bytes());
                let p = rtp(pt, seq, ts, ssrc, part == 2, payload);
                seq = seq.wrapping_add(1);
                if track.write_rtp(p).await.is_err() {
                    return;
                }
                if run.in_window(now) {
                    outgoing.count_sent();
                }
            }
            ts = ts.wrapping_add(3000);
        }
    }

    pub async fn close(&self) {
        let _ = self.pc.close().await;
    }
}
