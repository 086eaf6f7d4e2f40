//! A customer's page that reloads (or whose peer connection closes while its session is kept)
//! does not end the call: the call waits for the page to come back and rejoin it with a new
//! peer connection.
//!
//! The policy, in the order things happen on a reload:
//! - the session's connection goes (`CustomerAway {away: true}`: the shell keeps the session
//!   for its resume grace) and the customer's media closes: the call goes on without the
//!   customer's media for `customer_rejoin_s` (a page that reloads is back in a second or
//!   two; a closed tab should not leave the agent in silence for the whole grace), then ends
//!   as `customer_disconnected` (sooner if the grace runs out first);
//! - media that closes while the session still looks connected waits [`CLOSE_SETTLE`] for the
//!   connection to go too (a page going away closes both, in either order) before the call
//!   ends as `customer_disconnected`; media whose network failed (`media_failed`) ends it at
//!   once, as before, unless the session is away (then it waits too, and ends as
//!   `media_failed` if the page does not come back);
//! - a session that comes back (`CustomerAway {away: false}`) without media must rejoin
//!   (`CustomerRejoined`) within the same time.

use super::{CallCenter, Event, MediaLoss, Member, Output, Recipient};
use crate::error::{Result, SignalError};
use crate::ids::{CallId, ParticipantId, ParticipantKind};
use crate::protocol::{Channel, EndReason};
use std::time::{Duration, Instant};

/// How long a customer's media that closed waits for their connection to go too (a page
/// that reloads) before the call ends.
pub const CLOSE_SETTLE: Duration = Duration::from_secs(1);

/// A call's customer media is gone, and the call waits for it.
#[derive(Clone, Copy, Debug)]
pub(super) struct Gone {
    /// When the media went.
    since: Instant,
    /// How the call ends if it does not come back.
    why: EndReason,
    /// The customer's connection went too (or came back without media): a page reloading,
    /// which has `customer_rejoin_s`; else [`CLOSE_SETTLE`].
    reload: bool,
}

impl CallCenter {
    /// When the call whose customer media is `gone` gives up on it.
    fn gives_up(&self, gone: &Gone) -> Instant {
        let wait = if gone.reload {
            Duration::from_secs(self.config.customer_rejoin_s)
        } else {
            CLOSE_SETTLE
        };
        gone.since + wait
    }
}

impl CallCenter {
    /// The customer's session lost its connection (`away`) or got it back.
    pub(crate) fn customer_away(&mut self, now: Instant, call_id: &CallId, away: bool) {
        let Some(call) = self.calls.get_mut(call_id) else {
            return;
        };
        call.customer_away = away;
        let has_media = call.members.iter().any(|(_, m)| *m == Member::Customer);
        if has_media || call.channel != Channel::Voice || !call.customer_media {
            // Nothing to wait for: the media goes on (or there is none); the session's grace
            // decides.
            call.customer_gone = None;
            return;
        }
        // The media is gone and the connection went too (a page reloading) or came back
        // without it: the page has the rejoin time, counted from when the media went (going
        // away and coming back again does not make it longer).
        let gone = call.customer_gone.get_or_insert(Gone {
            since: now,
            why: EndReason::CustomerDisconnected,
            reload: true,
        });
        gone.reload = true;
    }

    /// The customer's media went away. Returns whether the call goes on without it for now
    /// (else the caller ends it).
    pub(super) fn customer_media_gone(
        &mut self,
        now: Instant,
        call_id: &CallId,
        participant: &ParticipantId,
        loss: MediaLoss,
    ) -> bool {
        let Some(call) = self.calls.get_mut(call_id) else {
            return false;
        };
        if !call.customer_away && loss == MediaLoss::Failed {
            return false;
        }
        call.customer_gone = Some(Gone {
            since: now,
            // A network that failed is `media_failed` if the page does not come back.
            why: match loss {
                MediaLoss::Failed => EndReason::MediaFailed,
                _ => EndReason::CustomerDisconnected,
            },
            reload: call.customer_away,
        });
        self.media_left(call_id, participant);
        self.tell_agent_customer_connection(call_id, false);
        true
    }

    /// The agent on the call hears why the customer went quiet, and when they are back.
    fn tell_agent_customer_connection(&mut self, call_id: &CallId, connected: bool) {
        let msg = Event::PeerConnection {
            call_id: call_id.clone(),
            party: ParticipantKind::Customer,
            connected,
        };
        self.notify_agent_of(call_id, msg);
    }

    /// Whether the customer's page may rejoin the contact now, with a new peer connection
    /// (`with_media`, a voice call) or without (a chat). Asked before touching media.
    pub fn check_rejoin(&self, call_id: &CallId, with_media: bool) -> Result<()> {
        // (Ended calls are forgotten: not found.)
        let call = self
            .calls
            .get(call_id)
            .ok_or_else(|| SignalError::CallNotFound(call_id.clone()))?;
        match (call.channel, with_media) {
            (Channel::Voice, false) => Err(SignalError::BadRequest(
                "a voice call is rejoined with the SDP offer of a new peer connection".into(),
            )),
            (Channel::Chat | Channel::Callback, true) => Err(SignalError::BadRequest(
                "a chat has no media: rejoin it without an SDP offer".into(),
            )),
            _ => Ok(()),
        }
    }

    /// The customer's page came back to its contact: with a new peer connection
    /// (`participant`, a voice call) or without (a chat). The new media replaces the old, the
    /// call stops waiting for it, and the customer is told where the contact stands.
    pub(crate) fn customer_rejoined(
        &mut self,
        call_id: &CallId,
        participant: Option<ParticipantId>,
    ) -> Result<()> {
        self.check_rejoin(call_id, participant.is_some())?;
        let call = self.call_mut(call_id)?;
        // The agent was told the customer's media went (and now hears it is back) only if it
        // went before the new connection came.
        let was_gone = call.customer_gone.take().is_some();
        call.customer_away = false;
        let was_muted = std::mem::replace(&mut call.customer_muted, false);
        if let Some(p) = participant {
            call.members.retain(|(_, m)| *m != Member::Customer);
            call.members.push((p, Member::Customer));
            self.push_route(call_id);
            if was_gone {
                self.tell_agent_customer_connection(call_id, true);
            }
        }
        if was_muted {
            // The new connection's microphone starts unmuted.
            let msg = Event::PeerMuted {
                call_id: call_id.clone(),
                party: ParticipantKind::Customer,
                muted: false,
            };
            self.notify_agent_of(call_id, msg);
        }
        let msg = self.call_state_msg(call_id);
        self.outputs
            .push_back(Output::Notify(Recipient::Customer(call_id.clone()), msg));
        Ok(())
    }

    /// When the next call that waits for its customer's media gives up.
    pub(super) fn next_customer_deadline(&self) -> Option<Instant> {
        self.calls
            .values()
            .filter_map(|c| c.customer_gone.as_ref().map(|g| self.gives_up(g)))
            .min()
    }

    /// Calls whose customer did not come back in time end as a disconnect (or `media_failed`).
    pub(super) fn end_customers_gone(&mut self, now: Instant) {
        let due: Vec<(CallId, EndReason)> = self
            .calls
            .iter()
            .filter_map(|(id, c)| {
                let g = c.customer_gone.as_ref()?;
                (self.gives_up(g) <= now).then(|| (id.clone(), g.why))
            })
            .collect();
        for (id, why) in due {
            // Ending forgets the call, and its deadline with it.
            let _ = self.end_call(now, &id, why);
        }
    }
}
