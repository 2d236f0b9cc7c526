//! A synced post's page (`/sites/{id}/content/{type}/{wp_id}`): what the platform holds of it, the
//! changes sent for it and their state, and the form that edits it in WordPress (two-way sync):
//! only the fields the user changed are sent, based on the values the form showed.

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use igny8_domain::changes::{ChangeOp, ChangeRequest, ChangeStatus};
use igny8_domain::content::ItemKind;
use igny8_domain::names::{TypeKind, TypeName};
use igny8_domain::structure::IntegrationConfig;
use igny8_store::{ChangeFilter, ChangeRecord, ContentItem, Site, SiteIntegration};
use serde_json::{json, Value};

use super::changes::{change_failure, change_view, ChangeView, FieldValue, TWO_WAY_OFF_NOTE};
use super::post_form::{
    form_errors, idempotency_key, problems, Edit, PostForm, Submission, TaxonomyTerms,
};
use super::session::SignedIn;
use super::sites::{own_site, wordpress_integration};
use super::view::{notice, render, Chrome, FormErrors, SiteView};
use super::PageError;
use crate::services::changes::{self as service, ChangeError};
use crate::AppState;

/// A post's changes its page lists, newest first.
const CHANGES_SHOWN: u64 = 20;

/// What the platform holds of the post, as its page shows it.
pub struct PostFacts {
    pub title: String,
    pub post_type: String,
    pub wp_id: i64,
    pub status: String,
    pub slug: String,
    pub modified: String,
    pub date: String,
    pub author: String,
    /// Only http(s) addresses become links, whatever WordPress sent.
    pub link: Option<String>,
    pub terms: Vec<FieldValue>,
    pub seo: Vec<FieldValue>,
    pub featured_image: String,
    pub content_truncated: bool,
}

/// The edit form, or why this post cannot be edited here.
pub enum Editing {
    Form(Box<PostForm>),
    TwoWayOff,
    TypeNotSynced,
}

#[derive(Template)]
#[template(path = "dashboard/post.html")]
struct PostPage {
    chrome: Chrome,
    site: SiteView,
    tab: &'static str,
    notice: Option<&'static str>,
    post_path: String,
    post: PostFacts,
    changes: Vec<ChangeView>,
    any_pending: bool,
    editing: Editing,
    problems: Vec<String>,
    can_trash: bool,
    trash_key: String,
}

impl PostPage {
    fn two_way_note(&self) -> &'static str {
        TWO_WAY_OFF_NOTE
    }
}

/// The site, its integration and the post a request names; "not found" for anything else.
struct Target {
    site: Site,
    integration: SiteIntegration,
    item: ContentItem,
}

impl Target {
    fn path(&self) -> String {
        format!(
            "/sites/{}/content/{}/{}",
            self.site.id, self.item.summary.post_type, self.item.summary.wp_id
        )
    }

    fn type_name(&self) -> &str {
        &self.item.summary.post_type
    }

    fn wp_id(&self) -> i64 {
        self.item.summary.wp_id
    }

    /// Whether the platform holds the whole content (a long post arrives cut).
    fn content_editable(&self) -> bool {
        !self.item.content_truncated
    }
}

async fn target(
    state: &AppState,
    me: &SignedIn,
    id: &str,
    type_name: &str,
    wp_id: &str,
) -> Result<Target, PageError> {
    let site = own_site(state, me, id).await?;
    let integration = wordpress_integration(state, site.id)
        .await?
        .ok_or(PageError::NotFound)?;
    let type_name =
        TypeName::parse(TypeKind::PostType, type_name).map_err(|_| PageError::NotFound)?;
    let wp_id = wp_id
        .parse::<i64>()
        .ok()
        .filter(|w| *w > 0)
        .ok_or(PageError::NotFound)?;
    let item = state
        .store
        .content_item(integration.id, type_name.as_str(), wp_id)
        .await?
        .ok_or(PageError::NotFound)?;
    Ok(Target {
        site,
        integration,
        item,
    })
}

/// The taxonomies the site syncs, with their synced terms: what the post forms offer.
pub async fn synced_taxonomies(
    state: &AppState,
    integration: &SiteIntegration,
) -> Result<Vec<TaxonomyTerms>, PageError> {
    let types = IntegrationConfig::from_json(integration.config_json.clone()).content_types();
    let mut out = Vec::new();
    for (slug, entry) in types.taxonomies.iter().filter(|(_, e)| e.enabled) {
        let terms = state
            .store
            .terms_of_taxonomy(integration.id, slug)
            .await?
            .into_iter()
            .map(|t| (t.wp_id, t.name))
            .collect();
        out.push(TaxonomyTerms {
            slug: slug.clone(),
            label: entry.label.clone(),
            terms,
        });
    }
    Ok(out)
}

/// Whether the site syncs this post type: only then can the platform change its posts.
pub fn type_synced(integration: &SiteIntegration, type_name: &str) -> bool {
    IntegrationConfig::from_json(integration.config_json.clone())
        .content_types()
        .post_types
        .get(type_name)
        .is_some_and(|t| t.enabled)
}

fn facts(item: &ContentItem, taxonomies: &[TaxonomyTerms]) -> PostFacts {
    let s = &item.summary;
    let terms = s
        .terms
        .as_object()
        .into_iter()
        .flatten()
        .map(|(taxonomy, ids)| {
            let known = taxonomies.iter().find(|t| &t.slug == taxonomy);
            let names: Vec<String> = ids
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_i64)
                .map(|id| {
                    known
                        .and_then(|t| t.terms.iter().find(|(tid, _)| *tid == id))
                        .map_or_else(|| format!("Term {id}"), |(_, name)| name.clone())
                })
                .collect();
            FieldValue {
                label: known.map_or_else(|| taxonomy.clone(), |t| t.label.clone()),
                value: if names.is_empty() {
                    "(none)".into()
                } else {
                    names.join(", ")
                },
            }
        })
        .collect();
    let seo = igny8_domain::changes::SEO_FIELDS
        .iter()
        .filter_map(|field| {
            let v = s.seo.get(field).and_then(Value::as_str)?;
            Some(FieldValue {
                label: super::post_form::field_label(&format!("seo.{field}")),
                value: v.to_owned(),
            })
        })
        .collect();
    PostFacts {
        title: s.title.clone(),
        post_type: s.post_type.clone(),
        wp_id: s.wp_id,
        status: s.status.clone(),
        slug: s.slug.clone(),
        modified: s.modified_gmt.clone(),
        date: item.date_gmt.clone().unwrap_or_default(),
        author: item.author.clone(),
        link: s
            .url
            .clone()
            .filter(|u| u.starts_with("https://") || u.starts_with("http://")),
        terms,
        seo,
        featured_image: item.featured_image.clone().unwrap_or_default(),
        content_truncated: item.content_truncated,
    }
}

async fn post_changes(state: &AppState, t: &Target) -> Result<Vec<ChangeRecord>, PageError> {
    let filter = ChangeFilter {
        status: None,
        object: Some((ItemKind::Post, t.type_name(), t.wp_id())),
    };
    let (_, changes) = service::list(state, t.integration.id, filter, 1, CHANGES_SHOWN)
        .await
        .map_err(change_failure)?;
    Ok(changes)
}

/// The page; `form` is a submitted form shown again with its problems.
async fn post_page(
    state: &AppState,
    me: &SignedIn,
    t: &Target,
    form: Option<PostForm>,
    problems: Vec<String>,
) -> Result<PostPage, PageError> {
    let taxonomies = synced_taxonomies(state, &t.integration).await?;
    let records = post_changes(state, t).await?;
    let trash_pending = records
        .iter()
        .any(|c| c.op == ChangeOp::Trash && c.status == ChangeStatus::Pending);
    let changes: Vec<ChangeView> = records
        .iter()
        .map(|c| change_view(t.site.id, c, None))
        .collect();
    let editing = if !service::two_way_enabled(&t.integration) {
        Editing::TwoWayOff
    } else if !type_synced(&t.integration, t.type_name()) {
        Editing::TypeNotSynced
    } else {
        let form = match form {
            Some(form) => form,
            None => {
                let (values, _) = service::current_object(
                    state,
                    t.integration.id,
                    ItemKind::Post,
                    t.type_name(),
                    t.wp_id(),
                )
                .await
                .map_err(change_failure)?;
                let mut form = PostForm::new(&values, &taxonomies, t.content_editable());
                form.base_modified_gmt = t.item.summary.modified_gmt.clone();
                form
            }
        };
        Editing::Form(Box::new(form))
    };
    let can_trash = matches!(editing, Editing::Form(_))
        && t.site.is_active
        && t.item.summary.status != "trash"
        && !trash_pending;
    Ok(PostPage {
        chrome: me.chrome(),
        site: SiteView::new(&t.site),
        tab: "content",
        notice: None,
        post_path: t.path(),
        post: facts(&t.item, &taxonomies),
        any_pending: changes.iter().any(|c| c.pending),
        changes,
        editing,
        problems,
        can_trash,
        trash_key: idempotency_key(),
    })
}

pub async fn page(
    State(state): State<AppState>,
    me: SignedIn,
    Path((id, type_name, wp_id)): Path<(String, String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let t = target(&state, &me, &id, &type_name, &wp_id).await?;
    let mut page = post_page(&state, &me, &t, None, Vec::new()).await?;
    page.notice = notice(q.get("done").map(String::as_str));
    render(StatusCode::OK, &page)
}

/// How a queued (or refused) change answers: back to `back` with a notice, or the page again
/// with the problem and the user's input.
enum Queued {
    Done(&'static str),
    Again(StatusCode, FormErrors, Vec<String>),
}

/// Queues a change built from `body`; the request's problems come back by form field.
pub async fn queue_change(
    state: &AppState,
    me: &SignedIn,
    site: &Site,
    integration: &SiteIntegration,
    body: &Value,
) -> Result<QueueOutcome, PageError> {
    let request = match ChangeRequest::parse(body, None) {
        Ok(r) => r,
        Err(e) => return Ok(QueueOutcome::Invalid(form_errors(e))),
    };
    match service::queue(state, integration, site, me.user.id, request).await {
        Ok((change, created)) => {
            tracing::info!(
                site_id = site.id,
                change_id = change.id,
                created,
                "dashboard: change queued"
            );
            Ok(QueueOutcome::Queued { created })
        }
        Err(ChangeError::Invalid(e)) => Ok(QueueOutcome::Invalid(form_errors(e))),
        Err(e @ (ChangeError::SiteInactive | ChangeError::TwoWayOff | ChangeError::StaleBase)) => {
            Ok(QueueOutcome::Refused(e.to_string()))
        }
        Err(e) => Err(change_failure(e)),
    }
}

/// What became of a change the dashboard asked for.
pub enum QueueOutcome {
    /// `created` is false for a form sent again: its first change stands, nothing new was queued.
    Queued { created: bool },
    /// Field problems, by form field.
    Invalid(FormErrors),
    /// Refused as a whole (inactive site, two-way sync off…), in the service's words.
    Refused(String),
}

impl QueueOutcome {
    fn answer(self, done: &'static str) -> Queued {
        match self {
            QueueOutcome::Queued { created: true } => Queued::Done(done),
            QueueOutcome::Queued { created: false } => Queued::Done("already-queued"),
            QueueOutcome::Invalid(errors) => {
                let lines = problems(&errors);
                Queued::Again(StatusCode::UNPROCESSABLE_ENTITY, errors, lines)
            }
            QueueOutcome::Refused(why) => {
                Queued::Again(StatusCode::CONFLICT, FormErrors::default(), vec![why])
            }
        }
    }
}

pub async fn save(
    State(state): State<AppState>,
    me: SignedIn,
    Path((id, type_name, wp_id)): Path<(String, String, String)>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let t = target(&state, &me, &id, &type_name, &wp_id).await?;
    let submission = Submission::read(fields);
    let (values, _) = service::current_object(
        &state,
        t.integration.id,
        ItemKind::Post,
        t.type_name(),
        t.wp_id(),
    )
    .await
    .map_err(change_failure)?;
    let current_content = values
        .get("content")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let answer = match submission.edit(current_content) {
        Err(errors) => {
            let lines = problems(&errors);
            Queued::Again(StatusCode::UNPROCESSABLE_ENTITY, errors, lines)
        }
        Ok(edit) if edit.fields.is_empty() => Queued::Done("nothing-to-send"),
        Ok(Edit { fields, base }) => {
            let body = json!({
                "op": "update", "type": t.type_name(), "wp_id": t.wp_id(),
                "fields": fields, "base": base,
                "base_modified_gmt": submission.base_modified_gmt,
                "idempotency_key": submission.idempotency_key,
            });
            queue_change(&state, &me, &t.site, &t.integration, &body)
                .await?
                .answer("change-queued")
        }
    };
    match answer {
        Queued::Done(done) => {
            Ok(Redirect::to(&format!("{}?done={done}", t.path())).into_response())
        }
        Queued::Again(status, errors, lines) => {
            let taxonomies = synced_taxonomies(&state, &t.integration).await?;
            let form =
                PostForm::resubmitted(&submission, &taxonomies, t.content_editable(), errors);
            let page = post_page(&state, &me, &t, Some(form), lines).await?;
            render(status, &page)
        }
    }
}

pub async fn trash(
    State(state): State<AppState>,
    me: SignedIn,
    Path((id, type_name, wp_id)): Path<(String, String, String)>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let t = target(&state, &me, &id, &type_name, &wp_id).await?;
    let fields: BTreeMap<String, String> = fields.into_iter().collect();
    let body = json!({
        "op": "trash", "type": t.type_name(), "wp_id": t.wp_id(),
        "idempotency_key": fields.get("idempotency_key").filter(|k| !k.is_empty()),
    });
    let answer = queue_change(&state, &me, &t.site, &t.integration, &body)
        .await?
        .answer("trash-queued");
    match answer {
        Queued::Done(done) => {
            Ok(Redirect::to(&format!("{}?done={done}", t.path())).into_response())
        }
        Queued::Again(status, _, lines) => {
            let page = post_page(&state, &me, &t, None, lines).await?;
            render(status, &page)
        }
    }
}
