//! Caller-ID look-ups and call blocking through the use cases, on SQLite and on
//! PostgreSQL: every stored and calling format of one number, ambiguity, the callee's
//! precedence (own contacts, shared, coworkers), hidden shared contacts, unlisted
//! coworkers, other domains, block and allow lists, and who may do what.

#[macro_use]
mod support;

use std::collections::BTreeMap;
use std::sync::Arc;

use switchboard_app::{
    AllowedNumberInput, App, AppConfig, AppError, AuditParams, BlockedNumberInput, BookRef, Caller, ContactInput,
    DomainInput, LookupAnswer, MatchRule, PhonebookReader, SettingsLayer, UserInput,
};
use switchboard_core::contact::{ContactPatch, NumberKind};
use switchboard_core::details::{PhoneInput, PhoneKind};
use switchboard_core::model::EntryKind;
use switchboard_store::Store;

const ACME: &str = "acme.example";
const OTHER: &str = "other.example";
const PASSWORD: &str = "correct horse battery";

/// The people of acme.example: Olivia manages, Ben and Hal are basic users (Hal sees no
/// shared contacts), Rita sits at the front desk, Una is not listed in the directory.
const PEOPLE: [(&str, &str, &str, bool); 5] = [
    ("200", "Olivia", "office-manager", true),
    ("201", "Ben", "basic-user", true),
    ("202", "Hal", "basic-user", true),
    ("204", "Rita", "basic-user", true),
    ("203", "Una", "basic-user", false),
];

struct Office {
    app: App,
    /// The same store without in-memory books: every look-up is checked against it.
    direct: App,
    olivia: Caller,
    ben: Caller,
    hal: Caller,
}

async fn office(store: Arc<dyn Store>) -> Office {
    let direct = App::new(store.clone(), AppConfig { book_index: false, ..AppConfig::default() });
    let app = App::new(store, AppConfig::default());
    for name in [ACME, OTHER] {
        app.create_domain(&Caller::System, DomainInput { name: name.into(), ..Default::default() }).await.unwrap();
    }
    for (ext, first, scope, listed) in PEOPLE {
        let user = UserInput {
            extension: ext.into(),
            first_name: first.into(),
            last_name: "Tester".into(),
            scope: Some(scope.into()),
            listed: Some(listed),
            password: Some(PASSWORD.into()),
            ..Default::default()
        };
        app.create_user(&Caller::System, ACME, user).await.unwrap();
    }
    let hidden = BTreeMap::from([("PORTAL_SHOW_SHARED_CONTACTS".to_string(), Some("no".to_string()))]);
    let hal_layer = SettingsLayer::User(ACME.into(), "202".into());
    app.put_settings(&Caller::System, &hal_layer, hidden).await.unwrap();
    let caller = async |ext: &str| {
        let login = app.login(&format!("{ext}@{ACME}"), PASSWORD, None).await.unwrap();
        app.authenticate(&login.token).await.unwrap()
    };
    Office { olivia: caller("200").await, ben: caller("201").await, hal: caller("202").await, app, direct }
}

fn shared() -> BookRef {
    BookRef::Shared { domain: ACME.into() }
}

fn personal(ext: &str) -> BookRef {
    BookRef::Personal { domain: ACME.into(), extension: ext.into() }
}

fn person(first: &str, work_phone: &str) -> ContactInput {
    ContactInput {
        first_name: first.into(),
        last_name: "Contact".into(),
        work_phone: work_phone.into(),
        ..Default::default()
    }
}

impl Office {
    async fn add(&self, book: BookRef, first: &str, number: &str) -> uuid::Uuid {
        self.app.create_contact(&Caller::System, &book, person(first, number)).await.unwrap().id
    }

    /// The answer from the in-memory copy of the book, checked against the database's.
    async fn look_up(&self, caller: &Caller, number: &str) -> LookupAnswer {
        let reader = PhonebookReader::from_caller(caller).unwrap();
        assert!(self.app.prepare_book_index(&reader).await.unwrap());
        let answer = self.app.lookup(caller, ACME, number, None).await.unwrap();
        assert_eq!(answer, self.direct.lookup(caller, ACME, number, None).await.unwrap(), "{number}");
        answer
    }

    /// The name shown to `caller` and the rule that found it.
    async fn shown(&self, caller: &Caller, number: &str) -> (Option<String>, MatchRule) {
        let answer = self.look_up(caller, number).await;
        (answer.name, answer.rule)
    }
}

fn named(name: &str, rule: MatchRule) -> (Option<String>, MatchRule) {
    (Some(name.to_string()), rule)
}

async fn every_format_of_a_number_finds_its_contact(store: Arc<dyn Store>) {
    let o = office(store).await;
    for stored in ["+1 (206) 555-0100", "206.555.0100", "12065550100"] {
        let id = o.add(shared(), "Sam", stored).await;
        for calling in ["+12065550100", "2065550100", "12065550100", "+1 (206) 555-0100", "206.555.0100"] {
            let answer = o.look_up(&o.ben, calling).await;
            assert_eq!(answer.name.as_deref(), Some("Sam Contact"), "{calling} calling, {stored} stored");
            assert_eq!((answer.rule, answer.ambiguous, answer.candidates), (MatchRule::ExactE164, false, 1));
            let entry = answer.entry.unwrap();
            assert_eq!((entry.kind, entry.id, entry.number.as_str()), (EntryKind::Shared, id, stored));
        }
        assert_eq!(o.shown(&o.ben, "5550100").await, named("Sam Contact", MatchRule::TrailingDigits));
        o.app.delete_contact(&Caller::System, &shared(), id).await.unwrap();
        assert_eq!(o.shown(&o.ben, "+12065550100").await, (None, MatchRule::None), "a deleted contact is gone");
    }
    // Stored without its area code, a number is still found by its last seven digits.
    o.add(shared(), "Local", "555-0100").await;
    assert_eq!(o.shown(&o.ben, "+1 206 555 0100").await, named("Local Contact", MatchRule::TrailingDigits));
}

fn phone(kind: PhoneKind, label: &str, number: &str) -> PhoneInput {
    PhoneInput { kind, label: label.into(), number: number.into() }
}

/// Every number of a contact finds it, not only the first of each kind, and the answer
/// says which number matched and how it is labelled.
async fn every_number_of_a_contact_is_looked_up_with_its_label(store: Arc<dyn Store>) {
    let o = office(store).await;
    let numbers = vec![
        phone(PhoneKind::Mobile, "", "206 555 0101"),
        phone(PhoneKind::Mobile, "Second", "206 555 0102"),
        phone(PhoneKind::Pager, "", "206 555 0103"),
        phone(PhoneKind::Work, "", "206 555 0104"),
        phone(PhoneKind::Work, "Assistant", "206 555 0105"),
    ];
    let maya = ContactInput {
        first_name: "Maya".into(),
        last_name: "Many".into(),
        phones: numbers.clone(),
        ..Default::default()
    };
    let id = o.app.create_contact(&Caller::System, &shared(), maya).await.unwrap().id;
    let expected = [
        ("+12065550101", NumberKind::Mobile, "Mobile"),
        ("+12065550102", NumberKind::Mobile, "Second"),
        ("+12065550103", NumberKind::Other, "Pager"),
        ("+12065550104", NumberKind::Work, "Work"),
        ("+12065550105", NumberKind::Work, "Assistant"),
    ];
    for (calling, kind, label) in expected {
        let answer = o.look_up(&o.ben, calling).await;
        assert_eq!(answer.name.as_deref(), Some("Maya Many"), "{calling}");
        let entry = answer.entry.unwrap();
        assert_eq!((entry.id, entry.number_kind, entry.label.as_str()), (id, kind, label), "{calling}");
    }
    // A number taken off the contact no longer finds it.
    let fewer = ContactPatch { phones: Some(numbers[..2].to_vec()), ..Default::default() };
    o.app.update_contact(&Caller::System, &shared(), id, None, fewer).await.unwrap();
    assert_eq!(o.shown(&o.ben, "+12065550105").await, (None, MatchRule::None));
    assert_eq!(o.shown(&o.ben, "+12065550102").await, named("Maya Many", MatchRule::ExactE164));

    // The same in one's own book.
    let own = ContactInput { first_name: "Pat".into(), phones: numbers[2..].to_vec(), ..Default::default() };
    o.app.create_contact(&o.ben, &personal("201"), own).await.unwrap();
    let answer = o.look_up(&o.ben, "206-555-0105").await;
    assert_eq!((answer.name.as_deref(), answer.entry.unwrap().label.as_str()), (Some("Pat"), "Assistant"));
}

async fn shared_trailing_digits_are_ambiguous(store: Arc<dyn Store>) {
    let o = office(store).await;
    o.add(shared(), "Seattle", "+1 206 555 0100").await;
    o.add(shared(), "Redmond", "+1 425 555 0100").await;
    let answer = o.look_up(&o.ben, "5550100").await;
    assert_eq!((answer.name, answer.entry), (None, None), "never a guess between two");
    assert_eq!((answer.rule, answer.ambiguous, answer.candidates), (MatchRule::TrailingDigits, true, 2));
    assert_eq!(o.shown(&o.ben, "+14255550100").await, named("Redmond Contact", MatchRule::ExactE164));
    assert_eq!(o.shown(&o.ben, "+13125550100").await, (None, MatchRule::None), "another area code is another number");
    // Two contacts with the very same number are ambiguous too.
    o.add(shared(), "Twin", "(425) 555-0100").await;
    let answer = o.look_up(&o.ben, "+14255550100").await;
    assert_eq!((answer.name, answer.ambiguous, answer.candidates), (None, true, 2));
}

async fn own_contacts_beat_shared_ones_which_beat_coworkers(store: Arc<dyn Store>) {
    let o = office(store).await;
    o.add(shared(), "Sam", "+1 206 555 0142").await;
    let moms = o.add(personal("201"), "Mom", "206-555-0142").await;
    let answer = o.look_up(&o.ben, "+12065550142").await;
    assert_eq!(answer.name.as_deref(), Some("Mom Contact"));
    assert_eq!(answer.entry.map(|e| (e.kind, e.id)), Some((EntryKind::Personal, moms)));
    assert_eq!(o.shown(&o.olivia, "+12065550142").await, named("Sam Contact", MatchRule::ExactE164));
    // An own contact matched by its last digits still comes before an exact shared one.
    o.add(personal("200"), "Cousin", "555-0142").await;
    assert_eq!(o.shown(&o.olivia, "+12065550142").await, named("Cousin Contact", MatchRule::TrailingDigits));

    // Extensions: a coworker, unless a shared or own contact has that number.
    let answer = o.look_up(&o.ben, "204").await;
    assert_eq!((answer.name.as_deref(), answer.rule), (Some("Rita Tester"), MatchRule::Extension));
    assert_eq!(answer.entry.map(|e| e.kind), Some(EntryKind::Coworker));
    let reception = o.add(shared(), "Reception", "204").await;
    assert_eq!(o.shown(&o.ben, "204").await, named("Reception Contact", MatchRule::Extension));
    o.add(personal("201"), "My Rita", "204").await;
    assert_eq!(o.shown(&o.ben, "204").await, named("My Rita Contact", MatchRule::Extension));
    o.app.delete_contact(&Caller::System, &shared(), reception).await.unwrap();
    assert_eq!(o.shown(&o.olivia, "204").await, named("Rita Tester", MatchRule::Extension));
}

async fn hidden_unlisted_and_foreign_entries_never_match(store: Arc<dyn Store>) {
    let o = office(store).await;
    o.add(shared(), "Sam", "+1 206 555 0142").await;
    o.add(shared(), "Reception", "204").await;
    assert_eq!(o.shown(&o.hal, "+12065550142").await, (None, MatchRule::None), "Hal sees no shared contacts");
    assert_eq!(o.shown(&o.hal, "204").await, named("Rita Tester", MatchRule::Extension));
    assert_eq!(o.shown(&o.ben, "203").await, (None, MatchRule::None), "Una is not listed");
    assert_eq!(o.shown(&o.ben, "205").await, (None, MatchRule::None), "nobody has 205");
    let other_book = BookRef::Shared { domain: OTHER.into() };
    o.app.create_contact(&Caller::System, &other_book, person("Foreign", "+1 206 555 0177")).await.unwrap();
    assert_eq!(o.shown(&o.ben, "+12065550177").await, (None, MatchRule::None), "another domain's contact");
    assert!(matches!(o.app.lookup(&o.ben, OTHER, "+12065550177", None).await, Err(AppError::NotFound)));
}

async fn who_may_look_up_for_whom(store: Arc<dyn Store>) {
    let o = office(store).await;
    o.add(shared(), "Sam", "+1 206 555 0142").await;
    o.add(personal("201"), "Mom", "+1 206 555 0142").await;
    let for_ben = async |caller: &Caller| o.app.lookup(caller, ACME, "+12065550142", Some("201")).await;
    assert_eq!(for_ben(&o.ben).await.unwrap().name.as_deref(), Some("Mom Contact"));
    assert_eq!(
        for_ben(&Caller::System).await.unwrap().name.as_deref(),
        Some("Mom Contact"),
        "a PBX sees the callee's view"
    );
    assert_eq!(for_ben(&o.olivia).await.unwrap().name.as_deref(), Some("Sam Contact"), "a manager skips Ben's own");
    assert!(matches!(for_ben(&o.hal).await, Err(AppError::NotFound)), "a coworker may not");
    let domain_view = o.app.lookup(&Caller::System, ACME, "+12065550142", None).await.unwrap();
    assert_eq!(domain_view.name.as_deref(), Some("Sam Contact"));
    let bad = o.app.lookup(&o.ben, ACME, "call me", None).await;
    assert!(matches!(bad, Err(AppError::Invalid(ref e)) if e.0[0].field == "number"), "{bad:?}");
    assert!(matches!(o.app.lookup(&o.ben, ACME, " ", None).await, Err(AppError::Invalid(_))));
}

fn block_number(number: &str) -> BlockedNumberInput {
    BlockedNumberInput { number: Some(number.into()), note: "spam".into(), ..Default::default() }
}

fn block_prefix(prefix: &str) -> BlockedNumberInput {
    BlockedNumberInput { prefix: Some(prefix.into()), ..Default::default() }
}

fn allow(number: &str) -> AllowedNumberInput {
    AllowedNumberInput { number: number.into(), note: "my dentist".into() }
}

async fn blocked_numbers_and_allow_lists(store: Arc<dyn Store>) {
    let o = office(store).await;
    let app = &o.app;
    let spam = app.add_blocked_number(&o.olivia, ACME, block_number("(206) 555-0166")).await.unwrap();
    assert_eq!(spam.pattern, "+12065550166");
    let premium = app.add_blocked_number(&o.olivia, ACME, block_prefix("+1 900")).await.unwrap();
    let area = app.add_blocked_number(&o.olivia, ACME, block_prefix("+1206555")).await.unwrap();

    let answer = o.look_up(&o.ben, "2065550166").await;
    assert!(answer.blocked);
    assert_eq!(answer.blocked_by.map(|b| b.id), Some(spam.id), "the number itself, not its prefix");
    assert_eq!(o.look_up(&o.ben, "+1 206 555 0199").await.blocked_by.map(|b| b.id), Some(area.id));
    let answer = o.look_up(&o.ben, "1-900-555-0100").await;
    assert_eq!((answer.blocked, answer.blocked_by.map(|b| b.id)), (true, Some(premium.id)));
    assert!(!o.look_up(&o.ben, "+1 425 555 0166").await.blocked);
    assert!(!o.look_up(&o.ben, "204").await.blocked, "extensions are never blocked");

    // Ben lets one blocked number through; for everyone else it stays blocked.
    let dentist = app.add_allowed_number(&o.ben, ACME, "201", allow("+1 206 555 0166")).await.unwrap();
    let answer = o.look_up(&o.ben, "206.555.0166").await;
    assert!(!answer.blocked);
    assert_eq!((answer.blocked_by.map(|b| b.id), answer.allowed_by.map(|a| a.id)), (Some(spam.id), Some(dentist.id)));
    assert!(o.look_up(&o.hal, "+12065550166").await.blocked);
    let for_ben = app.lookup(&o.olivia, ACME, "+12065550166", Some("201")).await.unwrap();
    assert!(!for_ben.blocked, "looked up for Ben, Ben's allow list applies");
    app.delete_allowed_number(&o.ben, ACME, "201", dentist.id).await.unwrap();
    assert!(o.look_up(&o.ben, "+12065550166").await.blocked);
    app.delete_blocked_number(&o.olivia, ACME, spam.id).await.unwrap();
    assert_eq!(o.look_up(&o.ben, "+12065550166").await.blocked_by.map(|b| b.id), Some(area.id));

    // Lists: read by everyone in the domain, paged, changed by managers only.
    let page = app.list_blocked_numbers(&o.ben, ACME, Some("1"), None).await.unwrap();
    assert_eq!(page.items[0].pattern, "+1206555");
    let rest = app.list_blocked_numbers(&o.ben, ACME, None, page.next_cursor.as_deref()).await.unwrap();
    assert_eq!(rest.items.iter().map(|b| b.pattern.as_str()).collect::<Vec<_>>(), ["+1900"]);
    assert!(matches!(app.add_blocked_number(&o.ben, ACME, block_prefix("+44")).await, Err(AppError::Forbidden(_))));
    assert!(matches!(app.delete_blocked_number(&o.ben, ACME, area.id).await, Err(AppError::Forbidden(_))));
    assert!(matches!(app.add_blocked_number(&o.olivia, ACME, block_prefix("+1900")).await, Err(AppError::Conflict(_))));
    assert!(matches!(app.list_blocked_numbers(&o.ben, OTHER, None, None).await, Err(AppError::NotFound)));
    assert!(matches!(app.delete_blocked_number(&o.olivia, ACME, uuid::Uuid::now_v7()).await, Err(AppError::NotFound)));

    // Allow lists: the user and their managers; nobody else finds one.
    app.add_allowed_number(&o.olivia, ACME, "202", allow("+1 206 555 0188")).await.unwrap();
    assert_eq!(app.list_allowed_numbers(&o.hal, ACME, "202", None, None).await.unwrap().items.len(), 1);
    assert!(matches!(app.list_allowed_numbers(&o.ben, ACME, "202", None, None).await, Err(AppError::NotFound)));
    assert!(matches!(
        app.add_allowed_number(&o.ben, ACME, "202", allow("+12065550100")).await,
        Err(AppError::NotFound)
    ));
    let twice = app.add_allowed_number(&o.hal, ACME, "202", allow("206-555-0188")).await;
    assert!(matches!(twice, Err(AppError::Conflict(_))), "{twice:?}");

    let audit = app.audit_log(&Caller::System, ACME, Some("100"), None).await.unwrap();
    let actions: Vec<&str> = audit.items.iter().map(|entry| entry.action.as_str()).collect();
    for action in ["blocked_number.add", "blocked_number.remove", "allowed_number.add", "allowed_number.remove"] {
        assert!(actions.contains(&action), "{action} audited: {actions:?}");
    }
    let family = AuditParams { action: Some("blocked_number.*".into()), ..Default::default() };
    let blocking = app.search_audit_log(&o.olivia, ACME, &family).await.unwrap();
    assert_eq!(blocking.items.len(), 4, "three added, one removed, found by their family");
}

async fn bad_block_and_allow_input_is_refused_field_by_field(store: Arc<dyn Store>) {
    let o = office(store).await;
    let refused = async |input: BlockedNumberInput| match o.app.add_blocked_number(&o.olivia, ACME, input).await {
        Err(AppError::Invalid(invalid)) => invalid.0.into_iter().map(|e| (e.field, e.message)).collect::<Vec<_>>(),
        other => panic!("accepted: {other:?}"),
    };
    let errors = refused(block_prefix("1900")).await;
    assert_eq!(errors[0].0, "prefix");
    assert!(errors[0].1.contains("like +1900"), "{errors:?}");
    let errors = refused(block_number("555-0100")).await;
    assert!(errors[0].1.contains("area code"), "{errors:?}");
    let both =
        BlockedNumberInput { number: Some("+12065550100".into()), prefix: Some("+1".into()), ..Default::default() };
    assert_eq!(refused(both).await[0].0, "number");
    assert_eq!(refused(BlockedNumberInput::default()).await[0].0, "number");
    let errors = refused(BlockedNumberInput { note: "x".repeat(500), ..block_prefix("nope") }).await;
    let fields: Vec<&str> = errors.iter().map(|(field, _)| field.as_str()).collect();
    assert_eq!(fields, ["prefix", "note"], "every bad field at once");
    let bad_allow = o.app.add_allowed_number(&o.ben, ACME, "201", allow("200")).await;
    assert!(matches!(bad_allow, Err(AppError::Invalid(_))), "an extension is not an outside number");
    assert!(o.app.list_blocked_numbers(&o.ben, ACME, None, None).await.unwrap().items.is_empty(), "nothing written");
    let bad_page = o.app.list_blocked_numbers(&o.ben, ACME, Some("0"), Some("garbage")).await;
    assert!(matches!(bad_page, Err(AppError::Invalid(ref e)) if e.0.len() == 2), "{bad_page:?}");
}

on_both_backends!(
    every_format_of_a_number_finds_its_contact,
    every_number_of_a_contact_is_looked_up_with_its_label,
    shared_trailing_digits_are_ambiguous,
    own_contacts_beat_shared_ones_which_beat_coworkers,
    hidden_unlisted_and_foreign_entries_never_match,
    who_may_look_up_for_whom,
    blocked_numbers_and_allow_lists,
    bad_block_and_allow_input_is_refused_field_by_field,
);
