//! The server's handling of a client's SDP offer, on any UTF-8 text: `media::sdp::check_offer`,
//! `media::sdp::advertise` (with fixed address lists), and the `webrtc` parser that
//! `Sfu::join` runs after `check_offer` (`RTCSessionDescription::offer`).
//!
//! Never panics, and:
//! - `advertise` keeps every line and its ending, changes only `a=candidate:` and `c=IN IP`
//!   lines, is the identity with no public address, and applying it twice changes nothing more;
//!   it never changes what `check_offer` says of an offer.
//! - An offer `webrtc` accepts parses again, and its `marshal()` text goes through the parser
//!   again without a panic (whether it is accepted is not checked).
//! - When both `check_offer` and `webrtc` accept an offer, they see the same m-lines
//!   (`Sfu::join` pairs `check_offer`'s m-lines with `webrtc`'s transceivers by index).
//!   `SB_FUZZ_SDP_AGREE=0` turns this check off.

#![no_main]

use libfuzzer_sys::fuzz_target;
use media::sdp::{advertise, check_offer, MAX_OFFER_BYTES};
use media::Kind;
use std::net::IpAddr;
use std::sync::OnceLock;
use webrtc::peer_connection::RTCSessionDescription;

struct Lists {
    /// (bound, public) as `MediaConfig` has them.
    cases: Vec<(Vec<IpAddr>, Vec<String>)>,
    agree: bool,
}

fn lists() -> &'static Lists {
    static LISTS: OnceLock<Lists> = OnceLock::new();
    LISTS.get_or_init(|| {
        let ip = |s: &str| s.parse::<IpAddr>().expect("fixed address");
        Lists {
            cases: vec![
                // One public address: every host candidate gets it.
                (vec![ip("10.0.0.5")], vec!["203.0.113.7".into()]),
                // Several: the n-th bound maps to the n-th public, extra bound ones to the last.
                (
                    vec![ip("10.0.0.5"), ip("192.168.1.20"), ip("fd00::5")],
                    vec!["203.0.113.7".into(), "2001:db8::7".into()],
                ),
                // None: the offer is left alone.
                (vec![ip("10.0.0.5")], vec![]),
            ],
            agree: std::env::var_os("SB_FUZZ_SDP_AGREE").is_none_or(|v| v != "0"),
        }
    })
}

/// `check_offer`'s verdict, comparable.
type Verdict = Result<media::sdp::OfferSummary, String>;

fn verdict(sdp: &str) -> Verdict {
    check_offer(sdp).map_err(|e| e.to_string())
}

fn check_advertise(sdp: &str, before_verdict: &Verdict, bound: &[IpAddr], public: &[String]) {
    let out = advertise(sdp, bound, public);
    if public.is_empty() {
        assert_eq!(out, sdp, "no public address, yet the offer changed");
        return;
    }
    // Lines as the server (and the stack's lexer) cut them: at LF; CRs before the type skipped.
    let before: Vec<&str> = media::sdp::lines_with_endings(sdp).collect();
    let after: Vec<&str> = media::sdp::lines_with_endings(&out).collect();
    assert_eq!(before.len(), after.len(), "line count changed");
    for (b, a) in before.iter().zip(&after) {
        if b != a {
            let t = b.trim_start_matches('\r');
            assert!(
                t.starts_with("a=candidate:") || t.starts_with("c=IN IP"),
                "changed a line it should not touch: {b:?} -> {a:?}"
            );
            let end = |l: &str| l.len() - l.trim_end_matches(['\r', '\n']).len();
            assert_eq!(
                &b[b.len() - end(b)..],
                &a[a.len() - end(a)..],
                "line ending changed"
            );
        }
    }
    assert_eq!(
        advertise(&out, bound, public),
        out,
        "advertise is not idempotent"
    );
    if sdp.len() <= MAX_OFFER_BYTES && out.len() <= MAX_OFFER_BYTES {
        assert_eq!(
            &verdict(&out),
            before_verdict,
            "advertise changed what check_offer says"
        );
    }
}

fn kind(media: &str) -> Option<Kind> {
    match media {
        "audio" => Some(Kind::Audio),
        "video" => Some(Kind::Video),
        _ => None,
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(sdp) = std::str::from_utf8(data) else {
        return;
    };
    let lists = lists();

    // What Sfu::join does first; the error text goes to the client, so it must format.
    let summary = verdict(sdp);

    for (bound, public) in &lists.cases {
        check_advertise(sdp, &summary, bound, public);
    }

    // Then the webrtc parser, as Sfu::join calls it.
    let Ok(offer) = RTCSessionDescription::offer(sdp.to_string()) else {
        return;
    };
    let parsed = offer.unmarshal().expect("an accepted offer parses again");
    let text = parsed.marshal();
    if let Ok(again) = RTCSessionDescription::offer(text) {
        let _ = again.unmarshal().map(|d| d.marshal());
    }

    if lists.agree {
        if let Ok(summary) = summary {
            let theirs: Vec<Option<Kind>> = parsed
                .media_descriptions
                .iter()
                .map(|m| kind(&m.media_name.media))
                .collect();
            assert_eq!(
                summary.mlines, theirs,
                "check_offer and webrtc see different m-lines"
            );
        }
    }
});
