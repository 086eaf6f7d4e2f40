//! Signed, expiring session tokens: one password check per login, then the token.
//!
//! A token is `base64url(claims) "." base64url(HMAC-SHA256(key, claims))`, where the claims
//! are a small JSON object: username, expiry (Unix seconds) and a fingerprint of the account's
//! password hash, so that changing a password ends every token issued before. The key is 32
//! random bytes kept in the data directory (`session.key`, mode 0600), so tokens survive a
//! restart; delete the file to end every session.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

type HmacSha256 = Hmac<Sha256>;

#[derive(Serialize, Deserialize)]
struct Claims {
    /// Username.
    u: String,
    /// Expiry, Unix seconds.
    exp: u64,
    /// First 8 bytes (hex) of SHA-256 of the account's password hash.
    f: String,
}

#[derive(Debug, PartialEq, Eq)]
pub enum TokenError {
    Malformed,
    BadSignature,
    Expired,
}

pub struct TokenSigner {
    key: [u8; 32],
    ttl: Duration,
}

/// What a valid token says; the caller still checks the account and its fingerprint.
#[derive(Debug, PartialEq, Eq)]
pub struct TokenClaims {
    pub username: String,
    pub fingerprint: String,
    pub expires_at: u64,
}

pub fn fingerprint(password_hash: &str) -> String {
    let d = Sha256::digest(password_hash.as_bytes());
    d[..8].iter().map(|b| format!("{b:02x}")).collect()
}

fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl TokenSigner {
    pub fn new(key: [u8; 32], ttl: Duration) -> Self {
        Self { key, ttl }
    }

    /// The key in `dir/session.key`, created if missing. `None` dir: a key for this run only.
    pub fn load_or_create(dir: Option<&Path>, ttl: Duration) -> anyhow::Result<Self> {
        let fresh = || {
            let mut k = [0u8; 32];
            rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut k);
            k
        };
        let Some(dir) = dir else {
            return Ok(Self::new(fresh(), ttl));
        };
        let path = dir.join("session.key");
        if let Ok(bytes) = std::fs::read(&path) {
            if let Ok(key) = <[u8; 32]>::try_from(bytes.as_slice()) {
                return Ok(Self::new(key, ttl));
            }
            tracing::warn!(path = %path.display(), "session key has the wrong size; making a new one");
        }
        let key = fresh();
        std::fs::create_dir_all(dir)?;
        write_private(&path, &key)?;
        Ok(Self::new(key, ttl))
    }

    fn mac(&self, data: &[u8]) -> HmacSha256 {
        let mut m = HmacSha256::new_from_slice(&self.key).expect("any key length");
        m.update(data);
        m
    }

    /// A signature of `subject` for one `purpose` (hex): proof that this server gave it out.
    pub fn sign_for(&self, purpose: &str, subject: &str) -> String {
        let mac = self.mac(format!("{purpose}\0{subject}").as_bytes());
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Whether `signature` is [`TokenSigner::sign_for`] of `subject` and `purpose`.
    pub fn check_for(&self, purpose: &str, subject: &str, signature: &str) -> bool {
        let Some(bytes) = (0..signature.len())
            .step_by(2)
            .map(|i| {
                signature
                    .get(i..i + 2)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
            })
            .collect::<Option<Vec<u8>>>()
        else {
            return false;
        };
        self.mac(format!("{purpose}\0{subject}").as_bytes())
            .verify_slice(&bytes)
            .is_ok()
    }

    /// A token for `username` whose password hash is `password_hash`, and its expiry.
    pub fn issue(&self, now: SystemTime, username: &str, password_hash: &str) -> (String, u64) {
        let exp = unix(now + self.ttl);
        let claims = serde_json::to_vec(&Claims {
            u: username.to_string(),
            exp,
            f: fingerprint(password_hash),
        })
        .expect("claims serialise");
        let sig = self.mac(&claims).finalize().into_bytes();
        (
            format!(
                "{}.{}",
                URL_SAFE_NO_PAD.encode(&claims),
                URL_SAFE_NO_PAD.encode(sig)
            ),
            exp,
        )
    }

    pub fn check(&self, now: SystemTime, token: &str) -> Result<TokenClaims, TokenError> {
        if token.len() > 1024 {
            return Err(TokenError::Malformed);
        }
        let (body, sig) = token.split_once('.').ok_or(TokenError::Malformed)?;
        let claims = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| TokenError::Malformed)?;
        let sig = URL_SAFE_NO_PAD
            .decode(sig)
            .map_err(|_| TokenError::Malformed)?;
        // Constant-time comparison of the signature.
        self.mac(&claims)
            .verify_slice(&sig)
            .map_err(|_| TokenError::BadSignature)?;
        let c: Claims = serde_json::from_slice(&claims).map_err(|_| TokenError::Malformed)?;
        if c.exp <= unix(now) {
            return Err(TokenError::Expired);
        }
        Ok(TokenClaims {
            username: c.u,
            fingerprint: c.f,
            expires_at: c.exp,
        })
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    opts.open(path)?.write_all(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_signed_expire_and_name_their_user() {
        let s = TokenSigner::new([7; 32], Duration::from_secs(60));
        let now = SystemTime::now();
        let (t, exp) = s.issue(now, "alice", "$argon2id$hash");
        let c = s.check(now, &t).unwrap();
        assert_eq!(c.username, "alice");
        assert_eq!(c.expires_at, exp);
        assert_eq!(c.fingerprint, fingerprint("$argon2id$hash"));
        assert_eq!(
            s.check(now + Duration::from_secs(61), &t),
            Err(TokenError::Expired)
        );
        // Another key, or a changed byte, does not verify.
        let other = TokenSigner::new([8; 32], Duration::from_secs(60));
        assert_eq!(other.check(now, &t), Err(TokenError::BadSignature));
        let (body, sig) = t.split_once('.').unwrap();
        let forged_body =
            URL_SAFE_NO_PAD.encode(br#"{"u":"sam","exp":99999999999,"f":"0000000000000000"}"#);
        assert_eq!(
            s.check(now, &format!("{forged_body}.{sig}")),
            Err(TokenError::BadSignature)
        );
        assert_eq!(s.check(now, body), Err(TokenError::Malformed));
        assert_eq!(s.check(now, "a.b.c"), Err(TokenError::Malformed));
    }

    #[test]
    fn the_key_survives_a_restart() {
        let dir = std::env::temp_dir().join(format!("sb-key-{}", rand::random::<u64>()));
        let a = TokenSigner::load_or_create(Some(&dir), Duration::from_secs(60)).unwrap();
        let b = TokenSigner::load_or_create(Some(&dir), Duration::from_secs(60)).unwrap();
        let now = SystemTime::now();
        let (t, _) = a.issue(now, "bob", "h");
        assert!(b.check(now, &t).is_ok());
        let _ = std::fs::remove_dir_all(dir);
    }
}
