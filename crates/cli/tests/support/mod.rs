//! Starts the real `switchboard` binary on a free port, on SQLite or PostgreSQL,
//! and talks to it over HTTP like any client would.

#![allow(dead_code)]

/// Runs one scenario on SQLite and on PostgreSQL (each scenario takes a `Backend`;
/// the test file imports `Backend` so that `super::Backend` names it).
#[allow(unused_macros)] // browser.rs includes this module but runs its scenarios with a browser of its own.
macro_rules! on_both_backends {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            #[tokio::test(flavor = "multi_thread")]
            async fn sqlite() {
                super::$scenario(super::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread")]
            async fn postgres() {
                super::$scenario(super::Backend::Postgres).await
            }
        }
    )*};
}

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database for one test: a SQLite file in a temporary directory, or a fresh
/// database on the throwaway PostgreSQL of `scripts/with-postgres`.
pub struct Database {
    pub url: String,
    _dir: tempfile::TempDir,
}

impl Database {
    pub async fn new(backend: Backend) -> Database {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let url = match backend {
            Backend::Sqlite => format!("sqlite://{}", dir.path().join("switchboard.db").display()),
            Backend::Postgres => switchboard_store::testing::fresh_postgres_database().await,
        };
        Database { url, _dir: dir }
    }
}

pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_switchboard"))
}

/// Runs a CLI command against the database and returns its standard output.
pub fn cli(db: &Database, args: &[&str], stdin: Option<&str>) -> String {
    let mut child = Command::new(binary())
        .arg("--database")
        .arg(&db.url)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    {
        use std::io::Write;
        let mut input = child.stdin.take().expect("stdin");
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).expect("stdin written");
        }
    }
    let output = child.wait_with_output().expect("the command ends");
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(
        output.status.success(),
        "switchboard {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// A running `switchboard serve`; killed when dropped.
pub struct Server {
    pub base: String,
    child: Child,
    log: Arc<Mutex<String>>,
    pub http: reqwest::Client,
}

impl Server {
    pub fn start(db: &Database, extra: &[&str]) -> Server {
        let mut child = Command::new(binary())
            .args(["--database", &db.url, "serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .env("SWITCHBOARD_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the server starts");
        let log = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().expect("stderr");
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().expect("log lock").push_str(&(line + "\n"));
            }
        });
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut base = None;
        let mut line = String::new();
        while base.is_none() {
            line.clear();
            let read = stdout.read_line(&mut line).expect("server output");
            assert!(read > 0, "the server stopped before listening:\n{}", log.lock().unwrap());
            base = line.trim().strip_prefix("listening on ").map(str::to_string);
        }
        std::thread::spawn(move || for _ in stdout.lines() {});
        Server { base: base.expect("address"), child, log, http: reqwest::Client::new() }
    }

    /// What the server logged so far.
    pub fn log(&self) -> String {
        self.log.lock().expect("log lock").clone()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn login(&self, username: &str, password: &str) -> Session<'_> {
        let response = self
            .http
            .post(self.url("/api/v1/session"))
            .json(&json!({ "username": username, "password": password }))
            .send()
            .await
            .expect("login request");
        assert_eq!(response.status(), StatusCode::OK, "login of {username}");
        let body: Value = response.json().await.expect("login body");
        Session { server: self, token: body["token"].as_str().expect("token").to_string() }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An authenticated client.
pub struct Session<'a> {
    pub server: &'a Server,
    pub token: String,
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The field names a problem+json answer lists.
    pub fn error_fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|errors| errors.iter().filter_map(|e| e["field"].as_str().map(str::to_string)).collect())
            .unwrap_or_default()
    }
}

impl Session<'_> {
    pub async fn send(&self, method: Method, path: &str, body: Option<Value>, headers: &[(&str, &str)]) -> Reply {
        let mut request = self.server.http.request(method, self.server.url(path)).bearer_auth(&self.token);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        let body =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        Reply { status, headers, body }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, path, None, &[]).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.send(Method::POST, path, Some(body), &[]).await
    }

    pub async fn patch(&self, path: &str, body: Value, headers: &[(&str, &str)]) -> Reply {
        self.send(Method::PATCH, path, Some(body), headers).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Reply {
        self.send(Method::PUT, path, Some(body), &[]).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.send(Method::DELETE, path, None, &[]).await
    }

    /// Follows `next_cursor` through a whole list and returns every item.
    pub async fn all_pages(&self, path: &str) -> Vec<Value> {
        let separator = if path.contains('?') { '&' } else { '?' };
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let url = match &cursor {
                Some(c) => format!("{path}{separator}cursor={c}"),
                None => path.to_string(),
            };
            let reply = self.get(&url).await;
            assert_eq!(reply.status, StatusCode::OK, "{url}: {:?}", reply.body);
            items.extend(reply.body["items"].as_array().expect("items").iter().cloned());
            match reply.body["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_string()),
                None => return items,
            }
        }
    }
}

/// Prepares a domain through the CLI, as an operator would: returns nothing, the
/// users all have the password `password-123`.
pub fn seed_domain(db: &Database, domain: &str, users: &[(&str, &str, &str, &str)]) {
    cli(db, &["domain", "add", domain, "--country", "US"], None);
    for (ext, first, scope, department) in users {
        cli(
            db,
            &[
                "user",
                "add",
                domain,
                ext,
                "--first",
                first,
                "--last",
                "Tester",
                "--scope",
                scope,
                "--department",
                department,
                "--password-stdin",
            ],
            Some("password-123"),
        );
    }
}

pub const PASSWORD: &str = "password-123";
