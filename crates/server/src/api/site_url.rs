//! The address a site reports (`X-Igny8-Site-Url`) against the one its integration knows: a staging
//! copy or a moved site is refused until its owner chooses in the plugin, and the dashboard shows
//! the copy; the owner's "the site moved" makes the new address the known one (docs/sync-protocol.md,
//! "Copies and moves").

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::Json;
use chrono::{Duration, Utc};
use igny8_domain::site_url::{self, SiteUrl, Verdict};
use igny8_store::SiteIntegration;
use serde_json::{json, Value};

use super::extract::LaterBody;
use super::response::{ok, path_id};
use super::{ApiError, Caller};
use crate::AppState;

/// What a site key's request reported: nothing (a plugin too old to report), an address, or why the
/// header is not one (answered 422 once the caller may know about the integration).
pub type ReportedSiteUrl = Option<Result<SiteUrl, String>>;

/// The header's name in field errors.
const FIELD: &str = "X-Igny8-Site-Url";

/// A copy's repeated report is recorded (and logged) at most this often.
const RECORD_EVERY: Duration = Duration::seconds(60);

pub fn reported(headers: &HeaderMap) -> ReportedSiteUrl {
    let value = headers.get(site_url::HEADER)?;
    Some(
        value
            .to_str()
            .map_err(|_| "must be plain ASCII text".to_owned())
            .and_then(SiteUrl::parse),
    )
}

/// The integration when the caller's reported address is its known one (or the first one it
/// learns); a copy's request is recorded and refused with 409 `site_url_mismatch`.
pub async fn check(
    state: &AppState,
    caller: &Caller,
    integration: SiteIntegration,
) -> Result<SiteIntegration, ApiError> {
    let Caller::Site { site_url, .. } = caller else {
        return Ok(integration);
    };
    let Some(reported) = &**site_url else {
        return Ok(integration);
    };
    let reported = reported
        .as_ref()
        .map_err(|why| ApiError::validation(FIELD, why))?;
    match site_url::judge(Some(reported), integration.site_url.as_deref()) {
        Verdict::Accepted => Ok(integration),
        Verdict::Adopt => {
            let adopted = state
                .store
                .adopt_site_url(integration.id, reported.as_str())
                .await?;
            if site_url::judge(Some(reported), adopted.site_url.as_deref()) == Verdict::Accepted {
                tracing::info!(
                    integration_id = adopted.id,
                    site_url = %reported,
                    "the site's address is known from now on"
                );
                Ok(adopted)
            } else {
                refuse(state, adopted, reported).await
            }
        }
        Verdict::Mismatch => refuse(state, integration, reported).await,
    }
}

async fn refuse(
    state: &AppState,
    integration: SiteIntegration,
    reported: &SiteUrl,
) -> Result<SiteIntegration, ApiError> {
    let known = integration.site_url.clone().unwrap_or_default();
    let now = Utc::now();
    let due = integration.site_url_mismatch.as_deref() != Some(reported.as_str())
        || integration
            .site_url_mismatch_at
            .is_none_or(|t| now - t >= RECORD_EVERY);
    if due {
        state
            .store
            .record_site_url_mismatch(integration.id, Some((reported.as_str(), now)))
            .await?;
        tracing::warn!(
            integration_id = integration.id,
            known = %known,
            reported = %reported,
            "refused a copy of the site: it reports another address than its integration's"
        );
    }
    Err(ApiError::ConflictCode(
        "site_url_mismatch",
        format!(
            "IGNY8 knows this site at {known}, but this copy of it reports {reported}, so nothing \
             from it is synced. In this WordPress, open Settings → IGNY8 API and choose: a staging \
             copy (it stays disconnected), the site moved (IGNY8 follows it to {reported}), or \
             connect it as a new site."
        ),
    ))
}

/// `POST …/integrations/{id}/site-url/` `{"site_url": "https://new.example"}` with the site's key:
/// its owner chose "the site moved" in the plugin's settings. The address becomes the integration's
/// (the one it knew before then counts as a copy) and the recorded copy is forgotten. Accepted from
/// any address: whoever holds the site's key may move it, and that is logged.
pub async fn moved(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: LaterBody,
) -> Result<Json<Value>, ApiError> {
    let (integration, site) = caller
        .integration_at_any_address(&state, path_id(&id)?)
        .await?;
    // Where a site runs is the plugin's to say, not a platform user's.
    caller.require_site()?;
    Caller::require_active(&site)?;
    let reported = match &caller {
        Caller::Site { site_url, .. } => match &**site_url {
            Some(reported) => Some(
                reported
                    .as_ref()
                    .map_err(|why| ApiError::validation(FIELD, why))?,
            ),
            None => None,
        },
        Caller::User { .. } => None,
    };
    let body = body.json(&state).await?;
    let url = match body.get("site_url") {
        Some(Value::String(raw)) => {
            SiteUrl::parse(raw).map_err(|why| ApiError::validation("site_url", &why))?
        }
        None | Some(Value::Null) => return Err(ApiError::validation("site_url", "is required")),
        Some(_) => return Err(ApiError::validation("site_url", "must be a string")),
    };
    if reported.is_some_and(|reported| !reported.same_site(url.as_str())) {
        return Err(ApiError::validation(
            "site_url",
            "must be the address this site reports in X-Igny8-Site-Url",
        ));
    }
    let moved = state
        .store
        .move_site_url(integration.id, url.as_str())
        .await?;
    tracing::warn!(
        integration_id = integration.id,
        site_id = site.id,
        key_prefix = match &caller {
            Caller::Site { key, .. } => key.prefix.as_str(),
            Caller::User { .. } => "",
        },
        from = integration.site_url.as_deref().unwrap_or("none"),
        to = %url,
        "the site's owner moved its integration to a new address"
    );
    Ok(ok(json!(moved)))
}
