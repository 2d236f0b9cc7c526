//! Site → Settings → API keys ("Generate WordPress API Keys"): create a key (shown once, with how
//! to paste it into the plugin), list keys by prefix, revoke one.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::Utc;
use igny8_domain::account::parse_name;
use igny8_domain::api_key::NewApiKey;
use igny8_store::{ApiKey, NewApiKeyRow, Site};
use serde::Deserialize;

use super::session::SignedIn;
use super::sites::own_site;
use super::view::{backend_url, notice, render, Chrome, FormErrors, Moment, SiteView};
use super::PageError;
use crate::AppState;

pub struct KeyRow {
    pub prefix: String,
    pub label: String,
    pub created: Moment,
    pub last_used: Option<Moment>,
    pub revoked: Option<Moment>,
}

impl KeyRow {
    fn new(key: &ApiKey) -> Self {
        Self {
            prefix: key.prefix.clone(),
            label: key.label.clone(),
            created: Moment::new(key.created_at),
            last_used: Moment::maybe(key.last_used_at),
            revoked: Moment::maybe(key.revoked_at),
        }
    }
}

#[derive(Template)]
#[template(path = "dashboard/api_keys.html")]
struct ApiKeysPage {
    chrome: Chrome,
    site: SiteView,
    tab: &'static str,
    notice: Option<&'static str>,
    backend_url: String,
    keys: Vec<KeyRow>,
    /// The key just created: the only time it is ever shown.
    new_key: Option<String>,
    label: String,
    errors: FormErrors,
}

async fn keys_page(
    state: &AppState,
    me: &SignedIn,
    headers: &HeaderMap,
    site: &Site,
) -> Result<ApiKeysPage, PageError> {
    let mut keys: Vec<KeyRow> = state
        .store
        .api_keys_of_site(site.id)
        .await?
        .iter()
        .map(KeyRow::new)
        .collect();
    // Newest first; revoked keys after the ones in use.
    keys.sort_by(|a, b| {
        a.revoked
            .is_some()
            .cmp(&b.revoked.is_some())
            .then(b.created.iso.cmp(&a.created.iso))
    });
    Ok(ApiKeysPage {
        chrome: me.chrome(),
        site: SiteView::new(site),
        tab: "api-keys",
        notice: None,
        backend_url: backend_url(state, headers),
        keys,
        new_key: None,
        label: String::new(),
        errors: FormErrors::default(),
    })
}

pub async fn page(
    State(state): State<AppState>,
    me: SignedIn,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let site = own_site(&state, &me, &id).await?;
    let mut page = keys_page(&state, &me, &headers, &site).await?;
    page.notice = notice(q.get("done").map(String::as_str));
    render(StatusCode::OK, &page)
}

#[derive(Deserialize)]
pub struct NewKeyForm {
    #[serde(default)]
    label: String,
}

pub async fn create(
    State(state): State<AppState>,
    me: SignedIn,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<NewKeyForm>,
) -> Result<Response, PageError> {
    let site = own_site(&state, &me, &id).await?;
    let label = match form.label.trim() {
        "" => Ok(String::new()),
        raw => parse_name(raw),
    };
    let label = match label {
        Ok(label) => label,
        Err(why) => {
            let mut page = keys_page(&state, &me, &headers, &site).await?;
            page.label = form.label;
            page.errors.add("label", why);
            return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let key = NewApiKey::generate();
    state
        .store
        .create_api_key(NewApiKeyRow {
            site_id: site.id,
            prefix: &key.prefix,
            hash: &key.hash,
            label: &label,
        })
        .await?;
    tracing::info!(site_id = site.id, prefix = %key.prefix, "dashboard: API key created");
    let mut page = keys_page(&state, &me, &headers, &site).await?;
    page.new_key = Some(key.secret);
    render(StatusCode::CREATED, &page)
}

pub async fn revoke(
    State(state): State<AppState>,
    me: SignedIn,
    Path((id, prefix)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let site = own_site(&state, &me, &id).await?;
    state
        .store
        .revoke_api_key(site.id, &prefix, Utc::now())
        .await?;
    tracing::info!(site_id = site.id, prefix = %prefix, "dashboard: API key revoked");
    Ok(Redirect::to(&format!(
        "/sites/{}/settings/api-keys?done=key-revoked",
        site.id
    ))
    .into_response())
}
