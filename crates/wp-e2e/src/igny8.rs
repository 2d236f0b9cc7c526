//! The platform side: the `igny8` binary (server and CLI) and its HTTP API as a dashboard user sees it.

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::process::{Child, Command};

/// The `igny8` binary: `IGNY8_BIN` (scripts/test.sh sets it after building), else the workspace's
/// `target/debug/igny8`. Missing means the test fails: run `cargo build -p igny8` or scripts/test.sh.
pub fn binary() -> Result<PathBuf> {
    if let Ok(bin) = std::env::var("IGNY8_BIN") {
        let bin = PathBuf::from(bin);
        if !bin.is_file() {
            bail!(
                "IGNY8_BIN={} is not a file: build it with `cargo build -p igny8`",
                bin.display()
            );
        }
        return Ok(bin);
    }
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| crate::repo_root().join("target"));
    let bin = target.join("debug").join("igny8");
    if !bin.is_file() {
        bail!(
            "no igny8 binary: set IGNY8_BIN or build {} with `cargo build -p igny8` (scripts/test.sh does both)",
            bin.display()
        );
    }
    Ok(bin)
}

/// `igny8 serve` on 127.0.0.1:`port` with `database`, logging to `dir`/igny8-server.log (appended, so a
/// restart keeps what the killed server wrote).
fn spawn(bin: &Path, dir: &Path, port: u16, database: &str) -> Result<Child> {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("igny8-server.log"))?;
    Command::new(bin)
        .args([
            "serve",
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--database",
            database,
        ])
        .env("IGNY8_JWT_SECRET", "wp-e2e-test-secret-0123456789abcdef")
        // The test's WordPress is on 127.0.0.1: let nudges reach it.
        .env("IGNY8_ALLOW_PRIVATE_TARGETS", "1")
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))
}

/// A running `igny8 serve` on 127.0.0.1 with its own SQLite database; killed when dropped.
pub struct Server {
    pub base_url: String,
    bin: PathBuf,
    database: String,
    dir: PathBuf,
    port: u16,
    child: Child,
    http: reqwest::Client,
}

impl Server {
    /// Starts the server on a free port with a database file in `dir`, and waits until it answers.
    pub async fn start(dir: &Path) -> Result<Server> {
        let bin = binary()?;
        let database = format!("sqlite://{}", dir.join("igny8.db").display());
        let port = crate::free_port()?;
        let child = spawn(&bin, dir, port, &database)?;
        let mut server = Server {
            base_url: format!("http://127.0.0.1:{port}"),
            bin,
            database,
            dir: dir.to_owned(),
            port,
            child,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()?,
        };
        server.wait_ready().await?;
        Ok(server)
    }

    /// Kills the server at once (SIGKILL: no graceful shutdown), as a crash or an OOM kill would.
    pub async fn kill(&mut self) -> Result<()> {
        self.child.kill().await?;
        Ok(())
    }

    /// Starts the server again on the same address with the same database (after `kill`).
    pub async fn restart(&mut self) -> Result<()> {
        self.child = spawn(&self.bin, &self.dir, self.port, &self.database)?;
        self.wait_ready().await
    }

    async fn wait_ready(&mut self) -> Result<()> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "igny8 serve exited with {status}; see {}",
                    self.dir.join("igny8-server.log").display()
                );
            }
            if let Ok(r) = self
                .http
                .get(format!("{}/api/v1/auth/sites/", self.base_url))
                .send()
                .await
            {
                if r.status().as_u16() == 401 {
                    return Ok(());
                }
            }
            if started.elapsed() > Duration::from_secs(20) {
                bail!(
                    "igny8 serve did not answer on {} within 20 s",
                    self.base_url
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Runs an admin command (`igny8 --database … --json ARGS`) and returns its JSON answer.
    pub async fn cli(&self, args: &[&str], stdin: Option<&str>) -> Result<Value> {
        let mut child = Command::new(&self.bin)
            .args(["--database", &self.database, "--json"])
            .args(args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        if let Some(input) = stdin {
            let mut pipe = child.stdin.take().ok_or_else(|| anyhow!("no stdin"))?;
            pipe.write_all(input.as_bytes()).await?;
            drop(pipe);
        }
        let out = child.wait_with_output().await?;
        if !out.status.success() {
            bail!(
                "igny8 {} failed ({}): {}{}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        serde_json::from_slice(&out.stdout).with_context(|| {
            format!(
                "igny8 {}: not JSON: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }

    /// Creates a user (and their account).
    pub async fn create_user(&self, email: &str, password: &str) -> Result<()> {
        self.cli(
            &["user", "create", "--email", email, "--password-stdin"],
            Some(&format!("{password}\n")),
        )
        .await?;
        Ok(())
    }

    /// Creates a site for `owner`; returns its id.
    pub async fn create_site(&self, owner: &str, name: &str, url: &str) -> Result<i64> {
        let v = self
            .cli(
                &[
                    "site", "create", "--owner", owner, "--name", name, "--url", url,
                ],
                None,
            )
            .await?;
        v["id"]
            .as_i64()
            .ok_or_else(|| anyhow!("site create: no id in {v}"))
    }

    /// Creates an API key for a site; returns (full key, prefix).
    pub async fn create_key(&self, site: i64) -> Result<(String, String)> {
        let v = self
            .cli(
                &["site", "key", "create", "--site", &site.to_string()],
                None,
            )
            .await?;
        let key = v["key"]
            .as_str()
            .ok_or_else(|| anyhow!("key create: no key in {v}"))?;
        let prefix = v["prefix"]
            .as_str()
            .ok_or_else(|| anyhow!("key create: no prefix in {v}"))?;
        Ok((key.to_owned(), prefix.to_owned()))
    }

    pub async fn revoke_key(&self, site: i64, prefix: &str) -> Result<()> {
        self.cli(
            &[
                "site",
                "key",
                "revoke",
                "--site",
                &site.to_string(),
                "--prefix",
                prefix,
            ],
            None,
        )
        .await?;
        Ok(())
    }

    pub async fn deactivate_site(&self, site: i64) -> Result<()> {
        self.cli(&["site", "deactivate", "--site", &site.to_string()], None)
            .await?;
        Ok(())
    }

    /// Signs in as a dashboard user would; returns the JWT access token.
    pub async fn login(&self, email: &str, password: &str) -> Result<String> {
        let data = self
            .api(
                "POST",
                "/api/v1/auth/login/",
                None,
                Some(json!({"email": email, "password": password})),
            )
            .await?;
        data["access"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("login: no access token in {data}"))
    }

    /// One API call; returns `data` of a success envelope, or an error with the answer.
    pub async fn api(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Result<Value> {
        let url = format!("{}{}", self.base_url, path);
        let mut req = self.http.request(method.parse()?, &url);
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req
            .send()
            .await
            .with_context(|| format!("{method} {url}"))?;
        let status = res.status();
        let envelope: Value = res
            .json()
            .await
            .with_context(|| format!("{method} {url}: not JSON"))?;
        if !status.is_success() || envelope["success"] != json!(true) {
            bail!("{method} {path} -> {status}: {envelope}");
        }
        Ok(envelope["data"].clone())
    }
}
