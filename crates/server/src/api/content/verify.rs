//! `content/verify/`: the checksum comparison, bucket by bucket and then item by item, that finds
//! what the platform holds and WordPress does not (or holds differently).

use axum::extract::{Path, State};
use axum::Json;
use igny8_domain::checksum::{compare_items, differing_buckets};
use igny8_domain::content::requests::{VerifiedType, VerifyAction};
use igny8_domain::content::ItemKind;
use serde_json::{json, Value};

use super::{action_of, now, record_request, requester, status_view};
use crate::api::extract::LaterBody;
use crate::api::response::ok;
use crate::api::{ApiError, Caller};
use crate::services::integrations::PluginRequest;
use crate::AppState;

pub async fn verify(
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
        VerifyAction::read,
        VerifyAction::parse,
        VerifyAction::site_only,
    )
    .await?;
    let at = now();
    match action {
        VerifyAction::Request => {
            let answer = record_request(&state, &integration, PluginRequest::Verify).await?;
            tracing::info!(integration_id = integration.id, "verification requested");
            Ok(answer)
        }
        VerifyAction::Buckets {
            of: VerifiedType { kind, type_name },
            bucket_size: size,
            buckets: theirs,
        } => {
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
        VerifyAction::Items {
            of: VerifiedType { kind, type_name },
            bucket_size: size,
            start,
            items: theirs,
        } => {
            let end = start.saturating_add(size - 1);
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
        VerifyAction::Done => {
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
    }
}
