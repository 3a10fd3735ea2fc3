//! `/metrics` names no tenant: whatever paths, credentials and bodies the server was
//! sent, its labels hold route templates, methods, statuses and pool states only — no
//! domain or user names, no extensions, no ids, no secrets.

mod support;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{Backend, DOMAIN, Person, Server, on_both_backends};
use switchboard_app::Caller;
use switchboard_server::ServerConfig;

on_both_backends!(metrics_name_no_tenant);

/// Extensions that cannot be mistaken for a status code or a count.
const PEOPLE: [Person; 2] = [
    Person { ext: "7301", scope: "office-manager", first_name: "Quentin", department: "Finance", site: "Harbour" },
    Person { ext: "7302", scope: "basic-user", first_name: "Ulrike", department: "Legal", site: "Harbour" },
];

async fn send(server: &Server, token: &str, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    let mut request = server.client.request(method, server.url(path)).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The label sets of every sample line, e.g. `method="GET",route="/healthz",status="200"`.
fn label_sets(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| Some(&line[line.find('{')? + 1..line.rfind('}')?]))
        .collect()
}

async fn metrics_name_no_tenant(backend: Backend) {
    let server = support::spawn(backend, &PEOPLE, ServerConfig::default()).await;
    let token = server.token("7301").await;
    let base = format!("/api/v1/domains/{DOMAIN}");
    let (status, domain) = send(&server, &token, Method::GET, &base, None).await;
    assert_eq!(status, StatusCode::OK, "{domain}");
    let domain_id = server.app.get_domain(&Caller::System, DOMAIN).await.unwrap().domain.id.to_string();
    let (status, user) = send(&server, &token, Method::GET, &format!("{base}/users/7302"), None).await;
    assert_eq!(status, StatusCode::OK, "{user}");
    let contact = json!({ "first_name": "Zebulon", "last_name": "Quixley", "work_phone": "+1 206 555 0199" });
    let (status, created) =
        send(&server, &token, Method::POST, &format!("{base}/shared-contacts"), Some(contact)).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, device) =
        send(&server, &token, Method::POST, &format!("{base}/devices"), Some(json!({ "name": "Lobby" }))).await;
    assert_eq!(status, StatusCode::CREATED, "{device}");
    let device_token = device["token"].as_str().unwrap().to_string();

    let paths = [
        format!("{base}/shared-contacts/{}", created["id"].as_str().unwrap()),
        format!("{base}/shared-contacts?q=Quixley"),
        format!("{base}/users/7302/directory?q=Ulrike"),
        format!("{base}/users/7302/contacts"),
        format!("{base}/devices/{}", device["device"]["id"].as_str().unwrap()),
        format!("{base}/no-such-thing"),
        "/api/v1/domains/elsewhere.example/users".to_string(),
        format!("/phonebook/{device_token}/yealink.xml"),
        "/phonebook/sbd_wrongwrongwrong/yealink.xml".to_string(),
        format!("/{DOMAIN}/7302"),
    ];
    for path in &paths {
        send(&server, &token, Method::GET, path, None).await;
    }
    let wrong = json!({ "username": format!("7302@{DOMAIN}"), "password": "not the password" });
    let refused = server.client.post(server.url("/api/v1/session")).json(&wrong).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let browser = server.log_in("7301").await;
    assert_eq!(browser.fragment("/users/7302/edit").await.0, StatusCode::OK);

    let text = server.client.get(server.url("/metrics")).send().await.unwrap().text().await.unwrap();
    let labels = label_sets(&text);
    assert!(
        labels.contains(&r#"method="GET",route="/api/v1/domains/{domain}/shared-contacts/{id}",status="200""#),
        "requests are counted by route template:\n{text}"
    );
    assert!(labels.iter().any(|l| l.contains(r#"route="/phonebook/{token}/{file}""#)), "{text}");
    let secrets = [
        DOMAIN.to_string(),
        "acme".into(),
        "elsewhere".into(),
        "7301".into(),
        "7302".into(),
        "Quentin".into(),
        "Ulrike".into(),
        "Tester".into(),
        "Harbour".into(),
        "Quixley".into(),
        "sbd_".into(),
        device_token,
        domain_id,
        user["id"].as_str().unwrap().into(),
        created["id"].as_str().unwrap().into(),
        device["device"]["id"].as_str().unwrap().into(),
    ];
    for label in &labels {
        for secret in &secrets {
            assert!(!label.contains(secret.as_str()), "`{secret}` in the metrics label set `{label}`");
        }
    }
    println!("{} label sets checked", labels.len());
}
