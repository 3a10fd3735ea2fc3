//! CardDAV over real HTTP, on SQLite and PostgreSQL, with every answer read by an XML
//! parser (roxmltree): discovery as iOS and macOS do it, the books' properties, Depth 1
//! listings, GET with ETags, `sync-collection` from nothing and after changes of every
//! kind, multiget (3.0 and 4.0), `addressbook-query` as macOS searches, and what must be
//! refused: no or wrong credentials, another user's or domain's paths (404), infinite
//! depth, stale tokens, hostile XML, writes to the read-only directory.

mod support;

use std::collections::BTreeMap;

use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, ETAG, IF_NONE_MATCH, LOCATION, WWW_AUTHENTICATE};
use reqwest::{Method, StatusCode};
use support::{Backend, DOMAIN, PASSWORD, Person, Server};
use switchboard_app::{BookRef, Caller, ContactInput, ContactPatch, SettingsLayer};
use switchboard_server::ServerConfig;

const PEOPLE: [Person; 2] = [
    Person { ext: "200", scope: "office-manager", first_name: "Olivia", department: "Sales", site: "" },
    Person { ext: "201", scope: "basic-user", first_name: "Ben", department: "", site: "" },
];

const DAV: &str = "DAV:";
const CARDDAV: &str = "urn:ietf:params:xml:ns:carddav";
const DIRECTORY: &str = "/dav/books/acme.example/201/directory/";
const CONTACTS: &str = "/dav/books/acme.example/201/contacts/";

async fn spawn(backend: Backend) -> Server {
    support::spawn(backend, &PEOPLE, ServerConfig::default()).await
}

/// An answer: its status, headers and body.
struct Answer {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Answer {
    fn doc(&self) -> roxmltree::Document<'_> {
        roxmltree::Document::parse(&self.body).unwrap_or_else(|e| panic!("not XML ({e}): {}", self.body))
    }

    /// Each `response` of a multistatus: its href, and its properties found (name → text).
    fn responses(&self) -> BTreeMap<String, BTreeMap<String, String>> {
        assert_eq!(self.status, StatusCode::MULTI_STATUS, "{}", self.body);
        let doc = self.doc();
        let root = doc.root_element();
        assert!(root.has_tag_name((DAV, "multistatus")), "{}", self.body);
        let mut out = BTreeMap::new();
        for response in root.children().filter(|n| n.has_tag_name((DAV, "response"))) {
            let href = child(response, DAV, "href").text().unwrap_or_default().to_string();
            let mut props = BTreeMap::new();
            for propstat in response.children().filter(|n| n.has_tag_name((DAV, "propstat"))) {
                let status = child(propstat, DAV, "status").text().unwrap_or_default();
                if !status.contains(" 200 ") {
                    continue;
                }
                for prop in child(propstat, DAV, "prop").children().filter(|n| n.is_element()) {
                    props.insert(prop.tag_name().name().to_string(), inner_text(prop));
                }
            }
            if let Some(status) = response.children().find(|n| n.has_tag_name((DAV, "status"))) {
                props.insert("status".into(), status.text().unwrap_or_default().to_string());
            }
            out.insert(href, props);
        }
        out
    }

    /// The precondition an error body names (`valid-sync-token`…).
    fn precondition(&self) -> String {
        let doc = self.doc();
        let root = doc.root_element();
        assert!(root.has_tag_name((DAV, "error")), "{}", self.body);
        root.children().find(|n| n.is_element()).unwrap().tag_name().name().to_string()
    }
}

fn child<'a, 'i>(node: roxmltree::Node<'a, 'i>, ns: &str, name: &str) -> roxmltree::Node<'a, 'i> {
    node.children().find(|n| n.has_tag_name((ns, name))).unwrap_or_else(|| panic!("no {name} in {node:?}"))
}

/// An element's text, or the names of its child elements (`collection,addressbook`) and
/// the text of any `href` among them.
fn inner_text(node: roxmltree::Node) -> String {
    let elements: Vec<String> = node
        .descendants()
        .skip(1)
        .filter(|n| n.is_element())
        .map(|n| match n.tag_name().name() {
            "href" => n.text().unwrap_or_default().to_string(),
            name => name.to_string(),
        })
        .collect();
    if elements.is_empty() { node.text().unwrap_or_default().to_string() } else { elements.join(",") }
}

impl Server {
    async fn dav(&self, method: &str, path: &str, user: Option<&str>, headers: &[(&str, &str)], body: &str) -> Answer {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self.client.request(method, self.url(path)).body(body.to_string());
        if let Some(user) = user {
            request = request.basic_auth(format!("{user}@{DOMAIN}"), Some(PASSWORD));
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        let (status, headers) = (response.status(), response.headers().clone());
        Answer { status, headers, body: response.text().await.unwrap() }
    }

    async fn propfind(&self, path: &str, depth: &str, props: &str) -> Answer {
        let body = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><A:propfind xmlns:A="DAV:" xmlns:B="urn:ietf:params:xml:ns:carddav" xmlns:C="http://calendarserver.org/ns/"><A:prop>{props}</A:prop></A:propfind>"#
        );
        self.dav("PROPFIND", path, Some("201"), &[("Depth", depth)], &body).await
    }

    async fn sync(&self, book: &str, token: &str) -> Answer {
        let body = format!(
            r#"<?xml version="1.0" encoding="utf-8"?><sync-collection xmlns="DAV:"><sync-token>{token}</sync-token><sync-level>1</sync-level><prop><getetag/></prop></sync-collection>"#
        );
        self.dav("REPORT", book, Some("201"), &[("Depth", "1")], &body).await
    }
}

fn sync_token(answer: &Answer) -> String {
    let doc = answer.doc();
    let token = doc.descendants().find(|n| n.has_tag_name((DAV, "sync-token"))).expect("a sync-token");
    token.text().unwrap_or_default().to_string()
}

async fn shared(server: &Server, company: &str) -> uuid::Uuid {
    let input = ContactInput { company: company.into(), work_phone: "+1 206 555 0100".into(), ..Default::default() };
    let book = BookRef::Shared { domain: DOMAIN.into() };
    server.app.create_contact(&Caller::System, &book, input).await.unwrap().id
}

async fn own(server: &Server, ext: &str, first: &str) -> uuid::Uuid {
    let input = ContactInput { first_name: first.into(), mobile_phone: "+1 206 555 0199".into(), ..Default::default() };
    let book = BookRef::Personal { domain: DOMAIN.into(), extension: ext.into() };
    server.app.create_contact(&Caller::System, &book, input).await.unwrap().id
}

fn card_path(book: &str, id: uuid::Uuid) -> String {
    format!("{book}{id}.vcf")
}

// --- The tests, each run on both back-ends ----------------------------------------------

/// What iOS and macOS do when an account is added with only a server name.
async fn discovery_leads_to_the_users_books(backend: Backend) {
    let server = spawn(backend).await;
    for (method, user) in [("PROPFIND", None), ("GET", None), ("PROPFIND", Some("201"))] {
        let moved = server.dav(method, "/.well-known/carddav", user, &[("Depth", "0")], "").await;
        assert_eq!(moved.status, StatusCode::MOVED_PERMANENTLY, "{method}");
        assert_eq!(moved.headers[LOCATION], "/dav/");
    }
    let anonymous = server.dav("PROPFIND", "/dav/", None, &[("Depth", "0")], "").await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert!(anonymous.headers[WWW_AUTHENTICATE].to_str().unwrap().starts_with("Basic realm="));
    let wrong = server
        .client
        .request(Method::from_bytes(b"PROPFIND").unwrap(), server.url("/dav/"))
        .header(AUTHORIZATION, "Basic MjAxQGFjbWUuZXhhbXBsZTp3cm9uZy1wYXNzd29yZA==")
        .header("Depth", "0")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED, "201@acme.example with a wrong password");

    let root = server.propfind("/dav/", "0", "<A:current-user-principal/><A:principal-URL/><A:resourcetype/>").await;
    let root = root.responses();
    assert_eq!(root["/dav/"]["current-user-principal"], "/dav/principals/acme.example/201/");
    assert!(!root["/dav/"].contains_key("principal-URL"), "the root is no principal: {root:?}");

    let asked = "<A:principal-URL/><A:displayname/><B:addressbook-home-set/><A:principal-collection-set/>\
                 <C:email-address-set/><A:resource-id/><A:supported-report-set/><A:current-user-privilege-set/>\
                 <B:directory-gateway/>";
    let principal = server.propfind("/dav/principals/acme.example/201/", "0", asked).await.responses();
    let props = &principal["/dav/principals/acme.example/201/"];
    assert_eq!(props["principal-URL"], "/dav/principals/acme.example/201/");
    assert_eq!(props["displayname"], "Ben Tester");
    assert_eq!(props["addressbook-home-set"], "/dav/books/acme.example/201/");
    assert_eq!(props["principal-collection-set"], "/dav/principals/");
    assert!(props["resource-id"].starts_with("urn:uuid:"), "{props:?}");
    assert!(props["current-user-privilege-set"].contains("read"));
    assert_eq!(props["directory-gateway"], DIRECTORY, "macOS searches the directory there");

    let home = server
        .propfind("/dav/books/acme.example/201/", "1", "<A:resourcetype/><A:displayname/><C:getctag/><A:sync-token/>")
        .await
        .responses();
    assert_eq!(home.len(), 3, "the home and its two books: {home:?}");
    let directory = &home[DIRECTORY];
    assert_eq!(directory["resourcetype"], "collection,addressbook");
    assert_eq!(directory["displayname"], "Company directory");
    assert_eq!(home[CONTACTS]["displayname"], "My contacts");
    assert!(directory["sync-token"].starts_with("urn:"), "{directory:?}");
    assert_eq!(directory["getctag"], directory["sync-token"]);
}

async fn books_list_their_cards_and_serve_them(backend: Backend) {
    let server = spawn(backend).await;
    let acme = shared(&server, "Acme Supplies").await;
    let mine = own(&server, "201", "Mona").await;
    let olivias = own(&server, "200", "Private").await;
    let asked = "<A:getetag/><A:getcontenttype/><A:resourcetype/><B:supported-address-data/><B:max-resource-size/>\
                 <A:current-user-privilege-set/><A:supported-report-set/><A:quota-used-bytes/>";
    let listing = server.propfind(DIRECTORY, "1", asked).await.responses();
    let book = &listing[DIRECTORY];
    assert!(book["supported-address-data"].contains("address-data-type"), "{book:?}");
    assert_eq!(book["max-resource-size"], "1048576");
    assert!(book["supported-report-set"].contains("sync-collection"), "{book:?}");
    assert_eq!(book["current-user-privilege-set"], "privilege,read,privilege,read-current-user-privilege-set");
    assert!(!book.contains_key("quota-used-bytes"), "unknown properties are 404, not 200");
    let cards: Vec<&String> = listing.keys().filter(|href| href.ends_with(".vcf")).collect();
    assert_eq!(cards.len(), 2, "the other coworker (never oneself) and the shared contact: {listing:?}");
    let acme_path = card_path(DIRECTORY, acme);
    let etag = listing[&acme_path]["getetag"].clone();
    assert!(etag.starts_with('"') && etag.ends_with('"') && etag.len() > 10, "a strong, quoted ETag: {etag}");
    assert_eq!(listing[&acme_path]["getcontenttype"], "text/vcard; charset=utf-8");

    let contacts = server.propfind(CONTACTS, "1", "<A:getetag/>").await.responses();
    assert_eq!(contacts.len(), 2, "the book and Ben's own card alone: {contacts:?}");
    assert!(contacts.contains_key(&card_path(CONTACTS, mine)));
    assert!(!contacts.contains_key(&card_path(CONTACTS, olivias)));

    let card = server.dav("GET", &acme_path, Some("201"), &[], "").await;
    assert_eq!(card.status, StatusCode::OK);
    assert_eq!(card.headers[ETAG], etag.as_str());
    assert!(card.headers[CONTENT_TYPE].to_str().unwrap().starts_with("text/vcard"));
    assert!(card.body.starts_with("BEGIN:VCARD\r\nVERSION:3.0\r\n"), "{}", card.body);
    assert!(card.body.contains("ORG:Acme Supplies"), "{}", card.body);
    let again = server.dav("GET", &acme_path, Some("201"), &[(IF_NONE_MATCH.as_str(), &etag)], "").await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    let v4 = server.dav("GET", &acme_path, Some("201"), &[(ACCEPT.as_str(), "text/vcard; version=4.0")], "").await;
    assert!(v4.body.contains("VERSION:4.0"), "{}", v4.body);
    let olivias_card = server.dav("GET", &card_path(CONTACTS, olivias), Some("201"), &[], "").await;
    assert_eq!(olivias_card.status, StatusCode::NOT_FOUND, "another user's contact is in no book of Ben's");
}

async fn sync_collection_tells_exactly_what_changed(backend: Backend) {
    let server = spawn(backend).await;
    let gone = shared(&server, "Gone Soon").await;
    let first = server.sync(DIRECTORY, "").await;
    let token = sync_token(&first);
    let initial = first.responses();
    assert_eq!(initial.len(), 2, "the other coworker and a shared contact: {initial:?}");
    assert!(initial.values().all(|props| props["getetag"].starts_with('"')));
    let nothing = server.sync(DIRECTORY, &token).await;
    assert!(nothing.responses().is_empty(), "nothing changed");

    // A new shared contact, a coworker renamed, a shared contact deleted, a star.
    let added = shared(&server, "Added Later").await;
    let olivia = server.app.get_user(&Caller::System, DOMAIN, "200").await.unwrap();
    let patch = switchboard_app::inputs::UserPatchInput { last_name: Some("Renamed".into()), ..Default::default() };
    server.app.update_user(&Caller::System, DOMAIN, "200", None, patch).await.unwrap();
    let book = BookRef::Shared { domain: DOMAIN.into() };
    server.app.delete_contact(&Caller::System, &book, gone).await.unwrap();
    let ben = server.token("201").await;
    let star = format!("/api/v1/domains/acme.example/users/201/favorites/{added}");
    let (status, _) = server.call(Method::PUT, &ben, &star, None).await;
    assert!(status.is_success(), "{status}");
    own(&server, "201", "Not In The Directory").await;

    let delta = server.sync(DIRECTORY, &token).await;
    let next = sync_token(&delta);
    let changes = delta.responses();
    assert_eq!(changes.len(), 3, "{changes:?}");
    assert!(changes[&card_path(DIRECTORY, added)]["getetag"].starts_with('"'));
    assert!(changes.contains_key(&card_path(DIRECTORY, olivia.id)));
    assert_eq!(changes[&card_path(DIRECTORY, gone)]["status"], "HTTP/1.1 404 Not Found");
    let multiget = format!(
        r#"<C:addressbook-multiget xmlns:D="DAV:" xmlns:C="{CARDDAV}"><D:prop><D:getetag/><C:address-data/></D:prop><D:href>{}</D:href><D:href>{}</D:href></C:addressbook-multiget>"#,
        card_path(DIRECTORY, added),
        card_path(DIRECTORY, olivia.id)
    );
    let cards = server.dav("REPORT", DIRECTORY, Some("201"), &[("Depth", "1")], &multiget).await.responses();
    assert!(cards[&card_path(DIRECTORY, added)]["address-data"].contains("CATEGORIES:starred"), "{cards:?}");
    assert!(cards[&card_path(DIRECTORY, olivia.id)]["address-data"].contains("N:Renamed;Olivia"), "{cards:?}");
    assert!(server.sync(DIRECTORY, &next).await.responses().is_empty());

    let contacts = server.sync(CONTACTS, &token).await.responses();
    assert_eq!(contacts.len(), 2, "Ben's new card, and the deletion told to every book: {contacts:?}");

    for stale in ["urn:x-switchboard:sync:not-a-cursor", "http://example.com/other-server-token"] {
        let refused = server.sync(DIRECTORY, stale).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert_eq!(refused.precondition(), "valid-sync-token");
    }
    // Olivia's token is no token of Ben's.
    let olivias = server
        .dav("REPORT", "/dav/books/acme.example/200/directory/", Some("200"), &[("Depth", "1")], &sync_body(""))
        .await;
    let refused = server.sync(DIRECTORY, &sync_token(&olivias)).await;
    assert_eq!(refused.precondition(), "valid-sync-token");
    // A user who no longer sees shared contacts starts again.
    let hide = BTreeMap::from([("PORTAL_SHOW_SHARED_CONTACTS".to_string(), Some("no".to_string()))]);
    let layer = SettingsLayer::User(DOMAIN.into(), "201".into());
    server.app.put_settings(&Caller::System, &layer, hide).await.unwrap();
    assert_eq!(server.sync(DIRECTORY, &next).await.precondition(), "valid-sync-token");
    let fresh = server.sync(DIRECTORY, "").await.responses();
    assert_eq!(fresh.len(), 1, "the coworker alone: {fresh:?}");
}

fn sync_body(token: &str) -> String {
    format!(
        r#"<sync-collection xmlns="DAV:"><sync-token>{token}</sync-token><sync-level>1</sync-level><prop><getetag/></prop></sync-collection>"#
    )
}

async fn multiget_and_query_as_clients_send_them(backend: Backend) {
    let server = spawn(backend).await;
    let acme = shared(&server, "Acme Supplies").await;
    shared(&server, "Bolt Hardware").await;
    let unknown = card_path(DIRECTORY, uuid::Uuid::now_v7());
    let multiget = format!(
        r#"<C:addressbook-multiget xmlns:D="DAV:" xmlns:C="{CARDDAV}"><D:prop><D:getetag/><C:address-data content-type="text/vcard" version="4.0"/></D:prop><D:href>{}</D:href><D:href>{unknown}</D:href><D:href>/dav/books/acme.example/200/directory/{acme}.vcf</D:href></C:addressbook-multiget>"#,
        card_path(DIRECTORY, acme)
    );
    let cards = server.dav("REPORT", DIRECTORY, Some("201"), &[("Depth", "1")], &multiget).await.responses();
    assert!(cards[&card_path(DIRECTORY, acme)]["address-data"].contains("VERSION:4.0"), "{cards:?}");
    assert_eq!(cards[&unknown]["status"], "HTTP/1.1 404 Not Found");
    assert_eq!(
        cards[&format!("/dav/books/acme.example/200/directory/{acme}.vcf")]["status"],
        "HTTP/1.1 404 Not Found",
        "another user's book is not read through Ben's"
    );

    // macOS searching the directory as one types.
    let query = |text: &str| {
        format!(
            r#"<C:addressbook-query xmlns:D="DAV:" xmlns:C="{CARDDAV}"><D:prop><D:getetag/><C:address-data/></D:prop><C:filter test="anyof"><C:prop-filter name="FN" test="anyof"><C:text-match collation="i;unicode-casemap" match-type="contains">{text}</C:text-match></C:prop-filter><C:prop-filter name="EMAIL"><C:text-match collation="i;unicode-casemap" match-type="starts-with">{text}</C:text-match></C:prop-filter></C:filter><C:limit><C:nresults>50</C:nresults></C:limit></C:addressbook-query>"#
        )
    };
    let found = server.dav("REPORT", DIRECTORY, Some("201"), &[("Depth", "1")], &query("acme")).await.responses();
    assert_eq!(found.keys().collect::<Vec<_>>(), [&card_path(DIRECTORY, acme)]);
    let testers = server.dav("REPORT", DIRECTORY, Some("201"), &[("Depth", "1")], &query("TESTER")).await.responses();
    assert_eq!(testers.len(), 1, "Olivia Tester, case-insensitively: {testers:?}");
    let bad = query("x").replace("contains", "regex");
    let refused = server.dav("REPORT", DIRECTORY, Some("201"), &[("Depth", "1")], &bad).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
}

async fn what_must_be_refused_is(backend: Backend) {
    let server = spawn(backend).await;
    let acme = shared(&server, "Acme Supplies").await;
    for path in [
        "/dav/principals/acme.example/200/",
        "/dav/books/acme.example/200/",
        "/dav/books/acme.example/200/contacts/",
        "/dav/books/globex.example/201/directory/",
        "/dav/books/acme.example/201/elsewhere/",
        "/dav/books/acme.example/201/directory/not-an-id.vcf",
    ] {
        let answer = server.propfind(path, "0", "<A:resourcetype/>").await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{path}: {}", answer.body);
    }
    for depth in ["infinity", ""] {
        let headers: &[(&str, &str)] = if depth.is_empty() { &[] } else { &[("Depth", depth)] };
        let answer = server.dav("PROPFIND", "/dav/", Some("201"), headers, "").await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "Depth {depth:?}");
        assert_eq!(answer.precondition(), "propfind-finite-depth");
    }
    let bomb = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;">]><A:propfind xmlns:A="DAV:"><A:prop><A:displayname>&lol1;</A:displayname></A:prop></A:propfind>"#;
    for body in [bomb, "<A:propfind xmlns:A=\"DAV:\"><A:prop>", "<propfind>not dav</propfind>", "\u{0}\u{1}"] {
        let answer = server.dav("PROPFIND", DIRECTORY, Some("201"), &[("Depth", "0")], body).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{body:?}: {}", answer.body);
    }
    let huge = format!("<A:propfind xmlns:A=\"DAV:\">{}</A:propfind>", " ".repeat(5 * 1024 * 1024));
    let answer = server.dav("PROPFIND", DIRECTORY, Some("201"), &[("Depth", "0")], &huge).await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    let card = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:x\r\nFN:Nobody\r\nEND:VCARD\r\n";
    for method in ["PUT", "DELETE"] {
        let answer = server.dav(method, &card_path(DIRECTORY, acme), Some("201"), &[], card).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{method} in the read-only directory");
        assert_eq!(answer.precondition(), "need-privileges");
    }
    let report = server.dav("REPORT", "/dav/", Some("201"), &[("Depth", "0")], &sync_body("")).await;
    assert_eq!(report.precondition(), "supported-report");
    let options = server.dav("OPTIONS", "/dav/", None, &[], "").await;
    assert!(options.headers["dav"].to_str().unwrap().contains("addressbook"));
    // Nothing was written by any of it.
    let book = BookRef::Shared { domain: DOMAIN.into() };
    let contact = server.app.get_contact(&Caller::System, &book, acme).await.unwrap();
    assert_eq!(contact.version, 1);
}

/// A card as iOS writes a new contact: its own name for the resource, its own UID,
/// three numbers, an address, a note and a property of its own.
fn ios_card(uid: &str, first: &str) -> String {
    format!(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nPRODID:-//Apple Inc.//iPhone OS 18.1//EN\r\nN:Lindqvist;{first};;;\r\n\
         FN:{first} Lindqvist\r\nORG:Nordic Freight;\r\nitem1.TEL;type=pref:+46 8 123 456 78\r\n\
         TEL;type=CELL;type=VOICE:+46 70 123 45 67\r\nTEL;type=HOME;type=VOICE:+46 8 765 43 21\r\n\
         item2.ADR;type=WORK:;;Sveavägen 1;Stockholm;;111 57;Sweden\r\nNOTE:Met at the fair\r\n\
         X-SOCIALPROFILE;type=twitter:https://twitter.com/example\r\nUID:{uid}\r\nEND:VCARD\r\n"
    )
}

async fn own_cards_are_written_with_their_names_and_uids(backend: Backend) {
    let server = spawn(backend).await;
    let path = format!("{CONTACTS}8E2F-41A9%20iOS.vcf");
    let create = [("If-None-Match", "*"), ("Content-Type", "text/vcard; charset=utf-8")];
    let created = server.dav("PUT", &path, Some("201"), &create, &ios_card("8E2F-41A9", "Astrid")).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert!(!created.headers.contains_key(ETAG), "the stored card is written anew: no ETag (RFC 6352 6.3.2.3)");
    let again = server.dav("PUT", &path, Some("201"), &create, &ios_card("8E2F-41A9", "Astrid")).await;
    assert_eq!(again.status, StatusCode::PRECONDITION_FAILED, "If-None-Match: * on a card that exists");

    // It is where the client put it, under the name it chose, with its UID and fields.
    let listing = server.propfind(CONTACTS, "1", "<A:getetag/>").await.responses();
    let etag = listing[&path]["getetag"].clone();
    let card = server.dav("GET", &path, Some("201"), &[], "").await;
    assert_eq!(card.status, StatusCode::OK);
    assert_eq!(card.headers[ETAG], etag.as_str());
    for expected in
        ["UID:8E2F-41A9", "FN:Astrid Lindqvist", "ORG:Nordic Freight", "+46 8 123 456 78", "+46 70 123 45 67"]
    {
        assert!(card.body.contains(expected), "{expected} in\n{}", card.body);
    }
    assert!(card.body.contains("Sveavägen 1") && card.body.contains("Met at the fair"), "{}", card.body);
    assert!(card.body.contains("X-SOCIALPROFILE"), "a property of the client's own is kept: {}", card.body);
    let ben = server.token("201").await;
    let own_contacts = "/api/v1/domains/acme.example/users/201/contacts";
    assert_eq!(server.count(&ben, own_contacts).await, 1, "it is one of Ben's own contacts, in the portal too");

    // A second card with the same UID is refused, naming the one that has it.
    let twin =
        server.dav("PUT", &format!("{CONTACTS}twin.vcf"), Some("201"), &create, &ios_card("8E2F-41A9", "Twin")).await;
    assert_eq!(twin.status, StatusCode::CONFLICT);
    let doc = twin.doc();
    let conflict = doc.descendants().find(|n| n.has_tag_name((CARDDAV, "no-uid-conflict"))).expect("no-uid-conflict");
    assert_eq!(child(conflict, DAV, "href").text(), Some(path.as_str()));

    // A change with the ETag read; a stale one is refused and changes nothing.
    let changed = ios_card("8E2F-41A9", "Astrid").replace("Met at the fair", "Call back in May");
    let stale = server.dav("PUT", &path, Some("201"), &[("If-Match", "\"0000\"")], &changed).await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    let updated = server.dav("PUT", &path, Some("201"), &[("If-Match", &etag)], &changed).await;
    assert_eq!(updated.status, StatusCode::NO_CONTENT, "{}", updated.body);
    let card = server.dav("GET", &path, Some("201"), &[], "").await;
    assert!(card.body.contains("Call back in May") && !card.body.contains("Met at the fair"), "{}", card.body);
    assert_ne!(card.headers[ETAG], etag.as_str());

    // Bad cards: no UID, no name, not a vCard, two cards, too large, a bad name.
    let bad = [
        (
            "no-uid.vcf",
            "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:No Uid\r\nEND:VCARD\r\n".to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "no-fn.vcf",
            "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:x1\r\nNOTE:nameless\r\nEND:VCARD\r\n".into(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        ("text.vcf", "just some text".into(), StatusCode::UNPROCESSABLE_ENTITY),
        ("two.vcf", ios_card("a", "A") + &ios_card("b", "B"), StatusCode::UNPROCESSABLE_ENTITY),
        (
            "huge.vcf",
            ios_card("h", "H").replace("NOTE:", &format!("NOTE:{}", "x".repeat(2 * 1024 * 1024))),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
    ];
    for (name, body, status) in bad {
        let answer = server.dav("PUT", &format!("{CONTACTS}{name}"), Some("201"), &create, &body).await;
        assert_eq!(answer.status, status, "{name}: {}", answer.body);
    }
    assert_eq!(server.count(&ben, own_contacts).await, 1, "nothing written by the refused cards");

    // Olivia cannot write into Ben's book; Ben's delete sends the card to the trash.
    let olivias = server.dav("PUT", &path, Some("200"), &[], &changed).await;
    assert_eq!(olivias.status, StatusCode::NOT_FOUND);
    let deleted = server.dav("DELETE", &path, Some("201"), &[], "").await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(server.dav("GET", &path, Some("201"), &[], "").await.status, StatusCode::NOT_FOUND);
    assert_eq!(server.dav("DELETE", &path, Some("201"), &[], "").await.status, StatusCode::NOT_FOUND);
    let trash = server.count(&ben, "/api/v1/domains/acme.example/trash").await;
    assert_eq!(trash, 1, "a deleted card can be restored from the trash");
    // Its name and UID are free again.
    let reborn = server.dav("PUT", &path, Some("201"), &create, &ios_card("8E2F-41A9", "Astrid")).await;
    assert_eq!(reborn.status, StatusCode::CREATED, "{}", reborn.body);
}

/// A client asking for at most N changes gets them N at a time, each answer's token
/// covering what it held, and the book marked 507 while more wait (RFC 6578 §3.6).
async fn sync_comes_in_pieces_when_a_limit_is_asked(backend: Backend) {
    let server = spawn(backend).await;
    let token = sync_token(&server.sync(DIRECTORY, "").await);
    let mut added = Vec::new();
    for name in ["One", "Two", "Three"] {
        added.push(card_path(DIRECTORY, shared(&server, name).await));
    }
    let limited = |token: &str| {
        format!(
            r#"<D:sync-collection xmlns:D="DAV:"><D:sync-token>{token}</D:sync-token><D:sync-level>1</D:sync-level><D:limit><D:nresults>2</D:nresults></D:limit><D:prop><D:getetag/></D:prop></D:sync-collection>"#
        )
    };
    let (mut token, mut seen, mut answers) = (token, Vec::new(), 0);
    loop {
        let answer = server.dav("REPORT", DIRECTORY, Some("201"), &[("Depth", "1")], &limited(&token)).await;
        answers += 1;
        token = sync_token(&answer);
        let responses = answer.responses();
        let truncated =
            responses.get(DIRECTORY).map(|book| book["status"].as_str()) == Some("HTTP/1.1 507 Insufficient Storage");
        let cards: Vec<String> = responses.keys().filter(|href| href.ends_with(".vcf")).cloned().collect();
        assert!(cards.len() <= 2, "{responses:?}");
        seen.extend(cards);
        if !truncated {
            break;
        }
        assert!(answers < 5, "the pieces end");
    }
    seen.sort();
    added.sort();
    assert_eq!(seen, added, "every change once, none lost between the pieces");
    assert_eq!(answers, 2);
}

/// With `CARDDAV_ONE_BOOK=yes` (Apple's apps sync one book an account) the home holds
/// one book with the directory and the user's own contacts; own cards are written there,
/// the directory's are not.
async fn one_book_for_apps_that_sync_one(backend: Backend) {
    let server = spawn(backend).await;
    let acme = shared(&server, "Acme Supplies").await;
    let mine = own(&server, "201", "Mona").await;
    let one_book = BTreeMap::from([("CARDDAV_ONE_BOOK".to_string(), Some("yes".to_string()))]);
    let layer = SettingsLayer::User(DOMAIN.into(), "201".into());
    server.app.put_settings(&Caller::System, &layer, one_book).await.unwrap();
    let all = "/dav/books/acme.example/201/all/";
    let home = server.propfind("/dav/books/acme.example/201/", "1", "<A:displayname/>").await.responses();
    assert_eq!(home.keys().collect::<Vec<_>>(), ["/dav/books/acme.example/201/", all], "{home:?}");

    let listing = server.propfind(all, "1", "<A:getetag/><A:current-user-privilege-set/>").await.responses();
    assert_eq!(listing.len(), 4, "the book, Olivia, Acme and Mona: {listing:?}");
    assert!(listing[all]["current-user-privilege-set"].contains("bind"), "cards may be added");
    assert!(listing[&card_path(all, mine)]["current-user-privilege-set"].contains("write"));
    assert!(!listing[&card_path(all, acme)]["current-user-privilege-set"].contains("write"), "{listing:?}");

    let token = sync_token(&server.sync(all, "").await);
    let created = server
        .dav("PUT", &format!("{all}new-card.vcf"), Some("201"), &[("If-None-Match", "*")], &ios_card("u-1", "Nils"))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let refused = server.dav("PUT", &card_path(all, acme), Some("201"), &[], &ios_card("u-2", "Acme")).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.precondition(), "need-privileges");
    assert_eq!(server.dav("DELETE", &card_path(all, acme), Some("201"), &[], "").await.status, StatusCode::FORBIDDEN);
    assert_eq!(server.dav("DELETE", &card_path(all, mine), Some("201"), &[], "").await.status, StatusCode::NO_CONTENT);
    shared(&server, "Bolt Hardware").await;
    let changes = server.sync(all, &token).await.responses();
    assert_eq!(changes.len(), 3, "the new card, Mona gone, Bolt added: {changes:?}");
    assert!(changes.contains_key(&format!("{all}new-card.vcf")));
    assert_eq!(changes[&card_path(all, mine)]["status"], "HTTP/1.1 404 Not Found");
    // The two books answer still, for apps set up before.
    let contacts = server.propfind(CONTACTS, "1", "<A:getetag/>").await.responses();
    assert!(contacts.contains_key(&format!("{CONTACTS}new-card.vcf")), "{contacts:?}");
    let wrong = BTreeMap::from([("CARDDAV_ONE_BOOK".to_string(), Some("maybe".to_string()))]);
    assert!(server.app.put_settings(&Caller::System, &layer, wrong).await.is_err());
}

/// Reading a whole book costs every card of it: one user's apps may do it only so often
/// (429 with Retry-After past it), while syncing from a token stays free.
async fn whole_book_reads_are_limited_per_user(backend: Backend) {
    let limit = switchboard_app::RateLimit { burst: 2, refill_every: std::time::Duration::from_secs(60) };
    let config = switchboard_app::AppConfig { dav_book_limit: limit, ..Default::default() };
    let server = support::spawn_with(backend, &PEOPLE, ServerConfig::default(), config).await;
    assert_eq!(server.propfind(DIRECTORY, "1", "<A:getetag/>").await.status, StatusCode::MULTI_STATUS);
    let token = sync_token(&server.sync(DIRECTORY, "").await);
    let refused = server.propfind(DIRECTORY, "1", "<A:getetag/>").await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS, "{}", refused.body);
    assert!(refused.headers.contains_key("retry-after"));
    assert_eq!(server.sync(DIRECTORY, &token).await.status, StatusCode::MULTI_STATUS, "a sync from a token is cheap");
    let olivia =
        server.dav("PROPFIND", "/dav/books/acme.example/200/directory/", Some("200"), &[("Depth", "1")], "").await;
    assert_eq!(olivia.status, StatusCode::MULTI_STATUS, "another user is not held up");
}

/// A client that never stops is held back, whatever it asks: past the user's request
/// limit every request is refused (429, Retry-After), other users' are answered.
async fn requests_are_limited_per_user(backend: Backend) {
    let limit = switchboard_app::RateLimit { burst: 5, refill_every: std::time::Duration::from_secs(60) };
    let config = switchboard_app::AppConfig { dav_request_limit: limit, ..Default::default() };
    let server = support::spawn_with(backend, &PEOPLE, ServerConfig::default(), config).await;
    let token = sync_token(&server.sync(CONTACTS, "").await);
    for _ in 0..4 {
        assert_eq!(server.sync(CONTACTS, &token).await.status, StatusCode::MULTI_STATUS);
    }
    let refused = server.sync(CONTACTS, &token).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS, "{}", refused.body);
    assert!(refused.headers.contains_key("retry-after"));
    let put = server.dav("PUT", &format!("{CONTACTS}x.vcf"), Some("201"), &[], &ios_card("x", "X")).await;
    assert_eq!(put.status, StatusCode::TOO_MANY_REQUESTS, "writes too");
    let ben = server.token("201").await;
    assert_eq!(server.count(&ben, "/api/v1/domains/acme.example/users/201/contacts").await, 0, "nothing written");
    let olivia = server.dav("PROPFIND", "/dav/books/acme.example/200/", Some("200"), &[("Depth", "0")], "").await;
    assert_eq!(olivia.status, StatusCode::MULTI_STATUS, "another user is not held up");
}

/// Past 50 own cards a multiget and a sync read the book a page at a time: the same cards
/// come back, under the names the client gave them or their ids.
async fn many_own_cards_at_once(backend: Backend) {
    let server = spawn(backend).await;
    let token = sync_token(&server.sync(CONTACTS, "").await);
    let mut paths = Vec::new();
    for i in 0..30 {
        paths.push(card_path(CONTACTS, own(&server, "201", &format!("Plain{i:02}")).await));
    }
    for i in 0..30 {
        let path = format!("{CONTACTS}named-{i:02}.vcf");
        let put = server
            .dav(
                "PUT",
                &path,
                Some("201"),
                &[("If-None-Match", "*")],
                &ios_card(&format!("u{i}"), &format!("Named{i:02}")),
            )
            .await;
        assert_eq!(put.status, StatusCode::CREATED, "{}", put.body);
        paths.push(path);
    }
    let synced = server.sync(CONTACTS, &token).await.responses();
    let mut seen: Vec<&String> = synced.keys().collect();
    seen.sort();
    let mut expected: Vec<&String> = paths.iter().collect();
    expected.sort();
    assert_eq!(seen, expected);
    let hrefs: String = paths.iter().map(|p| format!("<D:href>{p}</D:href>")).collect();
    let multiget = format!(
        r#"<C:addressbook-multiget xmlns:D="DAV:" xmlns:C="{CARDDAV}"><D:prop><D:getetag/><C:address-data/></D:prop>{hrefs}<D:href>{CONTACTS}missing.vcf</D:href></C:addressbook-multiget>"#
    );
    let cards = server.dav("REPORT", CONTACTS, Some("201"), &[("Depth", "0")], &multiget).await.responses();
    assert_eq!(cards.len(), 61);
    assert!(paths.iter().all(|p| cards[p]["address-data"].starts_with("BEGIN:VCARD")), "{cards:?}");
    assert_eq!(cards[&format!("{CONTACTS}missing.vcf")]["status"], "HTTP/1.1 404 Not Found");
}

/// The ETag of an own card as each way of reading it gives it (listing, sync, multiget with
/// the card, GET), which must all agree.
async fn etag_everywhere(server: &Server, path: &str) -> String {
    let listed = server.propfind(CONTACTS, "1", "<A:getetag/>").await.responses()[path]["getetag"].clone();
    let synced = server.sync(CONTACTS, "").await.responses()[path]["getetag"].clone();
    let multiget = format!(
        r#"<C:addressbook-multiget xmlns:D="DAV:" xmlns:C="{CARDDAV}"><D:prop><D:getetag/><C:address-data/></D:prop><D:href>{path}</D:href></C:addressbook-multiget>"#
    );
    let answer = server.dav("REPORT", CONTACTS, Some("201"), &[("Depth", "0")], &multiget).await.responses();
    let got = server.dav("GET", path, Some("201"), &[], "").await.headers[ETAG].to_str().unwrap().to_string();
    assert_eq!([&synced, &answer[path]["getetag"], &got], [&listed; 3], "one ETag whichever way it is read");
    listed
}

/// An own card's ETag is made from what the card is made of (the contact's version, its
/// UID), not from its bytes: it stays while nothing changes, and moves with every change
/// made anywhere, a photo's too.
async fn own_etags_move_with_every_change_and_only_then(backend: Backend) {
    let server = spawn(backend).await;
    let id = own(&server, "201", "Petra").await;
    let other = own(&server, "201", "Quentin").await;
    let path = card_path(CONTACTS, id);
    let book = BookRef::Personal { domain: DOMAIN.into(), extension: "201".into() };
    let first = etag_everywhere(&server, &path).await;
    assert_eq!(etag_everywhere(&server, &path).await, first, "read again, unchanged");

    let rename = |name: &str| ContactPatch { first_name: Some(name.into()), ..Default::default() };
    server.app.update_contact(&Caller::System, &book, other, None, rename("Quincy")).await.unwrap();
    assert_eq!(etag_everywhere(&server, &path).await, first, "another card's change leaves it be");
    server.app.update_contact(&Caller::System, &book, id, None, rename("Petra-Maria")).await.unwrap();
    let renamed = etag_everywhere(&server, &path).await;
    assert_ne!(renamed, first, "changed in the portal");
    // Cards once written are kept by version: a changed contact is never served as it was.
    let card = server.dav("GET", &path, Some("201"), &[], "").await;
    assert!(card.body.contains("FN:Petra-Maria"), "{}", card.body);

    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    png.extend(0..=255u8);
    server.app.set_contact_photo(&Caller::System, &book, id, png, Some("image/png")).await.unwrap();
    let with_photo = etag_everywhere(&server, &path).await;
    assert_ne!(with_photo, renamed, "a photo added");
    let card = server.dav("GET", &path, Some("201"), &[], "").await;
    assert!(card.body.contains("PHOTO;ENCODING=b;TYPE=PNG:"), "{}", card.body);
    server.app.delete_contact_photo(&Caller::System, &book, id).await.unwrap();
    let without = etag_everywhere(&server, &path).await;
    assert!(without != with_photo && without != renamed, "the photo removed: {without}");
    let card = server.dav("GET", &path, Some("201"), &[], "").await;
    assert!(!card.body.contains("PHOTO"), "{}", card.body);
}

const MEMBERS: [&str; 3] = [
    "urn:uuid:0b6c1a8e-5d21-4f3a-9e7c-2a1b3c4d5e6f",
    "urn:uuid:7f3e2d1c-0b9a-4876-a5b4-c3d2e1f0a9b8",
    "urn:uuid:5c4b3a29-1807-4f6e-9d5c-4b3a29180706",
];

/// A group as macOS Contacts writes it (3.0, Apple's properties, `N` repeating the name).
fn apple_group(uid: &str, name: &str, members: &[&str]) -> String {
    let members: String = members.iter().map(|m| format!("X-ADDRESSBOOKSERVER-MEMBER:{m}\r\n")).collect();
    format!(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nPRODID:-//Apple Inc.//macOS 14.4//EN\r\nN:{name}\r\nFN:{name}\r\n\
         X-ADDRESSBOOKSERVER-KIND:group\r\n{members}REV:2026-03-01T10:00:00Z\r\nUID:{uid}\r\nEND:VCARD\r\n"
    )
}

/// A vCard 4.0 group with a number of its own (a phone tree's line), which is still no
/// one to name a caller by.
fn v4_group(uid: &str, name: &str, members: &[&str]) -> String {
    let members: String = members.iter().map(|m| format!("MEMBER:{m}\r\n")).collect();
    format!(
        "BEGIN:VCARD\r\nVERSION:4.0\r\nKIND:group\r\nFN:{name}\r\n{members}TEL;VALUE=uri;TYPE=work,voice:tel:+1-206-555-0142\r\n\
         UID:{uid}\r\nEND:VCARD\r\n"
    )
}

/// A card's property lines, unfolded, without those every writer makes anew, and `N`
/// without its empty trailing parts (`N:Book Club` is `N:Book Club;;;;`).
fn fields_of(card: &str) -> Vec<String> {
    let unfolded = card.replace("\r\n ", "");
    let skip = ["VERSION:", "PRODID:", "REV:", "BEGIN:", "END:"];
    let n = |l: &str| if l.starts_with("N:") { l.trim_end_matches(';').to_string() } else { l.to_string() };
    unfolded.split("\r\n").filter(|l| !l.is_empty() && !skip.iter().any(|s| l.starts_with(s))).map(n).collect()
}

fn sorted(mut lines: Vec<String>) -> Vec<String> {
    lines.sort();
    lines
}

/// The same fields (in any order), and the same members in the same order.
fn same_card(got: &str, sent: &str) -> bool {
    let members = |card: &str| fields_of(card).into_iter().filter(|l| l.contains("MEMBER:")).collect::<Vec<_>>();
    sorted(fields_of(got)) == sorted(fields_of(sent)) && members(got) == members(sent)
}

/// A group PUT in Apple's 3.0 form or in vCard 4.0 comes back with the same fields and its
/// members in order, in the version asked for; it syncs like any card, the REST API shows
/// its kind and members, and it is nobody in the directory or to caller-ID.
async fn groups_come_back_as_they_went_in(backend: Backend) {
    let server = spawn(backend).await;
    let token = sync_token(&server.sync(CONTACTS, "").await);
    let create = [("If-None-Match", "*"), ("Content-Type", "text/vcard; charset=utf-8")];
    let v4 = [("Accept", "text/vcard; version=4.0")];

    let apple_path = format!("{CONTACTS}A1B2-group.vcf");
    let apple = apple_group("A1B2-group", "Book Club", &MEMBERS);
    let put = server.dav("PUT", &apple_path, Some("201"), &create, &apple).await;
    assert_eq!(put.status, StatusCode::CREATED, "{}", put.body);
    let got = server.dav("GET", &apple_path, Some("201"), &[], "").await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(sorted(fields_of(&got.body)), sorted(fields_of(&apple)), "3.0 in, 3.0 out:\n{}", got.body);
    let members: Vec<String> = fields_of(&got.body).into_iter().filter(|l| l.contains("MEMBER:")).collect();
    let expected: Vec<String> = MEMBERS.iter().map(|m| format!("X-ADDRESSBOOKSERVER-MEMBER:{m}")).collect();
    assert_eq!(members, expected, "in order");
    let as_v4 = server.dav("GET", &apple_path, Some("201"), &v4, "").await;
    let wanted_v4 = v4_group("A1B2-group", "Book Club", &MEMBERS)
        .replace("TEL;VALUE=uri;TYPE=work,voice:tel:+1-206-555-0142\r\n", "");
    assert!(same_card(&as_v4.body, &wanted_v4), "3.0 in, 4.0 out:\n{}", as_v4.body);

    let v4_path = format!("{CONTACTS}tree.vcf");
    let tree = v4_group("C3D4-group", "Phone tree", &MEMBERS[..2]);
    let put = server.dav("PUT", &v4_path, Some("201"), &create, &tree).await;
    assert_eq!(put.status, StatusCode::CREATED, "{}", put.body);
    let got = server.dav("GET", &v4_path, Some("201"), &v4, "").await;
    assert!(same_card(&got.body, &tree), "4.0 in, 4.0 out:\n{}", got.body);
    let as_v3 = server.dav("GET", &v4_path, Some("201"), &[], "").await;
    let v3_lines = fields_of(&as_v3.body);
    for line in ["X-ADDRESSBOOKSERVER-KIND:group", "FN:Phone tree", "UID:C3D4-group"] {
        assert!(v3_lines.iter().any(|l| l == line), "{line} in\n{}", as_v3.body);
    }
    // And the 3.0 form read back is the same group.
    let again = server
        .dav("PUT", &v4_path, Some("201"), &[("If-Match", as_v3.headers[ETAG].to_str().unwrap())], &as_v3.body)
        .await;
    assert_eq!(again.status, StatusCode::NO_CONTENT, "{}", again.body);
    let got = server.dav("GET", &v4_path, Some("201"), &v4, "").await;
    assert!(same_card(&got.body, &tree), "4.0 → 3.0 → 4.0:\n{}", got.body);

    // Both sync as cards of the book.
    let synced = server.sync(CONTACTS, &token).await.responses();
    assert!(synced.contains_key(&apple_path) && synced.contains_key(&v4_path), "{synced:?}");

    // The API shows what they are; the directory and caller-ID leave them out.
    let ben = server.token("201").await;
    let (status, page) = server.call(Method::GET, &ben, "/api/v1/domains/acme.example/users/201/contacts", None).await;
    assert_eq!(status, StatusCode::OK);
    let groups: Vec<(&str, usize)> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == "group")
        .map(|c| (c["first_name"].as_str().unwrap(), c["members"].as_array().unwrap().len()))
        .collect();
    assert_eq!(groups, [("Book Club", 3), ("Phone tree", 2)]);
    own(&server, "201", "Nora").await;
    let directory = "/api/v1/domains/acme.example/users/201/directory?group=mine";
    let (_, mine) = server.call(Method::GET, &ben, directory, None).await;
    let names: Vec<&str> =
        mine["items"].as_array().unwrap().iter().map(|e| e["first_name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Nora"], "{mine}");
    let lookup = "/api/v1/domains/acme.example/lookup?number=%2B12065550142";
    let (status, answer) = server.call(Method::GET, &ben, lookup, None).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert!(answer["name"].is_null(), "a group names no caller: {answer}");
}

support::on_both_backends!(
    discovery_leads_to_the_users_books,
    own_etags_move_with_every_change_and_only_then,
    books_list_their_cards_and_serve_them,
    sync_collection_tells_exactly_what_changed,
    multiget_and_query_as_clients_send_them,
    what_must_be_refused_is,
    own_cards_are_written_with_their_names_and_uids,
    sync_comes_in_pieces_when_a_limit_is_asked,
    one_book_for_apps_that_sync_one,
    whole_book_reads_are_limited_per_user,
    requests_are_limited_per_user,
    many_own_cards_at_once,
    groups_come_back_as_they_went_in,
);
