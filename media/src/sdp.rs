//! What the server accepts in an offer and what it answers with.
//!
//! Switchboard forwards Opus audio, and VP8 or H.264 video, without transcoding: an offer is
//! checked here before any peer connection exists, so an offer the server cannot serve gets
//! `BadSdp` with what is missing, and the answer lists only codecs the server forwards.

use crate::plan::Kind;
use crate::{MediaError, Result};
use rtc::peer_connection::configuration::media_engine::MediaEngine;
use rtc::rtp_transceiver::rtp_sender::{
    RTCPFeedback, RTCRtpCodec, RTCRtpCodecParameters, RtpCodecKind,
};

/// Longest offer accepted (browsers send 3-8 KiB; a few hundred m-lines is not a call).
pub const MAX_OFFER_BYTES: usize = 64 * 1024;

/// What an acceptable offer contains.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OfferSummary {
    /// The m-lines in order; data channels and unknown kinds are `None`.
    pub mlines: Vec<Option<Kind>>,
    /// The video codec the server will send, when the offer has video.
    pub video: Option<VideoCodec>,
    /// Whether the first audio m-line sends (sendrecv or sendonly): a microphone the server
    /// can forward. A listen-only supervisor's offer does not.
    pub audio_sends: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VideoCodec {
    Vp8,
    H264,
}

/// One m-section: its kind, the codec names (upper case) of its `a=rtpmap` lines, and
/// whether it sends (no `a=recvonly` or `a=inactive`; sendrecv is SDP's default).
struct Section {
    kind: Option<Kind>,
    codecs: Vec<String>,
    sends: bool,
}

/// A line as the WebRTC stack's SDP lexer reads it: lines end at LF; CRs before the type are
/// skipped; the type is one letter and `=`; the value is trimmed of whitespace (a CR inside a
/// line is part of it). Found by `fuzz/sdp_offer`: reading lines any other way let an offer's
/// codec checks see other m-lines than the stack negotiates.
fn field(line: &str) -> Option<(u8, &str)> {
    let l = line.trim_start_matches('\r');
    let b = l.as_bytes();
    (b.len() >= 2 && b[1] == b'=').then(|| (b[0], l[2..].trim()))
}

fn sections(sdp: &str) -> Vec<Section> {
    let mut out: Vec<Section> = vec![];
    for line in sdp.split('\n') {
        match field(line) {
            Some((b'm', value)) => {
                let kind = match value.split_whitespace().next() {
                    Some("audio") => Some(Kind::Audio),
                    Some("video") => Some(Kind::Video),
                    _ => None,
                };
                out.push(Section {
                    kind,
                    codecs: vec![],
                    sends: true,
                });
            }
            Some((b'a', "recvonly" | "inactive")) => {
                if let Some(sec) = out.last_mut() {
                    sec.sends = false;
                }
            }
            Some((b'a', value)) => {
                // a=rtpmap:<pt> <name>/<clock>[/<channels>]
                if let Some(rest) = value.strip_prefix("rtpmap:") {
                    if let (Some(sec), Some(enc)) = (out.last_mut(), rest.split_whitespace().nth(1))
                    {
                        sec.codecs.push(enc.to_ascii_uppercase());
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// Check an offer before answering it.
///
/// Refused: an offer over [`MAX_OFFER_BYTES`], one without an audio m-line, one whose audio
/// offers no Opus (the message names what it does offer), and one whose video offers neither
/// VP8 nor H.264.
pub fn check_offer(sdp: &str) -> Result<OfferSummary> {
    if sdp.len() > MAX_OFFER_BYTES {
        return Err(MediaError::BadSdp(format!(
            "the offer is {} bytes; at most {MAX_OFFER_BYTES} are accepted",
            sdp.len()
        )));
    }
    let secs = sections(sdp);
    let audio: Vec<&Section> = secs
        .iter()
        .filter(|s| s.kind == Some(Kind::Audio))
        .collect();
    if audio.is_empty() {
        return Err(MediaError::BadSdp("the offer has no audio m-line".into()));
    }
    let has_opus = |s: &&Section| s.codecs.iter().any(|c| c.starts_with("OPUS/48000"));
    if let Some(bad) = audio.iter().find(|s| !has_opus(s)) {
        let offered = if bad.codecs.is_empty() {
            "none".to_string()
        } else {
            bad.codecs.join(", ")
        };
        return Err(MediaError::BadSdp(format!(
            "the offer's audio has no Opus (offered: {offered}); Switchboard supports audio/opus only"
        )));
    }
    let mut video = None;
    for s in secs.iter().filter(|s| s.kind == Some(Kind::Video)) {
        let vp8 = s.codecs.iter().any(|c| c == "VP8/90000");
        let h264 = s.codecs.iter().any(|c| c == "H264/90000");
        if !vp8 && !h264 {
            return Err(MediaError::BadSdp(format!(
                "the offer's video has neither VP8 nor H264 (offered: {}); send audio only or offer one of them",
                s.codecs.join(", ")
            )));
        }
        video.get_or_insert(if vp8 {
            VideoCodec::Vp8
        } else {
            VideoCodec::H264
        });
    }
    Ok(OfferSummary {
        mlines: secs.iter().map(|s| s.kind).collect(),
        video,
        audio_sends: audio[0].sends,
    })
}

/// Opus as the server sends it.
pub(crate) fn opus() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: "audio/opus".into(),
        clock_rate: 48000,
        channels: 2,
        sdp_fmtp_line: "minptime=10;useinbandfec=1".into(),
        rtcp_feedback: vec![],
    }
}

const H264_FMTP: &str = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f";
const H264_BASELINE_FMTP: &str =
    "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f";

pub(crate) fn video_codec(codec: VideoCodec) -> RTCRtpCodec {
    let (mime, fmtp) = match codec {
        VideoCodec::Vp8 => ("video/VP8", ""),
        VideoCodec::H264 => ("video/H264", H264_FMTP),
    };
    RTCRtpCodec {
        mime_type: mime.into(),
        clock_rate: 90000,
        channels: 0,
        sdp_fmtp_line: fmtp.into(),
        rtcp_feedback: vec![],
    }
}

/// A media engine with exactly the codecs the server forwards: Opus; VP8 and H.264
/// (constrained baseline, packetization mode 1). No retransmission codec: the server does
/// not retransmit, receivers ask the sender for a key frame instead.
pub(crate) fn media_engine() -> std::result::Result<MediaEngine, webrtc::error::Error> {
    let mut engine = MediaEngine::default();
    engine.register_codec(
        RTCRtpCodecParameters {
            rtp_codec: opus(),
            payload_type: 111,
        },
        RtpCodecKind::Audio,
    )?;
    let fb = |typ: &str, parameter: &str| RTCPFeedback {
        typ: typ.into(),
        parameter: parameter.into(),
    };
    let feedback = vec![
        fb("goog-remb", ""),
        fb("ccm", "fir"),
        fb("nack", ""),
        fb("nack", "pli"),
    ];
    for (mime, fmtp, pt) in [
        ("video/VP8", "", 96),
        ("video/H264", H264_FMTP, 125),
        ("video/H264", H264_BASELINE_FMTP, 102),
    ] {
        engine.register_codec(
            RTCRtpCodecParameters {
                rtp_codec: RTCRtpCodec {
                    mime_type: mime.into(),
                    clock_rate: 90000,
                    channels: 0,
                    sdp_fmtp_line: fmtp.into(),
                    rtcp_feedback: feedback.clone(),
                },
                payload_type: pt,
            },
            RtpCodecKind::Video,
        )?;
    }
    Ok(engine)
}

/// Replace the addresses of host candidates (and `c=` lines) with the configured public ones.
///
/// `webrtc` 0.21's socket layer derives host candidates from the bound sockets and does not apply
/// the 1:1 NAT setting, so it is applied here. With one public address every host candidate gets
/// it; with several, the n-th bound address maps to the n-th public one. Connectivity checks from
/// the browser reach the private socket through the NAT, and the server answers from it, so ICE
/// works without the server ever knowing its public address as a local one.
pub fn advertise(sdp: &str, bound: &[std::net::IpAddr], public: &[String]) -> String {
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
    for line in lines_with_endings(sdp) {
        let body = line.trim_end_matches(['\r', '\n']);
        let ending = &line[body.len()..];
        // CRs before the type are skipped by the stack's lexer: keep them, read past them.
        let text = body.trim_start_matches('\r');
        out.push_str(&body[..body.len() - text.len()]);
        let body = text;
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

/// The lines of `sdp` with their endings, cut at LF as the WebRTC stack's SDP lexer cuts them
/// (a CR is part of a line unless it ends it).
pub fn lines_with_endings(sdp: &str) -> impl Iterator<Item = &str> {
    sdp.split_inclusive('\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    const AUDIO: &str = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\na=rtpmap:111 opus/48000/2\r\na=rtpmap:0 PCMU/8000\r\n";

    #[test]
    fn knows_whether_the_first_audio_mline_sends() {
        let sends = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\na=sendrecv\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\na=recvonly\r\n";
        assert!(check_offer(sends).unwrap().audio_sends);
        let listens =
            "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\na=recvonly\r\n";
        assert!(!check_offer(listens).unwrap().audio_sends);
        // No direction attribute: sendrecv.
        assert!(check_offer(AUDIO).unwrap().audio_sends);
    }

    #[test]
    fn reads_mlines_in_order_and_picks_video() {
        let sdp = format!("{AUDIO}m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nm=video 9 UDP/TLS/RTP/SAVPF 96 102\r\na=rtpmap:96 VP8/90000\r\na=rtpmap:102 H264/90000\r\n");
        let s = check_offer(&sdp).unwrap();
        assert_eq!(s.mlines, vec![Some(Kind::Audio), None, Some(Kind::Video)]);
        assert_eq!(s.video, Some(VideoCodec::Vp8));
        let h264 = format!("{AUDIO}m=video 9 UDP/TLS/RTP/SAVPF 102\r\na=rtpmap:102 H264/90000\r\n");
        assert_eq!(check_offer(&h264).unwrap().video, Some(VideoCodec::H264));
        assert_eq!(check_offer(AUDIO).unwrap().video, None);
    }

    #[test]
    fn advertise_sees_the_same_lines_as_check_offer() {
        // The `c=` after a bare CR is inside an attribute for the stack: left alone.
        let sdp = "a=x\rc=IN IP4 10.0.0.1\r\n\ra=candidate:1 1 udp 1 10.0.0.1 5000 typ host\nend";
        assert_eq!(lines_with_endings(sdp).count(), 3);
        let out = advertise(sdp, &[], &["203.0.113.9".into()]);
        assert_eq!(
            out,
            "a=x\rc=IN IP4 10.0.0.1\r\n\ra=candidate:1 1 udp 1 203.0.113.9 5000 typ host\nend"
        );
    }

    #[test]
    fn reads_m_lines_as_the_stack_does() {
        let spaced = format!("{AUDIO}m= video 9 UDP/TLS/RTP/SAVPF 98\r\na=rtpmap:98 VP9/90000\r\n");
        assert!(check_offer(&spaced).is_err(), "VP9-only video behind 'm= '");
        let bare_cr =
            format!("{AUDIO}\rm=video 9 UDP/TLS/RTP/SAVPF 98\r\n\ra=rtpmap:98 VP9/90000\r\n");
        // An m-line behind a CR inside an attribute line is no m-line for the stack.
        let inside = "v=0\r\na=ext\rm=audio 9 UDP/TLS/RTP/SAVPF 111\ra=rtpmap:111 opus/48000/2\r\n";
        assert!(check_offer(inside)
            .unwrap_err()
            .to_string()
            .contains("no audio"));
        assert!(
            check_offer(&bare_cr).is_err(),
            "VP9-only video after a bare CR"
        );
    }

    #[test]
    fn refuses_what_cannot_be_forwarded_and_says_why() {
        let pcmu = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0 8\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n";
        let e = check_offer(pcmu).unwrap_err().to_string();
        assert!(e.contains("no Opus") && e.contains("PCMU/8000"), "{e}");
        let none = check_offer("v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n").unwrap_err();
        assert!(none.to_string().contains("no audio"));
        let vp9 = format!("{AUDIO}m=video 9 UDP/TLS/RTP/SAVPF 98\r\na=rtpmap:98 VP9/90000\r\n");
        assert!(check_offer(&vp9)
            .unwrap_err()
            .to_string()
            .contains("VP9/90000"));
        let huge = format!("{AUDIO}{}", "a=x\r\n".repeat(MAX_OFFER_BYTES / 4));
        assert!(check_offer(&huge)
            .unwrap_err()
            .to_string()
            .contains("bytes"));
    }
}
