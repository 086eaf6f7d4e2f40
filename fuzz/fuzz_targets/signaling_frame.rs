//! `signaling::protocol::parse_client_frame` on any UTF-8 text, as a WebSocket text frame
//! delivers it.
//!
//! Never panics. An accepted frame's message serialises, and parses back to the same message
//! (when the re-serialised frame still fits the size limit); the replies the server would send
//! (`ok` echoing the id, or `error` with the parse error's code, message and id) serialise.

#![no_main]

use libfuzzer_sys::fuzz_target;
use signaling::protocol::{parse_client_frame, ServerMessage, MAX_FRAME_BYTES};

fuzz_target!(|data: &[u8]| {
    // A WebSocket text frame is valid UTF-8 by the time the server reads it.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse_client_frame(text) {
        Ok(frame) => {
            if let Some(id) = &frame.id {
                assert!(id.is_string() || id.is_number(), "echoed id {id}");
            }
            let json = serde_json::to_string(&frame.message).expect("client messages serialise");
            if json.len() <= MAX_FRAME_BYTES {
                let again = parse_client_frame(&json)
                    .unwrap_or_else(|e| panic!("re-serialised frame {json} is refused: {e:?}"));
                assert_eq!(again.message, frame.message, "round trip through {json}");
                assert_eq!(again.id, None);
            }
            if let Some(id) = frame.id {
                let _ = ServerMessage::Ok { re: id }.to_json();
            }
        }
        Err(e) => {
            let _ = ServerMessage::error(e.code, e.message, e.id).to_json();
        }
    }
});
