//! The `Store` on embedded SQLite: one file in WAL mode, created and migrated on first start.
//! Writers that read-modify-write take the database's write lock up front (`BEGIN IMMEDIATE`).

mod content;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use igny8_domain::checksum::Bucket;
use igny8_domain::content::sync::ContentSyncState;
use igny8_domain::content::{Batch, ItemKind, ItemOutcome};
use igny8_store::{
    ApiKey, ConfigChange, ConfigUpdate, ContentFilter, ContentItem, ContentPage, NewApiKeyRow,
    NewUser, Result, Site, SiteIntegration, Store, StoreError, SyncStateChange, TermRow, TypeBound,
    TypeCount, User,
};
use serde_json::Value;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, SqlitePool};
use tracing::instrument;

pub struct SqliteStore {
    /// Readers: WAL lets them run beside the writer.
    pool: SqlitePool,
    /// One connection for every write, so concurrent writers queue here in arrival order instead
    /// of sleeping in SQLite's busy handler (which polls with growing sleeps and wrecks latency).
    writer: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating when missing) the database at a `sqlite://PATH` URL.
    pub async fn open(url: &str) -> Result<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(db)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(15))
            .foreign_keys(true)
            // A content batch's multi-row statements keep their statement journal in memory.
            .pragma("temp_store", "memory");
        // The writer opens first: it creates the file and switches it to WAL.
        let writer = pool_options()
            .max_connections(1)
            .connect_with(options.clone())
            .await
            .map_err(db)?;
        if url.contains(":memory:") {
            // Every connection to an in-memory database is a database of its own: share one.
            return Ok(Self {
                pool: writer.clone(),
                writer,
            });
        }
        let pool = pool_options()
            .max_connections(8)
            .connect_with(options)
            .await
            .map_err(db)?;
        Ok(Self { pool, writer })
    }
}

/// No ping before each use; but a connection left inside a transaction is closed (SQLite rolls the
/// transaction back) instead of handed out. That happens when a caller goes away at the wrong
/// moment: its future dropped after `BEGIN` reached the connection's worker but before sqlx made a
/// transaction of it (nothing then rolls back), and every later `BEGIN IMMEDIATE` on the one
/// writer connection would fail. The check runs at acquire, when the release's ping has drained
/// the worker's queue, so the depth it reads is settled.
fn pool_options() -> SqlitePoolOptions {
    SqlitePoolOptions::new()
        .test_before_acquire(false)
        .before_acquire(|conn, _| Box::pin(async move { Ok(!conn.is_in_transaction()) }))
}

fn db(e: impl std::fmt::Display) -> StoreError {
    StoreError::Database(e.to_string())
}

/// Maps a unique-constraint violation to `Conflict`, everything else to `Database`.
fn write_err(what: &str) -> impl Fn(sqlx::Error) -> StoreError + '_ {
    move |e| match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            StoreError::Conflict(what.to_owned())
        }
        _ => db(e),
    }
}

type UserRow = (i64, i64, String, String, DateTime<Utc>);
type SiteRow = (i64, i64, String, String, bool, DateTime<Utc>);
type KeyRow = (
    i64,
    i64,
    String,
    String,
    String,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
);
type IntegrationRow = (
    i64,
    i64,
    String,
    bool,
    String,
    String,
    Option<DateTime<Utc>>,
    Option<String>,
    DateTime<Utc>,
    DateTime<Utc>,
);

const USER_COLS: &str = "id, account_id, email, password_hash, created_at";
const SITE_COLS: &str = "id, account_id, name, url, is_active, created_at";
const KEY_COLS: &str = "id, site_id, prefix, hash, label, created_at, last_used_at, revoked_at";
const INTEGRATION_COLS: &str = "id, site_id, platform, is_active, config_json, sync_status, last_sync_at, last_error, created_at, updated_at";

fn user(r: UserRow) -> User {
    User {
        id: r.0,
        account_id: r.1,
        email: r.2,
        password_hash: r.3,
        created_at: r.4,
    }
}

fn site(r: SiteRow) -> Site {
    Site {
        id: r.0,
        account_id: r.1,
        name: r.2,
        url: r.3,
        is_active: r.4,
        created_at: r.5,
    }
}

fn key(r: KeyRow) -> ApiKey {
    ApiKey {
        id: r.0,
        site_id: r.1,
        prefix: r.2,
        hash: r.3,
        label: r.4,
        created_at: r.5,
        last_used_at: r.6,
        revoked_at: r.7,
    }
}

fn integration(r: IntegrationRow) -> Result<SiteIntegration> {
    Ok(SiteIntegration {
        id: r.0,
        site_id: r.1,
        platform: r.2,
        is_active: r.3,
        config_json: serde_json::from_str(&r.4).map_err(db)?,
        sync_status: r.5,
        last_sync_at: r.6,
        last_error: r.7,
        created_at: r.8,
        updated_at: r.9,
    })
}

#[async_trait]
impl Store for SqliteStore {
    #[instrument(skip_all)]
    async fn migrate(&self) -> Result<()> {
        sqlx::migrate!("./migrations")
            .run(&self.writer)
            .await
            .map_err(db)
    }

    #[instrument(skip_all)]
    async fn server_secret(&self, name: &str, make: String) -> Result<String> {
        sqlx::query(
            "INSERT INTO server_secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(make)
        .execute(&self.writer)
        .await
        .map_err(db)?;
        sqlx::query_scalar("SELECT value FROM server_secrets WHERE name = ?")
            .bind(name)
            .fetch_one(&self.writer)
            .await
            .map_err(db)
    }

    #[instrument(skip_all)]
    async fn count_users(&self) -> Result<i64> {
        sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await
            .map_err(db)
    }

    #[instrument(skip_all)]
    async fn create_user_with_account(&self, new: NewUser<'_>) -> Result<User> {
        let now = Utc::now();
        let mut tx = self
            .writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db)?;
        let account_id: i64 = sqlx::query_scalar(
            "INSERT INTO accounts (name, created_at) VALUES (?, ?) RETURNING id",
        )
        .bind(new.account_name)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
        let row: UserRow = sqlx::query_as(&format!(
            "INSERT INTO users (account_id, email, password_hash, created_at) VALUES (?, ?, ?, ?) RETURNING {USER_COLS}"
        ))
        .bind(account_id)
        .bind(new.email)
        .bind(new.password_hash)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(write_err("a user with this email already exists"))?;
        tx.commit().await.map_err(db)?;
        Ok(user(row))
    }

    #[instrument(skip_all)]
    async fn user_by_email(&self, email: &str) -> Result<Option<User>> {
        let row: Option<UserRow> =
            sqlx::query_as(&format!("SELECT {USER_COLS} FROM users WHERE email = ?"))
                .bind(email)
                .fetch_optional(&self.pool)
                .await
                .map_err(db)?;
        Ok(row.map(user))
    }

    #[instrument(skip_all)]
    async fn user_by_id(&self, id: i64) -> Result<Option<User>> {
        let row: Option<UserRow> =
            sqlx::query_as(&format!("SELECT {USER_COLS} FROM users WHERE id = ?"))
                .bind(id)
                .fetch_optional(&self.pool)
                .await
                .map_err(db)?;
        Ok(row.map(user))
    }

    #[instrument(skip_all)]
    async fn create_site(&self, account_id: i64, name: &str, url: &str) -> Result<Site> {
        let row: SiteRow = sqlx::query_as(&format!(
            "INSERT INTO sites (account_id, name, url, is_active, created_at) VALUES (?, ?, ?, 1, ?) RETURNING {SITE_COLS}"
        ))
        .bind(account_id)
        .bind(name)
        .bind(url)
        .bind(Utc::now())
        .fetch_one(&self.writer)
        .await
        .map_err(db)?;
        Ok(site(row))
    }

    #[instrument(skip_all)]
    async fn site(&self, id: i64) -> Result<Option<Site>> {
        let row: Option<SiteRow> =
            sqlx::query_as(&format!("SELECT {SITE_COLS} FROM sites WHERE id = ?"))
                .bind(id)
                .fetch_optional(&self.pool)
                .await
                .map_err(db)?;
        Ok(row.map(site))
    }

    #[instrument(skip_all)]
    async fn sites_of_account(&self, account_id: i64) -> Result<Vec<Site>> {
        let rows: Vec<SiteRow> = sqlx::query_as(&format!(
            "SELECT {SITE_COLS} FROM sites WHERE account_id = ? ORDER BY id"
        ))
        .bind(account_id)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        Ok(rows.into_iter().map(site).collect())
    }

    #[instrument(skip_all)]
    async fn set_site_active(&self, id: i64, active: bool) -> Result<Site> {
        let row: Option<SiteRow> = sqlx::query_as(&format!(
            "UPDATE sites SET is_active = ? WHERE id = ? RETURNING {SITE_COLS}"
        ))
        .bind(active)
        .bind(id)
        .fetch_optional(&self.writer)
        .await
        .map_err(db)?;
        row.map(site).ok_or(StoreError::NotFound)
    }

    #[instrument(skip_all)]
    async fn create_api_key(&self, new: NewApiKeyRow<'_>) -> Result<ApiKey> {
        let row: KeyRow = sqlx::query_as(&format!(
            "INSERT INTO api_keys (site_id, prefix, hash, label, created_at) VALUES (?, ?, ?, ?, ?) RETURNING {KEY_COLS}"
        ))
        .bind(new.site_id)
        .bind(new.prefix)
        .bind(new.hash)
        .bind(new.label)
        .bind(Utc::now())
        .fetch_one(&self.writer)
        .await
        .map_err(write_err("an API key with this prefix already exists"))?;
        Ok(key(row))
    }

    #[instrument(skip_all)]
    async fn api_key_by_prefix(&self, prefix: &str) -> Result<Option<ApiKey>> {
        let row: Option<KeyRow> =
            sqlx::query_as(&format!("SELECT {KEY_COLS} FROM api_keys WHERE prefix = ?"))
                .bind(prefix)
                .fetch_optional(&self.pool)
                .await
                .map_err(db)?;
        Ok(row.map(key))
    }

    #[instrument(skip_all)]
    async fn api_keys_of_site(&self, site_id: i64) -> Result<Vec<ApiKey>> {
        let rows: Vec<KeyRow> = sqlx::query_as(&format!(
            "SELECT {KEY_COLS} FROM api_keys WHERE site_id = ? ORDER BY id"
        ))
        .bind(site_id)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
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
            "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE site_id = ? AND prefix = ? RETURNING {KEY_COLS}"
        ))
        .bind(at)
        .bind(site_id)
        .bind(prefix)
        .fetch_optional(&self.writer)
        .await
        .map_err(db)?;
        row.map(key).ok_or(StoreError::NotFound)
    }

    #[instrument(skip_all)]
    async fn touch_api_key(&self, id: i64, at: DateTime<Utc>) -> Result<()> {
        sqlx::query("UPDATE api_keys SET last_used_at = ? WHERE id = ?")
            .bind(at)
            .bind(id)
            .execute(&self.writer)
            .await
            .map_err(db)?;
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
            "INSERT INTO site_integrations (site_id, platform, created_at, updated_at) VALUES (?, ?, ?, ?)
             ON CONFLICT (site_id, platform) DO NOTHING",
        )
        .bind(site_id)
        .bind(platform)
        .bind(now)
        .bind(now)
        .execute(&self.writer)
        .await
        .map_err(db)?
        .rows_affected()
            == 1;
        let row: IntegrationRow = sqlx::query_as(&format!(
            "SELECT {INTEGRATION_COLS} FROM site_integrations WHERE site_id = ? AND platform = ?"
        ))
        .bind(site_id)
        .bind(platform)
        .fetch_one(&self.writer)
        .await
        .map_err(db)?;
        Ok((integration(row)?, inserted))
    }

    #[instrument(skip_all)]
    async fn integration(&self, id: i64) -> Result<Option<SiteIntegration>> {
        let row: Option<IntegrationRow> = sqlx::query_as(&format!(
            "SELECT {INTEGRATION_COLS} FROM site_integrations WHERE id = ?"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        row.map(integration).transpose()
    }

    #[instrument(skip_all)]
    async fn integrations_of_site(&self, site_id: i64) -> Result<Vec<SiteIntegration>> {
        let rows: Vec<IntegrationRow> = sqlx::query_as(&format!(
            "SELECT {INTEGRATION_COLS} FROM site_integrations WHERE site_id = ? ORDER BY id"
        ))
        .bind(site_id)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.into_iter().map(integration).collect()
    }

    #[instrument(skip_all)]
    async fn update_integration_config(
        &self,
        id: i64,
        change: ConfigChange<'_>,
    ) -> Result<ConfigUpdate> {
        let mut tx = self
            .writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db)?;
        let current: Option<String> =
            sqlx::query_scalar("SELECT config_json FROM site_integrations WHERE id = ?")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?;
        let current: Value =
            serde_json::from_str(&current.ok_or(StoreError::NotFound)?).map_err(db)?;
        let next = match change(current) {
            Ok(next) => next,
            Err(errors) => return Ok(ConfigUpdate::Rejected(errors)),
        };
        let row: IntegrationRow = sqlx::query_as(&format!(
            "UPDATE site_integrations SET config_json = ?, updated_at = ? WHERE id = ? RETURNING {INTEGRATION_COLS}"
        ))
        .bind(next.to_string())
        .bind(Utc::now())
        .bind(id)
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(ConfigUpdate::Updated(integration(row)?))
    }

    #[instrument(skip_all)]
    async fn record_integration_sync(
        &self,
        id: i64,
        status: &str,
        at: DateTime<Utc>,
        error: Option<&str>,
    ) -> Result<()> {
        let done = sqlx::query(
            "UPDATE site_integrations SET sync_status = ?, last_sync_at = ?, last_error = ? WHERE id = ?",
        )
        .bind(status)
        .bind(at)
        .bind(error)
        .bind(id)
        .execute(&self.writer)
        .await
        .map_err(db)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    #[instrument(skip_all, fields(integration_id = integration_id, items = batch.items.len()))]
    async fn apply_content_batch(
        &self,
        integration_id: i64,
        batch: &Batch,
        at: DateTime<Utc>,
    ) -> Result<Vec<ItemOutcome>> {
        content::apply_batch(&self.writer, integration_id, batch, at).await
    }

    #[instrument(skip_all, fields(integration_id = integration_id))]
    async fn prune_content(&self, integration_id: i64, keep: &[TypeBound]) -> Result<u64> {
        content::prune(&self.writer, integration_id, keep).await
    }

    #[instrument(skip_all, fields(integration_id = integration_id))]
    async fn delete_content_ids(
        &self,
        integration_id: i64,
        kind: ItemKind,
        type_name: &str,
        ids: &[i64],
    ) -> Result<u64> {
        content::delete_ids(&self.writer, integration_id, kind, type_name, ids).await
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
        content::update_state(&self.writer, integration_id, change).await
    }
}
