//! Conformance of imports: nobody sees one before it commits, everything at once after,
//! and an open import holds up no writer of another book.

use switchboard_core::contact::ContactInput;
use switchboard_core::details::{ExtraFormat, ExtraProperty};

use super::*;
use crate::{BookPart, ImportChange};

/// Everything the readers of a domain show of one user's book, to compare before,
/// during and after an import.
#[derive(Debug, PartialEq)]
struct Seen {
    contacts: Vec<(Uuid, String)>,
    directory: Vec<Uuid>,
    search: Vec<Uuid>,
    lookup: Vec<Uuid>,
    book_rows: Vec<Uuid>,
    trash: Vec<Uuid>,
    audit: Vec<String>,
    stamp: i64,
    favorites: usize,
}

async fn seen(store: &dyn Store, owner: &User, named_id: Option<Uuid>) -> Seen {
    let book = personal(owner);
    let contacts = store.list_contacts(book, &ListQuery::default()).await.unwrap();
    let view = |list: ListQuery| DirectoryQuery {
        domain_id: owner.domain_id,
        viewer_id: owner.id,
        include_shared: true,
        include_own: true,
        group: Group::All,
        list,
    };
    let directory = store.directory(&view(ListQuery::default())).await.unwrap();
    let search = store.directory(&view(search_for("Pending"))).await.unwrap();
    let lookup = store.contacts_by_lookup_key(book, "5550177", None, 10).await.unwrap();
    let book_rows = store.book_rows(owner.domain_id, BookPart::Personal(owner.id)).await.unwrap();
    let trash = store.list_trash(owner.domain_id, Some(owner.id), &ListQuery::default()).await.unwrap();
    let mut every_id: Vec<Uuid> = contacts.items.iter().map(|c| c.id).collect();
    every_id.extend(named_id);
    Seen {
        contacts: contacts.items.iter().map(|c| (c.id, c.fields.title.clone())).collect(),
        directory: entry_ids(&directory),
        search: entry_ids(&search),
        lookup: lookup.iter().map(|c| c.id).collect(),
        book_rows: book_rows.iter().map(|row| row.entry.id).collect(),
        trash: contact_ids(&trash),
        audit: audit_actions(store, owner.domain_id).await,
        stamp: store.change_stamp(owner.domain_id).await.unwrap().unwrap().seq,
        favorites: store.favorites_among(owner.id, &every_id).await.unwrap().len(),
    }
}

/// An import's creations, updates, trashing, audit records and favorites show nowhere
/// (contacts, directory, search, caller-ID, phones' books, trash, audit, change stamp)
/// until its commit, then all at once; meanwhile another domain's writes go through.
pub async fn imports_show_nothing_until_committed(store: &dyn Store) {
    let acme = domain(store, "acme.example").await;
    let globex = domain(store, "globex.example").await;
    let ann = user(store, &acme, "200", "Ann", "Lee").await;
    let book = personal(&ann);
    let kept = contact(store, book, named("Kept", "One")).await;
    let gone = contact(store, book, named("Gone", "Two")).await;
    let before = seen(store, &ann, None).await;

    let mut writer = store.begin_import(book).await.unwrap();
    let pending = ContactInput { work_phone: "+1 206 555 0177".into(), ..named("Pending", "Row") };
    let created = writer.apply(vec![ImportChange::Create(fields(pending).into())]).await.unwrap()[0];
    let boss = fields(ContactInput { title: "Boss".into(), ..named("Kept", "One") });
    let update = ImportChange::Update { id: kept.id, fields: boss, audit: audit_in(acme.id, "contact.update") };
    let trash = ImportChange::Trash { id: gone.id, audit: audit_in(acme.id, "contact.delete") };
    writer.apply(vec![update, trash]).await.unwrap();
    assert_eq!(writer.live_contact(created).await.unwrap().map(|c| c.id), Some(created), "it sees its own");

    assert_eq!(seen(store, &ann, Some(created)).await, before, "nothing shows before the commit");
    assert!(store.contact(book, created).await.unwrap().is_none());
    // Another company writes while the import is open (on SQLite: no write lock is held).
    let elsewhere = contact(store, shared(&globex), named("Other", "Company")).await;
    assert!(store.contact(shared(&globex), elsewhere.id).await.unwrap().is_some());

    writer.commit(audit_in(acme.id, "contacts.import"), &[created, kept.id]).await.unwrap();
    let after = seen(store, &ann, Some(created)).await;
    let mut titles = after.contacts.clone();
    titles.sort();
    let mut expected = vec![(kept.id, "Boss".to_string()), (created, String::new())];
    expected.sort();
    assert_eq!(titles, expected, "created and updated; the trashed one is gone");
    assert_eq!(after.search, [created]);
    assert_eq!(after.lookup, [created]);
    assert_eq!(after.book_rows.len(), 2);
    assert_eq!(after.trash, [gone.id]);
    // The update's, the trashing's and the import's own (which stands for its creations).
    assert_eq!(after.audit.len(), before.audit.len() + 3, "{:?}", after.audit);
    assert_eq!(after.stamp, before.stamp + 1, "the book changed once, at the commit");
    assert_eq!(after.favorites, 2, "its favorites came with it");
    assert_eq!(store.discard_pending_imports(None).await.unwrap(), 0, "nothing is left pending");
}

/// An import cut off without ending (its process killed) shows nothing, holds its new
/// contacts' keys, and is removed by the next start's sweep. For a store whose imports
/// write in short transactions (SQLite); a PostgreSQL transaction just rolls back.
pub async fn cut_off_import_is_discarded(store: &dyn Store) {
    let acme = domain(store, "acme.example").await;
    let book = shared(&acme);
    let kept = contact(store, book, named("Kept", "One")).await;
    let before = store.list_contacts(book, &ListQuery::default()).await.unwrap();
    let mut writer = store.begin_import(book).await.unwrap();
    let create = ImportChange::Create(fields(named("Cut", "Off")).into());
    let update =
        ImportChange::Update { id: kept.id, fields: fields(named("Kept", "Changed")), audit: audit_in(acme.id, "x") };
    let created = writer.apply(vec![create, update]).await.unwrap()[0];
    // As if the process died: no commit, no discard, no drop.
    std::mem::forget(writer);
    assert!(store.contact(book, created).await.unwrap().is_none());
    assert!(is_conflict(store.create_contact(book, fields(named("Cut", "Off")), audit("contact.create")).await));

    assert_eq!(store.discard_pending_imports(None).await.unwrap(), 1);
    assert_eq!(store.discard_pending_imports(None).await.unwrap(), 0);
    let after = store.list_contacts(book, &ListQuery::default()).await.unwrap();
    assert_eq!(after.items, before.items, "the book is as it was");
    assert!(audit_actions(store, acme.id).await.is_empty(), "{:?}", audit_actions(store, acme.id).await);
    store.create_contact(book, fields(named("Cut", "Off")), audit_in(acme.id, "contact.create")).await.unwrap();
}

/// Text as people and files leave it, with everything a bulk format could misread: tabs,
/// line breaks, backslashes, `\N` (text `COPY`'s NULL), `\.` (its end of data), quotes,
/// combining marks and emoji.
const HOSTILE: &str = "\\N \\. back\\slash \\\\ \"double\" 'single' ; , | ✓ Zoë e\u{301} 😀";

/// An import writes every value exactly as given (PostgreSQL sends its rows by binary
/// `COPY`): contacts with hostile text in every kind of column, NULLs beside empty texts,
/// their details, audit records whose raw text holds tabs and line breaks (an update's and
/// the import's own, which stands for its creations); and its new contacts reach the
/// feed, with the one it also changed noted once.
pub async fn imports_keep_every_character(store: &dyn Store) {
    let acme = domain(store, "acme.example").await;
    let book = shared(&acme);
    let hostile = |first: &str| ContactInput {
        company: format!("{HOSTILE} & Co"),
        title: HOSTILE.into(),
        // No number in it: kept as typed, with no E.164 (a NULL column beside it).
        work_phone: "ask reception \\N".into(),
        notes: format!("one\ttab\nnew line\r\ncarriage\n\\N\n\\.\n{HOSTILE}"),
        nickname: HOSTILE.into(),
        extra: vec![ExtraProperty {
            format: ExtraFormat::Vcard,
            name: "X-NOTE;TYPE=\"a\\b\"".into(),
            value: format!("tab\there\nline\\N{HOSTILE}"),
        }],
        ..named(first, "O'Brien-Øster \\N 😀")
    };
    let inputs = [hostile("Ann"), hostile("Bob"), named("Plain", "Row")];
    let raw_actor = "import\tby\nsomeone \\N \\. 😀";
    let record = |n: usize, action: &str| AuditRecord {
        actor: raw_actor.into(),
        details: json!({ "import_row": n, "text": format!("{HOSTILE}\t\n") }),
        ..audit_in(acme.id, action)
    };
    let changes: Vec<ImportChange> =
        inputs.iter().map(|input| ImportChange::Create(fields(input.clone()).into())).collect();
    let mut writer = store.begin_import(book).await.unwrap();
    let created = writer.apply(changes).await.unwrap();
    // The last one is changed again by the same import: one feed row for it all the same.
    let retitled = fields(ContactInput { title: "Retitled".into(), ..named("Plain", "Row") });
    let audit = AuditRecord { target_id: Some(created[2]), ..record(9, "contact.update") };
    writer.apply(vec![ImportChange::Update { id: created[2], fields: retitled.clone(), audit }]).await.unwrap();
    writer.commit(record(0, "contacts.import"), &[]).await.unwrap();

    for ((id, input), expected) in created.iter().zip(&inputs).zip([None, None, Some(&retitled)]) {
        let stored = store.contact(book, *id).await.unwrap().unwrap();
        assert_eq!(&stored.fields, expected.unwrap_or(&fields(input.clone())), "every character kept");
    }
    let ann = store.contact(book, created[0]).await.unwrap().unwrap();
    let work = ann.fields.work_phone().unwrap();
    assert_eq!((work.typed.as_str(), work.e164.as_deref()), ("ask reception \\N", None));
    assert_eq!(ann.fields.email(), "", "an empty text stays empty, not NULL");
    let found = store.list_contacts(book, &search_for("back\\slash")).await.unwrap();
    assert_eq!(found.items.len(), 2, "the search text is whole");

    let page = store.list_audit(acme.id, &AuditFilter::default(), limit(500), None).await.unwrap();
    let actions: Vec<&str> = page.items.iter().map(|entry| entry.action.as_str()).collect();
    assert_eq!(actions, ["contacts.import", "contact.update"], "no record per created contact");
    for entry in &page.items {
        assert_eq!(entry.actor, raw_actor);
        assert_eq!(entry.details["text"], format!("{HOSTILE}\t\n"));
    }
    assert_eq!(page.items[1].target_id, Some(created[2]), "names the contact it changed");

    let feed = store.feed_rows(acme.id, Uuid::nil(), crate::FeedPosition::START, 100).await.unwrap();
    let mut entries: Vec<Uuid> = feed.iter().map(|row| row.entry_id).collect();
    entries.sort();
    let mut expected = created.clone();
    expected.sort();
    assert_eq!(entries, expected, "each created contact once");
    assert!(feed.iter().all(|row| row.seq == feed[0].seq), "one number for the whole import");
}

/// Imports dropped while they write (cancelled uploads), at every point of a batch, leave
/// nothing behind and every connection of the store usable: PostgreSQL's bulk `COPY` is
/// never cut off half-way (it would leave its connection out of step with the server).
pub async fn imports_dropped_while_writing(store: &dyn Store) {
    let acme = domain(store, "acme.example").await;
    let book = shared(&acme);
    let row = |n: usize| {
        let input = ContactInput { notes: "x".repeat(500), ..named("Dropped", &format!("Row {n}")) };
        ImportChange::Create(fields(input).into())
    };
    let rows: Vec<ImportChange> = (0..3000).map(row).collect();
    for wait in [0, 1, 2, 5, 10, 20, 40, 80, 160] {
        let mut writer = store.begin_import(book).await.unwrap();
        let cut = tokio::time::timeout(std::time::Duration::from_millis(wait), writer.apply(rows.clone())).await;
        drop(cut);
        drop(writer);
    }
    // More writes and reads than the pool has connections, each on whichever it gets.
    for n in 0..30 {
        contact(store, book, named("After", &n.to_string())).await;
        store.list_contacts(book, &ListQuery::default()).await.unwrap();
    }
    let all = ListQuery { limit: limit(500), ..ListQuery::default() };
    let names: Vec<String> =
        store.list_contacts(book, &all).await.unwrap().items.into_iter().map(|c| c.fields.first_name).collect();
    assert_eq!(names.len(), 30, "only the contacts written after: {names:?}");
    assert!(names.iter().all(|name| name == "After"));
}
