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

/// What a store read about a write's target, beside the key: the integration's owning site
/// (`None` when no integration has the write's id), whether the key's site is active, and the
/// address the integration knows.
#[derive(Debug, Clone, Copy)]
pub struct TargetState<'a> {
    pub integration_site: Option<i64>,
    pub site_active: bool,
    pub known_url: Option<&'a str>,
}

/// A write whose key may be used, and what becomes of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Admission<'k, 'w> {
    pub key: &'k ApiKey,
    /// The key's `last_used_at` is to be written with this write, whatever its `verdict`.
    pub touch: bool,
    /// The target and address checks: `Ok(Some(url))` when the integration knows no address yet
    /// and takes the reported one, `Ok(None)` when nothing changes; `Err` refuses the write.
    pub verdict: Result<Option<&'w str>, PushRefusal>,
}

/// A write made with a site's key (a structure push, a content batch), checked by the same rules
/// in the same order (`admit`): the key, its use recorded, the target integration and site, the
/// address.
pub trait SiteKeyWrite {
    fn key_prefix(&self) -> &str;
    fn key_hash(&self) -> &str;
    fn integration_id(&self) -> i64;
    fn at(&self) -> DateTime<Utc>;
    fn touch_every(&self) -> Duration;
    fn reported_site_url(&self) -> Option<&SiteUrl>;

    /// The key found by the write's prefix, then its `target`. `Err` refuses the key itself:
    /// nothing is written. Otherwise the key's use is recorded when due even if the target or the
    /// address then refuses the write (`Admission::verdict`).
    fn admit<'k>(
        &self,
        found: Option<&'k ApiKey>,
        target: TargetState<'_>,
    ) -> Result<Admission<'k, '_>, PushRefusal> {
        let key = check_key(found, self.key_hash())?;
        let touch = api_key::touch_due(key.last_used_at, self.at(), self.touch_every());
        let verdict = check_target(key, target.integration_site, target.site_active)
            .and_then(|()| check_site_url(self.reported_site_url(), target.known_url));
        Ok(Admission {
            key,
            touch,
            verdict,
        })
    }
}

/// The presented key may be used (`api_key::check_presented_key`): answers it.
fn check_key<'k>(
    found: Option<&'k ApiKey>,
    presented_hash: &str,
) -> Result<&'k ApiKey, PushRefusal> {
    let stored = found.map(|k| StoredKey {
        hash: &k.hash,
        revoked: k.revoked_at.is_some(),
    });
    match api_key::check_presented_key(stored, presented_hash) {
        Ok(()) => found.ok_or(PushRefusal::UnknownKey),
        Err(KeyRefusal::Unknown) => Err(PushRefusal::UnknownKey),
        Err(KeyRefusal::Revoked) => Err(PushRefusal::RevokedKey),
    }
}

/// The integration (its owning site, when it exists) is the key's own site's, and that site is
/// active.
fn check_target(
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
fn check_site_url<'u>(
    reported: Option<&'u SiteUrl>,
    known: Option<&str>,
) -> Result<Option<&'u str>, PushRefusal> {
    match site_url::judge(reported, known) {
        Verdict::Accepted => Ok(None),
        Verdict::Adopt => Ok(reported.map(SiteUrl::as_str)),
        Verdict::Mismatch => Err(PushRefusal::SiteUrlMismatch),
    }
}

/// `SiteKeyWrite` for a write whose credential is its own fields of the same names (`key_prefix`,
/// `key_hash`, `integration_id`, `at`, `touch_every`, `site_url`).
macro_rules! site_key_write_from_fields {
    ($write:ty) => {
        impl $crate::structure_push::SiteKeyWrite for $write {
            fn key_prefix(&self) -> &str {
                &self.key_prefix
            }
            fn key_hash(&self) -> &str {
                &self.key_hash
            }
            fn integration_id(&self) -> i64 {
                self.integration_id
            }
            fn at(&self) -> chrono::DateTime<chrono::Utc> {
                self.at
            }
            fn touch_every(&self) -> chrono::Duration {
                self.touch_every
            }
            fn reported_site_url(&self) -> Option<&igny8_domain::site_url::SiteUrl> {
                self.site_url.as_ref()
            }
        }
    };
}
pub(crate) use site_key_write_from_fields;

site_key_write_from_fields!(StructurePush);

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

    fn key(last_used_at: Option<DateTime<Utc>>, revoked: bool) -> ApiKey {
        let at = Utc::now();
        ApiKey {
            id: 7,
            site_id: 3,
            prefix: "abcdefgh".into(),
            hash: "h".into(),
            label: "k".into(),
            created_at: at,
            last_used_at,
            revoked_at: revoked.then_some(at),
        }
    }

    /// The key's own site's integration, active, knowing `known_url`.
    fn own(known_url: Option<&str>) -> TargetState<'_> {
        TargetState {
            integration_site: Some(3),
            site_active: true,
            known_url,
        }
    }

    #[test]
    fn a_refused_key_is_answered_before_the_target_and_records_no_use() {
        let push = push();
        let (fresh, revoked) = (key(None, false), key(None, true));
        let mut wrong_hash = key(None, false);
        wrong_hash.hash = "x".into();
        let nowhere = TargetState {
            integration_site: None,
            site_active: false,
            known_url: None,
        };
        assert_eq!(push.admit(None, own(None)), Err(PushRefusal::UnknownKey));
        assert_eq!(
            push.admit(Some(&wrong_hash), own(None)),
            Err(PushRefusal::UnknownKey)
        );
        assert_eq!(
            push.admit(Some(&revoked), nowhere),
            Err(PushRefusal::RevokedKey)
        );
        assert_eq!(
            push.admit(Some(&fresh), own(None)),
            Ok(Admission {
                key: &fresh,
                touch: true,
                verdict: Ok(None)
            })
        );
    }

    #[test]
    fn the_target_is_checked_before_the_address_and_a_due_use_is_recorded_either_way() {
        let mut push = push();
        push.site_url = Some(SiteUrl::parse("https://example.com").unwrap());
        let key = key(None, false);
        let verdict = |target| push.admit(Some(&key), target).map(|a| (a.touch, a.verdict));
        let other = |integration_site, site_active| TargetState {
            integration_site,
            site_active,
            known_url: Some("https://copy.example.net"),
        };
        // Each target refusal wins over the address mismatch, and the other site over inactive.
        assert_eq!(
            verdict(other(None, true)),
            Ok((true, Err(PushRefusal::NoSuchIntegration)))
        );
        assert_eq!(
            verdict(other(Some(4), false)),
            Ok((true, Err(PushRefusal::OtherSite)))
        );
        assert_eq!(
            verdict(other(Some(3), false)),
            Ok((true, Err(PushRefusal::SiteInactive)))
        );
        assert_eq!(
            verdict(other(Some(3), true)),
            Ok((true, Err(PushRefusal::SiteUrlMismatch)))
        );
        assert_eq!(
            verdict(own(None)),
            Ok((true, Ok(Some("https://example.com"))))
        );
        assert_eq!(
            verdict(own(Some("http://www.example.com/"))),
            Ok((true, Ok(None)))
        );
    }

    #[test]
    fn a_key_used_within_touch_every_records_no_use_whatever_the_verdict() {
        let push = push();
        let recent = key(Some(push.at - Duration::seconds(59)), false);
        let stale = key(Some(push.at - Duration::seconds(60)), false);
        let admitted = |key| push.admit(Some(key), own(None)).map(|a| a.touch);
        assert_eq!(admitted(&recent), Ok(false));
        assert_eq!(admitted(&stale), Ok(true));
        let refused = push
            .admit(
                Some(&recent),
                TargetState {
                    site_active: false,
                    ..own(None)
                },
            )
            .unwrap();
        assert_eq!(
            (refused.touch, refused.verdict),
            (false, Err(PushRefusal::SiteInactive))
        );
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
