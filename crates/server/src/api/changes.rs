//! Two-way sync over HTTP (docs/sync-protocol.md): platform users queue, list, cancel and resolve
//! changes with their token; the site's key registers its nudge receiver, pulls and reports.
//! Checks run in the API's order: credentials, the integration and its tenant, then the body.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use igny8_domain::changes::{ChangeRequest, ChangeStatus, ConflictPolicy};
use igny8_domain::content::ItemKind;
use igny8_domain::FieldErrors;
use igny8_store::{ChangeFilter, Site, SiteIntegration};
use serde_json::{json, Value};

use super::content::{page_params, site_writer, whole_param};
use super::extract::LaterBody;
use super::response::{ok, path_id};
use super::{ApiError, Caller};
use crate::services::changes as service;
use crate::AppState;

const DEFAULT_PAGE_SIZE: u64 = 50;
const MAX_PAGE_SIZE: u64 = 200;

/// A platform user of the integration's account (a site key: 403).
async fn user_of(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<(i64, SiteIntegration, Site), ApiError> {
    let (integration, site) = caller.integration(state, path_id(id)?).await?;
    Ok((caller.user_id()?, integration, site))
}

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: LaterBody,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let (user_id, integration, site) = user_of(&state, &caller, &id).await?;
    let header_key = match headers.get("idempotency-key") {
        None => None,
        Some(v) => Some(
            v.to_str()
                .map_err(|_| ApiError::validation("Idempotency-Key", "must be printable ASCII"))?,
        ),
    };
    let request = ChangeRequest::parse(&body.content().await?, header_key)?;
    let (change, created) = service::queue(&state, &integration, &site, user_id, request).await?;
    let status = if created {
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    };
    Ok((status, ok(json!(change))))
}

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let (_, integration, _) = user_of(&state, &caller, &id).await?;
    let mut errors = FieldErrors::new();
    let status = match query.get("status").filter(|s| !s.is_empty()) {
        None => None,
        Some(raw) => ChangeStatus::parse(raw).or_else(|| {
            errors.add("status", "must be a change status (pending, applied, conflict, rejected, refused, cancelled, resolved)");
            None
        }),
    };
    let object = match query.get("object").filter(|s| !s.is_empty()) {
        None => None,
        Some(raw) => parse_object(raw).or_else(|| {
            errors.add(
                "object",
                "must be kind:type:wp_id (post:post:12) or type:wp_id (post:12)",
            );
            None
        }),
    };
    let (page, page_size) = page_params(&query, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, &mut errors);
    if !errors.is_empty() {
        return Err(errors.into());
    }
    let filter = ChangeFilter {
        status,
        object: object.as_ref().map(|(k, t, w)| (*k, t.as_str(), *w)),
    };
    let (count, results) = service::list(&state, integration.id, filter, page, page_size).await?;
    Ok(ok(
        json!({"count": count, "page": page, "page_size": page_size, "results": results}),
    ))
}

/// `post:12` (a post of type post), `page:7`, `post:book:3`, `term:category:5`.
fn parse_object(raw: &str) -> Option<(ItemKind, String, i64)> {
    let parts: Vec<&str> = raw.split(':').collect();
    let (kind, type_name, wp_id) = match parts.as_slice() {
        [t, id] => (ItemKind::Post, *t, *id),
        [k, t, id] => (ItemKind::parse(k)?, *t, *id),
        _ => return None,
    };
    let wp_id = wp_id.parse::<i64>().ok().filter(|v| *v > 0)?;
    igny8_domain::names::TypeName::parse(kind.type_kind(), type_name).ok()?;
    Some((kind, type_name.to_owned(), wp_id))
}

pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, cid)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let (_, integration, _) = user_of(&state, &caller, &id).await?;
    let change = service::get(&state, integration.id, path_id(&cid)?).await?;
    Ok(ok(json!(change)))
}

pub async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, cid)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let (_, integration, _) = user_of(&state, &caller, &id).await?;
    let change = service::cancel(&state, integration.id, path_id(&cid)?).await?;
    tracing::info!(
        integration_id = integration.id,
        change_id = change.id,
        "change cancelled"
    );
    Ok(ok(json!(change)))
}

pub async fn resolve(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, cid)): Path<(String, String)>,
    body: LaterBody,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let (user_id, integration, _) = user_of(&state, &caller, &id).await?;
    let cid = path_id(&cid)?;
    let body = body.content().await?;
    let (resolved, next) = service::resolve(&state, &integration, user_id, cid, &body).await?;
    Ok(match next {
        Some(next) => (StatusCode::CREATED, ok(json!(next))),
        None => (StatusCode::OK, ok(json!(resolved))),
    })
}

pub async fn register_receiver(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: LaterBody,
) -> Result<Json<Value>, ApiError> {
    let integration = site_writer(&state, &caller, &id).await?;
    let body = body.json(&state).await?;
    service::register_receiver(&state, integration.id, &body).await?;
    Ok(ok(json!({"registered": true})))
}

pub async fn pending(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let integration = site_writer(&state, &caller, &id).await?;
    let mut errors = FieldErrors::new();
    let limit = whole_param(
        &query,
        "limit",
        50,
        igny8_domain::changes::MAX_PULL,
        &mut errors,
    );
    if !errors.is_empty() {
        return Err(errors.into());
    }
    let (changes, more) = service::pull(&state, integration.id, limit).await?;
    Ok(ok(json!({"changes": changes, "more": more,
                 "two_way_sync_enabled": service::two_way_enabled(&integration)})))
}

pub async fn results(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: LaterBody,
) -> Result<Json<Value>, ApiError> {
    let integration = site_writer(&state, &caller, &id).await?;
    let answers = service::report(&state, integration.id, &body.content().await?).await?;
    Ok(ok(json!({"results": answers})))
}

/// `PATCH …/integrations/{id}/`: the platform-owned integration settings, today the conflict
/// policy two-way sync applies to new changes.
pub async fn update_integration(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: LaterBody,
) -> Result<Json<Value>, ApiError> {
    let (_, integration, site) = user_of(&state, &caller, &id).await?;
    Caller::require_active(&site)?;
    let body = body.json(&state).await?;
    let Some(obj) = body.as_object() else {
        return Err(ApiError::validation("", "must be an object"));
    };
    let policy = match obj.get("conflict_policy") {
        Some(Value::String(p)) => ConflictPolicy::parse(p),
        _ => None,
    }
    .ok_or_else(|| {
        ApiError::validation(
            "conflict_policy",
            "must be \"manual\", \"merge\", \"platform_wins\" or \"wordpress_wins\"",
        )
    })?;
    let updated = service::set_conflict_policy(&state, &integration, policy).await?;
    tracing::info!(integration_id = integration.id, policy = %policy, "conflict policy set");
    Ok(ok(json!(updated)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_are_named_by_type_and_id() {
        assert_eq!(
            parse_object("post:12"),
            Some((ItemKind::Post, "post".into(), 12))
        );
        assert_eq!(
            parse_object("term:category:5"),
            Some((ItemKind::Term, "category".into(), 5))
        );
        for bad in [
            "post",
            "post:0",
            "post:x",
            "bogus:post:1",
            "Bad Type:1",
            "a:b:c:d",
        ] {
            assert_eq!(parse_object(bad), None, "{bad}");
        }
    }
}
