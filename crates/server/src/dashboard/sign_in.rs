//! Getting in and out: the first-run setup (the first account and user; the page is gone once a
//! user exists), sign-in (rate limited, the same answer for an unknown email and a wrong
//! password) and sign-out.

use std::net::SocketAddr;

use askama::Template;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use igny8_domain::account::parse_signup;
use igny8_store::{NewUser, StoreError};
use serde::Deserialize;

use super::session::{anonymous_form, end_session, start_session, SignedIn};
use super::view::{render, Chrome, FormErrors};
use super::PageError;
use crate::auth::password::HashError;
use crate::services::sign_in::{check_credentials, SignInError};
use crate::AppState;

#[derive(Template)]
#[template(path = "dashboard/setup.html")]
struct SetupPage {
    chrome: Chrome,
    email: String,
    account_name: String,
    errors: FormErrors,
}

#[derive(Template)]
#[template(path = "dashboard/login.html")]
struct LoginPage {
    chrome: Chrome,
    email: String,
    problem: Option<String>,
}

#[derive(Template)]
#[template(path = "dashboard/logout.html")]
struct LogoutPage {
    chrome: Chrome,
}

/// A signed-out page, with the cookie that keys its form when the browser had none.
fn anonymous_page(
    status: StatusCode,
    page: &impl Template,
    set_cookie: Option<HeaderValue>,
) -> Result<Response, PageError> {
    let mut response = render(status, page)?;
    if let Some(c) = set_cookie {
        response.headers_mut().append(header::SET_COOKIE, c);
    }
    Ok(response)
}

fn redirect_with_cookie(to: &str, cookie: HeaderValue) -> Response {
    let mut response = Redirect::to(to).into_response();
    response.headers_mut().append(header::SET_COOKIE, cookie);
    response
}

/// `/`: the first-run setup on a fresh install, else the sites (or sign-in first).
pub async fn start(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    if state.store.count_users().await? == 0 {
        let (csrf, cookie) = anonymous_form(&state, &headers);
        let page = SetupPage {
            chrome: Chrome { email: None, csrf },
            email: String::new(),
            account_name: String::new(),
            errors: FormErrors::default(),
        };
        return anonymous_page(StatusCode::OK, &page, cookie);
    }
    match SignedIn::from_headers(&state, &headers).await? {
        Some(_) => Ok(Redirect::to("/sites").into_response()),
        None => Ok(Redirect::to("/login").into_response()),
    }
}

#[derive(Deserialize)]
pub struct SetupForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_again: String,
    #[serde(default)]
    account_name: String,
}

/// Creates the first account and its user, then signs them in.
pub async fn set_up(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<SetupForm>,
) -> Result<Response, PageError> {
    if state.store.count_users().await? > 0 {
        return Ok(Redirect::to("/login").into_response());
    }
    let again_form = |errors: FormErrors| {
        let (csrf, cookie) = anonymous_form(&state, &headers);
        let page = SetupPage {
            chrome: Chrome { email: None, csrf },
            email: form.email.clone(),
            account_name: form.account_name.clone(),
            errors,
        };
        anonymous_page(StatusCode::UNPROCESSABLE_ENTITY, &page, cookie)
    };
    let (email, password, account_name) =
        match parse_signup(&form.email, &form.password, &form.account_name) {
            Ok(parsed) if form.password == form.password_again => parsed,
            Ok(_) => {
                let mut errors = FormErrors::default();
                errors.add("password_again", "does not match the password");
                return again_form(errors);
            }
            Err(e) => return again_form(e.into()),
        };
    let hash = match state.passwords.hash(password.expose()).await {
        Ok(hash) => hash,
        Err(HashError::Busy) => return Err(PageError::Busy),
        Err(HashError::Failed(e)) => return Err(PageError::Internal(e)),
    };
    let new = NewUser {
        email: email.as_str(),
        password_hash: &hash,
        account_name: &account_name,
    };
    // Another browser (or replica) may have finished a setup meanwhile: only the first one counts.
    let user = match state.store.create_first_user(new).await {
        Ok(Some(user)) => user,
        Ok(None) => return Ok(Redirect::to("/login").into_response()),
        Err(StoreError::Conflict(_)) => {
            let mut errors = FormErrors::default();
            errors.add("email", "is already registered");
            return again_form(errors);
        }
        Err(e) => return Err(e.into()),
    };
    tracing::info!(
        user_id = user.id,
        account_id = user.account_id,
        "first-run setup: account created"
    );
    Ok(redirect_with_cookie("/sites", start_session(&state, &user)))
}

pub async fn login_page(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    if state.store.count_users().await? == 0 {
        return Ok(Redirect::to("/").into_response());
    }
    if SignedIn::from_headers(&state, &headers).await?.is_some() {
        return Ok(Redirect::to("/sites").into_response());
    }
    let (csrf, cookie) = anonymous_form(&state, &headers);
    let page = LoginPage {
        chrome: Chrome { email: None, csrf },
        email: String::new(),
        problem: None,
    };
    anonymous_page(StatusCode::OK, &page, cookie)
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, PageError> {
    let (status, problem, retry_after) =
        match check_credentials(&state, &form.email, &form.password, client).await {
            Ok(user) => {
                tracing::info!(user_id = user.id, "dashboard: signed in");
                return Ok(redirect_with_cookie("/sites", start_session(&state, &user)));
            }
            Err(SignInError::InvalidCredentials) => (
                StatusCode::UNAUTHORIZED,
                "The email or password is wrong.".to_owned(),
                None,
            ),
            Err(SignInError::RateLimited(wait)) => {
                let secs = wait.as_secs().max(1);
                let problem =
                    format!("Too many sign-in attempts. Wait {secs} seconds, then try again.");
                (StatusCode::TOO_MANY_REQUESTS, problem, Some(secs))
            }
            Err(SignInError::Busy) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "The server is busy signing other people in. Try again in a moment.".to_owned(),
                Some(1),
            ),
            // An unreachable store is the 503 page with Retry-After, as on every other page.
            Err(SignInError::Store(e)) => return Err(e.into()),
        };
    let (csrf, cookie) = anonymous_form(&state, &headers);
    let page = LoginPage {
        chrome: Chrome { email: None, csrf },
        email: form.email,
        problem: Some(problem),
    };
    let mut response = anonymous_page(status, &page, cookie)?;
    if let Some(secs) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    Ok(response)
}

/// `GET /logout` asks; only the form's POST signs out, so a link elsewhere cannot.
pub async fn logout_page(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    match SignedIn::from_headers(&state, &headers).await? {
        Some(me) => render(
            StatusCode::OK,
            &LogoutPage {
                chrome: me.chrome(),
            },
        ),
        None => Ok(Redirect::to("/login").into_response()),
    }
}

pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let me = SignedIn::from_headers(&state, &headers).await?;
    Ok(redirect_with_cookie(
        "/login",
        end_session(&state, me.as_ref()).await?,
    ))
}
