//! Backups of the embedded database. SQLite's online backup API copies one consistent snapshot
//! while the server keeps writing (in WAL mode a reader blocks no writer), and a restore copies a
//! backup back the same way, in one transaction of the destination.

use std::path::{Path, PathBuf};
use std::time::Duration;

use igny8_store::{Result, StoreError};
use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};

use crate::conn::{db, Location};

/// What a backup wrote.
#[derive(Debug, Clone)]
pub struct BackupFile {
    pub path: PathBuf,
    pub bytes: u64,
}

fn file_of(url: &str) -> Result<PathBuf> {
    match Location::parse(url)? {
        Location::File(path) => Ok(path),
        Location::Memory => Err(db(
            "an in-memory database has no file to back up or restore",
        )),
    }
}

fn connect(path: &Path, flags: OpenFlags) -> Result<Connection> {
    let conn = Connection::open_with_flags(path, flags)
        .map_err(|e| db(format!("cannot open {}: {e}", path.display())))?;
    conn.busy_timeout(Duration::from_secs(30))?;
    Ok(conn)
}

/// Copies every page in one step: one read transaction, so the copy is the database as of one
/// commit, whatever the server writes meanwhile.
fn copy(from: &Connection, to: &mut Connection) -> Result<()> {
    let backup = Backup::new(from, to)?;
    loop {
        match backup.step(-1)? {
            StepResult::Done => return Ok(()),
            StepResult::More => {}
            StepResult::Busy | StepResult::Locked => std::thread::sleep(Duration::from_millis(50)),
            _ => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

fn integrity(conn: &Connection, what: &Path) -> Result<()> {
    let verdict: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
    if verdict == "ok" {
        Ok(())
    } else {
        Err(StoreError::database(format!(
            "{} fails its integrity check: {verdict}",
            what.display()
        )))
    }
}

/// Backs the database at `url` up into `to` (one self-contained file, checked with
/// `integrity_check`), written beside it first and renamed into place, so `to` is never half a
/// backup.
pub fn backup(url: &str, to: &Path) -> Result<BackupFile> {
    let source = file_of(url)?;
    if !source.is_file() {
        return Err(db(format!("there is no database at {}", source.display())));
    }
    let from = connect(&source, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
    let partial = to.with_file_name(format!(
        ".{}.partial",
        to.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("igny8-backup")
    ));
    let _ = std::fs::remove_file(&partial);
    let mut copy_to = connect(
        &partial,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
    )?;
    let done = copy(&from, &mut copy_to).and_then(|()| {
        // The copy says WAL, as its source does: make it one file that needs no -wal beside it.
        copy_to.query_row("PRAGMA journal_mode = DELETE", [], |_| Ok(()))?;
        integrity(&copy_to, to)
    });
    drop(copy_to);
    if let Err(e) = done {
        let _ = std::fs::remove_file(&partial);
        return Err(e);
    }
    std::fs::rename(&partial, to)
        .map_err(|e| db(format!("cannot move the backup to {}: {e}", to.display())))?;
    let bytes = std::fs::metadata(to).map(|m| m.len()).unwrap_or(0);
    Ok(BackupFile {
        path: to.to_owned(),
        bytes,
    })
}

/// Replaces the database at `url` (created when missing) with the backup `from`, after checking
/// that it is a sound igny8 database. The copy is one transaction of the destination: a reader
/// sees the old database or the restored one, never a mix. Migrate afterwards: an older backup
/// then gets the schema this version needs.
pub fn restore(from: &Path, url: &str) -> Result<()> {
    let target = file_of(url)?;
    if !from.is_file() {
        return Err(db(format!("there is no backup at {}", from.display())));
    }
    let backup = connect(from, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    integrity(&backup, from)?;
    let ours: bool = backup
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = '_sqlx_migrations')",
            [],
            |r| r.get(0),
        )
        .map_err(|e| db(format!("{} is not an SQLite database: {e}", from.display())))?;
    if !ours {
        return Err(db(format!(
            "{} is not an igny8 database (it has no migrations table)",
            from.display()
        )));
    }
    let mut into = connect(
        &target,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
    )?;
    copy(&backup, &mut into)?;
    into.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
    integrity(&into, &target)
}
