//! The WordPress plugin, offered by the platform that built it: the zip a site owner uploads in
//! Plugins → Add New, and the update information WordPress's `update_plugins_{hostname}` filter
//! reads, so a self-hosted IGNY8 ships its own plugin updates (docs/api.md, Downloads).

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::AppState;

/// The plugin this binary was built with (build.rs zips `igny8-wp-plugin/`).
pub const PLUGIN_ZIP: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/igny8-wp-plugin.zip"));
pub const PLUGIN_VERSION: &str = env!("IGNY8_PLUGIN_VERSION");

/// `igny8-wp-plugin-0.1.0.zip`: the name the dashboard shows and the download is saved under.
pub fn plugin_file_name() -> String {
    format!("igny8-wp-plugin-{PLUGIN_VERSION}.zip")
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/downloads/igny8-wp-plugin.zip", get(zip))
        .route("/downloads/igny8-wp-plugin.json", get(info))
}

async fn zip() -> Response {
    let disposition = format!("attachment; filename=\"{}\"", plugin_file_name());
    let mut response = PLUGIN_ZIP.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/zip"),
    );
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    response
}

/// Where this platform is reached: `--public-url` when set, else the request's own host (checked
/// to be a plain host and port, so a forged Host header cannot point the package elsewhere).
fn public_base(state: &AppState, headers: &HeaderMap) -> Option<String> {
    if let Some(url) = &state.settings.public_url {
        return Some(url.trim_end_matches('/').to_owned());
    }
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let plain = !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    let scheme = if state.settings.secure_cookies {
        "https"
    } else {
        "http"
    };
    plain.then(|| format!("{scheme}://{host}"))
}

async fn info(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let package =
        public_base(&state, &headers).map(|base| format!("{base}/downloads/igny8-wp-plugin.zip"));
    Json(json!({
        "name": "IGNY8",
        "slug": "igny8-wp-plugin",
        "plugin": "igny8-wp-plugin/igny8-wp-plugin.php",
        "version": PLUGIN_VERSION,
        "requires": env!("IGNY8_PLUGIN_REQUIRES"),
        "requires_php": env!("IGNY8_PLUGIN_REQUIRES_PHP"),
        "tested": env!("IGNY8_PLUGIN_TESTED"),
        "package": package,
    }))
    .into_response()
}
