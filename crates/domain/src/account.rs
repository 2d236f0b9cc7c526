//! Accounts and users: the newtypes an email, a password and a name become at the edge.

use crate::validation::FieldErrors;

/// A normalised email address (trimmed, lowercased), the user's unique sign-in name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let email = raw.trim().to_lowercase();
        let valid = email.len() <= 254
            && email.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains('@')
            })
            && !email
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || "<>\"'".contains(c));
        if valid {
            Ok(Self(email))
        } else {
            Err("must be an email address such as you@example.com".into())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password as typed; never logged or stored, only hashed.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub const MIN_CHARS: usize = 8;
    pub const MAX_BYTES: usize = 1024;

    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.chars().count() < Self::MIN_CHARS {
            return Err(format!("must be at least {} characters", Self::MIN_CHARS));
        }
        if raw.len() > Self::MAX_BYTES {
            return Err(format!("must be at most {} bytes", Self::MAX_BYTES));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password([redacted])")
    }
}

/// A display name for an account or site: trimmed, 1..=200 characters, no control characters.
pub fn parse_name(raw: &str) -> Result<String, String> {
    let name = raw.trim();
    if name.is_empty() {
        return Err("must not be empty".into());
    }
    if name.chars().count() > 200 {
        return Err("must be at most 200 characters".into());
    }
    if name.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    Ok(name.to_owned())
}

/// A site's public address: an absolute http(s) URL without credentials, at most 2,000 bytes.
pub fn parse_site_url(raw: &str) -> Result<String, String> {
    let url = raw.trim().trim_end_matches('/');
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or("must start with http:// or https://")?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty() || host.contains('@') {
        return Err("must name a host, without user or password".into());
    }
    if url.len() > 2000
        || url
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>\"'".contains(c))
    {
        return Err("is not a valid URL".into());
    }
    Ok(url.to_owned())
}

/// Parses the sign-up triple at once, so a form can show every problem together.
pub fn parse_signup(
    email: &str,
    password: &str,
    account_name: &str,
) -> Result<(Email, Password, String), FieldErrors> {
    let mut errors = FieldErrors::new();
    let email = Email::parse(email).map_err(|e| errors.add("email", e)).ok();
    let password = Password::parse(password)
        .map_err(|e| errors.add("password", e))
        .ok();
    let name = parse_name(account_name)
        .map_err(|e| errors.add("account_name", e))
        .ok();
    match (email, password, name) {
        (Some(e), Some(p), Some(n)) if errors.is_empty() => Ok((e, p, n)),
        _ => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            Email::parse(" Ann@Example.COM ").unwrap().as_str(),
            "ann@example.com"
        );
        for bad in [
            "",
            "ann",
            "ann@",
            "@x.com",
            "ann@x",
            "a b@x.com",
            "<a>@x.com",
            "a@x.com.",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn passwords_have_bounds_and_never_print() {
        assert!(Password::parse("short").is_err());
        assert!(Password::parse(&"x".repeat(2000)).is_err());
        let p = Password::parse("correct horse").unwrap();
        assert!(!format!("{p:?}").contains("horse"));
    }

    #[test]
    fn site_urls_are_absolute_http() {
        assert_eq!(
            parse_site_url("https://example.com/").unwrap(),
            "https://example.com"
        );
        assert!(parse_site_url("example.com").is_err());
        assert!(parse_site_url("javascript:alert(1)").is_err());
        assert!(parse_site_url("http://user:pw@example.com").is_err());
        assert!(parse_site_url("http://exa mple.com").is_err());
    }
}
