//! `/login` and `/logout`.
//!
//! The login form has no session to tie a CSRF token to, so it uses a double-submit
//! token: a random value in a strict, HttpOnly cookie and in a hidden field. The
//! "session ended" dialog of a page logs in again with `fetch` and the `X-Relogin`
//! header instead, which a form of another site cannot send.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::Engine;
use rand::RngCore;
use serde::Deserialize;
use switchboard_app::AppError;

use super::{PortalResult, Viewer, html};
use crate::AppState;
use crate::auth::{cleared_cookie_header, cookie, same_bytes, session_cookie_header};
use crate::extract::ClientAddr;

const LOGIN_CSRF_COOKIE: &str = "sb_login";

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/login", get(form).post(submit)).route("/logout", post(logout))
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    username: String,
    next: String,
    csrf: String,
    error: Option<String>,
}

#[derive(Deserialize)]
struct NextPage {
    next: Option<String>,
}

async fn form(Query(query): Query<NextPage>, viewer: Option<Viewer>) -> PortalResult<Response> {
    let next = safe_next(query.next.as_deref());
    if viewer.is_some() {
        return Ok(Redirect::to(&next).into_response());
    }
    page(String::new(), next, None, StatusCode::OK)
}

/// The login page with a fresh double-submit token.
fn page(username: String, next: String, error: Option<String>, status: StatusCode) -> PortalResult<Response> {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    let csrf = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let cookie = format!("{LOGIN_CSRF_COOKIE}={csrf}; HttpOnly; SameSite=Strict; Path=/login");
    let body = html(&LoginPage { username, next, csrf, error })?;
    Ok((status, [(header::SET_COOKIE, cookie)], body).into_response())
}

#[derive(Deserialize)]
struct Credentials {
    username: String,
    password: String,
    #[serde(default)]
    next: String,
    #[serde(default)]
    csrf: String,
}

async fn submit(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    Form(input): Form<Credentials>,
) -> PortalResult<Response> {
    let relogin = headers.contains_key("x-relogin");
    let next = safe_next(Some(&input.next));
    let cookie_token = cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or_default();
    if !relogin && (input.csrf.is_empty() || !same_bytes(input.csrf.as_bytes(), cookie_token.as_bytes())) {
        let error = "This login page had expired, so nothing was sent. Please log in again.".to_string();
        return page(input.username, next, Some(error), StatusCode::FORBIDDEN);
    }
    let username = input.username.trim();
    if username.is_empty() || input.password.is_empty() {
        let error = "Enter your login (extension@domain) and your password.".to_string();
        return page(input.username, next, Some(error), StatusCode::UNPROCESSABLE_ENTITY);
    }
    match state.app.login(username, &input.password, client).await {
        Ok(login) => {
            let session = session_cookie_header(&login.token, state.config.secure_cookies);
            if relogin {
                let body = Json(serde_json::json!({ "csrf": login.csrf_token }));
                return Ok(([(header::SET_COOKIE, session)], body).into_response());
            }
            Ok(([(header::SET_COOKIE, session)], Redirect::to(&next)).into_response())
        }
        Err(error) => {
            let (status, message) = login_error(error);
            if relogin {
                return Ok((status, Json(serde_json::json!({ "error": message }))).into_response());
            }
            page(input.username, next, Some(message), status)
        }
    }
}

/// What a person is told when logging in fails.
fn login_error(error: AppError) -> (StatusCode, String) {
    match error {
        AppError::Unauthorized(_) => (
            StatusCode::UNAUTHORIZED,
            "That login and password do not match. Your login is your extension and domain, like 200@acme.example."
                .into(),
        ),
        AppError::TooManyAttempts { retry_after } => {
            let minutes = retry_after.as_secs().div_ceil(60).max(1);
            (
                StatusCode::TOO_MANY_REQUESTS,
                format!("Too many failed attempts. For your safety, try again in {minutes} minute(s)."),
            )
        }
        other => {
            tracing::error!(error = %other, "login failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "Logging in failed on our side. Please try again.".into())
        }
    }
}

async fn logout(State(state): State<AppState>, headers: HeaderMap, viewer: Viewer) -> Response {
    if let Err(error) = state.app.logout(&viewer.caller).await {
        tracing::warn!(%error, "logout failed");
    }
    let cleared = cleared_cookie_header(state.config.secure_cookies);
    if super::is_htmx(&headers) {
        // htmx follows `HX-Redirect` itself; a 303 would be followed inside the request instead.
        return (
            [(header::SET_COOKIE, cleared), (header::HeaderName::from_static("hx-redirect"), "/login".into())],
            "",
        )
            .into_response();
    }
    ([(header::SET_COOKIE, cleared)], Redirect::to("/login")).into_response()
}

/// Only a path of this site may follow a login (no `//evil.example`, no scheme).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path) if path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') => path.to_string(),
        _ => "/contacts".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/shared-contacts?q=ann")), "/shared-contacts?q=ann");
        assert_eq!(safe_next(Some("//evil.example/")), "/contacts");
        assert_eq!(safe_next(Some("https://evil.example/")), "/contacts");
        assert_eq!(safe_next(Some("/\\evil.example")), "/contacts");
        assert_eq!(safe_next(None), "/contacts");
    }
}
