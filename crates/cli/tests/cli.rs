//! The `igny8` binary as an operator uses it: admin commands with human and JSON output, `serve`
//! on a real port, and a graceful stop on SIGTERM.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;
use common::{block_on, free_port};

struct Db {
    url: String,
    _dir: PathBuf,
}

fn fresh_db(name: &str) -> Db {
    let dir = std::env::temp_dir().join(format!("igny8-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    Db {
        url: format!("sqlite://{}", dir.join("cli.db").display()),
        _dir: dir,
    }
}

fn igny8(db: &Db, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_igny8"))
        .arg("--database")
        .arg(&db.url)
        .args(args)
        .env_remove("DATABASE_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(s) = stdin {
        input.write_all(s.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn json(db: &Db, args: &[&str], stdin: Option<&str>) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = igny8(db, &all, stdin);
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.trim()).unwrap_or_else(|_| {
        panic!(
            "JSON from {args:?}: {text} / {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[test]
fn admin_commands_manage_users_sites_and_keys() {
    let db = fresh_db("admin");
    let out = igny8(&db, &["migrate"], None);
    assert!(out.status.success());
    let user = json(
        &db,
        &[
            "user",
            "create",
            "--email",
            "Ann@Example.com",
            "--password-stdin",
            "--account-name",
            "Acme",
        ],
        Some("correct horse\n"),
    );
    assert_eq!(user["email"], "ann@example.com");
    let again = json(
        &db,
        &[
            "user",
            "create",
            "--email",
            "ann@example.com",
            "--password-stdin",
        ],
        Some("correct horse\n"),
    );
    assert_eq!(again["success"], false);
    assert!(again["error"].as_str().unwrap().contains("already exists"));
    let weak = json(
        &db,
        &[
            "user",
            "create",
            "--email",
            "bob@example.com",
            "--password-stdin",
        ],
        Some("short\n"),
    );
    assert!(
        weak["error"].as_str().unwrap().contains("password"),
        "{weak}"
    );

    let site = json(
        &db,
        &[
            "site",
            "create",
            "--owner",
            "ann@example.com",
            "--name",
            "Blog <b>",
            "--url",
            "https://blog.example/",
        ],
        None,
    );
    let id = site["id"].as_i64().unwrap().to_string();
    assert_eq!(site["site"]["url"], "https://blog.example");
    let bad = json(
        &db,
        &[
            "site",
            "create",
            "--owner",
            "ann@example.com",
            "--name",
            "X",
            "--url",
            "javascript:alert(1)",
        ],
        None,
    );
    assert_eq!(bad["success"], false);
    let nobody = json(
        &db,
        &[
            "site",
            "create",
            "--owner",
            "nobody@example.com",
            "--name",
            "X",
            "--url",
            "https://x.example",
        ],
        None,
    );
    assert!(
        nobody["error"]
            .as_str()
            .unwrap()
            .contains("igny8 user create"),
        "errors say what to do next"
    );

    let listed = json(&db, &["site", "list", "--owner", "ann@example.com"], None);
    assert_eq!(listed["sites"].as_array().unwrap().len(), 1);
    let human =
        String::from_utf8(igny8(&db, &["site", "list", "--owner", "ann@example.com"], None).stdout)
            .unwrap();
    assert!(
        human.contains("Blog <b>") && human.contains("active"),
        "{human}"
    );

    let key = json(
        &db,
        &["site", "key", "create", "--site", &id, "--label", "prod"],
        None,
    );
    let secret = key["key"].as_str().unwrap();
    let prefix = key["prefix"].as_str().unwrap();
    assert!(secret.starts_with(&format!("igny8_{prefix}_")));
    let keys = json(&db, &["site", "key", "list", "--site", &id], None);
    assert_eq!(keys["keys"][0]["prefix"], prefix);
    assert!(
        !keys.to_string().contains(secret),
        "a key is shown once, never listed"
    );
    let revoked = json(
        &db,
        &["site", "key", "revoke", "--site", &id, "--prefix", prefix],
        None,
    );
    assert!(revoked["key"]["revoked_at"].is_string());
    let unknown = igny8(
        &db,
        &[
            "site", "key", "revoke", "--site", &id, "--prefix", "zzzzzzzz",
        ],
        None,
    );
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("key list"));

    let off = json(&db, &["site", "deactivate", "--site", &id], None);
    assert_eq!(off["site"]["is_active"], false);
    let on = json(&db, &["site", "activate", "--site", &id], None);
    assert_eq!(on["site"]["is_active"], true);
    let missing = igny8(&db, &["site", "activate", "--site", "999"], None);
    assert!(!missing.status.success());
}

#[test]
fn a_database_url_of_another_kind_is_refused_clearly() {
    let db = Db {
        url: "mysql://x@y/z".into(),
        _dir: std::env::temp_dir(),
    };
    let out = igny8(&db, &["migrate"], None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("sqlite:// or postgres://"));
}

/// A user (with the password "correct horse") and one site of theirs, made with the CLI; answers
/// the site's id.
fn owner_with_site(db: &Db, email: &str, site_url: &str) -> i64 {
    let user = json(
        db,
        &["user", "create", "--email", email, "--password-stdin"],
        Some("correct horse\n"),
    );
    assert_eq!(user["email"], email, "{user}");
    let site = json(
        db,
        &[
            "site", "create", "--owner", email, "--name", "Blog", "--url", site_url,
        ],
        None,
    );
    site["id"].as_i64().unwrap_or_else(|| panic!("{site}"))
}

/// The integrations API of an `igny8 serve` on `port`.
fn integrations_url(port: u16) -> String {
    format!("http://127.0.0.1:{port}/api/v1/integration/integrations/")
}

/// `igny8 serve` on `port` with JSON logs on a pipe, once `/healthz` answers (its body).
fn serve(db: &Db, port: u16) -> (std::process::Child, String) {
    serve_logging(db, port, "json")
}

/// `igny8 serve` with logs in `format` on a pipe, once `/healthz` answers (its body).
fn serve_logging(db: &Db, port: u16, format: &str) -> (std::process::Child, String) {
    serve_with(db, port, &["--log-format", format])
}

/// `igny8 serve` with more flags, logs on a pipe, once `/healthz` answers (its body).
fn serve_with(db: &Db, port: u16, flags: &[&str]) -> (std::process::Child, String) {
    serve_env(db, port, flags, &[])
}

/// `serve_with`, with environment variables (the log pipe is read only at the end: a test that
/// sends many requests quiets the log, or the full pipe would stall the server).
fn serve_env(
    db: &Db,
    port: u16,
    flags: &[&str],
    env: &[(&str, &str)],
) -> (std::process::Child, String) {
    let mut server = Command::new(env!("CARGO_BIN_EXE_igny8"))
        .envs(env.iter().copied())
        .args([
            "--database",
            &db.url,
            "serve",
            "--addr",
            &format!("127.0.0.1:{port}"),
        ])
        .args(flags)
        .env("IGNY8_JWT_SECRET", "a-secret-that-must-not-be-logged")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        let got = block_on(async {
            reqwest::get(format!("http://127.0.0.1:{port}/healthz"))
                .await
                .ok()?
                .text()
                .await
                .ok()
        });
        if let Some(body) = got {
            return (server, body);
        }
        if let Some(exit) = server.try_wait().unwrap() {
            panic!("igny8 serve exited: {exit}");
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "igny8 serve did not come up"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn serve_answers_on_its_port_and_stops_on_sigterm() {
    let db = fresh_db("serve");
    let port = free_port();
    let (server, answer) = serve(&db, port);
    assert!(answer.contains("ok"));
    assert!(
        std::path::Path::new(db.url.trim_start_matches("sqlite://")).exists(),
        "the SQLite file is created on first start"
    );
    let (exit, log) = stop(server);
    assert!(exit.success(), "graceful stop exits 0");
    assert!(
        log.contains("\"route\":\"/healthz\""),
        "structured request log: {log}"
    );
    assert!(!log.contains("a-secret-that-must-not-be-logged"));
}

/// The metrics address serves what the server counted, store operations included (timed from
/// their `tracing` spans, at any log level); every JSON log line of a request names its id.
#[test]
fn metrics_on_their_own_address_time_the_store_and_logs_carry_request_ids() {
    let db = fresh_db("metrics");
    let (port, metrics_port) = (free_port(), free_port());
    let key = owner_with_key(&db);
    let metrics_addr = format!("127.0.0.1:{metrics_port}");
    let (server, _) = serve_with(
        &db,
        port,
        &["--log-format", "json", "--metrics-addr", &metrics_addr],
    );
    let client = reqwest::Client::new();
    let status = block_on(async {
        client
            .get(format!("http://127.0.0.1:{port}/api/v1/auth/sites/"))
            .bearer_auth(&key)
            .header("x-request-id", "cli-request-42")
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(status.as_u16(), 200);
    let text = block_on(async {
        reqwest::get(format!("http://{metrics_addr}/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    });
    let (exit, log) = stop(server);
    assert!(exit.success());
    assert!(
        text.lines().any(|l| l.starts_with(
            "igny8_store_operation_duration_seconds_count{store=\"sqlite\",operation=\"api_key_by_prefix\"}"
        )),
        "{text}"
    );
    assert!(text.contains(
        "igny8_http_requests_total{method=\"GET\",route=\"/api/v1/auth/sites\",status=\"200\"} 1"
    ));
    let request_line = log
        .lines()
        .find(|l| l.contains("\"route\":\"/api/v1/auth/sites\""))
        .expect("the request is logged");
    assert!(
        request_line.contains("\"id\":\"cli-request-42\""),
        "{request_line}"
    );
}

/// A user, a site and its API key, made with the admin commands; answers the key.
fn owner_with_key(db: &Db) -> String {
    let site = owner_with_site(db, "ops@example.com", "https://ops.example");
    json(
        db,
        &["site", "key", "create", "--site", &site.to_string()],
        None,
    )["key"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// POSTs `body` with the site key `key` and answers the JSON answer.
fn post_json(client: &reqwest::Client, url: String, key: &str, body: &Value) -> Value {
    block_on(async {
        client
            .post(url)
            .bearer_auth(key)
            .json(body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    })
}

/// Sends SIGTERM, waits (at most 10 s) for the server to stop, and answers how it exited and what
/// it logged.
fn stop(mut server: std::process::Child) -> (std::process::ExitStatus, String) {
    let status = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(exit) = server.try_wait().unwrap() {
            break exit;
        }
        assert!(Instant::now() < deadline, "igny8 did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut log = String::new();
    std::io::Read::read_to_string(server.stderr.as_mut().unwrap(), &mut log).unwrap();
    (exit, log)
}

#[test]
fn text_logs_on_a_pipe_carry_no_colour_codes() {
    let db = fresh_db("textlog");
    let (server, _) = serve_logging(&db, free_port(), "text");
    let (_, log) = stop(server);
    assert!(log.contains("request") && log.contains("/healthz"), "{log}");
    assert!(
        !log.contains('\x1b'),
        "escape codes in a piped log: {log:?}"
    );
}

#[test]
fn postgres_urls_open_the_postgres_store() {
    let admin = std::env::var("IGNY8_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let name = format!("igny8_cli_{}", std::process::id());
    let psql = |sql: &str| {
        Command::new("psql")
            .args([admin.as_str(), "-qAtc", sql])
            .output()
            .expect("psql runs")
    };
    let created = psql(&format!("CREATE DATABASE {name}"));
    assert!(
        created.status.success(),
        "PostgreSQL must be reachable at {admin}: {}",
        String::from_utf8_lossy(&created.stderr)
    );
    let url = match admin.rfind('/') {
        Some(i) => format!("{}/{name}", &admin[..i]),
        None => panic!("bad url"),
    };
    let db = Db {
        url,
        _dir: std::env::temp_dir(),
    };
    owner_with_site(&db, "pg@example.com", "https://pg.example");
    psql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
}

/// Whether another connection holds the SQLite file's write lock right now.
fn write_lock_taken(path: &str) -> bool {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.busy_timeout(Duration::ZERO).unwrap();
    let busy = conn.execute_batch("BEGIN IMMEDIATE").is_err();
    if !busy {
        conn.execute_batch("ROLLBACK").unwrap();
    }
    busy
}

fn held_posts(path: &str) -> i64 {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    conn.query_row("SELECT COUNT(*) FROM content", [], |r| r.get(0))
        .unwrap()
}

/// `igny8 serve` is killed (SIGKILL) while it applies a content batch: the batch's transaction
/// never commits, so nothing of it is held, and the plugin's re-delivery to a new server on the
/// same file converges.
#[test]
fn a_server_killed_mid_batch_applies_nothing_and_a_resend_converges() {
    let db = fresh_db("kill");
    let file = db.url.trim_start_matches("sqlite://").to_owned();
    assert!(igny8(&db, &["migrate"], None).status.success());
    let site_id = owner_with_site(&db, "ann@example.com", "https://blog.example");
    let key = json(
        &db,
        &["site", "key", "create", "--site", &site_id.to_string()],
        None,
    );
    let key = key["key"].as_str().unwrap().to_owned();
    let client = reqwest::Client::new();

    let port = free_port();
    let (mut server, _) = serve(&db, port);
    let created = post_json(
        &client,
        integrations_url(port),
        &key,
        &serde_json::json!({"site": site_id}),
    );
    let integration_id = created["data"]["id"].as_i64().unwrap();
    let batch_url = |port| format!("{}{integration_id}/content/batch/", integrations_url(port));
    server.kill().unwrap();
    server.wait().unwrap();

    let items: Vec<Value> = (1..=500)
        .map(|id| serde_json::json!({"op": "upsert", "kind": "post", "type": "post", "wp_id": id,
            "modified_gmt": "2025-11-22 10:00:00",
            "data": {"title": format!("Post {id}"), "slug": format!("post-{id}"), "status": "publish",
                     "content": "z".repeat(12_000), "excerpt": "", "author": "Ann", "terms": {}, "meta": {}}}))
        .collect();
    let body = serde_json::json!({"items": items});
    let mut killed_inside = false;
    for _attempt in 0..5 {
        let port = free_port();
        let (mut doomed, _) = serve(&db, port);
        let url = batch_url(port);
        let (client, key, body) = (client.clone(), key.clone(), body.clone());
        let request = std::thread::spawn(move || {
            block_on(async {
                client
                    .post(url)
                    .bearer_auth(key)
                    .json(&body)
                    .send()
                    .await
                    .ok()
            })
        });
        // The batch's transaction holds SQLite's write lock from its first to its last statement:
        // kill the server the moment it is seen taken.
        let mut inside = false;
        let deadline = Instant::now() + Duration::from_secs(20);
        while !inside && !request.is_finished() && Instant::now() < deadline {
            inside = write_lock_taken(&file);
        }
        doomed.kill().unwrap();
        doomed.wait().unwrap();
        let _ = request.join();
        let held = held_posts(&file);
        assert!(
            held == 0 || held == 500,
            "a batch was half applied: {held} of 500 held"
        );
        if inside && held == 0 {
            killed_inside = true;
            break;
        }
        rusqlite::Connection::open(&file)
            .unwrap()
            .execute("DELETE FROM content", [])
            .unwrap();
    }
    assert!(killed_inside, "no kill landed inside a batch's transaction");

    let port = free_port();
    let (mut server, _) = serve(&db, port);
    let answer = post_json(&client, batch_url(port), &key, &body);
    assert_eq!(answer["data"]["applied"], 500, "{answer}");
    assert_eq!(held_posts(&file), 500);
    server.kill().unwrap();
    server.wait().unwrap();
}

/// `igny8 backup` while a site keeps sending batches: the backup opens, passes `integrity_check`,
/// and holds every batch acknowledged before it began; `igny8 restore` brings it back.
#[test]
fn a_backup_under_write_load_holds_every_acknowledged_batch_and_restores() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    const PER_BATCH: i64 = 20;

    let db = fresh_db("backup");
    assert!(igny8(&db, &["migrate"], None).status.success());
    let site_id = owner_with_site(&db, "ann@example.com", "https://blog.example");
    let key = json(
        &db,
        &["site", "key", "create", "--site", &site_id.to_string()],
        None,
    )["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let port = free_port();
    let (server, _) = serve_env(&db, port, &[], &[("IGNY8_LOG", "warn")]);
    let client = reqwest::Client::new();
    let created = post_json(
        &client,
        integrations_url(port),
        &key,
        &serde_json::json!({"site": site_id}),
    );
    let batch_url = format!(
        "{}{}/content/batch/",
        integrations_url(port),
        created["data"]["id"].as_i64().unwrap()
    );

    // The site: batch n holds posts n*20+1 ..= n*20+20; each acknowledged one is recorded.
    let acknowledged = Arc::new(Mutex::new(Vec::<i64>::new()));
    let stop_writing = Arc::new(AtomicBool::new(false));
    let writer = {
        let (acknowledged, stop_writing) = (acknowledged.clone(), stop_writing.clone());
        let key = key.clone();
        // One runtime and one client for the whole loop: a client's pooled connections belong to
        // the runtime that opened them.
        std::thread::spawn(move || {
            block_on(async move {
                let client = reqwest::Client::builder()
                    .timeout(Duration::from_secs(30))
                    .build()
                    .unwrap();
                let mut n = 0;
                while !stop_writing.load(Ordering::SeqCst) {
                    let items: Vec<Value> = (n * PER_BATCH + 1..=n * PER_BATCH + PER_BATCH)
                        .map(|id| {
                            serde_json::json!({"op": "upsert", "kind": "post", "type": "post",
                            "wp_id": id, "modified_gmt": "2025-11-22 10:00:00",
                            "data": {"title": format!("Post {id}"), "slug": format!("post-{id}"),
                                     "status": "publish", "content": "x".repeat(2_000)}})
                        })
                        .collect();
                    let answer: Value = client
                        .post(&batch_url)
                        .bearer_auth(&key)
                        .json(&serde_json::json!({"items": items}))
                        .send()
                        .await
                        .unwrap()
                        .json()
                        .await
                        .unwrap();
                    assert_eq!(answer["data"]["applied"], PER_BATCH, "{answer}");
                    acknowledged.lock().unwrap().push(n);
                    n += 1;
                }
            })
        })
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while acknowledged.lock().unwrap().len() < 20 {
        assert!(
            Instant::now() < deadline,
            "the site's batches are not acknowledged"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let before: Vec<i64> = acknowledged.lock().unwrap().clone();
    let file = db._dir.join("igny8-backup.db");
    let answer = json(&db, &["backup", "--to", file.to_str().unwrap()], None);
    assert_eq!(answer["success"], true, "{answer}");
    let during = acknowledged.lock().unwrap().len();
    std::thread::sleep(Duration::from_millis(200));
    stop_writing.store(true, Ordering::SeqCst);
    writer.join().unwrap();
    let after = acknowledged.lock().unwrap().len();
    stop(server);
    assert!(after > before.len(), "the writes went on around the backup");

    let backup = rusqlite::Connection::open(&file).unwrap();
    let verdict: String = backup
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(verdict, "ok");
    let mode: String = backup
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "delete", "one file, no -wal needed");
    for n in &before {
        let held: i64 = backup
            .query_row(
                "SELECT COUNT(*) FROM content WHERE wp_id BETWEEN ? AND ?",
                [n * PER_BATCH + 1, n * PER_BATCH + PER_BATCH],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(
            held, PER_BATCH,
            "batch {n} was acknowledged before the backup"
        );
    }
    let in_backup: i64 = backup
        .query_row("SELECT COUNT(*) FROM content", [], |r| r.get(0))
        .unwrap();
    assert_eq!(in_backup % PER_BATCH, 0, "whole batches only");
    assert!(in_backup <= i64::try_from(during).unwrap() * PER_BATCH + PER_BATCH);
    drop(backup);

    // Restore into a new place; the admin commands and the server see it.
    let restored = fresh_db("restored");
    let answer = json(
        &restored,
        &["restore", "--from", file.to_str().unwrap()],
        None,
    );
    assert_eq!(answer["success"], true, "{answer}");
    assert_eq!(
        held_posts(restored.url.trim_start_matches("sqlite://")),
        in_backup
    );
    let sites = json(
        &restored,
        &["site", "list", "--owner", "ann@example.com"],
        None,
    );
    assert!(
        sites.to_string().contains("https://blog.example"),
        "{sites}"
    );

    // Not every file is a backup.
    let stranger = restored._dir.join("stranger.db");
    rusqlite::Connection::open(&stranger)
        .unwrap()
        .execute_batch("CREATE TABLE t (x)")
        .unwrap();
    let refused = igny8(
        &restored,
        &["restore", "--from", stranger.to_str().unwrap()],
        None,
    );
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("not an igny8 database"));
}
