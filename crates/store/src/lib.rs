//! The storage interface of igny8: one `Store` trait, implemented once per database
//! (`igny8-store-sqlite`, `igny8-store-postgres`); both pass the suite in `igny8-store-conformance`.

pub mod batch_plan;
pub mod content_batch;
pub mod login_limit;
mod records;
pub mod refresh_family;
pub mod sql;
pub mod structure_push;
pub mod sync_row;
pub mod tombstones;

pub use content_batch::{BatchOutcome, SiteBatch};
pub use records::*;
pub use refresh_family::{RefreshRotation, RotationOutcome};
pub use structure_push::{
    Admission, PushOutcome, PushRefusal, SiteKeyWrite, StructurePush, TargetState,
};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use igny8_domain::changes::{ChangeOutcome, Resolution};
use igny8_domain::checksum::Bucket;
use igny8_domain::content::sync::{ContentSyncState, Refused};
use igny8_domain::content::ItemKind;
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    /// The database failed; its cause is kept for the logs (`source()`), never shown to clients.
    #[error("database error: {0}")]
    Database(#[source] DbError),
    /// The database cannot be reached now (down, restarting, no connection free in time); the
    /// same request may succeed once it is back, so callers answer "retry", not "failed".
    #[error("database unavailable: {0}")]
    Unavailable(String),
}

impl StoreError {
    /// A failure the store itself describes (no underlying error to keep).
    pub fn database(message: impl Into<String>) -> Self {
        StoreError::Database(DbError::from(message.into()))
    }

    /// A failure of the database's driver (or of reading what it answered), kept as the source.
    pub fn driver(source: impl std::error::Error + Send + Sync + 'static) -> Self {
        StoreError::Database(DbError {
            message: source.to_string(),
            source: Some(Box::new(source)),
        })
    }
}

/// A database failure: what went wrong, and the driver's own error when there is one.
#[derive(Debug)]
pub struct DbError {
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// A failure described in words only (no driver error to keep).
impl From<String> for DbError {
    fn from(message: String) -> Self {
        DbError {
            message,
            source: None,
        }
    }
}

impl From<&str> for DbError {
    fn from(message: &str) -> Self {
        message.to_owned().into()
    }
}

impl std::error::Error for DbError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// `?` on the SQLite driver's results (the store's feature `sqlite`).
#[cfg(feature = "sqlite")]
impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::driver(e)
    }
}

/// `?` on the PostgreSQL driver's results (the store's feature `postgres`): `Unavailable` when
/// the database could not be reached or is going away (`unreachable`), `Database` otherwise.
#[cfg(feature = "postgres")]
impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if unreachable(&e) {
            StoreError::Unavailable(e.to_string())
        } else {
            StoreError::driver(e)
        }
    }
}

/// A JSON column's text: serialized straight into bytes (`Display` writes through a formatter,
/// a call per token; a post's SEO, terms and meta are written with every upsert).
pub fn json_text(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| value.to_string())
}

/// Whether a PostgreSQL error says the database is out of reach (the request may be retried as
/// it is) rather than that the request failed.
#[cfg(feature = "postgres")]
pub fn unreachable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        // Class 08: connection exceptions; 57P01-57P03: the server is shutting down, crashed or
        // starting up; 53300: no connection slot free.
        sqlx::Error::Database(d) => d
            .code()
            .is_some_and(|c| c.starts_with("08") || c.starts_with("57P") || c == "53300"),
        _ => false,
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::driver(e)
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A change of an integration's `config_json`, applied inside the store's transaction so two
/// concurrent writers never lose each other's keys. Returning `Err` aborts without writing.
pub type ConfigChange<'a> =
    &'a (dyn Fn(Value) -> std::result::Result<Value, igny8_domain::FieldErrors> + Send + Sync);

/// A step of the content sync state, applied inside the store's transaction; `Err` aborts without
/// writing and becomes `StoreError::Conflict`.
pub type SyncStateChange<'a> =
    &'a (dyn Fn(&mut ContentSyncState) -> std::result::Result<(), Refused> + Send + Sync);

/// Outcome of `update_integration_config`.
#[derive(Debug)]
pub enum ConfigUpdate {
    Updated(SiteIntegration),
    Rejected(igny8_domain::FieldErrors),
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Creates or upgrades the schema; safe to call on every start.
    async fn migrate(&self) -> Result<()>;

    /// The connection pool's usage now, for the metrics; `None` where there is no pool to watch.
    fn pool_usage(&self) -> Option<PoolUsage> {
        None
    }

    /// A server-wide secret by name, created from `make` on first use (first writer wins).
    async fn server_secret(&self, name: &str, make: String) -> Result<String>;

    // Accounts and users.
    async fn count_users(&self) -> Result<i64>;
    /// Creates an account and its first user; `Conflict` when the email is taken.
    async fn create_user_with_account(&self, new: NewUser<'_>) -> Result<User>;
    /// The first-run setup: creates the account and user only while the platform has no user at
    /// all (`None` otherwise), atomically across the processes sharing the database, so two
    /// browsers racing on a fresh install cannot both become its first user.
    async fn create_first_user(&self, new: NewUser<'_>) -> Result<Option<User>>;
    async fn user_by_email(&self, email: &str) -> Result<Option<User>>;
    async fn user_by_id(&self, id: i64) -> Result<Option<User>>;
    /// Records a sign-in attempt under every key (each with its limit) unless one of them already
    /// has `limit` attempts in the `window` before `now`: then records nothing and answers how long
    /// until that key's oldest attempt leaves the window. Atomic across the processes that share
    /// the database; attempts older than the window are forgotten on the way.
    async fn record_login_attempt(
        &self,
        keys: &[LimitKey<'_>],
        window: std::time::Duration,
        now: DateTime<Utc>,
    ) -> Result<Option<std::time::Duration>>;
    /// Signs the user out everywhere: moves `session_epoch` on; answers the new epoch. `NotFound`
    /// for an unknown user.
    async fn end_sessions(&self, user_id: i64) -> Result<i64>;
    /// Spends a refresh token for its successor (`refresh_family`: the rule): `Rotated` when it is
    /// its family's current token, `Reused` otherwise, which ends the family for good. Atomic
    /// across the processes sharing the database; families whose last token expired are
    /// forgotten on the way.
    async fn rotate_refresh_token(&self, rotation: RefreshRotation<'_>) -> Result<RotationOutcome>;

    // Sites.
    async fn create_site(&self, account_id: i64, name: &str, url: &str) -> Result<Site>;
    async fn site(&self, id: i64) -> Result<Option<Site>>;
    async fn sites_of_account(&self, account_id: i64) -> Result<Vec<Site>>;
    /// `NotFound` for an unknown site.
    async fn set_site_active(&self, id: i64, active: bool) -> Result<Site>;

    // API keys.
    async fn create_api_key(&self, new: NewApiKeyRow<'_>) -> Result<ApiKey>;
    async fn api_key_by_prefix(&self, prefix: &str) -> Result<Option<ApiKey>>;
    async fn api_keys_of_site(&self, site_id: i64) -> Result<Vec<ApiKey>>;
    /// Revokes a site's key by prefix; `NotFound` when the site has no such key. Idempotent.
    async fn revoke_api_key(&self, site_id: i64, prefix: &str, at: DateTime<Utc>)
        -> Result<ApiKey>;
    async fn touch_api_key(&self, id: i64, at: DateTime<Utc>) -> Result<()>;

    // Integrations.
    /// The site's integration for `platform`, created when missing; `true` when created now.
    async fn ensure_integration(
        &self,
        site_id: i64,
        platform: &str,
    ) -> Result<(SiteIntegration, bool)>;
    async fn integration(&self, id: i64) -> Result<Option<SiteIntegration>>;
    async fn integrations_of_site(&self, site_id: i64) -> Result<Vec<SiteIntegration>>;
    /// Read-modify-write of `config_json` in one transaction; `NotFound` for an unknown id.
    async fn update_integration_config(
        &self,
        id: i64,
        change: ConfigChange<'_>,
    ) -> Result<ConfigUpdate>;
    /// A site's structure push with its key: checked, applied and answered with the content sync
    /// state, as one unit of work (`structure_push`: the rules; each store runs them inside one
    /// transaction, so nothing changes between the checks and the write).
    async fn push_structure(&self, push: StructurePush) -> Result<PushOutcome>;
    /// The address the site's plugin first reports becomes the integration's `site_url`, unless it
    /// has one (first writer wins); answers the integration as stored. `NotFound` for an unknown id.
    async fn adopt_site_url(&self, id: i64, url: &str) -> Result<SiteIntegration>;
    /// The site moved: `site_url` becomes `url` and a recorded mismatch is forgotten; answers the
    /// integration as stored. `NotFound` for an unknown id.
    async fn move_site_url(&self, id: i64, url: &str) -> Result<SiteIntegration>;
    /// Records the last other address a copy of the site reported and when (`None` forgets it).
    /// `NotFound` for an unknown id.
    async fn record_site_url_mismatch(
        &self,
        id: i64,
        mismatch: Option<(&str, DateTime<Utc>)>,
    ) -> Result<()>;

    // Content sync (docs/sync-protocol.md). Every call is scoped to one integration.
    /// A site's batch with its key: checked, applied and its sync outcome recorded, as one unit
    /// of work (`content_batch`: the rules; each store runs them inside one transaction, so a batch
    /// never commits without its outcome). The valid items apply in order, then the range marker,
    /// which moves the running full sync's progress; rejected items answer their reason, posts
    /// older than the held copy `Stale`. A failure applies nothing.
    async fn apply_site_batch(&self, write: SiteBatch) -> Result<BatchOutcome>;
    /// Deletes every post and term of types not in `keep`, and those above a kept type's `max_id`;
    /// answers how many were deleted.
    async fn prune_content(&self, integration_id: i64, keep: &[TypeBound]) -> Result<u64>;
    /// Deletes the given ids of one type (verification found them gone from WordPress).
    async fn delete_content_ids(
        &self,
        integration_id: i64,
        kind: ItemKind,
        type_name: &str,
        ids: &[i64],
    ) -> Result<u64>;
    /// Forgets the tombstones of posts WordPress still has (verification asks for them again), so
    /// their re-sent upserts apply; answers how many were forgotten.
    async fn forget_deletions(
        &self,
        integration_id: i64,
        post_type: &str,
        ids: &[i64],
    ) -> Result<u64>;
    /// Synced posts, newest modification first (ties by id, descending).
    async fn list_content(
        &self,
        integration_id: i64,
        filter: ContentFilter<'_>,
        offset: u64,
        limit: u64,
    ) -> Result<ContentPage>;
    async fn content_item(
        &self,
        integration_id: i64,
        post_type: &str,
        wp_id: i64,
    ) -> Result<Option<ContentItem>>;
    /// Every synced term of a taxonomy, by id.
    async fn terms_of_taxonomy(&self, integration_id: i64, taxonomy: &str) -> Result<Vec<TermRow>>;
    /// What the platform holds per post type and taxonomy, by kind then name.
    async fn content_counts(&self, integration_id: i64) -> Result<Vec<TypeCount>>;
    /// Per-bucket count and checksum sum of one type, by bucket start.
    async fn checksum_buckets(
        &self,
        integration_id: i64,
        kind: ItemKind,
        type_name: &str,
        bucket_size: i64,
    ) -> Result<Vec<Bucket>>;
    /// `(wp_id, checksum)` of one type's objects with ids in `[from_id, to_id]`, by id.
    async fn item_checksums(
        &self,
        integration_id: i64,
        kind: ItemKind,
        type_name: &str,
        from_id: i64,
        to_id: i64,
    ) -> Result<Vec<(i64, u32)>>;
    /// The integration's sync state; the default before anything happened.
    async fn content_sync_state(&self, integration_id: i64) -> Result<ContentSyncState>;
    /// Read-modify-write of the sync state in one transaction; answers the new state.
    async fn update_content_sync_state(
        &self,
        integration_id: i64,
        change: SyncStateChange<'_>,
    ) -> Result<ContentSyncState>;

    // Two-way sync: the outbox of changes for WordPress (docs/sync-protocol.md). Every call is
    // scoped to one integration.
    /// Queues a change with the integration's next `seq` (allocated with the integration locked,
    /// so the order is the commit order); a change with an idempotency key already used on this
    /// integration is answered instead (`false`: nothing queued). `NotFound` for an unknown
    /// integration.
    async fn create_change(&self, new: NewChange) -> Result<(ChangeRecord, bool)>;
    async fn change(&self, integration_id: i64, id: i64) -> Result<Option<ChangeRecord>>;
    /// Changes newest first, with the number of all matching.
    async fn list_changes(
        &self,
        integration_id: i64,
        filter: ChangeFilter<'_>,
        offset: u64,
        limit: u64,
    ) -> Result<(u64, Vec<ChangeRecord>)>;
    /// Hands the oldest pending changes to the plugin, in `seq` order, counting the delivery in
    /// each one's `attempt` (concurrent pulls each see their own count).
    async fn deliver_changes(
        &self,
        integration_id: i64,
        limit: u64,
        at: DateTime<Utc>,
    ) -> Result<Vec<ChangeRecord>>;
    /// Pending changes of the integration.
    async fn count_pending_changes(&self, integration_id: i64) -> Result<u64>;
    /// Changes per status across every integration, and the oldest pending one's time (metrics).
    async fn outbox_depth(&self) -> Result<OutboxDepth>;
    /// Cancels a pending change; `Conflict` when it is not pending, `NotFound` when unknown.
    async fn cancel_change(
        &self,
        integration_id: i64,
        id: i64,
        at: DateTime<Utc>,
    ) -> Result<ChangeRecord>;
    /// Records the plugin's outcomes (`changes::record_outcome`); answers, per outcome, whether
    /// the integration has that change.
    async fn record_change_outcomes(
        &self,
        integration_id: i64,
        outcomes: &[ChangeOutcome],
        at: DateTime<Utc>,
    ) -> Result<Vec<bool>>;
    /// Marks a change in conflict `resolved` with `resolution` in its result and queues the
    /// change the choices made, in one transaction; `Conflict` when the change is no longer in
    /// conflict. Answers the resolved change and the new one.
    async fn resolve_change(
        &self,
        integration_id: i64,
        id: i64,
        resolution: &Resolution,
        next: Option<NewChange>,
    ) -> Result<(ChangeRecord, Option<ChangeRecord>)>;
    /// Stores where the site is nudged (a reconnect replaces the secret).
    async fn set_change_receiver(
        &self,
        integration_id: i64,
        url: &str,
        secret: &str,
        at: DateTime<Utc>,
    ) -> Result<()>;
    async fn change_receiver(&self, integration_id: i64) -> Result<Option<ChangeReceiver>>;
    /// Records a nudge's time and error (None: delivered).
    async fn record_nudge(
        &self,
        integration_id: i64,
        at: DateTime<Utc>,
        error: Option<&str>,
    ) -> Result<()>;
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::StoreError;

    #[test]
    fn a_drivers_error_is_kept_as_the_source_and_a_stores_own_has_none() {
        let cause = serde_json::from_str::<u8>("x").unwrap_err();
        let e = StoreError::from(cause);
        let StoreError::Database(inner) = &e else {
            panic!("{e:?}")
        };
        assert!(e.to_string().starts_with("database error: expected value"));
        let source = inner.source().expect("the driver's error is kept");
        assert!(source.downcast_ref::<serde_json::Error>().is_some());
        assert!(e.source().is_some());
        let own = StoreError::database("the writer has stopped");
        assert_eq!(own.to_string(), "database error: the writer has stopped");
        let StoreError::Database(inner) = own else {
            panic!()
        };
        assert!(inner.source().is_none());
    }
}
