//! SQL that is the same in both dialects, written once: the column lists each store selects and
//! reads its records from (SQLite by position, PostgreSQL by name), so the two cannot drift apart.
//! Statements with parameters differ (`?` against `$1`) and stay in each store.

pub const USER_COLS: &str = "id, account_id, email, password_hash, created_at, session_epoch";
pub const SITE_COLS: &str = "id, account_id, name, url, is_active, created_at";
pub const KEY_COLS: &str = "id, site_id, prefix, hash, label, created_at, last_used_at, revoked_at";
pub const INTEGRATION_COLS: &str = "id, site_id, platform, is_active, config_json, sync_status, last_sync_at, last_error, created_at, updated_at, site_url, site_url_mismatch, site_url_mismatch_at";
pub const CHANGE_COLS: &str = "id, integration_id, seq, op, kind, type, wp_id, fields, base, base_modified_gmt, policy, status, attempt, result, idempotency_key, created_by, created_at, updated_at, applied_at";
/// A synced post without its body, as lists show it.
pub const SUMMARY_COLS: &str =
    "wp_id, post_type, title, slug, status, parent, modified_gmt, url, terms, seo, synced_at";

/// The two-way sync outbox for the metrics: changes per status, and when the oldest pending one
/// was queued (by id, not by the time's text: ids are the queueing order, and SQLite's text times
/// do not sort as times).
pub const OUTBOX_COUNTS: &str = "SELECT status, COUNT(*) FROM changes GROUP BY status";
pub const OLDEST_PENDING_AT: &str =
    "SELECT created_at FROM changes WHERE status = 'pending' ORDER BY id LIMIT 1";
