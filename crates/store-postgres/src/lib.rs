//! The `Store` on PostgreSQL, for several stateless igny8 replicas sharing one database.
//! Read-modify-writes lock the row they change (`SELECT … FOR UPDATE`) inside a transaction.

mod changes;
mod content;
mod pushes;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use igny8_domain::changes::{ChangeOutcome, Resolution};
use igny8_domain::checksum::Bucket;
use igny8_domain::content::sync::{ContentSyncState, SyncStatus};
use igny8_domain::content::ItemKind;
use igny8_store::refresh_family::{self, Step};
use igny8_store::sql::{INTEGRATION_COLS, KEY_COLS, SITE_COLS, USER_COLS};
use igny8_store::{login_limit, RefreshRotation, RotationOutcome};
use igny8_store::{
    ApiKey, BatchOutcome, ChangeFilter, ChangeReceiver, ChangeRecord, ConfigChange, ConfigUpdate,
    ContentFilter, ContentItem, ContentPage, LimitKey, NewApiKeyRow, NewChange, NewUser,
    PushOutcome, Result, Site, SiteBatch, SiteIntegration, SiteKeyWrite, Store, StoreError,
    StructurePush, SyncStateChange, TargetState, TermRow, TypeBound, TypeCount, User,
};
use serde_json::Value;
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;
use tracing::instrument;

/// How long a request waits for a pooled connection before it answers "unavailable".
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

pub struct PostgresStore {
    pool: PgPool,
    /// Content batches' own few connections: a connection keeps the buffers its largest statement
    /// grew (a batch's upsert binds about its whole body, 1–8 MiB), so batches cycling through all
    /// of `pool`'s connections would leave each holding a batch's worth of memory.
    batches: PgPool,
    pushes: pushes::Pushes,
    /// Whether this process has seen to `content`'s planner statistics (`content::ensure_statistics`).
    content_statistics: Arc<AtomicBool>,
}

/// Concurrent content batches per process; more wait for a connection (2 cores gain nothing from
/// more concurrent batch transactions, whose commits are already flushed together).
const BATCH_CONNECTIONS: u32 = 4;

impl PostgresStore {
    /// Connects to the database at a `postgres://…` URL; the database must exist.
    pub async fn open(url: &str) -> Result<Self> {
        // Every push commits (one WAL flush each): more connections let PostgreSQL flush the
        // commits of concurrent pushes together. No ping before each checkout: a dead connection
        // fails its statement (503, the caller retries) and is dropped when released, instead of
        // every request paying a round trip. A request waits a few seconds at most for a
        // connection: while the database is down it answers 503 soon, not after a client gave up.
        let pool = PgPoolOptions::new()
            .max_connections(32)
            .test_before_acquire(false)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect(url)
            .await?;
        let batches = PgPoolOptions::new()
            .max_connections(BATCH_CONNECTIONS)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(15))
            .connect(url)
            .await?;
        Ok(Self {
            pushes: pushes::Pushes::start(pool.clone()),
            pool,
            batches,
            content_statistics: Arc::default(),
        })
    }

    /// An account and its first user; with `only_first`, only while there is no user at all
    /// (first-run setups on every replica take one advisory lock, then look).
    async fn insert_user(&self, new: NewUser<'_>, only_first: bool) -> Result<Option<User>> {
        let now = Utc::now();
        let mut tx = self.pool.begin().await?;
        if only_first {
            sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('igny8 first user', 0))")
                .execute(&mut *tx)
                .await?;
            let any: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users)")
                .fetch_one(&mut *tx)
                .await?;
            if any {
                return Ok(None);
            }
        }
        let account_id: i64 = sqlx::query_scalar(
            "INSERT INTO accounts (name, created_at) VALUES ($1, $2) RETURNING id",
        )
        .bind(new.account_name)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let row: UserRow = sqlx::query_as(&format!(
            "INSERT INTO users (account_id, email, password_hash, created_at) VALUES ($1, $2, $3, $4) RETURNING {USER_COLS}"
        ))
        .bind(account_id)
        .bind(new.email)
        .bind(new.password_hash)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(write_err("a user with this email already exists"))?;
        tx.commit().await?;
        Ok(Some(user(row)))
    }
}

/// `Unavailable` when the database could not be reached or is going away (the request may be
/// retried as it is), `Database` for everything else: for the errors `?` does not convert.
fn db(e: impl std::fmt::Display) -> StoreError {
    StoreError::database(e.to_string())
}

/// Maps a unique-constraint violation to `Conflict`, everything else to `Database`.
fn write_err(what: &str) -> impl Fn(sqlx::Error) -> StoreError + '_ {
    move |e| match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            StoreError::Conflict(what.to_owned())
        }
        _ => StoreError::from(e),
    }
}

/// The rows of `USER_COLS`, `SITE_COLS`, `KEY_COLS` and `INTEGRATION_COLS`, read by column name.
#[derive(sqlx::FromRow)]
struct UserRow {
    id: i64,
    account_id: i64,
    email: String,
    password_hash: String,
    created_at: DateTime<Utc>,
    session_epoch: i64,
}

#[derive(sqlx::FromRow)]
struct SiteRow {
    id: i64,
    account_id: i64,
    name: String,
    url: String,
    is_active: bool,
    created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct KeyRow {
    id: i64,
    site_id: i64,
    prefix: String,
    hash: String,
    label: String,
    created_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct IntegrationRow {
    id: i64,
    site_id: i64,
    platform: String,
    is_active: bool,
    config_json: Value,
    #[sqlx(try_from = "String")]
    sync_status: SyncStatus,
    last_sync_at: Option<DateTime<Utc>>,
    last_error: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    site_url: Option<String>,
    site_url_mismatch: Option<String>,
    site_url_mismatch_at: Option<DateTime<Utc>>,
}

/// A key with what a site's batch checks next: its site's state and the target integration's
/// site and address (`None` where they do not exist).
#[derive(sqlx::FromRow)]
struct BatchTarget {
    #[sqlx(flatten)]
    key: KeyRow,
    site_active: Option<bool>,
    target_site: Option<i64>,
    known_url: Option<String>,
}

fn user(r: UserRow) -> User {
    User {
        id: r.id,
        account_id: r.account_id,
        email: r.email,
        password_hash: r.password_hash,
        created_at: r.created_at,
        session_epoch: r.session_epoch,
    }
}

fn site(r: SiteRow) -> Site {
    Site {
        id: r.id,
        account_id: r.account_id,
        name: r.name,
        url: r.url,
        is_active: r.is_active,
        created_at: r.created_at,
    }
}

fn key(r: KeyRow) -> ApiKey {
    ApiKey {
        id: r.id,
        site_id: r.site_id,
        prefix: r.prefix,
        hash: r.hash,
        label: r.label,
        created_at: r.created_at,
        last_used_at: r.last_used_at,
        revoked_at: r.revoked_at,
    }
}

fn integration(r: IntegrationRow) -> SiteIntegration {
    SiteIntegration {
        id: r.id,
        site_id: r.site_id,
        platform: r.platform,
        is_active: r.is_active,
        config_json: r.config_json,
        sync_status: r.sync_status,
        last_sync_at: r.last_sync_at,
        last_error: r.last_error,
        created_at: r.created_at,
        updated_at: r.updated_at,
        site_url: r.site_url,
        site_url_mismatch: r.site_url_mismatch,
        site_url_mismatch_at: r.site_url_mismatch_at,
    }
}

#[async_trait]
impl Store for PostgresStore {
    /// Replicas starting together are safe: sqlx holds an advisory lock while migrating.
    #[instrument(skip_all)]
    async fn migrate(&self) -> Result<()> {
        sqlx::migrate!("./migrations")
            .run(&self.pool)
            .await
            .map_err(StoreError::driver)
    }

    #[instrument(skip_all)]
    async fn server_secret(&self, name: &str, make: String) -> Result<String> {
        sqlx::query(
            "INSERT INTO server_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(make)
        .execute(&self.pool)
        .await?;
        sqlx::query_scalar("SELECT value FROM server_secrets WHERE name = $1")
            .bind(name)
            .fetch_one(&self.pool)
            .await
            .map_err(StoreError::from)
    }

    #[instrument(skip_all)]
    async fn count_users(&self) -> Result<i64> {
        sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await
            .map_err(StoreError::from)
    }

    #[instrument(skip_all)]
    async fn create_user_with_account(&self, new: NewUser<'_>) -> Result<User> {
        self.insert_user(new, false)
            .await?
            .ok_or_else(|| db("the user was not created"))
    }

    #[instrument(skip_all)]
    async fn create_first_user(&self, new: NewUser<'_>) -> Result<Option<User>> {
        self.insert_user(new, true).await
    }

    #[instrument(skip_all)]
    async fn user_by_email(&self, email: &str) -> Result<Option<User>> {
        let row: Option<UserRow> =
            sqlx::query_as(&format!("SELECT {USER_COLS} FROM users WHERE email = $1"))
                .bind(email)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(user))
    }

    #[instrument(skip_all)]
    async fn user_by_id(&self, id: i64) -> Result<Option<User>> {
        let row: Option<UserRow> =
            sqlx::query_as(&format!("SELECT {USER_COLS} FROM users WHERE id = $1"))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(user))
    }

    #[instrument(skip_all)]
    async fn record_login_attempt(
        &self,
        keys: &[LimitKey<'_>],
        window: std::time::Duration,
        now: DateTime<Utc>,
    ) -> Result<Option<std::time::Duration>> {
        let mut keys: Vec<(String, u32)> = keys
            .iter()
            .map(|k| (login_limit::stored_key(k.key), k.limit))
            .collect();
        // Locks in one order, so two sign-ins sharing keys cannot deadlock.
        keys.sort();
        let now_ms = now.timestamp_millis();
        let since = now_ms - i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
        let mut tx = self.pool.begin().await?;
        let mut wait = None;
        for (key, limit) in &keys {
            // Replicas count one key's attempts one at a time.
            sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
                .bind(key)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM login_attempts WHERE key = $1 AND at_ms <= $2")
                .bind(key)
                .bind(since)
                .execute(&mut *tx)
                .await?;
            let (count, oldest): (i64, Option<i64>) =
                sqlx::query_as("SELECT COUNT(*), MIN(at_ms) FROM login_attempts WHERE key = $1")
                    .bind(key)
                    .fetch_one(&mut *tx)
                    .await?;
            wait = wait.max(login_limit::wait(count, oldest, *limit, window, now_ms));
        }
        if wait.is_none() {
            for (key, _) in &keys {
                sqlx::query("INSERT INTO login_attempts (key, at_ms) VALUES ($1, $2)")
                    .bind(key)
                    .bind(now_ms)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(wait)
    }

    #[instrument(skip_all)]
    async fn end_sessions(&self, user_id: i64) -> Result<i64> {
        sqlx::query_scalar(
            "UPDATE users SET session_epoch = session_epoch + 1 WHERE id = $1 RETURNING session_epoch",
        )
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)
    }

    fn pool_usage(&self) -> Option<igny8_store::PoolUsage> {
        Some(igny8_store::PoolUsage {
            size: self.pool.size(),
            idle: u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX),
        })
    }

    #[instrument(skip_all)]
    async fn rotate_refresh_token(&self, rotation: RefreshRotation<'_>) -> Result<RotationOutcome> {
        let now_ms = rotation.now.timestamp_millis();
        let expires_ms = rotation.expires_at.timestamp_millis();
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM refresh_families WHERE expires_ms <= $1")
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
        if refresh_family::first_of_family(&rotation) {
            // Two first refreshes racing: one inserts, the other waits for it, then finds the row.
            sqlx::query(
                "INSERT INTO refresh_families (family, user_id, current_token, expires_ms)
                 VALUES ($1, $2, $3, $4) ON CONFLICT (family) DO NOTHING",
            )
            .bind(rotation.family)
            .bind(rotation.user_id)
            .bind(rotation.presented)
            .bind(expires_ms)
            .execute(&mut *tx)
            .await?;
        }
        let row: Option<(i64, String, bool)> = sqlx::query_as(
            "SELECT user_id, current_token, ended FROM refresh_families WHERE family = $1 FOR UPDATE",
        )
        .bind(rotation.family)
        .fetch_optional(&mut *tx)
        .await?;
        let row = row.map(|(user_id, current, ended)| refresh_family::FamilyRow {
            user_id,
            current,
            ended,
        });
        let step = refresh_family::decide(row.as_ref(), rotation.presented, rotation.user_id);
        match step {
            Step::Rotate => {
                sqlx::query(
                    "UPDATE refresh_families SET current_token = $1, expires_ms = GREATEST(expires_ms, $2)
                     WHERE family = $3",
                )
                .bind(rotation.next)
                .bind(expires_ms)
                .bind(rotation.family)
                .execute(&mut *tx)
                .await?;
            }
            Step::End => {
                sqlx::query("UPDATE refresh_families SET ended = TRUE WHERE family = $1")
                    .bind(rotation.family)
                    .execute(&mut *tx)
                    .await?;
            }
            Step::Refuse => {}
        }
        tx.commit().await?;
        Ok(step.outcome())
    }

    #[instrument(skip_all)]
    async fn create_site(&self, account_id: i64, name: &str, url: &str) -> Result<Site> {
        let row: SiteRow = sqlx::query_as(&format!(
            "INSERT INTO sites (account_id, name, url, is_active, created_at) VALUES ($1, $2, $3, TRUE, $4) RETURNING {SITE_COLS}"
        ))
        .bind(account_id)
        .bind(name)
        .bind(url)
        .bind(Utc::now())
        .fetch_one(&self.pool)
        .await?;
        Ok(site(row))
    }

    #[instrument(skip_all)]
    async fn site(&self, id: i64) -> Result<Option<Site>> {
        let row: Option<SiteRow> =
            sqlx::query_as(&format!("SELECT {SITE_COLS} FROM sites WHERE id = $1"))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(site))
    }

    #[instrument(skip_all)]
    async fn sites_of_account(&self, account_id: i64) -> Result<Vec<Site>> {
        let rows: Vec<SiteRow> = sqlx::query_as(&format!(
            "SELECT {SITE_COLS} FROM sites WHERE account_id = $1 ORDER BY id"
        ))
        .bind(account_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(site).collect())
    }

    #[instrument(skip_all)]
    async fn set_site_active(&self, id: i64, active: bool) -> Result<Site> {
        let row: Option<SiteRow> = sqlx::query_as(&format!(
            "UPDATE sites SET is_active = $1 WHERE id = $2 RETURNING {SITE_COLS}"
        ))
        .bind(active)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(site).ok_or(StoreError::NotFound)
    }

    #[instrument(skip_all)]
    async fn create_api_key(&self, new: NewApiKeyRow<'_>) -> Result<ApiKey> {
        let row: KeyRow = sqlx::query_as(&format!(
            "INSERT INTO api_keys (site_id, prefix, hash, label, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING {KEY_COLS}"
        ))
        .bind(new.site_id)
        .bind(new.prefix)
        .bind(new.hash)
        .bind(new.label)
        .bind(Utc::now())
        .fetch_one(&self.pool)
        .await
        .map_err(write_err("an API key with this prefix already exists"))?;
        Ok(key(row))
    }

    #[instrument(skip_all)]
    async fn api_key_by_prefix(&self, prefix: &str) -> Result<Option<ApiKey>> {
        let row: Option<KeyRow> = sqlx::query_as(&format!(
            "SELECT {KEY_COLS} FROM api_keys WHERE prefix = $1"
        ))
        .bind(prefix)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(key))
    }

    #[instrument(skip_all)]
    async fn api_keys_of_site(&self, site_id: i64) -> Result<Vec<ApiKey>> {
        let rows: Vec<KeyRow> = sqlx::query_as(&format!(
            "SELECT {KEY_COLS} FROM api_keys WHERE site_id = $1 ORDER BY id"
        ))
        .bind(site_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(key).collect())
    }

    #[instrument(skip_all)]
    async fn revoke_api_key(
        &self,
        site_id: i64,
        prefix: &str,
        at: DateTime<Utc>,
    ) -> Result<ApiKey> {
        let row: Option<KeyRow> = sqlx::query_as(&format!(
            "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $1) WHERE site_id = $2 AND prefix = $3 RETURNING {KEY_COLS}"
        ))
        .bind(at)
        .bind(site_id)
        .bind(prefix)
        .fetch_optional(&self.pool)
        .await?;
        row.map(key).ok_or(StoreError::NotFound)
    }

    #[instrument(skip_all)]
    async fn touch_api_key(&self, id: i64, at: DateTime<Utc>) -> Result<()> {
        sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2")
            .bind(at)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    #[instrument(skip_all)]
    async fn ensure_integration(
        &self,
        site_id: i64,
        platform: &str,
    ) -> Result<(SiteIntegration, bool)> {
        let now = Utc::now();
        let inserted = sqlx::query(
            "INSERT INTO site_integrations (site_id, platform, created_at, updated_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (site_id, platform) DO NOTHING",
        )
        .bind(site_id)
        .bind(platform)
        .bind(now)
        .bind(now)
        .execute(&self.pool)
        .await?
        .rows_affected()
            == 1;
        let row: IntegrationRow = sqlx::query_as(&format!(
            "SELECT {INTEGRATION_COLS} FROM site_integrations WHERE site_id = $1 AND platform = $2"
        ))
        .bind(site_id)
        .bind(platform)
        .fetch_one(&self.pool)
        .await?;
        Ok((integration(row), inserted))
    }

    #[instrument(skip_all)]
    async fn integration(&self, id: i64) -> Result<Option<SiteIntegration>> {
        let row: Option<IntegrationRow> = sqlx::query_as(&format!(
            "SELECT {INTEGRATION_COLS} FROM site_integrations WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(integration))
    }

    #[instrument(skip_all)]
    async fn integrations_of_site(&self, site_id: i64) -> Result<Vec<SiteIntegration>> {
        let rows: Vec<IntegrationRow> = sqlx::query_as(&format!(
            "SELECT {INTEGRATION_COLS} FROM site_integrations WHERE site_id = $1 ORDER BY id"
        ))
        .bind(site_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(integration).collect())
    }

    #[instrument(skip_all)]
    async fn update_integration_config(
        &self,
        id: i64,
        change: ConfigChange<'_>,
    ) -> Result<ConfigUpdate> {
        let mut tx = self.pool.begin().await?;
        // The row lock makes concurrent writers wait their turn and read what the last one wrote.
        let current: Option<Value> = sqlx::query_scalar(
            "SELECT config_json FROM site_integrations WHERE id = $1 FOR UPDATE",
        )
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let next = match change(current.ok_or(StoreError::NotFound)?) {
            Ok(next) => next,
            Err(errors) => return Ok(ConfigUpdate::Rejected(errors)),
        };
        let row: IntegrationRow = sqlx::query_as(&format!(
            "UPDATE site_integrations SET config_json = $1, updated_at = $2 WHERE id = $3 RETURNING {INTEGRATION_COLS}"
        ))
        .bind(next)
        .bind(Utc::now())
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(ConfigUpdate::Updated(integration(row)))
    }

    /// Batched with the pushes that arrive meanwhile (`pushes.rs`).
    #[instrument(skip_all)]
    async fn push_structure(&self, push: StructurePush) -> Result<PushOutcome> {
        self.pushes.push(push).await
    }

    #[instrument(skip_all)]
    async fn adopt_site_url(&self, id: i64, url: &str) -> Result<SiteIntegration> {
        let row: Option<IntegrationRow> = sqlx::query_as(&format!(
            "UPDATE site_integrations SET site_url = COALESCE(site_url, $1) WHERE id = $2
             RETURNING {INTEGRATION_COLS}"
        ))
        .bind(url)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(integration).ok_or(StoreError::NotFound)
    }

    #[instrument(skip_all)]
    async fn move_site_url(&self, id: i64, url: &str) -> Result<SiteIntegration> {
        let row: Option<IntegrationRow> = sqlx::query_as(&format!(
            "UPDATE site_integrations SET site_url = $1, site_url_mismatch = NULL,
                site_url_mismatch_at = NULL, updated_at = $2
             WHERE id = $3 RETURNING {INTEGRATION_COLS}"
        ))
        .bind(url)
        .bind(Utc::now())
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(integration).ok_or(StoreError::NotFound)
    }

    #[instrument(skip_all)]
    async fn record_site_url_mismatch(
        &self,
        id: i64,
        mismatch: Option<(&str, DateTime<Utc>)>,
    ) -> Result<()> {
        let done = sqlx::query(
            "UPDATE site_integrations SET site_url_mismatch = $1, site_url_mismatch_at = $2 WHERE id = $3",
        )
        .bind(mismatch.map(|(url, _)| url))
        .bind(mismatch.map(|(_, at)| at))
        .bind(id)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// One transaction: the checks read, the items applied, then the sync outcome and the key's
    /// use written last, so its rows are locked in the order structure pushes lock them (the
    /// sync state, then the integration, then the key) and the lock on the integration's row is
    /// held only until the commit.
    #[instrument(skip_all, fields(integration_id = write.integration_id, items = write.batch.items.len()))]
    async fn apply_site_batch(&self, write: SiteBatch) -> Result<BatchOutcome> {
        let mut tx = self.batches.begin().await?;
        let found: Option<BatchTarget> = sqlx::query_as(
            "SELECT k.id, k.site_id, k.prefix, k.hash, k.label, k.created_at, k.last_used_at,
                k.revoked_at, s.is_active AS site_active, i.site_id AS target_site,
                i.site_url AS known_url
             FROM api_keys k
             LEFT JOIN sites s ON s.id = k.site_id
             LEFT JOIN site_integrations i ON i.id = $2
             WHERE k.prefix = $1",
        )
        .bind(&write.key_prefix)
        .bind(write.integration_id)
        .fetch_optional(&mut *tx)
        .await?;
        let (found, site_active, target_site, known) = match found {
            Some(t) => (
                Some(key(t.key)),
                t.site_active.unwrap_or(false),
                t.target_site,
                t.known_url,
            ),
            None => (None, false, None, None),
        };
        let target = TargetState {
            integration_site: target_site,
            site_active,
            known_url: known.as_deref(),
        };
        let admission = match write.admit(found.as_ref(), target) {
            Ok(admission) => admission,
            Err(refused) => return Ok(BatchOutcome::Refused(refused)),
        };
        let touch = admission.touch.then_some(admission.key.id);
        let outcome = match admission.verdict {
            Err(refused) => BatchOutcome::Refused(refused),
            Ok(adopted) => {
                let outcomes =
                    content::apply_batch_in(&mut tx, write.integration_id, &write.batch, write.at)
                        .await?;
                let recorded = write.batch.sync_outcome(&outcomes);
                sqlx::query(
                    "UPDATE site_integrations SET sync_status = $1, last_sync_at = $2,
                        last_error = COALESCE($3, last_error), site_url = COALESCE(site_url, $4)
                     WHERE id = $5",
                )
                .bind(recorded.status.as_str())
                .bind(write.at)
                .bind(recorded.error)
                .bind(adopted)
                .bind(write.integration_id)
                .execute(&mut *tx)
                .await?;
                BatchOutcome::Applied(outcomes)
            }
        };
        if let Some(id) = touch {
            sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2")
                .bind(write.at)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        if !self.content_statistics.load(Ordering::Relaxed)
            && content::stored_posts(&outcome, &write.batch)
        {
            content::ensure_statistics(&self.pool, self.content_statistics.clone());
        }
        Ok(outcome)
    }

    #[instrument(skip_all, fields(integration_id = integration_id))]
    async fn prune_content(&self, integration_id: i64, keep: &[TypeBound]) -> Result<u64> {
        content::prune(&self.pool, integration_id, keep).await
    }

    #[instrument(skip_all, fields(integration_id = integration_id))]
    async fn delete_content_ids(
        &self,
        integration_id: i64,
        kind: ItemKind,
        type_name: &str,
        ids: &[i64],
    ) -> Result<u64> {
        content::delete_ids(&self.pool, integration_id, kind, type_name, ids).await
    }

    #[instrument(skip_all, fields(integration_id = integration_id))]
    async fn forget_deletions(
        &self,
        integration_id: i64,
        post_type: &str,
        ids: &[i64],
    ) -> Result<u64> {
        content::forget(&self.pool, integration_id, post_type, ids).await
    }

    #[instrument(skip_all, fields(integration_id = integration_id))]
    async fn list_content(
        &self,
        integration_id: i64,
        filter: ContentFilter<'_>,
        offset: u64,
        limit: u64,
    ) -> Result<ContentPage> {
        content::list(&self.pool, integration_id, filter, offset, limit).await
    }

    #[instrument(skip_all, fields(integration_id = integration_id))]
    async fn content_item(
        &self,
        integration_id: i64,
        post_type: &str,
        wp_id: i64,
    ) -> Result<Option<ContentItem>> {
        content::item(&self.pool, integration_id, post_type, wp_id).await
    }

    #[instrument(skip_all, fields(integration_id = integration_id))]
    async fn terms_of_taxonomy(&self, integration_id: i64, taxonomy: &str) -> Result<Vec<TermRow>> {
        content::terms(&self.pool, integration_id, taxonomy).await
    }

    #[instrument(skip_all, fields(integration_id = integration_id))]
    async fn content_counts(&self, integration_id: i64) -> Result<Vec<TypeCount>> {
        content::counts(&self.pool, integration_id).await
    }

    #[instrument(skip_all, fields(integration_id = integration_id))]
    async fn checksum_buckets(
        &self,
        integration_id: i64,
        kind: ItemKind,
        type_name: &str,
        bucket_size: i64,
    ) -> Result<Vec<Bucket>> {
        content::buckets(&self.pool, integration_id, kind, type_name, bucket_size).await
    }

    #[instrument(skip_all, fields(integration_id = integration_id))]
    async fn item_checksums(
        &self,
        integration_id: i64,
        kind: ItemKind,
        type_name: &str,
        from_id: i64,
        to_id: i64,
    ) -> Result<Vec<(i64, u32)>> {
        content::checksums(&self.pool, integration_id, kind, type_name, from_id, to_id).await
    }

    #[instrument(skip_all, fields(integration_id = integration_id))]
    async fn content_sync_state(&self, integration_id: i64) -> Result<ContentSyncState> {
        content::state(&self.pool, integration_id).await
    }

    #[instrument(skip_all, fields(integration_id = integration_id))]
    async fn update_content_sync_state(
        &self,
        integration_id: i64,
        change: SyncStateChange<'_>,
    ) -> Result<ContentSyncState> {
        content::update_state(&self.pool, integration_id, change).await
    }
    #[instrument(skip_all, fields(integration_id = new.integration_id))]
    async fn create_change(&self, new: NewChange) -> Result<(ChangeRecord, bool)> {
        changes::create(&self.pool, &new).await
    }

    #[instrument(skip_all)]
    async fn change(&self, integration_id: i64, id: i64) -> Result<Option<ChangeRecord>> {
        changes::get(&self.pool, integration_id, id).await
    }

    #[instrument(skip_all)]
    async fn list_changes(
        &self,
        integration_id: i64,
        filter: ChangeFilter<'_>,
        offset: u64,
        limit: u64,
    ) -> Result<(u64, Vec<ChangeRecord>)> {
        changes::list(&self.pool, integration_id, filter, offset, limit).await
    }

    #[instrument(skip_all)]
    async fn deliver_changes(
        &self,
        integration_id: i64,
        limit: u64,
        at: DateTime<Utc>,
    ) -> Result<Vec<ChangeRecord>> {
        changes::deliver(&self.pool, integration_id, limit, at).await
    }

    #[instrument(skip_all)]
    async fn count_pending_changes(&self, integration_id: i64) -> Result<u64> {
        changes::count_pending(&self.pool, integration_id).await
    }

    #[instrument(skip_all)]
    async fn outbox_depth(&self) -> Result<igny8_store::OutboxDepth> {
        changes::outbox_depth(&self.pool).await
    }

    #[instrument(skip_all)]
    async fn cancel_change(
        &self,
        integration_id: i64,
        id: i64,
        at: DateTime<Utc>,
    ) -> Result<ChangeRecord> {
        changes::cancel(&self.pool, integration_id, id, at).await
    }

    #[instrument(skip_all)]
    async fn record_change_outcomes(
        &self,
        integration_id: i64,
        outcomes: &[ChangeOutcome],
        at: DateTime<Utc>,
    ) -> Result<Vec<bool>> {
        changes::record_outcomes(&self.pool, integration_id, outcomes, at).await
    }

    #[instrument(skip_all)]
    async fn resolve_change(
        &self,
        integration_id: i64,
        id: i64,
        resolution: &Resolution,
        next: Option<NewChange>,
    ) -> Result<(ChangeRecord, Option<ChangeRecord>)> {
        changes::resolve(&self.pool, integration_id, id, resolution, next.as_ref()).await
    }

    #[instrument(skip_all)]
    async fn set_change_receiver(
        &self,
        integration_id: i64,
        url: &str,
        secret: &str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        changes::set_receiver(&self.pool, integration_id, url, secret, at).await
    }

    #[instrument(skip_all)]
    async fn change_receiver(&self, integration_id: i64) -> Result<Option<ChangeReceiver>> {
        changes::receiver(&self.pool, integration_id).await
    }

    #[instrument(skip_all)]
    async fn record_nudge(
        &self,
        integration_id: i64,
        at: DateTime<Utc>,
        error: Option<&str>,
    ) -> Result<()> {
        changes::record_nudge(&self.pool, integration_id, at, error).await
    }
}
