//! The platform's operations, below both transports: the API and the dashboard decide who is
//! calling and translate HTTP; what happens lives here once.

pub mod changes;
pub mod full_sync;
pub mod integrations;
pub mod sign_in;
pub mod verification;

/// An active WordPress integration with this configuration, for the services' unit tests.
#[cfg(test)]
fn test_integration(config_json: serde_json::Value) -> igny8_store::SiteIntegration {
    use chrono::TimeZone;
    let at = chrono::Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
    igny8_store::SiteIntegration {
        id: 7,
        site_id: 3,
        platform: integrations::WORDPRESS.into(),
        is_active: true,
        config_json,
        sync_status: igny8_domain::content::sync::SyncStatus::Never,
        last_sync_at: None,
        last_error: None,
        created_at: at,
        updated_at: at,
        site_url: None,
        site_url_mismatch: None,
        site_url_mismatch_at: None,
    }
}
