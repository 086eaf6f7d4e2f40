//! Turn taking for the voice bot: a final transcript that stops mid-sentence ("my order
//! number is", "and", "um"; `bot::turns::unfinished`) is held for `[bot.voice]
//! turn_hold_ms`; what the caller says next is joined to it, and the bot answers the whole.
//! While the caller is talking again the hold goes on, up to `turn_max_hold_ms` in all. A
//! finished sentence goes to the bot at once.

use crate::app::App;
use dashmap::DashMap;
use signaling::center::Input;
use signaling::CallId;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

struct Held {
    text: String,
    valence: Option<f32>,
    /// Raised by each change; a timer only flushes the version it was set for.
    version: u64,
    since: Instant,
    talking: bool,
}

pub struct Turns {
    hold: Duration,
    max_hold: Duration,
    held: DashMap<CallId, Held>,
}

impl std::fmt::Debug for Turns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Turns")
            .field("held", &self.held.len())
            .finish()
    }
}

impl Turns {
    pub fn new(hold: Duration, max_hold: Duration) -> Self {
        Self {
            hold,
            max_hold,
            held: DashMap::new(),
        }
    }

    /// The caller's final words on a call the bot may serve.
    pub fn said(&self, app: &Arc<App>, call: &CallId, text: String, valence: Option<f32>) {
        let (text, valence, since) = match self.held.remove(call) {
            Some((_, h)) => (
                format!("{} {}", h.text.trim_end_matches(['.', '…']), text),
                match (h.valence, valence) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                },
                h.since,
            ),
            None => (text, valence, Instant::now()),
        };
        if self.hold.is_zero() || !bot::turns::unfinished(&text) || since.elapsed() >= self.max_hold
        {
            tell(app, call, text, valence);
            return;
        }
        self.held.insert(
            call.clone(),
            Held {
                text,
                valence,
                version: 0,
                since,
                talking: false,
            },
        );
        self.arm(Arc::downgrade(app), call.clone(), 0, self.hold);
    }

    /// The caller started talking again: a held turn waits for the rest.
    pub fn caller_started(&self, call: &CallId) {
        if let Some(mut h) = self.held.get_mut(call) {
            h.talking = true;
            h.version += 1;
        }
    }

    /// The caller's utterance ended: if nothing is recognised in it, the held words go after
    /// the usual wait.
    pub fn caller_stopped(&self, app: &Arc<App>, call: &CallId) {
        let version = match self.held.get_mut(call) {
            Some(mut h) => {
                h.talking = false;
                h.version += 1;
                h.version
            }
            None => return,
        };
        self.arm(Arc::downgrade(app), call.clone(), version, self.hold);
    }

    /// The call ended.
    pub fn forget(&self, call: &CallId) {
        self.held.remove(call);
    }

    fn arm(&self, app: Weak<App>, call: CallId, version: u64, after: Duration) {
        let max_hold = self.max_hold;
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            let Some(app) = app.upgrade() else { return };
            let flush = app.turns.held.get(&call).is_some_and(|h| {
                (h.version == version && !h.talking) || h.since.elapsed() >= max_hold
            });
            if flush {
                if let Some((_, h)) = app.turns.held.remove(&call) {
                    tell(&app, &call, h.text, h.valence);
                }
            } else if app.turns.held.get(&call).is_some_and(|h| h.talking) {
                // Still talking: look again at the latest by the longest hold.
                let left = app
                    .turns
                    .held
                    .get(&call)
                    .map(|h| max_hold.saturating_sub(h.since.elapsed()))
                    .unwrap_or_default();
                let v = app.turns.held.get(&call).map(|h| h.version).unwrap_or(0);
                app.turns.arm(Arc::downgrade(&app), call, v, left);
            }
        });
    }
}

fn tell(app: &App, call: &CallId, text: String, valence: Option<f32>) {
    app.center.tell(Input::CustomerSaid {
        call: call.clone(),
        text,
        valence,
    });
}
