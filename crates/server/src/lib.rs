//! The HTTP side of igny8: the integration API WordPress sites talk to, the dashboard people use,
//! and the wiring that serves both from one listener.

pub mod api;
pub mod auth;
pub mod config;
pub mod dashboard;
pub mod downloads;
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
pub use state::AppState;

/// The whole application: API and dashboard routes over one state.
pub fn app(state: AppState) -> Router {
    Router::new()
        .merge(api::router())
        .merge(dashboard::router())
        .merge(downloads::router())
        .layer(axum::middleware::from_fn(api::log_requests))
        .layer(axum::middleware::from_fn(api::security_headers))
        .with_state(state)
}

/// Serves the application on an already-bound listener until `shutdown` resolves, so tests can
/// bind port 0 and the CLI can bind the configured address.
pub async fn launch_with_listener(
    settings: Settings,
    store: Arc<dyn Store>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let limits = settings.connections;
    let state = AppState::new(settings, store).await?;
    serve::serve(listener, app(state), limits, shutdown).await?;
    Ok(())
}
