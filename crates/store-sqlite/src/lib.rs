//! The `Store` on embedded SQLite: one file in WAL mode, created and migrated on first start.
//! Reads run on a pool of reader connections; every write goes to one writer thread that commits
//! the writes queued meanwhile as one group (`conn.rs`). Read-modify-writes whose change is a
//! caller's closure (`config_json`, the sync state) read, change, then write only if the row is
//! still what was read, retrying otherwise.

pub mod backup;
mod changes;
mod conn;
mod content;
mod migrate;

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
    PushOutcome, PushRefusal, Result, Site, SiteBatch, SiteIntegration, SiteKeyWrite, Store,
    StoreError, StructurePush, SyncStateChange, TargetState, TermRow, TypeBound, TypeCount, User,
};
use rusqlite::{params, OptionalExtension, Row};
use tracing::instrument;

use conn::{at, db, opt_at, time, write_err, Db, Location};

/// A write with a site's key, past its checks (`SiteKeyWrite`): what the integration's address
/// becomes (`Some` when it takes the reported one) and its config's text.
struct Admitted {
    adopted: Option<String>,
    config: Option<String>,
}

/// Checks a write with a site's key inside the writer's transaction: the key, its site's state and
/// the target integration read in one statement and judged by `SiteKeyWrite::admit`, the key's use
/// recorded when due. `Err` is the refusal (nothing but the key's use written).
fn admit(
    c: &rusqlite::Connection,
    write: &impl SiteKeyWrite,
) -> Result<std::result::Result<Admitted, PushRefusal>> {
    // No key with the prefix: no key, no target.
    let (found, site_active, integration_site, config, known) = c
        .prepare_cached(&format!(
            "SELECT {KEY_COLS},
                (SELECT is_active FROM sites WHERE sites.id = api_keys.site_id),
                (SELECT site_id FROM site_integrations WHERE id = ?2),
                (SELECT config_json FROM site_integrations WHERE id = ?2),
                (SELECT site_url FROM site_integrations WHERE id = ?2)
             FROM api_keys WHERE prefix = ?1"
        ))
        .and_then(|mut q| {
            q.query_row(params![write.key_prefix(), write.integration_id()], |r| {
                let site_active: Option<bool> = r.get(8)?;
                let target: Option<i64> = r.get(9)?;
                let config: Option<String> = r.get(10)?;
                let known: Option<String> = r.get(11)?;
                Ok((
                    Some(key(r)?),
                    site_active.unwrap_or(false),
                    target,
                    config,
                    known,
                ))
            })
            .optional()
        })?
        .unwrap_or_default();
    let target = TargetState {
        integration_site,
        site_active,
        known_url: known.as_deref(),
    };
    let admission = match write.admit(found.as_ref(), target) {
        Ok(admission) => admission,
        Err(refused) => return Ok(Err(refused)),
    };
    if admission.touch {
        c.prepare_cached("UPDATE api_keys SET last_used_at = ? WHERE id = ?")
            .and_then(|mut q| q.execute(params![time(write.at()), admission.key.id]))?;
    }
    Ok(admission.verdict.map(|adopted| Admitted {
        adopted: adopted.map(str::to_owned),
        config,
    }))
}

/// `apply_site_batch` on the writer's connection.
fn site_batch(
    c: &rusqlite::Connection,
    write: &SiteBatch,
    prepared: &content::PreparedBatch,
) -> Result<BatchOutcome> {
    let admitted = match admit(c, write)? {
        Ok(admitted) => admitted,
        Err(refused) => return Ok(BatchOutcome::Refused(refused)),
    };
    let (now, adopted) = (time(write.at), admitted.adopted);
    let outcomes = content::apply_batch(c, write.integration_id, prepared)?;
    let recorded = write.batch.sync_outcome(&outcomes);
    c.prepare_cached(
        "UPDATE site_integrations SET sync_status = ?, last_sync_at = ?,
            last_error = COALESCE(?, last_error), site_url = COALESCE(site_url, ?)
         WHERE id = ?",
    )
    .and_then(|mut q| {
        q.execute(params![
            recorded.status.as_str(),
            now,
            recorded.error,
            adopted,
            write.integration_id
        ])
    })?;
    Ok(BatchOutcome::Applied(outcomes))
}

pub struct SqliteStore {
    db: Db,
}

impl SqliteStore {
    /// Opens (creating when missing) the database at a `sqlite://PATH` URL.
    pub async fn open(url: &str) -> Result<Self> {
        Ok(Self {
            db: Db::open(Location::parse(url)?)?,
        })
    }

    /// An account and its first user; with `only_first`, only while there is no user at all (the
    /// writer's `BEGIN IMMEDIATE` makes the check and the insert one step for every process).
    async fn insert_user(&self, new: NewUser<'_>, only_first: bool) -> Result<Option<User>> {
        let (email, hash, account) = (
            new.email.to_owned(),
            new.password_hash.to_owned(),
            new.account_name.to_owned(),
        );
        let now = time(Utc::now());
        self.db
            .write(move |c| {
                if only_first {
                    let any: bool = c
                        .query_row("SELECT EXISTS (SELECT 1 FROM users)", [], |r| r.get(0))?;
                    if any {
                        return Ok(None);
                    }
                }
                let account_id: i64 = c
                    .query_row(
                        "INSERT INTO accounts (name, created_at) VALUES (?, ?) RETURNING id",
                        params![account, now],
                        |r| r.get(0),
                    )?;
                c.query_row(
                    &format!("INSERT INTO users (account_id, email, password_hash, created_at) VALUES (?, ?, ?, ?) RETURNING {USER_COLS}"),
                    params![account_id, email, hash, now],
                    user,
                )
                .map(Some)
                .map_err(write_err("a user with this email already exists"))
            })
            .await
    }
}

fn user(r: &Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: r.get(0)?,
        account_id: r.get(1)?,
        email: r.get(2)?,
        password_hash: r.get(3)?,
        created_at: at(r, 4)?,
        session_epoch: r.get(5)?,
    })
}

fn site(r: &Row<'_>) -> rusqlite::Result<Site> {
    Ok(Site {
        id: r.get(0)?,
        account_id: r.get(1)?,
        name: r.get(2)?,
        url: r.get(3)?,
        is_active: r.get(4)?,
        created_at: at(r, 5)?,
    })
}

fn key(r: &Row<'_>) -> rusqlite::Result<ApiKey> {
    Ok(ApiKey {
        id: r.get(0)?,
        site_id: r.get(1)?,
        prefix: r.get(2)?,
        hash: r.get(3)?,
        label: r.get(4)?,
        created_at: at(r, 5)?,
        last_used_at: opt_at(r, 6)?,
        revoked_at: opt_at(r, 7)?,
    })
}

fn integration(r: &Row<'_>) -> rusqlite::Result<SiteIntegration> {
    let config: String = r.get(4)?;
    Ok(SiteIntegration {
        id: r.get(0)?,
        site_id: r.get(1)?,
        platform: r.get(2)?,
        is_active: r.get(3)?,
        config_json: serde_json::from_str(&config).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(4, rusqlite::types::Type::Text, Box::new(e))
        })?,
        sync_status: SyncStatus::try_from(r.get::<_, String>(5)?).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(5, rusqlite::types::Type::Text, Box::new(e))
        })?,
        last_sync_at: opt_at(r, 6)?,
        last_error: r.get(7)?,
        created_at: at(r, 8)?,
        updated_at: at(r, 9)?,
        site_url: r.get(10)?,
        site_url_mismatch: r.get(11)?,
        site_url_mismatch_at: opt_at(r, 12)?,
    })
}

/// How many times a read-modify-write re-reads a row another writer changed meanwhile.
const MAX_RETRIES: usize = 1_000;

#[async_trait]
impl Store for SqliteStore {
    #[instrument(skip_all)]
    async fn migrate(&self) -> Result<()> {
        self.db.write(migrate::run).await
    }

    #[instrument(skip_all)]
    async fn server_secret(&self, name: &str, make: String) -> Result<String> {
        let name = name.to_owned();
        self.db
            .write(move |c| {
                c.execute(
                    "INSERT INTO server_secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
                    params![name, make],
                )?;
                c.query_row(
                    "SELECT value FROM server_secrets WHERE name = ?",
                    [&name],
                    |r| r.get(0),
                )
                .map_err(StoreError::from)
            })
            .await
    }

    #[instrument(skip_all)]
    async fn count_users(&self) -> Result<i64> {
        self.db
            .read_now(|c| {
                c.query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0))
                    .map_err(StoreError::from)
            })
            .await
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
        let email = email.to_owned();
        self.db
            .read_now(move |c| {
                c.prepare_cached(&format!("SELECT {USER_COLS} FROM users WHERE email = ?"))
                    .and_then(|mut q| q.query_row([&email], user).optional())
                    .map_err(StoreError::from)
            })
            .await
    }

    #[instrument(skip_all)]
    async fn user_by_id(&self, id: i64) -> Result<Option<User>> {
        self.db
            .read_now(move |c| {
                c.prepare_cached(&format!("SELECT {USER_COLS} FROM users WHERE id = ?"))
                    .and_then(|mut q| q.query_row([id], user).optional())
                    .map_err(StoreError::from)
            })
            .await
    }

    #[instrument(skip_all)]
    async fn record_login_attempt(
        &self,
        keys: &[LimitKey<'_>],
        window: std::time::Duration,
        now: DateTime<Utc>,
    ) -> Result<Option<std::time::Duration>> {
        let keys: Vec<(String, u32)> = keys
            .iter()
            .map(|k| (login_limit::stored_key(k.key), k.limit))
            .collect();
        let now_ms = now.timestamp_millis();
        let since = now_ms - i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
        self.db
            .write(move |c| {
                let mut wait = None;
                for (key, limit) in &keys {
                    c.prepare_cached("DELETE FROM login_attempts WHERE key = ? AND at_ms <= ?")
                        .and_then(|mut q| q.execute(params![key, since]))?;
                    let (count, oldest): (i64, Option<i64>) = c
                        .prepare_cached(
                            "SELECT COUNT(*), MIN(at_ms) FROM login_attempts WHERE key = ?",
                        )
                        .and_then(|mut q| q.query_row([key], |r| Ok((r.get(0)?, r.get(1)?))))?;
                    wait = wait.max(login_limit::wait(count, oldest, *limit, window, now_ms));
                }
                if wait.is_none() {
                    for (key, _) in &keys {
                        c.prepare_cached("INSERT INTO login_attempts (key, at_ms) VALUES (?, ?)")
                            .and_then(|mut q| q.execute(params![key, now_ms]))?;
                    }
                }
                Ok(wait)
            })
            .await
    }

    #[instrument(skip_all)]
    async fn end_sessions(&self, user_id: i64) -> Result<i64> {
        self.db
            .write(move |c| {
                c.query_row(
                    "UPDATE users SET session_epoch = session_epoch + 1 WHERE id = ? RETURNING session_epoch",
                    [user_id],
                    |r| r.get(0),
                )
                .optional()?
                .ok_or(StoreError::NotFound)
            })
            .await
    }

    #[instrument(skip_all)]
    async fn rotate_refresh_token(&self, rotation: RefreshRotation<'_>) -> Result<RotationOutcome> {
        let first = refresh_family::first_of_family(&rotation);
        let (family, presented, next) = (
            rotation.family.to_owned(),
            rotation.presented.to_owned(),
            rotation.next.to_owned(),
        );
        let (user_id, expires_ms, now_ms) = (
            rotation.user_id,
            rotation.expires_at.timestamp_millis(),
            rotation.now.timestamp_millis(),
        );
        self.db
            .write(move |c| {
                c.prepare_cached("DELETE FROM refresh_families WHERE expires_ms <= ?")
                    .and_then(|mut q| q.execute([now_ms]))?;
                if first {
                    c.prepare_cached(
                        "INSERT INTO refresh_families (family, user_id, current_token, expires_ms)
                         VALUES (?, ?, ?, ?) ON CONFLICT (family) DO NOTHING",
                    )
                    .and_then(|mut q| q.execute(params![family, user_id, presented, expires_ms]))?;
                }
                let row = c
                    .prepare_cached(
                        "SELECT user_id, current_token, ended FROM refresh_families WHERE family = ?",
                    )
                    .and_then(|mut q| {
                        q.query_row([&family], |r| {
                            Ok(refresh_family::FamilyRow {
                                user_id: r.get(0)?,
                                current: r.get(1)?,
                                ended: r.get(2)?,
                            })
                        })
                        .optional()
                    })?;
                let step = refresh_family::decide(row.as_ref(), &presented, user_id);
                match step {
                    Step::Rotate => c
                        .prepare_cached(
                            "UPDATE refresh_families SET current_token = ?, expires_ms = MAX(expires_ms, ?)
                             WHERE family = ?",
                        )
                        .and_then(|mut q| q.execute(params![next, expires_ms, family])),
                    Step::End => c
                        .prepare_cached("UPDATE refresh_families SET ended = TRUE WHERE family = ?")
                        .and_then(|mut q| q.execute([&family])),
                    Step::Refuse => Ok(0),
                }?;
                Ok(step.outcome())
            })
            .await
    }

    #[instrument(skip_all)]
    async fn create_site(&self, account_id: i64, name: &str, url: &str) -> Result<Site> {
        let (name, url, now) = (name.to_owned(), url.to_owned(), time(Utc::now()));
        self.db
            .write(move |c| {
                c.query_row(
                    &format!("INSERT INTO sites (account_id, name, url, is_active, created_at) VALUES (?, ?, ?, 1, ?) RETURNING {SITE_COLS}"),
                    params![account_id, name, url, now],
                    site,
                )
                .map_err(StoreError::from)
            })
            .await
    }

    #[instrument(skip_all)]
    async fn site(&self, id: i64) -> Result<Option<Site>> {
        self.db
            .read_now(move |c| {
                c.prepare_cached(&format!("SELECT {SITE_COLS} FROM sites WHERE id = ?"))
                    .and_then(|mut q| q.query_row([id], site).optional())
                    .map_err(StoreError::from)
            })
            .await
    }

    #[instrument(skip_all)]
    async fn sites_of_account(&self, account_id: i64) -> Result<Vec<Site>> {
        self.db
            .read(move |c| {
                c.prepare_cached(&format!(
                    "SELECT {SITE_COLS} FROM sites WHERE account_id = ? ORDER BY id"
                ))
                .and_then(|mut q| q.query_map([account_id], site)?.collect())
                .map_err(StoreError::from)
            })
            .await
    }

    #[instrument(skip_all)]
    async fn set_site_active(&self, id: i64, active: bool) -> Result<Site> {
        self.db
            .write(move |c| {
                c.query_row(
                    &format!("UPDATE sites SET is_active = ? WHERE id = ? RETURNING {SITE_COLS}"),
                    params![active, id],
                    site,
                )
                .optional()?
                .ok_or(StoreError::NotFound)
            })
            .await
    }

    #[instrument(skip_all)]
    async fn create_api_key(&self, new: NewApiKeyRow<'_>) -> Result<ApiKey> {
        let (site_id, prefix, hash, label) = (
            new.site_id,
            new.prefix.to_owned(),
            new.hash.to_owned(),
            new.label.to_owned(),
        );
        let now = time(Utc::now());
        self.db
            .write(move |c| {
                c.query_row(
                    &format!("INSERT INTO api_keys (site_id, prefix, hash, label, created_at) VALUES (?, ?, ?, ?, ?) RETURNING {KEY_COLS}"),
                    params![site_id, prefix, hash, label, now],
                    key,
                )
                .map_err(write_err("an API key with this prefix already exists"))
            })
            .await
    }

    #[instrument(skip_all)]
    async fn api_key_by_prefix(&self, prefix: &str) -> Result<Option<ApiKey>> {
        let prefix = prefix.to_owned();
        self.db
            .read_now(move |c| {
                c.prepare_cached(&format!("SELECT {KEY_COLS} FROM api_keys WHERE prefix = ?"))
                    .and_then(|mut q| q.query_row([&prefix], key).optional())
                    .map_err(StoreError::from)
            })
            .await
    }

    #[instrument(skip_all)]
    async fn api_keys_of_site(&self, site_id: i64) -> Result<Vec<ApiKey>> {
        self.db
            .read(move |c| {
                c.prepare_cached(&format!(
                    "SELECT {KEY_COLS} FROM api_keys WHERE site_id = ? ORDER BY id"
                ))
                .and_then(|mut q| q.query_map([site_id], key)?.collect())
                .map_err(StoreError::from)
            })
            .await
    }

    #[instrument(skip_all)]
    async fn revoke_api_key(
        &self,
        site_id: i64,
        prefix: &str,
        at: DateTime<Utc>,
    ) -> Result<ApiKey> {
        let (prefix, at) = (prefix.to_owned(), time(at));
        self.db
            .write(move |c| {
                c.query_row(
                    &format!("UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE site_id = ? AND prefix = ? RETURNING {KEY_COLS}"),
                    params![at, site_id, prefix],
                    key,
                )
                .optional()?
                .ok_or(StoreError::NotFound)
            })
            .await
    }

    #[instrument(skip_all)]
    async fn touch_api_key(&self, id: i64, at: DateTime<Utc>) -> Result<()> {
        let at = time(at);
        self.db
            .write(move |c| {
                c.prepare_cached("UPDATE api_keys SET last_used_at = ? WHERE id = ?")
                    .and_then(|mut q| q.execute(params![at, id]))?;
                Ok(())
            })
            .await
    }

    #[instrument(skip_all)]
    async fn ensure_integration(
        &self,
        site_id: i64,
        platform: &str,
    ) -> Result<(SiteIntegration, bool)> {
        let (platform, now) = (platform.to_owned(), time(Utc::now()));
        self.db
            .write(move |c| {
                let inserted = c
                    .execute(
                        "INSERT INTO site_integrations (site_id, platform, created_at, updated_at) VALUES (?, ?, ?, ?)
                         ON CONFLICT (site_id, platform) DO NOTHING",
                        params![site_id, platform, now, now],
                    )?
                    == 1;
                let row = c
                    .query_row(
                        &format!("SELECT {INTEGRATION_COLS} FROM site_integrations WHERE site_id = ? AND platform = ?"),
                        params![site_id, platform],
                        integration,
                    )?;
                Ok((row, inserted))
            })
            .await
    }

    #[instrument(skip_all)]
    async fn integration(&self, id: i64) -> Result<Option<SiteIntegration>> {
        self.db
            .read_now(move |c| {
                c.prepare_cached(&format!(
                    "SELECT {INTEGRATION_COLS} FROM site_integrations WHERE id = ?"
                ))
                .and_then(|mut q| q.query_row([id], integration).optional())
                .map_err(StoreError::from)
            })
            .await
    }

    #[instrument(skip_all)]
    async fn integrations_of_site(&self, site_id: i64) -> Result<Vec<SiteIntegration>> {
        self.db
            .read(move |c| {
                c.prepare_cached(&format!(
                    "SELECT {INTEGRATION_COLS} FROM site_integrations WHERE site_id = ? ORDER BY id"
                ))
                .and_then(|mut q| q.query_map([site_id], integration)?.collect())
                .map_err(StoreError::from)
            })
            .await
    }

    #[instrument(skip_all)]
    async fn update_integration_config(
        &self,
        id: i64,
        change: ConfigChange<'_>,
    ) -> Result<ConfigUpdate> {
        for _ in 0..MAX_RETRIES {
            let read: Option<String> = self
                .db
                .read_now(move |c| {
                    c.prepare_cached("SELECT config_json FROM site_integrations WHERE id = ?")
                        .and_then(|mut q| q.query_row([id], |r| r.get(0)).optional())
                        .map_err(StoreError::from)
                })
                .await?;
            let read = read.ok_or(StoreError::NotFound)?;
            let next = match change(serde_json::from_str(&read)?) {
                Ok(next) => next.to_string(),
                Err(errors) => return Ok(ConfigUpdate::Rejected(errors)),
            };
            let now = time(Utc::now());
            let written = self
                .db
                .write(move |c| {
                    c.prepare_cached(&format!(
                        "UPDATE site_integrations SET config_json = ?, updated_at = ?
                         WHERE id = ? AND config_json = ? RETURNING {INTEGRATION_COLS}"
                    ))
                    .and_then(|mut q| {
                        q.query_row(params![next, now, id, read], integration)
                            .optional()
                    })
                    .map_err(StoreError::from)
                })
                .await?;
            if let Some(updated) = written {
                return Ok(ConfigUpdate::Updated(updated));
            }
        }
        Err(StoreError::Conflict(
            "config_json kept changing under this update".into(),
        ))
    }

    /// The whole push is one job of the writer: its reads see the group's open transaction (no
    /// read transaction of their own, the writer's page cache warm), and nothing can change
    /// between the checks and the write.
    #[instrument(skip_all)]
    async fn push_structure(&self, push: StructurePush) -> Result<PushOutcome> {
        self.db
            .write(move |c| {
                let Admitted { adopted, config } = match admit(c, &push)? {
                    Ok(admitted) => admitted,
                    Err(refused) => return Ok(PushOutcome::Refused(refused)),
                };
                let now = time(push.at);
                let config = config.ok_or(StoreError::NotFound)?;
                let (next, content_types) = push.apply_to_text(&config)?;
                c.prepare_cached(
                    "UPDATE site_integrations SET config_json = ?, updated_at = ?, site_url = COALESCE(site_url, ?)
                     WHERE id = ?",
                )
                .and_then(|mut q| q.execute(params![next, now, adopted, push.integration_id]))?;
                let sync = content::load_state(c, push.integration_id)?.0;
                Ok(PushOutcome::Applied {
                    content_types,
                    sync,
                })
            })
            .await
    }

    #[instrument(skip_all)]
    async fn adopt_site_url(&self, id: i64, url: &str) -> Result<SiteIntegration> {
        let url = url.to_owned();
        self.db
            .write(move |c| {
                c.prepare_cached(&format!(
                    "UPDATE site_integrations SET site_url = COALESCE(site_url, ?) WHERE id = ?
                     RETURNING {INTEGRATION_COLS}"
                ))
                .and_then(|mut q| q.query_row(params![url, id], integration).optional())?
                .ok_or(StoreError::NotFound)
            })
            .await
    }

    #[instrument(skip_all)]
    async fn move_site_url(&self, id: i64, url: &str) -> Result<SiteIntegration> {
        let (url, now) = (url.to_owned(), time(Utc::now()));
        self.db
            .write(move |c| {
                c.prepare_cached(&format!(
                    "UPDATE site_integrations SET site_url = ?, site_url_mismatch = NULL,
                        site_url_mismatch_at = NULL, updated_at = ?
                     WHERE id = ? RETURNING {INTEGRATION_COLS}"
                ))
                .and_then(|mut q| q.query_row(params![url, now, id], integration).optional())?
                .ok_or(StoreError::NotFound)
            })
            .await
    }

    #[instrument(skip_all)]
    async fn record_site_url_mismatch(
        &self,
        id: i64,
        mismatch: Option<(&str, DateTime<Utc>)>,
    ) -> Result<()> {
        let (url, at) = match mismatch {
            Some((url, at)) => (Some(url.to_owned()), Some(time(at))),
            None => (None, None),
        };
        self.db
            .write(move |c| {
                let done = c
                    .prepare_cached(
                        "UPDATE site_integrations SET site_url_mismatch = ?, site_url_mismatch_at = ?
                         WHERE id = ?",
                    )
                    .and_then(|mut q| q.execute(params![url, at, id]))?;
                if done == 0 {
                    return Err(StoreError::NotFound);
                }
                Ok(())
            })
            .await
    }

    /// One job of the writer, as a structure push is: the checks read inside the group's open
    /// transaction, then the items, then the sync outcome; checksums and JSON text computed here,
    /// beside the request, not on the one writer.
    #[instrument(skip_all, fields(integration_id = write.integration_id, items = write.batch.items.len()))]
    async fn apply_site_batch(&self, write: SiteBatch) -> Result<BatchOutcome> {
        let prepared = content::PreparedBatch::new(write.batch.clone(), write.at);
        let (outcome, prepared) = self
            .db
            .write(move |c| {
                let outcome = site_batch(c, &write, &prepared)?;
                Ok((outcome, prepared))
            })
            .await?;
        // Freed here rather than on the writer's thread.
        drop(prepared);
        Ok(outcome)
    }

    #[instrument(skip_all, fields(integration_id = integration_id))]
    async fn prune_content(&self, integration_id: i64, keep: &[TypeBound]) -> Result<u64> {
        let keep = keep.to_vec();
        self.db
            .write(move |c| content::prune(c, integration_id, &keep))
            .await
    }

    #[instrument(skip_all, fields(integration_id = integration_id))]
    async fn delete_content_ids(
        &self,
        integration_id: i64,
        kind: ItemKind,
        type_name: &str,
        ids: &[i64],
    ) -> Result<u64> {
        let (type_name, ids) = (type_name.to_owned(), ids.to_vec());
        self.db
            .write(move |c| content::delete_ids(c, integration_id, kind, &type_name, &ids))
            .await
    }

    #[instrument(skip_all, fields(integration_id = integration_id))]
    async fn forget_deletions(
        &self,
        integration_id: i64,
        post_type: &str,
        ids: &[i64],
    ) -> Result<u64> {
        let (post_type, ids) = (post_type.to_owned(), ids.to_vec());
        self.db
            .write(move |c| content::forget(c, integration_id, &post_type, &ids))
            .await
    }

    #[instrument(skip_all, fields(integration_id = integration_id))]
    async fn list_content(
        &self,
        integration_id: i64,
        filter: ContentFilter<'_>,
        offset: u64,
        limit: u64,
    ) -> Result<ContentPage> {
        let post_type = filter.post_type.map(str::to_owned);
        let status = filter.status.map(str::to_owned);
        self.db
            .read(move |c| {
                let filter = ContentFilter {
                    post_type: post_type.as_deref(),
                    status: status.as_deref(),
                };
                content::list(c, integration_id, filter, offset, limit)
            })
            .await
    }

    #[instrument(skip_all, fields(integration_id = integration_id))]
    async fn content_item(
        &self,
        integration_id: i64,
        post_type: &str,
        wp_id: i64,
    ) -> Result<Option<ContentItem>> {
        let post_type = post_type.to_owned();
        self.db
            .read_now(move |c| content::item(c, integration_id, &post_type, wp_id))
            .await
    }

    #[instrument(skip_all, fields(integration_id = integration_id))]
    async fn terms_of_taxonomy(&self, integration_id: i64, taxonomy: &str) -> Result<Vec<TermRow>> {
        let taxonomy = taxonomy.to_owned();
        self.db
            .read(move |c| content::terms(c, integration_id, &taxonomy))
            .await
    }

    #[instrument(skip_all, fields(integration_id = integration_id))]
    async fn content_counts(&self, integration_id: i64) -> Result<Vec<TypeCount>> {
        self.db
            .read(move |c| content::counts(c, integration_id))
            .await
    }

    #[instrument(skip_all, fields(integration_id = integration_id))]
    async fn checksum_buckets(
        &self,
        integration_id: i64,
        kind: ItemKind,
        type_name: &str,
        bucket_size: i64,
    ) -> Result<Vec<Bucket>> {
        let type_name = type_name.to_owned();
        self.db
            .read(move |c| content::buckets(c, integration_id, kind, &type_name, bucket_size))
            .await
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
        let type_name = type_name.to_owned();
        self.db
            .read(move |c| content::checksums(c, integration_id, kind, &type_name, from_id, to_id))
            .await
    }

    #[instrument(skip_all, fields(integration_id = integration_id))]
    async fn content_sync_state(&self, integration_id: i64) -> Result<ContentSyncState> {
        self.db
            .read_now(move |c| Ok(content::load_state(c, integration_id)?.0))
            .await
    }

    #[instrument(skip_all, fields(integration_id = integration_id))]
    async fn update_content_sync_state(
        &self,
        integration_id: i64,
        change: SyncStateChange<'_>,
    ) -> Result<ContentSyncState> {
        for _ in 0..MAX_RETRIES {
            let (mut state, version) = self
                .db
                .read_now(move |c| content::load_state(c, integration_id))
                .await?;
            change(&mut state).map_err(|refused| StoreError::Conflict(refused.0))?;
            let saved = state.clone();
            let written = self
                .db
                .write(move |c| content::save_state_if(c, integration_id, &saved, version))
                .await?;
            if written {
                return Ok(state);
            }
        }
        Err(StoreError::Conflict(
            "the sync state kept changing under this update".into(),
        ))
    }

    #[instrument(skip_all, fields(integration_id = new.integration_id))]
    async fn create_change(&self, new: NewChange) -> Result<(ChangeRecord, bool)> {
        self.db.write(move |c| changes::create(c, &new)).await
    }

    #[instrument(skip_all)]
    async fn change(&self, integration_id: i64, id: i64) -> Result<Option<ChangeRecord>> {
        self.db
            .read_now(move |c| changes::get(c, integration_id, id))
            .await
    }

    #[instrument(skip_all)]
    async fn list_changes(
        &self,
        integration_id: i64,
        filter: ChangeFilter<'_>,
        offset: u64,
        limit: u64,
    ) -> Result<(u64, Vec<ChangeRecord>)> {
        let filter = changes::owned_filter(filter);
        self.db
            .read(move |c| changes::list(c, integration_id, filter, offset, limit))
            .await
    }

    #[instrument(skip_all)]
    async fn deliver_changes(
        &self,
        integration_id: i64,
        limit: u64,
        at: DateTime<Utc>,
    ) -> Result<Vec<ChangeRecord>> {
        self.db
            .write(move |c| changes::deliver(c, integration_id, limit, at))
            .await
    }

    #[instrument(skip_all)]
    async fn count_pending_changes(&self, integration_id: i64) -> Result<u64> {
        self.db
            .read_now(move |c| changes::count_pending(c, integration_id))
            .await
    }

    #[instrument(skip_all)]
    async fn outbox_depth(&self) -> Result<igny8_store::OutboxDepth> {
        self.db.read_now(changes::outbox_depth).await
    }

    #[instrument(skip_all)]
    async fn cancel_change(
        &self,
        integration_id: i64,
        id: i64,
        at: DateTime<Utc>,
    ) -> Result<ChangeRecord> {
        self.db
            .write(move |c| changes::cancel(c, integration_id, id, at))
            .await
    }

    #[instrument(skip_all)]
    async fn record_change_outcomes(
        &self,
        integration_id: i64,
        outcomes: &[ChangeOutcome],
        at: DateTime<Utc>,
    ) -> Result<Vec<bool>> {
        let outcomes = outcomes.to_vec();
        self.db
            .write(move |c| changes::record_outcomes(c, integration_id, &outcomes, at))
            .await
    }

    #[instrument(skip_all)]
    async fn resolve_change(
        &self,
        integration_id: i64,
        id: i64,
        resolution: &Resolution,
        next: Option<NewChange>,
    ) -> Result<(ChangeRecord, Option<ChangeRecord>)> {
        let resolution = resolution.clone();
        self.db
            .write(move |c| changes::resolve(c, integration_id, id, &resolution, next.as_ref()))
            .await
    }

    #[instrument(skip_all)]
    async fn set_change_receiver(
        &self,
        integration_id: i64,
        url: &str,
        secret: &str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        let (url, secret) = (url.to_owned(), secret.to_owned());
        self.db
            .write(move |c| changes::set_receiver(c, integration_id, &url, &secret, at))
            .await
    }

    #[instrument(skip_all)]
    async fn change_receiver(&self, integration_id: i64) -> Result<Option<ChangeReceiver>> {
        self.db
            .read_now(move |c| changes::receiver(c, integration_id))
            .await
    }

    #[instrument(skip_all)]
    async fn record_nudge(
        &self,
        integration_id: i64,
        at: DateTime<Utc>,
        error: Option<&str>,
    ) -> Result<()> {
        let error = error.map(str::to_owned);
        self.db
            .write(move |c| changes::record_nudge(c, integration_id, at, error.as_deref()))
            .await
    }
}
