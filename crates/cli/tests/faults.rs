//! Faults an operator meets, against the real `igny8` binary: PostgreSQL stopped and started again
//! under a replica (503 with `Retry-After` meanwhile, reconnection on its own, nothing acknowledged
//! lost).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

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

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
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
    igny8(url, &["migrate"]);
    let mut user = Command::new(env!("CARGO_BIN_EXE_igny8"))
        .args(["--database", url, "user", "create", "--email"])
        .arg(format!("ops{port}@example.com"))
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
            &format!("ops{port}@example.com"),
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
        Err(_) => Answer {
            status: 0,
            retry_after: None,
            body: Value::Null,
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
    let Some(cluster) = Cluster::create("restart") else {
        eprintln!("SKIPPED: the PostgreSQL server binaries (initdb, pg_ctl) are not installed");
        return;
    };
    let port = free_port();
    let mut server = serve(&cluster.url(), port, &[]);
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
    assert!(server.try_wait().unwrap().is_none(), "never restarted");
    let held = held(&cluster.url(), integration_id);
    for (id, title) in &acknowledged {
        assert_eq!(held.get(id), Some(title), "acknowledged post {id} is held");
    }
    assert!(acknowledged.len() >= 70, "{}", acknowledged.len());
    server.kill().unwrap();
    server.wait().unwrap();
}

/// A fresh SQLite database URL in a temporary directory of its own (removed by the caller).
fn sqlite_url(name: &str) -> (String, PathBuf) {
    let dir = std::env::temp_dir().join(format!("igny8-faults-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    (format!("sqlite://{}", dir.join("igny8.db").display()), dir)
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
    let mut server = serve(&url, port, &["--shutdown-delay", "2"]);
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
    run(Command::new("kill").args(["-TERM", &server.id().to_string()]));
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
        server.try_wait().unwrap().is_none(),
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
        server.try_wait().unwrap().is_none(),
        "the request in flight is waited for"
    );
    in_flight.write_all(rest).unwrap();
    let mut answer = String::new();
    in_flight.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"applied\":20"), "{answer}");

    let deadline = Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(exit) = server.try_wait().unwrap() {
            break exit;
        }
        assert!(Instant::now() < deadline, "igny8 did not exit");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "{exit}");
    let _ = std::fs::remove_dir_all(dir);
}
