//! What every handler shares: the store, the settings, the token keys, the password hashing.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use igny8_store::Store;
use rand::distributions::Alphanumeric;
use rand::Rng;

use crate::auth::jwt::TokenKeys;
use crate::auth::password::Hashing;
use crate::metrics::Metrics;
use crate::nudge::OutgoingClient;
use crate::Settings;

/// `Retry-After` of every answer given while the database cannot be reached (API, dashboard,
/// `/healthz`): long enough for PostgreSQL to restart, short enough that a site catches up soon.
pub const STORE_RETRY_AFTER_SECS: u64 = 5;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub settings: Arc<Settings>,
    pub tokens: Arc<TokenKeys>,
    /// Requests to sites (nudges), refused to private addresses unless the settings allow them.
    pub outgoing: OutgoingClient,
    pub passwords: Arc<Hashing>,
    pub metrics: Metrics,
    /// Set when the server was told to stop: `/healthz` says "not ready" from then on.
    pub stopping: Arc<AtomicBool>,
}

impl AppState {
    pub async fn new(
        settings: Settings,
        store: Arc<dyn Store>,
        metrics: Metrics,
    ) -> anyhow::Result<Self> {
        let secret = match &settings.jwt_secret {
            Some(s) => s.clone(),
            None => {
                let fresh: String = rand::thread_rng()
                    .sample_iter(&Alphanumeric)
                    .take(64)
                    .map(char::from)
                    .collect();
                store.server_secret("jwt", fresh).await?
            }
        };
        Ok(Self {
            outgoing: OutgoingClient::new(settings.allow_private_targets)?,
            tokens: Arc::new(TokenKeys::new(
                secret.as_bytes(),
                settings.access_token_ttl,
                settings.refresh_token_ttl,
            )),
            passwords: Arc::new(Hashing::new(
                settings.password_hashes_at_once,
                settings.password_hash_wait,
            )),
            settings: Arc::new(settings),
            store,
            metrics,
            stopping: Arc::default(),
        })
    }
}
