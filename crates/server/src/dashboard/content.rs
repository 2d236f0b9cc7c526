//! Site → Content: what the platform holds of the site's content. Content sync is not built yet,
//! so the page says so and shows the reported types with their synced counts (all zero).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use igny8_domain::structure::IntegrationConfig;

use super::session::SignedIn;
use super::sites::{own_site, wordpress_integration};
use super::view::{backend_url, ok, Chrome, SiteView};
use super::PageError;
use crate::AppState;

pub struct CountRow {
    pub slug: String,
    pub label: String,
    pub kind: &'static str,
    pub count: u64,
    pub synced_count: u64,
    pub enabled: bool,
}

#[derive(Template)]
#[template(path = "dashboard/content.html")]
struct ContentPage {
    chrome: Chrome,
    site: SiteView,
    tab: &'static str,
    notice: Option<&'static str>,
    backend_url: String,
    rows: Vec<CountRow>,
}

pub async fn page(
    State(state): State<AppState>,
    me: SignedIn,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let site = own_site(&state, &me, &id).await?;
    let mut rows = Vec::new();
    if let Some(integration) = wordpress_integration(&state, site.id).await? {
        let types = IntegrationConfig::from_json(integration.config_json).content_types();
        for (kind, entries) in [
            ("Post type", types.post_types),
            ("Taxonomy", types.taxonomies),
        ] {
            rows.extend(entries.into_iter().map(|(slug, e)| CountRow {
                slug,
                label: e.label,
                kind,
                count: e.count,
                // The content store arrives with content sync; until then nothing is held.
                synced_count: 0,
                enabled: e.enabled,
            }));
        }
    }
    ok(&ContentPage {
        chrome: me.chrome(),
        site: SiteView::new(&site),
        tab: "content",
        notice: None,
        backend_url: backend_url(&state, &headers),
        rows,
    })
}
