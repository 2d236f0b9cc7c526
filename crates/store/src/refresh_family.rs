//! The rule of refresh token rotation, written once for both stores. A family is the chain of
//! refresh tokens since one sign-in; the store keeps its current token. Presenting the current one
//! spends it for its successor; presenting any other (a spent token used again: someone holds a
//! copy) ends the family, so neither the thief's nor the owner's next refresh works.

use chrono::{DateTime, Utc};

/// A refresh token presented for rotation.
#[derive(Debug, Clone, Copy)]
pub struct RefreshRotation<'a> {
    /// The family's id: the id of its first token (the one a sign-in issued).
    pub family: &'a str,
    /// The presented token's id (`jti`).
    pub presented: &'a str,
    /// The id of the token issued in its place.
    pub next: &'a str,
    pub user_id: i64,
    /// When the new token expires: the family is kept until then.
    pub expires_at: DateTime<Utc>,
    pub now: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RotationOutcome {
    /// The presented token was the family's current one; `next` is current now.
    Rotated,
    /// The presented token was spent (or its family ended, or is unknown): refused, family ended.
    Reused,
}

/// What the store holds of a family.
#[derive(Debug, Clone)]
pub struct FamilyRow {
    pub user_id: i64,
    pub current: String,
    pub ended: bool,
}

/// What to do with the stored family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Make `next` current (and keep the family until the new token expires).
    Rotate,
    /// Mark the family ended, and refuse.
    End,
    /// Refuse; nothing to write.
    Refuse,
}

/// The family's first token is current until the store has seen the family: a store inserts the
/// family with `current = presented` (when absent) only if `first_of_family` holds, then decides.
pub fn first_of_family(rotation: &RefreshRotation<'_>) -> bool {
    rotation.presented == rotation.family
}

/// The step for a presented token (`presented`, of `user_id`) given its stored family.
pub fn decide(row: Option<&FamilyRow>, presented: &str, user_id: i64) -> Step {
    match row {
        None => Step::Refuse,
        Some(row) if row.ended => Step::Refuse,
        Some(row) if row.current == presented && row.user_id == user_id => Step::Rotate,
        Some(_) => Step::End,
    }
}

impl Step {
    pub fn outcome(self) -> RotationOutcome {
        match self {
            Step::Rotate => RotationOutcome::Rotated,
            Step::End | Step::Refuse => RotationOutcome::Reused,
        }
    }
}
