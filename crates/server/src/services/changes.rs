//! Two-way sync's operations (docs/sync-protocol.md): queue, list, cancel and resolve changes for
//! platform users; register a receiver, pull and report for the plugin. The API and the dashboard
//! call these once they know who is calling; the rules live in `igny8_domain::changes`.

use chrono::Utc;
use igny8_domain::changes::{
    self, base_covers, fill_base, parse_outcomes, ChangeOp, ChangeRequest, ChangeStatus,
    ConflictPolicy, MAX_PULL,
};
use igny8_domain::content::{ItemKind, WpTime};
use igny8_domain::names::TypeKind;
use igny8_domain::structure::IntegrationConfig;
use igny8_domain::FieldErrors;
use igny8_store::{
    ChangeFilter, ChangeRecord, ConfigUpdate, NewChange, Site, SiteIntegration, StoreError,
};
use serde_json::{json, Map, Value};

use crate::{nudge, AppState};

/// Why a change operation did not happen, in words the API and the dashboard both show.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error("{0}")]
    Invalid(FieldErrors),
    #[error("not found")]
    NotFound,
    #[error("This site is deactivated in IGNY8; activate it before sending changes.")]
    SiteInactive,
    #[error("Two-way sync is off for this site: its owner switches it on in WordPress, Settings → IGNY8 API.")]
    TwoWayOff,
    #[error("The platform's copy changed since this edit started and the edit carries no base values; reload and edit again.")]
    StaleBase,
    /// The store's words on the change's state (`the change is applied, not pending`).
    #[error("{0}; only a pending change can be cancelled.")]
    NotPending(String),
    #[error("{0}; only a change in conflict can be resolved.")]
    NotInConflict(String),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for ChangeError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ChangeError::NotFound,
            e => ChangeError::Store(e),
        }
    }
}

impl From<FieldErrors> for ChangeError {
    fn from(e: FieldErrors) -> Self {
        ChangeError::Invalid(e)
    }
}

type Result<T, E = ChangeError> = std::result::Result<T, E>;

/// The integration's conflict policy: `conflict_policy` in its config, `manual` when unset.
pub fn conflict_policy(integration: &SiteIntegration) -> ConflictPolicy {
    integration
        .config_json
        .get("conflict_policy")
        .and_then(Value::as_str)
        .and_then(ConflictPolicy::parse)
        .unwrap_or(ConflictPolicy::Manual)
}

/// Whether the site's owner switched two-way sync on (reported by every structure push).
pub fn two_way_enabled(integration: &SiteIntegration) -> bool {
    integration
        .config_json
        .get("two_way_sync_enabled")
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// Sets the integration's conflict policy (the dashboard's select, `PATCH …/integrations/{id}/`).
pub async fn set_conflict_policy(
    state: &AppState,
    integration: &SiteIntegration,
    policy: ConflictPolicy,
) -> Result<SiteIntegration> {
    let update = state
        .store
        .update_integration_config(integration.id, &move |mut config| {
            if !config.is_object() {
                config = json!({});
            }
            config["conflict_policy"] = json!(policy.as_str());
            Ok(config)
        })
        .await?;
    match update {
        ConfigUpdate::Updated(i) => Ok(i),
        ConfigUpdate::Rejected(e) => Err(ChangeError::Invalid(e)),
    }
}

/// The synced copy of a change's object in the API's field shape, and its modification time.
async fn synced_copy(
    state: &AppState,
    integration_id: i64,
    kind: ItemKind,
    type_name: &str,
    wp_id: i64,
) -> Result<(Map<String, Value>, Option<WpTime>)> {
    match kind {
        ItemKind::Post => {
            let item = state
                .store
                .content_item(integration_id, type_name, wp_id)
                .await?
                .ok_or(ChangeError::NotFound)?;
            let s = &item.summary;
            let copy = json!({
                "title": s.title, "slug": s.slug, "status": s.status, "parent": s.parent,
                "content": item.content, "excerpt": item.excerpt, "date_gmt": item.date_gmt,
                "menu_order": item.menu_order, "featured_image": item.featured_image,
                "terms": s.terms, "seo": s.seo,
            });
            let modified = WpTime::parse(&s.modified_gmt).ok();
            Ok((copy.as_object().cloned().unwrap_or_default(), modified))
        }
        ItemKind::Term => {
            let term = state
                .store
                .terms_of_taxonomy(integration_id, type_name)
                .await?
                .into_iter()
                .find(|t| t.wp_id == wp_id)
                .ok_or(ChangeError::NotFound)?;
            let copy = json!({"name": term.name, "slug": term.slug, "description": term.description,
                              "parent": term.parent});
            Ok((copy.as_object().cloned().unwrap_or_default(), None))
        }
    }
}

/// Whether WordPress's echo of an earlier change has not reached the platform's copy yet.
fn unechoed(change: &ChangeRecord, copy_modified: Option<&WpTime>) -> bool {
    match change.status {
        ChangeStatus::Pending => true,
        ChangeStatus::Applied => {
            let applied = change
                .reported_modified_gmt()
                .and_then(|t| WpTime::parse(t).ok());
            match (applied, copy_modified) {
                (Some(applied), Some(copy)) => applied > *copy,
                (Some(_), None) => true,
                (None, _) => false,
            }
        }
        _ => false,
    }
}

/// What the platform knows of an object now: its synced copy (the API's field shape) overlaid
/// with the fields of its changes WordPress has not echoed back yet, oldest first
/// (`changes::overlay`), and the copy's modification time. A change's base is taken from it, and the
/// dashboard's edit form starts from it, so an edit made before the previous one's echo arrives
/// builds on it instead of conflicting with it.
pub async fn current_object(
    state: &AppState,
    integration_id: i64,
    kind: ItemKind,
    type_name: &str,
    wp_id: i64,
) -> Result<(Map<String, Value>, Option<WpTime>)> {
    let (mut values, modified) = synced_copy(state, integration_id, kind, type_name, wp_id).await?;
    let (_, earlier) = state
        .store
        .list_changes(
            integration_id,
            ChangeFilter {
                status: None,
                object: Some((kind, type_name, wp_id)),
            },
            0,
            50,
        )
        .await?;
    for change in earlier
        .iter()
        .rev()
        .filter(|c| unechoed(c, modified.as_ref()))
    {
        if let Some(fields) = change.fields.as_object() {
            let kept = change.reported("dropped").and_then(Value::as_object);
            changes::overlay(&mut values, fields, kept);
        }
    }
    Ok((values, modified))
}

/// Queues a platform user's change and nudges the site. Answers the change and whether it was
/// queued now (`false`: a retry with a known idempotency key).
pub async fn queue(
    state: &AppState,
    integration: &SiteIntegration,
    site: &Site,
    user_id: i64,
    request: ChangeRequest,
) -> Result<(ChangeRecord, bool)> {
    if !site.is_active {
        return Err(ChangeError::SiteInactive);
    }
    if !two_way_enabled(integration) {
        return Err(ChangeError::TwoWayOff);
    }
    let config = IntegrationConfig::from_json(integration.config_json.clone());
    let type_kind = request.kind.type_kind();
    let types = config.content_types();
    let synced = types
        .of_kind(type_kind)
        .get(request.type_name.as_str())
        .is_some_and(|t| t.enabled);
    if !synced {
        return Err(FieldErrors::single(
            "type",
            match type_kind {
                TypeKind::PostType => "is not a post type this site syncs",
                TypeKind::Taxonomy => "is not a taxonomy this site syncs",
            },
        )
        .into());
    }
    let (base, base_modified_gmt) = match (request.op, request.wp_id) {
        (ChangeOp::Create, _) | (_, None) => (Map::new(), None),
        (_, Some(wp_id)) => {
            let (current, copy_modified) = current_object(
                state,
                integration.id,
                request.kind,
                request.type_name.as_str(),
                wp_id,
            )
            .await?;
            let complete = request
                .base
                .as_ref()
                .is_some_and(|b| base_covers(b, &request.fields));
            if let (Some(theirs), Some(copy)) = (&request.base_modified_gmt, &copy_modified) {
                if theirs < copy && !complete {
                    return Err(ChangeError::StaleBase);
                }
            }
            let base = fill_base(&request.fields, request.base.as_ref(), &current);
            let modified = request
                .base_modified_gmt
                .clone()
                .or(copy_modified)
                .map(|t| t.as_str().to_owned());
            (base, modified)
        }
    };
    let new = NewChange {
        integration_id: integration.id,
        op: request.op,
        kind: request.kind,
        type_name: request.type_name.as_str().to_owned(),
        wp_id: request.wp_id,
        fields: Value::Object(request.fields),
        base: Value::Object(base),
        base_modified_gmt,
        policy: request
            .policy
            .unwrap_or_else(|| conflict_policy(integration)),
        idempotency_key: request.idempotency_key,
        created_by: Some(user_id),
        at: Utc::now(),
    };
    let (change, created) = state.store.create_change(new).await?;
    if created {
        tracing::info!(
            integration_id = integration.id,
            change_id = change.id,
            op = %change.op,
            "change queued"
        );
        nudge::spawn(state, integration.id);
    }
    Ok((change, created))
}

/// A page of an integration's changes, newest first.
pub async fn list(
    state: &AppState,
    integration_id: i64,
    filter: ChangeFilter<'_>,
    page: u64,
    page_size: u64,
) -> Result<(u64, Vec<ChangeRecord>)> {
    Ok(state
        .store
        .list_changes(integration_id, filter, (page - 1) * page_size, page_size)
        .await?)
}

pub async fn get(state: &AppState, integration_id: i64, id: i64) -> Result<ChangeRecord> {
    state
        .store
        .change(integration_id, id)
        .await?
        .ok_or(ChangeError::NotFound)
}

pub async fn cancel(state: &AppState, integration_id: i64, id: i64) -> Result<ChangeRecord> {
    state
        .store
        .cancel_change(integration_id, id, Utc::now())
        .await
        .map_err(|e| match e {
            StoreError::Conflict(why) => ChangeError::NotPending(why),
            e => e.into(),
        })
}

/// A person's choices in a conflict: the change becomes `resolved`, and the fields chosen
/// `platform` go to WordPress as a new change (nudged). Answers the resolved change and the new one.
pub async fn resolve(
    state: &AppState,
    integration: &SiteIntegration,
    user_id: i64,
    id: i64,
    body: &Value,
) -> Result<(ChangeRecord, Option<ChangeRecord>)> {
    let change = get(state, integration.id, id).await?;
    if change.status != ChangeStatus::Conflict {
        return Err(ChangeError::NotInConflict(format!(
            "the change is {}, not in conflict",
            change.status
        )));
    }
    let empty = Map::new();
    let resolution = changes::resolve(
        change.fields.as_object().unwrap_or(&empty),
        change.base.as_object().unwrap_or(&empty),
        change.policy,
        change
            .result
            .as_ref()
            .and_then(Value::as_object)
            .unwrap_or(&empty),
        body,
    )?;
    let wp_id = change.object_wp_id();
    let next = resolution.next.clone().map(|(fields, base)| NewChange {
        integration_id: integration.id,
        op: if wp_id.is_some() {
            ChangeOp::Update
        } else {
            change.op
        },
        kind: change.kind,
        type_name: change.type_name.clone(),
        wp_id,
        fields: Value::Object(fields),
        base: Value::Object(base),
        base_modified_gmt: change.reported_modified_gmt().map(str::to_owned),
        policy: ConflictPolicy::Manual,
        idempotency_key: None,
        created_by: Some(user_id),
        at: Utc::now(),
    });
    let (resolved, created) = state
        .store
        .resolve_change(integration.id, id, &resolution, next)
        .await
        .map_err(|e| match e {
            StoreError::Conflict(why) => ChangeError::NotInConflict(why),
            e => e.into(),
        })?;
    if created.is_some() {
        nudge::spawn(state, integration.id);
    }
    tracing::info!(
        integration_id = integration.id,
        change_id = id,
        "conflict resolved"
    );
    Ok((resolved, created))
}

/// The plugin's receiver for nudges: an http(s) URL and a 64-hex secret.
pub async fn register_receiver(state: &AppState, integration_id: i64, body: &Value) -> Result<()> {
    let mut errors = FieldErrors::new();
    let url = body.get("url").and_then(Value::as_str).unwrap_or_default();
    let secret = body
        .get("secret")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if nudge::parse_target(url).is_err() {
        errors.add("url", "must be an http(s) URL of the site's nudge route");
    }
    if secret.len() != 64 || !secret.bytes().all(|b| b.is_ascii_hexdigit()) {
        errors.add("secret", "must be 64 hexadecimal characters");
    }
    if !errors.is_empty() {
        return Err(errors.into());
    }
    state
        .store
        .set_change_receiver(integration_id, url, secret, Utc::now())
        .await?;
    tracing::info!(integration_id, "nudge receiver registered");
    Ok(())
}

/// The oldest pending changes for the plugin, and whether more wait.
pub async fn pull(
    state: &AppState,
    integration_id: i64,
    limit: u64,
) -> Result<(Vec<ChangeRecord>, bool)> {
    let limit = limit.clamp(1, MAX_PULL);
    let changes = state
        .store
        .deliver_changes(integration_id, limit, Utc::now())
        .await?;
    let pending = state.store.count_pending_changes(integration_id).await?;
    let more = pending > changes.len() as u64;
    Ok((changes, more))
}

/// Records the plugin's outcomes; answers one acknowledgement per outcome, in order.
pub async fn report(state: &AppState, integration_id: i64, body: &Value) -> Result<Vec<Value>> {
    let parsed = parse_outcomes(body)?;
    let valid: Vec<_> = parsed
        .iter()
        .filter_map(|p| p.as_ref().ok().cloned())
        .collect();
    let known = state
        .store
        .record_change_outcomes(integration_id, &valid, Utc::now())
        .await?;
    let mut known = known.into_iter();
    let answers = parsed
        .iter()
        .map(|p| match p {
            Ok(outcome) => {
                let status = if known.next().unwrap_or(false) {
                    "recorded"
                } else {
                    "unknown"
                };
                json!({"id": outcome.id, "status": status})
            }
            Err((id, why)) => json!({"id": id, "status": "invalid", "reason": why}),
        })
        .collect();
    Ok(answers)
}
