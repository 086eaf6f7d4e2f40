//! The join sagas of browser participants. Each checks with the call center before touching
//! media, creates the peer connection, then commits in the center; when the commit is refused
//! (the call moved on while media was negotiated) the peer is closed again, so a refused
//! request leaves nothing behind.

use super::Refusal;
use crate::app::{App, PeerInfo};
use signaling::center::{Input, MediaLoss, Member, Start};
use signaling::protocol::{CallerInfo, Channel, EndReason, IceCandidate, ServerMessage};
use signaling::{
    AgentId, CallId, ErrorCode, ParticipantId, SessionId, SupervisorId, SupervisorMode,
};
use std::sync::Arc;

/// Answer `sdp` with a new peer of `session` in the call's room, and remember who owns it.
async fn join(
    app: &App,
    session: &SessionId,
    call_id: &CallId,
    member: Member,
    sdp: &str,
) -> Result<(ParticipantId, String), Refusal> {
    // A supervisor joins as a listener; what their mode means is the center's plan.
    let kind = member.kind();
    let peer_id = ParticipantId::random();
    let (_, answer) = app
        .sfu
        .join(call_id, peer_id.clone(), kind, sdp, app.media_tx.clone())
        .await?;
    app.peers.insert(
        peer_id.clone(),
        PeerInfo {
            call: call_id.clone(),
            member,
            session: session.clone(),
        },
    );
    Ok((peer_id, answer))
}

/// Commit a peer that joined the room in the call center. When the center refuses (the call
/// moved on while media was negotiated) the peer is closed again; else the SDP answer goes to
/// `session` first, then whatever the center said.
async fn commit(
    app: &App,
    session: &SessionId,
    call_id: &CallId,
    (peer_id, sdp): (ParticipantId, String),
    inputs: Vec<Input>,
) -> Result<(), Refusal> {
    let answer = ServerMessage::Answer {
        call_id: call_id.clone(),
        peer_id: peer_id.clone(),
        sdp,
    };
    if let Err(e) = app
        .center
        .commit(inputs, Some((session.clone(), answer)))
        .await
    {
        app.drop_peer(&peer_id);
        return Err(e.into());
    }
    Ok(())
}

/// A customer calls: a room, the customer's peer, the call in the queue, speech, and the
/// queue announcement. The answer goes to `session` before anything the center says.
pub async fn start_call(
    app: &Arc<App>,
    session: &SessionId,
    caller: CallerInfo,
    language: String,
    start: Start,
    prefs: super::speaker::VoicePrefs,
    sdp: &str,
) -> Result<CallId, Refusal> {
    let call_id = CallId::random();
    app.sfu.open_room(&call_id)?;
    // The bot speaking to the caller replaces the queue announcement.
    let bot_speaks = start.bot && app.speakers.is_some();
    if let (true, Some(sp)) = (bot_speaks, &app.speakers) {
        sp.prefer(&call_id, prefs);
    }
    let joined = match join(app, session, &call_id, Member::Customer, sdp).await {
        Ok(joined) => joined,
        Err(e) => {
            // The room was opened for this call only.
            let sfu = app.sfu.clone();
            let room = call_id.clone();
            tokio::spawn(async move { sfu.close_room(&room).await });
            return Err(e);
        }
    };
    app.bind_customer(call_id.clone(), session.clone());
    app.start_speech(&call_id, &language);
    if let Err(e) = app.store.call_started(
        call_id.as_str(),
        &serde_json::to_string(&caller).unwrap_or_default(),
    ) {
        tracing::error!("store: {e:#}");
    }
    let participant = joined.0.clone();
    let inputs = vec![
        Input::StartCall {
            call: call_id.clone(),
            caller,
            start,
        },
        Input::MediaJoined {
            call: call_id.clone(),
            participant,
            member: Member::Customer,
        },
    ];
    commit(app, session, &call_id, joined, inputs).await?;
    let cid = call_id.clone();
    let waiting = app
        .center
        .read(move |c, _| c.agent_of(&cid).is_none() && c.is_live(&cid))
        .await
        .unwrap_or(false);
    if waiting && !bot_speaks {
        super::voice::start_announcement(app, &call_id);
    }
    tracing::info!(call_id = %call_id, "call started");
    Ok(call_id)
}

/// A customer starts a text chat: no media, straight to the bot or the queue.
pub async fn start_chat(
    app: &Arc<App>,
    session: &SessionId,
    caller: CallerInfo,
    start: Start,
) -> Result<CallId, Refusal> {
    let call_id = CallId::random();
    if let Err(e) = app.store.call_started(
        call_id.as_str(),
        &serde_json::to_string(&caller).unwrap_or_default(),
    ) {
        tracing::error!("store: {e:#}");
    }
    app.bind_customer(call_id.clone(), session.clone());
    let input = Input::StartCall {
        call: call_id.clone(),
        caller,
        start,
    };
    if let Err(e) = app.center.apply(input).await {
        app.unbind_customer(&call_id);
        return Err(e.into());
    }
    tracing::info!(call_id = %call_id, "chat started");
    Ok(call_id)
}

/// An agent accepts a chat offered to them: no media to set up.
pub async fn accept_chat(app: &Arc<App>, agent: &AgentId, call_id: &CallId) -> Result<(), Refusal> {
    let (a, c) = (agent.clone(), call_id.clone());
    let channel = app
        .center
        .read(move |center, _| {
            center
                .check_offered(&a, &c, "accept")
                .map(|_| center.channel_of(&c))
        })
        .await??;
    if !matches!(channel, Some(Channel::Chat | Channel::Callback)) {
        return Err(Refusal::new(
            ErrorCode::BadMessage,
            "a voice call is accepted with the SDP offer of the agent's peer connection",
        ));
    }
    app.center
        .apply(Input::Accept {
            agent: agent.clone(),
            call: call_id.clone(),
        })
        .await?;
    if let Err(e) = app.store.call_answered(call_id.as_str(), agent.as_str()) {
        tracing::error!("store: {e:#}");
    }
    tracing::info!(call_id = %call_id, agent = %agent, "chat accepted");
    Ok(())
}

/// An agent accepts the call offered to them, with their peer's offer.
pub async fn accept(
    app: &Arc<App>,
    session: &SessionId,
    agent: &AgentId,
    call_id: &CallId,
    sdp: &str,
) -> Result<(), Refusal> {
    // Check before touching media; checked again atomically when accepting.
    let (a, c) = (agent.clone(), call_id.clone());
    let channel = app
        .center
        .read(move |center, _| {
            center
                .check_offered(&a, &c, "accept")
                .map(|_| center.channel_of(&c))
        })
        .await??;
    if matches!(channel, Some(Channel::Chat | Channel::Callback)) {
        return Err(Refusal::new(
            ErrorCode::BadMessage,
            "a chat or a callback is accepted without an SDP offer",
        ));
    }
    let joined = join(app, session, call_id, Member::Agent(agent.clone()), sdp).await?;
    let inputs = vec![
        Input::Accept {
            agent: agent.clone(),
            call: call_id.clone(),
        },
        Input::MediaJoined {
            call: call_id.clone(),
            participant: joined.0.clone(),
            member: Member::Agent(agent.clone()),
        },
    ];
    // Refused if the offer timed out or was withdrawn while we set up media.
    commit(app, session, call_id, joined, inputs).await?;
    super::voice::stop_announcement(app, call_id);
    if let Err(e) = app.store.call_answered(call_id.as_str(), agent.as_str()) {
        tracing::error!("store: {e:#}");
    }
    // What the customer said before the agent picked up (in the queue, or to the bot).
    if app.speech.is_some() {
        match app.store.transcript(call_id.as_str()) {
            Ok(Some(utterances)) if !utterances.is_empty() => app.send(
                session,
                &ServerMessage::TranscriptHistory {
                    call_id: call_id.clone(),
                    utterances,
                },
            ),
            Ok(_) => {}
            Err(e) => tracing::error!(call_id = %call_id, "store: {e:#}"),
        }
    }
    tracing::info!(call_id = %call_id, agent = %agent, "accepted");
    Ok(())
}

/// The customer's page came back to its live contact (after a reload and a `resume`): a
/// voice call with the offer of a new peer connection, which replaces the old one in the
/// room (the agent's and the bot's audio go to it, its audio to them and to the speech
/// pipeline); a chat without. The chat so far is sent again; the center says where the
/// contact stands (`call_state`).
pub async fn rejoin(
    app: &Arc<App>,
    session: &SessionId,
    call_id: &CallId,
    sdp: Option<&str>,
) -> Result<(), Refusal> {
    let c = call_id.clone();
    let with_media = sdp.is_some();
    app.center
        .read(move |center, _| center.check_rejoin(&c, with_media))
        .await??;
    let old: Vec<ParticipantId> = app
        .peers
        .iter()
        .filter(|e| &e.value().call == call_id && e.value().member == Member::Customer)
        .map(|e| e.key().clone())
        .collect();
    match sdp {
        Some(sdp) => {
            let joined = join(app, session, call_id, Member::Customer, sdp).await?;
            let input = Input::CustomerRejoined {
                call: call_id.clone(),
                participant: Some(joined.0.clone()),
            };
            commit(app, session, call_id, joined, vec![input]).await?;
            // The page's old connection, if the server has not seen it go yet.
            for p in &old {
                app.drop_peer(p);
            }
        }
        None => {
            app.center
                .apply(Input::CustomerRejoined {
                    call: call_id.clone(),
                    participant: None,
                })
                .await?;
        }
    }
    replay_chat(app, session, call_id);
    tracing::info!(call_id = %call_id, "customer rejoined");
    Ok(())
}

/// Send the contact's chat lines so far again to `session` (a page that reloaded has lost them).
fn replay_chat(app: &App, session: &SessionId, call_id: &CallId) {
    let lines = match app.store.chat_lines(call_id.as_str()) {
        Ok(lines) => lines,
        Err(e) => {
            tracing::error!(call_id = %call_id, "store: {e:#}");
            return;
        }
    };
    for l in lines {
        app.send(
            session,
            &ServerMessage::Chat {
                call_id: call_id.clone(),
                from: l.from,
                text: l.text,
                at_ms: l.at_ms,
                entry_id: None,
            },
        );
    }
}

/// A supervisor starts listening to a call, with their peer's offer.
pub async fn listen(
    app: &Arc<App>,
    session: &SessionId,
    sup: &SupervisorId,
    call_id: &CallId,
    sdp: &str,
) -> Result<(), Refusal> {
    let (s, c) = (sup.clone(), call_id.clone());
    app.center
        .read(move |center, _| center.check_listen(&c, &s))
        .await??;
    let member = Member::Supervisor(sup.clone());
    let joined = join(app, session, call_id, member.clone(), sdp).await?;
    let inputs = vec![
        Input::Listen {
            sup: sup.clone(),
            call: call_id.clone(),
        },
        Input::MediaJoined {
            call: call_id.clone(),
            participant: joined.0.clone(),
            member,
        },
    ];
    commit(app, session, call_id, joined, inputs).await?;
    tracing::info!(call_id = %call_id, supervisor = %sup, "listening");
    Ok(())
}

/// A listening supervisor whispers to the agent, barges in, or goes back to listening.
pub async fn supervise(
    app: &App,
    sup: &SupervisorId,
    call_id: &CallId,
    mode: SupervisorMode,
) -> Result<(), Refusal> {
    if mode != SupervisorMode::Listen {
        // To be heard the supervisor's listening connection must send: a listen-only offer
        // (first audio m-line recvonly) would make a whisper nobody hears.
        let member = Member::Supervisor(sup.clone());
        let room = app.sfu.find_room(call_id);
        let peers: Vec<bool> = app
            .peers
            .iter()
            .filter(|e| &e.value().call == call_id && e.value().member == member)
            .filter_map(|e| room.as_ref()?.peer(e.key()).map(|p| p.sends_audio()))
            .collect();
        if !peers.is_empty() && !peers.contains(&true) {
            return Err(Refusal::new(
                ErrorCode::WrongState,
                "your listening connection sends no audio (its first audio m-line is recvonly); \
                 listen again with a sendrecv one to whisper or barge in",
            ));
        }
    }
    app.center
        .apply(Input::Supervise {
            sup: sup.clone(),
            call: call_id.clone(),
            mode,
        })
        .await?;
    tracing::info!(call_id = %call_id, supervisor = %sup, mode = mode.as_str(), "supervision");
    Ok(())
}

/// Apply a trickled candidate to one of `session`'s own peers.
pub async fn ice_candidate(
    app: &App,
    session: &SessionId,
    peer_id: &ParticipantId,
    c: IceCandidate,
) -> Result<(), Refusal> {
    let not_found = || Refusal::new(ErrorCode::NotFound, format!("peer {peer_id} not found"));
    let info = app
        .peers
        .get(peer_id)
        .map(|p| p.clone())
        .filter(|p| &p.session == session)
        .ok_or_else(not_found)?;
    let room = app
        .sfu
        .find_room(&info.call)
        .ok_or_else(|| Refusal::new(ErrorCode::NotFound, "call has ended"))?;
    let peer = room.peer(peer_id).ok_or_else(not_found)?;
    peer.add_ice_candidate(webrtc::peer_connection::RTCIceCandidateInit {
        candidate: c.candidate,
        sdp_mid: c.sdp_mid,
        sdp_mline_index: c.sdp_mline_index,
        ..Default::default()
    })
    .await?;
    Ok(())
}

/// A session closed. Its customer's call ends; an agent or supervisor with no session left is
/// logged out (an agent's ringing or live call is dealt with by the center). Every peer the
/// session owns goes, each from its own call: an agent's call cannot go on without the agent's
/// media (another tab of the same agent has none), and a supervisor's listening ends.
pub fn session_closed(app: &App, session: &SessionId, who: super::Identity) {
    use super::Identity;
    match who {
        Identity::Anonymous => {}
        Identity::Customer(call) => {
            app.center.tell(Input::EndCall {
                call: call.clone(),
                reason: EndReason::CustomerDisconnected,
            });
            app.unbind_customer(&call);
        }
        Identity::Agent(agent) => {
            app.unbind_agent(&agent, session);
            app.center.tell(Input::AgentLogout { agent });
        }
        Identity::Supervisor(sup) => {
            app.unbind_supervisor(&sup, session);
            app.center.tell(Input::SupervisorLogout { sup });
        }
    }
    let owned: Vec<(ParticipantId, PeerInfo)> = app
        .peers
        .iter()
        .filter(|e| &e.value().session == session)
        .map(|e| (e.key().clone(), e.value().clone()))
        .collect();
    for (id, p) in owned {
        let input = match p.member {
            // Their call goes back to the queue (if the logout above did not already).
            Member::Agent(_) => Some(Input::MediaLost {
                call: p.call.clone(),
                participant: id.clone(),
                loss: MediaLoss::Closed,
            }),
            Member::Supervisor(sup) => Some(Input::StopListening {
                sup,
                call: p.call.clone(),
            }),
            Member::Customer => Some(Input::EndCall {
                call: p.call.clone(),
                reason: EndReason::CustomerDisconnected,
            }),
            Member::Bot => None,
        };
        if let Some(input) = input {
            app.center.tell(input);
        }
        app.drop_peer(&id);
    }
}
