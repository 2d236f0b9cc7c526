//! The API's answers and path ids: the success envelope (DESIGN.md §2) every handler wraps its
//! data in, and the rule that a path id which is not a number names nothing.

use axum::Json;
use serde_json::{json, Value};

use super::ApiError;

pub(super) fn ok(data: Value) -> Json<Value> {
    Json(json!({"success": true, "data": data}))
}

/// Path ids that are not numbers name nothing: 404, as for an unknown id.
pub(super) fn path_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or(ApiError::NotFound)
}
