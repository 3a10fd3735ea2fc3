//! What logging in may believe, over real HTTP on SQLite and PostgreSQL: the client's
//! address behind trusted proxies only, `next` pages of this site only, password checks
//! counted before they run and bounded, and each kind of credential throttled apart.

mod support;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use reqwest::header::{AUTHORIZATION, COOKIE, LOCATION};
use reqwest::{StatusCode, redirect};
use serde_json::json;
use support::{Backend, DOMAIN, PASSWORD, on_both_backends};
use switchboard_app::{App, AppConfig, Caller, DeviceInput, DomainInput, UserInput};
use switchboard_server::ServerConfig;
use switchboard_store::{PostgresStore, SqliteStore, Store};

on_both_backends!(
    forwarded_addresses_are_believed_from_trusted_proxies_only,
    a_spoofed_forwarded_address_does_not_escape_the_login_throttle,
    login_never_redirects_off_site,
    parallel_wrong_passwords_are_checked_at_most_the_limit,
    a_phone_with_a_wrong_secret_does_not_lock_people_out,
    changing_ones_own_password_needs_it_and_ends_the_other_sessions,
    a_password_reset_ends_every_session,
    signing_out_everywhere_ends_sessions_and_api_tokens,
    the_account_page_changes_the_password_and_signs_out_everywhere,
);

/// The trusted proxy's address in these tests; the server listens on 127.0.0.1, and
/// Linux answers every 127/8 address on the loopback interface.
const PROXY: &str = "127.0.0.2";
/// A peer that is no trusted proxy.
const STRANGER: &str = "127.0.0.3";

struct Server {
    base: String,
    app: App,
    _database_dir: tempfile::TempDir,
    _stop: tokio::sync::oneshot::Sender<()>,
}

/// A server with [`DOMAIN`] and users 200–209 (basic users, [`PASSWORD`]).
async fn spawn(backend: Backend, app_config: AppConfig, config: ServerConfig) -> Server {
    let database_dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = match backend {
        Backend::Sqlite => {
            let url = format!("sqlite://{}", database_dir.path().join("trust.db").display());
            Arc::new(SqliteStore::open(&url).await.unwrap())
        }
        Backend::Postgres => {
            let url = switchboard_store::testing::fresh_postgres_database().await;
            Arc::new(PostgresStore::connect(&url).await.unwrap())
        }
    };
    let app = App::new(store, app_config);
    app.create_domain(&Caller::System, DomainInput { name: DOMAIN.into(), ..Default::default() }).await.unwrap();
    for ext in 200..210 {
        let user = UserInput {
            extension: ext.to_string(),
            first_name: format!("User{ext}"),
            last_name: "Tester".into(),
            scope: Some("basic-user".into()),
            password: Some(PASSWORD.into()),
            ..Default::default()
        };
        app.create_user(&Caller::System, DOMAIN, user).await.unwrap();
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(switchboard_server::serve(listener, app.clone(), config, async {
        let _ = stopped.await;
    }));
    Server { base, app, _database_dir: database_dir, _stop: stop }
}

/// An HTTP client whose connections come from `from` (a loopback address).
fn client_from(from: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(redirect::Policy::none())
        .local_address(from.parse::<IpAddr>().unwrap())
        .build()
        .unwrap()
}

/// A server config trusting these proxies (ranges, or single addresses).
fn trusting(proxies: &[&str]) -> ServerConfig {
    let network = |text: &&str| text.parse().unwrap_or_else(|_| ipnet::IpNet::from(text.parse::<IpAddr>().unwrap()));
    ServerConfig { trusted_proxies: proxies.iter().map(network).collect(), ..ServerConfig::default() }
}

/// A policy that locks fast and never sleeps noticeably.
fn quick_lock(lock_after: i64) -> AppConfig {
    let mut config = AppConfig::default();
    config.login.slow_after = 1000;
    config.login.delay_step = Duration::from_millis(1);
    config.login.lock_after = lock_after;
    config
}

impl Server {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn api_login(
        &self,
        client: &reqwest::Client,
        ext: &str,
        password: &str,
        headers: &[(&str, &str)],
    ) -> StatusCode {
        let mut request = client
            .post(self.url("/api/v1/session"))
            .json(&json!({ "username": format!("{ext}@{DOMAIN}"), "password": password }));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.unwrap().status()
    }
}

// --- Rule: the client's address cannot be forged ----------------------------------------

/// Why, from which peer, with which headers, and the book's answer.
type Case<'a> = (&'a str, &'a reqwest::Client, &'a [(&'a str, &'a str)], StatusCode);

async fn forwarded_addresses_are_believed_from_trusted_proxies_only(backend: Backend) {
    let server = spawn(backend, AppConfig::default(), trusting(&[PROXY, "10.0.0.0/8", "2001:db8:ffff::/48"])).await;
    // A phone allowed from one office range only.
    let input = DeviceInput {
        name: "Office phone".into(),
        allowed_networks: vec!["198.51.100.0/24".into()],
        ..Default::default()
    };
    let device = server.app.create_device(&Caller::System, DOMAIN, input).await.unwrap();
    let book = server.url(&format!("/phonebook/{}/yealink.xml", device.token));
    let (proxy, stranger) = (client_from(PROXY), client_from(STRANGER));
    let fetch = async |client: &reqwest::Client, headers: &[(&str, &str)]| {
        let mut request = client.get(&book);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.unwrap().status()
    };
    let (ok, forbidden) = (StatusCode::OK, StatusCode::FORBIDDEN);
    let cases: &[Case] = &[
        ("a trusted proxy forwards the office", &proxy, &[("x-forwarded-for", "198.51.100.7")][..], ok),
        ("the proxy's own address is not the office", &proxy, &[], forbidden),
        (
            "a spoofed left-most entry is ignored",
            &proxy,
            &[("x-forwarded-for", "198.51.100.7, 203.0.113.5")],
            forbidden,
        ),
        (
            "the right-most untrusted entry is the client",
            &proxy,
            &[("x-forwarded-for", "203.0.113.5, 198.51.100.7")],
            ok,
        ),
        ("an untrusted peer's header is ignored", &stranger, &[("x-forwarded-for", "198.51.100.7")], forbidden),
        ("an untrusted peer's Forwarded too", &stranger, &[("forwarded", "for=198.51.100.7")], forbidden),
        (
            "a chain of trusted proxies is walked through",
            &proxy,
            &[("x-forwarded-for", "203.0.113.5, 198.51.100.7, 10.1.2.3, 10.9.9.9")],
            ok,
        ),
        (
            "several header lines are one chain",
            &proxy,
            &[("x-forwarded-for", "203.0.113.5"), ("x-forwarded-for", "198.51.100.7")],
            ok,
        ),
        ("an address with its port", &proxy, &[("x-forwarded-for", "198.51.100.7:50123")], ok),
        ("Forwarded for=", &proxy, &[("forwarded", "for=198.51.100.7;proto=https;by=10.0.0.1")], ok),
        ("Forwarded, quoted with its port", &proxy, &[("forwarded", "for=\"198.51.100.7:4711\"")], ok),
        (
            "Forwarded: the right-most element counts",
            &proxy,
            &[("forwarded", "for=\"[2001:db8::1]:443\", for=198.51.100.7;proto=https")],
            ok,
        ),
        (
            "Forwarded: quoted IPv6 outside the range",
            &proxy,
            &[("forwarded", "for=198.51.100.7, for=\"[2001:db8::1]:443\"")],
            forbidden,
        ),
        (
            "Forwarded: a trusted IPv6 proxy is walked through",
            &proxy,
            &[("forwarded", "for=198.51.100.7, for=\"[2001:db8:ffff::5]\"")],
            ok,
        ),
        ("a malformed header leaves the peer", &proxy, &[("forwarded", "for=\"198.51.100.7")], forbidden),
        ("unquoted IPv6 is malformed", &proxy, &[("forwarded", "for=[2001:db8::1]")], forbidden),
        ("garbage where the client should be", &proxy, &[("x-forwarded-for", "198.51.100.7, garbage")], forbidden),
        (
            "the two headers disagree",
            &proxy,
            &[("x-forwarded-for", "203.0.113.5"), ("forwarded", "for=198.51.100.7")],
            forbidden,
        ),
        (
            "the two headers agree",
            &proxy,
            &[("x-forwarded-for", "198.51.100.7"), ("forwarded", "for=198.51.100.7")],
            ok,
        ),
    ];
    for (why, client, headers, expected) in cases {
        assert_eq!(fetch(client, headers).await, *expected, "{why}: {headers:?}");
    }
}

/// Spoofing a new left-most `X-Forwarded-For` entry on every guess does not make a new
/// client: the guesses all count for the address the proxy saw, while another client of
/// the same proxy is not held up by them.
async fn a_spoofed_forwarded_address_does_not_escape_the_login_throttle(backend: Backend) {
    let server = spawn(backend, quick_lock(2), trusting(&[PROXY])).await;
    let proxy = client_from(PROXY);
    let mut statuses = Vec::new();
    // 2 × 5 = 10 failures lock an address; each guess names another (unknown) account,
    // so only the address bucket can refuse.
    for guess in 0..12 {
        let spoofed = format!("192.0.2.{guess}, 203.0.113.9");
        let account = format!("3{guess:02}");
        statuses.push(server.api_login(&proxy, &account, "wrong", &[("x-forwarded-for", &spoofed)]).await);
    }
    println!("guesses through a trusted proxy with spoofed left-most entries: {statuses:?}");
    assert_eq!(statuses[..10], [StatusCode::UNAUTHORIZED; 10]);
    assert_eq!(statuses[10..], [StatusCode::TOO_MANY_REQUESTS; 2], "the real client's address is locked");
    let locked = server.api_login(&proxy, "209", PASSWORD, &[("x-forwarded-for", "203.0.113.9")]).await;
    assert_eq!(locked, StatusCode::TOO_MANY_REQUESTS, "that address stays locked, even for a right password");
    let neighbour = server.api_login(&proxy, "209", PASSWORD, &[("x-forwarded-for", "203.0.113.10")]).await;
    assert_eq!(neighbour, StatusCode::OK, "another client behind the same proxy logs in");

    // An untrusted peer cannot pick an address either: its header is ignored, its own counts.
    let stranger = client_from(STRANGER);
    for guess in 0..10 {
        let spoofed = format!("192.0.2.{guess}");
        let account = format!("4{guess:02}");
        let status = server.api_login(&stranger, &account, "wrong", &[("x-forwarded-for", &spoofed)]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let blocked = server.api_login(&stranger, "499", "wrong", &[("x-forwarded-for", "192.0.2.99")]).await;
    assert_eq!(blocked, StatusCode::TOO_MANY_REQUESTS, "the stranger's own address is locked");
}

// --- Rule: login never sends people off-site -------------------------------------------

/// `next` values that a browser would follow to another site, as sent in the form (the
/// form encoding carries tabs, newlines and backslashes as they are).
const OFF_SITE: &[&str] = &[
    "//evil.example",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "\\/evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "\t//evil.example",
    " //evil.example",
    "/\u{0}/evil.example",
    "/\u{3000}/evil.example",
    "https://evil.example/",
    "HTTPS://evil.example/",
    "javascript:alert(1)",
    "data:text/html,hi",
    "evil.example",
    "%2F%2Fevil.example",
    "/%2F/evil.example",
    "/%5Cevil.example",
    "/%09/evil.example",
    "/%0A/evil.example",
    "/%252F/evil.example",
    "/%2509/evil.example",
];

async fn login_never_redirects_off_site(backend: Backend) {
    let server = spawn(backend, AppConfig::default(), ServerConfig::default()).await;
    let client = client_from("127.0.0.1");
    let login = async |next: &str| {
        let form = client.get(server.url("/login")).send().await.unwrap();
        let cookie = support::cookie_pair(&form, "sb_login").unwrap();
        let csrf = support::attribute_after(&form.text().await.unwrap(), r#"name="csrf" value=""#);
        let username = format!("200@{DOMAIN}");
        let fields = [("username", username.as_str()), ("password", PASSWORD), ("csrf", &csrf), ("next", next)];
        let response = client.post(server.url("/login")).header(COOKIE, cookie).form(&fields).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{next:?}");
        let session = support::cookie_pair(&response, "sb_session").unwrap();
        (response.headers()[LOCATION].to_str().unwrap().to_string(), session)
    };
    for next in OFF_SITE {
        assert_eq!(login(next).await.0, "/contacts", "the login form's next={next:?}");
    }
    for next in ["/users", "/shared-contacts?q=ann%20lee", "/contacts?q=%C3%A9"] {
        assert_eq!(login(next).await.0, next, "{next:?} is of this site");
    }

    // Someone logged in is sent on at once by the same rule; here `next` is in the query,
    // as a link would put it (percent-encoded once, decoded once by the server).
    let (_, session) = login("/contacts").await;
    for query in [
        "next=%2F%2Fevil.example",
        "next=//evil.example",
        "next=/%5Cevil.example",
        "next=%2F%09%2Fevil.example",
        "next=/%0D%0A/evil.example",
        "next=%2F%252F%252Fevil.example",
        "next=%2F%255Cevil.example",
        "next=https:%2F%2Fevil.example",
        "next=%5C%5Cevil.example",
        "next=/%E3%80%80/evil.example",
    ] {
        let response =
            client.get(server.url(&format!("/login?{query}"))).header(COOKIE, &session).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{query}");
        assert_eq!(response.headers()[LOCATION], "/contacts", "{query}");
        // And the form shown to someone logged out drops it.
        let form = client.get(server.url(&format!("/login?{query}"))).send().await.unwrap();
        assert!(form.text().await.unwrap().contains(r#"name="next" value="/contacts""#), "{query}");
    }
}

// --- Rule: one client cannot exhaust the server (logins) -------------------------------

/// 40 wrong passwords for one account at once: each is counted before its check, so
/// no more than `lock_after` of them reach argon2; the others answer 429 at once. The
/// same holds for HTTP Basic user binds, which check passwords the same way.
async fn parallel_wrong_passwords_are_checked_at_most_the_limit(backend: Backend) {
    let server = Arc::new(spawn(backend, AppConfig::default(), ServerConfig::default()).await);
    let lock_after = server.app.config().login.lock_after;
    let client = client_from("127.0.0.1");

    let before = server.app.password_hash_stats().runs;
    let logins = (0..40).map(|_| {
        let (server, client) = (server.clone(), client.clone());
        tokio::spawn(async move { server.api_login(&client, "201", "wrong password", &[]).await })
    });
    let statuses: Vec<StatusCode> = futures::future::join_all(logins).await.into_iter().map(Result::unwrap).collect();
    let checked = server.app.password_hash_stats().runs - before;
    let wrong = statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count();
    let refused = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
    println!("40 parallel wrong logins: {checked} password checks, {wrong} × 401, {refused} × 429");
    assert_eq!(wrong + refused, 40, "{statuses:?}");
    assert!(checked <= lock_after as u64, "{checked} checks for a limit of {lock_after}");
    assert_eq!(checked, wrong as u64, "every 401 was a real check, every 429 none");

    let before = server.app.password_hash_stats().runs;
    let basic = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("202@{DOMAIN}:wrong")));
    let binds = (0..40).map(|_| {
        let (server, client, basic) = (server.clone(), client.clone(), basic.clone());
        tokio::spawn(async move {
            let request = client.get(server.url("/phonebook/yealink.xml")).header(AUTHORIZATION, basic);
            request.send().await.unwrap().status()
        })
    });
    let statuses: Vec<StatusCode> = futures::future::join_all(binds).await.into_iter().map(Result::unwrap).collect();
    let checked = server.app.password_hash_stats().runs - before;
    println!("40 parallel wrong HTTP Basic user binds: {checked} password checks");
    assert!(checked <= lock_after as u64, "{checked} checks for a limit of {lock_after}: {statuses:?}");
    assert!(statuses.contains(&StatusCode::TOO_MANY_REQUESTS), "{statuses:?}");
    let most = server.app.password_hash_stats().most_at_once;
    let bound = server.app.config().password_hashes_at_once;
    println!("most password hashes at once: {most} (bound {bound})");
    assert!(most <= bound, "{most} hashes ran at once; the bound is {bound}");
}

// --- Rule: a broken phone cannot lock an office out ------------------------------------

/// A phone retrying a wrong URL token, and one with a wrong device password, behind the
/// office's one address: their buckets fill and they get 429, but people at that
/// address still log in with their passwords (and a wrong password is still just 401).
async fn a_phone_with_a_wrong_secret_does_not_lock_people_out(backend: Backend) {
    let server = spawn(backend, quick_lock(2), ServerConfig::default()).await;
    let office = client_from("127.0.0.1");
    let device = server
        .app
        .create_device(&Caller::System, DOMAIN, DeviceInput { name: "Desk".into(), ..Default::default() })
        .await
        .unwrap();
    let wrong_url = server.url("/phonebook/sbd_revoked_or_mistyped_token/yealink.xml");
    let mut statuses = Vec::new();
    for _ in 0..12 {
        statuses.push(office.get(&wrong_url).send().await.unwrap().status());
    }
    println!("a phone retrying a wrong URL: {statuses:?}");
    assert_eq!(statuses.last(), Some(&StatusCode::TOO_MANY_REQUESTS), "the phone's guesses are throttled");
    let basic =
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{}:wrong", device.bind_dn)));
    let mut statuses = Vec::new();
    for _ in 0..12 {
        let request = office.get(server.url("/phonebook/yealink.xml")).header(AUTHORIZATION, &basic);
        statuses.push(request.send().await.unwrap().status());
    }
    println!("a phone with a wrong device password: {statuses:?}");
    assert_eq!(statuses.last(), Some(&StatusCode::TOO_MANY_REQUESTS), "so are a device's");

    assert_eq!(
        server.api_login(&office, "203", "wrong", &[]).await,
        StatusCode::UNAUTHORIZED,
        "a person's mistake is theirs"
    );
    assert_eq!(
        server.api_login(&office, "204", PASSWORD, &[]).await,
        StatusCode::OK,
        "the right password gets through"
    );
    // And the right device secret still reads the book: phones' buckets hold guesses only.
    assert_eq!(
        office.get(server.url(&format!("/phonebook/{}/yealink.xml", device.token))).send().await.unwrap().status(),
        StatusCode::OK
    );
}

// --- Rule: password changes end other sessions -----------------------------------------

const PEOPLE: &[support::Person] = &[
    support::Person { ext: "200", scope: "office-manager", first_name: "Olivia", department: "", site: "" },
    support::Person { ext: "201", scope: "basic-user", first_name: "Ben", department: "", site: "" },
    support::Person { ext: "202", scope: "basic-user", first_name: "Hal", department: "", site: "" },
];

/// What a bearer token is answered on `GET /api/v1/session`.
async fn who(server: &support::Server, token: &str) -> StatusCode {
    server.client.get(server.url("/api/v1/session")).bearer_auth(token).send().await.unwrap().status()
}

async fn patch_user(
    server: &support::Server,
    token: &str,
    ext: &str,
    body: serde_json::Value,
    if_match: Option<&str>,
) -> (StatusCode, serde_json::Value) {
    let mut request = server
        .client
        .patch(server.url(&format!("/api/v1/domains/{DOMAIN}/users/{ext}")))
        .bearer_auth(token)
        .json(&body);
    if let Some(version) = if_match {
        request = request.header("if-match", version);
    }
    let response = request.send().await.unwrap();
    (response.status(), response.json().await.unwrap_or_default())
}

async fn logs_in(server: &support::Server, ext: &str, password: &str) -> StatusCode {
    let body = json!({ "username": format!("{ext}@{DOMAIN}"), "password": password });
    server.client.post(server.url("/api/v1/session")).json(&body).send().await.unwrap().status()
}

fn error_fields(body: &serde_json::Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| e["field"].as_str().unwrap_or_default().to_string())
        .collect()
}

async fn api_token(server: &support::Server, ext: &str) -> String {
    let user = server.app.get_user(&Caller::System, DOMAIN, ext).await.unwrap();
    server.app.create_api_token(&Caller::System, &user, "feed").await.unwrap().secret
}

async fn changing_ones_own_password_needs_it_and_ends_the_other_sessions(backend: Backend) {
    let server = support::spawn(backend, PEOPLE, ServerConfig::default()).await;
    let (here, elsewhere, feed) =
        (server.token("201").await, server.token("201").await, api_token(&server, "201").await);
    let new = "a brand new passphrase";

    let (status, body) = patch_user(&server, &here, "201", json!({ "password": new }), None).await;
    assert_eq!((status, error_fields(&body)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["current_password".to_string()]));
    let wrong = json!({ "password": new, "current_password": "not my password" });
    let (status, body) = patch_user(&server, &here, "201", wrong, None).await;
    assert_eq!((status, error_fields(&body)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["current_password".to_string()]));

    // Against an old version: 412, and nothing changed: neither the password nor a session.
    let right = json!({ "password": new, "current_password": PASSWORD });
    let (status, _) = patch_user(&server, &here, "201", right.clone(), Some("\"999\"")).await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(logs_in(&server, "201", new).await, StatusCode::UNAUTHORIZED, "the stale change wrote nothing");
    assert_eq!(who(&server, &elsewhere).await, StatusCode::OK, "nor ended a session");

    let version = server.app.get_user(&Caller::System, DOMAIN, "201").await.unwrap().version;
    let (status, _) = patch_user(&server, &here, "201", right, Some(&format!("\"{version}\""))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(who(&server, &here).await, StatusCode::OK, "the session that changed it goes on");
    assert_eq!(who(&server, &elsewhere).await, StatusCode::UNAUTHORIZED, "the other session ended");
    assert_eq!(who(&server, &feed).await, StatusCode::OK, "API tokens are kept");
    assert_eq!(logs_in(&server, "201", PASSWORD).await, StatusCode::UNAUTHORIZED);
    assert_eq!(logs_in(&server, "201", new).await, StatusCode::OK);
}

async fn a_password_reset_ends_every_session(backend: Backend) {
    let server = support::spawn(backend, PEOPLE, ServerConfig::default()).await;
    let manager = server.token("200").await;
    let bens = [server.token("201").await, server.token("201").await];
    let (status, _) = patch_user(&server, &manager, "201", json!({ "password": "reset by the manager" }), None).await;
    assert_eq!(status, StatusCode::OK, "a manager needs no current password");
    for session in &bens {
        assert_eq!(who(&server, session).await, StatusCode::UNAUTHORIZED, "every session of Ben ended");
    }
    assert_eq!(who(&server, &manager).await, StatusCode::OK);
    assert_eq!(logs_in(&server, "201", "reset by the manager").await, StatusCode::OK);

    // The operator's `switchboard user passwd` is the same use case.
    let hals = [server.token("202").await, server.token("202").await];
    server.app.set_password(&Caller::System, DOMAIN, "202", "set by the operator").await.unwrap();
    for session in &hals {
        assert_eq!(who(&server, session).await, StatusCode::UNAUTHORIZED, "every session of Hal ended");
    }
}

async fn signing_out_everywhere_ends_sessions_and_api_tokens(backend: Backend) {
    let server = support::spawn(backend, PEOPLE, ServerConfig::default()).await;
    let (here, elsewhere, feed) =
        (server.token("201").await, server.token("201").await, api_token(&server, "201").await);
    let other = server.token("202").await;
    let response =
        server.client.delete(server.url("/api/v1/session/everywhere")).bearer_auth(&here).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    for token in [&here, &elsewhere, &feed] {
        assert_eq!(who(&server, token).await, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(who(&server, &other).await, StatusCode::OK, "only that user's");
}

async fn the_account_page_changes_the_password_and_signs_out_everywhere(backend: Backend) {
    let server = support::spawn(backend, PEOPLE, ServerConfig::default()).await;
    let browser = server.log_in("201").await;
    let other_browser = server.log_in("201").await;
    let page = browser.get("/account").await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains(r#"id="password-form""#));

    let new = "another fine passphrase";
    let refused = browser
        .post("/account/password", &[("current_password", "wrong"), ("password", new), ("confirm_password", new)])
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().await.unwrap().contains(r#"id="error-current-password""#));
    let differ = browser
        .post("/account/password", &[("current_password", PASSWORD), ("password", new), ("confirm_password", "typo")])
        .await;
    assert_eq!(differ.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(logs_in(&server, "201", new).await, StatusCode::UNAUTHORIZED, "nothing changed yet");

    let changed = browser
        .post("/account/password", &[("current_password", PASSWORD), ("password", new), ("confirm_password", new)])
        .await;
    assert_eq!(changed.status(), StatusCode::OK);
    assert!(support::toast(&changed).contains("Password changed"), "{}", support::toast(&changed));
    assert_eq!(browser.get("/contacts").await.status(), StatusCode::OK, "this browser stays logged in");
    assert_eq!(other_browser.get("/contacts").await.status(), StatusCode::SEE_OTHER, "the other one is signed out");

    let token = server.token("202").await;
    let hal = server.log_in("202").await;
    let out = hal.post("/account/sign-out-everywhere", &[]).await;
    assert_eq!(out.headers()["hx-redirect"], "/login");
    assert_eq!(hal.get("/contacts").await.status(), StatusCode::SEE_OTHER);
    assert_eq!(who(&server, &token).await, StatusCode::UNAUTHORIZED);
}
