//! The rule of the sign-in limits, written once for both stores: keys are stored hashed (no email
//! or address lands in the table), and a key at its limit answers how long until its oldest attempt
//! leaves the window.

use std::time::Duration;

use sha2::{Digest, Sha256};

/// What the table holds for a key: its SHA-256, hex.
pub fn stored_key(key: &str) -> String {
    Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Given a key's attempts in the window (`count`, the oldest at `oldest_ms`): `Some(wait)` when it
/// is at `limit` (at least a second, as `Retry-After` counts whole seconds).
pub fn wait(
    count: i64,
    oldest_ms: Option<i64>,
    limit: u32,
    window: Duration,
    now_ms: i64,
) -> Option<Duration> {
    if count < i64::from(limit) {
        return None;
    }
    let window_ms = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
    let left = oldest_ms.map_or(window_ms, |oldest| {
        oldest.saturating_add(window_ms) - now_ms
    });
    Some(Duration::from_millis(u64::try_from(left).unwrap_or(0)).max(Duration::from_secs(1)))
}
