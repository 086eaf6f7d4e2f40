//! The center's domain events as wire messages: the one place they meet the protocol.

use signaling::center::{Dashboard, Event};
use signaling::protocol::ServerMessage;

pub fn event(e: Event) -> ServerMessage {
    match e {
        Event::CallState {
            call_id,
            state,
            position,
            estimated_wait_s,
            reason,
            overflow,
            agent_name,
        } => ServerMessage::CallState {
            call_id,
            state,
            position,
            estimated_wait_s,
            reason,
            overflow,
            agent_name,
        },
        Event::PeerMuted {
            call_id,
            party,
            muted,
        } => ServerMessage::PeerMuted {
            call_id,
            role: party.as_str().into(),
            muted,
        },
        Event::PeerConnection {
            call_id,
            party,
            connected,
        } => ServerMessage::PeerConnection {
            call_id,
            role: party.as_str().into(),
            connected,
        },
        Event::AgentState {
            state,
            call_id,
            reason,
        } => ServerMessage::AgentState {
            state,
            call_id,
            reason,
        },
        Event::AgentLost { call_id } => ServerMessage::AgentLost { call_id },
        Event::Transferred { call_id, queue, by } => {
            ServerMessage::Transferred { call_id, queue, by }
        }
        Event::CallOffered {
            call_id,
            caller,
            waited_s,
            timeout_s,
            channel,
            handoff,
            queue,
            callback,
            transfer,
        } => ServerMessage::CallOffered {
            call_id,
            caller,
            waited_s,
            timeout_s,
            channel,
            handoff,
            queue,
            callback,
            transfer,
        },
        Event::Chat {
            call_id,
            from,
            text,
            at_ms,
            entry_id,
        } => ServerMessage::Chat {
            call_id,
            from,
            text,
            at_ms,
            entry_id,
        },
        Event::OfferWithdrawn { call_id, reason } => {
            ServerMessage::OfferWithdrawn { call_id, reason }
        }
        Event::ListenStopped { call_id } => ServerMessage::ListenStopped { call_id },
        Event::Supervision {
            call_id,
            supervisor_id,
            mode,
        } => ServerMessage::Supervision {
            call_id,
            supervisor_id,
            mode,
        },
        Event::SentimentAlert {
            call_id,
            agent,
            negative_utterances,
            trend,
            last_text,
        } => ServerMessage::SentimentAlert {
            call_id,
            agent,
            negative_utterances,
            trend,
            last_text,
        },
    }
}

pub fn dashboard(d: Dashboard) -> ServerMessage {
    ServerMessage::Dashboard {
        calls: d.calls,
        agents: d.agents,
        queue: d.queue,
    }
}
