//! An interceptor that lets a subscriber's keyframe requests (PLI, FIR) reach the SFU.
//!
//! `webrtc` 0.21 ends inbound RTCP at the interceptor chain unless an interceptor marks a packet
//! for the application. Receiver reports, NACKs and transport feedback are the chain's business;
//! a keyframe request is ours, because only the publisher whose stream we relay can answer it.
//! It sits last on the read path (highest slot) so every other interceptor has seen the RTCP.
//!
//! An RTCP BYE is ours too: a sender that stops (aiortc, for one, and our test
//! client) says goodbye for its streams, and it is how the SFU learns at once that a participant
//! left rather than vanished. (Chrome 156 closes with a DTLS `close_notify` and no BYE, and
//! `webrtc` 0.21 does not report `close_notify`: that close is seen by ICE.) It goes to the
//! application as a message of its own, so that it is routed to the track it names.

use rtc::interceptor::{Attribute, Interceptor, Packet, Slot, StreamInfo, TaggedPacket};
use rtc::rtcp::goodbye::Goodbye;
use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::sansio::Protocol;
use rtc::shared::error::Error;
use std::collections::VecDeque;
use std::time::Instant;

/// Where it goes in the registry: after every built-in interceptor.
pub(crate) const SLOT: usize = 14_500;

pub(crate) fn slot() -> Slot {
    Slot::from(SLOT)
}

#[derive(Default)]
pub(crate) struct KeyframeRequests {
    inbound: VecDeque<TaggedPacket>,
    outbound: VecDeque<TaggedPacket>,
}

fn asks_for_keyframe(p: &dyn rtc::rtcp::Packet) -> bool {
    let any = p.as_any();
    any.is::<PictureLossIndication>() || any.is::<FullIntraRequest>()
}

impl Protocol<TaggedPacket, TaggedPacket, ()> for KeyframeRequests {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = Error;
    type Time = Instant;

    fn handle_read(&mut self, mut msg: TaggedPacket) -> Result<(), Error> {
        if let Packet::Rtcp(all) = &msg.message.packet {
            let byes: Vec<_> = all
                .iter()
                .filter(|p| p.as_any().is::<Goodbye>())
                .cloned()
                .collect();
            let wanted: Vec<_> = all
                .iter()
                .filter(|p| asks_for_keyframe(p.as_ref()))
                .cloned()
                .collect();
            if !byes.is_empty() {
                let mut message = msg.message.clone();
                message.packet = Packet::Rtcp(byes);
                message.add(Attribute::DeliverToApplication);
                self.inbound.push_back(TaggedPacket {
                    now: msg.now,
                    transport: msg.transport,
                    message,
                });
            }
            if wanted.is_empty() {
                return Ok(());
            }
            msg.message.packet = Packet::Rtcp(wanted);
            msg.message.add(Attribute::DeliverToApplication);
        }
        self.inbound.push_back(msg);
        Ok(())
    }

    fn poll_read(&mut self) -> Option<TaggedPacket> {
        self.inbound.pop_front()
    }

    fn handle_write(&mut self, msg: TaggedPacket) -> Result<(), Error> {
        self.outbound.push_back(msg);
        Ok(())
    }

    fn poll_write(&mut self) -> Option<TaggedPacket> {
        self.outbound.pop_front()
    }
}

impl Interceptor for KeyframeRequests {
    fn bind_local_stream(&mut self, _: &StreamInfo) {}
    fn unbind_local_stream(&mut self, _: &StreamInfo) {}
    fn bind_remote_stream(&mut self, _: &StreamInfo) {}
    fn unbind_remote_stream(&mut self, _: &StreamInfo) {}
}
