//! Drives the portal in headless Chromium, like a person would: a `chromedriver`
//! per test, one or more browser windows ([`Page`]) on it, helpers that wait for what a
//! person would wait for, and a screenshot of every page visited, saved under
//! `target/screenshots/` for people to look at.
//!
//! Waits have generous limits: they only turn a page that never shows what it should
//! into a clear failure, they are not performance checks.

#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

/// The longest a page may take to show something before the test fails.
const PATIENCE: Duration = Duration::from_secs(15);
const POLL: Duration = Duration::from_millis(50);
const CHROMEDRIVER: &str = "chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
pub const DESKTOP: (u32, u32) = (1440, 900);
pub const PHONE: (u32, u32) = (360, 780);

/// A running `chromedriver`, with every browser it started; all are killed on drop.
pub struct Driver {
    url: String,
    child: Child,
}

impl Driver {
    /// Starts `chromedriver` on a free port. Fails (never skips) when it is not installed:
    /// `scripts/test` installs it.
    pub async fn start() -> Driver {
        let port = free_port();
        let child = spawn_in_own_group(
            Command::new(CHROMEDRIVER).arg(format!("--port={port}")).stdout(Stdio::null()).stderr(Stdio::null()),
        )
        .unwrap_or_else(|error| {
            panic!(
                "cannot start `{CHROMEDRIVER}` ({error}); the browser tests need Debian's chromium and \
                 chromium-driver packages: run scripts/test, or apt-get install chromium chromium-driver"
            )
        });
        let driver = Driver { url: format!("http://127.0.0.1:{port}"), child };
        driver.wait_until_ready().await;
        driver
    }

    async fn wait_until_ready(&self) {
        let started = Instant::now();
        let http = reqwest::Client::new();
        loop {
            let status = http.get(format!("{}/status", self.url)).send().await;
            if let Ok(response) = status
                && let Ok(body) = response.json::<Value>().await
                && body["value"]["ready"] == true
            {
                return;
            }
            assert!(started.elapsed() < PATIENCE, "chromedriver did not become ready at {}", self.url);
            tokio::time::sleep(POLL).await;
        }
    }

    /// Opens a new browser window (its own profile, cookies and downloads) for `test`.
    pub async fn open(&self, test: &str, base: &str) -> Page {
        let profile = tempfile::tempdir().expect("a profile directory");
        let downloads = tempfile::tempdir().expect("a download directory");
        let mut builder = ClientBuilder::new(HttpConnector::new());
        builder.capabilities(chrome_capabilities(profile.path(), downloads.path()));
        let client = builder.connect(&self.url).await.unwrap_or_else(|error| {
            panic!("chromedriver could not start {CHROMIUM}: {error}");
        });
        let page = Page {
            client,
            driver: self.url.clone(),
            base: base.trim_end_matches('/').to_string(),
            test: test.to_string(),
            shots: AtomicUsize::new(0),
            profile,
            downloads,
        };
        // The window's size includes its frame; the page itself gets exactly the desktop size.
        page.resize(DESKTOP).await;
        page.allow_downloads().await;
        page
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // Chromium and its helpers belong to chromedriver's process group: end them all,
        // even when a test failed before closing its windows.
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).stderr(Stdio::null()).status();
        let _ = self.child.wait();
    }
}

fn spawn_in_own_group(command: &mut Command) -> std::io::Result<Child> {
    use std::os::unix::process::CommandExt;
    command.process_group(0).spawn()
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("its address").port()
}

fn chrome_capabilities(profile: &Path, downloads: &Path) -> serde_json::Map<String, Value> {
    let window = format!("--window-size={},{}", DESKTOP.0, DESKTOP.1);
    let capabilities = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                window, format!("--user-data-dir={}", profile.display()),
                "--no-first-run", "--no-default-browser-check", "--lang=en-US",
            ],
            "prefs": {
                "download.default_directory": downloads.display().to_string(),
                "download.prompt_for_download": false,
            },
        },
        // Lets a test read the console (errors, CSP violations).
        "goog:loggingPrefs": { "browser": "ALL" },
        "unhandledPromptBehavior": "ignore",
    });
    match capabilities {
        Value::Object(map) => map,
        _ => unreachable!("an object"),
    }
}

/// axe-core, vendored beside this file with its licence (`axe/README.md`).
const AXE: &str = include_str!("axe/axe.min.js");
const AXE_SHA256: &str = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c";

/// The axe-core script, once its checksum says it is the version the README names.
fn axe_source() -> &'static str {
    use sha2::{Digest, Sha256};
    let digest: String = Sha256::digest(AXE.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(digest, AXE_SHA256, "browser_support/axe/axe.min.js is not the axe-core its README names");
    AXE
}

/// Where screenshots go: `<target>/screenshots`, next to the test binary's own target.
pub fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| {
        // The test binary is `<target>/<profile>/deps/browser-…`.
        let exe = std::env::current_exe().expect("the test binary's path");
        exe.ancestors().nth(3).expect("the target directory").to_path_buf()
    });
    let dir = target.join("screenshots");
    std::fs::create_dir_all(&dir).expect("the screenshot directory");
    dir
}

/// Removes the screenshots an earlier run of `test` left, so the folder shows this run.
pub fn forget_screenshots(test: &str) {
    let prefix = format!("{test}-");
    for entry in std::fs::read_dir(screenshot_dir()).expect("the screenshot directory").flatten() {
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// One browser window on the portal.
pub struct Page {
    pub client: Client,
    driver: String,
    base: String,
    test: String,
    shots: AtomicUsize,
    profile: tempfile::TempDir,
    downloads: tempfile::TempDir,
}

impl Page {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Opens a page of the portal and takes its screenshot.
    pub async fn visit(&self, path: &str, step: &str) {
        self.client.goto(&self.url(path)).await.unwrap_or_else(|e| panic!("opening {path}: {e}"));
        self.wait_for("body").await;
        self.screenshot(step).await;
    }

    /// The path (and query) of the page shown.
    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("the current URL");
        match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_string(),
        }
    }

    /// Waits until the browser shows `path` (a redirect, a link followed).
    pub async fn wait_for_path(&self, path: &str) {
        let mut seen = String::new();
        let found = self
            .poll(async || {
                seen = self.path().await;
                seen == path
            })
            .await;
        if !found {
            self.fail(&format!("expected to be on {path}, still on {seen}")).await;
        }
    }

    /// Saves a PNG of what the window shows as `<test>-<nn>-<step>.png`.
    pub async fn screenshot(&self, step: &str) -> PathBuf {
        let number = self.shots.fetch_add(1, Ordering::Relaxed);
        let png = self.client.screenshot().await.expect("a screenshot");
        let path = screenshot_dir().join(format!("{}-{number:02}-{step}.png", self.test));
        std::fs::write(&path, png).expect("the screenshot is written");
        path
    }

    /// Takes a screenshot at a phone's width, then returns to the desktop size.
    pub async fn phone_screenshot(&self, step: &str) {
        self.resize(PHONE).await;
        let width = self.client.execute("return window.innerWidth", vec![]).await.expect("width");
        if width != json!(PHONE.0) {
            // Something is wider than the phone: name what sticks out.
            let script = "return Array.from(document.querySelectorAll('body *'))
                .filter((e) => e.getBoundingClientRect().right > arguments[0] + 1)
                .slice(0, 8).map((e) => e.tagName + '#' + e.id + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))";
            let wide = self.client.execute(script, vec![json!(PHONE.0)]).await.unwrap_or_default();
            panic!("the viewport is {width} wide, not a phone's {}: {wide}", PHONE.0);
        }
        self.screenshot(&format!("{step}-360px")).await;
        self.resize(DESKTOP).await;
    }

    /// Sets the viewport (not the window) to `width`×`height` CSS pixels.
    pub async fn resize(&self, (width, height): (u32, u32)) {
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600 }),
        )
        .await;
    }

    /// Sends a DevTools command through chromedriver.
    pub async fn cdp(&self, command: &str, params: Value) -> Value {
        self.session_post("goog/cdp/execute", json!({ "cmd": command, "params": params })).await
    }

    async fn allow_downloads(&self) {
        let path = self.downloads.path().display().to_string();
        self.cdp("Browser.setDownloadBehavior", json!({ "behavior": "allow", "downloadPath": path })).await;
    }

    async fn session_post(&self, endpoint: &str, body: Value) -> Value {
        let session = self.client.session_id().await.expect("session").expect("a session id");
        let url = format!("{}/session/{session}/{endpoint}", self.driver);
        let response = reqwest::Client::new().post(&url).json(&body).send().await.expect("chromedriver answers");
        let status = response.status();
        let answer: Value = response.json().await.expect("chromedriver's JSON");
        assert!(status.is_success(), "{endpoint} {body}: {answer}");
        answer["value"].clone()
    }

    /// The browser console's entries since the last call, as `LEVEL message` lines.
    pub async fn console(&self) -> Vec<String> {
        let entries = self.session_post("se/log", json!({ "type": "browser" })).await;
        entries
            .as_array()
            .map(|entries| {
                entries
                    .iter()
                    .map(|e| format!("{} {}", e["level"].as_str().unwrap_or("?"), e["message"].as_str().unwrap_or("")))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Fails if the console reported an error (a script error, a CSP violation, a 5xx…)
    /// since the last check. A 401 or 4xx a test provoked on purpose can be `allowed`.
    pub async fn assert_no_console_errors(&self, allowed: &[&str]) {
        let errors: Vec<String> = self
            .console()
            .await
            .into_iter()
            .filter(|line| line.starts_with("SEVERE"))
            // htmx logs a list request replaced by a newer one (`hx-sync="this:replace"`) as
            // an error pair; a request that really failed also logs its status or cause.
            .filter(|line| !line.contains("\"htmx:sendAbort,") && !line.contains("\"htmx:afterRequest,"))
            .filter(|line| !allowed.iter().any(|a| line.contains(a)))
            .collect();
        if !errors.is_empty() {
            self.fail(&format!("the console reported errors:\n{}", errors.join("\n"))).await;
        }
    }

    /// The files Chromium downloaded, once every download has finished.
    pub async fn downloads(&self, count: usize) -> Vec<PathBuf> {
        let mut files = Vec::new();
        let done = self
            .poll(async || {
                files = std::fs::read_dir(self.downloads.path())
                    .expect("the download directory")
                    .map(|entry| entry.expect("an entry").path())
                    .collect();
                let partial = files.iter().any(|f| f.extension().is_some_and(|e| e == "crdownload"));
                !partial && files.len() >= count
            })
            .await;
        assert!(done, "expected {count} finished download(s), found {files:?}");
        files.sort();
        files
    }

    /// Empties the download directory.
    pub fn clear_downloads(&self) {
        for entry in std::fs::read_dir(self.downloads.path()).expect("the download directory") {
            std::fs::remove_file(entry.expect("an entry").path()).expect("a download removed");
        }
    }

    /// The session cookie's value (the session's secret), if logged in.
    pub async fn session_secret(&self) -> Option<String> {
        let cookies = self.client.get_all_cookies().await.expect("cookies");
        cookies.iter().find(|c| c.name() == "sb_session").map(|c| c.value().to_string()).filter(|v| !v.is_empty())
    }

    /// Logs in through the login form and waits for the first page.
    pub async fn log_in(&self, username: &str, password: &str) {
        self.visit("/login", "login").await;
        self.fill("#username", username).await;
        self.fill("#password", password).await;
        self.click("form button[type=submit]").await;
        self.wait_for_path("/contacts").await;
        self.wait_for("nav.mainnav").await;
    }

    /// Waits for an element matching `css` and returns it.
    pub async fn wait_for(&self, css: &str) -> Element {
        match self.client.wait().at_most(PATIENCE).every(POLL).for_element(Locator::Css(css)).await {
            Ok(element) => element,
            Err(error) => self.fail(&format!("`{css}` never appeared ({error})")).await,
        }
    }

    /// Waits until no element matches `css` (or none is displayed).
    pub async fn wait_gone(&self, css: &str) {
        let gone = self
            .poll(async || match self.client.find_all(Locator::Css(css)).await {
                Ok(found) => {
                    for element in found {
                        if element.is_displayed().await.unwrap_or(false) {
                            return false;
                        }
                    }
                    true
                }
                Err(_) => false,
            })
            .await;
        if !gone {
            self.fail(&format!("`{css}` is still shown")).await;
        }
    }

    /// Waits until an element matching `css` shows `text` (among all matches).
    pub async fn wait_for_text(&self, css: &str, text: &str) -> Element {
        let mut last_seen = Vec::new();
        let mut hit = None;
        self.poll(async || {
            last_seen.clear();
            for element in self.client.find_all(Locator::Css(css)).await.unwrap_or_default() {
                let shown = element.text().await.unwrap_or_default();
                if shown.contains(text) {
                    hit = Some(element);
                    return true;
                }
                last_seen.push(shown);
            }
            false
        })
        .await;
        match hit {
            Some(element) => element,
            None => self.fail(&format!("no `{css}` shows {text:?}; they show {last_seen:?}")).await,
        }
    }

    /// Waits until no element matching `css` shows `text`.
    pub async fn wait_for_no_text(&self, css: &str, text: &str) {
        let gone = self
            .poll(async || {
                for element in self.client.find_all(Locator::Css(css)).await.unwrap_or_default() {
                    if element.text().await.unwrap_or_default().contains(text) {
                        return false;
                    }
                }
                true
            })
            .await;
        if !gone {
            self.fail(&format!("a `{css}` still shows {text:?}")).await;
        }
    }

    /// The texts of every element matching `css`, now.
    pub async fn texts(&self, css: &str) -> Vec<String> {
        let mut texts = Vec::new();
        for element in self.client.find_all(Locator::Css(css)).await.expect("find_all") {
            texts.push(element.text().await.unwrap_or_default());
        }
        texts
    }

    /// How many elements match `css`, now.
    pub async fn count(&self, css: &str) -> usize {
        self.client.find_all(Locator::Css(css)).await.expect("find_all").len()
    }

    pub async fn click(&self, css: &str) {
        let element = self.wait_for(css).await;
        self.click_element(&element, css).await;
    }

    /// Clicks, retrying while another element (a closing modal's backdrop, a toast) is over it.
    pub async fn click_element(&self, element: &Element, what: &str) {
        let started = Instant::now();
        loop {
            match element.click().await {
                Ok(()) => return,
                Err(error) if started.elapsed() < PATIENCE => {
                    let _ = error;
                    tokio::time::sleep(POLL).await;
                }
                Err(error) => self.fail(&format!("cannot click `{what}`: {error}")).await,
            }
        }
    }

    /// Replaces the content of a field with `text`, as typed: select all, delete, type,
    /// so the page sees the same input events as from a person (WebDriver's own "clear"
    /// fires none).
    pub async fn fill(&self, css: &str, text: &str) {
        let field = self.wait_for(css).await;
        let current = field.prop("value").await.ok().flatten().unwrap_or_default();
        if !current.is_empty() {
            let select_all_and_delete = format!("{}a{}{}", Key::Control, Key::Null, Key::Backspace);
            field.send_keys(&select_all_and_delete).await.unwrap_or_else(|e| panic!("clearing `{css}`: {e}"));
        }
        if !text.is_empty() {
            field.send_keys(text).await.unwrap_or_else(|e| panic!("typing into `{css}`: {e}"));
        }
    }

    /// The current value of a form field.
    pub async fn value(&self, css: &str) -> String {
        self.wait_for(css).await.prop("value").await.expect("value").unwrap_or_default()
    }

    /// Runs JavaScript in the page and returns what it returns.
    pub async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        match self.client.execute(script, args).await {
            Ok(value) => value,
            Err(error) => self.fail(&format!("script failed: {error}\n{script}")).await,
        }
    }

    /// Waits until no htmx request has been running for half a second (longer than the
    /// lists' delays before they read again), so what follows acts on a settled page.
    pub async fn wait_until_quiet(&self) {
        let mut quiet_since = Instant::now();
        let settled = self
            .poll(async || {
                if self.count(".htmx-request").await > 0 {
                    quiet_since = Instant::now();
                }
                quiet_since.elapsed() > Duration::from_millis(500)
            })
            .await;
        if !settled {
            self.fail("the page kept sending requests").await;
        }
    }

    /// Focuses the first element matching `css` and presses Enter on the keyboard, as a
    /// person who tabbed there would (the key goes to whatever has the focus then).
    pub async fn press_enter_on(&self, css: &str) {
        use fantoccini::actions::{InputSource, KeyAction, KeyActions};
        let focus = "const e = document.querySelector(arguments[0]); if (e) e.focus(); return !!e && document.activeElement === e";
        if !self.poll(async || self.js(focus, vec![json!(css)]).await == json!(true)).await {
            self.fail(&format!("nothing to focus at `{css}`")).await;
        }
        let enter = char::from(Key::Enter);
        let keys = KeyActions::new("keyboard".into())
            .then(KeyAction::Down { value: enter })
            .then(KeyAction::Up { value: enter });
        if let Err(error) = self.client.perform_actions(keys).await {
            self.fail(&format!("pressing Enter on `{css}`: {error}")).await;
        }
    }

    /// The id (or name) of the focused element.
    pub async fn focused(&self) -> String {
        let value =
            self.js("const e = document.activeElement; return e ? (e.name || e.id || e.tagName) : ''", vec![]).await;
        value.as_str().unwrap_or_default().to_string()
    }

    /// Whether a JavaScript alert (or confirm, prompt) is open.
    pub async fn alert_open(&self) -> bool {
        self.client.get_alert_text().await.is_ok()
    }

    /// Polls `check` until it holds or the patience runs out; tells which.
    pub async fn poll(&self, mut check: impl AsyncFnMut() -> bool) -> bool {
        let started = Instant::now();
        loop {
            if check().await {
                return true;
            }
            if started.elapsed() > PATIENCE {
                return false;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Fails the test with `message`, after a screenshot of the page as it is.
    pub async fn fail(&self, message: &str) -> ! {
        let path = self.path().await;
        let shot = self.screenshot("FAILED").await;
        let console = self.console().await.join("\n    ");
        let script = "return performance.getEntriesByType('resource').slice(-10).map(e => e.name)";
        let requests = self.client.execute(script, vec![]).await.unwrap_or_default();
        panic!(
            "{message}\n  page: {path}\n  screenshot: {}\n  last requests: {requests}\n  console:\n    {console}",
            shot.display()
        );
    }

    /// The tab this window's commands go to now.
    pub async fn tab(&self) -> fantoccini::wd::WindowHandle {
        self.client.window().await.expect("the current tab")
    }

    /// Opens `path` in a new tab of the same browser (its cookies, so the same session)
    /// and stays there; [`Page::switch_to`] goes back.
    pub async fn open_tab(&self, path: &str) -> fantoccini::wd::WindowHandle {
        let tab = self.client.new_window(true).await.expect("a new tab").handle;
        self.switch_to(&tab).await;
        self.visit(path, "new-tab").await;
        tab
    }

    /// Sends the following commands to `tab`, which comes to the front.
    pub async fn switch_to(&self, tab: &fantoccini::wd::WindowHandle) {
        self.client.switch_to_window(tab.clone()).await.expect("switching tabs");
    }

    /// The text of the first element matching `css` if it is shown (not hidden, not
    /// inside something hidden), else an empty string: one round trip, for fast polls.
    pub async fn shown_text(&self, css: &str) -> String {
        let script = "const e = document.querySelector(arguments[0]); \
            return e && !e.closest('[hidden]') && e.getClientRects().length ? e.textContent : ''";
        self.js(script, vec![json!(css)]).await.as_str().unwrap_or_default().to_string()
    }

    /// Runs axe-core on what the window shows now and fails on any serious or critical
    /// violation, naming each rule, why it matters and the elements that break it.
    /// `what` names the check in the failure and in its screenshot.
    pub async fn assert_accessible(&self, what: &str) {
        let violations = self.accessibility_violations(what).await;
        if !violations.is_empty() {
            let report = violations.join("\n");
            self.fail(&format!("axe-core finds serious or critical problems on {what}:\n{report}")).await
        }
    }

    /// axe-core's serious and critical violations on what the window shows now, one
    /// text each: the rule, its help and the elements.
    pub async fn accessibility_violations(&self, what: &str) -> Vec<String> {
        let loaded = self.js("return typeof window.axe === 'object'", vec![]).await;
        if loaded != json!(true) {
            self.js(&format!("{}\n;return true", axe_source()), vec![]).await;
        }
        let script = r#"const done = arguments[arguments.length - 1];
            axe.run(document, { resultTypes: ['violations'] })
              .then((result) => done({ passes: result.passes.length, violations: result.violations
                .filter((v) => v.impact === 'serious' || v.impact === 'critical')
                .map((v) => ({ rule: v.id, impact: v.impact, help: v.help, url: v.helpUrl,
                  nodes: v.nodes.map((n) => n.target.join(' ') + ': ' + (n.failureSummary || '').replace(/\s+/g, ' ')) })) }))
              .catch((error) => done({ error: String(error) }));"#;
        let found = match self.client.execute_async(script, vec![]).await {
            Ok(found) => found,
            Err(error) => self.fail(&format!("axe-core did not run on {what}: {error}")).await,
        };
        if let Some(error) = found["error"].as_str() {
            self.fail(&format!("axe-core failed on {what}: {error}")).await;
        }
        // A run that checked nothing would pass anything.
        assert!(found["passes"].as_u64().unwrap_or_default() > 10, "axe-core checked too little on {what}: {found}");
        let violations = found["violations"].as_array().cloned().unwrap_or_default();
        violations
            .iter()
            .map(|v| {
                let nodes: Vec<String> = v["nodes"]
                    .as_array()
                    .map(|nodes| nodes.iter().map(|n| format!("      {}", n.as_str().unwrap_or_default())).collect())
                    .unwrap_or_default();
                format!("  {} ({}): {} <{}>\n{}", v["rule"], v["impact"], v["help"], v["url"], nodes.join("\n"))
            })
            .collect()
    }

    /// Closes the window (the driver's drop would end it anyway).
    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}
