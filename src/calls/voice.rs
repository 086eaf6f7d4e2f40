//! Server-side participants: a voice in a call with no browser and no socket. The queue
//! announcement is the first; the voice bot will join the same way.

use crate::app::App;
use media::{ParticipantKind, Voice};
use signaling::center::{Input, Member};
use signaling::{CallId, ParticipantId};
use std::sync::Arc;
use std::time::Duration;

/// Add a server-side voice to a live call: a publication in the call's room, a member of the
/// call in the center (which routes it), removed again if the center refuses.
pub async fn join(app: &App, call: &CallId) -> Result<Arc<Voice>, super::Refusal> {
    let room = app
        .sfu
        .find_room(call)
        .ok_or_else(|| super::Refusal::new(signaling::ErrorCode::NotFound, "call has ended"))?;
    let id = ParticipantId::random();
    let voice = room.add_voice(id.clone(), ParticipantKind::Bot)?;
    let joined = app
        .center
        .apply(Input::MediaJoined {
            call: call.clone(),
            participant: id.clone(),
            member: Member::Bot,
        })
        .await;
    if let Err(e) = joined {
        room.remove_voice(&id);
        return Err(e.into());
    }
    Ok(voice)
}

/// Take a server-side voice out of a call.
pub fn leave(app: &App, call: &CallId, id: &ParticipantId) {
    if let Some(room) = app.sfu.find_room(call) {
        if let Some(v) = room.voice(id) {
            v.stop();
        }
        room.remove_voice(id);
    }
    app.center.tell(Input::MediaLeft {
        call: call.clone(),
        participant: id.clone(),
    });
}

/// Play the queue announcement to a waiting customer, again every `repeat_s` while the call
/// waits (0: once). It ends when an agent answers ([`stop_announcement`]) or the call ends.
pub fn start_announcement(app: &Arc<App>, call: &CallId) {
    let Some(pcm) = app.announcement.clone() else {
        return;
    };
    let repeat = Duration::from_secs(app.config.calls.queue_announcement_repeat_s);
    let weak = Arc::downgrade(app);
    let call = call.clone();
    let app = app.clone();
    tokio::spawn(async move {
        let voice = match join(&app, &call).await {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(call_id = %call, "announcement: {}", e.message);
                return;
            }
        };
        app.announcements.insert(call.clone(), voice.id().clone());
        // An agent may have answered while the voice joined.
        let cid = call.clone();
        let answered = app
            .center
            .read(move |c, _| c.talking_agent(&cid).is_some())
            .await
            .unwrap_or(true);
        if answered {
            stop_announcement(&app, &call);
            return;
        }
        drop(app);
        loop {
            if voice.play(pcm.clone(), 16_000).is_err() {
                break;
            }
            voice.finished().await;
            if repeat.is_zero() {
                break;
            }
            tokio::time::sleep(repeat).await;
            let Some(app) = weak.upgrade() else { break };
            if app.announcements.get(&call).map(|v| v.clone()).as_ref() != Some(voice.id()) {
                break;
            }
        }
    });
}

/// An agent answered: the announcement stops and leaves the call.
pub fn stop_announcement(app: &App, call: &CallId) {
    if let Some((_, id)) = app.announcements.remove(call) {
        leave(app, call, &id);
    }
}
