//! Tombstones: what a store remembers of a deleted post (its type, id and the deletion's
//! `modified_gmt`), so that an upsert of it re-delivered late (a retry, an out-of-order batch)
//! does not bring it back. Written once so both databases apply the rule alike.

use std::collections::HashMap;

use igny8_domain::content::{Batch, Change, ItemOutcome, Post};

/// How long a tombstone is kept: far longer than any retry or queue delay, short enough that
/// the table stays small.
pub const KEEP_DAYS: i64 = 30;

/// A tombstone to write: the deleted post and the deletion's `modified_gmt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grave<'a> {
    pub post_type: &'a str,
    pub wp_id: i64,
    pub modified_gmt: &'a str,
}

/// The tombstones that matter to one batch, kept current while the batch is applied in order.
#[derive(Debug, Default)]
pub struct Tombstones(HashMap<(String, i64), String>);

impl Tombstones {
    /// The ids of the posts a batch upserts: the tombstones to look up before applying it.
    pub fn ids_to_check(batch: &Batch) -> Vec<i64> {
        let mut ids: Vec<i64> = batch
            .items
            .iter()
            .filter_map(|item| match &item.change {
                Ok(Change::UpsertPost(p)) => Some(p.wp_id),
                _ => None,
            })
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// The tombstone a change leaves once applied (a post deleted with the deletion's time):
    /// remembered for the rest of the batch, and answered for the store to write.
    pub fn record<'c>(&mut self, outcome: &ItemOutcome, change: &'c Change) -> Option<Grave<'c>> {
        let (
            ItemOutcome::Applied,
            Change::DeletePost {
                post_type,
                wp_id,
                modified_gmt: Some(deleted),
            },
        ) = (outcome, change)
        else {
            return None;
        };
        self.insert(post_type.as_str(), *wp_id, deleted.as_str().to_owned());
        Some(Grave {
            post_type: post_type.as_str(),
            wp_id: *wp_id,
            modified_gmt: deleted.as_str(),
        })
    }

    pub fn insert(&mut self, post_type: &str, wp_id: i64, modified_gmt: String) {
        let entry = self
            .0
            .entry((post_type.to_owned(), wp_id))
            .or_insert_with(|| modified_gmt.clone());
        if *entry < modified_gmt {
            *entry = modified_gmt;
        }
    }

    /// Whether a deletion at least as recent as this upsert is remembered: then the upsert is
    /// stale (a deletion wins a tie, since WordPress sends the deletion's own time).
    pub fn buries(&self, post: &Post) -> bool {
        self.0
            .get(&(post.post_type.as_str().to_owned(), post.wp_id))
            .is_some_and(|deleted| post.modified_gmt.as_str() <= deleted.as_str())
    }

    /// Forgets a post's tombstone (a newer upsert brought it back); answers whether there was one.
    pub fn remove(&mut self, post: &Post) -> bool {
        self.0
            .remove(&(post.post_type.as_str().to_owned(), post.wp_id))
            .is_some()
    }
}
