//! `content/verify/`: the checksum comparison, bucket by bucket and then item by item, that finds
//! what the platform holds and WordPress does not (or holds differently).

use axum::extract::{Path, State};
use axum::Json;
use igny8_domain::checksum::{
    bucket_start, compare_items, differing_buckets, Bucket, BUCKET_SIZE, MAX_BUCKET_SIZE,
};
use igny8_domain::content::ItemKind;
use igny8_domain::names::TypeName;
use igny8_domain::FieldErrors;
use serde_json::{json, Map, Value};

use super::{action, now, record_request, requester, status_view};
use crate::api::extract::LaterBody;
use crate::api::response::ok;
use crate::api::{ApiError, Caller};
use crate::services::integrations::PluginRequest;
use crate::AppState;

/// The `kind` and `type` of a verification step.
fn verified_type(body: &Value) -> Result<(ItemKind, TypeName), ApiError> {
    let kind = match body.get("kind") {
        None | Some(Value::Null) => ItemKind::Post,
        Some(Value::String(k)) => ItemKind::parse(k)
            .ok_or_else(|| ApiError::validation("kind", "must be \"post\" or \"term\""))?,
        Some(_) => return Err(ApiError::validation("kind", "must be \"post\" or \"term\"")),
    };
    let name = match body.get("type") {
        Some(Value::String(t)) => TypeName::parse(kind.type_kind(), t)
            .map_err(|why| ApiError::validation("type", &why))?,
        _ => return Err(ApiError::validation("type", "is required")),
    };
    Ok((kind, name))
}

fn bucket_size(body: &Value) -> Result<i64, ApiError> {
    match body.get("bucket_size") {
        None | Some(Value::Null) => Ok(BUCKET_SIZE),
        Some(v) => v
            .as_i64()
            .filter(|n| (1..=MAX_BUCKET_SIZE).contains(n))
            .ok_or_else(|| {
                ApiError::Validation(FieldErrors::single(
                    "bucket_size",
                    format!("must be a whole number from 1 to {MAX_BUCKET_SIZE}"),
                ))
            }),
    }
}

/// A list of objects read field by field, every problem with its path.
fn list_of<T>(
    body: &Value,
    field: &str,
    mut read: impl FnMut(&Map<String, Value>, &str, &mut FieldErrors) -> Option<T>,
) -> Result<Vec<T>, ApiError> {
    let Some(list) = body.get(field).and_then(Value::as_array) else {
        return Err(ApiError::validation(field, "must be a list"));
    };
    let mut errors = FieldErrors::new();
    let mut out = Vec::with_capacity(list.len());
    for (i, entry) in list.iter().enumerate() {
        let path = format!("{field}.{i}");
        match entry.as_object() {
            Some(obj) => out.extend(read(obj, &path, &mut errors)),
            None => errors.add(path, "must be an object"),
        }
    }
    errors.into_result(out).map_err(ApiError::Validation)
}

fn number(
    obj: &Map<String, Value>,
    path: &str,
    key: &str,
    max: u64,
    errors: &mut FieldErrors,
) -> Option<u64> {
    let n = obj.get(key).and_then(Value::as_u64).filter(|n| *n <= max);
    if n.is_none() {
        errors.add(
            format!("{path}.{key}"),
            format!("must be a whole number from 0 to {max}"),
        );
    }
    n
}

pub async fn verify(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: LaterBody,
) -> Result<Json<Value>, ApiError> {
    let integration = requester(&state, &caller, &id).await?;
    let body = body.json(&state).await?;
    let at = now();
    match action(&body)? {
        "request" => {
            let answer = record_request(&state, &integration, PluginRequest::Verify).await?;
            tracing::info!(integration_id = integration.id, "verification requested");
            Ok(answer)
        }
        "buckets" => {
            caller.require_site()?;
            let (kind, type_name) = verified_type(&body)?;
            let size = bucket_size(&body)?;
            let theirs = list_of(&body, "buckets", |b, path, errors| {
                let start = b.get("start").and_then(Value::as_i64).filter(|s| *s >= 0);
                if start.is_none() {
                    errors.add(
                        format!("{path}.start"),
                        "must be a whole number, not negative",
                    );
                }
                let count = number(b, path, "count", u64::try_from(size).unwrap_or(0), errors);
                let sum = number(b, path, "sum", i64::MAX as u64, errors);
                Some(Bucket {
                    start: start?,
                    count: count?,
                    sum: sum?,
                })
            })?;
            let ours = state
                .store
                .checksum_buckets(integration.id, kind, type_name.as_str(), size)
                .await?;
            let differing: Vec<Value> = differing_buckets(&ours, &theirs)
                .into_iter()
                .map(|start| {
                    let b = ours.iter().find(|b| b.start == start);
                    json!({"start": start, "count": b.map_or(0, |b| b.count), "sum": b.map_or(0, |b| b.sum)})
                })
                .collect();
            let found = differing.len() as u64;
            state
                .store
                .update_content_sync_state(integration.id, &|s| {
                    s.verify_started();
                    s.verify_found(found);
                    Ok(())
                })
                .await?;
            Ok(ok(
                json!({"kind": kind.as_str(), "type": type_name.as_str(), "bucket_size": size, "differing": differing}),
            ))
        }
        "items" => {
            caller.require_site()?;
            let (kind, type_name) = verified_type(&body)?;
            let size = bucket_size(&body)?;
            // Only a bucket's own range: any other `start` would name (and delete) ids the
            // bucket comparison never looked at.
            let start = body
                .get("start")
                .and_then(Value::as_i64)
                .filter(|s| *s >= 0 && bucket_start(*s, size) == *s)
                .ok_or_else(|| {
                    ApiError::validation(
                        "start",
                        "must be the bucket's first id, a whole number, not negative",
                    )
                })?;
            let end = start.saturating_add(size - 1);
            let theirs = list_of(&body, "items", |item, path, errors| {
                let wp_id = item
                    .get("wp_id")
                    .and_then(Value::as_i64)
                    .filter(|id| (start..=end).contains(id));
                if wp_id.is_none() {
                    errors.add(
                        format!("{path}.wp_id"),
                        format!("must be an id in the bucket [{start}, {end}]"),
                    );
                }
                let checksum = number(item, path, "checksum", u64::from(u32::MAX), errors);
                Some((wp_id?, u32::try_from(checksum?).ok()?))
            })?;
            let ours = state
                .store
                .item_checksums(integration.id, kind, type_name.as_str(), start, end)
                .await?;
            let diff = compare_items(&ours, &theirs);
            if !diff.delete.is_empty() {
                state
                    .store
                    .delete_content_ids(integration.id, kind, type_name.as_str(), &diff.delete)
                    .await?;
            }
            if kind == ItemKind::Post && !diff.resend.is_empty() {
                // WordPress has these posts: a remembered deletion must not refuse their re-send.
                state
                    .store
                    .forget_deletions(integration.id, type_name.as_str(), &diff.resend)
                    .await?;
            }
            let found = (diff.resend.len() + diff.delete.len()) as u64;
            state
                .store
                .update_content_sync_state(integration.id, &|s| {
                    s.verify_started();
                    s.verify_found(found);
                    Ok(())
                })
                .await?;
            tracing::info!(
                integration_id = integration.id,
                resend = diff.resend.len(),
                deleted = diff.delete.len(),
                "verification: bucket compared"
            );
            Ok(ok(
                json!({"kind": kind.as_str(), "type": type_name.as_str(), "start": start,
                         "resend": diff.resend, "delete": diff.delete}),
            ))
        }
        "done" => {
            caller.require_site()?;
            let sync = state
                .store
                .update_content_sync_state(integration.id, &|s| {
                    s.verify_done(at);
                    Ok(())
                })
                .await?;
            state.metrics.verification(sync.verify_state.as_str());
            tracing::info!(
                integration_id = integration.id,
                state = sync.verify_state.as_str(),
                differences = sync.verify_differences,
                "verification done"
            );
            let mut view = status_view(&sync, &integration);
            view["result"] = json!(sync.verify_state.as_str());
            Ok(ok(view))
        }
        _ => Err(ApiError::validation(
            "action",
            "must be \"request\", \"buckets\", \"items\" or \"done\"",
        )),
    }
}
