//! The portal in a real browser: headless Chromium clicks through the pages of the real
//! binary like a person would, on SQLite and on PostgreSQL. Every page visited leaves a
//! screenshot in `target/screenshots/`.

mod browser_support;
mod support;

use std::sync::OnceLock;

use browser_support::{Driver, Page};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{Backend, Database, PASSWORD, Server, Session, cli};

/// Runs one scenario on SQLite and on PostgreSQL, each with its own database, server and
/// browser.
macro_rules! on_both_backends {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            #[tokio::test(flavor = "multi_thread")]
            async fn sqlite() {
                let portal = super::Portal::start(stringify!($scenario), super::Backend::Sqlite).await;
                super::$scenario(&portal).await;
                portal.finish();
            }
            #[tokio::test(flavor = "multi_thread")]
            async fn postgres() {
                let portal = super::Portal::start(stringify!($scenario), super::Backend::Postgres).await;
                super::$scenario(&portal).await;
                portal.finish();
            }
        }
    )*};
}

on_both_backends!(
    login_and_logout,
    office_manager_keeps_shared_contacts,
    office_manager_imports_and_exports,
    basic_user_finds_people,
    hidden_shared_contacts,
    live_updates,
    form_errors_are_explained,
    forged_csrf_token_is_refused,
    ended_session_keeps_the_form,
    office_manager_provisions_a_desk_phone,
    a_user_changes_their_password,
);

const DOMAIN: &str = "acme.example";
const MANAGER: &str = "100@acme.example";
const BASIC: &str = "200@acme.example";

/// A domain's people: extension, first name, scope, department, site.
const PEOPLE: [(&str, &str, &str, &str, &str); 4] = [
    ("100", "Olivia", "office-manager", "Management", "Seattle"),
    ("200", "Ben", "basic-user", "Sales", "Seattle"),
    ("201", "Zoe", "basic-user", "Support", "Portland"),
    ("202", "Raj", "basic-user", "Sales", "Portland"),
];

/// One test's world: a database with the domain `acme.example`, the server on it and a
/// chromedriver to open browser windows with.
struct Portal {
    name: String,
    db: Database,
    server: Server,
    driver: Driver,
    /// The API token of the PBX that reports presence, made when first needed.
    pbx_token: OnceLock<String>,
}

impl Portal {
    async fn start(scenario: &str, backend: Backend) -> Portal {
        let name = format!("{scenario}-{}", if backend == Backend::Sqlite { "sqlite" } else { "postgres" });
        browser_support::forget_screenshots(&name);
        let db = Database::new(backend).await;
        seed(&db);
        let server = Server::start(&db, &[]);
        let driver = Driver::start().await;
        Portal { name, db, server, driver, pbx_token: OnceLock::new() }
    }

    /// A new browser window, nobody logged in; `who` names its screenshots.
    async fn window(&self, who: &str) -> Page {
        self.driver.open(&format!("{}-{who}", self.name), &self.server.base).await
    }

    /// A new browser window in which `username` has logged in through the form.
    async fn logged_in(&self, username: &str) -> Page {
        let extension = username.split('@').next().unwrap_or(username);
        let page = self.window(&format!("u{extension}")).await;
        page.log_in(username, PASSWORD).await;
        page
    }

    /// Checks what only the end of a test can: the server never panicked.
    fn finish(&self) {
        let log = self.server.log();
        assert!(!log.contains("panicked"), "the server panicked:\n{log}");
    }
}

impl Drop for Portal {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let log = self.server.log();
            let tail: Vec<&str> = log.lines().rev().take(30).collect::<Vec<_>>().into_iter().rev().collect();
            eprintln!("--- the server's last log lines:\n{}", tail.join("\n"));
        }
    }
}

fn seed(db: &Database) {
    cli(db, &["domain", "add", DOMAIN, "--country", "US"], None);
    for (ext, first, scope, department, site) in PEOPLE {
        cli(
            db,
            &[
                "user",
                "add",
                DOMAIN,
                ext,
                "--first",
                first,
                "--last",
                "Tester",
                "--scope",
                scope,
                "--department",
                department,
                "--site",
                site,
                "--password-stdin",
            ],
            Some(PASSWORD),
        );
    }
}

async fn login_and_logout(portal: &Portal) {
    let page = portal.window("anonymous").await;

    page.visit("/contacts", "logged-out").await;
    page.wait_for_path("/login?next=%2Fcontacts").await;
    page.phone_screenshot("login").await;

    page.fill("#username", BASIC).await;
    page.fill("#password", "not-the-password").await;
    page.click("form button[type=submit]").await;
    let error = page.wait_for("#login-error").await;
    assert!(error.text().await.unwrap().contains("do not match"), "the login error says why");
    assert_eq!(page.value("#username").await, BASIC, "the login typed is kept");
    page.screenshot("wrong-password").await;

    page.fill("#password", PASSWORD).await;
    page.click("form button[type=submit]").await;
    page.wait_for_path("/contacts").await;
    page.wait_for("nav.mainnav").await;
    page.screenshot("logged-in").await;
    // The console reports the 401 of the wrong password as a failed resource load.
    page.assert_no_console_errors(&["401"]).await;

    let secret = page.session_secret().await.expect("a session cookie after login");
    let contacts = portal
        .server
        .http
        .get(portal.server.url("/contacts"))
        .header("cookie", format!("sb_session={secret}"))
        .send()
        .await
        .expect("the page");
    assert_eq!(contacts.status(), StatusCode::OK);
    let csp = contacts.headers().get("content-security-policy").expect("a Content-Security-Policy");
    assert!(csp.to_str().unwrap().contains("script-src 'self'"), "no inline script may run: {csp:?}");

    page.click("button#logout").await;
    page.wait_for_path("/login").await;
    page.screenshot("logged-out-again").await;
    assert_eq!(page.session_secret().await, None, "logging out forgets the cookie");
    page.visit("/contacts", "after-logout").await;
    page.wait_for_path("/login?next=%2Fcontacts").await;
    page.close().await;
}

/// The row of the shared contact (or directory entry) whose text shows `name`.
const SHARED_ROW: &str = "#shared-rows tr[data-contact]";
const DIRECTORY_ROW: &str = "#directory-rows tr[data-entry]";
const SHARED_API: &str = "/api/v1/domains/acme.example/shared-contacts";

impl Portal {
    /// A REST session of `username`, for fixtures and for checking what was saved.
    async fn api(&self, username: &str) -> Session<'_> {
        self.server.login(username, PASSWORD).await
    }

    /// The names of the domain's shared contacts, as the REST API lists them.
    async fn shared_names(&self) -> Vec<String> {
        let manager = self.api(MANAGER).await;
        let items = manager.all_pages(SHARED_API).await;
        items
            .iter()
            .map(|c| {
                format!("{} {}", c["first_name"].as_str().unwrap_or(""), c["last_name"].as_str().unwrap_or(""))
                    .trim()
                    .to_string()
            })
            .collect()
    }

    async fn create_shared(&self, contact: Value) -> String {
        let reply = self.api(MANAGER).await.post(SHARED_API, contact).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
        reply.body["id"].as_str().expect("id").to_string()
    }
}

/// Opens the Add Shared Contact modal and waits for its first field.
async fn open_add_modal(page: &Page) {
    page.click("button#add-shared").await;
    page.wait_for("dialog#contact-dialog[open] #contact-form input[name=first_name]").await;
}

async fn fill_contact(page: &Page, fields: &[(&str, &str)]) {
    for (name, value) in fields {
        page.fill(&format!("#contact-form [name={name}]"), value).await;
    }
}

/// The displayed row of `css` that shows `text`.
async fn row(page: &Page, css: &str, text: &str) -> fantoccini::elements::Element {
    page.wait_for_text(css, text).await
}

async fn click_in_row(page: &Page, css: &str, text: &str, button: &str) {
    // A live update may render the list again between finding the row and clicking in
    // it: then the row is found again.
    for attempt in 1.. {
        let row = row(page, css, text).await;
        let target = match row.find(fantoccini::Locator::Css(button)).await {
            Ok(target) => target,
            Err(error) if attempt < 20 && error.to_string().contains("stale") => continue,
            Err(error) => panic!("no `{button}` in the row of {text}: {error}"),
        };
        match target.click().await {
            Ok(()) => return,
            Err(error) if attempt < 20 && error.to_string().contains("stale") => {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await
            }
            // Something over it (a closing dialog, a toast): wait for it to go.
            Err(_) => return page.click_element(&target, button).await,
        }
    }
}

async fn office_manager_keeps_shared_contacts(portal: &Portal) {
    let page = portal.logged_in(MANAGER).await;
    page.click("nav.mainnav a[href='/shared-contacts']").await;
    page.wait_for_path("/shared-contacts").await;
    page.wait_for("#shared-rows").await;
    page.screenshot("shared-empty").await;

    // Save and add another: the modal stays, empty, ready for the next one.
    open_add_modal(&page).await;
    assert_eq!(page.focused().await, "first_name", "the modal opens on First name");
    page.screenshot("add-modal").await;
    page.phone_screenshot("add-modal").await;
    fill_contact(
        &page,
        &[
            ("first_name", "Ann"),
            ("last_name", "Lee"),
            ("company", "Lee & Partners"),
            ("work_phone", "+1 (206) 555-0100"),
            ("email", "ann@lee.example"),
        ],
    )
    .await;
    page.click("#contact-form button[name=save][value=another]").await;
    page.wait_for_text("#contact-form .notice", "Saved Ann Lee").await;
    page.wait_for("dialog#contact-dialog[open]").await;
    for field in ["first_name", "last_name", "company", "work_phone", "email", "notes"] {
        assert_eq!(
            page.value(&format!("#contact-form [name={field}]")).await,
            "",
            "{field} is empty for the next contact"
        );
    }
    assert!(page.poll(async || page.focused().await == "first_name").await, "focus is back on First name");
    row(&page, SHARED_ROW, "Ann Lee").await;
    page.screenshot("saved-and-add-another").await;

    fill_contact(&page, &[("first_name", "Bob"), ("last_name", "Stone"), ("mobile_phone", "425.555.0142")]).await;
    page.click("#contact-form button[name=save][value=close]").await;
    page.wait_gone("dialog#contact-dialog").await;
    page.wait_for_text("#toasts .toast", "Saved Bob Stone").await;
    row(&page, SHARED_ROW, "Bob Stone").await;
    let numbers = page.texts(&format!("{SHARED_ROW} a[href^='tel:']")).await;
    assert!(numbers.iter().any(|n| n.contains("(206) 555-0100")), "numbers are links to call: {numbers:?}");
    page.screenshot("two-contacts").await;

    // Edit with the pencil.
    click_in_row(&page, SHARED_ROW, "Ann Lee", "button.edit").await;
    page.wait_for("dialog#contact-dialog[open]").await;
    assert_eq!(page.value("#contact-form [name=first_name]").await, "Ann");
    page.fill("#contact-form [name=title]", "Buyer").await;
    page.screenshot("edit-modal").await;
    page.click("#contact-form button[name=save][value=close]").await;
    page.wait_gone("dialog#contact-dialog").await;
    page.wait_for_text(SHARED_ROW, "Buyer").await;

    // Delete with the X, then Undo from the toast.
    click_in_row(&page, SHARED_ROW, "Ann Lee", "button.delete").await;
    page.wait_for_no_text(SHARED_ROW, "Ann Lee").await;
    let undo = page.wait_for_text("#toasts .toast button", "Undo").await;
    page.screenshot("deleted-with-undo").await;
    page.click_element(&undo, "Undo").await;
    row(&page, SHARED_ROW, "Ann Lee").await;
    page.screenshot("undone").await;

    // Delete again, then restore from the trash.
    click_in_row(&page, SHARED_ROW, "Ann Lee", "button.delete").await;
    page.wait_for_no_text(SHARED_ROW, "Ann Lee").await;
    assert_eq!(portal.shared_names().await, ["Bob Stone"]);
    page.click("a#trash-link").await;
    page.wait_for_path("/shared-contacts/trash").await;
    page.screenshot("trash").await;
    click_in_row(&page, "#trash-rows tr[data-contact]", "Ann Lee", "button.restore").await;
    page.wait_for_no_text("#trash-rows tr[data-contact]", "Ann Lee").await;
    page.visit("/shared-contacts", "restored").await;
    row(&page, SHARED_ROW, "Ann Lee").await;
    let mut names = portal.shared_names().await;
    names.sort();
    assert_eq!(names, ["Ann Lee", "Bob Stone"]);

    // Search as you type.
    page.fill("#shared-search", "sto").await;
    page.wait_for_no_text(SHARED_ROW, "Ann Lee").await;
    row(&page, SHARED_ROW, "Bob Stone").await;
    page.screenshot("search").await;
    page.fill("#shared-search", "5550100").await;
    row(&page, SHARED_ROW, "Ann Lee").await;
    page.wait_for_no_text(SHARED_ROW, "Bob Stone").await;
    page.phone_screenshot("shared-contacts").await;
    page.assert_no_console_errors(&[]).await;
}

/// Sets a coworker's presence as a PBX would: with an API token made by the operator's
/// `switchboard token create`, through the REST API.
async fn set_presence(portal: &Portal, ext: &str, state: &str, chat: bool, message: &str) {
    let token = portal.pbx_token.get_or_init(|| {
        let printed = cli(&portal.db, &["token", "create", MANAGER, "--name", "PBX presence feed"], None);
        printed.lines().nth(1).expect("the token's secret on its second line").trim().to_string()
    });
    let feed = Session { server: &portal.server, token: token.clone() };
    let path = format!("/api/v1/domains/{DOMAIN}/users/{ext}/presence");
    let reply = feed.put(&path, json!({ "state": state, "chat": chat, "message": message })).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
}

/// Chooses a group in the Contacts page's filter and waits for the list to show `expected`.
async fn choose_group(page: &Page, group: &str, expected: &str) {
    let select = page.wait_for("select#group").await;
    select.select_by_value(group).await.unwrap_or_else(|e| panic!("group {group}: {e}"));
    page.wait_for_text(DIRECTORY_ROW, expected).await;
}

/// The names listed now, each row's first line.
async fn listed(page: &Page) -> Vec<String> {
    let mut names: Vec<String> =
        page.texts(&format!("{DIRECTORY_ROW} .name")).await.into_iter().map(|n| n.trim().to_string()).collect();
    names.sort();
    names
}

/// Waits until the directory lists exactly `expected` (a filter's answer replaced the rows).
async fn wait_for_list(page: &Page, expected: &[&str]) {
    let mut seen = Vec::new();
    let matched = page
        .poll(async || {
            seen = listed(page).await;
            seen == expected
        })
        .await;
    if !matched {
        page.fail(&format!("expected the list {expected:?}, it shows {seen:?}")).await;
    }
}

async fn basic_user_finds_people(portal: &Portal) {
    portal.create_shared(json!({ "first_name": "Ann", "last_name": "Lee", "company": "Lee & Partners", "work_phone": "+1 206 555 0100" })).await;
    set_presence(portal, "201", "busy", false, "In a meeting").await;
    set_presence(portal, "202", "available", true, "").await;

    let page = portal.logged_in(BASIC).await;
    page.wait_for(DIRECTORY_ROW).await;
    page.screenshot("contacts").await;
    let ann = row(&page, DIRECTORY_ROW, "Ann Lee").await;
    assert_eq!(ann.attr("data-kind").await.unwrap().as_deref(), Some("shared"));
    assert!(ann.find(fantoccini::Locator::Css(".shared-icon")).await.is_ok(), "a shared contact shows the shared icon");
    assert!(
        ann.find(fantoccini::Locator::Css("button.edit")).await.is_err(),
        "a basic user may not edit a shared contact"
    );
    assert!(ann.find(fantoccini::Locator::Css("a[href^='tel:']")).await.is_ok(), "its number is a link to call");

    // Star it, find it under Favorites.
    click_in_row(&page, DIRECTORY_ROW, "Ann Lee", "button.star").await;
    assert!(
        page.poll(async || page
            .count(&format!("{DIRECTORY_ROW}[data-kind=shared] button.star[aria-pressed=true]"))
            .await
            == 1)
            .await,
        "the star shows it is a favorite"
    );
    choose_group(&page, "favorites", "Ann Lee").await;
    wait_for_list(&page, &["Ann Lee"]).await;
    page.screenshot("favorites").await;

    choose_group(&page, "department:Support", "Zoe Tester").await;
    wait_for_list(&page, &["Zoe Tester"]).await;
    choose_group(&page, "site:Portland", "Raj Tester").await;
    wait_for_list(&page, &["Raj Tester", "Zoe Tester"]).await;
    page.screenshot("site").await;

    choose_group(&page, "busy", "Zoe Tester").await;
    wait_for_list(&page, &["Zoe Tester"]).await;
    assert_eq!(page.count(&format!("{DIRECTORY_ROW} .dot.busy")).await, 1, "a busy coworker has a red dot");
    page.wait_for_text(&format!("{DIRECTORY_ROW} .status-message"), "In a meeting").await;
    choose_group(&page, "available", "Raj Tester").await;
    wait_for_list(&page, &["Raj Tester"]).await;
    assert_eq!(
        page.count(&format!("{DIRECTORY_ROW} .dot.available")).await,
        1,
        "an available coworker has a green dot"
    );
    assert_eq!(page.count(&format!("{DIRECTORY_ROW} .dot.chat")).await, 1, "and a chat dot when available to chat");
    page.screenshot("available").await;

    // Search as you type across the whole directory.
    choose_group(&page, "all", "Ann Lee").await;
    page.fill("#directory-search", "zoe").await;
    wait_for_list(&page, &["Zoe Tester"]).await;
    page.fill("#directory-search", "").await;
    page.wait_for_text(DIRECTORY_ROW, "Ann Lee").await;
    page.phone_screenshot("contacts").await;

    // The dock finds the same people from any page.
    page.click("button#dock-toggle").await;
    page.wait_for("aside#dock #dock-search").await;
    page.fill("#dock-search", "ann").await;
    page.wait_for_no_text("#dock-rows tr", "Zoe Tester").await;
    page.wait_for_text("#dock-rows tr", "Ann Lee").await;
    page.screenshot("dock").await;
    page.assert_no_console_errors(&[]).await;
}

async fn hidden_shared_contacts(portal: &Portal) {
    portal.create_shared(json!({ "first_name": "Ann", "last_name": "Lee", "work_phone": "+1 206 555 0100" })).await;
    let basic = portal.logged_in(BASIC).await;
    row(&basic, DIRECTORY_ROW, "Ann Lee").await;

    let manager = portal.logged_in(MANAGER).await;
    manager.click("nav.mainnav a[href='/settings']").await;
    manager.wait_for_path("/settings").await;
    manager.screenshot("settings").await;
    let show = manager.wait_for("#settings-form select#show-shared").await;
    show.select_by_value("no").await.expect("the setting offers `no`");
    manager.click("#settings-form #save-settings").await;
    manager.wait_for_text("#toasts .toast", "Settings saved").await;
    manager.wait_for_text("#show-shared-source", "Set here").await;
    manager.screenshot("settings-saved").await;
    manager.phone_screenshot("settings").await;

    basic.visit("/contacts", "after-hiding").await;
    basic.wait_for_text(DIRECTORY_ROW, "Zoe Tester").await;
    assert_eq!(basic.count(&format!("{DIRECTORY_ROW}[data-kind=shared]")).await, 0, "no shared contact is listed");
    assert_eq!(basic.count("nav.mainnav a[href='/shared-contacts']").await, 0, "no Shared Contacts page in the menu");
    assert_eq!(basic.count("select#group option[value=shared]").await, 0, "no Shared group");
    let settings = portal.api(MANAGER).await.get(&format!("/api/v1/domains/{DOMAIN}/settings")).await;
    assert!(settings.body.to_string().contains("\"no\""), "the domain's setting was saved: {:?}", settings.body);
}

async fn live_updates(portal: &Portal) {
    let watcher = portal.logged_in(BASIC).await;
    watcher.wait_for("#directory-rows").await;
    let manager = portal.logged_in(MANAGER).await;
    manager.visit("/shared-contacts", "shared").await;
    // A page that reloads forgets this mark.
    watcher.js("window.stillTheSamePage = true", vec![]).await;
    manager.js("window.stillTheSamePage = true", vec![]).await;

    // Made in the first window: the second shows it.
    open_add_modal(&manager).await;
    fill_contact(&manager, &[("first_name", "Ann"), ("last_name", "Lee"), ("work_phone", "2065550100")]).await;
    manager.click("#contact-form button[name=save][value=close]").await;
    row(&watcher, DIRECTORY_ROW, "Ann Lee").await;
    watcher.screenshot("appeared").await;

    // Made elsewhere (REST): both show it.
    portal.create_shared(json!({ "company": "Globex Supply", "work_phone": "2065550111" })).await;
    row(&watcher, DIRECTORY_ROW, "Globex Supply").await;
    row(&manager, SHARED_ROW, "Globex Supply").await;
    manager.screenshot("appeared").await;

    // Presence too.
    set_presence(portal, "201", "busy", false, "On a call").await;
    watcher.wait_for_text(&format!("{DIRECTORY_ROW} .status-message"), "On a call").await;
    for page in [&watcher, &manager] {
        assert_eq!(
            page.js("return window.stillTheSamePage === true", vec![]).await,
            json!(true),
            "updated without reloading"
        );
    }
}

async fn form_errors_are_explained(portal: &Portal) {
    let page = portal.logged_in(MANAGER).await;
    page.visit("/shared-contacts", "shared").await;
    open_add_modal(&page).await;

    // No name and no company: told why, nothing saved.
    page.fill("#contact-form [name=notes]", "Someone without a name").await;
    page.click("#contact-form button[name=save][value=close]").await;
    page.wait_for_text("#contact-form .field-error, #contact-form #form-failure", "name").await;
    page.wait_for("dialog#contact-dialog[open]").await;
    page.screenshot("no-name").await;

    // A bad email: the message sits next to the field.
    fill_contact(&page, &[("first_name", "Ann"), ("email", "not-an-email")]).await;
    page.click("#contact-form button[name=save][value=close]").await;
    page.wait_for("#contact-form #error-email.field-error").await;
    page.screenshot("bad-email").await;
    assert!(portal.shared_names().await.is_empty(), "nothing was saved");

    // Longer notes than the app keeps (4,000 characters): refused with the limit, kept in the form.
    page.fill("#contact-form [name=email]", "").await;
    page.js("document.querySelector('#contact-form [name=notes]').value = 'n'.repeat(5000)", vec![]).await;
    page.click("#contact-form button[name=save][value=close]").await;
    let error = page.wait_for("#contact-form #error-notes.field-error").await;
    assert!(error.text().await.unwrap().contains("4000"), "the limit is told");
    assert_eq!(page.value("#contact-form [name=notes]").await.chars().count(), 5000, "what was typed is kept");
    assert!(portal.shared_names().await.is_empty(), "nothing was saved");
    page.screenshot("notes-too-long").await;
    // Typed, the field stops at the limit.
    page.fill("#contact-form [name=notes]", &"x".repeat(4100)).await;
    assert_eq!(page.value("#contact-form [name=notes]").await.chars().count(), 4000);

    // Markup as a name is shown as text and never runs.
    let markup = "<script>alert(1)</script>";
    page.fill("#contact-form [name=notes]", "").await;
    fill_contact(&page, &[("first_name", markup), ("last_name", "<img src=x onerror=alert(2)>")]).await;
    page.click("#contact-form button[name=save][value=close]").await;
    page.wait_gone("dialog#contact-dialog").await;
    row(&page, SHARED_ROW, markup).await;
    page.screenshot("markup-as-text").await;
    assert!(!page.alert_open().await, "no script ran");
    assert_eq!(page.count("#shared-rows script, #shared-rows img").await, 0, "the name was not read as HTML");
    assert_eq!(portal.shared_names().await, [format!("{markup} <img src=x onerror=alert(2)>")]);
    page.visit("/contacts", "markup-in-directory").await;
    row(&page, DIRECTORY_ROW, markup).await;
    assert!(!page.alert_open().await, "no script ran");
}

async fn forged_csrf_token_is_refused(portal: &Portal) {
    let page = portal.logged_in(MANAGER).await;
    page.visit("/shared-contacts", "shared").await;
    page.js("document.body.setAttribute('hx-headers', JSON.stringify({'X-CSRF-Token': 'forged'}))", vec![]).await;
    open_add_modal(&page).await;
    fill_contact(&page, &[("first_name", "Ann"), ("last_name", "Lee")]).await;
    page.click("#contact-form button[name=save][value=close]").await;
    page.wait_for_text("#toasts .toast", "security token").await;
    page.screenshot("forged-token").await;
    assert!(portal.shared_names().await.is_empty(), "nothing was saved");
    page.assert_no_console_errors(&["403"]).await;
}

async fn ended_session_keeps_the_form(portal: &Portal) {
    let page = portal.logged_in(MANAGER).await;
    page.visit("/shared-contacts", "shared").await;
    open_add_modal(&page).await;
    fill_contact(&page, &[("first_name", "Ann"), ("last_name", "Lee"), ("company", "Lee & Partners")]).await;

    // The session ends elsewhere (logged out in another tab, expired).
    let secret = page.session_secret().await.expect("a session");
    let ended = Session { server: &portal.server, token: secret }.delete("/api/v1/session").await;
    assert!(ended.status.is_success(), "{:?}", ended.body);

    page.click("#contact-form button[name=save][value=close]").await;
    page.wait_for("dialog#relogin[open]").await;
    page.screenshot("session-ended").await;
    page.fill("#relogin-password", PASSWORD).await;
    page.click("#relogin-form button[type=submit]").await;
    page.wait_gone("dialog#relogin").await;
    page.wait_for_text("#toasts .toast", "logged in again").await;
    assert_eq!(page.value("#contact-form [name=company]").await, "Lee & Partners", "nothing has to be typed again");
    page.click("#contact-form button[name=save][value=close]").await;
    page.wait_gone("dialog#contact-dialog").await;
    row(&page, SHARED_ROW, "Ann Lee").await;
    page.screenshot("saved-after-login").await;
    assert_eq!(portal.shared_names().await, ["Ann Lee"]);
    page.assert_no_console_errors(&["401"]).await;
}

/// An Outlook CSV file of three contacts, the second of which has nothing to keep: no
/// name, company or number, and an email that is not one.
const IMPORT_FILE: &str = "First Name,Last Name,Company,Business Phone,E-mail Address\r\n\
Carl,Diaz,Diaz Build,+1 206 555 0111,carl@diaz.example\r\n\
,,,,nobody-at-example.com\r\n\
Erin,Fox,Fox Ltd,206-555-0122,\r\n";

async fn office_manager_imports_and_exports(portal: &Portal) {
    let page = portal.logged_in(MANAGER).await;
    page.visit("/shared-contacts", "shared").await;
    let dir = tempfile::tempdir().expect("a directory");
    let file = dir.path().join("contacts.csv");
    std::fs::write(&file, IMPORT_FILE).expect("the file is written");

    // Preview: the bad row is listed with its reason; nothing is written yet.
    page.click("button#import-button").await;
    page.wait_for("dialog#import-dialog[open] input#import-file").await;
    page.wait_for("input#import-file").await.send_keys(&file.display().to_string()).await.expect("file chosen");
    page.click("button#import-preview").await;
    page.wait_for("#import-report[data-ready]").await;
    let rejected = page.wait_for("#import-rows tr[data-action=reject]").await;
    let row_number = rejected.attr("data-row").await.unwrap();
    assert_eq!(row_number.as_deref(), Some("3"), "the bad row is told by its line in the file");
    let reason = rejected.find(fantoccini::Locator::Css(".row-reason")).await.unwrap().text().await.unwrap();
    assert!(!reason.trim().is_empty(), "a rejected row says why");
    page.wait_for_text("#import-totals [data-total=created]", "2 new").await;
    page.wait_for_text("#import-totals [data-total=rejected]", "1 rejected").await;
    page.screenshot("import-preview").await;
    assert!(portal.shared_names().await.is_empty(), "a preview writes nothing");

    // Import: the report, the contacts in the list.
    page.click("button#import-commit:not([disabled])").await;
    page.wait_for("#import-report[data-committed]").await;
    page.wait_for_text("#import-report[data-committed] [data-total=created]", "2 new").await;
    page.wait_for_text("#toasts .toast", "Import finished").await;
    page.screenshot("import-report").await;
    let mut names = portal.shared_names().await;
    names.sort();
    assert_eq!(names, ["Carl Diaz", "Erin Fox"], "the valid rows were imported, the bad one not");
    page.click("dialog#import-dialog [data-close]").await;
    page.wait_gone("dialog#import-dialog").await;
    row(&page, SHARED_ROW, "Carl Diaz").await;
    row(&page, SHARED_ROW, "Erin Fox").await;

    // Export in each format: the downloaded file holds the contacts.
    for (format, marker) in [("outlook", "First Name"), ("google", "Phone 1 - Value"), ("vcard", "BEGIN:VCARD")] {
        page.clear_downloads();
        if page.count("dialog#export-dialog[open]").await == 0 {
            page.click("button#export-button").await;
        }
        let select = page.wait_for("dialog#export-dialog[open] select#export-format").await;
        select.select_by_value(format).await.unwrap_or_else(|e| panic!("format {format}: {e}"));
        page.screenshot(&format!("export-{format}")).await;
        page.click("button#export-download").await;
        let files = page.downloads(1).await;
        let text = std::fs::read_to_string(&files[0]).expect("the export is text");
        for expected in [marker, "Diaz", "Erin", "206"] {
            assert!(text.contains(expected), "the {format} export lacks {expected:?}:\n{text}");
        }
        assert!(!text.contains("nobody@example.com"), "the rejected row was not imported");
    }
    page.assert_no_console_errors(&[]).await;
}

/// The Desk phones page: a credential is added (its secrets and settings shown once), a
/// phone reads its book with what the page showed, its settings are shown again, and
/// revoking it shuts the phone out.
async fn office_manager_provisions_a_desk_phone(portal: &Portal) {
    let page = portal.logged_in(MANAGER).await;
    page.click("nav.mainnav a[href='/phones']").await;
    page.wait_for_path("/phones").await;
    page.wait_for_text("#phone-rows", "No credentials yet").await;
    page.screenshot("phones-empty").await;

    page.fill("#phone-name", "Reception T54W").await;
    page.fill("#phone-networks", "127.0.0.1, 10.0.0.0/33").await;
    page.click("#add-phone").await;
    page.wait_for_text("#error-phone-networks", "10.0.0.0/33").await;
    assert_eq!(page.value("#phone-name").await, "Reception T54W", "what was typed is kept");
    page.screenshot("phone-refused").await;

    page.fill("#phone-networks", "127.0.0.1").await;
    page.fill("#phone-user", "200").await;
    page.click("#add-phone").await;
    page.wait_for("#phone-created").await;
    page.wait_for_text("#toasts .toast", "Added Reception T54W").await;
    page.wait_for_text("#phone-rows tr[data-phone]", "Reception T54W").await;
    let token = page.value("#created-token").await;
    let settings = page.value("#phone-provisioning").await;
    let book = format!("{}/phonebook/{token}/yealink.xml", portal.server.base);
    assert!(settings.contains(&format!("remote_phonebook.data.2.url = {book}")), "{settings}");
    page.screenshot("phone-added").await;
    page.phone_screenshot("phone-added").await;

    let phone = portal.server.http.get(&book).send().await.unwrap();
    assert_eq!(phone.status(), StatusCode::OK, "a phone reads the book with the shown token");
    assert!(phone.text().await.unwrap().contains("Zoe Tester"), "coworkers are in the book");

    page.click("#add-another-phone").await;
    page.wait_for("#phone-form #phone-name").await;
    click_in_row(&page, "#phone-rows tr[data-phone]", "Reception T54W", "button[id^=phone-settings-]").await;
    let again = page.wait_for("#phone-settings #phone-provisioning").await;
    let again = again.prop("value").await.unwrap().unwrap_or_default();
    assert!(again.contains("/phonebook/<TOKEN>/yealink.xml") && !again.contains(&token), "{again}");
    page.screenshot("phone-settings").await;

    click_in_row(&page, "#phone-rows tr[data-phone]", "Reception T54W", "button[id^=revoke-]").await;
    page.wait_for_text("#revoke-question", "Revoke Reception T54W?").await;
    page.screenshot("phone-revoke-question").await;
    page.click("#confirm-revoke").await;
    page.wait_for_text("#toasts .toast", "Revoked Reception T54W").await;
    page.wait_for_text("#phone-rows tr[data-revoked=yes]", "Revoked").await;
    page.screenshot("phone-revoked").await;
    let refused = portal.server.http.get(&book).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED, "the revoked token is refused at once");
    // The refused form answered 422, which the browser logs.
    page.assert_no_console_errors(&["422"]).await;
}

/// A person changes their own password on Your account, reached from their name: a
/// wrong current password is explained beside its field; the right one keeps this
/// browser logged in and signs the other browser out.
async fn a_user_changes_their_password(portal: &Portal) {
    let page = portal.logged_in(BASIC).await;
    let other = portal.window("elsewhere").await;
    other.log_in(BASIC, PASSWORD).await;

    page.click("#account-link").await;
    page.wait_for_path("/account").await;
    page.wait_for("#password-form").await;
    page.screenshot("account").await;
    let new = "my new passphrase";
    let submit = async |current: &str| {
        page.fill("#current-password", current).await;
        page.fill("#new-password", new).await;
        page.fill("#confirm-password", new).await;
        page.click("#change-password").await;
    };
    submit("not my password").await;
    let error = page.wait_for("#error-current-password").await;
    assert!(error.text().await.unwrap().contains("not your current password"));
    page.screenshot("account-wrong-current-password").await;

    submit(PASSWORD).await;
    page.wait_for_text("#toasts .toast", "Password changed").await;
    page.screenshot("account-password-changed").await;
    page.visit("/contacts", "still-logged-in").await;
    page.wait_for("nav.mainnav").await;
    other.visit("/contacts", "other-browser-after-the-change").await;
    other.wait_for_path("/login?next=%2Fcontacts").await;
    // The console reports the 422 of the wrong password as a failed resource load.
    page.assert_no_console_errors(&["422"]).await;
    // The new password logs in (the helper asserts it).
    portal.server.login(BASIC, new).await;
    page.close().await;
    other.close().await;
}
