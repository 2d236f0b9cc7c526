//! Site → Settings → Integration: the WordPress connection as the platform sees it (state, ids,
//! sync times, the last error the plugin reported) and where the API is documented.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use igny8_domain::structure::IntegrationConfig;

use super::session::SignedIn;
use super::sites::{own_site, wordpress_integration};
use super::view::{backend_url, ok, Chrome, Moment, SiteView};
use super::PageError;
use crate::AppState;

pub struct IntegrationView {
    pub id: i64,
    pub sync_status: String,
    pub last_sync_at: Option<Moment>,
    pub last_error: Option<String>,
    pub last_structure_fetch: Option<Moment>,
    pub plugin_connection_enabled: bool,
    pub two_way_sync_enabled: bool,
    pub post_types: usize,
    pub taxonomies: usize,
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
) -> Result<Response, PageError> {
    let site = own_site(&state, &me, &id).await?;
    let integration = wordpress_integration(&state, site.id).await?.map(|i| {
        let config = IntegrationConfig::from_json(i.config_json);
        let types = config.content_types();
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
        }
    });
    ok(&IntegrationPage {
        chrome: me.chrome(),
        site: SiteView::new(&site),
        tab: "integration",
        notice: None,
        backend_url: backend_url(&state, &headers),
        integration,
    })
}
