//! The web portal: server-rendered pages (askama templates in `templates/`) with htmx
//! for partial updates and server-sent events for live changes. Every asset is served
//! from the binary; no script runs inline, so the Content-Security-Policy forbids it.
//!
//! Pages and fragments translate between HTML and [`App`](switchboard_app::App) calls,
//! like the REST handlers: what a user may see or do comes from
//! [`switchboard_app::Capabilities`], never from the portal itself.
//!
//! Conventions every page module follows:
//! - a full page takes [`Viewer`] (which sends a visitor without a session to `/login`)
//!   and renders a template that extends `layout.html` with a [`Frame`];
//! - changes are htmx requests (`hx-post`…) which carry `X-CSRF-Token` from the
//!   `hx-headers` of `<body>`; [`Viewer`] refuses an unsafe request without it;
//! - errors become [`PortalError`]: a small HTML fragment with the message and the
//!   status; the page script shows it as a toast. Invalid form input is answered 422
//!   with the form re-rendered and each message next to its field.

mod account;
mod allowed;
mod app_passwords;
mod assets;
mod audit;
mod contact_form;
mod contact_more;
mod contacts;
mod deleted_users;
mod duplicates;
mod login;
mod phones;
mod presence;
mod settings;
mod shared;
mod sharing;
mod transfer;
mod users;
mod webhooks;

use askama::Template;
use axum::Router;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use switchboard_app::auth::csrf_token;
use switchboard_app::{AppError, Caller, Capabilities};
use switchboard_core::model::{Domain, User};

use crate::AppState;
use crate::auth::{CSRF_HEADER, same_bytes, session_cookie};
use crate::problem::Problem;

/// The portal's pages, fragments and assets.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/events", get(live_events))
        .merge(login::routes())
        .merge(presence::routes())
        .merge(webhooks::routes())
        .merge(account::routes())
        .merge(users::routes())
        .merge(deleted_users::routes())
        .merge(settings::routes())
        .merge(audit::routes())
        .merge(shared::routes())
        .merge(duplicates::routes(contact_form::Which::Shared))
        .merge(duplicates::routes(contact_form::Which::Mine))
        .merge(contacts::routes())
        .merge(allowed::routes())
        .merge(sharing::routes())
        .merge(phones::routes())
        .merge(transfer::routes())
        .merge(assets::routes())
        .layer(middleware::from_fn(security_headers))
}

/// A logged-in user's first page.
async fn home(viewer: Option<Viewer>) -> Redirect {
    match viewer {
        Some(_) => Redirect::to("/contacts"),
        None => Redirect::to("/login"),
    }
}

/// Live changes for the page script, which turns them into `sb:<kind>` events that
/// lists listen to (`hx-trigger="sb:contact from:body"`).
async fn live_events(State(state): State<AppState>, viewer: Viewer) -> PortalResult<Response> {
    // Pages reload their lists when the stream comes back; they need no replay.
    let events = crate::api::events::event_stream(&state.app, &viewer.caller, false, None).await?;
    let keep_alive = axum::response::sse::KeepAlive::new().interval(std::time::Duration::from_secs(15));
    Ok(axum::response::sse::Sse::new(events).keep_alive(keep_alive).into_response())
}

/// No inline script or style, no framing, nothing loaded from elsewhere.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; \
    form-action 'self'; frame-ancestors 'none'";

async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// The logged-in user of a portal request, with what they may do.
pub(crate) struct Viewer {
    pub caller: Caller,
    pub csrf: String,
    pub caps: Capabilities,
}

impl Viewer {
    pub fn user(&self) -> &User {
        match &self.caller {
            Caller::User { user, .. } => user,
            Caller::System | Caller::Pbx { .. } => unreachable!("a portal viewer is always a user"),
        }
    }

    pub fn domain(&self) -> &Domain {
        match &self.caller {
            Caller::User { domain, .. } => domain,
            Caller::System | Caller::Pbx { .. } => unreachable!("a portal viewer is always a user"),
        }
    }

    /// The domain's name, as the app's use cases take it.
    pub fn domain_name(&self) -> String {
        self.domain().name.to_string()
    }

    pub fn extension(&self) -> String {
        self.user().extension.to_string()
    }

    /// What `layout.html` needs: who is logged in and which menu entries they get.
    pub fn frame(&self, active: &'static str) -> Frame {
        let user = self.user();
        let name = format!("{} {}", user.first_name, user.last_name).trim().to_string();
        Frame {
            active,
            user_name: if name.is_empty() { self.extension() } else { name },
            login: format!("{}@{}", user.extension, self.domain().name),
            csrf: self.csrf.clone(),
            caps: self.caps.clone(),
            chats: format!("/api/v1/domains/{}/users/{}/chats", self.domain().name, user.extension),
        }
    }
}

/// The parts of every page around its content.
pub(crate) struct Frame {
    /// The menu entry to highlight: `contacts`, `shared`, `users`, `agents`, `phones`, `settings`, `audit`
    /// (`account` for the user's own page, reached from their name).
    pub active: &'static str,
    pub user_name: String,
    pub login: String,
    pub csrf: String,
    pub caps: Capabilities,
    /// The REST path of the user's conversations, for the chat panel's script.
    pub chats: String,
}

impl Frame {
    /// The JSON of `<body hx-headers>`: every htmx request sends the CSRF token.
    pub fn hx_headers(&self) -> String {
        serde_json::json!({ "X-CSRF-Token": self.csrf }).to_string()
    }
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = PortalError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PortalError> {
        let Some(secret) = session_cookie(&parts.headers) else {
            return Err(logged_out(parts));
        };
        let caller = match state.app.authenticate(&secret).await {
            Ok(caller @ Caller::User { .. }) => caller,
            // A PBX credential is no person: it has no portal.
            Ok(Caller::System | Caller::Pbx { .. }) | Err(AppError::Unauthorized(_)) => return Err(logged_out(parts)),
            Err(other) => return Err(other.into()),
        };
        let csrf = csrf_token(&secret);
        if !matches!(parts.method, Method::GET | Method::HEAD) {
            let sent = parts.headers.get(CSRF_HEADER).map(HeaderValue::as_bytes).unwrap_or_default();
            if !same_bytes(sent, csrf.as_bytes()) {
                return Err(PortalError::Message(
                    StatusCode::FORBIDDEN,
                    "This page is out of date (its security token does not match your session). Reload it and try again."
                        .into(),
                ));
            }
        }
        let caps = state.app.capabilities(&caller).await?;
        Ok(Viewer { caller, csrf, caps })
    }
}

/// An optional viewer: `None` instead of a redirect when nobody is logged in.
impl axum::extract::OptionalFromRequestParts<AppState> for Viewer {
    type Rejection = PortalError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Option<Self>, PortalError> {
        match <Viewer as FromRequestParts<AppState>>::from_request_parts(parts, state).await {
            Ok(viewer) => Ok(Some(viewer)),
            Err(PortalError::LoggedOut { .. }) => Ok(None),
            Err(other) => Err(other),
        }
    }
}

fn logged_out(parts: &Parts) -> PortalError {
    let next = parts.uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
    PortalError::LoggedOut { next, htmx: is_htmx(&parts.headers) }
}

/// Whether the request came from htmx (a fragment is wanted, not a page).
pub(crate) fn is_htmx(headers: &HeaderMap) -> bool {
    headers.contains_key("hx-request")
}

/// A portal failure, answered as HTML.
#[derive(Debug)]
pub(crate) enum PortalError {
    /// No valid session: a page goes to `/login` (and comes back after); an htmx request
    /// answers 401 so the page can ask for the password again without losing the form.
    LoggedOut { next: String, htmx: bool },
    /// A message for the user, with its status.
    Message(StatusCode, String),
}

pub(crate) type PortalResult<T> = Result<T, PortalError>;

impl From<AppError> for PortalError {
    fn from(error: AppError) -> PortalError {
        let problem = Problem::from(error);
        let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let message = match status {
            StatusCode::NOT_FOUND => "Not found: it may have been deleted, or it is not yours to see.".to_string(),
            StatusCode::FORBIDDEN => forbidden_message(&problem.detail),
            _ => capitalize(&problem.detail),
        };
        PortalError::Message(status, message)
    }
}

impl From<askama::Error> for PortalError {
    fn from(error: askama::Error) -> PortalError {
        tracing::error!(%error, "template failed");
        PortalError::Message(StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong on our side.".into())
    }
}

/// A refusal as a page says it: "You may not …". The app words it "your scope may not …",
/// the portal's own checks "you may not …" or just what was refused.
fn forbidden_message(detail: &str) -> String {
    let what = ["your scope may not ", "you may not "].into_iter().find_map(|prefix| detail.strip_prefix(prefix));
    format!("You may not {}.", what.unwrap_or(detail))
}

/// A time as pages show it: `2026-12-03 14:05 UTC`.
pub(crate) fn timestamp(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// A message as a sentence: its first letter capitalized.
pub(crate) fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trigger_json_is_ascii_and_means_the_same() {
        let value = serde_json::json!({ "toast": { "message": "Saved Zoë 😀 Ærø." } });
        let text = ascii_json(&value);
        assert!(text.is_ascii(), "{text}");
        assert_eq!(serde_json::from_str::<serde_json::Value>(&text).unwrap(), value);
    }

    #[test]
    fn trigger_json_carries_no_markup() {
        let value = serde_json::json!({ "toast": { "message": "Saved <script>alert(1)</script> \"><img> & co." } });
        let text = ascii_json(&value);
        assert!(!text.contains(['<', '>', '&']), "{text}");
        assert_eq!(serde_json::from_str::<serde_json::Value>(&text).unwrap(), value);
    }

    #[test]
    fn a_refusal_reads_as_a_sentence() {
        for detail in
            ["your scope may not change these contacts", "you may not change these contacts", "change these contacts"]
        {
            let PortalError::Message(status, message) = AppError::Forbidden(detail.into()).into() else {
                panic!("a message")
            };
            assert_eq!((status, message.as_str()), (StatusCode::FORBIDDEN, "You may not change these contacts."));
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    message: &'a str,
}

impl IntoResponse for PortalError {
    fn into_response(self) -> Response {
        match self {
            // An htmx request answers 401, so the page asks for the password again and keeps its form.
            PortalError::LoggedOut { htmx: true, .. } => {
                (StatusCode::UNAUTHORIZED, "Your session has ended.").into_response()
            }
            PortalError::LoggedOut { next, htmx: false } => {
                let query = serde_urlencoded::to_string([("next", next)]).unwrap_or_default();
                Redirect::to(&format!("/login?{query}")).into_response()
            }
            PortalError::Message(status, message) => {
                let page = ErrorPage { status: status.as_u16(), message: &message };
                let body = page.render().unwrap_or_else(|_| message.clone());
                (status, Html(body)).into_response()
            }
        }
    }
}

/// Adds `HX-Trigger`: events the page script reacts to (`toast`, `close-modal`,
/// `contacts-changed` for lists to reload).
pub(crate) fn triggers(events: serde_json::Value, mut response: Response) -> Response {
    if let Ok(value) = HeaderValue::from_str(&ascii_json(&events)) {
        response.headers_mut().insert("hx-trigger", value);
    }
    response
}

/// JSON with every non-ASCII character escaped (`\u00e9`), as a header value must be ASCII;
/// `<`, `>` and `&` too, so that a name's markup never travels as markup, even in JSON.
fn ascii_json(value: &serde_json::Value) -> String {
    let mut out = String::new();
    for c in value.to_string().chars() {
        if c.is_ascii() && !c.is_ascii_control() && !matches!(c, '<' | '>' | '&') {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

/// Renders a template as an HTML answer.
pub(crate) fn html(template: &impl Template) -> PortalResult<Response> {
    Ok(Html(template.render()?).into_response())
}
