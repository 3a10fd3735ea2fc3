//! Imports match rows against the book in batches: these files interleave rows matched by
//! UID, by exact duplicate and by names and number, new rows, rows listed twice and bad
//! rows, across several look-up batches, and check each row's fate — on SQLite and on
//! PostgreSQL. Groups (Apple's and vCard 4.0's) come in as groups and are updated by UID.

use std::io::Cursor;
use std::sync::Arc;

use serde_json::json;
use switchboard_app::{
    App, AppConfig, AuditParams, BookRef, Caller, ContactInput, DomainInput, ExportFormat, ImportOptions, ImportReport,
    ListParams, RowAction,
};
use switchboard_core::PhoneNumber;
use switchboard_core::details::{ContactKind, Phone, PhoneKind};
use switchboard_core::model::Contact;
use switchboard_formats::{ContactFields, ExportContact, Writer};
use switchboard_store::{PostgresStore, SqliteStore, Store};
use uuid::Uuid;

const HOME: &str = "home.example";
const FOREIGN: &str = "foreign.example";
/// Existing contacts the first file's rows are matched against, in a scrambled order.
const MATCHED: usize = 40;
/// More than two look-up batches of rows.
const ROWS: usize = 1300;

fn book(domain: &str) -> BookRef {
    BookRef::Shared { domain: domain.into() }
}

/// A US number in a valid range, distinct for each `n` below 10,000 within one `block`.
fn number(block: usize, n: usize) -> String {
    format!("+1 206 43{block} {n:04}")
}

fn person(first: &str, last: &str, work_phone: String) -> ContactInput {
    ContactInput { first_name: first.into(), last_name: last.into(), work_phone, ..Default::default() }
}

/// The contact as the file gives it, not validated: some rows test one without a name.
fn as_written(contact: &ContactInput) -> ContactFields {
    let numbers = [
        (PhoneKind::Work, &contact.work_phone),
        (PhoneKind::Mobile, &contact.mobile_phone),
        (PhoneKind::Home, &contact.home_phone),
    ];
    let phones = numbers
        .into_iter()
        .filter(|(_, typed)| !typed.is_empty())
        .map(|(kind, typed)| {
            let number = PhoneNumber { typed: typed.clone(), e164: None, extension: None };
            Phone { kind, label: String::new(), number }
        })
        .collect();
    ContactFields {
        first_name: contact.first_name.clone(),
        last_name: contact.last_name.clone(),
        title: contact.title.clone(),
        phones,
        ..ContactFields::default()
    }
}

fn vcards(rows: &[(String, ContactInput)]) -> Vec<u8> {
    let mut writer = Writer::new(Vec::new(), ExportFormat::VCard3).unwrap();
    for (uid, contact) in rows {
        let row = ExportContact {
            uid: uid.clone(),
            fields: as_written(contact),
            extension: None,
            starred: false,
            photo: None,
        };
        writer.write(&row).unwrap();
    }
    writer.finish().unwrap()
}

async fn app_with_domains(store: Arc<dyn Store>) -> App {
    let app = App::new(store, AppConfig::default());
    for name in [HOME, FOREIGN] {
        app.create_domain(&Caller::System, DomainInput { name: name.into(), ..Default::default() }).await.unwrap();
    }
    app
}

async fn create(app: &App, domain: &str, input: &ContactInput) -> Contact {
    app.create_contact(&Caller::System, &book(domain), input.clone()).await.unwrap()
}

async fn import(app: &App, file: Vec<u8>, dry_run: bool) -> ImportReport {
    let options = ImportOptions { dry_run, ..ImportOptions::default() };
    app.import(&Caller::System, &book(HOME), Box::new(Cursor::new(file)), options).await.unwrap()
}

/// A row of the file and what a dry run must say of it.
struct Expected {
    action: RowAction,
    contact_id: Option<Uuid>,
    reason: Option<String>,
}

impl Expected {
    fn of(action: RowAction, contact: Option<&Contact>) -> Expected {
        Expected { action, contact_id: contact.map(|c| c.id), reason: None }
    }
}

/// Each row of a dry run gets the action and contact its own keys call for, in file order.
async fn rows_match_their_own_contacts(store: Arc<dyn Store>) {
    let app = app_with_domains(store).await;
    let people: Vec<ContactInput> = (0..MATCHED).map(|k| person(&format!("P{k:02}"), "Match", number(0, k))).collect();
    let mut contacts = Vec::new();
    for input in &people {
        contacts.push(create(&app, HOME, input).await);
    }
    assert!(contacts[0].fields.work_phone().unwrap().e164.is_some(), "the numbers have an E.164 form");
    // Same names, different numbers: a row sharing the second one's number is the second's.
    let twin_a = create(&app, HOME, &person("Twin", "Pair", number(1, 1))).await;
    let twin_b = create(&app, HOME, &person("Twin", "Pair", number(1, 2))).await;
    // Another domain's contact, identical to one of ours: its id names nothing here.
    let foreign = create(&app, FOREIGN, &people[3]).await;

    let mut file = Vec::new();
    let mut expected = Vec::new();
    for r in 0..ROWS {
        let k = (r * 7) % MATCHED;
        let contact = &contacts[k];
        let exact = people[k].clone();
        let (uid, input, outcome) = match r % 10 {
            // The UID wins, even over a row identical to another contact.
            0 | 5 => {
                let other = people[(k + 1) % MATCHED].clone();
                (contact.id.to_string(), other, Expected::of(RowAction::Update, Some(contact)))
            }
            1 | 6 => (String::new(), exact, Expected::of(RowAction::Unchanged, Some(contact))),
            // Same names, its number as the mobile one and a new work number.
            2 | 7 => {
                let input =
                    ContactInput { mobile_phone: number(0, k), ..person(&exact.first_name, "Match", number(2, r)) };
                (String::new(), input, Expected::of(RowAction::Update, Some(contact)))
            }
            // A new contact; from the second batch on, each repeats one of the first batch.
            3 | 8 => {
                let first = r % 500;
                // Other names with the first twin's number: it is looked up with the twins' names.
                let home_phone = number(1, 1);
                let input = ContactInput { home_phone, ..person(&format!("New{first}"), "Row", number(3, first)) };
                let outcome = if r < 500 {
                    Expected::of(RowAction::Create, None)
                } else {
                    Expected {
                        reason: Some(format!("the same contact as row {}", first + 1)),
                        ..Expected::of(RowAction::Unchanged, None)
                    }
                };
                (String::new(), input, outcome)
            }
            4 if r % 20 == 4 => {
                let input = ContactInput { mobile_phone: number(1, 2), ..person("Twin", "Pair", number(2, r)) };
                (String::new(), input, Expected::of(RowAction::Update, Some(&twin_b)))
            }
            4 => (foreign.id.to_string(), exact, Expected::of(RowAction::Unchanged, Some(contact))),
            _ => (
                String::new(),
                ContactInput { title: "No name".into(), ..Default::default() },
                Expected::of(RowAction::Reject, None),
            ),
        };
        file.push((uid, input));
        expected.push(outcome);
    }
    let report = import(&app, vcards(&file), true).await;
    assert!(!report.committed);
    assert_eq!(report.rows, ROWS);
    assert_eq!(report.previews.len(), ROWS);
    for (r, (preview, want)) in report.previews.iter().zip(&expected).enumerate() {
        let row = r + 1;
        assert_eq!(preview.row, row, "previews in file order");
        assert_eq!(preview.action, want.action, "row {row}: {preview:?}");
        assert_eq!(preview.contact_id, want.contact_id, "row {row}: {preview:?}");
        if want.reason.is_some() {
            assert_eq!(preview.reason, want.reason, "row {row}");
        }
    }
    assert!(
        !report.previews.iter().any(|p| p.contact_id == Some(twin_a.id)),
        "the twin without the number never matches"
    );
    let count = |action| expected.iter().filter(|e| e.action == action).count();
    assert_eq!(
        (report.created, report.updated, report.unchanged, report.rejected),
        (count(RowAction::Create), count(RowAction::Update), count(RowAction::Unchanged), count(RowAction::Reject))
    );
}

async fn book_size(app: &App) -> usize {
    let params = ListParams { limit: Some("500".into()), ..ListParams::default() };
    app.list_contacts(&Caller::System, &book(HOME), &params).await.unwrap().items.len()
}

/// Ten contacts, then ten unchanged rows and a thousand updates (the apply batch fills up
/// half-way through a look-up batch), then rows equal to the contacts as updated: they must
/// see those updates, as rows looked up one by one would.
async fn rows_after_an_applied_batch_see_it(store: Arc<dyn Store>) {
    let app = app_with_domains(store).await;
    let people: Vec<ContactInput> = (0..10).map(|k| person(&format!("Chain{k}"), "Test", number(0, k))).collect();
    let mut contacts = Vec::new();
    for input in &people {
        contacts.push(create(&app, HOME, input).await);
    }
    let mut file: Vec<(String, ContactInput)> = people.iter().map(|p| (String::new(), p.clone())).collect();
    let mut latest = people.clone();
    for r in 0..1000 {
        let k = r % 10;
        let moved = person(&people[k].first_name, "Test", number(4, r));
        file.push((contacts[k].id.to_string(), moved.clone()));
        latest[k] = moved;
    }
    file.extend(latest.iter().map(|p| (String::new(), p.clone())));
    let report = import(&app, vcards(&file), false).await;
    assert!(report.committed, "{report:?}");
    assert_eq!((report.rows, report.created, report.updated, report.unchanged), (1020, 0, 1000, 20), "{report:?}");
    assert_eq!(book_size(&app).await, 10, "nothing created");
    for (contact, want) in contacts.iter().zip(&latest) {
        let now = app.get_contact(&Caller::System, &book(HOME), contact.id).await.unwrap();
        assert_eq!(now.fields.work_phone().unwrap().typed, want.work_phone);
    }
}

/// A group as macOS writes it (3.0) and as vCard 4.0 does, with `uid` and `members`.
fn group_cards(groups: &[(&str, &str, Vec<String>)]) -> Vec<u8> {
    let mut file = String::new();
    for (i, (uid, name, members)) in groups.iter().enumerate() {
        let (head, member) = match i % 2 {
            0 => ("VERSION:3.0\r\nX-ADDRESSBOOKSERVER-KIND:group", "X-ADDRESSBOOKSERVER-MEMBER"),
            _ => ("VERSION:4.0\r\nKIND:group", "MEMBER"),
        };
        let members: String = members.iter().map(|m| format!("{member}:{m}\r\n")).collect();
        file += &format!("BEGIN:VCARD\r\n{head}\r\nUID:{uid}\r\nFN:{name}\r\n{members}END:VCARD\r\n");
    }
    file.into_bytes()
}

/// The book's groups by name: (name, id, members).
async fn groups_of(app: &App) -> Vec<(String, Uuid, Vec<String>)> {
    let params = ListParams { limit: Some("50".into()), ..ListParams::default() };
    let items = app.list_contacts(&Caller::System, &book(HOME), &params).await.unwrap().items;
    let mut groups: Vec<(String, Uuid, Vec<String>)> = items
        .into_iter()
        .filter(|c| c.fields.kind == ContactKind::Group)
        .map(|c| (c.fields.first_name.clone(), c.id, c.fields.members.clone()))
        .collect();
    groups.sort();
    groups
}

/// Groups come in as groups with their members; a second file with the groups' ids as
/// UIDs (as an export writes them) updates one whose members changed and leaves the other.
async fn groups_are_imported_and_updated_as_groups(store: Arc<dyn Store>) {
    let app = app_with_domains(store).await;
    let ann = create(&app, HOME, &person("Ann", "Lee", number(0, 1))).await;
    let first = vec![format!("urn:uuid:{}", ann.id), "urn:uuid:elsewhere".to_string()];
    let file = group_cards(&[("g-1", "Book Club", first.clone()), ("g-2", "Tennis", vec!["urn:uuid:x".into()])]);
    let report = import(&app, file, false).await;
    assert_eq!((report.created, report.updated), (2, 0), "{report:?}");
    let before = groups_of(&app).await;
    assert_eq!(
        before.iter().map(|g| (g.0.as_str(), g.2.clone())).collect::<Vec<_>>(),
        [("Book Club", first.clone()), ("Tennis", vec!["urn:uuid:x".to_string()])]
    );

    let mut more = first.clone();
    more.push("urn:uuid:new-member".into());
    let (club, tennis) = (before[0].1.to_string(), before[1].1.to_string());
    let file = group_cards(&[(&club, "Book Club", more.clone()), (&tennis, "Tennis", vec!["urn:uuid:x".into()])]);
    let report = import(&app, file, false).await;
    assert_eq!((report.created, report.updated, report.unchanged), (0, 1, 1), "{report:?}");
    let after = groups_of(&app).await;
    assert_eq!((after[0].1, &after[0].2), (before[0].1, &more), "updated in place, members in order");
}

async fn sqlite() -> Arc<dyn Store> {
    let dir = tempfile::tempdir().unwrap().keep();
    let url = format!("sqlite://{}", dir.join("import.db").display());
    Arc::new(SqliteStore::open(&url).await.unwrap())
}

async fn postgres() -> Arc<dyn Store> {
    let url = switchboard_store::testing::fresh_postgres_database().await;
    Arc::new(PostgresStore::connect(&url).await.unwrap())
}

#[tokio::test]
async fn rows_match_their_own_contacts_on_sqlite() {
    rows_match_their_own_contacts(sqlite().await).await;
}

#[tokio::test]
async fn rows_match_their_own_contacts_on_postgres() {
    rows_match_their_own_contacts(postgres().await).await;
}

#[tokio::test]
async fn rows_after_an_applied_batch_see_it_on_sqlite() {
    rows_after_an_applied_batch_see_it(sqlite().await).await;
}

#[tokio::test]
async fn rows_after_an_applied_batch_see_it_on_postgres() {
    rows_after_an_applied_batch_see_it(postgres().await).await;
}

/// More rows than one batch of an import into an empty book (5,000), which is applied
/// while the next rows are read.
const FRESH_ROWS: usize = 5_300;

fn fresh_people() -> Vec<ContactInput> {
    (0..FRESH_ROWS).map(|k| person(&format!("F{k:04}"), "Fresh", number(1, k))).collect()
}

fn outlook_csv(people: &[ContactInput]) -> Vec<u8> {
    let mut writer = Writer::new(Vec::new(), ExportFormat::OutlookCsv).unwrap();
    for contact in people {
        let fields = as_written(contact);
        let row = ExportContact { uid: String::new(), fields, extension: None, starred: false, photo: None };
        writer.write(&row).unwrap();
    }
    writer.finish().unwrap()
}

async fn count(app: &App, table: &str) -> i64 {
    app.store().table_counts().await.unwrap()[table]
}

/// An empty book takes a file of more than one batch whole: every row created once, under
/// one audit entry, and a second import finds each of them unchanged.
async fn a_fresh_book_takes_every_batch(store: Arc<dyn Store>) {
    let app = app_with_domains(store).await;
    let audits_before = count(&app, "audit_log").await;
    let file = outlook_csv(&fresh_people());
    let report = import(&app, file.clone(), false).await;
    assert!(report.committed, "{report:?}");
    assert_eq!((report.rows, report.created, report.unchanged), (FRESH_ROWS, FRESH_ROWS, 0), "{report:?}");
    assert_eq!(count(&app, "contacts").await, FRESH_ROWS as i64);
    // The import's own entry stands for every contact it created.
    assert_eq!(count(&app, "audit_log").await - audits_before, 1);
    let log = app.search_audit_log(&Caller::System, HOME, &AuditParams::default()).await.unwrap().items;
    assert_eq!((log[0].action.as_str(), &log[0].details["created"]), ("contacts.import", &json!(FRESH_ROWS)));
    let again = import(&app, file, false).await;
    assert_eq!((again.rows, again.created, again.unchanged), (FRESH_ROWS, 0, FRESH_ROWS), "{again:?}");
    assert_eq!(count(&app, "contacts").await, FRESH_ROWS as i64);
}

/// A file refused after a first batch was written (here: more rows than allowed) leaves
/// the book and the audit log as they were.
async fn a_file_failing_after_a_batch_writes_nothing(store: Arc<dyn Store>) {
    let app = app_with_domains(store).await;
    let audits_before = count(&app, "audit_log").await;
    let options = ImportOptions { max_rows: FRESH_ROWS - 100, ..ImportOptions::default() };
    let file = Box::new(Cursor::new(outlook_csv(&fresh_people())));
    let error = app.import(&Caller::System, &book(HOME), file, options).await.unwrap_err();
    let refusal = format!("{error:?}");
    assert!(refusal.contains(&format!("more than {} contacts", FRESH_ROWS - 100)), "{refusal}");
    assert_eq!(count(&app, "contacts").await, 0);
    assert_eq!(count(&app, "audit_log").await, audits_before);
}

#[tokio::test]
async fn a_fresh_book_takes_every_batch_on_sqlite() {
    a_fresh_book_takes_every_batch(sqlite().await).await;
}

#[tokio::test]
async fn a_fresh_book_takes_every_batch_on_postgres() {
    a_fresh_book_takes_every_batch(postgres().await).await;
}

#[tokio::test]
async fn a_file_failing_after_a_batch_writes_nothing_on_sqlite() {
    a_file_failing_after_a_batch_writes_nothing(sqlite().await).await;
}

#[tokio::test]
async fn a_file_failing_after_a_batch_writes_nothing_on_postgres() {
    a_file_failing_after_a_batch_writes_nothing(postgres().await).await;
}

#[tokio::test]
async fn groups_are_imported_and_updated_as_groups_on_sqlite() {
    groups_are_imported_and_updated_as_groups(sqlite().await).await;
}

#[tokio::test]
async fn groups_are_imported_and_updated_as_groups_on_postgres() {
    groups_are_imported_and_updated_as_groups(postgres().await).await;
}
