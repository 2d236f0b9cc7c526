//! Field-path validation errors: what a 422 answer lists, one human reason per problem.

use std::collections::BTreeMap;

/// Problems found in one input, keyed by field path (`post_types.book.count`).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FieldErrors(BTreeMap<String, Vec<String>>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, path: impl Into<String>, why: impl Into<String>) {
        self.0.entry(path.into()).or_default().push(why.into());
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_map(self) -> BTreeMap<String, Vec<String>> {
        self.0
    }

    pub fn as_map(&self) -> &BTreeMap<String, Vec<String>> {
        &self.0
    }

    /// `Ok(value)` when nothing was found, else the collected errors.
    pub fn into_result<T>(self, value: T) -> Result<T, FieldErrors> {
        if self.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }

    /// A single-problem error, for inputs with one field.
    pub fn single(path: impl Into<String>, why: impl Into<String>) -> Self {
        let mut e = Self::new();
        e.add(path, why);
        e
    }
}

impl std::fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut first = true;
        for (path, whys) in &self.0 {
            for why in whys {
                if !first {
                    f.write_str("; ")?;
                }
                first = false;
                write!(f, "{path}: {why}")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for FieldErrors {}
