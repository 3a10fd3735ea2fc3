//! Presence that reflects reality, over HTTP on SQLite and PostgreSQL: a PBX credential
//! reports many lines in one call and people show busy or available from them; a state
//! set by hand wins until cleared; the credential can do nothing else, anywhere; bad
//! batches are refused whole and a flood is slowed; chat availability follows open event
//! streams (on, away, off; two streams count once); a change reaches an open stream.

mod support;

use std::time::Duration;

use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};
use support::{Backend, Person, Server, on_both_backends};
use switchboard_app::{AppConfig, Caller, DomainInput, RateLimit, UserInput};
use switchboard_server::ServerConfig;

on_both_backends!(
    a_pbx_reports_many_lines_and_busy_is_derived,
    a_state_set_by_hand_wins_until_cleared,
    a_pbx_credential_can_do_nothing_else,
    bad_batches_are_refused_whole_and_a_flood_is_slowed,
    chat_follows_open_streams,
    a_line_change_reaches_an_open_page_within_a_second,
    a_portal_page_is_a_session_and_reports_activity,
);

const PEOPLE: [Person; 4] = [
    Person { ext: "200", scope: "office-manager", first_name: "Olivia", department: "", site: "" },
    Person { ext: "201", scope: "basic-user", first_name: "Ben", department: "", site: "" },
    Person { ext: "202", scope: "basic-user", first_name: "Hana", department: "", site: "" },
    Person { ext: "203", scope: "basic-user", first_name: "Ivo", department: "", site: "" },
];

const LINES: &str = "/api/v1/domains/acme.example/presence/lines";
const CREDENTIALS: &str = "/api/v1/domains/acme.example/pbx-credentials";

async fn spawn(backend: Backend, config: AppConfig) -> Server {
    support::spawn_with(backend, &PEOPLE, ServerConfig::default(), config).await
}

/// A PBX credential made by the office manager through the API: its secret.
async fn pbx_secret(server: &Server) -> String {
    let olivia = server.token("200").await;
    let (status, created) =
        server.call(Method::POST, &olivia, CREDENTIALS, Some(json!({ "name": "Main office PBX" }))).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let secret = created["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("sbp_"), "{secret}");
    secret
}

async fn report(server: &Server, pbx: &str, lines: &[(&str, &str)]) -> (StatusCode, Value) {
    let lines: Vec<Value> = lines.iter().map(|(ext, state)| json!({ "ext": ext, "state": state })).collect();
    server.call(Method::POST, pbx, LINES, Some(json!({ "lines": lines }))).await
}

/// `ext`'s presence in `viewer`'s directory.
async fn presence_of(server: &Server, viewer: (&str, &str), ext: &str) -> Value {
    let path = format!("/api/v1/domains/acme.example/users/{}/directory?group=coworkers&limit=100", viewer.0);
    let (status, page) = server.call(Method::GET, viewer.1, &path, None).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let entry = page["items"].as_array().unwrap().iter().find(|e| e["extension"] == ext).cloned();
    entry.unwrap_or_else(|| panic!("{ext} in {page}"))["presence"].clone()
}

fn shown(presence: &Value) -> (&str, bool, &Value) {
    (presence["state"].as_str().unwrap(), presence["chat"].as_bool().unwrap(), &presence["line"])
}

async fn a_pbx_reports_many_lines_and_busy_is_derived(backend: Backend) {
    let server = spawn(backend, AppConfig::default()).await;
    let pbx = pbx_secret(&server).await;
    let batch = [("201", "on_call"), ("202", "idle"), ("203", "ringing"), ("999", "idle"), ("200", "dnd")];
    let (status, answer) = report(&server, &pbx, &batch).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let results: Vec<(&str, &str)> = answer["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["ext"].as_str().unwrap(), l["result"].as_str().unwrap()))
        .collect();
    assert_eq!(
        results,
        [
            ("201", "recorded"),
            ("202", "recorded"),
            ("203", "recorded"),
            ("999", "unknown_extension"),
            ("200", "recorded")
        ]
    );
    assert_eq!(answer["changed"], 4);

    let hana = server.token("202").await;
    let viewer = ("202", hana.as_str());
    assert_eq!(shown(&presence_of(&server, viewer, "201").await), ("busy", false, &json!("on_call")));
    assert_eq!(shown(&presence_of(&server, viewer, "203").await), ("busy", false, &json!("ringing")));
    assert_eq!(shown(&presence_of(&server, viewer, "200").await), ("busy", false, &json!("dnd")));
    let ben = server.token("201").await;
    assert_eq!(shown(&presence_of(&server, ("201", &ben), "202").await), ("available", false, &json!("idle")));

    // The busy group follows the lines.
    let busy = "/api/v1/domains/acme.example/users/202/directory?group=busy";
    assert_eq!(server.count(&hana, busy).await, 3);
    let (_, again) = report(&server, &pbx, &[("201", "on_hold"), ("203", "offline")]).await;
    assert_eq!(again["changed"], 1, "on hold is still busy; 203's phone went away");
    assert_eq!(shown(&presence_of(&server, viewer, "203").await), ("offline", false, &json!("offline")));
}

async fn a_state_set_by_hand_wins_until_cleared(backend: Backend) {
    let server = spawn(backend, AppConfig::default()).await;
    let pbx = pbx_secret(&server).await;
    let ben = server.token("201").await;
    let hana = server.token("202").await;
    let viewer = ("202", hana.as_str());
    let mine = "/api/v1/domains/acme.example/users/201/presence";

    let (status, set) =
        server.call(Method::PUT, &ben, mine, Some(json!({ "state": "busy", "message": "Focus" }))).await;
    assert_eq!(status, StatusCode::OK, "{set}");
    assert_eq!(report(&server, &pbx, &[("201", "idle")]).await.1["changed"], 0, "busy by hand wins");
    let presence = presence_of(&server, viewer, "201").await;
    assert_eq!((shown(&presence), &presence["manual_state"]), (("busy", false, &json!("idle")), &json!("busy")));

    // Available by hand lets a call show.
    server.call(Method::PUT, &ben, mine, Some(json!({ "state": "available", "chat": true }))).await;
    assert_eq!(shown(&presence_of(&server, viewer, "201").await), ("available", true, &json!("idle")));
    report(&server, &pbx, &[("201", "on_call")]).await;
    assert_eq!(shown(&presence_of(&server, viewer, "201").await), ("busy", true, &json!("on_call")));

    // Offline by hand wins; cleared, the line decides again.
    server.call(Method::PUT, &ben, mine, Some(json!({ "state": "offline" }))).await;
    assert_eq!(shown(&presence_of(&server, viewer, "201").await), ("offline", false, &json!("on_call")));
    let (status, cleared) = server.call(Method::DELETE, &ben, mine, None).await;
    assert_eq!(status, StatusCode::OK, "{cleared}");
    assert_eq!((shown(&cleared), &cleared["manual_state"]), (("busy", false, &json!("on_call")), &Value::Null));
    report(&server, &pbx, &[("201", "idle")]).await;
    assert_eq!(shown(&presence_of(&server, viewer, "201").await), ("available", false, &json!("idle")));
    let (status, _) = server.call(Method::DELETE, &hana, mine, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a coworker clears nobody's state");
}

async fn a_pbx_credential_can_do_nothing_else(backend: Backend) {
    let server = spawn(backend, AppConfig::default()).await;
    let other = DomainInput { name: "other.example".into(), ..Default::default() };
    server.app.create_domain(&Caller::System, other).await.unwrap();
    let them = UserInput { extension: "201".into(), scope: Some("basic-user".into()), ..Default::default() };
    server.app.create_user(&Caller::System, "other.example", them).await.unwrap();
    let pbx = pbx_secret(&server).await;
    let acme = "/api/v1/domains/acme.example";
    for (method, path, body) in [
        (Method::GET, format!("{acme}/users/201/directory"), None),
        (Method::GET, format!("{acme}/contacts"), None),
        (Method::POST, format!("{acme}/contacts"), Some(json!({ "company": "Pwned" }))),
        (Method::GET, format!("{acme}/users/201/contacts"), None),
        (Method::GET, format!("{acme}/users/201/chats"), None),
        (Method::POST, format!("{acme}/users/201/chats/202/messages"), Some(json!({ "text": "hi" }))),
        (Method::GET, format!("{acme}/users"), None),
        (Method::GET, format!("{acme}/users/201"), None),
        (Method::PUT, format!("{acme}/users/201/presence"), Some(json!({ "state": "busy" }))),
        (Method::DELETE, format!("{acme}/users/201/presence"), None),
        (Method::POST, format!("{acme}/users/201/presence/activity"), None),
        (Method::GET, format!("{acme}/settings"), None),
        (Method::GET, format!("{acme}/audit"), None),
        (Method::GET, format!("{acme}/devices"), None),
        (Method::GET, format!("{acme}/pbx-credentials"), None),
        (Method::GET, format!("{acme}/lookup?number=201&user=201"), None),
        (Method::GET, acme.to_string(), None),
        (Method::GET, "/api/v1/session".to_string(), None),
        (Method::GET, "/api/v1/tokens".to_string(), None),
        (Method::GET, "/api/v1/events".to_string(), None),
        (Method::POST, "/api/v1/domains/other.example/presence/lines".to_string(), Some(json!({ "lines": [] }))),
    ] {
        let (status, answer) = server.call(method.clone(), &pbx, &path, body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {answer}");
    }
    let (status, domains) = server.call(Method::GET, &pbx, "/api/v1/domains", None).await;
    assert_eq!((status, &domains["items"]), (StatusCode::OK, &json!([])), "it reaches no domain");
    let portal = server.client.get(server.url("/contacts")).header("cookie", format!("sb_session={pbx}")).send();
    assert_eq!(portal.await.unwrap().status(), StatusCode::SEE_OTHER, "no portal: sent to log in");

    // People report no lines, a manager included; a basic user makes no credential.
    let (olivia, ben) = (server.token("200").await, server.token("201").await);
    assert_eq!(report(&server, &olivia, &[("201", "idle")]).await.0, StatusCode::FORBIDDEN);
    assert_eq!(report(&server, &ben, &[("201", "idle")]).await.0, StatusCode::FORBIDDEN);
    let made = server.call(Method::POST, &ben, CREDENTIALS, Some(json!({ "name": "Mine" }))).await;
    assert_eq!(made.0, StatusCode::FORBIDDEN);
    let (status, list) = server.call(Method::GET, &olivia, CREDENTIALS, None).await;
    assert_eq!((status, list["items"].as_array().unwrap().len()), (StatusCode::OK, 1));
    assert!(list["items"][0].get("secret").is_none(), "never shown again: {list}");

    // Revoked: refused from the next request on.
    let id = list["items"][0]["id"].as_str().unwrap();
    let (status, _) = server.call(Method::DELETE, &olivia, &format!("{CREDENTIALS}/{id}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(report(&server, &pbx, &[("201", "idle")]).await.0, StatusCode::UNAUTHORIZED);
    let (status, _) = server.call(Method::DELETE, &olivia, &format!("{CREDENTIALS}/{id}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn bad_batches_are_refused_whole_and_a_flood_is_slowed(backend: Backend) {
    let config =
        AppConfig { line_limit: RateLimit { burst: 6, refill_every: Duration::from_secs(3600) }, ..Default::default() };
    let server = spawn(backend, config).await;
    let pbx = pbx_secret(&server).await;
    let hana = server.token("202").await;
    let (status, problem) = report(&server, &pbx, &[("201", "on_call"), ("202", "talking"), ("2x", "idle")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let fields: Vec<&str> =
        problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["lines[1].state", "lines[2].ext"], "{problem}");
    assert_eq!(presence_of(&server, ("202", &hana), "201").await["line"], Value::Null, "nothing recorded");

    let many: Vec<Value> = (0..501).map(|i| json!({ "ext": format!("{}", 1000 + i), "state": "idle" })).collect();
    let (status, problem) = server.call(Method::POST, &pbx, LINES, Some(json!({ "lines": many }))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(problem.to_string().contains("at most 500 lines"), "{problem}");
    let (status, problem) = server.call(Method::POST, &pbx, LINES, Some(json!({ "lines": [{ "ext": "201" }] }))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "a line without a state: {problem}");
    let full: Vec<Value> = (0..500).map(|i| json!({ "ext": format!("{}", 1000 + i), "state": "idle" })).collect();
    let (status, answer) = server.call(Method::POST, &pbx, LINES, Some(json!({ "lines": full }))).await;
    assert_eq!((status, answer["lines"].as_array().unwrap().len()), (StatusCode::OK, 500), "500 is allowed");

    // A flood: the domain's allowance runs out (429 with the wait), the answers say when.
    let mut refused = None;
    for _ in 0..10 {
        let response = server
            .client
            .post(server.url(LINES))
            .bearer_auth(&pbx)
            .json(&json!({ "lines": [{ "ext": "201", "state": "idle" }] }))
            .send()
            .await
            .unwrap();
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            refused = Some(response);
            break;
        }
    }
    let refused: Response = refused.expect("a flood is refused");
    let wait: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(wait >= 1, "Retry-After {wait}");
    // Another domain's PBX is not slowed by it.
    let other = DomainInput { name: "other.example".into(), ..Default::default() };
    server.app.create_domain(&Caller::System, other).await.unwrap();
    let theirs = server.app.create_pbx_credential(&Caller::System, "other.example", "Theirs").await.unwrap();
    let path = "/api/v1/domains/other.example/presence/lines";
    let (status, _) = server.call(Method::POST, &theirs.secret, path, Some(json!({ "lines": [] }))).await;
    assert_eq!(status, StatusCode::OK);
}

/// An open `GET /api/v1/events`, read one server-sent event at a time.
struct EventStream {
    response: Response,
    buffer: Vec<u8>,
}

impl EventStream {
    async fn open(server: &Server, token: &str) -> EventStream {
        let response = server.client.get(server.url("/api/v1/events")).bearer_auth(token).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        EventStream { response, buffer: Vec::new() }
    }

    /// The next event's name and data within `within`, past keep-alive comments.
    async fn next_within(&mut self, within: Duration) -> Option<(String, Value)> {
        tokio::time::timeout(within, self.read()).await.ok().flatten()
    }

    async fn read(&mut self) -> Option<(String, Value)> {
        loop {
            while let Some(end) = self.buffer.windows(2).position(|w| w == b"\n\n") {
                let block: Vec<u8> = self.buffer.drain(..end + 2).collect();
                let (mut name, mut data) = (None, String::new());
                for line in String::from_utf8(block).unwrap().lines() {
                    if let Some(value) = line.strip_prefix("event:") {
                        name = Some(value.trim().to_string());
                    } else if let Some(value) = line.strip_prefix("data:") {
                        data.push_str(value.trim_start());
                    }
                }
                if let Some(name) = name {
                    return Some((name, serde_json::from_str(&data).unwrap()));
                }
            }
            self.buffer.extend_from_slice(&self.response.chunk().await.unwrap()?);
        }
    }

    /// Presence events about `user_id` within `within` (others are skipped).
    async fn presence_of(&mut self, user_id: &str, within: Duration) -> Option<Value> {
        let until = tokio::time::Instant::now() + within;
        loop {
            let left = until.saturating_duration_since(tokio::time::Instant::now());
            let (name, data) = self.next_within(left).await?;
            if name == "presence" && data["user_id"] == user_id {
                return Some(data);
            }
        }
    }
}

/// Waits until `ext`'s presence seen by 202 satisfies `wanted` (the server closes a
/// stream when it notices the client went): at most five seconds.
async fn until_presence(server: &Server, viewer: &str, ext: &str, wanted: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let presence = presence_of(server, ("202", viewer), ext).await;
        if wanted(&presence) || tokio::time::Instant::now() > deadline {
            return presence;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn chat_follows_open_streams(backend: Backend) {
    let away_after = Duration::from_millis(300);
    let server = spawn(backend, AppConfig { chat_away_after: away_after, ..Default::default() }).await;
    let (ben, hana) = (server.token("201").await, server.token("202").await);
    let ben_id = server.app.get_user(&Caller::System, "acme.example", "201").await.unwrap().id.to_string();
    assert_eq!(shown(&presence_of(&server, ("202", &hana), "201").await), ("offline", false, &Value::Null));

    let mut watching = EventStream::open(&server, &hana).await;
    let tab = EventStream::open(&server, &ben).await;
    assert!(watching.presence_of(&ben_id, Duration::from_secs(1)).await.is_some(), "on: one event");
    let presence = presence_of(&server, ("202", &hana), "201").await;
    assert_eq!((shown(&presence), &presence["chat_away"]), (("available", true, &Value::Null), &json!(false)));
    let second_tab = EventStream::open(&server, &ben).await;
    assert_eq!(watching.presence_of(&ben_id, Duration::from_millis(300)).await, None, "a second tab changes nothing");

    // Quiet past the away time: away, once; activity brings the dot back.
    tokio::time::sleep(away_after + Duration::from_millis(50)).await;
    assert_eq!(server.app.expire_presence().await.unwrap(), 2, "Ben, and Hana, whose page is open too");
    assert_eq!(server.app.expire_presence().await.unwrap(), 0, "once");
    assert!(watching.presence_of(&ben_id, Duration::from_secs(1)).await.is_some());
    let presence = presence_of(&server, ("202", &hana), "201").await;
    assert_eq!((shown(&presence), &presence["chat_away"]), (("available", false, &Value::Null), &json!(true)));
    // The portal shows it: the chat dot hollow, said in words to screen readers.
    let browser = server.log_in("202").await;
    let contacts = browser.request(Method::GET, "/contacts?group=coworkers").send().await.unwrap();
    let html = contacts.text().await.unwrap();
    assert!(html.contains(r#"class="dot chat away""#) && html.contains("Available, away"), "{html}");
    let activity = "/api/v1/domains/acme.example/users/201/presence/activity";
    assert_eq!(server.call(Method::POST, &ben, activity, None).await.0, StatusCode::NO_CONTENT);
    assert!(presence_of(&server, ("202", &hana), "201").await["chat"].as_bool().unwrap());
    let theirs = "/api/v1/domains/acme.example/users/201/presence/activity";
    assert_eq!(server.call(Method::POST, &hana, theirs, None).await.0, StatusCode::NOT_FOUND, "one's own only");

    // One tab closes: still on. The last closes: off.
    drop(tab);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(presence_of(&server, ("202", &hana), "201").await["chat"].as_bool().unwrap());
    drop(second_tab);
    let presence = until_presence(&server, &hana, "201", |p| p["state"] == "offline").await;
    assert_eq!((shown(&presence), &presence["chat_away"]), (("offline", false, &Value::Null), &json!(false)));
}

async fn a_line_change_reaches_an_open_page_within_a_second(backend: Backend) {
    let server = spawn(backend, AppConfig::default()).await;
    let pbx = pbx_secret(&server).await;
    let hana = server.token("202").await;
    let ben_id = server.app.get_user(&Caller::System, "acme.example", "201").await.unwrap().id.to_string();
    let mut page = EventStream::open(&server, &hana).await;
    let started = tokio::time::Instant::now();
    assert_eq!(report(&server, &pbx, &[("201", "ringing")]).await.0, StatusCode::OK);
    let event = page.presence_of(&ben_id, Duration::from_secs(1)).await.expect("heard within a second");
    assert_eq!(event["kind"], "presence");
    assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
}

async fn a_portal_page_is_a_session_and_reports_activity(backend: Backend) {
    let away_after = Duration::from_millis(300);
    let server = spawn(backend, AppConfig { chat_away_after: away_after, ..Default::default() }).await;
    let hana = server.token("202").await;
    let ben = server.log_in("201").await;
    let page_stream = ben.request(Method::GET, "/events").send().await.unwrap();
    assert_eq!(page_stream.status(), StatusCode::OK);
    assert!(presence_of(&server, ("202", &hana), "201").await["chat"].as_bool().unwrap(), "an open page connects");

    tokio::time::sleep(away_after + Duration::from_millis(50)).await;
    server.app.expire_presence().await.unwrap();
    assert_eq!(presence_of(&server, ("202", &hana), "201").await["chat_away"], true);
    assert_eq!(ben.post_with("/presence/activity", &[], None).await.status(), StatusCode::FORBIDDEN, "CSRF");
    assert_eq!(ben.post("/presence/activity", &[]).await.status(), StatusCode::NO_CONTENT);
    let presence = presence_of(&server, ("202", &hana), "201").await;
    assert_eq!((&presence["chat"], &presence["chat_away"]), (&json!(true), &json!(false)));
    drop(page_stream);
    let presence = until_presence(&server, &hana, "201", |p| p["chat"] == false).await;
    assert_eq!(shown(&presence), ("offline", false, &Value::Null), "the page closed");
}
