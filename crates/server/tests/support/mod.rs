//! What the portal tests share: a real server on port 0 over a fresh SQLite or
//! PostgreSQL database, and a "browser" that logs in through the login form and then
//! talks to the portal the way htmx does (session cookie, `X-CSRF-Token` header).
//!
//! Each test file uses only part of it, hence `dead_code` is allowed.
#![allow(dead_code)]

use std::sync::Arc;

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Method, RequestBuilder, Response, StatusCode, redirect};
use serde_json::{Value, json};
use switchboard_app::{App, AppConfig, Caller, DomainInput, UserInput};
use switchboard_server::ServerConfig;
use switchboard_store::{PostgresStore, SqliteStore, Store};

pub const PASSWORD: &str = "correct horse battery";
pub const DOMAIN: &str = "acme.example";

#[derive(Debug, Clone, Copy)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs each scenario (an `async fn(Backend)` of the test file) as two tests,
/// `<scenario>::sqlite` and `<scenario>::postgres`.
#[allow(unused_macros)] // not every test file runs scenarios on both back-ends
macro_rules! on_both_backends {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            #[tokio::test]
            async fn sqlite() {
                super::$scenario($crate::support::Backend::Sqlite).await
            }
            #[tokio::test]
            async fn postgres() {
                super::$scenario($crate::support::Backend::Postgres).await
            }
        }
    )*};
}
#[allow(unused_imports)]
pub(crate) use on_both_backends;

/// A fresh, empty database. SQLite lives in a file (not in memory, which allows one
/// connection only: an import's transaction would hold it while the page reads), in
/// `dir`, which the caller keeps for as long as the server runs.
async fn store(backend: Backend, dir: &tempfile::TempDir) -> (Arc<dyn Store>, String) {
    let url = match backend {
        Backend::Sqlite => format!("sqlite://{}", dir.path().join("portal.db").display()),
        Backend::Postgres => switchboard_store::testing::fresh_postgres_database().await,
    };
    (open_store(backend, &url).await, url)
}

async fn open_store(backend: Backend, url: &str) -> Arc<dyn Store> {
    match backend {
        Backend::Sqlite => Arc::new(SqliteStore::open(url).await.expect("SQLite store")),
        Backend::Postgres => Arc::new(PostgresStore::connect(url).await.expect("PostgreSQL store")),
    }
}

/// A user of the test domain, created with [`PASSWORD`] and the last name "Tester".
#[derive(Debug, Clone, Copy)]
pub struct Person {
    pub ext: &'static str,
    pub scope: &'static str,
    pub first_name: &'static str,
    pub department: &'static str,
    pub site: &'static str,
}

pub struct Server {
    pub base: String,
    pub client: reqwest::Client,
    /// The server's use cases, to arrange what a test needs without going through HTTP.
    pub app: App,
    backend: Backend,
    database_url: String,
    _database_dir: Arc<tempfile::TempDir>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

/// Starts a server with the domain [`DOMAIN`] and `people` in it.
pub async fn spawn(backend: Backend, people: &[Person], config: ServerConfig) -> Server {
    spawn_with(backend, people, config, AppConfig::default()).await
}

/// [`spawn`] with the use cases' tunables of the test's choosing.
pub async fn spawn_with(backend: Backend, people: &[Person], config: ServerConfig, app_config: AppConfig) -> Server {
    let database_dir = tempfile::tempdir().expect("a temporary directory");
    let (store, database_url) = store(backend, &database_dir).await;
    let app = App::new(store, app_config);
    let domain = DomainInput { name: DOMAIN.into(), ..Default::default() };
    app.create_domain(&Caller::System, domain).await.expect("the domain");
    for person in people {
        let user = UserInput {
            extension: person.ext.into(),
            first_name: person.first_name.into(),
            last_name: "Tester".into(),
            department: person.department.into(),
            site: person.site.into(),
            scope: Some(person.scope.into()),
            password: Some(PASSWORD.into()),
            ..Default::default()
        };
        app.create_user(&Caller::System, DOMAIN, user).await.expect("a user");
    }
    listen(app, config, backend, database_url, Arc::new(database_dir)).await
}

async fn listen(
    app: App,
    config: ServerConfig,
    backend: Backend,
    database_url: String,
    database_dir: Arc<tempfile::TempDir>,
) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(switchboard_server::serve(listener, app.clone(), config, async {
        let _ = stopped.await;
    }));
    // Redirects are looked at, not followed: the login answers its cookie with one.
    let client = reqwest::Client::builder().redirect(redirect::Policy::none()).build().unwrap();
    Server { base, client, app, backend, database_url, _database_dir: database_dir, _stop: stop }
}

impl Server {
    /// Another server on the same database, with its own connections and events, as a
    /// second machine behind a load balancer would be.
    pub async fn beside(&self) -> Server {
        let app = App::new(open_store(self.backend, &self.database_url).await, AppConfig::default());
        let dir = self._database_dir.clone();
        listen(app, ServerConfig::default(), self.backend, self.database_url.clone(), dir).await
    }
}

/// The login form as a browser first gets it: its double-submit cookie (`sb_login=…`)
/// and the same token in its hidden `csrf` field.
pub struct LoginForm {
    pub cookie: String,
    pub csrf: String,
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A request without any session.
    pub fn anonymous(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, self.url(path))
    }

    pub async fn login_form(&self) -> LoginForm {
        let form = self.client.get(self.url("/login")).send().await.unwrap();
        assert_eq!(form.status(), StatusCode::OK);
        let cookie = cookie_pair(&form, "sb_login").expect("the login page sets its token cookie");
        let csrf = attribute_after(&form.text().await.unwrap(), r#"name="csrf" value=""#);
        LoginForm { cookie, csrf }
    }

    /// Posts the login form with `fields` (`csrf` included or not) and `cookie`.
    pub async fn submit_login(&self, cookie: Option<&str>, fields: &[(&str, &str)]) -> Response {
        let mut request = self.client.post(self.url("/login"));
        if let Some(cookie) = cookie {
            request = request.header(COOKIE, cookie);
        }
        request.form(fields).send().await.unwrap()
    }

    /// Logs in through the login form, as a person would, then reads the CSRF token
    /// from a page's `<body hx-headers>` as htmx does.
    pub async fn log_in(&self, ext: &str) -> Browser<'_> {
        let form = self.login_form().await;
        let username = format!("{ext}@{DOMAIN}");
        let fields = [("username", username.as_str()), ("password", PASSWORD), ("csrf", &form.csrf)];
        let response = self.submit_login(Some(&form.cookie), &fields).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{ext} logs in");
        assert_eq!(response.headers()[LOCATION], "/contacts", "the first page after logging in");
        let cookie = cookie_pair(&response, "sb_session").expect("a session cookie");
        let mut browser = Browser { server: self, cookie, csrf: String::new() };
        browser.csrf = browser.page_csrf("/contacts").await;
        browser
    }

    /// A bearer token, for checking through the REST API what the portal wrote.
    pub async fn token(&self, ext: &str) -> String {
        let body = json!({ "username": format!("{ext}@{DOMAIN}"), "password": PASSWORD });
        let response = self.client.post(self.url("/api/v1/session")).json(&body).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{ext} gets a token");
        let login: Value = response.json().await.unwrap();
        login["token"].as_str().unwrap().to_string()
    }

    /// A REST call with a bearer token and an optional JSON body: the status and the
    /// JSON answer (null when there is none).
    pub async fn call(&self, method: Method, token: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut request = self.client.request(method, self.url(path)).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// How many items the first page of a REST list holds.
    pub async fn count(&self, token: &str, path: &str) -> usize {
        let page: Value =
            self.client.get(self.url(path)).bearer_auth(token).send().await.unwrap().json().await.unwrap();
        page["items"].as_array().unwrap_or_else(|| panic!("a list: {page}")).len()
    }
}

/// A logged-in browser: its session cookie (`sb_session=…`) and the CSRF token its pages carry.
pub struct Browser<'a> {
    pub server: &'a Server,
    pub cookie: String,
    pub csrf: String,
}

impl Browser<'_> {
    /// A request with the session cookie and nothing else.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.server.client.request(method, self.server.url(path)).header(COOKIE, &self.cookie)
    }

    /// A page, as a browser opens it (no htmx header).
    pub async fn get(&self, path: &str) -> Response {
        self.request(Method::GET, path).send().await.unwrap()
    }

    /// An htmx GET (a fragment).
    pub async fn fragment(&self, path: &str) -> (StatusCode, String) {
        let response = self.request(Method::GET, path).header("hx-request", "true").send().await.unwrap();
        (response.status(), response.text().await.unwrap())
    }

    /// An htmx POST of a form, with the CSRF header every htmx request carries.
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Response {
        self.post_with(path, form, Some(&self.csrf)).await
    }

    /// An htmx POST with the given CSRF header, or none.
    pub async fn post_with(&self, path: &str, form: &[(&str, &str)], csrf: Option<&str>) -> Response {
        let mut request = self.request(Method::POST, path).header("hx-request", "true");
        if let Some(token) = csrf {
            request = request.header("x-csrf-token", token);
        }
        request.form(form).send().await.unwrap()
    }

    /// The CSRF token in the `<body hx-headers>` of a page (as htmx sends it).
    pub async fn page_csrf(&self, path: &str) -> String {
        let page = self.get(path).await;
        assert_eq!(page.status(), StatusCode::OK, "{path}");
        let hx_headers = attribute_after(&page.text().await.unwrap(), r#"hx-headers=""#);
        let headers: Value = serde_json::from_str(&unescape(&hx_headers)).unwrap();
        headers["X-CSRF-Token"].as_str().expect("an X-CSRF-Token").to_string()
    }
}

/// `name=value` of a cookie set by a response, to send back as `Cookie`.
pub fn cookie_pair(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok()?.split(';').next())
        .find(|pair| pair.starts_with(&format!("{name}=")))
        .map(str::to_string)
}

/// Every value of `attribute` in `html`, in order (our templates quote with `"`).
pub fn attribute_values(html: &str, attribute: &str) -> Vec<String> {
    let needle = format!(" {attribute}=\"");
    html.match_indices(&needle)
        .map(|(at, _)| {
            let rest = &html[at + needle.len()..];
            rest[..rest.find('"').unwrap()].to_string()
        })
        .collect()
}

/// The attribute value that starts right after `prefix`.
pub fn attribute_after(html: &str, prefix: &str) -> String {
    let start = html.find(prefix).unwrap_or_else(|| panic!("`{prefix}` not in {html}")) + prefix.len();
    html[start..].split('"').next().unwrap().to_string()
}

/// Text with the entities our templates write turned back into characters.
pub fn unescape(text: &str) -> String {
    [("&quot;", "\""), ("&#34;", "\""), ("&#x22;", "\""), ("&#39;", "'"), ("&lt;", "<"), ("&#60;", "<")]
        .into_iter()
        .chain([("&gt;", ">"), ("&#62;", ">"), ("&#38;", "&"), ("&amp;", "&")])
        .fold(text.to_string(), |text, (entity, character)| text.replace(entity, character))
}

/// The triggers of an htmx answer (`HX-Trigger`).
pub fn triggers(response: &Response) -> Value {
    let header = response.headers().get("hx-trigger").expect("an HX-Trigger header");
    serde_json::from_str(header.to_str().unwrap()).unwrap()
}

/// The message of the toast an htmx answer asks for.
pub fn toast(response: &Response) -> String {
    triggers(response)["toast"]["message"].as_str().expect("a toast message").to_string()
}

/// An open event stream (`text/event-stream`), read one server-sent event at a time.
pub struct EventStream {
    response: Response,
    buffer: Vec<u8>,
}

/// One server-sent event: its name, its data as JSON, and its id if it has one.
#[derive(Debug)]
pub struct SentEvent {
    pub name: String,
    pub data: Value,
    pub id: Option<String>,
}

impl EventStream {
    pub fn new(response: Response) -> EventStream {
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[reqwest::header::CONTENT_TYPE], "text/event-stream");
        EventStream { response, buffer: Vec::new() }
    }

    /// The next event's name and data, past keep-alive comments; `None` when the stream ends.
    /// The timeout only keeps a broken server from hanging the test.
    pub async fn next(&mut self) -> Option<(String, Value)> {
        self.next_event().await.map(|event| (event.name, event.data))
    }

    pub async fn next_event(&mut self) -> Option<SentEvent> {
        let read = tokio::time::timeout(std::time::Duration::from_secs(10), self.read());
        read.await.expect("nothing arrived in time")
    }

    async fn read(&mut self) -> Option<SentEvent> {
        loop {
            while let Some(end) = self.buffer.windows(2).position(|w| w == b"\n\n") {
                let block: Vec<u8> = self.buffer.drain(..end + 2).collect();
                let (mut name, mut data, mut id) = (None, String::new(), None);
                for line in String::from_utf8(block).unwrap().lines() {
                    if let Some(value) = line.strip_prefix("event:") {
                        name = Some(value.trim().to_string());
                    } else if let Some(value) = line.strip_prefix("data:") {
                        data.push_str(value.trim_start());
                    } else if let Some(value) = line.strip_prefix("id:") {
                        id = Some(value.trim().to_string());
                    }
                }
                if let Some(name) = name {
                    return Some(SentEvent { name, data: serde_json::from_str(&data).unwrap(), id });
                }
            }
            self.buffer.extend_from_slice(&self.response.chunk().await.unwrap()?);
        }
    }
}
