//! App passwords over real HTTP, on SQLite and PostgreSQL: made by the user through the
//! REST API (the secret once) and the account page (with the CardDAV address, a QR code
//! and an Apple profile holding the account), listed with their last use, revoked by
//! the user or a manager (the app is refused at once); bad names answer 422, managers may
//! not make one for someone else (403), coworkers and other domains find nothing (404).

mod support;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::header::LOCATION;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{Backend, Person, Server};
use switchboard_app::{AppError, Caller, DomainInput, UserInput};
use switchboard_server::ServerConfig;

const PEOPLE: [Person; 3] = [
    Person { ext: "200", scope: "office-manager", first_name: "Olivia", department: "", site: "" },
    Person { ext: "201", scope: "basic-user", first_name: "Ben", department: "", site: "" },
    Person { ext: "202", scope: "basic-user", first_name: "Hana", department: "", site: "" },
];
const BENS: &str = "/api/v1/domains/acme.example/users/201/app-passwords";

support::on_both_backends!(rest_api, account_page);

/// Whether the address-book app's login (what the CardDAV server calls) takes `secret` for Ben.
async fn signs_in(server: &Server, secret: &str) -> bool {
    match server.app.basic_login("201@acme.example", secret, None).await {
        Ok((user, _)) => user.extension.to_string() == "201",
        Err(AppError::Unauthorized(_)) => false,
        Err(other) => panic!("{other:?}"),
    }
}

/// A token of an office manager of another domain.
async fn other_domains_manager(server: &Server) -> String {
    let other = DomainInput { name: "other.example".into(), ..Default::default() };
    server.app.create_domain(&Caller::System, other).await.unwrap();
    let manager = UserInput {
        extension: "300".into(),
        first_name: "Sam".into(),
        scope: Some("office-manager".into()),
        password: Some(support::PASSWORD.into()),
        ..Default::default()
    };
    server.app.create_user(&Caller::System, "other.example", manager).await.unwrap();
    let body = json!({ "username": "300@other.example", "password": support::PASSWORD });
    let (_, login) = server.call(Method::POST, "", "/api/v1/session", Some(body)).await;
    login["token"].as_str().unwrap().to_string()
}

async fn rest_api(backend: Backend) {
    let server = support::spawn(backend, &PEOPLE, ServerConfig::default()).await;
    let ben = server.token("201").await;
    let response = server.client.post(server.url(BENS)).bearer_auth(&ben).json(&json!({ "name": " iPhone " }));
    let response = response.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()[LOCATION].to_str().unwrap().to_string();
    let created: Value = response.json().await.unwrap();
    let (id, secret) = (created["id"].as_str().unwrap(), created["secret"].as_str().unwrap().to_string());
    assert_eq!(location, format!("{BENS}/{id}"));
    assert_eq!((created["name"].as_str(), created["last_used_at"].is_null()), (Some("iPhone"), true));
    assert!(secret.len() == 19 && secret.matches('-').count() == 3, "{secret}");
    assert!(signs_in(&server, &secret).await);

    // Listed with its last use, never with its secret.
    let (status, list) = server.call(Method::GET, &ben, BENS, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert!(list["items"][0]["last_used_at"].is_string(), "{list}");
    assert!(!list.to_string().contains(&secret) && list["items"][0].get("secret").is_none());

    // Bad names: 422 naming the field; nothing made.
    for body in [json!({ "name": "" }), json!({ "name": "x".repeat(101) }), json!({ "name": "a\nb" })] {
        let (status, problem) = server.call(Method::POST, &ben, BENS, Some(body.clone())).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {problem}");
        assert!(problem.to_string().contains("\"name\""), "{problem}");
    }
    let (status, _) = server.call(Method::POST, &ben, BENS, Some(json!({}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(server.count(&ben, BENS).await, 1);

    // The manager lists and revokes, but may not make one for Ben.
    let olivia = server.token("200").await;
    assert_eq!(server.count(&olivia, BENS).await, 1);
    let (status, problem) = server.call(Method::POST, &olivia, BENS, Some(json!({ "name": "Mine" }))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    // A coworker and another domain find nothing.
    let hana = server.token("202").await;
    let sam = other_domains_manager(&server).await;
    for token in [&hana, &sam] {
        let (status, _) = server.call(Method::GET, token, BENS, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = server.call(Method::DELETE, token, &location, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = server.call(Method::POST, token, BENS, Some(json!({ "name": "x" }))).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    let (status, _) =
        server.call(Method::GET, &sam, "/api/v1/domains/other.example/users/201/app-passwords", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "no such user there");
    assert!(signs_in(&server, &secret).await, "still there");

    let (status, _) = server.call(Method::DELETE, &olivia, &location, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(!signs_in(&server, &secret).await, "refused at once");
    let (status, _) = server.call(Method::DELETE, &ben, &location, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(server.count(&ben, BENS).await, 0);

    // At most 20.
    for n in 0..20 {
        let (status, _) = server.call(Method::POST, &ben, BENS, Some(json!({ "name": format!("Device {n}") }))).await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let (status, problem) = server.call(Method::POST, &ben, BENS, Some(json!({ "name": "One more" }))).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(problem["detail"].as_str().unwrap().contains("20 app passwords"), "{problem}");
}

async fn account_page(backend: Backend) {
    let server = support::spawn(backend, &PEOPLE, ServerConfig::default()).await;
    let browser = server.log_in("201").await;
    let page = browser.get("/account").await.text().await.unwrap();
    let dav_url = format!("{}/dav/", server.base);
    assert!(page.contains("Address book apps (CardDAV)"), "{page}");
    assert!(page.contains(&format!("<code id=\"carddav-url\">{dav_url}</code>")), "{page}");
    assert!(page.contains("<code id=\"carddav-username\">201@acme.example</code>"), "{page}");
    let qr = support::attribute_after(&page, "id=\"carddav-qr\" class=\"qr-code\" src=\"");
    let svg = STANDARD.decode(qr.strip_prefix("data:image/svg+xml;base64,").unwrap()).unwrap();
    assert!(String::from_utf8(svg).unwrap().starts_with("<?xml"), "an SVG");
    assert!(page.contains("id=\"no-app-passwords\""), "{page}");

    // Made: the secret shown once, with the profile; it signs Ben in.
    let made = browser.post("/account/app-passwords", &[("name", "Ben's iPhone")]).await;
    assert_eq!(made.status(), StatusCode::OK);
    assert_eq!(support::toast(&made), "Made the app password for Ben's iPhone");
    let panel = made.text().await.unwrap();
    let secret = support::attribute_after(&panel, "id=\"app-password-secret\" class=\"secret\" value=\"");
    assert!(signs_in(&server, &secret).await, "{panel}");
    assert!(panel.contains("data-copy=\"app-password-secret\""));
    let profile = support::attribute_after(&panel, "id=\"app-password-profile\" href=\"");
    let profile = STANDARD.decode(profile.strip_prefix("data:application/x-apple-aspen-config;base64,").unwrap());
    let profile = String::from_utf8(profile.unwrap()).unwrap();
    let port = server.base.rsplit(':').next().unwrap();
    for expected in [
        "<key>PayloadType</key><string>com.apple.carddav.account</string>".to_string(),
        "<key>CardDAVHostName</key><string>127.0.0.1</string>".into(),
        format!("<key>CardDAVPort</key><integer>{port}</integer>"),
        "<key>CardDAVUseSSL</key><false/>".into(),
        "<key>CardDAVUsername</key><string>201@acme.example</string>".into(),
        format!("<key>CardDAVPassword</key><string>{secret}</string>"),
        "<key>CardDAVPrincipalURL</key><string>/dav/</string>".into(),
        "<key>PayloadType</key><string>Configuration</string>".into(),
        "app password &quot;Ben's iPhone&quot;".into(),
    ] {
        assert!(profile.contains(&expected), "{expected} in {profile}");
    }

    // Listed with its last use; never shown again.
    let (status, listed) = browser.fragment("/account/app-passwords").await;
    assert_eq!(status, StatusCode::OK);
    assert!(listed.contains("Ben&#39;s iPhone") || listed.contains("Ben&#x27;s iPhone"), "{listed}");
    assert!(!listed.contains(&secret) && !listed.contains("Never"), "used once already: {listed}");

    // A bad name: the form again with the message; nothing made.
    let refused = browser.post("/account/app-passwords", &[("name", "   ")]).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let text = refused.text().await.unwrap();
    assert!(text.contains("id=\"error-app-password-name\"") && text.contains("Give the app password a name"), "{text}");
    // Without the page's CSRF token nothing happens.
    let forged = browser.post_with("/account/app-passwords", &[("name", "Forged")], None).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let id =
        support::attribute_after(&listed, "hx-post=\"/account/app-passwords/").split('/').next().unwrap().to_string();
    let revoke = format!("/account/app-passwords/{id}/revoke");
    assert_eq!(browser.post_with(&revoke, &[], Some("wrong")).await.status(), StatusCode::FORBIDDEN);
    assert!(signs_in(&server, &secret).await);
    assert_eq!(server.count(&server.token("201").await, BENS).await, 1);

    // Revoked: gone from the list, and refused at once.
    let revoked = browser.post(&revoke, &[]).await;
    assert_eq!(revoked.status(), StatusCode::OK);
    assert!(revoked.text().await.unwrap().contains("id=\"no-app-passwords\""));
    assert!(!signs_in(&server, &secret).await);
    // Someone else's id is not found.
    let again = browser.post(&revoke, &[]).await;
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
}
