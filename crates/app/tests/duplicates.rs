//! Finding and merging duplicates through the use cases: Bob Smith and Robert Smith found
//! by their email, merged keeping everything, a re-import of the merged UID landing on the
//! survivor, stars carried, the merge undone from the trash, and other domains' ids and
//! other people's books out of reach — on SQLite and on PostgreSQL.

use std::collections::BTreeMap;
use std::io::Cursor;
use std::sync::Arc;

use switchboard_app::{
    App, AppConfig, AppError, AuditParams, BookRef, Caller, ContactInput, DomainInput, DuplicateParams, ExportFormat,
    ImportOptions, ListParams, MergeInput, NotDuplicatesInput, UserInput,
};
use switchboard_core::contact::ContactFields;
use switchboard_core::phone::Country;
use switchboard_formats::{ExportContact, Writer};
use switchboard_store::{PostgresStore, SqliteStore, Store};
use uuid::Uuid;

const HOME: &str = "home.example";
const FOREIGN: &str = "foreign.example";

fn shared(domain: &str) -> BookRef {
    BookRef::Shared { domain: domain.into() }
}

fn bob() -> ContactInput {
    ContactInput {
        first_name: "Bob".into(),
        last_name: "Smith".into(),
        work_phone: "(206) 555-0100".into(),
        email: "bob@example.com".into(),
        ..Default::default()
    }
}

fn robert() -> ContactInput {
    ContactInput {
        first_name: "Robert".into(),
        last_name: "Smith".into(),
        mobile_phone: "206 555 0101".into(),
        email: "Bob@Example.com".into(),
        company: "Acme".into(),
        ..Default::default()
    }
}

async fn app(store: Arc<dyn Store>) -> App {
    let app = App::new(store, AppConfig::default());
    for name in [HOME, FOREIGN] {
        app.create_domain(&Caller::System, DomainInput { name: name.into(), ..Default::default() }).await.unwrap();
        for (ext, scope) in [("200", "office-manager"), ("201", "basic-user")] {
            let user = UserInput {
                extension: ext.into(),
                scope: Some(scope.into()),
                password: Some("password-123".into()),
                ..Default::default()
            };
            app.create_user(&Caller::System, name, user).await.unwrap();
        }
    }
    app
}

async fn caller(app: &App, ext: &str) -> Caller {
    let login = app.login(&format!("{ext}@{HOME}"), "password-123", None).await.unwrap();
    app.authenticate(&login.token).await.unwrap()
}

async fn groups(app: &App, caller: &Caller, book: &BookRef) -> Vec<Vec<Uuid>> {
    let page = app.duplicates(caller, book, &DuplicateParams::default()).await.unwrap();
    page.items.iter().map(|g| g.contacts.iter().map(|c| c.id).collect()).collect()
}

fn vcard(uid: Uuid, contact: ContactInput) -> Vec<u8> {
    let mut writer = Writer::new(Vec::new(), ExportFormat::VCard3).unwrap();
    let fields = ContactFields::parse(&contact, Country::default()).unwrap();
    writer
        .write(&ExportContact { uid: uid.to_string(), fields, extension: None, starred: false, photo: None })
        .unwrap();
    writer.finish().unwrap()
}

async fn shared_merge_keeps_everything_and_can_be_undone(store: Arc<dyn Store>) {
    let app = app(store).await;
    let manager = caller(&app, "200").await;
    let book = shared(HOME);
    let b = app.create_contact(&manager, &book, bob()).await.unwrap();
    let r = app.create_contact(&manager, &book, robert()).await.unwrap();
    assert_eq!(groups(&app, &manager, &book).await, [vec![b.id, r.id]], "found by their email");
    app.set_favorite(&manager, HOME, "200", r.id, true).await.unwrap();

    let keep = BTreeMap::from([("first_name".to_string(), r.id)]);
    let input = MergeInput { ids: vec![b.id, r.id], keep, contact: None };
    let preview = app.merge_preview(&manager, &book, &input).await.unwrap();
    assert_eq!(preview.conflicts.len(), 1, "{:?}", preview.conflicts);
    let merged = app.merge_contacts(&manager, &book, input).await.unwrap();
    assert_eq!(merged.id, b.id, "the first keeps its id");
    assert_eq!(merged.fields.first_name, "Robert", "the chosen value");
    assert_eq!(merged.fields.company, "Acme");
    assert_eq!(merged.fields.phones.len(), 2, "every number");
    assert_eq!(merged.fields.emails.len(), 1, "one email, case aside");
    assert!(merged.fields.notes.contains("First name (merged): Bob"), "{}", merged.fields.notes);
    assert!(groups(&app, &manager, &book).await.is_empty());
    let stars = app.directory(&manager, HOME, "200", "favorites", &ListParams::default()).await.unwrap();
    assert_eq!(stars.items.iter().map(|e| e.id).collect::<Vec<_>>(), [b.id], "the star moved along");
    let audit = AuditParams { action: Some("contact.merge".into()), ..Default::default() };
    let entries = app.search_audit_log(&manager, HOME, &audit).await.unwrap();
    assert_eq!(entries.items.len(), 1, "one audited change");

    // A phone or file still carrying Robert's UID updates the survivor.
    let file = vcard(r.id, ContactInput { title: "CTO".into(), home_phone: "206 555 0102".into(), ..robert() });
    let report = app.import(&manager, &book, Box::new(Cursor::new(file)), ImportOptions::default()).await.unwrap();
    assert_eq!((report.created, report.updated), (0, 1), "{report:?}");
    assert_eq!(app.get_contact(&manager, &book, b.id).await.unwrap().fields.title, "CTO");

    let restored = app.restore_contact(&manager, &book, r.id).await.unwrap();
    assert_eq!(restored.fields.first_name, "Robert", "undo brings the merged contact back as it was");
    let page = app.list_contacts(&manager, &book, &ListParams::default()).await.unwrap();
    assert_eq!(page.items.len(), 2);
}

async fn not_duplicates_and_reach(store: Arc<dyn Store>) {
    let app = app(store).await;
    let manager = caller(&app, "200").await;
    let basic = caller(&app, "201").await;
    let book = shared(HOME);
    let b = app.create_contact(&manager, &book, bob()).await.unwrap();
    let same_number = ContactInput { first_name: "Front".into(), work_phone: "+1 206-555-0100".into(), ..bob() };
    let desk = app.create_contact(&manager, &book, ContactInput { email: String::new(), ..same_number }).await.unwrap();
    assert_eq!(groups(&app, &manager, &book).await, [vec![b.id, desk.id]], "one number in two spellings");
    let pair = NotDuplicatesInput { ids: vec![desk.id, b.id] };
    app.mark_not_duplicates(&manager, &book, &pair).await.unwrap();
    assert!(groups(&app, &manager, &book).await.is_empty());

    let theirs = app.create_contact(&Caller::System, &shared(FOREIGN), robert()).await.unwrap();
    let across = MergeInput { ids: vec![b.id, theirs.id], ..Default::default() };
    assert!(matches!(app.merge_contacts(&manager, &book, across).await, Err(AppError::NotFound)));
    let ids = MergeInput { ids: vec![b.id, desk.id], ..Default::default() };
    assert!(matches!(app.merge_contacts(&basic, &book, ids.clone()).await, Err(AppError::Forbidden(_))));
    assert!(matches!(app.duplicates(&basic, &book, &DuplicateParams::default()).await, Err(AppError::Forbidden(_))));
    let once = MergeInput { ids: vec![b.id, b.id], ..Default::default() };
    assert!(matches!(app.merge_contacts(&manager, &book, once).await, Err(AppError::Invalid(_))));

    // One's own book: only its owner merges, and the audit keeps no contents.
    let own = BookRef::Personal { domain: HOME.into(), extension: "201".into() };
    let mine = [
        app.create_contact(&basic, &own, bob()).await.unwrap(),
        app.create_contact(&basic, &own, robert()).await.unwrap(),
    ];
    assert_eq!(groups(&app, &basic, &own).await.len(), 1);
    let ids = MergeInput { ids: mine.iter().map(|c| c.id).collect(), ..Default::default() };
    assert!(matches!(app.merge_contacts(&manager, &own, ids.clone()).await, Err(AppError::NotFound)));
    app.merge_contacts(&basic, &own, ids).await.unwrap();
    let audit = AuditParams { action: Some("contact.merge".into()), ..Default::default() };
    let entry = &app.search_audit_log(&manager, HOME, &audit).await.unwrap().items[0];
    let details = entry.details.to_string();
    assert!(!details.contains("Smith") && !details.contains("0100"), "{details}");
}

async fn sqlite() -> Arc<dyn Store> {
    let dir = tempfile::tempdir().unwrap().keep();
    let url = format!("sqlite://{}", dir.join("duplicates.db").display());
    Arc::new(SqliteStore::open(&url).await.unwrap())
}

async fn postgres() -> Arc<dyn Store> {
    let url = switchboard_store::testing::fresh_postgres_database().await;
    Arc::new(PostgresStore::connect(&url).await.unwrap())
}

#[tokio::test]
async fn shared_merge_keeps_everything_and_can_be_undone_on_sqlite() {
    shared_merge_keeps_everything_and_can_be_undone(sqlite().await).await;
}

#[tokio::test]
async fn shared_merge_keeps_everything_and_can_be_undone_on_postgres() {
    shared_merge_keeps_everything_and_can_be_undone(postgres().await).await;
}

#[tokio::test]
async fn not_duplicates_and_reach_on_sqlite() {
    not_duplicates_and_reach(sqlite().await).await;
}

#[tokio::test]
async fn not_duplicates_and_reach_on_postgres() {
    not_duplicates_and_reach(postgres().await).await;
}
