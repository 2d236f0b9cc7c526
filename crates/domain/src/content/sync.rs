//! What the platform remembers about a site's content sync: the current full-sync run and its
//! progress per type, whether a full sync or a verification was asked for, and how the last
//! verification ended. Pure rules; the stores keep the state and call these inside a transaction.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};

use super::RangeMarker;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    Running,
    Done,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Done => "done",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "running" => Some(RunStatus::Running),
            "done" => Some(RunStatus::Done),
            _ => None,
        }
    }
}

string_enum!(
    /// How the integration's last content batch went (`site_integrations.sync_status`): none yet,
    /// every item applied or stale, or some rejected (the last rejection is kept beside it).
    SyncStatus { Never = "never", Success = "success", Partial = "partial" }
);

/// The sync outcome a batch records (`Batch::sync_outcome`): `partial` with its last rejection,
/// which the dashboard shows until another replaces it; otherwise `success`, the last error kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncOutcome {
    pub status: SyncStatus,
    /// `Some` replaces the recorded last error; `None` keeps it.
    pub error: Option<String>,
}

/// A stored `sync_status` word this version does not know (the stores read through this).
#[derive(Debug, thiserror::Error)]
#[error("unknown sync status {0:?}")]
pub struct UnknownSyncStatus(pub String);

impl TryFrom<String> for SyncStatus {
    type Error = UnknownSyncStatus;

    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw).ok_or(UnknownSyncStatus(raw))
    }
}

/// What the dashboard says about the platform's copy: never verified, being checked, proven equal,
/// or differences found (and being repaired).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifyState {
    Never,
    Checking,
    InSync,
    OutOfSync,
}

impl VerifyState {
    pub fn as_str(self) -> &'static str {
        match self {
            VerifyState::Never => "never",
            VerifyState::Checking => "checking",
            VerifyState::InSync => "in_sync",
            VerifyState::OutOfSync => "out_of_sync",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "never" => Some(VerifyState::Never),
            "checking" => Some(VerifyState::Checking),
            "in_sync" => Some(VerifyState::InSync),
            "out_of_sync" => Some(VerifyState::OutOfSync),
            _ => None,
        }
    }
}

/// One full sync, from the plugin's `start` to its `finish`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FullSyncRun {
    pub run_id: String,
    pub status: RunStatus,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// By `kind:type` (`post:book`): how many objects WordPress said it would send…
    pub totals: BTreeMap<String, u64>,
    /// …how many the platform holds of those walked so far (the sum over `walked`)…
    pub done: BTreeMap<String, u64>,
    /// …and the id ranges walked, each with the objects held in it: batches may arrive in any
    /// order, and a retried range replaces what it covered instead of adding again.
    pub walked: BTreeMap<String, Vec<Walked>>,
}

/// An id range a full sync's range markers covered, and how many objects the platform held in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Walked {
    pub from: i64,
    pub to: i64,
    pub held: u64,
}

impl FullSyncRun {
    /// Every type the run has a total or progress for: `(key, done, total)`.
    pub fn progress(&self) -> Vec<(String, u64, u64)> {
        let mut keys: Vec<&String> = self.totals.keys().chain(self.done.keys()).collect();
        keys.sort();
        keys.dedup();
        keys.into_iter()
            .map(|k| {
                (
                    k.clone(),
                    self.done.get(k).copied().unwrap_or(0),
                    self.totals.get(k).copied().unwrap_or(0),
                )
            })
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentSyncState {
    pub run: Option<FullSyncRun>,
    pub full_sync_requested: bool,
    pub verify_requested: bool,
    pub verify_state: VerifyState,
    /// Buckets and items found different in the current or last verification.
    pub verify_differences: u64,
    pub verified_at: Option<DateTime<Utc>>,
}

impl Default for ContentSyncState {
    fn default() -> Self {
        Self {
            run: None,
            full_sync_requested: false,
            verify_requested: false,
            verify_state: VerifyState::Never,
            verify_differences: 0,
            verified_at: None,
        }
    }
}

/// A step refused because it does not fit the state (a `finish` for a run that was replaced).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub String);

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

/// How a range marker moves its type's progress: a range that overlaps nothing walked adds what
/// its batch left held; one that overlaps (a retry, a restarted walk) needs the held objects of
/// the union of the ranges counted again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    Add,
    Recount { from: i64, to: i64 },
}

impl ContentSyncState {
    /// A platform user, or the plugin after its queue overflowed, asks for a full sync; the
    /// plugin sees it in `content/status/` and starts one.
    pub fn request_full_sync(&mut self) {
        self.full_sync_requested = true;
    }

    /// A new run replaces any unfinished one and answers the request.
    pub fn start_run(&mut self, run_id: &str, totals: BTreeMap<String, u64>, now: DateTime<Utc>) {
        self.full_sync_requested = false;
        self.run = Some(FullSyncRun {
            run_id: run_id.to_owned(),
            status: RunStatus::Running,
            started_at: now,
            finished_at: None,
            totals,
            done: BTreeMap::new(),
            walked: BTreeMap::new(),
        });
    }

    /// Ends the current run; finishing it again is harmless, finishing another is refused.
    pub fn finish_run(&mut self, run_id: &str, now: DateTime<Utc>) -> Result<(), Refused> {
        match self.run.as_mut() {
            Some(run) if run.run_id == run_id => {
                if run.status == RunStatus::Running {
                    run.status = RunStatus::Done;
                    run.finished_at = Some(now);
                }
                Ok(())
            }
            _ => Err(Refused(format!(
                "full sync run '{run_id}' is not the current one; start a new run"
            ))),
        }
    }

    /// How `marker` moves progress; `None` when it belongs to no running run.
    pub fn range_progress(&self, marker: &RangeMarker) -> Option<Progress> {
        let run = self.run.as_ref()?;
        if run.status != RunStatus::Running || marker.run_id.as_deref() != Some(&run.run_id) {
            return None;
        }
        let (mut from, mut to, mut overlaps) = (marker.from_id, marker.to_id, false);
        for w in run.walked.get(&marker.key()).into_iter().flatten() {
            if w.from <= marker.to_id && marker.from_id <= w.to {
                overlaps = true;
                from = from.min(w.from);
                to = to.max(w.to);
            }
        }
        Some(if overlaps {
            Progress::Recount { from, to }
        } else {
            Progress::Add
        })
    }

    /// Records that the platform holds `held` objects of the marker's type in `[from, to]` (the
    /// marker's range, or the union `Recount` named).
    pub fn record_range(&mut self, marker: &RangeMarker, from: i64, to: i64, held: u64) {
        let Some(run) = self.run.as_mut() else { return };
        let key = marker.key();
        let walked = run.walked.entry(key.clone()).or_default();
        walked.retain(|w| w.to < from || to < w.from);
        walked.push(Walked { from, to, held });
        walked.sort_by_key(|w| w.from);
        // Adjacent ranges merge, so a walk in order keeps one range per type.
        let mut merged: Vec<Walked> = Vec::with_capacity(walked.len());
        for w in walked.drain(..) {
            match merged.last_mut() {
                Some(last) if last.to.checked_add(1) == Some(w.from) => {
                    last.to = w.to;
                    last.held += w.held;
                }
                _ => merged.push(w),
            }
        }
        let done = merged.iter().map(|w| w.held).sum();
        *walked = merged;
        run.done.insert(key, done);
    }

    /// The dashboard's "Verify now": the plugin sees it in `content/status/`.
    pub fn request_verify(&mut self) {
        self.verify_requested = true;
        self.verify_state = VerifyState::Checking;
        self.verify_differences = 0;
    }

    /// The plugin sent checksums: a verification is under way (a new round unless one is).
    pub fn verify_started(&mut self) {
        if self.verify_state != VerifyState::Checking {
            self.verify_differences = 0;
        }
        self.verify_requested = false;
        self.verify_state = VerifyState::Checking;
    }

    pub fn verify_found(&mut self, differences: u64) {
        self.verify_differences += differences;
    }

    /// The plugin sent checksums (a type's buckets, or one bucket's items) and `differences` of
    /// them differed: counted in the verification under way, started if none is.
    pub fn verify_compared(&mut self, differences: u64) {
        self.verify_started();
        self.verify_found(differences);
    }

    /// The plugin compared everything: in sync when nothing differed.
    pub fn verify_done(&mut self, now: DateTime<Utc>) {
        self.verify_requested = false;
        self.verify_state = if self.verify_differences == 0 {
            VerifyState::InSync
        } else {
            VerifyState::OutOfSync
        };
        self.verified_at = Some(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_statuses_read_and_write_the_words_the_store_keeps() {
        for (status, word) in [
            (SyncStatus::Never, "never"),
            (SyncStatus::Success, "success"),
            (SyncStatus::Partial, "partial"),
        ] {
            assert_eq!(SyncStatus::parse(word), Some(status));
            assert_eq!(status.to_string(), word);
            assert_eq!(serde_json::to_value(status).unwrap(), word);
            assert_eq!(
                serde_json::from_value::<SyncStatus>(word.into()).unwrap(),
                status
            );
            assert_eq!(SyncStatus::try_from(word.to_owned()).unwrap(), status);
        }
        assert_eq!(SyncStatus::parse("Success"), None);
        let unknown = SyncStatus::try_from("error".to_owned()).unwrap_err();
        assert_eq!(unknown.to_string(), r#"unknown sync status "error""#);
    }
    use crate::content::ItemKind;
    use crate::names::{TypeKind, TypeName};

    fn marker(run: &str, from: i64, to: i64) -> RangeMarker {
        RangeMarker {
            run_id: Some(run.into()),
            kind: ItemKind::Post,
            type_name: TypeName::parse(TypeKind::PostType, "post").unwrap(),
            from_id: from,
            to_id: to,
        }
    }

    #[test]
    fn a_run_counts_progress_marker_by_marker_in_any_order() {
        let now = Utc::now();
        let mut s = ContentSyncState::default();
        s.request_full_sync();
        s.start_run("r1", BTreeMap::from([("post:post".into(), 1000)]), now);
        assert!(!s.full_sync_requested);
        let done = |s: &ContentSyncState| s.run.as_ref().unwrap().done["post:post"];
        assert_eq!(s.range_progress(&marker("r1", 1, 500)), Some(Progress::Add));
        s.record_range(&marker("r1", 1, 500), 1, 500, 480);
        // A later range arrives before the one in between.
        assert_eq!(
            s.range_progress(&marker("r1", 801, 900)),
            Some(Progress::Add)
        );
        s.record_range(&marker("r1", 801, 900), 801, 900, 100);
        s.record_range(&marker("r1", 501, 800), 501, 800, 290);
        assert_eq!(done(&s), 870);
        assert_eq!(
            s.run.as_ref().unwrap().walked["post:post"],
            vec![Walked {
                from: 1,
                to: 900,
                held: 870
            }],
            "adjacent ranges merge"
        );
        // A retry of a walked range, or a restarted walk with other bounds, is counted again.
        assert_eq!(
            s.range_progress(&marker("r1", 1, 500)),
            Some(Progress::Recount { from: 1, to: 900 })
        );
        s.record_range(&marker("r1", 1, 500), 1, 900, 869);
        assert_eq!(done(&s), 869);
        assert_eq!(s.range_progress(&marker("old", 901, 1000)), None);
        let run = s.run.clone().unwrap();
        assert_eq!(run.progress(), vec![("post:post".into(), 869, 1000)]);
        assert!(s.finish_run("other", now).is_err());
        s.finish_run("r1", now).unwrap();
        s.finish_run("r1", now).unwrap();
        assert_eq!(s.run.as_ref().unwrap().status, RunStatus::Done);
        assert_eq!(s.range_progress(&marker("r1", 901, 1000)), None);
    }

    #[test]
    fn a_verification_is_in_sync_only_when_nothing_differed() {
        let now = Utc::now();
        let mut s = ContentSyncState::default();
        s.request_verify();
        assert_eq!(
            (s.verify_requested, s.verify_state),
            (true, VerifyState::Checking)
        );
        s.verify_started();
        s.verify_done(now);
        assert_eq!(s.verify_state, VerifyState::InSync);
        s.verify_started();
        s.verify_found(2);
        s.verify_started();
        s.verify_done(now);
        assert_eq!(
            (s.verify_state, s.verify_differences),
            (VerifyState::OutOfSync, 2)
        );
        s.verify_started();
        assert_eq!(s.verify_differences, 0, "a new round starts from zero");
    }

    #[test]
    fn compared_checksums_add_their_differences_to_the_round_under_way() {
        let mut s = ContentSyncState::default();
        s.request_verify();
        s.verify_compared(2);
        s.verify_compared(0);
        s.verify_compared(3);
        assert_eq!(
            (s.verify_requested, s.verify_state, s.verify_differences),
            (false, VerifyState::Checking, 5)
        );
        s.verify_done(Utc::now());
        s.verify_compared(1);
        assert_eq!(
            (s.verify_state, s.verify_differences),
            (VerifyState::Checking, 1),
            "after a finished round, the next comparison starts a new one"
        );
    }
}
