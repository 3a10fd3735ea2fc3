//! CardDAV with real clients, on SQLite and PostgreSQL: vdirsyncer syncs both books to a
//! folder and back (changes on either side, a conflict), khard reads the folder; the
//! requests iOS, macOS, DAVx5 and Thunderbird send (`dav_fixtures/`) are replayed and
//! their answers read by an XML parser; litmus runs its `basic` and `props` suites.
//!
//! vdirsyncer and khard come pinned from `scripts/dav-clients` (a virtualenv under the
//! target directory, made on first use); litmus is Debian's (`scripts/test` installs it).

mod support;

use std::collections::BTreeMap;
use std::path::PathBuf;

use reqwest::{Method, StatusCode};
use serde_json::Value;
use support::{Backend, DOMAIN, PASSWORD, Person, Server};
use switchboard_app::inputs::ContactPatch;
use switchboard_app::{BookRef, Caller, ContactInput, SettingsLayer};
use switchboard_server::ServerConfig;

const PEOPLE: [Person; 2] = [
    Person { ext: "200", scope: "office-manager", first_name: "Olivia", department: "Sales", site: "" },
    Person { ext: "201", scope: "basic-user", first_name: "Ben", department: "", site: "" },
];

const CONTACTS: &str = "/dav/books/acme.example/201/contacts/";

async fn spawn(backend: Backend) -> Server {
    support::spawn(backend, &PEOPLE, ServerConfig::default()).await
}

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

async fn shared(server: &Server, company: &str) -> uuid::Uuid {
    let input = ContactInput { company: company.into(), work_phone: "+1 206 555 0100".into(), ..Default::default() };
    let book = BookRef::Shared { domain: DOMAIN.into() };
    server.app.create_contact(&Caller::System, &book, input).await.unwrap().id
}

/// A folder synced by vdirsyncer and read by khard, with their configurations.
struct Folder {
    dir: tempfile::TempDir,
}

impl Folder {
    /// vdirsyncer finds the books from the server's root (`/.well-known/carddav`, the
    /// principal, the home), as a user who typed only the address would; one pair per
    /// book, named after it. A read-only book's server side is `read_only` and wins a
    /// conflict; in the others the folder's side wins.
    fn new(server: &Server, books: &[(&str, bool)]) -> Folder {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let (folders, status) = (root.join("books"), root.join("status"));
        let mut vdirsyncer = format!("[general]\nstatus_path = \"{}/\"\n", status.display());
        let mut khard = String::from("[addressbooks]\n");
        for (book, read_only) in books {
            std::fs::create_dir_all(folders.join(book)).unwrap();
            let (winner, read_only) = if *read_only { ("a", "read_only = true\n") } else { ("b", "") };
            vdirsyncer += &format!(
                r#"
[pair {book}]
a = "{book}_server"
b = "{book}_folder"
collections = ["{book}"]
conflict_resolution = "{winner} wins"

[storage {book}_server]
type = "carddav"
url = "{base}/"
username = "201@{DOMAIN}"
password = "{PASSWORD}"
{read_only}
[storage {book}_folder]
type = "filesystem"
path = "{folders}/"
fileext = ".vcf"
"#,
                base = server.base,
                folders = folders.display(),
            );
            khard += &format!("[[{book}]]\npath = {}/{book}/\n", folders.display());
        }
        std::fs::write(root.join("vdirsyncer.conf"), vdirsyncer).unwrap();
        khard += "\n[general]\ndefault_action = list\neditor = /bin/false\nmerge_editor = /bin/false\n\n\
                  [vcard]\nskip_unparsable = no\n";
        std::fs::write(root.join("khard.conf"), khard).unwrap();
        Folder { dir }
    }

    fn book(&self, book: &str) -> PathBuf {
        self.dir.path().join("books").join(book)
    }

    /// Runs a client from `scripts/dav-clients` with its configuration; its output
    /// (stdout, then stderr), failing the test when it fails.
    async fn run(&self, program: &str, args: &[&str]) -> String {
        let config = self.dir.path().join(format!("{program}.conf"));
        let output = tokio::process::Command::new(repository().join("scripts/dav-clients"))
            .arg(program)
            .arg(if program == "khard" { "-c" } else { "--config" })
            .arg(&config)
            .args(args)
            .env("HOME", self.dir.path())
            .env("XDG_CONFIG_HOME", self.dir.path())
            .stdin(std::process::Stdio::null())
            .output()
            .await
            .expect("scripts/dav-clients runs");
        let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        assert!(output.status.success(), "{program} {args:?} failed:\n{text}");
        text
    }

    /// A sync, which must pass without a warning. After a card goes up, the next sync
    /// brings the server's rendering of it down: a PUT answers without an ETag, which
    /// vdirsyncer takes as "read it again".
    async fn sync(&self) -> String {
        let output = self.run("vdirsyncer", &["sync"]).await;
        // vdirsyncer 0.21 says "Deleting an item with no etag" when it deletes with one
        // (its test is the wrong way round): the DELETE carries If-Match.
        let complaint = output
            .lines()
            .find(|l| l.contains("error:") || (l.contains("warning:") && !l.contains("Deleting an item with no etag")));
        assert!(complaint.is_none(), "vdirsyncer complained:\n{output}");
        output
    }

    /// The cards of a book in the folder: file name → text.
    fn cards(&self, book: &str) -> BTreeMap<String, String> {
        let mut cards = BTreeMap::new();
        for entry in std::fs::read_dir(self.book(book)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "vcf") {
                let name = path.file_name().unwrap().to_string_lossy().to_string();
                cards.insert(name, std::fs::read_to_string(&path).unwrap());
            }
        }
        cards
    }
}

/// What differs between two snapshots of a folder: the cards added, changed and removed.
fn differences(before: &BTreeMap<String, String>, after: &BTreeMap<String, String>) -> [Vec<String>; 3] {
    let added = after.keys().filter(|k| !before.contains_key(*k)).cloned().collect();
    let changed = after.iter().filter(|(k, v)| before.get(*k).is_some_and(|old| old != *v)).map(|(k, _)| k.clone());
    let removed = before.keys().filter(|k| !after.contains_key(*k)).cloned().collect();
    [added, changed.collect(), removed]
}

fn card_with<'a>(cards: &'a BTreeMap<String, String>, text: &str) -> &'a str {
    let found = cards.values().find(|card| card.contains(text));
    found.unwrap_or_else(|| panic!("no card with {text} in {cards:#?}"))
}

/// A new contact as a user writes it into the folder: three numbers, an address, an
/// e-mail address and a photo (a 1×1 PNG).
fn folder_card(note: &str) -> String {
    format!(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:folder-astrid-1\r\nN:Lindqvist;Astrid;;;\r\nFN:Astrid Lindqvist\r\n\
         ORG:Nordic Freight\r\nTITLE:Buyer\r\nTEL;TYPE=WORK,VOICE:+46 8 123 456 78\r\nTEL;TYPE=CELL:+46 70 123 45 67\r\n\
         TEL;TYPE=HOME:+46 8 765 43 21\r\nEMAIL;TYPE=INTERNET:astrid@nordic.example\r\n\
         ADR;TYPE=WORK:;;Sveavägen 1;Stockholm;;111 57;Sweden\r\nNOTE:{note}\r\n\
         PHOTO;ENCODING=b;TYPE=PNG:iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==\r\n\
         END:VCARD\r\n"
    )
}

async fn vdirsyncer_and_khard_sync_both_books(backend: Backend) {
    let server = spawn(backend).await;
    let book = BookRef::Shared { domain: DOMAIN.into() };
    let acme = shared(&server, "Acme Supplies").await;
    let gone = shared(&server, "Gone Soon").await;
    let starred = shared(&server, "Starred Later").await;
    let mona = ContactInput { first_name: "Mona".into(), mobile_phone: "+1 206 555 0199".into(), ..Default::default() };
    let personal = BookRef::Personal { domain: DOMAIN.into(), extension: "201".into() };
    server.app.create_contact(&Caller::System, &personal, mona).await.unwrap();
    let folder = Folder::new(&server, &[("directory", true), ("contacts", false)]);

    // The first sync: Olivia (never Ben himself) and the three shared contacts; Mona.
    folder.run("vdirsyncer", &["discover"]).await;
    folder.sync().await;
    let directory = folder.cards("directory");
    assert_eq!(directory.len(), 4, "{directory:#?}");
    for name in ["FN:Olivia Tester", "Acme Supplies", "Gone Soon", "Starred Later"] {
        card_with(&directory, name);
    }
    let contacts = folder.cards("contacts");
    assert_eq!(contacts.len(), 1, "{contacts:#?}");
    card_with(&contacts, "FN:Mona");

    // Changes on the server: exactly those come down.
    shared(&server, "Added Later").await;
    let patch = ContactPatch { work_phone: Some("+1 206 555 0111".into()), ..Default::default() };
    server.app.update_contact(&Caller::System, &book, acme, None, patch).await.unwrap();
    server.app.delete_contact(&Caller::System, &book, gone).await.unwrap();
    let ben = server.token("201").await;
    let star = format!("/api/v1/domains/acme.example/users/201/favorites/{starred}");
    let (status, _) = server.call(Method::PUT, &ben, &star, None).await;
    assert!(status.is_success(), "{status}");
    folder.sync().await;
    let after = folder.cards("directory");
    let [added, changed, removed] = differences(&directory, &after);
    assert_eq!(added.len(), 1, "{added:?}");
    assert!(after[&added[0]].contains("Added Later"));
    assert_eq!(changed.len(), 2, "the changed and the starred: {changed:?}");
    assert!(card_with(&after, "Acme Supplies").contains("555 0111"));
    assert!(card_with(&after, "Starred Later").contains("starred"), "{after:#?}");
    assert_eq!(removed.len(), 1, "{removed:?}");
    assert!(directory[&removed[0]].contains("Gone Soon"));
    assert_eq!(folder.cards("contacts"), contacts, "nothing changed in Ben's own book");

    folder_changes_go_up(&server, &folder, &ben).await;
    a_group_made_in_the_folder_goes_up_and_back(&server, &folder, &ben).await;
    khard_reads_the_folder(&folder).await;
}

/// A card written into the folder reaches the server field for field; a conflict is won
/// by the folder (`conflict_resolution = "b wins"`); a card deleted there goes to the trash.
async fn folder_changes_go_up(server: &Server, folder: &Folder, ben: &str) {
    std::fs::write(folder.book("contacts").join("astrid.vcf"), folder_card("Met at the fair")).unwrap();
    folder.sync().await;
    // vdirsyncer names the resource after the UID.
    let path = format!("{CONTACTS}folder-astrid-1.vcf");
    let card = server.client.get(server.url(&path)).basic_auth(format!("201@{DOMAIN}"), Some(PASSWORD));
    let card = card.send().await.unwrap();
    assert_eq!(card.status(), StatusCode::OK);
    let card = card.text().await.unwrap();
    for field in [
        "UID:folder-astrid-1",
        "FN:Astrid Lindqvist",
        "N:Lindqvist;Astrid",
        "ORG:Nordic Freight",
        "TITLE:Buyer",
        "+46 8 123 456 78",
        "+46 70 123 45 67",
        "+46 8 765 43 21",
        "astrid@nordic.example",
        "Sveavägen 1;Stockholm;;111 57;Sweden",
        "NOTE:Met at the fair",
        "PHOTO",
    ] {
        assert!(card.contains(field), "{field} in\n{card}");
    }
    let own = "/api/v1/domains/acme.example/users/201/contacts";
    let (_, page) = server.call(Method::GET, ben, own, None).await;
    let astrid = rest_contact(&page, "Astrid");
    for (field, value) in [
        ("last_name", "Lindqvist"),
        ("company", "Nordic Freight"),
        ("title", "Buyer"),
        ("email", "astrid@nordic.example"),
        ("notes", "Met at the fair"),
    ] {
        assert_eq!(astrid[field], value, "{field} of {astrid}");
    }
    let numbers = [&astrid["work_phone"], &astrid["mobile_phone"], &astrid["home_phone"]];
    assert!(numbers.iter().all(|n| n.as_str().is_some_and(|n| !n.is_empty())), "three numbers: {astrid}");
    let photo = format!("{own}/{}/photo", astrid["id"].as_str().unwrap());
    let photo = server.client.get(server.url(&photo)).bearer_auth(ben).send().await.unwrap();
    assert_eq!(photo.status(), StatusCode::OK, "the photo came along");
    assert_eq!(photo.headers()["content-type"], "image/png");
    let output = folder.sync().await;
    assert!(output.contains("Copying (updating) item folder-astrid-1 to contacts_folder"), "{output}");
    let local = std::fs::read_to_string(folder.book("contacts").join("astrid.vcf")).unwrap();
    // The card came in a multiget's XML, where a parser reads CRLF as LF.
    assert_eq!(local, card.replace("\r\n", "\n"), "the folder holds the server's rendering");

    // The same card changed on both sides: the folder's wins, on both sides.
    let id = astrid["id"].as_str().unwrap();
    let patch = serde_json::json!({ "notes": "Changed on the server" });
    let (status, _) = server.call(Method::PATCH, ben, &format!("{own}/{id}"), Some(patch)).await;
    assert!(status.is_success(), "{status}");
    std::fs::write(folder.book("contacts").join("astrid.vcf"), folder_card("Changed in the folder")).unwrap();
    folder.sync().await;
    let (_, page) = server.call(Method::GET, ben, own, None).await;
    assert_eq!(rest_contact(&page, "Astrid")["notes"], "Changed in the folder");
    let local = std::fs::read_to_string(folder.book("contacts").join("astrid.vcf")).unwrap();
    assert!(local.contains("Changed in the folder"), "{local}");

    // Mona deleted in the folder: gone from the server, to the trash.
    let contacts = folder.cards("contacts");
    let mona = contacts.iter().find(|(_, card)| card.contains("FN:Mona")).unwrap().0;
    std::fs::remove_file(folder.book("contacts").join(mona)).unwrap();
    folder.sync().await;
    assert_eq!(server.count(ben, own).await, 1, "Astrid alone");
    assert_eq!(server.count(ben, "/api/v1/domains/acme.example/trash").await, 1);
}

/// A group written into the folder as macOS Contacts writes one (vCard 3.0, Apple's
/// properties) is a group on the server with its members in order, and the folder gets
/// back the server's rendering of it.
async fn a_group_made_in_the_folder_goes_up_and_back(server: &Server, folder: &Folder, ben: &str) {
    let members = ["urn:uuid:folder-astrid-1", "urn:uuid:not-synced-yet"];
    let group = format!(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:folder-group-1\r\nN:Freight team\r\nFN:Freight team\r\n\
         X-ADDRESSBOOKSERVER-KIND:group\r\nX-ADDRESSBOOKSERVER-MEMBER:{}\r\n\
         X-ADDRESSBOOKSERVER-MEMBER:{}\r\nEND:VCARD\r\n",
        members[0], members[1]
    );
    std::fs::write(folder.book("contacts").join("freight-team.vcf"), group).unwrap();
    folder.sync().await;
    let path = format!("{CONTACTS}folder-group-1.vcf");
    let card = server.client.get(server.url(&path)).basic_auth(format!("201@{DOMAIN}"), Some(PASSWORD));
    let card = card.send().await.unwrap().text().await.unwrap();
    let lines: Vec<&str> = card.split("\r\n").collect();
    let listed: Vec<&str> = lines.iter().filter_map(|l| l.strip_prefix("X-ADDRESSBOOKSERVER-MEMBER:")).collect();
    assert_eq!(listed, members, "members in order:\n{card}");
    assert!(lines.contains(&"X-ADDRESSBOOKSERVER-KIND:group") && lines.contains(&"FN:Freight team"), "{card}");
    let own = "/api/v1/domains/acme.example/users/201/contacts";
    let (_, page) = server.call(Method::GET, ben, own, None).await;
    let team = rest_contact(&page, "Freight team");
    assert_eq!((&team["kind"], &team["members"]), (&serde_json::json!("group"), &serde_json::json!(members)));

    let output = folder.sync().await;
    assert!(output.contains("Copying (updating) item folder-group-1 to contacts_folder"), "{output}");
    let local = std::fs::read_to_string(folder.book("contacts").join("freight-team.vcf")).unwrap();
    assert_eq!(local, card.replace("\r\n", "\n"), "the folder holds the server's rendering of the group");
}

/// With `CARDDAV_ONE_BOOK=yes` (for apps that sync one book an account), vdirsyncer syncs
/// the one book: the directory and Ben's own cards come down together, a card added in
/// the folder goes up into Ben's own contacts, one deleted there goes to the trash.
async fn one_book_syncs_both_halves(backend: Backend) {
    let server = spawn(backend).await;
    shared(&server, "Acme Supplies").await;
    let mona = ContactInput { first_name: "Mona".into(), mobile_phone: "+1 206 555 0199".into(), ..Default::default() };
    let personal = BookRef::Personal { domain: DOMAIN.into(), extension: "201".into() };
    server.app.create_contact(&Caller::System, &personal, mona).await.unwrap();
    let one_book = BTreeMap::from([("CARDDAV_ONE_BOOK".to_string(), Some("yes".to_string()))]);
    let layer = SettingsLayer::User(DOMAIN.into(), "201".into());
    server.app.put_settings(&Caller::System, &layer, one_book).await.unwrap();
    let folder = Folder::new(&server, &[("all", false)]);
    folder.run("vdirsyncer", &["discover"]).await;
    folder.sync().await;
    let first = folder.cards("all");
    assert_eq!(first.len(), 3, "{first:#?}");
    for name in ["FN:Olivia Tester", "Acme Supplies", "FN:Mona"] {
        card_with(&first, name);
    }

    std::fs::write(folder.book("all").join("astrid.vcf"), folder_card("Met at the fair")).unwrap();
    shared(&server, "Added Later").await;
    folder.sync().await;
    let ben = server.token("201").await;
    let own = "/api/v1/domains/acme.example/users/201/contacts";
    let (_, page) = server.call(Method::GET, &ben, own, None).await;
    assert_eq!(rest_contact(&page, "Astrid")["notes"], "Met at the fair", "it went up into Ben's own contacts");
    let after = folder.cards("all");
    assert_eq!(after.len(), 5, "{after:#?}");
    card_with(&after, "Added Later");

    let mona = after.iter().find(|(_, card)| card.contains("FN:Mona")).unwrap().0;
    std::fs::remove_file(folder.book("all").join(mona)).unwrap();
    folder.sync().await;
    assert_eq!(server.count(&ben, own).await, 1, "Astrid alone");
    assert_eq!(server.count(&ben, "/api/v1/domains/acme.example/trash").await, 1);
    assert_eq!(folder.cards("all").len(), 4);
}

fn rest_contact<'a>(page: &'a Value, first_name: &str) -> &'a Value {
    let items = page["items"].as_array().unwrap_or_else(|| panic!("a list: {page}"));
    let found = items.iter().find(|c| c["first_name"] == first_name);
    found.unwrap_or_else(|| panic!("no {first_name} in {page}"))
}

/// khard, pointed at the synced folder, lists and searches both books.
async fn khard_reads_the_folder(folder: &Folder) {
    let list = folder.run("khard", &["list"]).await;
    for name in ["Olivia Tester", "Acme Supplies", "Added Later", "Starred Later", "Astrid Lindqvist"] {
        assert!(list.contains(name), "{name} in\n{list}");
    }
    assert!(!list.contains("Gone Soon") && !list.contains("Mona"), "{list}");
    let found = folder.run("khard", &["list", "--parsable", "Lindqvist"]).await;
    assert_eq!(found.lines().count(), 1, "{found}");
    let phones = folder.run("khard", &["phone", "--parsable", "Astrid"]).await;
    for number in ["+46 8 123 456 78", "+46 70 123 45 67", "+46 8 765 43 21"] {
        assert!(phones.contains(number), "{number} in\n{phones}");
    }
    let emails = folder.run("khard", &["email", "--parsable", "Astrid"]).await;
    assert!(emails.contains("astrid@nordic.example"), "{emails}");
}

// --- Requests as iOS, macOS, DAVx5 and Thunderbird send them ----------------------------

const DAV: &str = "DAV:";

/// A fixture: its request (from the `request:` line of its comment) and what its answer
/// must hold (`expect` lines).
struct Fixture {
    name: String,
    method: String,
    path: String,
    depth: String,
    body: String,
    /// (status, href relative to the request's path, property names).
    expects: Vec<(u16, String, Vec<String>)>,
    responses: Option<usize>,
}

impl Fixture {
    fn read(path: &std::path::Path, values: &[(&str, String)]) -> Fixture {
        let mut body = std::fs::read_to_string(path).unwrap();
        for (name, value) in values {
            body = body.replace(name, value);
        }
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let comment = body.split("<!--").nth(1).and_then(|c| c.split("-->").next()).expect("a comment").to_string();
        let mut fixture = Fixture {
            name,
            method: String::new(),
            path: String::new(),
            depth: String::new(),
            body,
            expects: Vec::new(),
            responses: None,
        };
        for line in comment.lines().map(str::trim) {
            if let Some(request) = line.strip_prefix("request: ") {
                let parts: Vec<&str> = request.split_whitespace().collect();
                [fixture.method, fixture.path, fixture.depth] = [parts[0], parts[1], parts[2]].map(String::from);
            } else if let Some(count) = line.strip_prefix("expect responses: ") {
                fixture.responses = Some(count.parse().unwrap());
            } else if let Some(expect) = line.strip_prefix("expect ") {
                let (head, names) = expect.split_once(": ").unwrap();
                let (status, href) = head.split_once(' ').unwrap_or((head, ""));
                let names = names.split_whitespace().map(String::from).collect();
                fixture.expects.push((status.parse().unwrap(), href.to_string(), names));
            }
        }
        assert!(!fixture.method.is_empty(), "{}: no request line", fixture.name);
        fixture
    }

    /// The props a PROPFIND asks for (local names), to be answered once each.
    fn asked(&self) -> Vec<String> {
        let doc = roxmltree::Document::parse(&self.body).unwrap_or_else(|e| panic!("{}: {e}", self.name));
        let prop = doc.root_element().children().find(|n| n.has_tag_name((DAV, "prop")));
        prop.map(|p| p.children().filter(|n| n.is_element()).map(|n| n.tag_name().name().to_string()).collect())
            .unwrap_or_default()
    }
}

/// A multistatus read: href → (property → (status, value as text or child names)).
type Statuses = BTreeMap<String, BTreeMap<String, (u16, String)>>;

/// Reads a multistatus strictly: one href per response, a status or propstats, one prop
/// and one status per propstat, no property twice in a response.
fn read_multistatus(name: &str, body: &str) -> Statuses {
    let doc = roxmltree::Document::parse(body).unwrap_or_else(|e| panic!("{name}: not XML ({e}): {body}"));
    let root = doc.root_element();
    assert!(root.has_tag_name((DAV, "multistatus")), "{name}: {body}");
    let status_code = |node: roxmltree::Node| -> u16 {
        let text = node.text().unwrap_or_default();
        let code = text.split_whitespace().nth(1).and_then(|c| c.parse().ok());
        code.unwrap_or_else(|| panic!("{name}: a bad status line {text:?}"))
    };
    let mut out = Statuses::new();
    for response in root.children().filter(|n| n.is_element()) {
        if response.has_tag_name((DAV, "sync-token")) {
            continue;
        }
        assert!(response.has_tag_name((DAV, "response")), "{name}: {body}");
        let hrefs: Vec<_> = response.children().filter(|n| n.has_tag_name((DAV, "href"))).collect();
        assert_eq!(hrefs.len(), 1, "{name}: one href per response: {body}");
        let href = hrefs[0].text().unwrap_or_default().to_string();
        let mut props = BTreeMap::new();
        let status = response.children().find(|n| n.has_tag_name((DAV, "status")));
        let propstats: Vec<_> = response.children().filter(|n| n.has_tag_name((DAV, "propstat"))).collect();
        assert!(status.is_some() == propstats.is_empty(), "{name}: a status or propstats: {body}");
        if let Some(status) = status {
            props.insert(String::new(), (status_code(status), String::new()));
        }
        for propstat in propstats {
            let of = |tag| propstat.children().filter(move |n: &roxmltree::Node| n.has_tag_name((DAV, tag)));
            assert_eq!((of("prop").count(), of("status").count()), (1, 1), "{name}: {body}");
            let code = status_code(of("status").next().unwrap());
            for prop in of("prop").next().unwrap().children().filter(|n| n.is_element()) {
                let value = element_text(prop);
                let before = props.insert(prop.tag_name().name().to_string(), (code, value));
                assert!(before.is_none(), "{name}: {} twice in {href}", prop.tag_name().name());
            }
        }
        out.insert(href, props);
    }
    out
}

fn element_text(node: roxmltree::Node) -> String {
    let children: Vec<String> = node
        .descendants()
        .skip(1)
        .filter(|n| n.is_element())
        .map(|n| format!("{}={}", n.tag_name().name(), n.text().unwrap_or_default().trim()))
        .collect();
    if children.is_empty() { node.text().unwrap_or_default().trim().to_string() } else { children.join(",") }
}

async fn replay(server: &Server, fixture: &Fixture) -> (StatusCode, String, Option<String>) {
    let method = Method::from_bytes(fixture.method.as_bytes()).unwrap();
    let send = |path: String| {
        server
            .client
            .request(method.clone(), server.url(&path))
            .basic_auth(format!("201@{DOMAIN}"), Some(PASSWORD))
            .header("Depth", &fixture.depth)
            .header("Content-Type", "application/xml; charset=utf-8")
            .body(fixture.body.clone())
            .send()
    };
    let mut answer = send(fixture.path.clone()).await.unwrap();
    // iOS and DAVx5 send the request again where the well-known address leads.
    let mut path = fixture.path.clone();
    if answer.status() == StatusCode::MOVED_PERMANENTLY {
        path = answer.headers()["location"].to_str().unwrap().to_string();
        answer = send(path.clone()).await.unwrap();
    }
    let status = answer.status();
    let content_type = answer.headers().get("content-type").map(|v| v.to_str().unwrap().to_string());
    assert!(content_type.as_deref().is_some_and(|t| t.contains("xml")), "{}: {content_type:?}", fixture.name);
    (status, path, Some(answer.text().await.unwrap()))
}

async fn client_requests_are_answered_as_clients_need(backend: Backend) {
    let server = spawn(backend).await;
    let acme = shared(&server, "Acme Supplies").await;
    let mona = ContactInput { first_name: "Mona".into(), mobile_phone: "+1 206 555 0199".into(), ..Default::default() };
    let personal = BookRef::Personal { domain: DOMAIN.into(), extension: "201".into() };
    let mona = server.app.create_contact(&Caller::System, &personal, mona).await.unwrap().id;
    let mut values = vec![
        ("$DIRECTORY_CARD", format!("/dav/books/acme.example/201/directory/{acme}.vcf")),
        ("$OWN_CARD", format!("{CONTACTS}{mona}.vcf")),
    ];
    let dir = repository().join("crates/server/tests/dav_fixtures");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert!(files.len() >= 15, "{files:?}");
    for file in files {
        let fixture = Fixture::read(&file, &values);
        let (status, path, body) = replay(&server, &fixture).await;
        let body = body.unwrap();
        assert_eq!(status, StatusCode::MULTI_STATUS, "{}: {body}", fixture.name);
        let answer = read_multistatus(&fixture.name, &body);
        if let Some(count) = fixture.responses {
            assert_eq!(answer.len(), count, "{}: {answer:#?}", fixture.name);
        }
        check_expectations(&fixture, &path, &answer);
        if fixture.method == "PROPFIND" {
            let asked = fixture.asked();
            for (href, props) in &answer {
                for name in &asked {
                    assert!(props.contains_key(name), "{}: {name} unanswered for {href}: {props:?}", fixture.name);
                }
            }
        }
        let doc = roxmltree::Document::parse(&body).unwrap();
        if let Some(token) = doc.descendants().find(|n| n.has_tag_name((DAV, "sync-token"))) {
            let token = token.text().unwrap_or_default().to_string();
            values.retain(|(name, _)| *name != "$SYNC_TOKEN");
            values.push(("$SYNC_TOKEN", token));
        }
    }
}

fn check_expectations(fixture: &Fixture, path: &str, answer: &Statuses) {
    for (status, href, names) in &fixture.expects {
        let target = if href.starts_with('/') { href.clone() } else { format!("{path}{href}") };
        let props = answer.get(&target).unwrap_or_else(|| panic!("{}: no {target} in {answer:#?}", fixture.name));
        for name in names {
            let (got, value) = props.get(name).unwrap_or_else(|| panic!("{}: no {name} for {target}", fixture.name));
            assert_eq!(got, status, "{}: {name} of {target}: {value}", fixture.name);
            if *status == 200 {
                assert!(!value.is_empty(), "{}: {name} of {target} is empty", fixture.name);
            }
        }
    }
}

// --- litmus -------------------------------------------------------------------------------

/// litmus's results: (suite, test) → "pass", "FAIL", "SKIPPED" or "WARNING", and its output.
async fn litmus(server: &Server, suites: &str) -> (BTreeMap<(String, String), String>, String) {
    let url = server.url(CONTACTS);
    // litmus writes its debug.log and child.log where it runs.
    let logs = tempfile::tempdir().unwrap();
    let output = tokio::process::Command::new("litmus")
        .args(["--keep-going", &url, &format!("201@{DOMAIN}"), PASSWORD])
        .current_dir(logs.path())
        .env("TESTS", suites)
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .expect("litmus runs (scripts/test installs it)");
    let text = String::from_utf8_lossy(&output.stdout).to_string() + &String::from_utf8_lossy(&output.stderr);
    let mut results = BTreeMap::new();
    let mut suite = String::new();
    // A test's line is written twice, the second time after a carriage return.
    for line in text.lines().filter_map(|line| line.split('\r').next_back()) {
        if let Some(name) = line.strip_prefix("-> running `") {
            suite = name.trim_end_matches("':").to_string();
        } else if let Some((number, rest)) = line.trim_start().split_once(". ")
            && number.parse::<u32>().is_ok()
        {
            let (test, result) = rest.split_once('.').unwrap_or((rest, ""));
            let result = result.trim_start_matches('.').split_whitespace().next().unwrap_or_default();
            results.insert((suite.clone(), test.trim().to_string()), result.to_string());
        }
    }
    (results, text)
}

/// litmus's `basic` and `props` suites against Ben's own book. Both begin by making a
/// collection `litmus/` inside it (MKCOL) to work in, with plain files and dead
/// properties: an address book holds vCards only and no collections (RFC 6352 §5.2), and
/// this server keeps no dead properties, so the suites stop there, having checked the
/// login and OPTIONS (`init`). What the suites would go on to check that applies to a
/// book of cards is [`what_litmus_would_check_on_cards`].
async fn litmus_basic_and_props(backend: Backend) {
    let server = spawn(backend).await;
    let (results, text) = litmus(&server, "basic props").await;
    let expected = BTreeMap::from(
        [("basic", "init", "pass"), ("basic", "begin", "FAIL"), ("props", "init", "pass"), ("props", "begin", "FAIL")]
            .map(|(suite, test, result)| ((suite.to_string(), test.to_string()), result.to_string())),
    );
    assert_eq!(results, expected, "{text}");
    assert!(text.contains("MKCOL /dav/books/acme.example/201/contacts/litmus/"), "{text}");
    let mkcol = server
        .client
        .request(Method::from_bytes(b"MKCOL").unwrap(), server.url(&format!("{CONTACTS}litmus/")))
        .basic_auth(format!("201@{DOMAIN}"), Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(mkcol.status(), StatusCode::FORBIDDEN, "no collection inside an address book");
}

/// What litmus's `basic` and `props` would go on to check, where it applies to a book of
/// cards, sent as litmus sends it: OPTIONS, HEAD, PROPFIND on a card (allprop, propname,
/// a property in no namespace, a prefix bound to no namespace), PROPPATCH.
async fn what_litmus_would_check_on_cards(backend: Backend) {
    let server = spawn(backend).await;
    let personal = BookRef::Personal { domain: DOMAIN.into(), extension: "201".into() };
    let mona = ContactInput { first_name: "Mona".into(), mobile_phone: "+1 206 555 0199".into(), ..Default::default() };
    let mona = server.app.create_contact(&Caller::System, &personal, mona).await.unwrap().id;
    let card = format!("{CONTACTS}{mona}.vcf");
    let request = |method: &str, path: &str, depth: &str, body: &str| {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let request =
            server.client.request(method, server.url(path)).basic_auth(format!("201@{DOMAIN}"), Some(PASSWORD));
        request.header("Depth", depth).body(body.to_string()).send()
    };

    let options = request("OPTIONS", &card, "0", "").await.unwrap();
    assert_eq!(options.status(), StatusCode::OK);
    assert!(options.headers()["dav"].to_str().unwrap().starts_with("1"), "{:?}", options.headers());
    assert!(options.headers()["allow"].to_str().unwrap().contains("PROPPATCH"));
    let get = request("GET", &card, "0", "").await.unwrap();
    let (etag, body) = (get.headers()["etag"].clone(), get.text().await.unwrap());
    let head = request("HEAD", &card, "0", "").await.unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(head.headers()["etag"], etag);
    assert_eq!(head.headers()["content-length"].to_str().unwrap(), body.len().to_string());
    assert!(head.text().await.unwrap().is_empty());

    let allprop = request("PROPFIND", &card, "0", r#"<propfind xmlns="DAV:"><allprop/></propfind>"#).await.unwrap();
    let answer = read_multistatus("allprop", &allprop.text().await.unwrap());
    let props = &answer[&card];
    assert_eq!(props["getetag"], (200, etag.to_str().unwrap().to_string()));
    assert_eq!(props["resourcetype"], (200, String::new()), "a card is no collection");
    assert!(props["getcontenttype"].1.starts_with("text/vcard"));
    let names = request("PROPFIND", &card, "0", r#"<propfind xmlns="DAV:"><propname/></propfind>"#).await.unwrap();
    let answer = read_multistatus("propname", &names.text().await.unwrap());
    assert!(answer[&card].values().all(|(status, value)| *status == 200 && value.is_empty()), "{answer:?}");
    assert!(answer[&card].contains_key("getetag"));

    let null_ns = r#"<propfind xmlns="DAV:"><prop><nonamespace xmlns=""/><getetag/></prop></propfind>"#;
    let answer = request("PROPFIND", &card, "0", null_ns).await.unwrap();
    assert_eq!(answer.status(), StatusCode::MULTI_STATUS);
    let answer = read_multistatus("null namespace", &answer.text().await.unwrap());
    assert_eq!(answer[&card]["nonamespace"].0, 404);
    let bound_to_nothing = r#"<D:propfind xmlns:D="DAV:"><D:prop><bar:foo xmlns:bar=""/></D:prop></D:propfind>"#;
    let refused = request("PROPFIND", CONTACTS, "0", bound_to_nothing).await.unwrap();
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "a prefix cannot be bound to no namespace");

    let patch = r#"<D:propertyupdate xmlns:D="DAV:" xmlns:Z="http://example.com/ns"><D:set><D:prop><Z:colour>red</Z:colour></D:prop></D:set></D:propertyupdate>"#;
    let patched = request("PROPPATCH", &card, "0", patch).await.unwrap();
    assert_eq!(patched.status(), StatusCode::MULTI_STATUS);
    let answer = read_multistatus("proppatch", &patched.text().await.unwrap());
    assert_eq!(answer[&card]["colour"].0, 403);
    let missing = format!("{CONTACTS}{}.vcf", uuid::Uuid::now_v7());
    assert_eq!(request("PROPPATCH", &missing, "0", patch).await.unwrap().status(), StatusCode::NOT_FOUND);
    assert_eq!(request("PROPPATCH", &card, "0", "<oops").await.unwrap().status(), StatusCode::BAD_REQUEST);
}

support::on_both_backends!(
    vdirsyncer_and_khard_sync_both_books,
    one_book_syncs_both_halves,
    client_requests_are_answered_as_clients_need,
    litmus_basic_and_props,
    what_litmus_would_check_on_cards,
);
