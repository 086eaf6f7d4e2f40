//! Back-off and temporary lockout after repeated failed logins, per username and per address.
//!
//! Sans-IO: every call takes `now`. A key (a username, or a client address) that fails
//! `max_failures` times within `window` is locked for `lock`, doubled at each further lock up
//! to `max_lock`; a success clears the username's record. While locked, a check is refused
//! without hashing anything, so guessing costs the server nothing. Addresses get a higher
//! limit than usernames (one office behind one NAT shares an address). The table is bounded:
//! stale records are pruned and, past `MAX_KEYS`, the oldest go first.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

const MAX_KEYS: usize = 100_000;

#[derive(Clone, Debug)]
pub struct LockoutPolicy {
    pub max_failures_per_user: u32,
    pub max_failures_per_address: u32,
    pub window: Duration,
    pub lock: Duration,
    pub max_lock: Duration,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        Self {
            max_failures_per_user: 5,
            max_failures_per_address: 20,
            window: Duration::from_secs(15 * 60),
            lock: Duration::from_secs(30),
            max_lock: Duration::from_secs(15 * 60),
        }
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct Record {
    failures: u32,
    first: Option<Instant>,
    locked_until: Option<Instant>,
    locks: u32,
    last: Option<Instant>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    User(String),
    Address(IpAddr),
}

pub struct Lockout {
    policy: LockoutPolicy,
    records: HashMap<Key, Record>,
}

impl Lockout {
    pub fn new(policy: LockoutPolicy) -> Self {
        Self {
            policy,
            records: HashMap::new(),
        }
    }

    fn keys(username: &str, addr: Option<IpAddr>) -> Vec<Key> {
        let mut k = vec![Key::User(username.to_ascii_lowercase())];
        if let Some(a) = addr {
            k.push(Key::Address(a));
        }
        k
    }

    /// `Some(wait)` when this username or address is locked now.
    pub fn locked(&self, now: Instant, username: &str, addr: Option<IpAddr>) -> Option<Duration> {
        Self::keys(username, addr)
            .iter()
            .filter_map(|k| self.records.get(k)?.locked_until)
            .filter(|until| *until > now)
            .map(|until| until - now)
            .max()
    }

    /// Count a failed check; returns the wait if it locked the username or the address.
    pub fn failed(
        &mut self,
        now: Instant,
        username: &str,
        addr: Option<IpAddr>,
    ) -> Option<Duration> {
        self.prune(now);
        let mut locked = None;
        for key in Self::keys(username, addr) {
            let max = match key {
                Key::User(_) => self.policy.max_failures_per_user,
                Key::Address(_) => self.policy.max_failures_per_address,
            };
            let r = self.records.entry(key).or_default();
            if r.first
                .is_none_or(|f| now.duration_since(f) > self.policy.window)
            {
                r.failures = 0;
                r.first = Some(now);
            }
            r.failures += 1;
            r.last = Some(now);
            if r.failures >= max {
                let lock = self
                    .policy
                    .lock
                    .saturating_mul(1 << r.locks.min(16))
                    .min(self.policy.max_lock);
                r.locks += 1;
                r.failures = 0;
                r.first = None;
                r.locked_until = Some(now + lock);
                locked = Some(locked.map_or(lock, |l: Duration| l.max(lock)));
            }
        }
        locked
    }

    /// A successful login clears the username's record (not the address's).
    pub fn succeeded(&mut self, username: &str) {
        self.records
            .remove(&Key::User(username.to_ascii_lowercase()));
    }

    fn prune(&mut self, now: Instant) {
        if self.records.len() < MAX_KEYS / 2 {
            return;
        }
        let keep = self.policy.window.max(self.policy.max_lock);
        self.records.retain(|_, r| {
            r.locked_until.is_some_and(|u| u > now)
                || r.last.is_some_and(|l| now.duration_since(l) < keep)
        });
        if self.records.len() >= MAX_KEYS {
            let mut by_age: Vec<(Key, Option<Instant>)> = self
                .records
                .iter()
                .map(|(k, r)| (k.clone(), r.last))
                .collect();
            by_age.sort_by_key(|(_, l)| *l);
            for (k, _) in by_age.into_iter().take(MAX_KEYS / 4) {
                self.records.remove(&k);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> Option<IpAddr> {
        Some(IpAddr::from([10, 0, 0, last]))
    }

    #[test]
    fn locks_a_username_after_repeated_failures_and_backs_off() {
        let mut l = Lockout::new(LockoutPolicy::default());
        let t0 = Instant::now();
        for i in 0..4 {
            assert_eq!(l.failed(t0, "alice", ip(i)), None);
            assert_eq!(l.locked(t0, "alice", ip(i)), None);
        }
        assert_eq!(l.failed(t0, "Alice", ip(9)), Some(Duration::from_secs(30)));
        assert_eq!(l.locked(t0, "alice", ip(1)), Some(Duration::from_secs(30)));
        assert_eq!(
            l.locked(t0, "bob", ip(1)),
            None,
            "other users are not affected"
        );
        let t1 = t0 + Duration::from_secs(31);
        assert_eq!(l.locked(t1, "alice", ip(1)), None);
        for _ in 0..4 {
            l.failed(t1, "alice", ip(1));
        }
        assert_eq!(
            l.failed(t1, "alice", ip(1)),
            Some(Duration::from_secs(60)),
            "doubled"
        );
        l.succeeded("alice");
        assert_eq!(l.locked(t1, "alice", ip(2)), None);
    }

    #[test]
    fn locks_an_address_that_tries_many_usernames() {
        let mut l = Lockout::new(LockoutPolicy::default());
        let t0 = Instant::now();
        for i in 0..19 {
            assert_eq!(l.failed(t0, &format!("user{i}"), ip(5)), None);
        }
        assert!(l.failed(t0, "user19", ip(5)).is_some());
        assert!(l.locked(t0, "someone-else", ip(5)).is_some());
        assert_eq!(l.locked(t0, "someone-else", ip(6)), None);
    }

    #[test]
    fn failures_outside_the_window_do_not_add_up() {
        let mut l = Lockout::new(LockoutPolicy::default());
        let mut t = Instant::now();
        for _ in 0..20 {
            assert_eq!(l.failed(t, "carol", None), None);
            t += Duration::from_secs(4 * 60);
            if l.records.get(&Key::User("carol".into())).unwrap().failures >= 4 {
                t += Duration::from_secs(16 * 60);
            }
        }
    }
}
