//! A site's integrations: find or create the WordPress one, take structure pushes, and answer and
//! change the content types the platform syncs.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, SecondsFormat, Utc};
use igny8_domain::content::sync::ContentSyncState;
use igny8_domain::structure::{ContentTypes, IntegrationConfig, SettingsChange, SiteStructure};
use igny8_store::{ConfigUpdate, PushOutcome, PushRefusal, StructurePush};
use serde::Serialize;
use serde_json::{json, Value};

use super::caller::{Credential, TOUCH_EVERY};
use super::extract::{JsonBytes, LaterBody};
use super::response::{ok, path_id};
use super::{ApiError, Caller, JsonBody};
use crate::services::integrations::{self as services, SettingsError, WORDPRESS};
use crate::AppState;

fn id_param(raw: &str, field: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::validation(field, "must be a positive whole number"))
}

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let site_ids = match (query.get("site"), &caller) {
        (Some(raw), _) => vec![caller.site(&state, id_param(raw, "site")?).await?.id],
        (None, Caller::Site { site, .. }) => vec![site.id],
        (None, Caller::User { account_id, .. }) => state
            .store
            .sites_of_account(*account_id)
            .await?
            .into_iter()
            .map(|s| s.id)
            .collect(),
    };
    let mut all = Vec::new();
    for site_id in site_ids {
        all.extend(state.store.integrations_of_site(site_id).await?);
    }
    Ok(ok(json!(all)))
}

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let site_id = match body.get("site") {
        Some(Value::Number(n)) => n
            .as_i64()
            .filter(|id| *id > 0)
            .ok_or_else(|| ApiError::validation("site", "must be a positive whole number"))?,
        None | Some(Value::Null) => return Err(ApiError::validation("site", "is required")),
        Some(_) => return Err(ApiError::validation("site", "must be a number")),
    };
    match body.get("platform") {
        None | Some(Value::Null) => {}
        Some(Value::String(p)) if p == WORDPRESS => {}
        Some(_) => return Err(ApiError::validation("platform", "must be \"wordpress\"")),
    }
    let site = caller.site(&state, site_id).await?;
    Caller::require_active(&site)?;
    let (integration, created) = state.store.ensure_integration(site.id, WORDPRESS).await?;
    if created {
        tracing::info!(
            site_id = site.id,
            integration_id = integration.id,
            "integration created"
        );
    }
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, ok(json!(integration))))
}

pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let (integration, _) = caller.integration(&state, path_id(&id)?).await?;
    Ok(ok(json!(integration)))
}

/// A site's structure push. With the site's key and a valid request, the store checks and applies
/// it as one unit (`Store::push_structure`): the request every connected site repeats. Anything
/// else (a user's token, or a request that will be refused) takes the general path, whose checks
/// run in the order the API documents: credentials, the integration, the site's address, the
/// site, then the body. A copy at another address refused by the store takes it too, to be
/// recorded and answered there.
pub async fn update_structure(
    State(state): State<AppState>,
    credential: Credential,
    Path(id): Path<String>,
    body: Result<JsonBytes, ApiError>,
) -> Result<Json<Success<StructureAnswer>>, ApiError> {
    let now = Utc::now();
    if let (
        Credential::SiteKey {
            prefix,
            hash,
            site_url: None | Some(Ok(_)),
        },
        Ok(id),
        Ok(JsonBytes(body)),
    ) = (&credential, path_id(&id), &body)
    {
        if let Some(structure) = SiteStructure::parse_valid(body, now) {
            let fetched = structure.timestamp;
            let site_url = match &credential {
                Credential::SiteKey {
                    site_url: Some(Ok(url)),
                    ..
                } => Some(url.clone()),
                _ => None,
            };
            let push = StructurePush {
                key_prefix: prefix.clone(),
                key_hash: hash.clone(),
                integration_id: id,
                structure,
                at: now,
                touch_every: TOUCH_EVERY,
                site_url,
            };
            match state.store.push_structure(push).await? {
                PushOutcome::Applied {
                    content_types,
                    sync,
                } => return Ok(structure_answer(content_types, fetched, &sync)),
                PushOutcome::Refused(PushRefusal::SiteUrlMismatch) => {}
                PushOutcome::Refused(refused) => return Err(refused.into()),
            }
        }
    }
    let caller = credential.resolve(&state).await?;
    let (integration, site) = caller.integration(&state, path_id(&id)?).await?;
    Caller::require_active(&site)?;
    let push = SiteStructure::parse(&body?.json()?, now)?;
    let outcome = state
        .store
        .update_integration_config(integration.id, &|current| {
            let mut config = IntegrationConfig::from_json(current);
            config.apply_structure(&push);
            Ok(config.into_json())
        })
        .await?;
    let ConfigUpdate::Updated(updated) = outcome else {
        return Err(ApiError::internal(anyhow::anyhow!(
            "a structure push cannot be rejected after parsing"
        )));
    };
    let content_types = IntegrationConfig::from_json(updated.config_json).content_types();
    let sync = state.store.content_sync_state(integration.id).await?;
    Ok(structure_answer(content_types, push.timestamp, &sync))
}

/// The envelope of a success (DESIGN.md §2) around a typed answer, written without building a
/// `Value` first. Fields in alphabetical order, as `json!` writes them.
#[derive(Serialize)]
pub struct Success<T> {
    data: T,
    success: bool,
}

impl<T> Success<T> {
    pub fn new(data: T) -> Json<Self> {
        Json(Success {
            data,
            success: true,
        })
    }
}

/// The answer to a structure push: what the platform now holds of the site's types, and whether
/// the platform asked for a full sync or a verification (the plugin learns it here too).
#[derive(Serialize)]
pub struct StructureAnswer {
    content_types: ContentTypes,
    full_sync_requested: bool,
    last_structure_fetch: String,
    message: &'static str,
    post_types_count: usize,
    taxonomies_count: usize,
    verify_requested: bool,
}

fn structure_answer(
    content_types: ContentTypes,
    fetched: DateTime<Utc>,
    sync: &ContentSyncState,
) -> Json<Success<StructureAnswer>> {
    tracing::debug!(
        post_types = content_types.post_types.len(),
        taxonomies = content_types.taxonomies.len(),
        "structure updated"
    );
    Json(Success {
        data: StructureAnswer {
            full_sync_requested: sync.full_sync_requested,
            last_structure_fetch: fetched.to_rfc3339_opts(SecondsFormat::AutoSi, true),
            message: "Site structure updated successfully",
            post_types_count: content_types.post_types.len(),
            taxonomies_count: content_types.taxonomies.len(),
            verify_requested: sync.verify_requested,
            content_types,
        },
        success: true,
    })
}

pub async fn content_types(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let (integration, _) = caller.integration(&state, path_id(&id)?).await?;
    let view = services::content_types(&state, &integration).await?;
    Ok(ok(json!(view)))
}

pub async fn change_content_types(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: LaterBody,
) -> Result<Json<Value>, ApiError> {
    let (integration, site) = caller.integration(&state, path_id(&id)?).await?;
    // Sync settings belong to the platform: a site's key reports, it does not decide.
    caller.user_id()?;
    Caller::require_active(&site)?;
    let change = SettingsChange::parse(&body.json(&state).await?)?;
    let updated = services::change_sync_settings(&state, integration.id, &change).await?;
    let view = services::content_types(&state, &updated).await?;
    Ok(ok(json!(view)))
}

impl From<SettingsError> for ApiError {
    fn from(e: SettingsError) -> Self {
        match e {
            SettingsError::Invalid(errors) => ApiError::Validation(errors),
            SettingsError::Store(e) => ApiError::from(e),
        }
    }
}
