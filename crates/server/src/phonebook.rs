//! Desk-phone XML phonebooks: `GET /phonebook/{token}/{vendor}.xml`, and
//! `GET /phonebook/{vendor}.xml` with HTTP Basic (a device's bind DN and password, or a
//! user's `200@acme.example` and password), each with `q=`, `group=` and `page=`.
//!
//! These routes are for phones, not API clients: they live outside `/api/v1` and out of
//! the OpenAPI document. What a phone may read is decided by the app; here credentials
//! are passed on, the vendor picked and caching answered:
//! - `ETag` (weak, as gzip may change the bytes) digests the domain's change counter,
//!   which the store bumps with every change of contacts, users, favorites or settings,
//!   with the reader, the vendor, the query and the base URL links are made of; a
//!   matching `If-None-Match` answers 304 without reading the book.
//! - `Last-Modified` is the last change's time rounded up to the second, and is sent only
//!   once that second is over: HTTP dates count whole seconds, and a second change within
//!   the same second must not be hidden behind a 304 to `If-Modified-Since`.
//! - Vendors that do not page get up to 500 entries per document (larger domains are
//!   searched with `q=`, or split with `group=`); Cisco gets as many entries as fit its 32
//!   lines, with `Next`/`Previous` soft keys linking `page=` cursors.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Duration, DurationRound, Utc};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use switchboard_app::{App, AppError, PhonebookPage, PhonebookQuery, PhonebookReader};
use switchboard_core::Invalid;
use switchboard_core::model::DirectoryEntry;
use switchboard_formats::phonebook::{Book, BookEntry, Vendor, cisco_fit, render};

use crate::AppState;
use crate::auth::basic_credentials;
use crate::extract::ClientAddr;
use crate::problem::Problem;

/// Entries per document for vendors that take a whole book at once.
const WHOLE_BOOK: u32 = 500;
const XML: &str = "text/xml; charset=utf-8";
const BASIC_CHALLENGE: &str = "Basic realm=\"Switchboard phonebook\", charset=\"UTF-8\"";

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/phonebook/{token}/{file}", get(by_token))
        .route("/phonebook/{file}", get(by_basic_auth))
        .layer(crate::gzip_layer())
}

/// What a phone asks for in the query string.
#[derive(Debug, Default, Deserialize)]
pub struct PhonebookParams {
    /// The phone's remote search (Yealink's `#SEARCH`).
    q: Option<String>,
    /// `all`, `shared`, `coworkers`, `favorites`, `mine`, `department:NAME`, `site:NAME`.
    group: Option<String>,
    /// A page cursor from a `Next`/`Previous` link.
    page: Option<String>,
    /// `presence=1`: coworkers who are not available are named with why (`[on a call]`).
    /// Off by default, as phones also name callers from their book.
    presence: Option<String>,
}

impl PhonebookParams {
    fn shows_presence(&self) -> Result<bool, Problem> {
        match self.presence.as_deref().map(str::trim).unwrap_or_default() {
            "" | "0" | "no" | "false" | "off" => Ok(false),
            "1" | "yes" | "true" | "on" => Ok(true),
            other => Err(AppError::Invalid(Invalid::field(
                "presence",
                format!("`{other}` is neither on nor off: use presence=1 to show presence, presence=0 not to"),
            ))
            .into()),
        }
    }

    fn query(&self, limit: u32) -> Result<PhonebookQuery, Problem> {
        Ok(PhonebookQuery {
            q: self.q.clone(),
            group: self.group.clone(),
            cursor: self.page.clone(),
            limit: Some(limit),
            presence: self.shows_presence()?,
        })
    }
}

async fn by_token(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    Path((token, file)): Path<(String, String)>,
    Query(params): Query<PhonebookParams>,
    headers: HeaderMap,
) -> Response {
    let Some(vendor) = vendor_of(&file) else { return Problem::not_found().into_response() };
    match state.app.device_by_token(&token, client).await {
        Ok(reader) => serve(&state.app, &reader, vendor, &params, &headers, &format!("/phonebook/{token}/{file}"))
            .await
            .unwrap_or_else(IntoResponse::into_response),
        Err(error) => Problem::from(error).into_response(),
    }
}

async fn by_basic_auth(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    Path(file): Path<String>,
    Query(params): Query<PhonebookParams>,
    headers: HeaderMap,
) -> Response {
    let Some(vendor) = vendor_of(&file) else { return Problem::not_found().into_response() };
    let Some((user, password)) = basic_credentials(&headers) else {
        return challenge(Problem::unauthorized("send a device's bind DN and password with HTTP Basic"));
    };
    let reader = match state.app.device_by_bind(&user, &password, client).await {
        Ok(reader) => reader,
        Err(AppError::Unauthorized(why)) => return challenge(Problem::unauthorized(why)),
        Err(other) => return Problem::from(other).into_response(),
    };
    let mut response = serve(&state.app, &reader, vendor, &params, &headers, &format!("/phonebook/{file}"))
        .await
        .unwrap_or_else(IntoResponse::into_response);
    // The same URL answers each credential with its own book.
    response.headers_mut().append(header::VARY, HeaderValue::from_static("authorization"));
    response
}

/// The vendor a file name asks for; `phonebook.xml` is Grandstream's, whose phones add
/// that name to the "phonebook XML server path" they are given.
fn vendor_of(file: &str) -> Option<Vendor> {
    match file.strip_suffix(".xml")? {
        "phonebook" => Some(Vendor::Grandstream),
        name => Vendor::parse(name),
    }
}

fn challenge(problem: Problem) -> Response {
    let mut response = problem.into_response();
    response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(BASIC_CHALLENGE));
    response
}

/// The reader's book as `vendor` reads it, or 304 when the phone has it already.
async fn serve(
    app: &App,
    reader: &PhonebookReader,
    vendor: Vendor,
    params: &PhonebookParams,
    headers: &HeaderMap,
    path: &str,
) -> Result<Response, Problem> {
    let base = base_url(headers);
    let query = params.query(vendor.page_size().unwrap_or(WHOLE_BOOK))?;
    let stamp = match reader.stamp_when_made() {
        Some(stamp) => stamp,
        None => app.phonebook_stamp(reader).await?,
    };
    // Presence changes without changing the book: a book that follows it is tagged with
    // the feed's head as well, and has no date (a second may hold many presence changes).
    let (presence_seq, last_modified) = match query.follows_presence() {
        true => (Some(app.phonebook_presence_stamp(reader).await?), None),
        false => (None, last_modified(stamp.at)),
    };
    let etag = etag([Some(stamp.seq), presence_seq], reader, vendor, params, &base);
    let mut cache_headers = HeaderMap::new();
    cache_headers.insert(header::ETAG, HeaderValue::from_str(&etag).expect("an ETag is ASCII"));
    cache_headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
    if let Some(at) = last_modified {
        cache_headers.insert(header::LAST_MODIFIED, HeaderValue::from_str(&http_date(at)).expect("a date is ASCII"));
    }
    if not_modified(headers, &etag, last_modified) {
        return Ok((StatusCode::NOT_MODIFIED, cache_headers).into_response());
    }
    let page = read_page(app, reader, vendor, query).await?;
    let entries = book_entries(&page, params.shows_presence()?);
    let link = |cursor: &Option<String>| cursor.as_ref().map(|cursor| page_url(&base, path, params, cursor));
    let (next_url, previous_url) = (link(&page.next_cursor), link(&page.previous_cursor));
    let title = reader.domain().name.as_str();
    let book = Book { title, entries: &entries, next_url: next_url.as_deref(), previous_url: previous_url.as_deref() };
    cache_headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(XML));
    Ok((cache_headers, render(vendor, &book)).into_response())
}

/// One document's worth of the book: for Cisco, only the entries whose numbers fit its
/// lines, with the cursors read again for exactly those.
async fn read_page(
    app: &App,
    reader: &PhonebookReader,
    vendor: Vendor,
    mut query: PhonebookQuery,
) -> Result<PhonebookPage, Problem> {
    let page = app.phonebook_page(reader, &query).await?;
    if vendor != Vendor::Cisco {
        return Ok(page);
    }
    let fit = cisco_fit(&book_entries(&page, query.presence));
    if fit == page.entries.len() || fit == 0 {
        return Ok(page);
    }
    query.limit = Some(fit as u32);
    Ok(app.phonebook_page(reader, &query).await?)
}

/// The page's entries as the book shows them.
fn book_entries(page: &PhonebookPage, presence: bool) -> Vec<BookEntry> {
    let entry = |entry: &DirectoryEntry| match presence {
        true => BookEntry::from(entry).showing_presence(entry.presence.as_ref()),
        false => BookEntry::from(entry),
    };
    page.entries.iter().map(entry).collect()
}

/// `scheme://host` the phone reached us at (a trusted proxy's `X-Forwarded-Proto` decides the scheme).
fn base_url(headers: &HeaderMap) -> String {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    let https = headers.get("x-forwarded-proto").and_then(|p| p.to_str().ok()) == Some("https");
    format!("{}://{host}", if https { "https" } else { "http" })
}

fn page_url(base: &str, path: &str, params: &PhonebookParams, cursor: &str) -> String {
    let mut query = url_pairs(params);
    query.push(("page", cursor.to_string()));
    let encoded = serde_urlencoded::to_string(&query).unwrap_or_default();
    format!("{base}{path}?{encoded}")
}

fn url_pairs(params: &PhonebookParams) -> Vec<(&'static str, String)> {
    let mut pairs = Vec::new();
    if let Some(q) = params.q.as_ref().filter(|q| !q.is_empty()) {
        pairs.push(("q", q.clone()));
    }
    if let Some(group) = params.group.as_ref().filter(|g| !g.is_empty()) {
        pairs.push(("group", group.clone()));
    }
    if let Some(presence) = params.presence.as_ref().filter(|p| !p.is_empty()) {
        pairs.push(("presence", presence.clone()));
    }
    pairs
}

/// The book's tag: the change numbers it was read at, and a digest of whose book it is
/// and how it was asked for.
fn etag(
    seqs: [Option<i64>; 2],
    reader: &PhonebookReader,
    vendor: Vendor,
    params: &PhonebookParams,
    base: &str,
) -> String {
    let mut digest = Sha256::new();
    for part in [reader.identity().as_str(), vendor.as_str(), base] {
        digest.update(part.as_bytes());
        digest.update([0]);
    }
    for value in [&params.q, &params.group, &params.page, &params.presence] {
        digest.update(value.as_deref().unwrap_or_default().as_bytes());
        digest.update([0]);
    }
    let hash: String = digest.finalize()[..9].iter().map(|b| format!("{b:02x}")).collect();
    let seqs: Vec<String> = seqs.iter().flatten().map(i64::to_string).collect();
    format!("W/\"{}-{hash}\"", seqs.join("."))
}

/// The last change rounded up to its second, once that second is over (see the module).
fn last_modified(changed_at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let floor = changed_at.duration_trunc(Duration::seconds(1)).ok()?;
    let ceiling = if floor == changed_at { floor } else { floor + Duration::seconds(1) };
    (ceiling <= Utc::now()).then_some(ceiling)
}

fn http_date(at: DateTime<Utc>) -> String {
    at.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// `If-None-Match` when sent (any of its tags, weakly compared), else `If-Modified-Since`.
fn not_modified(headers: &HeaderMap, etag: &str, last_modified: Option<DateTime<Utc>>) -> bool {
    let strip = |tag: &str| tag.trim().trim_start_matches("W/").to_string();
    if let Some(value) = headers.get(header::IF_NONE_MATCH) {
        let value = value.to_str().unwrap_or_default();
        return value.trim() == "*" || value.split(',').any(|tag| strip(tag) == strip(etag));
    }
    let since = headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| DateTime::parse_from_rfc2822(v.trim()).ok());
    matches!((since, last_modified), (Some(since), Some(modified)) if modified <= since)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_match_weakly_and_in_lists() {
        let mut headers = HeaderMap::new();
        headers.insert(header::IF_NONE_MATCH, HeaderValue::from_static("\"x\", W/\"7-abc\""));
        assert!(not_modified(&headers, "W/\"7-abc\"", None));
        assert!(!not_modified(&headers, "W/\"8-abc\"", None));
        headers.insert(header::IF_NONE_MATCH, HeaderValue::from_static("*"));
        assert!(not_modified(&headers, "W/\"8-abc\"", None));
    }

    #[test]
    fn if_modified_since_compares_whole_seconds() {
        let modified = DateTime::parse_from_rfc3339("2024-03-01T10:00:05Z").unwrap().to_utc();
        let mut headers = HeaderMap::new();
        headers.insert(header::IF_MODIFIED_SINCE, HeaderValue::from_str(&http_date(modified)).unwrap());
        assert!(not_modified(&headers, "W/\"1\"", Some(modified)));
        assert!(!not_modified(&headers, "W/\"1\"", Some(modified + Duration::seconds(1))));
        assert!(!not_modified(&headers, "W/\"1\"", None), "no Last-Modified given, nothing to compare");
    }

    #[test]
    fn last_modified_waits_for_its_second_to_end() {
        let now = Utc::now();
        assert_eq!(last_modified(now + Duration::seconds(5)), None);
        let past = DateTime::parse_from_rfc3339("2024-03-01T10:00:05.250Z").unwrap().to_utc();
        assert_eq!(http_date(last_modified(past).unwrap()), "Fri, 01 Mar 2024 10:00:06 GMT");
    }
}
