//! What every request goes through on its way in and out, whatever it addresses: one spelling of
//! each path, an id, a log line and metrics, and the security and cache headers of its answer.

mod headers;
mod log;
pub mod request_id;

use axum::extract::Request;
use axum::http::Uri;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::Router;

pub use headers::pages as page_headers;

use crate::AppState;

/// The application's routes wrapped in the layers every answer goes through: the request id
/// outermost (so every log line names it), then the API's headers, then the log line.
pub fn around(routes: Router<AppState>, state: &AppState) -> Router<AppState> {
    routes
        .layer(from_fn_with_state(state.clone(), log::requests))
        .layer(from_fn(headers::every_answer))
        .layer(from_fn(request_id::layer))
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
