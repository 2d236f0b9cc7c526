//! Signing a platform user in: email and password checked against the stored hash, rate limited
//! per email and per client address, with hashing turns capped. The API and the dashboard both
//! sign in here and word the refusals their own way.

use std::net::SocketAddr;
use std::time::Duration;

use chrono::Utc;
use igny8_domain::account::{Email, Password};
use igny8_store::{LimitKey, StoreError, User};

use crate::auth::password::Busy;
use crate::AppState;

/// Why a sign-in was refused.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// Wrong email or wrong password: the same answer for both, so neither is revealed.
    #[error("the email or password is wrong")]
    InvalidCredentials,
    /// Too many attempts for this email or from this address: wait this long.
    #[error("too many sign-in attempts")]
    RateLimited(Duration),
    /// Every password hashing turn is taken.
    #[error("every password hashing turn is taken")]
    Busy,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Checks email and password (rate limited per email and per client address) and answers the
/// signed-in user.
pub async fn check_credentials(
    state: &AppState,
    email: &str,
    password: &str,
    client: SocketAddr,
) -> Result<User, SignInError> {
    let email_key = format!("email:{}", email.trim().to_lowercase());
    let ip_key = format!("ip:{}", client.ip());
    let keys = [
        LimitKey {
            key: &email_key,
            limit: state.settings.login_limit_per_email,
        },
        LimitKey {
            key: &ip_key,
            limit: state.settings.login_limit_per_ip,
        },
    ];
    if let Some(wait) = state
        .store
        .record_login_attempt(&keys, state.settings.login_window, Utc::now())
        .await?
    {
        state.metrics.sign_in_refused("rate_limited");
        return Err(SignInError::RateLimited(wait));
    }
    let user = match Email::parse(email) {
        Ok(email) => state.store.user_by_email(email.as_str()).await?,
        Err(_) => None,
    };
    if password.len() > Password::MAX_BYTES {
        return Err(SignInError::InvalidCredentials);
    }
    let stored = user.as_ref().map(|u| u.password_hash.as_str());
    let _checking = state.metrics.password_check();
    match state.passwords.verify(password, stored).await {
        Ok(true) => user.ok_or(SignInError::InvalidCredentials),
        Ok(false) => Err(SignInError::InvalidCredentials),
        Err(Busy) => {
            tracing::warn!("sign-in refused: every password hashing turn is taken");
            state.metrics.sign_in_refused("busy");
            Err(SignInError::Busy)
        }
    }
}
