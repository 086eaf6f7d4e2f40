//! Sessions that survive a dropped connection. A WebSocket that goes away without the
//! client's own close frame (or with 1001, a page going away) leaves its session *parked* for `[session]
//! resume_grace_ms`: its identity, its calls and its bindings stay, and what the server sends
//! it meanwhile waits in its queue. A new connection that shows the session's `resume_token`
//! (`resume {session_id, token}`) takes it over and gets the waiting messages; when the grace
//! runs out the session ends as if it had closed then. A `resume` may also take over a session
//! whose old connection has not noticed yet that it is dead.
//!
//! A customer's page that reloads goes the same way: its connection goes (parked), its
//! media closes (the center keeps the call while the customer is away), the new page
//! resumes the session and `rejoin`s the call with a new peer connection.

use crate::app::{App, Outbound};
use crate::calls::{Identity, Refusal};
use signaling::center::Input;
use signaling::protocol::ServerMessage;
use signaling::{ErrorCode, SessionId};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// A session without a connection.
pub struct Parked {
    identity: Identity,
    rx: mpsc::Receiver<Outbound>,
}

/// A fresh resume token: 128 random bits, hex.
pub fn new_token() -> String {
    use rand::RngCore;
    let mut b = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Keep the session `id` (its connection is gone) for the grace. `rx` is its queue, with what
/// is still unsent. Ends it at once when it has nothing to keep or resume is off.
pub fn park(app: &Arc<App>, id: SessionId, identity: Identity, rx: mpsc::Receiver<Outbound>) {
    let grace = Duration::from_millis(app.config.session.resume_grace_ms);
    // A fresh close signal: what ends a parked session early (its queue overflowing, an
    // administrator changing the account). A resume replaces it with its own.
    let (close, mut closed) = tokio::sync::watch::channel(false);
    let kept = match app.sessions.get_mut(&id) {
        Some(mut s) if !grace.is_zero() => {
            s.close = close;
            s.taken_over.store(false, Ordering::Relaxed);
            true
        }
        _ => false,
    };
    if !kept {
        end(app, &id, identity);
        return;
    }
    if let Identity::Customer(call) = &identity {
        // The call goes on while the customer's page may come back (a reload closes its
        // media too; the center waits for a rejoin instead of ending the call).
        app.center.tell(Input::CustomerAway {
            call: call.clone(),
            away: true,
        });
    }
    app.parked.insert(id.clone(), Parked { identity, rx });
    app.metrics.ws_parked.set(app.parked.len() as i64);
    tracing::info!(session = %id, grace_ms = grace.as_millis() as u64, "connection lost; session kept for a resume");
    let app = app.clone();
    tokio::spawn(async move {
        let outcome = tokio::select! {
            _ = tokio::time::sleep(grace) => "expired",
            // Err: the sender is gone because a resume replaced it.
            r = closed.wait_for(|c| *c) => if r.is_ok() { "ended" } else { "resumed" },
        };
        if let Some((_, p)) = app.parked.remove(&id) {
            app.metrics.ws_parked.set(app.parked.len() as i64);
            app.metrics.ws_resumes.with_label_values(&[outcome]).inc();
            tracing::info!(session = %id, outcome, "parked session ends");
            end(&app, &id, p.identity);
        }
    });
}

fn end(app: &Arc<App>, id: &SessionId, identity: Identity) {
    crate::calls::setup::session_closed(app, id, identity);
    app.remove_session(id);
}

/// The connection of session `new` takes over session `old`: on success it must use `old`'s
/// id and the returned identity from now on. Waiting messages go out first, after `resumed`.
pub async fn resume(
    app: &Arc<App>,
    new: &SessionId,
    old: &SessionId,
    token: &str,
) -> Result<Identity, Refusal> {
    let gone = || {
        Refusal::new(
            ErrorCode::NotFound,
            "nothing to resume: the session ended or the token does not match; start again",
        )
    };
    if new == old {
        return Err(Refusal::new(
            ErrorCode::WrongState,
            "this connection already is that session",
        ));
    }
    let matches = app
        .sessions
        .get(old)
        .is_some_and(|s| constant_time_eq(s.resume_token.as_bytes(), token.as_bytes()));
    if !matches {
        return Err(gone());
    }
    if !app.parked.contains_key(old) {
        // Its old connection still looks alive (a network that died without a word): end
        // that connection without ending the session, then take the session.
        if let Some(s) = app.sessions.get(old) {
            s.taken_over.store(true, Ordering::Relaxed);
            s.close.send_replace(true);
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
        while !app.parked.contains_key(old) && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    let Some((_, parked)) = app.parked.remove(old) else {
        return Err(gone());
    };
    app.metrics.ws_parked.set(app.parked.len() as i64);
    // This connection's queue and close signal become the session's (the old ones go), with
    // `resumed` and then what waited in the old queue at the front.
    let Some((_, mine)) = app.sessions.remove(new) else {
        end(app, old, parked.identity);
        return Err(gone());
    };
    let Some(mut entry) = app.sessions.get_mut(old) else {
        app.sessions.insert(new.clone(), mine);
        return Err(gone());
    };
    let (role, call_id) = match &parked.identity {
        Identity::Anonymous => (None, None),
        Identity::Customer(c) => (Some("customer"), Some(c.clone())),
        Identity::Agent(_) => (Some("agent"), None),
        Identity::Supervisor(_) => (Some("supervisor"), None),
    };
    let resumed = ServerMessage::Resumed {
        session_id: old.clone(),
        role: role.map(str::to_string),
        call_id,
    };
    // The resume's own reply carries its `re`, like every reply (it goes out before the
    // session's queue is this connection's, so not through App::send).
    let re = mine.reply.lock().expect("lock").take().map(|p| p.re);
    let text = match re {
        Some(re) => crate::app::with_re(&resumed.to_json(), &re),
        None => resumed.to_json(),
    };
    let _ = mine.tx.try_send(Outbound::Text(text));
    let mut rx = parked.rx;
    let mut lost = 0;
    while let Ok(m) = rx.try_recv() {
        if mine.tx.try_send(m).is_err() {
            lost += 1;
        }
    }
    entry.tx = mine.tx;
    entry.close = mine.close;
    entry.taken_over = mine.taken_over;
    drop(entry);
    app.metrics.ws_sessions.set(app.sessions.len() as i64);
    app.metrics.ws_resumes.with_label_values(&["resumed"]).inc();
    if lost > 0 {
        tracing::warn!(session = %old, lost, "messages for a resumed session did not fit its queue");
    }
    tracing::info!(session = %old, "session resumed on a new connection");
    if let Identity::Customer(call) = &parked.identity {
        app.center.tell(Input::CustomerAway {
            call: call.clone(),
            away: false,
        });
    }
    Ok(parked.identity)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
