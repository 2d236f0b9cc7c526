//! Who is signed in to the dashboard, and which forms are genuine. A session is a signed token
//! (`TokenKind::Session`) in an HttpOnly cookie, valid until it expires or the user signs out (which
//! moves the user's session epoch on); every form carries a CSRF token derived from the
//! cookie that keys it (the session, or before sign-in a random per-browser cookie), so a page on
//! another site can neither read nor compute it.

use axum::body::Body;
use axum::extract::{FromRequestParts, MatchedPath, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use chrono::Utc;
use hmac::{Hmac, Mac};
use igny8_store::User;
use rand::Rng;
use sha2::Sha256;

use super::view::Chrome;
use super::PageError;
use crate::auth::jwt::TokenKind;
use crate::AppState;

pub const SESSION_COOKIE: &str = "igny8_session";
/// Keys the CSRF token of the forms shown before sign-in (first-run setup, sign-in).
pub const FORM_COOKIE: &str = "igny8_form";
/// Largest form body the dashboard reads: a post's edit form carries its content, which may be as
/// large as a content batch allows.
pub const MAX_FORM_BYTES: usize = igny8_domain::content::MAX_BATCH_BYTES;
/// Every other form (sign-in, settings, keys, choices) is a few fields: its body is read only up to
/// this, so a stranger cannot make the server hold a post-sized body per connection.
pub const SMALL_FORM_BYTES: usize = 64 * 1024;
/// The routes whose forms carry a post's content (the router names them through these).
pub const NEW_POST_FORM: &str = "/sites/{id}/content/new";
pub const EDIT_POST_FORM: &str = "/sites/{id}/content/{type}/{wp_id}";
const POST_FORMS: [&str; 2] = [NEW_POST_FORM, EDIT_POST_FORM];

/// How much of a form's body is read, by the route it was posted to.
fn form_limit(route: Option<&MatchedPath>) -> usize {
    match route {
        Some(route) if POST_FORMS.contains(&route.as_str()) => MAX_FORM_BYTES,
        _ => SMALL_FORM_BYTES,
    }
}

/// The value of a request cookie.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// The CSRF token of forms keyed by `key` (a cookie's value).
fn csrf_token(key: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(b"igny8 dashboard csrf")
        .expect("HMAC takes keys of any length");
    mac.update(key.as_bytes());
    B64.encode(mac.finalize().into_bytes())
}

/// The cookie that keys a request's forms: the session when there is one, else the form cookie.
fn form_key(headers: &HeaderMap) -> Option<&str> {
    cookie(headers, SESSION_COOKIE).or_else(|| cookie(headers, FORM_COOKIE))
}

fn set_cookie(state: &AppState, name: &str, value: &str, max_age: Option<u64>) -> HeaderValue {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if let Some(secs) = max_age {
        c.push_str(&format!("; Max-Age={secs}"));
    }
    if state.settings.secure_cookies {
        c.push_str("; Secure");
    }
    HeaderValue::from_str(&c).expect("cookie values are base64 and ASCII")
}

/// The CSRF token for a signed-out page, and the cookie to set when the browser has none yet.
pub fn anonymous_form(state: &AppState, headers: &HeaderMap) -> (String, Option<HeaderValue>) {
    match form_key(headers) {
        Some(key) => (csrf_token(key), None),
        None => {
            let bytes: [u8; 24] = rand::thread_rng().gen();
            let key = B64.encode(bytes);
            (
                csrf_token(&key),
                Some(set_cookie(state, FORM_COOKIE, &key, None)),
            )
        }
    }
}

/// Signs `user` in: the `Set-Cookie` value of a fresh session.
pub fn start_session(state: &AppState, user: &User) -> HeaderValue {
    let issued = state
        .tokens
        .issue(TokenKind::Session, user.into(), Utc::now());
    let ttl = state.tokens.ttl(TokenKind::Session).as_secs();
    set_cookie(state, SESSION_COOKIE, &issued.token, Some(ttl))
}

/// Signs out: the user's sessions everywhere end (a copy of this cookie stops working too), and the
/// `Set-Cookie` value that removes this one.
pub async fn end_session(
    state: &AppState,
    me: Option<&SignedIn>,
) -> Result<HeaderValue, PageError> {
    if let Some(me) = me {
        state.store.end_sessions(me.user.id).await?;
    }
    Ok(set_cookie(state, SESSION_COOKIE, "", Some(0)))
}

/// A signed-in user; handlers that take it answer signed-out visitors with a redirect to /login.
pub struct SignedIn {
    pub user: User,
    /// The token this session's forms carry.
    pub csrf: String,
}

impl SignedIn {
    pub fn chrome(&self) -> Chrome {
        Chrome {
            email: Some(self.user.email.clone()),
            csrf: self.csrf.clone(),
        }
    }

    /// The user's session, if the request carries a valid one for a user that still exists.
    pub async fn from_headers(
        state: &AppState,
        headers: &HeaderMap,
    ) -> Result<Option<Self>, PageError> {
        let Some(token) = cookie(headers, SESSION_COOKIE) else {
            return Ok(None);
        };
        let Ok(claims) = state.tokens.verify(token, TokenKind::Session, Utc::now()) else {
            return Ok(None);
        };
        let user = state.store.user_by_id(claims.sub).await?;
        Ok(user
            .filter(|u| u.account_id == claims.acc && u.session_epoch == claims.ses)
            .map(|user| SignedIn {
                user,
                csrf: csrf_token(token),
            }))
    }
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Self::from_headers(state, &parts.headers)
            .await?
            .ok_or(PageError::SignInRequired)
    }
}

/// Refuses every dashboard request that changes something unless its form carries the CSRF token
/// of the cookie that keys it, and (when the browser says) comes from this same origin.
pub async fn csrf_guard(req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    // A form without the cookie that keys its token cannot pass: refused before its body is read.
    if !same_origin(req.headers()) || form_key(req.headers()).is_none() {
        return PageError::BadForm.into_response();
    }
    let (parts, body) = req.into_parts();
    let limit = form_limit(parts.extensions.get::<MatchedPath>());
    let Ok(bytes) = axum::body::to_bytes(body, limit).await else {
        return PageError::BadForm.into_response();
    };
    let presented = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
        .ok()
        .and_then(|fields| {
            fields
                .into_iter()
                .find(|(k, _)| k == "csrf")
                .map(|(_, v)| v)
        });
    let genuine = match (form_key(&parts.headers), presented) {
        (Some(key), Some(presented)) => {
            constant_time_eq(csrf_token(key).as_bytes(), presented.as_bytes())
        }
        _ => false,
    };
    if !genuine {
        tracing::warn!(
            path = parts.uri.path(),
            "dashboard: form refused (CSRF token missing or wrong)"
        );
        return PageError::BadForm.into_response();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// Browsers name the page a form came from; one from another site is refused outright.
fn same_origin(headers: &HeaderMap) -> bool {
    if headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) == Some("cross-site") {
        return false;
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let origin_host = origin.to_str().ok().and_then(|o| {
        o.strip_prefix("http://")
            .or_else(|| o.strip_prefix("https://"))
    });
    matches!((origin_host, host), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn cookies_are_found_among_others() {
        let h = headers(&[
            ("cookie", "a=1; igny8_session=tok.en.sig ; b=2"),
            ("cookie", "igny8_form=f"),
        ]);
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("tok.en.sig"));
        assert_eq!(cookie(&h, FORM_COOKIE), Some("f"));
        assert_eq!(cookie(&h, "missing"), None);
        assert_eq!(
            form_key(&h),
            Some("tok.en.sig"),
            "the session keys forms when present"
        );
    }

    #[test]
    fn csrf_tokens_differ_per_key() {
        assert_eq!(csrf_token("a"), csrf_token("a"));
        assert_ne!(csrf_token("a"), csrf_token("b"));
    }

    #[test]
    fn forms_from_other_origins_are_refused() {
        assert!(same_origin(&headers(&[("host", "127.0.0.1:8000")])));
        assert!(same_origin(&headers(&[
            ("host", "127.0.0.1:8000"),
            ("origin", "http://127.0.0.1:8000")
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "127.0.0.1:8000"),
            ("origin", "http://evil.example")
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "127.0.0.1:8000"),
            ("origin", "null")
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "a"),
            ("sec-fetch-site", "cross-site")
        ])));
    }
}
