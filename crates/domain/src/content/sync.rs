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
    /// …how many the platform holds of those walked so far…
    pub done: BTreeMap<String, u64>,
    /// …and the last id walked, so the next range marker in order just adds its items.
    pub cursors: BTreeMap<String, i64>,
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

/// How a range marker moves its type's progress: a marker that continues where the last one
/// ended adds its items to `done`; any other (a retry, a restart) needs the held objects up to
/// `to_id` counted again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    Add(u64),
    Recount,
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
            cursors: BTreeMap::new(),
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
        let key = marker.key();
        let continues = match run.cursors.get(&key) {
            Some(cursor) => marker.from_id == cursor + 1,
            None => marker.from_id <= 1,
        };
        Some(if continues {
            Progress::Add(run.done.get(&key).copied().unwrap_or(0))
        } else {
            Progress::Recount
        })
    }

    /// Records that the platform holds `done` objects of the marker's type up to its `to_id`.
    pub fn record_range(&mut self, marker: &RangeMarker, done: u64) {
        if let Some(run) = self.run.as_mut() {
            let key = marker.key();
            run.done.insert(key.clone(), done);
            run.cursors.insert(key, marker.to_id);
        }
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
    fn a_run_counts_progress_marker_by_marker() {
        let now = Utc::now();
        let mut s = ContentSyncState::default();
        s.request_full_sync();
        s.start_run("r1", BTreeMap::from([("post:post".into(), 1000)]), now);
        assert!(!s.full_sync_requested);
        assert_eq!(
            s.range_progress(&marker("r1", 1, 500)),
            Some(Progress::Add(0))
        );
        s.record_range(&marker("r1", 1, 500), 480);
        assert_eq!(
            s.range_progress(&marker("r1", 501, 900)),
            Some(Progress::Add(480))
        );
        // A retry of the first marker, or a marker of another run, does not just add.
        assert_eq!(
            s.range_progress(&marker("r1", 1, 500)),
            Some(Progress::Recount)
        );
        assert_eq!(s.range_progress(&marker("old", 501, 900)), None);
        s.record_range(&marker("r1", 501, 900), 880);
        let run = s.run.clone().unwrap();
        assert_eq!(run.progress(), vec![("post:post".into(), 880, 1000)]);
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
}
