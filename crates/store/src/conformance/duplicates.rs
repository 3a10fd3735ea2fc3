//! Conformance of [`DuplicateStore`](crate::DuplicateStore): finding, dismissing and merging duplicates.

use switchboard_core::contact::ContactInput;

use super::*;
use crate::{DuplicateGroup, Merge, RowKeys};

fn person(first: &str, last: &str, work: &str, mobile: &str, email: &str) -> ContactInput {
    ContactInput { work_phone: work.into(), mobile_phone: mobile.into(), email: email.into(), ..named(first, last) }
}

async fn groups(store: &dyn Store, book: Book) -> Vec<DuplicateGroup> {
    store.duplicate_groups(book, 50, None).await.unwrap().groups
}

fn keys_and_ids(groups: &[DuplicateGroup]) -> Vec<(String, Vec<Uuid>)> {
    groups.iter().map(|g| (g.key.clone(), g.contacts.iter().map(|c| c.id).collect())).collect()
}

/// Same email (case aside), same E.164 number in any spelling and column, same names with
/// a company: each is a group of its book, and nothing else is.
pub async fn duplicates_are_found_by_number_email_and_name(store: &dyn Store) {
    let acme = domain(store, "acme.example").await;
    let other = domain(store, "other.example").await;
    let ann = user(store, &acme, "200", "Ann", "A").await;
    let book = shared(&acme);
    let bob = contact(store, book, person("Bob", "Smith", "(206) 555-0100", "", "bob@example.com")).await;
    let robert = contact(store, book, person("Robert", "Smith", "", "206 555 0101", "BOB@example.com")).await;
    let desk = contact(store, book, person("Front", "Desk", "", "+1 206-555-0100", "")).await;
    let acme_a = contact(store, book, ContactInput { company: "Acme".into(), ..named("Dee", "Lane") }).await;
    let acme_b = contact(
        store,
        book,
        ContactInput { company: "ACME".into(), mobile_phone: "206 555 0177".into(), ..named("dee", "Lané") },
    )
    .await;
    contact(store, book, named("Dee", "Lane")).await; // no company: names alone are not enough
    contact(store, book, person("Solo", "Person", "206 555 0199", "", "solo@example.com")).await;
    contact(store, personal(&ann), person("Bob", "Smith", "206 555 0100", "", "bob@example.com")).await;
    contact(store, shared(&other), person("Bob", "Smith", "206 555 0100", "", "bob@example.com")).await;

    let found = groups(store, book).await;
    assert_eq!(
        keys_and_ids(&found),
        [
            ("email:bob@example.com".to_string(), vec![bob.id, robert.id]),
            (format!("name:{}", acme_a.fields.sort_key()), vec![acme_a.id, acme_b.id]),
            ("phone:+12065550100".to_string(), vec![bob.id, desk.id]),
        ]
    );
    assert_eq!(found[0].size, 2);
    assert!(groups(store, personal(&ann)).await.is_empty(), "one contact in the book is no duplicate");

    let first = store.duplicate_groups(book, 1, None).await.unwrap();
    assert_eq!(first.groups.len(), 1);
    let rest = store.duplicate_groups(book, 5, first.next_key.as_deref()).await.unwrap();
    assert_eq!(rest.groups.len(), 2, "the next page starts after the last key");
    assert_eq!(rest.next_key, None);
}

/// A pair marked not duplicates is left out; in a larger group, only a contact apart from all others.
pub async fn not_duplicates_are_left_out(store: &dyn Store) {
    let acme = domain(store, "acme.example").await;
    let other = domain(store, "other.example").await;
    let book = shared(&acme);
    let a = contact(store, book, person("Ann", "One", "206 555 0100", "", "")).await;
    let b = contact(store, book, person("Ann", "Two", "206 555 0100", "", "")).await;
    store.mark_not_duplicates(book, b.id, a.id, audit_in(acme.id, "contact.not_duplicates")).await.unwrap();
    store.mark_not_duplicates(book, a.id, b.id, audit_in(acme.id, "contact.not_duplicates")).await.unwrap();
    assert!(groups(store, book).await.is_empty());
    let c = contact(store, book, person("Ann", "Three", "206 555 0100", "", "")).await;
    assert_eq!(keys_and_ids(&groups(store, book).await)[0].1, [a.id, b.id, c.id], "each still has a partner");
    assert!(is_not_found(store.mark_not_duplicates(shared(&other), a.id, c.id, audit_in(other.id, "x")).await));
    assert_eq!(store.table_counts().await.unwrap()["not_duplicates"], 1);
}

/// A merge trashes the others, gives the survivor the merged fields, and leads the merged
/// ids (imports) and stars (favorites) to it; restoring a merged contact undoes its part.
pub async fn merges_lead_everything_to_the_survivor(store: &dyn Store) {
    let acme = domain(store, "acme.example").await;
    let vera = user(store, &acme, "100", "Vera", "V").await;
    let book = shared(&acme);
    let bob = contact(store, book, person("Bob", "Smith", "206 555 0100", "", "bob@example.com")).await;
    let robert = contact(store, book, person("Robert", "Smith", "", "206 555 0101", "bob@example.com")).await;
    store.set_favorite(vera.id, robert.id, true).await.unwrap();
    let merged_fields = fields(person("Bob", "Smith", "206 555 0100", "206 555 0101", "bob@example.com"));
    let merge = |version: i64| Merge {
        book,
        survivor: (bob.id, bob.version),
        fields: merged_fields.clone(),
        merged: vec![(robert.id, version)],
    };
    let stale = store.merge_contacts(merge(robert.version + 1), audit_in(acme.id, "contact.merge")).await;
    assert!(matches!(stale, Err(StoreError::Stale { .. })), "{stale:?}");
    let survivor = store.merge_contacts(merge(robert.version), audit_in(acme.id, "contact.merge")).await.unwrap();
    assert_eq!((survivor.id, survivor.fields.phones.len()), (bob.id, 2));
    assert!(store.contact(book, robert.id).await.unwrap().unwrap().deleted_at.is_some());
    assert!(groups(store, book).await.is_empty());

    let mut import = store.begin_import(book).await.unwrap();
    let row = RowKeys::new(Some(robert.id), &fields(named("Robert", "Smith")));
    let matched = import.matching_contacts(&[row]).await.unwrap();
    assert_eq!(matched[0].as_ref().map(|c| c.id), Some(bob.id), "the merged UID finds the survivor");
    import.discard().await.unwrap();

    let query = DirectoryQuery {
        domain_id: acme.id,
        viewer_id: vera.id,
        include_shared: true,
        include_own: true,
        group: Group::Favorites,
        list: ListQuery::default(),
    };
    assert_eq!(entry_ids(&store.directory(&query).await.unwrap()), [bob.id], "the star moved along");

    store.restore_contact(book, robert.id, audit_in(acme.id, "contact.restore")).await.unwrap();
    let mut import = store.begin_import(book).await.unwrap();
    let row = RowKeys::new(Some(robert.id), &fields(named("Robert", "Smith")));
    let matched = import.matching_contacts(&[row]).await.unwrap();
    assert_eq!(matched[0].as_ref().map(|c| c.id), Some(robert.id), "restored, it stands for itself");
    import.discard().await.unwrap();
    assert_eq!(entry_ids(&store.directory(&query).await.unwrap()).len(), 2, "and has its star back");
    assert_eq!(store.table_counts().await.unwrap()["merged_contacts"], 0);
}
