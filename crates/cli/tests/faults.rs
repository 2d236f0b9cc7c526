//! Faults an operator meets, against the real `igny8` binary: PostgreSQL stopped and started again
//! under a replica (503 with `Retry-After` meanwhile, reconnection on its own, nothing acknowledged
//! lost); a replica told to stop (not ready first, in-flight requests finished); and two replicas
//! behind a real HAProxy (deploy/haproxy.cfg) while simulated sites send batches: one killed with
//! SIGKILL, then both restarted one at a time.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

mod common;
use common::{block_on, free_port};

/// A PostgreSQL cluster of the test's own, on a free port, removed when dropped (also when the test
/// fails): stopping and starting it disturbs no other test.
struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
}

impl Cluster {
    /// `None` when the PostgreSQL server binaries are not installed.
    fn create(name: &str) -> Option<Self> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| Some(e.ok()?.path().join("bin")))
            .filter(|b| b.join("initdb").exists() && b.join("pg_ctl").exists())
            .max()?;
        let port = free_port();
        let dir =
            std::env::temp_dir().join(format!("igny8-faults-{}-{name}-{port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let cluster = Self { bin, dir, port };
        // initdb refuses to run as root: the cluster belongs to the postgres user then.
        if is_root() {
            run(Command::new("chown").arg("postgres:").arg(&cluster.dir));
        }
        run(cluster
            .as_owner("initdb")
            .args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"])
            .arg(cluster.data()));
        cluster.start();
        Some(cluster)
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn as_owner(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        }
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn start(&self) {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {}",
            self.port,
            self.dir.display()
        );
        run(self
            .as_owner("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .arg("-l")
            .arg(self.dir.join("log"))
            .args(["-w", "-o", &options, "start"]));
    }

    /// A fast stop, as `pg_ctlcluster … stop` does: connections are ended, the data is flushed.
    fn stop(&self) {
        run(self
            .as_owner("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-w", "-m", "fast", "stop"]));
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self
            .as_owner("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-w", "-m", "immediate", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

/// Runs a command that must succeed; answers its output.
fn run(command: &mut Command) -> Output {
    let out = command.output().expect("the command runs");
    assert!(
        out.status.success(),
        "{command:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `igny8 --database URL ARGS…`, which must succeed; answers its standard output.
fn igny8(url: &str, args: &[&str]) -> String {
    let out = run(Command::new(env!("CARGO_BIN_EXE_igny8"))
        .args(["--database", url])
        .args(args)
        .env_remove("DATABASE_URL")
        .stdin(Stdio::null()));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A migrated database with a site, its key and its integration: answers the key and the
/// integration's id (the integration is created through a server on `port`).
fn site_with_integration(url: &str, port: u16) -> (String, i64) {
    static SITES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let owner = format!(
        "ops{}@example.com",
        SITES.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    );
    igny8(url, &["migrate"]);
    let mut user = Command::new(env!("CARGO_BIN_EXE_igny8"))
        .args(["--database", url, "user", "create", "--email"])
        .arg(&owner)
        .arg("--password-stdin")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    std::io::Write::write_all(user.stdin.as_mut().unwrap(), b"correct horse\n").unwrap();
    assert!(user.wait().unwrap().success());
    let site: Value = serde_json::from_str(&igny8(
        url,
        &[
            "--json",
            "site",
            "create",
            "--owner",
            &owner,
            "--name",
            "Blog",
            "--url",
            "https://blog.example",
        ],
    ))
    .unwrap();
    let site_id = site["id"].as_i64().unwrap().to_string();
    let key: Value = serde_json::from_str(&igny8(
        url,
        &["--json", "site", "key", "create", "--site", &site_id],
    ))
    .unwrap();
    let key = key["key"].as_str().unwrap().to_owned();
    let created: Value = block_on(async {
        reqwest::Client::new()
            .post(format!(
                "http://127.0.0.1:{port}/api/v1/integration/integrations/"
            ))
            .bearer_auth(&key)
            .json(&json!({"site": site_id.parse::<i64>().unwrap()}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    (key, created["data"]["id"].as_i64().expect("integration"))
}

/// `igny8 serve` on `port` over `url`, once it answers `/livez` (the store may be down).
fn serve(url: &str, port: u16, flags: &[&str]) -> Child {
    let mut server = Command::new(env!("CARGO_BIN_EXE_igny8"))
        .args(["--database", url, "serve", "--addr"])
        .arg(format!("127.0.0.1:{port}"))
        .args(flags)
        .env("IGNY8_JWT_SECRET", "a-secret-shared-by-the-replicas")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while block_on(reqwest::get(format!("http://127.0.0.1:{port}/livez"))).is_err() {
        if let Some(exit) = server.try_wait().unwrap() {
            panic!("igny8 serve exited: {exit}");
        }
        assert!(started.elapsed() < Duration::from_secs(30), "no answer");
        std::thread::sleep(Duration::from_millis(50));
    }
    server
}

/// A content batch of `n` posts with ids from `first`, titled after `round`.
fn batch(first: i64, n: i64, round: u32) -> Value {
    let items: Vec<Value> = (first..first + n)
        .map(|id| {
            json!({"op": "upsert", "kind": "post", "type": "post", "wp_id": id,
                   "modified_gmt": format!("2025-11-22 10:{:02}:00", round % 60),
                   "data": {"title": format!("Post {id} r{round}"), "slug": format!("post-{id}"),
                            "status": "publish", "content": "x".repeat(2_000), "excerpt": "",
                            "author": "Ann", "terms": {}, "meta": {}}})
        })
        .collect();
    json!({"items": items})
}

/// What one request got: the status (0: no answer), `Retry-After`, the body.
struct Answer {
    status: u16,
    retry_after: Option<String>,
    body: Value,
}

async fn send(request: reqwest::RequestBuilder) -> Answer {
    match request.send().await {
        Ok(r) => Answer {
            status: r.status().as_u16(),
            retry_after: r
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            body: r.json().await.unwrap_or(Value::Null),
        },
        Err(e) => Answer {
            status: 0,
            retry_after: None,
            body: Value::String(format!("{e:?}")),
        },
    }
}

/// `sql`'s answer from the database at `url`: a row per line, columns separated by `|`.
fn psql(url: &str, sql: &str) -> String {
    let out = run(Command::new("psql").args([url, "-qAtc", sql]));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The posts the database at `url` holds for the integration: id → title.
fn held(url: &str, integration_id: i64) -> BTreeMap<i64, String> {
    psql(
        url,
        &format!(
        "SELECT wp_id, title FROM content WHERE integration_id = {integration_id} ORDER BY wp_id"
    ),
    )
    .lines()
    .filter_map(|l| {
        let (id, title) = l.split_once('|')?;
        Some((id.parse().ok()?, title.to_owned()))
    })
    .collect()
}

#[test]
fn postgres_stopped_answers_503_with_retry_after_and_the_replica_reconnects() {
    let cluster = Cluster::create("restart").expect(
        "the PostgreSQL server binaries (initdb, pg_ctl) are installed (scripts/test.sh installs postgresql)",
    );
    let port = free_port();
    let mut server = Reaped(serve(&cluster.url(), port, &[]));
    let (key, integration_id) = site_with_integration(&cluster.url(), port);
    let batch_url = format!(
        "http://127.0.0.1:{port}/api/v1/integration/integrations/{integration_id}/content/batch/"
    );
    let client = reqwest::Client::new();
    let post = |first: i64| {
        block_on(send(
            client
                .post(&batch_url)
                .bearer_auth(&key)
                .json(&batch(first, 10, 1)),
        ))
    };
    let healthz = || block_on(send(client.get(format!("http://127.0.0.1:{port}/healthz"))));
    let mut acknowledged = BTreeMap::new();
    let mut note = |first: i64, answer: &Answer| {
        if (200..300).contains(&answer.status) {
            for id in first..first + 10 {
                acknowledged.insert(id, format!("Post {id} r1"));
            }
        }
    };
    for round in 0..3 {
        let answer = post(round * 10 + 1);
        assert_eq!(answer.status, 200, "{}", answer.body);
        note(round * 10 + 1, &answer);
    }

    cluster.stop();
    for round in 3..6 {
        let answer = post(round * 10 + 1);
        assert_eq!(answer.status, 503, "{}", answer.body);
        assert_eq!(answer.body["code"], "store_unavailable");
        assert!(
            answer.body["error"].as_str().unwrap().contains("again"),
            "{}",
            answer.body
        );
        assert_eq!(answer.retry_after.as_deref(), Some("5"));
        note(round * 10 + 1, &answer);
    }
    let health = healthz();
    assert_eq!(health.status, 503);
    assert_eq!(health.retry_after.as_deref(), Some("5"));

    cluster.start();
    // The same process: connections the restart ended fail once each (503, the plugin retries),
    // then new ones are made.
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut first = 61;
    loop {
        let answer = post(first);
        note(first, &answer);
        if answer.status == 200 {
            break;
        }
        assert_eq!(answer.status, 503, "never a 500: {}", answer.body);
        assert!(Instant::now() < deadline, "the replica did not reconnect");
        first += 10;
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(healthz().status, 200);
    for round in 0..3 {
        let first = 1000 + round * 10;
        let answer = post(first);
        assert_eq!(answer.status, 200, "{}", answer.body);
        note(first, &answer);
    }
    assert!(server.0.try_wait().unwrap().is_none(), "never restarted");
    let held = held(&cluster.url(), integration_id);
    for (id, title) in &acknowledged {
        assert_eq!(held.get(id), Some(title), "acknowledged post {id} is held");
    }
    assert!(acknowledged.len() >= 70, "{}", acknowledged.len());
    drop(server);
}

/// A fresh SQLite database URL in a temporary directory of its own.
fn sqlite_url(name: &str) -> (String, RemovedOnDrop) {
    let dir = RemovedOnDrop::create(&format!("igny8-faults-{}-{name}", std::process::id()));
    (
        format!("sqlite://{}", dir.0.join("igny8.db").display()),
        dir,
    )
}

fn status_of(url: String) -> u16 {
    block_on(send(reqwest::Client::new().get(url))).status
}

/// SIGTERM: `/healthz` turns 503 at once while everything else is still served for the shutdown
/// delay; then new connections are refused, the request in flight (its body still arriving)
/// finishes with its answer, and the process exits 0.
#[test]
fn a_stopping_replica_reports_not_ready_then_finishes_what_it_holds() {
    use std::io::{Read, Write};

    let (url, dir) = sqlite_url("drain");
    let port = free_port();
    let mut server = Reaped(serve(&url, port, &["--shutdown-delay", "2"]));
    let (key, integration_id) = site_with_integration(&url, port);
    let at = |path: &str| format!("http://127.0.0.1:{port}{path}");
    assert_eq!(status_of(at("/healthz")), 200);

    // A batch whose body is half sent when the signal comes.
    let body = batch(1, 20, 1).to_string().into_bytes();
    let mut in_flight = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        in_flight,
        "POST /api/v1/integration/integrations/{integration_id}/content/batch/ HTTP/1.1\r\n\
         Host: 127.0.0.1\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    let (first, rest) = body.split_at(body.len() / 2);
    in_flight.write_all(first).unwrap();
    std::thread::sleep(Duration::from_millis(200));

    let signalled = Instant::now();
    run(Command::new("kill").args(["-TERM", &server.0.id().to_string()]));
    let mut saw_not_ready = false;
    while signalled.elapsed() < Duration::from_millis(1500) {
        let health = status_of(at("/healthz"));
        saw_not_ready |= health == 503;
        if saw_not_ready {
            assert_eq!(health, 503, "not ready stays not ready");
            assert_eq!(status_of(at("/livez")), 200, "still serving");
            let sites = block_on(send(
                reqwest::Client::new()
                    .get(at("/api/v1/auth/sites/"))
                    .bearer_auth(&key),
            ));
            assert_eq!(sites.status, 200, "{}", sites.body);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(saw_not_ready, "/healthz never answered 503 after SIGTERM");
    assert!(
        server.0.try_wait().unwrap().is_none(),
        "still up during the delay"
    );

    // The listener closes once the delay is over.
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
        assert!(Instant::now() < deadline, "new connections still accepted");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        signalled.elapsed() >= Duration::from_secs(2),
        "closed before the delay"
    );
    assert!(
        server.0.try_wait().unwrap().is_none(),
        "the request in flight is waited for"
    );
    in_flight.write_all(rest).unwrap();
    let mut answer = String::new();
    in_flight.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"applied\":20"), "{answer}");

    let deadline = Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(exit) = server.0.try_wait().unwrap() {
            break exit;
        }
        assert!(Instant::now() < deadline, "igny8 did not exit");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "{exit}");
    drop(dir);
}

/// A second stop signal during the drain ends the process at once, with a failure status.
#[test]
fn a_second_stop_signal_ends_the_drain_at_once() {
    let (url, dir) = sqlite_url("second-signal");
    let port = free_port();
    let mut server = Reaped(serve(&url, port, &["--shutdown-delay", "60"]));
    let at = |path: &str| format!("http://127.0.0.1:{port}{path}");
    run(Command::new("kill").args(["-TERM", &server.0.id().to_string()]));
    let deadline = Instant::now() + Duration::from_secs(5);
    while status_of(at("/healthz")) != 503 {
        assert!(Instant::now() < deadline, "/healthz never answered 503");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(server.0.try_wait().unwrap().is_none(), "draining");

    let signalled = Instant::now();
    run(Command::new("kill").args(["-INT", &server.0.id().to_string()]));
    let exit = loop {
        if let Some(exit) = server.0.try_wait().unwrap() {
            break exit;
        }
        assert!(
            signalled.elapsed() < Duration::from_secs(5),
            "still running 5 s after the second signal (the drain lasts 60 s)"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(exit.code(), Some(1), "{exit}");
    drop(dir);
}

/// A uniquely named database on the test PostgreSQL server (`IGNY8_TEST_POSTGRES_URL`), dropped
/// when this is dropped.
struct ScratchDatabase {
    admin: String,
    name: String,
    url: String,
}

impl ScratchDatabase {
    fn create(name: &str) -> Self {
        let admin = std::env::var("IGNY8_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let name = format!("igny8_faults_{}_{name}", std::process::id());
        psql(
            &admin,
            &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        );
        psql(&admin, &format!("CREATE DATABASE {name}"));
        let base = admin.rsplit_once('/').expect("a database URL").0;
        let url = format!("{base}/{name}");
        Self { admin, name, url }
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args([
                self.admin.as_str(),
                "-qAtc",
                &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            ])
            .output();
    }
}

/// A child process killed (SIGKILL) when dropped, unless it already exited.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Replicas of `igny8 serve` on one PostgreSQL database behind HAProxy, configured from
/// deploy/haproxy.cfg as the deploy guide says; HAProxy must be installed (scripts/test.sh installs it).
struct Fleet {
    db: ScratchDatabase,
    ports: Vec<u16>,
    replicas: Vec<Reaped>,
    _haproxy: Reaped,
    _dir: RemovedOnDrop,
    /// Where the sites send: HAProxy's address.
    front: String,
    sites: Vec<(String, i64)>,
}

const REPLICA_FLAGS: &[&str] = &["--shutdown-delay", "2"];

impl Fleet {
    /// What HAProxy logged: servers going down and up, and why.
    fn haproxy_log(&self) -> String {
        std::fs::read_to_string(self._dir.0.join("haproxy.log")).unwrap_or_default()
    }

    fn start(name: &str, replicas: usize, sites: usize) -> Self {
        assert!(
            Command::new("haproxy").arg("-v").output().is_ok(),
            "haproxy is installed (scripts/test.sh installs it: apt-get install haproxy)"
        );
        let db = ScratchDatabase::create(name);
        let ports: Vec<u16> = (0..replicas).map(|_| free_port()).collect();
        // Migrations once, before any replica starts, as a rollout does.
        igny8(&db.url, &["migrate"]);
        let running: Vec<Reaped> = ports
            .iter()
            .map(|&p| Reaped(serve(&db.url, p, REPLICA_FLAGS)))
            .collect();
        let sites: Vec<(String, i64)> = (0..sites)
            .map(|i| site_with_integration(&db.url, ports[i % ports.len()]))
            .collect();

        let dir = RemovedOnDrop::create(&format!("igny8-faults-{}-{name}", std::process::id()));
        let front_port = free_port();
        let servers: String = ports
            .iter()
            .enumerate()
            .map(|(i, p)| format!("    server r{i} 127.0.0.1:{p} check\n"))
            .collect();
        let template = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../deploy/haproxy.cfg"
        ))
        .unwrap();
        // The header's comments name the placeholders too: only the settings are filled in.
        let config: String = template
            .lines()
            .map(|line| {
                let line = if line.trim_start().starts_with('#') {
                    line.to_owned()
                } else {
                    line.replace("@LISTEN@", &format!("127.0.0.1:{front_port}"))
                        .replace("@SERVERS@", servers.trim_end())
                };
                line + "\n"
            })
            .collect();
        let config_path = dir.0.join("haproxy.cfg");
        std::fs::write(&config_path, config).unwrap();
        run(Command::new("haproxy")
            .arg("-c")
            .arg("-f")
            .arg(&config_path));
        let haproxy = Reaped(
            // `-n`: the config's maxconn wants ~40,000 descriptors, more than this machine's
            // hard limit (20,000); a test needs a few dozen connections.
            Command::new("haproxy")
                .args(["-db", "-n", "2000"])
                .arg("-f")
                .arg(&config_path)
                .stdout(Stdio::null())
                // Its health-check log: why it took a replica out.
                .stderr(std::fs::File::create(dir.0.join("haproxy.log")).unwrap())
                .spawn()
                .unwrap(),
        );
        let fleet = Self {
            db,
            ports,
            replicas: running,
            _haproxy: haproxy,
            _dir: dir,
            front: format!("http://127.0.0.1:{front_port}"),
            sites,
        };
        fleet.wait_until_balanced();
        fleet
    }

    /// Until HAProxy's health checks have taken every replica in (each answers some of a
    /// handful of requests).
    fn wait_until_balanced(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let ok = (0..6).all(|_| status_of(format!("{}/healthz", self.front)) == 200);
            if ok {
                // `rise 2` at 500 ms: a replica is in after two good checks.
                std::thread::sleep(Duration::from_millis(1200));
                return;
            }
            assert!(Instant::now() < deadline, "HAProxy did not come up");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// SIGTERM to replica `i`, and its exit status once it stopped.
    fn stop(&mut self, i: usize) -> std::process::ExitStatus {
        let child = &mut self.replicas[i].0;
        run(Command::new("kill").args(["-TERM", &child.id().to_string()]));
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(exit) = child.try_wait().unwrap() {
                return exit;
            }
            assert!(Instant::now() < deadline, "replica {i} did not stop");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn restart(&mut self, i: usize) {
        self.replicas[i] = Reaped(serve(&self.db.url, self.ports[i], REPLICA_FLAGS));
    }
}

/// A directory under the system's temporary one, removed with what it holds when dropped.
struct RemovedOnDrop(PathBuf);

impl RemovedOnDrop {
    fn create(name: &str) -> Self {
        let dir = std::env::temp_dir().join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for RemovedOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A request that did not get a 2xx: when it was sent and answered, and what it got.
#[derive(Debug, Clone)]
struct Failure {
    sent: Instant,
    ended: Instant,
    status: u16,
    body: Value,
}

/// What the simulated sites saw: every post acknowledged per integration, every failure.
#[derive(Default)]
struct Seen {
    acknowledged: BTreeMap<i64, BTreeMap<i64, String>>,
    failures: Vec<Failure>,
    batches: usize,
}

/// Plugin time compressed for the tests: one plugin second is 5 ms here.
const PLUGIN_SECOND: Duration = Duration::from_millis(5);

/// The plugin's wait after a failed batch (`igny8_retry_delay` in sync/platform.php): the server's
/// `Retry-After` when given; 180 s after a 429 or 503 without one; else 60 s doubling with each
/// failure in a row, at most an hour; plus up to a fifth more (`igny8_jitter`).
fn plugin_backoff(status: u16, retry_after: Option<&str>, failures: u32, site: usize) -> Duration {
    let seconds = match retry_after.and_then(|r| r.trim().parse::<u64>().ok()) {
        Some(s) => s.min(86_400),
        None if status == 429 || status == 503 => 180,
        None => (60u64 << failures.min(6)).min(3600),
    };
    let jitter = (seconds / 5) * (site as u64 % 5) / 4;
    PLUGIN_SECOND * u32::try_from(seconds + jitter).unwrap_or(u32::MAX)
}

/// Each site sends `batches` content batches of `items` new posts through `front`, one at a time
/// as the plugin's queue does; a failed batch is sent again after the plugin's back-off, until it
/// is acknowledged. `during` runs beside them (the fault), given when the load began.
fn sites_send(
    front: &str,
    sites: &[(String, i64)],
    batches: i64,
    items: i64,
    during: impl FnOnce(Instant) + Send,
) -> Seen {
    let seen = std::sync::Mutex::new(Seen::default());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let began = Instant::now();
    std::thread::scope(|scope| {
        scope.spawn(|| during(began));
        runtime.block_on(async {
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap();
            let mut tasks = Vec::new();
            for (site, (key, integration_id)) in sites.iter().enumerate() {
                let (client, key, integration_id) = (client.clone(), key.clone(), *integration_id);
                let url = format!(
                    "{front}/api/v1/integration/integrations/{integration_id}/content/batch/"
                );
                let seen = &seen;
                tasks.push(async move {
                    for n in 0..batches {
                        let first = n * items + 1;
                        let body = batch(first, items, 1);
                        let mut failures = 0;
                        loop {
                            let sent = Instant::now();
                            let answer =
                                send(client.post(&url).bearer_auth(&key).json(&body)).await;
                            let ended = Instant::now();
                            if (200..300).contains(&answer.status) {
                                let mut seen = seen.lock().unwrap();
                                let acked = seen.acknowledged.entry(integration_id).or_default();
                                for id in first..first + items {
                                    acked.insert(id, format!("Post {id} r1"));
                                }
                                seen.batches += 1;
                                break;
                            }
                            seen.lock().unwrap().failures.push(Failure {
                                sent,
                                ended,
                                status: answer.status,
                                body: answer.body.clone(),
                            });
                            let wait = plugin_backoff(
                                answer.status,
                                answer.retry_after.as_deref(),
                                failures,
                                site,
                            );
                            failures += 1;
                            tokio::time::sleep(wait).await;
                        }
                    }
                });
            }
            futures_join_all(tasks).await;
        });
    });
    seen.into_inner().unwrap()
}

/// Runs the futures to completion together (no `futures` crate in this package).
async fn futures_join_all<F: std::future::Future<Output = ()>>(tasks: Vec<F>) {
    let set: Vec<_> = tasks.into_iter().map(Box::pin).collect();
    let mut set: Vec<_> = set.into_iter().map(Some).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for slot in set.iter_mut() {
            if let Some(task) = slot {
                if task.as_mut().poll(cx).is_ready() {
                    *slot = None;
                } else {
                    pending = true;
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
}

/// FNV-1a over `id:title,` of the posts in id order: the per-integration checksum compared.
fn checksum(posts: &BTreeMap<i64, String>) -> u64 {
    posts
        .iter()
        .flat_map(|(id, title)| format!("{id}:{title},").into_bytes())
        .fold(0xcbf2_9ce4_8422_2325, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        })
}

/// Every acknowledged post is in PostgreSQL: per integration, the same count and checksum as the
/// sites were told were applied (and nothing else: every batch was eventually acknowledged).
fn assert_held(fleet: &Fleet, seen: &Seen, batches: i64, items: i64) {
    assert_eq!(seen.batches, fleet.sites.len() * batches as usize);
    for (_, integration_id) in &fleet.sites {
        let sent = &seen.acknowledged[integration_id];
        assert_eq!(sent.len() as i64, batches * items);
        let held = held(&fleet.db.url, *integration_id);
        assert_eq!(
            (held.len(), checksum(&held)),
            (sent.len(), checksum(sent)),
            "integration {integration_id}: count and checksum held = acknowledged"
        );
    }
}

#[test]
fn a_replica_killed_under_load_loses_no_acknowledged_batch() {
    let mut fleet = Fleet::start("kill", 2, 6);
    let (batches, items) = (25, 40);
    let mut killed = None;
    let doomed = &mut fleet.replicas[0].0;
    let seen = sites_send(&fleet.front, &fleet.sites, batches, items, |_| {
        std::thread::sleep(Duration::from_millis(600));
        let before = Instant::now();
        doomed.kill().unwrap();
        // Dead (its sockets closed) once it can be waited for.
        doomed.wait().unwrap();
        killed = Some((before, Instant::now()));
    });
    let (before, after) = killed.expect("the replica was killed");
    assert_held(&fleet, &seen, batches, items);
    // Errors only around the kill: requests in flight on the killed replica when it died, and
    // those HAProxy sent it before its health checks took it out (`inter 500ms`, `fall 2`: within
    // about a second; under load a request sent a few ms after the kill can still go over a
    // connection to the dead process). Each failed batch is sent again and acknowledged above.
    let taken_out = after + Duration::from_millis(1500);
    for f in &seen.failures {
        assert!(
            f.sent <= taken_out && f.ended >= before,
            "a request failed that was sent {:?} after the kill, when HAProxy had taken the replica out: {f:?}",
            f.sent.saturating_duration_since(after)
        );
        assert!(
            matches!(f.status, 0 | 502 | 503),
            "{}: {}",
            f.status,
            f.body
        );
    }
    eprintln!(
        "killed one of 2 replicas: {} batches acknowledged, {} failed attempts (around the kill), statuses {:?} (0: the connection closed)",
        seen.batches,
        seen.failures.len(),
        seen.failures.iter().map(|f| f.status).collect::<Vec<_>>()
    );
}

#[test]
fn a_rolling_restart_fails_no_request() {
    let mut fleet = Fleet::start("rolling", 2, 6);
    let (batches, items) = (60, 20);
    let (front, sites) = (fleet.front.clone(), fleet.sites.clone());
    let mut restarted = Vec::new();
    let seen = sites_send(&front, &sites, batches, items, |_| {
        for i in 0..fleet.replicas.len() {
            std::thread::sleep(Duration::from_millis(300));
            let exit = fleet.stop(i);
            fleet.restart(i);
            fleet.wait_until_balanced();
            restarted.push(exit.success());
        }
    });
    assert_eq!(
        restarted,
        [true, true],
        "each replica exited 0 and came back"
    );
    assert!(seen.failures.is_empty(), "{:?}", seen.failures);
    assert_held(&fleet, &seen, batches, items);
    // Each replica left because its readiness said so (a 503 from /healthz), before its listener
    // closed (which HAProxy would see as a refused connection).
    let log = fleet.haproxy_log();
    let down: Vec<&str> = log.lines().filter(|l| l.contains(" is DOWN")).collect();
    for replica in ["replicas/r0", "replicas/r1"] {
        assert!(
            down.iter()
                .any(|l| l.contains(replica) && l.contains("Layer7 wrong status, code: 503")),
            "{replica} was not taken out by its readiness: {log}"
        );
    }
    assert!(
        !down.iter().any(|l| l.contains("Layer4")),
        "a listener closed before HAProxy took its replica out: {log}"
    );
}
