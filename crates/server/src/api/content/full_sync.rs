//! `content/full-sync/` (request, start, finish a run; a finished run prunes what WordPress no
//! longer has) and `content/resync-request/` (the plugin asks for a full sync).

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::Json;
use igny8_domain::content::ItemKind;
use igny8_domain::names::{TypeKind, TypeName};
use igny8_domain::structure::IntegrationConfig;
use igny8_domain::FieldErrors;
use igny8_store::{SiteIntegration, TypeBound};
use serde_json::{json, Value};

use super::{action, now, record_request, requester, status_view};
use crate::api::extract::LaterBody;
use crate::api::response::ok;
use crate::api::{ApiError, Caller};
use crate::services::integrations::PluginRequest;
use crate::AppState;

/// Totals and max ids name at most this many types.
const MAX_TYPES: usize = 2_000;

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
            let answer = record_request(&state, &integration, PluginRequest::FullSync).await?;
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
    let answer = record_request(&state, &integration, PluginRequest::FullSync).await?;
    tracing::warn!(
        integration_id = integration.id,
        reason,
        "resync requested: the next cron starts a full sync"
    );
    Ok(answer)
}
