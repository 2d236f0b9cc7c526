//! `content/full-sync/` (request, start, finish a run; a finished run prunes what WordPress no
//! longer has) and `content/resync-request/` (the plugin asks for a full sync).

use axum::extract::{Path, State};
use axum::Json;
use igny8_domain::content::requests::{FullSyncAction, ResyncRequest};
use serde_json::{json, Value};

use super::{action_of, now, record_request, requester, status_view};
use crate::api::extract::LaterBody;
use crate::api::response::ok;
use crate::api::{ApiError, Caller};
use crate::services::full_sync;
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
            let sync =
                full_sync::start(&state, integration.id, run_id.as_str(), &totals, at).await?;
            Ok(ok(status_view(&sync, &integration)))
        }
        FullSyncAction::Finish { run_id, max_ids } => {
            let (sync, deleted) =
                full_sync::finish(&state, &integration, run_id.as_str(), &max_ids, at).await?;
            let mut view = status_view(&sync, &integration);
            view["deleted"] = json!(deleted);
            Ok(ok(view))
        }
    }
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
