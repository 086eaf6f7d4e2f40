//! Turn taking for the voice bot: a final transcript that stops mid-sentence ("my order
//! number is", "and", "um"; `bot::turns::unfinished`) is held for `[bot.voice]
//! turn_hold_ms`; what the caller says next is joined to it, and the bot answers the whole.
//! While the caller is talking again, or words they said are still being recognised, the hold
//! lasts, however long they read (a slow order number); the quiet after that is
//! `turn_hold_ms` again, or less once the hold has lasted `turn_max_hold_ms` in all. A
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
}

/// What the caller is doing: talking, and how many ended utterances still await their
/// final (or the word that there was none).
#[derive(Default)]
struct Caller {
    talking: bool,
    pending: u32,
}

pub struct Turns {
    hold: Duration,
    max_hold: Duration,
    held: DashMap<CallId, Held>,
    callers: DashMap<CallId, Caller>,
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
            callers: DashMap::new(),
        }
    }

    /// Whether the caller is quiet with no words still being recognised: only then does a
    /// held turn's wait run.
    fn quiet(&self, call: &CallId) -> bool {
        self.callers
            .get(call)
            .is_none_or(|c| !c.talking && c.pending == 0)
    }

    /// The wait left for a held turn once the caller is quiet.
    fn wait_left(&self, call: &CallId) -> Duration {
        let left = self
            .held
            .get(call)
            .map(|h| self.max_hold.saturating_sub(h.since.elapsed()))
            .unwrap_or_default();
        self.hold.min(left)
    }

    /// An utterance of the caller ended with no words for the bot (not speech, not
    /// recognised, an echo or a backchannel).
    pub fn nothing_said(&self, app: &Arc<App>, call: &CallId) {
        if let Some(mut c) = self.callers.get_mut(call) {
            c.pending = c.pending.saturating_sub(1);
        }
        self.rearm(app, call);
    }

    /// Something changed: a held turn's wait starts over if the caller is quiet.
    fn rearm(&self, app: &Arc<App>, call: &CallId) {
        let version = match self.held.get_mut(call) {
            Some(mut h) => {
                h.version += 1;
                h.version
            }
            None => return,
        };
        if self.quiet(call) {
            self.arm(
                Arc::downgrade(app),
                call.clone(),
                version,
                self.wait_left(call),
            );
        }
    }

    /// The caller's final words on a call the bot may serve.
    pub fn said(&self, app: &Arc<App>, call: &CallId, text: String, valence: Option<f32>) {
        if let Some(mut c) = self.callers.get_mut(call) {
            c.pending = c.pending.saturating_sub(1);
        }
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
            },
        );
        if self.quiet(call) {
            self.arm(Arc::downgrade(app), call.clone(), 0, self.wait_left(call));
        }
    }

    /// The caller started talking (again): a held turn waits for the rest.
    pub fn caller_started(&self, call: &CallId) {
        self.callers.entry(call.clone()).or_default().talking = true;
        if let Some(mut h) = self.held.get_mut(call) {
            h.version += 1;
        }
    }

    /// The caller's utterance ended; its final (or `nothing_said`) follows.
    pub fn caller_stopped(&self, app: &Arc<App>, call: &CallId) {
        {
            let mut c = self.callers.entry(call.clone()).or_default();
            c.talking = false;
            c.pending += 1;
        }
        self.rearm(app, call);
    }

    /// The call ended.
    pub fn forget(&self, call: &CallId) {
        self.held.remove(call);
        self.callers.remove(call);
    }

    fn arm(&self, app: Weak<App>, call: CallId, version: u64, after: Duration) {
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            let Some(app) = app.upgrade() else { return };
            // Only the latest wait, and never while the caller talks or words are on the way.
            let flush = app.turns.quiet(&call)
                && app
                    .turns
                    .held
                    .get(&call)
                    .is_some_and(|h| h.version == version);
            if flush {
                if let Some((_, h)) = app.turns.held.remove(&call) {
                    tell(&app, &call, h.text, h.valence);
                }
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
