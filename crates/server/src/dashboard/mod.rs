//! The dashboard people use: server-rendered pages over the same store as the API. This file is
//! its table of contents; each resource has its own module, each page its template in
//! `templates/dashboard/`.

mod api_docs;
mod api_keys;
mod changes;
mod content;
mod content_types;
mod error;
mod integration;
mod new_post;
mod post;
mod post_form;
mod session;
mod sign_in;
mod sites;
mod view;

use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

pub use error::PageError;

use crate::middleware::page_headers;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(sign_in::start).post(sign_in::set_up))
        .route("/login", get(sign_in::login_page).post(sign_in::login))
        .route("/logout", get(sign_in::logout_page).post(sign_in::logout))
        .route("/sites", get(sites::list).post(sites::create))
        .route("/sites/{id}", get(sites::show))
        .route("/sites/{id}/activate", post(sites::activate))
        .route("/sites/{id}/deactivate", post(sites::deactivate))
        .route("/sites/{id}/settings", get(sites::show))
        .route("/sites/{id}/settings/integration", get(integration::page))
        .route(
            "/sites/{id}/settings/integration/forget-copy",
            post(integration::forget_copy),
        )
        .route(
            "/sites/{id}/settings/api-keys",
            get(api_keys::page).post(api_keys::create),
        )
        .route(
            "/sites/{id}/settings/api-keys/{prefix}/revoke",
            post(api_keys::revoke),
        )
        .route(
            "/sites/{id}/settings/content-types",
            get(content_types::page).post(content_types::save),
        )
        .route("/sites/{id}/content", get(content::page))
        .route(
            "/sites/{id}/content/full-sync",
            post(content::request_full_sync),
        )
        .route("/sites/{id}/content/verify", post(content::request_verify))
        .route(
            session::NEW_POST_FORM,
            get(new_post::page).post(new_post::create),
        )
        .route(session::EDIT_POST_FORM, get(post::page).post(post::save))
        .route(
            "/sites/{id}/content/{type}/{wp_id}/trash",
            post(post::trash),
        )
        .route("/sites/{id}/changes", get(changes::page))
        .route("/sites/{id}/changes/policy", post(changes::set_policy))
        .route("/sites/{id}/changes/{cid}/cancel", post(changes::cancel))
        .route("/sites/{id}/changes/{cid}/resolve", post(changes::resolve))
        .route("/api/docs", get(api_docs::page))
        .route("/assets/dashboard.css", get(stylesheet))
        .route("/assets/dashboard.js", get(script))
        .fallback(not_found)
        .layer(axum::middleware::from_fn(session::csrf_guard))
        .layer(axum::extract::DefaultBodyLimit::max(
            session::MAX_FORM_BYTES,
        ))
        .layer(axum::middleware::from_fn(page_headers))
}

/// Unknown addresses: the friendly page for browsers, the API's JSON envelope for other clients.
async fn not_found(headers: HeaderMap) -> Response {
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if wants_html {
        PageError::NotFound.into_response()
    } else {
        crate::api::ApiError::NotFound.into_response()
    }
}

const STYLESHEET: &str = include_str!("assets/dashboard.css");
const SCRIPT: &str = include_str!("assets/dashboard.js");

async fn stylesheet() -> Response {
    asset("text/css; charset=utf-8", STYLESHEET)
}

async fn script() -> Response {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}
