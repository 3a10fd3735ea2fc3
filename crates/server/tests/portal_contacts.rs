//! The portal's Contacts page, dock and Shared Contacts page, the login in front of
//! them and the headers behind every answer, over real HTTP on SQLite and PostgreSQL:
//! logged in through the login form, changes sent the way htmx sends them.

mod support;

use std::collections::BTreeSet;

use reqwest::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, LOCATION, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS};
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};
use support::{
    Backend, Browser, DOMAIN, PASSWORD, Person, Server, attribute_after, attribute_values, cookie_pair, toast,
    triggers, unescape,
};
use switchboard_app::{BookRef, Caller};
use switchboard_core::contact::ContactInput;
use switchboard_core::details::ContactKind;
use switchboard_server::ServerConfig;

support::on_both_backends!(
    every_answer_carries_the_security_headers_and_no_inline_code,
    scripts_and_styles_are_gzipped_and_pages_are_not,
    logging_in_checks_the_password_and_the_form_token,
    a_session_ends_with_logout_and_pages_send_strangers_to_login,
    a_shared_contact_is_added_edited_deleted_and_restored,
    invalid_input_is_answered_next_to_its_field_and_writes_nothing,
    a_change_needs_the_csrf_header,
    a_basic_user_reads_shared_contacts_and_keeps_their_own,
    another_users_contacts_are_not_found,
    hidden_shared_contacts_are_gone_for_basic_users,
    markup_in_a_contact_name_is_shown_as_text,
    lists_are_searched_and_paged,
    the_dock_filters_by_group_and_search,
    the_directory_is_sorted_counted_and_explains_empty_lists,
    a_contact_photo_is_shown_uploaded_and_removed,
    a_group_is_shown_as_a_group_with_its_members,
);

const SHARED_API: &str = "/api/v1/domains/acme.example/shared-contacts";

/// 200 manages the office (and may edit shared contacts); 203 and 210 are basic users.
const PEOPLE: [Person; 3] = [
    Person { ext: "200", scope: "office-manager", first_name: "Olivia", department: "Sales", site: "North" },
    Person { ext: "203", scope: "basic-user", first_name: "Ben", department: "Support", site: "North" },
    Person { ext: "210", scope: "basic-user", first_name: "Sue", department: "Support", site: "South" },
];

async fn spawn(backend: Backend) -> Server {
    support::spawn(backend, &PEOPLE, ServerConfig::default()).await
}

/// The inputs of the Add / Edit contact form.
const CONTACT_FIELDS: [&str; 10] = [
    "first_name",
    "last_name",
    "company",
    "title",
    "work_phone",
    "mobile_phone",
    "home_phone",
    "fax",
    "email",
    "notes",
];

/// The Add / Edit contact form as Save posts it, with `changes` over empty fields.
fn contact_form<'a>(changes: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut form: Vec<(&str, &str)> = CONTACT_FIELDS.iter().map(|name| (*name, "")).collect();
    form.push(("save", "close"));
    for (name, value) in changes {
        match form.iter_mut().find(|(n, _)| n == name) {
            Some(field) => field.1 = value,
            None => form.push((name, value)),
        }
    }
    form
}

fn shared_book() -> BookRef {
    BookRef::Shared { domain: DOMAIN.into() }
}

fn personal_book(ext: &str) -> BookRef {
    BookRef::Personal { domain: DOMAIN.into(), extension: ext.into() }
}

/// Adds a contact directly through the app (as the operator), for what a test only reads.
async fn add_contact(server: &Server, book: &BookRef, first: &str, last: &str, work_phone: &str) -> String {
    let input = ContactInput {
        first_name: first.into(),
        last_name: last.into(),
        work_phone: work_phone.into(),
        ..Default::default()
    };
    server.app.create_contact(&Caller::System, book, input).await.expect("a contact").id.to_string()
}

/// A fragment that must answer 200.
async fn ok_fragment(browser: &Browser<'_>, path: &str) -> String {
    let (status, html) = browser.fragment(path).await;
    assert_eq!(status, StatusCode::OK, "{path}: {html}");
    html
}

/// The ids of the rows of a Shared Contacts list.
async fn shared_rows(browser: &Browser<'_>, query: &str) -> Vec<String> {
    attribute_values(&ok_fragment(browser, &format!("/shared-contacts/rows?{query}")).await, "data-contact")
}

/// `(kind, id)` of each row of a directory list (`/contacts/rows` or `/dock/rows`).
async fn entries(browser: &Browser<'_>, path: &str) -> Vec<(String, String)> {
    let html = ok_fragment(browser, path).await;
    attribute_values(&html, "data-kind").into_iter().zip(attribute_values(&html, "data-entry")).collect()
}

/// The value of the form's input `name` (as written in the HTML).
fn input_value(form: &str, name: &str) -> String {
    let at = form.find(&format!(r#"name="{name}""#)).unwrap_or_else(|| panic!("no {name} in {form}"));
    attribute_after(&form[at..], r#"value=""#)
}

// --- Headers and inline code ------------------------------------------------------------

/// Checks the headers every portal answer carries; pages and fragments are never cached.
fn assert_security_headers(response: &Response, what: &str) {
    let headers = response.headers();
    let policy = headers.get(CONTENT_SECURITY_POLICY).unwrap_or_else(|| panic!("{what}: no CSP")).to_str().unwrap();
    let directives: Vec<&str> = policy.split(';').map(str::trim).collect();
    for directive in ["script-src 'self'", "style-src 'self'", "frame-ancestors 'none'"] {
        assert!(directives.contains(&directive), "{what}: `{directive}` in {policy}");
    }
    assert_eq!(headers[X_FRAME_OPTIONS], "DENY", "{what}");
    assert_eq!(headers[X_CONTENT_TYPE_OPTIONS], "nosniff", "{what}");
    assert_eq!(headers[CACHE_CONTROL], "no-store", "{what}");
}

/// What in `html` would need inline code to run: a `<script>` with content (or
/// without `src`), a `style` attribute, an event handler (`on…=`, `hx-on…`), a
/// `javascript:` link.
fn inline_code(html: &str) -> Vec<String> {
    let lower = html.to_ascii_lowercase();
    let mut found = Vec::new();
    for (at, _) in lower.match_indices('<') {
        let rest = &lower[at + 1..];
        // Our templates escape `>` in attribute values, so the first one ends the tag.
        let tag = &rest[..rest.find('>').unwrap_or(rest.len())];
        let name: String = tag.chars().take_while(char::is_ascii_alphanumeric).collect();
        if name.is_empty() {
            continue; // a closing tag, a comment or the doctype
        }
        let attributes = attributes(&tag[name.len()..]);
        if name == "script" {
            let body = rest[tag.len()..].strip_prefix('>').unwrap_or_default();
            let content = &body[..body.find("</script").unwrap_or(body.len())];
            let has_src = attributes.iter().any(|(name, value)| name == "src" && value.starts_with('/'));
            if !content.trim().is_empty() || !has_src {
                found.push(format!("inline script: <{tag}>"));
            }
        }
        for (attribute, value) in attributes {
            let handler = attribute
                .strip_prefix("on")
                .is_some_and(|event| !event.is_empty() && event.chars().all(|c| c.is_ascii_alphabetic()));
            if attribute == "style" || handler || attribute.starts_with("hx-on") {
                found.push(format!("`{attribute}` on <{name}>"));
            }
            if value.trim_start().starts_with("javascript:") {
                found.push(format!("a javascript: URL on <{name}>"));
            }
        }
    }
    found
}

/// The `(name, value)` attributes of a tag's text after its name, quotes understood.
fn attributes(mut text: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    loop {
        text = text.trim_start_matches(|c: char| c.is_whitespace() || c == '/');
        if text.is_empty() {
            return found;
        }
        let name_end = text.find(|c: char| c.is_whitespace() || c == '=' || c == '/').unwrap_or(text.len());
        let name = text[..name_end].to_string();
        text = text[name_end..].trim_start();
        let mut value = String::new();
        if let Some(after) = text.strip_prefix('=') {
            let after = after.trim_start();
            let (quoted, rest) = match after.chars().next() {
                Some(quote @ ('"' | '\'')) => {
                    let inner = &after[1..];
                    let end = inner.find(quote).unwrap_or(inner.len());
                    (&inner[..end], &inner[(end + 1).min(inner.len())..])
                }
                _ => {
                    let end = after.find(char::is_whitespace).unwrap_or(after.len());
                    (&after[..end], &after[end..])
                }
            };
            value = quoted.to_string();
            text = rest;
        }
        found.push((name, value));
    }
}

async fn every_answer_carries_the_security_headers_and_no_inline_code(backend: Backend) {
    let server = spawn(backend).await;
    let login = server.anonymous(Method::GET, "/login").send().await.unwrap();
    assert_security_headers(&login, "/login");
    assert_eq!(inline_code(&login.text().await.unwrap()), Vec::<String>::new(), "/login");

    let manager = server.log_in("200").await;
    // Something in every list: rows with their buttons, a deleted contact, audit entries.
    let shared = add_contact(&server, &shared_book(), "Ann", "Lee", "+1 206 555 0100").await;
    add_contact(&server, &personal_book("200"), "Own", "Contact", "+1 206 555 0101").await;
    let trashed = add_contact(&server, &shared_book(), "Gone", "Away", "").await;
    assert_eq!(manager.post(&format!("/shared-contacts/{trashed}/delete"), &[]).await.status(), StatusCode::OK);
    assert_eq!(manager.post(&format!("/contacts/{shared}/favorite"), &[("on", "true")]).await.status(), StatusCode::OK);

    let pages = ["/contacts", "/shared-contacts", "/shared-contacts/trash", "/users", "/agents", "/settings", "/audit"];
    for page in pages {
        let response = manager.get(page).await;
        assert_eq!(response.status(), StatusCode::OK, "{page}");
        assert_security_headers(&response, page);
        let html = response.text().await.unwrap();
        assert!(html.contains(r#"<main id="main""#), "{page} is a whole page");
        assert_eq!(inline_code(&html), Vec::<String>::new(), "{page}");
    }
    let modals = [
        "/shared-contacts/new",
        "/contacts/mine/new",
        "/shared-contacts/import",
        "/shared-contacts/export",
        "/contacts/export",
        "/contacts/mine/import",
        &format!("/shared-contacts/{shared}/edit"),
        "/dock",
        "/contacts/rows",
        "/shared-contacts/rows",
    ];
    for modal in modals {
        let response = manager.request(Method::GET, modal).header("hx-request", "true").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{modal}");
        assert_security_headers(&response, modal);
        let html = response.text().await.unwrap();
        assert!(!html.is_empty(), "{modal}");
        assert_eq!(inline_code(&html), Vec::<String>::new(), "{modal}");
    }
    // Answers that are no page: a refused form, an error, a redirect, a 401.
    let refused = manager.post("/shared-contacts", &contact_form(&[("email", "nope")])).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_security_headers(&refused, "a refused form");
    assert_eq!(inline_code(&refused.text().await.unwrap()), Vec::<String>::new());
    let basic = server.log_in("203").await;
    let forbidden = basic.get("/users").await;
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
    assert_security_headers(&forbidden, "an error page");
    assert_eq!(inline_code(&forbidden.text().await.unwrap()), Vec::<String>::new());
    let redirect = server.anonymous(Method::GET, "/contacts").send().await.unwrap();
    assert_security_headers(&redirect, "a redirect to the login");
    let unauthorized = server.anonymous(Method::GET, "/contacts/rows").header("hx-request", "true").send().await;
    assert_security_headers(&unauthorized.unwrap(), "a 401");
}

#[test]
fn the_inline_code_scan_finds_what_it_looks_for() {
    let clean =
        r#"<script src="/assets/app.js" defer></script><button hx-vals='{"on": true}' data-x="a onclick=b">x</button>"#;
    assert_eq!(inline_code(clean), Vec::<String>::new());
    for dirty in [
        "<script>alert(1)</script>",
        r#"<script src="/a.js">alert(1)</script>"#,
        r#"<p style="color: red">"#,
        r#"<img src=x onerror=alert(1)>"#,
        r#"<button ONCLICK="go()">"#,
        r#"<div hx-on:click="go()">"#,
        r#"<a href=" javascript:go()">"#,
    ] {
        assert_eq!(inline_code(dirty).len(), 1, "{dirty}");
    }
}

// --- Logging in and out -------------------------------------------------------------------

/// What is the same for everyone is gzipped when asked; pages, which hold a CSRF token
/// beside what a request chose, never are.
async fn scripts_and_styles_are_gzipped_and_pages_are_not(backend: Backend) {
    let server = spawn(backend).await;
    let manager = server.log_in("200").await;
    let encoding = |response: &reqwest::Response| {
        response.headers().get("content-encoding").map(|v| v.to_str().unwrap().to_string())
    };
    for asset in ["/assets/app.css", "/assets/app.js", "/assets/htmx.min.js", "/api/docs/swagger-ui-bundle.js"] {
        let zipped = server.anonymous(Method::GET, asset).header("accept-encoding", "gzip").send().await.unwrap();
        assert_eq!(encoding(&zipped).as_deref(), Some("gzip"), "{asset}");
        let plain = server.anonymous(Method::GET, asset).send().await.unwrap();
        assert_eq!(encoding(&plain), None, "{asset} unasked");
    }
    let page = manager.request(Method::GET, "/contacts?q=secret").header("accept-encoding", "gzip").send().await;
    assert_eq!(encoding(&page.unwrap()), None, "a page");
    let token = server.token("200").await;
    let api = server.client.get(server.url(SHARED_API)).bearer_auth(token).header("accept-encoding", "gzip");
    assert_eq!(encoding(&api.send().await.unwrap()), None, "an API answer");
}

async fn logging_in_checks_the_password_and_the_form_token(backend: Backend) {
    let server = spawn(backend).await;
    let username = format!("200@{DOMAIN}");

    let form = server.login_form().await;
    let wrong = [("username", username.as_str()), ("password", "wrong password"), ("csrf", &form.csrf)];
    let refused = server.submit_login(Some(&form.cookie), &wrong).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(cookie_pair(&refused, "sb_session"), None);
    let page = refused.text().await.unwrap();
    assert!(page.contains(r#"id="login-error">That login and password do not match."#), "{page}");
    assert!(page.contains(&format!(r#"name="username" type="text" value="{username}""#)), "the login is kept");

    // The right password, but the double-submit token is missing, not the cookie's, or has no cookie.
    let form = server.login_form().await;
    let without_field = [("username", username.as_str()), ("password", PASSWORD)];
    let empty = [("username", username.as_str()), ("password", PASSWORD), ("csrf", "")];
    let forged = [("username", username.as_str()), ("password", PASSWORD), ("csrf", "forged-token")];
    let with_field = [("username", username.as_str()), ("password", PASSWORD), ("csrf", form.csrf.as_str())];
    for (why, cookie, fields) in [
        ("no token field", Some(form.cookie.as_str()), &without_field[..]),
        ("a token that is not the cookie's", Some(form.cookie.as_str()), &forged[..]),
        ("no token cookie", None, &with_field[..]),
        ("an empty token and cookie", Some("sb_login="), &empty[..]),
    ] {
        let response = server.submit_login(cookie, fields).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{why}");
        assert_eq!(cookie_pair(&response, "sb_session"), None, "{why}: no session");
        assert!(response.text().await.unwrap().contains("This login page had expired"), "{why}");
    }

    // `next` leads back to a page of this site only.
    for (next, location) in
        [("/users", "/users"), ("//evil.example", "/contacts"), ("https://evil.example/", "/contacts")]
    {
        let form = server.login_form().await;
        let fields = [("username", username.as_str()), ("password", PASSWORD), ("csrf", &form.csrf), ("next", next)];
        let response = server.submit_login(Some(&form.cookie), &fields).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{next}");
        assert_eq!(response.headers()[LOCATION], location, "{next}");
        assert!(cookie_pair(&response, "sb_session").is_some());
    }
    let hidden = server.anonymous(Method::GET, "/login?next=%2F%2Fevil.example").send().await.unwrap();
    assert!(hidden.text().await.unwrap().contains(r#"name="next" value="/contacts""#), "the form drops it too");

    // Someone logged in does not see the form again.
    let browser = server.log_in("200").await;
    for (path, location) in [("/login", "/contacts"), ("/login?next=%2Fshared-contacts", "/shared-contacts")] {
        let response = browser.get(path).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(response.headers()[LOCATION], location);
    }
}

async fn a_session_ends_with_logout_and_pages_send_strangers_to_login(backend: Backend) {
    let server = spawn(backend).await;
    let stranger = server.anonymous(Method::GET, "/shared-contacts?q=ann").send().await.unwrap();
    assert_eq!(stranger.status(), StatusCode::SEE_OTHER);
    assert_eq!(stranger.headers()[LOCATION], "/login?next=%2Fshared-contacts%3Fq%3Dann");
    // htmx gets a 401 instead, so the page asks for the password and keeps its form.
    for (method, path) in [(Method::GET, "/contacts/rows"), (Method::POST, "/shared-contacts")] {
        let response = server.anonymous(method, path).header("hx-request", "true").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(response.headers().get(LOCATION), None);
    }

    let browser = server.log_in("203").await;
    let other = server.log_in("203").await;
    assert_eq!(browser.post_with("/logout", &[], None).await.status(), StatusCode::FORBIDDEN, "logout needs the token");
    assert_eq!(browser.get("/contacts").await.status(), StatusCode::OK, "still logged in");

    let logout = browser.post("/logout", &[]).await;
    assert_eq!(logout.status(), StatusCode::OK);
    assert_eq!(logout.headers()["hx-redirect"], "/login");
    assert_eq!(cookie_pair(&logout, "sb_session").as_deref(), Some("sb_session="), "the browser forgets it");
    let after = browser.get("/contacts").await;
    assert_eq!(after.status(), StatusCode::SEE_OTHER, "the old cookie no longer works");
    assert_eq!(after.headers()[LOCATION], "/login?next=%2Fcontacts");
    assert_eq!(browser.fragment("/contacts/rows").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(other.get("/contacts").await.status(), StatusCode::OK, "another session lives on");
}

// --- Shared contacts through the portal ----------------------------------------------------

async fn a_shared_contact_is_added_edited_deleted_and_restored(backend: Backend) {
    let server = spawn(backend).await;
    let manager = server.log_in("200").await;
    let token = server.token("200").await;
    let modal = ok_fragment(&manager, "/shared-contacts/new").await;
    assert!(modal.contains(r#"<dialog class="modal" id="contact-dialog""#), "{modal}");
    assert!(modal.contains(r#"hx-post="/shared-contacts""#) && modal.contains(r#"value="another""#));

    let ann = [("first_name", "Ann"), ("last_name", "Lee"), ("work_phone", "+1 206 555 0100")];
    let saved = manager.post("/shared-contacts", &contact_form(&ann)).await;
    assert_eq!(saved.status(), StatusCode::OK);
    assert_eq!(
        triggers(&saved),
        json!({ "toast": { "message": "Saved Ann Lee." }, "close-modal": true, "contacts-changed": true })
    );

    let bob = [("first_name", "Bob"), ("last_name", "Stone"), ("email", "bob@stone.example"), ("save", "another")];
    let another = manager.post("/shared-contacts", &contact_form(&bob)).await;
    assert_eq!(another.status(), StatusCode::OK);
    assert_eq!(triggers(&another), json!({ "contacts-changed": true }), "the modal stays open");
    let form = another.text().await.unwrap();
    assert!(form.trim_start().starts_with(r#"<form id="contact-form""#), "the form alone: {form}");
    assert!(form.contains(r#"<p class="notice" role="status">Saved Bob Stone. Add the next one.</p>"#), "{form}");
    for field in ["first_name", "last_name", "email"] {
        assert_eq!(input_value(&form, field), "", "{field} is empty again");
    }
    assert_eq!(server.count(&token, SHARED_API).await, 2);

    // Edit Ann: the form carries the version the edit is made against.
    let ann_id = shared_rows(&manager, "q=ann").await.pop().expect("Ann's row");
    let edit = ok_fragment(&manager, &format!("/shared-contacts/{ann_id}/edit")).await;
    assert_eq!(input_value(&edit, "first_name"), "Ann");
    assert!(!edit.contains(r#"value="another""#), "no Save and add another when editing");
    let version = attribute_after(&edit, r#"name="version" value=""#);
    let changes = [("first_name", "Ann"), ("last_name", "Lee"), ("title", "Buyer"), ("version", &version)];
    let saved = manager.post(&format!("/shared-contacts/{ann_id}"), &contact_form(&changes)).await;
    assert_eq!(saved.status(), StatusCode::OK);
    assert_eq!(toast(&saved), "Saved Ann Lee.");
    let stale = [("first_name", "Annie"), ("last_name", "Lee"), ("version", &version)];
    let refused = manager.post(&format!("/shared-contacts/{ann_id}"), &contact_form(&stale)).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY, "an edit of an old version");
    let form = refused.text().await.unwrap();
    assert!(form.contains(r#"id="form-failure">Someone changed this contact while you were editing it."#), "{form}");
    assert_eq!(input_value(&form, "first_name"), "Annie", "what was typed is kept");
    let stored: Value = manager.get(&format!("{SHARED_API}/{ann_id}")).await.json().await.unwrap();
    assert_eq!((stored["first_name"].as_str(), stored["title"].as_str()), (Some("Ann"), Some("Buyer")), "{stored}");

    // Delete, with an Undo that restores; the trash lists it meanwhile.
    let deleted = manager.post(&format!("/shared-contacts/{ann_id}/delete"), &[]).await;
    assert_eq!(deleted.status(), StatusCode::OK);
    let undo = format!("/shared-contacts/{ann_id}/restore");
    assert_eq!(triggers(&deleted)["toast"], json!({ "message": "Deleted Ann Lee.", "undo": undo }));
    assert!(shared_rows(&manager, "").await.iter().all(|id| *id != ann_id), "gone from the list");
    let trash = manager.get("/shared-contacts/trash").await.text().await.unwrap();
    assert_eq!(attribute_values(&trash, "data-contact"), [ann_id.as_str()], "{trash}");
    assert!(trash.contains(&format!(r#"hx-post="{undo}""#)) && trash.contains("Ann Lee"));
    let restored = manager.post(&undo, &[]).await;
    assert_eq!(restored.status(), StatusCode::OK);
    assert_eq!(toast(&restored), "Restored Ann Lee.");
    assert!(shared_rows(&manager, "").await.contains(&ann_id));
    assert!(attribute_values(&ok_fragment(&manager, "/shared-contacts/trash/rows").await, "data-contact").is_empty());
}

async fn invalid_input_is_answered_next_to_its_field_and_writes_nothing(backend: Backend) {
    let server = spawn(backend).await;
    let manager = server.log_in("200").await;
    let token = server.token("200").await;
    let long_notes = "n".repeat(5000);
    let cases = [
        ("nothing to keep", vec![("title", "Buyer")], "first_name", "Give a name, a company, a number or an email"),
        ("a bad email", vec![("first_name", "Ann"), ("email", "not-an-email")], "email", "is not an email address"),
        ("long notes", vec![("first_name", "Ann"), ("notes", &long_notes)], "notes", "At most 4000 characters"),
    ];
    for (why, fields, field, message) in cases {
        let refused = manager.post("/shared-contacts", &contact_form(&fields)).await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY, "{why}");
        assert_eq!(refused.headers().get("hx-trigger"), None, "{why}: no toast, the modal stays");
        let form = refused.text().await.unwrap();
        assert!(form.trim_start().starts_with(r#"<form id="contact-form""#), "{why}: the form alone");
        assert!(form.contains(&format!(r#"aria-invalid="true" aria-describedby="error-{field}""#)), "{why}: {form}");
        let error = &form[form.find(&format!(r#"id="error-{field}">"#)).unwrap_or_else(|| panic!("{why}: {form}"))..];
        assert!(error[..error.find("</span>").unwrap()].contains(message), "{why}: {error}");
        assert_eq!(form.matches("aria-invalid").count(), 1, "{why}: only the bad field is marked");
        if field == "email" {
            assert_eq!(input_value(&form, "email"), "not-an-email", "what was typed is kept");
        }
    }
    assert_eq!(server.count(&token, SHARED_API).await, 0, "nothing was written");

    let ann = [("first_name", "Ann"), ("last_name", "Lee"), ("work_phone", "+1 206 555 0100")];
    assert_eq!(manager.post("/shared-contacts", &contact_form(&ann)).await.status(), StatusCode::OK);
    let same_number_written_otherwise = [("first_name", "ann"), ("last_name", "LEE"), ("work_phone", "(206) 555-0100")];
    let duplicate = manager.post("/shared-contacts", &contact_form(&same_number_written_otherwise)).await;
    assert_eq!(duplicate.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let form = duplicate.text().await.unwrap();
    assert!(
        form.contains(r#"id="form-failure">An identical contact (same names and numbers) already exists"#),
        "{form}"
    );
    assert_eq!(server.count(&token, SHARED_API).await, 1);
}

async fn a_change_needs_the_csrf_header(backend: Backend) {
    let server = spawn(backend).await;
    let manager = server.log_in("200").await;
    let token = server.token("200").await;
    let ann_id = add_contact(&server, &shared_book(), "Ann", "Lee", "").await;
    let new = contact_form(&[("first_name", "Eve")]);
    let changes = [
        ("/shared-contacts".to_string(), new.clone()),
        (format!("/shared-contacts/{ann_id}"), contact_form(&[("first_name", "Eve"), ("version", "1")])),
        (format!("/shared-contacts/{ann_id}/delete"), Vec::new()),
        ("/contacts/mine".to_string(), new),
        (format!("/contacts/{ann_id}/favorite"), vec![("on", "true")]),
    ];
    for (path, form) in &changes {
        for csrf in [None, Some("forged"), Some("")] {
            let refused = manager.post_with(path, form, csrf).await;
            assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{path} with {csrf:?}");
            assert!(refused.text().await.unwrap().contains("security token"), "{path}");
        }
    }
    assert_eq!(server.count(&token, SHARED_API).await, 1);
    let ann: Value = manager.get(&format!("{SHARED_API}/{ann_id}")).await.json().await.unwrap();
    assert_eq!((ann["first_name"].as_str(), ann["version"].as_i64()), (Some("Ann"), Some(1)), "{ann}");
    assert_eq!(server.count(&token, "/api/v1/domains/acme.example/users/200/contacts").await, 0);
    assert!(entries(&manager, "/contacts/rows?group=favorites").await.is_empty());
}

// --- A basic user ---------------------------------------------------------------------------

async fn a_basic_user_reads_shared_contacts_and_keeps_their_own(backend: Backend) {
    let server = spawn(backend).await;
    let shared_id = add_contact(&server, &shared_book(), "Ann", "Lee", "+1 206 555 0100").await;
    let manager = server.log_in("200").await;
    let basic = server.log_in("203").await;
    let token = server.token("200").await;

    let buttons =
        [r#"id="add-shared""#, r#"id="import-button""#, r#"id="trash-link""#, "icon-button edit", "icon-button delete"];
    let managers_page = manager.get("/shared-contacts").await.text().await.unwrap();
    assert!(buttons.iter().all(|button| managers_page.contains(button)), "the manager gets them: {managers_page}");
    let page = basic.get("/shared-contacts").await.text().await.unwrap();
    assert_eq!(attribute_values(&page, "data-contact"), [shared_id.as_str()], "the basic user reads them");
    for button in buttons {
        assert!(!page.contains(button), "no {button} for a basic user");
    }
    assert!(page.contains("You can read them"), "{page}");

    assert_eq!(basic.fragment("/shared-contacts/new").await.0, StatusCode::FORBIDDEN);
    assert_eq!(
        basic.fragment(&format!("/shared-contacts/{shared_id}/edit")).await.0,
        StatusCode::OK,
        "reading is fine"
    );
    let create = basic.post("/shared-contacts", &contact_form(&[("first_name", "Eve")])).await;
    assert_eq!(create.status(), StatusCode::FORBIDDEN);
    let message = create.text().await.unwrap();
    assert!(message.contains(">You may not change these contacts.</p>"), "{message}");
    let edit = basic.post(&format!("/shared-contacts/{shared_id}"), &contact_form(&[("first_name", "Eve")])).await;
    assert_eq!(edit.status(), StatusCode::FORBIDDEN);
    let delete = basic.post(&format!("/shared-contacts/{shared_id}/delete"), &[]).await;
    assert_eq!(delete.status(), StatusCode::FORBIDDEN);
    assert_eq!(shared_rows(&manager, "").await, [shared_id.as_str()], "nothing changed");
    assert_eq!(server.count(&token, SHARED_API).await, 1);

    // Their own contacts: add, edit, delete with Undo.
    assert!(ok_fragment(&basic, "/contacts/mine/new").await.contains(r#"hx-post="/contacts/mine""#));
    let own = [("first_name", "Carl"), ("last_name", "Own"), ("mobile_phone", "+1 206 555 0199")];
    let saved = basic.post("/contacts/mine", &contact_form(&own)).await;
    assert_eq!(saved.status(), StatusCode::OK);
    assert_eq!(toast(&saved), "Saved Carl Own.");
    let mine = entries(&basic, "/contacts/rows?group=mine").await;
    let [(kind, own_id)] = &mine[..] else { panic!("one own contact: {mine:?}") };
    assert_eq!(kind, "personal");
    let rows = ok_fragment(&basic, "/contacts/rows?group=mine").await;
    assert!(rows.contains(&format!(r#"hx-get="/contacts/mine/{own_id}/edit""#)), "{rows}");
    let edit = ok_fragment(&basic, &format!("/contacts/mine/{own_id}/edit")).await;
    let version = attribute_after(&edit, r#"name="version" value=""#);
    let changed = [("first_name", "Carla"), ("last_name", "Own"), ("version", &version)];
    let saved = basic.post(&format!("/contacts/mine/{own_id}"), &contact_form(&changed)).await;
    assert_eq!(toast(&saved), "Saved Carla Own.");
    let deleted = basic.post(&format!("/contacts/mine/{own_id}/delete"), &[]).await;
    assert_eq!(triggers(&deleted)["toast"]["undo"], format!("/contacts/mine/{own_id}/restore"));
    assert!(entries(&basic, "/contacts/rows?group=mine").await.is_empty());
    assert!(!manager.fragment("/shared-contacts/trash/rows").await.1.contains("Carla"), "not a shared one");
    let restored = basic.post(&format!("/contacts/mine/{own_id}/restore"), &[]).await;
    assert_eq!(toast(&restored), "Restored Carla Own.");

    // A star on a shared contact, for them alone.
    let star = basic.post(&format!("/contacts/{shared_id}/favorite"), &[("on", "true")]).await;
    assert_eq!(star.status(), StatusCode::OK);
    let button = star.text().await.unwrap();
    assert!(button.contains(r#"aria-pressed="true""#) && button.contains(r#"data-favorite="/contacts/"#), "{button}");
    assert_eq!(entries(&basic, "/contacts/rows?group=favorites").await, [("shared".to_string(), shared_id.clone())]);
    assert!(entries(&manager, "/contacts/rows?group=favorites").await.is_empty(), "favorites are per user");
    let unstar = basic.post(&format!("/contacts/{shared_id}/favorite"), &[("on", "false")]).await;
    assert!(unstar.text().await.unwrap().contains(r#"aria-pressed="false""#));
    assert!(entries(&basic, "/contacts/rows?group=favorites").await.is_empty());
}

async fn another_users_contacts_are_not_found(backend: Backend) {
    let server = spawn(backend).await;
    let sues = add_contact(&server, &personal_book("210"), "Private", "Person", "+1 206 555 0150").await;
    let ben = server.log_in("203").await;
    let manager = server.log_in("200").await;
    for browser in [&ben, &manager] {
        assert_eq!(browser.fragment(&format!("/contacts/mine/{sues}/edit")).await.0, StatusCode::NOT_FOUND);
        let edit = browser.post(&format!("/contacts/mine/{sues}"), &contact_form(&[("first_name", "Mine")])).await;
        assert_eq!(edit.status(), StatusCode::NOT_FOUND);
        assert!(edit.text().await.unwrap().contains("Not found"));
        let delete = browser.post(&format!("/contacts/mine/{sues}/delete"), &[]).await;
        assert_eq!(delete.status(), StatusCode::NOT_FOUND);
        let star = browser.post(&format!("/contacts/{sues}/favorite"), &[("on", "true")]).await;
        assert_eq!(star.status(), StatusCode::NOT_FOUND);
        assert!(entries(browser, "/contacts/rows?q=private").await.is_empty(), "not in their directory either");
    }
    let sue = server.log_in("210").await;
    assert_eq!(entries(&sue, "/contacts/rows?group=mine").await, [("personal".to_string(), sues.clone())]);
    let form = ok_fragment(&sue, &format!("/contacts/mine/{sues}/edit")).await;
    assert_eq!(input_value(&form, "first_name"), "Private", "unchanged");
    assert!(entries(&sue, "/contacts/rows?group=favorites").await.is_empty());
}

async fn hidden_shared_contacts_are_gone_for_basic_users(backend: Backend) {
    let server = spawn(backend).await;
    let shared_id = add_contact(&server, &shared_book(), "Ann", "Lee", "+1 206 555 0100").await;
    let basic = server.log_in("203").await;
    let before = basic.get("/contacts").await.text().await.unwrap();
    assert!(before.contains(r#"<a href="/shared-contacts">Shared Contacts</a>"#), "shown until hidden");
    assert!(before.contains(r#"<option value="shared""#) && before.contains(r#"data-kind="shared""#));

    let token = server.token("200").await;
    let hide = server
        .client
        .put(server.url("/api/v1/domains/acme.example/scopes/basic-user/settings"))
        .bearer_auth(&token)
        .json(&json!({ "PORTAL_SHOW_SHARED_CONTACTS": "no" }))
        .send()
        .await
        .unwrap();
    assert_eq!(hide.status(), StatusCode::OK);

    let page = basic.get("/contacts").await.text().await.unwrap();
    assert!(!page.contains("/shared-contacts"), "no Shared Contacts link: {page}");
    assert!(!page.contains(r#"<option value="shared""#), "no Shared group");
    assert!(!page.contains(r#"data-kind="shared""#) && !page.contains(&shared_id), "no shared rows");
    for path in ["/contacts/rows", "/contacts/rows?q=ann", "/contacts/rows?q=5550100", "/dock/rows", "/dock/rows?q=lee"]
    {
        assert!(entries(&basic, path).await.iter().all(|(kind, _)| kind != "shared"), "{path}");
    }
    assert_eq!(basic.get("/shared-contacts").await.status(), StatusCode::NOT_FOUND);
    assert_eq!(basic.fragment("/shared-contacts/rows").await.0, StatusCode::NOT_FOUND);
    assert_eq!(basic.fragment(&format!("/shared-contacts/{shared_id}/edit")).await.0, StatusCode::NOT_FOUND);
    let star = basic.post(&format!("/contacts/{shared_id}/favorite"), &[("on", "true")]).await;
    assert_eq!(star.status(), StatusCode::NOT_FOUND, "nothing to star");
    assert!(!ok_fragment(&basic, "/dock").await.contains(r#"<option value="shared""#));

    // Others in the domain still see them.
    let manager = server.log_in("200").await;
    let page = manager.get("/contacts").await.text().await.unwrap();
    assert!(page.contains(r#"<a href="/shared-contacts""#) && page.contains(r#"data-kind="shared""#));
    assert_eq!(manager.get("/shared-contacts").await.status(), StatusCode::OK);
}

async fn markup_in_a_contact_name_is_shown_as_text(backend: Backend) {
    let server = spawn(backend).await;
    let manager = server.log_in("200").await;
    let (first, last) = ("<script>alert(1)</script>", r#""><img src=x onerror=alert(1)>"#);
    let name = format!("{first} {last}");
    let markup = ["<script>alert", "<img src=x", "\"><img"];

    let saved = manager.post("/shared-contacts", &contact_form(&[("first_name", first), ("last_name", last)])).await;
    assert_eq!(saved.status(), StatusCode::OK);
    let header = saved.headers()["hx-trigger"].to_str().unwrap().to_string();
    assert!(!header.contains('<') && !header.contains('>'), "no markup in the header, even as JSON: {header}");
    assert_eq!(toast(&saved), format!("Saved {name}."), "the toast still says the name as typed");
    let id = shared_rows(&manager, "").await.pop().expect("the row");
    assert_eq!(manager.post(&format!("/contacts/{id}/favorite"), &[("on", "true")]).await.status(), StatusCode::OK);

    let places = [
        "/shared-contacts".to_string(),
        "/shared-contacts/rows".to_string(),
        format!("/shared-contacts/{id}/edit"),
        "/contacts".to_string(),
        "/contacts/rows?group=favorites".to_string(),
        "/dock".to_string(),
        "/dock/rows?q=alert".to_string(),
    ];
    for place in places {
        let html = ok_fragment(&manager, &place).await;
        for raw in markup {
            assert!(!html.contains(raw), "{place} shows `{raw}` unescaped");
        }
        assert_eq!(inline_code(&html), Vec::<String>::new(), "{place}");
        assert!(unescape(&html).contains(first) && unescape(&html).contains(last), "{place} shows the name as text");
    }
    let edit = ok_fragment(&manager, &format!("/shared-contacts/{id}/edit")).await;
    assert_eq!(unescape(&input_value(&edit, "last_name")), last, "the form gives the name back as typed");

    let deleted = manager.post(&format!("/shared-contacts/{id}/delete"), &[]).await;
    let header = deleted.headers()["hx-trigger"].to_str().unwrap().to_string();
    assert!(!header.contains('<') && !header.contains('>'), "{header}");
    assert_eq!(toast(&deleted), format!("Deleted {name}."));
    let trash = ok_fragment(&manager, "/shared-contacts/trash/rows").await;
    assert!(markup.iter().all(|raw| !trash.contains(raw)), "{trash}");
}

// --- Search, paging and the dock ------------------------------------------------------------

/// Adds 60 shared contacts, `Given00 Family00` to `Given59 Family59`, numbered `+1 206 555 0100` and up.
async fn add_sixty(server: &Server) -> Vec<String> {
    let mut ids = Vec::new();
    for n in 0..60 {
        let number = format!("+1 206 555 {:04}", 100 + n);
        ids.push(add_contact(server, &shared_book(), &format!("Given{n:02}"), &format!("Family{n:02}"), &number).await);
    }
    ids
}

/// Follows the "more" rows of a list from `path` to its end: the rows of each fragment.
async fn pages(browser: &Browser<'_>, path: &str, row_attribute: &str) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut next = Some(path.to_string());
    while let Some(path) = next.take() {
        let html = ok_fragment(browser, &path).await;
        pages.push(attribute_values(&html, row_attribute));
        if let Some(at) = html.find(r#"<tr class="more">"#) {
            next = Some(unescape(&attribute_after(&html[at..], r#"hx-get=""#)));
            assert!(pages.len() < 10, "the pages end");
        }
    }
    pages
}

async fn lists_are_searched_and_paged(backend: Backend) {
    let server = spawn(backend).await;
    let ids = add_sixty(&server).await;
    let manager = server.log_in("200").await;

    let shared = pages(&manager, "/shared-contacts/rows", "data-contact").await;
    assert_eq!(shared.iter().map(Vec::len).collect::<Vec<_>>(), [50, 10], "a page of 50, then the rest");
    let seen: BTreeSet<&String> = shared.iter().flatten().collect();
    assert_eq!(seen, ids.iter().collect(), "every contact once");
    let sorted = pages(&manager, "/shared-contacts/rows?sort=-name", "data-contact").await;
    assert_eq!(sorted.concat().first(), ids.last(), "Z–A starts with Family59");
    assert_eq!(sorted.concat().len(), 60);

    assert_eq!(shared_rows(&manager, "q=family07").await, [ids[7].clone()], "by name");
    assert_eq!(shared_rows(&manager, "q=GIVEN42").await, [ids[42].clone()], "whatever the case");
    assert_eq!(shared_rows(&manager, "q=2065550133").await, [ids[33].clone()], "by digits");
    assert_eq!(shared_rows(&manager, "q=%28206%29+555-0159").await, [ids[59].clone()], "as a number is written");
    let none = ok_fragment(&manager, "/shared-contacts/rows?q=nobody").await;
    assert!(none.contains("No shared contact matches your search."), "{none}");

    // The directory: the 60 shared contacts and the two other users, paged the same way.
    let directory = pages(&manager, "/contacts/rows", "data-entry").await;
    let coworkers = PEOPLE.len() - 1;
    assert_eq!(directory.iter().map(Vec::len).collect::<Vec<_>>(), [50, 60 + coworkers - 50]);
    assert_eq!(directory.iter().flatten().collect::<BTreeSet<_>>().len(), 60 + coworkers, "no repeats");
    assert_eq!(entries(&manager, "/contacts/rows?q=family07").await, [("shared".to_string(), ids[7].clone())]);
    assert_eq!(entries(&manager, "/contacts/rows?q=5550133").await, [("shared".to_string(), ids[33].clone())]);
    let sue = ok_fragment(&manager, "/contacts/rows?q=sue").await;
    assert_eq!(attribute_values(&sue, "data-kind"), ["coworker"], "{sue}");
    assert!(sue.contains("Sue Tester") && sue.contains(r#"<span class="kind">Ext.</span>"#), "{sue}");
    assert_eq!(sue.matches(">210<").count(), 1, "the extension is shown once: {sue}");
    let none = ok_fragment(&manager, "/contacts/rows?q=nobody").await;
    assert!(none.contains("Nobody matches “nobody”."), "{none}");
    let page = manager.get("/contacts?q=&group=").await.text().await.unwrap();
    assert_eq!(attribute_values(&page, "data-entry").len(), 50, "the page holds the first fragment");
}

async fn the_dock_filters_by_group_and_search(backend: Backend) {
    let server = spawn(backend).await;
    let ann = add_contact(&server, &shared_book(), "Ann", "Lee", "+1 206 555 0100").await;
    let own = add_contact(&server, &personal_book("203"), "Own", "Contact", "+1 206 555 0101").await;
    let ben = server.log_in("203").await;

    let dock = ok_fragment(&ben, "/dock").await;
    assert!(!dock.contains("<html") && dock.contains(r#"<tbody id="dock-rows">"#), "a fragment: {dock}");
    for option in ["all", "favorites", "shared", "mine", "coworkers", "department:Sales", "department:Support"] {
        assert!(dock.contains(&format!(r#"<option value="{option}""#)), "{option}: {dock}");
    }
    assert!(dock.contains(r#"<option value="site:South""#) && dock.contains(r#"<option value="all" selected>"#));
    assert!(!dock.contains(r#"class="optional""#), "the dock's rows are compact");
    let kinds = attribute_values(&dock, "data-kind");
    for kind in ["coworker", "shared", "personal"] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} in {kinds:?}");
    }

    let kind_of = |rows: Vec<(String, String)>| rows.into_iter().map(|(kind, _)| kind).collect::<Vec<_>>();
    assert_eq!(entries(&ben, "/dock/rows?group=shared&q=").await, [("shared".to_string(), ann.clone())]);
    assert_eq!(entries(&ben, "/dock/rows?group=mine&q=").await, [("personal".to_string(), own.clone())]);
    assert_eq!(entries(&ben, "/dock/rows?group=all&q=5550101").await, [("personal".to_string(), own.clone())]);
    // Ben's coworkers: Olivia in Sales at North, Sue in Support at South.
    let support = ok_fragment(&ben, "/dock/rows?group=department%3ASupport&q=").await;
    assert_eq!(attribute_values(&support, "data-kind"), ["coworker"], "{support}");
    assert!(support.contains("Sue Tester"), "{support}");
    assert_eq!(kind_of(entries(&ben, "/dock/rows?group=site%3ASouth&q=sue").await), ["coworker"]);
    let north = ok_fragment(&ben, "/dock/rows?group=site%3ANorth&q=").await;
    assert!(north.contains("Olivia Tester") && !north.contains("Sue Tester"), "{north}");
    assert!(entries(&ben, "/dock/rows?group=site%3ASouth&q=olivia").await.is_empty());
    assert!(entries(&ben, "/dock/rows?group=favorites&q=").await.is_empty());
    assert_eq!(ben.post(&format!("/contacts/{ann}/favorite"), &[("on", "true")]).await.status(), StatusCode::OK);
    assert_eq!(entries(&ben, "/dock/rows?group=favorites&q=").await, [("shared".to_string(), ann.clone())]);
    let nobody = ok_fragment(&ben, "/dock/rows?group=all&q=nobody").await;
    assert!(nobody.contains("Nobody matches “nobody”.") && nobody.contains(r#"colspan="2""#), "{nobody}");

    let (status, message) = ben.fragment("/dock/rows?group=bogus").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{message}");
    assert!(message.contains("is not a group"), "{message}");
}

/// The count a first page's answer tells the page (`HX-Trigger: list-count`), if any.
async fn told_count(browser: &Browser<'_>, path: &str) -> Option<String> {
    let response = browser.request(Method::GET, path).header("hx-request", "true").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.headers().get("hx-trigger")?;
    Some(triggers(&response)["list-count"]["text"].as_str().expect("the count's text").to_string())
}

async fn the_directory_is_sorted_counted_and_explains_empty_lists(backend: Backend) {
    let server = spawn(backend).await;
    let ids = add_sixty(&server).await;
    let ben = server.log_in("203").await;
    for starred in [&ids[30], &ids[5]] {
        let response = ben.post(&format!("/contacts/{starred}/favorite"), &[("on", "true")]).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(triggers(&response)["contacts-changed"], json!(true), "the lists read the star again");
    }
    let everyone = 60 + PEOPLE.len() - 1;

    // Favorites first: the two stars by name, then everyone else by name, paged by 50.
    let first = pages(&ben, "/contacts/rows?sort=favorites", "data-entry").await;
    assert_eq!(first.iter().map(Vec::len).collect::<Vec<_>>(), [50, everyone - 50]);
    let first = first.concat();
    assert_eq!(first[..3], [ids[5].clone(), ids[30].clone(), ids[0].clone()], "the stars, then A–Z");
    assert_eq!(first.iter().collect::<BTreeSet<_>>().len(), everyone, "everyone once");
    let by_name = pages(&ben, "/contacts/rows?sort=name", "data-entry").await.concat();
    let rest: Vec<&String> = by_name.iter().filter(|id| **id != ids[5] && **id != ids[30]).collect();
    assert_eq!(first[2..].iter().collect::<Vec<_>>(), rest, "the others in the name order");
    let searched = entries(&ben, "/contacts/rows?sort=favorites&q=family").await;
    let searched: Vec<&String> = searched.iter().take(3).map(|(_, id)| id).collect();
    assert_eq!(searched, [&ids[5], &ids[30], &ids[0]], "favorites first within a search too");
    let (status, message) = ben.fragment("/contacts/rows?sort=favorites&cursor=x.abc").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{message}");

    // Recently changed first; Z–A.
    let recent = pages(&ben, "/contacts/rows?sort=-updated", "data-entry").await.concat();
    assert_eq!(recent.first(), ids.last(), "the last one added first");
    assert_eq!(recent.len(), everyone);
    let backwards = pages(&ben, "/contacts/rows?sort=-name", "data-entry").await.concat();
    assert_eq!(backwards.iter().rev().collect::<Vec<_>>(), by_name.iter().collect::<Vec<_>>());

    // The count: on the page, and with each first page of rows, not with the next ones.
    let page = ben.get("/contacts").await.text().await.unwrap();
    assert!(page.contains(&format!(">{everyone} entries</p>")), "{page}");
    assert_eq!(told_count(&ben, "/contacts/rows?q=").await.as_deref(), Some(format!("{everyone} entries").as_str()));
    assert_eq!(told_count(&ben, "/contacts/rows?q=family0").await.as_deref(), Some("10 entries"));
    assert_eq!(told_count(&ben, "/contacts/rows?q=family07").await.as_deref(), Some("1 entry"));
    assert_eq!(told_count(&ben, "/contacts/rows?group=favorites").await.as_deref(), Some("2 entries"));
    assert_eq!(told_count(&ben, "/contacts/rows?q=nobody").await.as_deref(), Some("No entries"));
    let html = ok_fragment(&ben, "/contacts/rows").await;
    let next = unescape(&attribute_after(&html[html.find(r#"<tr class="more">"#).unwrap()..], r#"hx-get=""#));
    assert_eq!(told_count(&ben, &next).await, None, "a next page tells no count");

    // Each empty list says why.
    let none = ok_fragment(&ben, "/contacts/rows?q=nobody").await;
    assert!(none.contains("Nobody matches “nobody”."), "{none}");
    let sue = server.log_in("210").await;
    let no_favorites = ok_fragment(&sue, "/contacts/rows?group=favorites").await;
    assert!(no_favorites.contains("No favorites yet.") && no_favorites.contains("Star people"), "{no_favorites}");
    let nobody_in_group = ok_fragment(&sue, "/contacts/rows?group=department%3AMarketing").await;
    assert!(nobody_in_group.contains("Nobody in this group."), "{nobody_in_group}");

    // The page names its search landmark, explains the dots and offers the sorts.
    assert!(page.contains(r#"role="search" aria-label="Contacts""#), "{page}");
    assert!(page.contains(r#"class="legend""#) && page.contains("Available to chat"), "{page}");
    for sort in ["name", "-name", "-updated", "favorites"] {
        assert!(page.contains(&format!(r#"<option value="{sort}">"#)), "{sort}: {page}");
    }
    let dock = ok_fragment(&ben, "/dock").await;
    assert!(dock.contains(r#"role="search" aria-label="Contacts dock""#), "{dock}");
}

// --- Photos ---------------------------------------------------------------------------------

/// The smallest PNG's signature and header, then bytes of every value.
fn png() -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    bytes.extend(0..=255u8);
    bytes
}

/// The edit form shows the photo from a session-checked route, uploads it (raw, with
/// the CSRF header, as the page script sends it) and removes it; the form's version
/// follows, so saving afterwards works. Readers see it without the buttons; strangers
/// and requests without the token get nothing.
async fn a_contact_photo_is_shown_uploaded_and_removed(backend: Backend) {
    let server = spawn(backend).await;
    let manager = server.log_in("200").await;
    let ann_id = add_contact(&server, &shared_book(), "Ann", "Lee", "").await;
    let edit = ok_fragment(&manager, &format!("/shared-contacts/{ann_id}/edit")).await;
    assert!(edit.contains("No photo") && edit.contains("Upload photo") && !edit.contains("Remove photo"), "{edit}");
    let upload_path = format!("/shared-contacts/{ann_id}/photo");
    assert_eq!(attribute_after(&edit, "data-photo-upload=\""), upload_path);

    let upload = |csrf: Option<String>| {
        let mut request = manager.request(Method::POST, &upload_path).header("hx-request", "true");
        if let Some(token) = csrf {
            request = request.header("x-csrf-token", token);
        }
        request.header("content-type", "image/png").body(png()).send()
    };
    assert_eq!(upload(None).await.unwrap().status(), StatusCode::FORBIDDEN, "the CSRF header is needed");
    let uploaded = upload(Some(manager.csrf.clone())).await.unwrap();
    assert_eq!(uploaded.status(), StatusCode::OK);
    let panel = uploaded.text().await.unwrap();
    assert!(panel.contains(&format!(r#"<img src="/shared-contacts/{ann_id}/photo?v=2""#)), "{panel}");
    assert!(panel.contains("Remove photo"), "{panel}");
    assert!(panel.contains(r#"name="version" value="2" id="contact-version" hx-swap-oob="true""#), "{panel}");
    let image = manager.get(&upload_path).await;
    assert_eq!(image.status(), StatusCode::OK);
    assert_eq!(image.headers()["content-type"], "image/png");
    assert_eq!(image.headers()[X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(image.bytes().await.unwrap().to_vec(), png());
    let refused = manager
        .request(Method::POST, &upload_path)
        .header("x-csrf-token", manager.csrf.clone())
        .header("content-type", "text/plain")
        .body("not an image")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(refused.text().await.unwrap().contains("JPEG, PNG, GIF or WebP"));

    // The form carries the new version: saving after the upload is not refused as stale.
    let edit = ok_fragment(&manager, &format!("/shared-contacts/{ann_id}/edit")).await;
    assert_eq!(input_value(&edit, "version"), "2");
    let saved = manager
        .post(&format!("/shared-contacts/{ann_id}"), &contact_form(&[("first_name", "Anne"), ("version", "2")]))
        .await;
    assert_eq!(saved.status(), StatusCode::OK);

    // A basic user sees it, without the buttons; a stranger's session sees nothing.
    let ben = server.log_in("203").await;
    let seen = ok_fragment(&ben, &format!("/shared-contacts/{ann_id}/edit")).await;
    assert!(seen.contains("<img") && !seen.contains("Upload photo"), "{seen}");
    assert_eq!(ben.get(&upload_path).await.status(), StatusCode::OK);
    let theirs = add_contact(&server, &personal_book("210"), "Private", "Person", "").await;
    let png_bytes = png();
    server
        .app
        .set_contact_photo(&Caller::System, &personal_book("210"), theirs.parse().unwrap(), png_bytes, None)
        .await
        .unwrap();
    assert_eq!(ben.get(&format!("/contacts/mine/{theirs}/photo")).await.status(), StatusCode::NOT_FOUND);
    let anonymous = server.anonymous(Method::GET, &upload_path).send().await.unwrap();
    assert_ne!(anonymous.status(), StatusCode::OK, "no session, no photo");

    let removed = manager.post(&format!("/shared-contacts/{ann_id}/photo/delete"), &[]).await;
    assert_eq!(removed.status(), StatusCode::OK);
    assert!(toast(&removed).contains("Photo removed"));
    assert!(removed.text().await.unwrap().contains("No photo"));
    assert_eq!(manager.get(&upload_path).await.status(), StatusCode::NOT_FOUND);
}

/// A group of one's own contacts (as an address-book app stores it) is listed under "My
/// groups" with its members' names from the same book, and is no row of the directory.
async fn a_group_is_shown_as_a_group_with_its_members(backend: Backend) {
    let server = spawn(backend).await;
    let book = personal_book("203");
    let ann = add_contact(&server, &book, "Ann", "Lee", "206 555 0101").await;
    let raj = add_contact(&server, &book, "Raj", "Patel", "206 555 0102").await;
    let members = vec![format!("urn:uuid:{raj}"), format!("urn:uuid:{ann}"), "urn:uuid:gone-4f2a".to_string()];
    let input =
        ContactInput { first_name: "Book <Club>".into(), kind: ContactKind::Group, members, ..Default::default() };
    let group = server.app.create_contact(&Caller::System, &book, input).await.unwrap().id.to_string();

    let ben = server.log_in("203").await;
    let page = ok_fragment(&ben, "/contacts").await;
    let section = &page[page.find(r#"id="contact-groups""#).expect("a groups section")..];
    assert!(section.contains(&format!(r#"data-group="{group}""#)), "{section}");
    assert!(section.contains("Book &lt;Club&gt;") || section.contains("Book &#60;Club&#62;"), "escaped: {section}");
    assert!(section.contains("3 members"), "{section}");
    assert!(unescape(section).contains("Raj Patel, Ann Lee, and 1 other not in My contacts"), "{section}");
    assert!(section.contains(r#"aria-label="Group""#), "{section}");
    let rows = entries(&ben, "/contacts/rows?group=mine").await;
    let ids: Vec<&str> = rows.iter().map(|(_, id)| id.as_str()).collect();
    assert!(ids.contains(&ann.as_str()) && !ids.contains(&group.as_str()), "a group is no row: {rows:?}");

    // Someone else's page shows none of Ben's groups.
    let sue = server.log_in("210").await;
    assert!(!ok_fragment(&sue, "/contacts").await.contains("contact-groups"));
}
