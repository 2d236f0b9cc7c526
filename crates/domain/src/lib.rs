//! The platform's domain: what a site structure, synced content, an API key, an account are, and
//! the rules on them (staleness, checksums, sync state).
//! Pure types and functions: no I/O, so every rule is reachable from a unit test.

pub mod account;
pub mod api_key;
pub mod changes;
pub mod checksum;
pub mod content;
pub mod names;
pub mod site_url;
pub mod structure;
pub mod validation;

pub use validation::FieldErrors;
