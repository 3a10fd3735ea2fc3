//! Webhooks over real HTTP, on SQLite and PostgreSQL: a receiver on 127.0.0.1 (allowed
//! by the test's configuration) gets the changes it subscribed to, in order, signed;
//! a failing receiver is retried until nothing is lost, and one that keeps failing is
//! paused, listed so and resumed; private targets are refused at registration and again
//! at delivery by a server that does not allow them; basic users and other domains may
//! not manage webhooks.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{Backend, Person, Server};
use switchboard_app::webhooks::hmac_sha256;
use switchboard_app::{AppConfig, Caller, DomainInput, UserInput, WebhookConfig};
use switchboard_server::ServerConfig;
use uuid::Uuid;

const PEOPLE: [Person; 3] = [
    Person { ext: "200", scope: "office-manager", first_name: "Olivia", department: "", site: "" },
    Person { ext: "201", scope: "basic-user", first_name: "Ben", department: "", site: "" },
    Person { ext: "202", scope: "basic-user", first_name: "Hana", department: "", site: "" },
];
const HOOKS: &str = "/api/v1/domains/acme.example/webhooks";
const SHARED: &str = "/api/v1/domains/acme.example/shared-contacts";
const PRESENCE: &str = "/api/v1/domains/acme.example/users/202/presence";

/// What one path of the receiver got, and whether it answers 500 just now.
#[derive(Default)]
struct Inbox {
    deliveries: Vec<(String, Bytes)>,
    refused: usize,
    failing: bool,
}

type Inboxes = Arc<Mutex<std::collections::HashMap<String, Inbox>>>;

async fn receive(
    State(inboxes): State<Inboxes>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> AxumStatus {
    let mut inboxes = inboxes.lock().unwrap();
    let inbox = inboxes.entry(name).or_default();
    if inbox.failing {
        inbox.refused += 1;
        return AxumStatus::INTERNAL_SERVER_ERROR;
    }
    let signature = headers.get("switchboard-signature").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    inbox.deliveries.push((signature, body));
    AxumStatus::OK
}

/// A receiver on a free port of 127.0.0.1: its base URL and inboxes.
async fn receiver() -> (String, Inboxes) {
    let inboxes = Inboxes::default();
    let app = axum::Router::new().route("/{name}", axum::routing::post(receive)).with_state(inboxes.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, inboxes)
}

fn fast_retries() -> AppConfig {
    let webhooks = WebhookConfig {
        allow_private: true,
        retry_min: Duration::from_millis(50),
        retry_max: Duration::from_millis(200),
        pause_after_failures: 4,
        poll: Duration::from_millis(50),
        ..WebhookConfig::default()
    };
    AppConfig { webhooks, ..AppConfig::default() }
}

/// The verified changes an inbox received, in order: each delivery's HMAC checked
/// with the secret, its timestamp recent.
fn changes(inboxes: &Inboxes, name: &str, secret: &str) -> Vec<Value> {
    let inboxes = inboxes.lock().unwrap();
    let Some(inbox) = inboxes.get(name) else { return Vec::new() };
    let mut all = Vec::new();
    for (signature, body) in &inbox.deliveries {
        let (t, v1) = signature.split_once(",v1=").expect("t=…,v1=…");
        let t = t.strip_prefix("t=").unwrap();
        let age = chrono::Utc::now().timestamp() - t.parse::<i64>().unwrap();
        assert!((0..60).contains(&age), "a fresh timestamp: {signature}");
        let mut signed = format!("{t}.").into_bytes();
        signed.extend_from_slice(body);
        let expected: String = hmac_sha256(secret.as_bytes(), &signed).iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(v1, expected, "signed with the secret");
        let delivery: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(delivery["domain"], "acme.example");
        all.extend(delivery["changes"].as_array().unwrap().iter().cloned());
    }
    all
}

/// The first names of the upserted entries, in the order received.
fn names(changes: &[Value]) -> Vec<String> {
    changes.iter().filter_map(|c| c["entry"]["first_name"].as_str().map(str::to_string)).collect()
}

async fn wait_for(what: &str, mut done: impl AsyncFnMut() -> bool) {
    for _ in 0..200 {
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("waited 10 s for {what}");
}

async fn register(server: &Server, token: &str, url: &str, contacts: bool, presence: bool) -> (String, String) {
    let body = json!({ "url": url, "contacts": contacts, "presence": presence });
    let (status, created) = server.call(Method::POST, token, HOOKS, Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let secret = created["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"));
    (created["id"].as_str().unwrap().to_string(), secret)
}

async fn ok(server: &Server, token: &str, method: Method, path: &str, body: Option<Value>) -> Value {
    let (status, answer) = server.call(method, token, path, body).await;
    assert!(status.is_success(), "{path}: {status} {answer}");
    answer
}

async fn shared(server: &Server, token: &str, first_name: &str) {
    let body = json!({ "first_name": first_name, "last_name": "Hook", "work_phone": "+1 206 555 0100" });
    ok(server, token, Method::POST, SHARED, Some(body)).await;
}

async fn presence(server: &Server, token: &str, state: &str) {
    ok(server, token, Method::PUT, PRESENCE, Some(json!({ "state": state }))).await;
}

async fn deliveries_in_order_retried_paused_and_resumed(backend: Backend) {
    let server = support::spawn_with(backend, &PEOPLE, ServerConfig::default(), fast_retries()).await;
    let olivia = server.token("200").await;
    let (base, inboxes) = receiver().await;

    // Checked again at delivery: a server that allows no private target sends nothing.
    let (strict_id, _) = register(&server, &olivia, &format!("{base}/strict"), true, true).await;
    shared(&server, &olivia, "Before").await;
    let strict = server.beside().await;
    strict.app.deliver_due_webhooks(Uuid::now_v7()).await.unwrap();
    let hook = ok(&server, &olivia, Method::GET, &format!("{HOOKS}/{strict_id}"), None).await;
    assert!(hook["last_error"].as_str().unwrap().contains("public addresses only"), "{hook}");
    assert_eq!(hook["failures"], 1);
    assert!(changes(&inboxes, "strict", "").is_empty());
    ok(&server, &olivia, Method::DELETE, &format!("{HOOKS}/{strict_id}"), None).await;

    let (contacts_id, contacts_secret) = register(&server, &olivia, &format!("{base}/contacts"), true, false).await;
    let (presence_id, presence_secret) = register(&server, &olivia, &format!("{base}/presence"), false, true).await;
    tokio::spawn(server.app.clone().run_webhooks());
    shared(&server, &olivia, "One").await;
    presence(&server, &olivia, "busy").await;
    shared(&server, &olivia, "Two").await;
    presence(&server, &olivia, "available").await;
    // An entry is delivered as it is when read: a quick busy-then-available may come
    // as "available" alone, never in the wrong order.
    wait_for("both kinds", async || {
        names(&changes(&inboxes, "contacts", &contacts_secret)).len() >= 2
            && changes(&inboxes, "presence", &presence_secret).last().map(|c| c["entry"]["presence"]["state"].clone())
                == Some(json!("available"))
    })
    .await;
    // Only what was subscribed to, from registration on, in order.
    let contacts = changes(&inboxes, "contacts", &contacts_secret);
    assert_eq!(names(&contacts), ["One", "Two"]);
    assert!(contacts.iter().all(|c| c["entry"]["kind"] == "shared"), "{contacts:?}");
    let coworkers = changes(&inboxes, "presence", &presence_secret);
    assert!(coworkers.iter().all(|c| c["entry"]["kind"] == "coworker"), "{coworkers:?}");
    let mut states: Vec<Value> = coworkers.iter().map(|c| c["entry"]["presence"]["state"].clone()).collect();
    states.dedup();
    assert!(states == [json!("busy"), json!("available")] || states == [json!("available")], "{states:?}");

    // A receiver failing for a while: retried, then everything, in order.
    inboxes.lock().unwrap().entry("contacts".into()).or_default().failing = true;
    shared(&server, &olivia, "Three").await;
    shared(&server, &olivia, "Four").await;
    let path = format!("{HOOKS}/{contacts_id}");
    wait_for("two failed attempts", async || inboxes.lock().unwrap()["contacts"].refused >= 2).await;
    let hook = ok(&server, &olivia, Method::GET, &path, None).await;
    assert_eq!(hook["last_status"], 500, "{hook}");
    assert!(hook["failures"].as_i64().unwrap() >= 1, "{hook}");
    inboxes.lock().unwrap().get_mut("contacts").unwrap().failing = false;
    wait_for("the missed changes", async || names(&changes(&inboxes, "contacts", &contacts_secret)).len() >= 4).await;
    assert_eq!(names(&changes(&inboxes, "contacts", &contacts_secret)), ["One", "Two", "Three", "Four"]);
    wait_for("the failures forgotten", async || ok(&server, &olivia, Method::GET, &path, None).await["failures"] == 0)
        .await;

    // A receiver that keeps failing: paused after four attempts, listed so, resumed.
    inboxes.lock().unwrap().get_mut("presence").unwrap().failing = true;
    presence(&server, &olivia, "offline").await;
    let path = format!("{HOOKS}/{presence_id}");
    wait_for("the pause", async || ok(&server, &olivia, Method::GET, &path, None).await["paused"] == true).await;
    let list = ok(&server, &olivia, Method::GET, HOOKS, None).await;
    let listed = list["items"].as_array().unwrap().iter().find(|h| h["id"] == presence_id.as_str()).unwrap().clone();
    assert_eq!((listed["paused"].clone(), listed["failures"].clone()), (json!(true), json!(4)), "{listed}");
    assert!(listed.get("secret").is_none(), "secrets are never listed: {listed}");
    let refused = inboxes.lock().unwrap()["presence"].refused;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(inboxes.lock().unwrap()["presence"].refused, refused, "a paused webhook is left alone");
    // The manager is told on the page where webhooks are managed, and resumes it there.
    let browser = server.log_in("200").await;
    let page = browser.get("/phones").await.text().await.unwrap();
    assert!(page.contains("id=\"webhooks-paused\""), "{page}");
    assert!(page.contains(&format!("id=\"resume-webhook-{presence_id}\"")), "{page}");
    inboxes.lock().unwrap().get_mut("presence").unwrap().failing = false;
    let resumed = browser.post(&format!("/phones/webhooks/{presence_id}/resume"), &[]).await;
    assert_eq!(resumed.status(), StatusCode::OK);
    assert!(!resumed.text().await.unwrap().contains("webhooks-paused"));
    wait_for("the change missed while paused", async || {
        changes(&inboxes, "presence", &presence_secret).last().map(|c| c["entry"]["presence"]["state"].clone())
            == Some(json!("offline"))
    })
    .await;

    // A rotated secret signs what follows.
    let rotated =
        ok(&server, &olivia, Method::PATCH, &format!("{HOOKS}/{contacts_id}"), Some(json!({ "rotate_secret": true })))
            .await;
    let new_secret = rotated["secret"].as_str().unwrap().to_string();
    inboxes.lock().unwrap().get_mut("contacts").unwrap().deliveries.clear();
    shared(&server, &olivia, "Five").await;
    wait_for("a delivery signed anew", async || names(&changes(&inboxes, "contacts", &new_secret)) == ["Five"]).await;
}

async fn private_targets_and_permissions(backend: Backend) {
    let server = support::spawn(backend, &PEOPLE, ServerConfig::default()).await;
    let olivia = server.token("200").await;
    for url in [
        "http://127.0.0.1:9/hook",
        "http://10.1.2.3/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]:8080/hook",
        "http://localhost:8080/hook",
        "http://[::ffff:192.168.0.1]/hook",
        "ftp://example.com/hook",
    ] {
        let body = json!({ "url": url, "contacts": true });
        let (status, problem) = server.call(Method::POST, &olivia, HOOKS, Some(body)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{url}: {problem}");
        assert!(problem.to_string().contains("url"), "{url}: {problem}");
    }
    let body = json!({ "url": "https://hooks.example.com/x" });
    let (status, problem) = server.call(Method::POST, &olivia, HOOKS, Some(body)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "no kind chosen: {problem}");

    // The same in the portal: refused with the reason, added with the secret shown once.
    let browser = server.log_in("200").await;
    let page = browser.get("/phones").await.text().await.unwrap();
    assert!(page.contains("id=\"webhooks-panel\"") && page.contains("id=\"no-webhooks\""), "{page}");
    let refused = browser.post("/phones/webhooks", &[("url", "http://169.254.169.254/"), ("contacts", "on")]).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let text = refused.text().await.unwrap();
    assert!(text.contains("id=\"error-webhook-url\"") && text.contains("public addresses only"), "{text}");
    let form = [("url", "https://93.184.216.34/hook"), ("presence", "on")];
    let added = browser.post("/phones/webhooks", &form).await;
    assert_eq!(added.status(), StatusCode::OK);
    let panel = added.text().await.unwrap();
    let secret = support::attribute_after(&panel, "id=\"webhook-secret\" value=\"");
    assert!(secret.starts_with("whsec_"), "{panel}");
    let (_, listed) = browser.fragment("/phones/webhooks").await;
    assert!(listed.contains("Nothing sent yet") && !listed.contains(&secret), "never shown again: {listed}");
    let id = support::attribute_after(&listed, "hx-post=\"/phones/webhooks/").split('/').next().unwrap().to_string();
    let deleted = browser.post(&format!("/phones/webhooks/{id}/delete"), &[]).await;
    assert!(deleted.text().await.unwrap().contains("id=\"no-webhooks\""));

    let ben = server.token("201").await;
    let (status, _) = server.log_in("201").await.fragment("/phones/webhooks").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = server.call(Method::GET, &ben, HOOKS, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let body = json!({ "url": "https://hooks.example.com/x", "contacts": true });
    let (status, _) = server.call(Method::POST, &ben, HOOKS, Some(body)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

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
    let sam = login["token"].as_str().unwrap().to_string();
    let (status, _) = server.call(Method::GET, &sam, HOOKS, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = server.call(Method::DELETE, &sam, &format!("{HOOKS}/{}", Uuid::now_v7()), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

support::on_both_backends!(deliveries_in_order_retried_paused_and_resumed, private_targets_and_permissions);
