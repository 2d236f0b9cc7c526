//! Who is calling: a site's API key (one site) or a signed-in user's access token (one account),
//! and the checks that keep each inside its tenant.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use chrono::{Duration, Utc};
use igny8_domain::api_key;
use igny8_store::{ApiKey, Site, SiteIntegration};

use super::ApiError;
use crate::auth::jwt::{TokenError, TokenKind};
use crate::AppState;

#[derive(Debug, Clone)]
pub enum Caller {
    /// A site API key; `site` is the one site it reaches.
    Site { key: ApiKey, site: Site },
    /// A user's JWT access token; it reaches every site of `account_id`.
    User { user_id: i64, account_id: i64 },
}

/// `last_used_at` is written at most this often per key, so each request is not also a write.
const TOUCH_EVERY: Duration = Duration::seconds(60);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or(ApiError::NotAuthenticated)?;
        let header = header.to_str().map_err(|_| ApiError::InvalidToken)?;
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .map(str::trim)
            .ok_or(ApiError::NotAuthenticated)?;
        if api_key::looks_like_api_key(token) {
            return site_caller(state, token).await;
        }
        match state.tokens.verify(token, TokenKind::Access, Utc::now()) {
            Ok(claims) => Ok(Caller::User {
                user_id: claims.sub,
                account_id: claims.acc,
            }),
            Err(TokenError::Expired) => Err(ApiError::TokenExpired),
            Err(TokenError::Invalid) => Err(ApiError::InvalidToken),
        }
    }
}

async fn site_caller(state: &AppState, token: &str) -> Result<Caller, ApiError> {
    let prefix = api_key::key_prefix(token).ok_or(ApiError::InvalidToken)?;
    let key = state
        .store
        .api_key_by_prefix(prefix)
        .await?
        .ok_or(ApiError::InvalidToken)?;
    if !api_key::key_matches(token, &key.hash) {
        return Err(ApiError::InvalidToken);
    }
    if key.revoked_at.is_some() {
        return Err(ApiError::ApiKeyRevoked);
    }
    let site = state
        .store
        .site(key.site_id)
        .await?
        .ok_or(ApiError::InvalidToken)?;
    let now = Utc::now();
    if key.last_used_at.is_none_or(|t| now - t >= TOUCH_EVERY) {
        state.store.touch_api_key(key.id, now).await?;
    }
    Ok(Caller::Site { key, site })
}

impl Caller {
    /// The site if this caller may reach it: 404 when it does not exist, 403 when it is another
    /// tenant's.
    pub async fn site(&self, state: &AppState, site_id: i64) -> Result<Site, ApiError> {
        // A key's own site was read when the key was checked.
        if let Caller::Site { site, .. } = self {
            if site.id == site_id {
                return Ok(site.clone());
            }
        }
        let site = state.store.site(site_id).await?.ok_or(ApiError::NotFound)?;
        let allowed = match self {
            Caller::Site { site: own, .. } => own.id == site.id,
            Caller::User { account_id, .. } => *account_id == site.account_id,
        };
        if allowed {
            Ok(site)
        } else {
            Err(ApiError::Forbidden)
        }
    }

    /// The integration and its site, under the same rules as `site`.
    pub async fn integration(
        &self,
        state: &AppState,
        id: i64,
    ) -> Result<(SiteIntegration, Site), ApiError> {
        let integration = state
            .store
            .integration(id)
            .await?
            .ok_or(ApiError::NotFound)?;
        let site = self.site(state, integration.site_id).await?;
        Ok((integration, site))
    }

    /// Sites push only while active.
    pub fn require_active(site: &Site) -> Result<(), ApiError> {
        if site.is_active {
            Ok(())
        } else {
            Err(ApiError::SiteInactive)
        }
    }
}
