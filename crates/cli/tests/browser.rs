//! The portal in a real browser: headless Chromium clicks through the pages of the real
//! binary like a person would, on SQLite and on PostgreSQL. Every page visited leaves a
//! screenshot in `target/screenshots/`.

mod browser_support;
mod support;

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use browser_support::{Driver, Page};
use fantoccini::key::Key;
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
    a_user_connects_an_address_book_app,
    coworkers_chat_from_the_dock,
    chat_explains_refusals,
    presence_reaches_other_pages,
    every_page_and_modal_passes_axe,
    contacts_by_keyboard,
);

const DOMAIN: &str = "acme.example";
const MANAGER: &str = "100@acme.example";
const BASIC: &str = "200@acme.example";
const ZOE: &str = "201@acme.example";

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
    // Opening the page makes its person available to chat, which renders lists again.
    page.wait_until_quiet().await;
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
    let starred = format!("{DIRECTORY_ROW}[data-kind=shared] button.star[aria-pressed=true]");
    if !page.poll(async || page.count(&starred).await == 1).await {
        page.fail("the star does not show it is a favorite").await;
    }
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

/// A person connects a contacts app on Your account: the CardDAV address, its QR code,
/// an app password made for the device (shown once, with a profile for Apple devices),
/// listed, then revoked; axe-core passes with the secret shown.
async fn a_user_connects_an_address_book_app(portal: &Portal) {
    let page = portal.logged_in(BASIC).await;
    page.visit("/account", "account-carddav").await;
    let address = page.wait_for("#carddav-url").await.text().await.unwrap();
    assert_eq!(address, format!("{}/dav/", portal.server.base));
    assert_eq!(page.shown_text("#carddav-username").await, BASIC);
    page.wait_for("#carddav-qr").await;
    page.wait_for("#no-app-passwords").await;

    page.fill("#app-password-name", "Ben's iPhone").await;
    page.click("#create-app-password").await;
    page.wait_for_text("#toasts .toast", "Made the app password for Ben's iPhone").await;
    let secret = page.value("#app-password-secret").await;
    assert!(secret.len() == 19 && secret.matches('-').count() == 3, "{secret}");
    let profile = page.wait_for("#app-password-profile").await;
    let href = profile.attr("href").await.unwrap().unwrap_or_default();
    assert!(href.starts_with("data:application/x-apple-aspen-config;base64,"), "{href}");
    page.wait_for_text("#app-password-rows tr[data-app-password]", "Never").await;
    page.screenshot("app-password-made").await;
    page.phone_screenshot("app-password-made").await;
    page.assert_accessible("the account page with an app password just made").await;
    // Copy puts the secret in the selected field (and on the clipboard where allowed).
    page.click("#copy-app-password").await;
    assert_eq!(page.focused().await, "app-password-secret");

    // Revoked (the server tests show the app refused at once). `hx-confirm` asks the
    // browser's own confirm(): answered yes here.
    page.js("window.confirm = () => true; return true", vec![]).await;
    click_in_row(&page, "#app-password-rows tr[data-app-password]", "Ben's iPhone", "button[id^=revoke-app-password-]")
        .await;
    page.wait_for_text("#toasts .toast", "Revoked").await;
    page.wait_for("#no-app-passwords").await;
    page.screenshot("app-password-revoked").await;
    page.assert_no_console_errors(&[]).await;
    page.close().await;
}

/// What the issue asks of live pages: a change shows within a second.
const LIVE: Duration = Duration::from_secs(1);

/// Waits until `check` holds and fails unless it did within [`LIVE`] of `since`; prints
/// the time it took.
async fn live_within_a_second(page: &Page, since: Instant, what: &str, mut check: impl AsyncFnMut() -> bool) {
    let held = page.poll(async || check().await).await;
    let took = since.elapsed();
    if !held {
        page.fail(&format!("{what}: never happened")).await;
    }
    eprintln!("{what}: {} ms", took.as_millis());
    if took > LIVE {
        page.fail(&format!("{what}: took {} ms, more than a second", took.as_millis())).await;
    }
}

/// The id of the focused element, and its `data-chat-peer` when it has one.
async fn focus(page: &Page) -> String {
    let script = "const e = document.activeElement; return e ? (e.id || 'peer:' + (e.dataset.chatPeer || '')) : ''";
    page.js(script, vec![]).await.as_str().unwrap_or_default().to_string()
}

const MENU_BADGE: &str = "#chat-toggle .unread-badge";
const MY_MESSAGES: &str = "#chat-log li.chat-message.mine";
const THEIR_MESSAGES: &str = "#chat-log li.chat-message.theirs";

/// Ben writes to Zoe from the dock. Zoe, with the Contacts page open in two tabs, sees the
/// unread badges within a second; she opens the chat from her dock, which reads it, and the
/// badge goes from her other tab within a second, while Ben sees his message read. The
/// keyboard does it all: Enter sends, Shift+Enter starts a line, Esc closes.
async fn coworkers_chat_from_the_dock(portal: &Portal) {
    let ben = portal.logged_in(BASIC).await;
    let zoe = portal.logged_in(ZOE).await;
    zoe.wait_for("#directory-rows").await;
    let zoe_first = zoe.tab().await;
    let zoe_second = zoe.open_tab("/contacts").await;
    zoe.wait_for("#directory-rows button[data-chat-peer='200']").await;
    zoe.js("window.stillTheSamePage = true", vec![]).await;
    zoe.switch_to(&zoe_first).await;

    // Ben opens the chat from the dock: focus goes to the message.
    ben.click("button#dock-toggle").await;
    ben.click("#dock-rows button[data-chat-peer='201'][aria-label='Chat with Zoe Tester']").await;
    ben.wait_for("#chat-panel[role=dialog]:not([hidden])").await;
    ben.wait_for_text("#chat-title", "Chat with Zoe Tester").await;
    assert!(ben.poll(async || focus(&ben).await == "chat-input").await, "the message field has the focus");
    let input = ben.wait_for("#chat-input").await;
    let typed =
        format!("Lunch at <b>noon</b>? https://example.com/menu.{}{}{}See you", Key::Shift, Key::Enter, Key::Null);
    input.send_keys(&typed).await.expect("typing");
    let characters = "Lunch at <b>noon</b>? https://example.com/menu.\nSee you".chars().count();
    ben.wait_for_text("#chat-counter", &format!("{characters} / 4,000")).await;
    assert_eq!(ben.count(MY_MESSAGES).await, 0, "Shift+Enter starts a new line, it does not send");
    ben.screenshot("chat-typed").await;
    let sent = Instant::now();
    input.send_keys(&Key::Enter.to_string()).await.expect("Enter");

    // Zoe: the menu's badge, her row of Ben's and the title, without reloading.
    live_within_a_second(&zoe, sent, "the reader's unread badge", async || zoe.shown_text(MENU_BADGE).await == "1")
        .await;
    assert_eq!(zoe.shown_text("#directory-rows button[data-chat-peer='200'] .unread-badge").await, "1");
    let label = zoe.js("return document.getElementById('chat-toggle').getAttribute('aria-label')", vec![]).await;
    assert_eq!(label, json!("Chats, 1 unread"), "the badge is in the button's name too");
    let title = zoe.js("return document.title", vec![]).await;
    assert!(title.as_str().unwrap().starts_with("(1) "), "the title counts unread messages: {title}");
    zoe.screenshot("chat-unread").await;
    zoe.assert_accessible("unread badges").await;
    ben.wait_for_text(MY_MESSAGES, "Lunch at").await;
    assert_eq!(ben.value("#chat-input").await, "", "a sent message leaves the field");
    // Zoe's open page has received it, she has not read it yet.
    ben.wait_for_text(&format!("{MY_MESSAGES} .chat-mark"), "Delivered").await;
    zoe.switch_to(&zoe_second).await;
    assert!(zoe.poll(async || zoe.shown_text(MENU_BADGE).await == "1").await, "the other tab counts it too");
    zoe.switch_to(&zoe_first).await;

    // Zoe opens it from her dock, which reads it: her other tab and Ben see that.
    zoe.click("button#dock-toggle").await;
    zoe.wait_for_text("#dock-chats .unread-badge", "1").await;
    let read = Instant::now();
    zoe.click("#dock-rows button[data-chat-peer='200']").await;
    zoe.switch_to(&zoe_second).await;
    let other_tab = async || zoe.shown_text(MENU_BADGE).await.is_empty();
    let read_mark = async || ben.shown_text(&format!("{MY_MESSAGES} .chat-mark")).await == "Read";
    tokio::join!(
        live_within_a_second(&zoe, read, "the badge of the other tab", other_tab),
        live_within_a_second(&ben, read, "the sender's read mark", read_mark),
    );
    assert_eq!(zoe.js("return window.stillTheSamePage === true", vec![]).await, json!(true), "without reloading");
    assert_eq!(zoe.js("return document.title", vec![]).await, json!("Contacts · Switchboard"));
    zoe.switch_to(&zoe_first).await;
    ben.screenshot("chat-seen").await;

    // Shown as text, its address a link.
    let message = zoe.wait_for_text(THEIR_MESSAGES, "Lunch at <b>noon</b>?").await;
    let text = message.text().await.unwrap();
    assert!(text.contains("https://example.com/menu.\nSee you"), "the line break is kept: {text:?}");
    assert_eq!(zoe.count("#chat-log b, #chat-log script").await, 0, "markup in a message is text");
    let link = zoe
        .js(
            "const a = document.querySelector('#chat-log a'); return [a.getAttribute('href'), a.rel, a.textContent]",
            vec![],
        )
        .await;
    assert_eq!(link, json!(["https://example.com/menu", "noopener noreferrer", "https://example.com/menu"]));
    assert!(zoe.poll(async || zoe.shown_text(MENU_BADGE).await.is_empty()).await, "read in this tab too");
    zoe.screenshot("chat-read").await;
    zoe.assert_accessible("the chat panel with a conversation, beside the dock").await;

    // Zoe answers; Ben has the conversation open, so he reads it there and then.
    zoe.fill("#chat-input", "Yes, 12:30").await;
    zoe.client.active_element().await.unwrap().send_keys(&Key::Enter.to_string()).await.expect("Enter");
    ben.wait_for_text(THEIR_MESSAGES, "Yes, 12:30").await;
    zoe.wait_for_text(&format!("{MY_MESSAGES} .chat-mark"), "Read").await;
    assert!(ben.poll(async || ben.shown_text(MENU_BADGE).await.is_empty()).await, "nothing unread for Ben");
    zoe.screenshot("chat-answered").await;
    zoe.phone_screenshot("chat").await;
    zoe.resize(browser_support::PHONE).await;
    zoe.assert_accessible("the chat panel at 360px").await;
    zoe.resize(browser_support::DESKTOP).await;

    // Left open in a tab in the background, the conversation is not read there; it is
    // when that tab comes back to the front.
    zoe.switch_to(&zoe_second).await;
    ben.fill("#chat-input", "Still there?").await;
    ben.client.active_element().await.unwrap().send_keys(&Key::Enter.to_string()).await.expect("Enter");
    let still = format!("{MY_MESSAGES}:last-child .chat-mark");
    ben.wait_for_text(&format!("{MY_MESSAGES}:last-child"), "Still there?").await;
    ben.wait_for_text(&still, "Delivered").await;
    assert!(zoe.poll(async || zoe.shown_text(MENU_BADGE).await == "1").await, "unread in the tab in front");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(ben.shown_text(&still).await, "Delivered", "not read by the tab behind");
    zoe.switch_to(&zoe_first).await;
    let back = Instant::now();
    live_within_a_second(&ben, back, "read once the tab is in front", async || ben.shown_text(&still).await == "Read")
        .await;

    // Esc closes the panel and gives the focus back to the button that opened it.
    zoe.client.active_element().await.unwrap().send_keys(&Key::Escape.to_string()).await.expect("Esc");
    zoe.wait_gone("#chat-panel").await;
    assert!(zoe.poll(async || focus(&zoe).await == "peer:200").await, "focus is back on the chat button");

    // Ben deletes his first message for both (a second press confirms).
    ben.click(&format!("{MY_MESSAGES} button.chat-delete")).await;
    ben.wait_for_text(&format!("{MY_MESSAGES} button.chat-delete"), "Delete for both of you?").await;
    ben.click(&format!("{MY_MESSAGES} button.chat-delete")).await;
    ben.wait_for_text(MY_MESSAGES, "You deleted this message.").await;
    ben.screenshot("chat-deleted").await;
    let zoes = portal.api(ZOE).await.get(&format!("/api/v1/domains/{DOMAIN}/users/201/chats/200/messages")).await;
    let deleted: Vec<bool> = zoes.body["items"].as_array().unwrap().iter().map(|m| m["deleted"] == true).collect();
    assert_eq!(deleted, [false, false, true], "deleted for Zoe too: {:?}", zoes.body);
    ben.assert_no_console_errors(&[]).await;
    zoe.assert_no_console_errors(&[]).await;
}

/// The panel says why it cannot send: to someone who left the directory and never wrote
/// (403; once they write, the answer goes), a message over 4,000 characters (with a
/// counter), too many messages at once (429); and it pages through a long conversation
/// with "older".
async fn chat_explains_refusals(portal: &Portal) {
    let zoe_api = portal.api(ZOE).await;
    let to = |ext: &str| format!("/api/v1/domains/{DOMAIN}/users/201/chats/{ext}/messages");
    for i in 1..=12 {
        let reply = zoe_api.post(&to("200"), json!({ "text": format!("message {i}") })).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    }
    portal.create_shared(json!({ "first_name": "Ann", "last_name": "Lee", "work_phone": "+1 206 555 0100" })).await;

    let zoe = portal.logged_in(ZOE).await;
    row(&zoe, DIRECTORY_ROW, "Ann Lee").await;
    assert_eq!(
        zoe.count("#directory-rows tr[data-kind=shared] button[data-chat-peer]").await,
        0,
        "no chat with a contact"
    );

    // Raj leaves the directory while Zoe writes to him: the API's refusal is shown, his
    // row goes; once he has written to her, her answer goes through.
    click_in_row(&zoe, DIRECTORY_ROW, "Raj Tester", "button[data-chat-peer='202']").await;
    zoe.wait_for_text("#chat-title", "Chat with Raj Tester").await;
    zoe.fill("#chat-input", "Hello?").await;
    let unlisted = portal
        .api(MANAGER)
        .await
        .patch(&format!("/api/v1/domains/{DOMAIN}/users/202"), json!({ "listed": false }), &[])
        .await;
    assert_eq!(unlisted.status, StatusCode::OK, "{:?}", unlisted.body);
    zoe.wait_for_no_text(DIRECTORY_ROW, "Raj Tester").await;
    zoe.click("#chat-send").await;
    zoe.wait_for_text("#chat-error", "You may not write to this person: they are not listed in the directory.").await;
    assert_eq!(zoe.value("#chat-input").await, "Hello?", "what was typed stays");
    zoe.screenshot("chat-unlisted").await;
    let raj = portal.api("202@acme.example").await;
    let text = "I'm here: javascript:alert(1) <img src=x onerror=alert(2)> (https://en.wikipedia.org/wiki/Foo_(bar)).";
    let reply =
        raj.post(&format!("/api/v1/domains/{DOMAIN}/users/202/chats/201/messages"), json!({ "text": text })).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    let message = zoe.wait_for_text(THEIR_MESSAGES, "I'm here").await;
    assert!(message.text().await.unwrap().contains(&text[10..]), "shown as it was written");
    let links =
        zoe.js("return [...document.querySelectorAll('#chat-log a')].map(a => a.getAttribute('href'))", vec![]).await;
    assert_eq!(links, json!(["https://en.wikipedia.org/wiki/Foo_(bar)"]), "only the web address is a link");
    assert_eq!(zoe.count("#chat-log img").await, 0, "markup is text");
    assert!(!zoe.alert_open().await, "no script ran");
    zoe.click("#chat-send").await;
    zoe.wait_for_text(MY_MESSAGES, "Hello?").await;
    zoe.wait_gone("#chat-error").await;

    // The conversations list; five messages a page: "older" reads the rest, oldest first.
    zoe.js("document.getElementById('chat-panel').dataset.pageSize = '5'", vec![]).await;
    zoe.click("#chat-back").await;
    zoe.wait_for_text("#chat-conversations li", "Raj Tester").await;
    zoe.screenshot("chat-list").await;
    zoe.assert_accessible("the chat panel's list of conversations").await;
    click_in_row(&zoe, "#chat-conversations li", "Ben Tester", "button[data-peer='200']").await;
    zoe.wait_for_text(MY_MESSAGES, "message 12").await;
    assert_eq!(zoe.count(MY_MESSAGES).await, 5);
    for expected in [10, 12] {
        zoe.click("#chat-older:not([hidden])").await;
        assert!(zoe.poll(async || zoe.count(MY_MESSAGES).await == expected).await, "{expected} messages shown");
    }
    zoe.wait_gone("#chat-older").await;
    let texts = zoe.texts(&format!("{MY_MESSAGES} .chat-text")).await;
    let numbers: Vec<&str> = texts.iter().filter_map(|t| t.trim().rsplit(' ').next()).collect();
    let expected: Vec<String> = (1..=12).map(|i| i.to_string()).collect();
    assert_eq!(numbers, expected, "oldest first, newest last: {texts:?}");
    zoe.screenshot("chat-paged").await;

    // Too long: the counter and the message say so; nothing is sent.
    let script = "const i = document.getElementById('chat-input'); i.value = 'x'.repeat(4001); \
        i.dispatchEvent(new Event('input', { bubbles: true })); i.focus()";
    zoe.js(script, vec![]).await;
    zoe.wait_for_text("#chat-counter.over", "4,001 / 4,000").await;
    zoe.wait_for_text("#chat-error[role=alert]", "at most 4,000 characters").await;
    zoe.client.active_element().await.unwrap().send_keys(&Key::Enter.to_string()).await.expect("Enter");
    zoe.wait_for_text("#chat-error", "this one has 4,001").await;
    zoe.screenshot("chat-too-long").await;
    zoe.assert_accessible("the chat panel refusing a message").await;
    assert_eq!(zoe.count(MY_MESSAGES).await, 12, "nothing was sent");

    // Too fast: while Zoe's app floods Ben, the panel's message is refused with the reason.
    zoe.fill("#chat-input", "One more").await;
    let mut refused = false;
    for _ in 0..3 {
        let mut sent = 0;
        while zoe_api.post(&to("200"), json!({ "text": "flood" })).await.status != StatusCode::TOO_MANY_REQUESTS {
            sent += 1;
            assert!(sent < 100, "the flood was never refused");
        }
        zoe.client.active_element().await.unwrap().send_keys(&Key::Enter.to_string()).await.expect("Enter");
        // The limit may have let one more through (a token every two seconds): try again.
        let settled = zoe
            .poll(async || {
                zoe.shown_text("#chat-error").await.contains("too fast") || zoe.value("#chat-input").await.is_empty()
            })
            .await;
        assert!(settled, "the message was either sent or refused");
        if zoe.shown_text("#chat-error").await.contains("too fast") {
            refused = true;
            break;
        }
        zoe.fill("#chat-input", "One more").await;
    }
    assert!(refused, "a flood is refused");
    assert_eq!(zoe.value("#chat-input").await, "One more", "the refused message stays to send again");
    zoe.screenshot("chat-too-fast").await;
    zoe.assert_no_console_errors(&["429", "403"]).await;
}

/// A phone system reports a line on a call with its own credential (`switchboard token
/// create DOMAIN --kind pbx`, then `POST …/presence/lines`): the coworker's dot turns red
/// on another person's open Contacts page within a second, and back when the line is idle.
async fn presence_reaches_other_pages(portal: &Portal) {
    let printed = cli(&portal.db, &["token", "create", DOMAIN, "--kind", "pbx", "--name", "Main office PBX"], None);
    let secret = printed.lines().nth(1).expect("the credential's secret on its second line").trim().to_string();
    let pbx = Session { server: &portal.server, token: secret };
    let report = async |state: &str| {
        let lines = json!({ "lines": [{ "ext": "201", "state": state }, { "ext": "202", "state": "idle" }] });
        let reply = pbx.post(&format!("/api/v1/domains/{DOMAIN}/presence/lines"), lines).await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    };

    let page = portal.logged_in(BASIC).await;
    row(&page, DIRECTORY_ROW, "Zoe Tester").await;
    page.js("window.stillTheSamePage = true", vec![]).await;
    let zoe =
        |state: &str| format!("{DIRECTORY_ROW}[data-kind=coworker]:has(button[data-chat-peer='201']) .dot.{state}");
    assert_eq!(page.count(&zoe("busy")).await, 0);
    let changed = Instant::now();
    report("on_call").await;
    live_within_a_second(&page, changed, "a red dot on another page", async || page.count(&zoe("busy")).await == 1)
        .await;
    page.screenshot("presence-busy").await;
    let changed = Instant::now();
    report("idle").await;
    live_within_a_second(&page, changed, "the dot no longer red", async || page.count(&zoe("busy")).await == 0).await;
    assert_eq!(page.js("return window.stillTheSamePage === true", vec![]).await, json!(true), "without reloading");
    page.assert_no_console_errors(&[]).await;
}

/// The pages and modals a person with `username` reaches: path, then the buttons on it
/// that open a modal.
const MANAGER_PAGES: &[(&str, &[&str])] = &[
    (
        "/contacts",
        &["#add-contact", "#import-button", "#export-button", "#allowed-numbers-button", "#phone-sharing-button"],
    ),
    ("/contacts/mine/duplicates", &[]),
    ("/shared-contacts", &["#add-shared", "#import-button", "#export-button"]),
    ("/shared-contacts/trash", &[]),
    ("/shared-contacts/duplicates", &[]),
    ("/users", &["#add-user", "#deleted-users-button"]),
    ("/agents", &[]),
    ("/phones", &[]),
    ("/settings", &[]),
    ("/audit", &[]),
    ("/account", &[]),
];
const BASIC_PAGES: &[(&str, &[&str])] = &[
    (
        "/contacts",
        &["#add-contact", "#import-button", "#export-button", "#allowed-numbers-button", "#phone-sharing-button"],
    ),
    ("/shared-contacts", &["#export-button"]),
    ("/account", &[]),
];

/// Gives the directory something of every kind: a shared and a personal contact, a
/// favorite, coworkers busy, available to chat and offline; and the owner a contact group
/// (as an address-book app stores it) of that personal contact and one not in the book.
async fn fill_directory(portal: &Portal, owner: &str) {
    portal.create_shared(json!({ "first_name": "Ann", "last_name": "Lee", "company": "Lee & Partners", "work_phone": "+1 206 555 0100" })).await;
    let ext = owner.split('@').next().unwrap_or(owner);
    let own = portal
        .api(owner)
        .await
        .post(
            &format!("/api/v1/domains/{DOMAIN}/users/{ext}/contacts"),
            json!({ "first_name": "Mia", "last_name": "Own", "mobile_phone": "+1 425 555 0199" }),
        )
        .await;
    assert_eq!(own.status, StatusCode::CREATED, "{:?}", own.body);
    let members = json!([format!("urn:uuid:{}", own.body["id"].as_str().unwrap()), "urn:uuid:elsewhere-1"]);
    let group = portal
        .api(owner)
        .await
        .post(
            &format!("/api/v1/domains/{DOMAIN}/users/{ext}/contacts"),
            json!({ "first_name": "Book Club", "kind": "group", "members": members }),
        )
        .await;
    assert_eq!(group.status, StatusCode::CREATED, "{:?}", group.body);
    set_presence(portal, "201", "busy", false, "In a meeting").await;
    set_presence(portal, "202", "available", true, "").await;
}

/// Runs axe-core on each page of `pages` and on each modal its buttons open, with the
/// dock open on the Contacts page, at the desktop's size and at a phone's.
async fn check_pages(page: &Page, pages: &[(&str, &[&str])]) {
    for size in [browser_support::DESKTOP, browser_support::PHONE] {
        page.resize(size).await;
        let at = if size == browser_support::PHONE { "-360px" } else { "" };
        for (path, modals) in pages {
            page.visit(path, &format!("axe{}{at}", path.replace('/', "-"))).await;
            page.wait_for("main h1").await;
            page.assert_accessible(&format!("{path}{at}")).await;
            for button in *modals {
                page.click(button).await;
                page.wait_for("#modal-root dialog[open]").await;
                page.screenshot(&format!("axe{}{}{at}", path.replace('/', "-"), button.replace('#', "-"))).await;
                page.assert_accessible(&format!("{path}{at}, modal of {button}")).await;
                page.js("document.querySelector('#modal-root dialog[open]').close()", vec![]).await;
                page.wait_gone("#modal-root dialog").await;
            }
        }
        // The Contacts page with the dock open (a second search landmark), and on a
        // phone with the menu open.
        page.visit("/contacts", &format!("axe-dock{at}")).await;
        page.click("#dock-toggle").await;
        page.wait_for("#dock-rows tr[data-entry]").await;
        page.screenshot(&format!("axe-dock-open{at}")).await;
        page.assert_accessible(&format!("/contacts with the dock open{at}")).await;
        page.click("#dock-toggle").await;
        if size == browser_support::PHONE {
            page.click("#menu-toggle").await;
            page.wait_for("#topbar.menu-open nav.mainnav a").await;
            page.screenshot("axe-menu-open-360px").await;
            page.assert_accessible("/contacts with the menu open at 360px").await;
        }
    }
    page.resize(browser_support::DESKTOP).await;
}

async fn every_page_and_modal_passes_axe(portal: &Portal) {
    fill_directory(portal, MANAGER).await;
    let login = portal.window("anonymous").await;
    login.visit("/login", "axe-login").await;
    login.assert_accessible("/login").await;
    // The check finds what it looks for: an image without a text, a field without a label.
    login
        .js(
            "document.body.insertAdjacentHTML('beforeend', '<img src=\"/assets/favicon.svg\"><input id=\"bare\">')",
            vec![],
        )
        .await;
    let found = login.accessibility_violations("/login with broken markup").await.join("\n");
    assert!(found.contains("image-alt") && found.contains("label"), "axe-core misses them: {found}");
    login.close().await;

    let manager = portal.logged_in(MANAGER).await;
    check_pages(&manager, MANAGER_PAGES).await;
    // One's own contact groups, listed as groups below the directory (checked by axe above).
    manager.visit("/contacts", "axe-contact-groups").await;
    manager.wait_for_text("#contact-groups li", "Mia Own, and 1 other not in My contacts").await;
    manager.js("document.querySelector('#contact-groups').scrollIntoView()", vec![]).await;
    manager.screenshot("contact-groups").await;
    // An empty list says why it is empty.
    manager.visit("/contacts?group=favorites", "axe-no-favorites").await;
    manager.assert_accessible("/contacts with no favorites").await;
    manager.assert_no_console_errors(&[]).await;
    manager.close().await;

    let basic = portal.logged_in(BASIC).await;
    check_pages(&basic, BASIC_PAGES).await;
    basic.assert_no_console_errors(&[]).await;
    basic.close().await;
}

/// The Contacts page as people use it every day, with the keyboard: the focus stays on
/// a row that starring or deleting renders again; the sorts, the count, the empty
/// messages and the legend; on a phone, the header is one line with a menu and each
/// card's fields are labelled.
async fn contacts_by_keyboard(portal: &Portal) {
    fill_directory(portal, BASIC).await;
    let page = portal.logged_in(BASIC).await;
    page.wait_for(DIRECTORY_ROW).await;
    page.wait_for_text("#directory-count", "5 entries").await;
    page.wait_for_text(".legend", "Available to chat").await;
    assert_eq!(page.texts("#add-contact").await, ["Add Personal Contact"]);
    page.click("#add-contact").await;
    page.wait_for_text("dialog#contact-dialog[open] h2", "Add Personal Contact").await;
    page.js("document.querySelector('#modal-root dialog[open]').close()", vec![]).await;
    page.wait_gone("#modal-root dialog").await;
    row(&page, DIRECTORY_ROW, "Zoe Tester").await;
    // Read in one go: a live update may render the list again at any time.
    let zoe = "return Array.from(document.querySelectorAll(arguments[0])).find((r) => r.textContent.includes('Zoe Tester')).innerText";
    let zoe = page.js(zoe, vec![json!(DIRECTORY_ROW)]).await.as_str().unwrap_or_default().to_string();
    assert_eq!(zoe.matches("201").count(), 1, "the extension is shown once: {zoe:?}");

    // Star with the keyboard: the re-rendered star keeps the focus.
    let star = format!("{DIRECTORY_ROW}[data-kind=shared] button.star");
    page.wait_until_quiet().await;
    page.press_enter_on(&star).await;
    assert!(
        page.poll(async || page.count(&format!("{star}[aria-pressed=true]")).await == 1).await,
        "the star shows it is a favorite"
    );
    let focused_star = "return document.activeElement.matches('tr[data-kind=shared] button.star[aria-pressed=true]')";
    if !page.poll(async || page.js(focused_star, vec![]).await == json!(true)).await {
        let focused = page.js("return document.activeElement.outerHTML.slice(0, 200)", vec![]).await;
        page.fail(&format!("the focus left the star for {focused}")).await;
    }
    page.screenshot("starred-by-keyboard").await;

    // Delete with the keyboard: the focus goes to a neighbour's control, not the page.
    let delete = format!("{DIRECTORY_ROW}[data-kind=personal] button.delete");
    assert_eq!(
        page.js(
            &format!("return document.querySelector({delete:?}).querySelector('use').getAttribute('href')"),
            vec![]
        )
        .await,
        json!("/assets/icons.svg#trash")
    );
    page.wait_until_quiet().await;
    page.press_enter_on(&delete).await;
    page.wait_for_no_text(DIRECTORY_ROW, "Mia Own").await;
    let in_a_row = "const e = document.activeElement; return !!(e && e.closest('#directory-rows tr[data-entry]'))";
    if !page.poll(async || page.js(in_a_row, vec![]).await == json!(true)).await {
        let focused = page.js("return document.activeElement.outerHTML.slice(0, 200)", vec![]).await;
        page.fail(&format!("the focus left the list for {focused}")).await;
    }
    page.wait_for_text("#directory-count", "4 entries").await;
    page.screenshot("deleted-by-keyboard").await;

    // Sorts: Z–A, favorites first, recently changed.
    let names = async || -> Vec<String> {
        page.texts(&format!("{DIRECTORY_ROW} .name")).await.into_iter().map(|n| n.trim().to_string()).collect()
    };
    let sort = async |value: &str| {
        page.wait_for("select#directory-sort").await.select_by_value(value).await.unwrap();
    };
    sort("-name").await;
    assert!(
        page.poll(async || names().await == ["Zoe Tester", "Raj Tester", "Olivia Tester", "Ann Lee"]).await,
        "Z–A: {:?}",
        names().await
    );
    sort("favorites").await;
    assert!(
        page.poll(async || names().await == ["Ann Lee", "Olivia Tester", "Raj Tester", "Zoe Tester"]).await,
        "favorites first: {:?}",
        names().await
    );
    portal.create_shared(json!({ "company": "Newest Supply" })).await;
    sort("-updated").await;
    assert!(
        page.poll(async || names().await.first().map(String::as_str) == Some("Newest Supply")).await,
        "recently changed first: {:?}",
        names().await
    );
    page.screenshot("sorted").await;

    // Two different empty lists, two different messages.
    page.fill("#directory-search", "nobody-has-this-name").await;
    page.wait_for_text("#directory-rows .empty", "matches “nobody-has-this-name”").await;
    page.wait_for_text("#directory-count", "No entries").await;
    page.fill("#directory-search", "").await;
    let api = portal.api(BASIC).await;
    let ann = api.get(&format!("/api/v1/domains/{DOMAIN}/users/200/directory?group=favorites")).await;
    let ann_id = ann.body["items"][0]["id"].as_str().expect("the starred entry").to_string();
    let unstar = api.delete(&format!("/api/v1/domains/{DOMAIN}/users/200/favorites/{ann_id}")).await;
    assert!(unstar.status.is_success(), "{:?}", unstar.body);
    page.wait_for("select#group").await.select_by_value("favorites").await.unwrap();
    page.wait_for_text("#directory-rows .empty", "No favorites yet").await;
    page.wait_for_text("#directory-rows .empty", "Star people").await;
    page.screenshot("no-favorites").await;

    // A phone: one line of header, a menu, labelled fields on each card.
    page.resize(browser_support::PHONE).await;
    page.visit("/contacts", "phone-contacts").await;
    let header = page
        .js("return document.getElementById('topbar').getBoundingClientRect().height / window.innerHeight", vec![])
        .await;
    assert!(header.as_f64().unwrap() < 0.1, "the header takes {header} of the screen");
    let nav_shown = "return document.querySelector('nav.mainnav a').getClientRects().length > 0";
    assert_eq!(page.js(nav_shown, vec![]).await, json!(false), "the navigation is folded");
    page.click("#menu-toggle").await;
    page.wait_for("#topbar.menu-open nav.mainnav a").await;
    assert_eq!(page.js(nav_shown, vec![]).await, json!(true), "the menu opens");
    page.screenshot("phone-menu").await;
    page.click("#menu-toggle").await;
    let label =
        "return getComputedStyle(document.querySelector('#directory-rows td[data-label=Numbers]'), '::before').content";
    assert_eq!(page.js(label, vec![]).await, json!("\"Numbers\""), "a card's field says what it is");
    page.resize(browser_support::DESKTOP).await;
    page.assert_no_console_errors(&[]).await;
}
