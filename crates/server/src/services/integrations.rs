//! A site's WordPress integration as the platform's users see and steer it: the content-types
//! view (what the plugin reported, the effective settings, what the platform holds of each type),
//! the platform-owned sync settings, and the requests the plugin picks up at its next cron run.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use igny8_domain::content::sync::ContentSyncState;
use igny8_domain::content::ItemKind;
use igny8_domain::names::TypeKind;
use igny8_domain::structure::{IntegrationConfig, SettingsChange};
use igny8_domain::FieldErrors;
use igny8_store::{ConfigUpdate, SiteIntegration, StoreError, TypeCount};
use serde::{Serialize, Serializer};

use crate::AppState;

/// The platform the plugin's integrations are created for (the only one today).
pub const WORDPRESS: &str = "wordpress";

/// What the Content Types tab and the plugin read (`GET …/content-types/`). Fields in alphabetical
/// order, as the API wrote them when the answer was built with `json!`.
#[derive(Debug, Serialize)]
pub struct ContentTypesView {
    #[serde(serialize_with = "rfc3339")]
    pub last_structure_fetch: Option<DateTime<Utc>>,
    pub plugin_connection_enabled: bool,
    pub post_types: BTreeMap<String, TypeView>,
    pub taxonomies: BTreeMap<String, TypeView>,
    pub two_way_sync_enabled: bool,
}

/// One post type or taxonomy: the plugin's report, the effective settings, and what the platform
/// holds of it.
#[derive(Debug, Serialize)]
pub struct TypeView {
    pub count: u64,
    pub enabled: bool,
    pub fetch_limit: u64,
    pub label: String,
    #[serde(serialize_with = "rfc3339")]
    pub last_synced_at: Option<DateTime<Utc>>,
    pub synced_count: u64,
}

/// Times as the API has always written them (`2026-01-02T03:04:05Z`, fractions only when set).
fn rfc3339<S: Serializer>(at: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    at.map(|t| t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
        .serialize(s)
}

impl ContentTypesView {
    /// The stored structure with the platform's effective settings and `counts` (what the content
    /// store holds of each type).
    pub fn new(integration: &SiteIntegration, counts: &[TypeCount]) -> Self {
        let config = IntegrationConfig::from_json(integration.config_json.clone());
        let types = config.content_types();
        let of_kind = |kind: TypeKind| -> BTreeMap<String, TypeView> {
            let item_kind = ItemKind::of_type_kind(kind);
            types
                .of_kind(kind)
                .iter()
                .map(|(name, e)| {
                    let held = counts
                        .iter()
                        .find(|c| c.kind == item_kind && &c.type_name == name);
                    let view = TypeView {
                        count: e.count,
                        enabled: e.enabled,
                        fetch_limit: e.fetch_limit,
                        label: e.label.clone(),
                        last_synced_at: held.and_then(|c| c.last_synced_at),
                        synced_count: held.map_or(0, |c| c.count),
                    };
                    (name.clone(), view)
                })
                .collect()
        };
        ContentTypesView {
            last_structure_fetch: config.last_structure_fetch(),
            plugin_connection_enabled: config.plugin_connection_enabled(),
            post_types: of_kind(TypeKind::PostType),
            taxonomies: of_kind(TypeKind::Taxonomy),
            two_way_sync_enabled: config.two_way_sync_enabled(),
        }
    }
}

/// The content-types view of an integration, with what the platform holds of each type.
pub async fn content_types(
    state: &AppState,
    integration: &SiteIntegration,
) -> Result<ContentTypesView, StoreError> {
    let counts = state.store.content_counts(integration.id).await?;
    Ok(ContentTypesView::new(integration, &counts))
}

/// Why a settings change did not happen.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// A name the site has not reported, field by field.
    #[error("{0}")]
    Invalid(FieldErrors),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Applies the platform's own sync settings (enabled, fetch limit per type); the plugin learns
/// them from its next structure push's answer. Answers the updated integration.
pub async fn change_sync_settings(
    state: &AppState,
    integration_id: i64,
    change: &SettingsChange,
) -> Result<SiteIntegration, SettingsError> {
    let outcome = state
        .store
        .update_integration_config(integration_id, &|current| {
            let mut config = IntegrationConfig::from_json(current);
            config.apply_settings(change)?;
            Ok(config.into_json())
        })
        .await?;
    match outcome {
        ConfigUpdate::Updated(updated) => {
            tracing::info!(integration_id, "sync settings changed");
            Ok(updated)
        }
        ConfigUpdate::Rejected(errors) => Err(SettingsError::Invalid(errors)),
    }
}

/// What a platform user (or the plugin itself) asks the plugin to do at its next cron run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PluginRequest {
    FullSync,
    Verify,
}

/// Records a request the plugin picks up at its next status check, and answers the sync state it
/// will read. Who may ask (and whether the site is active) the caller has decided.
pub async fn request(
    state: &AppState,
    integration_id: i64,
    what: PluginRequest,
) -> Result<ContentSyncState, StoreError> {
    let step = match what {
        PluginRequest::FullSync => ContentSyncState::request_full_sync,
        PluginRequest::Verify => ContentSyncState::request_verify,
    };
    state
        .store
        .update_content_sync_state(integration_id, &|s| {
            step(s);
            Ok(())
        })
        .await
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;

    /// The answer the API wrote with `json!` before the view had a type: same keys, same order,
    /// same times.
    #[test]
    fn the_view_serializes_as_the_api_always_answered() {
        let config = json!({
            "content_types": {
                "post_types": {"book": {"label": "Books", "count": 12, "enabled": true, "fetch_limit": 100}},
                "taxonomies": {"genre": {"label": "Genres", "count": 3, "enabled": false, "fetch_limit": 50}},
            },
            "last_structure_fetch": "2026-01-02T03:04:05.250Z",
            "plugin_connection_enabled": true,
        });
        let counts = [TypeCount {
            kind: ItemKind::Post,
            type_name: "book".into(),
            count: 9,
            last_synced_at: Some(Utc.with_ymd_and_hms(2026, 1, 2, 4, 0, 0).unwrap()),
        }];
        let view = ContentTypesView::new(&crate::services::test_integration(config), &counts);
        assert_eq!(
            serde_json::to_string(&view).unwrap(),
            r#"{"last_structure_fetch":"2026-01-02T03:04:05.250Z","plugin_connection_enabled":true,"#
                .to_owned()
                + r#""post_types":{"book":{"count":12,"enabled":true,"fetch_limit":100,"label":"Books","last_synced_at":"2026-01-02T04:00:00Z","synced_count":9}},"#
                + r#""taxonomies":{"genre":{"count":3,"enabled":false,"fetch_limit":50,"label":"Genres","last_synced_at":null,"synced_count":0}},"#
                + r#""two_way_sync_enabled":false}"#
        );
    }

    #[test]
    fn before_any_push_the_view_is_empty() {
        let view = ContentTypesView::new(&crate::services::test_integration(json!(null)), &[]);
        assert_eq!(
            serde_json::to_value(&view).unwrap(),
            json!({"last_structure_fetch": null, "plugin_connection_enabled": false,
                   "post_types": {}, "taxonomies": {}, "two_way_sync_enabled": false})
        );
    }
}
