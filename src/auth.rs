//! Accounts and authentication: password hashing (argon2id), session tokens, lockout.
//!
//! A password is checked once per login, on the bounded [`hasher::Hasher`] pool; the session
//! then holds a signed token ([`token`]) that a reconnecting page or the HTTP API presents
//! instead. Repeated failures lock the username or the client's address for a while
//! ([`lockout`]), without any hashing. Nothing here ever runs argon2 on the async runtime.

pub mod caller;
pub mod hasher;
pub mod lockout;
pub mod token;

use crate::store::{Account, AccountRole, Store};
use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
use argon2::Argon2;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// `[auth]` in the configuration.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthConfig {
    /// Threads that check passwords (each holds one argon2 memory block, 19 MiB).
    pub hash_threads: usize,
    /// Checks that may wait for a thread; more are refused with `rate_limited`.
    pub hash_queue: usize,
    /// Scheduling priority of those threads (0-19; higher yields more to media).
    pub hash_nice: i32,
    /// How long a session token is valid (seconds).
    pub session_ttl_s: u64,
    /// Failed logins of one username within `lockout_window_s` before it is locked.
    pub max_failures_per_user: u32,
    /// Failed logins from one address within `lockout_window_s` before it is locked.
    pub max_failures_per_address: u32,
    pub lockout_window_s: u64,
    /// First lock (seconds); doubled at each further lock, up to `max_lockout_s`.
    pub lockout_s: u64,
    pub max_lockout_s: u64,
    /// How long a checked HTTP Basic password is remembered (seconds; 0: never).
    pub basic_cache_s: u64,
    /// The secret an embedding site signs caller metadata with ([`caller`]): a VIP flag
    /// counts only when signed. None: nobody is a VIP.
    pub caller_signing_key: Option<String>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            hash_threads: 1,
            hash_queue: 16,
            hash_nice: 10,
            session_ttl_s: 12 * 3600,
            max_failures_per_user: 5,
            max_failures_per_address: 20,
            lockout_window_s: 15 * 60,
            caller_signing_key: None,
            lockout_s: 30,
            max_lockout_s: 15 * 60,
            basic_cache_s: 300,
        }
    }
}

/// Why a login was refused.
#[derive(Debug)]
pub enum AuthError {
    /// Unknown user, wrong password, or a bad or expired token: indistinguishable.
    BadCredentials,
    /// Too many failures: try again after this long.
    Locked(Duration),
    /// Every hashing thread is busy and the queue is full.
    Busy,
    Internal(anyhow::Error),
}

const BASIC_CACHE_MAX: usize = 1024;

pub struct Auth {
    hasher: Arc<hasher::Hasher>,
    tokens: token::TokenSigner,
    lockout: Mutex<lockout::Lockout>,
    /// username → (SHA-256 of the password that was checked, when).
    basic_cache: Mutex<HashMap<String, ([u8; 32], Instant)>>,
    basic_ttl: Duration,
    checks: Option<prometheus::IntCounterVec>,
}

impl Auth {
    /// The token that lets the customer of an ended contact rate it (and nobody else).
    pub fn rating_token(&self, call_id: &str) -> String {
        self.tokens.sign_for("rating", call_id)
    }

    /// Whether `token` is [`Auth::rating_token`] of `call_id`.
    pub fn check_rating_token(&self, call_id: &str, token: &str) -> bool {
        self.tokens.check_for("rating", call_id, token)
    }

    pub fn new(
        config: &AuthConfig,
        key_dir: Option<&std::path::Path>,
        checks: Option<prometheus::IntCounterVec>,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            hasher: hasher::Hasher::start(config.hash_threads, config.hash_queue, config.hash_nice),
            tokens: token::TokenSigner::load_or_create(
                key_dir,
                Duration::from_secs(config.session_ttl_s),
            )?,
            lockout: Mutex::new(lockout::Lockout::new(lockout::LockoutPolicy {
                max_failures_per_user: config.max_failures_per_user,
                max_failures_per_address: config.max_failures_per_address,
                window: Duration::from_secs(config.lockout_window_s),
                lock: Duration::from_secs(config.lockout_s),
                max_lock: Duration::from_secs(config.max_lockout_s),
            })),
            basic_cache: Mutex::new(HashMap::new()),
            basic_ttl: Duration::from_secs(config.basic_cache_s),
            checks,
        })
    }

    fn count(&self, result: &str) {
        if let Some(c) = &self.checks {
            c.with_label_values(&[result]).inc();
        }
    }

    /// Check a username and password (once per login).
    pub async fn password(
        &self,
        store: &Store,
        username: &str,
        password: &str,
        addr: Option<IpAddr>,
    ) -> Result<Account, AuthError> {
        let now = Instant::now();
        if let Some(wait) = self
            .lockout
            .lock()
            .expect("lock")
            .locked(now, username, addr)
        {
            self.count("locked");
            return Err(AuthError::Locked(wait));
        }
        let account = store.account(username).map_err(AuthError::Internal)?;
        // Unknown users cost the same check as known ones, so usernames cannot be probed.
        let hash = account
            .as_ref()
            .map(|a| a.password_hash.as_str())
            .unwrap_or(DUMMY_HASH);
        let ok = match self.hasher.verify(password, hash).await {
            Ok(ok) => ok,
            Err(hasher::HashError::Busy) => {
                self.count("busy");
                return Err(AuthError::Busy);
            }
        };
        match account {
            Some(a) if ok => {
                self.lockout.lock().expect("lock").succeeded(username);
                self.count("ok");
                Ok(a)
            }
            _ => {
                self.lockout
                    .lock()
                    .expect("lock")
                    .failed(Instant::now(), username, addr);
                self.count("bad_credentials");
                Err(AuthError::BadCredentials)
            }
        }
    }

    /// Hash a new password on the bounded pool (never on the async runtime).
    pub async fn hash_new(&self, password: &str) -> Result<String, AuthError> {
        match self.hasher.hash(password).await {
            Ok(Some(h)) => Ok(h),
            Ok(None) => Err(AuthError::Internal(anyhow::anyhow!(
                "password hashing failed"
            ))),
            Err(hasher::HashError::Busy) => Err(AuthError::Busy),
        }
    }

    /// A session token for an account that just logged in, and its expiry (Unix seconds).
    pub fn issue(&self, account: &Account) -> (String, u64) {
        self.tokens
            .issue(SystemTime::now(), &account.username, &account.password_hash)
    }

    /// Check a session token: no hashing, one account lookup.
    pub fn token(&self, store: &Store, token: &str) -> Result<(Account, u64), AuthError> {
        let claims = match self.tokens.check(SystemTime::now(), token) {
            Ok(c) => c,
            Err(_) => {
                self.count("bad_token");
                return Err(AuthError::BadCredentials);
            }
        };
        let account = store
            .account(&claims.username)
            .map_err(AuthError::Internal)?
            .filter(|a| token::fingerprint(&a.password_hash) == claims.fingerprint);
        match account {
            Some(a) => {
                self.count("token");
                Ok((a, claims.expires_at))
            }
            None => {
                // Deleted account or changed password.
                self.count("bad_token");
                Err(AuthError::BadCredentials)
            }
        }
    }

    /// HTTP Basic: the password is hashed once, then remembered (as a SHA-256) for
    /// `basic_cache_s`, so a script polling the API does not run argon2 per request.
    pub async fn basic(
        &self,
        store: &Store,
        username: &str,
        password: &str,
        addr: Option<IpAddr>,
    ) -> Result<Account, AuthError> {
        let digest: [u8; 32] = Sha256::digest(password.as_bytes()).into();
        let now = Instant::now();
        let cached = self
            .basic_cache
            .lock()
            .expect("lock")
            .get(username)
            .is_some_and(|(d, at)| {
                now.duration_since(*at) < self.basic_ttl && constant_time_eq(d, &digest)
            });
        if cached {
            if let Some(a) = store.account(username).map_err(AuthError::Internal)? {
                self.count("basic_cached");
                return Ok(a);
            }
        }
        let account = self.password(store, username, password, addr).await?;
        if !self.basic_ttl.is_zero() {
            let mut cache = self.basic_cache.lock().expect("lock");
            if cache.len() >= BASIC_CACHE_MAX {
                cache.retain(|_, (_, at)| now.duration_since(*at) < self.basic_ttl);
                if cache.len() >= BASIC_CACHE_MAX {
                    cache.clear();
                }
            }
            cache.insert(username.to_string(), (digest, now));
        }
        Ok(account)
    }
}

fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))
}

const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0Y3XKIh1ztf1XB0ry8l1WHdANJ0xgwtyv6tO5UkUGFA";

/// Create or replace an account (the command line's `add-user`, the demo), audited as
/// `actor`. `skills`, when given, replace an agent's skills.
pub fn add_user_as(
    store: &Store,
    actor: &str,
    username: &str,
    name: &str,
    role: AccountRole,
    password: &str,
    skills: Option<signaling::center::routing::Skills>,
) -> anyhow::Result<crate::store::UserSaved> {
    crate::admin::check_username(username).map_err(|e| anyhow::anyhow!("{e}"))?;
    anyhow::ensure!(
        password.len() >= 4,
        "password must have at least 4 characters"
    );
    if let Some(s) = &skills {
        crate::admin::check_skills(s).map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    store.save_user(
        actor,
        username,
        &crate::store::UserChange {
            name: Some(name.into()),
            role: Some(role),
            password_hash: Some(hash_password(password)?),
            skills,
        },
    )
}

#[cfg(test)]
pub fn add_user(
    store: &Store,
    username: &str,
    name: &str,
    role: AccountRole,
    password: &str,
) -> anyhow::Result<()> {
    add_user_as(store, "test", username, name, role, password, None).map(|_| ())
}

/// Demo accounts for `--demo`: agents alice and bob, supervisor sam, password "demo".
pub fn seed_demo(store: &Store) -> anyhow::Result<()> {
    for (u, n, r) in [
        ("alice", "Alice Agent", AccountRole::Agent),
        ("bob", "Bob Agent", AccountRole::Agent),
        ("sam", "Sam Supervisor", AccountRole::Supervisor),
    ] {
        if store.has_account(u)? {
            continue;
        }
        // The demo's queues (billing, technical, general): alice is billing's expert, bob
        // technical's.
        let skills: &[(&str, u8)] = match u {
            "alice" => &[("billing", 5), ("technical", 2), ("general", 4)],
            "bob" => &[("technical", 5), ("billing", 2), ("general", 4)],
            _ => &[],
        };
        let skills = skills.iter().map(|(s, p)| (s.to_string(), *p)).collect();
        add_user_as(store, "demo", u, n, r, "demo", Some(skills))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn logins_lock_out_and_tokens_stand_in_for_passwords() {
        let store = Store::in_memory().unwrap();
        add_user(&store, "ann", "Ann", AccountRole::Agent, "s3cret").unwrap();
        let auth = Auth::new(&AuthConfig::default(), None, None).unwrap();
        let ip = Some(IpAddr::from([192, 0, 2, 1]));
        let ann = auth.password(&store, "ann", "s3cret", ip).await.unwrap();
        let (token, _) = auth.issue(&ann);
        assert_eq!(auth.token(&store, &token).unwrap().0.username, "ann");
        assert!(matches!(
            auth.password(&store, "nobody", "s3cret", ip).await,
            Err(AuthError::BadCredentials)
        ));
        for _ in 0..5 {
            assert!(matches!(
                auth.password(&store, "ann", "guess", ip).await,
                Err(AuthError::BadCredentials)
            ));
        }
        // Locked now, even with the right password; the token still works.
        assert!(matches!(
            auth.password(&store, "ann", "s3cret", ip).await,
            Err(AuthError::Locked(_))
        ));
        assert!(auth.token(&store, &token).is_ok());
        // A new password ends the old token.
        add_user(&store, "ann", "Ann", AccountRole::Agent, "n3w-pass").unwrap();
        assert!(matches!(
            auth.token(&store, &token),
            Err(AuthError::BadCredentials)
        ));
    }

    #[test]
    fn passwords_are_hashed_and_checked() {
        let store = Store::in_memory().unwrap();
        add_user(&store, "ann", "Ann", AccountRole::Agent, "s3cret").unwrap();
        let acc = store.account("ann").unwrap().unwrap();
        assert!(acc.password_hash.starts_with("$argon2"));
        assert!(!acc.password_hash.contains("s3cret"));
        let mut blocks = vec![];
        assert!(hasher::verify_with(
            &mut blocks,
            "s3cret",
            &acc.password_hash
        ));
        assert!(!hasher::verify_with(
            &mut blocks,
            "wrong",
            &acc.password_hash
        ));
        assert!(add_user(&store, "bad name", "x", AccountRole::Agent, "pw12").is_err());
    }
}
