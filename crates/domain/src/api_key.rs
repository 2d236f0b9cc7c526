//! Site API keys: `igny8_<prefix>_<secret>`. The prefix identifies the key (shown in lists); only a
//! SHA-256 of the whole key is stored. Keys carry 240 bits of randomness, so a fast hash is enough
//! (a slow password hash would cost every API request), and the key is shown exactly once.

use chrono::{DateTime, Duration, Utc};
use rand::distributions::Alphanumeric;
use rand::Rng;
use sha2::{Digest, Sha256};

const BRAND: &str = "igny8_";
const PREFIX_LEN: usize = 8;
const SECRET_LEN: usize = 40;

/// A freshly generated key; `secret` is the only copy of the full key that will ever exist.
pub struct NewApiKey {
    pub prefix: String,
    pub secret: String,
    pub hash: String,
}

impl NewApiKey {
    pub fn generate() -> Self {
        let mut rng = rand::thread_rng();
        let mut pick = |n: usize| -> String {
            (&mut rng)
                .sample_iter(&Alphanumeric)
                .take(n)
                .map(|c| char::from(c).to_ascii_lowercase())
                .collect()
        };
        let prefix = pick(PREFIX_LEN);
        let secret = format!("{BRAND}{prefix}_{}", pick(SECRET_LEN));
        let hash = hash_key(&secret);
        Self {
            prefix,
            secret,
            hash,
        }
    }
}

impl std::fmt::Debug for NewApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewApiKey")
            .field("prefix", &self.prefix)
            .field("secret", &"[redacted]")
            .finish()
    }
}

/// The prefix of a presented key, if it has our shape; used to find the stored row.
pub fn key_prefix(presented: &str) -> Option<&str> {
    let rest = presented.strip_prefix(BRAND)?;
    let (prefix, secret) = rest.split_once('_')?;
    (prefix.len() == PREFIX_LEN
        && secret.len() == SECRET_LEN
        && prefix
            .bytes()
            .chain(secret.bytes())
            .all(|b| b.is_ascii_alphanumeric()))
    .then_some(prefix)
}

/// Whether a token looks like an API key (as opposed to a JWT).
pub fn looks_like_api_key(token: &str) -> bool {
    token.starts_with(BRAND)
}

pub fn hash_key(presented: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(presented.as_bytes());
    let mut hex = String::with_capacity(2 * digest.len());
    for b in digest {
        hex.push(char::from(HEX[usize::from(b >> 4)]));
        hex.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    hex
}

/// Compares the hash of a presented key (`hash_key`) with a stored one in constant time.
pub fn hash_matches(presented_hash: &str, stored_hash: &str) -> bool {
    presented_hash.len() == stored_hash.len()
        && presented_hash
            .bytes()
            .zip(stored_hash.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// A stored key as the rules need it: its hash and whether it was revoked.
#[derive(Debug, Clone, Copy)]
pub struct StoredKey<'a> {
    pub hash: &'a str,
    pub revoked: bool,
}

/// Why a presented key may not be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRefusal {
    /// No key has its prefix, or the hash differs: the same answer for both.
    Unknown,
    Revoked,
}

/// A presented key, as found by its prefix, may be used: it exists, its hash matches, it is not
/// revoked. The rule of every request made with a site's key, on the store's one-unit structure
/// push and on every other path alike.
pub fn check_presented_key(
    found: Option<StoredKey<'_>>,
    presented_hash: &str,
) -> Result<(), KeyRefusal> {
    let key = found
        .filter(|k| hash_matches(presented_hash, k.hash))
        .ok_or(KeyRefusal::Unknown)?;
    if key.revoked {
        return Err(KeyRefusal::Revoked);
    }
    Ok(())
}

/// Whether a valid key's `last_used_at` is due to be written at `at`: written at most once per
/// `every`, so each request is not also a write.
pub fn touch_due(last_used_at: Option<DateTime<Utc>>, at: DateTime<Utc>, every: Duration) -> bool {
    last_used_at.is_none_or(|t| at - t >= every)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_have_the_documented_shape_and_verify() {
        let key = NewApiKey::generate();
        assert_eq!(key_prefix(&key.secret), Some(key.prefix.as_str()));
        assert!(hash_matches(&hash_key(&key.secret), &key.hash));
        assert!(!hash_matches(
            &hash_key(&format!("{}x", key.secret)),
            &key.hash
        ));
        assert_eq!(key.hash.len(), 64);
        assert!(key
            .hash
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert!(!format!("{key:?}").contains(&key.secret));
        assert_ne!(NewApiKey::generate().secret, key.secret);
    }

    #[test]
    fn hashes_are_lowercase_hex_sha256() {
        assert_eq!(
            hash_key("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn malformed_keys_have_no_prefix() {
        assert_eq!(key_prefix("igny8_abc"), None);
        assert_eq!(key_prefix("nope"), None);
        assert_eq!(
            key_prefix(&format!("igny8_abcdefgh_{}", "é".repeat(20))),
            None
        );
        assert_eq!(
            key_prefix(&format!("igny8_abcdefgh_{}", "a".repeat(40))),
            Some("abcdefgh")
        );
    }

    #[test]
    fn a_presented_key_must_match_and_not_be_revoked() {
        let key = NewApiKey::generate();
        let presented = hash_key(&key.secret);
        let stored = |revoked| StoredKey {
            hash: &key.hash,
            revoked,
        };
        assert_eq!(check_presented_key(Some(stored(false)), &presented), Ok(()));
        assert_eq!(
            check_presented_key(Some(stored(true)), &presented),
            Err(KeyRefusal::Revoked)
        );
        // A wrong secret is unknown, even for a revoked key: nothing is told about it.
        let wrong = hash_key(&format!("{}x", key.secret));
        for found in [Some(stored(false)), Some(stored(true)), None] {
            assert_eq!(check_presented_key(found, &wrong), Err(KeyRefusal::Unknown));
        }
        assert_eq!(
            check_presented_key(None, &presented),
            Err(KeyRefusal::Unknown)
        );
    }

    #[test]
    fn last_use_is_written_at_most_once_per_period() {
        let at = DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z")
            .unwrap()
            .with_timezone(&Utc);
        let every = Duration::seconds(60);
        assert!(touch_due(None, at, every));
        assert!(!touch_due(Some(at - Duration::seconds(59)), at, every));
        assert!(touch_due(Some(at - Duration::seconds(60)), at, every));
        // A clock that went back does not write.
        assert!(!touch_due(Some(at + Duration::seconds(5)), at, every));
    }
}
