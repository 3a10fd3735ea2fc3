//! Extractors whose every rejection is a [`Problem`]: JSON bodies, path and query
//! parameters, `If-Match`, and the client's address.

use std::net::{IpAddr, SocketAddr};

use axum::body::Bytes;
use axum::extract::rejection::RawPathParamsRejection;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Path, Query, RawPathParams, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;
use switchboard_core::FieldError;

use crate::AppState;
use crate::params::{MAY_BE_EMPTY, check_path_param};
use crate::problem::{Problem, too_large};

/// Path parameters, each checked against its form in `params` first: a bad one answers
/// 422 naming it (a well-formed name of nothing answers 404, from the app).
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        let raw = RawPathParams::from_request_parts(parts, state).await.map_err(|rejection| match rejection {
            RawPathParamsRejection::InvalidUtf8InPathParam(inner) => Problem::invalid(inner.body_text(), Vec::new()),
            other => {
                tracing::error!(error = %other.body_text(), "path parameters missing from a route");
                Problem::internal()
            }
        })?;
        let errors: Vec<FieldError> = raw
            .iter()
            .filter_map(|(name, value)| {
                check_path_param(name, value).err().map(|message| FieldError { field: name.to_string(), message })
            })
            .collect();
        if !errors.is_empty() {
            return Err(field_problem(errors));
        }
        let Path(value) = Path::<T>::from_request_parts(parts, state).await?;
        Ok(ApiPath(value))
    }
}

/// Query parameters. Only their syntax is checked here (a value that does not fit its
/// type, or is given empty where the document allows no empty value); the app checks
/// what they mean. Every refusal is 422 naming the parameter.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        let query = parts.uri.query().unwrap_or_default();
        let errors: Vec<FieldError> = form_urlencoded::parse(query.as_bytes())
            .filter(|(name, value)| value.is_empty() && !MAY_BE_EMPTY.contains(&name.as_ref()))
            .map(|(name, _)| FieldError {
                field: name.to_string(),
                message: "give a value, or leave the parameter out".into(),
            })
            .collect();
        if !errors.is_empty() {
            return Err(field_problem(errors));
        }
        let Query(value) = Query::<T>::from_request_parts(parts, state).await?;
        Ok(ApiQuery(value))
    }
}

/// 422 for the fields named.
fn field_problem(errors: Vec<FieldError>) -> Problem {
    let detail = errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; ");
    Problem::invalid(format!("invalid input: {detail}"), errors)
}

/// A JSON body, read with the field path of any error so the client learns which
/// field was wrong: syntax → 400 with line and column, wrong shape → 422 naming the
/// field, not JSON → 415, too large → 413.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<Self, Problem> {
        if !is_json(request.headers()) {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
                "send the body as JSON with `Content-Type: application/json`",
            ));
        }
        let bytes = Bytes::from_request(request, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                too_large()
            } else {
                Problem::malformed(rejection.body_text())
            }
        })?;
        parse_json(&bytes).map(ApiJson)
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else { return false };
    let essence = value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Deserializes a JSON document, classifying what went wrong.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer)
        .map_err(|error| (error.path().to_string(), error.into_inner()))
        .and_then(|value| deserializer.end().map(|()| value).map_err(|error| (String::new(), error)));
    value.map_err(|(path, inner)| {
        let message = without_position(&inner);
        match inner.classify() {
            serde_json::error::Category::Data => data_problem(&path, message),
            _ => Problem::malformed(format!(
                "the body is not valid JSON: {message} at line {} column {}",
                inner.line(),
                inner.column()
            )),
        }
    })
}

/// serde_json appends " at line L column C" to every message; the field path says more.
fn without_position(error: &serde_json::Error) -> String {
    let text = error.to_string();
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    text.strip_suffix(&suffix).unwrap_or(&text).to_string()
}

/// JSON that parsed but does not fit: name the field. For a missing field serde
/// reports the enclosing path, so the name comes from the message.
fn data_problem(path: &str, message: String) -> Problem {
    let named = ["unknown field `", "missing field `"]
        .iter()
        .find_map(|prefix| message.strip_prefix(prefix))
        .and_then(|rest| rest.split_once('`'))
        .map(|(name, _)| name.to_string());
    let field = match (named, path) {
        (Some(name), "." | "") => Some(name),
        // An unknown field is already the last segment of the path; a missing one is not.
        (Some(name), path) if path == name || path.ends_with(&format!(".{name}")) => Some(path.to_string()),
        (Some(name), parent) => Some(format!("{parent}.{name}")),
        (None, "." | "") => None,
        (None, path) => Some(path.to_string()),
    };
    match field {
        Some(field) => Problem::invalid(format!("{field}: {message}"), vec![FieldError { field, message }]),
        None => Problem::invalid(format!("the body does not have the expected shape: {message}"), Vec::new()),
    }
}

/// The version an `If-Match` header asks for: `"3"`, `W/"3"` and `3` all mean 3;
/// `*` (or no header) means any version.
pub struct IfMatch(pub Option<i64>);

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Problem> {
        let Some(value) = parts.headers.get(header::IF_MATCH) else { return Ok(IfMatch(None)) };
        let text = value.to_str().unwrap_or_default();
        if text == "*" {
            return Ok(IfMatch(None));
        }
        match version_of(text) {
            Some(version) => Ok(IfMatch(Some(version))),
            None => {
                let message = "give the version from the ETag header, such as \"3\"".to_string();
                Err(field_problem(vec![FieldError { field: "If-Match".into(), message }]))
            }
        }
    }
}

/// `"3"`, `W/"3"` or `3`: 1 to 18 digits, so the version fits and the form is the
/// document's pattern exactly.
fn version_of(text: &str) -> Option<i64> {
    let bare = text.strip_prefix("W/").unwrap_or(text);
    let digits = match bare.strip_prefix('"') {
        Some(quoted) => quoted.strip_suffix('"')?,
        None if bare.len() == text.len() => bare,
        None => return None,
    };
    let well_formed = (1..=18).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit());
    well_formed.then(|| digits.parse().ok()).flatten()
}

/// An `ETag` for a record's version.
pub fn etag(version: i64) -> String {
    format!("\"{version}\"")
}

/// The client's address, for device address ranges and the login throttle: the TCP
/// peer, or — when the peer is one of the trusted proxies — the address the proxies
/// forwarded (see [`crate::client_addr`]).
pub struct ClientAddr(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip());
        Ok(ClientAddr(
            peer.map(|peer| crate::client_addr::client_addr(&parts.headers, peer, &state.config.trusted_proxies)),
        ))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Input {
        name: String,
        #[serde(default)]
        age: u32,
    }

    #[test]
    fn json_errors_name_the_field() {
        let unknown = parse_json::<Input>(br#"{"name": "a", "colour": 1}"#).unwrap_err();
        assert_eq!((unknown.status, unknown.errors[0].field.as_str()), (422, "colour"));
        // serde goes on to list the accepted fields, which helps whoever wrote the client.
        assert!(
            unknown.errors[0].message.starts_with("unknown field `colour`, expected"),
            "{}",
            unknown.errors[0].message
        );
        let wrong_type = parse_json::<Input>(br#"{"name": 5}"#).unwrap_err();
        assert_eq!((wrong_type.status, wrong_type.errors[0].field.as_str()), (422, "name"));
        let missing = parse_json::<Input>(b"{}").unwrap_err();
        assert_eq!(missing.errors[0].field, "name");
        let map_value = parse_json::<BTreeMap<String, Option<String>>>(br#"{"KEY": 3}"#).unwrap_err();
        assert_eq!(map_value.errors[0].field, "KEY");
    }

    #[test]
    fn json_syntax_errors_give_line_and_column() {
        let broken = parse_json::<Input>(b"{\n  \"name\": }").unwrap_err();
        assert_eq!(broken.status, 422);
        assert!(broken.detail.contains("line 2 column"), "{}", broken.detail);
        let trailing = parse_json::<Input>(br#"{"name": "a"} x"#).unwrap_err();
        assert_eq!(trailing.status, 422);
        assert_eq!(parse_json::<Input>(b"").unwrap_err().status, 422);
    }

    #[test]
    fn if_match_takes_the_forms_the_document_gives() {
        for (text, version) in [("\"3\"", Some(3)), ("W/\"3\"", Some(3)), ("3", Some(3))] {
            assert_eq!(version_of(text), version, "{text}");
        }
        for bad in ["", " 3", "+3", "\"3", "W/3", "-1", "1234567890123456789", "\"\""] {
            assert_eq!(version_of(bad), None, "{bad}");
        }
    }

    #[test]
    fn content_types() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::CONTENT_TYPE, value.parse().unwrap());
            is_json(&headers)
        };
        assert!(with("application/json"));
        assert!(with("Application/JSON; charset=utf-8"));
        assert!(with("application/merge-patch+json"));
        assert!(!with("text/plain"));
        assert!(!is_json(&HeaderMap::new()));
    }
}
