//! Chat between coworkers over the REST API, on SQLite and PostgreSQL: a conversation
//! with unread counts and delivered/read marks, paging, deleting within five minutes,
//! who may write to whom and read what, bad input, a flood, the audit log, and the
//! domain's retention.

mod support;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{Backend, Person, Server};
use switchboard_app::{Caller, DomainInput, UserInput, UserPatchInput};
use switchboard_server::ServerConfig;

const PEOPLE: [Person; 3] = [
    Person { ext: "200", scope: "office-manager", first_name: "Olivia", department: "", site: "" },
    Person { ext: "201", scope: "basic-user", first_name: "Ben", department: "", site: "" },
    Person { ext: "202", scope: "basic-user", first_name: "Hana", department: "", site: "" },
];

fn chats(ext: &str) -> String {
    format!("/api/v1/domains/acme.example/users/{ext}/chats")
}

fn messages(ext: &str, peer: &str) -> String {
    format!("{}/{peer}/messages", chats(ext))
}

async fn send(server: &Server, token: &str, from: &str, to: &str, text: &str) -> (StatusCode, Value) {
    server.call(Method::POST, token, &messages(from, to), Some(json!({ "text": text }))).await
}

async fn a_conversation_with_unread_counts_and_marks(backend: Backend) {
    let server = support::spawn(backend, &PEOPLE, ServerConfig::default()).await;
    let (olivia, ben) = (server.token("200").await, server.token("201").await);
    let (status, sent) = send(&server, &olivia, "200", "201", "  Lunch at <b>noon</b>?\nhttps://example.com  ").await;
    assert_eq!(status, StatusCode::CREATED, "{sent}");
    assert_eq!(sent["text"], "Lunch at <b>noon</b>?\nhttps://example.com", "kept as text, trimmed");
    assert_eq!((&sent["from"], &sent["to"], &sent["delivered"]), (&json!("200"), &json!("201"), &json!(false)));

    let (_, list) = server.call(Method::GET, &ben, &chats("201"), None).await;
    assert_eq!(list["unread_total"], 1, "{list}");
    assert_eq!((&list["items"][0]["peer"], &list["items"][0]["peer_name"]), (&json!("200"), &json!("Olivia Tester")));
    assert_eq!(list["items"][0]["unread"], 1);
    let (_, theirs) = server.call(Method::GET, &olivia, &messages("200", "201"), None).await;
    assert_eq!((&theirs["items"][0]["delivered"], &theirs["items"][0]["read"]), (&json!(true), &json!(false)));

    let mark = json!({ "up_to": sent["id"] });
    let (status, _) = server.call(Method::PUT, &ben, &format!("{}/200/read", chats("201")), Some(mark)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, list) = server.call(Method::GET, &ben, &chats("201"), None).await;
    assert_eq!(
        (&list["unread_total"], &list["items"][0]["unread"]),
        (&json!(0), &json!(0)),
        "the same on every device"
    );
    let (_, theirs) = server.call(Method::GET, &olivia, &messages("200", "201"), None).await;
    assert_eq!(theirs["items"][0]["read"], true, "the sender sees it read");

    // An answer: Olivia has one unread, Ben none (he answered, so he has read it all).
    let (status, _) = send(&server, &ben, "201", "200", "Yes!").await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, list) = server.call(Method::GET, &olivia, &chats("200"), None).await;
    assert_eq!((&list["unread_total"], &list["items"][0]["last_message"]["text"]), (&json!(1), &json!("Yes!")));
}

async fn pages_newest_first_without_gaps(backend: Backend) {
    let server = support::spawn(backend, &PEOPLE, ServerConfig::default()).await;
    let olivia = server.token("200").await;
    for i in 0..5 {
        assert_eq!(send(&server, &olivia, "200", "201", &format!("message {i}")).await.0, StatusCode::CREATED);
    }
    let mut seen = Vec::new();
    let mut path = format!("{}?limit=2", messages("200", "201"));
    loop {
        let (status, page) = server.call(Method::GET, &olivia, &path, None).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        seen.extend(page["items"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap().to_string()));
        match page["next_before"].as_str() {
            Some(before) => path = format!("{}?limit=2&before={before}", messages("200", "201")),
            None => break,
        }
    }
    assert_eq!(seen, ["message 4", "message 3", "message 2", "message 1", "message 0"]);
    for bad in ["limit=0", "limit=101", "limit=x", "before=yesterday"] {
        let (status, problem) = server.call(Method::GET, &olivia, &format!("{}?{bad}", chats("200")), None).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {problem}");
    }
}

async fn senders_delete_within_five_minutes(backend: Backend) {
    let server = support::spawn(backend, &PEOPLE, ServerConfig::default()).await;
    let (olivia, ben) = (server.token("200").await, server.token("201").await);
    let (_, sent) = send(&server, &olivia, "200", "201", "Oops, wrong person").await;
    let id = sent["id"].as_str().unwrap();
    let (status, _) = server.call(Method::DELETE, &ben, &format!("{}/{id}", messages("201", "200")), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "only its sender deletes it");
    let (status, _) = server.call(Method::DELETE, &olivia, &format!("{}/{id}", messages("200", "201")), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, page) = server.call(Method::GET, &ben, &messages("201", "200"), None).await;
    assert_eq!((&page["items"][0]["text"], &page["items"][0]["deleted"]), (&json!(""), &json!(true)), "{page}");
    let (_, list) = server.call(Method::GET, &ben, &chats("201"), None).await;
    assert_eq!(list["unread_total"], 0, "a deleted message is not unread");
    let (status, _) = server.call(Method::DELETE, &olivia, &format!("{}/{id}", messages("200", "201")), None).await;
    assert_eq!(status, StatusCode::CONFLICT, "deleted already");
}

async fn who_may_write_and_read(backend: Backend) {
    let server = support::spawn(backend, &PEOPLE, ServerConfig::default()).await;
    let unlisted = UserPatchInput { listed: Some(false), ..Default::default() };
    server.app.update_user(&Caller::System, "acme.example", "202", None, unlisted).await.unwrap();
    let (olivia, ben, hana) = (server.token("200").await, server.token("201").await, server.token("202").await);

    let (status, _) = send(&server, &ben, "201", "202", "Hello?").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "an unlisted person is written to only after writing first");
    assert_eq!(send(&server, &hana, "202", "201", "Hi Ben, it's Hana").await.0, StatusCode::CREATED);
    assert_eq!(send(&server, &ben, "201", "202", "Hi Hana").await.0, StatusCode::CREATED, "now Ben may answer");

    // Nobody else reads or writes Ben's conversations: not his manager, not a coworker.
    for (token, who) in [(&olivia, "his manager"), (&hana, "a coworker")] {
        let (status, _) = server.call(Method::GET, token, &chats("201"), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{who} reads his conversations");
        let (status, _) = server.call(Method::GET, token, &messages("201", "202"), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{who} reads his messages");
        let (status, _) = send(&server, token, "201", "200", "in his name").await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{who} writes in his name");
    }

    // Another domain (of no reseller, as is every domain here): its people reach nobody of acme.
    let other = DomainInput { name: "other.example".into(), ..Default::default() };
    server.app.create_domain(&Caller::System, other).await.unwrap();
    let stranger = UserInput {
        extension: "300".into(),
        first_name: "Sam".into(),
        password: Some(support::PASSWORD.into()),
        ..Default::default()
    };
    server.app.create_user(&Caller::System, "other.example", stranger).await.unwrap();
    let body = json!({ "username": "300@other.example", "password": support::PASSWORD });
    let (status, login) = server.call(Method::POST, "", "/api/v1/session", Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{login}");
    let sam = login["token"].as_str().unwrap().to_string();
    let (status, _) = server.call(Method::GET, &sam, &chats("201"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let path = "/api/v1/domains/other.example/users/300/chats/201/messages";
    let (status, _) = server.call(Method::POST, &sam, path, Some(json!({ "text": "hi" }))).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "201 is nobody in other.example");
}

async fn bad_messages_and_marks_are_refused(backend: Backend) {
    let server = support::spawn(backend, &PEOPLE, ServerConfig::default()).await;
    let (olivia, ben) = (server.token("200").await, server.token("201").await);
    for (text, why) in [("", "empty"), (" \n\t ", "blank"), ("bell\u{7}", "control character")] {
        let (status, problem) = send(&server, &olivia, "200", "201", text).await;
        assert_eq!(
            (status, &problem["errors"][0]["field"]),
            (StatusCode::UNPROCESSABLE_ENTITY, &json!("text")),
            "{why}"
        );
    }
    let (status, problem) = send(&server, &olivia, "200", "201", &"x".repeat(4001)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(problem["errors"][0]["message"].as_str().unwrap().contains("4000"), "{problem}");
    assert_eq!(send(&server, &olivia, "200", "201", &"é".repeat(4000)).await.0, StatusCode::CREATED);
    assert_eq!(send(&server, &olivia, "200", "299", "anyone?").await.0, StatusCode::NOT_FOUND, "no such extension");
    assert_eq!(send(&server, &olivia, "200", "200", "me").await.0, StatusCode::UNPROCESSABLE_ENTITY, "oneself");
    let unknown = Some(json!({ "text": "a", "html": 1 }));
    let (status, _) = server.call(Method::POST, &olivia, &messages("200", "201"), unknown).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "unknown fields");

    // Read marks: only a message of the conversation.
    let (_, other) = send(&server, &ben, "201", "202", "not yours").await;
    let read = format!("{}/201/read", chats("200"));
    for forged in [json!({ "up_to": other["id"] }), json!({ "up_to": uuid::Uuid::now_v7() })] {
        let (status, problem) = server.call(Method::PUT, &olivia, &read, Some(forged)).await;
        assert_eq!((status, &problem["errors"][0]["field"]), (StatusCode::UNPROCESSABLE_ENTITY, &json!("up_to")));
    }
}

async fn a_flood_is_slowed_and_the_audit_keeps_no_text(backend: Backend) {
    let server = support::spawn(backend, &PEOPLE, ServerConfig::default()).await;
    let olivia = server.token("200").await;
    let mut refused = None;
    for i in 0..40 {
        let response = server
            .client
            .post(server.url(&messages("200", "201")))
            .bearer_auth(&olivia)
            .json(&json!({ "text": format!("secret {i}") }))
            .send()
            .await
            .unwrap();
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            refused = Some((i, response.headers().get("retry-after").cloned()));
            break;
        }
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    let (at, retry_after) = refused.expect("a flood is refused");
    assert!(at >= 20, "a burst of 20 goes through, refused at {at}");
    assert!(retry_after.is_some(), "with Retry-After");

    let (_, log) = server.call(Method::GET, &olivia, "/api/v1/domains/acme.example/audit?action=chat.*", None).await;
    let entries = log["items"].as_array().unwrap();
    assert!(entries.len() >= 20, "{log}");
    assert_eq!(entries[0]["details"]["to"], "201");
    assert!(!log.to_string().contains("secret"), "the audit log never holds a message's text");
}

/// Messages older than the domain's `CHAT_RETENTION_DAYS` go; newer ones and other
/// domains' stay.
async fn old_messages_go_after_the_domains_retention(backend: Backend) {
    let server = support::spawn(backend, &PEOPLE, ServerConfig::default()).await;
    let olivia = server.token("200").await;
    let store = server.app.store();
    let domain = store.domain_by_name(&"acme.example".parse().unwrap()).await.unwrap().unwrap();
    let user = |ext: &'static str| async move {
        store.user_by_extension(domain.id, &ext.parse().unwrap()).await.unwrap().unwrap().id
    };
    let (from, to) = (user("200").await, user("201").await);
    let (low, high) = if from < to { (from, to) } else { (to, from) };
    let three_days_ago = (chrono::Utc::now() - chrono::Duration::days(3)).timestamp_micros();
    let old = json!({
        "id": uuid::Uuid::now_v7().to_string(), "domain_id": domain.id.to_string(), "sender_id": from.to_string(),
        "recipient_id": to.to_string(), "low_id": low.to_string(), "high_id": high.to_string(),
        "text": "from three days ago", "sent_at": three_days_ago, "deleted": false,
    });
    store.import_rows("chat_messages", &[old.as_object().unwrap().clone()]).await.unwrap();
    assert_eq!(send(&server, &olivia, "200", "201", "from today").await.0, StatusCode::CREATED);

    assert_eq!(server.app.purge_old_chat().await.unwrap(), 0, "kept without a retention");
    let layer = switchboard_app::SettingsLayer::Domain("acme.example".into());
    let too_long = std::collections::BTreeMap::from([("CHAT_RETENTION_DAYS".to_string(), Some("99999".to_string()))]);
    assert!(server.app.put_settings(&Caller::System, &layer, too_long).await.is_err());
    let two_days = std::collections::BTreeMap::from([("CHAT_RETENTION_DAYS".to_string(), Some("2".to_string()))]);
    server.app.put_settings(&Caller::System, &layer, two_days).await.unwrap();
    assert_eq!(server.app.purge_old_chat().await.unwrap(), 1);
    let (_, page) = server.call(Method::GET, &olivia, &messages("200", "201"), None).await;
    let texts: Vec<&str> = page["items"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap()).collect();
    assert_eq!(texts, ["from today"]);
}

support::on_both_backends!(
    old_messages_go_after_the_domains_retention,
    a_conversation_with_unread_counts_and_marks,
    pages_newest_first_without_gaps,
    senders_delete_within_five_minutes,
    who_may_write_and_read,
    bad_messages_and_marks_are_refused,
    a_flood_is_slowed_and_the_audit_keeps_no_text
);
