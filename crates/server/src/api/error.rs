//! The API's one error type and the envelope it becomes (DESIGN.md §2). Internal details go to the
//! log; the client gets a sentence and a code.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use igny8_domain::FieldErrors;
use igny8_store::{PushRefusal, StoreError};

use crate::services::changes::ChangeError;
use crate::state::STORE_RETRY_AFTER_SECS;
use serde_json::json;

#[derive(Debug)]
pub enum ApiError {
    MalformedJson(String),
    NotAuthenticated,
    InvalidToken,
    TokenExpired,
    InvalidCredentials,
    ApiKeyRevoked,
    SiteInactive,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    /// The request body did not arrive within the body timeout.
    RequestTimeout,
    Conflict(String),
    /// A 409 with its own code (`two_way_sync_disabled`, `stale_base`…).
    ConflictCode(&'static str, String),
    PayloadTooLarge(usize),
    /// A content batch with more items than the protocol allows.
    TooManyItems(usize),
    UnsupportedMediaType,
    Validation(FieldErrors),
    RateLimited(Duration),
    /// The server is saturated (every password hashing turn taken); try again in a second.
    Busy,
    /// The database cannot be reached for now (down, restarting): the same request may be sent
    /// again after `Retry-After`.
    StoreUnavailable,
    Internal(anyhow::Error),
}

impl ApiError {
    /// An unexpected failure, unless it is an unreachable store wrapped on the way: that is a
    /// 503 to retry, wherever it was wrapped.
    pub fn internal(e: impl Into<anyhow::Error>) -> Self {
        let e = e.into();
        match e.downcast_ref::<StoreError>() {
            Some(StoreError::Unavailable(_)) => Self::StoreUnavailable,
            _ => Self::Internal(e),
        }
    }

    pub fn validation(path: &str, why: &str) -> Self {
        Self::Validation(FieldErrors::single(path, why))
    }

    fn parts(&self) -> (StatusCode, &'static str, String) {
        use ApiError::*;
        match self {
            MalformedJson(why) => (
                StatusCode::BAD_REQUEST,
                "malformed_json",
                format!("The request body is not valid JSON: {why}."),
            ),
            NotAuthenticated => (
                StatusCode::UNAUTHORIZED,
                "not_authenticated",
                "Send an API key or access token as 'Authorization: Bearer <token>'.".into(),
            ),
            InvalidToken => (
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "The API key or token is not valid; check it was copied whole.".into(),
            ),
            TokenExpired => (
                StatusCode::UNAUTHORIZED,
                "token_expired",
                "The token has expired; refresh it or sign in again.".into(),
            ),
            InvalidCredentials => (
                StatusCode::UNAUTHORIZED,
                "invalid_credentials",
                "The email or password is wrong.".into(),
            ),
            ApiKeyRevoked => (
                StatusCode::FORBIDDEN,
                "api_key_revoked",
                "This API key was revoked; create a new one in the IGNY8 dashboard.".into(),
            ),
            SiteInactive => (
                StatusCode::FORBIDDEN,
                "site_inactive",
                "This site is deactivated in IGNY8; activate it in the dashboard first.".into(),
            ),
            Forbidden => (
                StatusCode::FORBIDDEN,
                "forbidden",
                "You do not have access to this resource.".into(),
            ),
            NotFound => (
                StatusCode::NOT_FOUND,
                "not_found",
                "There is nothing at this address.".into(),
            ),
            MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "This address does not accept that method.".into(),
            ),
            RequestTimeout => (
                StatusCode::REQUEST_TIMEOUT,
                "request_timeout",
                "The request body did not arrive in time; send it again.".into(),
            ),
            Conflict(why) => (StatusCode::CONFLICT, "conflict", why.clone()),
            ConflictCode(code, why) => (StatusCode::CONFLICT, code, why.clone()),
            PayloadTooLarge(limit) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("The request body is larger than {limit} bytes."),
            ),
            TooManyItems(limit) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("The batch holds more than {limit} items; send at most {limit} per batch."),
            ),
            UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Send the body as 'Content-Type: application/json'.".into(),
            ),
            Validation(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_error",
                "Some fields are invalid; see 'errors'.".into(),
            ),
            RateLimited(_) => (
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "Too many attempts; wait and try again.".into(),
            ),
            Busy => (
                StatusCode::SERVICE_UNAVAILABLE,
                "server_busy",
                "The server is busy; try again in a moment.".into(),
            ),
            StoreUnavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "store_unavailable",
                format!(
                    "IGNY8's database is unavailable for a moment; send the same request again \
                     in {STORE_RETRY_AFTER_SECS} seconds."
                ),
            ),
            Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "Something went wrong on our side; try again shortly.".into(),
            ),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::NotFound,
            StoreError::Conflict(why) => ApiError::Conflict(why),
            StoreError::Unavailable(why) => {
                tracing::warn!(error = %why, "the store is unavailable");
                ApiError::StoreUnavailable
            }
            e @ StoreError::Database(_) => ApiError::internal(e),
        }
    }
}

impl From<PushRefusal> for ApiError {
    fn from(refused: PushRefusal) -> Self {
        match refused {
            PushRefusal::UnknownKey => ApiError::InvalidToken,
            PushRefusal::RevokedKey => ApiError::ApiKeyRevoked,
            PushRefusal::NoSuchIntegration => ApiError::NotFound,
            PushRefusal::OtherSite => ApiError::Forbidden,
            PushRefusal::SiteInactive => ApiError::SiteInactive,
            // The API answers a copy on its general path (`site_url::check`), with both addresses.
            PushRefusal::SiteUrlMismatch => ApiError::ConflictCode(
                "site_url_mismatch",
                "This site reports another address than IGNY8 knows; choose in the plugin's \
                 settings (Settings → IGNY8 API) whether it is a staging copy, a moved site or a \
                 new site."
                    .into(),
            ),
        }
    }
}

impl From<ChangeError> for ApiError {
    fn from(e: ChangeError) -> Self {
        let message = e.to_string();
        match e {
            ChangeError::Invalid(errors) => ApiError::Validation(errors),
            ChangeError::NotFound => ApiError::NotFound,
            ChangeError::SiteInactive => ApiError::ConflictCode("site_inactive", message),
            ChangeError::TwoWayOff => ApiError::ConflictCode("two_way_sync_disabled", message),
            ChangeError::StaleBase => ApiError::ConflictCode("stale_base", message),
            ChangeError::NotPending(_) => ApiError::ConflictCode("not_pending", message),
            ChangeError::NotInConflict(_) => ApiError::ConflictCode("not_in_conflict", message),
            ChangeError::Store(e) => ApiError::from(e),
        }
    }
}

impl From<FieldErrors> for ApiError {
    fn from(e: FieldErrors) -> Self {
        ApiError::Validation(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, message) = self.parts();
        let mut body = json!({"success": false, "error": message, "code": code});
        match &self {
            ApiError::Validation(errors) => {
                let map: BTreeMap<_, _> = errors.as_map().clone();
                body["errors"] = json!(map);
            }
            ApiError::Internal(e) => tracing::error!(error = %format!("{e:#}"), "internal error"),
            _ => {}
        }
        let mut response = (status, Json(body)).into_response();
        let retry_after = match &self {
            ApiError::RateLimited(wait) => Some(wait.as_secs().max(1)),
            ApiError::Busy => Some(1),
            ApiError::StoreUnavailable => Some(STORE_RETRY_AFTER_SECS),
            _ => None,
        };
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreachable_store_is_a_503_to_retry_wherever_it_was_wrapped() {
        let direct = ApiError::from(StoreError::Unavailable("connection refused".into()));
        let wrapped = ApiError::internal(anyhow::Error::new(StoreError::Unavailable(
            "pool timed out".into(),
        )));
        for e in [direct, wrapped] {
            let response = e.into_response();
            assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(response.headers()[header::RETRY_AFTER], "5");
        }
        let other = ApiError::from(StoreError::Database("syntax error".into())).into_response();
        assert_eq!(other.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(other.headers().get(header::RETRY_AFTER).is_none());
        let (_, code, message) = ApiError::StoreUnavailable.parts();
        assert_eq!(code, "store_unavailable");
        assert!(message.contains("again in 5 seconds"), "{message}");
    }
}
