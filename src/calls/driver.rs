//! The one task that owns the call center. Everything that changes it arrives as an
//! [`Input`] on a channel; the task applies it with the current time, carries out the outputs
//! (messages, media plans, closing calls, records, metrics) and, between inputs, sleeps until
//! the center's next deadline or the next dashboard push. No lock is shared with anyone:
//! readers send a closure that runs in the task.

use crate::app::{now, App};
use signaling::center::{CallCenter, Input};
use signaling::protocol::ServerMessage;
use signaling::{SessionId, SignalError};
use std::sync::Weak;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// How long dashboard changes are gathered before they are pushed, and how often the whole
/// view is refreshed anyway (so the durations on it stay honest).
const DASHBOARD_COALESCE: Duration = Duration::from_millis(200);
const DASHBOARD_REFRESH: Duration = Duration::from_secs(2);

type Reader = Box<dyn FnOnce(&CallCenter, Instant) + Send>;

pub enum Job {
    /// Apply inputs in order, stopping at the first refusal. When all succeed, `first` goes to
    /// its session before any of the center's outputs (an SDP answer before the call state).
    Apply {
        inputs: Vec<Input>,
        first: Option<Box<(SessionId, ServerMessage)>>,
        reply: Option<oneshot::Sender<signaling::error::Result<()>>>,
    },
    /// Look at the center's state.
    Read(Reader),
}

/// The handle everyone else holds.
#[derive(Clone)]
pub struct Center {
    tx: mpsc::UnboundedSender<Job>,
}

impl Center {
    pub fn channel() -> (Self, mpsc::UnboundedReceiver<Job>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Self { tx }, rx)
    }

    /// Apply one input and wait for the verdict.
    pub async fn apply(&self, input: Input) -> signaling::error::Result<()> {
        self.commit(vec![input], None).await
    }

    /// Apply inputs together (see [`Job::Apply`]) and wait for the verdict.
    pub async fn commit(
        &self,
        inputs: Vec<Input>,
        first: Option<(SessionId, ServerMessage)>,
    ) -> signaling::error::Result<()> {
        let (reply, verdict) = oneshot::channel();
        self.tx
            .send(Job::Apply {
                inputs,
                first: first.map(Box::new),
                reply: Some(reply),
            })
            .map_err(|_| SignalError::Stopped)?;
        verdict.await.unwrap_or(Err(SignalError::Stopped))
    }

    /// Apply an input without waiting (from code that is not async, or needs no verdict).
    pub fn tell(&self, input: Input) {
        let _ = self.tx.send(Job::Apply {
            inputs: vec![input],
            first: None,
            reply: None,
        });
    }

    /// Read something off the center's state.
    pub async fn read<R: Send + 'static>(
        &self,
        f: impl FnOnce(&CallCenter, Instant) -> R + Send + 'static,
    ) -> signaling::error::Result<R> {
        let (reply, value) = oneshot::channel();
        self.inspect(move |c, now| {
            let _ = reply.send(f(c, now));
        });
        value.await.map_err(|_| SignalError::Stopped)
    }

    /// Run `f` on the center's state in its task, without waiting.
    pub fn inspect(&self, f: impl FnOnce(&CallCenter, Instant) + Send + 'static) {
        let _ = self.tx.send(Job::Read(Box::new(f)));
    }
}

/// The driver task. Ends when every [`Center`] handle is gone or the app is.
pub async fn run(mut center: CallCenter, mut jobs: mpsc::UnboundedReceiver<Job>, app: Weak<App>) {
    let mut last_refresh = tokio::time::Instant::now();
    // When the first dashboard change not yet pushed was seen: changes go out at most
    // DASHBOARD_COALESCE after it, however many follow.
    let mut dirty_since: Option<tokio::time::Instant> = None;
    loop {
        let deadline = center.poll_timeout().map(tokio::time::Instant::from_std);
        let wake_at = [
            deadline,
            dirty_since.map(|t| t + DASHBOARD_COALESCE),
            Some(last_refresh + DASHBOARD_REFRESH),
        ]
        .into_iter()
        .flatten()
        .min()
        .expect("the refresh is always due");
        let job = tokio::select! {
            job = jobs.recv() => match job {
                Some(job) => Some(job),
                None => break,
            },
            _ = tokio::time::sleep_until(wake_at) => None,
        };
        let Some(app) = app.upgrade() else { break };
        let mut first = None;
        let mut answer = None;
        match job {
            Some(Job::Apply {
                inputs,
                first: f,
                reply,
            }) => {
                let t = now();
                let mut verdict = Ok(());
                for input in inputs {
                    verdict = center.handle(t, input);
                    if verdict.is_err() {
                        break;
                    }
                }
                if verdict.is_ok() {
                    first = f;
                }
                answer = reply.map(|r| (r, verdict));
            }
            Some(Job::Read(f)) => f(&center, now()),
            None => {}
        }
        if center.poll_timeout().is_some_and(|t| t <= now()) {
            let _ = center.handle(now(), Input::Timeout);
        }
        let outputs: Vec<_> = std::iter::from_fn(|| center.poll_output()).collect();
        if let Some((session, msg)) = first.map(|b| *b) {
            app.send(&session, &msg);
        }
        if !outputs.is_empty() {
            app.metrics.set_census(&center.census(), center.queue_len());
            if dirty_since.is_none()
                && outputs.contains(&signaling::center::Output::DashboardChanged)
            {
                dirty_since = Some(tokio::time::Instant::now());
            }
            app.deliver(outputs);
        }
        // The verdict goes back after the outputs are queued, so that a session's `ok` comes
        // after everything its request caused.
        if let Some((reply, verdict)) = answer {
            let _ = reply.send(verdict);
        }
        let t = tokio::time::Instant::now();
        let refresh = t >= last_refresh + DASHBOARD_REFRESH;
        if refresh {
            last_refresh = t;
        }
        if refresh || dirty_since.is_some_and(|d| t >= d + DASHBOARD_COALESCE) {
            dirty_since = None;
            app.push_dashboards(&center);
        }
    }
}
