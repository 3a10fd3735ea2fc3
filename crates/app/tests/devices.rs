//! Device credentials and the phone books they read, on SQLite and PostgreSQL:
//! who may manage them, tenant isolation, revocation, address ranges, binds, paging,
//! and what a book holds (List in Directory, `PORTAL_SHOW_SHARED_CONTACTS`).

#[macro_use]
mod support;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use switchboard_app::inputs::{ListParams, PresenceInput};
use switchboard_app::{
    App, AppConfig, AppError, BookRef, Caller, ContactInput, DeviceInput, DomainInput, PhoneSharing, PhonebookQuery,
    PhonebookReader, SettingsLayer, UserInput,
};
use switchboard_core::model::DirectoryEntry;
use switchboard_store::Store;

const ACME: &str = "acme.example";
const GLOBEX: &str = "globex.example";

on_both_backends!(
    managers_create_list_and_revoke_devices,
    a_device_reads_only_its_own_domain,
    revoked_and_wrong_credentials_are_refused,
    address_ranges_limit_where_a_device_connects_from,
    binds_take_device_dns_and_user_logins,
    anonymous_readers_need_the_domain_setting,
    books_follow_list_in_directory_and_shared_contacts_setting,
    own_contacts_reach_a_phone_only_with_the_users_say,
    books_page_both_ways_and_search,
    the_change_stamp_moves_with_every_change,
    the_in_memory_copy_answers_like_the_database,
    the_directory_from_the_copy_answers_like_the_database,
    copies_past_the_bound_are_dropped_least_recently_read_first,
);

struct World {
    app: App,
    manager: Caller,
    basic: Caller,
}

async fn user(app: &App, domain: &str, ext: &str, first: &str, scope: &str, listed: bool) -> Caller {
    let input = UserInput {
        extension: ext.into(),
        first_name: first.into(),
        last_name: "Tester".into(),
        department: "Sales".into(),
        scope: Some(scope.into()),
        listed: Some(listed),
        password: Some("password-123".into()),
        ..Default::default()
    };
    app.create_user(&Caller::System, domain, input).await.unwrap();
    let login = app.login(&format!("{ext}@{domain}"), "password-123", None).await.unwrap();
    app.authenticate(&login.token).await.unwrap()
}

async fn world(store: Arc<dyn Store>) -> World {
    // Wrong guesses are still counted and locked out, only not made to wait in tests.
    let mut config = AppConfig::default();
    config.login.delay_step = std::time::Duration::from_millis(1);
    config.login.max_delay = std::time::Duration::from_millis(5);
    let app = App::new(store, config);
    for name in [ACME, GLOBEX] {
        let input = DomainInput { name: name.into(), ..Default::default() };
        app.create_domain(&Caller::System, input).await.unwrap();
    }
    let manager = user(&app, ACME, "200", "Olivia", "office-manager", true).await;
    let basic = user(&app, ACME, "201", "Basil", "basic-user", true).await;
    user(&app, GLOBEX, "200", "Gustav", "office-manager", true).await;
    shared(&app, ACME, "Smith & Sons", "+1 206 555 0100").await;
    shared(&app, GLOBEX, "Globex Secret", "+1 206 555 0199").await;
    World { app, manager, basic }
}

async fn shared(app: &App, domain: &str, company: &str, number: &str) {
    let contact = ContactInput { company: company.into(), work_phone: number.into(), ..Default::default() };
    app.create_contact(&Caller::System, &BookRef::Shared { domain: domain.into() }, contact).await.unwrap();
}

fn device(name: &str) -> DeviceInput {
    DeviceInput { name: name.into(), ..Default::default() }
}

fn names(entries: &[DirectoryEntry]) -> Vec<String> {
    entries
        .iter()
        .map(|e| if e.company.is_empty() { format!("{} {}", e.first_name, e.last_name) } else { e.company.clone() })
        .collect()
}

async fn book(app: &App, reader: &PhonebookReader, query: PhonebookQuery) -> Vec<String> {
    names(&app.phonebook(reader, &query).await.unwrap().items)
}

fn ip(text: &str) -> Option<IpAddr> {
    Some(text.parse().unwrap())
}

async fn managers_create_list_and_revoke_devices(store: Arc<dyn Store>) {
    let World { app, manager, basic } = world(store).await;
    let created = app.create_device(&manager, ACME, device("Reception")).await.unwrap();
    assert!(created.token.starts_with("sbd_") && created.token.len() > 40);
    assert!(created.password.len() >= 32);
    assert_eq!(created.bind_dn, format!("cn={},ou=devices,dc=acme,dc=example", created.device.id));
    assert!(matches!(app.create_device(&basic, ACME, device("Mine")).await, Err(AppError::Forbidden(_))));
    assert!(matches!(app.list_devices(&basic, ACME, None, None).await, Err(AppError::Forbidden(_))));
    assert!(matches!(app.create_device(&manager, GLOBEX, device("Theirs")).await, Err(AppError::NotFound)));
    assert!(matches!(app.device(&manager, GLOBEX, created.device.id).await, Err(AppError::NotFound)));

    let bad = DeviceInput { name: " ".into(), user: Some("999".into()), allowed_networks: vec!["lobby".into()] };
    let Err(AppError::Invalid(invalid)) = app.create_device(&manager, ACME, bad).await else { panic!("accepted") };
    let fields: Vec<&str> = invalid.0.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["name", "user", "allowed_networks[0]"]);

    for i in 0..3 {
        app.create_device(&Caller::System, ACME, device(&format!("Desk {i}"))).await.unwrap();
    }
    let first = app.list_devices(&manager, ACME, Some(3), None).await.unwrap();
    let rest = app.list_devices(&manager, ACME, Some(3), first.next_cursor.as_deref()).await.unwrap();
    let listed: Vec<String> = first.items.iter().chain(&rest.items).map(|d| d.name.clone()).collect();
    assert_eq!(listed, ["Reception", "Desk 0", "Desk 1", "Desk 2"]);
    assert!(rest.next_cursor.is_none());

    let revoked = app.revoke_device(&manager, ACME, created.device.id).await.unwrap();
    assert!(revoked.revoked_at.is_some());
    let again = app.revoke_device(&manager, ACME, created.device.id).await.unwrap();
    assert_eq!(again.revoked_at, revoked.revoked_at, "revoking twice keeps the first time");
    let audit = app.audit_log(&manager, ACME, Some("50"), None).await.unwrap();
    let actions: Vec<&str> = audit.items.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions.iter().filter(|a| **a == "device.revoke").count(), 1);
    assert_eq!(actions.iter().filter(|a| **a == "device.create").count(), 4);
}

async fn a_device_reads_only_its_own_domain(store: Arc<dyn Store>) {
    let World { app, manager, .. } = world(store).await;
    let created = app.create_device(&manager, ACME, device("Lobby")).await.unwrap();
    let reader = app.device_by_token(&created.token, None).await.unwrap();
    assert_eq!(reader.domain().name.as_str(), ACME);
    let everything = book(&app, &reader, PhonebookQuery { limit: Some(500), ..Default::default() }).await;
    assert_eq!(everything, ["Smith & Sons", "Basil Tester", "Olivia Tester"]);
    let searched = book(&app, &reader, PhonebookQuery { q: Some("globex".into()), ..Default::default() }).await;
    assert!(searched.is_empty(), "another domain's contacts are never found: {searched:?}");
    let digits = book(&app, &reader, PhonebookQuery { q: Some("5550199".into()), ..Default::default() }).await;
    assert!(digits.is_empty());
    let dn_of_other = created.bind_dn.replace("dc=acme", "dc=globex");
    let other = app.device_by_bind(&dn_of_other, &created.password, None).await;
    assert!(matches!(other, Err(AppError::Unauthorized(_))), "the DN names the domain: {other:?}");
}

async fn revoked_and_wrong_credentials_are_refused(store: Arc<dyn Store>) {
    let World { app, manager, .. } = world(store).await;
    let created = app.create_device(&manager, ACME, device("Lobby")).await.unwrap();
    for wrong in ["", "sbd_nope", "sb_looks_like_an_api_token", &created.token[..created.token.len() - 1]] {
        assert!(matches!(app.device_by_token(wrong, None).await, Err(AppError::Unauthorized(_))), "{wrong}");
    }
    let wrong_password = app.device_by_bind(&created.bind_dn, "not-the-password", None).await;
    assert!(matches!(wrong_password, Err(AppError::Unauthorized(_))));
    app.revoke_device(&manager, ACME, created.device.id).await.unwrap();
    assert!(matches!(app.device_by_token(&created.token, None).await, Err(AppError::Unauthorized(_))));
    let bind = app.device_by_bind(&created.bind_dn, &created.password, None).await;
    assert!(matches!(bind, Err(AppError::Unauthorized(_))));

    // Guessing from one address is slowed, then refused, like logins.
    let guesser = ip("198.51.100.9");
    let mut refused = false;
    for _ in 0..60 {
        if let Err(AppError::TooManyAttempts { .. }) = app.device_by_token("sbd_guess", guesser).await {
            refused = true;
            break;
        }
    }
    assert!(refused, "repeated wrong tokens end in TooManyAttempts");
}

async fn address_ranges_limit_where_a_device_connects_from(store: Arc<dyn Store>) {
    let World { app, manager, .. } = world(store).await;
    let input = DeviceInput {
        name: "Branch".into(),
        allowed_networks: vec!["192.0.2.0/24".into(), "2001:db8::/32".into()],
        ..Default::default()
    };
    let created = app.create_device(&manager, ACME, input).await.unwrap();
    assert_eq!(created.device.allowed_networks, ["192.0.2.0/24", "2001:db8::/32"]);
    for allowed in ["192.0.2.77", "2001:db8::5", "::ffff:192.0.2.1"] {
        assert!(app.device_by_token(&created.token, ip(allowed)).await.is_ok(), "{allowed}");
    }
    for refused in [ip("203.0.113.5"), ip("2001:db9::1"), None] {
        let result = app.device_by_token(&created.token, refused).await;
        assert!(matches!(result, Err(AppError::Forbidden(_))), "{refused:?}: {result:?}");
        let bind = app.device_by_bind(&created.bind_dn, &created.password, refused).await;
        assert!(matches!(bind, Err(AppError::Forbidden(_))));
    }
    let shown = app.device(&manager, ACME, created.device.id).await.unwrap();
    assert!(shown.last_used_at.is_some(), "a successful use is recorded");
}

async fn binds_take_device_dns_and_user_logins(store: Arc<dyn Store>) {
    let World { app, manager, .. } = world(store).await;
    let created = app.create_device(&manager, ACME, device("Lobby")).await.unwrap();
    let loose_dn = created.bind_dn.to_uppercase().replace(',', ", ");
    let reader = app.device_by_bind(&loose_dn, &created.password, None).await.unwrap();
    assert!(matches!(reader, PhonebookReader::Device { .. }));
    let user = app.device_by_bind("201@acme.example", "password-123", None).await.unwrap();
    assert_eq!(user.user().map(|u| u.extension.to_string()).as_deref(), Some("201"));
    for (dn, password) in [("201@acme.example", "wrong-password"), ("", ""), ("cn=nobody,ou=devices,dc=acme", "x")] {
        assert!(matches!(app.device_by_bind(dn, password, None).await, Err(AppError::Unauthorized(_))), "{dn}");
    }
}

async fn anonymous_readers_need_the_domain_setting(store: Arc<dyn Store>) {
    let World { app, manager, .. } = world(store).await;
    assert!(matches!(app.anonymous_reader(ACME).await, Err(AppError::Unauthorized(_))));
    assert!(matches!(app.anonymous_reader("nowhere.example").await, Err(AppError::Unauthorized(_))));
    let allow = BTreeMap::from([("LDAP_ALLOW_ANONYMOUS".to_string(), Some("yes".to_string()))]);
    app.put_settings(&manager, &SettingsLayer::Domain(ACME.into()), allow).await.unwrap();
    let reader = app.anonymous_reader(ACME).await.unwrap();
    assert_eq!(book(&app, &reader, PhonebookQuery::default()).await, ["Smith & Sons", "Basil Tester", "Olivia Tester"]);
    assert!(matches!(app.anonymous_reader(GLOBEX).await, Err(AppError::Unauthorized(_))));
}

async fn books_follow_list_in_directory_and_shared_contacts_setting(store: Arc<dyn Store>) {
    let World { app, manager, .. } = world(store).await;
    user(&app, ACME, "299", "Hidden", "basic-user", false).await;
    let lobby = app.create_device(&manager, ACME, device("Lobby")).await.unwrap();
    let bound = DeviceInput { name: "Basil's desk".into(), user: Some("201".into()), ..Default::default() };
    let basils = app.create_device(&manager, ACME, bound).await.unwrap();
    // A bind's reader is kept by an LDAP connection and must follow every change.
    let kept = app.device_by_bind(&lobby.bind_dn, &lobby.password, None).await.unwrap();
    // A reader from a URL token is for one request: each read makes its own.
    let (lobby, basils) = (lobby.token, basils.token);
    let book_of = async |token: &str| {
        let reader = app.device_by_token(token, None).await.unwrap();
        book(&app, &reader, PhonebookQuery::default()).await
    };
    assert_eq!(book_of(&lobby).await, ["Smith & Sons", "Basil Tester", "Olivia Tester"]);
    assert_eq!(book_of(&basils).await, ["Smith & Sons", "Olivia Tester"]);
    assert_eq!(book(&app, &kept, PhonebookQuery::default()).await, book_of(&lobby).await);

    // Hidden for Basil only: his device follows him, the lobby the domain.
    let hide = BTreeMap::from([("PORTAL_SHOW_SHARED_CONTACTS".to_string(), Some("no".to_string()))]);
    app.put_settings(&Caller::System, &SettingsLayer::User(ACME.into(), "201".into()), hide.clone()).await.unwrap();
    assert_eq!(book_of(&basils).await, ["Olivia Tester"]);
    assert_eq!(book_of(&lobby).await, ["Smith & Sons", "Basil Tester", "Olivia Tester"]);
    app.put_settings(&manager, &SettingsLayer::Domain(ACME.into()), hide).await.unwrap();
    assert_eq!(book_of(&lobby).await, ["Basil Tester", "Olivia Tester"]);
    assert_eq!(book(&app, &kept, PhonebookQuery::default()).await, ["Basil Tester", "Olivia Tester"]);

    let lobby = app.device_by_token(&lobby, None).await.unwrap();
    let sales = PhonebookQuery { group: Some("department:Sales".into()), ..Default::default() };
    assert_eq!(book(&app, &lobby, sales).await, ["Basil Tester", "Olivia Tester"]);
    let bad_group = PhonebookQuery { group: Some("everyone".into()), ..Default::default() };
    assert!(matches!(app.phonebook(&lobby, &bad_group).await, Err(AppError::Invalid(_))));
}

/// A person's own contacts are theirs alone: a phone someone else set up for them (here
/// their office manager, who keeps its secrets) shows them — in its book, its favorites,
/// its LDAP binds and its caller-ID answers — only after the user agreed, which nobody
/// else can do for them; a phone they set up themself, or their own login, shows them at once.
async fn own_contacts_reach_a_phone_only_with_the_users_say(store: Arc<dyn Store>) {
    let World { app, manager, basic } = world(store).await;
    let own = ContactInput { first_name: "Mum".into(), mobile_phone: "+1 206 555 0111".into(), ..Default::default() };
    let mine = BookRef::Personal { domain: ACME.into(), extension: "201".into() };
    let mum = app.create_contact(&basic, &mine, own).await.unwrap().id;
    let as_user = PhonebookReader::from_caller(&basic).unwrap();
    let entries = app.phonebook(&as_user, &PhonebookQuery::default()).await.unwrap().items;
    let olivia = entries.iter().find(|e| e.first_name == "Olivia").unwrap().id;
    app.set_favorite(&basic, ACME, "201", olivia, true).await.unwrap();
    let bound = DeviceInput { name: "Basil's desk".into(), user: Some("201".into()), ..Default::default() };
    let basils = app.create_device(&manager, ACME, bound).await.unwrap();
    let lobby = app.create_device(&manager, ACME, device("Lobby")).await.unwrap();
    let favorites = PhonebookQuery { group: Some("favorites".into()), ..Default::default() };
    let reads_own = |token: String, password: String, bind_dn: String| {
        let app = app.clone();
        let favorites = favorites.clone();
        async move {
            let by_token = app.device_by_token(&token, None).await.unwrap();
            let by_bind = app.device_by_bind(&bind_dn, &password, None).await.unwrap();
            let xml = book(&app, &by_token, PhonebookQuery::default()).await;
            let ldap = book(&app, &by_bind, PhonebookQuery::default()).await;
            let stars = book(&app, &by_token, favorites).await;
            let caller_id = app.lookup_for_reader(&by_token, "+12065550111").await.unwrap().name;
            let entry = app.phonebook_entry(&by_bind, mum).await.unwrap();
            (xml.contains(&"Mum ".to_string()), ldap.contains(&"Mum ".to_string()), stars, caller_id, entry.is_some())
        }
    };
    let secrets = |d: &switchboard_app::CreatedDevice| (d.token.clone(), d.password.clone(), d.bind_dn.clone());
    let (token, password, dn) = secrets(&basils);
    assert_eq!(
        reads_own(token.clone(), password.clone(), dn.clone()).await,
        (false, false, Vec::<String>::new(), None, false),
        "set up by the manager: no own contacts, favorites or names from them"
    );

    let on = PhoneSharing { own_contacts: true };
    for someone_else in [&manager, &Caller::System] {
        let refused = app.set_phone_sharing(someone_else, ACME, "201", on).await;
        assert!(matches!(refused, Err(AppError::NotFound)), "only the user may agree");
        assert!(matches!(app.phone_sharing(someone_else, ACME, "201").await, Err(AppError::NotFound)));
    }
    assert_eq!(app.phone_sharing(&basic, ACME, "201").await.unwrap(), PhoneSharing { own_contacts: false });
    app.set_phone_sharing(&basic, ACME, "201", on).await.unwrap();
    assert_eq!(app.phone_sharing(&basic, ACME, "201").await.unwrap(), on);
    assert_eq!(
        reads_own(token.clone(), password.clone(), dn.clone()).await,
        (true, true, vec!["Olivia Tester".to_string()], Some("Mum".to_string()), true),
        "with the user's consent"
    );
    let (lobby_token, lobby_password, lobby_dn) = secrets(&lobby);
    assert!(!reads_own(lobby_token, lobby_password, lobby_dn).await.0, "an unbound phone never shows them");
    app.set_phone_sharing(&basic, ACME, "201", PhoneSharing { own_contacts: false }).await.unwrap();
    assert!(!reads_own(token, password, dn).await.0, "taking it back works at once");

    // The manager's own phone, and a user's own login, show their own contacts at once.
    let managers = BookRef::Personal { domain: ACME.into(), extension: "200".into() };
    let note =
        ContactInput { first_name: "Dentist".into(), work_phone: "+1 206 555 0122".into(), ..Default::default() };
    app.create_contact(&manager, &managers, note).await.unwrap();
    let own_phone = DeviceInput { name: "Olivia's desk".into(), user: Some("200".into()), ..Default::default() };
    let own_phone = app.create_device(&manager, ACME, own_phone).await.unwrap();
    let own_phone = app.device_by_token(&own_phone.token, None).await.unwrap();
    assert!(book(&app, &own_phone, PhonebookQuery::default()).await.contains(&"Dentist ".to_string()));
    assert_eq!(book(&app, &as_user, PhonebookQuery::default()).await, ["Mum ", "Smith & Sons", "Olivia Tester"]);
    assert!(PhonebookReader::from_caller(&Caller::System).is_none());
}

async fn books_page_both_ways_and_search(store: Arc<dyn Store>) {
    let World { app, manager, .. } = world(store).await;
    for i in 0..40 {
        shared(&app, ACME, &format!("Vendor {i:02}"), &format!("+1 206 555 {:04}", 2000 + i)).await;
    }
    let created = app.create_device(&manager, ACME, device("Lobby")).await.unwrap();
    let reader = app.device_by_token(&created.token, None).await.unwrap();
    let all = book(&app, &reader, PhonebookQuery { limit: Some(500), ..Default::default() }).await;
    assert_eq!(all.len(), 43);
    let mut pages = Vec::new();
    let mut query = PhonebookQuery { limit: Some(10), ..Default::default() };
    loop {
        let page = app.phonebook_page(&reader, &query).await.unwrap();
        assert_eq!(page.previous_cursor.is_none(), pages.is_empty(), "only the first page has no previous");
        pages.push((query.cursor.clone(), page.clone()));
        match page.next_cursor {
            Some(next) => query.cursor = Some(next),
            None => break,
        }
    }
    let forward: Vec<String> = pages.iter().flat_map(|(_, page)| names(&page.entries)).collect();
    assert_eq!(forward, all, "forward pages add up to the book");
    // Going back from each page gives exactly the page before it, and forward again the page itself.
    for window in pages.windows(2) {
        let (_, before) = &window[0];
        let (cursor, page) = &window[1];
        let back = PhonebookQuery { cursor: page.previous_cursor.clone(), ..query.clone() };
        let back = app.phonebook_page(&reader, &back).await.unwrap();
        assert_eq!(names(&back.entries), names(&before.entries));
        assert_eq!(back.next_cursor, *cursor);
    }
    let by_name = PhonebookQuery { q: Some("vendor 1".into()), ..Default::default() };
    assert_eq!(book(&app, &reader, by_name).await.len(), 10);
    let by_digits = PhonebookQuery { q: Some("5552017".into()), ..Default::default() };
    assert_eq!(book(&app, &reader, by_digits).await, ["Vendor 17"]);
    let bad = PhonebookQuery { cursor: Some("p.nonsense".into()), ..Default::default() };
    assert!(matches!(app.phonebook(&reader, &bad).await, Err(AppError::Invalid(_))));
}

async fn the_change_stamp_moves_with_every_change(store: Arc<dyn Store>) {
    let World { app, manager, basic } = world(store).await;
    let created = app.create_device(&manager, ACME, device("Lobby")).await.unwrap();
    let reader = app.device_by_token(&created.token, None).await.unwrap();
    let globex = app.create_device(&Caller::System, GLOBEX, device("Globex lobby")).await.unwrap();
    let globex = app.device_by_token(&globex.token, None).await.unwrap();
    let stamp = app.phonebook_stamp(&reader).await.unwrap();
    let globex_stamp = app.phonebook_stamp(&globex).await.unwrap();
    assert_eq!(app.phonebook_stamp(&reader).await.unwrap(), stamp, "reading changes nothing");

    shared(&app, ACME, "New Vendor", "+1 206 555 0300").await;
    let after_contact = app.phonebook_stamp(&reader).await.unwrap();
    assert!(after_contact.seq > stamp.seq && after_contact.at >= stamp.at);
    assert_eq!(app.phonebook_stamp(&globex).await.unwrap(), globex_stamp, "other domains are not touched");

    let patch = switchboard_app::UserPatchInput { first_name: Some("Basilio".into()), ..Default::default() };
    app.update_user(&manager, ACME, "201", None, patch).await.unwrap();
    let after_user = app.phonebook_stamp(&reader).await.unwrap();
    assert!(after_user.seq > after_contact.seq);

    let entry = app.phonebook(&reader, &PhonebookQuery::default()).await.unwrap().items[0].id;
    app.set_favorite(&basic, ACME, "201", entry, true).await.unwrap();
    let after_favorite = app.phonebook_stamp(&reader).await.unwrap();
    assert!(after_favorite.seq > after_user.seq);

    let system = BTreeMap::from([("DEFAULT_COUNTRY".to_string(), Some("DE".to_string()))]);
    app.put_settings(&Caller::System, &SettingsLayer::System, system).await.unwrap();
    assert!(app.phonebook_stamp(&reader).await.unwrap().seq > after_favorite.seq);
    assert!(app.phonebook_stamp(&globex).await.unwrap().seq > globex_stamp.seq, "system settings reach every domain");

    // Credentials are in no book: adding or revoking one leaves every phone's copy.
    let before = app.phonebook_stamp(&reader).await.unwrap();
    let hall = app.create_device(&manager, ACME, device("Hall")).await.unwrap();
    app.revoke_device(&manager, ACME, hall.device.id).await.unwrap();
    assert_eq!(app.phonebook_stamp(&reader).await.unwrap(), before);
}

/// Phones' pages read from the in-memory copy of a book are the pages the database
/// gives: every group, search (short, long, digits, accents, nothing), page size, and
/// both directions; and the copy is dropped as soon as anything changes.
async fn the_in_memory_copy_answers_like_the_database(store: Arc<dyn Store>) {
    let World { app, manager, .. } = world(store.clone()).await;
    for (i, (first, site)) in [("Zoë", "North"), ("Ann", "South"), ("Émile", "North"), ("ann", "")].iter().enumerate()
    {
        let input = UserInput {
            extension: format!("3{i:02}"),
            first_name: (*first).into(),
            last_name: "Ånström".into(),
            department: if i % 2 == 0 { "Sales".into() } else { "Support".into() },
            site: (*site).into(),
            ..Default::default()
        };
        app.create_user(&Caller::System, ACME, input).await.unwrap();
    }
    user(&app, ACME, "399", "Hidden", "basic-user", false).await;
    for i in 0..30 {
        let number = format!("+1 206 555 {:04}", 3000 + i % 7);
        shared(&app, ACME, &format!("{} Vendor {i}", ["Acme", "Ännchen", "acme"][i % 3]), &number).await;
    }
    let mine = BookRef::Personal { domain: ACME.into(), extension: "200".into() };
    for (first, number) in [("Ann", "206 555 3001"), ("Zed", "4255550100"), ("Émile", "")] {
        let contact = ContactInput {
            first_name: first.into(),
            last_name: "Own".into(),
            work_phone: number.into(),
            ..Default::default()
        };
        app.create_contact(&manager, &mine, contact).await.unwrap();
    }
    let bound = DeviceInput { user: Some("200".into()), ..device("Desk") };
    let created = app.create_device(&manager, ACME, bound).await.unwrap();
    let lobby = app.create_device(&manager, ACME, device("Lobby")).await.unwrap();
    let database = App::new(store, AppConfig { book_index: false, ..AppConfig::default() });
    for token in [&created.token, &lobby.token] {
        let (indexed, direct) =
            (app.device_by_token(token, None).await.unwrap(), database.device_by_token(token, None).await.unwrap());
        assert!(app.prepare_book_index(&indexed).await.unwrap(), "the copy is built");
        assert!(!database.prepare_book_index(&direct).await.unwrap(), "turned off");
        for group in
            [None, Some("shared"), Some("coworkers"), Some("mine"), Some("department:Sales"), Some("site:North")]
        {
            for q in [
                None,
                Some("a"),
                Some("an"),
                Some("ann"),
                Some("vendor 1"),
                Some("ÅNSTRÖM"),
                Some("555300"),
                Some("zzz"),
            ] {
                for limit in [1, 3, 50] {
                    let query = PhonebookQuery {
                        q: q.map(Into::into),
                        group: group.map(Into::into),
                        limit: Some(limit),
                        ..Default::default()
                    };
                    same_pages_both_ways(&app, &indexed, &database, &direct, query).await;
                }
            }
        }
    }
    assert!(app.book_index_answers() > 0 && database.book_index_answers() == 0, "each way was taken");
    // A change makes the copy stale at once: the new entry is there on the next read.
    shared(&app, ACME, "Brand New", "+1 206 555 0999").await;
    let reader = app.device_by_token(&lobby.token, None).await.unwrap();
    let found = book(&app, &reader, PhonebookQuery { q: Some("brand new".into()), ..Default::default() }).await;
    assert_eq!(found, ["Brand New"]);
}

/// Users' directories read from the in-memory copy are the pages the database gives —
/// entries, stars, presence and edit marks alike — for every group, search, sort and
/// page size, followed page by page; stars and presence, which change without changing
/// the book, show at once.
async fn the_directory_from_the_copy_answers_like_the_database(store: Arc<dyn Store>) {
    let World { app, manager, basic } = world(store.clone()).await;
    for (i, (first, site)) in [("Zoë", "North"), ("Ann", "South"), ("Émile", "North")].iter().enumerate() {
        let input = UserInput {
            extension: format!("3{i:02}"),
            first_name: (*first).into(),
            last_name: "Ånström".into(),
            department: "Sales".into(),
            site: (*site).into(),
            ..Default::default()
        };
        app.create_user(&Caller::System, ACME, input).await.unwrap();
    }
    user(&app, ACME, "399", "Hidden", "basic-user", false).await;
    for i in 0..12 {
        shared(&app, ACME, &format!("{} Vendor {i}", ["Acme", "Ännchen"][i % 2]), &format!("+1 206 555 30{i:02}"))
            .await;
    }
    for (caller, ext) in [(&manager, "200"), (&basic, "201")] {
        let mine = BookRef::Personal { domain: ACME.into(), extension: ext.into() };
        let contact = ContactInput { first_name: "Ann".into(), last_name: "Own".into(), ..Default::default() };
        app.create_contact(caller, &mine, contact).await.unwrap();
    }
    let busy = PresenceInput { state: "busy".into(), message: "On a call".into(), ..Default::default() };
    app.set_presence(&Caller::System, ACME, "300", busy).await.unwrap();
    let lobby = app.create_device(&manager, ACME, device("Lobby")).await.unwrap();
    let reader = app.device_by_token(&lobby.token, None).await.unwrap();
    assert!(app.prepare_book_index(&reader).await.unwrap(), "the copy is built");
    // Stars are set after the copy is built: they do not change the book it holds.
    let anns = app.directory(&manager, ACME, "200", "", &params(Some("ann"), None, 50, None)).await.unwrap();
    for entry in &anns.items {
        app.set_favorite(&manager, ACME, "200", entry.id, true).await.unwrap();
    }
    assert!(app.prepare_book_index(&reader).await.unwrap(), "the copy is current again");
    let database = App::new(store, AppConfig { book_index: false, ..AppConfig::default() });
    let before = app.book_index_answers();
    for (caller, ext) in [(&manager, "200"), (&basic, "201")] {
        for group in ["", "favorites", "shared", "mine", "coworkers", "department:Sales", "site:North", "busy"] {
            for q in [None, Some("a"), Some("ann"), Some("vendor 1"), Some("ÅNSTRÖM"), Some("555300"), Some("zzz")] {
                for (sort, limit) in
                    [(None, 1), (None, 3), (Some("-name"), 2), (Some("name"), 50), (Some("-updated"), 4)]
                {
                    let mut cursor = None;
                    for pages in 1.. {
                        let list = params(q, sort, limit, cursor.as_deref());
                        let ours = app.directory(caller, ACME, ext, group, &list).await.unwrap();
                        let theirs = database.directory(caller, ACME, ext, group, &list).await.unwrap();
                        assert_eq!(
                            (&ours.items, &ours.next_cursor),
                            (&theirs.items, &theirs.next_cursor),
                            "{ext} {group} {list:?}"
                        );
                        assert!(pages < 100, "paging ends");
                        match ours.next_cursor {
                            Some(next) => cursor = Some(next),
                            None => break,
                        }
                    }
                }
            }
        }
    }
    assert!(app.book_index_answers() > before + 100, "the copy answered the pages it can");
    assert_eq!(database.book_index_answers(), 0);

    // Presence and stars change without changing the book: the next page shows them.
    let available = PresenceInput { state: "available".into(), chat: true, ..Default::default() };
    app.set_presence(&Caller::System, ACME, "300", available).await.unwrap();
    let zoe = app.directory(&manager, ACME, "200", "", &params(Some("zoë"), None, 50, None)).await.unwrap();
    let presence = zoe.items[0].presence.as_ref().expect("a coworker has a presence");
    assert_eq!((presence.state.as_str(), presence.chat), ("available", true));
}

/// Copies hold at most `book_index_max_entries` over all domains: the least recently read
/// domain's goes, and its book is read from the database again.
async fn copies_past_the_bound_are_dropped_least_recently_read_first(store: Arc<dyn Store>) {
    let World { app, manager, .. } = world(store.clone()).await;
    let acme = app.create_device(&manager, ACME, device("Acme lobby")).await.unwrap();
    let globex = app.create_device(&Caller::System, GLOBEX, device("Globex lobby")).await.unwrap();
    // Acme's book holds 3 entries (two coworkers, one shared contact), Globex's 2: one fits, not both.
    let bounded = App::new(store, AppConfig { book_index_max_entries: 4, ..AppConfig::default() });
    let acme = bounded.device_by_token(&acme.token, None).await.unwrap();
    let globex = bounded.device_by_token(&globex.token, None).await.unwrap();
    assert!(bounded.prepare_book_index(&acme).await.unwrap());
    assert!(bounded.prepare_book_index(&globex).await.unwrap());
    let read = async |reader: &PhonebookReader| {
        let before = bounded.book_index_answers();
        let entries = bounded.phonebook(reader, &PhonebookQuery::default()).await.unwrap().items.len();
        (entries, bounded.book_index_answers() > before)
    };
    assert_eq!(read(&globex).await, (2, true), "the newest copy is kept");
    assert_eq!(read(&acme).await, (3, false), "the older one was dropped: the database answers");
}

fn params(q: Option<&str>, sort: Option<&str>, limit: u32, cursor: Option<&str>) -> ListParams {
    ListParams {
        q: q.map(Into::into),
        sort: sort.map(Into::into),
        limit: Some(limit.to_string()),
        cursor: cursor.map(Into::into),
    }
}

/// Walks every page forward, then back from the last, comparing each with the database's.
async fn same_pages_both_ways(
    app: &App,
    reader: &PhonebookReader,
    database: &App,
    direct: &PhonebookReader,
    mut query: PhonebookQuery,
) {
    let mut pages = 0;
    loop {
        let ours = app.phonebook_page(reader, &query).await.unwrap();
        let theirs = database.phonebook_page(direct, &query).await.unwrap();
        assert_eq!(ours.entries, theirs.entries, "{query:?}");
        assert_eq!((&ours.next_cursor, &ours.previous_cursor), (&theirs.next_cursor, &theirs.previous_cursor));
        pages += 1;
        assert!(pages < 100, "paging ends");
        match (ours.next_cursor, ours.previous_cursor) {
            (Some(next), _) if !query.cursor.as_deref().unwrap_or_default().starts_with("p.") => {
                query.cursor = Some(next)
            }
            (_, Some(previous)) => query.cursor = Some(previous),
            _ => return,
        }
    }
}
