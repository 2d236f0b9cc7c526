//! Shared setup for the WordPress end-to-end tests: an `igny8` server on an ephemeral port with its
//! own SQLite file, a real WordPress (scripts/wp-up.sh) with the plugin, and a wp-admin session.
//!
//! Nothing here is skipped when missing: no `igny8` binary, no root, no WordPress means a failed test
//! with a message saying what to do.

pub mod igny8;
pub mod wordpress;
pub mod wp_admin;

use std::path::PathBuf;

/// The repository root (this crate lives in `crates/wp-e2e`).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repository root")
}

/// A port nobody listens on right now (bound to port 0, then released).
pub fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// A scratch directory for one test (unique per test and process) holding the igny8 database, the
/// server log and the WordPress instance. `finish` removes it all on success (the instances'
/// databases too); after a failure or a panic it stays for a look, and its path is printed.
pub struct Scratch {
    pub path: PathBuf,
    finished: bool,
}

impl Scratch {
    pub fn new(test: &str) -> anyhow::Result<Scratch> {
        let path = std::env::temp_dir().join(format!("igny8-wp-e2e-{test}-{}", std::process::id()));
        if path.exists() {
            std::fs::remove_dir_all(&path)?;
        }
        std::fs::create_dir_all(&path)?;
        Ok(Scratch {
            path,
            finished: false,
        })
    }

    /// Ends the test with `result`, cleaning up if it passed.
    pub fn finish<T>(mut self, result: anyhow::Result<T>) -> anyhow::Result<T> {
        self.finished = true;
        if result.is_ok() {
            self.purge();
        } else {
            self.report_kept();
        }
        result
    }

    fn purge(&self) {
        if let Ok(entries) = std::fs::read_dir(&self.path) {
            for entry in entries.flatten() {
                if entry.path().join(".wp-up").is_dir() {
                    let _ = std::process::Command::new(repo_root().join("scripts/wp-down.sh"))
                        .arg(entry.path())
                        .arg("--purge")
                        .output();
                }
            }
        }
        let _ = std::fs::remove_dir_all(&self.path);
    }

    fn report_kept(&self) {
        eprintln!(
            "test files kept in {} (igny8-server.log, wp/wp-content/debug.log); remove WordPress with scripts/wp-down.sh {}/wp --purge",
            self.path.display(),
            self.path.display()
        );
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !self.finished {
            self.report_kept();
        }
    }
}
