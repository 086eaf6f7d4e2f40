//! A bound on log lines about repeated client faults: a few per minute per kind, the rest
//! only counted (`switchboard_log_suppressed_total{kind}`), so a misbehaving or hostile
//! client cannot flood the log.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct LogLimiter {
    per_window: u32,
    window: Duration,
    counts: Mutex<HashMap<&'static str, (Instant, u32)>>,
}

impl LogLimiter {
    pub fn new(per_window: u32, window: Duration) -> Self {
        Self {
            per_window,
            window,
            counts: Mutex::new(HashMap::new()),
        }
    }

    /// May a line of this kind be logged now?
    pub fn allow(&self, kind: &'static str) -> bool {
        self.allow_at(kind, Instant::now())
    }

    pub fn allow_at(&self, kind: &'static str, now: Instant) -> bool {
        let mut c = self.counts.lock().expect("lock");
        let e = c.entry(kind).or_insert((now, 0));
        if now.duration_since(e.0) >= self.window {
            *e = (now, 0);
        }
        e.1 += 1;
        e.1 <= self.per_window
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_few_lines_per_window_per_kind() {
        let l = LogLimiter::new(3, Duration::from_secs(60));
        let t = Instant::now();
        let allowed = (0..100).filter(|_| l.allow_at("a", t)).count();
        assert_eq!(allowed, 3);
        assert!(l.allow_at("b", t), "kinds are counted apart");
        assert!(l.allow_at("a", t + Duration::from_secs(61)));
    }
}
