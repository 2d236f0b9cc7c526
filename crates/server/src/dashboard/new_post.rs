//! Site → Content → New post (`/sites/{id}/content/new`): a post, page or custom-type item written
//! on the platform and created in WordPress by two-way sync, once, however often the form is sent.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use igny8_domain::structure::IntegrationConfig;
use igny8_store::SiteIntegration;
use serde_json::{json, Map, Value};

use super::changes::TWO_WAY_OFF_NOTE;
use super::post::{queue_change, synced_taxonomies, QueueOutcome};
use super::post_form::{problems, PostForm, Submission};
use super::session::SignedIn;
use super::sites::{own_site, wordpress_integration};
use super::view::{render, Chrome, FormErrors, SiteView};
use super::PageError;
use crate::services::changes as service;
use crate::AppState;

pub struct TypeOption {
    pub slug: String,
    pub label: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "dashboard/new_post.html")]
struct NewPostPage {
    chrome: Chrome,
    site: SiteView,
    tab: &'static str,
    notice: Option<&'static str>,
    connected: bool,
    two_way: bool,
    types: Vec<TypeOption>,
    form: PostForm,
    problems: Vec<String>,
}

impl NewPostPage {
    fn two_way_note(&self) -> &'static str {
        TWO_WAY_OFF_NOTE
    }
}

/// The post types the site syncs, `chosen` (or `post`, or the first) selected.
fn type_options(integration: &SiteIntegration, chosen: Option<&str>) -> Vec<TypeOption> {
    let types = IntegrationConfig::from_json(integration.config_json.clone()).content_types();
    let synced: Vec<(&String, &String)> = types
        .post_types
        .iter()
        .filter(|(_, e)| e.enabled)
        .map(|(slug, e)| (slug, &e.label))
        .collect();
    let pick = chosen
        .filter(|c| synced.iter().any(|(s, _)| s.as_str() == *c))
        .or_else(|| {
            synced
                .iter()
                .find(|(s, _)| s.as_str() == "post")
                .map(|(s, _)| s.as_str())
        })
        .or_else(|| synced.first().map(|(s, _)| s.as_str()))
        .map(str::to_owned);
    synced
        .into_iter()
        .map(|(slug, label)| TypeOption {
            selected: pick.as_deref() == Some(slug.as_str()),
            slug: slug.clone(),
            label: label.clone(),
        })
        .collect()
}

fn blank() -> Map<String, Value> {
    json!({"status": "draft"})
        .as_object()
        .cloned()
        .unwrap_or_default()
}

pub async fn page(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let site = own_site(&state, &me, &id).await?;
    let integration = wordpress_integration(&state, site.id).await?;
    let (types, taxonomies, two_way) = match &integration {
        Some(i) => (
            type_options(i, q.get("type").map(String::as_str)),
            synced_taxonomies(&state, i).await?,
            service::two_way_enabled(i),
        ),
        None => (Vec::new(), Vec::new(), false),
    };
    render(
        StatusCode::OK,
        &NewPostPage {
            chrome: me.chrome(),
            site: SiteView::new(&site),
            tab: "content",
            notice: None,
            connected: integration.is_some(),
            two_way,
            types,
            form: PostForm::new(&blank(), &taxonomies, true),
            problems: Vec::new(),
        },
    )
}

pub async fn create(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let site = own_site(&state, &me, &id).await?;
    let back = |done: &str| {
        Redirect::to(&format!("/sites/{}/changes?done={done}", site.id)).into_response()
    };
    let Some(integration) = wordpress_integration(&state, site.id).await? else {
        return Ok(back("not-connected"));
    };
    let submission = Submission::read(fields);
    let refused = match submission.create() {
        Err(errors) => (StatusCode::UNPROCESSABLE_ENTITY, errors, None),
        Ok(fields) => {
            let body = json!({
                "op": "create", "type": submission.type_name, "fields": fields,
                "idempotency_key": submission.idempotency_key,
            });
            match queue_change(&state, &me, &site, &integration, &body).await? {
                QueueOutcome::Queued { created: true } => return Ok(back("post-queued")),
                QueueOutcome::Queued { created: false } => return Ok(back("already-queued")),
                QueueOutcome::Invalid(errors) => (StatusCode::UNPROCESSABLE_ENTITY, errors, None),
                QueueOutcome::Refused(why) => {
                    (StatusCode::CONFLICT, FormErrors::default(), Some(why))
                }
            }
        }
    };
    let (status, errors, why) = refused;
    let taxonomies = synced_taxonomies(&state, &integration).await?;
    let mut lines = problems(&errors);
    lines.extend(why);
    let page = NewPostPage {
        chrome: me.chrome(),
        site: SiteView::new(&site),
        tab: "content",
        notice: None,
        connected: true,
        two_way: service::two_way_enabled(&integration),
        types: type_options(&integration, Some(&submission.type_name)),
        form: PostForm::resubmitted(&submission, &taxonomies, true, errors),
        problems: lines,
    };
    render(status, &page)
}
