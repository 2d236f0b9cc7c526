//! The rows the store hands out: plain data, named as the platform names them.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, Copy)]
pub struct NewUser<'a> {
    pub email: &'a str,
    pub password_hash: &'a str,
    pub account_name: &'a str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct User {
    pub id: i64,
    pub account_id: i64,
    pub email: String,
    #[serde(skip)]
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
    /// Sessions and refresh tokens carry the epoch they were issued in; signing out moves it on,
    /// which ends every one issued before.
    #[serde(skip)]
    pub session_epoch: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Site {
    pub id: i64,
    pub account_id: i64,
    pub name: String,
    pub url: String,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy)]
pub struct NewApiKeyRow<'a> {
    pub site_id: i64,
    pub prefix: &'a str,
    pub hash: &'a str,
    pub label: &'a str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApiKey {
    pub id: i64,
    pub site_id: i64,
    pub prefix: String,
    #[serde(skip)]
    pub hash: String,
    pub label: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SiteIntegration {
    pub id: i64,
    #[serde(rename = "site")]
    pub site_id: i64,
    pub platform: String,
    pub is_active: bool,
    pub config_json: Value,
    pub sync_status: igny8_domain::content::sync::SyncStatus,
    pub last_sync_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The address the site's plugin reports (`X-Igny8-Site-Url`): the first one it reported, or the
    /// one its owner moved the site to. Requests reporting another address are refused.
    pub site_url: Option<String>,
    /// The last other address a copy of the site reported, and when (until the owner chooses).
    pub site_url_mismatch: Option<String>,
    pub site_url_mismatch_at: Option<DateTime<Utc>>,
}

/// One synced post as lists show it (no body): the API's item, DESIGN.md §2.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContentSummary {
    pub wp_id: i64,
    #[serde(rename = "type")]
    pub post_type: String,
    pub title: String,
    pub slug: String,
    pub status: String,
    pub parent: i64,
    pub modified_gmt: String,
    pub url: Option<String>,
    pub terms: Value,
    pub seo: Value,
    pub synced_at: DateTime<Utc>,
}

/// One synced post with everything the platform holds of it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContentItem {
    #[serde(flatten)]
    pub summary: ContentSummary,
    pub content: String,
    pub content_truncated: bool,
    pub excerpt: String,
    pub author: String,
    pub date_gmt: Option<String>,
    pub menu_order: i64,
    pub featured_image: Option<String>,
    pub meta: Value,
    pub checksum: u32,
    /// Where the last change came from: `wordpress` (pushback will add the platform).
    pub source: String,
}

/// One synced term of a taxonomy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TermRow {
    pub wp_id: i64,
    pub name: String,
    pub slug: String,
    pub parent: i64,
    pub count: i64,
    pub description: String,
    #[serde(skip)]
    pub taxonomy: String,
    pub synced_at: DateTime<Utc>,
}

/// Which synced posts a list shows.
#[derive(Debug, Clone, Copy, Default)]
pub struct ContentFilter<'a> {
    pub post_type: Option<&'a str>,
    pub status: Option<&'a str>,
}

/// A page of a list, with the number of all matching rows.
#[derive(Debug, Clone, PartialEq)]
pub struct ContentPage {
    pub count: u64,
    pub items: Vec<ContentSummary>,
}

/// What the platform holds of one type: objects (posts in the trash not counted) and the time of
/// the last change received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeCount {
    pub kind: igny8_domain::content::ItemKind,
    pub type_name: String,
    pub count: u64,
    pub last_synced_at: Option<DateTime<Utc>>,
}

/// A type a full sync keeps when it finishes; `max_id` drops what lies above WordPress's largest id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeBound {
    pub kind: igny8_domain::content::ItemKind,
    pub type_name: String,
    pub max_id: Option<i64>,
}

impl TypeBound {
    /// What pruning deletes of a held type: the ids above the answer (`-1` for a type not kept:
    /// all of it), or nothing (`None`) for a kept type without a bound.
    pub fn prune_above(
        keep: &[TypeBound],
        kind: igny8_domain::content::ItemKind,
        type_name: &str,
    ) -> Option<i64> {
        match keep
            .iter()
            .find(|b| b.kind == kind && b.type_name == type_name)
        {
            None => Some(-1),
            Some(bound) => bound.max_id,
        }
    }
}

/// The two-way sync outbox across every integration, for the metrics: changes per status (every
/// status, zero when none) and when the oldest pending change was queued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxDepth {
    pub by_status: Vec<(igny8_domain::changes::ChangeStatus, u64)>,
    pub oldest_pending_at: Option<DateTime<Utc>>,
}

impl OutboxDepth {
    /// From a `GROUP BY status` count; a status no row has counts zero (its series stays on the
    /// graph), an unknown one is left out.
    pub fn from_counts(
        counted: &[(String, i64)],
        oldest_pending_at: Option<DateTime<Utc>>,
    ) -> Self {
        let by_status = igny8_domain::changes::ChangeStatus::ALL
            .iter()
            .map(|&status| {
                let n = counted
                    .iter()
                    .find(|(s, _)| s == status.as_str())
                    .map_or(0, |(_, n)| u64::try_from(*n).unwrap_or(0));
                (status, n)
            })
            .collect();
        Self {
            by_status,
            oldest_pending_at,
        }
    }
}

/// How many connections a store's pool holds, and how many of them are idle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUsage {
    pub size: u32,
    pub idle: u32,
}

/// A key of the sign-in limits (`email:…`, `ip:…`) and how many attempts it may make per window.
#[derive(Debug, Clone, Copy)]
pub struct LimitKey<'a> {
    pub key: &'a str,
    pub limit: u32,
}

/// A change the platform queued for WordPress (two-way sync), as stored and answered.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangeRecord {
    pub id: i64,
    #[serde(skip)]
    pub integration_id: i64,
    pub seq: i64,
    pub op: igny8_domain::changes::ChangeOp,
    pub kind: igny8_domain::content::ItemKind,
    #[serde(rename = "type")]
    pub type_name: String,
    pub wp_id: Option<i64>,
    pub fields: Value,
    pub base: Value,
    pub base_modified_gmt: Option<String>,
    pub policy: igny8_domain::changes::ConflictPolicy,
    pub status: igny8_domain::changes::ChangeStatus,
    /// How often the plugin was handed this change.
    pub attempt: i64,
    pub result: Option<Value>,
    pub idempotency_key: Option<String>,
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub applied_at: Option<DateTime<Utc>>,
}

impl ChangeRecord {
    /// A field of the plugin's reported outcome (`wp_id`, `modified_gmt`, `conflicts`…).
    pub fn reported(&self, field: &str) -> Option<&Value> {
        self.result.as_ref()?.get(field)
    }

    /// The WordPress object the change is about: its `wp_id`, or for a create the id WordPress
    /// reported once it applied it.
    pub fn object_wp_id(&self) -> Option<i64> {
        self.wp_id
            .or_else(|| self.reported("wp_id").and_then(Value::as_i64))
    }

    /// WordPress's `post_modified_gmt` after it applied the change.
    pub fn reported_modified_gmt(&self) -> Option<&str> {
        self.reported("modified_gmt").and_then(Value::as_str)
    }
}

/// A change to queue: checked, its base filled.
#[derive(Debug, Clone)]
pub struct NewChange {
    pub integration_id: i64,
    pub op: igny8_domain::changes::ChangeOp,
    pub kind: igny8_domain::content::ItemKind,
    pub type_name: String,
    pub wp_id: Option<i64>,
    pub fields: Value,
    pub base: Value,
    pub base_modified_gmt: Option<String>,
    pub policy: igny8_domain::changes::ConflictPolicy,
    pub idempotency_key: Option<String>,
    pub created_by: Option<i64>,
    pub at: DateTime<Utc>,
}

/// Which changes a list shows.
#[derive(Debug, Clone, Copy, Default)]
pub struct ChangeFilter<'a> {
    pub status: Option<igny8_domain::changes::ChangeStatus>,
    /// One object's changes: kind, type, WordPress id.
    pub object: Option<(igny8_domain::content::ItemKind, &'a str, i64)>,
}

/// Where and how the platform nudges a site when it queues a change. The secret signs nudges;
/// it is never answered back.
#[derive(Clone, PartialEq)]
pub struct ChangeReceiver {
    pub integration_id: i64,
    pub url: String,
    pub secret: String,
    pub registered_at: DateTime<Utc>,
    pub last_nudge_at: Option<DateTime<Utc>>,
    pub last_nudge_error: Option<String>,
}

impl std::fmt::Debug for ChangeReceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChangeReceiver")
            .field("integration_id", &self.integration_id)
            .field("url", &self.url)
            .field("secret", &"[redacted]")
            .field("registered_at", &self.registered_at)
            .field("last_nudge_at", &self.last_nudge_at)
            .field("last_nudge_error", &self.last_nudge_error)
            .finish()
    }
}
