//! `content/batch/`: the plugin's posts and terms, applied in order with an outcome for each, and
//! the integration's sync outcome recorded after.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;
use igny8_domain::content::{Batch, BatchError, ItemOutcome, MAX_BATCH_ITEMS};
use serde_json::{json, Value};

use super::{now, site_writer};
use crate::api::extract::LaterBody;
use crate::api::response::ok;
use crate::api::{ApiError, Caller};
use crate::AppState;

pub async fn batch(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: LaterBody,
) -> Result<Json<Value>, ApiError> {
    let integration = site_writer(&state, &caller, &id).await?;
    let body = body.content().await?;
    let batch = Arc::new(Batch::parse(&body).map_err(|e| match e {
        BatchError::TooManyItems => ApiError::TooManyItems(MAX_BATCH_ITEMS),
        BatchError::Invalid(errors) => ApiError::Validation(errors),
    })?);
    drop(body);
    let at = now();
    let outcomes = state
        .store
        .apply_content_batch(integration.id, batch.clone(), at)
        .await?;
    let mut results = Vec::with_capacity(outcomes.len());
    let (mut applied, mut stale, mut rejected) = (0u64, 0u64, 0u64);
    let mut last_rejection = None;
    for (index, (item, outcome)) in batch.items.iter().zip(&outcomes).enumerate() {
        let mut result = json!({"index": index, "status": outcome.status()});
        match outcome {
            ItemOutcome::Applied => applied += 1,
            ItemOutcome::Stale => stale += 1,
            ItemOutcome::Rejected(why) => {
                rejected += 1;
                result["reason"] = json!(why);
                let which = item
                    .key
                    .as_ref()
                    .map_or_else(|| format!("item {index}"), |k| k.to_string());
                last_rejection = Some(format!("Rejected {which}: {why}"));
            }
        }
        results.push(result);
    }
    // The dashboard shows the last rejection until another replaces it.
    let (status, error) = match &last_rejection {
        Some(why) => ("partial", Some(why.as_str())),
        None => ("success", integration.last_error.as_deref()),
    };
    state
        .store
        .record_integration_sync(integration.id, status, at, error)
        .await?;
    state.metrics.content_items(applied, stale, rejected);
    tracing::info!(
        integration_id = integration.id,
        items = outcomes.len(),
        applied,
        stale,
        rejected,
        range = batch.range.as_ref().map(|m| m.key()),
        "content batch"
    );
    Ok(ok(json!({
        "batch_id": batch.batch_id,
        "results": results,
        "applied": applied,
        "stale": stale,
        "rejected": rejected,
    })))
}
