//! What an import may and may not do besides matching rows: a `replace` import with
//! rejected rows writes nothing, an import's favorites come with its commit, imports
//! beyond the server's caps are refused as busy, and one over its time limit is undone —
//! on SQLite and on PostgreSQL.

#[macro_use]
mod support;

use std::io::Cursor;
use std::sync::Arc;
use std::time::Duration;

use switchboard_app::{
    App, AppConfig, AppError, BookRef, Caller, ContactInput, DomainInput, ExportFormat, ImportMode, ImportOptions,
    ImportReport, ListParams, UserInput,
};
use switchboard_formats::{ContactFields, ExportContact, Writer};
use switchboard_store::Store;

on_both_backends!(
    replace_with_rejected_rows_writes_nothing,
    an_imports_favorites_come_with_its_commit,
    imports_beyond_the_caps_are_busy,
    an_import_over_its_time_limit_is_undone,
);

const HOME: &str = "home.example";
const OTHER: &str = "other.example";

fn shared(domain: &str) -> BookRef {
    BookRef::Shared { domain: domain.into() }
}

fn person(first: &str) -> ContactInput {
    ContactInput { first_name: first.into(), last_name: "Person".into(), ..Default::default() }
}

/// A vCard file of these contacts, starred or not; a contact without a name is a rejected row.
fn vcards(rows: &[(ContactInput, bool)]) -> Vec<u8> {
    let mut writer = Writer::new(Vec::new(), ExportFormat::VCard3).unwrap();
    for (contact, starred) in rows {
        // Written as given, not validated: a contact without a name is what the test needs.
        let fields = ContactFields {
            first_name: contact.first_name.clone(),
            last_name: contact.last_name.clone(),
            title: contact.title.clone(),
            ..ContactFields::default()
        };
        let row = ExportContact { uid: String::new(), fields, extension: None, starred: *starred, photo: None };
        writer.write(&row).unwrap();
    }
    writer.finish().unwrap()
}

fn nameless() -> ContactInput {
    ContactInput { title: "No name".into(), ..Default::default() }
}

async fn app_with(store: Arc<dyn Store>, config: AppConfig) -> App {
    let app = App::new(store, config);
    for name in [HOME, OTHER] {
        app.create_domain(&Caller::System, DomainInput { name: name.into(), ..Default::default() }).await.unwrap();
    }
    app
}

async fn import(app: &App, book: &BookRef, file: Vec<u8>, options: ImportOptions) -> Result<ImportReport, AppError> {
    app.import(&Caller::System, book, Box::new(Cursor::new(file)), options).await
}

fn mode(mode: ImportMode, dry_run: bool) -> ImportOptions {
    ImportOptions { mode, dry_run, ..ImportOptions::default() }
}

async fn names(app: &App, book: &BookRef) -> Vec<String> {
    let page = app.list_contacts(&Caller::System, book, &ListParams::default()).await.unwrap();
    page.items.into_iter().map(|contact| contact.fields.first_name).collect()
}

async fn trash_size(app: &App) -> usize {
    app.trash(&Caller::System, HOME, &ListParams::default()).await.unwrap().items.len()
}

/// A replace import makes the book equal the file: with a rejected row it would trash the
/// contact that row stands for, so any rejected row makes it write nothing, as a strict
/// import would (an all-rejected file once trashed the whole book).
async fn replace_with_rejected_rows_writes_nothing(store: Arc<dyn Store>) {
    let app = app_with(store, AppConfig::default()).await;
    for first in ["Ann", "Ben", "Cy"] {
        app.create_contact(&Caller::System, &shared(HOME), person(first)).await.unwrap();
    }
    let book = names(&app, &shared(HOME)).await;
    for file in [vec![(nameless(), false)], vec![(person("Ann"), false), (person("Dee"), false), (nameless(), false)]] {
        for dry_run in [true, false] {
            let report = import(&app, &shared(HOME), vcards(&file), mode(ImportMode::Replace, dry_run)).await.unwrap();
            assert!(!report.committed, "{report:?}");
            let why = report.held_back.clone().unwrap_or_default();
            assert!(why.contains("1 row was rejected") && why.contains("replace"), "{why}");
            assert_eq!(names(&app, &shared(HOME)).await, book, "the book is untouched");
            assert_eq!(trash_size(&app).await, 0, "nothing went to the trash");
        }
    }
    // Upsert still writes the good rows of such a file; replace with a clean file replaces.
    let file = vcards(&[(person("Dee"), false), (nameless(), false)]);
    let report = import(&app, &shared(HOME), file, mode(ImportMode::Upsert, false)).await.unwrap();
    assert!(report.committed && report.held_back.is_none(), "{report:?}");
    let file = vcards(&[(person("Dee"), false)]);
    let report = import(&app, &shared(HOME), file, mode(ImportMode::Replace, false)).await.unwrap();
    assert_eq!((report.committed, report.trashed), (true, 3), "{report:?}");
    assert_eq!(names(&app, &shared(HOME)).await, ["Dee"]);
}

/// Stars set by a personal import (Google's `* starred`, vCard `CATEGORIES:starred`) are
/// written in the import's own commit: the book changes once, stars included.
async fn an_imports_favorites_come_with_its_commit(store: Arc<dyn Store>) {
    let app = app_with(store.clone(), AppConfig::default()).await;
    let input = UserInput { extension: "200".into(), first_name: "Ann".into(), ..Default::default() };
    let ann = app.create_user(&Caller::System, HOME, input).await.unwrap().user;
    let book = BookRef::Personal { domain: HOME.into(), extension: "200".into() };
    let before = store.change_stamp(ann.domain_id).await.unwrap().unwrap().seq;
    let file = vcards(&[(person("Star"), true), (person("Plain"), false), (person("Bright"), true)]);
    let report = import(&app, &book, file, ImportOptions::default()).await.unwrap();
    assert_eq!((report.committed, report.created), (true, 3), "{report:?}");
    let after = store.change_stamp(ann.domain_id).await.unwrap().unwrap().seq;
    assert_eq!(after, before + 1, "one change: the import with its stars");
    let contacts = app.list_contacts(&Caller::System, &book, &ListParams::default()).await.unwrap().items;
    let ids: Vec<_> = contacts.iter().map(|c| c.id).collect();
    let starred = store.favorites_among(ann.id, &ids).await.unwrap();
    let mut starred: Vec<String> =
        contacts.iter().filter(|c| starred.contains(&c.id)).map(|c| c.fields.first_name.clone()).collect();
    starred.sort();
    assert_eq!(starred, ["Bright", "Star"]);
}

/// Each import holds a slot from before its file is read until it ends: past the caps per
/// domain and in all, `admit_import` answers busy with a time to retry after.
async fn imports_beyond_the_caps_are_busy(store: Arc<dyn Store>) {
    let config = AppConfig { max_imports: 2, max_imports_per_domain: 1, ..AppConfig::default() };
    let app = app_with(store, config).await;
    app.create_domain(&Caller::System, DomainInput { name: "third.example".into(), ..Default::default() })
        .await
        .unwrap();
    let busy = |result: Result<_, AppError>| match result {
        Err(AppError::TooManyRequests { retry_after, message }) => retry_after > Duration::ZERO && !message.is_empty(),
        _ => false,
    };
    let home = app.admit_import(&Caller::System, &shared(HOME)).await.unwrap();
    assert!(busy(app.admit_import(&Caller::System, &shared(HOME)).await), "one import per domain");
    let other = app.admit_import(&Caller::System, &shared(OTHER)).await.unwrap();
    assert!(busy(app.admit_import(&Caller::System, &shared("third.example")).await), "two in all");
    drop(home);
    let again = app.admit_import(&Caller::System, &shared(HOME)).await.unwrap();
    // A permit runs its import, and the slot is free once it ends.
    let file = vcards(&[(person("Ann"), false)]);
    let report = app.run_import(&Caller::System, again, Box::new(Cursor::new(file)), ImportOptions::default());
    assert!(report.await.unwrap().committed);
    drop(other);
    app.admit_import(&Caller::System, &shared(HOME)).await.unwrap();
    // Refusals come before the slot: a caller who may not import takes none.
    assert!(matches!(app.admit_import(&Caller::System, &shared("nope.example")).await, Err(AppError::NotFound)));
}

/// An import still running at its time limit stops, is undone and says why.
async fn an_import_over_its_time_limit_is_undone(store: Arc<dyn Store>) {
    let config = AppConfig { import_time_limit: Duration::from_millis(1), ..AppConfig::default() };
    let app = app_with(store.clone(), config).await;
    let rows: Vec<_> = (0..3000).map(|n| (person(&format!("P{n}")), false)).collect();
    let error = import(&app, &shared(HOME), vcards(&rows), ImportOptions::default()).await.unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, AppError::Invalid(_)) && message.contains("longer than"), "{message}");
    assert!(names(&app, &shared(HOME)).await.is_empty(), "nothing was written");
    assert_eq!(store.discard_pending_imports(None).await.unwrap(), 0, "nothing is left pending");
}
