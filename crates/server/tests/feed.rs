//! The directory feed over HTTP, on SQLite and PostgreSQL: a copy built from it (the
//! whole directory, then the changes) equals the directory after every kind of change;
//! many writers on two servers and a reader that keeps losing its connection end with
//! the same state, nothing missed, nothing told twice in a page; cursors that cannot go
//! on (another user's, from before the user's view changed, older than the kept
//! deletions, or not a cursor) are refused.

mod support;

use std::collections::{BTreeMap, HashSet};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;
use support::{Backend, DOMAIN, EventStream, Person, Server};

use switchboard_app::{AppConfig, Caller, SettingsLayer};
use switchboard_server::ServerConfig;

const PEOPLE: [Person; 3] = [
    Person { ext: "200", scope: "office-manager", first_name: "Olivia", department: "Sales", site: "" },
    Person { ext: "201", scope: "basic-user", first_name: "Ben", department: "", site: "" },
    Person { ext: "202", scope: "basic-user", first_name: "Hana", department: "", site: "" },
];

const SHARED: &str = "/api/v1/domains/acme.example/shared-contacts";

fn user_path(ext: &str, rest: &str) -> String {
    format!("/api/v1/domains/acme.example/users/{ext}{rest}")
}

/// An app's copy of one user's directory, kept by the feed.
struct Copy {
    ext: &'static str,
    entries: BTreeMap<String, Value>,
    cursor: Option<String>,
    pages: usize,
}

impl Copy {
    fn new(ext: &'static str) -> Copy {
        Copy { ext, entries: BTreeMap::new(), cursor: None, pages: 0 }
    }

    /// Reads one page and applies it; whether more are waiting.
    async fn read_page(&mut self, server: &Server, token: &str, limit: u32) -> bool {
        let mut path = user_path(self.ext, &format!("/directory/changes?limit={limit}"));
        if let Some(cursor) = &self.cursor {
            path.push_str(&format!("&cursor={cursor}"));
        }
        let (status, page) = server.call(Method::GET, token, &path, None).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let mut seen = HashSet::new();
        for change in page["changes"].as_array().unwrap() {
            let id = change["entry_id"].as_str().unwrap().to_string();
            assert!(seen.insert(id.clone()), "{id} told twice in one page: {page}");
            match change["op"].as_str().unwrap() {
                "upsert" => {
                    assert_eq!(change["entry"]["id"].as_str(), Some(id.as_str()));
                    self.entries.insert(id, change["entry"].clone());
                }
                "delete" => {
                    assert!(change.get("entry").is_none(), "{change}");
                    self.entries.remove(&id);
                }
                other => panic!("unknown op {other}"),
            }
        }
        self.cursor = Some(page["next_cursor"].as_str().unwrap().to_string());
        self.pages += 1;
        page["has_more"].as_bool().unwrap()
    }

    async fn catch_up(&mut self, server: &Server, token: &str, limit: u32) {
        while self.read_page(server, token, limit).await {}
    }
}

/// The whole directory as the user sees it now, read through its list.
async fn directory(server: &Server, token: &str, ext: &str) -> BTreeMap<String, Value> {
    let mut entries = BTreeMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = user_path(ext, "/directory?limit=500");
        if let Some(cursor) = &cursor {
            path.push_str(&format!("&cursor={cursor}"));
        }
        let (status, page) = server.call(Method::GET, token, &path, None).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        for entry in page["items"].as_array().unwrap() {
            entries.insert(entry["id"].as_str().unwrap().to_string(), entry.clone());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => return entries,
        }
    }
}

async fn create(server: &Server, token: &str, path: &str, first_name: &str) -> String {
    let body = json!({ "first_name": first_name, "last_name": "Feed", "work_phone": "+1 206 555 0100" });
    let (status, created) = server.call(Method::POST, token, path, Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["id"].as_str().unwrap().to_string()
}

async fn ok(server: &Server, token: &str, method: Method, path: &str, body: Option<Value>) -> Value {
    let (status, answer) = server.call(method, token, path, body).await;
    assert!(status.is_success(), "{path}: {status} {answer}");
    answer
}

async fn assert_copy_is_directory(copy: &Copy, server: &Server, token: &str, when: &str) {
    let now = directory(server, token, copy.ext).await;
    let names = |entries: &BTreeMap<String, Value>| -> Vec<String> {
        entries.values().map(|e| format!("{} {}", e["first_name"], e["last_name"])).collect()
    };
    assert_eq!(names(&copy.entries), names(&now), "{when}");
    assert_eq!(copy.entries, now, "{when}: every field of every entry");
}

async fn a_copy_follows_every_kind_of_change(backend: Backend) {
    let server = support::spawn(backend, &PEOPLE, ServerConfig::default()).await;
    let (olivia, ben) = (server.token("200").await, server.token("201").await);
    for name in ["Ada", "Brian", "Chloe", "Dev", "Eve"] {
        create(&server, &olivia, SHARED, name).await;
    }
    let mut copy = Copy::new("201");
    copy.catch_up(&server, &ben, 2).await;
    assert!(copy.pages >= 4, "the first read is paged: {} pages", copy.pages);
    assert_eq!(copy.entries.len(), 7, "two coworkers and five shared contacts");
    assert_copy_is_directory(&copy, &server, &ben, "after the first read").await;

    // Nothing changed: an empty page, and the same place.
    let cursor = copy.cursor.clone();
    assert!(!copy.read_page(&server, &ben, 50).await);
    assert_eq!(copy.cursor, cursor, "no change, no move");

    let ids: Vec<String> = copy.entries.keys().cloned().collect();
    let shared: Vec<String> = ids.iter().filter(|id| copy.entries[*id]["kind"] == "shared").cloned().collect();
    let hana = ids.iter().find(|id| copy.entries[*id]["extension"] == "202").unwrap().clone();
    let steps: Vec<(&str, Method, String, Option<Value>, &String)> = vec![
        (
            "a shared contact edited",
            Method::PATCH,
            format!("{SHARED}/{}", shared[0]),
            Some(json!({ "company": "Initech" })),
            &olivia,
        ),
        ("a shared contact deleted", Method::DELETE, format!("{SHARED}/{}", shared[1]), None, &olivia),
        ("a star", Method::PUT, user_path("201", &format!("/favorites/{hana}")), None, &ben),
        ("a star on a contact", Method::PUT, user_path("201", &format!("/favorites/{}", shared[2])), None, &ben),
        ("a star removed", Method::DELETE, user_path("201", &format!("/favorites/{}", shared[2])), None, &ben),
        (
            "presence",
            Method::PUT,
            user_path("202", "/presence"),
            Some(json!({ "state": "busy", "message": "On a call" })),
            &olivia,
        ),
        ("a coworker renamed", Method::PATCH, user_path("202", ""), Some(json!({ "first_name": "Hanna" })), &olivia),
        ("a deleted contact restored", Method::POST, format!("{SHARED}/{}/restore", shared[1]), None, &olivia),
    ];
    for (what, method, path, body, token) in steps {
        ok(&server, token, method, &path, body).await;
        copy.catch_up(&server, &ben, 3).await;
        assert_copy_is_directory(&copy, &server, &ben, what).await;
    }

    // A PBX's lines: a line that changes under the same colour is told; the same again is not.
    let credential = json!({ "name": "PBX" });
    let created =
        ok(&server, &olivia, Method::POST, "/api/v1/domains/acme.example/pbx-credentials", Some(credential)).await;
    let pbx = created["secret"].as_str().unwrap().to_string();
    for state in ["on_call", "on_hold"] {
        let lines = json!({ "lines": [{ "ext": "202", "state": state }] });
        ok(&server, &pbx, Method::POST, "/api/v1/domains/acme.example/presence/lines", Some(lines)).await;
        copy.catch_up(&server, &ben, 3).await;
        assert_copy_is_directory(&copy, &server, &ben, state).await;
        assert_eq!(copy.entries[&hana]["presence"]["line"], state);
    }
    let before = copy.cursor.clone();
    let lines = json!({ "lines": [{ "ext": "202", "state": "on_hold" }] });
    ok(&server, &pbx, Method::POST, "/api/v1/domains/acme.example/presence/lines", Some(lines)).await;
    copy.catch_up(&server, &ben, 3).await;
    assert_eq!(copy.cursor, before, "the same line again adds nothing to the feed");

    create(&server, &ben, &user_path("201", "/contacts"), "Mine").await;
    create(&server, &olivia, &user_path("200", "/contacts"), "Olivias").await;
    copy.catch_up(&server, &ben, 3).await;
    assert_copy_is_directory(&copy, &server, &ben, "own contacts, and another's that stay theirs").await;
    assert!(copy.entries.values().all(|e| e["first_name"] != "Olivias"), "another's own contact is never told");

    // An import in both books: every created contact arrives, the updated one changes.
    for (path, token) in
        [(format!("{SHARED}/import?mode=upsert"), &olivia), (user_path("201", "/contacts/import?mode=add"), &ben)]
    {
        let csv = "First Name,Last Name,Business Phone\r\nImp,One,+1 206 555 0111\r\nImp,Two,+1 206 555 0112\r\n";
        let reply =
            server.client.post(server.url(&path)).bearer_auth(token).header("content-type", "text/csv").body(csv);
        let report: Value = reply.send().await.unwrap().json().await.unwrap();
        assert_eq!(report["created"], 2, "{report}");
    }
    copy.catch_up(&server, &ben, 3).await;
    assert_copy_is_directory(&copy, &server, &ben, "imports into the shared and own books").await;
    assert_eq!(copy.entries.values().filter(|e| e["first_name"] == "Imp").count(), 4);

    // A coworker taken out of the directory, then deleted: gone from the copy.
    ok(&server, &olivia, Method::PATCH, &user_path("202", ""), Some(json!({ "listed": false }))).await;
    copy.catch_up(&server, &ben, 3).await;
    assert!(!copy.entries.contains_key(&hana), "an unlisted coworker is a deletion");
    assert_copy_is_directory(&copy, &server, &ben, "a coworker unlisted").await;
    ok(&server, &olivia, Method::DELETE, &user_path("202", ""), None).await;
    copy.catch_up(&server, &ben, 3).await;
    assert_copy_is_directory(&copy, &server, &ben, "a coworker deleted").await;

    // A second copy read from nothing now is the same, and tells no deletions.
    let mut fresh = Copy::new("201");
    fresh.catch_up(&server, &ben, 500).await;
    assert_eq!(fresh.entries, copy.entries);
}

async fn many_writers_and_a_reader_that_reconnects(backend: Backend) {
    let first = support::spawn(backend, &PEOPLE, ServerConfig::default()).await;
    let second = first.beside().await;
    let (olivia_1, olivia_2) = (first.token("200").await, second.token("200").await);
    let ben = first.token("201").await;
    let mut copy = Copy::new("201");
    // Four writers, two per server, each making 250 changes: creating, editing and
    // deleting shared contacts, and turning a coworker's presence over.
    let writer = |server: &Server, token: String, who: usize| {
        let (base, client) = (server.base.clone(), server.client.clone());
        tokio::spawn(async move {
            let call = |method: Method, path: String, body: Option<Value>| {
                let request = client.request(method, format!("{base}{path}")).bearer_auth(&token);
                let request = if let Some(body) = body { request.json(&body) } else { request };
                async move {
                    let reply = request.send().await.unwrap();
                    let status = reply.status();
                    let body: Value = reply.json().await.unwrap_or(Value::Null);
                    // Presence changes are rate limited per person: a refused one is no change.
                    assert!(status.is_success() || status == StatusCode::TOO_MANY_REQUESTS, "{status} {body}");
                    (status.is_success(), body)
                }
            };
            let mut mine: Vec<String> = Vec::new();
            let (mut changes, mut n) = (0, 0);
            while changes < 250 {
                n += 1;
                match n % 5 {
                    0 | 1 => {
                        let body = json!({ "first_name": format!("W{who}n{n}"), "last_name": "Load" });
                        let (_, created) = call(Method::POST, SHARED.to_string(), Some(body)).await;
                        mine.push(created["id"].as_str().unwrap().to_string());
                    }
                    2 if !mine.is_empty() => {
                        let id = &mine[n % mine.len()];
                        call(Method::PATCH, format!("{SHARED}/{id}"), Some(json!({ "company": format!("C{n}") })))
                            .await;
                    }
                    3 if !mine.is_empty() => {
                        let id = mine.swap_remove(n % mine.len());
                        call(Method::DELETE, format!("{SHARED}/{id}"), None).await;
                    }
                    _ => {
                        let state = if n.is_multiple_of(2) { "busy" } else { "available" };
                        let body = json!({ "state": state, "message": format!("w{who} {n}") });
                        let path = user_path(if who.is_multiple_of(2) { "202" } else { "200" }, "/presence");
                        if !call(Method::PUT, path, Some(body)).await.0 {
                            continue;
                        }
                    }
                }
                changes += 1;
            }
        })
    };
    let writers = vec![
        writer(&first, olivia_1.clone(), 0),
        writer(&first, olivia_1, 1),
        writer(&second, olivia_2.clone(), 2),
        writer(&second, olivia_2, 3),
    ];
    // The reader reads small pages from either server, and now and then "reconnects":
    // it throws away the page it just read and reads again from the cursor it had kept.
    let mut rounds: u32 = 0;
    while writers.iter().any(|w| !w.is_finished()) {
        rounds += 1;
        let server = if rounds.is_multiple_of(2) { &first } else { &second };
        if rounds.is_multiple_of(7) {
            let kept = (copy.cursor.clone(), copy.entries.clone());
            copy.read_page(server, &ben, 5).await;
            (copy.cursor, copy.entries) = kept;
        }
        copy.read_page(server, &ben, 5).await;
    }
    for writer in writers {
        writer.await.unwrap();
    }
    copy.catch_up(&first, &ben, 50).await;
    assert!(rounds > 10, "the reader read while the writers wrote ({rounds} rounds)");
    assert_copy_is_directory(&copy, &second, &ben, "after 1,000 changes on two servers").await;
}

async fn cursors_that_cannot_go_on_are_refused(backend: Backend) {
    let server = support::spawn(backend, &PEOPLE, ServerConfig::default()).await;
    let (olivia, ben) = (server.token("200").await, server.token("201").await);
    let doomed = create(&server, &olivia, SHARED, "Doomed").await;
    let mut copy = Copy::new("201");
    copy.catch_up(&server, &ben, 50).await;
    let cursor = copy.cursor.clone().unwrap();

    // Another user's cursor: gone, with a problem document that says what to do.
    let (status, problem) = server
        .call(Method::GET, &olivia, &user_path("200", &format!("/directory/changes?cursor={cursor}")), None)
        .await;
    assert_eq!(status, StatusCode::GONE, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("from the start"), "{problem}");
    // Nobody reads another's feed at all.
    let (status, _) = server.call(Method::GET, &olivia, &user_path("201", "/directory/changes"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Not a cursor, or a bad limit: 422 naming the parameter.
    for query in ["cursor=bogus", "cursor=MS4xLjE", "limit=0", "limit=501"] {
        let (status, problem) =
            server.call(Method::GET, &ben, &user_path("201", &format!("/directory/changes?{query}")), None).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {problem}");
    }

    // A deletion older than the feed keeps: a cursor from before it is gone.
    ok(&server, &olivia, Method::DELETE, &format!("{SHARED}/{doomed}"), None).await;
    let purged = server.app.store().purge_feed(chrono::Utc::now() + chrono::TimeDelta::days(1)).await.unwrap();
    assert!(purged >= 1, "the trashed contact's row is forgotten");
    let (status, problem) =
        server.call(Method::GET, &ben, &user_path("201", &format!("/directory/changes?cursor={cursor}")), None).await;
    assert_eq!(status, StatusCode::GONE, "{problem}");
    let mut fresh = Copy::new("201");
    fresh.catch_up(&server, &ben, 50).await;
    assert_copy_is_directory(&fresh, &server, &ben, "a fresh start after 410").await;

    // The user's view changes (shared contacts hidden from them): their cursor is gone,
    // and a fresh read has no shared contact.
    let hide = BTreeMap::from([("PORTAL_SHOW_SHARED_CONTACTS".to_string(), Some("no".to_string()))]);
    let layer = SettingsLayer::User(DOMAIN.into(), "201".into());
    server.app.put_settings(&Caller::System, &layer, hide).await.unwrap();
    let after = fresh.cursor.clone().unwrap();
    let (status, _) =
        server.call(Method::GET, &ben, &user_path("201", &format!("/directory/changes?cursor={after}")), None).await;
    assert_eq!(status, StatusCode::GONE);
    let mut hidden = Copy::new("201");
    hidden.catch_up(&server, &ben, 50).await;
    assert!(hidden.entries.values().all(|e| e["kind"] == "coworker"), "{:?}", hidden.entries.keys());
    assert_copy_is_directory(&hidden, &server, &ben, "shared contacts hidden").await;
}

/// The events of a stream up to its next `cursor` event: the changes told, and the cursor.
async fn changes_until_cursor(events: &mut EventStream) -> (Vec<Value>, String) {
    let mut changes = Vec::new();
    loop {
        let event = events.next_event().await.expect("the stream goes on");
        match event.name.as_str() {
            "change" => changes.push(event.data),
            "cursor" => {
                let id = event.id.expect("a cursor event has an id");
                assert_eq!(event.data["cursor"], id.as_str());
                return (changes, id);
            }
            _ => {}
        }
    }
}

async fn open_events(server: &Server, token: &str, last_event_id: Option<&str>) -> EventStream {
    let mut request = server.client.get(server.url("/api/v1/events?changes=true")).bearer_auth(token);
    if let Some(id) = last_event_id {
        request = request.header("last-event-id", id);
    }
    EventStream::new(request.send().await.unwrap())
}

fn told(changes: &[Value]) -> Vec<(String, String)> {
    let mut told: Vec<(String, String)> = changes
        .iter()
        .map(|c| (c["op"].as_str().unwrap().to_string(), c["entry"]["first_name"].as_str().unwrap_or("").to_string()))
        .collect();
    told.sort();
    told
}

async fn an_event_stream_resumes_from_its_last_id(backend: Backend) {
    let fast = AppConfig { event_checkpoint: Duration::from_millis(200), ..AppConfig::default() };
    let server = support::spawn_with(backend, &PEOPLE, ServerConfig::default(), fast).await;
    let (olivia, ben) = (server.token("200").await, server.token("201").await);
    let mut events = open_events(&server, &ben, None).await;
    let zed = create(&server, &olivia, SHARED, "Zed").await;
    let (changes, id) = changes_until_cursor(&mut events).await;
    assert_eq!(told(&changes), [("upsert".to_string(), "Zed".to_string())]);
    drop(events);

    // Away: one contact made, one deleted, and Olivia's own contact that is not Ben's.
    create(&server, &olivia, SHARED, "Yan").await;
    ok(&server, &olivia, Method::DELETE, &format!("{SHARED}/{zed}"), None).await;
    create(&server, &olivia, &user_path("200", "/contacts"), "Private").await;
    let mut events = open_events(&server, &ben, Some(&id)).await;
    let (changes, resumed) = changes_until_cursor(&mut events).await;
    assert_eq!(told(&changes), [("delete".to_string(), String::new()), ("upsert".to_string(), "Yan".to_string())]);
    assert_eq!(changes[0]["entry_id"].as_str().unwrap_or(changes[1]["entry_id"].as_str().unwrap()).len(), 36);
    assert_ne!(resumed, id);

    // An id that is not one, or another user's: told to reload.
    let olivias = open_events(&server, &olivia, None).await;
    drop(olivias);
    for bad in ["made-up", resumed.as_str()] {
        let mut events = open_events(&server, &olivia, Some(bad)).await;
        let first = events.next_event().await.unwrap();
        assert_eq!(first.name, "resync", "{bad}: {first:?}");
    }
}

support::on_both_backends!(
    an_event_stream_resumes_from_its_last_id,
    a_copy_follows_every_kind_of_change,
    many_writers_and_a_reader_that_reconnects,
    cursors_that_cannot_go_on_are_refused
);
