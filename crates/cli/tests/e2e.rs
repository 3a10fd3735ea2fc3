//! End-to-end: the real binary on a free port, driven over HTTP, on both back-ends.

#[macro_use]
mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{Backend, Database, PASSWORD, Server, Session, cli, seed_domain};

on_both_backends!(
    contacts_story,
    directory_story,
    paging_a_thousand_entries,
    domains_stay_apart,
    bad_input_is_refused_and_writes_nothing,
    tokens_and_logout,
    demo_domain,
    exports,
    import_round_trips,
    import_over_http,
    events_reach_every_server,
    caller_id_story,
    desk_phone_story,
    deleted_users_from_the_command_line,
    watch_prints_every_change
);

const ACME: &str = "acme.example";
const SHARED: &str = "/api/v1/domains/acme.example/shared-contacts";

fn acme_users() -> [(&'static str, &'static str, &'static str, &'static str); 4] {
    [
        ("100", "Olivia", "office-manager", "Management"),
        ("200", "Ben", "basic-user", "Sales"),
        ("201", "Zoe", "basic-user", "Support"),
        ("300", "Sue", "simple-user", "Reception"),
    ]
}

async fn acme(backend: Backend) -> (Database, Server) {
    let db = Database::new(backend).await;
    seed_domain(&db, ACME, &acme_users());
    let server = Server::start(&db, &[]);
    (db, server)
}

fn ann_lee() -> Value {
    json!({ "first_name": "Ann", "last_name": "Lee", "company": "Lee & Partners", "work_phone": "+1 (206) 555-0100", "email": "ann@lee.example" })
}

fn assert_no_panic(server: &Server) {
    let log = server.log();
    assert!(!log.contains("panicked"), "the server panicked:\n{log}");
}

async fn contacts_story(backend: Backend) {
    let (_db, server) = acme(backend).await;
    let manager = server.login("100@acme.example", PASSWORD).await;
    let basic = server.login("200@acme.example", PASSWORD).await;

    assert_eq!(
        basic.post(SHARED, ann_lee()).await.status,
        StatusCode::FORBIDDEN,
        "basic users do not edit shared contacts by default"
    );

    let created = manager.post(SHARED, ann_lee()).await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let id = created.body["id"].as_str().expect("id").to_string();
    let item = format!("{SHARED}/{id}");
    assert!(created.header("location").expect("Location").ends_with(&item));
    assert_eq!(created.body["work_phone"], "+1 (206) 555-0100");
    assert_eq!(created.body["work_phone_e164"], "+12065550100");
    assert_eq!(created.body["version"], 1);

    let fetched = basic.get(&item).await;
    assert_eq!(fetched.status, StatusCode::OK);
    assert_eq!(fetched.header("etag"), Some("\"1\""));

    let duplicate = manager.post(SHARED, ann_lee()).await;
    assert_eq!(duplicate.status, StatusCode::CONFLICT, "{:?}", duplicate.body);
    assert_eq!(duplicate.header("content-type"), Some("application/problem+json"));

    let edit = json!({ "title": "Buyer", "mobile_phone": "425.555.0142" });
    let edited = manager.patch(&item, edit.clone(), &[("if-match", "\"1\"")]).await;
    assert_eq!(edited.status, StatusCode::OK, "{:?}", edited.body);
    assert_eq!(edited.body["version"], 2);
    assert_eq!(edited.body["mobile_phone_e164"], "+14255550142");
    let stale = manager.patch(&item, json!({ "title": "Old news" }), &[("if-match", "\"1\"")]).await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(manager.get(&item).await.body["title"], "Buyer", "a stale edit changes nothing");

    let deleted = manager.delete(&item).await;
    assert!(deleted.status.is_success());
    assert_eq!(manager.get(&item).await.status, StatusCode::NOT_FOUND);
    let trash = manager.get("/api/v1/domains/acme.example/trash").await;
    assert_eq!(trash.body["items"][0]["id"], id.as_str());
    let restored = manager.post(&format!("{item}/restore"), json!({})).await;
    assert_eq!(restored.status, StatusCode::OK, "{:?}", restored.body);
    assert_eq!(manager.get(&item).await.body["title"], "Buyer");
    assert!(manager.get("/api/v1/domains/acme.example/trash").await.body["items"].as_array().unwrap().is_empty());

    let audit = manager.get("/api/v1/domains/acme.example/audit").await;
    let actions: Vec<&str> =
        audit.body["items"].as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    for action in ["contact.create", "contact.update", "contact.delete", "contact.restore"] {
        assert!(actions.contains(&action), "{action} missing from {actions:?}");
    }
    assert_eq!(basic.get("/api/v1/domains/acme.example/audit").await.status, StatusCode::FORBIDDEN);

    // A domain may let basic users edit shared contacts.
    let settings = json!({ "SHARED_CONTACTS_EDITOR_SCOPES": "office-manager,basic-user" });
    assert_eq!(manager.put("/api/v1/domains/acme.example/settings", settings).await.status, StatusCode::OK);
    let by_basic = basic.post(SHARED, json!({ "company": "Globex", "work_phone": "2065550111" })).await;
    assert_eq!(by_basic.status, StatusCode::CREATED, "{:?}", by_basic.body);

    // Personal contacts are their owner's alone.
    let mine = "/api/v1/domains/acme.example/users/200/contacts";
    let own = basic.post(mine, json!({ "first_name": "Mom", "mobile_phone": "+1 206 555 0199" })).await;
    assert_eq!(own.status, StatusCode::CREATED);
    assert_eq!(manager.get(mine).await.status, StatusCode::NOT_FOUND, "managers do not see personal contacts");
    let simple = server.login("300@acme.example", PASSWORD).await;
    assert_eq!(
        simple.post("/api/v1/domains/acme.example/users/300/contacts", ann_lee()).await.status,
        StatusCode::FORBIDDEN
    );
    assert_no_panic(&server);
}

fn names(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|e| {
            format!(
                "{} {}{}",
                e["first_name"].as_str().unwrap(),
                e["last_name"].as_str().unwrap(),
                e["company"].as_str().unwrap()
            )
            .trim()
            .to_string()
        })
        .collect()
}

async fn group(session: &Session<'_>, query: &str) -> Vec<String> {
    names(&session.all_pages(&format!("/api/v1/domains/acme.example/users/200/directory?{query}")).await)
}

async fn directory_story(backend: Backend) {
    let (db, server) = acme(backend).await;
    cli(
        &db,
        &["user", "add", ACME, "202", "--first", "Hidden", "--last", "Person", "--scope", "basic-user", "--unlisted"],
        None,
    );
    cli(
        &db,
        &[
            "user",
            "add",
            ACME,
            "203",
            "--first",
            "Sam",
            "--last",
            "Portland",
            "--scope",
            "basic-user",
            "--site",
            "Portland",
        ],
        None,
    );
    let manager = server.login("100@acme.example", PASSWORD).await;
    let ben = server.login("200@acme.example", PASSWORD).await;
    let zoe = server.login("201@acme.example", PASSWORD).await;
    let shared = manager
        .post(SHARED, json!({ "first_name": "John", "last_name": "Smith", "work_phone": "+1 (206) 555-0100" }))
        .await;
    let shared_id = shared.body["id"].as_str().unwrap().to_string();
    manager
        .post(SHARED, json!({ "first_name": "Élodie", "last_name": "Müller", "work_phone": "+49 30 1234567" }))
        .await;
    ben.post(
        "/api/v1/domains/acme.example/users/200/contacts",
        json!({ "first_name": "Mom", "mobile_phone": "206 555 0199" }),
    )
    .await;

    let all = group(&ben, "").await;
    // By last name, else first name, else company; not me, not the unlisted user.
    assert_eq!(
        all,
        ["Mom", "Élodie Müller", "Sam Portland", "John Smith", "Olivia Tester", "Sue Tester", "Zoe Tester"]
    );

    assert_eq!(group(&ben, "group=shared").await, ["Élodie Müller", "John Smith"]);
    assert_eq!(group(&ben, "group=mine").await, ["Mom"]);
    assert_eq!(group(&ben, "group=coworkers").await.len(), 4);
    assert_eq!(group(&ben, "group=department:Support").await, ["Zoe Tester"]);
    assert_eq!(group(&ben, "group=site:Portland").await, ["Sam Portland"]);
    let departments = ben.get("/api/v1/domains/acme.example/users/200/directory/departments").await;
    assert_eq!(departments.body["items"], json!(["Management", "Reception", "Sales", "Support"]));
    let sites = ben.get("/api/v1/domains/acme.example/users/200/directory/sites").await;
    assert_eq!(sites.body["items"], json!(["Portland"]));

    // Presence: Zoe reports busy with a status message.
    let presence = zoe
        .put(
            "/api/v1/domains/acme.example/users/201/presence",
            json!({ "state": "busy", "chat": false, "message": "In a meeting" }),
        )
        .await;
    assert_eq!(presence.status, StatusCode::OK, "{:?}", presence.body);
    assert_eq!(
        ben.put("/api/v1/domains/acme.example/users/201/presence", json!({ "state": "available" })).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(group(&ben, "group=busy").await, ["Zoe Tester"]);
    assert!(group(&ben, "group=available").await.is_empty());
    assert_eq!(group(&ben, "group=offline").await.len(), 3);
    let busy = ben.get("/api/v1/domains/acme.example/users/200/directory?group=busy").await;
    let shown = json!({ "state": "busy", "chat": false, "message": "In a meeting", "chat_away": false,
        "manual_state": "busy", "line": null });
    assert_eq!(busy.body["items"][0]["presence"], shown);
    assert_eq!(busy.body["items"][0]["kind"], "coworker");
    assert_eq!(busy.body["items"][0]["extension"], "201");

    // Favorites.
    let star = format!("/api/v1/domains/acme.example/users/200/favorites/{shared_id}");
    assert_eq!(ben.put(&star, json!(null)).await.status, StatusCode::NO_CONTENT);
    let favorites = ben.get("/api/v1/domains/acme.example/users/200/directory?group=favorites").await;
    assert_eq!(names(favorites.body["items"].as_array().unwrap()), ["John Smith"]);
    assert_eq!(favorites.body["items"][0]["favorite"], true);
    assert_eq!(favorites.body["items"][0]["kind"], "shared");
    assert_eq!(ben.delete(&star).await.status, StatusCode::NO_CONTENT);
    assert!(group(&ben, "group=favorites").await.is_empty());
    assert_eq!(zoe.put(&star, json!(null)).await.status, StatusCode::NOT_FOUND, "one's favorites are one's own");

    // Search: partial names, accents, digits in any format.
    assert_eq!(group(&ben, "q=smi").await, ["John Smith"]);
    assert_eq!(group(&ben, "q=MULL").await, ["Élodie Müller"]);
    assert_eq!(group(&ben, "q=5550100").await, ["John Smith"]);
    assert_eq!(group(&ben, "q=%2B1%20206%20555%200100").await, ["John Smith"]);
    assert_eq!(group(&ben, "q=4930123").await, ["Élodie Müller"]);
    assert_eq!(group(&ben, "q=12065550199").await, ["Mom"], "E.164 digits of a number typed without country code");
    assert_eq!(group(&ben, "q=201").await, ["Zoe Tester"], "extensions are numbers too");

    // Sorting by name, both ways.
    let forward = group(&ben, "group=shared&sort=name").await;
    let mut backward = group(&ben, "group=shared&sort=-name").await;
    backward.reverse();
    assert_eq!(forward, backward);

    // Hiding shared contacts hides them everywhere the user reads.
    assert_eq!(
        manager
            .put("/api/v1/domains/acme.example/settings", json!({ "PORTAL_SHOW_SHARED_CONTACTS": "no" }))
            .await
            .status,
        StatusCode::OK
    );
    assert!(group(&ben, "group=shared").await.is_empty());
    assert!(!group(&ben, "").await.contains(&"John Smith".to_string()));
    assert_eq!(ben.get(SHARED).await.status, StatusCode::NOT_FOUND);
    let effective = ben.get("/api/v1/domains/acme.example/users/200/settings/effective").await;
    assert_eq!(effective.body["PORTAL_SHOW_SHARED_CONTACTS"], "no");
    assert_no_panic(&server);
}

async fn paging_a_thousand_entries(backend: Backend) {
    let (_db, server) = acme(backend).await;
    let manager = server.login("100@acme.example", PASSWORD).await;
    for i in 0..1000 {
        let last_name = ["Adams", "Brown", "Clark"][i % 3];
        let contact = json!({ "first_name": format!("Person{:04}", (i * 7919) % 1000), "last_name": last_name, "work_phone": format!("+1 206 555 {i:04}") });
        let reply = manager.post(SHARED, contact).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    }
    let ben = server.login("200@acme.example", PASSWORD).await;
    for sort in ["name", "-name", "updated", "-updated"] {
        let items = ben
            .all_pages(&format!("/api/v1/domains/acme.example/users/200/directory?group=shared&limit=37&sort={sort}"))
            .await;
        let ids: std::collections::HashSet<&str> = items.iter().map(|e| e["id"].as_str().unwrap()).collect();
        assert_eq!(items.len(), 1000, "sort {sort}");
        assert_eq!(ids.len(), 1000, "no entry twice with sort {sort}");
        if sort.ends_with("name") {
            let keys: Vec<String> = items
                .iter()
                .map(|e| format!("{} {}", e["last_name"].as_str().unwrap(), e["first_name"].as_str().unwrap()))
                .collect();
            let mut expected = keys.clone();
            expected.sort();
            if sort == "-name" {
                expected.reverse();
            }
            assert_eq!(keys, expected, "order with sort {sort}");
        }
    }
    let listed = manager.all_pages(&format!("{SHARED}?limit=500")).await;
    assert_eq!(listed.len(), 1000);
    assert_no_panic(&server);
}

async fn domains_stay_apart(backend: Backend) {
    let (db, server) = acme(backend).await;
    seed_domain(&db, "other.example", &[("100", "Otto", "office-manager", "Ops")]);
    let acme_manager = server.login("100@acme.example", PASSWORD).await;
    let other_manager = server.login("100@other.example", PASSWORD).await;
    let secret = acme_manager.post(SHARED, ann_lee()).await;
    let id = secret.body["id"].as_str().unwrap();

    for path in [
        "/api/v1/domains/acme.example".to_string(),
        "/api/v1/domains/acme.example/users".to_string(),
        "/api/v1/domains/acme.example/users/100".to_string(),
        SHARED.to_string(),
        format!("{SHARED}/{id}"),
        "/api/v1/domains/acme.example/users/100/directory".to_string(),
        "/api/v1/domains/acme.example/settings".to_string(),
        "/api/v1/domains/acme.example/audit".to_string(),
        "/api/v1/domains/acme.example/trash".to_string(),
        format!("/api/v1/domains/other.example/shared-contacts/{id}"),
    ] {
        let reply = other_manager.get(&path).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path} leaked: {:?}", reply.body);
    }
    assert_eq!(
        other_manager.patch(&format!("{SHARED}/{id}"), json!({ "title": "x" }), &[]).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(other_manager.delete(&format!("{SHARED}/{id}")).await.status, StatusCode::NOT_FOUND);
    let domains = other_manager.get("/api/v1/domains").await;
    let visible: Vec<&str> =
        domains.body["items"].as_array().unwrap().iter().map(|d| d["name"].as_str().unwrap()).collect();
    assert_eq!(visible, ["other.example"]);
    let search = other_manager.get("/api/v1/domains/other.example/users/100/directory?q=lee").await;
    assert!(search.body["items"].as_array().unwrap().is_empty(), "{:?}", search.body);
    assert_eq!(acme_manager.get(&format!("{SHARED}/{id}")).await.status, StatusCode::OK);
    assert_no_panic(&server);
}

async fn bad_input_is_refused_and_writes_nothing(backend: Backend) {
    let (_db, server) = acme(backend).await;
    let manager = server.login("100@acme.example", PASSWORD).await;
    let raw = |body: Vec<u8>| {
        server
            .http
            .post(server.url(SHARED))
            .bearer_auth(&manager.token)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let malformed = raw(b"{\"first_name\": ".to_vec()).await.unwrap();
    assert_eq!(malformed.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(malformed.headers()["content-type"], "application/problem+json");
    assert_eq!(send_large_body(&server, &manager.token, SHARED, 10 * 1024 * 1024).await, 413);

    let cases = [
        (json!({ "first_name": "A", "nick": "x" }), "nick"),
        (json!({ "first_name": "x".repeat(101) }), "first_name"),
        (json!({ "first_name": "A", "email": "not-an-email" }), "email"),
        (json!({ "first_name": "A", "work_phone": "206 555 0100\nor 0101" }), "work_phone"),
        (json!({ "first_name": "A", "fax": "5".repeat(101) }), "fax"),
        (json!({ "first_name": 42 }), "first_name"),
        (json!({}), "first_name"),
    ];
    for (body, field) in cases {
        let reply = manager.post(SHARED, body.clone()).await;
        assert!(reply.status.is_client_error(), "{body} → {}", reply.status);
        assert_eq!(reply.header("content-type"), Some("application/problem+json"));
        assert!(reply.error_fields().contains(&field.to_string()), "{body}: {:?}", reply.body);
    }
    for (query, field) in [
        ("cursor=garbage", "cursor"),
        ("sort=age", "sort"),
        ("limit=100000", "limit"),
        ("limit=ten", "limit"),
        ("group=friends", "group"),
    ] {
        let reply = manager.get(&format!("/api/v1/domains/acme.example/users/100/directory?{query}")).await;
        assert_eq!(reply.status.as_u16() / 100, 4, "{query}");
        assert!(reply.error_fields().contains(&field.to_string()), "{query}: {:?}", reply.body);
    }
    let bad_settings =
        manager.put("/api/v1/domains/acme.example/settings", json!({ "PORTAL_SHOW_SHARED_CONTACTS": "maybe" })).await;
    assert_eq!(bad_settings.error_fields(), ["PORTAL_SHOW_SHARED_CONTACTS"]);
    let bad_user =
        manager.post("/api/v1/domains/acme.example/users", json!({ "extension": "12a", "scope": "boss" })).await;
    assert_eq!(bad_user.error_fields(), ["extension", "scope"]);
    let not_an_id = manager.get(&format!("{SHARED}/not-a-uuid")).await;
    assert_eq!(
        (not_an_id.status, not_an_id.error_fields()),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["id".to_string()])
    );

    assert!(manager.get(SHARED).await.body["items"].as_array().unwrap().is_empty(), "nothing was written");
    let audit = manager.get("/api/v1/domains/acme.example/audit").await;
    assert!(!audit.body["items"].as_array().unwrap().iter().any(|e| e["action"] == "contact.create"));
    assert_no_panic(&server);
}

/// Posts a large body over a raw connection and returns the status the server
/// answers; the server may answer (and close) before the whole body is sent.
async fn send_large_body(server: &Server, token: &str, path: &str, size: usize) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = server.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: {address}\r\nauthorization: Bearer {token}\r\ncontent-type: application/json\r\ncontent-length: {size}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let chunk = vec![b' '; 64 * 1024];
    for _ in 0..size / chunk.len() {
        if stream.write_all(&chunk).await.is_err() {
            break;
        }
    }
    let mut answer = vec![0; 1024];
    let n = stream.read(&mut answer).await.unwrap();
    let text = String::from_utf8_lossy(&answer[..n]);
    text.split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP answer: {text:?}"))
}

async fn tokens_and_logout(backend: Backend) {
    let (db, server) = acme(backend).await;
    let printed = cli(&db, &["token", "create", "100@acme.example", "--name", "PBX feed"], None);
    let secret = printed.lines().find(|l| l.starts_with("sb_")).expect("the secret is printed").to_string();
    let id = printed.split_whitespace().nth(1).expect("the token id").to_string();
    let api = Session { server: &server, token: secret };
    assert_eq!(api.get("/api/v1/domains/acme.example/users").await.status, StatusCode::OK);
    assert!(cli(&db, &["token", "list", "100@acme.example"], None).contains("PBX feed"));
    cli(&db, &["token", "revoke", "100@acme.example", &id], None);
    assert_eq!(api.get("/api/v1/domains/acme.example/users").await.status, StatusCode::UNAUTHORIZED);

    // A PBX credential reports line states of its domain and does nothing else.
    let printed = cli(&db, &["token", "create", "acme.example", "--kind", "pbx", "--name", "Main PBX"], None);
    let secret = printed.lines().find(|l| l.starts_with("sbp_")).expect("the secret is printed").to_string();
    let id = printed.split_whitespace().nth(2).expect("the credential's id").to_string();
    let pbx = Session { server: &server, token: secret };
    let lines = json!({ "lines": [{ "ext": "100", "state": "on_call" }] });
    let reported = pbx.post("/api/v1/domains/acme.example/presence/lines", lines.clone()).await;
    assert_eq!((reported.status, &reported.body["lines"][0]["result"]), (StatusCode::OK, &json!("recorded")));
    assert_eq!(pbx.get("/api/v1/domains/acme.example/users").await.status, StatusCode::NOT_FOUND);
    assert!(cli(&db, &["token", "list", "acme.example", "--kind", "pbx"], None).contains("Main PBX"));
    cli(&db, &["token", "revoke", "acme.example", &id, "--kind", "pbx"], None);
    let refused = pbx.post("/api/v1/domains/acme.example/presence/lines", lines).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);

    // Wrong user and wrong password look the same.
    let attempt = |username: &str, password: &str| {
        server
            .http
            .post(server.url("/api/v1/session"))
            .json(&json!({ "username": username, "password": password }))
            .send()
    };
    let wrong_password = attempt("200@acme.example", "nope-nope").await.unwrap();
    let wrong_user = attempt("999@acme.example", PASSWORD).await.unwrap();
    assert_eq!(wrong_password.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(wrong_user.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(wrong_password.text().await.unwrap(), wrong_user.text().await.unwrap());

    let session = server.login("200@acme.example", PASSWORD).await;
    let created = session.post("/api/v1/tokens", json!({ "name": "my script" })).await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let script = Session { server: &server, token: created.body["secret"].as_str().unwrap().to_string() };
    assert_eq!(script.get("/api/v1/session").await.status, StatusCode::OK);
    assert_eq!(session.delete("/api/v1/session").await.status, StatusCode::NO_CONTENT);
    assert_eq!(session.get("/api/v1/session").await.status, StatusCode::UNAUTHORIZED, "logged out");
    assert_eq!(script.get("/api/v1/session").await.status, StatusCode::OK, "API tokens outlive the session");

    // The operator setting a password ends every session of that user, not their API tokens.
    let (first, second) =
        (server.login("200@acme.example", PASSWORD).await, server.login("200@acme.example", PASSWORD).await);
    cli(&db, &["user", "passwd", "200@acme.example", "--password-stdin"], Some("set by the operator"));
    for ended in [&first, &second] {
        assert_eq!(ended.get("/api/v1/session").await.status, StatusCode::UNAUTHORIZED, "sessions end");
    }
    assert_eq!(script.get("/api/v1/session").await.status, StatusCode::OK);
    server.login("200@acme.example", "set by the operator").await;

    // Repeated failures for one account end in 429 for a while.
    let mut statuses = Vec::new();
    for _ in 0..12 {
        statuses.push(attempt("201@acme.example", "guess-guess").await.unwrap().status());
    }
    assert_eq!(statuses.last(), Some(&StatusCode::TOO_MANY_REQUESTS), "{statuses:?}");
    let locked = attempt("201@acme.example", PASSWORD).await.unwrap();
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS, "even the right password waits");
    assert!(locked.headers().contains_key("retry-after"));
    assert_no_panic(&server);
}

async fn demo_domain(backend: Backend) {
    let db = Database::new(backend).await;
    let first = Server::start(&db, &["--demo"]);
    let ben = first.login("200@demo.example", "demo-password").await;
    let all = ben.all_pages("/api/v1/domains/demo.example/users/200/directory?limit=500").await;
    let shared = all.iter().filter(|e| e["kind"] == "shared").count();
    assert_eq!(shared, 50);
    assert!(all.iter().any(|e| e["presence"]["state"] == "busy"));
    drop(first);
    let second = Server::start(&db, &["--demo"]);
    let again = second.login("200@demo.example", "demo-password").await;
    let shared_again = again.all_pages("/api/v1/domains/demo.example/users/200/directory?group=shared&limit=500").await;
    assert_eq!(shared_again.len(), 50, "the demo is created once");
    assert!(cli(&db, &["user", "list", "demo.example"], None).contains("office-manager"));
}

#[tokio::test(flavor = "multi_thread")]
async fn two_servers_share_one_postgres() {
    let db = Database::new(Backend::Postgres).await;
    seed_domain(&db, ACME, &acme_users());
    let (first, second) = (Server::start(&db, &[]), Server::start(&db, &[]));
    let on_first = first.login("100@acme.example", PASSWORD).await;
    // A session made on one server is good on the other: nothing lives in one process.
    let on_second = Session { server: &second, token: on_first.token.clone() };
    let created = on_first.post(SHARED, ann_lee()).await;
    let item = format!("{SHARED}/{}", created.body["id"].as_str().unwrap());
    assert_eq!(on_second.get(&item).await.body["company"], "Lee & Partners");
    let edited = on_second.patch(&item, json!({ "title": "Buyer" }), &[("if-match", "\"1\"")]).await;
    assert_eq!(edited.status, StatusCode::OK);
    let stale = on_first.patch(&item, json!({ "title": "Seller" }), &[("if-match", "\"1\"")]).await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED, "versions hold across servers");
    assert_eq!(on_second.delete("/api/v1/session").await.status, StatusCode::NO_CONTENT);
    assert_eq!(on_first.get(&item).await.status, StatusCode::UNAUTHORIZED, "a logout reaches every server");
}

#[tokio::test(flavor = "multi_thread")]
async fn db_copy_moves_sqlite_to_postgres() {
    let source = Database::new(Backend::Sqlite).await;
    seed_domain(&source, ACME, &acme_users());
    {
        let server = Server::start(&source, &["--demo"]);
        let manager = server.login("100@acme.example", PASSWORD).await;
        assert_eq!(manager.post(SHARED, ann_lee()).await.status, StatusCode::CREATED);
    }
    let target = Database::new(Backend::Postgres).await;
    let report = cli(&source, &["db", "copy", "--from", &source.url, "--to", &target.url], None);
    assert!(report.contains("counts verified"), "{report}");
    let server = Server::start(&target, &[]);
    let ben = server.login("200@demo.example", "demo-password").await;
    let shared = ben.all_pages("/api/v1/domains/demo.example/users/200/directory?group=shared&q=garc").await;
    assert!(!shared.is_empty(), "search works on the copy");
    let manager = server.login("100@acme.example", PASSWORD).await;
    assert_eq!(manager.get(SHARED).await.body["items"][0]["company"], "Lee & Partners");
    // A second copy into a non-empty database is refused.
    let refused = std::process::Command::new(support::binary())
        .args(["db", "copy", "--from", &source.url, "--to", &target.url])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("not empty"));
}

/// Downloads an export and returns its headers and text.
async fn download(session: &Session<'_>, path: &str) -> (StatusCode, Option<String>, String) {
    let response = session.server.http.get(session.server.url(path)).bearer_auth(&session.token).send().await.unwrap();
    let status = response.status();
    let disposition = response.headers().get("content-disposition").map(|v| v.to_str().unwrap().to_string());
    (status, disposition, response.text().await.unwrap())
}

async fn exports(backend: Backend) {
    let (db, server) = acme(backend).await;
    let manager = server.login("100@acme.example", PASSWORD).await;
    let export = format!("{SHARED}/export");

    // An empty book exports the header alone: the template to fill in.
    let (status, disposition, template) = download(&manager, &format!("{export}?format=outlook")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(disposition.as_deref(), Some("attachment; filename=\"acme.example-shared-contacts.csv\""));
    assert!(template.starts_with("\u{feff}\"Title\",\"First Name\",\"Middle Name\",\"Last Name\""), "{template}");
    assert_eq!(template.lines().count(), 1);

    manager.post(SHARED, ann_lee()).await;
    for i in 0..600 {
        manager
            .post(SHARED, json!({ "company": format!("Supplier {i:03}"), "work_phone": format!("+1 206 555 {i:04}") }))
            .await;
    }
    let (_, _, outlook) = download(&manager, &format!("{export}?format=outlook")).await;
    assert!(outlook.contains("\"Lee & Partners\""), "the & survives");
    assert!(outlook.contains("Supplier 599"), "more than one page of 500 is exported");
    let (_, disposition, vcard) = download(&manager, &format!("{export}?format=vcard")).await;
    assert_eq!(disposition.as_deref(), Some("attachment; filename=\"acme.example-shared-contacts.vcf\""));
    assert_eq!(vcard.matches("BEGIN:VCARD").count(), 601);
    assert!(
        vcard.lines().any(|line| line.starts_with("TEL") && line.ends_with(":+1 (206) 555-0100")),
        "numbers stay as typed"
    );
    let (_, _, google) = download(&manager, &format!("{export}?format=google")).await;
    assert!(google.contains("Switchboard UID"));
    let (status, _, _) = download(&manager, &format!("{export}?format=pdf")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // A user's directory: coworkers carry their extension as work number.
    let ben = server.login("200@acme.example", PASSWORD).await;
    let (status, disposition, coworkers) =
        download(&ben, "/api/v1/domains/acme.example/users/200/directory/export?group=coworkers&format=google").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(disposition.as_deref(), Some("attachment; filename=\"acme.example-200-coworkers.csv\""));
    assert!(coworkers.lines().any(|line| line.contains("Olivia") && line.contains(",100,")), "{coworkers}");
    assert_eq!(coworkers.lines().count(), 4, "header + 3 coworkers: {coworkers}");
    let (status, _, _) = download(&manager, "/api/v1/domains/acme.example/users/200/directory/export").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a directory is its user's alone");

    // The CLI writes the same file.
    let file = tempfile::NamedTempFile::new().unwrap();
    cli(&db, &["export", "--domain", ACME, "--format", "vcard", "-o", file.path().to_str().unwrap()], None);
    assert_eq!(std::fs::read_to_string(file.path()).unwrap().matches("BEGIN:VCARD").count(), 601);
    assert_no_panic(&server);
}

fn contact_fields(items: &[Value]) -> Vec<Value> {
    let mut fields: Vec<Value> = items
        .iter()
        .map(|c| {
            let keep = [
                "first_name",
                "last_name",
                "company",
                "title",
                "work_phone",
                "mobile_phone",
                "home_phone",
                "fax",
                "email",
                "notes",
            ];
            Value::Object(keep.iter().map(|k| (k.to_string(), c[*k].clone())).collect())
        })
        .collect();
    fields.sort_by_key(|v| v.to_string());
    fields
}

/// vCard 4.0 writes a number that has an E.164 form as a `tel:` URI, which comes back as
/// typed: the numbers are compared by their E.164 form there.
fn by_e164(mut fields: Vec<Value>, items: &[Value]) -> Vec<Value> {
    let mut items: Vec<&Value> = items.iter().collect();
    items.sort_by_key(|c| contact_fields(std::slice::from_ref(c))[0].to_string());
    for (field, item) in fields.iter_mut().zip(items) {
        for number in ["work_phone", "mobile_phone", "home_phone", "fax"] {
            if let Some(e164) = item[format!("{number}_e164")].as_str() {
                field[number] = Value::String(e164.to_string());
            }
        }
    }
    fields
}

async fn import_round_trips(backend: Backend) {
    let (db, server) = acme(backend).await;
    let manager = server.login("100@acme.example", PASSWORD).await;
    let tricky = [
        json!({ "first_name": "Zoë", "last_name": "O'Brien, Jr.", "company": "Lee & Partners; \"quoted\"", "title": "=cmd|' /C calc'!A0",
                "work_phone": "+1 (206) 555-0100", "mobile_phone": "425.555.0142", "home_phone": "200", "fax": "+49 30 1234567",
                "email": "zoe@lee.example", "notes": "line one\nline two, with comma" }),
        json!({ "company": "Globex", "work_phone": "2065550111" }),
        json!({ "first_name": "Ann", "last_name": "Lee", "notes": "-starts with a dash" }),
    ];
    for contact in &tricky {
        assert_eq!(manager.post(SHARED, contact.clone()).await.status, StatusCode::CREATED);
    }
    let originals = manager.all_pages(SHARED).await;
    let original = contact_fields(&originals);
    seed_domain(&db, "copy.example", &[("100", "Carl", "office-manager", "Ops")]);
    for format in ["outlook", "google", "vcard", "vcard4"] {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(format!("export.{format}"));
        let path = file.to_str().unwrap();
        cli(&db, &["export", "--domain", ACME, "--format", format, "-o", path], None);

        // Into an empty domain: every field comes back.
        let report = cli(&db, &["import", "--domain", "copy.example", "--mode", "replace", path], None);
        assert!(report.contains("created 3, updated 0, unchanged 0, rejected 0"), "{format}: {report}");
        let copy = server.login("100@copy.example", PASSWORD).await;
        let copied = copy.all_pages("/api/v1/domains/copy.example/shared-contacts").await;
        if format == "vcard4" {
            assert_eq!(by_e164(contact_fields(&copied), &copied), by_e164(original.clone(), &originals), "{format}");
        } else {
            assert_eq!(contact_fields(&copied), original, "{format}");
        }

        // Into the same domain: nothing changes, nothing is created twice (vCard 4.0's
        // `tel:` URIs are the same numbers as typed, which keep their spelling).
        let again = cli(&db, &["import", "--domain", ACME, path], None);
        assert!(again.contains("created 0, updated 0, unchanged 3, rejected 0"), "{format}: {again}");
        let dry = cli(&db, &["import", "--domain", "copy.example", "--dry-run", "--mode", "add", path], None);
        assert!(dry.contains("nothing was written") && dry.contains("create"), "{dry}");
        // Empty the copy for the next format.
        let emptied = cli(
            &db,
            &[
                "import",
                "--domain",
                "copy.example",
                "--mode",
                "replace",
                "--format",
                format.trim_end_matches('4'),
                path,
            ],
            None,
        );
        assert!(emptied.contains("unchanged 3"), "{emptied}");
        for item in copy.all_pages("/api/v1/domains/copy.example/shared-contacts").await {
            copy.delete(&format!("/api/v1/domains/copy.example/shared-contacts/{}", item["id"].as_str().unwrap()))
                .await;
        }
    }
    let now = manager.all_pages(SHARED).await;
    assert_eq!(
        by_e164(contact_fields(&now), &now),
        by_e164(original.clone(), &originals),
        "re-imports changed no number"
    );

    // An edited row updates its contact; a row with a number that cannot be read is kept
    // without it (a warning names row and field); a row with nothing to keep is rejected.
    let csv = "First Name,Last Name,Company,Business Phone,E-mail Address\r\n,,Globex,(206) 555-0111,info@globex.example\r\nBad,Number,,\"206 555 0100\nor 0101\",\r\n,,,,not-an-email\r\n";
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("edits.csv");
    std::fs::write(&file, csv).unwrap();
    let strict = cli(&db, &["import", "--domain", ACME, "--strict", file.to_str().unwrap()], None);
    assert!(
        strict.contains("row      5  rejected: emails[0].address") && strict.contains("nothing was written"),
        "{strict}"
    );
    let report = cli(&db, &["import", "--domain", ACME, file.to_str().unwrap()], None);
    assert!(report.contains("row      3  kept without phones[0].number: "), "{report}");
    assert!(
        report.contains("created 1, updated 1, unchanged 0, rejected 1, moved to trash 0, kept without a field 1")
            && report.contains("committed"),
        "{report}"
    );
    let bad_number = manager.get(&format!("{SHARED}?q=number")).await;
    assert_eq!(bad_number.body["items"][0]["work_phone"], "", "the row is kept, without its unreadable number");
    let globex = manager.get(&format!("{SHARED}?q=globex")).await;
    assert_eq!(globex.body["items"].as_array().unwrap().len(), 1, "matched by name and number, not created again");
    assert_eq!(globex.body["items"][0]["email"], "info@globex.example");
    assert_eq!(globex.body["items"][0]["work_phone"], "(206) 555-0111");
    let audit = manager.get("/api/v1/domains/acme.example/audit").await;
    assert!(audit.body["items"].as_array().unwrap().iter().any(|e| e["action"] == "contacts.import"));

    // A file that is no contacts file is refused whole.
    std::fs::write(&file, b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR").unwrap();
    let refused = std::process::Command::new(support::binary())
        .args(["--database", &db.url, "import", "--domain", ACME, file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("file"), "{}", String::from_utf8_lossy(&refused.stderr));
    assert_no_panic(&server);
}

async fn import_over_http(backend: Backend) {
    let (db, server) = acme(backend).await;
    let manager = server.login("100@acme.example", PASSWORD).await;
    let vcard = "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Lee;Ann;;;\r\nFN:Ann Lee\r\nORG:Lee & Partners\r\nTEL;TYPE=WORK:+1 (206) 555-0100\r\nEND:VCARD\r\nBEGIN:VCARD\r\nVERSION:3.0\r\nN:;;;;\r\nFN:\r\nEMAIL:not an address\r\nEND:VCARD\r\n";
    let post = |path: String, body: reqwest::Body, content_type: &'static str| {
        server
            .http
            .post(server.url(&path))
            .bearer_auth(&manager.token)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let import = format!("{SHARED}/import");

    let preview: Value =
        post(format!("{import}?dry_run=true"), vcard.into(), "text/vcard").await.unwrap().json().await.unwrap();
    assert_eq!(preview["format"], "vCard 3.0");
    assert_eq!((preview["created"].as_u64(), preview["rejected"].as_u64()), (Some(1), Some(1)), "{preview}");
    assert_eq!(preview["previews"][0]["action"], "create");
    assert_eq!(preview["previews"][1]["action"], "reject");
    assert_eq!(preview["committed"], false);
    assert!(manager.get(SHARED).await.body["items"].as_array().unwrap().is_empty(), "a dry run writes nothing");

    // The same file as a form upload, for real.
    let boundary = "----switchboard-test";
    let form = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"ann.vcf\"\r\nContent-Type: text/vcard\r\n\r\n{vcard}\r\n--{boundary}--\r\n"
    );
    let done = post(import.clone(), form.into(), "multipart/form-data; boundary=----switchboard-test").await.unwrap();
    assert_eq!(done.status(), StatusCode::OK);
    let done: Value = done.json().await.unwrap();
    assert_eq!(done["committed"], true, "{done}");
    assert_eq!(done["errors"][0]["row"], 2);
    let stored = manager.get(SHARED).await;
    assert_eq!(stored.body["items"][0]["work_phone_e164"], "+12065550100");
    let again: Value = post(import.clone(), vcard.into(), "text/vcard").await.unwrap().json().await.unwrap();
    assert_eq!((again["created"].as_u64(), again["unchanged"].as_u64()), (Some(0), Some(1)));

    // Bad files and parameters: a clear 4xx, nothing written.
    let png = post(import.clone(), b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec().into(), "text/csv").await.unwrap();
    assert_eq!(png.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let png: Value = png.json().await.unwrap();
    assert_eq!(png["errors"][0]["field"], "file");
    let empty = post(import.clone(), "".into(), "text/csv").await.unwrap();
    assert_eq!(empty.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let wide_row = format!("First Name,Last Name\r\nAnn,Lee{}\r\n", ",x".repeat(500));
    let unfinished = "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Lee;Ann;;;\r\nFN:Ann Lee\r\n";
    let bad_utf8 = b"BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Ann \xff\xfe Lee\r\nN:Lee;Ann;;;\r\nEND:VCARD\r\n".to_vec();
    let header_only = "First Name,Last Name,Company,Business Phone\r\n";
    for (name, body) in [
        ("500 columns", wide_row.into_bytes()),
        ("no END:VCARD", unfinished.into()),
        ("invalid UTF-8", bad_utf8),
        ("header only", header_only.into()),
    ] {
        let reply = post(import.clone(), body.into(), "text/plain").await.unwrap();
        let status = reply.status();
        let report: Value = reply.json().await.unwrap();
        assert!(status == StatusCode::OK || status == StatusCode::UNPROCESSABLE_ENTITY, "{name}: {status}");
        if status == StatusCode::OK {
            assert_eq!(report["created"], 0, "{name}: {report}");
        } else {
            assert!(report["detail"].as_str().is_some_and(|d| !d.is_empty()), "{name}: a clear message: {report}");
        }
    }
    let mode = post(format!("{import}?mode=merge"), vcard.into(), "text/vcard").await.unwrap();
    assert_eq!(mode.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        send_large_body(&server, &manager.token, &import, 60 * 1024 * 1024).await,
        413,
        "a 60 MB file is refused"
    );
    assert_eq!(manager.get(SHARED).await.body["items"].as_array().unwrap().len(), 1);

    // Permissions as for single edits; personal books are their owner's.
    let ben = server.login("200@acme.example", PASSWORD).await;
    let by_ben = server.http.post(server.url(&import)).bearer_auth(&ben.token).body(vcard).send().await.unwrap();
    assert_eq!(by_ben.status(), StatusCode::FORBIDDEN);
    let own = server
        .http
        .post(server.url("/api/v1/domains/acme.example/users/200/contacts/import"))
        .bearer_auth(&ben.token)
        .body(vcard)
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), StatusCode::OK);
    let other = server
        .http
        .post(server.url("/api/v1/domains/acme.example/users/200/contacts/import"))
        .bearer_auth(&manager.token)
        .body(vcard)
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::NOT_FOUND);
    // A file with more rows than the server takes is refused whole; so is a file over its size.
    let strict_server = Server::start(&db, &["--max-import-rows", "1", "--max-import-mb", "1"]);
    assert_eq!(
        send_large_body(&strict_server, &manager.token, &import, 2 * 1024 * 1024).await,
        413,
        "--max-import-mb 1 refuses a 2 MB file"
    );
    let two = "First Name,Last Name\r\nOne,Row\r\nTwo,Rows\r\n";
    let limited =
        strict_server.http.post(strict_server.url(&import)).bearer_auth(&manager.token).body(two).send().await.unwrap();
    assert_eq!(limited.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        manager.get(&format!("{SHARED}?q=row")).await.body["items"].as_array().unwrap().is_empty(),
        "nothing written"
    );
    let starred = "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Doe;Jane;;;\r\nFN:Jane Doe\r\nCATEGORIES:starred\r\nEND:VCARD\r\n";
    let personal = "/api/v1/domains/acme.example/users/200/contacts/import";
    let mine = server.http.post(server.url(personal)).bearer_auth(&ben.token).body(starred).send().await.unwrap();
    assert_eq!(mine.status(), StatusCode::OK);
    assert_eq!(group(&ben, "group=favorites").await, ["Jane Doe"], "a starred contact becomes a favorite");
    assert_no_panic(&server);
}

/// An open `GET /api/v1/events`, read one server-sent event at a time.
struct EventStream {
    response: reqwest::Response,
    buffer: Vec<u8>,
    /// The stream's own user, whose presence its opening changes.
    own_id: Value,
}

impl EventStream {
    async fn open(session: &Session<'_>) -> EventStream {
        let own_id = session.get("/api/v1/session").await.body["user"]["id"].clone();
        let url = session.server.url("/api/v1/events");
        let response = session.server.http.get(url).bearer_auth(&session.token).send().await.expect("events");
        assert_eq!(response.status(), StatusCode::OK);
        EventStream { response, buffer: Vec::new(), own_id }
    }

    /// The next event's name and data, past keep-alive comments and the presence of
    /// the stream's own user (connected by the stream; from another server on
    /// PostgreSQL, that event may come after the stream opened). The timeout only
    /// keeps a broken server from hanging the suite.
    async fn next(&mut self) -> (String, Value) {
        loop {
            let read = tokio::time::timeout(std::time::Duration::from_secs(10), self.read());
            let (name, data) = read.await.expect("no event arrived");
            if !(name == "presence" && data["user_id"] == self.own_id) {
                return (name, data);
            }
        }
    }

    async fn read(&mut self) -> (String, Value) {
        loop {
            while let Some(end) = self.buffer.windows(2).position(|w| w == b"\n\n") {
                let block: Vec<u8> = self.buffer.drain(..end + 2).collect();
                let text = String::from_utf8(block).expect("UTF-8 events");
                let name = text.lines().find_map(|line| line.strip_prefix("event:")).map(str::trim);
                let data = text.lines().find_map(|line| line.strip_prefix("data:")).map(str::trim);
                if let (Some(name), Some(data)) = (name, data) {
                    return (name.to_string(), serde_json::from_str(data).expect("JSON data"));
                }
            }
            let chunk = self.response.chunk().await.expect("the stream reads").expect("the stream stays open");
            self.buffer.extend_from_slice(&chunk);
        }
    }
}

/// A change made through one server reaches a page open on another (on PostgreSQL
/// two servers share the database; SQLite has one server).
async fn events_reach_every_server(backend: Backend) {
    let db = Database::new(backend).await;
    seed_domain(&db, ACME, &acme_users());
    let first = Server::start(&db, &[]);
    let second = match backend {
        Backend::Postgres => Some(Server::start(&db, &[])),
        Backend::Sqlite => None,
    };
    let listening_on = second.as_ref().unwrap_or(&first);
    let zoe = listening_on.login("201@acme.example", PASSWORD).await;
    let mut events = EventStream::open(&zoe).await;

    let olivia = first.login("100@acme.example", PASSWORD).await;
    let created = olivia.post(SHARED, ann_lee()).await;
    assert_eq!(created.status, StatusCode::CREATED);
    let (name, data) = events.next().await;
    assert_eq!(name, "contact");
    assert_eq!(
        data,
        json!({ "kind": "contact", "book": "shared", "contact_id": created.body["id"], "action": "created" })
    );

    let ben = first.login("200@acme.example", PASSWORD).await;
    let presence = ben.put("/api/v1/domains/acme.example/users/200/presence", json!({ "state": "busy" })).await;
    assert_eq!(presence.status, StatusCode::OK);
    let personal = ben.post("/api/v1/domains/acme.example/users/200/contacts", ann_lee()).await;
    assert_eq!(personal.status, StatusCode::CREATED);
    let (name, data) = events.next().await;
    assert_eq!((name.as_str(), &data["kind"]), ("presence", &json!("presence")));
    olivia.delete(&format!("{SHARED}/{}", created.body["id"].as_str().unwrap())).await;
    let (name, data) = events.next().await;
    assert_eq!(
        (name.as_str(), &data["action"]),
        ("contact", &json!("deleted")),
        "Ben's own contact is not Zoe's to hear"
    );
    assert_no_panic(&first);
    second.iter().for_each(assert_no_panic);
}

/// The name a user's phone shows, as the binary answers it: (name, rule, blocked).
async fn caller_id(session: &Session<'_>, number: &str) -> (Value, Value, Value) {
    let encoded: String = number.chars().map(|c| if c == '+' { "%2B".to_string() } else { c.to_string() }).collect();
    let reply = session.get(&format!("/api/v1/domains/{ACME}/lookup?number={}", encoded.replace(' ', "%20"))).await;
    assert_eq!(reply.status, StatusCode::OK, "{number}: {:?}", reply.body);
    (reply.body["name"].clone(), reply.body["rule"].clone(), reply.body["blocked"].clone())
}

async fn caller_id_story(backend: Backend) {
    let (_db, server) = acme(backend).await;
    let manager = server.login("100@acme.example", PASSWORD).await;
    let ben = server.login("200@acme.example", PASSWORD).await;
    let zoe = server.login("201@acme.example", PASSWORD).await;
    for contact in [
        json!({ "first_name": "Ann", "last_name": "Lee", "work_phone": "206.555.0100" }),
        json!({ "company": "Seattle Twin", "work_phone": "+1 206 555 0177" }),
        json!({ "company": "Chicago Twin", "mobile_phone": "13125550177" }),
    ] {
        assert_eq!(manager.post(SHARED, contact).await.status, StatusCode::CREATED);
    }
    let mine = "/api/v1/domains/acme.example/users/200/contacts";
    assert_eq!(
        ben.post(mine, json!({ "first_name": "Mom", "mobile_phone": "+1 (206) 555-0100" })).await.status,
        StatusCode::CREATED
    );

    assert_eq!(caller_id(&zoe, "+1 206 555 0100").await.0, "Ann Lee");
    assert_eq!(caller_id(&zoe, "12065550100").await.1, "exact_e164");
    assert_eq!(caller_id(&ben, "2065550100").await.0, "Mom", "his own contact comes first");
    assert_eq!(caller_id(&zoe, "+13125550177").await.0, "Chicago Twin");
    let ambiguous = caller_id(&zoe, "5550177").await;
    assert_eq!((ambiguous.0, ambiguous.1), (Value::Null, json!("trailing_digits")));
    assert_eq!(caller_id(&zoe, "200").await.0, "Ben Tester", "an extension is a coworker");

    let blocked = "/api/v1/domains/acme.example/blocked-numbers";
    assert_eq!(manager.post(blocked, json!({ "prefix": "+1900" })).await.status, StatusCode::CREATED);
    assert_eq!(manager.post(blocked, json!({ "number": "206 555 0100" })).await.status, StatusCode::CREATED);
    assert_eq!(ben.post(blocked, json!({ "prefix": "+44" })).await.status, StatusCode::FORBIDDEN);
    let allowed = "/api/v1/domains/acme.example/users/200/allowed-numbers";
    assert_eq!(ben.post(allowed, json!({ "number": "+12065550100" })).await.status, StatusCode::CREATED);
    assert_eq!(caller_id(&zoe, "+1 900 555 0123").await.2, true);
    assert_eq!(caller_id(&zoe, "(206) 555-0100").await.2, true);
    assert_eq!(caller_id(&ben, "(206) 555-0100").await.2, false, "Ben allows it");
    assert_eq!(manager.all_pages(blocked).await.len(), 2);
    let audit = manager.get("/api/v1/domains/acme.example/audit").await;
    let actions: Vec<&str> =
        audit.body["items"].as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    assert_eq!(actions.iter().filter(|a| **a == "blocked_number.add").count(), 2, "{actions:?}");
    assert!(actions.contains(&"allowed_number.add"), "{actions:?}");
    assert_no_panic(&server);
}

/// `device add --json` prints the secrets for scripts; a phone then fetches its book with
/// the token and with HTTP Basic, and `device revoke` shuts it out.
async fn desk_phone_story(backend: Backend) {
    let (db, server) = acme(backend).await;
    let manager = server.login("100@acme.example", PASSWORD).await;
    assert_eq!(manager.post(SHARED, ann_lee()).await.status, StatusCode::CREATED);
    let printed = cli(&db, &["device", "add", ACME, "--name", "Reception T54W", "--user", "200", "--json"], None);
    let secrets: Value = serde_json::from_str(printed.trim()).expect("--json prints JSON only");
    let mut keys: Vec<&String> = secrets.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["bind_dn", "password", "token"]);
    let token = secrets["token"].as_str().unwrap();

    let url = server.url(&format!("/phonebook/{token}/yealink.xml"));
    let book = server.http.get(&url).send().await.unwrap();
    assert_eq!(book.status(), StatusCode::OK);
    let xml = book.text().await.unwrap();
    assert!(xml.contains("<Name>Ann Lee</Name>") && xml.contains(">+12065550100</Telephone>"), "{xml}");
    assert!(!xml.contains("Ben Tester"), "the bound user is not in their own book: {xml}");
    let searched = server.http.get(format!("{url}?q=5550100")).send().await.unwrap().text().await.unwrap();
    assert!(searched.contains("Ann Lee") && !searched.contains("Olivia"), "{searched}");
    let basic = server.http.get(server.url("/phonebook/cisco.xml"));
    let basic = basic.basic_auth(secrets["bind_dn"].as_str().unwrap(), secrets["password"].as_str()).send().await;
    assert_eq!(basic.unwrap().status(), StatusCode::OK);

    let listed = cli(&db, &["device", "list", ACME], None);
    let id = listed.split('\t').next().unwrap().trim().to_string();
    assert!(
        listed.contains("Reception T54W") && listed.contains("user 200") && !listed.contains("last used -"),
        "{listed}"
    );
    let shown = cli(&db, &["device", "show", ACME, &id, "--base-url", "https://pbx.example"], None);
    assert!(shown.contains("https://pbx.example/phonebook/<TOKEN>/cisco.xml"), "{shown}");
    assert!(shown.contains("ou=contacts,dc=acme,dc=example") && shown.contains(secrets["bind_dn"].as_str().unwrap()));
    // The vendors' own keys, filled in for this device (every line is checked in device.rs).
    let dn = secrets["bind_dn"].as_str().unwrap();
    for line in [
        "  remote_phonebook.data.1.url = https://pbx.example/phonebook/<TOKEN>/yealink.xml?group=favorites".to_string(),
        format!("  ldap.user = {dn}"),
        format!("  dir.corp.user=\"{dn}\""),
        "  <XML_Directory_Service_URL>https://pbx.example/phonebook/<TOKEN>/cisco.xml</XML_Directory_Service_URL>"
            .into(),
        "  <P330>3</P330>".into(),
        "  <P331>pbx.example/phonebook/<TOKEN></P331>".into(),
        "  <dkey_directory perm=\"\">url https://pbx.example/phonebook/<TOKEN>/snom.xml</dkey_directory>".into(),
    ] {
        assert!(shown.lines().any(|printed| printed == line), "missing {line:?} in\n{shown}");
    }
    cli(&db, &["device", "revoke", ACME, &id], None);
    assert_eq!(server.http.get(&url).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert!(!server.log().contains(token), "the token stays out of the server's log");
    assert_no_panic(&server);
}

/// `serve --trust-forwarded-for` believed the first `X-Forwarded-For` address, which any
/// client writes: it is refused (as flag and as environment variable) with a message
/// naming `--trusted-proxy`, and a `--trusted-proxy` that is no network is refused too.
#[test]
fn the_old_forwarded_for_option_is_refused_naming_its_replacement() {
    let dir = tempfile::tempdir().unwrap();
    let refusal = |args: &[&str], env: &[(&str, &str)]| {
        let mut child = std::process::Command::new(support::binary())
            .arg("--data-dir")
            .arg(dir.path())
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .envs(env.iter().copied())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // A server that starts anyway would run for ever: give it a while, then stop it.
        for _ in 0..300 {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            panic!("switchboard serve {args:?} {env:?} started instead of refusing");
        }
        let output = child.wait_with_output().unwrap();
        assert!(!output.status.success());
        String::from_utf8_lossy(&output.stderr).to_string()
    };
    let flag = refusal(&["--trust-forwarded-for"], &[]);
    assert!(flag.contains("--trusted-proxy CIDR"), "{flag}");
    let env = refusal(&[], &[("SWITCHBOARD_TRUST_FORWARDED_FOR", "true")]);
    assert!(env.contains("--trusted-proxy CIDR"), "{env}");
    let bad = refusal(&["--trusted-proxy", "the load balancer"], &[]);
    assert!(bad.contains("not an address or a CIDR range"), "{bad}");
}

/// `user deleted` lists who is in the trash and `user restore` brings them back with their
/// own contacts; an extension nobody deleted is refused with a message naming it.
async fn deleted_users_from_the_command_line(backend: Backend) {
    let (db, server) = acme(backend).await;
    let ben = server.login("200@acme.example", PASSWORD).await;
    let mum = json!({ "first_name": "Mum", "mobile_phone": "206 555 0199" });
    assert_eq!(ben.post("/api/v1/domains/acme.example/users/200/contacts", mum).await.status, StatusCode::CREATED);
    let olivia = server.login("100@acme.example", PASSWORD).await;
    assert_eq!(olivia.delete("/api/v1/domains/acme.example/users/200").await.status, StatusCode::NO_CONTENT);

    let listed = cli(&db, &["user", "deleted", ACME], None);
    assert!(listed.starts_with("200\tBen ") && listed.contains("by 100@acme.example"), "{listed}");
    let missing = std::process::Command::new(support::binary())
        .args(["--database", &db.url, "user", "restore", ACME, "999"])
        .output()
        .unwrap();
    assert!(!missing.status.success());
    let message = String::from_utf8_lossy(&missing.stderr);
    assert!(message.contains("no user of acme.example with extension 999 is in the trash"), "{message}");
    let restored = cli(&db, &["user", "restore", ACME, "200"], None);
    assert!(restored.contains("restored 200@acme.example"), "{restored}");
    assert!(cli(&db, &["user", "deleted", ACME], None).is_empty());
    let ben = server.login("200@acme.example", PASSWORD).await;
    let own = ben.get("/api/v1/domains/acme.example/users/200/contacts").await;
    assert_eq!(own.body["items"][0]["first_name"], "Mum");
}

/// `switchboard watch` beside a running server: the whole directory first, then each
/// change the server makes, as JSON lines.
async fn watch_prints_every_change(backend: Backend) {
    let (db, server) = acme(backend).await;
    let olivia = server.login("100@acme.example", PASSWORD).await;
    assert_eq!(olivia.post(SHARED, ann_lee()).await.status, StatusCode::CREATED);
    let mut child = std::process::Command::new(support::binary())
        .args(["--database", &db.url, "watch", ACME, "--from-start", "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("watch starts");
    let (lines, printed) = std::sync::mpsc::channel::<Value>();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines.send(serde_json::from_str(&line).expect("one JSON change a line")).is_err() {
                return;
            }
        }
    });
    // Reads printed changes until one satisfies `wanted`.
    let wait_for = |what: &str, wanted: &dyn Fn(&Value) -> bool| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let change = printed.recv_timeout(left).unwrap_or_else(|_| panic!("watch never printed {what}"));
            if wanted(&change) {
                return change;
            }
        }
    };
    // In the order they were made: the users, then the contact.
    wait_for("a coworker", &|c| c["entry"]["extension"] == "201");
    wait_for("the shared contact of before", &|c| c["entry"]["first_name"] == "Ann");

    let created = olivia.post(SHARED, json!({ "first_name": "Watched", "last_name": "Live" })).await;
    let busy = olivia.put("/api/v1/domains/acme.example/users/200/presence", json!({ "state": "busy" })).await;
    assert_eq!((created.status, busy.status), (StatusCode::CREATED, StatusCode::OK));
    wait_for("the new contact", &|c| c["op"] == "upsert" && c["entry"]["first_name"] == "Watched");
    wait_for("Ben busy", &|c| c["entry"]["extension"] == "200" && c["entry"]["presence"]["state"] == "busy");
    olivia.delete(&format!("{SHARED}/{}", created.body["id"].as_str().unwrap())).await;
    wait_for("the deletion", &|c| c["op"] == "delete" && c["entry_id"] == created.body["id"]);
    child.kill().unwrap();
    child.wait().unwrap();
    assert_no_panic(&server);
}
