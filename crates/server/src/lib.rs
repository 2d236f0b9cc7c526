//! The HTTP side of igny8: the integration API WordPress sites talk to, the dashboard people use,
//! and the wiring that serves both from one listener.

pub mod api;
pub mod auth;
pub mod config;
pub mod dashboard;
pub mod downloads;
pub mod metrics;
pub mod middleware;
pub mod nudge;
pub mod serve;
pub mod services;
mod state;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use igny8_store::Store;
use tokio::net::TcpListener;

pub use config::Settings;
pub use metrics::Metrics;
pub use state::AppState;

/// The whole application: API and dashboard routes over one state.
pub fn app(state: AppState) -> Router {
    let routes = Router::new()
        .merge(api::router())
        .merge(dashboard::router())
        .merge(downloads::router());
    middleware::around(routes, &state).with_state(state)
}

/// Serves the application on an already-bound listener until `shutdown` resolves, so tests can
/// bind port 0 and the CLI can bind the configured address.
pub async fn launch_with_listener(
    settings: Settings,
    store: Arc<dyn Store>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    launch(settings, store, Metrics::new(), listener, None, shutdown).await
}

/// `launch_with_listener`, counting into `metrics`, and serving them on `metrics_listener` when
/// there is one (`GET /metrics`, with the same limits on slow clients).
pub async fn launch(
    settings: Settings,
    store: Arc<dyn Store>,
    metrics: Metrics,
    listener: TcpListener,
    metrics_listener: Option<TcpListener>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (limits, delay) = (settings.connections, settings.shutdown_delay);
    let state = AppState::new(settings, store.clone(), metrics.clone()).await?;
    let stopping = state.stopping.clone();
    // One shutdown for both listeners.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = move || {
        let mut stop_rx = stop_rx.clone();
        async move {
            let _ = stop_rx.wait_for(|stop| *stop).await;
        }
    };
    tokio::spawn(async move {
        shutdown.await;
        // Not ready first, closed later: the load balancer's health check sees the replica leave
        // and sends it nothing new before its listener closes.
        stopping.store(true, std::sync::atomic::Ordering::SeqCst);
        tracing::info!(
            delay_seconds = delay.as_secs_f64(),
            "stopping: /healthz answers 503 while requests are still served"
        );
        tokio::time::sleep(delay).await;
        let _ = stop_tx.send(true);
    });
    let api = serve::serve(
        listener,
        app(state),
        limits,
        Some(metrics.clone()),
        stopped(),
    );
    match metrics_listener {
        Some(metrics_listener) => {
            let scrape = serve::serve(
                metrics_listener,
                metrics.router(store),
                limits,
                None,
                stopped(),
            );
            tokio::try_join!(api, scrape)?;
        }
        None => api.await?,
    }
    Ok(())
}
