//! `igny8-bench fleet` (issue #12 §1–2): igny8 replicas on a private PostgreSQL behind HAProxy, a fleet
//! of simulated WordPress sites and platform users, growth from 1 to 10 million rows, and faults under load.

mod cluster;
mod procs;
mod proxy;
mod seed;
mod sim;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use cluster::Cluster;
use procs::Usage;
use proxy::{Proxy, Replica};
use sim::{Ctx, Endpoint, Fleet, LoadPlan, Tallies};

pub const USAGE: &str = "usage: igny8-bench fleet [--sites 10000] [--rows 10000000] [--replicas 3] [--users 20]
       [--workers 64] [--seconds 60] [--warmup 5] [--compress 60] [--growth-reps 100]
       [--fault kill|pg-restart|rolling] [--no-single] [--rounds 2]
  --sites       simulated WordPress sites, each with its own key and integration
  --rows        content rows seeded in bulk by the end (a tenth first, for the growth comparison); 0: none
  --replicas    igny8 serve replicas behind HAProxy
  --users       platform users (each owns 20 sites and reads them)
  --workers     concurrent simulated requests (a closed loop: each sends its next action when answered)
  --seconds     measured seconds of each load phase, after --warmup unmeasured ones
  --compress    the plugin's timings (back-off, Retry-After, cron pauses) run this many times faster
  --growth-reps timed repetitions of each growth operation at each size
  --fault       run one fault mid-window instead of the 1-replica comparison
  --no-single   skip the 1-replica comparison phase
  --rounds      N-replica and 1-replica phases alternate this many times (the machine's load moves)
Needs `cargo build --release -p igny8 -p igny8-bench` (or IGNY8_BIN), haproxy and PostgreSQL's server
programs (IGNY8_BENCH_PG_BIN, else /usr/lib/postgresql/*/bin); runs as root or as postgres.";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Fault {
    Kill,
    PgRestart,
    Rolling,
}

struct Options {
    sites: usize,
    rows: u64,
    replicas: usize,
    users: usize,
    workers: usize,
    seconds: f64,
    warmup: f64,
    compress: f64,
    growth_reps: usize,
    fault: Option<Fault>,
    single: bool,
    rounds: usize,
}

const SITES_PER_USER: usize = 20;
/// Probe sites: the first half read by the growth operations, the second half sent its batches, so
/// the read probes hold the same rows at both sizes.
const PROBES: usize = 8;

fn parse(args: &[String]) -> anyhow::Result<Options> {
    let mut o = Options {
        sites: 10_000,
        rows: 10_000_000,
        replicas: 3,
        users: 20,
        workers: 64,
        seconds: 60.0,
        warmup: 5.0,
        compress: 60.0,
        growth_reps: 100,
        fault: None,
        single: true,
        rounds: 2,
    };
    let mut rest = args.iter();
    while let Some(flag) = rest.next() {
        let mut value = || {
            rest.next()
                .with_context(|| format!("{flag} needs a value\n{USAGE}"))
        };
        match flag.as_str() {
            "--sites" => o.sites = value()?.parse().context("--sites")?,
            "--rows" => o.rows = value()?.parse().context("--rows")?,
            "--replicas" => o.replicas = value()?.parse().context("--replicas")?,
            "--users" => o.users = value()?.parse().context("--users")?,
            "--workers" => o.workers = value()?.parse().context("--workers")?,
            "--seconds" => o.seconds = value()?.parse().context("--seconds")?,
            "--warmup" => o.warmup = value()?.parse().context("--warmup")?,
            "--compress" => o.compress = value()?.parse().context("--compress")?,
            "--growth-reps" => o.growth_reps = value()?.parse().context("--growth-reps")?,
            "--fault" => {
                o.fault = Some(match value()?.as_str() {
                    "kill" => Fault::Kill,
                    "pg-restart" => Fault::PgRestart,
                    "rolling" => Fault::Rolling,
                    other => bail!("--fault must be kill, pg-restart or rolling, got {other:?}"),
                })
            }
            "--no-single" => o.single = false,
            "--rounds" => o.rounds = value()?.parse().context("--rounds")?,
            "-h" | "--help" => bail!("{USAGE}"),
            other => bail!("unknown option {other:?}\n{USAGE}"),
        }
    }
    if o.sites <= PROBES || o.replicas == 0 || o.workers < 2 || o.users == 0 {
        bail!("--sites must exceed {PROBES}, --replicas and --users be positive, --workers at least 2");
    }
    if !(o.seconds > 0.0 && o.warmup >= 0.0 && o.compress > 0.0) {
        bail!("--seconds and --compress must be positive, --warmup not negative");
    }
    Ok(o)
}

/// Logs and configs of one run, removed at the end unless IGNY8_BENCH_KEEP is set.
struct RunDir(PathBuf);

impl Drop for RunDir {
    fn drop(&mut self) {
        if std::env::var_os("IGNY8_BENCH_KEEP").is_none() {
            let _ = std::fs::remove_dir_all(&self.0);
        } else {
            eprintln!("fleet: logs kept in {}", self.0.display());
        }
    }
}

pub async fn run(args: &[String], bin: &Path) -> anyhow::Result<()> {
    let o = parse(args)?;
    let dir = RunDir(std::env::temp_dir().join(format!("igny8_fleet_{}", std::process::id())));
    std::fs::create_dir_all(&dir.0)?;
    let before = crate::server::machine();
    eprintln!("fleet: {before}; private PostgreSQL cluster starting");
    let cluster = Arc::new(Cluster::create().context("the private PostgreSQL cluster")?);
    crate::server::admin(bin, &cluster.url(), &["migrate"], None)
        .await
        .context("igny8 migrate")?;
    eprintln!(
        "fleet: PostgreSQL on port {} migrated; creating {} users and {} sites",
        cluster.port, o.users, o.sites
    );
    let setup = Instant::now();
    let (emails, rows) =
        seed::accounts_and_sites(&cluster, bin, o.users, o.sites, SITES_PER_USER).await?;
    eprintln!(
        "fleet: sites, keys and integrations in {:.1} s",
        setup.elapsed().as_secs_f64()
    );

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(o.workers + 16)
        .tcp_nodelay(true)
        .connect_timeout(Duration::from_secs(5))
        // The plugin's timeout for a batch.
        .timeout(Duration::from_secs(15))
        .build()?;
    let mut flags: Vec<String> = [
        "--login-limit-per-email",
        "1000000",
        "--login-limit-per-ip",
        "1000000",
    ]
    .map(String::from)
    .to_vec();
    let help = std::process::Command::new(bin)
        .args(["serve", "--help"])
        .output()
        .context("igny8 serve --help")?;
    let drains = String::from_utf8_lossy(&help.stdout).contains("--shutdown-delay");
    if drains {
        flags.extend(["--shutdown-delay".to_owned(), "2".to_owned()]);
    }
    let mut replicas = Vec::with_capacity(o.replicas);
    for r in 0..o.replicas {
        replicas.push(
            Replica::start(
                &format!("igny8-{r}"),
                bin,
                &cluster.url(),
                &flags,
                &dir.0,
                &client,
            )
            .await?,
        );
    }
    let proxy = Proxy::start(&replicas.iter().collect::<Vec<_>>(), None, &dir.0, &client).await?;
    let base: Arc<str> = Arc::from(proxy.base_url());
    eprintln!(
        "fleet: {} replicas behind HAProxy at {base} (drain flag {})",
        o.replicas,
        if drains {
            "--shutdown-delay 2"
        } else {
            "absent"
        }
    );

    let mut fleet = Fleet::new(
        rows,
        PROBES,
        sim::Clock {
            compress: o.compress,
        },
    );
    fleet
        .sign_in(&client, &base, &emails, SITES_PER_USER)
        .await?;
    let mut ctx = Ctx {
        fleet: Arc::new(fleet),
        client: client.clone(),
        base: base.clone(),
    };
    let pushes = Instant::now();
    sim::push_all_structures(&ctx, o.workers).await?;
    eprintln!(
        "fleet: every site pushed its structure in {:.1} s",
        pushes.elapsed().as_secs_f64()
    );

    let mut report = Report::default();
    if o.rows > 0 {
        let plan = seed::SeedPlan::new(o.sites, PROBES, o.rows);
        for stage2 in [false, true] {
            let held = seed::seed_stage(&cluster, &plan, stage2)?;
            for site in &ctx.fleet.sites {
                site.seeded
                    .store(plan.seeded(site.index, stage2), Ordering::Relaxed);
            }
            let figures = growth(&ctx, o.growth_reps).await;
            let plans = seed::explain(&cluster, 1, plan.probe_rows / 2)?;
            eprintln!(
                "fleet: growth at {held} rows measured; {}",
                crate::server::machine()
            );
            report.growth.push((
                held,
                figures,
                format!("({} after the timings)\n{plans}", crate::server::machine()),
            ));
        }
    }

    let load = LoadPlan {
        workers: o.workers,
        warmup: Duration::from_secs_f64(o.warmup),
        window: Duration::from_secs_f64(o.seconds),
        full_syncs: true,
    };
    // Users sign in again: access tokens live 15 minutes and seeding may have taken longer.
    refresh_users(&mut ctx, &emails).await?;
    let mut proxy = proxy;
    if o.fault.is_some() || !o.single || o.replicas == 1 {
        let phase = load_phase(
            &ctx,
            load,
            &cluster,
            &mut replicas,
            &proxy,
            o.fault,
            &client,
        )
        .await?;
        report.phases.push(phase);
    } else {
        // N replicas, then the same load on the first one alone (HAProxy restarted with only it in
        // its config; the others stay up and idle), alternating, so the machine's other load moves
        // both alike.
        let port = proxy.port;
        for round in 0..o.rounds.max(1) {
            for active in [o.replicas, 1] {
                if round > 0 || active == 1 {
                    drop(proxy);
                    let serving: Vec<&Replica> = replicas[..active].iter().collect();
                    proxy = Proxy::start(&serving, Some(port), &dir.0, &client).await?;
                    refresh_users(&mut ctx, &emails).await?;
                }
                let phase = load_phase(
                    &ctx,
                    load,
                    &cluster,
                    &mut replicas[..active],
                    &proxy,
                    None,
                    &client,
                )
                .await?;
                report.phases.push(phase);
            }
        }
    }
    report.verify = Some(verify(&ctx, &cluster, o.workers).await?);
    drop(proxy);
    report.print(&o, &before, drains);
    Ok(())
}

async fn refresh_users(ctx: &mut Ctx, emails: &[String]) -> anyhow::Result<()> {
    let mut fleet = Arc::try_unwrap(std::mem::replace(
        &mut ctx.fleet,
        Arc::new(Fleet::new(Vec::new(), 0, sim::Clock { compress: 1.0 })),
    ))
    .map_err(|_| anyhow::anyhow!("the fleet is still shared"))?;
    fleet
        .sign_in(&ctx.client, &ctx.base, emails, SITES_PER_USER)
        .await?;
    ctx.fleet = Arc::new(fleet);
    Ok(())
}

/// The four growth operations, timed one at a time on the probe sites through HAProxy, taken in
/// turn (one of each per repetition) so the machine's other load moves them alike.
async fn growth(ctx: &Ctx, reps: usize) -> GrowthFigures {
    const OPS: [&str; 4] = [
        "content list page",
        "one post",
        "content-types",
        "batch of 100",
    ];
    let (readers, writers) = ctx.fleet.sites[..ctx.fleet.probes].split_at(ctx.fleet.probes / 2);
    let mut tallies: Vec<sim::Tally> = OPS.iter().map(|_| sim::Tally::default()).collect();
    let warm = (reps / 10).max(3);
    for n in 0..warm + reps {
        for (op, tally) in OPS.iter().zip(tallies.iter_mut()) {
            let probes = if *op == "batch of 100" {
                writers
            } else {
                readers
            };
            let site = &probes[n % probes.len()];
            let seeded = site.seeded.load(Ordering::Relaxed).max(1);
            let took = match *op {
                "content list page" => {
                    ctx.timed_user_get(site, "content/?type=post&page=2&page_size=50")
                        .await
                }
                "one post" => {
                    let id = 1 + (n as u64 * 7919) % seeded;
                    ctx.timed_user_get(site, &format!("content/post/{id}/"))
                        .await
                }
                "content-types" => ctx.timed_user_get(site, "content-types/").await,
                _ => sim::timed_batch(ctx, site, 100).await,
            };
            if n < warm {
                continue;
            }
            match took {
                Some(d) => tally
                    .latencies
                    .push(u32::try_from(d.as_micros()).unwrap_or(u32::MAX)),
                None => tally.errors += 1,
            }
        }
    }
    OPS.iter()
        .zip(tallies)
        .map(|(op, mut t)| {
            t.latencies.sort_unstable();
            (*op, t)
        })
        .collect()
}

struct Phase {
    replicas: usize,
    window: Duration,
    tallies: Tallies,
    replica_usage: Vec<Usage>,
    postgres: Usage,
    haproxy: Usage,
    simulator: Usage,
    /// Every process on the machine (other work included), from /proc/stat.
    machine_busy: Duration,
    postgres_pss_kb: u64,
    faults: Vec<(f64, String)>,
}

/// One load phase, with the CPU and peak memory of every process over the measured window, and a
/// fault injected at its middle.
async fn load_phase(
    ctx: &Ctx,
    plan: LoadPlan,
    cluster: &Arc<Cluster>,
    replicas: &mut [Replica],
    proxy: &Proxy,
    fault: Option<Fault>,
    client: &reqwest::Client,
) -> anyhow::Result<Phase> {
    eprintln!(
        "fleet: load on {} replica(s), {} workers, {:?} + {:?}",
        replicas.len(),
        plan.workers,
        plan.warmup,
        plan.window
    );
    let load = {
        let ctx = ctx.clone();
        tokio::spawn(async move { sim::run_load(&ctx, plan).await })
    };
    let started = Instant::now();
    tokio::time::sleep(plan.warmup).await;
    let replica_pids: Vec<u32> = replicas.iter().filter_map(Replica::pid).collect();
    let pg_pids = cluster.processes();
    let me = std::process::id();
    procs::reset_peaks(&replica_pids);
    procs::reset_peaks(&pg_pids);
    procs::reset_peaks(&[proxy.pid(), me]);
    let replica_cpu0: Vec<Duration> = replica_pids
        .iter()
        .map(|&p| procs::summed_cpu(&[p]))
        .collect();
    let pg_cpu0 = cluster.cpu();
    let proxy_cpu0 = procs::summed_cpu(&[proxy.pid()]);
    let me_cpu0 = procs::summed_cpu(&[me]);
    let machine_cpu0 = procs::machine_busy();

    let mut faults = Vec::new();
    if let Some(fault) = fault {
        tokio::time::sleep(plan.window / 3).await;
        let at = |started: Instant| started.elapsed().as_secs_f64();
        match fault {
            Fault::Kill => {
                faults.push((
                    at(started),
                    format!("kill -9 {}", replicas[1 % replicas.len()].name),
                ));
                replicas[1 % replicas.len()].kill();
            }
            Fault::PgRestart => {
                faults.push((at(started), "pg_ctl restart -m fast begins".to_owned()));
                let c = cluster.clone();
                tokio::task::spawn_blocking(move || c.restart()).await??;
                faults.push((
                    at(started),
                    "pg_ctl restart returned (PostgreSQL up)".to_owned(),
                ));
            }
            Fault::Rolling => {
                for r in replicas.iter_mut() {
                    faults.push((at(started), format!("SIGTERM {}", r.name)));
                    let took = r.terminate(Duration::from_secs(60)).await?;
                    faults.push((
                        at(started),
                        format!(
                            "{} exited {:.2} s after SIGTERM; starting it again",
                            r.name,
                            took.as_secs_f64()
                        ),
                    ));
                    r.spawn(client).await?;
                    faults.push((at(started), format!("{} answers /livez", r.name)));
                    // HAProxy's `rise 2` at `inter 500ms`: it takes the replica back after ~1 s.
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
            }
        }
    }
    let window_end = started + plan.warmup + plan.window;
    tokio::time::sleep_until(window_end.into()).await;
    let replica_usage = replica_pids
        .iter()
        .zip(&replica_cpu0)
        .map(|(&p, &c0)| Usage {
            cpu: procs::summed_cpu(&[p]).saturating_sub(c0),
            peak_rss_kb: procs::peak_rss_kb(p).unwrap_or(0),
        })
        .collect();
    let machine_busy = procs::machine_busy().saturating_sub(machine_cpu0);
    let pg_now = cluster.processes();
    let postgres_pss_kb = procs::summed_pss_kb(&pg_now);
    let postgres = Usage {
        cpu: cluster.cpu().saturating_sub(pg_cpu0),
        peak_rss_kb: procs::summed_peak_rss_kb(&pg_now),
    };
    let haproxy = Usage {
        cpu: procs::summed_cpu(&[proxy.pid()]).saturating_sub(proxy_cpu0),
        peak_rss_kb: procs::peak_rss_kb(proxy.pid()).unwrap_or(0),
    };
    let simulator = Usage {
        cpu: procs::summed_cpu(&[me]).saturating_sub(me_cpu0),
        peak_rss_kb: procs::peak_rss_kb(me).unwrap_or(0),
    };
    let (tallies, _) = load.await??;
    Ok(Phase {
        replicas: replicas.len(),
        window: plan.window,
        tallies,
        replica_usage,
        postgres,
        haproxy,
        simulator,
        machine_busy,
        postgres_pss_kb,
        faults,
    })
}

struct Verification {
    pending_sites: usize,
    checked: usize,
    matching: usize,
    uncertain: usize,
    mismatches: Vec<String>,
    drain_seconds: f64,
    total_rows: u64,
}

/// Drains what sites still queue, then compares PostgreSQL with what every site was acknowledged.
async fn verify(ctx: &Ctx, cluster: &Cluster, workers: usize) -> anyhow::Result<Verification> {
    let started = Instant::now();
    let pending_sites = sim::drain(ctx, workers, Duration::from_secs(120)).await?;
    let drain_seconds = started.elapsed().as_secs_f64();
    let expected = sim::expected(&ctx.fleet).await;
    let out = cluster.psql(
        cluster.database(),
        &format!(
            "SELECT integration_id, post_type, COUNT(*), SUM(checksum) FROM content
             WHERE (post_type = 'post' AND wp_id >= {}) OR post_type = 'page' GROUP BY 1, 2",
            sim::FIRST_SIMULATED_ID
        ),
    )?;
    let mut actual = std::collections::HashMap::new();
    for line in out.lines().filter(|l| !l.is_empty()) {
        let f: Vec<&str> = line.split('|').collect();
        if let [id, t, n, sum] = f[..] {
            actual.insert(
                (id.parse::<i64>()?, t.to_owned()),
                (n.parse::<u64>()?, sum.parse::<u64>()?),
            );
        }
    }
    let uncertain: BTreeSet<i64> = ctx
        .fleet
        .sites
        .iter()
        .filter(|s| s.uncertain.load(Ordering::Relaxed))
        .map(|s| s.integration_id)
        .collect();
    let mut keys: BTreeSet<(i64, String)> = expected
        .keys()
        .map(|(i, t)| (*i, (*t).to_owned()))
        .collect();
    keys.extend(actual.keys().cloned());
    let (mut checked, mut matching, mut mismatches) = (0, 0, Vec::new());
    for (id, t) in keys {
        if uncertain.contains(&id) {
            continue;
        }
        checked += 1;
        let want = expected.get(&(id, t.clone())).copied().unwrap_or((0, 0));
        let got = actual.get(&(id, t.clone())).copied().unwrap_or((0, 0));
        if want == got {
            matching += 1;
        } else {
            mismatches.push(format!(
                "integration {id} {t}: sent and acknowledged {} rows (checksum sum {}), PostgreSQL holds {} ({})",
                want.0, want.1, got.0, got.1
            ));
        }
    }
    let total_rows = cluster
        .psql(cluster.database(), "SELECT COUNT(*) FROM content")?
        .trim()
        .parse()
        .unwrap_or(0);
    Ok(Verification {
        pending_sites,
        checked,
        matching,
        uncertain: uncertain.len(),
        mismatches,
        drain_seconds,
        total_rows,
    })
}

type GrowthFigures = Vec<(&'static str, sim::Tally)>;

#[derive(Default)]
struct Report {
    /// Per size: the rows held, each operation's timings, the plans.
    growth: Vec<(u64, GrowthFigures, String)>,
    phases: Vec<Phase>,
    verify: Option<Verification>,
}

const TARGET_GROWTH: f64 = 1.2;

impl Report {
    fn print(&self, o: &Options, before: &str, drains: bool) {
        let ms = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.2}"));
        println!();
        println!(
            "fleet: {} sites, {} users, {} replicas, {} workers (closed loop), plugin timings ÷ {}; {before} before, {} after",
            o.sites,
            o.users,
            o.replicas,
            o.workers,
            o.compress,
            crate::server::machine()
        );
        if !drains {
            println!(
                "(this igny8 has no --shutdown-delay: replicas stop without a readiness drain)"
            );
        }
        for phase in &self.phases {
            let secs = phase.window.as_secs_f64();
            println!();
            println!("{} replica(s), {secs:.0} s measured:", phase.replicas);
            println!(
                "{:<36} {:>9} {:>8} {:>8} {:>7}  error kinds",
                "endpoint", "req/s", "p50 ms", "p99 ms", "errors"
            );
            let mut total = 0;
            let mut total_errors = 0;
            for e in Endpoint::ALL {
                let Some(t) = phase.tallies.by_endpoint.get(&e) else {
                    continue;
                };
                total += t.requests();
                total_errors += t.errors;
                let kinds: Vec<String> = t.kinds.iter().map(|(k, n)| format!("{n}× {k}")).collect();
                println!(
                    "{:<36} {:>9.1} {:>8} {:>8} {:>7}  {}",
                    e.name(),
                    t.requests() as f64 / secs,
                    ms(t.quantile_ms(0.5)),
                    ms(t.quantile_ms(0.99)),
                    t.errors,
                    kinds.join(", ")
                );
            }
            println!(
                "{:<36} {:>9.1} {:>8} {:>8} {:>7}",
                "all",
                total as f64 / secs,
                "",
                "",
                total_errors
            );
            if phase.tallies.unexpected_items > 0 {
                println!(
                    "items answered stale or rejected: {} (first: {})",
                    phase.tallies.unexpected_items,
                    phase.tallies.first_unexpected.as_deref().unwrap_or("")
                );
            }
            let replica_cpu: f64 = phase.replica_usage.iter().map(Usage::cpu_seconds).sum();
            let all_cpu = replica_cpu
                + phase.postgres.cpu_seconds()
                + phase.haproxy.cpu_seconds()
                + phase.simulator.cpu_seconds();
            println!(
                "CPU seconds in the window: replicas {replica_cpu:.1} ({}), PostgreSQL {:.1}, HAProxy {:.1}, simulator {:.1}; all {all_cpu:.1}; the whole machine (other work included) {:.1} of the {:.0} two cores give",
                phase
                    .replica_usage
                    .iter()
                    .map(|u| format!("{:.1}", u.cpu_seconds()))
                    .collect::<Vec<_>>()
                    .join(" + "),
                phase.postgres.cpu_seconds(),
                phase.haproxy.cpu_seconds(),
                phase.simulator.cpu_seconds(),
                phase.machine_busy.as_secs_f64(),
                2.0 * secs
            );
            println!(
                "peak RSS MB: replicas {}, PostgreSQL {:.0} (VmHWM summed over its processes: shared buffers count in each; PSS summed at the end {:.0}), HAProxy {:.1}, simulator {:.0}",
                phase
                    .replica_usage
                    .iter()
                    .map(|u| format!("{:.1}", u.rss_mb()))
                    .collect::<Vec<_>>()
                    .join(", "),
                phase.postgres.rss_mb(),
                phase.postgres_pss_kb as f64 / 1024.0,
                phase.haproxy.rss_mb(),
                phase.simulator.rss_mb()
            );
            if phase.faults.is_empty() {
                println!(
                    "requests per CPU-second: {:.0} per replica CPU-second, {:.0} per CPU-second of replicas + PostgreSQL, {:.0} per CPU-second of everything",
                    total as f64 / replica_cpu.max(1e-9),
                    total as f64 / (replica_cpu + phase.postgres.cpu_seconds()).max(1e-9),
                    total as f64 / all_cpu.max(1e-9)
                );
            } else {
                // /proc knows a process only while it lives: one killed or restarted mid-window
                // takes its CPU seconds with it, so these sums are not comparable to a quiet phase's.
                println!(
                    "(CPU and memory above count only processes alive at both ends of the window)"
                );
            }
            for (at, what) in &phase.faults {
                println!("fault at {at:.2} s: {what}");
            }
            if !phase.faults.is_empty() {
                let events = &phase.tallies.events;
                if let (Some(first), Some(last)) = (events.first(), events.last()) {
                    println!(
                        "errors seen by the sites and users: {} between {:.2} s and {:.2} s",
                        events.len(),
                        first.at,
                        last.at
                    );
                }
                let mut by_second: std::collections::BTreeMap<(u64, String), u64> =
                    Default::default();
                for e in events {
                    *by_second
                        .entry((e.at as u64, format!("{}: {}", e.endpoint.name(), e.kind)))
                        .or_default() += 1;
                }
                for ((s, what), n) in by_second {
                    println!("  second {s}: {n}× {what}");
                }
            }
        }
        let rate = |p: &Phase| {
            p.tallies
                .by_endpoint
                .values()
                .map(sim::Tally::requests)
                .sum::<u64>() as f64
                / p.window.as_secs_f64()
        };
        let cpu = |p: &Phase| {
            p.replica_usage.iter().map(Usage::cpu_seconds).sum::<f64>()
                + p.postgres.cpu_seconds()
                + p.haproxy.cpu_seconds()
                + p.simulator.cpu_seconds()
        };
        if o.fault.is_none() && self.phases.len() >= 2 {
            println!();
            for pair in self.phases.chunks(2) {
                if let [many, one] = pair {
                    println!(
                        "1 → {} replicas: {:.0} → {:.0} req/s, ratio {:.2}; fleet CPU-seconds in the window {:.1} → {:.1}, whole machine {:.1} → {:.1}, of {:.0} (2 cores); requests per fleet CPU-second {:.0} → {:.0}",
                        many.replicas,
                        rate(one),
                        rate(many),
                        rate(many) / rate(one),
                        cpu(one),
                        cpu(many),
                        one.machine_busy.as_secs_f64(),
                        many.machine_busy.as_secs_f64(),
                        2.0 * many.window.as_secs_f64(),
                        rate(one) * one.window.as_secs_f64() / cpu(one).max(1e-9),
                        rate(many) * many.window.as_secs_f64() / cpu(many).max(1e-9),
                    );
                }
            }
            println!("(2 cores run PostgreSQL, HAProxy, every replica and the simulator: more replicas add no cores, so the ratio is bounded by them)");
        }
        if let [(small, at_small, _), (large, at_large, _)] = &self.growth[..] {
            println!();
            println!(
                "growth: {small} → {large} content rows (probe sites unchanged), {} timed repetitions each:",
                o.growth_reps
            );
            println!(
                "{:<20} {:>12} {:>12} {:>8} {:>12} {:>12} {:>8}  target ≤ {TARGET_GROWTH}",
                "operation",
                "p50 ms small",
                "p50 ms large",
                "ratio",
                "mean small",
                "mean large",
                "ratio"
            );
            for ((op, a), (_, b)) in at_small.iter().zip(at_large) {
                let ratio = |x: Option<f64>, y: Option<f64>| match (x, y) {
                    (Some(x), Some(y)) if x > 0.0 => Some(y / x),
                    _ => None,
                };
                let p50 = ratio(a.quantile_ms(0.5), b.quantile_ms(0.5));
                let mean = ratio(a.mean_ms(), b.mean_ms());
                println!(
                    "{op:<20} {:>12} {:>12} {:>8} {:>12} {:>12} {:>8}  {}{}",
                    ms(a.quantile_ms(0.5)),
                    ms(b.quantile_ms(0.5)),
                    ms(p50),
                    ms(a.mean_ms()),
                    ms(b.mean_ms()),
                    ms(mean),
                    if p50.is_some_and(|r| r <= TARGET_GROWTH) {
                        "met"
                    } else {
                        "MISSED"
                    },
                    if a.errors + b.errors > 0 {
                        format!(" ({} errors)", a.errors + b.errors)
                    } else {
                        String::new()
                    }
                );
            }
        }
        if let Some(v) = &self.verify {
            println!();
            println!(
                "verification after a {:.1} s drain: {} integration×type pairs checked, {} equal in count and checksum sum to what the sites sent and were acknowledged, {} differ; {} sites left out (a write of unknown outcome abandoned), {} sites still queuing after the drain; content holds {} rows",
                v.drain_seconds,
                v.checked,
                v.matching,
                v.mismatches.len(),
                v.uncertain,
                v.pending_sites,
                v.total_rows
            );
            for m in v.mismatches.iter().take(10) {
                println!("  {m}");
            }
        }
        for (rows, _, plans) in &self.growth {
            println!();
            println!("EXPLAIN (ANALYZE, BUFFERS) at {rows} rows, probe integration 1:");
            println!("{plans}");
        }
    }
}
