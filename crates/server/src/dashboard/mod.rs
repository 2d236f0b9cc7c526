//! The dashboard people use: server-rendered pages over the same store as the API.

use axum::Router;

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
}
