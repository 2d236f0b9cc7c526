//! Sign-in for platform users (email + password → JWTs) and "which sites can I reach".

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::Json;
use chrono::{DateTime, Utc};
use igny8_store::{RefreshRotation, RotationOutcome, User};
use serde_json::{json, Value};

use super::{ApiError, Caller, JsonBody};
use crate::auth::jwt::{Issued, TokenError, TokenKind};
use crate::services::sign_in::{check_credentials, SignInError};
use crate::AppState;

fn string_field<'a>(body: &'a Value, field: &str) -> Result<&'a str, ApiError> {
    match body.get(field) {
        Some(Value::String(s)) => Ok(s),
        None | Some(Value::Null) => Err(ApiError::validation(field, "is required")),
        Some(_) => Err(ApiError::validation(field, "must be a string")),
    }
}

/// The API's words for a refused sign-in.
impl From<SignInError> for ApiError {
    fn from(e: SignInError) -> Self {
        match e {
            SignInError::InvalidCredentials => ApiError::InvalidCredentials,
            SignInError::RateLimited(wait) => ApiError::RateLimited(wait),
            SignInError::Busy => ApiError::Busy,
            SignInError::Store(e) => ApiError::from(e),
        }
    }
}

/// The answer of a sign-in or a refresh: a new access token and `refresh`.
fn token_pair(state: &AppState, user: &User, refresh: Issued, now: DateTime<Utc>) -> Value {
    let access = state.tokens.issue(TokenKind::Access, user.into(), now);
    json!({
        "success": true,
        "data": {
            "access": access.token,
            "refresh": refresh.token,
            "access_expires_at": access.expires_at,
            "refresh_expires_at": refresh.expires_at,
            "user": {"id": user.id, "email": user.email, "account_id": user.account_id},
        }
    })
}

pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    let email = string_field(&body, "email")?;
    let password = string_field(&body, "password")?;
    let user = check_credentials(&state, email, password, client).await?;
    tracing::info!(user_id = user.id, "signed in");
    let now = Utc::now();
    let refresh = state.tokens.issue(TokenKind::Refresh, (&user).into(), now);
    Ok(Json(token_pair(&state, &user, refresh, now)))
}

pub async fn refresh(
    State(state): State<AppState>,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    let token = string_field(&body, "refresh")?;
    let claims = state
        .tokens
        .verify(token, TokenKind::Refresh, Utc::now())
        .map_err(|e| match e {
            TokenError::Expired => ApiError::TokenExpired,
            TokenError::Invalid => ApiError::InvalidToken,
        })?;
    // A deleted user's refresh token stops working, and so does one issued before a sign-out.
    let user = state
        .store
        .user_by_id(claims.sub)
        .await?
        .filter(|u| u.session_epoch == claims.ses)
        .ok_or(ApiError::InvalidToken)?;
    // Each refresh token works once: it is spent for the next of its family. A spent one presented
    // again means two parties hold the family, so the whole family ends.
    let now = Utc::now();
    let next = state
        .tokens
        .issue_refresh_in(claims.family(), (&user).into(), now);
    let rotation = RefreshRotation {
        family: claims.family(),
        presented: &claims.jti,
        next: &next.id,
        user_id: user.id,
        expires_at: next.expires_at,
        now,
    };
    match state.store.rotate_refresh_token(rotation).await? {
        RotationOutcome::Rotated => Ok(Json(token_pair(&state, &user, next, now))),
        RotationOutcome::Reused => {
            tracing::warn!(
                user_id = user.id,
                "a spent refresh token was presented again: its family is ended"
            );
            Err(ApiError::InvalidToken)
        }
    }
}

pub async fn sites(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    let sites = match caller {
        Caller::Site { site, .. } => vec![site],
        Caller::User { account_id, .. } => state.store.sites_of_account(account_id).await?,
    };
    Ok(Json(json!({"success": true, "data": sites})))
}
