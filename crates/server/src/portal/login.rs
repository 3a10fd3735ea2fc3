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
        AppError::Overloaded { .. } => (
            StatusCode::SERVICE_UNAVAILABLE,
            "Too many people are logging in right now. Please try again in a moment.".into(),
        ),
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

/// Where a login leads when `next` is absent or refused: the first page.
const FIRST_PAGE: &str = "/contacts";

/// Only a path of this site may follow a login; anything else leads to [`FIRST_PAGE`].
fn safe_next(next: Option<&str>) -> String {
    next.filter(|path| is_same_site_path(path)).map_or_else(|| FIRST_PAGE.to_string(), str::to_string)
}

/// Whether `next` (as the form or query gave it, decoded once) is a path of this site,
/// however a browser reads it.
///
/// A browser drops tabs and line breaks anywhere in a URL (`/\t/evil` is `//evil`),
/// reads `\` as `/` (`/\evil` is `//evil`), and a path starting with `//` names another
/// host. So the value must be plain printable ASCII (the portal's own `next` is a URI,
/// which always is), start with one `/` only, and hold no backslash; and so must each
/// further percent-decoding of it, in case a layer between decodes again (`%2F%2F`,
/// `%5C`, `%09`). A scheme (`https:`, `javascript:`) cannot start with `/`.
pub(crate) fn is_same_site_path(next: &str) -> bool {
    if !next.bytes().all(|b| b.is_ascii_graphic()) {
        return false;
    }
    let mut text = next.to_string();
    // Each round decodes once more; three cover any layering met in practice, and a
    // value that still decodes further after them is refused.
    for _ in 0..3 {
        if !is_plain_path(&text) {
            return false;
        }
        let Ok(decoded) = percent_encoding::percent_decode_str(&text).decode_utf8() else { return false };
        if decoded == text {
            return true;
        }
        text = decoded.into_owned();
    }
    false
}

/// One `/` first, never followed by another or by `\`; no backslash or control character.
fn is_plain_path(path: &str) -> bool {
    path.starts_with('/') && !path[1..].starts_with(['/', '\\']) && !path.chars().any(|c| c == '\\' || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        for path in ["/shared-contacts?q=ann", "/contacts", "/", "/users?q=%C3%A9", "/a/b?next=%2Fc", "/a//b"] {
            assert_eq!(safe_next(Some(path)), path, "{path:?} is a path of this site");
        }
        assert_eq!(safe_next(None), "/contacts");
        assert_eq!(safe_next(Some("")), "/contacts");
    }

    /// Every way a browser turns what looks like a path into another site, as the value
    /// arrives after the one decoding of the form or query.
    #[test]
    fn what_browsers_normalise_off_site_is_refused() {
        let refused = [
            "//evil.example",
            "///evil.example",
            "////evil.example",
            "/\\evil.example",
            "\\evil.example",
            "\\\\evil.example",
            "\\/evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r/evil.example",
            "/\r\n/evil.example",
            "\t//evil.example",
            " //evil.example",
            "/ /evil.example",
            "/\u{0}/evil.example",
            "/\u{7f}/evil.example",
            "/\u{85}/evil.example",
            "/\u{3000}/evil.example",
            "/\u{ff0f}evil.example",
            "https://evil.example/",
            "http:evil.example",
            "javascript:alert(1)",
            "data:text/html,x",
            "evil.example",
            "%2F%2Fevil.example",
            "/%2Fevil.example",
            "/%2F%2Fevil.example",
            "/%5Cevil.example",
            "/%5cevil.example",
            "/%09/evil.example",
            "/%0A/evil.example",
            "/%0d%0a/evil.example",
            "/%00",
            "/%252F/evil.example",
            "/%255C/evil.example",
            "/%2509/evil.example",
            "/%25252F/evil.example",
            "/%ff",
            "/contacts\\..\\..\\evil",
        ];
        for next in refused {
            assert!(!is_same_site_path(next), "{next:?} must be refused");
            assert_eq!(safe_next(Some(next)), "/contacts", "{next:?}");
        }
    }
}
