//! Who is calling: a bearer token, or the session cookie with its CSRF header.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use switchboard_app::Caller;
use switchboard_app::auth::csrf_token;

use crate::AppState;
use crate::problem::Problem;

pub const SESSION_COOKIE: &str = "sb_session";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The authenticated caller of an `/api/v1` request.
///
/// A bearer token is never sent by a browser on its own, so it needs nothing more;
/// the cookie is, so a cookie-authenticated request that changes something must also
/// carry `X-CSRF-Token`, which a page of another site cannot know.
pub struct Auth(pub Caller);

impl FromRequestParts<AppState> for Auth {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
            let token = value
                .to_str()
                .ok()
                .and_then(|v| v.split_once(' '))
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                .map(|(_, token)| token.trim())
                .ok_or_else(|| Problem::unauthorized("use `Authorization: Bearer <token>`"))?;
            return Ok(Auth(state.app.authenticate(token).await?));
        }
        let Some(secret) = session_cookie(&parts.headers) else {
            return Err(Problem::unauthorized("log in first, or send `Authorization: Bearer <token>`"));
        };
        let caller = state.app.authenticate(&secret).await?;
        if !is_safe(&parts.method) {
            let sent = parts.headers.get(CSRF_HEADER).map(HeaderValue::as_bytes).unwrap_or_default();
            if !same_bytes(sent, csrf_token(&secret).as_bytes()) {
                return Err(Problem::new(
                    axum::http::StatusCode::FORBIDDEN,
                    "csrf",
                    "Forbidden",
                    "a request authenticated by the session cookie must send the login's `csrf_token` as `X-CSRF-Token`",
                ));
            }
        }
        Ok(Auth(caller))
    }
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Compares in time independent of where the first difference is.
pub(crate) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The session secret from the `Cookie` header(s), if any.
pub(crate) fn session_cookie(headers: &HeaderMap) -> Option<String> {
    cookie(headers, SESSION_COOKIE).map(|value| value.trim_matches('"').to_string()).filter(|value| !value.is_empty())
}

/// A cookie's value from the `Cookie` header(s).
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim().to_string())
}

/// `Set-Cookie` for a new session: not readable by scripts, never sent cross-site.
pub fn session_cookie_header(secret: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{SESSION_COOKIE}={secret}; HttpOnly; SameSite=Strict; Path=/{secure}")
}

/// `Set-Cookie` that makes the browser forget the session.
pub fn cleared_cookie_header(secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0{secure}")
}

/// `Authorization: Basic …` as user and password (UTF-8).
pub(crate) fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_session_cookie_among_others() {
        let mut headers = HeaderMap::new();
        headers.append(header::COOKIE, "theme=dark; sb_session=sb_abc".parse().unwrap());
        assert_eq!(session_cookie(&headers).as_deref(), Some("sb_abc"));
        headers.clear();
        headers.append(header::COOKIE, "sb_session=".parse().unwrap());
        assert_eq!(session_cookie(&headers), None);
    }

    #[test]
    fn cookies_are_http_only_and_strict() {
        assert_eq!(session_cookie_header("sb_x", false), "sb_session=sb_x; HttpOnly; SameSite=Strict; Path=/");
        assert!(session_cookie_header("sb_x", true).ends_with("; Secure"));
        assert!(cleared_cookie_header(false).contains("Max-Age=0"));
    }

    #[test]
    fn byte_comparison() {
        assert!(same_bytes(b"abc", b"abc"));
        assert!(!same_bytes(b"abc", b"abd"));
        assert!(!same_bytes(b"abc", b"ab"));
    }

    #[test]
    fn basic_credentials_are_decoded() {
        let mut headers = HeaderMap::new();
        let encoded = STANDARD.encode("cn=x,ou=devices,dc=a:pa:ss");
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(&format!("Basic {encoded}")).unwrap());
        assert_eq!(basic_credentials(&headers), Some(("cn=x,ou=devices,dc=a".into(), "pa:ss".into())));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer abc"));
        assert_eq!(basic_credentials(&headers), None);
    }
}
