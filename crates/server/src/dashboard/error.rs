//! The dashboard's one error type: each case becomes a friendly page (or the redirect to sign-in).
//! Internal details go to the log, never to the page.

use askama::Template;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use igny8_store::StoreError;

use super::view::Chrome;

#[derive(Debug)]
pub enum PageError {
    /// No valid session: go to the sign-in page.
    SignInRequired,
    /// An unknown page, or another account's site: the same answer for both.
    NotFound,
    /// A form without the right CSRF token, or from another origin.
    BadForm,
    /// Every password hashing turn is taken: try again in a second.
    Busy,
    /// The database cannot be reached for now: try again in a few seconds.
    StoreUnavailable,
    Internal(anyhow::Error),
}

impl PageError {
    /// An unexpected failure, unless it is an unreachable store wrapped on the way.
    pub fn internal(e: impl Into<anyhow::Error>) -> Self {
        let e = e.into();
        match e.downcast_ref::<StoreError>() {
            Some(StoreError::Unavailable(_)) => Self::StoreUnavailable,
            _ => Self::Internal(e),
        }
    }
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => PageError::NotFound,
            e => PageError::internal(e),
        }
    }
}

impl From<askama::Error> for PageError {
    fn from(e: askama::Error) -> Self {
        PageError::internal(e)
    }
}

#[derive(Template)]
#[template(path = "dashboard/error.html")]
struct ErrorPage {
    chrome: Chrome,
    heading: &'static str,
    message: &'static str,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, heading, message) = match &self {
            PageError::SignInRequired => return Redirect::to("/login").into_response(),
            PageError::NotFound => (
                StatusCode::NOT_FOUND,
                "Page not found",
                "There is nothing here, or it belongs to another account.",
            ),
            PageError::BadForm => (
                StatusCode::FORBIDDEN,
                "This form could not be accepted",
                "It has expired or did not come from this dashboard. Go back, reload the page and try again.",
            ),
            PageError::Busy => (
                StatusCode::SERVICE_UNAVAILABLE,
                "The server is busy",
                "It is signing many people in at once. Go back and try again in a moment.",
            ),
            PageError::StoreUnavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "The database is unavailable for a moment",
                "Go back and try again in a few seconds.",
            ),
            PageError::Internal(e) => {
                tracing::error!(error = %format!("{e:#}"), "dashboard: internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "Something went wrong on our side. Try again in a moment.",
                )
            }
        };
        let page = ErrorPage {
            chrome: Chrome::anonymous(),
            heading,
            message,
        };
        let mut response = match page.render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(e) => {
                tracing::error!(error = %e, "dashboard: the error page did not render");
                (status, message).into_response()
            }
        };
        let retry_after = match self {
            PageError::Busy => Some(1),
            PageError::StoreUnavailable => Some(crate::state::STORE_RETRY_AFTER_SECS),
            _ => None,
        };
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreachable_store_shows_a_page_to_retry() {
        let page = PageError::from(StoreError::Unavailable("connection refused".into()));
        let response = page.into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "5");
        let other = PageError::from(StoreError::Database("syntax error".into())).into_response();
        assert_eq!(other.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
