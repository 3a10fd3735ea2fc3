//! Possible duplicates over HTTP, on SQLite and PostgreSQL: the shared and personal
//! lists, a merge preview with its conflicts, the merge and its undo from the trash,
//! "not duplicates", and who may do each (another domain's ids are not found, a basic
//! user may not touch shared contacts, nobody else's personal book).

mod support;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{Backend, Person, Server, attribute_values, toast, triggers};
use switchboard_app::{Caller, DomainInput};
use switchboard_server::ServerConfig;

const PEOPLE: [Person; 2] = [
    Person { ext: "200", scope: "office-manager", first_name: "Olivia", department: "", site: "" },
    Person { ext: "201", scope: "basic-user", first_name: "Ben", department: "", site: "" },
];
const SHARED: &str = "/api/v1/domains/acme.example/shared-contacts";
const BENS: &str = "/api/v1/domains/acme.example/users/201/contacts";

async fn create(server: &Server, token: &str, book: &str, contact: Value) -> String {
    let (status, body) = server.call(Method::POST, token, book, Some(contact)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_str().unwrap().to_string()
}

fn bob() -> Value {
    json!({ "first_name": "Bob", "last_name": "Smith", "work_phone": "(206) 555-0100", "email": "bob@example.com" })
}

fn robert() -> Value {
    json!({ "first_name": "Robert", "last_name": "Smith", "mobile_phone": "206 555 0101", "email": "BOB@example.com" })
}

async fn shared_duplicates_are_listed_merged_and_undone(backend: Backend) {
    let server = support::spawn(backend, &PEOPLE, ServerConfig::default()).await;
    let (olivia, ben) = (server.token("200").await, server.token("201").await);
    let b = create(&server, &olivia, SHARED, bob()).await;
    let r = create(&server, &olivia, SHARED, robert()).await;
    let duplicates = format!("{SHARED}/duplicates");

    let (status, page) = server.call(Method::GET, &olivia, &duplicates, None).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["items"][0]["reason"], "email");
    assert_eq!(page["items"][0]["shared"], "bob@example.com");
    assert_eq!(page["items"][0]["contacts"].as_array().unwrap().len(), 2);
    assert_eq!(page["next_cursor"], Value::Null);
    let (status, _) = server.call(Method::GET, &ben, &duplicates, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a basic user does not edit shared contacts");
    let (status, _) = server.call(Method::GET, &olivia, &format!("{duplicates}?cursor=nonsense"), None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    let ids = json!({ "ids": [b, r], "keep": { "first_name": r } });
    let (status, preview) =
        server.call(Method::POST, &olivia, &format!("{SHARED}/merge/preview"), Some(ids.clone())).await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert_eq!(preview["contact"]["first_name"], "Robert");
    assert_eq!(preview["conflicts"][0]["field"], "first_name");
    let (status, _) = server.call(Method::POST, &ben, &format!("{SHARED}/merge"), Some(ids.clone())).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, merged) = server.call(Method::POST, &olivia, &format!("{SHARED}/merge"), Some(ids)).await;
    assert_eq!(status, StatusCode::OK, "{merged}");
    assert_eq!(merged["id"], b.as_str());
    assert_eq!(merged["phones"].as_array().map(Vec::len), Some(2), "{merged}");
    let (_, page) = server.call(Method::GET, &olivia, &duplicates, None).await;
    assert_eq!(page["items"], json!([]));

    let (status, _) = server.call(Method::POST, &olivia, &format!("{SHARED}/{r}/restore"), None).await;
    assert_eq!(status, StatusCode::OK, "undo");
    assert_eq!(server.count(&olivia, SHARED).await, 2);

    // An email beyond the first counts too, case aside.
    let emails = json!([{ "address": "dana@home.example" }, { "address": "Bob@Example.com" }]);
    let d = create(&server, &olivia, SHARED, json!({ "first_name": "Dana", "emails": emails })).await;
    let (_, page) = server.call(Method::GET, &olivia, &duplicates, None).await;
    let by_email: Vec<_> = page["items"].as_array().unwrap().iter().filter(|g| g["reason"] == "email").collect();
    assert_eq!(by_email.len(), 1, "{page}");
    let ids: Vec<&str> =
        by_email[0]["contacts"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&d.as_str()) && ids.contains(&b.as_str()), "{page}");

    // A number beyond the first of its kind counts too.
    let phones = json!([
        { "kind": "mobile", "number": "206 555 0300" },
        { "kind": "mobile", "label": "Second", "number": "+1 206-555-0101" },
    ]);
    let c = create(&server, &olivia, SHARED, json!({ "first_name": "Carla", "phones": phones })).await;
    let (_, page) = server.call(Method::GET, &olivia, &duplicates, None).await;
    let by_phone: Vec<_> = page["items"].as_array().unwrap().iter().filter(|g| g["reason"] == "phone").collect();
    assert_eq!(by_phone.len(), 1, "{page}");
    assert_eq!(by_phone[0]["shared"], "+12065550101");
    let ids: Vec<&str> =
        by_phone[0]["contacts"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [b.as_str(), r.as_str(), c.as_str()], "Bob kept Robert's mobile from the merge");

    for bad in [json!({ "ids": [b] }), json!({ "ids": [b, b] }), json!({ "ids": [b, r], "keep": { "notes": b } })] {
        let (status, body) = server.call(Method::POST, &olivia, &format!("{SHARED}/merge"), Some(bad)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    }
}

/// Notes that would not fit in one contact stop the merge with a message, and nothing
/// changes; shortened, the same contacts merge with both notes.
async fn notes_too_long_for_one_contact_stop_the_merge(backend: Backend) {
    let server = support::spawn(backend, &PEOPLE, ServerConfig::default()).await;
    let olivia = server.token("200").await;
    let long = |word: &str| format!("{word} ").repeat(2500 / (word.len() + 1));
    let (mut bob, mut robert) = (bob(), robert());
    (bob["notes"], robert["notes"]) = (json!(long("alpha")), json!(long("beta")));
    let b = create(&server, &olivia, SHARED, bob).await;
    let r = create(&server, &olivia, SHARED, robert).await;
    let ids = json!({ "ids": [b, r] });
    for step in ["merge/preview", "merge"] {
        let (status, problem) =
            server.call(Method::POST, &olivia, &format!("{SHARED}/{step}"), Some(ids.clone())).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{step}: {problem}");
        assert_eq!(problem["errors"][0]["field"], "notes");
        assert!(problem["errors"][0]["message"].as_str().unwrap().contains("shorten the notes"), "{problem}");
    }
    assert_eq!(server.count(&olivia, SHARED).await, 2, "nothing merged");
    let shorter = json!({ "notes": "beta" });
    let (status, _) = server.call(Method::PATCH, &olivia, &format!("{SHARED}/{r}"), Some(shorter)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, merged) = server.call(Method::POST, &olivia, &format!("{SHARED}/merge"), Some(ids)).await;
    assert_eq!(status, StatusCode::OK, "{merged}");
    let notes = merged["notes"].as_str().unwrap();
    assert!(notes.starts_with("alpha alpha") && notes.contains("\n\nbeta"), "{notes}");
}

async fn not_duplicates_and_other_books(backend: Backend) {
    let server = support::spawn(backend, &PEOPLE, ServerConfig::default()).await;
    let other = DomainInput { name: "other.example".into(), ..Default::default() };
    server.app.create_domain(&Caller::System, other).await.unwrap();
    let elsewhere = switchboard_app::BookRef::Shared { domain: "other.example".into() };
    let input = serde_json::from_value(robert()).unwrap();
    let theirs = server.app.create_contact(&Caller::System, &elsewhere, input).await.unwrap().id.to_string();
    let (olivia, ben) = (server.token("200").await, server.token("201").await);

    let b = create(&server, &ben, BENS, bob()).await;
    let r = create(&server, &ben, BENS, robert()).await;
    assert_eq!(server.count(&ben, &format!("{BENS}/duplicates")).await, 1);
    let (status, _) = server.call(Method::GET, &olivia, &format!("{BENS}/duplicates"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "someone else's book");
    let pair = json!({ "ids": [r, b] });
    let (status, body) = server.call(Method::POST, &ben, &format!("{BENS}/not-duplicates"), Some(pair)).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(server.count(&ben, &format!("{BENS}/duplicates")).await, 0);

    let s = create(&server, &olivia, SHARED, bob()).await;
    let across = json!({ "ids": [s, theirs] });
    let (status, _) = server.call(Method::POST, &olivia, &format!("{SHARED}/merge"), Some(across.clone())).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another domain's contact");
    let (status, _) = server.call(Method::POST, &olivia, &format!("{SHARED}/not-duplicates"), Some(across)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// The portal's "Possible duplicates" page, its Merge dialog with the conflict's choices,
/// the merge's toast and its Undo.
async fn the_portal_lists_merges_and_undoes(backend: Backend) {
    let server = support::spawn(backend, &PEOPLE, ServerConfig::default()).await;
    let olivia = server.token("200").await;
    let b = create(&server, &olivia, SHARED, bob()).await;
    let r = create(&server, &olivia, SHARED, robert()).await;
    let browser = server.log_in("200").await;
    let shared = browser.get("/shared-contacts").await.text().await.unwrap();
    assert!(shared.contains(r#"href="/shared-contacts/duplicates""#), "the link is on Shared Contacts");
    let page = browser.get("/shared-contacts/duplicates").await.text().await.unwrap();
    assert!(page.contains("Same email: bob@example.com"), "{page}");
    let merge_url = format!("/shared-contacts/merge?ids={b},{r}");
    assert!(page.contains(&merge_url));

    let (status, dialog) = browser.fragment(&merge_url).await;
    assert_eq!(status, StatusCode::OK, "{dialog}");
    assert_eq!(attribute_values(&dialog, "name").iter().filter(|n| *n == "keep.first_name").count(), 2, "{dialog}");
    let ids = format!("{b},{r}");
    let answer = browser.post("/shared-contacts/merge", &[("ids", &ids), ("keep.first_name", &r)]).await;
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(toast(&answer), "Merged 2 contacts into Robert Smith.");
    let undo = triggers(&answer)["toast"]["undo"].as_str().unwrap().to_string();
    assert_eq!(server.count(&olivia, SHARED).await, 1);
    let page = browser.get("/shared-contacts/duplicates").await.text().await.unwrap();
    assert!(page.contains("No possible duplicates."));

    let answer = browser.post(&undo, &[]).await;
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(server.count(&olivia, SHARED).await, 2, "Undo restores the merged contact");
    let page = browser.get("/contacts").await.text().await.unwrap();
    assert!(page.contains(r#"href="/contacts/mine/duplicates""#), "and the link is on Contacts");
}

support::on_both_backends!(
    shared_duplicates_are_listed_merged_and_undone,
    notes_too_long_for_one_contact_stop_the_merge,
    not_duplicates_and_other_books,
    the_portal_lists_merges_and_undoes
);
