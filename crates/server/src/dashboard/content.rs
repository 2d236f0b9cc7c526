//! Site → Content: what the platform holds of the site's content. The sync's state (last batch,
//! last rejection, full-sync progress per type, verification), the buttons that ask the plugin for
//! a full sync or a verification, synced counts per type, and the synced posts, paged and filtered.

use std::collections::{BTreeSet, HashMap};

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use igny8_domain::content::sync::{ContentSyncState, RunStatus, SyncStatus, VerifyState};
use igny8_domain::content::ItemKind;
use igny8_domain::names::{TypeKind, TypeName};
use igny8_domain::structure::IntegrationConfig;
use igny8_store::{ContentFilter, ContentSummary, SiteIntegration};

use super::session::SignedIn;
use super::sites::{own_site, wordpress_integration};
use super::view::{backend_url, notice, ok, Chrome, Moment, SiteView};
use super::PageError;
use crate::services::integrations::{self as services, PluginRequest};
use crate::AppState;

/// Posts per page of the list.
const PAGE_SIZE: u64 = 50;
/// The statuses the filter offers; others still show when a post has them.
const STATUSES: [&str; 7] = [
    "publish", "future", "draft", "pending", "private", "trash", "inherit",
];

pub struct CountRow {
    pub slug: String,
    pub label: String,
    pub kind: &'static str,
    pub count: u64,
    pub synced_count: u64,
    pub last_synced: Option<Moment>,
    pub enabled: bool,
}

pub struct ProgressRow {
    pub label: String,
    pub key: String,
    pub done: u64,
    pub total: u64,
}

pub struct RunView {
    pub running: bool,
    pub started: Moment,
    pub finished: Option<Moment>,
    pub rows: Vec<ProgressRow>,
}

/// The sync's state as the page words it.
pub struct SyncView {
    pub status: String,
    pub last_sync: Option<Moment>,
    pub last_error: Option<String>,
    pub verify_label: &'static str,
    pub verify_badge: &'static str,
    pub verified_at: Option<Moment>,
    pub differences: u64,
    pub verify_requested: bool,
    pub full_sync_requested: bool,
    pub run: Option<RunView>,
}

pub struct ItemRow {
    pub wp_id: i64,
    pub title: String,
    /// Only http(s) addresses become links, whatever WordPress sent.
    pub link: Option<String>,
    pub post_type: String,
    pub status: String,
    pub modified: String,
}

pub struct Listing {
    pub count: u64,
    pub page: u64,
    pub pages: u64,
    pub type_filter: String,
    pub status_filter: String,
    pub type_options: Vec<String>,
    pub status_options: Vec<String>,
    pub items: Vec<ItemRow>,
    pub previous: Option<String>,
    pub next: Option<String>,
}

impl Listing {
    pub fn filtered(&self) -> bool {
        !self.type_filter.is_empty() || !self.status_filter.is_empty()
    }
}

#[derive(Template)]
#[template(path = "dashboard/content.html")]
struct ContentPage {
    chrome: Chrome,
    site: SiteView,
    tab: &'static str,
    notice: Option<&'static str>,
    backend_url: String,
    connected: bool,
    sync: Option<SyncView>,
    rows: Vec<CountRow>,
    listing: Option<Listing>,
}

fn sync_view(
    integration: &SiteIntegration,
    s: &ContentSyncState,
    labels: &HashMap<String, String>,
) -> SyncView {
    let (verify_label, verify_badge) = match s.verify_state {
        VerifyState::Never => ("Never verified", "wait"),
        VerifyState::Checking => ("Checking", "wait"),
        VerifyState::InSync => ("In sync", "ok"),
        VerifyState::OutOfSync => ("Out of sync", "off"),
    };
    let status = match integration.sync_status {
        SyncStatus::Success => "Receiving content",
        SyncStatus::Partial => "Receiving content, some items rejected",
        SyncStatus::Never => "No content received yet",
    }
    .to_owned();
    SyncView {
        status,
        last_sync: Moment::maybe(integration.last_sync_at),
        last_error: integration.last_error.clone(),
        verify_label,
        verify_badge,
        verified_at: Moment::maybe(s.verified_at),
        differences: s.verify_differences,
        verify_requested: s.verify_requested,
        full_sync_requested: s.full_sync_requested,
        run: s.run.as_ref().map(|run| RunView {
            running: run.status == RunStatus::Running,
            started: Moment::new(run.started_at),
            finished: Moment::maybe(run.finished_at),
            rows: run
                .progress()
                .into_iter()
                .map(|(key, done, total)| ProgressRow {
                    label: labels.get(&key).cloned().unwrap_or_else(|| key.clone()),
                    key,
                    done,
                    total,
                })
                .collect(),
        }),
    }
}

/// `?type=&status=&page=`: anything that is not a valid name or page is no filter.
fn query_name(q: &HashMap<String, String>, key: &str) -> Option<String> {
    q.get(key)
        .and_then(|raw| TypeName::parse(TypeKind::PostType, raw).ok())
        .map(|n| n.as_str().to_owned())
}

fn page_href(site_id: i64, post_type: &str, status: &str, page: u64) -> String {
    let mut params = Vec::new();
    if !post_type.is_empty() {
        params.push(("type", post_type.to_owned()));
    }
    if !status.is_empty() {
        params.push(("status", status.to_owned()));
    }
    params.push(("page", page.to_string()));
    let query = serde_urlencoded::to_string(&params).unwrap_or_default();
    format!("/sites/{site_id}/content?{query}")
}

fn item_row(item: ContentSummary) -> ItemRow {
    let link = item
        .url
        .filter(|u| u.starts_with("https://") || u.starts_with("http://"));
    ItemRow {
        wp_id: item.wp_id,
        title: item.title,
        link,
        post_type: item.post_type,
        status: item.status,
        modified: item.modified_gmt,
    }
}

pub async fn page(
    State(state): State<AppState>,
    me: SignedIn,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let site = own_site(&state, &me, &id).await?;
    let mut page = ContentPage {
        chrome: me.chrome(),
        site: SiteView::new(&site),
        tab: "content",
        notice: notice(q.get("done").map(String::as_str)),
        backend_url: backend_url(&state, &headers),
        connected: false,
        sync: None,
        rows: Vec::new(),
        listing: None,
    };
    let Some(integration) = wordpress_integration(&state, site.id).await? else {
        return ok(&page);
    };
    page.connected = true;
    let counts = state.store.content_counts(integration.id).await?;
    let types = IntegrationConfig::from_json(integration.config_json.clone()).content_types();
    let mut labels = HashMap::new();
    for (item_kind, title) in [(ItemKind::Post, "Post type"), (ItemKind::Term, "Taxonomy")] {
        for (slug, e) in types.of_kind(item_kind.type_kind()) {
            labels.insert(item_kind.key(slug), format!("{} ({slug})", e.label));
            let held = counts
                .iter()
                .find(|c| c.kind == item_kind && &c.type_name == slug);
            page.rows.push(CountRow {
                slug: slug.clone(),
                label: e.label.clone(),
                kind: title,
                count: e.count,
                synced_count: held.map_or(0, |c| c.count),
                last_synced: Moment::maybe(held.and_then(|c| c.last_synced_at)),
                enabled: e.enabled,
            });
        }
    }
    let sync = state.store.content_sync_state(integration.id).await?;
    page.sync = Some(sync_view(&integration, &sync, &labels));

    let type_filter = query_name(&q, "type").unwrap_or_default();
    let status_filter = query_name(&q, "status").unwrap_or_default();
    let requested_page = q
        .get("page")
        .and_then(|p| p.parse::<u64>().ok())
        .filter(|p| (1..=1_000_000).contains(p))
        .unwrap_or(1);
    let filter = ContentFilter {
        post_type: Some(type_filter.as_str()).filter(|t| !t.is_empty()),
        status: Some(status_filter.as_str()).filter(|s| !s.is_empty()),
    };
    let found = state
        .store
        .list_content(
            integration.id,
            filter,
            (requested_page - 1) * PAGE_SIZE,
            PAGE_SIZE,
        )
        .await?;
    let pages = found.count.div_ceil(PAGE_SIZE).max(1);
    let mut type_options: BTreeSet<String> = types.post_types.keys().cloned().collect();
    type_options.extend(
        counts
            .iter()
            .filter(|c| c.kind == ItemKind::Post)
            .map(|c| c.type_name.clone()),
    );
    let mut status_options: Vec<String> = STATUSES.iter().map(|s| (*s).to_owned()).collect();
    if !status_filter.is_empty() && !status_options.contains(&status_filter) {
        status_options.push(status_filter.clone());
    }
    page.listing = Some(Listing {
        count: found.count,
        page: requested_page,
        pages,
        previous: (requested_page > 1).then(|| {
            page_href(
                site.id,
                &type_filter,
                &status_filter,
                (requested_page - 1).min(pages),
            )
        }),
        next: (requested_page < pages)
            .then(|| page_href(site.id, &type_filter, &status_filter, requested_page + 1)),
        type_filter,
        status_filter,
        type_options: type_options.into_iter().collect(),
        status_options,
        items: found.items.into_iter().map(item_row).collect(),
    });
    ok(&page)
}

/// "Request full sync" and "Verify now": a flag the plugin reads at its next status check.
async fn ask_the_plugin(
    state: &AppState,
    me: &SignedIn,
    id: &str,
    done: &str,
    what: PluginRequest,
) -> Result<Response, PageError> {
    let site = own_site(state, me, id).await?;
    let back = |done: &str| {
        Redirect::to(&format!("/sites/{}/content?done={done}", site.id)).into_response()
    };
    if !site.is_active {
        return Ok(back("site-inactive"));
    }
    let Some(integration) = wordpress_integration(state, site.id).await? else {
        return Ok(back("not-connected"));
    };
    services::request(state, integration.id, what).await?;
    tracing::info!(
        site_id = site.id,
        integration_id = integration.id,
        done,
        "dashboard: asked the plugin"
    );
    Ok(back(done))
}

pub async fn request_full_sync(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    ask_the_plugin(
        &state,
        &me,
        &id,
        "full-sync-requested",
        PluginRequest::FullSync,
    )
    .await
}

pub async fn request_verify(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    ask_the_plugin(&state, &me, &id, "verify-requested", PluginRequest::Verify).await
}
