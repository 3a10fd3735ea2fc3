//! Desk-phone XML phonebooks and device credentials over real HTTP, on SQLite and on
//! PostgreSQL: every vendor's route (checked with xmllint), tokens and HTTP Basic,
//! revoked and wrong credentials, 304 by ETag and by date, gzip, Cisco paging both
//! ways, `q=` by name and by digits, and the devices REST API.

mod support;

use std::io::Read;

use reqwest::header::{
    ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_TYPE, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED,
    WWW_AUTHENTICATE,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{Backend, DOMAIN, Person, Server};
use switchboard_app::{BookRef, Caller, ContactInput, CreatedDevice, DeviceInput};
use switchboard_core::details::ContactKind;
use switchboard_server::ServerConfig;

const PEOPLE: [Person; 2] = [
    Person { ext: "200", scope: "office-manager", first_name: "Olivia", department: "Sales", site: "North" },
    Person { ext: "201", scope: "basic-user", first_name: "Basil", department: "Support", site: "South" },
];

const VENDORS: [&str; 7] = ["yealink", "yealink-menu", "polycom", "cisco", "grandstream", "snom", "fanvil"];

async fn spawn(backend: Backend) -> Server {
    support::spawn(backend, &PEOPLE, ServerConfig::default()).await
}

async fn shared(server: &Server, company: &str, work: &str, mobile: &str) {
    let contact = ContactInput {
        company: company.into(),
        work_phone: work.into(),
        mobile_phone: mobile.into(),
        ..Default::default()
    };
    let book = BookRef::Shared { domain: DOMAIN.into() };
    server.app.create_contact(&Caller::System, &book, contact).await.unwrap();
}

async fn device(server: &Server, input: DeviceInput) -> CreatedDevice {
    server.app.create_device(&Caller::System, DOMAIN, input).await.unwrap()
}

async fn lobby(server: &Server) -> CreatedDevice {
    device(server, DeviceInput { name: "Lobby".into(), ..Default::default() }).await
}

impl Server {
    async fn phonebook(&self, token: &str, vendor: &str, query: &str) -> reqwest::Response {
        self.client.get(self.url(&format!("/phonebook/{token}/{vendor}.xml{query}"))).send().await.unwrap()
    }
}

/// Checks a document with xmllint (which must be installed) and returns it as text.
fn well_formed(bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("book.xml");
    std::fs::write(&path, bytes).unwrap();
    let output = std::process::Command::new("xmllint")
        .arg("--noout")
        .arg(&path)
        .output()
        .expect("xmllint is needed (Debian package libxml2-utils; scripts/test installs it)");
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    assert!(output.status.success(), "xmllint: {}\n{text}", String::from_utf8_lossy(&output.stderr));
    text
}

/// The text of every `<tag>` of a document, in order.
fn texts(xml: &str, tag: &str) -> Vec<String> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    xml.split(&open).skip(1).filter_map(|rest| rest.split_once(&close).map(|(text, _)| text.to_string())).collect()
}

async fn body(response: reqwest::Response) -> String {
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[CONTENT_TYPE], "text/xml; charset=utf-8");
    well_formed(&response.bytes().await.unwrap())
}

// --- The tests, each run on both back-ends ----------------------------------------------

async fn every_vendor_serves_the_domains_book(backend: Backend) {
    let server = spawn(backend).await;
    shared(&server, "Smith & Sons <Plumbing>", "+1 (206) 555-0100", "206.555.0101").await;
    shared(&server, "Quebec Office", "(418) 656-9254 ext. 102", "").await;
    let created = lobby(&server).await;
    for vendor in VENDORS {
        let xml = body(server.phonebook(&created.token, vendor, "").await).await;
        assert!(xml.contains("Smith &amp; Sons &lt;Plumbing&gt;"), "{vendor}: {xml}");
        assert!(xml.contains("+12065550100") && xml.contains("+12065550101"), "{vendor}: both numbers\n{xml}");
        assert!(xml.contains("200") && xml.contains("201"), "{vendor}: coworkers' extensions");
    }
    let yealink = body(server.phonebook(&created.token, "yealink", "").await).await;
    assert!(yealink.contains(r#"<Telephone label="Mobile">+12065550101</Telephone>"#), "{yealink}");
    let expected = r#"<Telephone label="Work ext. 102">+14186569254</Telephone>"#;
    assert!(yealink.contains(expected), "the main number is dialled, the extension named: {yealink}");
    let snom = body(server.phonebook(&created.token, "snom", "").await).await;
    assert!(snom.contains("<Name>Quebec Office (Work ext. 102)</Name>"), "{snom}");
    // Grandstream phones add `phonebook.xml` to the path they are given.
    let grandstream = body(server.phonebook(&created.token, "phonebook", "").await).await;
    assert!(grandstream.contains("<AddressBook>"), "{grandstream}");
    let unknown = server.phonebook(&created.token, "nokia", "").await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let not_xml = server.client.get(server.url(&format!("/phonebook/{}/yealink.json", created.token))).send().await;
    assert_eq!(not_xml.unwrap().status(), StatusCode::NOT_FOUND);
}

async fn wrong_revoked_and_foreign_credentials_are_refused(backend: Backend) {
    let server = spawn(backend).await;
    let created = lobby(&server).await;
    assert_eq!(server.phonebook("sbd_wrong", "yealink", "").await.status(), StatusCode::UNAUTHORIZED);
    let limited = device(
        &server,
        DeviceInput { name: "Branch".into(), allowed_networks: vec!["192.0.2.0/24".into()], ..Default::default() },
    )
    .await;
    assert_eq!(server.phonebook(&limited.token, "yealink", "").await.status(), StatusCode::FORBIDDEN);
    server.app.revoke_device(&Caller::System, DOMAIN, created.device.id).await.unwrap();
    let revoked = server.phonebook(&created.token, "yealink", "").await;
    assert_eq!(revoked.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(revoked.headers()[CONTENT_TYPE], "application/problem+json");
    // Another domain's device reads its own book only.
    let other = switchboard_app::DomainInput { name: "globex.example".into(), ..Default::default() };
    server.app.create_domain(&Caller::System, other).await.unwrap();
    let theirs = server.app.create_device(
        &Caller::System,
        "globex.example",
        DeviceInput { name: "G".into(), ..Default::default() },
    );
    let theirs = theirs.await.unwrap();
    let xml = body(server.phonebook(&theirs.token, "yealink", "").await).await;
    assert!(texts(&xml, "Name").is_empty(), "an empty domain shows nothing of another: {xml}");
}

async fn basic_auth_takes_device_dns_and_user_logins(backend: Backend) {
    let server = spawn(backend).await;
    let created = lobby(&server).await;
    let url = server.url("/phonebook/snom.xml");
    let with = |user: &str, password: &str| server.client.get(&url).basic_auth(user, Some(password)).send();
    let xml = body(with(&created.bind_dn, &created.password).await.unwrap()).await;
    assert_eq!(texts(&xml, "Name"), ["Basil Tester", "Olivia Tester"]);
    let as_user = with("201@acme.example", support::PASSWORD).await.unwrap();
    assert!(as_user.headers().get_all("vary").iter().any(|v| v.to_str().unwrap().contains("authorization")));
    assert_eq!(texts(&body(as_user).await, "Name"), ["Olivia Tester"], "a user's book leaves out themselves");
    for (user, password) in [(created.bind_dn.as_str(), "wrong"), ("201@acme.example", "wrong"), ("", "")] {
        let refused = with(user, password).await.unwrap();
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED, "{user}");
        assert!(refused.headers()[WWW_AUTHENTICATE].to_str().unwrap().starts_with("Basic realm="));
    }
    let bare = server.client.get(&url).send().await.unwrap();
    assert_eq!(bare.status(), StatusCode::UNAUTHORIZED);
    assert!(bare.headers()[WWW_AUTHENTICATE].to_str().unwrap().starts_with("Basic"));
}

async fn unchanged_books_answer_304_until_something_changes(backend: Backend) {
    let server = spawn(backend).await;
    shared(&server, "First Vendor", "+1 206 555 0100", "").await;
    let created = lobby(&server).await;
    let first = server.phonebook(&created.token, "yealink", "?q=vendor").await;
    let etag = first.headers()[ETAG].to_str().unwrap().to_string();
    assert!(etag.starts_with("W/\""), "{etag}");
    let get = |header: reqwest::header::HeaderName, value: String| {
        let url = server.url(&format!("/phonebook/{}/yealink.xml?q=vendor", created.token));
        server.client.get(url).header(header, value).send()
    };
    assert_eq!(get(IF_NONE_MATCH, etag.clone()).await.unwrap().status(), StatusCode::NOT_MODIFIED);
    let other_query = server.client.get(server.url(&format!("/phonebook/{}/yealink.xml?q=first", created.token)));
    let other_query = other_query.header(IF_NONE_MATCH, etag.clone()).send().await.unwrap();
    assert_eq!(other_query.status(), StatusCode::OK, "another search is another document");
    let other_vendor = server.client.get(server.url(&format!("/phonebook/{}/snom.xml?q=vendor", created.token)));
    assert_eq!(other_vendor.header(IF_NONE_MATCH, etag.clone()).send().await.unwrap().status(), StatusCode::OK);

    // Last-Modified comes once its second is over; If-Modified-Since then answers 304 too.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let dated = server.phonebook(&created.token, "yealink", "?q=vendor").await;
    let last_modified = dated.headers()[LAST_MODIFIED].to_str().unwrap().to_string();
    assert_eq!(get(IF_MODIFIED_SINCE, last_modified.clone()).await.unwrap().status(), StatusCode::NOT_MODIFIED);

    shared(&server, "Second Vendor", "+1 206 555 0102", "").await;
    let changed = get(IF_NONE_MATCH, etag.clone()).await.unwrap();
    assert_eq!(changed.status(), StatusCode::OK);
    assert_ne!(changed.headers()[ETAG].to_str().unwrap(), etag);
    assert_eq!(texts(&body(changed).await, "Name"), ["First Vendor", "Second Vendor"]);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(get(IF_MODIFIED_SINCE, last_modified).await.unwrap().status(), StatusCode::OK);
    // A user's change of their own settings reaches their bound device too.
    let bound =
        device(&server, DeviceInput { name: "Desk".into(), user: Some("201".into()), ..Default::default() }).await;
    let before = server.phonebook(&bound.token, "yealink", "").await.headers()[ETAG].clone();
    let hide = std::collections::BTreeMap::from([("PORTAL_SHOW_SHARED_CONTACTS".to_string(), Some("no".to_string()))]);
    let layer = switchboard_app::SettingsLayer::User(DOMAIN.into(), "201".into());
    server.app.put_settings(&Caller::System, &layer, hide).await.unwrap();
    let url = server.url(&format!("/phonebook/{}/yealink.xml", bound.token));
    let after = server.client.get(url).header(IF_NONE_MATCH, before).send().await.unwrap();
    assert_eq!(after.status(), StatusCode::OK);
    assert_eq!(texts(&body(after).await, "Name"), ["Olivia Tester"]);
}

async fn books_are_gzipped_when_asked(backend: Backend) {
    let server = spawn(backend).await;
    for i in 0..30 {
        shared(&server, &format!("Vendor {i:02}"), &format!("+1 206 555 {:04}", 1000 + i), "").await;
    }
    let created = lobby(&server).await;
    let plain = server.phonebook(&created.token, "grandstream", "").await;
    assert!(plain.headers().get(CONTENT_ENCODING).is_none());
    let plain = plain.bytes().await.unwrap();
    let url = server.url(&format!("/phonebook/{}/grandstream.xml", created.token));
    let zipped = server.client.get(url).header(ACCEPT_ENCODING, "gzip").send().await.unwrap();
    assert_eq!(zipped.headers()[CONTENT_ENCODING], "gzip");
    let zipped = zipped.bytes().await.unwrap();
    assert!(zipped.len() < plain.len() / 2, "{} vs {}", zipped.len(), plain.len());
    let mut unzipped = Vec::new();
    flate2::read::GzDecoder::new(&zipped[..]).read_to_end(&mut unzipped).unwrap();
    assert_eq!(unzipped, plain);
}

async fn cisco_pages_forward_and_back(backend: Backend) {
    let server = spawn(backend).await;
    // 64 entries with the two coworkers; one contact has two numbers.
    for i in 0..61 {
        shared(&server, &format!("Vendor {i:02}"), &format!("+1 206 555 {:04}", 1000 + i), "").await;
    }
    shared(&server, "Vendor 99", "+1 206 555 2000", "+1 206 555 2001").await;
    let created = lobby(&server).await;
    let mut url = server.url(&format!("/phonebook/{}/cisco.xml?q=e", created.token));
    let mut pages = Vec::new();
    loop {
        let xml = body(server.client.get(&url).send().await.unwrap()).await;
        let names = texts(&xml, "Name");
        let entries: Vec<String> =
            names.iter().filter(|n| !matches!(n.as_str(), "Dial" | "Next" | "Previous" | "Exit")).cloned().collect();
        assert!(entries.len() <= 32, "at most 32 entries: {}", entries.len());
        let links = texts(&xml, "URL");
        // Previous links read backwards (`page=p.…`); the other paging link is Next.
        let next = links.iter().find(|l| l.contains("page=") && !l.contains("page=p."));
        assert_eq!(next.is_some(), names.contains(&"Next".to_string()));
        assert!(pages.len() < 10, "paging ends");
        pages.push((entries, xml.clone()));
        match next {
            Some(next) => url = next.replace("&amp;", "&"),
            None => break,
        }
    }
    let all: Vec<String> = pages.iter().flat_map(|(entries, _)| entries.clone()).collect();
    assert_eq!(all.len(), 64 + 1, "every number once, the two-number contact on two lines");
    assert_eq!(pages.len(), 3);
    assert!(all.contains(&"Vendor 99 (Mobile)".to_string()), "{all:?}");
    assert!(pages[1].1.contains("q=e"), "links keep the search");
    // Previous from the last page: the entries just before it (as many as fit), and its
    // Next leads to the last page again.
    let previous = texts(&pages[2].1, "URL").into_iter().find(|l| l.contains("page=p.")).expect("a Previous link");
    let back = body(server.client.get(previous.replace("&amp;", "&")).send().await.unwrap()).await;
    let back_names = texts(&back, "Name");
    let back_entries: Vec<&String> =
        back_names.iter().filter(|n| !matches!(n.as_str(), "Dial" | "Next" | "Previous" | "Exit")).collect();
    assert_eq!(back_entries.last().copied(), pages[1].0.last(), "ends where the last page starts");
    assert!(back_entries.len() <= 32 && back_entries.len() >= pages[1].0.len());
    let next = texts(&back, "URL").into_iter().find(|l| l.contains("page=") && !l.contains("page=p.")).unwrap();
    let again = body(server.client.get(next.replace("&amp;", "&")).send().await.unwrap()).await;
    assert_eq!(again, pages[2].1);
    assert!(!pages[0].1.contains("<Name>Previous</Name>"), "the first page has no Previous");
}

async fn remote_search_by_name_digits_and_group(backend: Backend) {
    let server = spawn(backend).await;
    shared(&server, "Acme Plumbing", "+1 (206) 555-0100", "").await;
    shared(&server, "Zeta Electric", "206.555.0199", "").await;
    let created = lobby(&server).await;
    let names = |query: &'static str| {
        let server = &server;
        let token = created.token.clone();
        async move { texts(&body(server.phonebook(&token, "yealink", query).await).await, "Name") }
    };
    assert_eq!(names("?q=plumb").await, ["Acme Plumbing"]);
    assert_eq!(names("?q=ZETA").await, ["Zeta Electric"]);
    assert_eq!(names("?q=5550199").await, ["Zeta Electric"]);
    assert_eq!(names("?q=%2B12065550100").await, ["Acme Plumbing"]);
    assert_eq!(names("?group=department:Sales").await, ["Olivia Tester"]);
    assert_eq!(names("?group=shared").await, ["Acme Plumbing", "Zeta Electric"]);
    let bad = server.phonebook(&created.token, "yealink", "?group=everyone").await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let bad_page = server.phonebook(&created.token, "cisco", "?page=garbage").await;
    assert_eq!(bad_page.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

async fn managers_manage_devices_over_the_api(backend: Backend) {
    let server = spawn(backend).await;
    let manager = server.token("200").await;
    let basic = server.token("201").await;
    let url = server.url(&format!("/api/v1/domains/{DOMAIN}/devices"));
    let input = json!({ "name": "Reception", "user": "201", "allowed_networks": ["127.0.0.0/8"] });
    let forbidden = server.client.post(&url).bearer_auth(&basic).json(&input).send().await.unwrap();
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
    let created = server.client.post(&url).bearer_auth(&manager).json(&input).send().await.unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let location = created.headers()["location"].to_str().unwrap().to_string();
    let created: Value = created.json().await.unwrap();
    let token = created["token"].as_str().unwrap();
    assert!(created["bind_dn"].as_str().unwrap().ends_with(",ou=devices,dc=acme,dc=example"));
    assert_eq!(created["device"]["user"], "201");

    // From 127.0.0.1, inside the allowed range.
    assert_eq!(server.phonebook(token, "polycom", "").await.status(), StatusCode::OK);
    let shown: Value =
        server.client.get(server.url(&location)).bearer_auth(&manager).send().await.unwrap().json().await.unwrap();
    assert!(shown["last_used_at"].is_string(), "{shown}");
    assert!(shown.get("token").is_none() && shown.get("password").is_none(), "secrets are shown once: {shown}");
    let listed: Value = server.client.get(&url).bearer_auth(&manager).send().await.unwrap().json().await.unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);

    let bad = json!({ "name": "", "allowed_networks": ["lobby"], "colour": "red" });
    let refused = server.client.post(&url).bearer_auth(&manager).json(&bad).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let bad = json!({ "name": "", "allowed_networks": ["lobby"] });
    let refused: Value =
        server.client.post(&url).bearer_auth(&manager).json(&bad).send().await.unwrap().json().await.unwrap();
    let fields: Vec<&str> =
        refused["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["name", "allowed_networks[0]"]);

    let revoked = server.client.delete(server.url(&location)).bearer_auth(&manager).send().await.unwrap();
    assert_eq!(revoked.status(), StatusCode::OK);
    assert!(revoked.json::<Value>().await.unwrap()["revoked_at"].is_string());
    assert_eq!(server.phonebook(token, "polycom", "").await.status(), StatusCode::UNAUTHORIZED);
    let other = server.url("/api/v1/domains/globex.example/devices");
    assert_eq!(server.client.get(other).bearer_auth(&manager).send().await.unwrap().status(), StatusCode::NOT_FOUND);
}

/// A book asked for with `presence=1` names who is not available and why, and a line
/// state from the PBX reaches the phone's next read (a new tag, so no 304); a book
/// without it keeps its tag and its 304, since phones also name callers from it.
async fn books_with_presence_follow_the_phone_system(backend: Backend) {
    let server = spawn(backend).await;
    let created = lobby(&server).await;
    let olivia = server.token("200").await;
    let credentials = "/api/v1/domains/acme.example/pbx-credentials";
    let (status, pbx) = server.call(Method::POST, &olivia, credentials, Some(json!({ "name": "PBX" }))).await;
    assert_eq!(status, StatusCode::CREATED, "{pbx}");
    let pbx = pbx["secret"].as_str().unwrap().to_string();
    let report = async |state: &str| {
        let lines = json!({ "lines": [{ "ext": "201", "state": state }] });
        let (status, answer) =
            server.call(Method::POST, &pbx, "/api/v1/domains/acme.example/presence/lines", Some(lines)).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    };
    let read = async |query: &str, tag: Option<&str>| {
        let url = server.url(&format!("/phonebook/{}/yealink.xml{query}", created.token));
        let request = server.client.get(url);
        let request = match tag {
            Some(tag) => request.header(IF_NONE_MATCH, tag),
            None => request,
        };
        request.send().await.unwrap()
    };
    let tag = |response: &reqwest::Response| response.headers()[ETAG].to_str().unwrap().to_string();

    let plain = read("", None).await;
    let plain_tag = tag(&plain);
    assert_eq!(texts(&body(plain).await, "Name"), ["Basil Tester", "Olivia Tester"]);
    let live = read("?presence=1", None).await;
    let live_tag = tag(&live);
    assert_ne!(live_tag, plain_tag);
    assert!(!live.headers().contains_key(LAST_MODIFIED), "a presence book is not dated");
    assert_eq!(texts(&body(live).await, "Name"), ["Basil Tester [offline]", "Olivia Tester [offline]"]);
    assert_eq!(read("?presence=1", Some(&live_tag)).await.status(), StatusCode::NOT_MODIFIED);

    report("on_call").await;
    assert_eq!(read("", Some(&plain_tag)).await.status(), StatusCode::NOT_MODIFIED, "the plain book is unchanged");
    let changed = read("?presence=1", Some(&live_tag)).await;
    let live_tag = tag(&changed);
    assert_eq!(texts(&body(changed).await, "Name"), ["Basil Tester [on a call]", "Olivia Tester [offline]"]);
    let busy = read("?group=busy", None).await;
    assert_eq!(texts(&body(busy).await, "Name"), ["Basil Tester"], "a presence group follows presence too");

    report("idle").await;
    let available = read("?presence=1", Some(&live_tag)).await;
    assert_eq!(texts(&body(available).await, "Name"), ["Basil Tester", "Olivia Tester [offline]"]);
    assert_eq!(read("?group=busy", None).await.status(), StatusCode::OK);
    assert!(texts(&body(read("?group=busy", None).await).await, "Name").is_empty());

    let wrong = read("?presence=maybe", None).await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = wrong.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "presence", "{problem}");
}

support::on_both_backends!(
    every_vendor_serves_the_domains_book,
    wrong_revoked_and_foreign_credentials_are_refused,
    basic_auth_takes_device_dns_and_user_logins,
    unchanged_books_answer_304_until_something_changes,
    books_are_gzipped_when_asked,
    cisco_pages_forward_and_back,
    remote_search_by_name_digits_and_group,
    managers_manage_devices_over_the_api,
    books_with_presence_follow_the_phone_system,
    a_users_groups_are_never_on_their_phone,
);

/// A phone that shows its user's own contacts shows their people, never their groups
/// (not in the book, not found by a search, not naming a caller), even a group with a
/// number of its own.
async fn a_users_groups_are_never_on_their_phone(backend: Backend) {
    let server = spawn(backend).await;
    let book = BookRef::Personal { domain: DOMAIN.into(), extension: "201".into() };
    let mom = ContactInput { first_name: "Mom".into(), mobile_phone: "+1 206 555 0142".into(), ..Default::default() };
    let mom = server.app.create_contact(&Caller::System, &book, mom).await.unwrap();
    let family = ContactInput {
        first_name: "Family".into(),
        work_phone: "+1 206 555 0177".into(),
        kind: ContactKind::Group,
        members: vec![format!("urn:uuid:{}", mom.id)],
        ..Default::default()
    };
    server.app.create_contact(&Caller::System, &book, family).await.unwrap();
    let bound =
        device(&server, DeviceInput { name: "Desk".into(), user: Some("201".into()), ..Default::default() }).await;
    let ben = server.token("201").await;
    let sharing = "/api/v1/domains/acme.example/users/201/phone-sharing";
    let (status, _) = server.call(Method::PUT, &ben, sharing, Some(json!({ "own_contacts": true }))).await;
    assert_eq!(status, StatusCode::OK);

    for vendor in VENDORS {
        let xml = body(server.phonebook(&bound.token, vendor, "").await).await;
        assert!(xml.contains("Mom"), "{vendor}: the user's own contact\n{xml}");
        assert!(!xml.contains("Family") && !xml.contains("2065550177"), "{vendor}: no group\n{xml}");
    }
    let searched = body(server.phonebook(&bound.token, "yealink", "?q=fam").await).await;
    assert!(!searched.contains("Family"), "{searched}");
    let lookup = |number: &str| server.url(&format!("/phonebook/{}/lookup?number={number}", bound.token));
    let named = server.client.get(lookup("2065550142")).send().await.unwrap().text().await.unwrap();
    assert_eq!(named, "Mom");
    let group = server.client.get(lookup("2065550177")).send().await.unwrap().text().await.unwrap();
    assert_eq!(group, "", "a group names no caller");
}
