//! The sync state as both databases keep it (one row per integration), and its conversion to the
//! domain's `ContentSyncState`, written once so the two stores cannot read it differently.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use igny8_domain::content::sync::{ContentSyncState, FullSyncRun, RunStatus, VerifyState};
use serde_json::Value;

use crate::{Result, StoreError};

#[derive(Debug, Clone, PartialEq)]
pub struct SyncStateRow {
    pub run_id: Option<String>,
    pub run_status: Option<String>,
    pub run_started_at: Option<DateTime<Utc>>,
    pub run_finished_at: Option<DateTime<Utc>>,
    pub run_totals: Value,
    pub run_done: Value,
    /// The walked ranges per type (`{"post:post": [{"from", "to", "held"}]}`), kept in the
    /// `run_cursors` column.
    pub run_cursors: Value,
    pub full_sync_requested: bool,
    pub verify_requested: bool,
    pub verify_state: String,
    pub verify_differences: i64,
    pub verified_at: Option<DateTime<Utc>>,
}

fn corrupt(what: &str) -> StoreError {
    StoreError::database(format!("content_sync_state: unreadable {what}"))
}

fn map<T: serde::de::DeserializeOwned>(v: Value, what: &str) -> Result<BTreeMap<String, T>> {
    serde_json::from_value(v).map_err(|_| corrupt(what))
}

impl SyncStateRow {
    pub fn into_state(self) -> Result<ContentSyncState> {
        let run = match (self.run_id, self.run_status, self.run_started_at) {
            (Some(run_id), Some(status), Some(started_at)) => Some(FullSyncRun {
                run_id,
                status: RunStatus::parse(&status).ok_or_else(|| corrupt("run_status"))?,
                started_at,
                finished_at: self.run_finished_at,
                totals: map(self.run_totals, "run_totals")?,
                done: map(self.run_done, "run_done")?,
                walked: map(self.run_cursors, "run_cursors")?,
            }),
            _ => None,
        };
        Ok(ContentSyncState {
            run,
            full_sync_requested: self.full_sync_requested,
            verify_requested: self.verify_requested,
            verify_state: VerifyState::parse(&self.verify_state)
                .ok_or_else(|| corrupt("verify_state"))?,
            verify_differences: u64::try_from(self.verify_differences).unwrap_or(0),
            verified_at: self.verified_at,
        })
    }

    pub fn from_state(s: &ContentSyncState) -> Self {
        let run = s.run.as_ref();
        let json = |v: Option<Value>| v.unwrap_or_else(|| Value::Object(Default::default()));
        Self {
            run_id: run.map(|r| r.run_id.clone()),
            run_status: run.map(|r| r.status.as_str().to_owned()),
            run_started_at: run.map(|r| r.started_at),
            run_finished_at: run.and_then(|r| r.finished_at),
            run_totals: json(run.map(|r| serde_json::json!(r.totals))),
            run_done: json(run.map(|r| serde_json::json!(r.done))),
            run_cursors: json(run.map(|r| serde_json::json!(r.walked))),
            full_sync_requested: s.full_sync_requested,
            verify_requested: s.verify_requested,
            verify_state: s.verify_state.as_str().to_owned(),
            verify_differences: i64::try_from(s.verify_differences).unwrap_or(i64::MAX),
            verified_at: s.verified_at,
        }
    }
}
