//! Verification (docs/sync-protocol.md): WordPress's checksums compared with what the platform
//! holds, bucket by bucket and then item by item, each difference counted in the sync state.

use chrono::{DateTime, Utc};
use igny8_domain::checksum::{self, Bucket, ItemDiff};
use igny8_domain::content::requests::VerifiedType;
use igny8_domain::content::sync::ContentSyncState;
use igny8_domain::content::ItemKind;
use igny8_store::StoreError;

use crate::AppState;

/// The platform's buckets of one type that differ from WordPress's `theirs` (a bucket the
/// platform does not hold answers as empty), counted in the verification under way.
pub async fn compare_buckets(
    state: &AppState,
    integration_id: i64,
    of: &VerifiedType,
    bucket_size: i64,
    theirs: &[Bucket],
) -> Result<Vec<Bucket>, StoreError> {
    let ours = state
        .store
        .checksum_buckets(integration_id, of.kind, of.type_name.as_str(), bucket_size)
        .await?;
    let differing: Vec<Bucket> = checksum::differing_buckets(&ours, theirs)
        .into_iter()
        .map(|start| {
            let b = ours.iter().find(|b| b.start == start);
            Bucket {
                start,
                count: b.map_or(0, |b| b.count),
                sum: b.map_or(0, |b| b.sum),
            }
        })
        .collect();
    record_compared(state, integration_id, differing.len() as u64).await?;
    Ok(differing)
}

/// One differing bucket, `[start, start + bucket_size - 1]`, compared item by item with
/// WordPress's `theirs`: what WordPress no longer has is deleted, what it holds differently is
/// asked for again (its posts' remembered deletions forgotten, so the re-sends apply), and both
/// are counted in the verification under way.
pub async fn compare_items(
    state: &AppState,
    integration_id: i64,
    of: &VerifiedType,
    bucket_size: i64,
    start: i64,
    theirs: &[(i64, u32)],
) -> Result<ItemDiff, StoreError> {
    let (kind, type_name) = (of.kind, of.type_name.as_str());
    let end = start.saturating_add(bucket_size - 1);
    let ours = state
        .store
        .item_checksums(integration_id, kind, type_name, start, end)
        .await?;
    let diff = checksum::compare_items(&ours, theirs);
    if !diff.delete.is_empty() {
        state
            .store
            .delete_content_ids(integration_id, kind, type_name, &diff.delete)
            .await?;
    }
    if kind == ItemKind::Post && !diff.resend.is_empty() {
        // WordPress has these posts: a remembered deletion must not refuse their re-send.
        state
            .store
            .forget_deletions(integration_id, type_name, &diff.resend)
            .await?;
    }
    record_compared(
        state,
        integration_id,
        (diff.resend.len() + diff.delete.len()) as u64,
    )
    .await?;
    tracing::info!(
        integration_id,
        resend = diff.resend.len(),
        deleted = diff.delete.len(),
        "verification: bucket compared"
    );
    Ok(diff)
}

/// The plugin compared every type: the verification ends, in sync when nothing differed.
pub async fn finish(
    state: &AppState,
    integration_id: i64,
    at: DateTime<Utc>,
) -> Result<ContentSyncState, StoreError> {
    let sync = state
        .store
        .update_content_sync_state(integration_id, &|s| {
            s.verify_done(at);
            Ok(())
        })
        .await?;
    state.metrics.verification(sync.verify_state.as_str());
    tracing::info!(
        integration_id,
        state = sync.verify_state.as_str(),
        differences = sync.verify_differences,
        "verification done"
    );
    Ok(sync)
}

async fn record_compared(
    state: &AppState,
    integration_id: i64,
    differences: u64,
) -> Result<(), StoreError> {
    state
        .store
        .update_content_sync_state(integration_id, &|s| {
            s.verify_compared(differences);
            Ok(())
        })
        .await?;
    Ok(())
}
