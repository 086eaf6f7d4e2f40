//! Password hashing (argon2id) and account creation.

use crate::store::{Account, AccountRole, Store};
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;

pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Checks a login; `None` for unknown users and wrong passwords alike.
pub fn authenticate(
    store: &Store,
    username: &str,
    password: &str,
) -> anyhow::Result<Option<Account>> {
    let Some(account) = store.account(username)? else {
        // Spend the same time as a real check so usernames cannot be probed by timing.
        let _ = verify_password(password, DUMMY_HASH);
        return Ok(None);
    };
    Ok(verify_password(password, &account.password_hash).then_some(account))
}

const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0Y3XKIh1ztf1XB0ry8l1WHdANJ0xgwtyv6tO5UkUGFA";

pub fn add_user(
    store: &Store,
    username: &str,
    name: &str,
    role: AccountRole,
    password: &str,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        !username.is_empty()
            && username.len() <= 64
            && username
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c)),
        "username must be 1-64 characters of letters, digits, '.', '_', '-', '@'"
    );
    anyhow::ensure!(
        password.len() >= 4,
        "password must have at least 4 characters"
    );
    store.put_account(&Account {
        username: username.into(),
        name: name.into(),
        role,
        password_hash: hash_password(password)?,
    })
}

/// Demo accounts for `--demo`: agents alice and bob, supervisor sam, password "demo".
pub fn seed_demo(store: &Store) -> anyhow::Result<()> {
    for (u, n, r) in [
        ("alice", "Alice Agent", AccountRole::Agent),
        ("bob", "Bob Agent", AccountRole::Agent),
        ("sam", "Sam Supervisor", AccountRole::Supervisor),
    ] {
        if !store.has_account(u)? {
            add_user(store, u, n, r, "demo")?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_hashed_and_checked() {
        let store = Store::in_memory().unwrap();
        add_user(&store, "ann", "Ann", AccountRole::Agent, "s3cret").unwrap();
        let acc = store.account("ann").unwrap().unwrap();
        assert!(acc.password_hash.starts_with("$argon2"));
        assert!(!acc.password_hash.contains("s3cret"));
        assert!(authenticate(&store, "ann", "s3cret").unwrap().is_some());
        assert!(authenticate(&store, "ann", "wrong").unwrap().is_none());
        assert!(authenticate(&store, "nobody", "s3cret").unwrap().is_none());
        assert!(add_user(&store, "bad name", "x", AccountRole::Agent, "pw12").is_err());
    }
}
