//! A site's structure push (`update-structure` with the site's API key) as one store operation:
//! the key, its site and the integration are checked, the structure is applied to the config, and
//! the content sync state is read. It is the request every connected site repeats, so a store may
//! run all of it as one unit of work (SQLite: one job of its writer) instead of five reads and a
//! write. Who may push is decided here, once, for every store.

use chrono::{DateTime, Duration, Utc};
use igny8_domain::api_key::{self, KeyRefusal, StoredKey};
use igny8_domain::content::sync::ContentSyncState;
use igny8_domain::site_url::{self, SiteUrl, Verdict};
use igny8_domain::structure::{ContentTypes, IntegrationConfig, SiteStructure};

use crate::ApiKey;

/// A validated push and the credential it came with.
#[derive(Debug, Clone)]
pub struct StructurePush {
    /// The presented key's prefix (`api_key::key_prefix`) and the SHA-256 of the whole key
    /// (`api_key::hash_key`): the key itself never reaches the store.
    pub key_prefix: String,
    pub key_hash: String,
    pub integration_id: i64,
    pub structure: SiteStructure,
    pub at: DateTime<Utc>,
    /// The key's `last_used_at` is written when it is older than this, so each push is not also
    /// a write of the key.
    pub touch_every: Duration,
    /// The address the site reported (`X-Igny8-Site-Url`); `None` from plugins that report none.
    pub site_url: Option<SiteUrl>,
}

/// Why a push was refused; nothing but the key's `last_used_at` was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushRefusal {
    /// No key has this prefix, or its hash differs.
    UnknownKey,
    RevokedKey,
    NoSuchIntegration,
    /// The integration belongs to another site than the key's.
    OtherSite,
    SiteInactive,
    /// The site reported another address than the integration's: a copy (docs/sync-protocol.md,
    /// "Copies and moves"). The API answers it on its general path, which records it.
    SiteUrlMismatch,
}

#[derive(Debug)]
pub enum PushOutcome {
    /// The content types the integration's config now holds, with the content sync state.
    Applied {
        content_types: ContentTypes,
        sync: ContentSyncState,
    },
    Refused(PushRefusal),
}

/// The integration (its owning site, when it exists) is the key's own site's, and that site is
/// active: the rule of every write made with a site's key, checked after the key.
pub fn check_target(
    key: &ApiKey,
    integration_site: Option<i64>,
    site_active: bool,
) -> Result<(), PushRefusal> {
    match integration_site {
        None => Err(PushRefusal::NoSuchIntegration),
        Some(site) if site != key.site_id => Err(PushRefusal::OtherSite),
        Some(_) if !site_active => Err(PushRefusal::SiteInactive),
        Some(_) => Ok(()),
    }
}

/// The `reported` address against the integration's `known` one: `Ok(Some(url))` when the
/// integration knows none yet and takes the reported one, `Ok(None)` when nothing changes.
pub fn check_site_url<'u>(
    reported: Option<&'u SiteUrl>,
    known: Option<&str>,
) -> Result<Option<&'u str>, PushRefusal> {
    match site_url::judge(reported, known) {
        Verdict::Accepted => Ok(None),
        Verdict::Adopt => Ok(reported.map(SiteUrl::as_str)),
        Verdict::Mismatch => Err(PushRefusal::SiteUrlMismatch),
    }
}

/// A write made with a site's key (a structure push, a content batch), checked by the same rules
/// in the same order: the key, its use recorded, the target integration and site, the address.
pub trait SiteKeyWrite {
    fn key_prefix(&self) -> &str;
    fn key_hash(&self) -> &str;
    fn integration_id(&self) -> i64;
    fn at(&self) -> DateTime<Utc>;
    fn touch_every(&self) -> Duration;
    fn reported_site_url(&self) -> Option<&SiteUrl>;

    /// The presented key may be used (`api_key::check_presented_key`): answers it.
    fn check_key<'k>(&self, found: Option<&'k ApiKey>) -> Result<&'k ApiKey, PushRefusal> {
        let stored = found.map(|k| StoredKey {
            hash: &k.hash,
            revoked: k.revoked_at.is_some(),
        });
        match api_key::check_presented_key(stored, self.key_hash()) {
            Ok(()) => found.ok_or(PushRefusal::UnknownKey),
            Err(KeyRefusal::Unknown) => Err(PushRefusal::UnknownKey),
            Err(KeyRefusal::Revoked) => Err(PushRefusal::RevokedKey),
        }
    }

    /// Whether the key's `last_used_at` is written with this write (whatever its fate).
    fn touches(&self, key: &ApiKey) -> bool {
        api_key::touch_due(key.last_used_at, self.at(), self.touch_every())
    }

    fn check_target(
        &self,
        key: &ApiKey,
        integration_site: Option<i64>,
        site_active: bool,
    ) -> Result<(), PushRefusal> {
        check_target(key, integration_site, site_active)
    }

    /// `Ok(Some(url))` when the integration knows no address yet and takes the reported one.
    fn check_site_url(&self, known: Option<&str>) -> Result<Option<&str>, PushRefusal> {
        check_site_url(self.reported_site_url(), known)
    }
}

impl SiteKeyWrite for StructurePush {
    fn key_prefix(&self) -> &str {
        &self.key_prefix
    }
    fn key_hash(&self) -> &str {
        &self.key_hash
    }
    fn integration_id(&self) -> i64 {
        self.integration_id
    }
    fn at(&self) -> DateTime<Utc> {
        self.at
    }
    fn touch_every(&self) -> Duration {
        self.touch_every
    }
    fn reported_site_url(&self) -> Option<&SiteUrl> {
        self.site_url.as_ref()
    }
}

impl StructurePush {
    /// The stored config's text with this push applied (the platform's own settings kept), and
    /// the content types it now holds. The text path copies the keys a push does not set; a
    /// config it cannot read that way (not an object, keys with escapes) takes the tree path.
    pub fn apply_to_text(&self, stored: &str) -> serde_json::Result<(String, ContentTypes)> {
        if let Some(applied) = IntegrationConfig::apply_structure_to_text(stored, &self.structure) {
            return Ok(applied);
        }
        let mut config = IntegrationConfig::from_json(serde_json::from_str(stored)?);
        let types = config.apply_structure(&self.structure);
        Ok((config.into_json().to_string(), types))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn push() -> StructurePush {
        let body = json!({
            "post_types": {"post": {"label": "Posts", "count": 3, "enabled": true, "fetch_limit": 10}},
            "taxonomies": {},
            "timestamp": "2026-01-02T03:04:05Z",
        });
        StructurePush {
            key_prefix: "abcdefgh".into(),
            key_hash: "h".into(),
            integration_id: 1,
            structure: SiteStructure::parse(&body, Utc::now()).unwrap(),
            at: Utc::now(),
            touch_every: Duration::seconds(60),
            site_url: None,
        }
    }

    #[test]
    fn configs_the_text_path_cannot_read_take_the_tree_path() {
        let push = push();
        // A key with an escape keeps its value; a config that is not an object starts empty.
        let (text, types) = push.apply_to_text(r#"{"k\u00e9y": 1}"#).unwrap();
        let config: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(config["kéy"], 1);
        assert_eq!(config["content_types"]["post_types"]["post"]["count"], 3);
        assert_eq!(types.post_types["post"].fetch_limit, 10);
        let (text, _) = push.apply_to_text("[]").unwrap();
        let config: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(config["last_structure_fetch"], "2026-01-02T03:04:05Z");
        assert!(push.apply_to_text("not json").is_err());
    }
}
