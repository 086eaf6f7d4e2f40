//! The shell's part of callbacks: a time the customer chose is checked against the wall
//! clock and the queue's business hours (the center has neither) and turned into the
//! center's clock; callbacks that waited when the server stopped wait again at start.

use crate::app::App;
use crate::calls::Refusal;
use signaling::center::{CallbackTime, Input, SavedCallback};
use signaling::protocol::CallbackView;
use signaling::{CallId, ErrorCode};
use std::time::{Duration, Instant};

/// How far ahead a callback may be asked for.
pub const MAX_AHEAD: Duration = Duration::from_secs(14 * 24 * 3600);
/// A time this little in the past is taken as "now" (clocks and typing differ).
const GRACE: Duration = Duration::from_secs(300);

/// The center's instant for wall time `at_ms` (Unix ms), `now` being `wall_ms` on the wall.
fn instant_at(now: Instant, wall_ms: i64, at_ms: i64) -> Instant {
    let ahead = at_ms - wall_ms;
    if ahead >= 0 {
        now + Duration::from_millis(ahead as u64)
    } else {
        now.checked_sub(Duration::from_millis(ahead.unsigned_abs()))
            .unwrap_or(now)
    }
}

fn refuse(message: String) -> Refusal {
    Refusal::new(ErrorCode::BadMessage, message)
}

/// Check `at` (RFC 3339) for a callback of `call`: not in the past, at most [`MAX_AHEAD`]
/// ahead, within its queue's hours when the queue has hours.
pub async fn time_for(app: &App, call: &CallId, at: &str) -> Result<CallbackTime, Refusal> {
    let t: jiff::Timestamp = at.trim().parse().map_err(|e| {
        refuse(format!(
            "at: not an RFC 3339 time with its offset, e.g. 2026-12-07T10:30:00+01:00 ({e})"
        ))
    })?;
    let wall = jiff::Timestamp::now();
    let ahead_ms = t.as_millisecond() - wall.as_millisecond();
    if ahead_ms < -(GRACE.as_millis() as i64) {
        return Err(refuse("at: that time has passed".into()));
    }
    if ahead_ms > MAX_AHEAD.as_millis() as i64 {
        return Err(refuse(format!(
            "at: a callback can be asked for at most {} days ahead",
            MAX_AHEAD.as_secs() / 86_400
        )));
    }
    let queue = app
        .center
        .read({
            let call = call.clone();
            move |c, _| c.queue_of(&call)
        })
        .await
        .map_err(|e| Refusal::new(ErrorCode::Internal, e.to_string()))?
        .ok_or_else(|| Refusal::new(ErrorCode::NotFound, "no such contact"))?;
    if let Some(q) = queue {
        let queues = app.queues();
        let hours = signaling::center::routing::queue(&queues, &q).and_then(|r| r.hours.as_ref());
        if let Some(h) = hours {
            let open = crate::hours::Schedule::parse(h).map_or(true, |s| s.is_open(t));
            if !open {
                return Err(refuse(format!(
                    "at: the {q} queue is closed then (open {}{})",
                    h.open.join(", "),
                    h.timezone
                        .as_deref()
                        .map(|z| format!(", {z}"))
                        .unwrap_or_default()
                )));
            }
        }
    }
    let t = t.max(wall);
    Ok(CallbackTime {
        at: t.round(jiff::Unit::Second).unwrap_or(t).to_string(),
        due: instant_at(crate::app::now(), wall.as_millisecond(), t.as_millisecond()),
    })
}

/// Callbacks no agent took before the server stopped wait again (scheduled ones for their
/// time). Returns how many.
pub fn restore(app: &App) -> anyhow::Result<usize> {
    let rows = app.store.waiting_callbacks()?;
    let now = crate::app::now();
    let wall = jiff::Timestamp::now().as_millisecond();
    let n = rows.len();
    for r in rows {
        let caller = serde_json::from_str(&r.caller_json).unwrap_or_default();
        let handoff = r
            .handoff_json
            .as_deref()
            .and_then(|h| serde_json::from_str(h).ok());
        // A time already past gives an instant now or before: the center queues it at once.
        let due =
            r.at.as_deref()
                .and_then(|a| a.parse::<jiff::Timestamp>().ok())
                .map(|t| instant_at(now, wall, t.as_millisecond()));
        app.center
            .tell(Input::RestoreCallback(Box::new(SavedCallback {
                call: CallId::from(r.call_id.as_str()),
                caller,
                queue: r.queue,
                priority: r.priority as i32,
                handoff,
                view: CallbackView {
                    of_call: CallId::from(r.of_call.as_str()),
                    contact: r.contact,
                    note: r.note,
                    at: r.at,
                },
                due,
            })));
    }
    Ok(n)
}
