//! The one error shape of the API: `application/problem+json` (RFC 9457).
//!
//! Every failure — an `AppError`, an extractor rejection, a panic, a timeout, a
//! route or method that does not exist — leaves the server through [`Problem`], so
//! clients parse a single shape and read `errors` for field-level messages.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::extract::Request;
use axum::extract::path::ErrorKind;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use switchboard_app::AppError;
use switchboard_core::FieldError;
use utoipa::openapi::{ContentBuilder, RefOr, ResponseBuilder};
use utoipa::{IntoResponses, ToSchema};

pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "urn:switchboard:problem:invalid-input",
    "title": "Invalid input",
    "status": 422,
    "detail": "invalid input: email: `ann@` is not an email address",
    "errors": [{"field": "email", "message": "`ann@` is not an email address"}]
}))]
pub struct Problem {
    /// What kind of problem: `urn:switchboard:problem:<kind>`, or `about:blank` when the
    /// status code says it all.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    /// What went wrong this time, for people.
    pub detail: String,
    /// One entry per invalid field (empty unless the input was refused field by field).
    pub errors: Vec<FieldError>,
    #[serde(skip)]
    retry_after: Option<Duration>,
}

pub type ApiResult<T> = Result<T, Problem>;

impl Problem {
    pub fn new(status: StatusCode, kind: &str, title: &str, detail: impl Into<String>) -> Problem {
        Problem {
            kind: format!("urn:switchboard:problem:{kind}"),
            title: title.into(),
            status: status.as_u16(),
            detail: detail.into(),
            errors: Vec::new(),
            retry_after: None,
        }
    }

    /// A problem that only restates its status code (framework answers such as 405).
    pub fn from_status(status: StatusCode) -> Problem {
        let reason = status.canonical_reason().unwrap_or("Error");
        Problem {
            kind: "about:blank".into(),
            title: reason.into(),
            status: status.as_u16(),
            detail: reason.to_lowercase(),
            errors: Vec::new(),
            retry_after: None,
        }
    }

    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Problem {
        self.errors = errors;
        self
    }

    /// Input that cannot be read at all (JSON syntax, a broken form): refused like any
    /// other bad input, with 422, so clients handle one status for what they sent wrong.
    pub fn malformed(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "malformed-request", "Malformed request", detail)
    }

    /// Input that parsed but was refused, field by field.
    pub fn invalid(detail: impl Into<String>, errors: Vec<FieldError>) -> Problem {
        Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid-input", "Invalid input", detail).with_errors(errors)
    }

    pub fn not_found() -> Problem {
        Problem::new(
            StatusCode::NOT_FOUND,
            "not-found",
            "Not found",
            "there is nothing here, or it is not yours to see",
        )
    }

    pub fn unauthorized(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::UNAUTHORIZED, "unauthorized", "Unauthorized", detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::FORBIDDEN, "forbidden", "Forbidden", detail)
    }

    pub fn internal() -> Problem {
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal server error",
            "something went wrong on our side; it has been logged",
        )
    }

    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl From<AppError> for Problem {
    fn from(error: AppError) -> Problem {
        match error {
            AppError::Invalid(invalid) => Problem::invalid(invalid.to_string(), invalid.0),
            AppError::NotFound => Problem::not_found(),
            AppError::Forbidden(why) => Problem::forbidden(why),
            AppError::Unauthorized(why) => Problem::unauthorized(why),
            AppError::Conflict(why) => Problem::new(StatusCode::CONFLICT, "conflict", "Conflict", why),
            stale @ AppError::Stale { .. } => {
                Problem::new(StatusCode::PRECONDITION_FAILED, "stale", "Precondition failed", stale.to_string())
            }
            too_many @ AppError::TooManyAttempts { retry_after } => Problem {
                retry_after: Some(retry_after),
                ..Problem::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "too-many-attempts",
                    "Too many attempts",
                    too_many.to_string(),
                )
            },
            busy @ AppError::Overloaded { retry_after } => Problem {
                retry_after: Some(retry_after),
                ..Problem::new(StatusCode::SERVICE_UNAVAILABLE, "overloaded", "Service unavailable", busy.to_string())
            },
            AppError::TooManyRequests { message, retry_after } => Problem {
                retry_after: Some(retry_after),
                ..Problem::new(StatusCode::TOO_MANY_REQUESTS, "too-many-requests", "Too many requests", message)
            },
            AppError::TooLarge(why) => {
                Problem::new(StatusCode::PAYLOAD_TOO_LARGE, "too-large", "Payload too large", why)
            }
            AppError::Unsupported(why) => Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
                why,
            ),
            AppError::Gone(why) => Problem::new(StatusCode::GONE, "gone", "Gone", why),
            AppError::Internal(source) => {
                // The cause stays in the log: it may name tables, queries or paths.
                tracing::error!(error = %source, "internal error");
                Problem::internal()
            }
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status_code();
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(wait) = self.retry_after {
            // Whole seconds, rounded up so a client that waits exactly this long is let in.
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
        }
        let body = serde_json::to_vec(&self).unwrap_or_default();
        (status, headers, body).into_response()
    }
}

/// Path parameters are checked by `ApiPath` before they are read, so what is left to
/// fail here is a value of the wrong type.
impl From<PathRejection> for Problem {
    fn from(rejection: PathRejection) -> Problem {
        match rejection {
            PathRejection::FailedToDeserializePathParams(failed) => {
                let field = match failed.kind() {
                    ErrorKind::ParseErrorAtKey { key, .. }
                    | ErrorKind::DeserializeError { key, .. }
                    | ErrorKind::InvalidUtf8InPathParam { key } => key.clone(),
                    _ => "path".into(),
                };
                let message = failed.body_text();
                Problem::invalid(format!("{field}: {message}"), vec![FieldError { field, message }])
            }
            other => {
                tracing::error!(error = %other.body_text(), "path parameters missing from a route");
                Problem::internal()
            }
        }
    }
}

/// A query value that does not fit its type: `Failed to deserialize query string: limit: …`.
impl From<QueryRejection> for Problem {
    fn from(rejection: QueryRejection) -> Problem {
        let text = rejection.body_text();
        let reason = text.strip_prefix("Failed to deserialize query string: ").unwrap_or(&text);
        match reason.split_once(": ") {
            Some((field, message)) if !field.contains(' ') => {
                let error = FieldError { field: field.into(), message: message.into() };
                Problem::invalid(format!("invalid input: {reason}"), vec![error])
            }
            _ => Problem::invalid(format!("invalid query: {reason}"), Vec::new()),
        }
    }
}

/// Turns every error answer that is not already a problem (the router's 404/405,
/// the body limit's 413, the timeout's 503) into one, keeping its headers (`Allow`…).
pub async fn ensure_problem(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_problem =
        response.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes() == PROBLEM_JSON.as_bytes());
    // The portal answers its errors as HTML pages or fragments.
    let is_html = response.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    // CardDAV names a failed precondition in an XML error body (RFC 4918 §16).
    let is_dav_error =
        response.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"application/xml"));
    if !(status.is_client_error() || status.is_server_error()) || is_problem || is_html || is_dav_error {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    let problem = match status {
        StatusCode::NOT_FOUND => Problem::not_found(),
        StatusCode::PAYLOAD_TOO_LARGE => too_large(),
        StatusCode::SERVICE_UNAVAILABLE => {
            Problem::new(status, "timeout", "Request took too long", "the request did not finish in time; try again")
        }
        other => Problem::from_status(other),
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    let fresh = problem.into_response();
    parts.headers.extend(fresh.headers().clone());
    Response::from_parts(parts, fresh.into_body())
}

pub fn too_large() -> Problem {
    Problem::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload-too-large",
        "Payload too large",
        "the request body is larger than this server accepts",
    )
}

/// Answers a panic like any other internal error, without its message.
pub fn from_panic(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    Problem::internal().into_response()
}

// --- OpenAPI: the error answers each operation documents -------------------------

/// Reusable responses (`#/components/responses/…`), one per error status.
pub(crate) const ERROR_RESPONSES: &[(u16, &str, &str)] = &[
    (401, "Unauthorized", "No valid session cookie or bearer token; sent with `WWW-Authenticate: Bearer`"),
    (403, "Forbidden", "The caller's scope may not do this, or a cookie-authenticated request lacks `X-CSRF-Token`"),
    (404, "NotFound", "Absent, or not visible to the caller (another tenant's data looks absent)"),
    (409, "Conflict", "Something identical already exists"),
    (
        410,
        "Gone",
        "The cursor is no longer valid (expired, another user's, or the user's view changed): start again without one",
    ),
    (412, "PreconditionFailed", "`If-Match` names an older version: someone else changed the record"),
    (413, "PayloadTooLarge", "The body is larger than the server accepts"),
    (
        415,
        "UnsupportedMediaType",
        "The body is not of the type the operation takes (`application/json`; an image for a photo)",
    ),
    (
        422,
        "InvalidInput",
        "A path parameter, query parameter, header or body was refused (JSON that does not parse \
         included); `errors` names each field and why",
    ),
    (429, "TooManyRequests", "Too many attempts or requests; `Retry-After` says how many seconds to wait"),
    (500, "InternalError", "Something went wrong on the server; the cause is logged, not shown"),
    (
        503,
        "Unavailable",
        "The server is busy: the request did not finish in time, or too many password checks are under way \
         (then `Retry-After` says how many seconds to wait); try again",
    ),
];

pub(crate) fn error_response_components() -> Vec<(String, RefOr<utoipa::openapi::Response>)> {
    ERROR_RESPONSES
        .iter()
        .map(|(status, name, description)| {
            let content = ContentBuilder::new().schema(Some(utoipa::openapi::Ref::from_schema_name("Problem"))).build();
            let mut response = ResponseBuilder::new().description(*description).content(PROBLEM_JSON, content);
            if matches!(*status, 429 | 503) {
                let seconds = utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::Integer)
                    .minimum(Some(1));
                let header = utoipa::openapi::HeaderBuilder::new()
                    .schema(seconds)
                    .description(Some("Seconds to wait before trying again"))
                    .build();
                response = response.header("Retry-After", header);
            }
            (name.to_string(), RefOr::T(response.build()))
        })
        .collect()
}

/// References to the shared responses of these statuses, by status.
pub(crate) fn error_refs(statuses: &[u16]) -> BTreeMap<String, RefOr<utoipa::openapi::Response>> {
    ERROR_RESPONSES
        .iter()
        .filter(|(status, ..)| statuses.contains(status))
        .map(|(status, name, _)| (status.to_string(), RefOr::Ref(utoipa::openapi::Ref::from_response_name(*name))))
        .collect()
}

/// Declares a set of documented error answers for `#[utoipa::path(responses(...))]`.
macro_rules! error_set {
    ($($(#[$doc:meta])* $name:ident = [$($status:literal),*];)*) => {$(
        $(#[$doc])*
        pub struct $name;
        impl IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<utoipa::openapi::Response>> {
                error_refs(&[$($status),*])
            }
        }
    )*};
}

// What the app decides, beyond what an operation's shape implies: `docs::complete` adds
// 401 (authenticated), 403 (the caller's scope, or CSRF), 404 (path parameters), 422
// (any input), 413 and 415 (bodies), 500 and 503 to every operation they apply to.
error_set! {
    /// Reading one record.
    ReadErrors = [];
    /// Reading a list.
    ListErrors = [];
    /// Creating or replacing: something identical may exist.
    WriteErrors = [409];
    /// Importing a file: also refused while the server runs as many imports as it allows.
    ImportErrors = [409, 429];
    /// A partial update that honours `If-Match`.
    PatchErrors = [409, 412];
    /// Deleting, or an action without a body.
    ActionErrors = [409];
    /// Logging in: failures are throttled.
    LoginErrors = [401, 429];
    /// Giving a contact a photo: an image of another type than ours answers 415.
    PhotoErrors = [415];
    /// Reading a feed from a cursor.
    FeedErrors = [410];
    /// Anything throttled or capped (429 with `Retry-After`).
    Throttled = [429];
}
