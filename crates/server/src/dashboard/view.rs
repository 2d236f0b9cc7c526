//! What every page shows the same way: the header (who is signed in, the sign-out form), times,
//! sites, and the short notices a page shows after a form was saved.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Utc};
use igny8_store::Site;

use super::PageError;

/// The page header: the signed-in user's email and the CSRF token of the sign-out form.
pub struct Chrome {
    pub email: Option<String>,
    pub csrf: String,
}

impl Chrome {
    pub fn anonymous() -> Self {
        Self {
            email: None,
            csrf: String::new(),
        }
    }
}

/// Renders a page with a status.
pub fn render(status: StatusCode, page: &impl Template) -> Result<Response, PageError> {
    Ok((status, Html(page.render()?)).into_response())
}

pub fn ok(page: &impl Template) -> Result<Response, PageError> {
    render(StatusCode::OK, page)
}

/// A time as a page shows it: machine-readable in `datetime`, readable as text.
pub struct Moment {
    pub iso: String,
    pub text: String,
}

impl Moment {
    pub fn new(t: DateTime<Utc>) -> Self {
        Self {
            iso: t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            text: t.format("%Y-%m-%d %H:%M UTC").to_string(),
        }
    }

    pub fn maybe(t: Option<DateTime<Utc>>) -> Option<Self> {
        t.map(Self::new)
    }
}

/// A site as its pages show it.
pub struct SiteView {
    pub id: i64,
    pub name: String,
    pub url: String,
    pub is_active: bool,
}

impl SiteView {
    pub fn new(site: &Site) -> Self {
        Self {
            id: site.id,
            name: site.name.clone(),
            url: site.url.clone(),
            is_active: site.is_active,
        }
    }

    /// Only http(s) addresses become links, whatever a row may hold.
    pub fn url_is_link(&self) -> bool {
        self.url.starts_with("https://") || self.url.starts_with("http://")
    }
}

/// The one-line confirmations a page shows after a redirect, named in the query (`?done=…`) so
/// nothing a visitor types is ever echoed.
pub fn notice(done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "site-added" => "Site added. Next: create an API key for the WordPress plugin below.",
        "site-activated" => "Site activated: it can push its structure again.",
        "site-deactivated" => {
            "Site deactivated: its plugin's pushes are refused until you activate it."
        }
        "key-revoked" => "API key revoked. Requests with it are refused from now on.",
        "settings-saved" => {
            "Sync settings saved. The plugin picks them up with its next structure sync."
        }
        "nothing-changed" => "Nothing was changed.",
        "full-sync-requested" => {
            "Full sync requested. The plugin starts it at its next check, within a few minutes."
        }
        "verify-requested" => {
            "Verification requested. The plugin compares checksums at its next check, within a few minutes."
        }
        "site-inactive" => "This site is deactivated: activate it before asking its plugin for anything.",
        "not-connected" => "The plugin is not connected yet: connect it first.",
        "change-queued" => {
            "Change sent to WordPress. It shows as Pending until WordPress applies it."
        }
        "already-queued" => {
            "This form was sent before: the change it queued is listed below, and nothing new was queued."
        }
        "nothing-to-send" => "Nothing changed: there was nothing to send to WordPress.",
        "trash-queued" => "Move to trash sent to WordPress. It shows as Pending until WordPress applies it.",
        "post-queued" => {
            "New post sent to WordPress. It shows as Pending until WordPress creates it."
        }
        "change-cancelled" => "Change cancelled: WordPress will not apply it.",
        "not-pending" => "That change is no longer pending, so it cannot be cancelled.",
        "conflict-resolved" => {
            "Conflict resolved: your choices went to WordPress as a new change."
        }
        "conflict-kept" => "Conflict resolved: WordPress's values were kept, so nothing was sent.",
        "policy-saved" => "Conflict policy saved. It applies to changes sent from now on.",
        "copy-dismissed" => {
            "Dismissed. The copy stays refused; it shows here again if it tries to sync again."
        }
        _ => return None,
    })
}

/// Problems with a submitted form, by field name, as the form shows them beside each field.
#[derive(Debug, Default)]
pub struct FormErrors(std::collections::BTreeMap<String, Vec<String>>);

impl FormErrors {
    pub fn add(&mut self, field: impl Into<String>, why: impl Into<String>) {
        self.0.entry(field.into()).or_default().push(why.into());
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The field's problems as one sentence.
    pub fn get(&self, field: &str) -> Option<String> {
        self.0.get(field).map(|whys| sentence(&whys.join("; ")))
    }

    pub fn merge(&mut self, other: FormErrors) {
        for (field, whys) in other.0 {
            self.0.entry(field).or_default().extend(whys);
        }
    }

    /// Every field with its problems as one sentence.
    pub fn all(&self) -> impl Iterator<Item = (&str, String)> {
        self.0
            .iter()
            .map(|(field, whys)| (field.as_str(), sentence(&whys.join("; "))))
    }
}

/// "must not be empty" → "Must not be empty."
fn sentence(why: &str) -> String {
    let mut chars = why.chars();
    match chars.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
        None => String::new(),
    }
}

impl From<igny8_domain::FieldErrors> for FormErrors {
    fn from(e: igny8_domain::FieldErrors) -> Self {
        Self(e.into_map())
    }
}

/// The address the plugin's "Backend URL" field needs: this server as the browser reached it.
pub fn backend_url(state: &crate::AppState, headers: &axum::http::HeaderMap) -> String {
    let scheme = if state.settings.secure_cookies {
        "https"
    } else {
        "http"
    };
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    format!("{scheme}://{host}")
}
