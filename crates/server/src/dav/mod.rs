//! CardDAV (RFC 6352, with RFC 6578 sync and RFC 6764 discovery) under `/dav/`, on the
//! HTTP port, for address-book apps: iPhone and macOS Contacts, DAVx5, Thunderbird,
//! vdirsyncer.
//!
//! Layout, for the user `200@acme.example` (every path of another user answers 404):
//! - `/dav/` — the root, where `/.well-known/carddav` leads;
//! - `/dav/principals/acme.example/200/` — the user's principal;
//! - `/dav/books/acme.example/200/` — their address-book home, holding
//!   `directory/` (the company directory, read-only) and `contacts/` (their own);
//! - `…/{book}/{id}.vcf` — a card.
//!
//! Every request but OPTIONS carries HTTP Basic credentials (`App::dav_login`); what
//! the books hold, their ETags and their changes come from `app::dav`. Answers are
//! multistatus documents written by [`xml`]; a sync token is the change feed's cursor
//! behind [`SYNC_TOKEN_PREFIX`].

// Handlers return `Result<Response, Response>`: an error is the answer itself, built
// once and sent at once, so its size costs nothing worth boxing.
#![allow(clippy::result_large_err)]

mod props;
mod xml;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use std::collections::HashSet;

use futures::StreamExt;
use switchboard_app::dav::{
    CardPages, DavBook, DavCard, DavChanges, DavConditions, DavWrite, MAX_CARD_BYTES, VCardVersion,
};
use switchboard_app::{AppError, Caller};

use crate::AppState;
use crate::auth::basic_credentials;
use crate::extract::ClientAddr;
use crate::problem::Problem;
use props::{Resource, answer_props, card_name, requested_props};
use xml::{CARDDAV, DAV, Element, Multistatus, PropName};

/// A sync token is a URI (RFC 6578): this, then the feed's cursor.
pub const SYNC_TOKEN_PREFIX: &str = "urn:x-switchboard:sync:";
/// The largest PROPFIND or REPORT body read (a multiget of thousands of cards fits).
const MAX_XML_BODY: usize = 4 * 1024 * 1024;
const CHALLENGE: &str = "Basic realm=\"Switchboard CardDAV\", charset=\"UTF-8\"";
const ALLOW: &str = "OPTIONS, GET, HEAD, PROPFIND, PROPPATCH, REPORT, PUT, DELETE";
const MULTISTATUS: StatusCode = StatusCode::MULTI_STATUS;
const XML_TYPE: &str = "application/xml; charset=utf-8";

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/.well-known/carddav", any(well_known))
        .route("/dav", any(dav))
        .route("/dav/", any(dav))
        .route("/dav/{*path}", any(dav))
}

/// RFC 6764: whatever the method and credentials, the root is at `/dav/`.
async fn well_known() -> Response {
    (StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, "/dav/")]).into_response()
}

async fn dav(State(state): State<AppState>, ClientAddr(client): ClientAddr, request: Request) -> Response {
    if request.method() == Method::OPTIONS {
        return options();
    }
    let caller = match login(&state, request.headers(), client).await {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    let path = request.uri().path().to_string();
    let Some(resource) = Resource::parse(&path, &caller) else { return not_found() };
    let method = request.method().clone();
    let headers = request.headers().clone();
    // A card is read whole to be checked, so it is refused past its size at once.
    let most = if method == Method::PUT { MAX_CARD_BYTES } else { MAX_XML_BODY };
    let body = match axum::body::to_bytes(request.into_body(), most).await {
        Ok(body) => body,
        Err(_) if method == Method::PUT => return too_large_card(),
        Err(_) => return Problem::from(AppError::TooLarge("the request body is too large".into())).into_response(),
    };
    let served = match method.as_str() {
        "PROPFIND" => propfind(&state, &caller, &resource, &headers, &body).await,
        "REPORT" => report(&state, &caller, &resource, &body).await,
        "GET" | "HEAD" => get(&state, &caller, &resource, &headers, method == Method::HEAD).await,
        "PUT" | "DELETE" if resource.is_writable() => write(&state, &caller, &resource, &method, &headers, &body).await,
        "PROPPATCH" => proppatch(&state, &caller, &resource, &body).await,
        "PUT" | "DELETE" | "MKCOL" | "MOVE" | "COPY" => Ok(read_only()),
        _ => Ok((StatusCode::METHOD_NOT_ALLOWED, [(header::ALLOW, ALLOW)]).into_response()),
    };
    served.unwrap_or_else(|error| error)
}

fn options() -> Response {
    let headers = [("dav", "1, 3, addressbook"), ("allow", ALLOW)];
    let mut response = StatusCode::OK.into_response();
    for (name, value) in headers {
        response.headers_mut().insert(name, HeaderValue::from_static(value));
    }
    response
}

/// The caller from HTTP Basic credentials, or the answer that asks for them.
async fn login(state: &AppState, headers: &HeaderMap, client: Option<std::net::IpAddr>) -> Result<Caller, Response> {
    let challenge = |problem: Problem| {
        let mut response = problem.into_response();
        response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(CHALLENGE));
        response
    };
    let Some((user, password)) = basic_credentials(headers) else {
        return Err(challenge(Problem::unauthorized("log in with your user name (200@acme.example) and a password")));
    };
    match state.app.dav_login(&user, &password, client).await {
        Ok(caller) => Ok(caller),
        Err(AppError::Unauthorized(why)) => Err(challenge(Problem::unauthorized(why))),
        Err(other) => Err(Problem::from(other).into_response()),
    }
}

type Answer = Result<Response, Response>;

fn app_error(error: AppError) -> Response {
    Problem::from(error).into_response()
}

fn not_found() -> Response {
    Problem::not_found().into_response()
}

fn xml_response(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, XML_TYPE)], body).into_response()
}

/// 403 with the precondition that failed.
fn precondition(ns: &str, name: &str) -> Response {
    xml_response(StatusCode::FORBIDDEN, xml::error(ns, name))
}

fn read_only() -> Response {
    precondition(DAV, "need-privileges")
}

fn bad_xml(why: String) -> Response {
    Problem::new(StatusCode::BAD_REQUEST, "malformed-xml", "Malformed XML", why).into_response()
}

/// The body's root element (`None` for an empty body).
fn body_root(body: &Bytes) -> Result<Option<Element>, Response> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    xml::parse(body).map(Some).map_err(bad_xml)
}

async fn propfind(state: &AppState, caller: &Caller, resource: &Resource, headers: &HeaderMap, body: &Bytes) -> Answer {
    let depth = match headers.get("depth").and_then(|d| d.to_str().ok()).map(str::trim) {
        Some("0") => 0,
        Some("1") => 1,
        // An absent Depth means infinity (RFC 4918), which no server owes anyone.
        _ => return Err(precondition(DAV, "propfind-finite-depth")),
    };
    let root = body_root(body)?;
    if let Some(root) = &root
        && !root.is(DAV, "propfind")
    {
        return Err(bad_xml("a PROPFIND body is a DAV:propfind element".into()));
    }
    let asked = requested_props(root.as_ref());
    let cards_version = asked.needs_cards().then_some(VCardVersion::V3);
    let mut answer = Multistatus::new();
    let context = props::Context::read(state, caller, resource).await.map_err(app_error)?;
    let card = match resource {
        Resource::Card(book, name) => Some(one_card(state, caller, *book, name, cards_version).await?),
        _ => None,
    };
    answer_props(&mut answer, &context, resource, card.as_ref(), &asked);
    if depth == 1 {
        for member in resource.members(&context) {
            answer_props(&mut answer, &context, &member, None, &asked);
        }
        if let Resource::Book(book) = resource {
            let pages = state.app.dav_card_pages(caller, *book, cards_version).await.map_err(app_error)?;
            return Ok(streamed(answer, pages, Box::new(Cards { context, book: *book, asked })));
        }
    }
    Ok(xml_response(MULTISTATUS, answer.finish()))
}

async fn report(state: &AppState, caller: &Caller, resource: &Resource, body: &Bytes) -> Answer {
    let Some(root) = body_root(body)? else { return Err(bad_xml("a REPORT needs a body".into())) };
    let Resource::Book(book) = resource else { return Err(precondition(DAV, "supported-report")) };
    let book = *book;
    let context = props::Context::read(state, caller, resource).await.map_err(app_error)?;
    let asked = requested_props(Some(&root));
    let version = asked_version(&root);
    let cards_version = asked.needs_cards().then_some(version);
    let answer = Multistatus::new();
    if root.is(DAV, "sync-collection") {
        let token = root.child(DAV, "sync-token").map(|t| t.text.trim()).unwrap_or_default();
        let cursor = match token {
            "" => None,
            token => Some(token.strip_prefix(SYNC_TOKEN_PREFIX).ok_or_else(|| precondition(DAV, "valid-sync-token"))?),
        };
        let limit = props::result_limit(&root, DAV);
        let changes = match state.app.dav_changes(caller, book, cursor, limit, cards_version).await {
            Ok(changes) => changes,
            Err(AppError::Gone(_) | AppError::Invalid(_)) => return Err(precondition(DAV, "valid-sync-token")),
            Err(other) => return Err(app_error(other)),
        };
        let DavChanges { changed, removed, token, truncated } = changes;
        let cards = Cards { context, book, asked };
        Ok(streamed(answer, changed, Box::new(Changes { cards, removed, truncated, token })))
    } else if root.is(CARDDAV, "addressbook-multiget") {
        let book_path = resource.path(&context);
        let hrefs: Vec<String> = root.all(DAV, "href").map(|href| href.text.trim().to_string()).collect();
        let names: Vec<String> = hrefs.iter().filter_map(|href| name_in(&book_path, href)).collect();
        let pages = state.app.dav_cards_named_pages(caller, book, names, cards_version);
        let cards = Cards { context, book, asked };
        Ok(streamed(answer, pages, Box::new(Multiget { cards, book_path, hrefs, seen: HashSet::new() })))
    } else if root.is(CARDDAV, "addressbook-query") {
        let filter = props::Filter::parse(root.child(CARDDAV, "filter")).map_err(bad_xml)?;
        let left = props::result_limit(&root, CARDDAV).unwrap_or(usize::MAX);
        // The filter reads the cards, so they are written whatever the answer shows.
        let pages = state.app.dav_card_pages(caller, book, Some(version)).await.map_err(app_error)?;
        Ok(streamed(answer, pages, Box::new(Query { cards: Cards { context, book, asked }, filter, left })))
    } else {
        Err(precondition(DAV, "supported-report"))
    }
}

/// What a streamed multistatus says of each card, and what it adds after the last one.
trait CardAnswer: Send + 'static {
    fn card(&mut self, answer: &mut Multistatus, card: &DavCard);
    fn end(self: Box<Self>, _answer: &mut Multistatus) {}
}

/// Each card with the properties asked for.
struct Cards {
    context: props::Context,
    book: DavBook,
    asked: props::Asked,
}

impl CardAnswer for Cards {
    fn card(&mut self, answer: &mut Multistatus, card: &DavCard) {
        answer_props(answer, &self.context, &card_of(self.book, card), Some(card), &self.asked);
    }
}

/// A sync: the cards changed, then those removed (404), whether more is to come, the token.
struct Changes {
    cards: Cards,
    removed: Vec<String>,
    truncated: bool,
    token: String,
}

impl CardAnswer for Changes {
    fn card(&mut self, answer: &mut Multistatus, card: &DavCard) {
        self.cards.card(answer, card);
    }

    fn end(self: Box<Self>, answer: &mut Multistatus) {
        let Cards { context, book, .. } = &self.cards;
        for name in &self.removed {
            answer.status(&Resource::Card(*book, name.clone()).path(context), "404 Not Found");
        }
        if self.truncated {
            // RFC 6578 §3.6: the collection itself says more is to come.
            answer.status(&Resource::Book(*book).path(context), "507 Insufficient Storage");
        }
        answer.sync_token(&format!("{SYNC_TOKEN_PREFIX}{}", self.token));
    }
}

/// A multiget: the cards found, then 404 for each href that named none.
struct Multiget {
    cards: Cards,
    book_path: String,
    hrefs: Vec<String>,
    seen: HashSet<String>,
}

impl CardAnswer for Multiget {
    fn card(&mut self, answer: &mut Multistatus, card: &DavCard) {
        // A name asked twice is answered once.
        if self.seen.insert(card.name.clone()) {
            self.cards.card(answer, card);
        }
    }

    fn end(self: Box<Self>, answer: &mut Multistatus) {
        for href in &self.hrefs {
            if name_in(&self.book_path, href).is_none_or(|name| !self.seen.contains(&name)) {
                answer.status(href, "404 Not Found");
            }
        }
    }
}

/// An addressbook-query: the cards the filter matches, up to the limit asked.
struct Query {
    cards: Cards,
    filter: props::Filter,
    left: usize,
}

impl CardAnswer for Query {
    fn card(&mut self, answer: &mut Multistatus, card: &DavCard) {
        if self.left > 0 && card.vcard.as_deref().is_some_and(|vcard| self.filter.matches(vcard)) {
            self.left -= 1;
            self.cards.card(answer, card);
        }
    }
}

/// A multistatus sent as it is written: what `answer` holds, then each page of cards as
/// it is read, then the end. A book of 100,000 cards is never whole in memory. A failure
/// half-way can no longer change the status: it is logged and the answer cut off, so the
/// client sees a broken document and asks again.
fn streamed(mut answer: Multistatus, mut pages: CardPages, mut cards: Box<dyn CardAnswer>) -> Response {
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(2);
    tokio::spawn(async move {
        while let Some(page) = pages.next().await {
            match page {
                Ok(page) => page.iter().for_each(|card| cards.card(&mut answer, card)),
                Err(error) => {
                    tracing::error!(%error, "a CardDAV answer failed half-way");
                    let _ = sender.send(Err(std::io::Error::other(error.to_string()))).await;
                    return;
                }
            }
            if sender.send(Ok(answer.take().into())).await.is_err() {
                return; // The client has gone.
            }
        }
        cards.end(&mut answer);
        let _ = sender.send(Ok(answer.finish().into())).await;
    });
    let chunks = futures::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|chunk| (chunk, receiver))
    });
    (MULTISTATUS, [(header::CONTENT_TYPE, XML_TYPE)], Body::from_stream(chunks)).into_response()
}

/// PROPPATCH (RFC 4918 §9.2): no property here may be set or removed by a client (the
/// names and descriptions are the server's, and no dead properties are kept), so each one
/// named is refused with 403 in a multistatus, as clients that rename a book or set a
/// "me" card expect, rather than a bare 403 they would take for no access at all.
async fn proppatch(state: &AppState, caller: &Caller, resource: &Resource, body: &Bytes) -> Answer {
    let Some(root) = body_root(body)? else { return Err(bad_xml("a PROPPATCH needs a body".into())) };
    if !root.is(DAV, "propertyupdate") {
        return Err(bad_xml("a PROPPATCH body is a DAV:propertyupdate element".into()));
    }
    if let Resource::Card(book, name) = resource {
        one_card(state, caller, *book, name, None).await?;
    }
    let context = props::Context::read(state, caller, resource).await.map_err(app_error)?;
    let names: Vec<PropName> = root
        .children
        .iter()
        .filter(|change| change.is(DAV, "set") || change.is(DAV, "remove"))
        .flat_map(|change| change.all(DAV, "prop"))
        .flat_map(|prop| prop.children.iter().map(|p| PropName::new(&p.ns, &p.name)))
        .collect();
    if names.is_empty() {
        return Err(bad_xml("a PROPPATCH names at least one property in a set or remove".into()));
    }
    let mut answer = Multistatus::new();
    let protected = PropName::new(DAV, "cannot-modify-protected-property");
    answer.propstat(&resource.path(&context), &names, "403 Forbidden", Some(&protected));
    Ok(xml_response(MULTISTATUS, answer.finish()))
}

/// The vCard version a report's `address-data` asks for (3.0 unless it says 4.0).
fn asked_version(root: &Element) -> VCardVersion {
    let prop = root.child(DAV, "prop");
    let data = prop.and_then(|prop| prop.child(CARDDAV, "address-data"));
    match data.and_then(|data| data.attribute("version")) {
        Some("4.0") => VCardVersion::V4,
        _ => VCardVersion::V3,
    }
}

/// The card name an href names, if it is a card of the book at `book_path`.
fn name_in(book_path: &str, href: &str) -> Option<String> {
    // Clients send the path, or a full URL.
    let path = match href.find("://") {
        Some(at) => &href[at + 3..][href[at + 3..].find('/')?..],
        None => href,
    };
    card_name(path.strip_prefix(book_path)?)
}

fn card_of(book: DavBook, card: &DavCard) -> Resource {
    Resource::Card(book, card.name.clone())
}

/// The card at a path, or 404.
async fn one_card(
    state: &AppState,
    caller: &Caller,
    book: DavBook,
    name: &str,
    version: Option<VCardVersion>,
) -> Result<DavCard, Response> {
    let cards = state.app.dav_cards_named(caller, book, &[name.to_string()], version).await.map_err(app_error)?;
    cards.into_iter().next().ok_or_else(not_found)
}

async fn get(state: &AppState, caller: &Caller, resource: &Resource, headers: &HeaderMap, head: bool) -> Answer {
    let Resource::Card(book, name) = resource else {
        return Ok((StatusCode::METHOD_NOT_ALLOWED, [(header::ALLOW, "OPTIONS, PROPFIND, REPORT")]).into_response());
    };
    let accept = headers.get(header::ACCEPT).and_then(|a| a.to_str().ok()).unwrap_or_default();
    let version = if accept.contains("version=4.0") { VCardVersion::V4 } else { VCardVersion::V3 };
    let card = one_card(state, caller, *book, name, Some(version)).await?;
    let matches = headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok());
    if matches.is_some_and(|tags| tags.split(',').any(|tag| tag.trim() == card.etag || tag.trim() == "*")) {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, card.etag)]).into_response());
    }
    Ok(card_response(card, version, head))
}

/// PUT or DELETE of a card of the user's own book. The stored card is written anew from
/// what was understood of the client's, so a PUT answers without an ETag (RFC 6352
/// §6.3.2.3): the client reads the card back.
async fn write(
    state: &AppState,
    caller: &Caller,
    resource: &Resource,
    method: &Method,
    headers: &HeaderMap,
    body: &Bytes,
) -> Answer {
    let Resource::Card(book, name) = resource else { return Ok(read_only()) };
    let text = |name| headers.get(name).and_then(|v: &HeaderValue| v.to_str().ok()).map(str::to_string);
    let conditions = DavConditions {
        if_match: text(header::IF_MATCH),
        if_none_match_any: text(header::IF_NONE_MATCH).is_some_and(|v| v.trim() == "*"),
    };
    let written = match *method {
        Method::PUT => state.app.dav_put(caller, *book, name, body, &conditions).await,
        _ => state.app.dav_delete(caller, *book, name, &conditions).await,
    };
    let context = props::Context::read(state, caller, resource).await.map_err(app_error)?;
    let written = match written {
        Err(AppError::Forbidden(_)) => return Ok(read_only()),
        other => other.map_err(app_error)?,
    };
    match written {
        DavWrite::Created => Ok(StatusCode::CREATED.into_response()),
        DavWrite::Updated | DavWrite::Deleted => Ok(StatusCode::NO_CONTENT.into_response()),
        DavWrite::ConditionFailed => Err(Problem::new(
            StatusCode::PRECONDITION_FAILED,
            "precondition-failed",
            "Precondition failed",
            "the card is not as the request expects (If-Match or If-None-Match): read it again",
        )
        .into_response()),
        DavWrite::UidTaken(other) => {
            let holder = Resource::Card(*book, other).path(&context);
            Err(xml_response(StatusCode::CONFLICT, xml::error_with_href(CARDDAV, "no-uid-conflict", &holder)))
        }
    }
}

/// 413, with the limit the book publishes as `max-resource-size`.
fn too_large_card() -> Response {
    let why = format!("a card may have at most {MAX_CARD_BYTES} bytes, photo included");
    Problem::from(AppError::TooLarge(why)).into_response()
}

fn card_response(card: DavCard, version: VCardVersion, head: bool) -> Response {
    let content_type = match version {
        VCardVersion::V3 => "text/vcard; charset=utf-8",
        VCardVersion::V4 => "text/vcard; charset=utf-8; version=4.0",
    };
    let vcard = card.vcard.unwrap_or_default();
    let length = vcard.len();
    let body = if head { Body::empty() } else { Body::from(vcard) };
    let mut response = (StatusCode::OK, [(header::CONTENT_TYPE, content_type)], body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::ETAG, HeaderValue::from_str(&card.etag).expect("an ETag is ASCII"));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hrefs_name_cards_of_their_book_only() {
        let book = "/dav/books/acme.example/200/contacts/";
        let name = |href: &str| name_in(book, href);
        assert_eq!(name(&format!("{book}abc.vcf")).as_deref(), Some("abc.vcf"));
        assert_eq!(name(&format!("https://pbx.example{book}abc.vcf")).as_deref(), Some("abc.vcf"));
        assert_eq!(name(&format!("{book}A%20B%2Fc.vcf")), None, "a slash, even encoded, is no name");
        assert_eq!(name(&format!("{book}A%20B.vcf")).as_deref(), Some("A B.vcf"));
        assert_eq!(name("/dav/books/acme.example/201/contacts/abc.vcf"), None);
        assert_eq!(name(&format!("{book}../directory/abc.vcf")), None);
    }
}
