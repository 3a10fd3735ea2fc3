//! Change events: every change publishes one, and a subscriber hears only what it may
//! see — its own domain, its own personal contacts, shared contacts when they are
//! shown to it — on SQLite and on PostgreSQL.
//!
//! A test that something is *not* delivered makes a change every subscriber may see
//! afterwards (a marker) and checks that the marker is the next thing heard.

use std::collections::BTreeMap;
use std::io::Cursor;
use std::sync::Arc;
use std::time::Duration;

use switchboard_app::{
    App, AppConfig, AppError, BookRef, Caller, ContactInput, ContactPatch, DomainInput, FeedChange, FeedOp,
    ImportOptions, Notice, PresenceInput, RateLimit, SettingsLayer, Subscription, UserInput, UserPatchInput,
};
use switchboard_core::event::{ContactAction, Event, EventBook, EventKind};
use switchboard_store::{PostgresStore, SqliteStore, Store};
use uuid::Uuid;

const HOME: &str = "home.example";
const FOREIGN: &str = "foreign.example";
const PASSWORD: &str = "password-123";

/// Runs a scenario on a fresh SQLite database and on a fresh PostgreSQL one.
macro_rules! on_both_backends {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            #[tokio::test]
            async fn sqlite() {
                super::$scenario(super::world(super::sqlite().await).await).await
            }
            #[tokio::test]
            async fn postgres() {
                super::$scenario(super::world(super::postgres().await).await).await
            }
        }
    )*};
}

on_both_backends!(
    every_change_publishes_one_event,
    foreign_domains_hear_nothing,
    personal_contacts_reach_their_owner_only,
    hidden_shared_contacts_are_not_delivered,
    signing_out_ends_the_subscription,
    a_subscriber_that_falls_behind_catches_up_from_the_feed,
    the_operator_falling_behind_is_told_to_resync,
    closing_ends_every_subscription,
    a_burst_in_one_domain_slows_no_other_domain,
    event_streams_are_capped_per_user,
    presence_updates_are_rate_limited_per_user,
    status_messages_and_busy_end_by_themselves,
    chat_events_reach_the_two_people_only,
);

async fn sqlite() -> Arc<dyn Store> {
    let dir = tempfile::tempdir().unwrap().keep();
    Arc::new(SqliteStore::open(&format!("sqlite://{}", dir.join("events.db").display())).await.unwrap())
}

async fn postgres() -> Arc<dyn Store> {
    let url = switchboard_store::testing::fresh_postgres_database().await;
    Arc::new(PostgresStore::connect(&url).await.unwrap())
}

struct World {
    app: App,
    /// Office-manager of home.example.
    manager: Caller,
    /// Basic users of home.example.
    ben: Caller,
    zoe: Caller,
    /// Office-manager of foreign.example.
    stranger: Caller,
}

async fn world(store: Arc<dyn Store>) -> World {
    let app = App::new(store, AppConfig::default());
    for name in [HOME, FOREIGN] {
        app.create_domain(&Caller::System, DomainInput { name: name.into(), ..Default::default() }).await.unwrap();
    }
    let manager = signed_in(&app, HOME, "100", "office-manager").await;
    let ben = signed_in(&app, HOME, "200", "basic-user").await;
    let zoe = signed_in(&app, HOME, "201", "basic-user").await;
    let stranger = signed_in(&app, FOREIGN, "100", "office-manager").await;
    settle(&app).await;
    World { app, manager, ben, zoe, stranger }
}

/// Waits until every event published so far has been delivered: PostgreSQL delivers
/// them a moment later, and a subscription made meanwhile would still hear them.
async fn settle(app: &App) {
    let mut everything = app.subscribe(&Caller::System).await.unwrap();
    let flag = Event { domain_id: Uuid::now_v7(), kind: EventKind::SettingsChanged };
    app.store().publish(&flag).await.unwrap();
    while next_event(&mut everything).await != flag {}
}

async fn signed_in(app: &App, domain: &str, ext: &str, scope: &str) -> Caller {
    let user = UserInput {
        extension: ext.into(),
        first_name: format!("User{ext}"),
        scope: Some(scope.into()),
        password: Some(PASSWORD.into()),
        ..Default::default()
    };
    app.create_user(&Caller::System, domain, user).await.unwrap();
    let login = app.login(&format!("{ext}@{domain}"), PASSWORD, None).await.unwrap();
    app.authenticate(&login.token).await.unwrap()
}

fn user_id(caller: &Caller) -> Uuid {
    match caller {
        Caller::User { user, .. } => user.id,
        Caller::System | Caller::Pbx { .. } => panic!("the CLI has no user"),
    }
}

fn domain_id(caller: &Caller) -> Uuid {
    match caller {
        Caller::User { domain, .. } => domain.id,
        Caller::System | Caller::Pbx { .. } => panic!("the CLI has no domain"),
    }
}

fn shared(domain: &str) -> BookRef {
    BookRef::Shared { domain: domain.into() }
}

fn contact(company: &str) -> ContactInput {
    ContactInput { company: company.into(), ..Default::default() }
}

/// The timeout only keeps a broken implementation from hanging the suite.
async fn next(subscription: &mut Subscription) -> Option<Notice> {
    tokio::time::timeout(Duration::from_secs(10), subscription.next()).await.expect("nothing was heard")
}

async fn next_event(subscription: &mut Subscription) -> Event {
    match next(subscription).await {
        Some(Notice::Event(event)) => event,
        other => panic!("expected an event, got {other:?}"),
    }
}

/// A change every subscriber of `domain` may see: user `ext`'s presence.
async fn marker(app: &App, domain: &str, ext: &str) -> Event {
    let presence = PresenceInput { state: "busy".into(), ..Default::default() };
    app.set_presence(&Caller::System, domain, ext, presence).await.unwrap();
    let domain_id = app.get_domain(&Caller::System, domain).await.unwrap().domain.id;
    let user_id = app.get_user(&Caller::System, domain, ext).await.unwrap().id;
    Event { domain_id, kind: EventKind::PresenceChanged { user_id } }
}

fn shared_event(domain_id: Uuid, contact_id: Option<Uuid>, action: ContactAction) -> Event {
    Event { domain_id, kind: EventKind::ContactChanged { book: EventBook::Shared, contact_id, action } }
}

async fn every_change_publishes_one_event(w: World) {
    let (app, home) = (&w.app, domain_id(&w.manager));
    let mut heard = app.subscribe(&w.manager).await.unwrap();
    let book = shared(HOME);

    let id = app.create_contact(&w.manager, &book, contact("Globex")).await.unwrap().id;
    let patch = ContactPatch { title: Some("Buyer".into()), ..Default::default() };
    app.update_contact(&w.manager, &book, id, None, patch).await.unwrap();
    app.delete_contact(&w.manager, &book, id).await.unwrap();
    app.restore_contact(&w.manager, &book, id).await.unwrap();
    for action in [ContactAction::Created, ContactAction::Updated, ContactAction::Deleted, ContactAction::Restored] {
        assert_eq!(next_event(&mut heard).await, shared_event(home, Some(id), action));
    }

    let csv = "First Name,Last Name,Company\r\nAnn,Lee,\r\nBob,Ray,\r\n,,Initech\r\n";
    let report = app.import(&w.manager, &book, Box::new(Cursor::new(csv)), ImportOptions::default()).await.unwrap();
    assert_eq!(report.created, 3);
    assert_eq!(next_event(&mut heard).await, shared_event(home, None, ContactAction::Imported));
    let dry_run = ImportOptions { dry_run: true, ..Default::default() };
    app.import(&w.manager, &book, Box::new(Cursor::new(csv)), dry_run).await.unwrap();

    let ben = user_id(&w.ben);
    let presence = PresenceInput { state: "available".into(), ..Default::default() };
    app.set_presence(&w.ben, HOME, "200", presence).await.unwrap();
    assert_eq!(next_event(&mut heard).await.kind, EventKind::PresenceChanged { user_id: ben }, "one import, one event");

    let new = UserInput { extension: "300".into(), ..Default::default() };
    let sue = app.create_user(&w.manager, HOME, new).await.unwrap().user.id;
    let rename = UserPatchInput { first_name: Some("Sue".into()), ..Default::default() };
    app.update_user(&w.manager, HOME, "300", None, rename).await.unwrap();
    app.delete_user(&w.manager, HOME, "300").await.unwrap();
    for _ in 0..3 {
        assert_eq!(next_event(&mut heard).await.kind, EventKind::UserChanged { user_id: sue });
    }

    let changes = BTreeMap::from([("DEFAULT_COUNTRY".to_string(), Some("DE".to_string()))]);
    app.put_settings(&w.manager, &SettingsLayer::Domain(HOME.into()), changes).await.unwrap();
    assert_eq!(next_event(&mut heard).await, Event { domain_id: home, kind: EventKind::SettingsChanged });
}

async fn foreign_domains_hear_nothing(w: World) {
    let app = &w.app;
    let mut stranger = app.subscribe(&w.stranger).await.unwrap();
    app.create_contact(&w.manager, &shared(HOME), contact("Globex")).await.unwrap();
    app.create_contact(&w.ben, &BookRef::Personal { domain: HOME.into(), extension: "200".into() }, contact("Mine"))
        .await
        .unwrap();
    let changes = BTreeMap::from([("DEFAULT_COUNTRY".to_string(), Some("DE".to_string()))]);
    app.put_settings(&w.manager, &SettingsLayer::Domain(HOME.into()), changes).await.unwrap();
    marker(app, HOME, "201").await;
    let own = marker(app, FOREIGN, "100").await;
    assert_eq!(next_event(&mut stranger).await, own, "nothing of home.example reached foreign.example");
}

async fn personal_contacts_reach_their_owner_only(w: World) {
    let app = &w.app;
    let (mut ben, mut zoe, mut manager) = (
        app.subscribe(&w.ben).await.unwrap(),
        app.subscribe(&w.zoe).await.unwrap(),
        app.subscribe(&w.manager).await.unwrap(),
    );
    let book = BookRef::Personal { domain: HOME.into(), extension: "200".into() };
    let id = app.create_contact(&w.ben, &book, contact("Ben's dentist")).await.unwrap().id;
    let mark = marker(app, HOME, "100").await;
    let owner_id = user_id(&w.ben);
    let kind = EventKind::ContactChanged {
        book: EventBook::Personal { owner_id },
        contact_id: Some(id),
        action: ContactAction::Created,
    };
    assert_eq!(next_event(&mut ben).await.kind, kind);
    assert_eq!(next_event(&mut ben).await, mark);
    assert_eq!(next_event(&mut zoe).await, mark, "another user hears nothing of Ben's contacts");
    assert_eq!(next_event(&mut manager).await, mark, "not even a manager");
}

async fn hidden_shared_contacts_are_not_delivered(w: World) {
    let app = &w.app;
    let zoes_layer = SettingsLayer::User(HOME.into(), "201".into());
    let hide = BTreeMap::from([("PORTAL_SHOW_SHARED_CONTACTS".to_string(), Some("no".to_string()))]);
    app.put_settings(&w.manager, &zoes_layer, hide).await.unwrap();
    settle(app).await;
    let (mut zoe, mut ben) = (app.subscribe(&w.zoe).await.unwrap(), app.subscribe(&w.ben).await.unwrap());
    let id = app.create_contact(&w.manager, &shared(HOME), contact("Globex")).await.unwrap().id;
    let mark = marker(app, HOME, "100").await;
    let created = shared_event(domain_id(&w.zoe), Some(id), ContactAction::Created);
    assert_eq!(next_event(&mut ben).await, created);
    assert_eq!(next_event(&mut zoe).await, mark, "shared contacts are hidden from Zoe");

    // Showing them again reaches an open subscription.
    let show = BTreeMap::from([("PORTAL_SHOW_SHARED_CONTACTS".to_string(), None)]);
    app.put_settings(&w.manager, &zoes_layer, show).await.unwrap();
    assert_eq!(next_event(&mut zoe).await.kind, EventKind::SettingsChanged);
    app.delete_contact(&w.manager, &shared(HOME), id).await.unwrap();
    assert_eq!(next_event(&mut zoe).await, shared_event(domain_id(&w.zoe), Some(id), ContactAction::Deleted));
}

async fn signing_out_ends_the_subscription(w: World) {
    let app = &w.app;
    let mut ben = app.subscribe(&w.ben).await.unwrap();
    app.logout(&w.ben).await.unwrap();
    // A change to the domain's settings makes every subscriber re-check who they are.
    let changes = BTreeMap::from([("DEFAULT_COUNTRY".to_string(), Some("DE".to_string()))]);
    app.put_settings(&w.manager, &SettingsLayer::Domain(HOME.into()), changes).await.unwrap();
    assert_eq!(next(&mut ben).await, None, "a signed-out user hears nothing more");
}

/// The changes a user's stream tells from their feed, up to its next cursor.
async fn changes_until_cursor(subscription: &mut Subscription) -> Vec<FeedChange> {
    let mut changes = Vec::new();
    loop {
        match next(subscription).await {
            Some(Notice::Change(change)) => changes.push(*change),
            Some(Notice::Cursor(_)) => return changes,
            Some(Notice::Event(_)) => {}
            other => panic!("expected the feed's changes, got {other:?}"),
        }
    }
}

/// More events than a subscription holds: a user's stream that fell behind is told
/// what it missed from the feed (not to reload everything), then goes on.
async fn a_subscriber_that_falls_behind_catches_up_from_the_feed(w: World) {
    let app = &w.app;
    let idle = app.subscribe_from(&w.ben, true, None).await.unwrap();
    let (mut idle, mut reader) = (idle, app.subscribe(&w.zoe).await.unwrap());
    let home = domain_id(&w.ben);
    let missed = app.create_contact(&w.manager, &shared(HOME), contact("Missed Ltd")).await.unwrap();
    next_event(&mut reader).await;
    // More than a subscription holds, each heard by `reader` before the next is sent.
    for _ in 0..1100 {
        let event = shared_event(home, Some(Uuid::now_v7()), ContactAction::Updated);
        app.store().publish(&event).await.unwrap();
        assert_eq!(next_event(&mut reader).await, event);
    }
    let told = changes_until_cursor(&mut idle).await;
    assert!(told.iter().any(|c| c.entry_id == missed.id && c.op == FeedOp::Upsert), "{told:?}");
    let after = marker(app, HOME, "100").await;
    assert_eq!(next_event(&mut idle).await, after);
}

/// The operator's stream has no feed, and a user's follows it only when asked: falling
/// behind, they are told to reload.
async fn the_operator_falling_behind_is_told_to_resync(w: World) {
    let app = &w.app;
    let (mut idle, mut reader) =
        (app.subscribe(&Caller::System).await.unwrap(), app.subscribe(&Caller::System).await.unwrap());
    let mut page = app.subscribe(&w.zoe).await.unwrap();
    let home = domain_id(&w.ben);
    // Each heard by `reader` before the next is sent, so none is still on its way after.
    for _ in 0..1100 {
        let event = shared_event(home, Some(Uuid::now_v7()), ContactAction::Updated);
        app.store().publish(&event).await.unwrap();
        assert_eq!(next_event(&mut reader).await, event);
    }
    assert_eq!(next(&mut idle).await, Some(Notice::Resync));
    assert_eq!(next(&mut page).await, Some(Notice::Resync), "a page's stream does not follow the feed");
    // Then it hears what happens next, not the backlog it is about to reload anyway.
    let after = marker(app, HOME, "100").await;
    assert_eq!(next_event(&mut idle).await, after);
}

async fn closing_ends_every_subscription(w: World) {
    let app = &w.app;
    let mut open = app.subscribe(&w.ben).await.unwrap();
    app.close_subscriptions();
    assert_eq!(next(&mut open).await, None);
    let mut late = app.subscribe(&w.zoe).await.unwrap();
    assert_eq!(next(&mut late).await, None, "a server shutting down takes no new listeners");
}

/// Each domain has its own channel: more events in home.example than a subscription holds
/// make home's idle subscriber resync, and foreign.example's hears its own next event.
async fn a_burst_in_one_domain_slows_no_other_domain(w: World) {
    let app = &w.app;
    let (mut idle_at_home, mut stranger) =
        (app.subscribe_from(&w.ben, true, None).await.unwrap(), app.subscribe(&w.stranger).await.unwrap());
    let home = domain_id(&w.ben);
    let missed = app.create_contact(&w.manager, &shared(HOME), contact("Burst Ltd")).await.unwrap();
    for _ in 0..1100 {
        app.store().publish(&shared_event(home, Some(Uuid::now_v7()), ContactAction::Updated)).await.unwrap();
    }
    let own = marker(app, FOREIGN, "100").await;
    assert_eq!(next_event(&mut stranger).await, own, "nothing missed in foreign.example");
    let told = changes_until_cursor(&mut idle_at_home).await;
    assert!(told.iter().any(|c| c.entry_id == missed.id), "home's subscriber catches up: {told:?}");
}

/// At most `max_event_streams_per_user` open at once for one user; others are not
/// counted against them, and a closed stream gives its place back.
async fn event_streams_are_capped_per_user(w: World) {
    let app = &w.app;
    let limit = AppConfig::default().max_event_streams_per_user;
    let mut open = Vec::new();
    for _ in 0..limit {
        open.push(app.subscribe(&w.ben).await.unwrap());
    }
    match app.subscribe(&w.ben).await {
        Err(AppError::TooManyRequests { retry_after, .. }) => assert!(retry_after > Duration::ZERO),
        other => panic!("expected TooManyRequests, got {:?}", other.map(|_| "a subscription")),
    }
    let _zoe = app.subscribe(&w.zoe).await.expect("another user has their own share");
    drop(open.pop());
    let mut again = app.subscribe(&w.ben).await.expect("a closed stream gives its place back");
    let mark = marker(app, HOME, "201").await;
    assert_eq!(next_event(&mut again).await, mark);
}

/// A user's presence may change `burst` times at once, then once per `refill_every`;
/// beyond that the change is refused (and nothing published) with the wait.
async fn presence_updates_are_rate_limited_per_user(w: World) {
    // A refill slower than any test run, so what is refused does not depend on timing.
    let limit = RateLimit { burst: 3, refill_every: Duration::from_secs(3600) };
    let app = App::new(w.app.store().clone(), AppConfig { presence_limit: limit, ..AppConfig::default() });
    let mut heard = app.subscribe(&w.manager).await.unwrap();
    let state = |state: &str| PresenceInput { state: state.into(), ..Default::default() };
    for s in ["busy", "available", "busy"] {
        app.set_presence(&w.ben, HOME, "200", state(s)).await.unwrap();
    }
    match app.set_presence(&w.ben, HOME, "200", state("offline")).await {
        Err(AppError::TooManyRequests { retry_after, .. }) => {
            assert!(retry_after > Duration::from_secs(3000), "{retry_after:?}")
        }
        other => panic!("expected TooManyRequests, got {other:?}"),
    }
    // By the manager too: the limit is the user's, whoever reports it.
    assert!(matches!(
        app.set_presence(&w.manager, HOME, "200", state("offline")).await,
        Err(AppError::TooManyRequests { .. })
    ));
    app.set_presence(&w.zoe, HOME, "201", state("busy")).await.expect("another user has their own allowance");
    let ben = user_id(&w.ben);
    for _ in 0..3 {
        assert_eq!(next_event(&mut heard).await.kind, EventKind::PresenceChanged { user_id: ben });
    }
    let zoe = EventKind::PresenceChanged { user_id: user_id(&w.zoe) };
    assert_eq!(next_event(&mut heard).await.kind, zoe, "the refused changes published nothing");
}

/// A status message set "until" a time clears at that time, and "busy until" turns back
/// to available, each told to the domain's open pages once; times that have passed, are
/// over a year ahead, or go with no message or no "busy", are refused.
async fn status_messages_and_busy_end_by_themselves(w: World) {
    let mut heard = w.app.subscribe(&w.manager).await.unwrap();
    let soon = chrono::Utc::now() + chrono::TimeDelta::milliseconds(300);
    let input = PresenceInput {
        state: "busy".into(),
        message: "In a meeting".into(),
        message_until: Some(soon),
        busy_until: Some(soon),
        ..Default::default()
    };
    w.app.set_presence(&w.ben, HOME, "200", input).await.unwrap();
    let ben = EventKind::PresenceChanged { user_id: user_id(&w.ben) };
    assert_eq!(next_event(&mut heard).await.kind, ben);
    assert_eq!(w.app.expire_presence().await.unwrap(), 0, "not yet");
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(w.app.expire_presence().await.unwrap(), 1);
    assert_eq!(next_event(&mut heard).await.kind, ben);
    let now = w.app.store().presence(user_id(&w.ben)).await.unwrap();
    assert_eq!((now.state.as_str(), now.message.as_str()), ("available", ""));
    assert_eq!(w.app.expire_presence().await.unwrap(), 0, "once");

    let later = chrono::Utc::now() + chrono::TimeDelta::hours(1);
    let past = chrono::Utc::now() - chrono::TimeDelta::minutes(1);
    let refused = [
        (
            PresenceInput {
                state: "busy".into(),
                message: "x".into(),
                message_until: Some(past),
                ..Default::default()
            },
            "message_until",
        ),
        (PresenceInput { state: "busy".into(), message_until: Some(later), ..Default::default() }, "message_until"),
        (PresenceInput { state: "available".into(), busy_until: Some(later), ..Default::default() }, "busy_until"),
        (
            PresenceInput {
                state: "busy".into(),
                busy_until: Some(chrono::Utc::now() + chrono::TimeDelta::days(400)),
                ..Default::default()
            },
            "busy_until",
        ),
    ];
    for (input, field) in refused {
        match w.app.set_presence(&w.ben, HOME, "200", input).await {
            Err(AppError::Invalid(invalid)) => assert_eq!(invalid.0[0].field, field),
            other => panic!("{field}: expected Invalid, got {other:?}"),
        }
    }
}

/// A chat message is an event for its two people, and nobody else in the domain.
async fn chat_events_reach_the_two_people_only(w: World) {
    let mut ben = w.app.subscribe(&w.ben).await.unwrap();
    let mut zoe = w.app.subscribe(&w.zoe).await.unwrap();
    let mut manager = w.app.subscribe(&w.manager).await.unwrap();
    let text = switchboard_core::chat::ChatInput { text: "Hi Ben".into() };
    w.app.send_chat(&w.manager, HOME, "100", "200", text).await.unwrap();
    let (a, b) = (user_id(&w.manager), user_id(&w.ben));
    let chat = EventKind::ChatChanged { between: if a < b { [a, b] } else { [b, a] } };
    assert_eq!(next_event(&mut ben).await.kind, chat);
    assert_eq!(next_event(&mut manager).await.kind, chat);
    let mark = marker(&w.app, HOME, "201").await;
    assert_eq!(next_event(&mut zoe).await, mark, "Zoe heard nothing before the marker");
    assert_eq!(next_event(&mut manager).await, mark);

    // Ben's page reads the message: the sender hears it was delivered, once; reading it
    // again (as a page does on every event) tells nobody anything.
    let page = switchboard_app::ChatPageParams::default();
    w.app.chat_messages(&w.ben, HOME, "200", "100", &page).await.unwrap();
    assert_eq!(next_event(&mut manager).await.kind, chat, "delivered");
    w.app.chat_messages(&w.ben, HOME, "200", "100", &page).await.unwrap();
    let mark = marker(&w.app, HOME, "201").await;
    assert_eq!(next_event(&mut manager).await, mark, "nothing moved, nothing told");
}
