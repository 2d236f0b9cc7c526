//! The HTTP side of igny8: the integration API WordPress sites talk to, the dashboard people use,
//! and the wiring that serves both from one listener.

pub mod api;
pub mod auth;
pub mod config;
pub mod dashboard;
pub mod downloads;
pub mod nudge;
pub mod services;
mod state;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::Request;
use axum::Router;
use igny8_store::Store;
use tokio::net::TcpListener;
use tower::ServiceExt as _;

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
    let state = AppState::new(settings, store).await?;
    // Paths are matched without their trailing slash, so `/x/` and `/x` reach the same handler.
    let service = tower::service_fn({
        let app = app(state);
        move |mut req: Request| {
            api::trim_trailing_slash(&mut req);
            app.clone().oneshot(req)
        }
    });
    axum::serve(
        listener,
        axum::ServiceExt::<Request>::into_make_service_with_connect_info::<SocketAddr>(service),
    )
    .with_graceful_shutdown(shutdown)
    .await?;
    Ok(())
}
