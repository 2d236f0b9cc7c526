//! How fast the platform ingests content batches, end to end over HTTP: the app runs in-process on
//! a local port over a fresh SQLite file or PostgreSQL database, and 2–4 senders post full-sync
//! batches of 500 items (range markers included) as the plugin does. Prints items/s, batch
//! latencies and the process's peak RSS (server and senders together, with the batches' JSON, which is
//! built before the clock starts).
//!
//! cargo run --release -p igny8-server --example ingest_bench -- --items 100000 --db sqlite
//! cargo run --release -p igny8-server --example ingest_bench -- --items 100000 --db postgres \
//!     [--postgres-url postgres://postgres@127.0.0.1:5432/postgres] [--senders 3] [--body-bytes 2000]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use igny8_domain::api_key::NewApiKey;
use igny8_server::Settings;
use igny8_store::{NewApiKeyRow, NewUser, Store};
use sqlx::{Connection, Executor, PgConnection};

/// The allocator of the `igny8` binary, so the figures are the product's.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Args {
    items: u64,
    db: String,
    postgres_url: String,
    senders: usize,
    batch: u64,
    body_bytes: usize,
}

fn args() -> Args {
    let mut a = Args {
        items: 100_000,
        db: "sqlite".into(),
        postgres_url: "postgres://postgres@127.0.0.1:5432/postgres".into(),
        senders: 3,
        batch: 500,
        body_bytes: 2_000,
    };
    let raw: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < raw.len() {
        let value = raw.get(i + 1).cloned().unwrap_or_default();
        match raw[i].as_str() {
            "--items" => a.items = value.parse().expect("--items N"),
            "--db" => a.db = value,
            "--postgres-url" => a.postgres_url = value,
            "--senders" => a.senders = value.parse().expect("--senders N"),
            "--batch" => a.batch = value.parse().expect("--batch N"),
            "--body-bytes" => a.body_bytes = value.parse().expect("--body-bytes N"),
            other => panic!("unknown argument {other}"),
        }
        i += 2;
    }
    assert!(a.batch >= 1 && a.batch <= 500, "--batch is 1..=500");
    a
}

/// A line of /proc/self/status (`VmHWM:`, `VmRSS:`), in MiB.
fn status_mib(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// The process's peak resident set, in MiB.
fn peak_rss_mib() -> f64 {
    status_mib("VmHWM:")
}

/// The process's resident set now, in MiB.
fn rss_mib() -> f64 {
    status_mib("VmRSS:")
}

/// One full-sync batch as the plugin builds it: posts `[from, to]` with a body of about
/// `body_bytes`, SEO fields, terms and a range marker.
fn batch_body(from: u64, to: u64, body_bytes: usize) -> Vec<u8> {
    let paragraph =
        "<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.</p>";
    let content = paragraph.repeat(body_bytes / paragraph.len() + 1);
    let mut out = String::with_capacity((to - from + 1) as usize * (body_bytes + 700));
    out.push_str(r#"{"batch_id":"bench","items":["#);
    for id in from..=to {
        if id > from {
            out.push(',');
        }
        let minute = id % 60;
        out.push_str(&format!(
            r#"{{"op":"upsert","kind":"post","type":"post","wp_id":{id},"modified_gmt":"2025-11-22 10:{minute:02}:00","data":{{"title":"Post {id}: a title of ordinary length","slug":"post-{id}","status":"publish","content":"{content}","excerpt":"A short excerpt of post {id}.","author":"Ann","date_gmt":"2025-11-20 09:00:00","url":"https://blog.example/post-{id}/","parent":0,"menu_order":0,"featured_image":null,"terms":{{"category":[3,7],"post_tag":[12]}},"seo":{{"title":"%title% %sep% %sitename%","description":"About post {id}","focus_keyword":"post","canonical":null,"robots":"index, follow","source":"yoast","raw":{{"_yoast_wpseo_title":"%title% %sep% %sitename%"}}}},"meta":{{}}}}}}"#
        ));
    }
    out.push_str(&format!(
        r#"],"full_sync":{{"run_id":"bench-run","kind":"post","type":"post","from_id":{from},"to_id":{to}}}}}"#
    ));
    out.into_bytes()
}

/// The store, and what to remove afterwards: a PostgreSQL database or an SQLite directory.
async fn open_store(a: &Args) -> (Arc<dyn Store>, Cleanup) {
    match a.db.as_str() {
        "sqlite" => {
            let dir =
                std::env::temp_dir().join(format!("igny8-ingest-bench-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            let url = format!("sqlite://{}", dir.join("bench.db").display());
            let store = igny8_store_sqlite::SqliteStore::open(&url).await.unwrap();
            (Arc::new(store), Cleanup::Directory(dir))
        }
        "postgres" => {
            let name = format!("igny8_ingest_bench_{}", std::process::id());
            let mut admin = PgConnection::connect(&a.postgres_url)
                .await
                .expect("PostgreSQL reachable");
            admin
                .execute(format!("DROP DATABASE IF EXISTS {name}").as_str())
                .await
                .unwrap();
            admin
                .execute(format!("CREATE DATABASE {name}").as_str())
                .await
                .unwrap();
            admin.close().await.ok();
            let (base, _) = a
                .postgres_url
                .rsplit_once('/')
                .expect("a URL with a database");
            let store = igny8_store_postgres::PostgresStore::open(&format!("{base}/{name}"))
                .await
                .unwrap();
            (Arc::new(store), Cleanup::Database(name))
        }
        other => panic!("--db sqlite|postgres, not {other}"),
    }
}

enum Cleanup {
    Directory(std::path::PathBuf),
    Database(String),
}

#[tokio::main]
async fn main() {
    let a = args();
    let (store, cleanup) = open_store(&a).await;
    store.migrate().await.unwrap();
    let user = store
        .create_user_with_account(NewUser {
            email: "bench@example.com",
            password_hash: "x",
            account_name: "Bench",
        })
        .await
        .unwrap();
    let site = store
        .create_site(user.account_id, "Bench", "https://blog.example")
        .await
        .unwrap();
    let key = NewApiKey::generate();
    store
        .create_api_key(NewApiKeyRow {
            site_id: site.id,
            prefix: &key.prefix,
            hash: &key.hash,
            label: "bench",
        })
        .await
        .unwrap();
    let (integration, _) = store
        .ensure_integration(site.id, "wordpress")
        .await
        .unwrap();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!(
        "http://{}/api/v1/integration/integrations/{}",
        listener.local_addr().unwrap(),
        integration.id
    );
    let served = store.clone();
    tokio::spawn(async move {
        igny8_server::launch_with_listener(
            Settings::default(),
            served,
            listener,
            std::future::pending(),
        )
        .await
        .unwrap();
    });
    let client = reqwest::Client::new();
    let start = client
        .post(format!("{base}/content/full-sync/"))
        .bearer_auth(&key.secret)
        .json(&serde_json::json!({"action": "start", "run_id": "bench-run", "totals": {"post:post": a.items}}))
        .send()
        .await
        .unwrap();
    assert!(start.status().is_success(), "start: {}", start.status());

    let batches = a.items.div_ceil(a.batch);
    // The batches' JSON is built before the clock starts, so the senders cost only their HTTP: what
    // is timed is the platform's ingest, not the bench building 100,000 items.
    let bodies: Vec<Mutex<Option<Vec<u8>>>> = (0..batches)
        .map(|n| {
            let (from, to) = (n * a.batch + 1, ((n + 1) * a.batch).min(a.items));
            Mutex::new(Some(batch_body(from, to, a.body_bytes)))
        })
        .collect();
    let bodies = Arc::new(bodies);
    let rss_before = rss_mib();
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut senders = Vec::new();
    for _ in 0..a.senders {
        let (client, base, secret, next, bodies) = (
            client.clone(),
            base.clone(),
            key.secret.clone(),
            next.clone(),
            bodies.clone(),
        );
        let (items, size) = (a.items, a.batch);
        senders.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut bytes = 0usize;
            loop {
                let n = next.fetch_add(1, Ordering::SeqCst);
                if n >= batches {
                    break;
                }
                let from = n * size + 1;
                let to = ((n + 1) * size).min(items);
                let body = bodies[n as usize]
                    .lock()
                    .unwrap()
                    .take()
                    .expect("each batch is sent once");
                bytes += body.len();
                let sent = Instant::now();
                let answer = client
                    .post(format!("{base}/content/batch/"))
                    .bearer_auth(&secret)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                assert!(
                    answer.status().is_success(),
                    "batch {n}: {}",
                    answer.status()
                );
                let answer: serde_json::Value = answer.json().await.unwrap();
                assert_eq!(
                    answer["data"]["applied"].as_u64(),
                    Some(to - from + 1),
                    "batch {n}"
                );
                latencies.push(sent.elapsed());
            }
            (latencies, bytes)
        }));
    }
    let mut latencies: Vec<Duration> = Vec::new();
    let mut bytes = 0;
    for s in senders {
        let (l, b) = s.await.unwrap();
        latencies.extend(l);
        bytes += b;
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let held = store
        .list_content(integration.id, Default::default(), 0, 1)
        .await
        .unwrap()
        .count;
    assert_eq!(held, a.items, "every item is held");
    let status: serde_json::Value = client
        .get(format!("{base}/content/status/"))
        .bearer_auth(&key.secret)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let pct =
        |p: f64| latencies[((latencies.len() as f64 - 1.0) * p) as usize].as_secs_f64() * 1000.0;
    let summary = format!(
        "ingest {db}: {items} items in {batches} batches of {batch} ({mib:.1} MiB of JSON, {senders} senders) in {secs:.2} s \
         = {rate:.0} items/s; batch latency p50 {p50:.1} ms, p99 {p99:.1} ms; progress {done}/{total}; peak RSS {rss:.0} MiB \
         ({before:.0} MiB before the clock started, the prepared batches included)",
        db = a.db,
        items = a.items,
        batch = a.batch,
        mib = bytes as f64 / 1048576.0,
        senders = a.senders,
        secs = elapsed.as_secs_f64(),
        rate = a.items as f64 / elapsed.as_secs_f64(),
        p50 = pct(0.5),
        p99 = pct(0.99),
        done = status["data"]["full_sync"]["types"]["post:post"]["done"],
        total = status["data"]["full_sync"]["types"]["post:post"]["total"],
        rss = peak_rss_mib(),
        before = rss_before,
    );
    // The read side over what was just ingested: what the dashboard and the plugin ask for.
    let mut reads = Vec::new();
    let deep_page = (a.items / 200).max(1);
    for path in [
        "content-types/".to_owned(),
        "content/status/".to_owned(),
        "content/?page_size=100".to_owned(),
        format!("content/?type=post&status=publish&page={deep_page}&page_size=100"),
        format!("content/post/{}/", a.items.div_ceil(2)),
    ] {
        let started = Instant::now();
        let answer = client
            .get(format!("{base}/{path}"))
            .bearer_auth(&key.secret)
            .send()
            .await
            .unwrap();
        let status = answer.status();
        answer.bytes().await.unwrap();
        if !status.is_success() {
            reads.push(format!("{path} answered {status}"));
            continue;
        }
        reads.push(format!(
            "{path} {:.1} ms",
            started.elapsed().as_secs_f64() * 1000.0
        ));
    }
    let reads = format!("reads after ingest: {}", reads.join(", "));
    drop(store);
    match cleanup {
        Cleanup::Directory(dir) => {
            let _ = std::fs::remove_dir_all(dir);
        }
        Cleanup::Database(name) => {
            if let Ok(mut admin) = PgConnection::connect(&a.postgres_url).await {
                let _ = admin
                    .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                    .await;
            }
        }
    }
    // Printed last, so a closed stdout never leaves a database behind.
    println!("{summary}\n{reads}");
}
