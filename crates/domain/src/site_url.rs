//! The address a WordPress site reports it runs at (the plugin's `X-Igny8-Site-Url` header), and when
//! two addresses are the same site: how a staging copy or a moved site is told from the original.
//!
//! Two addresses are the same site when they differ only in scheme (a site that moved to https is not
//! a copy), a leading `www.`, letter case of the host, a default port (80, 443) or trailing slashes,
//! as Jetpack's "identity crisis" compares them. The plugin compares with the same rule
//! (`igny8_identity_normalize`, igny8-wp-plugin/sync/identity.php); docs/sync-protocol.md states it.

use std::fmt;

use crate::account::parse_site_url;

/// The header the plugin reports its address in (the value of `get_option('home')`).
pub const HEADER: &str = "x-igny8-site-url";

/// A reported site address: an absolute http(s) URL without credentials, query or fragment, at most
/// 2,000 bytes, with none of the characters that would need escaping in an HTML attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteUrl(String);

impl SiteUrl {
    /// Parses a reported address; the error is a sentence for the `errors` of a 422.
    pub fn parse(raw: &str) -> Result<SiteUrl, String> {
        let raw = raw.trim();
        // The scheme's case does not matter (RFC 3986 §3.1); `parse_site_url` wants it lowercase.
        let url = match ["https://", "http://"]
            .into_iter()
            .find_map(|scheme| strip_prefix_ignore_case(raw, scheme).map(|rest| (scheme, rest)))
        {
            Some((scheme, rest)) => parse_site_url(&format!("{scheme}{rest}"))?,
            None => parse_site_url(raw)?,
        };
        if url.contains(['?', '#', '\\', '`']) {
            return Err("must be the site's address without query or fragment".into());
        }
        Ok(SiteUrl(url))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }

    /// Whether `known` (an address stored earlier) is the same site as this one.
    pub fn same_site(&self, known: &str) -> bool {
        comparison_key(&self.0) == comparison_key(known)
    }
}

impl fmt::Display for SiteUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a request that reports `reported` means for an integration that knows the address `known`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The known address, or no address reported (a plugin too old to report one).
    Accepted,
    /// The integration knows no address yet: the reported one becomes its own.
    Adopt,
    /// Another address: a staging copy or a moved site, refused until its owner chooses.
    Mismatch,
}

pub fn judge(reported: Option<&SiteUrl>, known: Option<&str>) -> Verdict {
    match (reported, known) {
        (None, _) => Verdict::Accepted,
        (Some(_), None) => Verdict::Adopt,
        (Some(reported), Some(known)) if reported.same_site(known) => Verdict::Accepted,
        (Some(_), Some(_)) => Verdict::Mismatch,
    }
}

/// The form addresses are compared in: host (lowercase, without `www.` and a default port) and path
/// (without trailing slashes); no scheme, query or fragment. `https://WWW.Example.com:443/blog/` and
/// `http://example.com/blog` are both `example.com/blog`.
pub fn comparison_key(url: &str) -> String {
    let url = url.trim();
    let rest = strip_prefix_ignore_case(url, "https://")
        .or_else(|| strip_prefix_ignore_case(url, "http://"))
        .unwrap_or(url);
    let rest = rest.split(['?', '#']).next().unwrap_or("");
    let (host, path) = match rest.find('/') {
        Some(at) => rest.split_at(at),
        None => (rest, ""),
    };
    let host = host.to_ascii_lowercase();
    let host = host.strip_prefix("www.").unwrap_or(&host);
    let host = host
        .strip_suffix(":80")
        .or_else(|| host.strip_suffix(":443"))
        .unwrap_or(host);
    format!("{host}{}", path.trim_end_matches('/'))
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    s.get(..prefix.len())
        .filter(|head| head.eq_ignore_ascii_case(prefix))
        .map(|_| &s[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheme_www_case_default_ports_and_trailing_slashes_do_not_make_another_site() {
        let live = SiteUrl::parse("https://www.example.com/blog/").unwrap();
        assert_eq!(live.as_str(), "https://www.example.com/blog");
        for same in [
            "http://example.com/blog",
            "https://EXAMPLE.com/blog//",
            "https://www.example.com:443/blog",
            "http://example.com:80/blog/",
            "HTTPS://Example.COM/blog",
        ] {
            assert!(live.same_site(same), "{same}");
        }
        assert_eq!(
            comparison_key("https://WWW.Example.com:443/blog/"),
            "example.com/blog"
        );
    }

    #[test]
    fn another_host_port_or_path_is_another_site() {
        let live = SiteUrl::parse("https://example.com/blog").unwrap();
        for other in [
            "https://staging.example.com/blog",
            "https://example.com:8443/blog",
            "https://example.com",
            "https://example.com/Blog",
            "https://example.com/blog/staging",
            "https://example.co/blog",
            "https://wwwexample.com/blog",
        ] {
            assert!(!live.same_site(other), "{other}");
        }
        assert!(SiteUrl::parse("http://127.0.0.1:8080")
            .unwrap()
            .same_site("http://127.0.0.1:8080/"));
        assert!(!SiteUrl::parse("http://127.0.0.1:8080")
            .unwrap()
            .same_site("http://localhost:8080"));
    }

    #[test]
    fn the_first_reported_address_is_adopted_and_another_one_refused() {
        let live = SiteUrl::parse("https://example.com").unwrap();
        let staging = SiteUrl::parse("https://staging.example.com").unwrap();
        assert_eq!(judge(None, Some("https://example.com")), Verdict::Accepted);
        assert_eq!(judge(None, None), Verdict::Accepted);
        assert_eq!(judge(Some(&live), None), Verdict::Adopt);
        assert_eq!(
            judge(Some(&live), Some("http://www.example.com/")),
            Verdict::Accepted
        );
        assert_eq!(
            judge(Some(&staging), Some("https://example.com")),
            Verdict::Mismatch
        );
    }

    #[test]
    fn only_plain_http_addresses_are_reported_addresses() {
        for bad in [
            "",
            "example.com",
            "javascript:alert(1)",
            "ftp://example.com",
            "data:text/html,<script>alert(1)</script>",
            "https://user:pw@example.com",
            "https://example.com/\"><script>alert(1)</script>",
            "https://example.com/?p=1",
            "https://example.com/#top",
            "https://exa mple.com",
            "https://example.com/a\\b",
            "https://example.com/\u{0}",
            "https://",
        ] {
            assert!(SiteUrl::parse(bad).is_err(), "{bad:?}");
        }
        let long = format!("https://example.com/{}", "a".repeat(2_000));
        assert!(SiteUrl::parse(&long).is_err());
        assert!(SiteUrl::parse("https://blog.example/a&b").is_ok());
        assert_eq!(
            SiteUrl::parse("HTTPS://Blog.example/").unwrap().as_str(),
            "https://Blog.example"
        );
        assert!(SiteUrl::parse("https://bücher.example/").is_ok());
    }
}
