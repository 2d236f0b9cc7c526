//! Who is calling: a site's API key (one site) or a signed-in user's access token (one account),
//! and the checks that keep each inside its tenant.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use chrono::{Duration, Utc};
use igny8_domain::api_key::{self, KeyRefusal, StoredKey};
use igny8_store::{ApiKey, Site, SiteIntegration};

use super::site_url::{self, ReportedSiteUrl};
use super::ApiError;
use crate::auth::jwt::{TokenError, TokenKind};
use crate::AppState;

#[derive(Debug, Clone)]
pub enum Caller {
    /// A site API key; `site` is the one site it reaches, `site_url` the address the site reports.
    Site {
        key: ApiKey,
        site: Site,
        site_url: Box<ReportedSiteUrl>,
    },
    /// A user's JWT access token; it reaches every site of `account_id`.
    User { user_id: i64, account_id: i64 },
}

/// `last_used_at` is written at most this often per key, so each request is not also a write.
pub const TOUCH_EVERY: Duration = Duration::seconds(60);

/// The credential a request presents, its shape checked (and a JWT's signature and expiry) but a
/// site key not yet looked up: `Caller` does that, or the store does it inside a structure push.
pub enum Credential {
    /// `igny8_<prefix>_<secret>`: the prefix finds the stored key, whose hash must match; with the
    /// address the site reports (`X-Igny8-Site-Url`), checked once the integration is known.
    SiteKey {
        prefix: String,
        hash: String,
        site_url: ReportedSiteUrl,
    },
    /// An access token's claims: its user, account and the session epoch it was issued in.
    User {
        user_id: i64,
        account_id: i64,
        session_epoch: i64,
    },
}

impl FromRequestParts<AppState> for Credential {
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
        let token = bearer_token(header).ok_or(ApiError::NotAuthenticated)?;
        if api_key::looks_like_api_key(token) {
            let prefix = api_key::key_prefix(token).ok_or(ApiError::InvalidToken)?;
            return Ok(Credential::SiteKey {
                prefix: prefix.to_owned(),
                hash: api_key::hash_key(token),
                site_url: site_url::reported(&parts.headers),
            });
        }
        match state.tokens.verify(token, TokenKind::Access, Utc::now()) {
            Ok(claims) => Ok(Credential::User {
                user_id: claims.sub,
                account_id: claims.acc,
                session_epoch: claims.ses,
            }),
            Err(TokenError::Expired) => Err(ApiError::TokenExpired),
            Err(TokenError::Invalid) => Err(ApiError::InvalidToken),
        }
    }
}

/// The token of `Bearer <token>`: the scheme is case-insensitive (RFC 9110 §11.1), and
/// spaces around the token do not count.
fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim_start().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

impl Credential {
    /// Who is calling: a site key is looked up, checked, and its use recorded; an access token's
    /// user must still exist in its account and not have signed out since it was issued.
    pub async fn resolve(self, state: &AppState) -> Result<Caller, ApiError> {
        match self {
            Credential::SiteKey {
                prefix,
                hash,
                site_url,
            } => site_caller(state, &prefix, &hash, site_url).await,
            Credential::User {
                user_id,
                account_id,
                session_epoch,
            } => {
                state
                    .store
                    .user_by_id(user_id)
                    .await?
                    .filter(|u| u.account_id == account_id && u.session_epoch == session_epoch)
                    .ok_or(ApiError::InvalidToken)?;
                Ok(Caller::User {
                    user_id,
                    account_id,
                })
            }
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Credential::from_request_parts(parts, state)
            .await?
            .resolve(state)
            .await
    }
}

async fn site_caller(
    state: &AppState,
    prefix: &str,
    hash: &str,
    site_url: ReportedSiteUrl,
) -> Result<Caller, ApiError> {
    // No key with this prefix is an unknown key, as `check_presented_key` would answer.
    let Some(key) = state.store.api_key_by_prefix(prefix).await? else {
        return Err(ApiError::InvalidToken);
    };
    let stored = StoredKey {
        hash: &key.hash,
        revoked: key.revoked_at.is_some(),
    };
    api_key::check_presented_key(Some(stored), hash).map_err(|refused| match refused {
        KeyRefusal::Unknown => ApiError::InvalidToken,
        KeyRefusal::Revoked => ApiError::ApiKeyRevoked,
    })?;
    let site = state
        .store
        .site(key.site_id)
        .await?
        .ok_or(ApiError::InvalidToken)?;
    let now = Utc::now();
    if api_key::touch_due(key.last_used_at, now, TOUCH_EVERY) {
        state.store.touch_api_key(key.id, now).await?;
    }
    Ok(Caller::Site {
        key,
        site,
        site_url: Box::new(site_url),
    })
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

    /// The integration and its site, under the same rules as `site`; a site key's request must
    /// come from the address the integration knows (`site_url::check`: a staging copy is refused).
    pub async fn integration(
        &self,
        state: &AppState,
        id: i64,
    ) -> Result<(SiteIntegration, Site), ApiError> {
        let (integration, site) = self.integration_at_any_address(state, id).await?;
        Ok((site_url::check(state, self, integration).await?, site))
    }

    /// The integration and its site whatever address the site reports: only for the site's owner
    /// telling the platform it moved (`site_url::moved`).
    pub async fn integration_at_any_address(
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

    /// The user behind a platform user's token: some operations are the platform's, and a site's
    /// key gets 403 for them.
    pub fn user_id(&self) -> Result<i64, ApiError> {
        match self {
            Caller::User { user_id, .. } => Ok(*user_id),
            Caller::Site { .. } => Err(ApiError::Forbidden),
        }
    }

    /// Only the site's own key: a user's token gets 403 for what only the plugin does.
    pub fn require_site(&self) -> Result<(), ApiError> {
        match self {
            Caller::Site { .. } => Ok(()),
            Caller::User { .. } => Err(ApiError::Forbidden),
        }
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

#[cfg(test)]
mod tests {
    use super::bearer_token;

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        for header in [
            "Bearer t",
            "bearer t",
            "BEARER t",
            "bEaReR  t ",
            " Bearer t",
        ] {
            assert_eq!(bearer_token(header), Some("t"), "{header:?}");
        }
        for header in ["Basic t", "Bearer", "Bearer ", "Bearert", "t"] {
            assert_eq!(bearer_token(header), None, "{header:?}");
        }
    }
}
