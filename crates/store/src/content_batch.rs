//! A site's content batch with its key as one store operation: the key, its site and the
//! integration checked (`structure_push`'s rules), the items applied, and the sync outcome the
//! dashboard shows recorded, in one unit of work, so a batch never commits without its outcome
//! and nothing changes between the checks and the write.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use igny8_domain::content::{Batch, ItemOutcome};
use igny8_domain::site_url::SiteUrl;

use crate::structure_push::{PushRefusal, SiteKeyWrite};

/// A parsed batch and the credential it came with.
#[derive(Debug, Clone)]
pub struct SiteBatch {
    /// The presented key's prefix and the SHA-256 of the whole key (`api_key::hash_key`).
    pub key_prefix: String,
    pub key_hash: String,
    pub integration_id: i64,
    pub batch: Arc<Batch>,
    pub at: DateTime<Utc>,
    /// The key's `last_used_at` is written when it is older than this.
    pub touch_every: Duration,
    /// The address the site reported (`X-Igny8-Site-Url`); `None` from plugins that report none.
    pub site_url: Option<SiteUrl>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum BatchOutcome {
    /// One outcome per item, in order; the sync outcome is recorded.
    Applied(Vec<ItemOutcome>),
    /// Nothing but the key's `last_used_at` was written.
    Refused(PushRefusal),
}

/// The sync outcome a batch records: `partial` with its last rejection, which the dashboard shows
/// until another replaces it; otherwise `success`, the last error kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncOutcome {
    pub status: &'static str,
    /// `Some` replaces the recorded last error; `None` keeps it.
    pub error: Option<String>,
}

impl SiteKeyWrite for SiteBatch {
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

impl SiteBatch {
    /// What the batch records once its items have these outcomes.
    pub fn sync_outcome(&self, outcomes: &[ItemOutcome]) -> SyncOutcome {
        let last_rejection = self
            .batch
            .items
            .iter()
            .zip(outcomes)
            .enumerate()
            .filter_map(|(index, (item, outcome))| match outcome {
                ItemOutcome::Rejected(why) => Some((index, item, why)),
                _ => None,
            })
            .next_back()
            .map(|(index, item, why)| {
                let which = item
                    .key
                    .as_ref()
                    .map_or_else(|| format!("item {index}"), |k| k.to_string());
                format!("Rejected {which}: {why}")
            });
        match last_rejection {
            Some(error) => SyncOutcome {
                status: "partial",
                error: Some(error),
            },
            None => SyncOutcome {
                status: "success",
                error: None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn site_batch(items: serde_json::Value) -> SiteBatch {
        SiteBatch {
            key_prefix: "abcdefgh".into(),
            key_hash: "h".into(),
            integration_id: 1,
            batch: Arc::new(Batch::parse(&json!({"items": items})).unwrap()),
            at: Utc::now(),
            touch_every: Duration::seconds(60),
            site_url: None,
        }
    }

    #[test]
    fn the_last_rejection_is_recorded_and_a_clean_batch_keeps_the_last_error() {
        let post = |id: i64| json!({"op": "delete", "kind": "post", "type": "post", "wp_id": id});
        let clean = site_batch(json!([post(1)]));
        assert_eq!(
            clean.sync_outcome(&[ItemOutcome::Applied]),
            SyncOutcome {
                status: "success",
                error: None
            }
        );
        let mixed = site_batch(json!([post(1), {"op": "nope"}, post(3)]));
        let outcomes = [
            ItemOutcome::Rejected("first".into()),
            ItemOutcome::Rejected("second".into()),
            ItemOutcome::Stale,
        ];
        let recorded = mixed.sync_outcome(&outcomes);
        assert_eq!(recorded.status, "partial");
        assert_eq!(recorded.error.as_deref(), Some("Rejected item 1: second"));
    }
}
