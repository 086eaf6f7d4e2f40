//! Password checks on a small pool of dedicated threads.
//!
//! argon2id is meant to be expensive (about 20 MiB and tens of milliseconds per check). Run on
//! the async runtime's blocking pool, a flood of logins took every core from the media path and
//! left a 19 MiB block per concurrent check in the allocator. Here a fixed number of threads,
//! at a lower scheduling priority, each own one reused block of memory; a bounded queue feeds
//! them, and a check that finds the queue full is refused at once (`Busy`) rather than waiting.
//! Memory for checks is therefore `threads × m_cost`, whatever the load.

use argon2::password_hash::{Output, PasswordHash};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// Stored hashes asking for more memory than this are refused (ours use 19 MiB).
const MAX_M_COST_KIB: u32 = 64 * 1024;

enum Job {
    Verify {
        password: String,
        hash: String,
        reply: oneshot::Sender<bool>,
    },
    /// A new password's hash (an administrator setting it), as a PHC string.
    Hash {
        password: String,
        reply: oneshot::Sender<Option<String>>,
    },
}

#[derive(Debug, PartialEq, Eq)]
pub enum HashError {
    /// Every thread is busy and the queue is full.
    Busy,
}

pub struct Hasher {
    tx: SyncSender<Job>,
}

impl Hasher {
    /// `threads` workers (at least 1) and room for `queue` waiting checks.
    pub fn start(threads: usize, queue: usize, nice: i32) -> Arc<Self> {
        let (tx, rx) = sync_channel::<Job>(queue);
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads.max(1) {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("auth-hash-{i}"))
                .spawn(move || worker(rx, nice))
                .expect("spawn password hashing thread");
        }
        Arc::new(Self { tx })
    }

    /// Does `password` match the PHC string `hash`? Waits for a free thread.
    pub async fn verify(&self, password: &str, hash: &str) -> Result<bool, HashError> {
        let (reply, rx) = oneshot::channel();
        let job = Job::Verify {
            password: password.to_string(),
            hash: hash.to_string(),
            reply,
        };
        match self.tx.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(HashError::Busy),
            Err(TrySendError::Disconnected(_)) => return Ok(false),
        }
        Ok(rx.await.unwrap_or(false))
    }

    /// Hash a new password (argon2id, a fresh salt) on the pool. `None`: hashing failed.
    pub async fn hash(&self, password: &str) -> Result<Option<String>, HashError> {
        let (reply, rx) = oneshot::channel();
        let job = Job::Hash {
            password: password.to_string(),
            reply,
        };
        match self.tx.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(HashError::Busy),
            Err(TrySendError::Disconnected(_)) => return Ok(None),
        }
        Ok(rx.await.ok().flatten())
    }
}

fn worker(rx: Arc<Mutex<Receiver<Job>>>, nice: i32) {
    if nice != 0 {
        let me = rustix::thread::gettid();
        if let Err(e) = rustix::process::setpriority_process(Some(me), nice) {
            tracing::debug!("password hashing thread keeps its priority: {e}");
        }
    }
    let mut blocks: Vec<Block> = Vec::new();
    loop {
        let job = {
            let Ok(rx) = rx.lock() else { return };
            match rx.recv() {
                Ok(j) => j,
                Err(_) => return,
            }
        };
        match job {
            Job::Verify {
                password,
                hash,
                reply,
            } => {
                let _ = reply.send(verify_with(&mut blocks, &password, &hash));
            }
            Job::Hash { password, reply } => {
                let _ = reply.send(crate::auth::hash_password(&password).ok());
            }
        }
    }
}

/// Check `password` against a PHC string, using (and growing once) `blocks` as argon2's memory.
pub fn verify_with(blocks: &mut Vec<Block>, password: &str, phc: &str) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (hash.salt, hash.hash) else {
        return false;
    };
    let Ok(params) = Params::try_from(&hash) else {
        return false;
    };
    if params.m_cost() > MAX_M_COST_KIB {
        return false;
    }
    let Ok(algorithm) = Algorithm::try_from(hash.algorithm) else {
        return false;
    };
    let version = match hash.version.map(Version::try_from).transpose() {
        Ok(v) => v.unwrap_or_default(),
        Err(_) => return false,
    };
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let need = params.block_count();
    if blocks.len() < need {
        blocks.resize(need, Block::default());
    }
    let argon = Argon2::new(algorithm, version, params);
    let computed = Output::init_with(expected.len(), |out| {
        argon
            .hash_password_into_with_memory(password.as_bytes(), salt, out, &mut blocks[..need])
            .map_err(|_| argon2::password_hash::Error::Password)
    });
    // `Output`'s equality is constant-time.
    computed.is_ok_and(|c| c == expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn checks_passwords_and_refuses_beyond_its_queue() {
        let hash = crate::auth::hash_password("s3cret").unwrap();
        let h = Hasher::start(1, 2, 0);
        assert_eq!(h.verify("s3cret", &hash).await, Ok(true));
        assert_eq!(h.verify("wrong", &hash).await, Ok(false));
        assert_eq!(h.verify("s3cret", "not a hash").await, Ok(false));
        // One running, two queued: the rest are refused at once.
        let futs: Vec<_> = (0..12).map(|_| h.verify("x", &hash)).collect();
        let results = futures::future::join_all(futs).await;
        assert!(results.contains(&Err(HashError::Busy)), "{results:?}");
        assert!(results.iter().filter(|r| r.is_ok()).count() >= 1);
    }

    #[tokio::test]
    async fn hashes_new_passwords_on_the_pool() {
        let h = Hasher::start(1, 2, 0);
        let a = h.hash("n3w-pass").await.unwrap().unwrap();
        let b = h.hash("n3w-pass").await.unwrap().unwrap();
        assert_ne!(a, b, "each hash has its own salt");
        assert_eq!(h.verify("n3w-pass", &a).await, Ok(true));
        assert_eq!(h.verify("other", &b).await, Ok(false));
    }

    #[test]
    fn reused_memory_gives_the_same_answers_as_the_library() {
        let hash = crate::auth::hash_password("pässwörd").unwrap();
        let mut blocks = vec![];
        for _ in 0..2 {
            assert!(verify_with(&mut blocks, "pässwörd", &hash));
            assert!(!verify_with(&mut blocks, "passwörd", &hash));
        }
        assert_eq!(blocks.len(), 19456);
    }
}
