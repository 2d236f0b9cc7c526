//! Site → Changes: what the platform sent to WordPress (two-way sync), newest first, with each
//! change's state and WordPress's answer; conflicts resolved per field, pending changes cancelled,
//! and the integration's conflict policy. A post's page shows its own changes the same way.

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use igny8_domain::changes::{field_paths, get_path, ChangeOp, ChangeStatus, ConflictPolicy};
use igny8_domain::content::ItemKind;
use igny8_store::{ChangeFilter, ChangeRecord, Site, SiteIntegration};
use serde_json::{json, Map, Value};

use super::post_form::{field_label, problems};
use super::session::SignedIn;
use super::sites::{own_site, wordpress_integration};
use super::view::{backend_url, notice, render, Chrome, FormErrors, Moment, SiteView};
use super::PageError;
use crate::services::changes::{self as service, ChangeError};
use crate::AppState;

/// What the dashboard says wherever two-way sync is off for a site.
pub const TWO_WAY_OFF_NOTE: &str =
    "Two-way sync is off: the site's owner switches it on in WordPress → Settings → IGNY8 API";
/// Changes per page of the tab.
const PAGE_SIZE: u64 = 25;
/// Longest value a change's row shows; the rest is cut with its length said.
const MAX_SHOWN_CHARS: usize = 1_000;

pub struct FieldValue {
    pub label: String,
    pub value: String,
}

/// One conflicting field: the value the edit started from, WordPress's, IGNY8's, and the choice.
pub struct ConflictRow {
    pub label: String,
    pub base: String,
    pub wordpress: String,
    pub igny8: String,
    /// The radio group's name: `choice.<field path>`.
    pub input: String,
    pub dom_id: String,
    pub chosen: Option<String>,
}

impl ConflictRow {
    pub fn chose(&self, choice: &str) -> bool {
        self.chosen.as_deref() == Some(choice)
    }
}

/// A change as its row shows it.
pub struct ChangeView {
    pub id: i64,
    pub op_label: &'static str,
    pub object: String,
    pub object_link: Option<String>,
    pub fields: Vec<FieldValue>,
    pub status_label: &'static str,
    pub badge: &'static str,
    pub pending: bool,
    pub attempts: i64,
    pub created: Moment,
    pub applied: Option<Moment>,
    pub policy_label: &'static str,
    /// Why WordPress rejected or refused it.
    pub reason: Option<String>,
    pub overwritten: Vec<FieldValue>,
    pub dropped: Vec<FieldValue>,
    pub applied_anyway: Vec<String>,
    pub conflicts: Vec<ConflictRow>,
    pub resolution: Option<String>,
    pub resolution_change: Option<i64>,
    pub cancelled_late: bool,
}

impl ChangeView {
    pub fn in_conflict(&self) -> bool {
        !self.conflicts.is_empty()
    }
}

pub fn status_words(status: ChangeStatus) -> (&'static str, &'static str) {
    match status {
        ChangeStatus::Pending => ("Pending", "wait"),
        ChangeStatus::Applied => ("Applied in WordPress", "ok"),
        ChangeStatus::Conflict => ("Conflict: choose per field", "off"),
        ChangeStatus::Rejected => ("Rejected by WordPress", "off"),
        ChangeStatus::Refused => ("Refused by WordPress", "off"),
        ChangeStatus::Cancelled => ("Cancelled", "none"),
        ChangeStatus::Resolved => ("Resolved", "ok"),
    }
}

fn policy_words(policy: ConflictPolicy) -> (&'static str, &'static str) {
    match policy {
        ConflictPolicy::Manual => (
            "Manual",
            "When WordPress changed a field since the edit began, nothing of the change is applied: it waits here for you to choose per field (the default).",
        ),
        ConflictPolicy::Merge => (
            "Merge",
            "The fields WordPress did not change are applied at once; the conflicting ones wait here for your choice.",
        ),
        ConflictPolicy::PlatformWins => (
            "IGNY8 wins",
            "IGNY8's values are written; the WordPress values they replace are kept with the change and in WordPress's revisions.",
        ),
        ConflictPolicy::WordpressWins => (
            "WordPress wins",
            "Conflicting fields keep WordPress's values; IGNY8's values that were not applied are listed with the change.",
        ),
    }
}

/// A value as a row shows it: text as is (cut when long), term lists joined, nothing as "(empty)".
fn shown(value: Option<&Value>) -> String {
    let text = match value {
        None | Some(Value::Null) => return "(empty)".into(),
        Some(Value::String(s)) if s.is_empty() => return "(empty)".into(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) if items.is_empty() => return "(none)".into(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join(", "),
        Some(other) => other.to_string(),
    };
    let length = text.chars().count();
    if length > MAX_SHOWN_CHARS {
        let cut: String = text.chars().take(MAX_SHOWN_CHARS).collect();
        format!("{cut}… ({length} characters)")
    } else {
        text
    }
}

fn path_values(map: Option<&Value>) -> Vec<FieldValue> {
    map.and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(path, v)| FieldValue {
            label: field_label(path),
            value: shown(Some(v)),
        })
        .collect()
}

/// Why WordPress did not apply a change, in words.
fn reason_words(reason: &str) -> String {
    match reason {
        "two_way_sync_disabled" => format!("{TWO_WAY_OFF_NOTE}."),
        other => other.to_owned(),
    }
}

/// The post page of a change's object, once WordPress has an id for it.
fn object_of(site_id: i64, change: &ChangeRecord) -> (String, Option<String>) {
    let wp_id = change.object_wp_id();
    let ty = &change.type_name;
    match (change.kind, change.op, wp_id) {
        (ItemKind::Post, ChangeOp::Create, None) => (format!("New {ty}"), None),
        (ItemKind::Post, _, Some(id)) => (
            format!("{ty} #{id}"),
            Some(format!("/sites/{site_id}/content/{ty}/{id}")),
        ),
        (ItemKind::Term, _, Some(id)) => (format!("{ty} term #{id}"), None),
        (_, _, None) => (format!("New {ty} term"), None),
    }
}

pub fn change_view(
    site_id: i64,
    change: &ChangeRecord,
    chosen: Option<&BTreeMap<String, String>>,
) -> ChangeView {
    let empty = Map::new();
    let fields = change.fields.as_object().unwrap_or(&empty);
    let base = change.base.as_object().unwrap_or(&empty);
    let result = change
        .result
        .as_ref()
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let (status_label, badge) = status_words(change.status);
    let (object, object_link) = object_of(site_id, change);
    let conflicts = match (change.status, result.get("conflicts")) {
        (ChangeStatus::Conflict, Some(Value::Object(conflicts))) => conflicts
            .iter()
            .map(|(path, c)| ConflictRow {
                label: field_label(path),
                base: shown(get_path(base, path)),
                wordpress: shown(c.get("wordpress")),
                igny8: shown(get_path(fields, path)),
                input: format!("choice.{path}"),
                dom_id: format!("choice-{}-{}", change.id, path.replace(['.', '_'], "-")),
                chosen: chosen.and_then(|c| c.get(path)).cloned(),
            })
            .collect(),
        _ => Vec::new(),
    };
    let resolution = result.get("resolution");
    ChangeView {
        id: change.id,
        op_label: match change.op {
            ChangeOp::Create => "Create",
            ChangeOp::Update => "Update",
            ChangeOp::Trash => "Move to trash",
        },
        object,
        object_link,
        fields: field_paths(fields)
            .iter()
            .map(|path| FieldValue {
                label: field_label(path),
                value: shown(get_path(fields, path)),
            })
            .collect(),
        status_label,
        badge,
        pending: change.status == ChangeStatus::Pending,
        attempts: change.attempt,
        created: Moment::new(change.created_at),
        applied: Moment::maybe(change.applied_at),
        policy_label: policy_words(change.policy).0,
        reason: result
            .get("reason")
            .and_then(Value::as_str)
            .map(reason_words),
        overwritten: path_values(result.get("overwritten")),
        dropped: path_values(result.get("dropped")),
        applied_anyway: result
            .get("applied")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(field_label)
            .collect(),
        conflicts,
        resolution: resolution
            .and_then(|r| r.get("choices"))
            .and_then(Value::as_object)
            .map(|choices| {
                choices
                    .iter()
                    .map(|(path, c)| match c.as_str() {
                        Some("platform") => format!("{}: IGNY8's value", field_label(path)),
                        _ => format!("{}: WordPress's value kept", field_label(path)),
                    })
                    .collect::<Vec<_>>()
                    .join("; ")
            }),
        resolution_change: resolution
            .and_then(|r| r.get("change_id"))
            .and_then(Value::as_i64),
        cancelled_late: result.get("cancelled_late") == Some(&Value::Bool(true)),
    }
}

pub struct PolicyOption {
    pub value: &'static str,
    pub label: &'static str,
    pub explanation: &'static str,
    pub selected: bool,
}

pub struct StatusOption {
    pub value: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

/// The connected site's changes as the tab lists them.
pub struct Outbox {
    pub two_way: bool,
    pub policies: Vec<PolicyOption>,
    pub statuses: Vec<StatusOption>,
    pub filtered: bool,
    pub changes: Vec<ChangeView>,
    pub count: u64,
    pub page: u64,
    pub pages: u64,
    pub previous: Option<String>,
    pub next: Option<String>,
    pub any_pending: bool,
}

#[derive(Template)]
#[template(path = "dashboard/changes.html")]
struct ChangesPage {
    chrome: Chrome,
    site: SiteView,
    tab: &'static str,
    notice: Option<&'static str>,
    backend_url: String,
    outbox: Option<Outbox>,
    problems: Vec<String>,
}

impl ChangesPage {
    fn two_way_note(&self) -> &'static str {
        TWO_WAY_OFF_NOTE
    }

    fn any_pending(&self) -> bool {
        self.outbox.as_ref().is_some_and(|o| o.any_pending)
    }
}

fn page_href(site_id: i64, status: Option<ChangeStatus>, page: u64) -> String {
    match status {
        Some(s) => format!("/sites/{site_id}/changes?status={s}&page={page}"),
        None => format!("/sites/{site_id}/changes?page={page}"),
    }
}

/// The tab; `chosen` keeps a conflict's choices when its form comes back with a problem.
async fn changes_page(
    state: &AppState,
    me: &SignedIn,
    headers: &HeaderMap,
    site: &Site,
    q: &HashMap<String, String>,
    chosen: Option<(i64, &BTreeMap<String, String>)>,
) -> Result<ChangesPage, PageError> {
    let mut page = ChangesPage {
        chrome: me.chrome(),
        site: SiteView::new(site),
        tab: "changes",
        notice: notice(q.get("done").map(String::as_str)),
        backend_url: backend_url(state, headers),
        outbox: None,
        problems: Vec::new(),
    };
    let Some(integration) = wordpress_integration(state, site.id).await? else {
        return Ok(page);
    };
    let status = q.get("status").and_then(|s| ChangeStatus::parse(s));
    let requested = q
        .get("page")
        .and_then(|p| p.parse::<u64>().ok())
        .filter(|p| (1..=1_000_000).contains(p))
        .unwrap_or(1);
    let filter = ChangeFilter {
        status,
        object: None,
    };
    let (count, changes) = service::list(state, integration.id, filter, requested, PAGE_SIZE)
        .await
        .map_err(change_failure)?;
    let pages = count.div_ceil(PAGE_SIZE).max(1);
    let policy = service::conflict_policy(&integration);
    let changes: Vec<ChangeView> = changes
        .iter()
        .map(|c| {
            let kept = chosen.filter(|(id, _)| *id == c.id).map(|(_, m)| m);
            change_view(site.id, c, kept)
        })
        .collect();
    page.outbox = Some(Outbox {
        two_way: service::two_way_enabled(&integration),
        policies: ConflictPolicy::ALL
            .iter()
            .map(|p| {
                let (label, explanation) = policy_words(*p);
                PolicyOption {
                    value: p.as_str(),
                    label,
                    explanation,
                    selected: *p == policy,
                }
            })
            .collect(),
        statuses: ChangeStatus::ALL
            .iter()
            .map(|s| StatusOption {
                value: s.as_str(),
                label: status_words(*s).0,
                selected: Some(*s) == status,
            })
            .collect(),
        filtered: status.is_some(),
        any_pending: changes.iter().any(|c| c.pending),
        changes,
        count,
        page: requested,
        pages,
        previous: (requested > 1).then(|| page_href(site.id, status, (requested - 1).min(pages))),
        next: (requested < pages).then(|| page_href(site.id, status, requested + 1)),
    });
    Ok(page)
}

/// A service failure that is not the user's to fix.
pub fn change_failure(e: ChangeError) -> PageError {
    match e {
        ChangeError::NotFound => PageError::NotFound,
        ChangeError::Store(e) => PageError::from(e),
        other => PageError::internal(anyhow::anyhow!("{other}")),
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
    let page = changes_page(&state, &me, &headers, &site, &q, None).await?;
    render(StatusCode::OK, &page)
}

/// The site's integration and one of its changes' ids, or "not found" for both.
async fn change_of(
    state: &AppState,
    me: &SignedIn,
    id: &str,
    cid: &str,
) -> Result<(Site, SiteIntegration, i64), PageError> {
    let site = own_site(state, me, id).await?;
    let integration = wordpress_integration(state, site.id)
        .await?
        .ok_or(PageError::NotFound)?;
    let cid = cid
        .parse::<i64>()
        .ok()
        .filter(|c| *c > 0)
        .ok_or(PageError::NotFound)?;
    Ok((site, integration, cid))
}

pub async fn cancel(
    State(state): State<AppState>,
    me: SignedIn,
    Path((id, cid)): Path<(String, String)>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let (site, integration, cid) = change_of(&state, &me, &id, &cid).await?;
    let change = service::get(&state, integration.id, cid)
        .await
        .map_err(change_failure)?;
    // Back to where the button was: the post's page (named by the change itself) or the tab.
    let from_post = fields.iter().any(|(k, v)| k == "from" && v == "post");
    let back = |done: &str| match object_of(site.id, &change).1 {
        Some(post) if from_post => format!("{post}?done={done}"),
        _ => format!("/sites/{}/changes?done={done}", site.id),
    };
    let done = match service::cancel(&state, integration.id, cid).await {
        Ok(_) => {
            tracing::info!(
                site_id = site.id,
                change_id = cid,
                "dashboard: change cancelled"
            );
            "change-cancelled"
        }
        Err(ChangeError::NotPending(_)) => "not-pending",
        Err(e) => return Err(change_failure(e)),
    };
    Ok(Redirect::to(&back(done)).into_response())
}

pub async fn resolve(
    State(state): State<AppState>,
    me: SignedIn,
    headers: HeaderMap,
    Path((id, cid)): Path<(String, String)>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let (site, integration, cid) = change_of(&state, &me, &id, &cid).await?;
    let chosen: BTreeMap<String, String> = fields
        .into_iter()
        .filter_map(|(k, v)| k.strip_prefix("choice.").map(|p| (p.to_owned(), v)))
        .collect();
    let (status, lines) = if !site.is_active {
        (
            StatusCode::CONFLICT,
            vec![ChangeError::SiteInactive.to_string()],
        )
    } else {
        let body = json!({"choices": chosen});
        match service::resolve(&state, &integration, me.user.id, cid, &body).await {
            Ok((_, next)) => {
                tracing::info!(
                    site_id = site.id,
                    change_id = cid,
                    next = next.as_ref().map(|c| c.id),
                    "dashboard: conflict resolved"
                );
                let done = if next.is_some() {
                    "conflict-resolved"
                } else {
                    "conflict-kept"
                };
                let to = format!("/sites/{}/changes?done={done}", site.id);
                return Ok(Redirect::to(&to).into_response());
            }
            Err(ChangeError::Invalid(errors)) => {
                let mut by_field = FormErrors::default();
                for (path, whys) in errors.into_map() {
                    let field = path.strip_prefix("choices.").unwrap_or(&path).to_owned();
                    for why in whys {
                        by_field.add(field.clone(), why);
                    }
                }
                let lines = problems(&by_field)
                    .into_iter()
                    .map(|p| format!("Change #{cid}: {p}"))
                    .collect();
                (StatusCode::UNPROCESSABLE_ENTITY, lines)
            }
            Err(e @ ChangeError::NotInConflict(_)) => {
                (StatusCode::CONFLICT, vec![format!("Change #{cid}: {e}")])
            }
            Err(e) => return Err(change_failure(e)),
        }
    };
    // The tab again, the conflict's choices kept.
    let mut page = changes_page(
        &state,
        &me,
        &headers,
        &site,
        &HashMap::new(),
        Some((cid, &chosen)),
    )
    .await?;
    page.problems = lines;
    render(status, &page)
}

pub async fn set_policy(
    State(state): State<AppState>,
    me: SignedIn,
    headers: HeaderMap,
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
    if !site.is_active {
        return Ok(back("site-inactive"));
    }
    let chosen = fields
        .iter()
        .find(|(k, _)| k == "policy")
        .and_then(|(_, v)| ConflictPolicy::parse(v));
    let Some(policy) = chosen else {
        let mut page = changes_page(&state, &me, &headers, &site, &HashMap::new(), None).await?;
        page.problems = vec!["Conflict policy: choose one of the four policies.".into()];
        return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
    };
    service::set_conflict_policy(&state, &integration, policy)
        .await
        .map_err(change_failure)?;
    tracing::info!(
        site_id = site.id,
        integration_id = integration.id,
        policy = %policy,
        "dashboard: conflict policy set"
    );
    Ok(back("policy-saved"))
}
