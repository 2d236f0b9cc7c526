//! A full sync's run (docs/sync-protocol.md): the plugin starts it with how much it will send, and
//! finishing it prunes what WordPress no longer has of the types the platform syncs.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use igny8_domain::content::requests::TypeNumbers;
use igny8_domain::content::sync::ContentSyncState;
use igny8_domain::content::ItemKind;
use igny8_domain::structure::IntegrationConfig;
use igny8_store::{SiteIntegration, StoreError, TypeBound};

use crate::AppState;

/// Starts run `run_id` (replacing any unfinished one) with the plugin's `totals` per type.
pub async fn start(
    state: &AppState,
    integration_id: i64,
    run_id: &str,
    totals: &TypeNumbers,
    at: DateTime<Utc>,
) -> Result<ContentSyncState, StoreError> {
    let totals: BTreeMap<String, u64> =
        totals.iter().map(|(kind, t, n)| (kind.key(t), n)).collect();
    let sync = state
        .store
        .update_content_sync_state(integration_id, &|s| {
            s.start_run(run_id, totals.clone(), at);
            Ok(())
        })
        .await?;
    state.metrics.full_sync("started");
    tracing::info!(integration_id, run_id, "full sync started");
    Ok(sync)
}

/// Finishes run `run_id` (a conflict when it is not the current one) and prunes what lies beyond
/// WordPress's largest ids, `max_ids`. Answers the sync state and how many objects were deleted.
pub async fn finish(
    state: &AppState,
    integration: &SiteIntegration,
    run_id: &str,
    max_ids: &TypeNumbers,
    at: DateTime<Utc>,
) -> Result<(ContentSyncState, u64), StoreError> {
    let sync = state
        .store
        .update_content_sync_state(integration.id, &|s| s.finish_run(run_id, at))
        .await?;
    let keep = kept_types(integration, max_ids);
    let deleted = state.store.prune_content(integration.id, &keep).await?;
    state.metrics.full_sync("finished");
    tracing::info!(
        integration_id = integration.id,
        run_id,
        deleted,
        "full sync finished"
    );
    Ok((sync, deleted))
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
    ItemKind::ALL
        .into_iter()
        .flat_map(|kind| {
            types
                .of_kind(kind.type_kind())
                .iter()
                .filter(|(_, e)| e.enabled)
                .map(move |(name, _)| bound(kind, name))
                .collect::<Vec<_>>()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use igny8_domain::content::requests::FullSyncAction;
    use serde_json::{json, Value};

    use super::*;

    fn max_ids(ids: Value) -> TypeNumbers {
        match FullSyncAction::parse(&json!({"action": "finish", "run_id": "r", "max_ids": ids})) {
            Ok(FullSyncAction::Finish { max_ids, .. }) => max_ids,
            other => panic!("{other:?}"),
        }
    }

    fn kept(config: Value, ids: Value) -> Vec<(ItemKind, String, Option<i64>)> {
        kept_types(&crate::services::test_integration(config), &max_ids(ids))
            .into_iter()
            .map(|b| (b.kind, b.type_name, b.max_id))
            .collect()
    }

    #[test]
    fn a_finished_run_keeps_the_enabled_types_up_to_wordpress_largest_ids() {
        let config = json!({"content_types": {
            "post_types": {"book": {"label": "Books", "count": 2, "enabled": true, "fetch_limit": 100},
                           "page": {"label": "Pages", "count": 1, "enabled": false, "fetch_limit": 100}},
            "taxonomies": {"genre": {"label": "Genres", "count": 3, "enabled": true, "fetch_limit": 100}},
        }});
        assert_eq!(
            kept(config, json!({"post:book": 40, "post:page": 9})),
            vec![
                (ItemKind::Post, "book".to_owned(), Some(40)),
                (ItemKind::Term, "genre".to_owned(), None),
            ]
        );
    }

    #[test]
    fn before_any_structure_push_a_finished_run_keeps_the_types_the_plugin_named() {
        assert_eq!(
            kept(json!(null), json!({"post:post": 7, "term:category": 3})),
            vec![
                (ItemKind::Post, "post".to_owned(), Some(7)),
                (ItemKind::Term, "category".to_owned(), Some(3)),
            ]
        );
    }
}
