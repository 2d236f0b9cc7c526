//! One structured line per request, and the same in the metrics.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::AppState;

/// One structured line per request: method, route, status, time (and the same in the metrics). No
/// headers, no bodies, no query strings, so no credentials reach the log.
pub async fn requests(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let matched = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    let route = matched
        .clone()
        .unwrap_or_else(|| req.uri().path().to_owned());
    let response = next.run(req).await;
    let (status, took) = (response.status().as_u16(), started.elapsed());
    state
        .metrics
        .request(method.as_str(), matched.as_deref(), status, took);
    tracing::info!(
        %method,
        route,
        status,
        micros = took.as_micros() as u64,
        "request"
    );
    response
}
