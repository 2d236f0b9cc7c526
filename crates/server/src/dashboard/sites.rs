//! The account's sites: the list with each site's connection state, adding a site, activating and
//! deactivating one; and the tenancy check every site page goes through.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use igny8_domain::account::{parse_name, parse_site_url};
use igny8_domain::structure::IntegrationConfig;
use igny8_store::{Site, SiteIntegration};
use serde::Deserialize;

use super::session::SignedIn;
use super::view::{notice, ok, render, Chrome, FormErrors, Moment, SiteView};
use super::PageError;
use crate::services::integrations::WORDPRESS;
use crate::AppState;

/// The signed-in user's site `raw_id`; another account's site is "not found", exactly like a
/// site that does not exist, so its pages tell nothing.
pub async fn own_site(state: &AppState, me: &SignedIn, raw_id: &str) -> Result<Site, PageError> {
    let id = raw_id
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or(PageError::NotFound)?;
    match state.store.site(id).await? {
        Some(site) if site.account_id == me.user.account_id => Ok(site),
        _ => Err(PageError::NotFound),
    }
}

/// The site's WordPress integration, once the plugin has created it.
pub async fn wordpress_integration(
    state: &AppState,
    site_id: i64,
) -> Result<Option<SiteIntegration>, PageError> {
    Ok(state
        .store
        .integrations_of_site(site_id)
        .await?
        .into_iter()
        .find(|i| i.platform == WORDPRESS))
}

/// The plugin counts as connected once it has pushed the site's structure.
pub fn last_structure_fetch(integration: Option<&SiteIntegration>) -> Option<Moment> {
    integration
        .and_then(|i| IntegrationConfig::from_json(i.config_json.clone()).last_structure_fetch())
        .map(Moment::new)
}

pub struct SiteRow {
    pub site: SiteView,
    pub last_structure_fetch: Option<Moment>,
}

#[derive(Template)]
#[template(path = "dashboard/sites.html")]
struct SitesPage {
    chrome: Chrome,
    notice: Option<&'static str>,
    sites: Vec<SiteRow>,
    name: String,
    url: String,
    errors: FormErrors,
}

async fn sites_page(
    state: &AppState,
    me: &SignedIn,
    notice: Option<&'static str>,
) -> Result<SitesPage, PageError> {
    let mut sites = Vec::new();
    for site in state.store.sites_of_account(me.user.account_id).await? {
        let integration = wordpress_integration(state, site.id).await?;
        sites.push(SiteRow {
            site: SiteView::new(&site),
            last_structure_fetch: last_structure_fetch(integration.as_ref()),
        });
    }
    Ok(SitesPage {
        chrome: me.chrome(),
        notice,
        sites,
        name: String::new(),
        url: String::new(),
        errors: FormErrors::default(),
    })
}

pub async fn list(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let page = sites_page(&state, &me, notice(q.get("done").map(String::as_str))).await?;
    ok(&page)
}

#[derive(Deserialize)]
pub struct NewSiteForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    url: String,
}

pub async fn create(
    State(state): State<AppState>,
    me: SignedIn,
    Form(form): Form<NewSiteForm>,
) -> Result<Response, PageError> {
    let mut errors = FormErrors::default();
    let name = parse_name(&form.name)
        .map_err(|e| errors.add("name", e))
        .ok();
    let url = parse_site_url(&form.url)
        .map_err(|e| errors.add("url", e))
        .ok();
    let (Some(name), Some(url)) = (name, url) else {
        let mut page = sites_page(&state, &me, None).await?;
        page.name = form.name;
        page.url = form.url;
        page.errors = errors;
        return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
    };
    let site = state
        .store
        .create_site(me.user.account_id, &name, &url)
        .await?;
    tracing::info!(
        site_id = site.id,
        account_id = site.account_id,
        "dashboard: site added"
    );
    Ok(Redirect::to(&format!(
        "/sites/{}/settings/api-keys?done=site-added",
        site.id
    ))
    .into_response())
}

/// `/sites/{id}`: a site opens on its integration tab.
pub async fn show(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let site = own_site(&state, &me, &id).await?;
    Ok(Redirect::to(&format!("/sites/{}/settings/integration", site.id)).into_response())
}

async fn set_active(
    state: &AppState,
    me: &SignedIn,
    id: &str,
    active: bool,
) -> Result<Response, PageError> {
    let site = own_site(state, me, id).await?;
    state.store.set_site_active(site.id, active).await?;
    tracing::info!(
        site_id = site.id,
        active,
        "dashboard: site activation changed"
    );
    let done = if active {
        "site-activated"
    } else {
        "site-deactivated"
    };
    Ok(Redirect::to(&format!("/sites?done={done}")).into_response())
}

pub async fn activate(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    set_active(&state, &me, &id, true).await
}

pub async fn deactivate(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    set_active(&state, &me, &id, false).await
}
