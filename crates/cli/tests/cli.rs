//! The `igny8` binary as an operator uses it: admin commands with human and JSON output, `serve`
//! on a real port, and a graceful stop on SIGTERM.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

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

#[test]
fn serve_answers_on_its_port_and_stops_on_sigterm() {
    let db = fresh_db("serve");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = Command::new(env!("CARGO_BIN_EXE_igny8"))
        .args([
            "--database",
            &db.url,
            "serve",
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--log-format",
            "json",
        ])
        .env("IGNY8_JWT_SECRET", "a-secret-that-must-not-be-logged")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let answer = loop {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let got = rt.block_on(async {
            reqwest::get(format!("http://127.0.0.1:{port}/healthz"))
                .await
                .ok()?
                .text()
                .await
                .ok()
        });
        if let Some(body) = got {
            break body;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "igny8 serve did not come up"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(answer.contains("ok"));
    assert!(
        std::path::Path::new(db.url.trim_start_matches("sqlite://")).exists(),
        "the SQLite file is created on first start"
    );
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
    assert!(exit.success(), "graceful stop exits 0");
    let mut log = String::new();
    std::io::Read::read_to_string(server.stderr.as_mut().unwrap(), &mut log).unwrap();
    assert!(
        log.contains("\"route\":\"/healthz\""),
        "structured request log: {log}"
    );
    assert!(!log.contains("a-secret-that-must-not-be-logged"));
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
    let user = json(
        &db,
        &[
            "user",
            "create",
            "--email",
            "pg@example.com",
            "--password-stdin",
        ],
        Some("correct horse"),
    );
    assert_eq!(user["email"], "pg@example.com");
    let site = json(
        &db,
        &[
            "site",
            "create",
            "--owner",
            "pg@example.com",
            "--name",
            "PG",
            "--url",
            "https://pg.example",
        ],
        None,
    );
    assert!(site["id"].as_i64().is_some());
    psql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
}
