//! Connections to the SQLite file: a small pool of readers used from the caller's thread or a
//! blocking thread, and ONE writer thread that applies every write. The writer takes the writes
//! that queued while it was busy as one group: one `BEGIN IMMEDIATE … COMMIT` around them, each in
//! its own savepoint (a failing write rolls back alone), and answers each caller only after the
//! group's commit. A commit per group instead of per write is what lets many sites push at once;
//! no write is answered before it is durable in the WAL.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use igny8_store::{Result, StoreError};
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ValueRef};
use rusqlite::{Connection, OpenFlags, Row};
use tokio::sync::oneshot;

/// Writes one group may hold: enough to amortise the commit, few enough to answer promptly.
const MAX_GROUP: usize = 128;
/// Readers kept open for reuse.
const MAX_IDLE_READERS: usize = 8;
/// How long a connection waits for another process's lock (the CLI beside the server).
const BUSY_TIMEOUT: Duration = Duration::from_secs(15);

pub fn db(e: impl std::fmt::Display) -> StoreError {
    StoreError::database(e.to_string())
}

/// Maps a unique-constraint violation to `Conflict`, everything else to `Database`.
pub fn write_err(what: &str) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    move |e| match &e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
        {
            StoreError::Conflict(what.to_owned())
        }
        _ => StoreError::from(e),
    }
}

/// Times are stored as RFC 3339 text in UTC (the format the first, sqlx-based store wrote).
pub fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, false)
}

/// A stored time, read back from its RFC 3339 text.
struct Time(DateTime<Utc>);

impl FromSql for Time {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        DateTime::parse_from_rfc3339(value.as_str()?)
            .map(|t| Time(t.with_timezone(&Utc)))
            .map_err(|e| FromSqlError::Other(Box::new(e)))
    }
}

/// The time in column `i`.
pub fn at(row: &Row<'_>, i: usize) -> rusqlite::Result<DateTime<Utc>> {
    Ok(row.get::<_, Time>(i)?.0)
}

/// The time, or NULL, in column `i`.
pub fn opt_at(row: &Row<'_>, i: usize) -> rusqlite::Result<Option<DateTime<Utc>>> {
    Ok(row.get::<_, Option<Time>>(i)?.map(|t| t.0))
}

/// Where the database lives, from a `sqlite://PATH`, `sqlite:PATH` or `sqlite::memory:` URL
/// (a query string, as in `?mode=rwc`, is ignored: the file is always created when missing).
#[derive(Debug, Clone)]
pub enum Location {
    File(PathBuf),
    Memory,
}

impl Location {
    pub fn parse(url: &str) -> Result<Self> {
        let rest = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .ok_or_else(|| db(format!("not a sqlite URL: {url}")))?;
        let path = rest.split('?').next().unwrap_or_default();
        if path.is_empty() {
            return Err(db("the sqlite URL names no file"));
        }
        Ok(if path == ":memory:" {
            Self::Memory
        } else {
            Self::File(PathBuf::from(path))
        })
    }

    fn open(&self) -> Result<Connection> {
        let conn = match self {
            Self::File(path) => open_file(path)?,
            Self::Memory => Connection::open_in_memory()?,
        };
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.set_prepared_statement_cache_capacity(64);
        conn.execute_batch(
            "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; PRAGMA temp_store = MEMORY;",
        )?;
        Ok(conn)
    }
}

fn open_file(path: &Path) -> Result<Connection> {
    Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI,
    )
    .map_err(|e| db(format!("cannot open {}: {e}", path.display())))
}

/// A write as the writer thread runs it: `run` inside the group's transaction, then `finish` with
/// the group's commit outcome.
trait Job: Send {
    fn run(&mut self, conn: &Connection);
    fn succeeded(&self) -> bool;
    fn finish(self: Box<Self>, commit: &Result<(), String>);
}

struct Call<T, F> {
    work: Option<F>,
    out: Option<Result<T>>,
    reply: oneshot::Sender<Result<T>>,
}

impl<T, F> Job for Call<T, F>
where
    T: Send,
    F: FnOnce(&Connection) -> Result<T> + Send,
{
    fn run(&mut self, conn: &Connection) {
        let work = self.work.take().expect("a write runs once");
        self.out = Some(
            catch_unwind(AssertUnwindSafe(|| work(conn)))
                .unwrap_or_else(|_| Err(db("the write panicked"))),
        );
    }

    fn succeeded(&self) -> bool {
        matches!(self.out, Some(Ok(_)))
    }

    fn finish(self: Box<Self>, commit: &Result<(), String>) {
        let out = match (self.out, commit) {
            (Some(Ok(value)), Ok(())) => Ok(value),
            (Some(Ok(_)), Err(e)) => Err(db(format!("commit failed: {e}"))),
            (Some(Err(e)), _) => Err(e),
            (None, _) => Err(db("the write never ran")),
        };
        // The caller may have gone away; what it asked for is committed (or not) regardless.
        let _ = self.reply.send(out);
    }
}

/// The handle to the writer thread; the thread ends when the last handle is dropped.
#[derive(Clone)]
pub struct Writer {
    jobs: mpsc::Sender<Box<dyn Job>>,
}

impl Writer {
    /// Starts the writer thread on `conn`, with `checkpointer` (a second connection to the same
    /// file) copying the WAL back into the database on a thread of its own.
    pub fn start(conn: Connection, checkpointer: Option<Connection>) -> Self {
        let (jobs, queue) = mpsc::channel::<Box<dyn Job>>();
        let wake = checkpointer.map(|c| {
            let (wake, woken) = mpsc::sync_channel::<()>(1);
            std::thread::Builder::new()
                .name("igny8-sqlite-checkpoint".into())
                .spawn(move || checkpoint_loop(c, woken))
                .expect("the checkpoint thread starts");
            wake
        });
        std::thread::Builder::new()
            .name("igny8-sqlite-writer".into())
            .spawn(move || write_loop(conn, queue, wake))
            .expect("the writer thread starts");
        Self { jobs }
    }

    /// Runs `work` in the writer's transaction; answers once it is committed.
    pub async fn run<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = Box::new(Call {
            work: Some(work),
            out: None,
            reply,
        });
        self.jobs
            .send(job)
            .map_err(|_| db("the database writer has stopped"))?;
        answer
            .await
            .map_err(|_| db("the database writer has stopped"))?
    }
}

fn write_loop(
    conn: Connection,
    queue: mpsc::Receiver<Box<dyn Job>>,
    checkpoint: Option<mpsc::SyncSender<()>>,
) {
    while let Ok(first) = queue.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match queue.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let commit = apply_group(&conn, &mut group);
        for job in group {
            job.finish(&commit);
        }
        if let Some(wake) = &checkpoint {
            // A wake-up already pending is enough.
            let _ = wake.try_send(());
        }
    }
}

/// The page size of a new database file.
const PAGE_SIZE: u32 = 8192;
/// Pages the writer lets the WAL grow to (40 MiB) before it checkpoints on its own thread: under
/// a steady stream of writes the checkpoint thread's passive checkpoints cannot finish, and this
/// is what bounds the WAL then.
const WRITER_AUTOCHECKPOINT_PAGES: u32 = 5_000;
/// The least time between two checkpoints of the checkpoint thread.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

/// Copies committed WAL frames into the database file after writes, off the writer's thread
/// (with SQLite's own auto-checkpoint, the commit that crosses the threshold pays for copying
/// and syncing the whole WAL). PASSIVE: it never waits for, nor blocks, readers or the writer.
fn checkpoint_loop(conn: Connection, woken: mpsc::Receiver<()>) {
    while woken.recv().is_ok() {
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!(error = %e, "WAL checkpoint failed; SQLite's own checkpoint will run");
        }
        std::thread::sleep(CHECKPOINT_EVERY);
    }
}

fn apply_group(conn: &Connection, group: &mut [Box<dyn Job>]) -> Result<(), String> {
    run(conn, "BEGIN IMMEDIATE")?;
    if let [job] = group {
        // Alone in its group: the transaction is its savepoint (and a savepoint would copy every
        // page it changes into the statement journal).
        job.run(conn);
        let end = if job.succeeded() {
            "COMMIT"
        } else {
            "ROLLBACK"
        };
        return run(conn, end).inspect_err(|_| {
            let _ = conn.execute_batch("ROLLBACK");
        });
    }
    for job in group.iter_mut() {
        if let Err(e) = run(conn, "SAVEPOINT job") {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(e);
        }
        job.run(conn);
        let end = if job.succeeded() {
            run(conn, "RELEASE job")
        } else {
            run(conn, "ROLLBACK TO job").and_then(|()| run(conn, "RELEASE job"))
        };
        if let Err(e) = end {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(e);
        }
    }
    run(conn, "COMMIT").inspect_err(|_| {
        let _ = conn.execute_batch("ROLLBACK");
    })
}

/// One transaction-control statement, prepared once per connection (these run for every write).
fn run(conn: &Connection, sql: &str) -> Result<(), String> {
    conn.prepare_cached(sql)
        .and_then(|mut statement| statement.execute([]))
        .map(drop)
        .map_err(|e| e.to_string())
}

/// Reader connections, opened on demand and kept for reuse. In-memory databases have no readers
/// (each connection would be a database of its own): their reads go through the writer.
pub struct Readers {
    location: Location,
    idle: Mutex<Vec<Connection>>,
}

impl Readers {
    pub fn new(location: Location) -> Self {
        Self {
            location,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Runs `read` on a reader connection on this thread: for point reads of microseconds.
    pub fn with<T>(&self, read: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let idle = self.idle.lock().expect("reader pool").pop();
        let conn = match idle {
            Some(conn) => conn,
            None => self.location.open()?,
        };
        let out = read(&conn);
        // A connection left in a transaction (a failed multi-statement read) is not reused.
        if conn.is_autocommit() {
            let mut idle = self.idle.lock().expect("reader pool");
            if idle.len() < MAX_IDLE_READERS {
                idle.push(conn);
            }
        }
        out
    }
}

/// The store's two ways in, shared by the `Store` methods.
#[derive(Clone)]
pub struct Db {
    readers: Option<Arc<Readers>>,
    writer: Writer,
}

impl Db {
    pub fn open(location: Location) -> Result<Self> {
        // The writer opens first: it creates the file and switches it to WAL.
        let conn = location.open()?;
        // Takes effect on a new, empty file only. Synced posts are rows of a few KB: 8 KiB pages
        // hold several each, which halved the kernel time of ingesting them (4 KiB pages hold one).
        conn.execute_batch(&format!("PRAGMA page_size = {PAGE_SIZE}"))?;
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if matches!(location, Location::File(_)) && !mode.eq_ignore_ascii_case("wal") {
            return Err(db(format!(
                "cannot switch the database to WAL (got {mode})"
            )));
        }
        let (readers, checkpointer) = match location {
            Location::File(_) => {
                conn.pragma_update(None, "wal_autocheckpoint", WRITER_AUTOCHECKPOINT_PAGES)?;
                let checkpointer = location.open()?;
                (Some(Arc::new(Readers::new(location))), Some(checkpointer))
            }
            Location::Memory => (None, None),
        };
        Ok(Self {
            readers,
            writer: Writer::start(conn, checkpointer),
        })
    }

    /// A write, committed before it answers.
    pub async fn write<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        self.writer.run(work).await
    }

    /// A point read (a key lookup): runs on the calling thread, without a hop.
    pub async fn read_now<T, F>(&self, read: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        match &self.readers {
            Some(readers) => readers.with(read),
            None => self.writer.run(read).await,
        }
    }

    /// A read that may scan many rows: runs on a blocking thread.
    pub async fn read<T, F>(&self, read: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        match &self.readers {
            Some(readers) => {
                let readers = readers.clone();
                tokio::task::spawn_blocking(move || readers.with(read))
                    .await
                    .map_err(db)?
            }
            None => self.writer.run(read).await,
        }
    }
}
