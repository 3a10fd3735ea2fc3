//! What one user may take of the live events over HTTP, on SQLite and PostgreSQL: a
//! bounded number of open event streams (the API's and the portal's count together),
//! and a bounded rate of presence changes; beyond either, 429 with `Retry-After`.

mod support;

use reqwest::header::{CONTENT_TYPE, RETRY_AFTER};
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};
use support::{Backend, Person, on_both_backends, spawn};
use switchboard_app::AppConfig;
use switchboard_server::ServerConfig;

on_both_backends!(event_streams_are_capped_per_user, presence_changes_are_rate_limited);

const PEOPLE: [Person; 2] = [
    Person { ext: "200", scope: "basic-user", first_name: "Ben", department: "", site: "" },
    Person { ext: "201", scope: "basic-user", first_name: "Zoe", department: "", site: "" },
];

async fn too_many(response: Response) {
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = response.headers()[RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!(wait >= 1, "{wait}");
    assert_eq!(response.headers()[CONTENT_TYPE], "application/problem+json");
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["status"], 429, "{problem}");
}

async fn event_streams_are_capped_per_user(backend: Backend) {
    let server = spawn(backend, &PEOPLE, ServerConfig::default()).await;
    let (ben, zoe) = (server.token("200").await, server.token("201").await);
    let open = |token: &str| server.client.request(Method::GET, server.url("/api/v1/events")).bearer_auth(token).send();
    let limit = AppConfig::default().max_event_streams_per_user;
    let mut streams = Vec::new();
    for _ in 0..limit - 1 {
        let stream = open(&ben).await.unwrap();
        assert_eq!(stream.status(), StatusCode::OK);
        streams.push(stream);
    }
    // The portal's stream counts too.
    let browser = server.log_in("200").await;
    let page_stream = browser.request(Method::GET, "/events").send().await.unwrap();
    assert_eq!(page_stream.status(), StatusCode::OK);
    too_many(open(&ben).await.unwrap()).await;
    let refused_page = browser.request(Method::GET, "/events").send().await.unwrap();
    assert_eq!(refused_page.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(open(&zoe).await.unwrap().status(), StatusCode::OK, "another user has their own share");
}

async fn presence_changes_are_rate_limited(backend: Backend) {
    let server = spawn(backend, &PEOPLE, ServerConfig::default()).await;
    let ben = server.token("200").await;
    let burst = AppConfig::default().presence_limit.burst;
    let set = |state: &str| {
        server
            .client
            .request(Method::PUT, server.url("/api/v1/domains/acme.example/users/200/presence"))
            .bearer_auth(&ben)
            .json(&json!({ "state": state }))
            .send()
    };
    // The allowance refills while this runs, so count rather than expect the exact turn.
    let mut accepted = 0;
    let refused = loop {
        let response = set(if accepted % 2 == 0 { "busy" } else { "available" }).await.unwrap();
        match response.status() {
            StatusCode::OK => accepted += 1,
            _ => break response,
        }
        assert!(accepted < 200, "never refused");
    };
    println!("{accepted} presence changes accepted before a 429");
    assert!(accepted >= burst, "{accepted}");
    too_many(refused).await;
    let zoe = server.token("201").await;
    let other = server
        .client
        .request(Method::PUT, server.url("/api/v1/domains/acme.example/users/201/presence"))
        .bearer_auth(&zoe)
        .json(&json!({ "state": "busy" }))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::OK, "another user has their own allowance");
}
