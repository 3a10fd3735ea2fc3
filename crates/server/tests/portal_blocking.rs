//! Call blocking in the portal over HTTP, as htmx drives it, on SQLite and on PostgreSQL:
//! the Settings page's "Blocked numbers" section (listing, blocking a number and a prefix,
//! refusals beside their field, removing, who may), the Contacts page's "Allowed
//! numbers" panel, and its "My desk phones" panel (whether phones others set up show
//! one's own contacts).

mod support;

use reqwest::StatusCode;
use serde_json::Value;
use support::{Backend, Browser, DOMAIN, Person, Server, attribute_values, toast};
use switchboard_server::ServerConfig;

const PEOPLE: [Person; 2] = [
    Person { ext: "200", scope: "office-manager", first_name: "Olivia", department: "", site: "" },
    Person { ext: "201", scope: "basic-user", first_name: "Ben", department: "", site: "" },
];

async fn spawn(backend: Backend) -> Server {
    support::spawn(backend, &PEOPLE, ServerConfig::default()).await
}

/// The patterns the section lists, in order.
fn listed(html: &str) -> Vec<String> {
    attribute_values(html, "data-pattern")
}

impl Browser<'_> {
    async fn block(&self, kind: &str, value: &str) -> (StatusCode, String, String) {
        let response = self.post("/settings/blocked-numbers", &[("kind", kind), ("value", value), ("note", "")]).await;
        let status = response.status();
        let message = if status.is_success() { toast(&response) } else { String::new() };
        (status, message, response.text().await.unwrap())
    }
}

async fn blocked_numbers_on_the_settings_page(backend: Backend) {
    let server = spawn(backend).await;
    let olivia = server.log_in("200").await;
    let page = olivia.get("/settings").await.text().await.unwrap();
    assert!(page.contains("id=\"no-blocked-numbers\""), "an empty list says so");

    let (status, message, html) = olivia.block("number", "(206) 555-0166").await;
    assert_eq!((status, message.as_str()), (StatusCode::OK, "+12065550166 is blocked"));
    assert_eq!(listed(&html), ["+12065550166"]);
    let (_, _, html) = olivia.block("prefix", "+1 900").await;
    assert_eq!(listed(&html), ["+12065550166", "+1900"]);

    // Refusals come back with the form as typed and the message beside the field.
    let (status, _, html) = olivia.block("prefix", "1900").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"error-block-value\"") && html.contains("value=\"1900\""), "{html}");
    let (status, _, html) = olivia.block("number", "+1 206 555 0166").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("already on the block list"), "{html}");

    // What the portal blocks, the API's look-up reports.
    let token = server.token("201").await;
    let lookup = server
        .client
        .get(server.url(&format!("/api/v1/domains/{DOMAIN}/lookup?number=2065550166")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(lookup["blocked"], true);

    let id = lookup["blocked_by"]["id"].as_str().unwrap().to_string();
    let response = olivia.post(&format!("/settings/blocked-numbers/{id}/delete"), &[]).await;
    assert_eq!((response.status(), toast(&response).as_str()), (StatusCode::OK, "+12065550166 is no longer blocked"));
    assert_eq!(listed(&response.text().await.unwrap()), ["+1900"]);

    let ben = server.log_in("201").await;
    let (status, _, _) = ben.block("prefix", "+44").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "only those who manage settings");
    assert_eq!(ben.fragment("/settings/blocked-numbers").await.0, StatusCode::FORBIDDEN);
}

async fn allowed_numbers_from_the_contacts_page(backend: Backend) {
    let server = spawn(backend).await;
    let ben = server.log_in("201").await;
    let contacts = ben.get("/contacts").await.text().await.unwrap();
    assert!(contacts.contains("hx-get=\"/contacts/allowed-numbers\""), "the Contacts page opens the panel");
    let (status, panel) = ben.fragment("/contacts/allowed-numbers").await;
    assert_eq!(status, StatusCode::OK);
    assert!(panel.contains("<dialog") && panel.contains("id=\"no-allowed-numbers\""), "{panel}");

    let olivia = server.log_in("200").await;
    olivia.block("number", "+1 206 555 0166").await;
    let response = ben.post("/contacts/allowed-numbers", &[("number", "206.555.0166"), ("note", "dentist")]).await;
    assert_eq!((response.status(), toast(&response).as_str()), (StatusCode::OK, "Calls from +12065550166 reach you"));
    assert_eq!(attribute_values(&response.text().await.unwrap(), "data-number"), ["+12065550166"]);
    let refused = ben.post("/contacts/allowed-numbers", &[("number", "555-0100"), ("note", "")]).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text().await.unwrap();
    assert!(html.contains("id=\"error-allow-number\"") && html.contains("value=\"555-0100\""), "{html}");

    let token = server.token("201").await;
    let path = format!("/api/v1/domains/{DOMAIN}/users/201/allowed-numbers");
    let list: Value =
        server.client.get(server.url(&path)).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    let id = list["items"][0]["id"].as_str().unwrap().to_string();
    let response = ben.post(&format!("/contacts/allowed-numbers/{id}/delete"), &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.unwrap().contains("id=\"no-allowed-numbers\""));
    // Only one's own list: another user's entry is not found.
    let olivias = olivia.post("/contacts/allowed-numbers", &[("number", "+12065550199"), ("note", "")]).await;
    assert_eq!(olivias.status(), StatusCode::OK);
    let theirs =
        server.count(&server.token("200").await, &format!("/api/v1/domains/{DOMAIN}/users/200/allowed-numbers")).await;
    assert_eq!(theirs, 1);
    let (_, panel) = ben.fragment("/contacts/allowed-numbers").await;
    assert!(panel.contains("id=\"no-allowed-numbers\""), "Ben does not see Olivia's list");
}

/// "My desk phones": the user alone says whether phones set up for them by others show
/// their own contacts; the API reads back what the portal saved.
async fn phone_sharing_from_the_contacts_page(backend: Backend) {
    let server = spawn(backend).await;
    let ben = server.log_in("201").await;
    let contacts = ben.get("/contacts").await.text().await.unwrap();
    assert!(contacts.contains("hx-get=\"/contacts/phone-sharing\""), "the Contacts page opens the panel");
    let (status, panel) = ben.fragment("/contacts/phone-sharing").await;
    assert_eq!(status, StatusCode::OK);
    assert!(panel.contains("<dialog") && !panel.contains(" checked"), "off until Ben turns it on: {panel}");

    let sharing = |token: String| {
        let url = server.url(&format!("/api/v1/domains/{DOMAIN}/users/201/phone-sharing"));
        let request = server.client.get(url).bearer_auth(token);
        async move { request.send().await.unwrap().json::<Value>().await.unwrap()["own_contacts"].clone() }
    };
    let response = ben.post("/contacts/phone-sharing", &[("own_contacts", "yes")]).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(toast(&response), "Desk phones set up for you now show your own contacts");
    assert_eq!(sharing(server.token("201").await).await, Value::Bool(true));
    assert!(ben.fragment("/contacts/phone-sharing").await.1.contains(" checked"));
    let response = ben.post("/contacts/phone-sharing", &[]).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(sharing(server.token("201").await).await, Value::Bool(false));

    // Olivia's panel is her own: saving it changes nothing of Ben's.
    let olivia = server.log_in("200").await;
    olivia.post("/contacts/phone-sharing", &[("own_contacts", "yes")]).await;
    assert_eq!(sharing(server.token("201").await).await, Value::Bool(false));
}

support::on_both_backends!(
    blocked_numbers_on_the_settings_page,
    allowed_numbers_from_the_contacts_page,
    phone_sharing_from_the_contacts_page
);
