//! A site's content batch with its key as one store operation: the key, its site and the
//! integration checked (`structure_push`'s rules), the items applied, and the sync outcome the
//! dashboard shows (`Batch::sync_outcome`) recorded, in one unit of work, so a batch never commits without its outcome
//! and nothing changes between the checks and the write.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use igny8_domain::content::{Batch, ItemOutcome};
use igny8_domain::site_url::SiteUrl;

use crate::structure_push::PushRefusal;

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

crate::structure_push::site_key_write_from_fields!(SiteBatch);
