//! Conformance of [`CallerIdStore`](crate::CallerIdStore): look-up keys and block/allow lists.

use switchboard_core::contact::ContactInput;
use switchboard_core::paging::{Cursor, Sort};

use super::*;
use crate::{ImportChange, NewAllowedNumber, NewBlockedNumber};

async fn candidates(store: &dyn Store, book: Book, key: &str, e164: Option<&str>) -> Vec<Uuid> {
    store.contacts_by_lookup_key(book, key, e164, 50).await.unwrap().iter().map(|c| c.id).collect()
}

fn with_work(first: &str, work: &str) -> ContactInput {
    ContactInput { work_phone: work.into(), ..named(first, "Number") }
}

/// Every format of one number is found by one key, in its own book and domain only.
pub async fn lookup_keys(store: &dyn Store) {
    let acme = domain(store, "acme.example").await;
    let other = domain(store, "other.example").await;
    let (ann, ben) = (user(store, &acme, "200", "Ann", "A").await, user(store, &acme, "201", "Ben", "B").await);
    let book = shared(&acme);
    let plus = contact(store, book, with_work("Plus", "+1 (206) 555-0100")).await;
    let dots = contact(store, book, ContactInput { mobile_phone: "206.555.0100".into(), ..named("Dots", "N") }).await;
    let bare = contact(store, book, ContactInput { home_phone: "12065550100".into(), ..named("Bare", "N") }).await;
    let local = contact(store, book, ContactInput { fax: "555-0100".into(), ..named("Local", "N") }).await;
    let elsewhere = contact(store, book, with_work("Elsewhere", "+1 425 555 0100")).await;
    contact(store, book, with_work("Unrelated", "+1 206 555 0199")).await;
    let extension = contact(store, book, with_work("Desk", "200")).await;
    let anns = contact(store, personal(&ann), with_work("Anns", "(206) 555-0100")).await;
    contact(store, shared(&other), with_work("Foreign", "+1 206 555 0100")).await;

    let found = candidates(store, book, "5550100", Some("+12065550100")).await;
    assert_eq!(found.len(), 5, "every number ending in 5550100, in any column and format: {found:?}");
    let exact: BTreeSet<Uuid> = found[..3].iter().copied().collect();
    assert_eq!(exact, BTreeSet::from([plus.id, dots.id, bare.id]), "those with the E.164 come first");
    assert_eq!(BTreeSet::from([found[3], found[4]]), BTreeSet::from([local.id, elsewhere.id]));
    assert_eq!(candidates(store, book, "200", None).await, [extension.id], "a short code is its own key");
    assert_eq!(candidates(store, personal(&ann), "5550100", None).await, [anns.id], "a personal book");
    assert!(candidates(store, personal(&ben), "5550100", None).await.is_empty(), "someone else's book");
    assert_eq!(store.contacts_by_lookup_key(book, "5550100", None, 2).await.unwrap().len(), 2, "the limit holds");

    // Keys follow changes: an edit, the trash, an import.
    let edited = fields(with_work("Plus", "+1 206 555 0123"));
    store.update_contact(book, plus.id, None, edited, audit_in(acme.id, "contact.update")).await.unwrap();
    store.delete_contact(book, dots.id, audit_in(acme.id, "contact.delete")).await.unwrap();
    assert_eq!(candidates(store, book, "5550123", None).await, [plus.id]);
    let found = candidates(store, book, "5550100", None).await;
    assert!(!found.contains(&plus.id) && !found.contains(&dots.id), "old and trashed numbers are gone: {found:?}");
    let mut writer = store.begin_import(book).await.unwrap();
    let imported = fields(with_work("Imported", "+1 206 555 0177"));
    let created = writer.apply(vec![ImportChange::Create(imported.into())]).await.unwrap();
    writer.commit(audit_in(acme.id, "contacts.import"), &[]).await.unwrap();
    assert_eq!(candidates(store, book, "5550177", Some("+12065550177")).await, created);
}

fn blocked(domain: &Domain, pattern: &str, is_prefix: bool) -> NewBlockedNumber {
    NewBlockedNumber {
        domain_id: domain.id,
        pattern: pattern.into(),
        is_prefix,
        note: format!("{pattern} for tests"),
        created_by: "cli".into(),
    }
}

fn allowed(user: &User, number: &str) -> NewAllowedNumber {
    NewAllowedNumber {
        domain_id: user.domain_id,
        user_id: user.id,
        number: number.into(),
        note: String::new(),
        created_by: "cli".into(),
    }
}

/// A domain's block list and its users' allow lists: unique, paged, scoped, audited.
pub async fn block_and_allow_lists(store: &dyn Store) {
    let acme = domain(store, "acme.example").await;
    let other = domain(store, "other.example").await;
    let add = async |domain: &Domain, pattern: &str, is_prefix: bool| {
        store.add_blocked_number(blocked(domain, pattern, is_prefix), audit_in(domain.id, "blocked_number.add")).await
    };
    let premium = add(&acme, "+1900", true).await.unwrap();
    assert_eq!((premium.pattern.as_str(), premium.is_prefix, premium.created_by.as_str()), ("+1900", true, "cli"));
    let spammer = add(&acme, "+12065550100", false).await.unwrap();
    add(&acme, "+44", true).await.unwrap();
    assert!(is_conflict(add(&acme, "+1900", false).await), "a pattern is listed once");
    let foreign = add(&other, "+12065550100", false).await.unwrap();

    let mut patterns = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = store.list_blocked_numbers(acme.id, limit(2), after.as_deref()).await.unwrap();
        patterns.extend(page.items.iter().map(|entry| entry.pattern.clone()));
        let Some(next) = page.next_cursor else { break };
        after = Cursor::decode(&next, Sort::Name).unwrap().key;
    }
    assert_eq!(patterns, ["+12065550100", "+1900", "+44"], "by pattern, in pages, this domain's only");

    let prefixes: Vec<String> = (2..=12).map(|end| "+12065550100"[..end].to_string()).collect();
    let among = store.blocked_numbers_among(acme.id, &prefixes).await.unwrap();
    assert_eq!(ids(&among, |entry| entry.id), [spammer.id]);
    assert!(store.blocked_numbers_among(acme.id, &[]).await.unwrap().is_empty());

    assert!(is_not_found(store.delete_blocked_number(acme.id, foreign.id, audit_in(acme.id, "x")).await));
    let removed = store.delete_blocked_number(acme.id, premium.id, audit_in(acme.id, "blocked_number.remove")).await;
    assert_eq!(removed.unwrap(), premium);
    assert!(is_not_found(store.delete_blocked_number(acme.id, premium.id, audit_in(acme.id, "x")).await));

    let (ann, ben) = (user(store, &acme, "200", "Ann", "A").await, user(store, &acme, "201", "Ben", "B").await);
    let allow = async |user: &User, number: &str| {
        store.add_allowed_number(allowed(user, number), audit_in(user.domain_id, "allowed_number.add")).await
    };
    let anns = allow(&ann, "+12065550100").await.unwrap();
    allow(&ann, "+12065550111").await.unwrap();
    assert!(is_conflict(allow(&ann, "+12065550100").await));
    allow(&ben, "+12065550100").await.unwrap();
    assert_eq!(store.allowed_number(acme.id, ann.id, "+12065550100").await.unwrap(), Some(anns.clone()));
    assert!(store.allowed_number(other.id, ann.id, "+12065550100").await.unwrap().is_none(), "keyed by domain");
    let page = store.list_allowed_numbers(acme.id, ann.id, limit(1), None).await.unwrap();
    assert_eq!(ids(&page.items, |entry| entry.id), [anns.id]);
    let after = Cursor::decode(&page.next_cursor.unwrap(), Sort::Name).unwrap().key;
    let rest = store.list_allowed_numbers(acme.id, ann.id, limit(1), after.as_deref()).await.unwrap();
    assert_eq!((rest.items[0].number.as_str(), rest.next_cursor), ("+12065550111", None));
    assert!(is_not_found(store.delete_allowed_number(acme.id, ben.id, anns.id, audit_in(acme.id, "x")).await));
    store.delete_allowed_number(acme.id, ann.id, anns.id, audit_in(acme.id, "allowed_number.remove")).await.unwrap();
    assert!(store.allowed_number(acme.id, ann.id, "+12065550100").await.unwrap().is_none());

    let actions = audit_actions(store, acme.id).await;
    for action in ["blocked_number.add", "blocked_number.remove", "allowed_number.add", "allowed_number.remove"] {
        assert!(actions.contains(&action.to_string()), "{action} in {actions:?}");
    }
    // Lists go with their user and their domain.
    store.delete_user(ben.id, audit_in(acme.id, "user.delete")).await.unwrap();
    assert!(store.allowed_number(acme.id, ben.id, "+12065550100").await.unwrap().is_none());
    store.delete_domain(acme.id, audit("domain.delete")).await.unwrap();
    let counts = store.table_counts().await.unwrap();
    assert_eq!((counts["blocked_numbers"], counts["allowed_numbers"]), (1, 0), "only the other domain's entry is left");
}
