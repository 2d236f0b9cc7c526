//! Content sync (docs/sync-protocol.md): the plugin's batches, full-sync runs, resync requests and
//! verification, written with the site's key; and the read side (synced posts, one post, terms,
//! sync status) for the key and the account's users. One file per endpoint group; this one holds
//! what they share (who may write, the status view, the request recorder).

mod batch;
mod full_sync;
mod read;
mod verify;

use std::collections::HashMap;

use axum::Json;
use chrono::{DateTime, SubsecRound, Utc};
use igny8_domain::content::requests::Refused;
use igny8_domain::content::sync::ContentSyncState;
use igny8_domain::FieldErrors;
use igny8_store::SiteIntegration;
use serde_json::{json, Map, Value};

use super::extract::LaterBody;
use super::response::{ok, path_id};
use super::{ApiError, Caller};
use crate::services::integrations::{self as services, PluginRequest};
use crate::AppState;

pub use batch::batch;
pub use full_sync::{full_sync, resync_request};
pub use read::{list, show, status, terms};
pub use verify::verify;

/// Times are stored to the microsecond, as PostgreSQL keeps them.
fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// The integration a write addresses: only the site's own key writes content, and only while the
/// site is active.
pub(super) async fn site_writer(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<SiteIntegration, ApiError> {
    let (integration, site) = caller.integration(state, path_id(id)?).await?;
    caller.require_site()?;
    Caller::require_active(&site)?;
    Ok(integration)
}

/// The integration a request (full sync, verification) addresses: the site's key or a user of its
/// account, while the site is active. Checked before the body is read (docs/api.md: credentials,
/// integration, site, body), so the action the body names decides only what comes after.
async fn requester(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<SiteIntegration, ApiError> {
    let (integration, site) = caller.integration(state, path_id(id)?).await?;
    Caller::require_active(&site)?;
    Ok(integration)
}

/// A sync request's action, read once from the body (after the checks before it) when it is valid;
/// otherwise read as JSON to word what is wrong. A user naming one of the site's own actions is
/// refused for that first (credentials, integration, site, then the body's fields). The body is
/// let go before the action runs.
async fn action_of<A>(
    state: &AppState,
    caller: &Caller,
    body: LaterBody,
    read: fn(&[u8]) -> Option<A>,
    parse: fn(&Value) -> Result<A, Refused>,
    site_only: fn(&A) -> bool,
) -> Result<A, ApiError> {
    let body = body.bytes(state).await?;
    let action = match read(&body.0) {
        Some(action) => action,
        None => parse(&body.json()?).map_err(|refused| {
            if refused.site_only {
                if let Err(forbidden) = caller.require_site() {
                    return forbidden;
                }
            }
            ApiError::Validation(refused.errors)
        })?,
    };
    if site_only(&action) {
        caller.require_site()?;
    }
    Ok(action)
}

/// What `content/status/` answers: the run's progress per type, pending requests, the last
/// verification, and the integration's last sync outcome.
fn status_view(state: &ContentSyncState, integration: &SiteIntegration) -> Value {
    let run = state.run.as_ref().map(|run| {
        let types: Map<String, Value> = run
            .progress()
            .into_iter()
            .map(|(key, done, total)| (key, json!({"done": done, "total": total})))
            .collect();
        json!({"run_id": run.run_id, "status": run.status.as_str(), "started_at": run.started_at,
               "finished_at": run.finished_at, "types": types})
    });
    json!({
        "full_sync": run,
        "full_sync_requested": state.full_sync_requested,
        "verify_requested": state.verify_requested,
        "verify": {"state": state.verify_state.as_str(), "differences": state.verify_differences,
                   "verified_at": state.verified_at},
        "sync_status": integration.sync_status,
        "last_sync_at": integration.last_sync_at,
        "last_error": integration.last_error,
    })
}

/// Records a request the plugin picks up at its next cron run (a full sync, a verification) and
/// answers the status it will read.
async fn record_request(
    state: &AppState,
    integration: &SiteIntegration,
    what: PluginRequest,
) -> Result<Json<Value>, ApiError> {
    let sync = services::request(state, integration.id, what).await?;
    Ok(ok(status_view(&sync, integration)))
}

/// `page` (from 1) and `page_size` (`default_size` when absent, at most `max_size`) of a list.
pub(super) fn page_params(
    query: &HashMap<String, String>,
    default_size: u64,
    max_size: u64,
    errors: &mut FieldErrors,
) -> (u64, u64) {
    (
        whole_param(query, "page", 1, 1_000_000, errors),
        whole_param(query, "page_size", default_size, max_size, errors),
    )
}

pub(super) fn whole_param(
    query: &HashMap<String, String>,
    key: &str,
    default: u64,
    max: u64,
    errors: &mut FieldErrors,
) -> u64 {
    match query.get(key).filter(|v| !v.is_empty()) {
        None => default,
        Some(raw) => match raw.parse::<u64>() {
            Ok(n) if (1..=max).contains(&n) => n,
            _ => {
                errors.add(key, format!("must be a whole number from 1 to {max}"));
                default
            }
        },
    }
}
