//! Contacts' photos over real HTTP, on SQLite and PostgreSQL: reading (with `ETag` and
//! 304), setting and removing them as the contact's readers and editors may, the limits
//! (413, 415), a person's own contacts' photos kept from everyone else, and photos going
//! through an import and back out of an export byte for byte.

mod support;

use base64::Engine as _;
use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{Backend, Person, Server, on_both_backends, spawn};
use switchboard_app::{Caller, DomainInput, UserInput};

const SHARED: &str = "/api/v1/domains/acme.example/shared-contacts";
const BASIC: Person = Person { ext: "200", scope: "basic-user", first_name: "Bea", department: "", site: "" };
const OTHER: Person = Person { ext: "201", scope: "basic-user", first_name: "Otto", department: "", site: "" };
const MANAGER: Person = Person { ext: "300", scope: "office-manager", first_name: "Olga", department: "", site: "" };

/// A PNG's signature and header, then bytes of every value.
fn png(seed: u8) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    bytes.extend((0..=255u8).map(|b| b.wrapping_mul(seed)));
    bytes
}

async fn send(
    server: &Server,
    token: &str,
    method: Method,
    path: &str,
    body: Option<(&str, Vec<u8>)>,
) -> reqwest::Response {
    let mut request = server.client.request(method, server.url(path)).bearer_auth(token);
    if let Some((content_type, bytes)) = body {
        request = request.header(CONTENT_TYPE, content_type).body(bytes);
    }
    request.send().await.unwrap()
}

async fn create(server: &Server, token: &str, book: &str, first_name: &str) -> String {
    let reply = server
        .client
        .post(server.url(book))
        .bearer_auth(token)
        .json(&json!({ "first_name": first_name }))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::CREATED);
    let contact: Value = reply.json().await.unwrap();
    contact["id"].as_str().unwrap().to_string()
}

async fn detail(reply: reqwest::Response) -> String {
    let problem: Value = reply.json().await.unwrap();
    problem["detail"].as_str().unwrap_or_default().to_string()
}

async fn shared_photos(backend: Backend) {
    let server = spawn(backend, &[BASIC, MANAGER], Default::default()).await;
    let (basic, manager) = (server.token("200").await, server.token("300").await);
    let id = create(&server, &manager, SHARED, "Pat").await;
    let photo = format!("{SHARED}/{id}/photo");
    assert_eq!(send(&server, &basic, Method::GET, &photo, None).await.status(), StatusCode::NOT_FOUND, "none yet");

    // Any declared type: the bytes decide.
    let reply = send(&server, &manager, Method::PUT, &photo, Some(("application/octet-stream", png(3)))).await;
    assert_eq!(reply.status(), StatusCode::OK);
    let contact: Value = reply.json().await.unwrap();
    assert_eq!((contact["has_photo"].as_bool(), contact["version"].as_i64()), (Some(true), Some(2)));

    let reply = send(&server, &basic, Method::GET, &photo, None).await;
    assert_eq!(reply.status(), StatusCode::OK, "readers of the contact read its photo");
    let headers = reply.headers().clone();
    assert_eq!(headers[CONTENT_TYPE], "image/png");
    assert!(headers[CACHE_CONTROL].to_str().unwrap().starts_with("private"));
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(reply.bytes().await.unwrap().to_vec(), png(3));
    let tag = headers[ETAG].to_str().unwrap().to_string();
    let again = server.client.get(server.url(&photo)).bearer_auth(&basic).header(IF_NONE_MATCH, &tag).send().await;
    let again = again.unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert!(again.bytes().await.unwrap().is_empty());
    let listed: Value = send(&server, &basic, Method::GET, SHARED, None).await.json().await.unwrap();
    assert_eq!(listed["items"][0]["has_photo"], true);

    // Editors only; and what is not a photo is refused, saying why.
    let refused = send(&server, &basic, Method::PUT, &photo, Some(("image/png", png(4)))).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(send(&server, &basic, Method::DELETE, &photo, None).await.status(), StatusCode::FORBIDDEN);
    let mut large = png(5);
    large.resize(256 * 1024 + 1, 7);
    let too_large = send(&server, &manager, Method::PUT, &photo, Some(("image/png", large))).await;
    assert_eq!(too_large.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(detail(too_large).await.contains("256 KiB"));
    let mut largest = png(5);
    largest.resize(256 * 1024, 7);
    let fits = send(&server, &manager, Method::PUT, &photo, Some(("image/png", largest.clone()))).await;
    assert_eq!(fits.status(), StatusCode::OK, "256 KiB exactly goes through the body limits");
    let svg = send(&server, &manager, Method::PUT, &photo, Some(("image/svg+xml", b"<svg/>".to_vec()))).await;
    assert_eq!(svg.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(detail(svg).await, "the photo must be a JPEG, PNG, GIF or WebP image");
    let lying = send(&server, &manager, Method::PUT, &photo, Some(("image/jpeg", png(6)))).await;
    assert_eq!(lying.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(detail(lying).await, "the photo is declared as image/jpeg but is a PNG image");
    let empty = send(&server, &manager, Method::PUT, &photo, Some(("image/png", Vec::new()))).await;
    assert_eq!(empty.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let kept = send(&server, &basic, Method::GET, &photo, None).await;
    assert_eq!(kept.bytes().await.unwrap().to_vec(), largest, "refusals changed nothing");

    // Each change is audited, without the bytes.
    let audit = send(&server, &manager, Method::GET, "/api/v1/domains/acme.example/audit", None).await;
    let audit: Value = audit.json().await.unwrap();
    let entries: Vec<&Value> =
        audit["items"].as_array().unwrap().iter().filter(|e| e["action"] == "contact.photo_set").collect();
    assert_eq!(entries.len(), 2, "{audit}");
    assert_eq!(entries[0]["details"], json!({ "book": "shared", "bytes": 256 * 1024, "media_type": "image/png" }));

    let removed = send(&server, &manager, Method::DELETE, &photo, None).await;
    assert_eq!(removed.status(), StatusCode::OK);
    assert_eq!(removed.json::<Value>().await.unwrap()["has_photo"], false);
    assert_eq!(send(&server, &basic, Method::GET, &photo, None).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(send(&server, &manager, Method::DELETE, &photo, None).await.status(), StatusCode::NOT_FOUND);
}

async fn own_photos_are_theirs_alone(backend: Backend) {
    let server = spawn(backend, &[BASIC, OTHER, MANAGER], Default::default()).await;
    let (basic, other, manager) = (server.token("200").await, server.token("201").await, server.token("300").await);
    let book = "/api/v1/domains/acme.example/users/200/contacts";
    let id = create(&server, &basic, book, "Mum").await;
    let photo = format!("{book}/{id}/photo");
    let set = send(&server, &basic, Method::PUT, &photo, Some(("image/png", png(9)))).await;
    assert_eq!(set.status(), StatusCode::OK);
    assert_eq!(send(&server, &basic, Method::GET, &photo, None).await.bytes().await.unwrap().to_vec(), png(9));
    for stranger in [&other, &manager] {
        assert_eq!(send(&server, stranger, Method::GET, &photo, None).await.status(), StatusCode::NOT_FOUND);
        let put = send(&server, stranger, Method::PUT, &photo, Some(("image/png", png(1)))).await;
        assert_eq!(put.status(), StatusCode::NOT_FOUND);
        assert_eq!(send(&server, stranger, Method::DELETE, &photo, None).await.status(), StatusCode::NOT_FOUND);
    }
    // Another domain's people do not see this one's shared photos either.
    let shared_id = create(&server, &manager, SHARED, "Pat").await;
    let shared_photo = format!("{SHARED}/{shared_id}/photo");
    send(&server, &manager, Method::PUT, &shared_photo, Some(("image/png", png(2)))).await;
    let elsewhere = DomainInput { name: "other.example".into(), ..Default::default() };
    server.app.create_domain(&Caller::System, elsewhere).await.unwrap();
    let boss = UserInput {
        extension: "100".into(),
        scope: Some("office-manager".into()),
        password: Some(support::PASSWORD.into()),
        ..Default::default()
    };
    server.app.create_user(&Caller::System, "other.example", boss).await.unwrap();
    let body = json!({ "username": "100@other.example", "password": support::PASSWORD });
    let login: Value =
        server.client.post(server.url("/api/v1/session")).json(&body).send().await.unwrap().json().await.unwrap();
    let outsider = login["token"].as_str().unwrap();
    assert_eq!(send(&server, outsider, Method::GET, &shared_photo, None).await.status(), StatusCode::NOT_FOUND);
    let put = send(&server, outsider, Method::PUT, &shared_photo, Some(("image/png", png(1)))).await;
    assert_eq!(put.status(), StatusCode::NOT_FOUND);
}

/// A vCard's photo is stored by an import and comes back out of an export unchanged; an
/// oversized one is a warning, and its contact is imported without it.
async fn photos_through_import_and_export(backend: Backend) {
    let server = spawn(backend, &[MANAGER], Default::default()).await;
    let manager = server.token("300").await;
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut huge = png(1);
    huge.resize(300 * 1024, 1);
    let file = format!(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Lee;Ann\r\nPHOTO;ENCODING=b;TYPE=PNG:{}\r\nEND:VCARD\r\n\
         BEGIN:VCARD\r\nVERSION:4.0\r\nN:Roe;Bo\r\nPHOTO:data:image/png;base64,{}\r\nEND:VCARD\r\n\
         BEGIN:VCARD\r\nVERSION:3.0\r\nN:Big;Al\r\nPHOTO;ENCODING=b;TYPE=PNG:{}\r\nEND:VCARD\r\n",
        b64(&png(3)),
        b64(&png(5)),
        b64(&huge)
    );
    let reply = send(
        &server,
        &manager,
        Method::POST,
        &format!("{SHARED}/import?mode=add"),
        Some(("text/vcard", file.into_bytes())),
    )
    .await;
    let report: Value = reply.json().await.unwrap();
    assert_eq!((report["created"].as_u64(), report["warned"].as_u64()), (Some(3), Some(1)), "{report}");
    assert!(report["warnings"][0]["message"].as_str().unwrap().contains("256 KiB"), "{report}");

    let export = send(&server, &manager, Method::GET, &format!("{SHARED}/export?format=vcard4"), None).await;
    let exported = export.bytes().await.unwrap();
    let rows: Vec<_> =
        switchboard_formats::read(&exported[..], Default::default()).unwrap().map(Result::unwrap).collect();
    let photo_of = |last: &str| {
        let row = rows.iter().find(|row| row.contact.last_name == last).unwrap();
        row.photo.clone().map(|photo| photo.unwrap().bytes)
    };
    assert_eq!(photo_of("Lee"), Some(png(3)));
    assert_eq!(photo_of("Roe"), Some(png(5)));
    assert_eq!(photo_of("Big"), None);
    let csv = send(&server, &manager, Method::GET, &format!("{SHARED}/export?format=google"), None).await;
    assert!(csv.status().is_success(), "CSV has no photos, and exports without them");
}

on_both_backends!(shared_photos, own_photos_are_theirs_alone, photos_through_import_and_export);
