//! App passwords through the use cases, on SQLite and on PostgreSQL: who makes, lists and
//! revokes them, and the login an address-book app makes on every request with either
//! an app password or the account password (throttled, the account password's argon2
//! check remembered until the password changes).

#[macro_use]
mod support;

use std::sync::Arc;
use std::time::Duration;

use switchboard_app::{App, AppConfig, AppError, AppPasswordInput, Caller, DomainInput, MAX_APP_PASSWORDS, UserInput};
use switchboard_store::Store;

const ACME: &str = "acme.example";
const OTHER: &str = "other.example";
const PASSWORD: &str = "correct horse battery";

on_both_backends!(
    the_user_makes_lists_and_revokes_their_own,
    managers_list_and_revoke_but_never_make_them,
    names_and_the_limit_are_checked,
    an_app_password_signs_its_user_in_until_revoked,
    the_account_password_is_checked_once_until_it_changes,
    wrong_attempts_are_throttled_but_app_passwords_still_work,
);

/// acme.example with 200 (office manager), 201 and 202 (basic users); other.example with
/// 200 (basic user) and 900 (super-user).
async fn app_with(store: Arc<dyn Store>, config: AppConfig) -> App {
    let app = App::new(store, config);
    for name in [ACME, OTHER] {
        app.create_domain(&Caller::System, DomainInput { name: name.into(), ..Default::default() }).await.unwrap();
    }
    let people = [
        (ACME, "200", "office-manager"),
        (ACME, "201", "basic-user"),
        (ACME, "202", "basic-user"),
        (OTHER, "200", "basic-user"),
        (OTHER, "900", "super-user"),
    ];
    for (domain, ext, scope) in people {
        let user = UserInput {
            extension: ext.into(),
            first_name: "Test".into(),
            scope: Some(scope.into()),
            password: Some(PASSWORD.into()),
            ..Default::default()
        };
        app.create_user(&Caller::System, domain, user).await.unwrap();
    }
    app
}

async fn app(store: Arc<dyn Store>) -> App {
    app_with(store, AppConfig::default()).await
}

async fn caller(app: &App, login: &str) -> Caller {
    let token = app.login(login, PASSWORD, None).await.unwrap().token;
    app.authenticate(&token).await.unwrap()
}

fn named(name: &str) -> AppPasswordInput {
    AppPasswordInput { name: name.into() }
}

async fn the_user_makes_lists_and_revokes_their_own(store: Arc<dyn Store>) {
    let app = app(store).await;
    let ben = caller(&app, "201@acme.example").await;
    let phone = app.create_app_password(&ben, ACME, "201", named("  Ben's iPhone ")).await.unwrap();
    assert_eq!(phone.app_password.name, "Ben's iPhone");
    let laptop = app.create_app_password(&ben, ACME, "201", named("Laptop")).await.unwrap();
    assert_ne!(phone.secret, laptop.secret);
    let listed = app.list_app_passwords(&ben, ACME, "201").await.unwrap();
    assert_eq!(listed, [phone.app_password.clone(), laptop.app_password.clone()], "oldest first");
    assert!(serde_json::to_string(&listed).unwrap().find(&phone.secret).is_none(), "a list holds no secret");

    app.revoke_app_password(&ben, ACME, "201", phone.app_password.id).await.unwrap();
    let again = app.revoke_app_password(&ben, ACME, "201", phone.app_password.id).await;
    assert!(matches!(again, Err(AppError::NotFound)), "{again:?}");
    assert_eq!(app.list_app_passwords(&ben, ACME, "201").await.unwrap(), std::slice::from_ref(&laptop.app_password));

    // Audited without the secret.
    let log = app.audit_log(&Caller::System, ACME, None, None).await.unwrap();
    let ours: Vec<_> = log.items.iter().filter(|e| e.action.starts_with("app_password.")).collect();
    assert_eq!(ours.len(), 3);
    assert!(ours.iter().all(|e| e.actor == "201@acme.example"));
    let text = serde_json::to_string(&log.items).unwrap();
    assert!(!text.contains(&phone.secret) && !text.contains(&laptop.secret));
}

async fn managers_list_and_revoke_but_never_make_them(store: Arc<dyn Store>) {
    let app = app(store).await;
    let ben = caller(&app, "201@acme.example").await;
    let made = app.create_app_password(&ben, ACME, "201", named("iPhone")).await.unwrap();
    let manager = caller(&app, "200@acme.example").await;
    let refused = app.create_app_password(&manager, ACME, "201", named("Mine now")).await;
    assert!(matches!(&refused, Err(AppError::Forbidden(m)) if m.contains("only they may")), "{refused:?}");
    let super_user = caller(&app, "900@other.example").await;
    let refused = app.create_app_password(&super_user, ACME, "201", named("Mine now")).await;
    assert!(matches!(refused, Err(AppError::Forbidden(_))), "{refused:?}");
    assert_eq!(app.list_app_passwords(&manager, ACME, "201").await.unwrap(), std::slice::from_ref(&made.app_password));
    assert_eq!(app.list_app_passwords(&super_user, ACME, "201").await.unwrap().len(), 1);

    // Coworkers and other domains find nothing.
    let hal = caller(&app, "202@acme.example").await;
    let otto = caller(&app, "200@other.example").await;
    for (who, domain) in [(&hal, ACME), (&otto, ACME), (&otto, OTHER)] {
        let listed = app.list_app_passwords(who, domain, "201").await;
        assert!(matches!(listed, Err(AppError::NotFound)), "{listed:?}");
        let revoked = app.revoke_app_password(who, domain, "201", made.app_password.id).await;
        assert!(matches!(revoked, Err(AppError::NotFound)), "{revoked:?}");
        let created = app.create_app_password(who, domain, "201", named("x")).await;
        assert!(matches!(created, Err(AppError::NotFound)), "{created:?}");
    }
    // An id of another user's is not this user's.
    let hals = app.create_app_password(&hal, ACME, "202", named("Hal's")).await.unwrap();
    let wrong = app.revoke_app_password(&manager, ACME, "201", hals.app_password.id).await;
    assert!(matches!(wrong, Err(AppError::NotFound)), "{wrong:?}");

    // The manager revokes it (a lost phone), and it stops working at once.
    app.revoke_app_password(&manager, ACME, "201", made.app_password.id).await.unwrap();
    let login = app.basic_login("201@acme.example", &made.secret, None).await;
    assert!(matches!(login, Err(AppError::Unauthorized(_))), "{login:?}");
    // The CLI may do all three.
    let cli = app.create_app_password(&Caller::System, ACME, "201", named("Set up by the operator")).await.unwrap();
    assert_eq!(app.list_app_passwords(&Caller::System, ACME, "201").await.unwrap().len(), 1);
    app.revoke_app_password(&Caller::System, ACME, "201", cli.app_password.id).await.unwrap();
}

async fn names_and_the_limit_are_checked(store: Arc<dyn Store>) {
    let app = app(store).await;
    let ben = caller(&app, "201@acme.example").await;
    for bad in ["", "   ", "two\nlines", &"x".repeat(101)] {
        let refused = app.create_app_password(&ben, ACME, "201", named(bad)).await;
        let Err(AppError::Invalid(invalid)) = refused else { panic!("{bad:?}: {refused:?}") };
        assert_eq!(invalid.0[0].field, "name");
    }
    for n in 0..MAX_APP_PASSWORDS {
        app.create_app_password(&ben, ACME, "201", named(&format!("Device {n}"))).await.unwrap();
    }
    let over = app.create_app_password(&ben, ACME, "201", named("One more")).await;
    assert!(matches!(&over, Err(AppError::Conflict(m)) if m.contains("20 app passwords")), "{over:?}");
    assert_eq!(app.list_app_passwords(&ben, ACME, "201").await.unwrap().len(), 20);
    // The limit is each user's.
    let hal = caller(&app, "202@acme.example").await;
    app.create_app_password(&hal, ACME, "202", named("Hal's phone")).await.unwrap();
}

async fn an_app_password_signs_its_user_in_until_revoked(store: Arc<dyn Store>) {
    let app = app(store).await;
    let ben = caller(&app, "201@acme.example").await;
    let made = app.create_app_password(&ben, ACME, "201", named("iPhone")).await.unwrap();
    assert_eq!(made.app_password.last_used_at, None);
    let (user, domain) = app.basic_login("201@acme.example", &made.secret, None).await.unwrap();
    assert_eq!((user.extension.to_string(), domain.name.to_string()), ("201".into(), ACME.into()));
    // As typed on a phone: without dashes, with capitals.
    let typed = made.secret.replace('-', " ").to_uppercase();
    assert!(app.basic_login("201@acme.example", &typed, None).await.is_ok());
    let used = app.list_app_passwords(&ben, ACME, "201").await.unwrap()[0].last_used_at;
    assert!(used.is_some(), "its use is shown");
    // No argon2 for an app password.
    let before = app.password_hash_stats().runs;
    app.basic_login("201@acme.example", &made.secret, None).await.unwrap();
    assert_eq!(app.password_hash_stats().runs, before);

    // Another user's login, or another domain's, with it: refused.
    for login in ["202@acme.example", "200@acme.example", "201@other.example", "201@nowhere.example", "201"] {
        let refused = app.basic_login(login, &made.secret, None).await;
        assert!(matches!(refused, Err(AppError::Unauthorized(_))), "{login}: {refused:?}");
    }
    app.revoke_app_password(&ben, ACME, "201", made.app_password.id).await.unwrap();
    let revoked = app.basic_login("201@acme.example", &made.secret, None).await;
    assert!(matches!(revoked, Err(AppError::Unauthorized(_))), "refused at once: {revoked:?}");
}

async fn the_account_password_is_checked_once_until_it_changes(store: Arc<dyn Store>) {
    let app = app(store).await;
    let (user, _) = app.basic_login("201@acme.example", PASSWORD, None).await.unwrap();
    assert_eq!(user.extension.to_string(), "201");
    let runs = app.password_hash_stats().runs;
    for _ in 0..5 {
        app.basic_login("201@acme.example", PASSWORD, None).await.unwrap();
    }
    assert_eq!(app.password_hash_stats().runs, runs, "remembered: no argon2 again");
    // The memory is the user's and the password's: a wrong one is checked (and refused).
    assert!(app.basic_login("201@acme.example", "correct horse battery!", None).await.is_err());
    assert!(app.basic_login("202@acme.example", "correct horse batter", None).await.is_err());
    assert_eq!(app.password_hash_stats().runs, runs + 2);

    // A new password: the old one is refused at once, whatever was remembered.
    app.set_password(&Caller::System, ACME, "201", "a brand new password").await.unwrap();
    let old = app.basic_login("201@acme.example", PASSWORD, None).await;
    assert!(matches!(old, Err(AppError::Unauthorized(_))), "{old:?}");
    app.basic_login("201@acme.example", "a brand new password", None).await.unwrap();
    // The user gone: refused.
    app.delete_user(&Caller::System, ACME, "201").await.unwrap();
    let gone = app.basic_login("201@acme.example", "a brand new password", None).await;
    assert!(matches!(gone, Err(AppError::Unauthorized(_))), "{gone:?}");
}

async fn wrong_attempts_are_throttled_but_app_passwords_still_work(store: Arc<dyn Store>) {
    let mut config = AppConfig::default();
    config.login.delay_step = Duration::from_millis(1);
    config.login.lock_after = 3;
    let app = app_with(store, config).await;
    let ben = caller(&app, "201@acme.example").await;
    let made = app.create_app_password(&ben, ACME, "201", named("iPhone")).await.unwrap();
    // A success forgives the account's count, as a login does.
    for _ in 0..2 {
        assert!(app.basic_login("201@acme.example", "wrong password", None).await.is_err());
    }
    app.basic_login("201@acme.example", PASSWORD, None).await.unwrap();
    // Wrong passwords, and wrong app passwords (counted as attempts at the account).
    for wrong in ["wrong password", "abcd-efgh-jkmn-pqrs", "wrong again"] {
        let refused = app.basic_login("201@acme.example", wrong, None).await;
        assert!(matches!(refused, Err(AppError::Unauthorized(_))), "{refused:?}");
    }
    let locked = app.basic_login("201@acme.example", PASSWORD, None).await;
    assert!(matches!(locked, Err(AppError::TooManyAttempts { .. })), "{locked:?}");
    // The same throttle as the portal's login.
    let portal = app.login("201@acme.example", PASSWORD, None).await;
    assert!(matches!(portal, Err(AppError::TooManyAttempts { .. })), "{portal:?}");
    // The user's devices keep working: an app password cannot be guessed, so whoever
    // locked the account did not lock them out.
    app.basic_login("201@acme.example", &made.secret, None).await.unwrap();
    // Another account is not locked.
    app.basic_login("202@acme.example", PASSWORD, None).await.unwrap();
}
