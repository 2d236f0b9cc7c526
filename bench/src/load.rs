//! The load: N simulated sites, each a loop with its own API key (back to back, or paced like a
//! site's schedule), and what one phase of it measured.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};

use crate::server;

/// The seed payload of DESIGN.md §2, as a WordPress site pushes it.
const SEED_STRUCTURE: &str = r#"{
  "post_types": {
    "post":    {"label": "Posts",    "count": 123, "enabled": true,  "fetch_limit": 100},
    "page":    {"label": "Pages",    "count": 12,  "enabled": true,  "fetch_limit": 100},
    "product": {"label": "Products", "count": 456, "enabled": false, "fetch_limit": 50}
  },
  "taxonomies": {
    "category":    {"label": "Categories",         "count": 25,  "enabled": true,  "fetch_limit": 100},
    "post_tag":    {"label": "Tags",               "count": 102, "enabled": true,  "fetch_limit": 100},
    "product_cat": {"label": "Product Categories", "count": 15,  "enabled": false, "fetch_limit": 50}
  },
  "plugin_connection_enabled": true,
  "two_way_sync_enabled": true,
  "timestamp": "2025-11-22T10:00:00Z"
}"#;

/// One simulated WordPress site: its key and its wordpress integration.
#[derive(Clone)]
pub struct SimulatedSite {
    pub key: String,
    pub integration_id: i64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    UpdateStructure,
    Livez,
}

impl Endpoint {
    pub fn name(self) -> &'static str {
        match self {
            Self::UpdateStructure => "update-structure",
            Self::Livez => "livez",
        }
    }

    fn request(
        self,
        client: &reqwest::Client,
        base_url: &str,
        site: &SimulatedSite,
    ) -> reqwest::RequestBuilder {
        match self {
            Self::UpdateStructure => client
                .post(format!(
                    "{base_url}/api/v1/integration/integrations/{}/update-structure/",
                    site.integration_id
                ))
                .header(AUTHORIZATION, format!("Bearer {}", site.key))
                .header(CONTENT_TYPE, "application/json")
                .body(SEED_STRUCTURE),
            Self::Livez => client.get(format!("{base_url}/livez")),
        }
    }
}

/// What one phase measured; only answers that arrived inside the measured window count.
pub struct PhaseResult {
    pub endpoint: Endpoint,
    pub requests: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    /// Sorted, in microseconds.
    latencies: Vec<u32>,
    pub window: Duration,
    pub peak_rss_kb: Option<u64>,
    pub server_cpu: Option<Duration>,
}

impl PhaseResult {
    pub fn per_second(&self) -> f64 {
        self.requests as f64 / self.window.as_secs_f64()
    }

    /// The latency at quantile `q` (nearest rank), in milliseconds.
    pub fn latency_ms(&self, q: f64) -> Option<f64> {
        if self.latencies.is_empty() {
            return None;
        }
        let rank =
            ((q * self.latencies.len() as f64).ceil() as usize).clamp(1, self.latencies.len());
        Some(f64::from(self.latencies[rank - 1]) / 1000.0)
    }
}

#[derive(Default)]
struct TaskTally {
    latencies: Vec<u32>,
    errors: u64,
    first_error: Option<String>,
}

/// How long a phase runs and how each site paces its requests.
#[derive(Clone, Copy)]
pub struct Schedule {
    /// Unmeasured time first: connections open, caches warm.
    pub warmup: Duration,
    /// The measured window.
    pub window: Duration,
    /// Time between one site's requests (an open loop, latency counted from when a request was
    /// due); `None` sends the next request as soon as the answer is in (a closed loop).
    pub pace: Option<Duration>,
}

/// Runs every site's loop against `endpoint` for the warm-up and the window, measuring the window.
pub async fn run_phase(
    client: &reqwest::Client,
    base_url: &str,
    server_pid: u32,
    sites: &[SimulatedSite],
    endpoint: Endpoint,
    schedule: Schedule,
) -> anyhow::Result<PhaseResult> {
    let Schedule {
        warmup,
        window,
        pace,
    } = schedule;
    let start = Instant::now();
    let measure_from = start + warmup;
    let until = measure_from + window;
    let base_url: Arc<str> = Arc::from(base_url);

    let sampler = tokio::spawn(sample_server(server_pid, measure_from, until));
    let mut tasks = Vec::with_capacity(sites.len());
    for (i, site) in sites.iter().enumerate() {
        let (client, base_url, site) = (client.clone(), base_url.clone(), site.clone());
        // Paced sites start spread over one interval, as real sites' schedules are.
        let mut due =
            start + pace.map_or(Duration::ZERO, |p| p.mul_f64(i as f64 / sites.len() as f64));
        tasks.push(tokio::spawn(async move {
            let mut tally = TaskTally::default();
            loop {
                let sent = match pace {
                    Some(pace) => {
                        // A request made late by the previous slow answer counts from when it was
                        // due; one on time counts from when it leaves (not the timer's wake-up).
                        let sent = if Instant::now() < due {
                            tokio::time::sleep_until(due.into()).await;
                            Instant::now()
                        } else {
                            due
                        };
                        due += pace;
                        sent
                    }
                    None => Instant::now(),
                };
                if sent >= until {
                    break;
                }
                let outcome = match endpoint.request(&client, &base_url, &site).send().await {
                    Ok(response) => {
                        let status = response.status();
                        match response.bytes().await {
                            Ok(_) if status.is_success() => Ok(()),
                            Ok(body) => {
                                Err(format!("HTTP {status}: {}", String::from_utf8_lossy(&body)))
                            }
                            Err(e) => Err(format!("reading the answer: {e}")),
                        }
                    }
                    Err(e) => Err(format!("sending: {e}")),
                };
                let done = Instant::now();
                if done < measure_from || done > until {
                    continue;
                }
                match outcome {
                    Ok(()) => tally
                        .latencies
                        .push(u32::try_from((done - sent).as_micros()).unwrap_or(u32::MAX)),
                    Err(e) => {
                        tally.errors += 1;
                        tally.first_error.get_or_insert(e);
                    }
                }
            }
            tally
        }));
    }

    let mut latencies = Vec::new();
    let (mut errors, mut first_error) = (0, None);
    for task in tasks {
        let tally = task.await?;
        latencies.extend(tally.latencies);
        errors += tally.errors;
        first_error = first_error.or(tally.first_error);
    }
    latencies.sort_unstable();
    let (peak_rss_kb, server_cpu) = sampler.await?;
    Ok(PhaseResult {
        endpoint,
        requests: latencies.len() as u64 + errors,
        errors,
        first_error,
        latencies,
        window,
        peak_rss_kb,
        server_cpu,
    })
}

/// Over the measured window: the server's peak RSS (its `VmHWM`, reset at the window's start, and
/// `VmRSS` every 100 ms in case the reset is not allowed) and the CPU time it used.
async fn sample_server(pid: u32, from: Instant, until: Instant) -> (Option<u64>, Option<Duration>) {
    tokio::time::sleep_until(from.into()).await;
    server::reset_peak_rss(pid);
    let cpu_before = server::cpu_time(pid);
    let mut peak = None;
    while Instant::now() < until {
        if let Some((rss, _)) = server::memory_kb(pid) {
            peak = peak.max(Some(rss));
        }
        tokio::time::sleep(
            Duration::from_millis(100).min(until.saturating_duration_since(Instant::now())),
        )
        .await;
    }
    let cpu = match (cpu_before, server::cpu_time(pid)) {
        (Some(before), Some(after)) => Some(after.saturating_sub(before)),
        _ => None,
    };
    if let Some((rss, hwm)) = server::memory_kb(pid) {
        peak = peak.max(Some(rss.max(hwm)));
    }
    (peak, cpu)
}
