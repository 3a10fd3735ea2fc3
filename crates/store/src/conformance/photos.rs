//! Conformance of [`PhotoStore`](crate::PhotoStore): a contact's photo, and how it
//! follows its contact through the trash, a merge, an import, a deleted user and a copy.

use super::*;
use crate::{Merge, NewPhoto};

/// Bytes of every value, so a back-end that treats them as text would show it.
pub(super) fn png(seed: u8) -> NewPhoto {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.extend((0..=255u8).map(|b| b.wrapping_add(seed)));
    NewPhoto { media_type: "image/png".into(), hash: format!("hash-{seed}"), bytes }
}

async fn photo_of(store: &dyn Store, book: Book, id: Uuid) -> Option<Vec<u8>> {
    store.photo(book, id).await.unwrap().map(|photo| photo.bytes)
}

/// Set, read, replace and remove, each a change of the contact (version, audit, change
/// counter); other books and domains never reach it.
pub async fn photos(store: &dyn Store) {
    let acme = domain(store, "acme.example").await;
    let other = domain(store, "other.example").await;
    let ann = user(store, &acme, "200", "Ann", "A").await;
    let book = shared(&acme);
    let bob = contact(store, book, named("Bob", "Smith")).await;
    assert!(!bob.has_photo);
    assert_eq!(store.photo(book, bob.id).await.unwrap(), None);

    let stamp = store.change_stamp(acme.id).await.unwrap().unwrap();
    let with = store.set_photo(book, bob.id, png(1), audit_in(acme.id, "contact.photo_set")).await.unwrap();
    assert!(with.has_photo);
    assert_eq!(with.version, bob.version + 1, "a photo is a change of its contact");
    assert!(store.change_stamp(acme.id).await.unwrap().unwrap().seq > stamp.seq, "phones' books see a change");
    let stored = store.photo(book, bob.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.media_type.as_str(), stored.bytes.clone(), stored.hash.as_str()),
        ("image/png", png(1).bytes, "hash-1")
    );
    assert!(store.contact(book, bob.id).await.unwrap().unwrap().has_photo);
    let listed = store.list_contacts(book, &ListQuery::default()).await.unwrap();
    assert!(listed.items.iter().all(|c| c.has_photo == (c.id == bob.id)));

    store.set_photo(book, bob.id, png(2), audit_in(acme.id, "contact.photo_set")).await.unwrap();
    assert_eq!(photo_of(store, book, bob.id).await, Some(png(2).bytes), "replaced");

    // Another book, another domain: not found, and nothing changes.
    for elsewhere in [personal(&ann), shared(&other)] {
        assert_eq!(store.photo(elsewhere, bob.id).await.unwrap(), None);
        assert!(is_not_found(store.set_photo(elsewhere, bob.id, png(3), audit("contact.photo_set")).await));
        assert!(is_not_found(store.delete_photo(elsewhere, bob.id, audit("contact.photo_remove")).await));
    }
    assert!(is_not_found(store.set_photo(book, Uuid::now_v7(), png(3), audit("contact.photo_set")).await));
    assert_eq!(photo_of(store, book, bob.id).await, Some(png(2).bytes));

    let without = store.delete_photo(book, bob.id, audit_in(acme.id, "contact.photo_remove")).await.unwrap();
    assert!(!without.has_photo);
    assert_eq!(store.photo(book, bob.id).await.unwrap(), None);
    let again = store.delete_photo(book, bob.id, audit_in(acme.id, "contact.photo_remove")).await;
    assert!(is_not_found(again), "no photo to remove");
    assert_eq!(store.contact(book, bob.id).await.unwrap().unwrap().version, without.version, "and nothing changed");
    let actions: Vec<String> = store
        .list_audit(acme.id, &AuditFilter::default(), Limit::default(), None)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|entry| entry.action)
        .collect();
    assert_eq!(actions.iter().filter(|a| a.starts_with("contact.photo")).count(), 3);
}

/// The trash keeps a photo and a restore brings it back; a merge gives the survivor the
/// first merged photo when it has none; a purge, a deleted domain and a deleted user take
/// it with the contact (the user's restore brings it back).
pub async fn photos_follow_their_contacts(store: &dyn Store) {
    let acme = domain(store, "acme.example").await;
    let ann = user(store, &acme, "200", "Ann", "A").await;
    let book = shared(&acme);
    let bob = contact(store, book, named("Bob", "Smith")).await;
    store.set_photo(book, bob.id, png(1), audit_in(acme.id, "contact.photo_set")).await.unwrap();

    store.delete_contact(book, bob.id, audit_in(acme.id, "contact.delete")).await.unwrap();
    assert_eq!(store.photo(book, bob.id).await.unwrap(), None, "a trashed contact's photo is not served");
    assert!(store.contact(book, bob.id).await.unwrap().unwrap().has_photo, "but kept");
    let restored = store.restore_contact(book, bob.id, audit_in(acme.id, "contact.restore")).await.unwrap();
    assert!(restored.has_photo);
    assert_eq!(photo_of(store, book, bob.id).await, Some(png(1).bytes));

    // Merges: the survivor keeps its own; else takes the first merged one's.
    let plain = contact(store, book, named("Plain", "One")).await;
    let bare = contact(store, book, named("Bare", "Two")).await;
    let pictured = contact(store, book, named("Pictured", "Three")).await;
    let pictured = store.set_photo(book, pictured.id, png(7), audit_in(acme.id, "contact.photo_set")).await.unwrap();
    let merge = |survivor: &Contact, merged: &[&Contact]| Merge {
        book,
        survivor: (survivor.id, survivor.version),
        fields: survivor.fields.clone(),
        merged: merged.iter().map(|c| (c.id, c.version)).collect(),
    };
    let merged = store.merge_contacts(merge(&plain, &[&bare, &pictured]), audit_in(acme.id, "contact.merge")).await;
    let merged = merged.unwrap();
    assert!(merged.has_photo);
    assert_eq!(photo_of(store, book, plain.id).await, Some(png(7).bytes));
    let restored = store.restore_contact(book, pictured.id, audit_in(acme.id, "contact.restore")).await.unwrap();
    assert!(restored.has_photo, "the merged contact kept its own");
    let bob = store.contact(book, bob.id).await.unwrap().unwrap();
    let pictured = store.contact(book, pictured.id).await.unwrap().unwrap();
    store.merge_contacts(merge(&bob, &[&pictured]), audit_in(acme.id, "contact.merge")).await.unwrap();
    assert_eq!(photo_of(store, book, bob.id).await, Some(png(1).bytes), "the survivor keeps its own");

    // A deleted user's contacts keep their photos until the user is restored.
    let own = contact(store, personal(&ann), named("Own", "Contact")).await;
    store.set_photo(personal(&ann), own.id, png(9), audit_in(acme.id, "contact.photo_set")).await.unwrap();
    store.delete_user(ann.id, audit_in(acme.id, "user.delete")).await.unwrap();
    assert_eq!(store.table_counts().await.unwrap()["contact_photos"], 3);
    store.restore_user(acme.id, ann.id, audit_in(acme.id, "user.restore")).await.unwrap();
    assert_eq!(photo_of(store, personal(&ann), own.id).await, Some(png(9).bytes));

    // Purged from the trash, or with the domain: gone.
    store.delete_contact(book, plain.id, audit_in(acme.id, "contact.delete")).await.unwrap();
    store.purge_trash(Utc::now() + TimeDelta::seconds(1)).await.unwrap();
    assert_eq!(store.table_counts().await.unwrap()["contact_photos"], 2);
    store.delete_domain(acme.id, audit("domain.delete")).await.unwrap();
    assert_eq!(store.table_counts().await.unwrap()["contact_photos"], 0);
}

/// An import's photos show with the rest at its commit, and a discarded one leaves none.
pub async fn imports_bring_photos(store: &dyn Store) {
    let acme = domain(store, "acme.example").await;
    let book = shared(&acme);
    let old = contact(store, book, named("Old", "Friend")).await;
    let mut import = store.begin_import(book).await.unwrap();
    let created = import.apply(vec![ImportChange::Create(fields(named("New", "Face")).into())]).await.unwrap();
    let audit = audit_in(acme.id, "contact.update");
    import
        .apply(vec![ImportChange::Update { id: old.id, fields: fields(named("Old", "Friend")), audit }])
        .await
        .unwrap();
    import.set_photos(&[(created[0], png(1)), (old.id, png(2))]).await.unwrap();
    assert_eq!(store.photo(book, old.id).await.unwrap(), None, "nothing shows before the commit");
    import.commit(audit_in(acme.id, "contacts.import"), &[]).await.unwrap();
    assert_eq!(photo_of(store, book, created[0]).await, Some(png(1).bytes));
    assert_eq!(photo_of(store, book, old.id).await, Some(png(2).bytes));

    let mut discarded = store.begin_import(book).await.unwrap();
    discarded.set_photos(&[(old.id, png(3))]).await.unwrap();
    discarded.discard().await.unwrap();
    assert_eq!(photo_of(store, book, old.id).await, Some(png(2).bytes), "a discarded import changes nothing");
}
