//! WordPress's names for post types and taxonomies, checked by WordPress's own rules.

use std::fmt;

/// Which of WordPress's two structural kinds a name belongs to; each has its own length limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TypeKind {
    PostType,
    Taxonomy,
}

impl TypeKind {
    /// `register_post_type()` refuses keys over 20 characters, `register_taxonomy()` over 32.
    pub fn max_len(self) -> usize {
        match self {
            TypeKind::PostType => 20,
            TypeKind::Taxonomy => 32,
        }
    }

    /// The key of this kind's map in payloads and in `config_json.content_types`.
    pub fn field(self) -> &'static str {
        match self {
            TypeKind::PostType => "post_types",
            TypeKind::Taxonomy => "taxonomies",
        }
    }

    pub const ALL: [TypeKind; 2] = [TypeKind::PostType, TypeKind::Taxonomy];
}

/// A post type or taxonomy key: 1..=max_len of lowercase ASCII letters, digits, `_` and `-`
/// (what `sanitize_key()` leaves).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TypeName(String);

impl TypeName {
    pub fn parse(kind: TypeKind, raw: &str) -> Result<Self, String> {
        if raw.is_empty() {
            return Err("must not be empty".into());
        }
        if raw.len() > kind.max_len() {
            return Err(format!(
                "must be at most {} characters (WordPress's limit)",
                kind.max_len()
            ));
        }
        if !raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        {
            return Err("may hold only lowercase letters, digits, '_' and '-'".into());
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TypeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn post_type_names_follow_wordpress_rules() {
        assert!(TypeName::parse(TypeKind::PostType, "product").is_ok());
        assert!(TypeName::parse(TypeKind::PostType, "my-type_2").is_ok());
        assert!(TypeName::parse(TypeKind::PostType, "").is_err());
        assert!(TypeName::parse(TypeKind::PostType, "Product").is_err());
        assert!(TypeName::parse(TypeKind::PostType, "a b").is_err());
        assert!(TypeName::parse(TypeKind::PostType, "<script>").is_err());
        assert!(TypeName::parse(TypeKind::PostType, &"a".repeat(20)).is_ok());
        assert!(TypeName::parse(TypeKind::PostType, &"a".repeat(21)).is_err());
        assert!(TypeName::parse(TypeKind::Taxonomy, &"a".repeat(32)).is_ok());
        assert!(TypeName::parse(TypeKind::Taxonomy, &"a".repeat(33)).is_err());
        assert!(TypeName::parse(TypeKind::Taxonomy, "é").is_err());
    }
}
