//! Caller-ID look-ups and call blocking over real HTTP, on SQLite and on PostgreSQL:
//! the JSON a PBX reads, status codes and field errors, block and allow lists, and the
//! plain-text look-up a phone makes with its device credential.

use std::sync::Arc;

use reqwest::header::{ACCEPT, CONTENT_TYPE, LOCATION};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};
use switchboard_app::{App, AppConfig, BookRef, Caller, ContactInput, DeviceInput, DomainInput, UserInput};
use switchboard_server::ServerConfig;
use switchboard_store::{PostgresStore, SqliteStore, Store};

const PASSWORD: &str = "correct horse battery";
const ACME: &str = "acme.example";
const OTHER: &str = "other.example";

/// acme.example: 200 manages, 201 and 202 are basic users, 203 is not listed.
const PEOPLE: [(&str, &str, &str, bool); 4] = [
    ("200", "Olivia", "office-manager", true),
    ("201", "Ben", "basic-user", true),
    ("202", "Rita", "basic-user", true),
    ("203", "Una", "basic-user", false),
];

struct Server {
    base: String,
    client: reqwest::Client,
    app: App,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn spawn(store: Arc<dyn Store>) -> Server {
    let app = App::new(store, AppConfig::default());
    for name in [ACME, OTHER] {
        app.create_domain(&Caller::System, DomainInput { name: name.into(), ..Default::default() }).await.unwrap();
    }
    for (ext, first, scope, listed) in PEOPLE {
        let user = UserInput {
            extension: ext.into(),
            first_name: first.into(),
            last_name: "Tester".into(),
            scope: Some(scope.into()),
            listed: Some(listed),
            password: Some(PASSWORD.into()),
            ..Default::default()
        };
        app.create_user(&Caller::System, ACME, user).await.unwrap();
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(switchboard_server::serve(listener, app.clone(), ServerConfig::default(), async {
        let _ = stopped.await;
    }));
    Server { base, client: reqwest::Client::new(), app, _stop: stop }
}

fn person(first: &str, work_phone: &str) -> ContactInput {
    ContactInput {
        first_name: first.into(),
        last_name: "Contact".into(),
        work_phone: work_phone.into(),
        ..Default::default()
    }
}

impl Server {
    async fn token(&self, ext: &str) -> String {
        let body = json!({ "username": format!("{ext}@{ACME}"), "password": PASSWORD });
        let response = self.client.post(format!("{}/api/v1/session", self.base)).json(&body).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_string()
    }

    fn request(&self, method: Method, token: &str, path: &str) -> RequestBuilder {
        self.client.request(method, format!("{}{path}", self.base)).bearer_auth(token)
    }

    /// The status and JSON body of a GET.
    async fn get(&self, token: &str, path: &str) -> (StatusCode, Value) {
        let response = self.request(Method::GET, token, path).send().await.unwrap();
        (response.status(), response.json().await.unwrap_or(Value::Null))
    }

    async fn send(&self, method: Method, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
        let response = self.request(method, token, path).json(&body).send().await.unwrap();
        (response.status(), response.json().await.unwrap_or(Value::Null))
    }

    async fn lookup(&self, token: &str, number: &str) -> Value {
        let path = format!("/api/v1/domains/{ACME}/lookup?number={}", urlencode(number));
        let (status, body) = self.get(token, &path).await;
        assert_eq!(status, StatusCode::OK, "{number}: {body}");
        body
    }

    async fn add(&self, book: BookRef, first: &str, number: &str) -> String {
        self.app.create_contact(&Caller::System, &book, person(first, number)).await.unwrap().id.to_string()
    }
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

fn shared() -> BookRef {
    BookRef::Shared { domain: ACME.into() }
}

async fn lookups_answer_in_json(server: Server) {
    let ben = server.token("201").await;
    for stored in ["+1 (206) 555-0100", "206.555.0100", "12065550100"] {
        let id = server.add(shared(), "Sam", stored).await;
        for calling in ["+12065550100", "2065550100", "12065550100", "+1 (206) 555-0100", "206.555.0100"] {
            let answer = server.lookup(&ben, calling).await;
            assert_eq!(answer["name"], "Sam Contact", "{calling} calling, {stored} stored");
            assert_eq!(answer["rule"], "exact_e164");
            assert_eq!(
                answer["entry"],
                json!({ "kind": "shared", "id": id, "number_type": "work", "number": stored, "label": "Work" })
            );
            assert_eq!(answer["number"]["e164"], "+12065550100");
            assert_eq!(answer["display"], "(206) 555-0100", "shown nationally in an American domain");
        }
        assert_eq!(server.lookup(&ben, "5550100").await["rule"], "trailing_digits");
        server.app.delete_contact(&Caller::System, &shared(), id.parse().unwrap()).await.unwrap();
    }

    server.add(shared(), "Seattle", "+1 206 555 0100").await;
    server.add(shared(), "Redmond", "+1 425 555 0100").await;
    let ambiguous = server.lookup(&ben, "5550100").await;
    assert_eq!(
        (&ambiguous["name"], &ambiguous["entry"], &ambiguous["ambiguous"], &ambiguous["candidates"]),
        (&Value::Null, &Value::Null, &json!(true), &json!(2))
    );
    let personal = BookRef::Personal { domain: ACME.into(), extension: "201".into() };
    server.add(personal, "Mom", "(206) 555-0100").await;
    let answer = server.lookup(&ben, "+12065550100").await;
    assert_eq!((&answer["name"], &answer["entry"]["kind"]), (&json!("Mom Contact"), &json!("personal")));
    let abroad = server.lookup(&ben, "+44 (0)20 7946 0958 x12").await;
    assert_eq!(abroad["display"], "+44 20 7946 0958 ext. 12", "internationally, the extension after it");
    let coworker = server.lookup(&ben, "202").await;
    assert_eq!(coworker["display"], "202", "an extension as it is");
    assert_eq!((&coworker["name"], &coworker["rule"]), (&json!("Rita Tester"), &json!("extension")));
    assert_eq!(coworker["entry"]["kind"], "coworker");
    let unlisted = server.lookup(&ben, "203").await;
    assert_eq!(
        (&unlisted["name"], &unlisted["rule"], &unlisted["blocked"]),
        (&Value::Null, &json!("none"), &json!(false))
    );

    // Another user's view: their managers may look, not their coworkers.
    let olivia = server.token("200").await;
    let for_ben = format!("/api/v1/domains/{ACME}/lookup?number=%2B12065550100&user=201");
    let (status, answer) = server.get(&olivia, &for_ben).await;
    let seattle = json!("Seattle Contact");
    assert_eq!((status, &answer["name"]), (StatusCode::OK, &seattle), "a manager skips Ben's own contacts: {answer}");
    let rita = server.token("202").await;
    assert_eq!(server.get(&rita, &for_ben).await.0, StatusCode::NOT_FOUND);

    // Bad input and foreign places.
    let (status, problem) = server.get(&ben, &format!("/api/v1/domains/{ACME}/lookup?number=call%20me")).await;
    assert_eq!((status, &problem["errors"][0]["field"]), (StatusCode::UNPROCESSABLE_ENTITY, &json!("number")));
    assert_eq!(server.get(&ben, &format!("/api/v1/domains/{ACME}/lookup")).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(server.get(&ben, &format!("/api/v1/domains/{OTHER}/lookup?number=200")).await.0, StatusCode::NOT_FOUND);
    let anonymous = server.client.get(format!("{}/api/v1/domains/{ACME}/lookup?number=200", server.base));
    assert_eq!(anonymous.send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
}

async fn block_and_allow_lists_over_http(server: Server) {
    let (olivia, ben) = (server.token("200").await, server.token("201").await);
    let blocked = format!("/api/v1/domains/{ACME}/blocked-numbers");
    let response = server
        .request(Method::POST, &olivia, &blocked)
        .json(&json!({ "number": "(206) 555-0166", "note": "robocalls" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()[LOCATION].to_str().unwrap().to_string();
    let spam: Value = response.json().await.unwrap();
    assert_eq!(
        (&spam["kind"], &spam["pattern"], &spam["note"]),
        (&json!("number"), &json!("+12065550166"), &json!("robocalls"))
    );
    assert_eq!(location, format!("{blocked}/{}", spam["id"].as_str().unwrap()));
    let (status, premium) = server.send(Method::POST, &olivia, &blocked, json!({ "prefix": "+1 900" })).await;
    assert_eq!(
        (status, &premium["pattern"], &premium["kind"]),
        (StatusCode::CREATED, &json!("+1900"), &json!("prefix"))
    );

    // Refusals: clear messages, nothing written.
    let (status, problem) = server.send(Method::POST, &olivia, &blocked, json!({ "prefix": "1900" })).await;
    assert_eq!((status, &problem["errors"][0]["field"]), (StatusCode::UNPROCESSABLE_ENTITY, &json!("prefix")));
    assert!(problem["errors"][0]["message"].as_str().unwrap().contains("+1900"), "{problem}");
    let (status, _) = server.send(Method::POST, &olivia, &blocked, json!({ "number": "+1 206 555 0166" })).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = server.send(Method::POST, &olivia, &blocked, json!({ "number": "1", "colour": "red" })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "unknown fields are refused");
    assert_eq!(server.send(Method::POST, &ben, &blocked, json!({ "prefix": "+44" })).await.0, StatusCode::FORBIDDEN);

    // Everyone in the domain reads the list, a page at a time.
    let (status, page) = server.get(&ben, &format!("{blocked}?limit=1")).await;
    assert_eq!((status, page["items"].as_array().unwrap().len()), (StatusCode::OK, 1));
    let cursor = page["next_cursor"].as_str().unwrap();
    let (_, rest) = server.get(&ben, &format!("{blocked}?limit=1&cursor={cursor}")).await;
    assert_eq!((&rest["items"][0]["pattern"], &rest["next_cursor"]), (&json!("+1900"), &Value::Null));
    assert_eq!(server.get(&ben, &format!("{blocked}?limit=0")).await.0, StatusCode::UNPROCESSABLE_ENTITY);

    let answer = server.lookup(&ben, "206-555-0166").await;
    assert_eq!((&answer["blocked"], &answer["blocked_by"]["id"]), (&json!(true), &spam["id"]));
    let premium_call = server.lookup(&ben, "+1 900 555 0100").await;
    assert_eq!(premium_call["blocked_by"]["pattern"], "+1900");

    // Ben lets the blocked number through for himself.
    let allowed = format!("/api/v1/domains/{ACME}/users/201/allowed-numbers");
    let (status, entry) = server.send(Method::POST, &ben, &allowed, json!({ "number": "+1 206 555 0166" })).await;
    assert_eq!((status, &entry["number"]), (StatusCode::CREATED, &json!("+12065550166")));
    let answer = server.lookup(&ben, "+12065550166").await;
    assert_eq!((&answer["blocked"], &answer["allowed_by"]["id"]), (&json!(false), &entry["id"]));
    assert_eq!(answer["blocked_by"]["id"], spam["id"], "the block it overrides is named too");
    let rita = server.token("202").await;
    assert_eq!(server.lookup(&rita, "+12065550166").await["blocked"], true);
    assert_eq!(server.get(&rita, &allowed).await.0, StatusCode::NOT_FOUND, "someone else's allow list");
    let (status, list) = server.get(&olivia, &allowed).await;
    assert_eq!((status, list["items"].as_array().unwrap().len()), (StatusCode::OK, 1), "a manager reads it");

    let entry_url = format!("{allowed}/{}", entry["id"].as_str().unwrap());
    assert_eq!(server.request(Method::DELETE, &ben, &entry_url).send().await.unwrap().status(), StatusCode::NO_CONTENT);
    assert_eq!(server.request(Method::DELETE, &ben, &entry_url).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    assert_eq!(server.request(Method::DELETE, &ben, &location).send().await.unwrap().status(), StatusCode::FORBIDDEN);
    assert_eq!(
        server.request(Method::DELETE, &olivia, &location).send().await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(server.lookup(&ben, "+12065550166").await["blocked"], false);
}

async fn phones_look_up_with_their_device_token(server: Server) {
    server.add(shared(), "Sam", "+1 206 555 0100").await;
    server.add(BookRef::Personal { domain: ACME.into(), extension: "201".into() }, "Mom", "+1 206 555 0142").await;
    let device = |user: Option<&str>| DeviceInput {
        name: format!("desk {user:?}"),
        user: user.map(str::to_string),
        ..Default::default()
    };
    let bens = server.app.create_device(&Caller::System, ACME, device(Some("201"))).await.unwrap().token;
    let lobby = server.app.create_device(&Caller::System, ACME, device(None)).await.unwrap().token;
    let phone = async |token: &str, number: &str, accept: &str| {
        let url = format!("{}/phonebook/{token}/lookup?number={}", server.base, urlencode(number));
        let response = server.client.get(url).header(ACCEPT, accept).send().await.unwrap();
        let content_type = response.headers().get(CONTENT_TYPE).map(|v| v.to_str().unwrap().to_string());
        (response.status(), content_type.unwrap_or_default(), response.text().await.unwrap())
    };
    let (status, content_type, name) = phone(&bens, "206.555.0100", "*/*").await;
    assert_eq!((status, name.as_str()), (StatusCode::OK, "Sam Contact"));
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    // Set up by the operator, Ben's phone names callers from his own contacts only once he
    // says so; his manager cannot say it for him.
    assert_eq!(phone(&bens, "2065550142", "*/*").await.2, "", "not before Ben agreed");
    let sharing = "/api/v1/domains/acme.example/users/201/phone-sharing";
    let (olivia, ben) = (server.token("200").await, server.token("201").await);
    let agree = json!({ "own_contacts": true });
    let refused = server.request(Method::PUT, &olivia, sharing).json(&agree).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::NOT_FOUND, "a manager cannot agree for Ben");
    let read = server.request(Method::GET, &olivia, sharing).send().await.unwrap();
    assert_eq!(read.status(), StatusCode::NOT_FOUND);
    assert_eq!(phone(&bens, "2065550142", "*/*").await.2, "");
    let odd = server.request(Method::PUT, &ben, sharing).json(&json!({ "own_contacts": "yes" })).send().await.unwrap();
    assert_eq!(odd.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let agreed = server.request(Method::PUT, &ben, sharing).json(&agree).send().await.unwrap();
    assert_eq!((agreed.status(), agreed.json::<Value>().await.unwrap()), (StatusCode::OK, agree.clone()));
    let read = server.request(Method::GET, &ben, sharing).send().await.unwrap();
    assert_eq!(read.json::<Value>().await.unwrap(), agree);
    assert_eq!(phone(&bens, "2065550142", "*/*").await.2, "Mom Contact", "the bound user's own contacts");
    assert_eq!(phone(&lobby, "2065550142", "*/*").await.2, "", "an unbound device: the domain's view");
    let (_, content_type, body) = phone(&bens, "+12065550142", "application/json").await;
    assert!(content_type.starts_with("application/json"), "{content_type}");
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert_eq!((&answer["name"], &answer["entry"]["kind"]), (&json!("Mom Contact"), &json!("personal")));
    assert_eq!(phone("sbd_wrong", "2065550100", "*/*").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(phone(&bens, "not a number", "*/*").await.0, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn sqlite() -> Server {
    spawn(Arc::new(SqliteStore::open_in_memory().await.unwrap())).await
}

async fn postgres() -> Server {
    let url = switchboard_store::testing::fresh_postgres_database().await;
    spawn(Arc::new(PostgresStore::connect(&url).await.unwrap())).await
}

/// Each scenario as two tests, one per back-end.
macro_rules! on_both_backends {
    ($($scenario:ident),* $(,)?) => {
        mod on_sqlite {
            $(#[tokio::test]
            async fn $scenario() {
                super::$scenario(super::sqlite().await).await;
            })*
        }
        mod on_postgres {
            $(#[tokio::test]
            async fn $scenario() {
                super::$scenario(super::postgres().await).await;
            })*
        }
    };
}

on_both_backends!(lookups_answer_in_json, block_and_allow_lists_over_http, phones_look_up_with_their_device_token);
