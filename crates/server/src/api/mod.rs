//! The integration API under `/api/v1/`: this file is its table of contents.

mod auth;
mod caller;
mod changes;
mod content;
mod error;
mod extract;
mod integrations;
pub mod openapi;
mod response;
mod site_url;

use axum::extract::{DefaultBodyLimit, State};
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
