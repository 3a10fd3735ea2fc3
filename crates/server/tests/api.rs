//! The REST API end to end: a real server on port 0 over an in-memory SQLite store,
//! driven over HTTP the way a client would.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, ETAG, IF_MATCH, LOCATION, RETRY_AFTER, SET_COOKIE, WWW_AUTHENTICATE};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};
use switchboard_app::{App, AppConfig, Caller, DomainInput, UserInput};
use switchboard_server::ServerConfig;
use switchboard_store::SqliteStore;

mod support;
use support::EventStream;

const PASSWORD: &str = "correct horse battery";
const DOMAIN: &str = "acme.example";

struct Server {
    base: String,
    client: reqwest::Client,
    _stop: tokio::sync::oneshot::Sender<()>,
}

/// Starts a server with `acme.example` and three users: 200 (office-manager),
/// 201 (basic-user) and 202 (basic-user).
async fn spawn() -> Server {
    spawn_with(ServerConfig::default()).await
}

async fn spawn_with(config: ServerConfig) -> Server {
    let store = SqliteStore::open_in_memory().await.expect("in-memory store");
    let mut app_config = AppConfig::default();
    // Throttling as in production, minus the waiting.
    app_config.login.delay_step = Duration::from_millis(1);
    app_config.login.lock_after = 4;
    let app = App::new(Arc::new(store), app_config);
    let domain = DomainInput { name: DOMAIN.into(), ..Default::default() };
    app.create_domain(&Caller::System, domain).await.expect("domain");
    for (ext, scope, department) in
        [("200", "office-manager", "Sales"), ("201", "basic-user", "Support"), ("202", "basic-user", "Support")]
    {
        let user = UserInput {
            extension: ext.into(),
            first_name: format!("User{ext}"),
            last_name: "Tester".into(),
            department: department.into(),
            scope: Some(scope.into()),
            password: Some(PASSWORD.into()),
            ..Default::default()
        };
        app.create_user(&Caller::System, DOMAIN, user).await.expect("user");
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(switchboard_server::serve(listener, app, config, async {
        let _ = stopped.await;
    }));
    Server { base, client: reqwest::Client::new(), _stop: stop }
}

impl Server {
    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, format!("{}{path}", self.base))
    }

    fn get(&self, path: &str) -> RequestBuilder {
        self.request(Method::GET, path)
    }

    async fn login_as(&self, ext: &str) -> Response {
        let body = json!({ "username": format!("{ext}@{DOMAIN}"), "password": PASSWORD });
        self.request(Method::POST, "/api/v1/session").json(&body).send().await.unwrap()
    }

    /// Logs in and answers the bearer token.
    async fn token(&self, ext: &str) -> String {
        let response = self.login_as(ext).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_string()
    }

    /// The office-manager's authenticated request.
    fn manager(&self, method: Method, path: &str, token: &str) -> RequestBuilder {
        self.request(method, path).bearer_auth(token)
    }
}

const SHARED: &str = "/api/v1/domains/acme.example/shared-contacts";

/// Reads a problem answer, checking its shape and media type.
async fn problem(response: Response, status: StatusCode) -> Value {
    assert_eq!(response.status(), status, "status");
    let content_type = response.headers().get(CONTENT_TYPE).map(|v| v.to_str().unwrap().to_string());
    assert_eq!(content_type.as_deref(), Some("application/problem+json"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], status.as_u16(), "{body}");
    for key in ["type", "title", "detail"] {
        assert!(body[key].is_string(), "{key} missing in {body}");
    }
    assert!(body["errors"].is_array(), "{body}");
    body
}

fn fields(problem: &Value) -> Vec<String> {
    problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap().to_string()).collect()
}

async fn shared_count(server: &Server, token: &str) -> usize {
    let page: Value = server.manager(Method::GET, SHARED, token).send().await.unwrap().json().await.unwrap();
    page["items"].as_array().unwrap().len()
}

// --- Sessions -----------------------------------------------------------------

#[tokio::test]
async fn login_answers_a_token_and_a_strict_http_only_cookie() {
    let server = spawn().await;
    let response = server.login_as("200").await;
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = response.headers().get(SET_COOKIE).unwrap().to_str().unwrap().to_string();
    let login: Value = response.json().await.unwrap();
    let token = login["token"].as_str().unwrap();
    assert_eq!(cookie, format!("sb_session={token}; HttpOnly; SameSite=Strict; Path=/"));
    assert_eq!(login["domain"], DOMAIN);
    assert_eq!(login["user"]["extension"], "200");
    assert!(login["csrf_token"].is_string() && login["expires_at"].is_string());

    let me: Value = server.get("/api/v1/session").bearer_auth(token).send().await.unwrap().json().await.unwrap();
    assert_eq!((me["user"]["extension"].as_str(), me["domain"].as_str()), (Some("200"), Some(DOMAIN)));
}

#[tokio::test]
async fn secure_cookies_when_configured() {
    let server = spawn_with(ServerConfig { secure_cookies: true, ..Default::default() }).await;
    let response = server.login_as("200").await;
    assert!(response.headers().get(SET_COOKIE).unwrap().to_str().unwrap().ends_with("; Secure"));
}

#[tokio::test]
async fn a_wrong_user_and_a_wrong_password_answer_the_same() {
    let server = spawn().await;
    let attempt = |username: &'static str| {
        let body = json!({ "username": username, "password": "not the password" });
        server.request(Method::POST, "/api/v1/session").json(&body).send()
    };
    let wrong_password = problem(attempt("200@acme.example").await.unwrap(), StatusCode::UNAUTHORIZED).await;
    let wrong_user = problem(attempt("999@acme.example").await.unwrap(), StatusCode::UNAUTHORIZED).await;
    let wrong_domain = problem(attempt("200@nowhere.example").await.unwrap(), StatusCode::UNAUTHORIZED).await;
    assert_eq!(wrong_password, wrong_user);
    assert_eq!(wrong_password, wrong_domain);
}

#[tokio::test]
async fn repeated_failures_lock_the_account_with_retry_after() {
    let server = spawn().await;
    let body = json!({ "username": "201@acme.example", "password": "wrong password" });
    let mut last = None;
    for _ in 0..6 {
        let response = server.request(Method::POST, "/api/v1/session").json(&body).send().await.unwrap();
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            last = Some(response);
            break;
        }
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let locked = last.expect("the account gets locked");
    let wait: u64 = locked.headers().get(RETRY_AFTER).unwrap().to_str().unwrap().parse().unwrap();
    assert!(wait > 0 && wait <= 15 * 60, "{wait}");
    problem(locked, StatusCode::TOO_MANY_REQUESTS).await;
    // Even the right password waits now.
    assert_eq!(server.login_as("201").await.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn no_or_bad_credentials_answer_401_with_www_authenticate() {
    let server = spawn().await;
    for request in [
        server.get("/api/v1/session"),
        server.get("/api/v1/domains").bearer_auth("sb_not-a-real-token"),
        server.get("/api/v1/domains").header("Authorization", "Basic dXNlcjpwYXNz"),
        server.get("/api/v1/domains").header("Cookie", "sb_session=sb_forged"),
    ] {
        let response = request.send().await.unwrap();
        assert_eq!(response.headers().get(WWW_AUTHENTICATE).unwrap(), "Bearer");
        problem(response, StatusCode::UNAUTHORIZED).await;
    }
}

#[tokio::test]
async fn the_cookie_needs_the_csrf_header_to_change_anything() {
    let server = spawn().await;
    let login: Value = server.login_as("200").await.json().await.unwrap();
    let cookie = format!("theme=dark; sb_session={}", login["token"].as_str().unwrap());
    let csrf = login["csrf_token"].as_str().unwrap();

    // Reading needs no CSRF header.
    let read = server.get(SHARED).header("Cookie", &cookie).send().await.unwrap();
    assert_eq!(read.status(), StatusCode::OK);

    let contact = json!({ "first_name": "Ann", "last_name": "Lee" });
    let without = server.request(Method::POST, SHARED).header("Cookie", &cookie).json(&contact).send().await.unwrap();
    let refused = problem(without, StatusCode::FORBIDDEN).await;
    assert!(refused["detail"].as_str().unwrap().contains("X-CSRF-Token"));
    let wrong = server.request(Method::POST, SHARED).header("Cookie", &cookie).header("X-CSRF-Token", "0".repeat(32));
    problem(wrong.json(&contact).send().await.unwrap(), StatusCode::FORBIDDEN).await;

    let with = server.request(Method::POST, SHARED).header("Cookie", &cookie).header("X-CSRF-Token", csrf);
    assert_eq!(with.json(&contact).send().await.unwrap().status(), StatusCode::CREATED);
}

#[tokio::test]
async fn logout_ends_the_session_and_clears_the_cookie() {
    let server = spawn().await;
    let token = server.token("201").await;
    let response = server.request(Method::DELETE, "/api/v1/session").bearer_auth(&token).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let cleared = response.headers().get(SET_COOKIE).unwrap().to_str().unwrap();
    assert!(cleared.starts_with("sb_session=;") && cleared.contains("Max-Age=0"), "{cleared}");
    let after = server.get("/api/v1/session").bearer_auth(&token).send().await.unwrap();
    problem(after, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn api_tokens_are_shown_once_and_can_be_revoked() {
    let server = spawn().await;
    let session = server.token("201").await;
    let created =
        server.manager(Method::POST, "/api/v1/tokens", &session).json(&json!({ "name": "PBX" })).send().await.unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();
    let secret = created["secret"].as_str().unwrap();
    let id = created["id"].as_str().unwrap();

    let me = server.get("/api/v1/session").bearer_auth(secret).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    let list: Value = server.get("/api/v1/tokens").bearer_auth(&session).send().await.unwrap().json().await.unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert!(list["items"][0].get("secret").is_none());

    let unnamed =
        server.manager(Method::POST, "/api/v1/tokens", &session).json(&json!({ "name": " " })).send().await.unwrap();
    assert_eq!(fields(&problem(unnamed, StatusCode::UNPROCESSABLE_ENTITY).await), ["name"]);

    let revoked = server.manager(Method::DELETE, &format!("/api/v1/tokens/{id}"), &session).send().await.unwrap();
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    problem(server.get("/api/v1/session").bearer_auth(secret).send().await.unwrap(), StatusCode::UNAUTHORIZED).await;
}

// --- Contacts -----------------------------------------------------------------

#[tokio::test]
async fn creating_a_contact_answers_201_location_and_etag() {
    let server = spawn().await;
    let token = server.token("200").await;
    let input =
        json!({ "first_name": "Ann", "last_name": "Lee", "work_phone": "(206) 555-0100", "email": "ann@example.com" });
    let response = server.manager(Method::POST, SHARED, &token).json(&input).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers().get(LOCATION).unwrap().to_str().unwrap().to_string();
    assert_eq!(response.headers().get(ETAG).unwrap(), "\"1\"");
    let created: Value = response.json().await.unwrap();
    assert_eq!(location, format!("{SHARED}/{}", created["id"].as_str().unwrap()));
    assert_eq!(created["work_phone_e164"], "+12065550100");

    let fetched = server.manager(Method::GET, &location, &token).send().await.unwrap();
    assert_eq!(fetched.status(), StatusCode::OK);
    assert_eq!(fetched.headers().get(ETAG).unwrap(), "\"1\"");
    assert_eq!(fetched.json::<Value>().await.unwrap(), created);
}

#[tokio::test]
async fn if_match_refuses_a_stale_edit_with_412() {
    let server = spawn().await;
    let token = server.token("200").await;
    let created =
        server.manager(Method::POST, SHARED, &token).json(&json!({ "company": "Acme" })).send().await.unwrap();
    let url = created.headers().get(LOCATION).unwrap().to_str().unwrap().to_string();
    let patch = |if_match: &str, title: &str| {
        server.manager(Method::PATCH, &url, &token).header(IF_MATCH, if_match).json(&json!({ "title": title })).send()
    };

    let first = patch("\"1\"", "CEO").await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(first.headers().get(ETAG).unwrap(), "\"2\"");
    assert_eq!(first.json::<Value>().await.unwrap()["title"], "CEO");

    let stale = problem(patch("\"1\"", "CTO").await.unwrap(), StatusCode::PRECONDITION_FAILED).await;
    assert!(stale["detail"].as_str().unwrap().contains('2'), "{stale}");
    // The weak and the bare forms name a version too.
    assert_eq!(patch("W/\"2\"", "CFO").await.unwrap().status(), StatusCode::OK);
    assert_eq!(patch("3", "COO").await.unwrap().status(), StatusCode::OK);

    let garbled = problem(patch("yesterday", "CIO").await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(fields(&garbled), ["If-Match"]);
    let now: Value = server.manager(Method::GET, &url, &token).send().await.unwrap().json().await.unwrap();
    assert_eq!((now["title"].as_str(), now["version"].as_i64()), (Some("COO"), Some(4)));
}

#[tokio::test]
async fn an_exact_duplicate_answers_409() {
    let server = spawn().await;
    let token = server.token("200").await;
    let send = |body: Value| server.manager(Method::POST, SHARED, &token).json(&body).send();
    assert_eq!(
        send(json!({ "first_name": "Ann", "work_phone": "206 555 0100" })).await.unwrap().status(),
        StatusCode::CREATED
    );
    let again = send(json!({ "first_name": "ann", "work_phone": "+1 (206) 555-0100" })).await.unwrap();
    problem(again, StatusCode::CONFLICT).await;
    assert_eq!(shared_count(&server, &token).await, 1);
}

#[tokio::test]
async fn delete_answers_the_trashed_contact_for_undo() {
    let server = spawn().await;
    let token = server.token("200").await;
    let created =
        server.manager(Method::POST, SHARED, &token).json(&json!({ "company": "Acme" })).send().await.unwrap();
    let url = created.headers().get(LOCATION).unwrap().to_str().unwrap().to_string();

    let deleted = server.manager(Method::DELETE, &url, &token).send().await.unwrap();
    assert_eq!(deleted.status(), StatusCode::OK);
    let deleted: Value = deleted.json().await.unwrap();
    assert!(deleted["deleted_at"].is_string());
    problem(server.manager(Method::GET, &url, &token).send().await.unwrap(), StatusCode::NOT_FOUND).await;

    let trash: Value = server
        .manager(Method::GET, "/api/v1/domains/acme.example/trash", &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(trash["items"][0]["id"], deleted["id"]);

    let restored = server.manager(Method::POST, &format!("{url}/restore"), &token).send().await.unwrap();
    assert_eq!(restored.status(), StatusCode::OK);
    assert!(restored.json::<Value>().await.unwrap()["deleted_at"].is_null());
    let twice = server.manager(Method::POST, &format!("{url}/restore"), &token).send().await.unwrap();
    problem(twice, StatusCode::CONFLICT).await;
}

#[tokio::test]
async fn personal_contacts_belong_to_their_owner_alone() {
    let server = spawn().await;
    let owner = server.token("201").await;
    let mine = "/api/v1/domains/acme.example/users/201/contacts";
    let created =
        server.manager(Method::POST, mine, &owner).json(&json!({ "first_name": "Mum" })).send().await.unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let url = created.headers().get(LOCATION).unwrap().to_str().unwrap().to_string();
    assert!(url.starts_with(&format!("{mine}/")), "{url}");
    assert_eq!(server.manager(Method::GET, &url, &owner).send().await.unwrap().status(), StatusCode::OK);

    // Another user, even a manager, finds nothing there.
    let manager = server.token("200").await;
    problem(server.manager(Method::GET, mine, &manager).send().await.unwrap(), StatusCode::NOT_FOUND).await;
    problem(server.manager(Method::GET, &url, &manager).send().await.unwrap(), StatusCode::NOT_FOUND).await;
}

/// A group is created, read and changed through the API with its kind and members; members
/// on anyone but a group, a nameless group or a bad member are 422s naming the field.
#[tokio::test]
async fn groups_have_a_kind_and_members() {
    let server = spawn().await;
    let owner = server.token("201").await;
    let mine = "/api/v1/domains/acme.example/users/201/contacts";
    let members = json!(["urn:uuid:0b6c1a8e-5d21-4f3a-9e7c-2a1b3c4d5e6f", "urn:uuid:7f3e2d1c"]);
    let body = json!({ "first_name": "Book Club", "kind": "group", "members": members });
    let created = server.manager(Method::POST, mine, &owner).json(&body).send().await.unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let group: Value = created.json().await.unwrap();
    assert_eq!((&group["kind"], &group["members"]), (&json!("group"), &members));
    let person = server.manager(Method::POST, mine, &owner).json(&json!({ "first_name": "Ann" })).send().await;
    let person: Value = person.unwrap().json().await.unwrap();
    assert_eq!((&person["kind"], &person["members"]), (&json!("individual"), &json!([])));
    let company = json!({ "company": "Acme Plumbing" });
    let company: Value =
        server.manager(Method::POST, mine, &owner).json(&company).send().await.unwrap().json().await.unwrap();
    assert_eq!(company["kind"], json!("organization"), "a company with no person's name is a company card");

    let url = format!("{mine}/{}", group["id"].as_str().unwrap());
    let patch = json!({ "members": ["urn:uuid:7f3e2d1c"] });
    let changed = server.manager(Method::PATCH, &url, &owner).json(&patch).send().await.unwrap();
    assert_eq!(changed.status(), StatusCode::OK);
    assert_eq!(changed.json::<Value>().await.unwrap()["members"], json!(["urn:uuid:7f3e2d1c"]));

    let refused = [
        (json!({ "first_name": "Ann", "members": ["urn:uuid:1"] }), "members"),
        (json!({ "kind": "group", "email": "club@acme.example" }), "first_name"),
        (json!({ "first_name": "Club", "kind": "group", "members": ["ok", ""] }), "members[1]"),
        (json!({ "first_name": "Club", "kind": "team" }), "kind"),
    ];
    for (body, field) in refused {
        let answer = server.manager(Method::POST, mine, &owner).json(&body).send().await.unwrap();
        let problem = problem(answer, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert!(fields(&problem).iter().any(|f| f == field), "{field} in {problem}");
    }
    let page: Value = server.manager(Method::GET, mine, &owner).send().await.unwrap().json().await.unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 3, "the group, Ann and the company: nothing else written");
}

// --- Problems for bad input -------------------------------------------------------

#[tokio::test]
async fn bad_bodies_answer_precise_problems_and_write_nothing() {
    let server = spawn().await;
    let token = server.token("200").await;
    let raw = |content_type: &str, body: Vec<u8>| {
        server.manager(Method::POST, SHARED, &token).header(CONTENT_TYPE, content_type).body(body).send()
    };

    let malformed = problem(
        raw("application/json", b"{\n  \"first_name\": \"Ann\",\n}".to_vec()).await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(malformed["detail"].as_str().unwrap().contains("line 3 column 1"), "{malformed}");

    let unknown = problem(
        raw("application/json", br#"{"first_name": "Ann", "nick": "A"}"#.to_vec()).await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields(&unknown), ["nick"]);
    assert!(unknown["errors"][0]["message"].as_str().unwrap().starts_with("unknown field `nick`"));

    let wrong_type = problem(
        raw("application/json", br#"{"first_name": ["Ann"]}"#.to_vec()).await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields(&wrong_type), ["first_name"]);

    problem(raw("text/plain", br#"{"first_name": "Ann"}"#.to_vec()).await.unwrap(), StatusCode::UNSUPPORTED_MEDIA_TYPE)
        .await;

    let huge = format!(r#"{{"notes": "{}"}}"#, "x".repeat(10 * 1024 * 1024));
    problem(raw("application/json", huge.into_bytes()).await.unwrap(), StatusCode::PAYLOAD_TOO_LARGE).await;

    let invalid = json!({
        "first_name": "x".repeat(101),
        "email": "ann@",
        "mobile_phone": "206\u{7}555 0100",
    });
    let refused = problem(
        server.manager(Method::POST, SHARED, &token).json(&invalid).send().await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let mut named = fields(&refused);
    named.sort();
    assert_eq!(named, ["email", "first_name", "mobile_phone"]);

    assert_eq!(shared_count(&server, &token).await, 0, "nothing was written");
}

#[tokio::test]
async fn a_chunked_body_without_length_is_cut_at_the_limit() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let server = spawn_with(ServerConfig { max_body_bytes: 1024, ..Default::default() }).await;
    let token = server.token("200").await;
    // reqwest here cannot stream a body, so speak HTTP/1.1 by hand: no Content-Length,
    // so only the limit on the body as it is read can refuse it.
    let mut stream = tokio::net::TcpStream::connect(server.base.trim_start_matches("http://")).await.unwrap();
    let head = format!(
        "POST {SHARED} HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let chunk = format!("400\r\n{}\r\n", " ".repeat(1024));
    for _ in 0..4 {
        if stream.write_all(chunk.as_bytes()).await.is_err() {
            break; // the server may answer and close before reading everything
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("content-type: application/problem+json"), "{answer}");
}

#[tokio::test]
async fn bad_list_parameters_are_named() {
    let server = spawn().await;
    let token = server.token("200").await;
    let query = |q: &str| server.manager(Method::GET, &format!("{SHARED}?{q}"), &token).send();
    let sort = problem(query("sort=age").await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(fields(&sort), ["sort"]);
    let cursor = problem(query("cursor=not-ours").await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(fields(&cursor), ["cursor"]);
    let all = problem(query("limit=0&sort=-age").await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY).await;
    let mut named = fields(&all);
    named.sort();
    assert_eq!(named, ["limit", "sort"]);
    let group = "/api/v1/domains/acme.example/users/200/directory?group=martians";
    let group =
        problem(server.manager(Method::GET, group, &token).send().await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY)
            .await;
    assert_eq!(fields(&group), ["group"]);
}

/// A request with one bad value: method, path, headers, body, and the field to be named.
type BadRequest<'a> = (Method, &'a str, &'a [(&'a str, &'a str)], Option<&'a [u8]>, &'a str);

/// Every value of a query, path, header or body that the server refuses answers 422
/// naming it: the same status whichever extractor or use case refused it.
#[tokio::test]
async fn every_bad_value_answers_422_naming_it() {
    let server = spawn().await;
    let token = server.token("200").await;
    let cases: [BadRequest; 12] = [
        (Method::GET, "/api/v1/domains/acme.example/devices?limit=ten", &[], None, "limit"),
        (Method::GET, "/api/v1/domains/acme.example/devices?limit=0", &[], None, "limit"),
        (Method::GET, "/api/v1/domains/acme.example/shared-contacts?limit=", &[], None, "limit"),
        (Method::GET, "/api/v1/domains/acme.example/shared-contacts/export?format=", &[], None, "format"),
        (Method::GET, "/api/v1/domains/a..b/shared-contacts", &[], None, "domain"),
        (Method::GET, "/api/v1/domains/acme.example/users/20x", &[], None, "ext"),
        (Method::GET, "/api/v1/domains/acme.example/shared-contacts/not-a-uuid", &[], None, "id"),
        (Method::GET, "/api/v1/domains/acme.example/scopes/boss/settings", &[], None, "scope"),
        (Method::POST, "/api/v1/domains/acme.example/shared-contacts/import?dry_run=1", &[], Some(b"x"), "dry_run"),
        (
            Method::PATCH,
            "/api/v1/domains/acme.example/users/201",
            &[("if-match", "\"1"), ("content-type", "application/json")],
            Some(b"{}"),
            "If-Match",
        ),
        (Method::POST, SHARED, &[("content-type", "application/json")], Some(br#"{"first_name": 7}"#), "first_name"),
        (Method::POST, SHARED, &[("content-type", "application/json")], Some(b"{\"first_name\": "), ""),
    ];
    for (method, path, headers, body, field) in cases {
        let mut request = server.manager(method.clone(), path, &token);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.body(body.to_vec());
        }
        let answer = request.send().await.unwrap();
        assert_eq!(answer.status(), StatusCode::UNPROCESSABLE_ENTITY, "{method} {path}");
        let refused = problem(answer, StatusCode::UNPROCESSABLE_ENTITY).await;
        let named = fields(&refused);
        assert_eq!(named.first().map(String::as_str).unwrap_or_default(), field, "{method} {path}: {refused}");
    }
}

#[tokio::test]
async fn paging_follows_next_cursor() {
    let server = spawn().await;
    let token = server.token("200").await;
    for name in ["Ann", "Bob", "Cy"] {
        let created =
            server.manager(Method::POST, SHARED, &token).json(&json!({ "first_name": name })).send().await.unwrap();
        assert_eq!(created.status(), StatusCode::CREATED);
    }
    let first: Value =
        server.manager(Method::GET, &format!("{SHARED}?limit=2"), &token).send().await.unwrap().json().await.unwrap();
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let cursor = first["next_cursor"].as_str().unwrap();
    let next = format!("{SHARED}?limit=2&cursor={cursor}");
    let second: Value = server.manager(Method::GET, &next, &token).send().await.unwrap().json().await.unwrap();
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
    assert!(second["next_cursor"].is_null());
}

#[tokio::test]
async fn what_does_not_exist_answers_a_problem() {
    let server = spawn().await;
    let token = server.token("200").await;
    let absent = format!("{SHARED}/{}", uuid::Uuid::now_v7());
    problem(server.manager(Method::GET, &absent, &token).send().await.unwrap(), StatusCode::NOT_FOUND).await;
    problem(
        server.manager(Method::GET, "/api/v1/domains/other.example/shared-contacts", &token).send().await.unwrap(),
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(server.get("/no/such/route").send().await.unwrap(), StatusCode::NOT_FOUND).await;
    let wrong_method = server.manager(Method::PUT, SHARED, &token).send().await.unwrap();
    assert!(wrong_method.headers().get("allow").is_some());
    problem(wrong_method, StatusCode::METHOD_NOT_ALLOWED).await;
}

// --- Users, domains, settings, directory ---------------------------------------------

#[tokio::test]
async fn users_are_created_with_location_and_edited_with_if_match() {
    let server = spawn().await;
    let token = server.token("200").await;
    let users = "/api/v1/domains/acme.example/users";
    let created = server
        .manager(Method::POST, users, &token)
        .json(&json!({ "extension": "210", "first_name": "Dee" }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let url = created.headers().get(LOCATION).unwrap().to_str().unwrap().to_string();
    assert_eq!(url, format!("{users}/210"));
    let body: Value = created.json().await.unwrap();
    assert!(body["generated_password"].as_str().is_some_and(|p| p.len() >= 16));

    let fetched = server.manager(Method::GET, &url, &token).send().await.unwrap();
    let etag = fetched.headers().get(ETAG).unwrap().to_str().unwrap().to_string();
    let patch = |if_match: &str| {
        server.manager(Method::PATCH, &url, &token).header(IF_MATCH, if_match).json(&json!({ "site": "Paris" })).send()
    };
    assert_eq!(patch(&etag).await.unwrap().status(), StatusCode::OK);
    problem(patch(&etag).await.unwrap(), StatusCode::PRECONDITION_FAILED).await;

    let bad = json!({ "extension": "211", "email": "dee@", "first_name": "y".repeat(300) });
    let refused = problem(
        server.manager(Method::POST, users, &token).json(&bad).send().await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let mut named = fields(&refused);
    named.sort();
    assert_eq!(named, ["email", "first_name"]);
    problem(server.manager(Method::GET, &format!("{users}/211"), &token).send().await.unwrap(), StatusCode::NOT_FOUND)
        .await;

    let duplicate =
        server.manager(Method::POST, users, &token).json(&json!({ "extension": "210" })).send().await.unwrap();
    problem(duplicate, StatusCode::CONFLICT).await;

    // A basic user may not manage others.
    let basic = server.token("201").await;
    let denied = server.manager(Method::POST, users, &basic).json(&json!({ "extension": "212" })).send().await.unwrap();
    problem(denied, StatusCode::FORBIDDEN).await;
}

#[tokio::test]
async fn domains_are_listed_and_shown() {
    let server = spawn().await;
    let token = server.token("200").await;
    let list: Value =
        server.manager(Method::GET, "/api/v1/domains", &token).send().await.unwrap().json().await.unwrap();
    assert_eq!(list["items"][0]["name"], DOMAIN);
    assert_eq!(list["items"][0]["default_country"], "US");
    let one = server.manager(Method::GET, "/api/v1/domains/acme.example", &token).send().await.unwrap();
    assert_eq!(one.status(), StatusCode::OK);
    let created = server
        .manager(Method::POST, "/api/v1/domains", &token)
        .json(&json!({ "name": "new.example" }))
        .send()
        .await
        .unwrap();
    problem(created, StatusCode::FORBIDDEN).await;
}

#[tokio::test]
async fn settings_are_set_removed_and_checked() {
    let server = spawn().await;
    let token = server.token("200").await;
    let url = "/api/v1/domains/acme.example/settings";
    let put = |body: Value| server.manager(Method::PUT, url, &token).json(&body).send();

    let set: Value = put(json!({ "DEFAULT_COUNTRY": "GB" })).await.unwrap().json().await.unwrap();
    assert_eq!(set["values"]["DEFAULT_COUNTRY"], "GB");
    assert_eq!(set["effective"]["DEFAULT_COUNTRY"], "GB");
    let removed: Value = put(json!({ "DEFAULT_COUNTRY": null })).await.unwrap().json().await.unwrap();
    assert!(removed["values"].get("DEFAULT_COUNTRY").is_none());

    let not_text =
        problem(put(json!({ "DEFAULT_COUNTRY": 44 })).await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(fields(&not_text), ["DEFAULT_COUNTRY"]);

    let effective = server
        .manager(Method::GET, "/api/v1/domains/acme.example/users/201/settings/effective", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(effective.json::<Value>().await.unwrap()["DEFAULT_COUNTRY"], "US");
    let scope = server
        .manager(Method::GET, "/api/v1/domains/acme.example/scopes/basic-user/settings", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(scope.status(), StatusCode::OK);

    let basic = server.token("201").await;
    problem(server.manager(Method::GET, url, &basic).send().await.unwrap(), StatusCode::FORBIDDEN).await;
    problem(
        server.manager(Method::GET, "/api/v1/system/settings", &token).send().await.unwrap(),
        StatusCode::FORBIDDEN,
    )
    .await;
}

#[tokio::test]
async fn the_directory_merges_coworkers_and_contacts_with_favorites_and_presence() {
    let server = spawn().await;
    let manager = server.token("200").await;
    let created = server
        .manager(Method::POST, SHARED, &manager)
        .json(&json!({ "company": "Plumbers Inc" }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);

    let me = server.token("201").await;
    let base = "/api/v1/domains/acme.example/users/201";
    let directory: Value =
        server.manager(Method::GET, &format!("{base}/directory"), &me).send().await.unwrap().json().await.unwrap();
    let items = directory["items"].as_array().unwrap();
    let kinds: Vec<&str> = items.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"coworker") && kinds.contains(&"shared"), "{kinds:?}");

    let coworker = items.iter().find(|e| e["extension"] == "202").unwrap()["id"].as_str().unwrap().to_string();
    let star = server.manager(Method::PUT, &format!("{base}/favorites/{coworker}"), &me).send().await.unwrap();
    assert_eq!(star.status(), StatusCode::NO_CONTENT);
    let favorites: Value = server
        .manager(Method::GET, &format!("{base}/directory?group=favorites"), &me)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(favorites["items"].as_array().unwrap().len(), 1);
    let unstar = server.manager(Method::DELETE, &format!("{base}/favorites/{coworker}"), &me).send().await.unwrap();
    assert_eq!(unstar.status(), StatusCode::NO_CONTENT);

    let departments: Value = server
        .manager(Method::GET, &format!("{base}/directory/departments"), &me)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(departments, json!({ "items": ["Sales", "Support"] }));
    let sites = server.manager(Method::GET, &format!("{base}/directory/sites"), &me).send().await.unwrap();
    assert!(sites.json::<Value>().await.unwrap()["items"].is_array());

    let presence = json!({ "state": "busy", "chat": true, "message": "In a meeting" });
    let set = server.manager(Method::PUT, &format!("{base}/presence"), &me).json(&presence).send().await.unwrap();
    assert_eq!(set.status(), StatusCode::OK);
    let shown = json!({ "state": "busy", "chat": true, "message": "In a meeting", "chat_away": false,
        "manual_state": "busy", "line": null });
    assert_eq!(set.json::<Value>().await.unwrap(), shown, "set by hand, no line, no session");
    let bad = server
        .manager(Method::PUT, &format!("{base}/presence"), &me)
        .json(&json!({ "state": "asleep" }))
        .send()
        .await
        .unwrap();
    assert_eq!(fields(&problem(bad, StatusCode::UNPROCESSABLE_ENTITY).await), ["state"]);

    // Someone else's directory is not there to see.
    let other = "/api/v1/domains/acme.example/users/202/directory";
    problem(server.manager(Method::GET, other, &me).send().await.unwrap(), StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn the_audit_log_pages_newest_first_for_managers_only() {
    let server = spawn().await;
    let token = server.token("200").await;
    for company in ["Acme", "Globex"] {
        let created =
            server.manager(Method::POST, SHARED, &token).json(&json!({ "company": company })).send().await.unwrap();
        assert_eq!(created.status(), StatusCode::CREATED);
    }
    let audit = "/api/v1/domains/acme.example/audit";
    let first: Value =
        server.manager(Method::GET, &format!("{audit}?limit=1"), &token).send().await.unwrap().json().await.unwrap();
    assert_eq!(first["items"].as_array().unwrap().len(), 1);
    assert_eq!(first["items"][0]["action"], "contact.create");
    assert_eq!(first["items"][0]["actor"], "200@acme.example");
    let cursor = first["next_cursor"].as_str().expect("more entries");
    let next = server.manager(Method::GET, &format!("{audit}?limit=1&cursor={cursor}"), &token).send().await.unwrap();
    let next: Value = next.json().await.unwrap();
    assert_ne!(next["items"][0]["id"], first["items"][0]["id"]);

    let bad = server.manager(Method::GET, &format!("{audit}?cursor=nope&limit=x"), &token).send().await.unwrap();
    let bad = problem(bad, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(!fields(&bad).is_empty());
    let basic = server.token("201").await;
    problem(server.manager(Method::GET, audit, &basic).send().await.unwrap(), StatusCode::FORBIDDEN).await;
}

// --- Operations and docs -------------------------------------------------------

#[tokio::test]
async fn healthz_answers_ok() {
    let server = spawn().await;
    let response = server.get("/healthz").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.json::<Value>().await.unwrap(), json!({ "status": "ok" }));
}

#[tokio::test]
async fn metrics_count_requests_by_route_template() {
    let server = spawn().await;
    let token = server.token("200").await;
    let absent = format!("{SHARED}/{}", uuid::Uuid::now_v7());
    server.manager(Method::GET, &absent, &token).send().await.unwrap();
    server.get("/healthz").send().await.unwrap();
    let text = server.get("/metrics").send().await.unwrap().text().await.unwrap();
    let has = |needle: &str| assert!(text.contains(needle), "`{needle}` missing from:\n{text}");
    has(r#"http_requests_total{method="GET",route="/api/v1/domains/{domain}/shared-contacts/{id}",status="404"} 1"#);
    has(r#"http_requests_total{method="POST",route="/api/v1/session",status="200"} 1"#);
    has(r#"http_requests_total{method="GET",route="/healthz",status="200"} 1"#);
    has("http_request_duration_seconds_bucket{");
    has(r#"db_pool_connections{state="in_use"}"#);
    has(r#"db_pool_connections{state="idle"}"#);
    assert!(!text.contains(&absent), "raw paths must not become labels");
}

#[tokio::test]
async fn the_openapi_document_and_swagger_ui_are_served() {
    let server = spawn().await;
    let served = server.get("/api/v1/openapi.json").send().await.unwrap().text().await.unwrap();
    assert_eq!(served, switchboard_server::openapi_json());
    let page = server.get("/api/docs").send().await.unwrap().text().await.unwrap();
    assert!(page.contains("/api/docs/swagger-ui-bundle.js"));
    for asset in ["/api/docs/swagger-ui-bundle.js", "/api/docs/swagger-ui.css", "/api/docs/init.js"] {
        let response = server.get(asset).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{asset}");
    }
    let init = server.get("/api/docs/init.js").send().await.unwrap().text().await.unwrap();
    assert!(init.contains("/api/v1/openapi.json"));
}

// --- Live events ---------------------------------------------------------------

/// An open `GET /api/v1/events`.
async fn open_events(server: &Server, token: &str) -> EventStream {
    let response = server.manager(Method::GET, "/api/v1/events", token).send().await.unwrap();
    EventStream::new(response)
}

#[tokio::test]
async fn an_open_event_stream_hears_a_colleague_add_a_shared_contact() {
    let server = spawn().await;
    let (manager, colleague) = (server.token("200").await, server.token("201").await);
    let mut events = open_events(&server, &colleague).await;
    let created = server.manager(Method::POST, SHARED, &manager).json(&json!({ "company": "Globex" })).send().await;
    let id = created.unwrap().json::<Value>().await.unwrap()["id"].clone();
    let (name, data) = events.next().await.expect("an event");
    assert_eq!(name, "contact");
    assert_eq!(data, json!({ "kind": "contact", "book": "shared", "contact_id": id, "action": "created" }));
}

#[tokio::test]
async fn the_event_stream_takes_the_session_cookie_and_refuses_strangers() {
    let server = spawn().await;
    let token = server.token("201").await;
    let anonymous = server.get("/api/v1/events").send().await.unwrap();
    problem(anonymous, StatusCode::UNAUTHORIZED).await;
    // A GET changes nothing, so the cookie needs no CSRF header.
    let cookie = server.get("/api/v1/events").header("cookie", format!("sb_session={token}")).send().await.unwrap();
    assert_eq!(cookie.status(), StatusCode::OK);
}

#[tokio::test]
async fn shutting_down_ends_open_event_streams() {
    let server = spawn().await;
    let token = server.token("201").await;
    let mut events = open_events(&server, &token).await;
    drop(server._stop);
    assert_eq!(events.next().await, None, "the stream ends instead of holding the shutdown open");
}
