//! `content/full-sync/` (request, start, finish a run; a finished run prunes what WordPress no
//! longer has) and `content/resync-request/` (the plugin asks for a full sync).

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::Json;
use igny8_domain::content::requests::{FullSyncAction, ResyncRequest, TypeNumbers};
use igny8_domain::content::ItemKind;
use igny8_domain::names::TypeKind;
use igny8_domain::structure::IntegrationConfig;
use igny8_store::{SiteIntegration, TypeBound};
use serde_json::{json, Value};

use super::{action_of, now, record_request, requester, status_view};
use crate::api::extract::LaterBody;
use crate::api::response::ok;
use crate::api::{ApiError, Caller};
use crate::services::integrations::PluginRequest;
use crate::AppState;

pub async fn full_sync(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: LaterBody,
) -> Result<Json<Value>, ApiError> {
    let integration = requester(&state, &caller, &id).await?;
    let action = action_of(
        &state,
        &caller,
        body,
        FullSyncAction::read,
        FullSyncAction::parse,
        FullSyncAction::site_only,
    )
    .await?;
    let at = now();
    match action {
        FullSyncAction::Request => {
            let answer = record_request(&state, &integration, PluginRequest::FullSync).await?;
            state.metrics.full_sync("requested");
            tracing::info!(integration_id = integration.id, "full sync requested");
            Ok(answer)
        }
        FullSyncAction::Start { run_id, totals } => {
            let run_id = run_id.as_str();
            let totals: BTreeMap<String, u64> =
                totals.iter().map(|(kind, t, n)| (kind.key(t), n)).collect();
            let sync = state
                .store
                .update_content_sync_state(integration.id, &|s| {
                    s.start_run(run_id, totals.clone(), at);
                    Ok(())
                })
                .await?;
            state.metrics.full_sync("started");
            tracing::info!(integration_id = integration.id, run_id, "full sync started");
            Ok(ok(status_view(&sync, &integration)))
        }
        FullSyncAction::Finish { run_id, max_ids } => {
            let run_id = run_id.as_str();
            let sync = state
                .store
                .update_content_sync_state(integration.id, &|s| s.finish_run(run_id, at))
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
    }
}

/// What a finished full sync keeps: the types enabled in the platform, each up to WordPress's
/// largest id. Before any structure push, the types the plugin named.
fn kept_types(integration: &SiteIntegration, max_ids: &TypeNumbers) -> Vec<TypeBound> {
    let types = IntegrationConfig::from_json(integration.config_json.clone()).content_types();
    let bound = |kind: ItemKind, name: &str| TypeBound {
        kind,
        type_name: name.to_owned(),
        max_id: max_ids
            .get(kind, name)
            .map(|m| i64::try_from(m).unwrap_or(i64::MAX)),
    };
    if types.post_types.is_empty() && types.taxonomies.is_empty() {
        return max_ids.iter().map(|(k, name, _)| bound(k, name)).collect();
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
    let request = ResyncRequest::parse(&body.json(&state).await?)?;
    let reason = request.reason();
    let answer = record_request(&state, &integration, PluginRequest::FullSync).await?;
    tracing::warn!(
        integration_id = integration.id,
        reason,
        "resync requested: the next cron starts a full sync"
    );
    Ok(answer)
}
