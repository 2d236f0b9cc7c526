//! `igny8-bench ingest`: content batches into a real `igny8 serve`, as the plugin sends a full sync
//! (batches of 500 posts with their range marker, several senders), and with `--base PATH` the same
//! load on a baseline binary in the same run, alternating, so the two are compared under the same
//! machine state. Prints items/s, batch latency and the server's peak RSS per run.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use reqwest::header::AUTHORIZATION;
use serde_json::{json, Value};

use crate::server::{self, ScratchDatabase, Server};
use crate::Db;

pub const USAGE: &str = "usage: igny8-bench ingest [--items N] [--senders N] [--batch N] [--body-bytes N] [--rounds N] [--db sqlite|postgres|both] [--base PATH]
  --items       posts per run (default 100000)
  --senders     concurrent senders, each with its own connection (default 3)
  --batch       posts per batch, at most 500 as the plugin sends (default 500)
  --body-bytes  bytes of each post's content (default 2000: items of about 2.6 KiB)
  --rounds      runs per binary and database, alternating with the baseline (default 2)
  --db          which database the server runs on (default both)
  --base        a baseline igny8 binary run under the same load, alternating with IGNY8_BIN's";

/// The issue's targets (issue #11 §2) on a 2-core machine.
const TARGET_SQLITE: f64 = 50_000.0;
const TARGET_POSTGRES: f64 = 25_000.0;
const TARGET_RSS_MB: f64 = 100.0;

struct Options {
    items: u64,
    senders: usize,
    batch: u64,
    body_bytes: usize,
    rounds: usize,
    databases: Vec<Db>,
    base: Option<PathBuf>,
}

fn parse(args: &[String]) -> anyhow::Result<Options> {
    let mut o = Options {
        items: 100_000,
        senders: 3,
        batch: 500,
        body_bytes: 2_000,
        rounds: 2,
        databases: vec![Db::Sqlite, Db::Postgres],
        base: None,
    };
    let mut rest = args.iter();
    while let Some(flag) = rest.next() {
        let value = rest
            .next()
            .with_context(|| format!("{flag} needs a value\n{USAGE}"))?;
        let number = || {
            value
                .parse::<u64>()
                .with_context(|| format!("{flag} {value}: not a number\n{USAGE}"))
        };
        match flag.as_str() {
            "--items" => o.items = number()?,
            "--senders" => o.senders = number()? as usize,
            "--batch" => o.batch = number()?,
            "--body-bytes" => o.body_bytes = number()? as usize,
            "--rounds" => o.rounds = number()? as usize,
            "--db" => {
                o.databases = match value.as_str() {
                    "sqlite" => vec![Db::Sqlite],
                    "postgres" => vec![Db::Postgres],
                    "both" => vec![Db::Sqlite, Db::Postgres],
                    other => bail!("--db {other}: sqlite, postgres or both\n{USAGE}"),
                }
            }
            "--base" => o.base = Some(PathBuf::from(value)),
            other => bail!("unknown flag {other}\n{USAGE}"),
        }
    }
    ensure!((1..=500).contains(&o.batch), "--batch is 1 to 500");
    ensure!(o.items > 0 && o.senders > 0 && o.rounds > 0, "{USAGE}");
    Ok(o)
}

/// One run's figures.
struct Run {
    items_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
    peak_rss_mb: f64,
    item_bytes: f64,
    /// The server's CPU time (user + system) per 1,000 items: what ingest costs, whatever else
    /// the machine runs meanwhile.
    cpu_ms_per_1k: f64,
}

pub async fn run(args: &[String], bin: &Path) -> anyhow::Result<()> {
    let o = parse(args)?;
    if let Some(base) = &o.base {
        ensure!(base.is_file(), "no baseline binary at {}", base.display());
    }
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(o.senders + 4)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(120))
        .build()?;
    let postgres_url = std::env::var("IGNY8_BENCH_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let mut binaries = vec![("current", bin.to_owned())];
    if let Some(base) = &o.base {
        binaries.push(("base", base.clone()));
    }
    let mut table = Vec::new();
    for &db in &o.databases {
        for round in 0..o.rounds {
            // Alternating, the baseline first every other round, so neither always runs on a
            // warmer or cooler machine.
            let mut order = binaries.clone();
            if round % 2 == 1 {
                order.reverse();
            }
            for (name, binary) in order {
                let scratch = match db {
                    Db::Sqlite => ScratchDatabase::sqlite()?,
                    Db::Postgres => ScratchDatabase::postgres(&postgres_url)?,
                };
                let figures = one_run(&o, &binary, &scratch, &client)
                    .await
                    .with_context(|| format!("{name} on {}", db.name()))?;
                println!(
                    "{:<9} {:<7} round {}: {:>8.0} items/s, batch p50 {:>6.1} ms, p99 {:>6.1} ms, server peak RSS {:>5.1} MB, server CPU {:>5.1} ms per 1k items ({:.0} B per item)",
                    db.name(),
                    name,
                    round + 1,
                    figures.items_per_s,
                    figures.p50_ms,
                    figures.p99_ms,
                    figures.peak_rss_mb,
                    figures.cpu_ms_per_1k,
                    figures.item_bytes,
                );
                table.push((db, name, figures));
            }
        }
    }
    println!();
    for &db in &o.databases {
        let target = match db {
            Db::Sqlite => TARGET_SQLITE,
            Db::Postgres => TARGET_POSTGRES,
        };
        for (name, _) in &binaries {
            let runs: Vec<&Run> = table
                .iter()
                .filter(|(d, n, _)| *d == db && n == name)
                .map(|(_, _, r)| r)
                .collect();
            let best = runs.iter().map(|r| r.items_per_s).fold(0.0, f64::max);
            let worst = runs.iter().map(|r| r.items_per_s).fold(f64::MAX, f64::min);
            let rss = runs.iter().map(|r| r.peak_rss_mb).fold(0.0, f64::max);
            let mut cpu: Vec<f64> = runs.iter().map(|r| r.cpu_ms_per_1k).collect();
            cpu.sort_by(f64::total_cmp);
            let cpu = cpu.get(cpu.len() / 2).copied().unwrap_or(0.0);
            println!(
                "{:<9} {:<7} {worst:.0}–{best:.0} items/s (target ≥ {target:.0}: {}), peak RSS ≤ {rss:.1} MB (target ≤ {TARGET_RSS_MB:.0}: {}), server CPU {cpu:.1} ms per 1k items (median)",
                db.name(),
                name,
                if worst >= target { "met" } else { "missed" },
                if rss <= TARGET_RSS_MB { "met" } else { "missed" },
            );
        }
    }
    Ok(())
}

async fn one_run(
    o: &Options,
    bin: &Path,
    db: &ScratchDatabase,
    client: &reqwest::Client,
) -> anyhow::Result<Run> {
    let server = Server::start(bin, db, client).await?;
    let site = crate::create_sites(bin, &db.url(), &server.base_url, client, 1)
        .await?
        .remove(0);
    let base = format!(
        "{}/api/v1/integration/integrations/{}",
        server.base_url, site.integration_id
    );
    let bearer = format!("Bearer {}", site.key);
    let start = client
        .post(format!("{base}/content/full-sync/"))
        .header(AUTHORIZATION, &bearer)
        .json(&json!({"action": "start", "run_id": "bench-run", "totals": {"post:post": o.items}}))
        .send()
        .await?;
    ensure!(
        start.status().is_success(),
        "full-sync start: {}",
        start.status()
    );
    // Built before the clock starts: what is timed is the server's ingest.
    let batches = o.items.div_ceil(o.batch);
    let bodies: Arc<Vec<Mutex<Option<Vec<u8>>>>> = Arc::new(
        (0..batches)
            .map(|n| {
                let (from, to) = (n * o.batch + 1, ((n + 1) * o.batch).min(o.items));
                Mutex::new(Some(batch_body(from, to, o.body_bytes)))
            })
            .collect(),
    );
    let total_bytes: usize = bodies
        .iter()
        .map(|b| b.lock().map_or(0, |b| b.as_ref().map_or(0, Vec::len)))
        .sum();
    server::reset_peak_rss(server.pid());
    let cpu_before = server::cpu_time(server.pid()).unwrap_or_default();
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let senders: Vec<_> = (0..o.senders)
        .map(|_| {
            let (client, base, bearer, next, bodies) = (
                client.clone(),
                base.clone(),
                bearer.clone(),
                next.clone(),
                bodies.clone(),
            );
            let (items, size) = (o.items, o.batch);
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                loop {
                    let n = next.fetch_add(1, Ordering::SeqCst);
                    if n >= batches {
                        return anyhow::Ok(latencies);
                    }
                    let expected = ((n + 1) * size).min(items) - n * size;
                    let body = bodies[n as usize]
                        .lock()
                        .map_err(|_| anyhow::anyhow!("a sender panicked"))?
                        .take()
                        .context("each batch is sent once")?;
                    let sent = Instant::now();
                    let answer = client
                        .post(format!("{base}/content/batch/"))
                        .header(AUTHORIZATION, &bearer)
                        .header("content-type", "application/json")
                        .body(body)
                        .send()
                        .await?;
                    let status = answer.status();
                    let answer: Value = answer.json().await?;
                    ensure!(
                        status.is_success()
                            && answer.pointer("/data/applied").and_then(Value::as_u64)
                                == Some(expected),
                        "batch {n}: HTTP {status}: {}",
                        answer.to_string().chars().take(300).collect::<String>()
                    );
                    latencies.push(sent.elapsed());
                }
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for sender in senders {
        latencies.extend(sender.await??);
    }
    let elapsed = started.elapsed();
    let cpu = server::cpu_time(server.pid())
        .unwrap_or_default()
        .saturating_sub(cpu_before);
    let peak_kb = server::memory_kb(server.pid()).map_or(0, |(_, hwm)| hwm);
    latencies.sort();
    let pct = |p: f64| {
        latencies[((latencies.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1000.0
    };
    let status: Value = client
        .get(format!("{base}/content/status/"))
        .header(AUTHORIZATION, &bearer)
        .send()
        .await?
        .json()
        .await?;
    let done = status
        .pointer("/data/full_sync/types/post:post/done")
        .and_then(Value::as_u64);
    ensure!(
        done == Some(o.items),
        "the full sync's progress is {done:?} of {}",
        o.items
    );
    Ok(Run {
        items_per_s: o.items as f64 / elapsed.as_secs_f64(),
        p50_ms: pct(0.5),
        p99_ms: pct(0.99),
        peak_rss_mb: peak_kb as f64 / 1024.0,
        item_bytes: total_bytes as f64 / o.items as f64,
        cpu_ms_per_1k: cpu.as_secs_f64() * 1000.0 / (o.items as f64 / 1000.0),
    })
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
