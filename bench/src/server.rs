//! The server under test: a scratch database, `igny8 serve` on a free port, the admin commands that
//! fill it, and what the kernel says about the server process. Everything is undone on drop.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use serde_json::Value;

/// The release binary: `IGNY8_BIN`, else `target/release/igny8` under the workspace root.
pub fn locate_binary() -> anyhow::Result<PathBuf> {
    let bin = match std::env::var_os("IGNY8_BIN") {
        Some(path) => PathBuf::from(path),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release/igny8"),
    };
    if !bin.is_file() {
        bail!(
            "no igny8 binary at {}: run `cargo build --release -p igny8` first, or set IGNY8_BIN",
            bin.display()
        );
    }
    Ok(bin)
}

/// A name no other run uses, for the temp dir and the PostgreSQL database.
fn run_name() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("igny8_bench_{}_{nanos}", std::process::id())
}

/// A fresh database for one run, removed on drop.
pub enum ScratchDatabase {
    Sqlite {
        dir: PathBuf,
    },
    Postgres {
        admin_url: String,
        name: String,
        dir: PathBuf,
    },
}

impl ScratchDatabase {
    pub fn sqlite() -> anyhow::Result<Self> {
        let dir = std::env::temp_dir().join(run_name());
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Self::Sqlite { dir })
    }

    /// Creates a database next to the one `admin_url` names (with `psql`, which ships with the server).
    pub fn postgres(admin_url: &str) -> anyhow::Result<Self> {
        let name = run_name();
        psql(admin_url, &format!("CREATE DATABASE {name}"))
            .context("creating the PostgreSQL database")?;
        let dir = std::env::temp_dir().join(&name);
        let db = Self::Postgres {
            admin_url: admin_url.to_owned(),
            name,
            dir,
        };
        std::fs::create_dir_all(db.dir())
            .with_context(|| format!("creating {}", db.dir().display()))?;
        Ok(db)
    }

    pub fn url(&self) -> String {
        match self {
            Self::Sqlite { dir } => format!("sqlite://{}", dir.join("igny8.db").display()),
            Self::Postgres {
                admin_url, name, ..
            } => match admin_url.rsplit_once('/') {
                Some((server, _)) => format!("{server}/{name}"),
                None => format!("{admin_url}/{name}"),
            },
        }
    }

    /// Where the server's log goes.
    pub fn dir(&self) -> &Path {
        match self {
            Self::Sqlite { dir } | Self::Postgres { dir, .. } => dir,
        }
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        if let Self::Postgres {
            admin_url, name, ..
        } = self
        {
            if let Err(e) = psql(
                admin_url,
                &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            ) {
                eprintln!("bench: could not drop database {name}: {e:#}");
            }
        }
        let _ = std::fs::remove_dir_all(self.dir());
    }
}

fn psql(url: &str, sql: &str) -> anyhow::Result<()> {
    let out = Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-qXc", sql])
        .output()
        .context("running psql (is the PostgreSQL client installed?)")?;
    if !out.status.success() {
        bail!("{}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(())
}

/// `igny8 serve` as a child process, killed on drop.
pub struct Server {
    child: Child,
    pub base_url: String,
    log: PathBuf,
}

impl Server {
    /// Starts the server on a free port and waits until `/livez` answers.
    pub async fn start(
        bin: &Path,
        db: &ScratchDatabase,
        client: &reqwest::Client,
    ) -> anyhow::Result<Self> {
        Self::start_with(bin, db, client, &[]).await
    }

    /// `start`, with more `serve` flags.
    pub async fn start_with(
        bin: &Path,
        db: &ScratchDatabase,
        client: &reqwest::Client,
        serve_flags: &[&str],
    ) -> anyhow::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let log = db.dir().join("serve.log");
        let log_file = std::fs::File::create(&log)?;
        let child = Command::new(bin)
            .args([
                "--database",
                &db.url(),
                "serve",
                "--addr",
                &format!("127.0.0.1:{port}"),
            ])
            .args(serve_flags)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let mut server = Self {
            child,
            base_url: format!("http://127.0.0.1:{port}"),
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = server.child.try_wait()? {
                bail!("igny8 serve exited with {status}:\n{}", server.log_tail());
            }
            if let Ok(r) = client
                .get(format!("{}/livez", server.base_url))
                .send()
                .await
            {
                if r.status().is_success() {
                    return Ok(server);
                }
            }
            if Instant::now() > deadline {
                bail!(
                    "igny8 serve did not answer /livez within 30 s:\n{}",
                    server.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The last lines of the server's log, for error messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs an `igny8 --database URL … --json` admin command and answers its JSON.
pub async fn admin(
    bin: &Path,
    db_url: &str,
    args: &[&str],
    stdin: Option<&str>,
) -> anyhow::Result<Value> {
    use tokio::io::AsyncWriteExt as _;
    let mut child = tokio::process::Command::new(bin)
        .args(["--database", db_url, "--json"])
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(input.as_bytes()).await?;
    }
    let out = child.wait_with_output().await?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!(
            "igny8 {} failed: {}{}",
            args.join(" "),
            stdout.trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    serde_json::from_str(&stdout)
        .with_context(|| format!("igny8 {} answered {stdout:?}", args.join(" ")))
}

/// What `/proc/<pid>/status` says about memory, in kB: `VmRSS` now, `VmHWM` the peak.
pub fn memory_kb(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// Lets `VmHWM` measure from now (Linux ≥ 4.0): each phase gets its own peak.
pub fn reset_peak_rss(pid: u32) {
    let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
}

/// CPU time the process has used (user + system), from `/proc/<pid>/stat`.
pub fn cpu_time(pid: u32) -> Option<Duration> {
    // Clock ticks are 100 per second on every Linux this runs on (`getconf CLK_TCK`).
    const TICKS_PER_SECOND: u64 = 100;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(Duration::from_millis(
        (utime + stime) * 1000 / TICKS_PER_SECOND,
    ))
}

/// How busy the machine is (other work on it skews every figure): its cores and load average.
pub fn machine() -> String {
    format!(
        "{} cores, load average {}",
        std::thread::available_parallelism().map_or(0, usize::from),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    )
}
