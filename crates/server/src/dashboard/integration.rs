//! Site → Settings → Integration: the WordPress connection as the platform sees it (state, ids,
//! sync times, the last error the plugin reported, the site's address and a copy of the site that
//! was refused) and where the API is documented.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};

use igny8_domain::structure::IntegrationConfig;

use super::session::SignedIn;
use super::sites::{own_site, wordpress_integration};
use super::view::{backend_url, notice, ok, Chrome, Moment, SiteView};
use super::PageError;
use crate::AppState;

/// A copy of the site at another address that tried to sync and was refused
/// (docs/sync-protocol.md, "Copies and moves").
pub struct SiteCopy {
    pub url: String,
    pub at: Moment,
}

pub struct IntegrationView {
    pub id: i64,
    pub sync_status: igny8_domain::content::sync::SyncStatus,
    pub last_sync_at: Option<Moment>,
    pub last_error: Option<String>,
    pub last_structure_fetch: Option<Moment>,
    pub plugin_connection_enabled: bool,
    pub two_way_sync_enabled: bool,
    pub post_types: usize,
    pub taxonomies: usize,
    /// The address the plugin reports, once it has reported one.
    pub site_url: Option<String>,
    pub copy: Option<SiteCopy>,
}

#[derive(Template)]
#[template(path = "dashboard/integration.html")]
struct IntegrationPage {
    chrome: Chrome,
    site: SiteView,
    tab: &'static str,
    notice: Option<&'static str>,
    backend_url: String,
    integration: Option<IntegrationView>,
}

pub async fn page(
    State(state): State<AppState>,
    me: SignedIn,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let site = own_site(&state, &me, &id).await?;
    let integration = wordpress_integration(&state, site.id).await?.map(|i| {
        let config = IntegrationConfig::from_json(i.config_json);
        let types = config.content_types();
        let copy = match (i.site_url_mismatch, i.site_url_mismatch_at) {
            (Some(url), Some(at)) => Some(SiteCopy {
                url,
                at: Moment::new(at),
            }),
            _ => None,
        };
        IntegrationView {
            id: i.id,
            sync_status: i.sync_status,
            last_sync_at: Moment::maybe(i.last_sync_at),
            last_error: i.last_error,
            last_structure_fetch: Moment::maybe(config.last_structure_fetch()),
            plugin_connection_enabled: config.plugin_connection_enabled(),
            two_way_sync_enabled: config.two_way_sync_enabled(),
            post_types: types.post_types.len(),
            taxonomies: types.taxonomies.len(),
            site_url: i.site_url,
            copy,
        }
    });
    ok(&IntegrationPage {
        chrome: me.chrome(),
        site: SiteView::new(&site),
        tab: "integration",
        notice: notice(q.get("done").map(String::as_str)),
        backend_url: backend_url(&state, &headers),
        integration,
    })
}

/// "Dismiss" on a refused copy: the account's user knows about it (a staging copy, say). The copy
/// stays refused; only the page stops showing it, until it tries again.
pub async fn forget_copy(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let site = own_site(&state, &me, &id).await?;
    if let Some(integration) = wordpress_integration(&state, site.id).await? {
        state
            .store
            .record_site_url_mismatch(integration.id, None)
            .await?;
        tracing::info!(
            site_id = site.id,
            integration_id = integration.id,
            "dashboard: refused copy of the site dismissed"
        );
    }
    Ok(Redirect::to(&format!(
        "/sites/{}/settings/integration?done=copy-dismissed",
        site.id
    ))
    .into_response())
}
