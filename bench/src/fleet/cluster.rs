//! The fleet's own PostgreSQL: a private cluster (initdb in a temp dir, a free port) that the bench may
//! restart for the fault scenario without touching the machine's shared one; stopped and removed on drop.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};

use super::procs;

/// The database the replicas share inside the private cluster.
const DATABASE: &str = "igny8";

pub struct Cluster {
    root: PathBuf,
    data: PathBuf,
    log: PathBuf,
    bin: PathBuf,
    pub port: u16,
}

/// PostgreSQL's server programs: `IGNY8_BENCH_PG_BIN`, else the newest `/usr/lib/postgresql/*/bin`
/// (Debian keeps initdb and pg_ctl off the PATH), else the PATH.
fn server_bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("IGNY8_BENCH_PG_BIN") {
        return PathBuf::from(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).unwrap_or_default()
}

/// Whether this process runs as root: PostgreSQL refuses to, so its programs then run as `postgres`.
fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|v| v.split_whitespace().nth(1).map(|euid| euid == "0"))
        })
        .unwrap_or(false)
}

impl Cluster {
    /// initdb, a config for a benchmark on this machine, and a started server.
    pub fn create() -> anyhow::Result<Self> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let root =
            std::env::temp_dir().join(format!("igny8_fleet_pg_{}_{nanos}", std::process::id()));
        std::fs::create_dir_all(&root).with_context(|| format!("creating {}", root.display()))?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let cluster = Self {
            data: root.join("data"),
            log: root.join("postgres.log"),
            bin: server_bin_dir(),
            root,
            port,
        };
        if running_as_root() {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&cluster.root)
                .status()
                .context("chown of the cluster's dir")?;
            if !status.success() {
                bail!("chown postgres {} failed", cluster.root.display());
            }
        }
        cluster.pg(
            "initdb",
            &[
                "-D",
                &cluster.data.to_string_lossy(),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
            ],
        )?;
        // The defaults of a small dedicated server, except what a bulk seed of 10 million rows needs
        // (fewer checkpoints). Commits stay durable: fsync and synchronous_commit are left on.
        let settings = format!(
            "\nport = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\n\
             max_connections = 300\nshared_buffers = 1GB\nmax_wal_size = 8GB\ncheckpoint_timeout = 15min\n\
             maintenance_work_mem = 256MB\nlogging_collector = off\n",
            cluster.root.display()
        );
        let conf = cluster.data.join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf).context("reading postgresql.conf")?;
        text.push_str(&settings);
        std::fs::write(&conf, text).context("writing postgresql.conf")?;
        cluster.start()?;
        cluster.psql("postgres", &format!("CREATE DATABASE {DATABASE}"))?;
        Ok(cluster)
    }

    /// Runs one of PostgreSQL's programs, as `postgres` when this process is root.
    fn pg(&self, program: &str, args: &[&str]) -> anyhow::Result<()> {
        let path = self.bin.join(program);
        let mut command = if running_as_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        };
        let out = command
            .args(args)
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("running {}", path.display()))?;
        if !out.status.success() {
            bail!(
                "{program} {}: {}{}",
                args.join(" "),
                String::from_utf8_lossy(&out.stdout).trim(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(())
    }

    fn pg_ctl(&self, action: &str, extra: &[&str]) -> anyhow::Result<()> {
        let (data, log) = (
            self.data.to_string_lossy().into_owned(),
            self.log.to_string_lossy().into_owned(),
        );
        let mut args = vec!["-D", &data, "-l", &log, "-w", "-t", "120"];
        args.extend_from_slice(extra);
        args.push(action);
        self.pg("pg_ctl", &args)
    }

    pub fn start(&self) -> anyhow::Result<()> {
        self.pg_ctl("start", &[])
    }

    /// `pg_ctl restart -m fast`: every connection is cut, as in a real restart.
    pub fn restart(&self) -> anyhow::Result<()> {
        self.pg_ctl("restart", &["-m", "fast"])
    }

    /// The replicas' database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{DATABASE}", self.port)
    }

    /// Runs SQL in `db` with psql and answers its unaligned, tuples-only output.
    pub fn psql(&self, db: &str, sql: &str) -> anyhow::Result<String> {
        self.psql_with_input(db, sql, None)
    }

    /// `psql -c SQL` with `input` on its stdin (for `COPY … FROM STDIN`).
    pub fn psql_with_input(
        &self,
        db: &str,
        sql: &str,
        input: Option<&[u8]>,
    ) -> anyhow::Result<String> {
        use std::io::Write as _;
        let mut child = Command::new("psql")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "-d",
                db,
                "-v",
                "ON_ERROR_STOP=1",
                "-qAtX",
                "-c",
                sql,
            ])
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("running psql (is the PostgreSQL client installed?)")?;
        if let (Some(input), Some(mut pipe)) = (input, child.stdin.take()) {
            pipe.write_all(input).context("writing to psql")?;
        }
        let out = child.wait_with_output()?;
        if !out.status.success() {
            bail!(
                "psql: {}\nSQL: {}",
                String::from_utf8_lossy(&out.stderr).trim(),
                sql.chars().take(300).collect::<String>()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    pub fn database(&self) -> &'static str {
        DATABASE
    }

    /// The postmaster's pid, from its pid file.
    pub fn postmaster_pid(&self) -> Option<u32> {
        std::fs::read_to_string(self.data.join("postmaster.pid"))
            .ok()?
            .lines()
            .next()?
            .trim()
            .parse()
            .ok()
    }

    /// The postmaster and its children (backends, writers, autovacuum…) right now.
    pub fn processes(&self) -> Vec<u32> {
        let Some(postmaster) = self.postmaster_pid() else {
            return Vec::new();
        };
        let mut pids = vec![postmaster];
        pids.extend(procs::children_of(postmaster));
        pids
    }

    /// CPU the cluster used so far: its live processes, plus what its exited children used (the
    /// postmaster reaps them, so their time is in its `cutime`/`cstime`).
    pub fn cpu(&self) -> Duration {
        let Some(postmaster) = self.postmaster_pid() else {
            return Duration::ZERO;
        };
        let live: Duration = self
            .processes()
            .iter()
            .filter_map(|&p| procs::stat(p).map(|s| s.cpu))
            .sum();
        live + procs::stat(postmaster).map_or(Duration::ZERO, |s| s.children_cpu)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.postmaster_pid().is_some() {
            if let Err(e) = self.pg_ctl("stop", &["-m", "immediate"]) {
                eprintln!("fleet: stopping the private PostgreSQL: {e:#}");
            }
        }
        let _ = std::fs::remove_dir_all(&self.root);
    }
}
