//! Site → Settings → Content types: the post types and taxonomies the plugin reported, with counts
//! and the platform-owned sync settings, changed through the same domain operation as the API's
//! PATCH, so the plugin learns them from its next `update-structure` answer.

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use igny8_domain::structure::{SettingsChange, MAX_FETCH_LIMIT};
use igny8_store::{Site, SiteIntegration};
use serde_json::{json, Map, Value};

use super::session::SignedIn;
use super::sites::{own_site, wordpress_integration};
use super::view::{backend_url, notice, render, Chrome, FormErrors, Moment, SiteView};
use super::PageError;
use crate::services::integrations::{self as services, SettingsError, TypeView};
use crate::AppState;

/// One type's row; `field` (`post_types.book`) prefixes its form fields.
pub struct TypeRow {
    pub field: String,
    pub row_id: String,
    pub slug: String,
    pub label: String,
    pub count: u64,
    pub synced_count: u64,
    pub enabled: bool,
    pub fetch_limit: String,
    /// What the form showed, so only what the user changed becomes a platform setting.
    pub was_enabled: bool,
    pub was_fetch_limit: String,
    pub enabled_error: Option<String>,
    pub limit_error: Option<String>,
}

impl TypeRow {
    pub fn has_error(&self) -> bool {
        self.enabled_error.is_some() || self.limit_error.is_some()
    }
}

pub struct Group {
    pub field: &'static str,
    pub title: &'static str,
    pub rows: Vec<TypeRow>,
}

pub struct Structure {
    pub last_structure_fetch: Moment,
    pub plugin_connection_enabled: bool,
    pub two_way_sync_enabled: bool,
    pub groups: Vec<Group>,
}

/// The stored structure, or `None` before the plugin's first push.
async fn structure(
    state: &AppState,
    integration: Option<&SiteIntegration>,
) -> Result<Option<Structure>, PageError> {
    let Some(integration) = integration else {
        return Ok(None);
    };
    let view = services::content_types(state, integration).await?;
    let Some(fetched) = view.last_structure_fetch else {
        return Ok(None);
    };
    let group =
        |field: &'static str, title: &'static str, types: BTreeMap<String, TypeView>| Group {
            field,
            title,
            rows: types
                .into_iter()
                .map(|(slug, t)| TypeRow {
                    field: format!("{field}.{slug}"),
                    row_id: format!("type-{field}-{slug}"),
                    label: t.label,
                    count: t.count,
                    synced_count: t.synced_count,
                    enabled: t.enabled,
                    fetch_limit: t.fetch_limit.to_string(),
                    was_enabled: t.enabled,
                    was_fetch_limit: t.fetch_limit.to_string(),
                    enabled_error: None,
                    limit_error: None,
                    slug,
                })
                .collect(),
        };
    Ok(Some(Structure {
        last_structure_fetch: Moment::new(fetched),
        plugin_connection_enabled: view.plugin_connection_enabled,
        two_way_sync_enabled: view.two_way_sync_enabled,
        groups: vec![
            group("post_types", "Post types", view.post_types),
            group("taxonomies", "Taxonomies", view.taxonomies),
        ],
    }))
}

#[derive(Template)]
#[template(path = "dashboard/content_types.html")]
struct ContentTypesPage {
    chrome: Chrome,
    site: SiteView,
    tab: &'static str,
    notice: Option<&'static str>,
    backend_url: String,
    types: Option<Structure>,
    problems: Vec<String>,
}

async fn types_page(
    state: &AppState,
    me: &SignedIn,
    headers: &HeaderMap,
    site: &Site,
) -> Result<ContentTypesPage, PageError> {
    let integration = wordpress_integration(state, site.id).await?;
    Ok(ContentTypesPage {
        chrome: me.chrome(),
        site: SiteView::new(site),
        tab: "content-types",
        notice: None,
        backend_url: backend_url(state, headers),
        types: structure(state, integration.as_ref()).await?,
        problems: Vec::new(),
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
    let mut page = types_page(&state, &me, &headers, &site).await?;
    page.notice = notice(q.get("done").map(String::as_str));
    render(StatusCode::OK, &page)
}

/// One row of the submitted form (`post_types.book.enabled=on`, `….fetch_limit=500`, and what the
/// form showed: `….was_enabled`, `….was_fetch_limit`).
#[derive(Default)]
struct Submitted {
    enabled: bool,
    fetch_limit: String,
    was_enabled: Option<bool>,
    was_fetch_limit: String,
}

fn read_form(fields: Vec<(String, String)>) -> BTreeMap<(String, String), Submitted> {
    let mut rows: BTreeMap<(String, String), Submitted> = BTreeMap::new();
    for (name, value) in fields {
        let mut parts = name.splitn(3, '.');
        let (Some(kind), Some(slug), Some(attr)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        if kind != "post_types" && kind != "taxonomies" {
            continue;
        }
        let row = rows.entry((kind.to_owned(), slug.to_owned())).or_default();
        match attr {
            "enabled" => row.enabled = true,
            "fetch_limit" => row.fetch_limit = value.trim().to_owned(),
            "was_enabled" => row.was_enabled = Some(value == "true"),
            "was_fetch_limit" => row.was_fetch_limit = value.trim().to_owned(),
            _ => {}
        }
    }
    rows
}

/// What the user changed, as the PATCH operation's body (unchanged values stay the plugin's), and
/// the limits that were not numbers at all.
fn settings_change(rows: &BTreeMap<(String, String), Submitted>) -> (Value, FormErrors) {
    let mut change = json!({"post_types": {}, "taxonomies": {}});
    let mut errors = FormErrors::default();
    for ((kind, slug), row) in rows {
        let Some(was_enabled) = row.was_enabled else {
            continue;
        };
        let mut entry = Map::new();
        if row.enabled != was_enabled {
            entry.insert("enabled".into(), json!(row.enabled));
        }
        if row.fetch_limit != row.was_fetch_limit {
            match row.fetch_limit.parse::<u64>() {
                Ok(limit) => {
                    entry.insert("fetch_limit".into(), json!(limit));
                }
                Err(_) => errors.add(
                    format!("{kind}.{slug}.fetch_limit"),
                    format!("must be a whole number from 1 to {MAX_FETCH_LIMIT}"),
                ),
            }
        }
        if !entry.is_empty() {
            change[kind.as_str()][slug.as_str()] = Value::Object(entry);
        }
    }
    (change, errors)
}

fn is_empty_change(change: &Value) -> bool {
    ["post_types", "taxonomies"]
        .iter()
        .all(|k| change[k].as_object().is_none_or(Map::is_empty))
}

pub async fn save(
    State(state): State<AppState>,
    me: SignedIn,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let site = own_site(&state, &me, &id).await?;
    let back = |done: &str| {
        Redirect::to(&format!(
            "/sites/{}/settings/content-types?done={done}",
            site.id
        ))
        .into_response()
    };
    let Some(integration) = wordpress_integration(&state, site.id).await? else {
        return Ok(back("nothing-changed"));
    };
    let rows = read_form(fields);
    let (body, mut errors) = settings_change(&rows);
    let change = SettingsChange::parse(&body)
        .map_err(|e| errors.merge(e.into()))
        .ok();
    let Some(change) = change.filter(|_| errors.is_empty()) else {
        return form_again(&state, &me, &headers, &site, &rows, errors).await;
    };
    if is_empty_change(&body) {
        return Ok(back("nothing-changed"));
    }
    match services::change_sync_settings(&state, integration.id, &change).await {
        Ok(_) => Ok(back("settings-saved")),
        Err(SettingsError::Invalid(errors)) => {
            form_again(&state, &me, &headers, &site, &rows, errors.into()).await
        }
        Err(SettingsError::Store(e)) => Err(e.into()),
    }
}

/// The tab again with what was submitted and why it was refused.
async fn form_again(
    state: &AppState,
    me: &SignedIn,
    headers: &HeaderMap,
    site: &Site,
    rows: &BTreeMap<(String, String), Submitted>,
    errors: FormErrors,
) -> Result<Response, PageError> {
    let mut page = types_page(state, me, headers, site).await?;
    let mut labels = HashMap::new();
    if let Some(types) = page.types.as_mut() {
        for group in &mut types.groups {
            for row in &mut group.rows {
                if let Some(s) = rows.get(&(group.field.to_owned(), row.slug.clone())) {
                    if let Some(was) = s.was_enabled {
                        row.enabled = s.enabled;
                        row.was_enabled = was;
                        row.fetch_limit = s.fetch_limit.clone();
                        row.was_fetch_limit = s.was_fetch_limit.clone();
                    }
                }
                row.enabled_error = errors.get(&format!("{}.enabled", row.field));
                row.limit_error = errors.get(&format!("{}.fetch_limit", row.field));
                labels.insert(row.field.clone(), format!("{} ({})", row.label, row.slug));
            }
        }
    }
    page.problems = errors
        .all()
        .map(|(path, why)| {
            let (row, attr) = match path.rsplit_once('.') {
                Some((row, "enabled")) => (row, " sync"),
                Some((row, "fetch_limit")) => (row, " fetch limit"),
                _ => (path, ""),
            };
            match labels.get(row) {
                Some(label) => format!("{label}{attr}: {why}"),
                None => format!("{path}: {why}"),
            }
        })
        .collect();
    render(StatusCode::UNPROCESSABLE_ENTITY, &page)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn only_what_the_user_changed_becomes_a_setting() {
        let rows = read_form(form(&[
            ("csrf", "x"),
            ("post_types.post.was_enabled", "true"),
            ("post_types.post.enabled", "on"),
            ("post_types.post.was_fetch_limit", "100"),
            ("post_types.post.fetch_limit", "100"),
            ("post_types.page.was_enabled", "true"),
            ("post_types.page.was_fetch_limit", "100"),
            ("post_types.page.fetch_limit", "100"),
            ("taxonomies.genre.was_enabled", "false"),
            ("taxonomies.genre.was_fetch_limit", "50"),
            ("taxonomies.genre.fetch_limit", "500"),
        ]));
        let (change, errors) = settings_change(&rows);
        assert!(errors.is_empty());
        assert_eq!(
            change,
            json!({"post_types": {"page": {"enabled": false}}, "taxonomies": {"genre": {"fetch_limit": 500}}})
        );
    }

    #[test]
    fn a_limit_that_is_not_a_number_is_a_field_error() {
        let rows = read_form(form(&[
            ("post_types.post.was_enabled", "true"),
            ("post_types.post.enabled", "on"),
            ("post_types.post.was_fetch_limit", "100"),
            ("post_types.post.fetch_limit", "lots"),
        ]));
        let (_, errors) = settings_change(&rows);
        assert!(errors
            .get("post_types.post.fetch_limit")
            .unwrap()
            .starts_with("Must be a whole number"));
    }

    #[test]
    fn an_unchanged_form_changes_nothing() {
        let rows = read_form(form(&[
            ("post_types.post.was_enabled", "true"),
            ("post_types.post.enabled", "on"),
            ("post_types.post.was_fetch_limit", "100"),
            ("post_types.post.fetch_limit", "100"),
        ]));
        assert!(is_empty_change(&settings_change(&rows).0));
    }
}
