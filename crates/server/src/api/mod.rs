//! The REST API: one module per resource, assembled with their OpenAPI paths.

mod app_passwords;
mod audit;
mod blocking;
mod chat;
pub(crate) mod contacts;
mod devices;
mod directory;
mod domains;
pub(crate) mod events;
mod export;
mod health;
mod import;
mod lookup;
pub(crate) mod photos;
mod presence;
mod session;
mod settings;
mod tokens;
mod trash;
mod users;
mod webhooks;

use axum::http::{HeaderValue, header};
use serde::Serialize;
use switchboard_core::paging::Page;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::extract::etag;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(crate::base_openapi())
        .routes(routes!(session::login, session::current, session::logout))
        .routes(routes!(session::sign_out_everywhere))
        .routes(routes!(tokens::list, tokens::create))
        .routes(routes!(tokens::revoke))
        .routes(routes!(domains::list, domains::create))
        .routes(routes!(domains::get, domains::update, domains::delete))
        .routes(routes!(users::list, users::create))
        .routes(routes!(users::get, users::update, users::delete))
        .routes(routes!(users::list_deleted))
        .routes(routes!(users::restore))
        .routes(routes!(contacts::shared::list, contacts::shared::create))
        .routes(routes!(contacts::shared::get, contacts::shared::update, contacts::shared::delete))
        .routes(routes!(contacts::shared::restore))
        .routes(routes!(photos::shared::get, photos::shared::put, photos::shared::delete))
        .routes(routes!(contacts::shared::duplicates))
        .routes(routes!(contacts::shared::merge_preview))
        .routes(routes!(contacts::shared::merge))
        .routes(routes!(contacts::shared::not_duplicates))
        .routes(routes!(export::shared))
        .routes(routes!(import::shared))
        .routes(routes!(import::personal))
        .routes(routes!(export::directory))
        .routes(routes!(contacts::personal::list, contacts::personal::create))
        .routes(routes!(contacts::personal::get, contacts::personal::update, contacts::personal::delete))
        .routes(routes!(contacts::personal::restore))
        .routes(routes!(photos::personal::get, photos::personal::put, photos::personal::delete))
        .routes(routes!(contacts::personal::duplicates))
        .routes(routes!(contacts::personal::merge_preview))
        .routes(routes!(contacts::personal::merge))
        .routes(routes!(contacts::personal::not_duplicates))
        .routes(routes!(directory::list))
        .routes(routes!(directory::departments))
        .routes(routes!(directory::changes))
        .routes(routes!(directory::sites))
        .routes(routes!(directory::favorite, directory::unfavorite))
        .routes(routes!(directory::presence, presence::clear))
        .routes(routes!(presence::activity))
        .routes(routes!(presence::lines))
        .routes(routes!(presence::list_credentials, presence::create_credential))
        .routes(routes!(presence::revoke_credential))
        .routes(routes!(webhooks::list, webhooks::create))
        .routes(routes!(webhooks::get, webhooks::update, webhooks::delete))
        .routes(routes!(webhooks::resume))
        .routes(routes!(chat::conversations))
        .routes(routes!(chat::messages, chat::send))
        .routes(routes!(chat::read))
        .routes(routes!(chat::delete))
        .routes(routes!(lookup::lookup))
        .routes(routes!(lookup::phonebook))
        .routes(routes!(blocking::list_blocked, blocking::add_blocked))
        .routes(routes!(blocking::remove_blocked))
        .routes(routes!(blocking::list_allowed, blocking::add_allowed))
        .routes(routes!(blocking::remove_allowed))
        .routes(routes!(app_passwords::list, app_passwords::create))
        .routes(routes!(app_passwords::revoke))
        .routes(routes!(settings::get_system, settings::put_system))
        .routes(routes!(settings::get_reseller, settings::put_reseller))
        .routes(routes!(settings::get_domain, settings::put_domain))
        .routes(routes!(settings::get_scope, settings::put_scope))
        .routes(routes!(settings::get_user, settings::put_user))
        .routes(routes!(settings::effective))
        .routes(routes!(trash::list))
        .routes(routes!(audit::list))
        .routes(routes!(devices::list, devices::create))
        .routes(routes!(devices::get, devices::revoke))
        .routes(routes!(devices::get_sharing, devices::put_sharing))
        .routes(routes!(events::stream))
        .routes(routes!(health::healthz))
        .routes(routes!(crate::metrics::metrics))
}

/// One page of a list; pass `next_cursor` as `cursor` for the next (null on the last page).
/// Documented by the concrete twins in `docs` (`ContactPage`…).
#[derive(Debug, Serialize)]
pub struct ListPage<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> ListPage<T> {
    /// A page of the app's records shown as `view` shows them.
    pub fn of<R>(page: Page<R>, view: impl Fn(R) -> T) -> ListPage<T> {
        ListPage { items: page.items.into_iter().map(view).collect(), next_cursor: page.next_cursor }
    }
}

/// A short list that needs no paging.
#[derive(Debug, Serialize)]
pub struct Items<T> {
    pub items: Vec<T>,
}

/// `ETag` header for a record's version.
pub fn etag_header(version: i64) -> [(header::HeaderName, HeaderValue); 1] {
    let value = HeaderValue::from_str(&etag(version)).expect("digits and quotes are a valid header value");
    [(header::ETAG, value)]
}

/// `Location` header for a record just created.
pub fn location(path: String) -> (header::HeaderName, HeaderValue) {
    // The path is built from names the app has just accepted; fall back to the API root rather than fail.
    let value = HeaderValue::try_from(path).unwrap_or_else(|_| HeaderValue::from_static("/api/v1"));
    (header::LOCATION, value)
}

/// Percent-encodes one path segment, so a name with unusual characters cannot
/// change the shape of a URL we hand out.
pub fn segment(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}
