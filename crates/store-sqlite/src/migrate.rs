//! The schema's migrations, applied in order inside the writer's transaction, and recorded in the
//! `_sqlx_migrations` table the first version of this store (built on sqlx) kept, so a database it
//! created upgrades in place.

use rusqlite::{params, Connection};
use sha2::{Digest, Sha384};

use crate::conn::db;
use igny8_store::Result;

const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "initial", include_str!("../migrations/0001_initial.sql")),
    (2, "content", include_str!("../migrations/0002_content.sql")),
    (
        3,
        "content counts",
        include_str!("../migrations/0003_content_counts.sql"),
    ),
    (
        4,
        "sync state version",
        include_str!("../migrations/0004_sync_state_version.sql"),
    ),
    (
        5,
        "tombstones",
        include_str!("../migrations/0005_tombstones.sql"),
    ),
    (
        6,
        "session epoch",
        include_str!("../migrations/0006_session_epoch.sql"),
    ),
    (
        7,
        "login attempts",
        include_str!("../migrations/0007_login_attempts.sql"),
    ),
    (
        8,
        "content newest covers filters",
        include_str!("../migrations/0008_content_newest_covers_filters.sql"),
    ),
    (9, "changes", include_str!("../migrations/0009_changes.sql")),
    (
        10,
        "refresh families",
        include_str!("../migrations/0010_refresh_families.sql"),
    ),
    (
        11,
        "read_at",
        include_str!("../migrations/0011_read_at.sql"),
    ),
    (
        12,
        "site url",
        include_str!("../migrations/0012_site_url.sql"),
    ),
];

/// Applies every migration the database lacks; safe to run on every start and from several
/// processes (the writer's `BEGIN IMMEDIATE` serialises them).
pub fn run(c: &Connection) -> Result<()> {
    c.execute_batch(
        "CREATE TABLE IF NOT EXISTS _sqlx_migrations (
             version BIGINT PRIMARY KEY,
             description TEXT NOT NULL,
             installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
             success BOOLEAN NOT NULL,
             checksum BLOB NOT NULL,
             execution_time BIGINT NOT NULL
         )",
    )?;
    let applied: Vec<i64> = c
        .prepare("SELECT version FROM _sqlx_migrations WHERE success")
        .and_then(|mut q| q.query_map([], |r| r.get(0))?.collect())?;
    for (version, description, sql) in MIGRATIONS {
        if applied.contains(version) {
            continue;
        }
        c.execute_batch(sql)
            .map_err(|e| db(format!("migration {version} ({description}): {e}")))?;
        c.execute(
            "INSERT OR REPLACE INTO _sqlx_migrations (version, description, success, checksum, execution_time)
             VALUES (?, ?, 1, ?, 0)",
            params![version, description, Sha384::digest(sql.as_bytes()).to_vec()],
        )?;
    }
    Ok(())
}
