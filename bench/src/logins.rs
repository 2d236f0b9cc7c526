//! `igny8-bench logins`: N concurrent wrong sign-ins against a real `igny8 serve`, the server's peak
//! memory measured with the password hashing cap as configured by default and with it lifted to N
//! (every sign-in hashing at once, as before the cap), side by side in one run.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::json;

use crate::server::{self, ScratchDatabase, Server};

pub const USAGE: &str = "usage: igny8-bench logins [--concurrent N] [--rounds R]
  --concurrent  wrong sign-ins sent at once, each for its own email (default 50)
  --rounds      times the N are sent, back to back (default 5)
The server runs on SQLite with the sign-in rate limits lifted, so every attempt hashes.";

/// The target for 50 concurrent wrong sign-ins.
const TARGET_RSS_MB: f64 = 150.0;

struct Options {
    concurrent: usize,
    rounds: usize,
}

fn parse_options(args: &[String]) -> anyhow::Result<Options> {
    let mut options = Options {
        concurrent: 50,
        rounds: 5,
    };
    let mut rest = args.iter();
    while let Some(flag) = rest.next() {
        let mut value = || {
            rest.next()
                .with_context(|| format!("{flag} needs a value\n{USAGE}"))
        };
        match flag.as_str() {
            "--concurrent" => options.concurrent = value()?.parse().context("--concurrent")?,
            "--rounds" => options.rounds = value()?.parse().context("--rounds")?,
            "-h" | "--help" => bail!("{USAGE}"),
            other => bail!("unknown option {other:?}\n{USAGE}"),
        }
    }
    if options.concurrent == 0 || options.rounds == 0 {
        bail!("--concurrent and --rounds must be positive");
    }
    Ok(options)
}

/// What one configuration did.
struct Outcome {
    label: String,
    idle_rss_kb: u64,
    peak_rss_kb: u64,
    checked: usize,
    busy: usize,
    other: usize,
    took: Duration,
}

pub async fn run(args: &[String], bin: &Path) -> anyhow::Result<()> {
    let options = parse_options(args)?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(options.concurrent + 4)
        .timeout(Duration::from_secs(120))
        .build()?;
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let mut outcomes = Vec::new();
    for (label, at_once) in [
        (format!("capped (default: {cores} at once)"), None),
        (
            format!("uncapped ({} at once)", options.concurrent),
            Some(options.concurrent),
        ),
    ] {
        eprintln!("bench: logins: {label}");
        outcomes.push(measure(bin, &client, &options, label, at_once).await?);
    }
    println!();
    println!(
        "{} concurrent wrong sign-ins × {} rounds, SQLite, {cores} cores",
        options.concurrent, options.rounds
    );
    println!();
    println!(
        "{:<28} {:>12} {:>13} {:>8} {:>6} {:>6} {:>8}",
        "hashing", "idle RSS MB", "peak RSS MB", "401", "503", "other", "seconds"
    );
    for o in &outcomes {
        println!(
            "{:<28} {:>12.1} {:>13.1} {:>8} {:>6} {:>6} {:>8.1}",
            o.label,
            o.idle_rss_kb as f64 / 1024.0,
            o.peak_rss_kb as f64 / 1024.0,
            o.checked,
            o.busy,
            o.other,
            o.took.as_secs_f64()
        );
    }
    if let Some(capped) = outcomes.first() {
        let peak = capped.peak_rss_kb as f64 / 1024.0;
        println!();
        println!(
            "target: peak RSS ≤ {TARGET_RSS_MB} MB with the cap: {peak:.1} MB, {}",
            if peak <= TARGET_RSS_MB {
                "met"
            } else {
                "MISSED"
            }
        );
    }
    Ok(())
}

async fn measure(
    bin: &Path,
    client: &reqwest::Client,
    options: &Options,
    label: String,
    at_once: Option<usize>,
) -> anyhow::Result<Outcome> {
    let scratch = ScratchDatabase::sqlite()?;
    let at_once = at_once.map(|n| n.to_string());
    let mut extra = vec![
        "--login-limit-per-email",
        "1000000",
        "--login-limit-per-ip",
        "1000000",
    ];
    if let Some(n) = &at_once {
        extra.extend(["--password-hashes-at-once", n]);
    }
    let server = Server::start_with(bin, &scratch, client, &extra).await?;
    server::admin(
        bin,
        &scratch.url(),
        &[
            "user",
            "create",
            "--email",
            "owner@example.com",
            "--password-stdin",
        ],
        Some("bench-password-1234\n"),
    )
    .await?;
    // One warm-up sign-in, so the idle figure includes what the first hash leaves behind.
    sign_in(client, &server.base_url, "owner@example.com").await?;
    let (idle_rss_kb, _) = server::memory_kb(server.pid()).context("reading /proc")?;
    server::reset_peak_rss(server.pid());
    let (mut checked, mut busy, mut other) = (0, 0, 0);
    let started = Instant::now();
    for round in 0..options.rounds {
        let attempts: Vec<_> = (0..options.concurrent)
            .map(|n| {
                let (client, base) = (client.clone(), server.base_url.clone());
                let email = format!("guess{round}-{n}@example.com");
                tokio::spawn(async move { sign_in(&client, &base, &email).await })
            })
            .collect();
        for attempt in attempts {
            match attempt.await?? {
                401 => checked += 1,
                503 => busy += 1,
                _ => other += 1,
            }
        }
    }
    let took = started.elapsed();
    let (_, peak_rss_kb) = server::memory_kb(server.pid()).context("reading /proc")?;
    Ok(Outcome {
        label,
        idle_rss_kb,
        peak_rss_kb,
        checked,
        busy,
        other,
        took,
    })
}

async fn sign_in(client: &reqwest::Client, base: &str, email: &str) -> anyhow::Result<u16> {
    let response = client
        .post(format!("{base}/api/v1/auth/login/"))
        .json(&json!({"email": email, "password": "a wrong password"}))
        .send()
        .await?;
    Ok(response.status().as_u16())
}
