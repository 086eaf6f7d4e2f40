//! Caller metadata an embedding site vouches for. The site (its server, never the browser)
//! signs `caller.metadata` with a secret it shares with Switchboard (`[auth]
//! caller_signing_key`): `metadata.signature` is the lower-case hex HMAC-SHA256 of every other
//! entry as `key=value\n`, in byte order of the keys. Only signed metadata can make a caller a
//! VIP (`vip = "true"`); a signature that does not match is refused, so a customer who edits the
//! page cannot promote themselves.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::BTreeMap;

/// The metadata key that carries the signature.
pub const SIGNATURE: &str = "signature";

/// What the signature covers.
fn signed_text(metadata: &BTreeMap<String, String>) -> String {
    metadata
        .iter()
        .filter(|(k, _)| k.as_str() != SIGNATURE)
        .map(|(k, v)| format!("{k}={v}\n"))
        .collect()
}

/// The signature of `metadata` under `key` (what the embedding site computes).
#[cfg(test)]
pub fn sign(key: &str, metadata: &BTreeMap<String, String>) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("any key length");
    mac.update(signed_text(metadata).as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether the caller is a VIP the site vouches for. Unsigned metadata is never VIP; a
/// signature that does not match (or one sent to a server with no key) is an error.
pub fn is_vip(key: Option<&str>, metadata: &BTreeMap<String, String>) -> Result<bool, String> {
    let Some(sig) = metadata.get(SIGNATURE) else {
        return Ok(false);
    };
    let Some(key) = key else {
        return Err("caller.metadata is signed but this server has no caller_signing_key".into());
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("any key length");
    mac.update(signed_text(metadata).as_bytes());
    let bytes = (0..sig.len())
        .step_by(2)
        .map(|i| {
            sig.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect::<Option<Vec<u8>>>()
        .filter(|b| sig.len() == 64 && b.len() == 32)
        .ok_or("caller.metadata.signature is not 64 hex digits")?;
    mac.verify_slice(&bytes)
        .map_err(|_| "caller.metadata.signature does not match".to_string())?;
    Ok(metadata
        .get("vip")
        .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "true" | "1" | "yes")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn only_signed_metadata_makes_a_vip() {
        let key = "site-secret";
        let mut m = meta(&[("vip", "true"), ("account", "A-17")]);
        assert_eq!(is_vip(Some(key), &m), Ok(false), "unsigned");
        m.insert(SIGNATURE.into(), sign(key, &m));
        assert_eq!(is_vip(Some(key), &m), Ok(true));
        // The same text signed by hand: "account=A-17\nvip=true\n".
        assert_eq!(
            sign(key, &meta(&[("vip", "true"), ("account", "A-17")])),
            sign(key, &meta(&[("account", "A-17"), ("vip", "true")]))
        );
        // Edited after signing, or signed with another key: refused.
        let mut forged = m.clone();
        forged.insert("account".into(), "A-18".into());
        assert!(is_vip(Some(key), &forged).is_err());
        assert!(is_vip(Some("other"), &m).is_err());
        assert!(is_vip(None, &m).is_err());
        let mut junk = m.clone();
        junk.insert(SIGNATURE.into(), "zz".into());
        assert!(is_vip(Some(key), &junk).is_err());
        // Signed but not a VIP.
        let mut plain = meta(&[("account", "A-17")]);
        plain.insert(SIGNATURE.into(), sign(key, &plain));
        assert_eq!(is_vip(Some(key), &plain), Ok(false));
    }
}
