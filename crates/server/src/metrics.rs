//! What the server counts for its operators, served as `/metrics` in the OpenMetrics text format
//! Prometheus scrapes, on an address of its own (`--metrics-addr`) so it is never public by
//! accident. Counting is the Prometheus project's own client; nothing here formats text.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::Utc;
use igny8_store::Store;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::{Family, MetricConstructor};
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use tracing::span;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    method: String,
    /// The route's pattern (`/api/v1/integration/integrations/{id}/content/batch`), or
    /// `unmatched`: never a raw path, so the series stay few.
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StoreLabels {
    /// `sqlite` or `postgres`.
    store: String,
    /// The `Store` method.
    operation: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabels {
    status: String,
}

/// Latency buckets from 0.1 ms to ~26 s.
#[derive(Clone)]
struct Buckets;

impl MetricConstructor<Histogram> for Buckets {
    fn new_metric(&self) -> Histogram {
        Histogram::new(exponential_buckets(0.0001, 4.0, 10))
    }
}

/// The server's counters, gauges and histograms; cheap to clone (every part is shared).
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    http_requests: Family<HttpLabels, Counter>,
    http_seconds: Family<HttpLabels, Histogram, Buckets>,
    store_seconds: Family<StoreLabels, Histogram, Buckets>,
    content_items: Family<OutcomeLabels, Counter>,
    sign_ins_refused: Family<OutcomeLabels, Counter>,
    full_syncs: Family<OutcomeLabels, Counter>,
    verifications: Family<OutcomeLabels, Counter>,
    connections_open: Gauge,
    password_checks: Gauge,
    pool_connections: Gauge,
    pool_idle: Gauge,
    outbox_changes: Family<StatusLabels, Gauge>,
    oldest_pending_change: Gauge<f64, std::sync::atomic::AtomicU64>,
    nudges: Family<OutcomeLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("igny8");
        let http_requests = Family::<HttpLabels, Counter>::default();
        let http_seconds = Family::new_with_constructor(Buckets);
        let store_seconds = Family::new_with_constructor(Buckets);
        let content_items = Family::<OutcomeLabels, Counter>::default();
        let sign_ins_refused = Family::<OutcomeLabels, Counter>::default();
        let full_syncs = Family::<OutcomeLabels, Counter>::default();
        let verifications = Family::<OutcomeLabels, Counter>::default();
        let connections_open = Gauge::default();
        let password_checks = Gauge::default();
        let pool_connections = Gauge::default();
        let pool_idle = Gauge::default();
        let outbox_changes = Family::<StatusLabels, Gauge>::default();
        let oldest_pending_change = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
        let nudges = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route and status",
            http_requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time from a request's head to its answer, by method, route and status",
            http_seconds.clone(),
        );
        registry.register(
            "store_operation_duration_seconds",
            "Time a store operation took, by store and operation",
            store_seconds.clone(),
        );
        registry.register(
            "content_items",
            "Content batch items, by outcome: applied, stale, rejected",
            content_items.clone(),
        );
        registry.register(
            "sign_ins_refused",
            "Sign-ins refused before the password was checked: rate_limited, busy",
            sign_ins_refused.clone(),
        );
        registry.register(
            "full_syncs",
            "Full sync steps: requested, started, finished",
            full_syncs.clone(),
        );
        registry.register(
            "verifications",
            "Finished verifications, by result: in_sync, out_of_sync",
            verifications.clone(),
        );
        registry.register(
            "connections_open",
            "HTTP connections open now",
            connections_open.clone(),
        );
        registry.register(
            "password_checks_in_progress",
            "Sign-ins and setups waiting for a password hashing turn or hashing now",
            password_checks.clone(),
        );
        registry.register(
            "store_pool_connections",
            "Database connections the store's pool holds (PostgreSQL)",
            pool_connections.clone(),
        );
        registry.register(
            "store_pool_idle_connections",
            "Of those, the idle ones",
            pool_idle.clone(),
        );
        registry.register(
            "outbox_changes",
            "Two-way sync changes for WordPress, by status (every replica reports the whole outbox)",
            outbox_changes.clone(),
        );
        registry.register_with_unit(
            "oldest_pending_change_age",
            "How long the oldest pending change has waited for its site; 0 when none waits",
            prometheus_client::registry::Unit::Seconds,
            oldest_pending_change.clone(),
        );
        registry.register(
            "nudges",
            "Nudges sent to sites, by outcome: delivered, failed",
            nudges.clone(),
        );
        Self {
            registry: Arc::new(registry),
            http_requests,
            http_seconds,
            store_seconds,
            content_items,
            sign_ins_refused,
            full_syncs,
            verifications,
            connections_open,
            password_checks,
            pool_connections,
            pool_idle,
            outbox_changes,
            oldest_pending_change,
            nudges,
        }
    }

    /// One answered request; `route` is `None` when no route matched.
    pub fn request(&self, method: &str, route: Option<&str>, status: u16, took: Duration) {
        let labels = HttpLabels {
            method: method.to_owned(),
            route: route.unwrap_or("unmatched").to_owned(),
            status,
        };
        self.http_requests.get_or_create(&labels).inc();
        self.http_seconds
            .get_or_create(&labels)
            .observe(took.as_secs_f64());
    }

    pub fn content_items(&self, applied: u64, stale: u64, rejected: u64) {
        for (outcome, n) in [
            ("applied", applied),
            ("stale", stale),
            ("rejected", rejected),
        ] {
            self.content_items
                .get_or_create(&outcome_label(outcome))
                .inc_by(n);
        }
    }

    /// A sign-in refused before its password was checked: `rate_limited` or `busy`.
    pub fn sign_in_refused(&self, why: &str) {
        self.sign_ins_refused
            .get_or_create(&outcome_label(why))
            .inc();
    }

    /// A full sync step: `requested`, `started` or `finished`.
    pub fn full_sync(&self, step: &str) {
        self.full_syncs.get_or_create(&outcome_label(step)).inc();
    }

    pub fn verification(&self, result: &str) {
        self.verifications
            .get_or_create(&outcome_label(result))
            .inc();
    }

    /// A nudge sent: `delivered` or `failed`.
    pub fn nudge(&self, outcome: &str) {
        self.nudges.get_or_create(&outcome_label(outcome)).inc();
    }

    /// Counts an open connection until the guard is dropped.
    pub fn connection_opened(&self) -> GaugeGuard {
        GaugeGuard::up(&self.connections_open)
    }

    /// Counts a sign-in waiting for or running its password hash until the guard is dropped.
    pub fn password_check(&self) -> GaugeGuard {
        GaugeGuard::up(&self.password_checks)
    }

    /// A `tracing` layer that times every span of the store crates (each `Store` method is one):
    /// the store's latency without a wrapper around each of its methods. The binary adds it to its
    /// subscriber.
    pub fn store_timings(&self) -> StoreTimings {
        StoreTimings {
            seconds: self.store_seconds.clone(),
        }
    }

    /// The text Prometheus scrapes, with the pool's and the outbox's figures read now. An outbox
    /// the store cannot count keeps its last figures: the scrape still answers (and says, in
    /// `http_requests`, that the store is failing).
    pub async fn render(&self, store: &dyn Store) -> Result<String, std::fmt::Error> {
        if let Some(pool) = store.pool_usage() {
            self.pool_connections.set(i64::from(pool.size));
            self.pool_idle.set(i64::from(pool.idle));
        }
        match store.outbox_depth().await {
            Ok(depth) => {
                for (status, n) in depth.by_status {
                    self.outbox_changes
                        .get_or_create(&StatusLabels {
                            status: status.as_str().to_owned(),
                        })
                        .set(i64::try_from(n).unwrap_or(i64::MAX));
                }
                let age = depth.oldest_pending_at.map_or(0.0, |at| {
                    (Utc::now() - at).to_std().unwrap_or_default().as_secs_f64()
                });
                self.oldest_pending_change.set(age);
            }
            Err(e) => tracing::warn!(error = %e, "metrics: the outbox could not be counted"),
        }
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }

    /// The router of the metrics address: `GET /metrics`.
    pub fn router(&self, store: Arc<dyn Store>) -> Router {
        Router::new()
            .route("/metrics", get(serve_metrics))
            .with_state((self.clone(), store))
    }
}

fn outcome_label(outcome: &str) -> OutcomeLabels {
    OutcomeLabels {
        outcome: outcome.to_owned(),
    }
}

async fn serve_metrics(State((metrics, store)): State<(Metrics, Arc<dyn Store>)>) -> Response {
    match metrics.render(store.as_ref()).await {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                ),
            )],
            text,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "metrics did not render");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// Moves a gauge up now and down when dropped.
pub struct GaugeGuard(Gauge);

impl GaugeGuard {
    fn up(gauge: &Gauge) -> Self {
        gauge.inc();
        Self(gauge.clone())
    }
}

impl Drop for GaugeGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// See `Metrics::store_timings`.
pub struct StoreTimings {
    seconds: Family<StoreLabels, Histogram, Buckets>,
}

struct Opened(Instant);

impl StoreTimings {
    fn store_of(target: &str) -> Option<&'static str> {
        if target.starts_with("igny8_store_sqlite") {
            Some("sqlite")
        } else if target.starts_with("igny8_store_postgres") {
            Some("postgres")
        } else {
            None
        }
    }
}

impl<S> tracing_subscriber::Layer<S> for StoreTimings
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, ctx: Context<'_, S>) {
        if Self::store_of(attrs.metadata().target()).is_some() {
            if let Some(span) = ctx.span(id) {
                span.extensions_mut().insert(Opened(Instant::now()));
            }
        }
    }

    fn on_close(&self, id: span::Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let Some(store) = Self::store_of(span.metadata().target()) else {
            return;
        };
        let opened = span.extensions().get::<Opened>().map(|o| o.0);
        if let Some(at) = opened {
            self.seconds
                .get_or_create(&StoreLabels {
                    store: store.to_owned(),
                    operation: span.name().to_owned(),
                })
                .observe(at.elapsed().as_secs_f64());
        }
    }
}
