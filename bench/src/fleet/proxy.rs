//! The serving side of the fleet: `igny8 serve` replicas on fixed ports (so a restarted one comes back
//! where HAProxy looks for it) and HAProxy in front of them, configured from deploy/haproxy.cfg.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

/// The config operators use (docs/deploy.md): the bench only fills in the two placeholders.
const HAPROXY_TEMPLATE: &str = include_str!("../../../deploy/haproxy.cfg");

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Polls `url` until it answers 200, the process is gone, or `within` passes.
async fn wait_ok(
    client: &reqwest::Client,
    url: &str,
    within: Duration,
    child: &mut Child,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait()? {
            bail!("exited with {status} before {url} answered");
        }
        if let Ok(r) = client.get(url).send().await {
            if r.status().is_success() {
                return Ok(());
            }
        }
        if Instant::now() > deadline {
            bail!("{url} did not answer 200 within {within:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One `igny8 serve` on its own port; killed on drop.
pub struct Replica {
    pub name: String,
    pub port: u16,
    bin: PathBuf,
    db_url: String,
    flags: Vec<String>,
    log: PathBuf,
    child: Option<Child>,
}

impl Replica {
    pub async fn start(
        name: &str,
        bin: &Path,
        db_url: &str,
        flags: &[String],
        dir: &Path,
        client: &reqwest::Client,
    ) -> anyhow::Result<Self> {
        let mut replica = Self {
            name: name.to_owned(),
            port: free_port()?,
            bin: bin.to_owned(),
            db_url: db_url.to_owned(),
            flags: flags.to_vec(),
            log: dir.join(format!("{name}.log")),
            child: None,
        };
        replica.spawn(client).await?;
        Ok(replica)
    }

    /// Starts the process (again) on the replica's port and waits for `/livez`.
    pub async fn spawn(&mut self, client: &reqwest::Client) -> anyhow::Result<()> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)?;
        let mut child = Command::new(&self.bin)
            .args([
                "--database",
                &self.db_url,
                "serve",
                "--addr",
                &format!("127.0.0.1:{}", self.port),
            ])
            .args(&self.flags)
            .env("IGNY8_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", self.bin.display()))?;
        let url = format!("http://127.0.0.1:{}/livez", self.port);
        if let Err(e) = wait_ok(client, &url, Duration::from_secs(30), &mut child).await {
            let _ = child.kill();
            let _ = child.wait();
            bail!("replica {}: {e:#}\n{}", self.name, self.log_tail());
        }
        self.child = Some(child);
        Ok(())
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// `kill -9`: no drain, connections cut.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, then waits for the process to finish its drain and exit (SIGKILL after `within`).
    pub async fn terminate(&mut self, within: Duration) -> anyhow::Result<Duration> {
        let Some(mut child) = self.child.take() else {
            return Ok(Duration::ZERO);
        };
        let started = Instant::now();
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .context("running kill")?;
        if !status.success() {
            bail!("kill -TERM {} failed", child.id());
        }
        while child.try_wait()?.is_none() {
            if started.elapsed() > within {
                let _ = child.kill();
                let _ = child.wait();
                bail!(
                    "replica {} still running {within:?} after SIGTERM",
                    self.name
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(started.elapsed())
    }

    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.kill();
    }
}

/// This process's soft limit on open files (HAProxy inherits it).
fn open_files_limit() -> Option<u64> {
    std::fs::read_to_string("/proc/self/limits")
        .ok()?
        .lines()
        .find(|l| l.starts_with("Max open files"))?
        .split_whitespace()
        .nth(3)?
        .parse()
        .ok()
        .filter(|&n| n > 200)
}

/// HAProxy in the foreground (`-db`), killed on drop.
pub struct Proxy {
    child: Child,
    pub port: u16,
}

impl Proxy {
    /// Writes the config for `replicas` (deploy/haproxy.cfg, placeholders filled) and starts HAProxy
    /// on `port` (a free one when `None`), waiting until `/healthz` answers through it.
    pub async fn start(
        replicas: &[&Replica],
        port: Option<u16>,
        dir: &Path,
        client: &reqwest::Client,
    ) -> anyhow::Result<Self> {
        let port = match port {
            Some(p) => p,
            None => free_port()?,
        };
        let servers: Vec<String> = replicas
            .iter()
            .map(|r| format!("    server {} 127.0.0.1:{} check", r.name, r.port))
            .collect();
        // The placeholders are also named in the file's header comment: only lines of config count.
        let config: Vec<String> = HAPROXY_TEMPLATE
            .lines()
            .map(|line| {
                if line.trim_start().starts_with('#') {
                    line.to_owned()
                } else {
                    line.replace("@LISTEN@", &format!("127.0.0.1:{port}"))
                        .replace("@SERVERS@", &servers.join("\n"))
                }
            })
            .collect();
        let config = config.join("\n") + "\n";
        let path = dir.join("haproxy.cfg");
        std::fs::write(&path, config).context("writing haproxy.cfg")?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("haproxy.log"))?;
        let mut command = Command::new("haproxy");
        // maxconn 20000 needs 40,000 file descriptors; where the process may not open that many
        // (a container's hard limit), `-n` lowers maxconn to what fits instead of HAProxy refusing
        // to start. The config file stays the one operators use.
        if let Some(fds) = open_files_limit() {
            if fds < 40_100 {
                command.arg("-n").arg(((fds - 100) / 2).to_string());
            }
        }
        let mut child = command
            .arg("-db")
            .arg("-f")
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("starting haproxy (apt-get install haproxy)")?;
        let url = format!("http://127.0.0.1:{port}/healthz");
        if let Err(e) = wait_ok(client, &url, Duration::from_secs(20), &mut child).await {
            let _ = child.kill();
            let _ = child.wait();
            bail!(
                "haproxy: {e:#}\n{}",
                std::fs::read_to_string(dir.join("haproxy.log")).unwrap_or_default()
            );
        }
        Ok(Self { child, port })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
