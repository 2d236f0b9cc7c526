//! The integration API under `/api/v1/`: this file is its table of contents.

pub(crate) mod auth;
mod caller;
mod changes;
pub(crate) mod content;
mod error;
mod extract;
pub(crate) mod integrations;
pub mod openapi;
mod site_url;

use std::time::Instant;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::Uri;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

pub use caller::Caller;
pub use error::ApiError;
pub use extract::JsonBody;

use crate::AppState;

pub fn router() -> Router<AppState> {
    let api = Router::new()
        .route("/auth/login", post(auth::login))
        .route("/auth/refresh", post(auth::refresh))
        .route("/auth/sites", get(auth::sites))
        .route(
            "/integration/integrations",
            get(integrations::list).post(integrations::create),
        )
        .route(
            "/integration/integrations/{id}",
            get(integrations::show).patch(changes::update_integration),
        )
        .route(
            "/integration/integrations/{id}/update-structure",
            post(integrations::update_structure),
        )
        .route(
            "/integration/integrations/{id}/site-url",
            post(site_url::moved),
        )
        .route(
            "/integration/integrations/{id}/content-types",
            get(integrations::content_types).patch(integrations::change_content_types),
        )
        .route("/integration/integrations/{id}/content", get(content::list))
        .route(
            "/integration/integrations/{id}/content/batch",
            post(content::batch),
        )
        .route(
            "/integration/integrations/{id}/content/full-sync",
            post(content::full_sync),
        )
        .route(
            "/integration/integrations/{id}/content/status",
            get(content::status),
        )
        .route(
            "/integration/integrations/{id}/content/resync-request",
            post(content::resync_request),
        )
        .route(
            "/integration/integrations/{id}/content/verify",
            post(content::verify),
        )
        .route(
            "/integration/integrations/{id}/content/{type}/{wp_id}",
            get(content::show),
        )
        .route("/integration/integrations/{id}/terms", get(content::terms))
        .route(
            "/integration/integrations/{id}/changes",
            get(changes::list).post(changes::create),
        )
        .route(
            "/integration/integrations/{id}/changes/pending",
            get(changes::pending),
        )
        .route(
            "/integration/integrations/{id}/changes/results",
            post(changes::results),
        )
        .route(
            "/integration/integrations/{id}/changes/receiver",
            post(changes::register_receiver),
        )
        .route(
            "/integration/integrations/{id}/changes/{cid}",
            get(changes::show),
        )
        .route(
            "/integration/integrations/{id}/changes/{cid}/cancel",
            post(changes::cancel),
        )
        .route(
            "/integration/integrations/{id}/changes/{cid}/resolve",
            post(changes::resolve),
        )
        .route("/openapi.json", get(openapi::serve))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // `JsonBody` enforces the configured limit with the API's own 413 answer.
        .layer(DefaultBodyLimit::disable());
    Router::new()
        .nest("/api/v1", api)
        .route("/healthz", get(healthz))
        .route("/livez", get(livez))
}

/// Liveness without touching the store: the HTTP floor the benchmark compares endpoints with.
async fn livez() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

async fn healthz(State(state): State<AppState>) -> Response {
    if state.stopping.load(std::sync::atomic::Ordering::SeqCst) {
        return (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "stopping"})),
        )
            .into_response();
    }
    match state.store.count_users().await {
        Ok(_) => Json(json!({"status": "ok"})).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check: store unreachable");
            (
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                [(
                    axum::http::header::RETRY_AFTER,
                    crate::state::STORE_RETRY_AFTER_SECS,
                )],
                Json(json!({"status": "unavailable"})),
            )
                .into_response()
        }
    }
}

async fn not_found() -> ApiError {
    ApiError::NotFound
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// `/api/v1/x/` and `/api/v1/x` are the same resource (the plugin calls the first).
pub(crate) fn trim_trailing_slash(req: &mut Request) {
    let path = req.uri().path();
    if path.len() > 1 && path.ends_with('/') {
        let trimmed = path.trim_end_matches('/');
        let trimmed = if trimmed.is_empty() { "/" } else { trimmed };
        let pq = match req.uri().query() {
            Some(q) => format!("{trimmed}?{q}"),
            None => trimmed.to_owned(),
        };
        let mut parts = req.uri().clone().into_parts();
        if let Ok(pq) = pq.parse() {
            parts.path_and_query = Some(pq);
            if let Ok(uri) = Uri::from_parts(parts) {
                *req.uri_mut() = uri;
            }
        }
    }
}

/// Answers are never sniffed into another type, framed by other sites, or leak the referrer; JSON
/// answers (tokens, a tenant's content) are never kept by a cache on the way.
pub async fn security_headers(req: Request, next: Next) -> Response {
    use axum::http::{header, HeaderValue};
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if json {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}

/// One structured line per request: method, route, status, time (and the same in the metrics). No
/// headers, no bodies, no query strings, so no credentials reach the log.
pub async fn log_requests(State(state): State<AppState>, req: Request, next: Next) -> Response {
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
