//! Content sync (docs/sync-protocol.md): the plugin's batches, full-sync runs, resync requests and
//! verification, written with the site's key; and the read side (synced posts, one post, terms,
//! sync status) for the key and the account's users.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::Json;
use chrono::{DateTime, SubsecRound, Utc};
use igny8_domain::checksum::{
    bucket_start, compare_items, differing_buckets, Bucket, BUCKET_SIZE, MAX_BUCKET_SIZE,
};
use igny8_domain::content::sync::ContentSyncState;
use igny8_domain::content::{Batch, BatchError, ItemKind, ItemOutcome, MAX_BATCH_ITEMS};
use igny8_domain::names::{TypeKind, TypeName};
use igny8_domain::structure::IntegrationConfig;
use igny8_domain::FieldErrors;
use igny8_store::{BatchOutcome, ContentFilter, SiteBatch, SiteIntegration, TypeBound};
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::caller::TOUCH_EVERY;
use super::extract::{read_typed, LaterBody};
use super::integrations::{ok, path_id, Success};
use super::{ApiError, Caller};
use crate::AppState;

/// Lists answer at most this many posts per page.
pub const MAX_PAGE_SIZE: u64 = 500;
pub const DEFAULT_PAGE_SIZE: u64 = 100;
/// Totals and max ids name at most this many types.
const MAX_TYPES: usize = 2_000;

/// Times are stored to the microsecond, as PostgreSQL keeps them.
fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// The integration a write addresses: only the site's own key writes content, and only while the
/// site is active.
pub(super) async fn site_writer(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<SiteIntegration, ApiError> {
    let (integration, site) = caller.integration(state, path_id(id)?).await?;
    caller.require_site()?;
    Caller::require_active(&site)?;
    Ok(integration)
}

/// The integration a request (full sync, verification) addresses: the site's key or a user of its
/// account, while the site is active. Checked before the body is read (docs/api.md: credentials,
/// integration, site, body), so the action the body names decides only what comes after.
async fn requester(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<SiteIntegration, ApiError> {
    let (integration, site) = caller.integration(state, path_id(id)?).await?;
    Caller::require_active(&site)?;
    Ok(integration)
}

/// A site's batch. The caller, the integration and the site are checked before the body is read
/// (another tenant's batch is refused before it arrives); then the batch is checked again,
/// applied and its sync outcome recorded as one store call (`Store::apply_site_batch`), so a
/// batch never commits without its outcome.
pub async fn batch(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: LaterBody,
) -> Result<Json<Success<BatchAnswer>>, ApiError> {
    let integration = site_writer(&state, &caller, &id).await?;
    let Caller::Site { key, site_url, .. } = &caller else {
        return Err(ApiError::Forbidden);
    };
    // Read in one pass from the bytes into the items (`Batch::from_json`).
    let body = body.content_bytes().await?;
    let batch = read_typed(&body, Batch::from_json)?.map_err(|e| match e {
        BatchError::TooManyItems => ApiError::TooManyItems(MAX_BATCH_ITEMS),
        BatchError::Invalid(errors) => ApiError::Validation(errors),
    })?;
    drop(body);
    let batch = Arc::new(batch);
    let write = SiteBatch {
        key_prefix: key.prefix.clone(),
        key_hash: key.hash.clone(),
        integration_id: integration.id,
        batch: batch.clone(),
        at: now(),
        touch_every: TOUCH_EVERY,
        site_url: site_url
            .as_ref()
            .as_ref()
            .and_then(|u| u.as_ref().ok())
            .cloned(),
    };
    let outcomes = match state.store.apply_site_batch(write).await? {
        BatchOutcome::Applied(outcomes) => outcomes,
        // The key, the integration or the site changed since they were checked.
        BatchOutcome::Refused(refused) => return Err(refused.into()),
    };
    let items = outcomes.len();
    let (mut applied, mut stale, mut rejected) = (0u64, 0u64, 0u64);
    let results: Vec<ItemResult> = outcomes
        .into_iter()
        .enumerate()
        .map(|(index, outcome)| {
            let status = outcome.status();
            let reason = match outcome {
                ItemOutcome::Applied => {
                    applied += 1;
                    None
                }
                ItemOutcome::Stale => {
                    stale += 1;
                    None
                }
                ItemOutcome::Rejected(why) => {
                    rejected += 1;
                    Some(why)
                }
            };
            ItemResult {
                index,
                reason,
                status,
            }
        })
        .collect();
    state.metrics.content_items(applied, stale, rejected);
    tracing::info!(
        integration_id = integration.id,
        items,
        applied,
        stale,
        rejected,
        range = batch.range.as_ref().map(|m| m.key()),
        "content batch"
    );
    Ok(Success::new(BatchAnswer {
        applied,
        batch_id: batch.batch_id.clone(),
        rejected,
        results,
        stale,
    }))
}

/// The answer to a batch, written without building a `Value` of 500 results first. Fields in
/// alphabetical order, as `json!` writes them.
#[derive(Serialize)]
pub struct BatchAnswer {
    applied: u64,
    batch_id: Option<String>,
    rejected: u64,
    results: Vec<ItemResult>,
    stale: u64,
}

/// One item's outcome, by its index in the batch; `reason` only for a rejected one.
#[derive(Serialize)]
pub struct ItemResult {
    index: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    status: &'static str,
}

fn action(body: &Value) -> Result<&str, ApiError> {
    match body.get("action") {
        Some(Value::String(a)) => Ok(a),
        None | Some(Value::Null) => Err(ApiError::validation("action", "is required")),
        Some(_) => Err(ApiError::validation("action", "must be a string")),
    }
}

fn run_id(body: &Value) -> Result<String, ApiError> {
    match body.get("run_id") {
        Some(Value::String(s))
            if !s.is_empty() && s.chars().count() <= 100 && !s.chars().any(char::is_control) =>
        {
            Ok(s.clone())
        }
        None | Some(Value::Null) => Err(ApiError::validation("run_id", "is required")),
        Some(_) => Err(ApiError::validation(
            "run_id",
            "must be a string of 1 to 100 printable characters",
        )),
    }
}

/// `{"post:book": 12, "term:genre": 3}`: counts or ids by type key, each checked on its own.
fn type_numbers(body: &Value, field: &str) -> Result<BTreeMap<(ItemKind, String), u64>, ApiError> {
    let map = match body.get(field) {
        None | Some(Value::Null) => return Ok(BTreeMap::new()),
        Some(Value::Object(map)) if map.len() <= MAX_TYPES => map,
        Some(_) => {
            return Err(ApiError::validation(
                field,
                "must be an object keyed by \"post:<post type>\" or \"term:<taxonomy>\"",
            ))
        }
    };
    let mut errors = FieldErrors::new();
    let mut out = BTreeMap::new();
    for (key, n) in map {
        let path = format!("{field}.{key}");
        let parsed = key
            .split_once(':')
            .and_then(|(k, t)| ItemKind::parse(k).map(|k| (k, t)))
            .ok_or_else(|| "must be named \"post:<post type>\" or \"term:<taxonomy>\"".to_owned())
            .and_then(|(kind, t)| TypeName::parse(kind.type_kind(), t).map(|t| (kind, t)));
        match (parsed, n.as_u64()) {
            (Err(why), _) => errors.add(path, why),
            (Ok(_), None) => errors.add(path, "must be a whole number, not negative"),
            (Ok((kind, t)), Some(n)) => {
                out.insert((kind, t.as_str().to_owned()), n);
            }
        }
    }
    errors.into_result(out).map_err(ApiError::Validation)
}

/// What `content/status/` answers: the run's progress per type, pending requests, the last
/// verification, and the integration's last sync outcome.
fn status_view(state: &ContentSyncState, integration: &SiteIntegration) -> Value {
    let run = state.run.as_ref().map(|run| {
        let types: Map<String, Value> = run
            .progress()
            .into_iter()
            .map(|(key, done, total)| (key, json!({"done": done, "total": total})))
            .collect();
        json!({"run_id": run.run_id, "status": run.status.as_str(), "started_at": run.started_at,
               "finished_at": run.finished_at, "types": types})
    });
    json!({
        "full_sync": run,
        "full_sync_requested": state.full_sync_requested,
        "verify_requested": state.verify_requested,
        "verify": {"state": state.verify_state.as_str(), "differences": state.verify_differences,
                   "verified_at": state.verified_at},
        "sync_status": integration.sync_status,
        "last_sync_at": integration.last_sync_at,
        "last_error": integration.last_error,
    })
}

/// Records a request the plugin picks up at its next cron run (a full sync, a verification) and
/// answers the status it will read.
async fn record_request(
    state: &AppState,
    integration: &SiteIntegration,
    request: fn(&mut ContentSyncState),
) -> Result<Json<Value>, ApiError> {
    let sync = state
        .store
        .update_content_sync_state(integration.id, &|s| {
            request(s);
            Ok(())
        })
        .await?;
    Ok(ok(status_view(&sync, integration)))
}

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

pub async fn full_sync(
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
            let answer =
                record_request(&state, &integration, ContentSyncState::request_full_sync).await?;
            state.metrics.full_sync("requested");
            tracing::info!(integration_id = integration.id, "full sync requested");
            Ok(answer)
        }
        "start" => {
            caller.require_site()?;
            let run_id = run_id(&body)?;
            let totals: BTreeMap<String, u64> = type_numbers(&body, "totals")?
                .into_iter()
                .map(|((kind, t), n)| (kind.key(&t), n))
                .collect();
            let sync = state
                .store
                .update_content_sync_state(integration.id, &|s| {
                    s.start_run(&run_id, totals.clone(), at);
                    Ok(())
                })
                .await?;
            state.metrics.full_sync("started");
            tracing::info!(integration_id = integration.id, run_id, "full sync started");
            Ok(ok(status_view(&sync, &integration)))
        }
        "finish" => {
            caller.require_site()?;
            let run_id = run_id(&body)?;
            let max_ids = type_numbers(&body, "max_ids")?;
            let sync = state
                .store
                .update_content_sync_state(integration.id, &|s| s.finish_run(&run_id, at))
                .await?;
            let keep = kept_types(&integration, &max_ids);
            let deleted = state.store.prune_content(integration.id, &keep).await?;
            state.metrics.full_sync("finished");
            tracing::info!(
                integration_id = integration.id,
                run_id,
                deleted,
                "full sync finished"
            );
            let mut view = status_view(&sync, &integration);
            view["deleted"] = json!(deleted);
            Ok(ok(view))
        }
        _ => Err(ApiError::validation(
            "action",
            "must be \"request\", \"start\" or \"finish\"",
        )),
    }
}

/// What a finished full sync keeps: the types enabled in the platform, each up to WordPress's
/// largest id. Before any structure push, the types the plugin named.
fn kept_types(
    integration: &SiteIntegration,
    max_ids: &BTreeMap<(ItemKind, String), u64>,
) -> Vec<TypeBound> {
    let types = IntegrationConfig::from_json(integration.config_json.clone()).content_types();
    let bound = |kind: ItemKind, name: &str| TypeBound {
        kind,
        type_name: name.to_owned(),
        max_id: max_ids
            .get(&(kind, name.to_owned()))
            .map(|&m| i64::try_from(m).unwrap_or(i64::MAX)),
    };
    if types.post_types.is_empty() && types.taxonomies.is_empty() {
        return max_ids.keys().map(|(k, name)| bound(*k, name)).collect();
    }
    [
        (ItemKind::Post, TypeKind::PostType),
        (ItemKind::Term, TypeKind::Taxonomy),
    ]
    .into_iter()
    .flat_map(|(kind, type_kind)| {
        types
            .of_kind(type_kind)
            .iter()
            .filter(|(_, e)| e.enabled)
            .map(move |(name, _)| bound(kind, name))
            .collect::<Vec<_>>()
    })
    .collect()
}

pub async fn resync_request(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: LaterBody,
) -> Result<Json<Value>, ApiError> {
    let integration = requester(&state, &caller, &id).await?;
    let body = body.json(&state).await?;
    let Value::Object(body) = body else {
        return Err(ApiError::validation("", "must be a JSON object"));
    };
    let reason = match body.get("reason") {
        None | Some(Value::Null) => "unspecified".to_owned(),
        Some(Value::String(r)) if r.chars().count() <= 200 && !r.chars().any(char::is_control) => {
            r.clone()
        }
        Some(_) => {
            return Err(ApiError::validation(
                "reason",
                "must be a string of at most 200 printable characters",
            ))
        }
    };
    let answer = record_request(&state, &integration, ContentSyncState::request_full_sync).await?;
    tracing::warn!(
        integration_id = integration.id,
        reason,
        "resync requested: the next cron starts a full sync"
    );
    Ok(answer)
}

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
            let answer =
                record_request(&state, &integration, ContentSyncState::request_verify).await?;
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

pub(super) fn whole_param(
    query: &HashMap<String, String>,
    key: &str,
    default: u64,
    max: u64,
    errors: &mut FieldErrors,
) -> u64 {
    match query.get(key).filter(|v| !v.is_empty()) {
        None => default,
        Some(raw) => match raw.parse::<u64>() {
            Ok(n) if (1..=max).contains(&n) => n,
            _ => {
                errors.add(key, format!("must be a whole number from 1 to {max}"));
                default
            }
        },
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
    let page = whole_param(&query, "page", 1, 1_000_000, &mut errors);
    let page_size = whole_param(
        &query,
        "page_size",
        DEFAULT_PAGE_SIZE,
        MAX_PAGE_SIZE,
        &mut errors,
    );
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
