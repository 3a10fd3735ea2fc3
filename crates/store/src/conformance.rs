//! What every back-end must do, as async test functions over `&dyn Store`. Each
//! function expects a fresh, empty database. `tests/sqlite.rs` and `tests/postgres.rs`
//! run them all through [`conformance_tests!`](crate::conformance_tests); [`copy`]
//! takes two stores, to check `db copy` between back-ends.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Map, Value, json};
use switchboard_core::contact::{ContactFields, ContactInput, NumberKind};
use switchboard_core::event::{ContactAction, Event, EventBook, EventKind};
use switchboard_core::model::{
    Book, Contact, DirectoryEntry, Domain, EntryKind, LineState, NumberView, Presence, PresenceState, TokenKind, User,
};
use switchboard_core::paging::{Cursor, Limit, Page, Sort};
use switchboard_core::phone::Country;
use switchboard_core::text::{SearchTerm, name_sort_key};
use switchboard_core::{DomainName, Scope};
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::DavName;
use crate::presence::{LineUpdate, NewPbxCredential};
use crate::webhooks::NewWebhook;
use crate::{
    AuditFilter, AuditRecord, BookPart, COPY_TABLES, CardVersion, DeviceKey, DirectoryQuery, DomainPatch, Group,
    ImportChange, Layer, ListQuery, LoginFailures, NewAllowedNumber, NewDevice, NewDomain, NewToken, NewUser,
    PresenceTimers, Result, Store, StoreError, TokenOwner, UserFilter, UserPatch,
};

/// Generates one `#[tokio::test]` per single-store conformance function. `$run` is an
/// async function that makes a fresh store and calls the test function it is given.
#[macro_export]
macro_rules! conformance_tests {
    ($run:path) => {
        $crate::conformance_tests!(@each $run;
            basics,
            resellers_and_domains,
            domains_page_and_search,
            users,
            users_page_search_and_site,
            users_of_a_scope,
            contacts,
            duplicate_contacts,
            trash_restore_and_purge,
            trash_pages,
            tenant_scoping,
            search,
            paging_in_every_sort,
            directory_groups,
            directory_entries,
            book_rows,
            directory_pages_and_search,
            departments_and_sites,
            favorites,
            favorites_first_and_counts,
            presence,
            line_presence,
            session_presence,
            pbx_credentials,
            settings_layers,
            audit_with_every_change,
            audit_pages,
            audit_filters,
            tokens,
            token_owners,
            login_failures,
            duplicates_are_found_by_number_email_and_name,
            not_duplicates_are_left_out,
            merges_lead_everything_to_the_survivor,
            counted_login_failures,
            purges_of_expired_logins,
            password_changes,
            devices,
            deleted_users,
            change_stamps,
            dav_names,
            imports,
            imports_show_nothing_until_committed,
            imports_keep_every_character,
            imports_dropped_while_writing,
            events,
            events_by_domain,
            lookup_keys,
            block_and_allow_lists,
            photos,
            photos_follow_their_contacts,
            imports_bring_photos,
            app_passwords,
        );
    };
    (@each $run:path; $($test:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $test() {
                $run($crate::conformance::$test).await;
            }
        )*
    };
}

mod app_passwords;
pub use app_passwords::app_passwords;
mod callerid;
pub use callerid::{block_and_allow_lists, lookup_keys};
mod logins;
pub use logins::{counted_login_failures, password_changes, purges_of_expired_logins};
mod duplicates;
mod imports;
pub use duplicates::{
    duplicates_are_found_by_number_email_and_name, merges_lead_everything_to_the_survivor, not_duplicates_are_left_out,
};
pub use imports::{
    cut_off_import_is_discarded, imports_dropped_while_writing, imports_keep_every_character,
    imports_show_nothing_until_committed,
};
mod photos;
pub use photos::{imports_bring_photos, photos, photos_follow_their_contacts};

// Helpers.

fn audit(action: &str) -> AuditRecord {
    AuditRecord { domain_id: None, actor: "cli".into(), action: action.into(), target_id: None, details: json!({}) }
}

fn audit_in(domain_id: Uuid, action: &str) -> AuditRecord {
    AuditRecord { domain_id: Some(domain_id), ..audit(action) }
}

async fn domain(store: &dyn Store, name: &str) -> Domain {
    let new = NewDomain { name: name.parse().unwrap(), description: format!("{name} for tests"), reseller_id: None };
    store.create_domain(new, audit("domain.create")).await.unwrap()
}

fn new_user(domain: &Domain, extension: &str, first: &str, last: &str) -> NewUser {
    NewUser {
        domain_id: domain.id,
        extension: extension.parse().unwrap(),
        first_name: first.into(),
        last_name: last.into(),
        email: format!("{}@{}", first.to_lowercase(), domain.name),
        department: String::new(),
        site: String::new(),
        scope: Scope::BasicUser,
        listed: true,
        password_hash: format!("hash-{extension}"),
    }
}

async fn user(store: &dyn Store, domain: &Domain, extension: &str, first: &str, last: &str) -> User {
    store.create_user(new_user(domain, extension, first, last), audit("user.create")).await.unwrap()
}

fn named(first: &str, last: &str) -> ContactInput {
    ContactInput { first_name: first.into(), last_name: last.into(), ..Default::default() }
}

fn fields(input: ContactInput) -> ContactFields {
    ContactFields::parse(&input, Country::default()).unwrap()
}

async fn contact(store: &dyn Store, book: Book, input: ContactInput) -> Contact {
    store.create_contact(book, fields(input), audit("contact.create")).await.unwrap()
}

fn shared(domain: &Domain) -> Book {
    Book::Shared { domain_id: domain.id }
}

fn personal(user: &User) -> Book {
    Book::Personal { domain_id: user.domain_id, owner_id: user.id }
}

fn limit(n: u32) -> Limit {
    Limit::parse(Some(n)).unwrap()
}

fn sorted(sort: Sort, n: u32) -> ListQuery {
    ListQuery { sort, limit: limit(n), ..Default::default() }
}

fn of_site(site: &str) -> UserFilter {
    UserFilter { site: Some(site.into()), ..Default::default() }
}

fn search_for(term: &str) -> ListQuery {
    ListQuery { search: SearchTerm::parse(term).unwrap(), ..Default::default() }
}

/// Now, at the microsecond precision the store keeps.
fn micros_now() -> DateTime<Utc> {
    DateTime::from_timestamp_micros(Utc::now().timestamp_micros()).unwrap()
}

fn ids<T>(items: &[T], id: impl Fn(&T) -> Uuid) -> Vec<Uuid> {
    items.iter().map(id).collect()
}

fn contact_ids(page: &Page<Contact>) -> Vec<Uuid> {
    ids(&page.items, |c| c.id)
}

fn entry_ids(page: &Page<DirectoryEntry>) -> Vec<Uuid> {
    ids(&page.items, |e| e.id)
}

/// Follows `next_cursor` to the end, checking that only full pages have a next one.
async fn all_pages<T>(mut list: ListQuery, fetch: impl AsyncFn(&ListQuery) -> Result<Page<T>>) -> Vec<T> {
    let mut items = Vec::new();
    for _ in 0..10_000 {
        let page = fetch(&list).await.unwrap();
        let full = page.items.len() == list.limit.get() as usize;
        assert!(page.items.len() <= list.limit.get() as usize, "a page is never longer than its limit");
        items.extend(page.items);
        match page.next_cursor {
            Some(next) => {
                assert!(full, "only a full page may have a next page");
                list.after = Some(Cursor::decode(&next, list.sort).unwrap());
            }
            None => return items,
        }
    }
    panic!("paging never ended");
}

async fn audit_actions(store: &dyn Store, domain_id: Uuid) -> Vec<String> {
    let page = store.list_audit(domain_id, &AuditFilter::default(), limit(500), None).await.unwrap();
    page.items.into_iter().map(|entry| entry.action).collect()
}

fn is_conflict<T: std::fmt::Debug>(result: Result<T>) -> bool {
    matches!(result, Err(StoreError::Conflict(_)))
}

/// A presence as set by hand (and so shown as it is, with no line or session).
fn by_hand(state: PresenceState, chat: bool, message: impl Into<String>) -> Presence {
    Presence { state, chat, message: message.into(), manual_state: Some(state), ..Presence::default() }
}

fn is_not_found<T: std::fmt::Debug>(result: Result<T>) -> bool {
    matches!(result, Err(StoreError::NotFound))
}

// The tests.

pub async fn basics(store: &dyn Store) {
    store.ping().await.unwrap();
    let (in_use, idle) = store.pool_state();
    assert!(in_use + idle >= 1, "a store that answered has a connection");
    let counts = store.table_counts().await.unwrap();
    let tables: BTreeSet<&str> = counts.keys().map(String::as_str).collect();
    assert_eq!(tables, COPY_TABLES.iter().copied().collect());
    assert!(counts.values().all(|count| *count == 0), "a fresh database is empty: {counts:?}");
}

pub async fn resellers_and_domains(store: &dyn Store) {
    let reseller = store.create_reseller("Northwind").await.unwrap();
    assert!(is_conflict(store.create_reseller("Northwind").await));
    assert_eq!(store.reseller_by_name("Northwind").await.unwrap(), Some(reseller.clone()));
    assert_eq!(store.reseller_by_name("Southwind").await.unwrap(), None);

    let new =
        NewDomain { name: "acme.example".parse().unwrap(), description: "Acme".into(), reseller_id: Some(reseller.id) };
    let acme = store.create_domain(new.clone(), audit("domain.create")).await.unwrap();
    assert_eq!((acme.name.as_str(), acme.description.as_str()), ("acme.example", "Acme"));
    assert_eq!((acme.reseller.as_deref(), acme.reseller_id), (Some("Northwind"), Some(reseller.id)));
    assert!(is_conflict(store.create_domain(new, audit("domain.create")).await));
    assert_eq!(store.domain_by_name(&acme.name).await.unwrap(), Some(acme.clone()));
    assert_eq!(store.domain_by_id(acme.id).await.unwrap(), Some(acme.clone()));
    let missing: DomainName = "missing.example".parse().unwrap();
    assert_eq!(store.domain_by_name(&missing).await.unwrap(), None);
    assert_eq!(store.domain_by_id(Uuid::now_v7()).await.unwrap(), None);

    let bare = domain(store, "bare.example").await;
    let of_reseller = store.list_domains(Some(reseller.id), &ListQuery::default()).await.unwrap();
    assert_eq!(ids(&of_reseller.items, |d| d.id), [acme.id]);
    let all = store.list_domains(None, &ListQuery::default()).await.unwrap();
    assert_eq!(ids(&all.items, |d| d.id), [acme.id, bare.id]);

    let patch = DomainPatch { description: Some("Acme Inc.".into()), reseller_id: Some(None) };
    let updated = store.update_domain(acme.id, patch, audit_in(acme.id, "domain.update")).await.unwrap();
    assert_eq!((updated.description.as_str(), updated.reseller_id, updated.reseller), ("Acme Inc.", None, None));
    assert!(updated.updated_at >= acme.updated_at);
    assert_eq!(updated.created_at, acme.created_at);
    let moved = DomainPatch { description: None, reseller_id: Some(Some(reseller.id)) };
    let moved = store.update_domain(acme.id, moved, audit_in(acme.id, "domain.update")).await.unwrap();
    assert_eq!((moved.description.as_str(), moved.reseller_id), ("Acme Inc.", Some(reseller.id)));
    let nowhere = DomainPatch { description: None, reseller_id: Some(Some(Uuid::now_v7())) };
    assert!(is_not_found(store.update_domain(acme.id, nowhere, audit("domain.update")).await));
    assert!(is_not_found(store.update_domain(Uuid::now_v7(), DomainPatch::default(), audit("domain.update")).await));

    let alice = store.create_user(new_user(&acme, "200", "Alice", "Able"), audit_in(acme.id, "user.create"));
    let alice = alice.await.unwrap();
    let card = store.create_contact(shared(&acme), fields(named("Sam", "Shared")), audit_in(acme.id, "contact.create"));
    let card = card.await.unwrap();
    let feed = || store.feed_rows(acme.id, Uuid::nil(), crate::FeedPosition::START, 10);
    assert_eq!(feed().await.unwrap().len(), 2, "its coworker and its contact are in its feed");
    store.delete_domain(acme.id, audit_in(acme.id, "domain.delete")).await.unwrap();
    assert_eq!(store.domain_by_id(acme.id).await.unwrap(), None);
    assert_eq!(store.user_by_id(alice.id).await.unwrap(), None, "a domain's users go with it");
    assert_eq!(store.contact(shared(&acme), card.id).await.unwrap(), None, "and its contacts");
    assert!(feed().await.unwrap().is_empty(), "and its feed");
    assert!(is_not_found(store.delete_domain(acme.id, audit("domain.delete")).await));
    let actions = ["domain.delete", "contact.create", "user.create", "domain.update", "domain.update"];
    assert_eq!(audit_actions(store, acme.id).await, actions);
}

pub async fn domains_page_and_search(store: &dyn Store) {
    let mut names = Vec::new();
    for i in 0..12 {
        names.push(
            domain(store, &format!("d{:02}.{}.example", (i * 7) % 12, if i % 2 == 0 { "even" } else { "odd" }))
                .await
                .name,
        );
    }
    names.sort();
    for sort in [Sort::Name, Sort::NameDesc] {
        let listed = all_pages(sorted(sort, 5), async |list| store.list_domains(None, list).await).await;
        let mut expected = names.clone();
        if sort == Sort::NameDesc {
            expected.reverse();
        }
        assert_eq!(listed.into_iter().map(|d| d.name).collect::<Vec<_>>(), expected, "{sort:?}");
    }
    let by_update = all_pages(sorted(Sort::UpdatedDesc, 5), async |list| store.list_domains(None, list).await).await;
    assert_eq!(by_update.len(), 12);
    assert!(by_update.windows(2).all(|w| w[0].updated_at >= w[1].updated_at));
    let odd = store.list_domains(None, &search_for("odd")).await.unwrap();
    assert_eq!(odd.items.len(), 6);
    assert!(odd.items.iter().all(|d| d.name.as_str().contains(".odd.")));
}

pub async fn users(store: &dyn Store) {
    let acme = domain(store, "acme.example").await;
    let other = domain(store, "other.example").await;
    let new = NewUser { department: "Sales".into(), site: "North".into(), ..new_user(&acme, "200", "Ann", "Lee") };
    let ann = store.create_user(new.clone(), audit("user.create")).await.unwrap();
    assert_eq!((ann.version, ann.extension.as_str(), ann.scope, ann.listed), (1, "200", Scope::BasicUser, true));
    assert_eq!(ann.created_at, ann.updated_at);
    assert!(
        is_conflict(store.create_user(new.clone(), audit("user.create")).await),
        "extensions are unique per domain"
    );
    let elsewhere = store.create_user(NewUser { domain_id: other.id, ..new.clone() }, audit("user.create")).await;
    assert!(elsewhere.is_ok(), "the same extension in another domain is fine");
    let nowhere = NewUser { domain_id: Uuid::now_v7(), ..new };
    assert!(is_not_found(store.create_user(nowhere, audit("user.create")).await));

    assert_eq!(store.user_by_id(ann.id).await.unwrap(), Some(ann.clone()));
    assert_eq!(store.user_by_extension(acme.id, &ann.extension).await.unwrap(), Some(ann.clone()));
    assert_eq!(store.user_by_extension(acme.id, &"201".parse().unwrap()).await.unwrap(), None);
    assert_eq!(store.user_by_id(Uuid::now_v7()).await.unwrap(), None);

    let patch = UserPatch {
        last_name: Some("Zhang".into()),
        listed: Some(false),
        scope: Some(Scope::OfficeManager),
        ..Default::default()
    };
    let renamed = store.update_user(ann.id, Some(1), patch.clone(), audit("user.update")).await.unwrap();
    assert_eq!(
        (renamed.last_name.as_str(), renamed.first_name.as_str(), renamed.department.as_str()),
        ("Zhang", "Ann", "Sales")
    );
    assert_eq!((renamed.version, renamed.listed, renamed.scope), (2, false, Scope::OfficeManager));
    assert!(matches!(
        store.update_user(ann.id, Some(1), patch.clone(), audit("user.update")).await,
        Err(StoreError::Stale { current: 2 })
    ));
    let unversioned = store.update_user(ann.id, None, UserPatch::default(), audit("user.update")).await.unwrap();
    assert_eq!(unversioned.version, 3);
    assert!(is_not_found(store.update_user(Uuid::now_v7(), Some(1), patch, audit("user.update")).await));
    let found = store.list_users(acme.id, &UserFilter::default(), &search_for("zhang")).await.unwrap();
    assert_eq!(ids(&found.items, |u| u.id), [ann.id], "the search text follows renames");
    assert!(store.list_users(acme.id, &UserFilter::default(), &search_for("ann lee")).await.unwrap().items.is_empty());

    assert_eq!(store.password_hash(ann.id).await.unwrap().as_deref(), Some("hash-200"));
    store.set_password_hash(ann.id, "new-hash", audit("user.password")).await.unwrap();
    assert_eq!(store.password_hash(ann.id).await.unwrap().as_deref(), Some("new-hash"));
    assert_eq!(store.password_hash(Uuid::now_v7()).await.unwrap(), None);
    assert!(is_not_found(store.set_password_hash(Uuid::now_v7(), "x", audit("user.password")).await));

    let own = contact(store, personal(&ann), named("Pat", "Own")).await;
    store.delete_user(ann.id, audit("user.delete")).await.unwrap();
    assert_eq!(store.user_by_id(ann.id).await.unwrap(), None);
    assert_eq!(store.contact(personal(&ann), own.id).await.unwrap(), None, "personal contacts go with their owner");
    assert!(is_not_found(store.delete_user(ann.id, audit("user.delete")).await));
}

pub async fn users_page_search_and_site(store: &dyn Store) {
    let acme = domain(store, "acme.example").await;
    let mut created = Vec::new();
    for i in 0..30u32 {
        let site = if i % 3 == 0 { "North" } else { "South" };
        let new = NewUser {
            site: site.into(),
            listed: i % 5 != 0,
            ..new_user(&acme, &format!("{}", 300 + i), &format!("First{}", i % 4), &format!("Last{:02}", (i * 7) % 30))
        };
        created.push(store.create_user(new, audit("user.create")).await.unwrap());
    }
    let mut by_name = created.clone();
    by_name.sort_by_key(|u| (name_sort_key(&u.first_name, &u.last_name, ""), u.id));
    let listed =
        all_pages(sorted(Sort::Name, 4), async |list| store.list_users(acme.id, &UserFilter::default(), list).await)
            .await;
    assert_eq!(ids(&listed, |u| u.id), ids(&by_name, |u| u.id), "unlisted users are still users");
    let by_update =
        all_pages(sorted(Sort::Updated, 4), async |list| store.list_users(acme.id, &UserFilter::default(), list).await)
            .await;
    assert_eq!(ids(&by_update, |u| u.id), ids(&created, |u| u.id));

    let north =
        all_pages(sorted(Sort::NameDesc, 3), async |list| store.list_users(acme.id, &of_site("North"), list).await)
            .await;
    let mut expected: Vec<&User> = by_name.iter().filter(|u| u.site == "North").collect();
    expected.reverse();
    assert_eq!(ids(&north, |u| u.id), ids(&expected, |u| u.id));

    let by_extension = store.list_users(acme.id, &UserFilter::default(), &search_for("317")).await.unwrap();
    assert_eq!(ids(&by_extension.items, |u| u.id), [created[17].id]);
    let by_name = store.list_users(acme.id, &UserFilter::default(), &search_for("first3 last")).await.unwrap();
    assert_eq!(by_name.items.len(), 7);
    assert!(by_name.items.iter().all(|u| u.first_name == "First3"));
    let short = store.list_users(acme.id, &of_site("North"), &search_for("t2")).await.unwrap();
    assert!(!short.items.is_empty());
    assert!(
        short.items.iter().all(|u| u.site == "North" && (u.first_name == "First2" || u.last_name.starts_with("Last2")))
    );
}

/// A scope filter lists exactly that scope's users, alone or with a site, in every sort.
pub async fn users_of_a_scope(store: &dyn Store) {
    let acme = domain(store, "acme.example").await;
    let other = domain(store, "other.example").await;
    let scopes = [Scope::CallCenterAgent, Scope::BasicUser, Scope::CallCenterSupervisor];
    let mut created = Vec::new();
    for i in 0..12u32 {
        let new = NewUser {
            scope: scopes[i as usize % 3],
            site: if i % 2 == 0 { "North" } else { "South" }.into(),
            ..new_user(&acme, &format!("{}", 400 + i), &format!("First{i}"), &format!("Last{}", (i * 5) % 12))
        };
        created.push(store.create_user(new, audit("user.create")).await.unwrap());
    }
    let elsewhere = NewUser { scope: Scope::CallCenterAgent, ..new_user(&other, "400", "Far", "Away") };
    store.create_user(elsewhere, audit("user.create")).await.unwrap();

    let agents = UserFilter { scope: Some(Scope::CallCenterAgent), ..Default::default() };
    for sort in [Sort::Name, Sort::NameDesc, Sort::Updated] {
        let listed = all_pages(sorted(sort, 2), async |list| store.list_users(acme.id, &agents, list).await).await;
        let everyone =
            all_pages(sorted(sort, 50), async |list| store.list_users(acme.id, &UserFilter::default(), list).await)
                .await;
        let expected: Vec<&User> = everyone.iter().filter(|u| u.scope == Scope::CallCenterAgent).collect();
        assert_eq!(expected.len(), 4);
        assert_eq!(ids(&listed, |u| u.id), ids(&expected, |u| u.id), "{sort:?}");
    }
    let north_agents = UserFilter { site: Some("North".into()), scope: Some(Scope::CallCenterAgent) };
    let found = store.list_users(acme.id, &north_agents, &ListQuery::default()).await.unwrap();
    let mut expected: Vec<&User> =
        created.iter().filter(|u| u.scope == Scope::CallCenterAgent && u.site == "North").collect();
    expected.sort_by_key(|u| (name_sort_key(&u.first_name, &u.last_name, ""), u.id));
    assert_eq!(ids(&found.items, |u| u.id), ids(&expected, |u| u.id));
    let searched = store.list_users(acme.id, &agents, &search_for("first3")).await.unwrap();
    assert_eq!(ids(&searched.items, |u| u.id), [created[3].id]);
    assert!(store.list_users(acme.id, &agents, &search_for("first4")).await.unwrap().items.is_empty());
}

pub async fn contacts(store: &dyn Store) {
    let acme = domain(store, "acme.example").await;
    let input = ContactInput {
        title: "CEO".into(),
        company: "Acme".into(),
        work_phone: "+1 (206) 555-0100".into(),
        mobile_phone: "206 555 0101".into(),
        fax: "200".into(),
        email: "ann@acme.example".into(),
        notes: "line one\nline two".into(),
        ..named("Ann", "Lee")
    };
    let ann = store.create_contact(shared(&acme), fields(input.clone()), audit("contact.create")).await.unwrap();
    assert_eq!((ann.version, ann.book, ann.deleted_at), (1, shared(&acme), None));
    assert_eq!(ann.fields, fields(input.clone()));
    assert_eq!(ann.created_at, ann.updated_at);
    let work = ann.fields.work_phone().unwrap();
    assert_eq!((work.typed.as_str(), work.e164.as_deref()), ("+1 (206) 555-0100", Some("+12065550100")));
    assert_eq!(ann.fields.fax().unwrap().e164, None);
    assert_eq!(store.contact(shared(&acme), ann.id).await.unwrap(), Some(ann.clone()));
    assert_eq!(store.contact(shared(&acme), Uuid::now_v7()).await.unwrap(), None);

    let changed = fields(ContactInput { title: "Chair".into(), work_phone: String::new(), ..input });
    let v2 =
        store.update_contact(shared(&acme), ann.id, Some(1), changed.clone(), audit("contact.update")).await.unwrap();
    assert_eq!((v2.version, v2.created_at), (2, ann.created_at));
    assert!(v2.updated_at >= ann.updated_at);
    assert_eq!(v2.fields, changed);
    assert_eq!(store.contact(shared(&acme), ann.id).await.unwrap(), Some(v2.clone()));
    let stale = store.update_contact(shared(&acme), ann.id, Some(1), changed.clone(), audit("contact.update")).await;
    assert!(matches!(stale, Err(StoreError::Stale { current: 2 })), "{stale:?}");
    let v3 = store.update_contact(shared(&acme), ann.id, None, changed.clone(), audit("contact.update")).await.unwrap();
    assert_eq!(v3.version, 3);
    let missing = store.update_contact(shared(&acme), Uuid::now_v7(), Some(1), changed, audit("contact.update")).await;
    assert!(is_not_found(missing));

    let bob = contact(store, shared(&acme), named("Bob", "Baker")).await;
    let listed = store.list_contacts(shared(&acme), &ListQuery::default()).await.unwrap();
    assert_eq!(contact_ids(&listed), [bob.id, ann.id]);
    assert_eq!(listed.items[1], v3);
    assert_eq!(listed.next_cursor, None);
}

pub async fn duplicate_contacts(store: &dyn Store) {
    let acme = domain(store, "acme.example").await;
    let other = domain(store, "other.example").await;
    let owner = user(store, &acme, "200", "Olga", "Owner").await;
    let ann = ContactInput { work_phone: "+1 206 555 0100".into(), ..named("Ann", "Lee") };
    let same = ContactInput { work_phone: "(206) 555-0100".into(), ..named("ANN", "lee") };
    let first = contact(store, shared(&acme), ann.clone()).await;
    let before = audit_actions(store, acme.id).await.len();
    let again = store.create_contact(shared(&acme), fields(same.clone()), audit_in(acme.id, "contact.create")).await;
    assert!(is_conflict(again), "an exact duplicate in the same book is refused");
    assert_eq!(audit_actions(store, acme.id).await.len(), before, "a refused change leaves no audit entry");
    contact(store, personal(&owner), same.clone()).await;
    contact(store, shared(&other), same.clone()).await;

    let bob = contact(store, shared(&acme), named("Bob", "Baker")).await;
    let clash =
        store.update_contact(shared(&acme), bob.id, Some(1), fields(same.clone()), audit("contact.update")).await;
    assert!(is_conflict(clash), "an update may not duplicate another contact");
    assert_eq!(store.contact(shared(&acme), bob.id).await.unwrap(), Some(bob));
    let itself =
        store.update_contact(shared(&acme), first.id, Some(1), fields(same.clone()), audit("contact.update")).await;
    assert!(itself.is_ok(), "a contact does not duplicate itself");

    store.delete_contact(shared(&acme), first.id, audit("contact.delete")).await.unwrap();
    let replacement = contact(store, shared(&acme), ann).await;
    assert!(is_conflict(store.restore_contact(shared(&acme), first.id, audit("contact.restore")).await));
    assert!(store.contact(shared(&acme), first.id).await.unwrap().unwrap().deleted_at.is_some());
    store.delete_contact(shared(&acme), replacement.id, audit("contact.delete")).await.unwrap();
    assert!(store.restore_contact(shared(&acme), first.id, audit("contact.restore")).await.is_ok());
}

pub async fn trash_restore_and_purge(store: &dyn Store) {
    let acme = domain(store, "acme.example").await;
    let (uma, ulf) = (user(store, &acme, "200", "Uma", "One").await, user(store, &acme, "201", "Ulf", "Two").await);
    let s1 = contact(store, shared(&acme), named("Sue", "First")).await;
    let s2 = contact(store, shared(&acme), named("Sid", "Second")).await;
    let p1 = contact(store, personal(&uma), named("Pia", "Uma's")).await;
    let p2 = contact(store, personal(&ulf), named("Per", "Ulf's")).await;
    let before_deletes = micros_now() - TimeDelta::seconds(1);
    let deleted = store.delete_contact(shared(&acme), s1.id, audit("contact.delete")).await.unwrap();
    assert_eq!(deleted.version, 2);
    assert!(deleted.deleted_at.is_some());
    for (book, id) in [(shared(&acme), s2.id), (personal(&uma), p1.id), (personal(&ulf), p2.id)] {
        store.delete_contact(book, id, audit("contact.delete")).await.unwrap();
    }
    assert_eq!(store.contact(shared(&acme), s1.id).await.unwrap(), Some(deleted.clone()), "the trash keeps it");
    assert!(store.list_contacts(shared(&acme), &ListQuery::default()).await.unwrap().items.is_empty());
    assert!(store.list_contacts(personal(&uma), &ListQuery::default()).await.unwrap().items.is_empty());
    assert!(is_not_found(store.delete_contact(shared(&acme), s1.id, audit("contact.delete")).await));
    let update =
        store.update_contact(shared(&acme), s1.id, Some(2), fields(named("Sue", "X")), audit("contact.update")).await;
    assert!(is_not_found(update), "a contact in the trash cannot be edited");

    let newest_first = sorted(Sort::UpdatedDesc, 50);
    let shared_trash = store.list_trash(acme.id, None, &newest_first).await.unwrap();
    assert_eq!(contact_ids(&shared_trash), [s2.id, s1.id]);
    let uma_trash = store.list_trash(acme.id, Some(uma.id), &newest_first).await.unwrap();
    assert_eq!(contact_ids(&uma_trash), [p1.id, s2.id, s1.id], "another user's trash stays private");

    let restored = store.restore_contact(shared(&acme), s1.id, audit("contact.restore")).await.unwrap();
    assert_eq!((restored.deleted_at, restored.version), (None, 3));
    assert_eq!(contact_ids(&store.list_contacts(shared(&acme), &ListQuery::default()).await.unwrap()), [s1.id]);
    assert!(is_not_found(store.restore_contact(shared(&acme), s1.id, audit("contact.restore")).await));

    assert_eq!(store.purge_trash(before_deletes).await.unwrap(), 0);
    assert_eq!(store.purge_trash(Utc::now() + TimeDelta::seconds(1)).await.unwrap(), 3);
    assert_eq!(store.contact(shared(&acme), s2.id).await.unwrap(), None);
    assert!(store.list_trash(acme.id, Some(ulf.id), &ListQuery::default()).await.unwrap().items.is_empty());
    assert!(store.contact(shared(&acme), s1.id).await.unwrap().is_some(), "live contacts are never purged");
}

pub async fn trash_pages(store: &dyn Store) {
    let acme = domain(store, "acme.example").await;
    let mut deleted = Vec::new();
    for i in 0..9 {
        let card = contact(store, shared(&acme), named(&format!("Name{}", (i * 4) % 9), "Trash")).await;
        deleted.push(store.delete_contact(shared(&acme), card.id, audit("contact.delete")).await.unwrap());
    }
    contact(store, shared(&acme), named("Live", "One")).await;
    let newest_first =
        all_pages(sorted(Sort::UpdatedDesc, 2), async |list| store.list_trash(acme.id, None, list).await).await;
    let mut expected = ids(&deleted, |c| c.id);
    expected.reverse();
    assert_eq!(ids(&newest_first, |c| c.id), expected);
    let by_name = all_pages(sorted(Sort::Name, 4), async |list| store.list_trash(acme.id, None, list).await).await;
    deleted.sort_by_key(|c| (c.fields.sort_key(), c.id));
    assert_eq!(ids(&by_name, |c| c.id), ids(&deleted, |c| c.id));
    let found = store.list_trash(acme.id, None, &search_for("name4")).await.unwrap();
    assert_eq!(found.items.len(), 1);
    assert_eq!(found.items[0].fields.first_name, "Name4");
}

pub async fn tenant_scoping(store: &dyn Store) {
    let a = domain(store, "a.example").await;
    let b = domain(store, "b.example").await;
    let (a1, a2) = (user(store, &a, "200", "Amy", "One").await, user(store, &a, "201", "Abe", "Two").await);
    let b1 = user(store, &b, "200", "Bea", "Bee").await;
    let shared_a = contact(store, shared(&a), named("Shared", "Ofa")).await;
    let private_a1 = contact(store, personal(&a1), named("Private", "Ofa")).await;

    let wrong_books = [
        (shared(&b), shared_a.id),
        (personal(&a1), shared_a.id),
        (personal(&b1), shared_a.id),
        (shared(&a), private_a1.id),
        (personal(&a2), private_a1.id),
        (Book::Personal { domain_id: b.id, owner_id: a1.id }, private_a1.id),
    ];
    for (book, id) in wrong_books {
        assert_eq!(store.contact(book, id).await.unwrap(), None, "{book:?}");
        let update = store.update_contact(book, id, None, fields(named("Hacked", "X")), audit("contact.update")).await;
        assert!(is_not_found(update), "{book:?}");
        assert!(is_not_found(store.delete_contact(book, id, audit("contact.delete")).await), "{book:?}");
        assert!(is_not_found(store.restore_contact(book, id, audit("contact.restore")).await), "{book:?}");
    }
    assert_eq!(store.contact(shared(&a), shared_a.id).await.unwrap().unwrap().fields.first_name, "Shared");
    assert!(store.list_contacts(shared(&b), &ListQuery::default()).await.unwrap().items.is_empty());
    assert!(store.list_contacts(personal(&a2), &ListQuery::default()).await.unwrap().items.is_empty());
    assert!(store.list_contacts(shared(&b), &search_for("ofa")).await.unwrap().items.is_empty());

    let foreign_owner = Book::Personal { domain_id: b.id, owner_id: a1.id };
    let refused = store.create_contact(foreign_owner, fields(named("Cross", "Tenant")), audit("contact.create")).await;
    assert!(is_not_found(refused), "a personal book's owner belongs to its domain");

    store.delete_contact(shared(&a), shared_a.id, audit("contact.delete")).await.unwrap();
    assert!(store.list_trash(b.id, Some(b1.id), &ListQuery::default()).await.unwrap().items.is_empty());
    assert!(store.list_trash(a.id, Some(a2.id), &ListQuery::default()).await.unwrap().items.len() == 1);
    assert!(is_not_found(store.restore_contact(shared(&b), shared_a.id, audit("contact.restore")).await));

    let b_users = store.list_users(b.id, &UserFilter::default(), &ListQuery::default()).await.unwrap();
    assert_eq!(ids(&b_users.items, |u| u.id), [b1.id]);
    assert_eq!(store.user_by_extension(b.id, &a1.extension).await.unwrap().map(|u| u.id), Some(b1.id));
    let query = DirectoryQuery {
        domain_id: b.id,
        viewer_id: b1.id,
        include_shared: true,
        include_own: true,
        group: Group::All,
        list: ListQuery::default(),
    };
    assert!(store.directory(&query).await.unwrap().items.is_empty());
    assert_eq!(store.directory_entry(b.id, b1.id, true, true, a1.id).await.unwrap(), None);
    store
        .put_settings(
            Layer::Domain(a.id),
            &BTreeMap::from([("K".into(), Some("v".into()))]),
            audit_in(a.id, "settings.update"),
        )
        .await
        .unwrap();
    assert!(store.settings(Layer::Domain(b.id)).await.unwrap().is_empty());
    assert!(store.list_audit(b.id, &AuditFilter::default(), limit(50), None).await.unwrap().items.is_empty());
}

pub async fn search(store: &dyn Store) {
    let acme = domain(store, "acme.example").await;
    let other = domain(store, "other.example").await;
    let book = shared(&acme);
    let muller =
        contact(store, book, ContactInput { work_phone: "+1 (206) 555-0100".into(), ..named("Jürgen", "Müller") })
            .await;
    let ann = contact(
        store,
        book,
        ContactInput { company: "Acme Widgets".into(), email: "ann@lee.example".into(), ..named("Ann", "Lee") },
    )
    .await;
    let zoe = contact(store, book, ContactInput { company: "100% Organic".into(), ..named("Zoë", "Quinn") }).await;
    let bob =
        contact(store, book, ContactInput { mobile_phone: "+44 20 7946 0958".into(), ..named("Bob", "O'Neil") }).await;
    contact(store, shared(&other), named("Jürgen", "Müller")).await;

    let cases: &[(&str, &[Uuid])] = &[
        ("muller", &[muller.id]),
        ("MÜLL", &[muller.id]),
        ("ürg", &[muller.id]),
        ("5550100", &[muller.id]),
        ("(206) 555-0100", &[muller.id]),
        ("+1 206", &[muller.id]),
        ("widg", &[ann.id]),
        ("lee.example", &[ann.id]),
        ("lee ann", &[ann.id]),
        ("zoe", &[zoe.id]),
        ("100% org", &[zoe.id]),
        ("o'neil", &[bob.id]),
        ("7946", &[bob.id]),
        ("ee", &[ann.id]),
        ("q", &[zoe.id]),
        ("0%", &[zoe.id]),
        ("lee acme", &[]),
        ("a\"b", &[]),
        ("nobody", &[]),
    ];
    for (term, expected) in cases {
        let found = store.list_contacts(book, &search_for(term)).await.unwrap();
        let found: BTreeSet<Uuid> = contact_ids(&found).into_iter().collect();
        assert_eq!(found, expected.iter().copied().collect(), "search for {term:?}");
    }

    let jurgen = user(store, &acme, "250", "Jürgen", "Müller").await;
    user(store, &acme, "251", "Zed", "Zulu").await;
    for term in ["mull", "250", "ju"] {
        let found = store.list_users(acme.id, &UserFilter::default(), &search_for(term)).await.unwrap();
        assert_eq!(ids(&found.items, |u| u.id), [jurgen.id], "user search for {term:?}");
    }
    store.delete_contact(book, muller.id, audit("contact.delete")).await.unwrap();
    assert!(store.list_contacts(book, &search_for("muller")).await.unwrap().items.is_empty());
    assert_eq!(contact_ids(&store.list_trash(acme.id, None, &search_for("müller")).await.unwrap()), [muller.id]);
    let renamed = fields(named("Ann", "Smith"));
    store.update_contact(book, ann.id, None, renamed, audit("contact.update")).await.unwrap();
    assert!(store.list_contacts(book, &search_for("widgets")).await.unwrap().items.is_empty(), "old text forgotten");
    assert_eq!(contact_ids(&store.list_contacts(book, &search_for("smith")).await.unwrap()), [ann.id]);
}

pub async fn paging_in_every_sort(store: &dyn Store) {
    const FIRST: [&str; 7] = ["Ann", "Émile", "bob", "Zoë", "Li", "Åsa", "carl"];
    const LAST: [&str; 11] =
        ["Lee", "Müller", "", "O'Neil", "lee", "Zola", "Ångström", "de la Cruz", "Smith", "Ng", "Ünal"];
    let acme = domain(store, "acme.example").await;
    let book = shared(&acme);
    let mut contacts = Vec::new();
    for i in 0..1000 {
        let input = ContactInput {
            company: if i % 13 == 0 { format!("Firm {}", i % 5) } else { String::new() },
            work_phone: format!("+1 206 555 {i:04}"),
            ..named(FIRST[i % 7], LAST[i % 11])
        };
        contacts.push(contact(store, book, input).await);
    }
    // Updates reorder the "updated" sorts away from creation order.
    for i in (0..1000).step_by(3).rev() {
        let c = &contacts[i];
        contacts[i] =
            store.update_contact(book, c.id, Some(1), c.fields.clone(), audit("contact.update")).await.unwrap();
    }
    let key = |c: &Contact| (c.fields.sort_key(), c.id);
    let mut by_name = contacts.clone();
    by_name.sort_by_key(key);
    let mut by_update = contacts.clone();
    by_update.sort_by_key(|c| (c.updated_at, c.id));
    for sort in [Sort::Name, Sort::NameDesc, Sort::Updated, Sort::UpdatedDesc] {
        let listed = all_pages(sorted(sort, 37), async |list| store.list_contacts(book, list).await).await;
        let mut expected = ids(if sort.by_name() { &by_name } else { &by_update }, |c| c.id);
        if sort.descending() {
            expected.reverse();
        }
        assert_eq!(listed.len(), 1000, "{sort:?}");
        assert_eq!(listed.iter().map(|c| c.id).collect::<HashSet<_>>().len(), 1000, "{sort:?} repeats");
        assert_eq!(ids(&listed, |c| c.id), expected, "{sort:?} order");
    }
    let exact = store.list_contacts(book, &sorted(Sort::Name, 500)).await.unwrap();
    assert!(exact.next_cursor.is_some());
    let rest = ListQuery {
        after: Some(Cursor::decode(exact.next_cursor.as_ref().unwrap(), Sort::Name).unwrap()),
        ..sorted(Sort::Name, 500)
    };
    let last = store.list_contacts(book, &rest).await.unwrap();
    assert_eq!((last.items.len(), last.next_cursor), (500, None), "a page ending exactly at the end has no next");

    let searched = all_pages(
        ListQuery { search: SearchTerm::parse("müller").unwrap(), ..sorted(Sort::NameDesc, 9) },
        async |list| store.list_contacts(book, list).await,
    )
    .await;
    let expected: Vec<Uuid> = by_name.iter().rev().filter(|c| c.fields.last_name == "Müller").map(|c| c.id).collect();
    assert_eq!(ids(&searched, |c| c.id), expected);
}

/// A domain seen by Vera: listed and unlisted coworkers, shared, her own and others' contacts.
struct Office {
    domain: Domain,
    vera: User,
    alice: User,
    bob: User,
    carol: User,
    dan: User,
    outsider: User,
    sam: Contact,
    acme: Contact,
    pete: Contact,
    alices_own: Contact,
    trashed: Contact,
}

async fn office(store: &dyn Store) -> Office {
    let domain = domain(store, "office.example").await;
    let elsewhere = self::domain(store, "elsewhere.example").await;
    let staff = async |extension: &str, first: &str, last: &str, department: &str, site: &str, listed: bool| {
        let new = NewUser {
            department: department.into(),
            site: site.into(),
            listed,
            ..new_user(&domain, extension, first, last)
        };
        store.create_user(new, audit("user.create")).await.unwrap()
    };
    let vera = staff("100", "Vera", "Viewer", "Sales", "North", true).await;
    let alice = staff("101", "Alice", "Able", "Sales", "North", true).await;
    let bob = staff("102", "Bob", "Baker", "Support", "South", true).await;
    let carol = staff("103", "Carol", "Cole", "Secret", "Hidden", false).await;
    let dan = staff("104", "Dan", "Dunn", "", "", true).await;
    let outsider = user(store, &elsewhere, "105", "Oscar", "Outsider").await;
    let available = by_hand(PresenceState::Available, true, "Around");
    store.set_presence(alice.id, &available, PresenceTimers::default()).await.unwrap();
    let busy = by_hand(PresenceState::Busy, false, String::new());
    store.set_presence(bob.id, &busy, PresenceTimers::default()).await.unwrap();
    let sam_input = ContactInput {
        work_phone: "+1 (206) 555-0100".into(),
        mobile_phone: "206 555 0199".into(),
        title: "Buyer".into(),
        ..named("Sam", "Shared")
    };
    let sam = contact(store, shared(&domain), sam_input).await;
    let acme = contact(store, shared(&domain), ContactInput { company: "Acme".into(), ..Default::default() }).await;
    let pete = contact(store, personal(&vera), named("Pete", "Personal")).await;
    let alices_own = contact(store, personal(&alice), named("Alex", "Private")).await;
    let trashed = contact(store, shared(&domain), named("Tom", "Trashed")).await;
    store.delete_contact(shared(&domain), trashed.id, audit("contact.delete")).await.unwrap();
    for entry in [bob.id, sam.id, pete.id, outsider.id, alices_own.id, trashed.id] {
        store.set_favorite(vera.id, entry, true).await.unwrap();
    }
    store.set_favorite(alice.id, acme.id, true).await.unwrap();
    Office { domain, vera, alice, bob, carol, dan, outsider, sam, acme, pete, alices_own, trashed }
}

fn view(office: &Office, group: Group, include_shared: bool) -> DirectoryQuery {
    DirectoryQuery {
        domain_id: office.domain.id,
        viewer_id: office.vera.id,
        include_shared,
        include_own: true,
        group,
        list: ListQuery::default(),
    }
}

pub async fn directory_groups(store: &dyn Store) {
    let o = office(store).await;
    let cases: Vec<(Group, bool, Vec<Uuid>)> = vec![
        (Group::All, true, vec![o.alice.id, o.acme.id, o.bob.id, o.dan.id, o.pete.id, o.sam.id]),
        (Group::All, false, vec![o.alice.id, o.bob.id, o.dan.id, o.pete.id]),
        (Group::Shared, true, vec![o.acme.id, o.sam.id]),
        (Group::Shared, false, vec![]),
        (Group::Mine, true, vec![o.pete.id]),
        (Group::Coworkers, true, vec![o.alice.id, o.bob.id, o.dan.id]),
        (Group::Favorites, true, vec![o.bob.id, o.pete.id, o.sam.id]),
        (Group::Favorites, false, vec![o.bob.id, o.pete.id]),
        (Group::Department("Sales".into()), true, vec![o.alice.id]),
        (Group::Department("Secret".into()), true, vec![]),
        (Group::Site("South".into()), true, vec![o.bob.id]),
        (Group::Site("Hidden".into()), true, vec![]),
        (Group::Presence(PresenceState::Available), true, vec![o.alice.id]),
        (Group::Presence(PresenceState::Busy), true, vec![o.bob.id]),
        (Group::Presence(PresenceState::Offline), true, vec![o.dan.id]),
    ];
    for (group, include_shared, expected) in cases {
        let page = store.directory(&view(&o, group.clone(), include_shared)).await.unwrap();
        assert_eq!(entry_ids(&page), expected, "{group:?} (shared: {include_shared})");
        assert_eq!(page.next_cursor, None);
    }
    store.delete_contact(personal(&o.vera), o.pete.id, audit("contact.delete")).await.unwrap();
    store
        .update_user(o.bob.id, None, UserPatch { listed: Some(false), ..Default::default() }, audit("user.update"))
        .await
        .unwrap();
    let favorites = store.directory(&view(&o, Group::Favorites, true)).await.unwrap();
    assert_eq!(entry_ids(&favorites), [o.sam.id], "favorites of hidden or trashed entries do not show");
    let as_alice = DirectoryQuery { viewer_id: o.alice.id, ..view(&o, Group::All, true) };
    let alices = store.directory(&as_alice).await.unwrap();
    assert_eq!(entry_ids(&alices), [o.acme.id, o.dan.id, o.alices_own.id, o.sam.id, o.vera.id]);
    // A phone Alice has not let show her own contacts: neither those nor her favorites,
    // and she stays out of her coworkers.
    let without_own = DirectoryQuery { include_own: false, ..as_alice.clone() };
    assert_eq!(entry_ids(&store.directory(&without_own).await.unwrap()), [o.acme.id, o.dan.id, o.sam.id, o.vera.id]);
    for group in [Group::Mine, Group::Favorites] {
        let query = DirectoryQuery { group, ..without_own.clone() };
        assert!(store.directory(&query).await.unwrap().items.is_empty());
    }
    let own = |include_own| store.directory_entry(o.domain.id, o.alice.id, true, include_own, o.alices_own.id);
    assert!(own(true).await.unwrap().is_some());
    assert!(own(false).await.unwrap().is_none());
}

/// The rows the app indexes in memory are the directory's entries as nobody in
/// particular sees them, with the very keys the store sorts and searches by.
pub async fn book_rows(store: &dyn Store) {
    let o = office(store).await;
    let sorted_ids = |mut rows: Vec<crate::BookRow>| {
        rows.sort_by(|a, b| (&a.sort_key, a.entry.id).cmp(&(&b.sort_key, b.entry.id)));
        rows.into_iter().map(|row| row.entry.id).collect::<Vec<_>>()
    };
    let rows = |part| async move { store.book_rows(o.domain.id, part).await.unwrap() };
    assert_eq!(sorted_ids(rows(BookPart::Coworkers).await), [o.alice.id, o.bob.id, o.dan.id, o.vera.id]);
    assert_eq!(sorted_ids(rows(BookPart::Shared).await), [o.acme.id, o.sam.id], "not the trashed one");
    assert_eq!(sorted_ids(rows(BookPart::Personal(o.vera.id)).await), [o.pete.id]);
    assert_eq!(sorted_ids(rows(BookPart::Personal(o.outsider.id)).await), Vec::<Uuid>::new());
    let nobody = DirectoryQuery { viewer_id: Uuid::nil(), ..view(&o, Group::All, true) };
    let directory = store.directory(&nobody).await.unwrap();
    for row in rows(BookPart::Shared).await.into_iter().chain(rows(BookPart::Coworkers).await) {
        let listed = directory.items.iter().find(|e| e.id == row.entry.id).unwrap();
        assert_eq!(&row.entry, listed, "the same entry as the directory shows");
        assert!(!row.entry.favorite && !row.entry.editable);
    }
    let sam = rows(BookPart::Shared).await.into_iter().find(|row| row.entry.id == o.sam.id).unwrap();
    assert!(sam.search_text.contains("sam shared") && sam.search_text.contains("2065550100"), "{}", sam.search_text);
    let term = SearchTerm::parse("shared sam").unwrap();
    let searched = DirectoryQuery { list: ListQuery { search: term, ..ListQuery::default() }, ..nobody };
    assert_eq!(
        entry_ids(&store.directory(&searched).await.unwrap()),
        [o.sam.id],
        "its search text is what is searched"
    );
}

pub async fn directory_entries(store: &dyn Store) {
    let o = office(store).await;
    let page = store.directory(&view(&o, Group::All, true)).await.unwrap();
    let alice = page.items.iter().find(|e| e.id == o.alice.id).unwrap();
    let expected_alice = DirectoryEntry {
        id: o.alice.id,
        kind: EntryKind::Coworker,
        first_name: "Alice".into(),
        last_name: "Able".into(),
        company: String::new(),
        title: String::new(),
        extension: Some("101".into()),
        numbers: vec![NumberView { kind: NumberKind::Extension, typed: "101".into(), e164: None }],
        email: "alice@office.example".into(),
        department: "Sales".into(),
        site: "North".into(),
        presence: Some(by_hand(PresenceState::Available, true, "Around")),
        favorite: false,
        editable: false,
    };
    assert_eq!(alice, &expected_alice);
    let dan = page.items.iter().find(|e| e.id == o.dan.id).unwrap();
    assert_eq!(dan.presence, Some(Presence::default()), "no presence yet means offline");
    let expected_sam = DirectoryEntry {
        id: o.sam.id,
        kind: EntryKind::Shared,
        first_name: "Sam".into(),
        last_name: "Shared".into(),
        company: String::new(),
        title: "Buyer".into(),
        extension: None,
        numbers: vec![
            NumberView { kind: NumberKind::Work, typed: "+1 (206) 555-0100".into(), e164: Some("+12065550100".into()) },
            NumberView { kind: NumberKind::Mobile, typed: "206 555 0199".into(), e164: Some("+12065550199".into()) },
        ],
        email: String::new(),
        department: String::new(),
        site: String::new(),
        presence: None,
        favorite: true,
        editable: false,
    };
    assert_eq!(page.items.iter().find(|e| e.id == o.sam.id), Some(&expected_sam));
    let pete = page.items.iter().find(|e| e.id == o.pete.id).unwrap();
    assert_eq!((pete.kind, pete.favorite, pete.presence.as_ref()), (EntryKind::Personal, true, None));
    let acme = page.items.iter().find(|e| e.id == o.acme.id).unwrap();
    assert_eq!((acme.company.as_str(), acme.favorite), ("Acme", false), "another user's star is theirs");

    let entry = async |id: Uuid, include_shared: bool| {
        store.directory_entry(o.domain.id, o.vera.id, include_shared, true, id).await.unwrap()
    };
    assert_eq!(entry(o.alice.id, false).await, Some(expected_alice));
    assert_eq!(entry(o.sam.id, true).await, Some(expected_sam));
    assert_eq!(entry(o.sam.id, false).await, None);
    assert_eq!(entry(o.pete.id, false).await.map(|e| e.kind), Some(EntryKind::Personal));
    for hidden in [o.vera.id, o.carol.id, o.outsider.id, o.alices_own.id, o.trashed.id, Uuid::now_v7()] {
        assert_eq!(entry(hidden, true).await, None);
    }
    let from_elsewhere =
        store.directory_entry(o.outsider.domain_id, o.outsider.id, true, true, o.alice.id).await.unwrap();
    assert_eq!(from_elsewhere, None);
}

pub async fn directory_pages_and_search(store: &dyn Store) {
    let acme = domain(store, "acme.example").await;
    let viewer = user(store, &acme, "100", "Vic", "Viewer").await;
    let mut created: Vec<(Uuid, String)> = Vec::new();
    // Entries i, i + 20 and i + 40 share a name and are of three kinds: their merged
    // order rests on the id tie-break alone.
    for i in 0..60u32 {
        let (first, last) = (format!("F{}", i % 5), format!("Name{:02}", (i * 11) % 20));
        let id = match i % 3 {
            0 => user(store, &acme, &format!("{}", 200 + i), &first, &last).await.id,
            1 => contact(store, shared(&acme), named(&first, &last)).await.id,
            _ => contact(store, personal(&viewer), named(&first, &last)).await.id,
        };
        created.push((id, name_sort_key(&first, &last, "")));
    }
    let mut by_name: Vec<(String, Uuid)> = created.iter().map(|(id, key)| (key.clone(), *id)).collect();
    by_name.sort();
    let by_update: Vec<Uuid> = created.iter().map(|(id, _)| *id).collect();
    let query = |list: &ListQuery| DirectoryQuery {
        domain_id: acme.id,
        viewer_id: viewer.id,
        include_shared: true,
        include_own: true,
        group: Group::All,
        list: list.clone(),
    };
    for sort in [Sort::Name, Sort::NameDesc, Sort::Updated, Sort::UpdatedDesc] {
        let listed = all_pages(sorted(sort, 7), async |list| store.directory(&query(list)).await).await;
        let mut expected = if sort.by_name() { by_name.iter().map(|(_, id)| *id).collect() } else { by_update.clone() };
        if sort.descending() {
            expected.reverse();
        }
        assert_eq!(ids(&listed, |e| e.id), expected, "{sort:?}");
    }
    let f4 = ListQuery { search: SearchTerm::parse("f4").unwrap(), ..sorted(Sort::Name, 4) };
    let f4 = all_pages(f4, async |list| store.directory(&query(list)).await).await;
    assert_eq!(f4.len(), 12);
    assert!(f4.iter().all(|e| e.first_name == "F4"));
    let kinds = [EntryKind::Coworker, EntryKind::Shared, EntryKind::Personal];
    assert!(kinds.iter().all(|kind| f4.iter().any(|e| e.kind == *kind)), "all three kinds are searched");
    let name07 = store.directory(&query(&search_for("name07"))).await.unwrap();
    assert_eq!(entry_ids(&name07), [created[17].0, created[37].0, created[57].0]);
}

pub async fn departments_and_sites(store: &dyn Store) {
    let acme = domain(store, "acme.example").await;
    let other = domain(store, "other.example").await;
    let people = [
        ("200", "sales", "Zürich", true),
        ("201", "Support", "berlin", true),
        ("202", "Sales", "Zürich", true),
        ("203", "", "", true),
        ("204", "Secret", "Hidden", false),
        ("205", "Äcounting", "Amsterdam", true),
    ];
    for (extension, department, site, listed) in people {
        let new = NewUser {
            department: department.into(),
            site: site.into(),
            listed,
            ..new_user(&acme, extension, "X", "Y")
        };
        store.create_user(new, audit("user.create")).await.unwrap();
    }
    let elsewhere = NewUser { department: "Elsewhere".into(), site: "Far".into(), ..new_user(&other, "200", "Z", "Z") };
    store.create_user(elsewhere, audit("user.create")).await.unwrap();
    assert_eq!(store.departments(acme.id).await.unwrap(), ["Äcounting", "Sales", "sales", "Support"]);
    assert_eq!(store.sites(acme.id).await.unwrap(), ["Amsterdam", "berlin", "Zürich"]);
    assert!(store.departments(Uuid::now_v7()).await.unwrap().is_empty());
}

pub async fn favorites(store: &dyn Store) {
    let acme = domain(store, "acme.example").await;
    let (vera, alice) = (user(store, &acme, "100", "Vera", "V").await, user(store, &acme, "101", "Alice", "A").await);
    let card = contact(store, shared(&acme), named("Sam", "Shared")).await;
    let query = DirectoryQuery {
        domain_id: acme.id,
        viewer_id: vera.id,
        include_shared: true,
        include_own: true,
        group: Group::Favorites,
        list: ListQuery::default(),
    };
    for _ in 0..2 {
        store.set_favorite(vera.id, card.id, true).await.unwrap();
        store.set_favorite(vera.id, alice.id, true).await.unwrap();
    }
    assert_eq!(entry_ids(&store.directory(&query).await.unwrap()), [alice.id, card.id]);
    assert_eq!(store.table_counts().await.unwrap()["favorites"], 2);
    for _ in 0..2 {
        store.set_favorite(vera.id, card.id, false).await.unwrap();
    }
    assert_eq!(entry_ids(&store.directory(&query).await.unwrap()), [alice.id]);
    store.set_favorite(vera.id, Uuid::now_v7(), false).await.unwrap();
    assert!(is_not_found(store.set_favorite(Uuid::now_v7(), card.id, true).await));
    store.delete_user(alice.id, audit("user.delete")).await.unwrap();
    assert!(store.directory(&query).await.unwrap().items.is_empty());
}

/// The two halves of "favorites first" (the viewer's stars, then the others), each paged
/// in name order, and the bounded count of a directory query.
pub async fn favorites_first_and_counts(store: &dyn Store) {
    let acme = domain(store, "acme.example").await;
    let vera = user(store, &acme, "100", "Vera", "V").await;
    let alice = user(store, &acme, "101", "Alice", "A").await;
    let bob = user(store, &acme, "102", "Bob", "B").await;
    let sam = contact(store, shared(&acme), named("Sam", "Shared")).await;
    let zed = contact(store, shared(&acme), named("Zed", "Zulu")).await;
    let pat = contact(store, personal(&vera), named("Pat", "Own")).await;
    for starred in [zed.id, alice.id] {
        store.set_favorite(vera.id, starred, true).await.unwrap();
    }
    let view = |group: Group, list: ListQuery| DirectoryQuery {
        domain_id: acme.id,
        viewer_id: vera.id,
        include_shared: true,
        include_own: true,
        group,
        list,
    };
    let half = async |group: Group, starred: bool| -> Vec<Uuid> {
        let pages = all_pages(sorted(Sort::Name, 1), async |list| {
            store.directory_starred(&view(group.clone(), list.clone()), starred).await
        });
        pages.await.iter().map(|entry| entry.id).collect()
    };
    assert_eq!(half(Group::All, true).await, [alice.id, zed.id], "the stars by name, a page each");
    assert_eq!(half(Group::All, false).await, [bob.id, pat.id, sam.id], "the others by name");
    assert_eq!(half(Group::Shared, true).await, [zed.id], "within a group");
    assert_eq!(half(Group::Favorites, true).await, [alice.id, zed.id]);
    assert!(half(Group::Favorites, false).await.is_empty(), "no favorite is not a favorite");

    let count =
        async |group: Group, list: ListQuery, cap: u32| store.directory_count(&view(group, list), cap).await.unwrap();
    assert_eq!(count(Group::All, ListQuery::default(), 100).await, 5, "everyone but the viewer");
    assert_eq!(count(Group::All, ListQuery::default(), 3).await, 4, "past the cap: the cap and one");
    assert_eq!(count(Group::All, search_for("zulu"), 100).await, 1);
    assert_eq!(count(Group::Favorites, ListQuery::default(), 100).await, 2);
    assert_eq!(count(Group::Coworkers, ListQuery::default(), 100).await, 2);
    assert_eq!(count(Group::Mine, search_for("nobody"), 100).await, 0);
}

fn new_device(domain: &Domain, name: &str, user_id: Option<Uuid>) -> NewDevice {
    NewDevice {
        domain_id: domain.id,
        name: name.into(),
        user_id,
        allowed_networks: vec!["192.0.2.0/24".into(), "2001:db8::/32".into()],
        token_hash: format!("token-{name}"),
        password_hash: format!("password-{name}"),
        created_by: user_id,
    }
}

pub async fn devices(store: &dyn Store) {
    let (acme, globex) = (domain(store, "acme.example").await, domain(store, "globex.example").await);
    let ann = user(store, &acme, "200", "Ann", "Lee").await;
    let lobby =
        store.create_device(new_device(&acme, "lobby", None), audit_in(acme.id, "device.create")).await.unwrap();
    assert_eq!((lobby.name.as_str(), lobby.user_id, lobby.last_used_at, lobby.revoked_at), ("lobby", None, None, None));
    assert_eq!(lobby.allowed_networks, ["192.0.2.0/24", "2001:db8::/32"]);
    let desk =
        store.create_device(new_device(&acme, "desk", Some(ann.id)), audit_in(acme.id, "device.create")).await.unwrap();
    let theirs = store.create_device(new_device(&globex, "theirs", None), audit("device.create")).await.unwrap();
    let taken = store.create_device(new_device(&globex, "lobby", None), audit("device.create")).await;
    assert!(is_conflict(taken), "token hashes are unique");
    let foreign_user = store.create_device(new_device(&globex, "x", Some(ann.id)), audit("device.create")).await;
    assert!(is_not_found(foreign_user), "a device is bound only to a user of its domain");

    assert_eq!(store.device(acme.id, lobby.id).await.unwrap(), Some(lobby.clone()));
    assert_eq!(store.device(globex.id, lobby.id).await.unwrap(), None, "keyed by domain");
    let by_token = store.device_access(DeviceKey::TokenHash("token-desk")).await.unwrap().unwrap();
    let stamp = store.change_stamp(acme.id).await.unwrap().unwrap();
    assert_eq!(by_token.device, desk);
    assert_eq!((by_token.domain, by_token.stamp, by_token.user), (acme.clone(), stamp, Some(ann.clone())));
    assert_eq!(by_token.password_hash, "password-desk");
    assert_eq!(by_token.device.created_by, Some(ann.id));
    assert!(!by_token.user_shares_own_contacts, "a user's own contacts stay off phones until they agree");
    assert!(!store.own_contacts_on_phones(ann.id).await.unwrap());
    let before = store.change_stamp(acme.id).await.unwrap().unwrap();
    let consent = audit_in(acme.id, "user.own_contacts_on_phones");
    store.set_own_contacts_on_phones(ann.id, true, consent.clone()).await.unwrap();
    assert!(store.own_contacts_on_phones(ann.id).await.unwrap());
    assert!(store.device_access(DeviceKey::TokenHash("token-desk")).await.unwrap().unwrap().user_shares_own_contacts);
    assert!(store.change_stamp(acme.id).await.unwrap().unwrap().seq > before.seq, "phones' books change with it");
    assert!(is_not_found(store.set_own_contacts_on_phones(Uuid::now_v7(), true, consent).await));
    assert!(is_not_found(store.own_contacts_on_phones(Uuid::now_v7()).await));
    assert_eq!(store.device_access(DeviceKey::TokenHash("token-nope")).await.unwrap(), None);
    let bind = |domain, id| async move { store.device_access(DeviceKey::Bind { domain, id }).await.unwrap() };
    let lobby_access = bind(&acme.name, lobby.id).await.unwrap();
    assert_eq!((lobby_access.device, lobby_access.user), (lobby.clone(), None));
    assert!(!lobby_access.user_shares_own_contacts);
    assert_eq!(lobby_access.password_hash, "password-lobby");
    assert!(bind(&acme.name, theirs.id).await.is_none(), "a bind DN names the device's own domain");
    assert!(bind(&globex.name, desk.id).await.is_none());

    let first = store.list_devices(acme.id, Limit::parse(Some(1)).unwrap(), None).await.unwrap();
    assert_eq!(first.items, std::slice::from_ref(&lobby));
    let after = first.next_cursor.as_deref().map(|c| Uuid::parse_str(c).unwrap());
    let rest = store.list_devices(acme.id, Limit::parse(Some(1)).unwrap(), after).await.unwrap();
    assert_eq!((rest.items, rest.next_cursor), (vec![desk.clone()], None));

    let at = DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap();
    store.touch_device(lobby.id, at).await.unwrap();
    let revoked = store.revoke_device(acme.id, lobby.id, audit_in(acme.id, "device.revoke")).await.unwrap();
    assert_eq!(revoked.last_used_at, Some(at));
    assert!(revoked.revoked_at.is_some());
    let again = store.revoke_device(acme.id, lobby.id, audit_in(acme.id, "device.revoke")).await.unwrap();
    assert_eq!(again.revoked_at, revoked.revoked_at);
    assert!(is_not_found(store.revoke_device(globex.id, desk.id, audit("device.revoke")).await));
    let filter = AuditFilter { actions: vec!["device.revoke".into()], ..Default::default() };
    let revocations = store.list_audit(acme.id, &filter, Limit::default(), None).await.unwrap();
    assert_eq!(revocations.items.len(), 1, "revoking twice is audited once");

    store.delete_user(ann.id, audit_in(acme.id, "user.delete")).await.unwrap();
    assert_eq!(store.device(acme.id, desk.id).await.unwrap(), None, "a bound device goes with its user");
    store.delete_domain(globex.id, audit("domain.delete")).await.unwrap();
    assert_eq!(store.device_access(DeviceKey::TokenHash("token-theirs")).await.unwrap(), None);
    assert_eq!(store.table_counts().await.unwrap()["devices"], 1);
}

/// A deleted user leaves every live table at once and comes back whole: their own
/// contacts (trashed ones too), favorites, settings, devices (secrets' hashes and all),
/// allowed numbers and presence; not their sessions. Another user given the extension
/// meanwhile blocks the restore; the trash forgets after the retention period.
pub async fn deleted_users(store: &dyn Store) {
    let (acme, globex) = (domain(store, "acme.example").await, domain(store, "globex.example").await);
    let (ann, bob) = (user(store, &acme, "200", "Ann", "Lee").await, user(store, &acme, "201", "Bob", "Hill").await);
    let kept = contact(store, personal(&ann), named("Mum", "Lee")).await;
    let trashed = contact(store, personal(&ann), named("Old", "Friend")).await;
    store.delete_contact(personal(&ann), trashed.id, audit("contact.delete")).await.unwrap();
    store.set_favorite(ann.id, bob.id, true).await.unwrap();
    store.set_favorite(bob.id, ann.id, true).await.unwrap();
    let country = BTreeMap::from([("DEFAULT_COUNTRY".to_string(), Some("DE".to_string()))]);
    store.put_settings(Layer::User(ann.id), &country, audit_in(acme.id, "settings.update")).await.unwrap();
    let phone = store.create_device(new_device(&acme, "ann", Some(ann.id)), audit("device.create")).await.unwrap();
    let allowed = NewAllowedNumber {
        domain_id: acme.id,
        user_id: ann.id,
        number: "+12065550100".into(),
        note: "dentist".into(),
        created_by: "cli".into(),
    };
    store.add_allowed_number(allowed, audit_in(acme.id, "allowed_number.add")).await.unwrap();
    let busy = by_hand(PresenceState::Busy, true, "Out");
    store.set_presence(ann.id, &busy, PresenceTimers::default()).await.unwrap();
    let session = NewToken {
        user_id: ann.id,
        kind: TokenKind::Session,
        name: "web".into(),
        secret_hash: "ann-session".into(),
        expires_at: None,
    };
    store.create_token(session).await.unwrap();
    let now = micros_now();

    let deleted_by = AuditRecord { actor: "100@acme.example".into(), ..audit_in(acme.id, "user.delete") };
    store.delete_user(ann.id, deleted_by).await.unwrap();
    assert!(is_not_found(store.delete_user(ann.id, audit_in(acme.id, "user.delete")).await));
    assert_eq!(store.user_by_id(ann.id).await.unwrap(), None);
    assert_eq!(store.user_by_extension(acme.id, &ann.extension).await.unwrap(), None);
    assert_eq!(store.contact(personal(&ann), kept.id).await.unwrap(), None);
    assert_eq!(store.device_access(DeviceKey::TokenHash("token-ann")).await.unwrap(), None);
    assert_eq!(store.token_owner_by_secret_hash("ann-session", now).await.unwrap(), None);
    let listed = store.deleted_users(acme.id, Limit::default(), None).await.unwrap();
    assert_eq!(listed.items.len(), 1);
    let gone = &listed.items[0];
    assert_eq!((gone.id, gone.extension.as_str(), gone.first_name.as_str()), (ann.id, "200", "Ann"));
    assert_eq!((gone.scope, gone.deleted_by.as_str()), (Scope::BasicUser, "100@acme.example"));
    assert!(gone.deleted_at >= now);
    assert_eq!(store.deleted_user(acme.id, ann.id).await.unwrap().as_ref(), Some(gone));
    assert_eq!(store.deleted_user(globex.id, ann.id).await.unwrap(), None, "keyed by domain");
    assert!(store.deleted_users(globex.id, Limit::default(), None).await.unwrap().items.is_empty());
    assert!(is_not_found(store.restore_user(globex.id, ann.id, audit("user.restore")).await));

    // The extension went to someone else: the restore says so and changes nothing.
    let newcomer = user(store, &acme, "200", "Nina", "New").await;
    let taken = store.restore_user(acme.id, ann.id, audit_in(acme.id, "user.restore")).await;
    assert!(matches!(&taken, Err(StoreError::Conflict(m)) if m.contains("200")), "{taken:?}");
    assert!(store.deleted_user(acme.id, ann.id).await.unwrap().is_some());
    store.delete_user(newcomer.id, audit_in(acme.id, "user.delete")).await.unwrap();

    let before = store.change_stamp(acme.id).await.unwrap().unwrap();
    let restored = store.restore_user(acme.id, ann.id, audit_in(acme.id, "user.restore")).await.unwrap();
    assert_eq!(restored, ann, "the same user: id, extension, version, times");
    assert!(store.change_stamp(acme.id).await.unwrap().unwrap().seq > before.seq, "books change with it");
    assert_eq!(store.deleted_user(acme.id, ann.id).await.unwrap(), None);
    assert_eq!(store.contact(personal(&ann), kept.id).await.unwrap().as_ref(), Some(&kept));
    assert!(store.contact(personal(&ann), trashed.id).await.unwrap().unwrap().deleted_at.is_some(), "still trashed");
    assert_eq!(store.favorites_among(ann.id, &[bob.id]).await.unwrap(), HashSet::from([bob.id]));
    assert_eq!(store.favorites_among(bob.id, &[ann.id]).await.unwrap(), HashSet::from([ann.id]));
    assert_eq!(store.settings(Layer::User(ann.id)).await.unwrap()["DEFAULT_COUNTRY"], "DE");
    assert_eq!(store.device_access(DeviceKey::TokenHash("token-ann")).await.unwrap().unwrap().device, phone);
    assert!(store.allowed_number(acme.id, ann.id, "+12065550100").await.unwrap().is_some());
    assert_eq!(store.presence(ann.id).await.unwrap(), busy);
    assert_eq!(store.token_owner_by_secret_hash("ann-session", now).await.unwrap(), None, "sessions stay ended");
    let search = |term: &str| DirectoryQuery {
        domain_id: acme.id,
        viewer_id: ann.id,
        include_shared: true,
        include_own: true,
        group: Group::All,
        list: search_for(term),
    };
    assert_eq!(entry_ids(&store.directory(&search("mum")).await.unwrap()), [kept.id], "searchable again");

    let purged = store.purge_deleted_users(micros_now() + TimeDelta::seconds(1)).await.unwrap();
    assert_eq!(purged, 1, "Nina, deleted for good");
    assert!(store.deleted_users(acme.id, Limit::default(), None).await.unwrap().items.is_empty());
}

pub async fn change_stamps(store: &dyn Store) {
    let (acme, globex) = (domain(store, "acme.example").await, domain(store, "globex.example").await);
    let stamp = |id| async move { store.change_stamp(id).await.unwrap().unwrap() };
    let start = stamp(acme.id).await;
    assert_eq!(start.at, acme.created_at);
    assert!(store.change_stamp(Uuid::now_v7()).await.unwrap().is_none());
    let ann = user(store, &acme, "200", "Ann", "Lee").await;
    assert_eq!(stamp(acme.id).await, start, "an audit record without the domain changes nothing");
    let card = store.create_contact(shared(&acme), fields(named("Sam", "Shared")), audit_in(acme.id, "contact.create"));
    let card = card.await.unwrap();
    let after_contact = stamp(acme.id).await;
    assert_eq!(after_contact.seq, start.seq + 1);
    assert!(after_contact.at >= start.at);
    let globex_start = stamp(globex.id).await;

    store.set_favorite(ann.id, card.id, true).await.unwrap();
    store.set_favorite(ann.id, card.id, true).await.unwrap();
    assert_eq!(stamp(acme.id).await.seq, after_contact.seq + 1, "only a favorite that changed counts");

    let changes = BTreeMap::from([("X".to_string(), Some("1".to_string()))]);
    store.put_settings(Layer::Domain(acme.id), &changes, audit_in(acme.id, "settings.update")).await.unwrap();
    assert_eq!(stamp(acme.id).await.seq, after_contact.seq + 2);
    assert_eq!(stamp(globex.id).await, globex_start);
    store.put_settings(Layer::System, &changes, audit("settings.update")).await.unwrap();
    assert_eq!(stamp(acme.id).await.seq, after_contact.seq + 3);
    assert_eq!(stamp(globex.id).await.seq, globex_start.seq + 1, "system settings reach every domain");

    let mut import = store.begin_import(shared(&acme)).await.unwrap();
    let create = ImportChange::Create(fields(named("Imported", "Row")).into());
    import.apply(vec![create]).await.unwrap();
    import.commit(audit_in(acme.id, "contacts.import"), &[]).await.unwrap();
    assert_eq!(stamp(acme.id).await.seq, after_contact.seq + 4, "an import counts once, at commit");

    // Credentials and subscriptions are in no book: phones keep their cached books.
    let imported = stamp(acme.id).await;
    let pbx = NewPbxCredential { domain_id: acme.id, name: "PBX".into(), secret_hash: "h".into() };
    store.create_pbx_credential(pbx, audit_in(acme.id, "pbx.create")).await.unwrap();
    let hook = NewWebhook {
        domain_id: acme.id,
        url: "https://crm.example/hook".into(),
        contacts: true,
        presence: false,
        secret: "s".into(),
        cursor: String::new(),
    };
    store.create_webhook(hook, audit_in(acme.id, "webhook.create")).await.unwrap();
    let app =
        crate::NewAppPassword { user_id: ann.id, domain_id: acme.id, name: "iPhone".into(), secret_hash: "h".into() };
    let app = store.create_app_password(app, 20, audit_in(acme.id, "app_password.create")).await.unwrap().unwrap();
    store.delete_app_password(ann.id, app.id, audit_in(acme.id, "app_password.revoke")).await.unwrap();
    assert_eq!(stamp(acme.id).await, imported);
}

/// Card names are per owner, unique by name and by UID, and go with their contact.
pub async fn dav_names(store: &dyn Store) {
    let o = office(store).await;
    let card = |id, name: &str, uid: &str| DavName { contact_id: id, name: name.into(), uid: uid.into() };
    let pete = card(o.pete.id, "pete.vcf", "uid-1");
    store.set_dav_name(o.vera.id, &pete).await.unwrap();
    assert_eq!(store.dav_name_by_name(o.vera.id, "pete.vcf").await.unwrap(), Some(pete.clone()));
    assert_eq!(store.dav_name_by_uid(o.vera.id, "uid-1").await.unwrap(), Some(pete.clone()));
    assert_eq!(store.dav_name_by_name(o.alice.id, "pete.vcf").await.unwrap(), None, "another owner's");
    assert_eq!(store.dav_names(o.vera.id, &[o.pete.id, o.sam.id]).await.unwrap(), std::slice::from_ref(&pete));
    assert_eq!(store.dav_names(o.alice.id, &[o.pete.id]).await.unwrap(), [], "only the owner's");
    // Cards by name: the owner's live contacts, with their versions.
    let asked = ["pete.vcf".to_string(), "nobody.vcf".to_string()];
    let petes = CardVersion { id: o.pete.id, version: o.pete.version, named: Some(pete.clone()) };
    let of_vera = store.card_versions_named(personal(&o.vera), &asked).await.unwrap();
    assert_eq!(of_vera, std::slice::from_ref(&petes));
    let of_alice = store.card_versions_named(personal(&o.alice), &asked).await.unwrap();
    assert_eq!(of_alice, [], "only the owner's");
    assert_eq!(store.card_versions_named(shared(&o.domain), &asked).await.unwrap(), [], "a shared book has no names");
    let listed = store.list_card_versions(personal(&o.vera), &ListQuery::default()).await.unwrap();
    assert_eq!(listed.items, std::slice::from_ref(&petes), "the listing names the card");
    // Contacts by id: the book's live ones only.
    let asked = [o.pete.id, o.sam.id, o.alices_own.id];
    let of_vera = store.contacts(personal(&o.vera), &asked).await.unwrap();
    assert_eq!(of_vera.iter().map(|c| c.id).collect::<Vec<_>>(), [o.pete.id]);
    let shared_ones = store.contacts(shared(&o.domain), &[o.sam.id, o.trashed.id, o.pete.id]).await.unwrap();
    assert_eq!(shared_ones.iter().map(|c| c.id).collect::<Vec<_>>(), [o.sam.id], "not the trashed one");
    let versions = store.contact_versions(shared(&o.domain), &[o.sam.id, o.trashed.id, o.pete.id]).await.unwrap();
    assert_eq!(versions, [(o.sam.id, shared_ones[0].version)], "live ones of the book only");
    // A book's versions, paged as its contacts are.
    let one = ListQuery { limit: Limit::parse(Some(1)).unwrap(), ..ListQuery::default() };
    let contacts = store.list_contacts(shared(&o.domain), &one).await.unwrap();
    let versions = store.list_card_versions(shared(&o.domain), &one).await.unwrap();
    let expected: Vec<CardVersion> =
        contacts.items.iter().map(|c| CardVersion { id: c.id, version: c.version, named: None }).collect();
    assert_eq!((versions.items, versions.next_cursor.is_some()), (expected, true));
    let all = store.list_card_versions(shared(&o.domain), &ListQuery::default()).await.unwrap();
    assert_eq!(all.items.iter().map(|card| card.id).collect::<Vec<_>>(), [o.acme.id, o.sam.id], "live ones, by name");

    // Alice may use the same name and UID for her own card; Vera may not for another.
    let alices = card(o.alices_own.id, "pete.vcf", "uid-1");
    store.set_dav_name(o.alice.id, &alices).await.unwrap();
    let vera_again = personal_contact(store, &o.vera, "Second").await;
    let clash = store.set_dav_name(o.vera.id, &card(vera_again, "pete.vcf", "uid-2")).await;
    assert!(matches!(clash, Err(StoreError::Conflict(_))), "{clash:?}");
    let clash = store.set_dav_name(o.vera.id, &card(vera_again, "second.vcf", "uid-1")).await;
    assert!(matches!(clash, Err(StoreError::Conflict(_))), "{clash:?}");
    // Nobody names another's contact.
    store.set_dav_name(o.alice.id, &card(o.pete.id, "stolen.vcf", "uid-9")).await.unwrap();
    assert_eq!(store.dav_name_by_name(o.alice.id, "stolen.vcf").await.unwrap(), None);

    let renamed = card(o.pete.id, "renamed.vcf", "uid-1");
    store.set_dav_name(o.vera.id, &renamed).await.unwrap();
    assert_eq!(store.dav_name_by_name(o.vera.id, "pete.vcf").await.unwrap(), None);
    assert_eq!(store.dav_name_by_uid(o.vera.id, "uid-1").await.unwrap(), Some(renamed));
    store.delete_dav_name(o.vera.id, o.pete.id).await.unwrap();
    assert_eq!(store.dav_names(o.vera.id, &[o.pete.id]).await.unwrap(), []);

    // Whatever text a client chose comes back as it was (cards by name travel as JSON).
    let odd = card(vera_again, "a \"quoted\" \\ back\\slash\ttab\nline é 😀.vcf", "uid \"2\" \\ ✓ \u{1}");
    store.set_dav_name(o.vera.id, &odd).await.unwrap();
    let version = store.contact(personal(&o.vera), vera_again).await.unwrap().unwrap().version;
    let asked = [odd.name.clone(), "renamed.vcf".to_string()];
    let found = store.card_versions_named(personal(&o.vera), &asked).await.unwrap();
    assert_eq!(found, [CardVersion { id: vera_again, version, named: Some(odd) }], "only names still given");
    // A card in the trash is found by no name.
    store.delete_contact(personal(&o.vera), vera_again, audit_in(o.domain.id, "contact.delete")).await.unwrap();
    assert_eq!(store.card_versions_named(personal(&o.vera), &asked).await.unwrap(), []);
}

async fn personal_contact(store: &dyn Store, owner: &User, last: &str) -> Uuid {
    contact(store, personal(owner), named("Card", last)).await.id
}

pub async fn presence(store: &dyn Store) {
    let acme = domain(store, "acme.example").await;
    let ann = user(store, &acme, "200", "Ann", "Lee").await;
    assert_eq!(store.presence(ann.id).await.unwrap(), Presence::default());
    let busy = by_hand(PresenceState::Busy, true, "In a meeting");
    store.set_presence(ann.id, &busy, PresenceTimers::default()).await.unwrap();
    assert_eq!(store.presence(ann.id).await.unwrap(), busy);
    let back = by_hand(PresenceState::Available, false, String::new());
    store.set_presence(ann.id, &back, PresenceTimers::default()).await.unwrap();
    assert_eq!(store.presence(ann.id).await.unwrap(), back);
    assert!(is_not_found(store.set_presence(Uuid::now_v7(), &busy, PresenceTimers::default()).await));

    // A message until 10:00 and busy until 11:00: each ends once, at its time.
    let bob = user(store, &acme, "201", "Bob", "Ray").await;
    let ten = micros_now() + TimeDelta::hours(1);
    let timers = PresenceTimers { message_until: Some(ten), busy_until: Some(ten + TimeDelta::hours(1)) };
    store.set_presence(ann.id, &busy, timers).await.unwrap();
    store.set_presence(bob.id, &busy, PresenceTimers::default()).await.unwrap();
    assert_eq!(store.expire_presence(ten - TimeDelta::seconds(1), ten - TimeDelta::days(1)).await.unwrap(), []);
    assert_eq!(store.expire_presence(ten, ten - TimeDelta::days(1)).await.unwrap(), [(acme.id, ann.id)]);
    assert_eq!(store.presence(ann.id).await.unwrap(), Presence { message: String::new(), ..busy.clone() });
    assert_eq!(store.expire_presence(ten, ten - TimeDelta::days(1)).await.unwrap(), [], "once");
    assert_eq!(
        store.expire_presence(ten + TimeDelta::hours(2), ten - TimeDelta::days(1)).await.unwrap(),
        [(acme.id, ann.id)]
    );
    let available = by_hand(PresenceState::Available, true, String::new());
    assert_eq!(store.presence(ann.id).await.unwrap(), available);
    assert_eq!(store.presence(bob.id).await.unwrap(), busy, "no timers: as set");
    store.delete_user(ann.id, audit("user.delete")).await.unwrap();
    assert_eq!(store.presence(ann.id).await.unwrap(), Presence::default());
}

/// Line states in batches: shown busy or available by the rule of `core::model::Presence`,
/// a state set by hand that wins, unknown extensions, and only changes reported.
pub async fn line_presence(store: &dyn Store) {
    let acme = domain(store, "acme.example").await;
    let globex = domain(store, "globex.example").await;
    let ann = user(store, &acme, "200", "Ann", "Lee").await;
    let bob = user(store, &acme, "201", "Bob", "Ray").await;
    let gus = user(store, &globex, "202", "Gus", "Far").await;
    let at = micros_now();
    let lines = |pairs: &[(&str, LineState)]| pairs.iter().map(|(e, s)| (e.to_string(), *s)).collect::<Vec<_>>();
    let update = store
        .set_line_states(
            acme.id,
            &lines(&[
                ("200", LineState::OnCall),
                ("201", LineState::Idle),
                ("202", LineState::Ringing),
                ("999", LineState::Idle),
            ]),
            at,
        )
        .await
        .unwrap();
    let mut changed = vec![ann.id, bob.id];
    changed.sort_unstable();
    let mut got = update.changed.clone();
    got.sort_unstable();
    assert_eq!(
        (got, update.unknown),
        (changed, vec!["202".to_string(), "999".to_string()]),
        "another domain's 202 is unknown"
    );
    let shown = store.presence(ann.id).await.unwrap();
    assert_eq!((shown.state, shown.line, shown.chat), (PresenceState::Busy, Some(LineState::OnCall), false));
    assert_eq!(store.presence(bob.id).await.unwrap().state, PresenceState::Available, "an idle line is someone there");
    assert_eq!(store.presence(gus.id).await.unwrap(), Presence::default(), "nothing of another domain changes");

    let held = store.set_line_states(acme.id, &lines(&[("200", LineState::OnHold)]), at).await.unwrap();
    assert!(held.changed.is_empty(), "on hold is busy too: nothing shown changed");
    assert_eq!(held.line_only, [ann.id], "but the line did");
    let again = store.set_line_states(acme.id, &lines(&[("200", LineState::OnHold)]), at).await.unwrap();
    assert_eq!(again, LineUpdate::default(), "the same line again is no change");
    let twice = lines(&[("201", LineState::Dnd), ("201", LineState::Offline)]);
    let last = store.set_line_states(acme.id, &twice, at).await.unwrap();
    assert_eq!(last.changed, [bob.id], "the last report of an extension counts");
    assert_eq!(store.presence(bob.id).await.unwrap().state, PresenceState::Offline);

    // By hand: busy and offline win over the line; available lets a busy line show.
    store.set_presence(ann.id, &by_hand(PresenceState::Offline, false, ""), PresenceTimers::default()).await.unwrap();
    assert_eq!(store.presence(ann.id).await.unwrap().state, PresenceState::Offline);
    store
        .set_presence(ann.id, &by_hand(PresenceState::Available, true, "Hi"), PresenceTimers::default())
        .await
        .unwrap();
    let shown = store.presence(ann.id).await.unwrap();
    assert_eq!(
        (shown.state, shown.chat, shown.manual_state),
        (PresenceState::Busy, true, Some(PresenceState::Available))
    );
    assert!(store.clear_presence(ann.id, at).await.unwrap());
    let shown = store.presence(ann.id).await.unwrap();
    assert_eq!(
        (shown.state, shown.chat, shown.message.as_str(), shown.manual_state),
        (PresenceState::Busy, false, "", None)
    );
    assert!(!store.clear_presence(ann.id, at).await.unwrap(), "nothing left to clear");
    let idle = store.set_line_states(acme.id, &lines(&[("200", LineState::Idle)]), at).await.unwrap();
    assert_eq!(idle.changed, [ann.id]);
    assert_eq!(store.presence(ann.id).await.unwrap().state, PresenceState::Available);
}

/// Sessions: connected while one is open (two count once), away when idle, gone when
/// the last closes or is not renewed.
pub async fn session_presence(store: &dyn Store) {
    let acme = domain(store, "acme.example").await;
    let ann = user(store, &acme, "200", "Ann", "Lee").await;
    let t0 = micros_now();
    let later = |minutes: i64| t0 + TimeDelta::minutes(minutes);
    let (tab, phone) = (Uuid::now_v7(), Uuid::now_v7());
    assert!(store.connect_presence(tab, ann.id, t0, later(2)).await.unwrap());
    let shown = store.presence(ann.id).await.unwrap();
    assert_eq!((shown.state, shown.chat, shown.chat_away), (PresenceState::Available, true, false));
    assert!(!store.connect_presence(phone, ann.id, t0, later(2)).await.unwrap(), "a second session changes nothing");
    assert!(is_not_found(store.connect_presence(Uuid::now_v7(), Uuid::now_v7(), t0, later(2)).await));

    // Idle for ten minutes: away, once.
    store.renew_presence_connections(&[tab, phone], later(30)).await.unwrap();
    assert_eq!(store.expire_presence(later(5), later(5) - TimeDelta::minutes(10)).await.unwrap(), []);
    assert_eq!(store.expire_presence(later(10), later(0)).await.unwrap(), [(acme.id, ann.id)]);
    let shown = store.presence(ann.id).await.unwrap();
    assert_eq!((shown.state, shown.chat, shown.chat_away), (PresenceState::Available, false, true));
    assert_eq!(store.expire_presence(later(10), later(0)).await.unwrap(), [], "once");
    assert!(store.presence_activity(ann.id, later(11)).await.unwrap());
    assert!(store.presence(ann.id).await.unwrap().chat);
    assert!(!store.presence_activity(ann.id, later(12)).await.unwrap(), "already active");

    // One closes: still connected; the other is not renewed (its server stopped): gone.
    assert_eq!(store.disconnect_presence(tab, later(12)).await.unwrap(), None);
    assert_eq!(store.disconnect_presence(tab, later(12)).await.unwrap(), None, "closed once");
    assert!(store.presence(ann.id).await.unwrap().chat);
    assert_eq!(store.expire_presence(later(29), later(0)).await.unwrap(), []);
    assert_eq!(store.expire_presence(later(30), later(0)).await.unwrap(), [(acme.id, ann.id)]);
    assert_eq!(store.presence(ann.id).await.unwrap(), Presence::default());

    let again = Uuid::now_v7();
    assert!(store.connect_presence(again, ann.id, later(31), later(40)).await.unwrap());
    assert_eq!(store.disconnect_presence(again, later(32)).await.unwrap(), Some(ann.id));
    assert_eq!(store.presence(ann.id).await.unwrap().state, PresenceState::Offline);
}

pub async fn pbx_credentials(store: &dyn Store) {
    let acme = domain(store, "acme.example").await;
    let globex = domain(store, "globex.example").await;
    let new = |domain: &Domain, hash: &str| NewPbxCredential {
        domain_id: domain.id,
        name: "Main PBX".into(),
        secret_hash: hash.into(),
    };
    let pbx = store.create_pbx_credential(new(&acme, "h1"), audit_in(acme.id, "pbx.create")).await.unwrap();
    let other = store.create_pbx_credential(new(&globex, "h2"), audit_in(globex.id, "pbx.create")).await.unwrap();
    assert_eq!(store.pbx_credentials(acme.id).await.unwrap(), std::slice::from_ref(&pbx));
    assert_eq!(store.pbx_credential_by_secret_hash("h1").await.unwrap(), Some(pbx.clone()));
    assert_eq!(store.pbx_credential_by_secret_hash("nope").await.unwrap(), None);
    assert!(!store.revoke_pbx_credential(acme.id, other.id, audit_in(acme.id, "pbx.revoke")).await.unwrap());
    assert!(store.revoke_pbx_credential(acme.id, pbx.id, audit_in(acme.id, "pbx.revoke")).await.unwrap());
    assert_eq!(store.pbx_credential_by_secret_hash("h1").await.unwrap(), None);
    assert_eq!(store.pbx_credentials(globex.id).await.unwrap(), [other]);
}

pub async fn settings_layers(store: &dyn Store) {
    let reseller = store.create_reseller("Northwind").await.unwrap();
    let acme = domain(store, "acme.example").await;
    let ann = user(store, &acme, "200", "Ann", "Lee").await;
    let layers = [
        Layer::System,
        Layer::Reseller(reseller.id),
        Layer::Domain(acme.id),
        Layer::Scope(acme.id, Scope::BasicUser),
        Layer::Scope(acme.id, Scope::OfficeManager),
        Layer::User(ann.id),
    ];
    for (i, layer) in layers.iter().enumerate() {
        let changes =
            BTreeMap::from([("SHARED".to_string(), Some(format!("v{i}"))), (format!("ONLY_{i}"), Some("x".into()))]);
        store.put_settings(*layer, &changes, audit_in(acme.id, "settings.update")).await.unwrap();
    }
    for (i, layer) in layers.iter().enumerate() {
        let expected =
            BTreeMap::from([("SHARED".to_string(), format!("v{i}")), (format!("ONLY_{i}"), "x".to_string())]);
        assert_eq!(store.settings(*layer).await.unwrap(), expected, "{layer:?}");
    }
    // Several layers at once come back in the order asked, an unknown one empty.
    let asked =
        [Layer::User(ann.id), Layer::User(Uuid::now_v7()), Layer::System, Layer::Scope(acme.id, Scope::BasicUser)];
    let maps = store.settings_layers(&asked).await.unwrap();
    let shared: Vec<Option<&str>> = maps.iter().map(|m| m.get("SHARED").map(String::as_str)).collect();
    assert_eq!(shared, [Some("v5"), None, Some("v0"), Some("v3")]);
    assert_eq!(maps[0].len(), 2, "only the layer's own keys");
    let changes = BTreeMap::from([
        ("SHARED".to_string(), Some("new".into())),
        ("ONLY_2".to_string(), None),
        ("ABSENT".to_string(), None),
    ]);
    store.put_settings(Layer::Domain(acme.id), &changes, audit_in(acme.id, "settings.update")).await.unwrap();
    assert_eq!(
        store.settings(Layer::Domain(acme.id)).await.unwrap(),
        BTreeMap::from([("SHARED".to_string(), "new".to_string())])
    );
    assert_eq!(store.settings(Layer::Scope(acme.id, Scope::BasicUser)).await.unwrap()["SHARED"], "v3");
    assert!(store.settings(Layer::Scope(acme.id, Scope::SiteManager)).await.unwrap().is_empty());
    assert!(store.settings(Layer::User(Uuid::now_v7())).await.unwrap().is_empty());
    assert_eq!(audit_actions(store, acme.id).await.len(), layers.len() + 1);

    store.delete_user(ann.id, audit("user.delete")).await.unwrap();
    assert!(store.settings(Layer::User(ann.id)).await.unwrap().is_empty(), "a user's layer goes with the user");
    store.delete_domain(acme.id, audit("domain.delete")).await.unwrap();
    assert!(store.settings(Layer::Domain(acme.id)).await.unwrap().is_empty(), "a domain's layers go with it");
    assert!(store.settings(Layer::Scope(acme.id, Scope::BasicUser)).await.unwrap().is_empty());
    assert_eq!(store.settings(Layer::System).await.unwrap()["SHARED"], "v0");
}

pub async fn audit_with_every_change(store: &dyn Store) {
    let log = Uuid::now_v7();
    let record = |action: &str| AuditRecord {
        domain_id: Some(log),
        actor: "200@acme.example".into(),
        action: action.into(),
        target_id: Some(log),
        details: json!({ "action": action, "changes": { "first_name": { "from": "A", "to": "B" } } }),
    };
    let new = NewDomain { name: "acme.example".parse().unwrap(), description: String::new(), reseller_id: None };
    let acme = store.create_domain(new, record("domain.create")).await.unwrap();
    store.update_domain(acme.id, DomainPatch::default(), record("domain.update")).await.unwrap();
    let ann = store.create_user(new_user(&acme, "200", "Ann", "Lee"), record("user.create")).await.unwrap();
    store.update_user(ann.id, None, UserPatch::default(), record("user.update")).await.unwrap();
    store.set_password_hash(ann.id, "h", record("user.password")).await.unwrap();
    let card = store.create_contact(shared(&acme), fields(named("Sam", "S")), record("contact.create")).await.unwrap();
    store
        .update_contact(shared(&acme), card.id, None, fields(named("Sam", "T")), record("contact.update"))
        .await
        .unwrap();
    store.delete_contact(shared(&acme), card.id, record("contact.delete")).await.unwrap();
    store.restore_contact(shared(&acme), card.id, record("contact.restore")).await.unwrap();
    store.put_settings(Layer::Domain(acme.id), &BTreeMap::new(), record("settings.update")).await.unwrap();
    store.delete_user(ann.id, record("user.delete")).await.unwrap();
    store.delete_domain(acme.id, record("domain.delete")).await.unwrap();
    let stale = store.update_contact(shared(&acme), card.id, Some(1), fields(named("X", "Y")), record("failed")).await;
    assert!(stale.is_err());

    let page = store.list_audit(log, &AuditFilter::default(), limit(100), None).await.unwrap();
    let actions: Vec<&str> = page.items.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "domain.delete",
            "user.delete",
            "settings.update",
            "contact.restore",
            "contact.delete",
            "contact.update",
            "contact.create",
            "user.password",
            "user.update",
            "user.create",
            "domain.update",
            "domain.create",
        ]
    );
    for entry in &page.items {
        assert_eq!((entry.actor.as_str(), entry.target_id), ("200@acme.example", Some(log)));
        assert_eq!(entry.details, record(&entry.action).details);
    }
    assert!(page.items.windows(2).all(|w| w[0].at >= w[1].at));
}

pub async fn audit_pages(store: &dyn Store) {
    let acme = domain(store, "acme.example").await;
    let other = domain(store, "other.example").await;
    for i in 0..7 {
        store
            .put_settings(Layer::Domain(acme.id), &BTreeMap::new(), audit_in(acme.id, &format!("a{i}")))
            .await
            .unwrap();
        store.put_settings(Layer::Domain(other.id), &BTreeMap::new(), audit_in(other.id, "elsewhere")).await.unwrap();
    }
    let mut pages = Vec::new();
    let mut before = None;
    loop {
        let page = store.list_audit(acme.id, &AuditFilter::default(), limit(3), before).await.unwrap();
        pages.push(page.items.iter().map(|e| e.action.clone()).collect::<Vec<_>>());
        match page.next_cursor {
            Some(next) => before = Some(next.parse().unwrap()),
            None => break,
        }
    }
    assert_eq!(pages, [vec!["a6", "a5", "a4"], vec!["a3", "a2", "a1"], vec!["a0"]]);
    let all = store.list_audit(acme.id, &AuditFilter::default(), limit(7), None).await.unwrap();
    assert_eq!((all.items.len(), all.next_cursor), (7, None));
}

/// An audit row as `db copy` moves it, written at `at` with an id made at `id_at`, numbered `n`.
fn planted_audit(
    domain_id: Uuid,
    at: DateTime<Utc>,
    id_at: DateTime<Utc>,
    action: &str,
    actor: &str,
    n: usize,
) -> Map<String, Value> {
    let timestamp = uuid::Timestamp::from_unix(
        uuid::NoContext,
        u64::try_from(id_at.timestamp()).unwrap(),
        id_at.timestamp_subsec_nanos(),
    );
    let row = json!({
        "id": Uuid::new_v7(timestamp).to_string(),
        "domain_id": domain_id.to_string(),
        "at": at.timestamp_micros(),
        "actor": actor,
        "action": action,
        "target_id": null,
        "details": json!({ "n": n }).to_string(),
    });
    row.as_object().unwrap().clone()
}

/// Every filter of the audit log, alone and together, with paging inside the filter;
/// the time range follows `at` even where an entry's id was made a little later.
pub async fn audit_filters(store: &dyn Store) {
    let acme = domain(store, "acme.example").await;
    let other = domain(store, "other.example").await;
    let start = DateTime::parse_from_rfc3339("2024-03-01T00:00:00Z").unwrap().with_timezone(&Utc);
    let plan = [
        ("contact.create", "200@acme.example"),
        ("user.create", "200@acme.example"),
        ("contact.update", "201@acme.example"),
        ("user.delete", "201@acme.example"),
        ("contact.create", "201@acme.example"),
        ("settings.update", "200@acme.example"),
        ("user.update", "200@acme.example"),
        ("contact.create", "200@acme.example"),
        ("user.password", "cli"),
    ];
    let at = |n: usize| start + TimeDelta::hours(n as i64);
    let mut rows = Vec::new();
    for (n, (action, actor)) in plan.iter().enumerate() {
        // Entry 5's id was made 30 seconds after its time: its time still decides.
        let id_at = if n == 5 { at(n) + TimeDelta::seconds(30) } else { at(n) };
        rows.push(planted_audit(acme.id, at(n), id_at, action, actor, n));
        rows.push(planted_audit(other.id, at(n), at(n), action, actor, 100 + n));
    }
    store.import_rows("audit_log", &rows).await.unwrap();

    let listed = async |filter: &AuditFilter| {
        let mut numbers = Vec::new();
        let mut before = None;
        loop {
            let page = store.list_audit(acme.id, filter, limit(2), before).await.unwrap();
            assert!(page.items.len() <= 2);
            numbers.extend(page.items.iter().map(|e| e.details["n"].as_u64().unwrap() as usize));
            match page.next_cursor {
                Some(next) => before = Some(next.parse().unwrap()),
                None => break numbers,
            }
        }
    };
    let expected = |keep: &dyn Fn(usize, &str, &str) -> bool| -> Vec<usize> {
        (0..plan.len()).rev().filter(|&n| keep(n, plan[n].0, plan[n].1)).collect()
    };
    let actions =
        |names: &[&str]| AuditFilter { actions: names.iter().map(|a| a.to_string()).collect(), ..Default::default() };

    assert_eq!(listed(&AuditFilter::default()).await, expected(&|_, _, _| true));
    assert_eq!(listed(&actions(&["contact.create"])).await, expected(&|_, a, _| a == "contact.create"));
    let user_actions = ["user.create", "user.update", "user.delete", "user.password"];
    assert_eq!(listed(&actions(&user_actions)).await, expected(&|_, a, _| a.starts_with("user.")));
    assert!(listed(&actions(&["contact.restore"])).await.is_empty());

    let by_201 = AuditFilter { actor: Some("201@acme.example".into()), ..Default::default() };
    assert_eq!(listed(&by_201).await, expected(&|_, _, who| who == "201@acme.example"));
    let created_by_200 = AuditFilter { actor: Some("200@acme.example".into()), ..actions(&["contact.create"]) };
    assert_eq!(listed(&created_by_200).await, [7, 0]);
    let users_by_200 = AuditFilter { actor: Some("200@acme.example".into()), ..actions(&user_actions) };
    assert_eq!(listed(&users_by_200).await, [6, 1]);

    let window = AuditFilter { since: Some(at(2)), until: Some(at(6)), ..Default::default() };
    assert_eq!(listed(&window).await, expected(&|n, _, _| (2..6).contains(&n)));
    let from_five = AuditFilter { since: Some(at(5)), ..Default::default() };
    assert_eq!(listed(&from_five).await, expected(&|n, _, _| n >= 5));
    let before_five = AuditFilter { until: Some(at(5)), ..Default::default() };
    assert_eq!(listed(&before_five).await, expected(&|n, _, _| n < 5));
    let all_together = AuditFilter { since: Some(at(1)), until: Some(at(8)), ..created_by_200.clone() };
    assert_eq!(listed(&all_together).await, [7]);
    let nothing = AuditFilter { since: Some(at(40)), ..Default::default() };
    assert!(listed(&nothing).await.is_empty());
}

pub async fn tokens(store: &dyn Store) {
    let acme = domain(store, "acme.example").await;
    let (ann, bob) = (user(store, &acme, "200", "Ann", "Lee").await, user(store, &acme, "201", "Bob", "Ray").await);
    let now = micros_now();
    let token = |user: &User, kind, hash: &str, expires_at| NewToken {
        user_id: user.id,
        kind,
        name: format!("{hash} token"),
        secret_hash: hash.into(),
        expires_at,
    };
    let session =
        store.create_token(token(&ann, TokenKind::Session, "h1", Some(now + TimeDelta::hours(1)))).await.unwrap();
    assert_eq!((session.user_id, session.kind, session.name.as_str()), (ann.id, TokenKind::Session, "h1 token"));
    assert_eq!(session.expires_at, Some(now + TimeDelta::hours(1)));
    let api = store.create_token(token(&ann, TokenKind::Api, "h2", None)).await.unwrap();
    let expired =
        store.create_token(token(&ann, TokenKind::Session, "h3", Some(now - TimeDelta::seconds(1)))).await.unwrap();
    let bobs = store.create_token(token(&bob, TokenKind::Session, "h4", None)).await.unwrap();
    assert!(is_conflict(store.create_token(token(&bob, TokenKind::Api, "h1", None)).await));
    assert!(is_not_found(
        store.create_token(NewToken { user_id: Uuid::now_v7(), ..token(&bob, TokenKind::Api, "h5", None) }).await
    ));

    assert_eq!(store.token_by_secret_hash("h1", now).await.unwrap(), Some(session.clone()));
    assert_eq!(store.token_by_secret_hash("h1", now + TimeDelta::hours(2)).await.unwrap(), None, "expired");
    assert_eq!(store.token_by_secret_hash("h3", now).await.unwrap(), None, "expired");
    assert_eq!(store.token_by_secret_hash("h2", now + TimeDelta::days(3650)).await.unwrap(), Some(api.clone()));
    assert_eq!(store.token_by_secret_hash("nope", now).await.unwrap(), None);

    let sessions = store.list_tokens(ann.id, TokenKind::Session).await.unwrap();
    assert_eq!(ids(&sessions, |t| t.id), [session.id, expired.id]);
    assert_eq!(store.list_tokens(ann.id, TokenKind::Api).await.unwrap(), [api]);
    assert!(!store.delete_token(bob.id, session.id).await.unwrap(), "only the owner's tokens");
    assert!(store.delete_token(ann.id, session.id).await.unwrap());
    assert!(!store.delete_token(ann.id, session.id).await.unwrap());
    assert_eq!(store.token_by_secret_hash("h1", now).await.unwrap(), None);
    store.delete_user(bob.id, audit("user.delete")).await.unwrap();
    assert_eq!(store.token_by_secret_hash("h4", now).await.unwrap(), None, "{bobs:?} went with its user");
}

/// What authenticating a request reads in one statement: the live token with its user
/// and the user's domain (with its reseller), always as they are now.
pub async fn token_owners(store: &dyn Store) {
    let north = store.create_reseller("North Telecom").await.unwrap();
    let new =
        NewDomain { name: "acme.example".parse().unwrap(), description: "Acme".into(), reseller_id: Some(north.id) };
    let acme = store.create_domain(new, audit("domain.create")).await.unwrap();
    let globex = domain(store, "globex.example").await;
    let (ann, gus) = (user(store, &acme, "200", "Ann", "Lee").await, user(store, &globex, "200", "Gus", "Ray").await);
    let now = micros_now();
    let token = |user: &User, kind, hash: &str, expires_at| NewToken {
        user_id: user.id,
        kind,
        name: format!("{hash} token"),
        secret_hash: hash.into(),
        expires_at,
    };
    let session =
        store.create_token(token(&ann, TokenKind::Session, "s1", Some(now + TimeDelta::hours(1)))).await.unwrap();
    let api = store.create_token(token(&gus, TokenKind::Api, "a1", None)).await.unwrap();
    store.create_token(token(&ann, TokenKind::Session, "old", Some(now - TimeDelta::seconds(1)))).await.unwrap();
    let owner = |hash: &'static str, at: DateTime<Utc>| async move {
        store.token_owner_by_secret_hash(hash, at).await.unwrap()
    };

    let found = owner("s1", now).await.expect("a live session");
    assert_eq!(found, TokenOwner { token: session.clone(), user: ann.clone(), domain: acme.clone() });
    assert_eq!(found.domain.reseller.as_deref(), Some("North Telecom"));
    let found = owner("a1", now + TimeDelta::days(3650)).await.expect("an API token does not expire");
    assert_eq!(found, TokenOwner { token: api.clone(), user: gus.clone(), domain: globex.clone() });
    assert_eq!(found.domain.reseller, None);

    assert_eq!(owner("s1", now + TimeDelta::hours(1)).await, None, "expired at its expiry time");
    assert_eq!(owner("old", now).await, None, "expired");
    assert_eq!(owner("nope", now).await, None);
    assert_eq!(owner("S1", now).await, None, "hashes are compared exactly");

    // Never a stale copy: a change of the user shows at once.
    let patch = UserPatch { scope: Some(Scope::OfficeManager), first_name: Some("Anne".into()), ..Default::default() };
    let changed = store.update_user(ann.id, None, patch, audit_in(acme.id, "user.update")).await.unwrap();
    assert_eq!(owner("s1", now).await.unwrap().user, changed);

    assert!(store.delete_token(ann.id, session.id).await.unwrap());
    assert_eq!(owner("s1", now).await, None, "an ended session");
    store.delete_user(gus.id, audit_in(globex.id, "user.delete")).await.unwrap();
    assert_eq!(owner("a1", now).await, None, "a token goes with its user");

    let bea = user(store, &globex, "201", "Bea", "Ray").await;
    store.create_token(token(&bea, TokenKind::Api, "a2", None)).await.unwrap();
    assert!(owner("a2", now).await.is_some());
    store.delete_domain(globex.id, audit("domain.delete")).await.unwrap();
    assert_eq!(owner("a2", now).await, None, "a token goes with its user's domain");
}

pub async fn login_failures(store: &dyn Store) {
    let key = "200@acme.example";
    assert_eq!(store.login_failures(key).await.unwrap(), LoginFailures::default());
    let first = micros_now();
    let second = first + TimeDelta::seconds(5);
    assert_eq!(
        store.record_login_failure(key, first).await.unwrap(),
        LoginFailures { count: 1, last_failure: Some(first) }
    );
    let twice = LoginFailures { count: 2, last_failure: Some(second) };
    assert_eq!(store.record_login_failure(key, second).await.unwrap(), twice);
    assert_eq!(store.login_failures(key).await.unwrap(), twice);
    store.record_login_failure("10.0.0.1", first).await.unwrap();
    store.clear_login_failures(key).await.unwrap();
    assert_eq!(store.login_failures(key).await.unwrap(), LoginFailures::default());
    store.clear_login_failures(key).await.unwrap();
    assert_eq!(store.login_failures("10.0.0.1").await.unwrap().count, 1);
}

/// Fills `source` with a bit of everything, copies it table by table into the empty
/// `target` as `db copy` does, and checks the copy is whole and works.
fn contact_event(domain_id: Uuid, action: ContactAction) -> Event {
    let kind = EventKind::ContactChanged { book: EventBook::Shared, contact_id: Some(Uuid::now_v7()), action };
    Event { domain_id, kind }
}

/// The next event of a subscription; the timeout only keeps a broken store from hanging the suite.
pub async fn next_event(subscription: &mut broadcast::Receiver<Event>) -> Event {
    tokio::time::timeout(std::time::Duration::from_secs(10), subscription.recv())
        .await
        .expect("no event arrived")
        .expect("the subscription stays open")
}

/// A subscriber receives every event delivered after it subscribed, once each, in order.
pub async fn events(store: &dyn Store) {
    let domain_id = Uuid::now_v7();
    let mut early = store.subscribe();
    let created = contact_event(domain_id, ContactAction::Created);
    let updated = contact_event(domain_id, ContactAction::Updated);
    store.publish(&created).await.unwrap();
    store.publish(&updated).await.unwrap();
    assert_eq!(next_event(&mut early).await, created);
    assert_eq!(next_event(&mut early).await, updated);
    // Delivery may lag publishing (PostgreSQL): subscribe only once both have arrived.
    let mut late = store.subscribe();
    let settings = Event { domain_id, kind: EventKind::SettingsChanged };
    store.publish(&settings).await.unwrap();
    assert_eq!(next_event(&mut early).await, settings, "each event arrives once");
    assert_eq!(next_event(&mut late).await, settings, "a subscriber gets nothing from before it subscribed");
}

/// A subscriber of one domain hears it only, and a burst in another domain larger than a
/// subscription holds does not make it lag (the other domain's idle subscriber does).
pub async fn events_by_domain(store: &dyn Store) {
    let (busy, quiet) = (Uuid::now_v7(), Uuid::now_v7());
    let (mut idle_in_busy, mut in_quiet) = (store.subscribe_domain(busy), store.subscribe_domain(quiet));
    for _ in 0..1100 {
        store.publish(&contact_event(busy, ContactAction::Updated)).await.unwrap();
    }
    let own = Event { domain_id: quiet, kind: EventKind::SettingsChanged };
    store.publish(&own).await.unwrap();
    assert_eq!(next_event(&mut in_quiet).await, own, "nothing of the other domain, and no lag");
    // Delivery may lag publishing (PostgreSQL): the quiet domain's event came after the burst.
    let lagged = tokio::time::timeout(std::time::Duration::from_secs(10), idle_in_busy.recv()).await;
    assert!(matches!(lagged, Ok(Err(broadcast::error::RecvError::Lagged(_)))), "{lagged:?}");
}

/// Two stores on one database (two servers) see each other's events, and their own, once.
pub async fn events_between(a: &dyn Store, b: &dyn Store) {
    let domain_id = Uuid::now_v7();
    let (mut on_a, mut on_b) = (a.subscribe(), b.subscribe());
    let from_a = contact_event(domain_id, ContactAction::Deleted);
    let from_b = contact_event(domain_id, ContactAction::Restored);
    a.publish(&from_a).await.unwrap();
    assert_eq!(next_event(&mut on_b).await, from_a, "b hears a");
    b.publish(&from_b).await.unwrap();
    assert_eq!(next_event(&mut on_a).await, from_a, "a hears itself");
    assert_eq!(next_event(&mut on_a).await, from_b, "a hears b, and itself only once");
    assert_eq!(next_event(&mut on_b).await, from_b, "b hears itself once");
}

/// Two stores on one database: what one writes, the other's change stamp shows within
/// [`FRESH_FOR`](crate::changes::FRESH_FOR), even right after it read the old stamp.
pub async fn change_stamps_between(a: &dyn Store, b: &dyn Store) {
    let acme = domain(a, "acme.example").await;
    let before = b.change_stamp(acme.id).await.unwrap().unwrap();
    a.create_contact(shared(&acme), fields(named("Sam", "Shared")), audit_in(acme.id, "contact.create")).await.unwrap();
    assert_eq!(a.change_stamp(acme.id).await.unwrap().unwrap().seq, before.seq + 1, "the writer sees it at once");
    tokio::time::sleep(crate::changes::FRESH_FOR).await;
    assert_eq!(b.change_stamp(acme.id).await.unwrap().unwrap().seq, before.seq + 1, "the other store, in time");
}

/// `b` hears `a`'s event for a change: its very next read of the domain's stamp has it
/// (PostgreSQL, where events cross servers).
pub async fn changes_told_by_events(a: &dyn Store, b: &dyn Store) {
    let acme = domain(a, "acme.example").await;
    let mut told = b.subscribe();
    let before = b.change_stamp(acme.id).await.unwrap().unwrap();
    a.create_contact(shared(&acme), fields(named("Sam", "Shared")), audit_in(acme.id, "contact.create")).await.unwrap();
    let event = Event { domain_id: acme.id, kind: EventKind::SettingsChanged };
    a.publish(&event).await.unwrap();
    assert_eq!(next_event(&mut told).await, event);
    assert_eq!(b.change_stamp(acme.id).await.unwrap().unwrap().seq, before.seq + 1, "read again on the event");
}

pub async fn copy(source: &dyn Store, target: &dyn Store) {
    let o = office(source).await;
    let reseller = source.create_reseller("Northwind").await.unwrap();
    let patch = DomainPatch { reseller_id: Some(Some(reseller.id)), ..Default::default() };
    source.update_domain(o.domain.id, patch, audit_in(o.domain.id, "domain.update")).await.unwrap();
    let settings = BTreeMap::from([("DEFAULT_COUNTRY".to_string(), Some("DE".to_string()))]);
    source
        .put_settings(Layer::Scope(o.domain.id, Scope::BasicUser), &settings, audit_in(o.domain.id, "settings.update"))
        .await
        .unwrap();
    source.put_settings(Layer::User(o.vera.id), &settings, audit_in(o.domain.id, "settings.update")).await.unwrap();
    let expires_at = Some(micros_now() + TimeDelta::hours(1));
    source
        .create_token(NewToken {
            user_id: o.vera.id,
            kind: TokenKind::Session,
            name: "web".into(),
            secret_hash: "h1".into(),
            expires_at,
        })
        .await
        .unwrap();
    source.record_login_failure("100@office.example", micros_now()).await.unwrap();
    let app = crate::NewAppPassword {
        user_id: o.vera.id,
        domain_id: o.domain.id,
        name: "iPhone".into(),
        secret_hash: "h-app".into(),
    };
    source.create_app_password(app, 20, audit_in(o.domain.id, "app_password.create")).await.unwrap().unwrap();
    let sent = source.send_chat(&o.vera, &o.alice, "See you at 3", audit_in(o.domain.id, "chat.send")).await.unwrap();
    source.mark_chat_read(&o.alice, &o.vera, sent.id).await.unwrap();
    let photo = photos::png(200);
    source
        .set_photo(shared(&o.domain), o.sam.id, photo.clone(), audit_in(o.domain.id, "contact.photo_set"))
        .await
        .unwrap();
    let card = DavName { contact_id: o.pete.id, name: "pete.vcf".into(), uid: "pete-uid".into() };
    source.set_dav_name(o.vera.id, &card).await.unwrap();
    // Dan has a session open and a line on a call; sessions are not copied.
    let now = micros_now();
    source.connect_presence(Uuid::now_v7(), o.dan.id, now, now + TimeDelta::hours(1)).await.unwrap();
    source.set_line_states(o.domain.id, &[("104".to_string(), LineState::OnCall)], now).await.unwrap();

    let counts = source.table_counts().await.unwrap();
    copy_fails_half_way(source, target).await;
    let mut copy = target.begin_copy().await.unwrap();
    for table in COPY_TABLES {
        let rows = export_in_pages(source, table).await;
        assert_eq!(rows, source.export_rows(table, 0, 1000).await.unwrap(), "{table}: pages add up");
        copy.insert_rows(table, &rows).await.unwrap();
    }
    assert_eq!(copy.table_counts().await.unwrap(), counts, "the copy counts its own rows");
    copy.commit().await.unwrap();
    assert_eq!(target.table_counts().await.unwrap(), counts);
    assert_eq!((counts["users"], counts["contacts"], counts["favorites"], counts["tokens"]), (6, 5, 7, 1));
    assert_eq!((counts["chat_messages"], counts["chat_conversations"], counts["dav_names"]), (1, 2, 1));
    for table in COPY_TABLES {
        assert_eq!(
            target.export_rows(table, 0, 1000).await.unwrap(),
            source.export_rows(table, 0, 1000).await.unwrap(),
            "{table}"
        );
    }
    let sample = &source.export_rows("users", 0, 1).await.unwrap()[0];
    assert!(sample["id"].is_string() && sample["listed"].is_boolean() && sample["version"].is_i64());

    let query = |term: &str| DirectoryQuery { list: search_for(term), ..view(&o, Group::All, true) };
    for store in [source, target] {
        assert_eq!(
            entry_ids(&store.directory(&query("shared")).await.unwrap()),
            [o.sam.id],
            "search works after the copy"
        );
        assert_eq!(entry_ids(&store.directory(&query("able")).await.unwrap()), [o.alice.id]);
        assert_eq!(store.directory(&view(&o, Group::All, true)).await.unwrap().items.len(), 6);
        assert_eq!(store.domain_by_id(o.domain.id).await.unwrap().unwrap().reseller.as_deref(), Some("Northwind"));
        assert!(store.token_by_secret_hash("h1", Utc::now()).await.unwrap().is_some());
        assert!(store.app_password_by_secret_hash(o.vera.id, "h-app").await.unwrap().is_some());
        assert_eq!(store.settings(Layer::User(o.vera.id)).await.unwrap()["DEFAULT_COUNTRY"], "DE");
        let copied = store.photo(shared(&o.domain), o.sam.id).await.unwrap().expect("the photo came along");
        assert_eq!((copied.bytes, copied.hash), (photo.bytes.clone(), photo.hash.clone()));
    }
    // The copied session is nobody's on the target: its first sweep ends it, once.
    let copied = target.presence(o.dan.id).await.unwrap();
    assert_eq!((copied.state, copied.chat, copied.line), (PresenceState::Busy, true, Some(LineState::OnCall)));
    let idle_before = now - TimeDelta::minutes(10);
    assert_eq!(target.expire_presence(now, idle_before).await.unwrap(), [(o.domain.id, o.dan.id)]);
    let swept = target.presence(o.dan.id).await.unwrap();
    assert_eq!((swept.state, swept.chat), (PresenceState::Busy, false), "the line still shows");
    assert!(source.presence(o.dan.id).await.unwrap().chat, "the source's session lives on");
    assert!(is_conflict(target.import_rows("users", &source.export_rows("users", 0, 1).await.unwrap()).await));
    assert!(is_not_found(target.import_rows("nope", &[]).await));
    assert!(is_not_found(target.export_rows("nope", 0, 10).await));
    let mut odd = Map::new();
    odd.insert("key".into(), json!("k"));
    odd.insert("colour".into(), json!("red"));
    assert!(target.import_rows("login_failures", &[odd]).await.is_err(), "unknown columns are refused");
    let wrong_type = json!({ "key": "k", "count": "two", "last_failure": null });
    let Value::Object(wrong_type) = wrong_type else { unreachable!() };
    assert!(target.import_rows("login_failures", &[wrong_type]).await.is_err(), "values must have the column's type");
}

/// A copy that fails half-way (a row the target refuses) leaves the target empty.
async fn copy_fails_half_way(source: &dyn Store, target: &dyn Store) {
    {
        let mut copy = target.begin_copy().await.unwrap();
        for table in ["resellers", "domains", "users"] {
            copy.insert_rows(table, &source.export_rows(table, 0, 1000).await.unwrap()).await.unwrap();
        }
        assert!(copy.table_counts().await.unwrap()["users"] > 0, "the copy sees its own rows");
        let users = source.export_rows("users", 0, 1).await.unwrap();
        assert!(is_conflict(copy.insert_rows("users", &users).await), "a row copied twice is refused");
    }
    let empty = target.table_counts().await.unwrap();
    assert!(empty.values().all(|n| *n == 0), "a failed copy leaves nothing behind: {empty:?}");
}

async fn export_in_pages(store: &dyn Store, table: &str) -> Vec<Map<String, Value>> {
    let mut rows = Vec::new();
    loop {
        let page = store.export_rows(table, rows.len() as i64, 2).await.unwrap();
        assert!(page.len() <= 2);
        if page.is_empty() {
            return rows;
        }
        rows.extend(page);
    }
}

/// An import is one transaction: it sees its own writes, and leaves nothing behind unless committed.
pub async fn imports(store: &dyn Store) {
    let acme = domain(store, "acme.example").await;
    let other = domain(store, "other.example").await;
    let book = shared(&acme);
    let ann = contact(store, book, ContactInput { work_phone: "+1 206 555 0100".into(), ..named("Ann", "Lee") }).await;
    let foreign = contact(store, shared(&other), named("Ann", "Lee")).await;
    let change = |action: &str| audit_in(acme.id, action);

    // Abandoned: nothing written.
    let mut writer = store.begin_import(book).await.unwrap();
    let created = writer.apply(vec![ImportChange::Create(fields(named("Bob", "Stone")).into())]).await.unwrap();
    assert_eq!(created.len(), 1);
    assert_eq!(
        writer.matching_contact(&fields(named("bob", "STONE"))).await.unwrap().map(|c| c.id),
        Some(created[0]),
        "it sees its own writes"
    );
    drop(writer);
    assert!(store.contact(book, created[0]).await.unwrap().is_none(), "dropped without commit: rolled back");
    assert_eq!(audit_actions(store, acme.id).await.len(), 0);

    // Matching: by id within the book only, by exact duplicate, by name and number.
    let mut writer = store.begin_import(book).await.unwrap();
    assert_eq!(writer.live_contact(ann.id).await.unwrap().map(|c| c.id), Some(ann.id));
    assert!(writer.live_contact(foreign.id).await.unwrap().is_none(), "another domain's id is not found");
    let same_number =
        ContactInput { mobile_phone: "(206) 555-0100".into(), title: "Buyer".into(), ..named("ann", "lee") };
    assert_eq!(writer.matching_contact(&fields(same_number)).await.unwrap().map(|c| c.id), Some(ann.id));
    let other_number = ContactInput { work_phone: "+1 206 555 0199".into(), ..named("Ann", "Lee") };
    assert!(writer.matching_contact(&fields(other_number)).await.unwrap().is_none());
    assert_eq!(writer.live_contact_ids().await.unwrap(), [ann.id]);

    // Committed: creates, updates, trash and every audit record land together.
    let changes = [
        ImportChange::Create(fields(named("Cy", "Young")).into()),
        ImportChange::Update {
            id: ann.id,
            fields: fields(ContactInput { title: "Boss".into(), ..named("Ann", "Lee") }),
            audit: change("contact.update"),
        },
    ];
    let created = writer.apply(changes.to_vec()).await.unwrap();
    writer.apply(vec![ImportChange::Trash { id: created[0], audit: change("contact.delete") }]).await.unwrap();
    writer.commit(change("contacts.import"), &[]).await.unwrap();
    assert_eq!(store.contact(book, ann.id).await.unwrap().unwrap().fields.title, "Boss");
    assert!(store.contact(book, created[0]).await.unwrap().unwrap().deleted_at.is_some());
    let mut actions = audit_actions(store, acme.id).await;
    actions.sort();
    assert_eq!(actions, ["contact.delete", "contact.update", "contacts.import"], "none per created contact");

    // A change that fails (updating another domain's contact) fails the batch.
    let mut writer = store.begin_import(book).await.unwrap();
    let bad =
        [ImportChange::Update { id: foreign.id, fields: fields(named("X", "Y")), audit: change("contact.update") }];
    assert!(is_not_found(writer.apply(bad.to_vec()).await));
    drop(writer);

    // Discarded: what it wrote is gone.
    let mut reader = store.begin_import(book).await.unwrap();
    let scrapped = [ImportChange::Create(fields(named("Di", "Scard")).into())];
    let created = reader.apply(scrapped.to_vec()).await.unwrap();
    reader.discard().await.unwrap();
    assert!(store.contact(book, created[0]).await.unwrap().is_none());
    let mut reader = store.begin_import(book).await.unwrap();
    assert_eq!(reader.live_contact_ids().await.unwrap(), [ann.id]);
}
