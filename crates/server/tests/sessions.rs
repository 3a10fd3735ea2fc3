//! Authentication over HTTP on SQLite and PostgreSQL: every request reads its session
//! or API token afresh with the user and domain (one statement), so a revoked token,
//! an ended or expired session and a deleted user are refused on the very next
//! request, by the API and by the portal alike, and a change of the user shows at once.

mod support;

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{COOKIE, LOCATION};
use reqwest::{Method, RequestBuilder, StatusCode, redirect};
use serde_json::{Value, json};
use support::{Backend, DOMAIN, PASSWORD, on_both_backends};
use switchboard_app::{App, AppConfig, Caller, DomainInput, UserInput};
use switchboard_server::ServerConfig;
use switchboard_store::{PostgresStore, SqliteStore, Store};

on_both_backends!(
    a_bearer_token_and_the_session_cookie_reach_the_same_caller,
    a_revoked_token_and_an_ended_session_are_refused_on_the_next_request,
    an_expired_session_is_refused_by_the_api_and_the_portal,
    a_deleted_user_is_refused_and_a_changed_one_shows_at_once,
    a_look_up_for_oneself_and_for_a_coworker,
);

struct Server {
    base: String,
    client: reqwest::Client,
    _database_dir: tempfile::TempDir,
    _stop: tokio::sync::oneshot::Sender<()>,
}

/// A server with [`DOMAIN`]: 200 (office manager), 201 and 202 (basic users); and
/// other.example with its own 200.
async fn spawn(backend: Backend, config: AppConfig) -> Server {
    let database_dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = match backend {
        Backend::Sqlite => {
            let url = format!("sqlite://{}", database_dir.path().join("sessions.db").display());
            Arc::new(SqliteStore::open(&url).await.unwrap())
        }
        Backend::Postgres => {
            let url = switchboard_store::testing::fresh_postgres_database().await;
            Arc::new(PostgresStore::connect(&url).await.unwrap())
        }
    };
    let app = App::new(store, config);
    for (domain, ext, first, scope) in [
        (DOMAIN, "200", "Olivia", "office-manager"),
        (DOMAIN, "201", "Ben", "basic-user"),
        (DOMAIN, "202", "Hal", "basic-user"),
        ("other.example", "200", "Otto", "basic-user"),
    ] {
        if app.get_domain(&Caller::System, domain).await.is_err() {
            let input = DomainInput { name: domain.into(), ..Default::default() };
            app.create_domain(&Caller::System, input).await.unwrap();
        }
        let user = UserInput {
            extension: ext.into(),
            first_name: first.into(),
            last_name: "Tester".into(),
            scope: Some(scope.into()),
            password: Some(PASSWORD.into()),
            ..Default::default()
        };
        app.create_user(&Caller::System, domain, user).await.unwrap();
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(switchboard_server::serve(listener, app, ServerConfig::default(), async {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::builder().redirect(redirect::Policy::none()).build().unwrap();
    Server { base, client, _database_dir: database_dir, _stop: stop }
}

/// A login's bearer token (also the session cookie's value) and CSRF token.
struct Login {
    token: String,
    csrf: String,
}

impl Server {
    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, format!("{}{path}", self.base))
    }

    async fn log_in(&self, login: &str) -> Login {
        let body = json!({ "username": login, "password": PASSWORD });
        let response = self.request(Method::POST, "/api/v1/session").json(&body).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        Login { token: body["token"].as_str().unwrap().into(), csrf: body["csrf_token"].as_str().unwrap().into() }
    }

    async fn with_bearer(&self, method: Method, path: &str, token: &str) -> (StatusCode, Value) {
        let response = self.request(method, path).bearer_auth(token).send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn with_cookie(&self, path: &str, secret: &str) -> (StatusCode, Value) {
        let response =
            self.request(Method::GET, path).header(COOKIE, format!("sb_session={secret}")).send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// `GET /api/v1/session` by bearer token: the status and the caller's extension.
    async fn who(&self, token: &str) -> (StatusCode, Option<String>) {
        let (status, body) = self.with_bearer(Method::GET, "/api/v1/session", token).await;
        (status, body["user"]["extension"].as_str().map(str::to_string))
    }

    /// Whether the portal's contacts page lets the cookie in (or sends it to the login page).
    async fn portal_lets_in(&self, secret: &str) -> bool {
        let response =
            self.request(Method::GET, "/contacts").header(COOKIE, format!("sb_session={secret}")).send().await.unwrap();
        match response.status() {
            StatusCode::OK => true,
            status if status.is_redirection() => {
                let to = response.headers()[LOCATION].to_str().unwrap().to_string();
                assert!(to.starts_with("/login"), "{to}");
                false
            }
            status => panic!("the portal answered {status}"),
        }
    }
}

const OK: StatusCode = StatusCode::OK;
const UNAUTHORIZED: StatusCode = StatusCode::UNAUTHORIZED;

async fn a_bearer_token_and_the_session_cookie_reach_the_same_caller(backend: Backend) {
    let server = spawn(backend, AppConfig::default()).await;
    let ben = server.log_in("201@acme.example").await;
    let (status, by_bearer) = server.with_bearer(Method::GET, "/api/v1/session", &ben.token).await;
    assert_eq!(status, OK);
    let (status, by_cookie) = server.with_cookie("/api/v1/session", &ben.token).await;
    assert_eq!(status, OK);
    assert_eq!(by_bearer, by_cookie);
    assert_eq!((by_bearer["user"]["extension"].as_str(), by_bearer["domain"].as_str()), (Some("201"), Some(DOMAIN)));
    assert!(server.portal_lets_in(&ben.token).await);

    // Changing something by cookie still needs the CSRF header; by bearer token it does not.
    let contact = json!({ "first_name": "Ann", "last_name": "Lee" });
    let path = "/api/v1/domains/acme.example/users/201/contacts";
    let cookie = format!("sb_session={}", ben.token);
    let without = server.request(Method::POST, path).header(COOKIE, &cookie).json(&contact).send().await.unwrap();
    assert_eq!(without.status(), StatusCode::FORBIDDEN);
    let with = server.request(Method::POST, path).header(COOKIE, &cookie).header("X-CSRF-Token", &ben.csrf);
    assert_eq!(with.json(&contact).send().await.unwrap().status(), StatusCode::CREATED);
    let by_bearer = server.request(Method::POST, path).bearer_auth(&ben.token).json(&contact).send().await.unwrap();
    assert_eq!(by_bearer.status(), StatusCode::CONFLICT, "the same contact again: authenticated, then refused");

    for forged in ["sb_forged", "forged", ""] {
        assert_eq!(server.who(forged).await.0, UNAUTHORIZED, "{forged:?}");
    }
}

async fn a_revoked_token_and_an_ended_session_are_refused_on_the_next_request(backend: Backend) {
    let server = spawn(backend, AppConfig::default()).await;
    let ben = server.log_in("201@acme.example").await;
    let other_session = server.log_in("201@acme.example").await;
    let create = server.request(Method::POST, "/api/v1/tokens").bearer_auth(&ben.token).json(&json!({ "name": "PBX" }));
    let created: Value = create.send().await.unwrap().json().await.unwrap();
    let (secret, id) = (created["secret"].as_str().unwrap(), created["id"].as_str().unwrap());

    // Used many times in a row, then revoked: the very next request is refused.
    for _ in 0..5 {
        assert_eq!(server.who(secret).await, (OK, Some("201".into())));
    }
    let revoke = server.with_bearer(Method::DELETE, &format!("/api/v1/tokens/{id}"), &ben.token).await;
    assert_eq!(revoke.0, StatusCode::NO_CONTENT);
    assert_eq!(server.who(secret).await.0, UNAUTHORIZED);

    // Logging out by cookie ends that session for the API and the portal, and only that one.
    assert!(server.portal_lets_in(&ben.token).await);
    let logout = server
        .request(Method::DELETE, "/api/v1/session")
        .header(COOKIE, format!("sb_session={}", ben.token))
        .header("X-CSRF-Token", &ben.csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    assert_eq!(server.with_cookie("/api/v1/session", &ben.token).await.0, UNAUTHORIZED);
    assert_eq!(server.who(&ben.token).await.0, UNAUTHORIZED);
    assert!(!server.portal_lets_in(&ben.token).await);
    assert_eq!(server.who(&other_session.token).await.0, OK);
}

async fn an_expired_session_is_refused_by_the_api_and_the_portal(backend: Backend) {
    let config = AppConfig { session_ttl: Duration::from_secs(2), ..AppConfig::default() };
    let server = spawn(backend, config).await;
    let ben = server.log_in("201@acme.example").await;
    let create = server.request(Method::POST, "/api/v1/tokens").bearer_auth(&ben.token).json(&json!({ "name": "PBX" }));
    let created: Value = create.send().await.unwrap().json().await.unwrap();
    let api_token = created["secret"].as_str().unwrap().to_string();
    assert_eq!(server.who(&ben.token).await.0, OK);
    assert!(server.portal_lets_in(&ben.token).await);

    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(server.who(&ben.token).await.0, UNAUTHORIZED, "by bearer");
    assert_eq!(server.with_cookie("/api/v1/session", &ben.token).await.0, UNAUTHORIZED, "by cookie");
    assert!(!server.portal_lets_in(&ben.token).await);
    assert_eq!(server.who(&api_token).await, (OK, Some("201".into())), "API tokens do not expire");
    // A new login is a new session.
    assert_eq!(server.who(&server.log_in("201@acme.example").await.token).await.0, OK);
}

async fn a_deleted_user_is_refused_and_a_changed_one_shows_at_once(backend: Backend) {
    let server = spawn(backend, AppConfig::default()).await;
    let olivia = server.log_in("200@acme.example").await;
    let (ben, hal) = (server.log_in("201@acme.example").await, server.log_in("202@acme.example").await);

    let rename = server
        .request(Method::PATCH, "/api/v1/domains/acme.example/users/201")
        .bearer_auth(&olivia.token)
        .json(&json!({ "first_name": "Benjamin", "scope": "site-manager" }))
        .send()
        .await
        .unwrap();
    assert_eq!(rename.status(), OK);
    let (status, me) = server.with_bearer(Method::GET, "/api/v1/session", &ben.token).await;
    assert_eq!(status, OK);
    assert_eq!(
        (me["user"]["first_name"].as_str(), me["user"]["scope"].as_str()),
        (Some("Benjamin"), Some("site-manager"))
    );

    let delete = server.with_bearer(Method::DELETE, "/api/v1/domains/acme.example/users/201", &olivia.token).await;
    assert_eq!(delete.0, StatusCode::NO_CONTENT);
    assert_eq!(server.who(&ben.token).await.0, UNAUTHORIZED);
    assert_eq!(server.with_cookie("/api/v1/session", &ben.token).await.0, UNAUTHORIZED);
    assert!(!server.portal_lets_in(&ben.token).await);
    assert_eq!(server.who(&hal.token).await, (OK, Some("202".into())));
}

async fn a_look_up_for_oneself_and_for_a_coworker(backend: Backend) {
    let server = spawn(backend, AppConfig::default()).await;
    let (olivia, ben) = (server.log_in("200@acme.example").await, server.log_in("201@acme.example").await);
    let otto = server.log_in("200@other.example").await;
    let lookup = |domain: &str, number: &str, user: Option<&str>| {
        let user = user.map(|u| format!("&user={u}")).unwrap_or_default();
        format!("/api/v1/domains/{domain}/lookup?number={number}{user}")
    };
    let name = |answer: &Value| answer["name"].as_str().map(str::to_string);

    for path in
        [lookup(DOMAIN, "202", None), lookup(DOMAIN, "202", Some("201")), lookup("ACME.example", "202", Some("201"))]
    {
        let (status, answer) = server.with_bearer(Method::GET, &path, &ben.token).await;
        assert_eq!((status, name(&answer)), (OK, Some("Hal Tester".into())), "{path}");
        assert_eq!(answer["rule"], "extension");
    }
    let (status, answer) = server.with_bearer(Method::GET, &lookup(DOMAIN, "201", Some("202")), &olivia.token).await;
    assert_eq!((status, name(&answer)), (OK, Some("Ben Tester".into())), "a manager, for a coworker");
    for (token, path) in [
        (&ben.token, lookup(DOMAIN, "200", Some("202"))),
        (&olivia.token, lookup(DOMAIN, "200", Some("299"))),
        (&otto.token, lookup(DOMAIN, "201", None)),
        (&otto.token, lookup(DOMAIN, "201", Some("200"))),
        (&ben.token, lookup("other.example", "200", Some("201"))),
    ] {
        assert_eq!(server.with_bearer(Method::GET, &path, token).await.0, StatusCode::NOT_FOUND, "{path}");
    }
}
