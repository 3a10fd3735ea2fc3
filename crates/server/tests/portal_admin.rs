//! The portal's administration pages (Users, Agents, Settings, Audit log) end to end:
//! a real server on port 0, on SQLite and on PostgreSQL, driven over HTTP the way the
//! browser does — logging in through the login form, sending htmx's CSRF header.

mod support;

use reqwest::StatusCode;
use reqwest::header::LOCATION;
use serde_json::Value;
use support::{Backend, Browser, DOMAIN, Person, Server, attribute_values, toast, triggers};
use switchboard_server::ServerConfig;

/// Who is in the domain.
const PEOPLE: [Person; 7] = [
    person("200", "office-manager", "North", "Olivia"),
    person("201", "site-manager", "North", "Sam"),
    person("202", "call-center-supervisor", "North", "Carla"),
    person("203", "basic-user", "North", "Ben"),
    person("204", "simple-user", "North", "Sid"),
    person("210", "basic-user", "South", "Sue"),
    person("211", "call-center-agent", "North", "Al"),
];

const fn person(ext: &'static str, scope: &'static str, site: &'static str, first_name: &'static str) -> Person {
    Person { ext, scope, first_name, department: "", site }
}

async fn spawn(backend: Backend) -> Server {
    support::spawn(backend, &PEOPLE, ServerConfig::default()).await
}

impl Browser<'_> {
    /// The extensions in the rows of a users (or agents) list.
    async fn listed(&self, path: &str) -> Vec<String> {
        let (status, html) = self.fragment(path).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        attribute_values(&html, "data-user")
    }

    /// What the REST API says applies to a user.
    async fn effective(&self, ext: &str) -> Value {
        let path = format!("/api/v1/domains/{DOMAIN}/users/{ext}/settings/effective");
        let response = self.get(&path).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }
}

/// The new user form of the Users page, with the given fields over sensible values.
fn new_user<'a>(ext: &'a str, changes: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("extension", ext),
        ("first_name", "New"),
        ("last_name", "Person"),
        ("email", ""),
        ("department", "Sales"),
        ("site", "North"),
        ("scope", "basic-user"),
        ("listed", "yes"),
        ("password", ""),
    ];
    for (name, value) in changes {
        match form.iter_mut().find(|(n, _)| n == name) {
            Some(field) => field.1 = value,
            None => form.push((name, value)),
        }
    }
    form
}

// --- The tests, each run on both back-ends ----------------------------------------------

async fn pages_answer_their_scopes_and_403_the_others(backend: Backend) {
    let server = spawn(backend).await;
    let pages = ["/users", "/agents", "/settings", "/audit"];
    // Which of `pages` each scope may open.
    let allowed = [
        ("200", [true, true, true, true]),
        ("201", [true, true, false, false]),
        ("202", [false, true, false, false]),
        ("203", [false, false, false, false]),
        ("204", [false, false, false, false]),
    ];
    for (ext, may) in allowed {
        let browser = server.log_in(ext).await;
        for (page, may) in pages.iter().zip(may) {
            let response = browser.get(page).await;
            let status = response.status();
            let html = response.text().await.unwrap();
            if may {
                assert_eq!(status, StatusCode::OK, "{ext} opens {page}");
                assert!(html.contains("<main id=\"main\""), "{ext} gets the whole page {page}");
            } else {
                assert_eq!(status, StatusCode::FORBIDDEN, "{ext} may not open {page}");
                assert!(html.contains("class=\"error-message"), "a clear page: {html}");
                assert!(html.contains("You may not"), "{html}");
            }
            for fragment in [format!("{page}/rows")].iter().filter(|_| *page != "/settings") {
                let (status, _) = browser.fragment(fragment).await;
                assert_eq!(status == StatusCode::OK, may, "{ext} {fragment}");
            }
        }
    }
    let outsider = server.client.get(format!("{}/users", server.base)).send().await.unwrap();
    assert_eq!(outsider.status(), StatusCode::SEE_OTHER);
    assert_eq!(outsider.headers()[LOCATION], "/login?next=%2Fusers");
}

async fn adding_a_user_needs_the_csrf_header_and_shows_the_generated_password(backend: Backend) {
    let server = spawn(backend).await;
    let manager = server.log_in("200").await;
    let form = manager.fragment("/users/new").await.1;
    assert!(form.contains("<dialog class=\"modal\" id=\"user-dialog\""));
    let scopes = attribute_values(&form, "value");
    for scope in ["office-manager", "site-manager", "call-center-supervisor", "basic-user", "simple-user"] {
        assert!(scopes.iter().any(|v| v == scope), "{scope} is offered");
    }
    assert!(!scopes.iter().any(|v| v == "reseller" || v == "super-user"), "no scope above the manager's");

    let fields = new_user("230", &[]);
    let refused = manager.post_with("/users", &fields, None).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let forged = manager.post_with("/users", &fields, Some("forged")).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert!(!manager.listed("/users/rows?q=230").await.contains(&"230".to_string()), "nothing was created");

    let created = manager.post("/users", &fields).await;
    assert_eq!(created.status(), StatusCode::OK);
    assert_eq!(toast(&created), "Added user 230 (New Person).");
    assert_eq!(triggers(&created)["users-changed"], true);
    let panel = created.text().await.unwrap();
    let password = attribute_values(&panel, "value").into_iter().next().expect("the generated password");
    assert!(panel.contains("id=\"generated-password\"") && password.len() >= 12, "{panel}");
    assert!(manager.listed("/users/rows").await.contains(&"230".to_string()));
    // The password shown works.
    let response = server
        .client
        .post(format!("{}/api/v1/session", server.base))
        .json(&serde_json::json!({ "username": format!("230@{DOMAIN}"), "password": password }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    let with_password = manager.post("/users", &new_user("231", &[("password", "another good password")])).await;
    assert_eq!(with_password.status(), StatusCode::OK);
    assert_eq!(triggers(&with_password)["close-modal"], true, "nothing to show: the modal closes");
}

async fn bad_input_is_answered_next_to_its_field(backend: Backend) {
    let server = spawn(backend).await;
    let manager = server.log_in("200").await;
    let bad = manager.post("/users", &new_user("12ab", &[("email", "not-an-email")])).await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let form = bad.text().await.unwrap();
    assert!(form.trim_start().starts_with("<form id=\"user-form\""), "the form alone, to swap: {form}");
    for field in ["extension", "email"] {
        assert!(form.contains(&format!("aria-describedby=\"error-{field}")), "{field}: {form}");
        assert!(form.contains(&format!("class=\"field-error\" id=\"error-{field}\"")), "{field}");
    }
    assert!(form.contains("value=\"not-an-email\""), "what was typed is kept");

    let taken = manager.post("/users", &new_user("203", &[])).await;
    assert_eq!(taken.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(taken.text().await.unwrap().contains("id=\"error-extension\">A user with this extension exists"));
}

async fn editing_keeps_the_extension_and_deleting_asks_first(backend: Backend) {
    let server = spawn(backend).await;
    let manager = server.log_in("200").await;
    let (status, form) = manager.fragment("/users/203/edit").await;
    assert_eq!(status, StatusCode::OK);
    assert!(form.contains("<input id=\"user-extension\" value=\"203\" readonly"), "{form}");
    let version = attribute_values(&form, "value")[0].clone();
    assert_eq!(version, "1", "the hidden version comes first");

    let changes = new_user("999", &[("first_name", "Benjamin"), ("version", &version), ("listed", "")]);
    let changes: Vec<_> = changes.into_iter().filter(|(name, value)| *name != "listed" || !value.is_empty()).collect();
    let saved = manager.post("/users/203", &changes).await;
    assert_eq!(saved.status(), StatusCode::OK);
    assert_eq!(toast(&saved), "Saved user 203 (Benjamin Person).");
    let rows = manager.fragment("/users/rows?q=benjamin").await.1;
    assert_eq!(attribute_values(&rows, "data-user"), ["203"], "still 203, never 999");
    assert_eq!(attribute_values(&rows, "data-listed"), ["no"], "an unticked box unlists");
    assert!(manager.listed("/users/rows?q=999").await.is_empty());

    let stale = manager.post("/users/203", &changes).await;
    assert_eq!(stale.status(), StatusCode::UNPROCESSABLE_ENTITY, "an edit of an old version is refused");
    assert!(stale.text().await.unwrap().contains("Someone changed this user"));

    let (status, question) = manager.fragment("/users/203/delete").await;
    assert_eq!(status, StatusCode::OK);
    assert!(question.contains("id=\"confirm-delete\"") && question.contains("Delete user 203 (Benjamin Person)?"));
    assert!(manager.listed("/users/rows").await.contains(&"203".to_string()), "asking deletes nothing");
    let deleted = manager.post("/users/203/delete", &[]).await;
    assert_eq!(deleted.status(), StatusCode::OK);
    assert_eq!(toast(&deleted), "Deleted user 203 (Benjamin Person).");
    assert!(!manager.listed("/users/rows").await.contains(&"203".to_string()));
}

async fn a_site_manager_sees_and_adds_only_at_their_site(backend: Backend) {
    let server = spawn(backend).await;
    let site_manager = server.log_in("201").await;
    let listed = site_manager.listed("/users/rows").await;
    let north: Vec<String> = PEOPLE.iter().filter(|p| p.site == "North").map(|p| p.ext.to_string()).collect();
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(sorted, north, "South's 210 is not there");
    let (status, _) = site_manager.fragment("/users/210/edit").await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let form = site_manager.fragment("/users/new").await.1;
    assert!(form.contains("name=\"site\" type=\"text\" value=\"North\""), "a new user starts at the manager's site");
    assert!(!attribute_values(&form, "value").contains(&"office-manager".to_string()));
    let elsewhere = site_manager.post("/users", &new_user("240", &[("site", "South")])).await;
    assert_eq!(elsewhere.status(), StatusCode::FORBIDDEN);
    let above = site_manager.post("/users", &new_user("241", &[("scope", "office-manager")])).await;
    assert_eq!(above.status(), StatusCode::FORBIDDEN);
    let here = site_manager.post("/users", &new_user("242", &[("password", "a good long password")])).await;
    assert_eq!(here.status(), StatusCode::OK);
    assert!(site_manager.listed("/users/rows").await.contains(&"242".to_string()));
}

async fn a_supervisor_manages_agents_only(backend: Backend) {
    let server = spawn(backend).await;
    let supervisor = server.log_in("202").await;
    let page = supervisor.get("/agents").await.text().await.unwrap();
    assert!(page.contains("id=\"shared-contacts-link\" href=\"/shared-contacts\""));
    assert_eq!(attribute_values(&page, "data-user"), ["211"], "agents only");
    assert_eq!(
        supervisor.fragment("/agents/203/edit").await.0,
        StatusCode::FORBIDDEN,
        "not an agent: not theirs to see"
    );

    let fields = new_user("250", &[("scope", "office-manager"), ("password", "a good long password")]);
    let added = supervisor.post("/agents", &fields).await;
    assert_eq!(added.status(), StatusCode::OK, "the scope sent is ignored: agents are agents");
    assert_eq!(supervisor.listed("/agents/rows").await, ["250", "211"], "by last name: Person, Tester");
    let manager = server.log_in("200").await;
    let row = manager.fragment("/users/rows?q=250").await.1;
    assert!(row.contains("Call-center agent"), "{row}");
}

/// A supervisor's team is the agents: neither the API nor the portal shows them anyone else.
async fn a_supervisor_lists_agents_only(backend: Backend) {
    let server = spawn(backend).await;
    let token = server.token("202").await;
    let api = |path: String| server.client.get(server.url(&path)).bearer_auth(&token).send();
    let users = format!("/api/v1/domains/{DOMAIN}/users");
    let page: Value = api(format!("{users}?limit=100")).await.unwrap().json().await.unwrap();
    let listed: Vec<&str> =
        page["items"].as_array().unwrap().iter().map(|u| u["extension"].as_str().unwrap()).collect();
    assert_eq!(listed, ["211"], "the API lists the agents only");
    for (ext, status) in [
        ("211", StatusCode::OK),
        ("202", StatusCode::OK),
        ("203", StatusCode::FORBIDDEN),
        ("200", StatusCode::FORBIDDEN),
    ] {
        assert_eq!(api(format!("{users}/{ext}")).await.unwrap().status(), status, "user {ext}");
    }
    let supervisor = server.log_in("202").await;
    assert_eq!(supervisor.listed("/agents/rows?q=Tester").await, ["211"]);
    assert_eq!(supervisor.fragment("/users/rows").await.0, StatusCode::FORBIDDEN);
    assert_eq!(supervisor.get("/users").await.status(), StatusCode::FORBIDDEN);
    assert_eq!(supervisor.fragment("/users/203/edit").await.0, StatusCode::FORBIDDEN);
    // An office manager still lists everyone, a site manager their site.
    let manager = server.token("200").await;
    assert_eq!(server.count(&manager, &format!("{users}?limit=100")).await, PEOPLE.len());
    let site_manager = server.token("201").await;
    assert_eq!(server.count(&site_manager, &format!("{users}?limit=100")).await, PEOPLE.len() - 1);
}

async fn saved_settings_change_what_applies(backend: Backend) {
    let server = spawn(backend).await;
    let manager = server.log_in("200").await;
    let page = manager.get("/settings").await.text().await.unwrap();
    assert!(page.contains("id=\"editors-source\">Inherited"));
    assert!(page.contains("<option value=\"\" selected>Inherit (US — United States)</option>"));

    let form = [
        ("editors_mode", "custom"),
        ("editor", "office-manager"),
        ("editor", "basic-user"),
        ("show_shared", "no"),
        ("default_country", "DE"),
    ];
    let saved = manager.post("/settings", &form).await;
    assert_eq!(saved.status(), StatusCode::OK);
    assert_eq!(toast(&saved), "Settings saved");
    let html = saved.text().await.unwrap();
    assert!(html.contains("id=\"editors-source\">Set here") && html.contains("id=\"default-country-source\">Set here"));
    let effective = manager.effective("203").await;
    assert_eq!(effective["SHARED_CONTACTS_EDITOR_SCOPES"], "office-manager,basic-user");
    assert_eq!(effective["PORTAL_SHOW_SHARED_CONTACTS"], "no");
    assert_eq!(effective["DEFAULT_COUNTRY"], "DE");

    let bad = manager.post("/settings", &[("editors_mode", "inherit"), ("default_country", "XX")]).await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = bad.text().await.unwrap();
    assert!(html.contains("aria-invalid=\"true\"") && html.contains("id=\"error-default_country\""), "{html}");
    assert_eq!(manager.effective("203").await, effective, "a refused save changes nothing");

    let back =
        manager.post("/settings", &[("editors_mode", "inherit"), ("show_shared", ""), ("default_country", "DE")]).await;
    assert_eq!(back.status(), StatusCode::OK);
    let effective = manager.effective("203").await;
    assert_eq!(effective["SHARED_CONTACTS_EDITOR_SCOPES"], "office-manager,site-manager,call-center-supervisor");
    assert_eq!(effective["PORTAL_SHOW_SHARED_CONTACTS"], "yes");

    let hidden = manager.post("/settings/scope", &[("scope", "basic-user"), ("show_shared", "no")]).await;
    assert_eq!(hidden.status(), StatusCode::OK);
    assert_eq!(toast(&hidden), "Settings saved");
    let section = hidden.text().await.unwrap();
    assert!(section.contains("<tr data-scope=\"basic-user\"><td>Basic user</td><td data-show=\"no\">"), "{section}");
    assert_eq!(manager.effective("203").await["PORTAL_SHOW_SHARED_CONTACTS"], "no", "basic users");
    assert_eq!(manager.effective("204").await["PORTAL_SHOW_SHARED_CONTACTS"], "yes", "simple users");
    let bad_scope = manager.post("/settings/scope", &[("scope", "boss"), ("show_shared", "no")]).await;
    assert_eq!(bad_scope.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

async fn audit_filters_narrow_the_list(backend: Backend) {
    let server = spawn(backend).await;
    let manager = server.log_in("200").await;
    let site_manager = server.log_in("201").await;
    assert_eq!(
        manager.post("/users", &new_user("260", &[("password", "a good long password")])).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        site_manager.post("/users", &new_user("261", &[("password", "a good long password")])).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        manager.post("/settings", &[("editors_mode", "inherit"), ("default_country", "GB")]).await.status(),
        StatusCode::OK
    );

    let actions = async |query: &str| {
        let (status, html) = manager.fragment(&format!("/audit/rows?{query}")).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        attribute_values(&html, "data-action")
    };
    // The seven people were created by the command line before.
    let all = actions("").await;
    assert_eq!(&all[..3], ["settings.update", "user.create", "user.create"]);
    assert_eq!(all.len(), 3 + PEOPLE.len());
    assert_eq!(actions("action=settings.*").await, ["settings.update"]);
    assert_eq!(actions("action=user.*").await.len(), 2 + PEOPLE.len());
    assert!(actions("action=contact.create").await.is_empty());
    assert_eq!(actions("actor=201").await, ["user.create"]);
    assert_eq!(actions(&format!("actor=200%40{DOMAIN}")).await, ["settings.update", "user.create"]);
    assert_eq!(actions("actor=cli&action=user.*").await.len(), PEOPLE.len());
    let today = chrono::Utc::now().date_naive();
    let yesterday = today.pred_opt().unwrap();
    assert_eq!(actions(&format!("from={today}&to={today}")).await.len(), all.len());
    assert!(actions(&format!("to={yesterday}")).await.is_empty());
    assert!(actions(&format!("from={}", today.succ_opt().unwrap())).await.is_empty());

    let (status, html) = manager.fragment("/audit/rows?from=someday").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"audit-error\""), "{html}");
    let page = manager.get("/audit?action=settings.*").await.text().await.unwrap();
    assert!(page.contains("<option value=\"settings.*\" selected>"));
    assert!(page.contains("DEFAULT_COUNTRY → GB"), "details read as words: {page}");
}

async fn markup_in_a_name_is_shown_as_text(backend: Backend) {
    let server = spawn(backend).await;
    let manager = server.log_in("200").await;
    let name = "<script>alert(1)</script>";
    let fields = new_user("270", &[("first_name", name), ("password", "a good long password")]);
    assert_eq!(manager.post("/users", &fields).await.status(), StatusCode::OK);
    for path in ["/users", "/users/270/edit", "/audit"] {
        let html = manager.get(path).await.text().await.unwrap();
        assert!(!html.contains(name), "{path} shows the markup as text");
        assert!(!html.contains("<script>alert"), "{path}");
    }
    let page = manager.get("/users").await.text().await.unwrap();
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt; Tester") || page.contains("&#60;script&#62;"),
        "{page}"
    );
}

support::on_both_backends!(
    pages_answer_their_scopes_and_403_the_others,
    adding_a_user_needs_the_csrf_header_and_shows_the_generated_password,
    bad_input_is_answered_next_to_its_field,
    editing_keeps_the_extension_and_deleting_asks_first,
    a_site_manager_sees_and_adds_only_at_their_site,
    a_supervisor_manages_agents_only,
    a_supervisor_lists_agents_only,
    saved_settings_change_what_applies,
    audit_filters_narrow_the_list,
    markup_in_a_name_is_shown_as_text,
);
