//! The read side: synced posts (listed, or one), a taxonomy's terms, and the sync status.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::Json;
use igny8_domain::names::{TypeKind, TypeName};
use igny8_domain::FieldErrors;
use igny8_store::ContentFilter;
use serde_json::{json, Value};

use super::{page_params, status_view};
use crate::api::response::{ok, path_id};
use crate::api::{ApiError, Caller};
use crate::AppState;

/// Lists answer at most this many posts per page.
pub const MAX_PAGE_SIZE: u64 = 500;
pub const DEFAULT_PAGE_SIZE: u64 = 100;

pub async fn status(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let (integration, _) = caller.integration(&state, path_id(&id)?).await?;
    let sync = state.store.content_sync_state(integration.id).await?;
    let mut view = status_view(&sync, &integration);
    // The plugin pulls two-way sync's changes when some wait (docs/sync-protocol.md).
    view["changes_pending"] = json!(state.store.count_pending_changes(integration.id).await?);
    Ok(ok(view))
}

/// A query parameter that must be a WordPress name or status when present.
fn name_param(
    query: &HashMap<String, String>,
    key: &str,
    kind: TypeKind,
    errors: &mut FieldErrors,
) -> Option<String> {
    let raw = query.get(key).filter(|v| !v.is_empty())?;
    match TypeName::parse(kind, raw) {
        Ok(n) => Some(n.as_str().to_owned()),
        Err(why) => {
            errors.add(key, why);
            None
        }
    }
}

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let (integration, _) = caller.integration(&state, path_id(&id)?).await?;
    let mut errors = FieldErrors::new();
    let post_type = name_param(&query, "type", TypeKind::PostType, &mut errors);
    // Statuses follow the same rule as names (register_post_status keys), at most 20 characters.
    let status = name_param(&query, "status", TypeKind::PostType, &mut errors);
    let (page, page_size) = page_params(&query, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let filter = ContentFilter {
        post_type: post_type.as_deref(),
        status: status.as_deref(),
    };
    let found = state
        .store
        .list_content(integration.id, filter, (page - 1) * page_size, page_size)
        .await?;
    Ok(ok(
        json!({"count": found.count, "page": page, "page_size": page_size, "results": found.items}),
    ))
}

pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, post_type, wp_id)): Path<(String, String, String)>,
) -> Result<Json<Value>, ApiError> {
    let (integration, _) = caller.integration(&state, path_id(&id)?).await?;
    let post_type =
        TypeName::parse(TypeKind::PostType, &post_type).map_err(|_| ApiError::NotFound)?;
    let item = state
        .store
        .content_item(integration.id, post_type.as_str(), path_id(&wp_id)?)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(ok(json!(item)))
}

pub async fn terms(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let (integration, _) = caller.integration(&state, path_id(&id)?).await?;
    let mut errors = FieldErrors::new();
    let taxonomy = name_param(&query, "taxonomy", TypeKind::Taxonomy, &mut errors);
    let Some(taxonomy) = taxonomy.filter(|_| errors.is_empty()) else {
        if errors.is_empty() {
            errors.add("taxonomy", "is required");
        }
        return Err(ApiError::Validation(errors));
    };
    let terms = state
        .store
        .terms_of_taxonomy(integration.id, &taxonomy)
        .await?;
    Ok(ok(json!(terms)))
}
