//! `content/batch/`: the plugin's posts and terms, applied in order with an outcome for each, and
//! the integration's sync outcome recorded in the same unit of work.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;
use igny8_domain::content::{Batch, BatchError, ItemOutcome, MAX_BATCH_ITEMS};
use igny8_store::{BatchOutcome, SiteBatch};
use serde::Serialize;

use super::{now, site_writer};
use crate::api::caller::TOUCH_EVERY;
use crate::api::extract::{read_typed, LaterBody};
use crate::api::integrations::Success;
use crate::api::{ApiError, Caller};
use crate::AppState;

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
