//! Turn taking for the voice bot: a final transcript that stops mid-sentence ("my order
//! number is", "and", "um"; `bot::turns::unfinished`) is held for `[bot.voice]
//! turn_hold_ms`; what the caller says next is joined to it, and the bot answers the whole.
//! While the caller is talking again, or words they said are still being recognised, the hold
//! lasts, however long they read (a slow order number); the quiet after that is
//! `turn_hold_ms` again, or less once the hold has lasted `turn_max_hold_ms` in all. A
//! finished sentence goes to the bot at once.
//!
//! The quiet is counted in the caller's own audio, as the speech pipeline takes it in (the
//! same stream whose voice-activity detector says when they talk again), so a pipeline that
//! runs late under load cannot end the wait before it has heard the pause. Only when the
//! caller's audio stops arriving (a muted sender with DTX, a stalled network) does a
//! wall-clock wait end it: `turn_hold_ms` twice over, with no audio in the last
//! [`AUDIO_FLOWING`].

use crate::calls::driver::Center;
use dashmap::DashMap;
use signaling::center::Input;
use signaling::CallId;
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::time::Instant;

/// Audio that arrived this recently means the caller's stream is flowing: its own count of
/// quiet decides, not the wall clock.
pub const AUDIO_FLOWING: Duration = Duration::from_millis(500);

struct Held {
    text: String,
    valence: Option<f32>,
    /// Raised by each change; a timer only flushes the version it was set for.
    version: u64,
    since: Instant,
    /// The caller's quiet audio taken in since this version's wait started.
    quiet: Duration,
}

/// What the caller is doing: talking, and how many ended utterances still await their
/// final (or the word that there was none).
#[derive(Default)]
struct Caller {
    talking: bool,
    pending: u32,
    /// When their audio last arrived.
    heard_at: Option<Instant>,
}

struct State {
    hold: Duration,
    max_hold: Duration,
    held: DashMap<CallId, Held>,
    callers: DashMap<CallId, Caller>,
    /// Where a finished turn goes (`Input::CustomerSaid`).
    center: Center,
}

/// The held turns of every call the bot serves by voice.
pub struct Turns(Arc<State>);

impl std::fmt::Debug for Turns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Turns")
            .field("held", &self.0.held.len())
            .finish()
    }
}

impl Turns {
    pub fn new(hold: Duration, max_hold: Duration, center: Center) -> Self {
        Self(Arc::new(State {
            hold,
            max_hold,
            held: DashMap::new(),
            callers: DashMap::new(),
            center,
        }))
    }

    /// The caller's final words on a call the bot may serve.
    pub fn said(&self, call: &CallId, text: String, valence: Option<f32>) {
        let s = &self.0;
        if let Some(mut c) = s.callers.get_mut(call) {
            c.pending = c.pending.saturating_sub(1);
        }
        let (text, valence, since) = match s.held.remove(call) {
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
        if s.hold.is_zero() || !bot::turns::unfinished(&text) || since.elapsed() >= s.max_hold {
            s.tell(call, text, valence);
            return;
        }
        s.held.insert(
            call.clone(),
            Held {
                text,
                valence,
                version: 0,
                since,
                quiet: Duration::ZERO,
            },
        );
        if s.quiet(call) {
            arm(Arc::downgrade(s), call.clone(), 0, s.fallback(call));
        }
    }

    /// An utterance of the caller ended with no words for the bot (not speech, not
    /// recognised, an echo or a backchannel).
    pub fn nothing_said(&self, call: &CallId) {
        if let Some(mut c) = self.0.callers.get_mut(call) {
            c.pending = c.pending.saturating_sub(1);
        }
        self.rearm(call);
    }

    /// The caller started talking (again): a held turn waits for the rest.
    pub fn caller_started(&self, call: &CallId) {
        let s = &self.0;
        s.callers.entry(call.clone()).or_default().talking = true;
        if let Some(mut h) = s.held.get_mut(call) {
            tracing::debug!(
                call_id = %call,
                quiet_ms = h.quiet.as_millis() as u64,
                "held turn: the caller talks again"
            );
            h.version += 1;
            h.quiet = Duration::ZERO;
        }
    }

    /// The caller's utterance ended; its final (or `nothing_said`) follows.
    pub fn caller_stopped(&self, call: &CallId) {
        {
            let mut c = self.0.callers.entry(call.clone()).or_default();
            c.talking = false;
            c.pending += 1;
        }
        self.rearm(call);
    }

    /// The caller's audio as the speech pipeline takes it in (before its voice-activity
    /// detector): while a turn is held and the caller is quiet, this is the wait's clock.
    pub fn caller_audio(&self, call: &CallId, samples: usize, rate: u32) {
        let s = &self.0;
        let quiet = match s.callers.get_mut(call) {
            Some(mut c) => {
                c.heard_at = Some(Instant::now());
                !c.talking && c.pending == 0
            }
            None => true,
        };
        if !quiet || rate == 0 {
            return;
        }
        let wait = s.wait_left(call);
        let done = match s.held.get_mut(call) {
            Some(mut h) => {
                h.quiet += Duration::from_secs_f64(samples as f64 / rate as f64);
                h.quiet >= wait
            }
            None => return,
        };
        if done {
            if let Some((_, h)) = s.held.remove(call) {
                s.tell(call, h.text, h.valence);
            }
        }
    }

    /// The call ended.
    pub fn forget(&self, call: &CallId) {
        self.0.held.remove(call);
        self.0.callers.remove(call);
    }

    /// Something changed: a held turn's wait starts over if the caller is quiet.
    fn rearm(&self, call: &CallId) {
        let s = &self.0;
        let version = match s.held.get_mut(call) {
            Some(mut h) => {
                h.version += 1;
                h.quiet = Duration::ZERO;
                h.version
            }
            None => return,
        };
        if s.quiet(call) {
            arm(Arc::downgrade(s), call.clone(), version, s.fallback(call));
        }
    }
}

impl State {
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

    /// The wall-clock wait, for when the caller's audio stops arriving.
    fn fallback(&self, call: &CallId) -> Duration {
        self.wait_left(call) + self.hold
    }

    /// Whether the caller's audio is arriving (then it, not the wall clock, ends a wait).
    fn audio_flowing(&self, call: &CallId) -> bool {
        self.callers
            .get(call)
            .and_then(|c| c.heard_at)
            .is_some_and(|t| t.elapsed() < AUDIO_FLOWING)
    }

    fn tell(&self, call: &CallId, text: String, valence: Option<f32>) {
        self.center.tell(Input::CustomerSaid {
            call: call.clone(),
            text,
            valence,
        });
    }
}

/// The wall-clock wait of one version of a held turn.
fn arm(state: Weak<State>, call: CallId, version: u64, after: Duration) {
    tokio::spawn(async move {
        let mut after = after;
        loop {
            tokio::time::sleep(after).await;
            let Some(s) = state.upgrade() else { return };
            // Only the latest wait, and never while the caller talks or words are on the way.
            let current = s.quiet(&call) && s.held.get(&call).is_some_and(|h| h.version == version);
            if !current {
                return;
            }
            // While their audio flows, its count of quiet ends the wait.
            if s.audio_flowing(&call) {
                after = AUDIO_FLOWING;
                continue;
            }
            if let Some((_, h)) = s.held.remove(&call) {
                s.tell(&call, h.text, h.valence);
            }
            return;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calls::driver::Job;
    use tokio::sync::mpsc::UnboundedReceiver;

    const RATE: u32 = 16_000;
    const HOLD: Duration = Duration::from_millis(2000);

    fn turns() -> (Turns, UnboundedReceiver<Job>, CallId) {
        let (center, jobs) = Center::channel();
        let t = Turns::new(HOLD, Duration::from_secs(6), center);
        (t, jobs, CallId::from("c1"))
    }

    /// What went to the bot so far.
    fn told(jobs: &mut UnboundedReceiver<Job>) -> Vec<String> {
        let mut out = vec![];
        while let Ok(job) = jobs.try_recv() {
            if let Job::Apply { inputs, .. } = job {
                for i in inputs {
                    if let Input::CustomerSaid { text, .. } = i {
                        out.push(text);
                    }
                }
            }
        }
        out
    }

    /// `ms` of the caller's audio, taken in over `wall` of wall clock in 20 ms frames.
    async fn audio(t: &Turns, call: &CallId, ms: u64, wall: Duration) {
        let frames = ms / 20;
        for _ in 0..frames {
            t.caller_audio(call, RATE as usize / 50, RATE);
            tokio::time::sleep(wall / frames as u32).await;
        }
    }

    /// The first words of a turn: an utterance that ends, then its final.
    fn utterance(t: &Turns, call: &CallId, text: &str) {
        t.caller_started(call);
        t.caller_stopped(call);
        t.said(call, text.into(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_pipeline_running_late_still_hears_the_whole_pause() {
        let (t, mut jobs, call) = turns();
        utterance(&t, &call, "My order number is");
        // The server is behind: 1.5 s of the caller's pause takes 4 s of wall clock to come
        // through, twice the hold. Then they read the number.
        audio(&t, &call, 1500, Duration::from_secs(4)).await;
        assert_eq!(told(&mut jobs), Vec::<String>::new(), "answered mid-turn");
        t.caller_started(&call);
        audio(&t, &call, 3000, Duration::from_secs(3)).await;
        t.caller_stopped(&call);
        t.said(&call, "NW123456.".into(), None);
        assert_eq!(told(&mut jobs), vec!["My order number is NW123456."]);
    }

    #[tokio::test(start_paused = true)]
    async fn the_hold_ends_after_its_length_of_the_callers_quiet() {
        let (t, mut jobs, call) = turns();
        utterance(&t, &call, "My order number is");
        audio(&t, &call, 1900, Duration::from_millis(1900)).await;
        assert!(
            told(&mut jobs).is_empty(),
            "before the hold's length of quiet"
        );
        audio(&t, &call, 200, Duration::from_millis(200)).await;
        assert_eq!(told(&mut jobs), vec!["My order number is"]);
        // Nothing twice: the wall-clock wait finds nothing left to flush.
        tokio::time::sleep(HOLD * 3).await;
        assert!(told(&mut jobs).is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn with_no_audio_arriving_the_wall_clock_ends_the_hold() {
        let (t, mut jobs, call) = turns();
        utterance(&t, &call, "I'd like to");
        // DTX or a stalled network: no audio at all.
        tokio::time::sleep(HOLD + HOLD / 2).await;
        assert!(
            told(&mut jobs).is_empty(),
            "the fallback waits the hold twice"
        );
        tokio::time::sleep(HOLD).await;
        assert_eq!(told(&mut jobs), vec!["I'd like to"]);
    }

    #[tokio::test(start_paused = true)]
    async fn words_still_being_recognised_keep_the_hold() {
        let (t, mut jobs, call) = turns();
        utterance(&t, &call, "and");
        t.caller_started(&call);
        t.caller_stopped(&call); // its final is slow to come
        audio(&t, &call, 5000, Duration::from_secs(5)).await;
        assert!(told(&mut jobs).is_empty());
        t.said(&call, "I need a refund.".into(), None);
        assert_eq!(told(&mut jobs), vec!["and I need a refund."]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_finished_sentence_goes_at_once() {
        let (t, mut jobs, call) = turns();
        utterance(&t, &call, "Where is my parcel?");
        assert_eq!(told(&mut jobs), vec!["Where is my parcel?"]);
    }
}
