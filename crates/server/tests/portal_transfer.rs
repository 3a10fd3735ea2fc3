//! The portal's Import and Export modals over real HTTP, logged in through the login
//! form like a browser, on SQLite and on PostgreSQL.

mod support;

use reqwest::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use reqwest::{Method, RequestBuilder, StatusCode};
use support::{Backend, Browser, Person, Server, attribute_after, unescape};
use switchboard_server::ServerConfig;

const SHARED_API: &str = "/api/v1/domains/acme.example/shared-contacts";
/// The line between the streamed progress and the report.
const MARKER: &str = "\nreport\n";

support::on_both_backends!(
    a_preview_shows_the_rejected_row_and_writes_nothing,
    an_import_commits_and_reports_its_counts,
    the_answer_streams_progress_before_the_report,
    an_import_without_the_csrf_header_is_refused,
    a_file_over_the_limit_is_refused_with_its_size,
    a_basic_user_may_not_import_shared_contacts,
    files_that_are_no_contacts_are_explained,
    the_export_modal_lists_the_groups,
    the_export_form_downloads_a_named_file,
);

/// Starts a server with `acme.example` and two users: 200 (office-manager, Sales, Seattle)
/// and 201 (basic-user, Support, Boston).
async fn spawn(backend: Backend, config: ServerConfig) -> Server {
    let people = [
        Person { ext: "200", scope: "office-manager", first_name: "User200", department: "Sales", site: "Seattle" },
        Person { ext: "201", scope: "basic-user", first_name: "User201", department: "Support", site: "Boston" },
    ];
    support::spawn(backend, &people, config).await
}

impl Browser<'_> {
    /// What the page script sends: the file as the body, the choices in the query.
    fn upload(&self, path: &str, query: &str, file: impl Into<reqwest::Body>) -> RequestBuilder {
        self.request(Method::POST, &format!("{path}?{query}"))
            .header("X-CSRF-Token", &self.csrf)
            .header(CONTENT_TYPE, "text/csv")
            .body(file)
    }

    /// Uploads and answers the report that ends the streamed body.
    async fn import(&self, path: &str, query: &str, file: impl Into<reqwest::Body>) -> String {
        let response = self.upload(path, query, file).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body = response.text().await.unwrap();
        let (progress, report) = body.split_once(MARKER).unwrap_or_else(|| panic!("no report marker in {body}"));
        assert!(progress.lines().all(|line| line.starts_with("progress ")), "only progress before the report: {body}");
        report.to_string()
    }
}

/// The report's table row for a file row, as `(action, field, reason)`.
fn table_row(report: &str, row: usize) -> (String, String, String) {
    let start = report.find(&format!(r#"<tr data-row="{row}""#)).unwrap_or_else(|| panic!("no row {row} in {report}"));
    let tr = &report[start..start + report[start..].find("</tr>").unwrap()];
    let cell = |class: &str| {
        let open = tr.find(&format!(r#"class="{class}"#)).unwrap_or_else(|| panic!("no {class} in {tr}"));
        let text = &tr[open..];
        let text = &text[text.find('>').unwrap() + 1..];
        unescape(&text[..text.find("</td>").unwrap()])
    };
    (attribute_after(tr, r#"data-action=""#), cell("row-field"), cell("row-reason"))
}

/// A total of the report (`created`, `rejected`…).
fn total(report: &str, key: &str) -> usize {
    let badge = report[report.find(&format!(r#"data-total="{key}"><strong>"#)).unwrap()..].to_string();
    let number = badge.split("<strong>").nth(1).and_then(|rest| rest.split("</strong>").next()).unwrap();
    number.parse().unwrap_or_else(|_| panic!("total {key}: {number}"))
}

const OUTLOOK_HEADER: &str = "First Name,Last Name,Company,Business Phone,E-mail Address\r\n";

/// Three rows; row 3 (the second contact) has an email that is none.
/// Row 3 has nothing to keep (no name or number, an email that is none): rejected.
/// Row 5 is kept without its email, with a warning.
fn csv_with_a_bad_row() -> String {
    format!(
        "{OUTLOOK_HEADER}Ann,Lee,Lee & Partners,+1 206 555 0100,ann@lee.example\r\n\
         ,,,,bob-at-nowhere\r\n\
         Cleo,Park,,+1 206 555 0102,cleo@park.example\r\n\
         Dan,Moss,,+1 206 555 0103,dan-at-nowhere\r\n"
    )
}

async fn a_preview_shows_the_rejected_row_and_writes_nothing(backend: Backend) {
    let server = spawn(backend, ServerConfig::default()).await;
    let browser = server.log_in("200").await;
    let modal =
        browser.request(Method::GET, "/shared-contacts/import").header("HX-Request", "true").send().await.unwrap();
    assert_eq!(modal.status(), StatusCode::OK);
    let modal = modal.text().await.unwrap();
    for id in [
        "import-dialog",
        "import-file",
        "import-format",
        "import-mode",
        "import-strict",
        "import-preview",
        "import-commit",
    ] {
        assert!(modal.contains(&format!(r#"id="{id}""#)), "{id} in the modal");
    }

    let report = browser.import("/shared-contacts/import", "dry_run=true&mode=upsert", csv_with_a_bad_row()).await;
    assert!(report.contains(r#"data-outcome="preview""#), "{report}");
    assert!(report.contains(r#"data-ready="true""#), "the rest may be imported: {report}");
    assert!(report.contains("Outlook CSV"), "the detected format: {report}");
    assert_eq!(
        (total(&report, "created"), total(&report, "rejected"), total(&report, "warned")),
        (3, 1, 1),
        "{report}"
    );
    let (action, field, reason) = table_row(&report, 3);
    assert_eq!(action, "reject");
    assert_eq!(field, "Email");
    assert!(reason.contains("bob-at-nowhere"), "the reason names the value: {reason}");
    let (action, field, reason) = table_row(&report, 5);
    assert_eq!((action.as_str(), field.as_str()), ("warned", "Email"));
    assert!(reason.contains("dan-at-nowhere") && reason.contains("left out"), "{reason}");
    // Rejected rows come first.
    assert!(report.find(r#"data-row="3""#) < report.find(r#"data-row="2""#), "{report}");
    assert_eq!(table_row(&report, 2).0, "create");

    let token = server.token("200").await;
    assert_eq!(server.count(&token, SHARED_API).await, 0, "a preview writes nothing");
}

async fn an_import_commits_and_reports_its_counts(backend: Backend) {
    let server = spawn(backend, ServerConfig::default()).await;
    let browser = server.log_in("200").await;
    let token = server.token("200").await;

    let report = browser.import("/shared-contacts/import", "dry_run=false&mode=upsert", csv_with_a_bad_row()).await;
    assert!(report.contains(r#"data-outcome="imported""#) && report.contains(r#"data-committed="true""#), "{report}");
    assert!(report.contains(r#"data-toast="Import finished: 3 new, 1 rejected, 1 kept without a field.""#), "{report}");
    assert_eq!((total(&report, "created"), total(&report, "updated"), total(&report, "rejected")), (3, 0, 1));
    assert_eq!(table_row(&report, 3).0, "reject", "the report lists the rejected row");
    assert_eq!(table_row(&report, 5).0, "warned", "and the row kept without a field");
    assert!(!report.contains(r#"data-row="2""#), "the report lists only rejected and warned rows");
    assert_eq!(server.count(&token, SHARED_API).await, 3);

    // The same file again changes nothing; strict with its bad row writes nothing.
    let again = browser.import("/shared-contacts/import", "dry_run=false", csv_with_a_bad_row()).await;
    assert_eq!((total(&again, "created"), total(&again, "unchanged")), (0, 3), "{again}");
    let changed = csv_with_a_bad_row().replace("Cleo,Park,,", "Cleo,Park,Park Inc,").replace("Ann,", "Anne,");
    let strict = browser.import("/shared-contacts/import", "dry_run=false&strict=true", changed).await;
    assert!(strict.contains(r#"data-outcome="held-back""#) && !strict.contains("data-committed"), "{strict}");
    assert_eq!(server.count(&token, SHARED_API).await, 3);

    // Replace: what the file leaves out goes to the trash, and the totals say so.
    let only_ann = format!("{OUTLOOK_HEADER}Ann,Lee,Lee & Partners,+1 206 555 0100,ann@lee.example\r\n");
    let replace = browser.import("/shared-contacts/import", "dry_run=false&mode=replace", only_ann).await;
    assert_eq!((total(&replace, "unchanged"), total(&replace, "trashed")), (1, 2), "{replace}");
    assert_eq!(server.count(&token, SHARED_API).await, 1);

    // A user's own contacts, through their own modal.
    let mine = browser.import("/contacts/mine/import", "dry_run=false&format=outlook", csv_with_a_bad_row()).await;
    assert_eq!(total(&mine, "created"), 3, "{}", mine);
    assert_eq!(server.count(&token, "/api/v1/domains/acme.example/users/200/contacts").await, 3);
    assert_eq!(server.count(&token, SHARED_API).await, 1);
}

async fn the_answer_streams_progress_before_the_report(backend: Backend) {
    let server = spawn(backend, ServerConfig::default()).await;
    let browser = server.log_in("200").await;
    let mut file = OUTLOOK_HEADER.to_string();
    for n in 0..4000 {
        file.push_str(&format!("Person{n},Family{n},Firm {n},+1 206 555 {:04},p{n}@firm.example\r\n", n % 10_000));
    }
    let size = file.len();
    let response = browser.upload("/shared-contacts/import", "dry_run=false", file).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()[CONTENT_TYPE].to_str().unwrap().starts_with("text/plain"));
    let body = response.text().await.unwrap();
    let (progress, report) = body.split_once(MARKER).expect("the marker");
    let read: Vec<(usize, usize)> = progress
        .lines()
        .map(|line| {
            let mut parts =
                line.strip_prefix("progress ").unwrap_or_else(|| panic!("a progress line: {line}")).split(' ');
            (parts.next().unwrap().parse().unwrap(), parts.next().unwrap().parse().unwrap())
        })
        .collect();
    assert!(read.len() >= 2, "a first line at once and a last one at the end: {read:?}");
    assert!(read.iter().all(|&(_, total)| total == size), "every line names the file's size: {read:?}");
    assert!(read.windows(2).all(|pair| pair[0].0 <= pair[1].0), "the bytes read only grow: {read:?}");
    assert!(read.first().unwrap().0 < size, "the first line comes while the file is read: {read:?}");
    assert_eq!(read.last().unwrap().0, size, "{read:?}");
    assert_eq!(total(report, "created"), 4000);
}

async fn an_import_without_the_csrf_header_is_refused(backend: Backend) {
    let server = spawn(backend, ServerConfig::default()).await;
    let browser = server.log_in("200").await;
    let import = "/shared-contacts/import?dry_run=false";
    let forged = browser.request(Method::POST, import).body(csv_with_a_bad_row()).send().await.unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert!(forged.text().await.unwrap().contains("security token"));
    let wrong = browser
        .request(Method::POST, import)
        .header("X-CSRF-Token", "not-the-token")
        .body(csv_with_a_bad_row())
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    let token = server.token("200").await;
    assert_eq!(server.count(&token, SHARED_API).await, 0);

    // Without a session, the page script is told to ask for the password again.
    let logged_out = server
        .anonymous(Method::POST, "/shared-contacts/import?dry_run=true")
        .header("HX-Request", "true")
        .header("X-CSRF-Token", &browser.csrf)
        .body(csv_with_a_bad_row())
        .send()
        .await
        .unwrap();
    assert_eq!(logged_out.status(), StatusCode::UNAUTHORIZED);
}

async fn a_file_over_the_limit_is_refused_with_its_size(backend: Backend) {
    // Bodies up to 2 MB pass the server's general limit, so the import's own limit answers.
    let config = ServerConfig { max_import_bytes: 1024 * 1024, max_body_bytes: 2 * 1024 * 1024, ..Default::default() };
    let server = spawn(backend, config).await;
    let browser = server.log_in("200").await;
    let modal = browser.get("/shared-contacts/import").await.text().await.unwrap();
    assert!(modal.contains(r#"data-max-bytes="1048576""#) && modal.contains(r#"data-max-size="1 MB""#), "{modal}");

    let mut file = OUTLOOK_HEADER.to_string();
    while file.len() <= 1024 * 1024 {
        file.push_str("Ann,Lee,Lee & Partners,+1 206 555 0100,ann@lee.example\r\n");
    }
    let refused = browser.upload("/shared-contacts/import", "dry_run=true", file).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(refused.headers()[CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
    let message = refused.text().await.unwrap();
    assert!(message.contains("This file is too large: an import may be at most 1 MB."), "{message}");

    // Over the general limit too, the server's body limit answers first; the page
    // script then tells the size from the modal's `data-max-size`.
    let huge = vec![b'x'; 3 * 1024 * 1024];
    let refused = browser.upload("/shared-contacts/import", "dry_run=true", huge).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

async fn a_basic_user_may_not_import_shared_contacts(backend: Backend) {
    let server = spawn(backend, ServerConfig::default()).await;
    let basic = server.log_in("201").await;
    let modal = basic.get("/shared-contacts/import").await;
    assert_eq!(modal.status(), StatusCode::FORBIDDEN);
    let upload = basic.upload("/shared-contacts/import", "dry_run=false", csv_with_a_bad_row()).send().await.unwrap();
    assert_eq!(upload.status(), StatusCode::FORBIDDEN);
    let token = server.token("200").await;
    assert_eq!(server.count(&token, SHARED_API).await, 0);

    // Their own contacts are theirs to import.
    assert_eq!(basic.get("/contacts/mine/import").await.status(), StatusCode::OK);
    let own = basic.import("/contacts/mine/import", "dry_run=false", csv_with_a_bad_row()).await;
    assert!(own.contains(r#"data-committed="true""#), "{}", own);
    let token = server.token("201").await;
    assert_eq!(server.count(&token, "/api/v1/domains/acme.example/users/201/contacts").await, 3);
}

async fn files_that_are_no_contacts_are_explained(backend: Backend) {
    let server = spawn(backend, ServerConfig::default()).await;
    let browser = server.log_in("200").await;
    let cases: [(&str, Vec<u8>, &str); 4] = [
        (
            "binary",
            b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0".to_vec(),
            "This file cannot be imported: this is not a text file",
        ),
        ("empty", Vec::new(), "This file cannot be imported: the file is empty."),
        (
            "unknown header",
            b"Colour,Size\r\nred,2\r\n".to_vec(),
            "This file cannot be imported: the CSV header was not recognised",
        ),
        ("header only", OUTLOOK_HEADER.as_bytes().to_vec(), "The file holds no contacts"),
    ];
    for (name, file, message) in cases {
        let answer = browser.import("/shared-contacts/import", "dry_run=true", file).await;
        assert!(unescape(&answer).contains(message), "{name}: {}", answer);
        assert!(!answer.contains("data-ready"), "{name}: nothing to import");
    }
    let bad_choice =
        browser.upload("/shared-contacts/import", "mode=merge", csv_with_a_bad_row()).send().await.unwrap();
    assert_eq!(bad_choice.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad_choice.text().await.unwrap().contains("is not a mode"));
}

async fn the_export_modal_lists_the_groups(backend: Backend) {
    let server = spawn(backend, ServerConfig::default()).await;
    let browser = server.log_in("200").await;
    let modal = browser.get("/contacts/export?group=department%3ASupport").await;
    assert_eq!(modal.status(), StatusCode::OK);
    let modal = unescape(&modal.text().await.unwrap());
    for option in ["all", "favorites", "shared", "mine", "coworkers", "department:Sales", "site:Boston", "site:Seattle"]
    {
        assert!(modal.contains(&format!(r#"<option value="{option}">"#)), "{option}: {modal}");
    }
    assert!(modal.contains(r#"<option value="department:Support" selected>"#), "the page's group is chosen: {modal}");
    for format in ["outlook", "google", "vcard", "vcard4"] {
        assert!(modal.contains(&format!(r#"<option value="{format}""#)), "{format}");
    }
    assert!(modal.contains(r#"action="/api/v1/domains/acme.example/users/200/directory/export""#), "{modal}");
    assert!(modal.contains("template"), "an empty export is explained");

    let shared = browser.get("/shared-contacts/export").await.text().await.unwrap();
    assert!(shared.contains("All shared contacts") && !shared.contains(r#"value="favorites""#), "{shared}");
    assert!(shared.contains(r#"action="/api/v1/domains/acme.example/shared-contacts/export""#), "{shared}");
}

async fn the_export_form_downloads_a_named_file(backend: Backend) {
    let server = spawn(backend, ServerConfig::default()).await;
    let browser = server.log_in("200").await;
    browser.import("/shared-contacts/import", "dry_run=false", csv_with_a_bad_row()).await;

    // What submitting the modal's GET form fetches, with the session cookie alone.
    let action = "/api/v1/domains/acme.example/users/200/directory/export?group=department%3ASupport&format=outlook";
    let file = browser.get(action).await;
    assert_eq!(file.status(), StatusCode::OK);
    assert_eq!(
        file.headers()[CONTENT_DISPOSITION],
        r#"attachment; filename="acme.example-200-department-Support.csv""#
    );
    let text = file.text().await.unwrap();
    assert!(text.contains("First Name") && text.contains("User201"), "{text}");

    let shared = browser.get("/api/v1/domains/acme.example/shared-contacts/export?format=vcard").await;
    assert_eq!(shared.headers()[CONTENT_DISPOSITION], r#"attachment; filename="acme.example-shared-contacts.vcf""#);
    let cards = shared.text().await.unwrap();
    assert_eq!(cards.matches("BEGIN:VCARD").count(), 3, "{cards}");
}
