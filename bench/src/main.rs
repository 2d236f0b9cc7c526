//! `igny8-bench structure`: N simulated WordPress sites pushing their structure to a real `igny8
//! serve`, measured side by side with the no-op `/livez` on the same server (issue "backend" item 9).
//! `igny8-bench logins`: the server's peak memory under concurrent wrong sign-ins (`logins.rs`).
//! `igny8-bench ingest`: content batches of a full sync, beside a baseline binary (`ingest.rs`).
//! `igny8-bench fleet`: replicas on PostgreSQL behind HAProxy under a fleet of simulated sites (`fleet.rs`).

mod fleet;
mod ingest;
mod load;
mod logins;
mod server;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use reqwest::header::AUTHORIZATION;
use serde_json::{json, Value};

use load::{Endpoint, PhaseResult, Schedule, SimulatedSite};
use server::{ScratchDatabase, Server};

const USAGE: &str = "usage: igny8-bench structure [--sites N] [--seconds S] [--warmup S] [--pace S] [--db sqlite|postgres|both]
  --sites    simulated WordPress sites, each a concurrent loop with its own API key (default 200)
  --seconds  measured seconds per phase (default 10)
  --warmup   unmeasured seconds before each phase (default 2)
  --pace     seconds between one site's requests (default 0: back to back, which measures the
             most the server answers; with a pace, latency is counted from when a request was due)
  --db       which database the server runs on (default both)
Needs `cargo build --release -p igny8` (or IGNY8_BIN); PostgreSQL at IGNY8_BENCH_POSTGRES
(default postgres://postgres@127.0.0.1:5432/postgres), where a scratch database is created and dropped.";

/// The targets on a 2-core machine.
const TARGET_RATIO: f64 = 0.5;
const TARGET_P99_MS: f64 = 10.0;
const TARGET_P99_SITES: usize = 200;
const TARGET_RSS_MB: f64 = 100.0;

struct Options {
    sites: usize,
    seconds: f64,
    warmup: f64,
    pace: f64,
    databases: Vec<Db>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Db {
    Sqlite,
    Postgres,
}

impl Db {
    fn name(self) -> &'static str {
        match self {
            Db::Sqlite => "sqlite",
            Db::Postgres => "postgres",
        }
    }
}

fn parse_options(args: &[String]) -> anyhow::Result<Options> {
    let mut options = Options {
        sites: 200,
        seconds: 10.0,
        warmup: 2.0,
        pace: 0.0,
        databases: vec![Db::Sqlite, Db::Postgres],
    };
    let (command, mut rest) = match args.split_first() {
        Some((command, rest)) => (command.as_str(), rest.iter()),
        None => bail!("{USAGE}"),
    };
    if command != "structure" {
        bail!(
            "unknown benchmark {command:?}\n{USAGE}\n{}\n{}\n{}",
            logins::USAGE,
            ingest::USAGE,
            fleet::USAGE
        );
    }
    while let Some(flag) = rest.next() {
        let mut value = || {
            rest.next()
                .with_context(|| format!("{flag} needs a value\n{USAGE}"))
        };
        match flag.as_str() {
            "--sites" => {
                options.sites = value()?.parse().context("--sites must be a whole number")?
            }
            "--seconds" => {
                options.seconds = value()?.parse().context("--seconds must be a number")?
            }
            "--warmup" => options.warmup = value()?.parse().context("--warmup must be a number")?,
            "--pace" => options.pace = value()?.parse().context("--pace must be a number")?,
            "--db" => {
                options.databases = match value()?.as_str() {
                    "sqlite" => vec![Db::Sqlite],
                    "postgres" => vec![Db::Postgres],
                    "both" => vec![Db::Sqlite, Db::Postgres],
                    other => bail!("--db must be sqlite, postgres or both, got {other:?}"),
                }
            }
            "-h" | "--help" => bail!("{USAGE}"),
            other => bail!("unknown option {other:?}\n{USAGE}"),
        }
    }
    let valid = options.sites > 0
        && options.seconds.is_finite()
        && options.seconds > 0.0
        && options.warmup.is_finite()
        && options.warmup >= 0.0
        && options.pace.is_finite()
        && options.pace >= 0.0;
    if !valid {
        bail!("--sites and --seconds must be positive, --warmup and --pace not negative");
    }
    Ok(options)
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = tokio::select! {
        outcome = run(&args) => outcome,
        _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
    };
    // Servers and scratch databases are gone by now: they clean up when dropped, also on error.
    if let Err(e) = outcome {
        eprintln!("bench: {e:#}");
        std::process::exit(1);
    }
}

async fn run(args: &[String]) -> anyhow::Result<()> {
    if let Some((command, rest)) = args.split_first() {
        if command == "logins" {
            return logins::run(rest, &server::locate_binary()?).await;
        }
        if command == "ingest" {
            return ingest::run(rest, &server::locate_binary()?).await;
        }
        if command == "fleet" {
            return fleet::run(rest, &server::locate_binary()?).await;
        }
    }
    let options = parse_options(args)?;
    let bin = server::locate_binary()?;
    // One pool for every simulated site, so each keeps its own HTTP/1.1 keep-alive connection.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(options.sites + 16)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(30))
        .build()?;
    // Other work on the machine skews every figure: say how busy it was.
    let machine = format!("{} before the run", server::machine());
    let mut results = Vec::new();
    let mut failure = None;
    for db in &options.databases {
        match bench_database(*db, &bin, &client, &options).await {
            Ok(phases) => results.push((*db, phases)),
            Err(e) => {
                failure = Some(e.context(format!("{} run", db.name())));
                break;
            }
        }
    }
    if !results.is_empty() {
        print_report(&results, &options, &machine);
    }
    failure.map_or(Ok(()), Err)
}

/// One database: a fresh server, the sites, then both phases against the same server.
async fn bench_database(
    db: Db,
    bin: &Path,
    client: &reqwest::Client,
    options: &Options,
) -> anyhow::Result<Vec<PhaseResult>> {
    let scratch = match db {
        Db::Sqlite => ScratchDatabase::sqlite()?,
        Db::Postgres => ScratchDatabase::postgres(
            &std::env::var("IGNY8_BENCH_POSTGRES")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into()),
        )?,
    };
    let server = Server::start(bin, &scratch, client).await?;
    eprintln!(
        "bench: {}: igny8 serve (pid {}) at {}; creating {} sites",
        db.name(),
        server.pid(),
        server.base_url,
        options.sites
    );
    let sites = create_sites(bin, &scratch.url(), &server.base_url, client, options.sites)
        .await
        .with_context(|| format!("creating sites; server log:\n{}", server.log_tail()))?;
    let schedule = Schedule {
        warmup: Duration::from_secs_f64(options.warmup),
        window: Duration::from_secs_f64(options.seconds),
        pace: (options.pace > 0.0).then(|| Duration::from_secs_f64(options.pace)),
    };
    let mut phases = Vec::new();
    for endpoint in [Endpoint::UpdateStructure, Endpoint::Livez] {
        eprintln!(
            "bench: {}: {} for {}+{} s",
            db.name(),
            endpoint.name(),
            options.warmup,
            options.seconds
        );
        phases.push(
            load::run_phase(
                client,
                &server.base_url,
                server.pid(),
                &sites,
                endpoint,
                schedule,
            )
            .await?,
        );
    }
    Ok(phases)
}

const OWNER: &str = "bench@example.com";

/// One user; per site an API key and the site's wordpress integration, made as an operator and a
/// plugin would (admin commands, then the integration API with the site's own key).
async fn create_sites(
    bin: &Path,
    db_url: &str,
    base_url: &str,
    client: &reqwest::Client,
    count: usize,
) -> anyhow::Result<Vec<SimulatedSite>> {
    // Admin commands are processes: a few at a time keep two cores busy without a pile-up.
    const WORKERS: usize = 4;
    server::admin(
        bin,
        db_url,
        &["user", "create", "--email", OWNER, "--password-stdin"],
        Some("bench-password-1234\n"),
    )
    .await?;
    let next = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let (bin, db_url, base_url) = (bin.to_owned(), db_url.to_owned(), base_url.to_owned());
            let (client, next) = (client.clone(), next.clone());
            tokio::spawn(async move {
                let mut made = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= count {
                        return anyhow::Ok(made);
                    }
                    made.push((i, create_site(&bin, &db_url, &base_url, &client, i).await?));
                }
            })
        })
        .collect();
    let mut made = Vec::with_capacity(count);
    let mut failure = None;
    for worker in workers {
        if failure.is_some() {
            worker.abort();
            continue;
        }
        match worker.await? {
            Ok(sites) => made.extend(sites),
            Err(e) => failure = Some(e),
        }
    }
    if let Some(e) = failure {
        return Err(e);
    }
    made.sort_by_key(|(i, _)| *i);
    Ok(made.into_iter().map(|(_, site)| site).collect())
}

async fn create_site(
    bin: &Path,
    db_url: &str,
    base_url: &str,
    client: &reqwest::Client,
    i: usize,
) -> anyhow::Result<SimulatedSite> {
    let (name, url) = (
        format!("Bench site {i}"),
        format!("https://site{i}.bench.example"),
    );
    let site = server::admin(
        bin,
        db_url,
        &[
            "site", "create", "--owner", OWNER, "--name", &name, "--url", &url,
        ],
        None,
    )
    .await?;
    let site_id = site
        .get("id")
        .and_then(Value::as_i64)
        .with_context(|| format!("site create answered {site}"))?;
    let key = server::admin(
        bin,
        db_url,
        &["site", "key", "create", "--site", &site_id.to_string()],
        None,
    )
    .await?;
    let key = key
        .get("key")
        .and_then(Value::as_str)
        .with_context(|| format!("key create answered {key}"))?;
    let response = client
        .post(format!("{base_url}/api/v1/integration/integrations/"))
        .header(AUTHORIZATION, format!("Bearer {key}"))
        .json(&json!({"site": site_id}))
        .send()
        .await?;
    let status = response.status();
    let answer: Value = response
        .json()
        .await
        .with_context(|| format!("creating the integration: HTTP {status}"))?;
    let integration_id = answer
        .pointer("/data/id")
        .and_then(Value::as_i64)
        .filter(|_| status.is_success())
        .with_context(|| format!("creating the integration: HTTP {status}: {answer}"))?;
    Ok(SimulatedSite {
        key: key.to_owned(),
        integration_id,
    })
}

/// The table, then each of the targets next to the figure it is about.
fn print_report(results: &[(Db, Vec<PhaseResult>)], options: &Options, machine: &str) {
    let ms = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.2}"));
    let mb = |kb: Option<u64>| {
        kb.map_or_else(|| "-".to_owned(), |kb| format!("{:.1}", kb as f64 / 1024.0))
    };
    let cpu = |p: &PhaseResult| {
        p.server_cpu.map_or_else(
            || "-".to_owned(),
            |c| format!("{:.0}%", 100.0 * c.as_secs_f64() / p.window.as_secs_f64()),
        )
    };
    println!();
    println!(
        "{} sites ({}), {} s measured per phase after {} s warm-up, one keep-alive connection per site; {machine}",
        options.sites,
        if options.pace > 0.0 { format!("each one request every {} s", options.pace) } else { "back to back".to_owned() },
        options.seconds,
        options.warmup
    );
    println!();
    println!(
        "{:<9} {:<17} {:>9} {:>8} {:>8} {:>7} {:>19} {:>11}",
        "db", "endpoint", "req/s", "p50 ms", "p99 ms", "errors", "server peak RSS MB", "server CPU"
    );
    for (db, phases) in results {
        for p in phases {
            println!(
                "{:<9} {:<17} {:>9.0} {:>8} {:>8} {:>7} {:>19} {:>11}",
                db.name(),
                p.endpoint.name(),
                p.per_second(),
                ms(p.latency_ms(0.50)),
                ms(p.latency_ms(0.99)),
                p.errors,
                mb(p.peak_rss_kb),
                cpu(p)
            );
        }
    }
    for (db, phases) in results {
        for p in phases.iter().filter(|p| p.first_error.is_some()) {
            println!(
                "{} {} first error: {}",
                db.name(),
                p.endpoint.name(),
                p.first_error.as_deref().unwrap_or_default()
            );
        }
    }

    println!();
    println!("targets (issue \"backend\" item 9, 2-core machine):");
    let target = |db: Db, what: &str, figure: String, goal: &str, met: bool| {
        let verdict = if met { "met" } else { "MISSED" };
        println!(
            "  {:<9} {what:<32} {figure:>7}   {goal:<10} {verdict}",
            db.name()
        );
    };
    for (db, phases) in results {
        let phase = |e: Endpoint| phases.iter().find(|p| p.endpoint == e);
        let (push, floor) = (phase(Endpoint::UpdateStructure), phase(Endpoint::Livez));
        if let (Some(push), Some(floor), true) = (push, floor, options.pace == 0.0) {
            // Paced phases run at the offered rate, so their ratio says nothing about capacity.
            let ratio = push.per_second() / floor.per_second();
            target(
                *db,
                "update-structure ÷ livez req/s",
                format!("{ratio:.2}"),
                &format!("≥ {TARGET_RATIO:.2}"),
                ratio >= TARGET_RATIO,
            );
        }
        if let (Db::Sqlite, Some(p99)) = (db, push.and_then(|p| p.latency_ms(0.99))) {
            let what = if options.sites == TARGET_P99_SITES {
                "update-structure p99 ms".to_owned()
            } else {
                format!("update-structure p99 ms ({} sites)", options.sites)
            };
            target(
                *db,
                &what,
                format!("{p99:.2}"),
                &format!("≤ {TARGET_P99_MS}"),
                p99 <= TARGET_P99_MS,
            );
        }
        let errors: u64 = phases.iter().map(|p| p.errors).sum();
        target(
            *db,
            "errors (both phases)",
            errors.to_string(),
            "0",
            errors == 0,
        );
        if let Some(peak) = phases.iter().filter_map(|p| p.peak_rss_kb).max() {
            let peak = peak as f64 / 1024.0;
            target(
                *db,
                "server peak RSS MB",
                format!("{peak:.1}"),
                &format!("≤ {TARGET_RSS_MB}"),
                peak <= TARGET_RSS_MB,
            );
        }
    }
}
