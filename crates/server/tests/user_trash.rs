//! Deleted users over HTTP, on SQLite and PostgreSQL: a delete ends the user's sessions
//! and keeps everything theirs; those who may manage them list and restore them (REST,
//! the portal's "Deleted users" panel and the delete toast's Undo); nobody else can; a
//! taken extension blocks the restore with a clear 409.

mod support;

use reqwest::{Method, StatusCode};
use serde_json::json;
use support::{Backend, Person, attribute_values, toast};
use switchboard_app::{Caller, DomainInput, UserInput};
use switchboard_server::ServerConfig;

const PEOPLE: [Person; 3] = [
    Person { ext: "200", scope: "office-manager", first_name: "Olivia", department: "", site: "" },
    Person { ext: "201", scope: "basic-user", first_name: "Ben", department: "", site: "" },
    Person { ext: "202", scope: "basic-user", first_name: "Rita", department: "", site: "" },
];
const DELETED: &str = "/api/v1/domains/acme.example/deleted-users";
const BENS_CONTACTS: &str = "/api/v1/domains/acme.example/users/201/contacts";

async fn deleted_users_come_back_whole(backend: Backend) {
    let server = support::spawn(backend, &PEOPLE, ServerConfig::default()).await;
    let (olivia, ben, rita) = (server.token("200").await, server.token("201").await, server.token("202").await);
    let mum = json!({ "first_name": "Mum", "mobile_phone": "+1 206 555 0111" });
    assert_eq!(server.call(Method::POST, &ben, BENS_CONTACTS, Some(mum)).await.0, StatusCode::CREATED);
    let sharing = "/api/v1/domains/acme.example/users/201/phone-sharing";
    server.call(Method::PUT, &ben, sharing, Some(json!({ "own_contacts": true }))).await;

    let ben_url = "/api/v1/domains/acme.example/users/201";
    assert_eq!(server.call(Method::DELETE, &olivia, ben_url, None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(server.call(Method::GET, &ben, BENS_CONTACTS, None).await.0, StatusCode::UNAUTHORIZED, "signed out");
    assert_eq!(server.call(Method::GET, &olivia, ben_url, None).await.0, StatusCode::NOT_FOUND);
    let (status, listed) = server.call(Method::GET, &olivia, DELETED, None).await;
    assert_eq!(status, StatusCode::OK);
    let gone = &listed["items"][0];
    assert_eq!((gone["extension"].as_str(), gone["deleted_by"].as_str()), (Some("201"), Some("200@acme.example")));
    assert!(gone.get("snapshot").is_none() && !listed.to_string().contains("Mum"), "nothing of what Ben kept");
    let id = gone["id"].as_str().unwrap().to_string();
    let restore = format!("{DELETED}/{id}/restore");

    // Who else may not: a basic user, a bad id, another domain's manager.
    assert_eq!(server.call(Method::GET, &rita, DELETED, None).await.0, StatusCode::FORBIDDEN);
    assert_eq!(server.call(Method::POST, &rita, &restore, None).await.0, StatusCode::FORBIDDEN);
    let (status, problem) = server.call(Method::GET, &olivia, &format!("{DELETED}?limit=0"), None).await;
    assert_eq!((status, problem["errors"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("limit")));
    let other = DomainInput { name: "other.example".into(), ..Default::default() };
    server.app.create_domain(&Caller::System, other).await.unwrap();
    let gus = UserInput {
        extension: "200".into(),
        scope: Some("office-manager".into()),
        password: Some(support::PASSWORD.into()),
        ..Default::default()
    };
    server.app.create_user(&Caller::System, "other.example", gus).await.unwrap();
    let gus = server.app.login("200@other.example", support::PASSWORD, None).await.unwrap().token;
    let foreign = format!("/api/v1/domains/other.example/deleted-users/{id}/restore");
    assert_eq!(server.call(Method::POST, &gus, &foreign, None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(server.call(Method::POST, &gus, &restore, None).await.0, StatusCode::NOT_FOUND);

    // The extension was given to someone else meanwhile: a clear 409, nothing changes.
    let newcomer = json!({ "extension": "201", "first_name": "Nina", "password": support::PASSWORD });
    let users = "/api/v1/domains/acme.example/users";
    assert_eq!(server.call(Method::POST, &olivia, users, Some(newcomer)).await.0, StatusCode::CREATED);
    let (status, problem) = server.call(Method::POST, &olivia, &restore, None).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(problem["detail"].as_str().unwrap().contains("extension 201"), "{problem}");
    assert_eq!(server.call(Method::DELETE, &olivia, ben_url, None).await.0, StatusCode::NO_CONTENT);

    let (status, restored) = server.call(Method::POST, &olivia, &restore, None).await;
    assert_eq!((status, restored["first_name"].as_str()), (StatusCode::OK, Some("Ben")));
    let ben = server.token("201").await;
    let (_, own) = server.call(Method::GET, &ben, BENS_CONTACTS, None).await;
    assert_eq!(own["items"][0]["first_name"], "Mum", "his own contacts are back");
    assert_eq!(server.call(Method::GET, &ben, sharing, None).await.1, json!({ "own_contacts": true }));
    let (_, listed) = server.call(Method::GET, &olivia, DELETED, None).await;
    let left: Vec<&str> =
        listed["items"].as_array().unwrap().iter().map(|u| u["first_name"].as_str().unwrap()).collect();
    assert_eq!(left, ["Nina"]);
}

/// The Users page: Delete says where the user goes, its toast's Undo brings them back,
/// and the "Deleted users" panel restores.
async fn the_portal_restores_deleted_users(backend: Backend) {
    let server = support::spawn(backend, &PEOPLE, ServerConfig::default()).await;
    let olivia = server.log_in("200").await;
    let (_, question) = olivia.fragment("/users/201/delete").await;
    assert!(question.contains("restorable for 30 days"), "{question}");
    let response = olivia.post("/users/201/delete", &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let events = support::triggers(&response);
    let undo = events["toast"]["undo"].as_str().unwrap().to_string();
    assert!(undo.starts_with("/users/deleted/") && undo.ends_with("/restore"), "{events}");
    let page = olivia.get("/users").await.text().await.unwrap();
    assert!(page.contains("id=\"deleted-users-button\""));
    let (status, panel) = olivia.fragment("/users/deleted").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(attribute_values(&panel, "data-extension"), ["201"]);

    let response = olivia.post(&undo, &[]).await;
    assert_eq!((response.status(), toast(&response).as_str()), (StatusCode::OK, "Restored user 201 (Ben Tester)"));
    assert!(response.text().await.unwrap().contains("id=\"no-deleted-users\""));
    let (_, rows) = olivia.fragment("/users/rows").await;
    assert!(rows.contains("Ben"), "back on the Users page");

    let rita = server.log_in("202").await;
    assert_eq!(rita.fragment("/users/deleted").await.0, StatusCode::FORBIDDEN);
}

support::on_both_backends!(deleted_users_come_back_whole, the_portal_restores_deleted_users);
