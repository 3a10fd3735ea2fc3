//! The portal's "Desk phones" page over HTTP, as htmx drives it, on SQLite and on
//! PostgreSQL: adding a credential (secrets and settings shown once, refusals beside
//! their field), the list, a credential's settings again, revoking it — and that what
//! the page hands out is what phones then read with. Only managers get the page, and
//! another domain's credentials are not found.

mod support;

use reqwest::StatusCode;
use support::{Backend, Person, Server, attribute_after, attribute_values, toast, triggers, unescape};
use switchboard_app::{Caller, DeviceInput, DomainInput};
use switchboard_server::ServerConfig;

const PEOPLE: [Person; 2] = [
    Person { ext: "200", scope: "office-manager", first_name: "Olivia", department: "", site: "" },
    Person { ext: "201", scope: "basic-user", first_name: "Ben", department: "", site: "" },
];

async fn spawn(backend: Backend, config: ServerConfig) -> Server {
    support::spawn(backend, &PEOPLE, config).await
}

/// The text of the settings textarea, as the browser shows it.
fn provisioning(html: &str) -> String {
    let start = html.find("id=\"phone-provisioning\"").expect("the settings text");
    let text = &html[start..];
    let text = &text[text.find('>').unwrap() + 1..];
    unescape(&text[..text.find("</textarea>").unwrap()])
}

async fn managers_add_list_show_and_revoke(backend: Backend) {
    let server = spawn(backend, ServerConfig::default()).await;
    let olivia = server.log_in("200").await;
    let page = olivia.get("/phones").await;
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    assert!(page.contains("href=\"/phones\" aria-current=\"page\""), "the menu has the page");
    assert!(page.contains("id=\"no-phones\"") && page.contains("id=\"phone-form\""), "{page}");
    assert!(page.contains("LDAP is off on this server"), "this server was not started with --ldap");

    // Refusals: the form again, as typed, each message beside its field, nothing added.
    let refused =
        olivia.post("/phones", &[("name", " "), ("user", "999"), ("networks", "10.0.0.0/8, 10.1.0.0/33")]).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text().await.unwrap();
    for field in ["error-phone-name", "error-phone-user", "error-phone-networks"] {
        assert!(html.contains(&format!("id=\"{field}\"")), "{field} in {html}");
    }
    assert!(
        html.contains("No user has extension `999`") && html.contains("value=\"10.0.0.0/8, 10.1.0.0/33\""),
        "{html}"
    );
    assert!(olivia.fragment("/phones/rows").await.1.contains("id=\"no-phones\""));

    // Added: the secrets once, and the settings made with them for where this page was reached.
    let name = "Front desk & <T54W>";
    let added = olivia.post("/phones", &[("name", name), ("user", "201"), ("networks", "127.0.0.0/8, ::1")]).await;
    assert_eq!(added.status(), StatusCode::OK);
    assert_eq!(toast(&added), format!("Added {name}"));
    assert_eq!(triggers(&added)["phones-changed"], true, "the list reloads");
    let html = added.text().await.unwrap();
    let token = attribute_after(&html, "id=\"created-token\" value=\"");
    let password = attribute_after(&html, "id=\"created-password\" value=\"");
    let bind_dn = unescape(&attribute_after(&html, "id=\"created-bind-dn\" value=\""));
    assert!(token.starts_with("sbd_") && password.len() >= 20 && bind_dn.ends_with(",ou=devices,dc=acme,dc=example"));
    assert!(!html.contains(name), "the name is escaped: {html}");
    let text = provisioning(&html);
    let book = format!("{}/phonebook/{token}/yealink.xml", server.base);
    assert!(text.contains(&format!("remote_phonebook.data.2.url = {book}")), "{text}");
    assert!(
        text.contains(&format!("  bind DN        {bind_dn}")) && text.contains(&format!("ldap.password = {password}"))
    );
    assert!(text.contains("?group=favorites"), "bound to a user: a favorites book: {text}");

    // What the page handed out is what a phone reads with.
    let phone = server.client.get(&book).send().await.unwrap();
    assert_eq!(phone.status(), StatusCode::OK);
    assert!(phone.text().await.unwrap().contains("<YealinkIPPhoneDirectory>"));

    let (_, rows) = olivia.fragment("/phones/rows").await;
    assert_eq!(attribute_values(&rows, "data-phone").iter().map(|n| unescape(n)).collect::<Vec<_>>(), [name]);
    assert!(rows.contains("127.0.0.0/8, ::1/128") && rows.contains("201") && rows.contains(" UTC</td>"), "{rows}");
    let id = attribute_after(&rows, "id=\"phone-settings-");

    // Shown again later: the same settings, with placeholders for the secrets.
    let (status, html) = olivia.fragment(&format!("/phones/{id}/settings")).await;
    assert_eq!(status, StatusCode::OK);
    let again = provisioning(&html);
    assert!(again.contains(&format!("{}/phonebook/<TOKEN>/yealink.xml", server.base)) && !again.contains(&token));
    assert!(again.contains("ldap.password = <PASSWORD>") && !again.contains(&password), "{again}");

    // Revoking asks first, then the phone is shut out at once.
    let (_, question) = olivia.fragment(&format!("/phones/{id}/revoke")).await;
    assert!(question.contains("id=\"confirm-revoke\"") && question.contains("loses the directory"), "{question}");
    let revoked = olivia.post(&format!("/phones/{id}/revoke"), &[]).await;
    assert_eq!(revoked.status(), StatusCode::OK);
    assert!(toast(&revoked).starts_with(&format!("Revoked {name}")));
    let rows = revoked.text().await.unwrap();
    assert!(rows.contains("data-revoked=\"yes\"") && !rows.contains(&format!("id=\"revoke-{id}\"")), "{rows}");
    assert_eq!(server.client.get(&book).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
}

async fn only_managers_and_only_their_domain(backend: Backend) {
    let server = spawn(backend, ServerConfig::default()).await;
    let other = DomainInput { name: "other.example".into(), ..Default::default() };
    server.app.create_domain(&Caller::System, other).await.unwrap();
    let input = DeviceInput { name: "Their phone".into(), ..Default::default() };
    let theirs = server.app.create_device(&Caller::System, "other.example", input).await.unwrap();
    let foreign = theirs.device.id;

    let ben = server.log_in("201").await;
    let contacts = ben.get("/contacts").await.text().await.unwrap();
    assert!(!contacts.contains("href=\"/phones\""), "no menu entry for a basic user");
    assert_eq!(ben.get("/phones").await.status(), StatusCode::FORBIDDEN);
    assert_eq!(ben.fragment("/phones/rows").await.0, StatusCode::FORBIDDEN);
    assert_eq!(ben.post("/phones", &[("name", "Mine")]).await.status(), StatusCode::FORBIDDEN);

    let olivia = server.log_in("200").await;
    assert_eq!(olivia.fragment(&format!("/phones/{foreign}/settings")).await.0, StatusCode::NOT_FOUND);
    assert_eq!(olivia.fragment(&format!("/phones/{foreign}/revoke")).await.0, StatusCode::NOT_FOUND);
    assert_eq!(olivia.post(&format!("/phones/{foreign}/revoke"), &[]).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(olivia.fragment("/phones/not-an-id/settings").await.0, StatusCode::BAD_REQUEST);
    let still = server.app.device(&Caller::System, "other.example", foreign).await.unwrap();
    assert!(still.revoked_at.is_none(), "another domain's credential is untouched");
    assert!(olivia.fragment("/phones/rows").await.1.contains("id=\"no-phones\""), "nor listed");
}

/// Behind a proxy, the settings name the configured public addresses, not the request's.
async fn configured_public_addresses(backend: Backend) {
    let config = ServerConfig {
        public_url: Some("https://pbx.example.net/sb".into()),
        ldap_port: Some(3390),
        ..ServerConfig::default()
    };
    let server = spawn(backend, config).await;
    let olivia = server.log_in("200").await;
    let added = olivia.post("/phones", &[("name", "Lobby"), ("user", ""), ("networks", "")]).await;
    assert_eq!(added.status(), StatusCode::OK);
    let html = added.text().await.unwrap();
    let token = attribute_after(&html, "id=\"created-token\" value=\"");
    let text = provisioning(&html);
    assert!(text.contains(&format!("https://pbx.example.net/sb/phonebook/{token}/cisco.xml")), "{text}");
    assert!(text.contains("  server         pbx.example.net\n  port           3390\n"), "{text}");
    assert!(!text.contains("favorites") && !text.contains(&server.base), "{text}");
    assert!(!olivia.get("/phones").await.text().await.unwrap().contains("LDAP is off"), "LDAP is served");
}

support::on_both_backends!(
    managers_add_list_show_and_revoke,
    only_managers_and_only_their_domain,
    configured_public_addresses,
    managers_add_and_revoke_phone_system_credentials,
);

/// The page's phone system section: a manager adds a PBX credential (its secret shown
/// once, and what the PBX then reports line states with), lists and revokes it; a basic
/// user gets none of it, and another domain's credential is not found.
async fn managers_add_and_revoke_phone_system_credentials(backend: Backend) {
    let server = spawn(backend, ServerConfig::default()).await;
    let olivia = server.log_in("200").await;
    let page = olivia.get("/phones").await.text().await.unwrap();
    assert!(page.contains("id=\"pbx-form\"") && page.contains("id=\"no-pbx\""), "{page}");

    let refused = olivia.post("/phones/pbx", &[("name", "  ")]).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().await.unwrap().contains("id=\"error-pbx-name\""));
    let added = olivia.post("/phones/pbx", &[("name", "Main office PBX")]).await;
    assert_eq!(added.status(), StatusCode::OK);
    assert_eq!(toast(&added), "Added Main office PBX");
    let panel = added.text().await.unwrap();
    let secret = attribute_after(&panel, "id=\"pbx-secret\" value=\"");
    assert!(secret.starts_with("sbp_"), "{panel}");
    let lines = serde_json::json!({ "lines": [{ "ext": "201", "state": "on_call" }] });
    let path = "/api/v1/domains/acme.example/presence/lines";
    let (status, answer) = server.call(reqwest::Method::POST, &secret, path, Some(lines.clone())).await;
    assert_eq!((status, &answer["changed"]), (StatusCode::OK, &serde_json::json!(1)), "{answer}");

    let (_, listed) = olivia.fragment("/phones/pbx").await;
    assert!(listed.contains("data-pbx=\"Main office PBX\"") && !listed.contains(&secret), "never shown again");
    let id = attribute_after(&listed, "hx-post=\"/phones/pbx/").split('/').next().unwrap().to_string();
    let revoked = olivia.post(&format!("/phones/pbx/{id}/revoke"), &[]).await;
    assert_eq!(revoked.status(), StatusCode::OK);
    assert!(revoked.text().await.unwrap().contains("id=\"no-pbx\""));
    assert_eq!(server.call(reqwest::Method::POST, &secret, path, Some(lines)).await.0, StatusCode::UNAUTHORIZED);

    let ben = server.log_in("201").await;
    assert_eq!(ben.fragment("/phones/pbx").await.0, StatusCode::FORBIDDEN);
    assert_eq!(ben.post("/phones/pbx", &[("name", "Mine")]).await.status(), StatusCode::FORBIDDEN);
    let other = DomainInput { name: "other.example".into(), ..Default::default() };
    server.app.create_domain(&Caller::System, other).await.unwrap();
    let theirs = server.app.create_pbx_credential(&Caller::System, "other.example", "Theirs").await.unwrap();
    let foreign = theirs.credential.id;
    assert_eq!(olivia.post(&format!("/phones/pbx/{foreign}/revoke"), &[]).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(server.app.list_pbx_credentials(&Caller::System, "other.example").await.unwrap().len(), 1);
}
