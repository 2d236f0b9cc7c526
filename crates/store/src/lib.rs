//! The storage interface of igny8: one `Store` trait, implemented once per database
//! (`igny8-store-sqlite`, `igny8-store-postgres`), and the conformance suite both must pass.

pub mod conformance;
mod records;

pub use records::*;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("database error: {0}")]
    Database(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A change of an integration's `config_json`, applied inside the store's transaction so two
/// concurrent writers never lose each other's keys. Returning `Err` aborts without writing.
pub type ConfigChange<'a> =
    &'a (dyn Fn(Value) -> std::result::Result<Value, igny8_domain::FieldErrors> + Send + Sync);

/// Outcome of `update_integration_config`.
#[derive(Debug)]
pub enum ConfigUpdate {
    Updated(SiteIntegration),
    Rejected(igny8_domain::FieldErrors),
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Creates or upgrades the schema; safe to call on every start.
    async fn migrate(&self) -> Result<()>;

    /// A server-wide secret by name, created from `make` on first use (first writer wins).
    async fn server_secret(&self, name: &str, make: String) -> Result<String>;

    // Accounts and users.
    async fn count_users(&self) -> Result<i64>;
    /// Creates an account and its first user; `Conflict` when the email is taken.
    async fn create_user_with_account(&self, new: NewUser<'_>) -> Result<User>;
    async fn user_by_email(&self, email: &str) -> Result<Option<User>>;
    async fn user_by_id(&self, id: i64) -> Result<Option<User>>;

    // Sites.
    async fn create_site(&self, account_id: i64, name: &str, url: &str) -> Result<Site>;
    async fn site(&self, id: i64) -> Result<Option<Site>>;
    async fn sites_of_account(&self, account_id: i64) -> Result<Vec<Site>>;
    /// `NotFound` for an unknown site.
    async fn set_site_active(&self, id: i64, active: bool) -> Result<Site>;

    // API keys.
    async fn create_api_key(&self, new: NewApiKeyRow<'_>) -> Result<ApiKey>;
    async fn api_key_by_prefix(&self, prefix: &str) -> Result<Option<ApiKey>>;
    async fn api_keys_of_site(&self, site_id: i64) -> Result<Vec<ApiKey>>;
    /// Revokes a site's key by prefix; `NotFound` when the site has no such key. Idempotent.
    async fn revoke_api_key(&self, site_id: i64, prefix: &str, at: DateTime<Utc>)
        -> Result<ApiKey>;
    async fn touch_api_key(&self, id: i64, at: DateTime<Utc>) -> Result<()>;

    // Integrations.
    /// The site's integration for `platform`, created when missing; `true` when created now.
    async fn ensure_integration(
        &self,
        site_id: i64,
        platform: &str,
    ) -> Result<(SiteIntegration, bool)>;
    async fn integration(&self, id: i64) -> Result<Option<SiteIntegration>>;
    async fn integrations_of_site(&self, site_id: i64) -> Result<Vec<SiteIntegration>>;
    /// Read-modify-write of `config_json` in one transaction; `NotFound` for an unknown id.
    async fn update_integration_config(
        &self,
        id: i64,
        change: ConfigChange<'_>,
    ) -> Result<ConfigUpdate>;
    /// Records the outcome of a sync step the dashboard shows: status, time, last error.
    async fn record_integration_sync(
        &self,
        id: i64,
        status: &str,
        at: DateTime<Utc>,
        error: Option<&str>,
    ) -> Result<()>;
}
