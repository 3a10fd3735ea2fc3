//! A database made by the previous release (its migrations, up to 0009) and holding the
//! contacts that release wrote reads the same after this release's migrations, on SQLite
//! and on PostgreSQL: the numbers and email come back from their columns, caller-ID still
//! finds them, and a contact changed afterwards keeps everything it is given. A database
//! from before 0013 finds duplicates by numbers beyond the four columns. A database from
//! before 0022 reads every contact as an individual with everything it held, and takes
//! groups, which the directory and caller-ID leave out.

use std::borrow::Cow;
use std::sync::Arc;

use sqlx::migrate::Migrator;
use switchboard_core::PhoneNumber;
use switchboard_core::contact::ContactFields;
use switchboard_core::contact::{ContactDetails, ContactInput};
use switchboard_core::details::{ContactKind, Email, Phone, PhoneInput, PhoneKind};
use switchboard_core::model::Book;
use switchboard_core::phone::Country;
use switchboard_store::{AuditRecord, DirectoryQuery, Group, ListQuery, PostgresStore, SqliteStore, Store};
use uuid::Uuid;

/// The last schema version of the previous release.
const PREVIOUS_RELEASE: i64 = 9;

fn previous_release(migrator: Migrator) -> Migrator {
    let migrator = up_to(migrator, PREVIOUS_RELEASE);
    assert_eq!(
        migrator.migrations.len() as i64,
        PREVIOUS_RELEASE - 1,
        "0002 was never released; 0001 and 0003–0009 were"
    );
    migrator
}

/// The migrations up to `last`.
fn up_to(mut migrator: Migrator, last: i64) -> Migrator {
    let kept: Vec<_> = migrator.migrations.iter().filter(|m| m.version <= last).cloned().collect();
    migrator.migrations = Cow::Owned(kept);
    migrator
}

/// Before 0013, `contact_numbers` held only caller-ID keys; 0013 adds each number's E.164
/// form, read from the contact's details, for finding duplicates by any number.
const BEFORE_NUMBERS_E164: i64 = 12;
const DETAILS: &str = r#"{"phones":[{"kind":"work","number":{"typed":"(206) 555-0100 x12","e164":"+12065550100","extension":"12"}},{"kind":"mobile","number":{"typed":"206.555.0101","e164":"+12065550101"}},{"kind":"mobile","label":"Second","number":{"typed":"206 555 0102","e164":"+12065550102"}},{"kind":"fax","number":{"typed":"555-0199","e164":null}}],"emails":[{"address":"ann@acme.example"}]}"#;
const MORE_NUMBER: &str = "INSERT INTO contact_numbers (contact_id, domain_id, owner_user_id, position, lookup_key) \
     VALUES ($1, $2, NULL, 2, '5550102')";

const DOMAIN: &str =
    "INSERT INTO domains (id, name, description, created_at, updated_at) VALUES ($1, 'acme.example', '', 0, 0)";

/// A contact as the previous release wrote it: four number columns with their E.164
/// forms and look-up keys, one email, no details.
const CONTACT: &str = "INSERT INTO contacts (id, domain_id, owner_user_id, first_name, last_name, company, title, \
     work_phone, work_phone_e164, mobile_phone, mobile_phone_e164, home_phone, home_phone_e164, fax, fax_e164, \
     email, notes, duplicate_key, sort_key, search_text, version, created_at, updated_at, deleted_at, \
     work_phone_key, mobile_phone_key, home_phone_key, fax_key) VALUES ($1, $2, NULL, 'Ann', 'Lee', 'Acme', 'Buyer', \
     '(206) 555-0100 x12', '+12065550100', '206.555.0101', '+12065550101', NULL, NULL, '555-0199', NULL, \
     'ann@acme.example', 'Met at the fair.', 'ann\u{1}lee\u{1}acme\u{1}+12065550100,+12065550101,555-0199', \
     'lee\u{1}ann\u{1}acme', 'ann lee', 3, 10, 20, NULL, '5550100', '5550101', NULL, '5550199')";

fn number(typed: &str, e164: Option<&str>, extension: Option<&str>) -> PhoneNumber {
    PhoneNumber { typed: typed.into(), e164: e164.map(str::to_string), extension: extension.map(str::to_string) }
}

/// What the contact above must read as after the upgrade.
fn as_written_before() -> ContactFields {
    let phone = |kind, number| Phone { kind, label: String::new(), number };
    ContactFields {
        first_name: "Ann".into(),
        last_name: "Lee".into(),
        company: "Acme".into(),
        title: "Buyer".into(),
        phones: vec![
            // Typed and E.164 as before; the extension the typed text holds is now read apart.
            phone(PhoneKind::Work, number("(206) 555-0100 x12", Some("+12065550100"), Some("12"))),
            phone(PhoneKind::Mobile, number("206.555.0101", Some("+12065550101"), None)),
            phone(PhoneKind::Fax, number("555-0199", None, None)),
        ],
        emails: vec![Email { address: "ann@acme.example".into(), ..Email::default() }],
        notes: "Met at the fair.".into(),
        ..ContactFields::default()
    }
}

async fn reads_the_same_after_the_upgrade(store: Arc<dyn Store>, domain_id: Uuid, contact_id: Uuid) {
    let book = Book::Shared { domain_id };
    let contact = store.contact(book, contact_id).await.unwrap().expect("the contact survived");
    assert_eq!(contact.fields, as_written_before());
    assert_eq!((contact.version, contact.updated_at.timestamp_micros()), (3, 20));
    let found = store.contacts_by_lookup_key(book, "5550101", Some("+12065550101"), 10).await.unwrap();
    assert_eq!(found.iter().map(|c| c.id).collect::<Vec<_>>(), [contact_id], "caller-ID still finds it");

    // Changed now, it keeps a second mobile with its label, and caller-ID finds that too.
    let mut input = contact.fields.to_input();
    input.phones.push(PhoneInput { kind: PhoneKind::Mobile, label: "Second".into(), number: "206 555 0102".into() });
    let fields = ContactFields::parse(&input, Country::default()).unwrap();
    let audit = AuditRecord {
        domain_id: Some(domain_id),
        actor: "test".into(),
        action: "contact.update".into(),
        target_id: Some(contact_id),
        details: serde_json::Value::Null,
    };
    let updated = store.update_contact(book, contact_id, Some(3), fields.clone(), audit).await.unwrap();
    assert_eq!(updated.fields, fields);
    assert_eq!(store.contact(book, contact_id).await.unwrap().unwrap().fields, fields);
    let found = store.contacts_by_lookup_key(book, "5550102", None, 10).await.unwrap();
    assert_eq!(found.iter().map(|c| c.id).collect::<Vec<_>>(), [contact_id]);
}

/// The second mobile (only in `contact_numbers` and the details) makes its contact a
/// possible duplicate of another with that number, once migrated.
async fn finds_duplicates_by_a_second_mobile(store: Arc<dyn Store>, domain_id: Uuid, contact_id: Uuid) {
    let book = Book::Shared { domain_id };
    let mut other = as_written_before();
    other.first_name = "Annie".into();
    other.phones = vec![Phone {
        kind: PhoneKind::Work,
        label: String::new(),
        number: number("206 555 0102", Some("+12065550102"), None),
    }];
    other.emails.clear();
    let audit = AuditRecord {
        domain_id: Some(domain_id),
        actor: "test".into(),
        action: "contact.create".into(),
        target_id: None,
        details: serde_json::Value::Null,
    };
    let other = store.create_contact(book, other, audit).await.unwrap();
    let page = store.duplicate_groups(book, 10, None).await.unwrap();
    let groups: Vec<(String, Vec<Uuid>)> =
        page.groups.iter().map(|g| (g.key.clone(), g.contacts.iter().map(|c| c.id).collect())).collect();
    let mut both = vec![contact_id, other.id];
    both.sort();
    assert_eq!(groups, [("phone:+12065550102".to_string(), both)]);
}

#[tokio::test]
async fn a_sqlite_database_of_the_previous_release_reads_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("previous.db");
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let (domain_id, contact_id) = (Uuid::now_v7(), Uuid::now_v7());
    {
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        previous_release(sqlx::migrate!("migrations/sqlite")).run(&pool).await.unwrap();
        sqlx::query(DOMAIN).bind(domain_id).execute(&pool).await.unwrap();
        sqlx::query(CONTACT).bind(contact_id).bind(domain_id).execute(&pool).await.unwrap();
        pool.close().await;
    }
    let store = SqliteStore::open(path.to_str().unwrap()).await.unwrap();
    reads_the_same_after_the_upgrade(Arc::new(store), domain_id, contact_id).await;
}

#[tokio::test]
async fn a_postgres_database_of_the_previous_release_reads_the_same() {
    let url = switchboard_store::testing::fresh_postgres_database().await;
    let (domain_id, contact_id) = (Uuid::now_v7(), Uuid::now_v7());
    {
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        previous_release(sqlx::migrate!("migrations/postgres")).run(&pool).await.unwrap();
        sqlx::query(DOMAIN).bind(domain_id).execute(&pool).await.unwrap();
        sqlx::query(CONTACT).bind(contact_id).bind(domain_id).execute(&pool).await.unwrap();
        pool.close().await;
    }
    let store = PostgresStore::connect(&url).await.unwrap();
    reads_the_same_after_the_upgrade(Arc::new(store), domain_id, contact_id).await;
}

#[tokio::test]
async fn a_sqlite_database_before_numbers_e164_finds_duplicates_by_every_number() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("before.db");
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let (domain_id, contact_id) = (Uuid::now_v7(), Uuid::now_v7());
    {
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        up_to(sqlx::migrate!("migrations/sqlite"), BEFORE_NUMBERS_E164).run(&pool).await.unwrap();
        sqlx::query(DOMAIN).bind(domain_id).execute(&pool).await.unwrap();
        sqlx::query(CONTACT).bind(contact_id).bind(domain_id).execute(&pool).await.unwrap();
        sqlx::query("UPDATE contacts SET details = $1").bind(DETAILS).execute(&pool).await.unwrap();
        sqlx::query(MORE_NUMBER).bind(contact_id).bind(domain_id).execute(&pool).await.unwrap();
        pool.close().await;
    }
    let store = SqliteStore::open(path.to_str().unwrap()).await.unwrap();
    finds_duplicates_by_a_second_mobile(Arc::new(store), domain_id, contact_id).await;
}

#[tokio::test]
async fn a_postgres_database_before_numbers_e164_finds_duplicates_by_every_number() {
    let url = switchboard_store::testing::fresh_postgres_database().await;
    let (domain_id, contact_id) = (Uuid::now_v7(), Uuid::now_v7());
    {
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        up_to(sqlx::migrate!("migrations/postgres"), BEFORE_NUMBERS_E164).run(&pool).await.unwrap();
        sqlx::query(DOMAIN).bind(domain_id).execute(&pool).await.unwrap();
        sqlx::query(CONTACT).bind(contact_id).bind(domain_id).execute(&pool).await.unwrap();
        sqlx::query("UPDATE contacts SET details = $1").bind(DETAILS).execute(&pool).await.unwrap();
        sqlx::query(MORE_NUMBER).bind(contact_id).bind(domain_id).execute(&pool).await.unwrap();
        pool.close().await;
    }
    let store = PostgresStore::connect(&url).await.unwrap();
    finds_duplicates_by_a_second_mobile(Arc::new(store), domain_id, contact_id).await;
}

/// The last schema version before contacts had kinds (0022).
const BEFORE_KINDS: i64 = 21;

fn audit(domain_id: Uuid, action: &str) -> AuditRecord {
    AuditRecord {
        domain_id: Some(domain_id),
        actor: "test".into(),
        action: action.into(),
        target_id: None,
        details: serde_json::Value::Null,
    }
}

/// The contact written before kinds is an individual with every number and email it had;
/// a group written now keeps its members, and only the person is in the directory and
/// found by caller-ID.
async fn reads_as_an_individual_and_takes_groups(store: Arc<dyn Store>, domain_id: Uuid, contact_id: Uuid) {
    let book = Book::Shared { domain_id };
    let contact = store.contact(book, contact_id).await.unwrap().expect("the contact survived");
    let before: ContactDetails = serde_json::from_str(DETAILS).unwrap();
    assert_eq!((contact.fields.kind, contact.fields.members.len()), (ContactKind::Individual, 0));
    assert_eq!((&contact.fields.phones, &contact.fields.emails), (&before.phones, &before.emails));
    assert_eq!(
        (contact.fields.first_name.as_str(), contact.fields.notes.as_str(), contact.version),
        ("Ann", "Met at the fair.", 3)
    );

    let members = vec![format!("urn:uuid:{contact_id}"), "urn:uuid:not-here".to_string()];
    let input = ContactInput {
        first_name: "Buyers".into(),
        kind: ContactKind::Group,
        members: members.clone(),
        ..ContactInput::default()
    };
    let fields = ContactFields::parse(&input, Country::default()).unwrap();
    let group = store.create_contact(book, fields.clone(), audit(domain_id, "contact.create")).await.unwrap();
    let read = store.contact(book, group.id).await.unwrap().unwrap();
    assert_eq!((read.fields.kind, &read.fields.members), (ContactKind::Group, &members));
    assert_eq!(read.fields, fields);

    let query = DirectoryQuery {
        domain_id,
        viewer_id: Uuid::nil(),
        include_shared: true,
        include_own: false,
        group: Group::All,
        list: ListQuery::default(),
    };
    let listed: Vec<Uuid> = store.directory(&query).await.unwrap().items.iter().map(|e| e.id).collect();
    assert_eq!(listed, [contact_id], "a group is nobody to list");
    let found = store.contacts_by_lookup_key(book, "5550101", Some("+12065550101"), 10).await.unwrap();
    assert_eq!(found.iter().map(|c| c.id).collect::<Vec<_>>(), [contact_id]);
}

#[tokio::test]
async fn a_sqlite_database_before_kinds_reads_individuals_and_takes_groups() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("before-kinds.db");
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let (domain_id, contact_id) = (Uuid::now_v7(), Uuid::now_v7());
    {
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        up_to(sqlx::migrate!("migrations/sqlite"), BEFORE_KINDS).run(&pool).await.unwrap();
        sqlx::query(DOMAIN).bind(domain_id).execute(&pool).await.unwrap();
        sqlx::query(CONTACT).bind(contact_id).bind(domain_id).execute(&pool).await.unwrap();
        sqlx::query("UPDATE contacts SET details = $1").bind(DETAILS).execute(&pool).await.unwrap();
        pool.close().await;
    }
    let store = SqliteStore::open(path.to_str().unwrap()).await.unwrap();
    reads_as_an_individual_and_takes_groups(Arc::new(store), domain_id, contact_id).await;
}

#[tokio::test]
async fn a_postgres_database_before_kinds_reads_individuals_and_takes_groups() {
    let url = switchboard_store::testing::fresh_postgres_database().await;
    let (domain_id, contact_id) = (Uuid::now_v7(), Uuid::now_v7());
    {
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        up_to(sqlx::migrate!("migrations/postgres"), BEFORE_KINDS).run(&pool).await.unwrap();
        sqlx::query(DOMAIN).bind(domain_id).execute(&pool).await.unwrap();
        sqlx::query(CONTACT).bind(contact_id).bind(domain_id).execute(&pool).await.unwrap();
        sqlx::query("UPDATE contacts SET details = $1").bind(DETAILS).execute(&pool).await.unwrap();
        pool.close().await;
    }
    let store = PostgresStore::connect(&url).await.unwrap();
    reads_as_an_individual_and_takes_groups(Arc::new(store), domain_id, contact_id).await;
}
