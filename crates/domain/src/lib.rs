//! The platform's domain: what a site structure, synced content, an API key, an account are, and
//! the rules on them (staleness, checksums, sync state).
//! Pure types and functions: no I/O, so every rule is reachable from a unit test.

/// An enum of words the stores keep and the API shows: each variant, its word, `ALL`, `as_str`,
/// `parse` and `Display`, written once.
macro_rules! string_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $text:literal),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),* }
            }

            pub fn parse(raw: &str) -> Option<Self> {
                match raw { $($text => Some($name::$variant),)* _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

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
