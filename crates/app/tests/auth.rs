//! Authentication through the use cases, on SQLite and on PostgreSQL: a session or an
//! API token is read with its user and domain as they are at that moment, so an
//! expired session, an ended session, a revoked token and a deleted user or domain are
//! refused on the very next request; failed logins are still throttled; the system
//! caller is unchanged; and a look-up in the caller's own domain uses the domain and
//! user that came with the caller.

#[macro_use]
mod support;

use std::sync::Arc;
use std::time::Duration;

use switchboard_app::{
    App, AppConfig, AppError, BookRef, Caller, ContactInput, DomainInput, MatchRule, UserInput, UserPatchInput,
};
use switchboard_core::Scope;
use switchboard_store::Store;

const ACME: &str = "acme.example";
const OTHER: &str = "other.example";
const PASSWORD: &str = "correct horse battery";

on_both_backends!(
    a_caller_is_read_with_its_user_and_domain_as_they_are_now,
    an_expired_session_is_refused,
    an_ended_session_and_a_revoked_token_are_refused_on_the_next_request,
    a_deleted_user_or_domain_is_refused,
    malformed_and_unknown_secrets_are_refused,
    failed_logins_are_still_throttled,
    the_system_caller_is_unchanged,
    a_look_up_in_the_callers_own_domain_answers_as_before,
);

/// acme.example (reseller North Telecom) with 200 (office manager), 201 and 202 (basic
/// users); other.example with 200 (basic user) and 900 (super-user).
async fn app_with(store: Arc<dyn Store>, config: AppConfig) -> App {
    let app = App::new(store, config);
    let acme = DomainInput { name: ACME.into(), reseller: Some("North Telecom".into()), ..Default::default() };
    app.create_domain(&Caller::System, acme).await.unwrap();
    app.create_domain(&Caller::System, DomainInput { name: OTHER.into(), ..Default::default() }).await.unwrap();
    let people = [
        (ACME, "200", "Olivia", "office-manager"),
        (ACME, "201", "Ben", "basic-user"),
        (ACME, "202", "Hal", "basic-user"),
        (OTHER, "200", "Otto", "basic-user"),
        (OTHER, "900", "Sue", "super-user"),
    ];
    for (domain, ext, first, scope) in people {
        let user = UserInput {
            extension: ext.into(),
            first_name: first.into(),
            last_name: "Tester".into(),
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

/// Logs in and answers the session secret.
async fn session(app: &App, login: &str) -> String {
    app.login(login, PASSWORD, None).await.unwrap().token
}

async fn caller(app: &App, login: &str) -> Caller {
    app.authenticate(&session(app, login).await).await.unwrap()
}

fn refused(result: Result<Caller, AppError>) -> bool {
    matches!(result, Err(AppError::Unauthorized(_)))
}

async fn a_caller_is_read_with_its_user_and_domain_as_they_are_now(store: Arc<dyn Store>) {
    let app = app(store).await;
    let login = app.login("201@acme.example", PASSWORD, None).await.unwrap();
    let Caller::User { user, domain, token_id } = app.authenticate(&login.token).await.unwrap() else {
        panic!("a user")
    };
    assert_eq!((user.extension.as_str(), user.first_name.as_str(), user.scope), ("201", "Ben", Scope::BasicUser));
    assert_eq!((user.id, user.domain_id), (login.user.id, domain.id));
    assert_eq!((domain.name.as_str(), domain.reseller.as_deref()), (ACME, Some("North Telecom")));
    let domain_id = domain.id;

    // The same token, again and again; and a second login is a second session.
    for _ in 0..3 {
        let Caller::User { token_id: again, .. } = app.authenticate(&login.token).await.unwrap() else { panic!() };
        assert_eq!(again, token_id);
    }
    let Caller::User { token_id: second, .. } = caller(&app, "201@acme.example").await else { panic!() };
    assert_ne!(second, token_id);

    // A change by the manager shows on the very next request: nothing is kept between them.
    let olivia = caller(&app, "200@acme.example").await;
    let patch = UserPatchInput {
        first_name: Some("Benjamin".into()),
        scope: Some("site-manager".into()),
        ..Default::default()
    };
    app.update_user(&olivia, ACME, "201", None, patch).await.unwrap();
    let Caller::User { user, domain, .. } = app.authenticate(&login.token).await.unwrap() else { panic!() };
    assert_eq!((user.first_name.as_str(), user.scope), ("Benjamin", Scope::SiteManager));
    assert_eq!(domain.id, domain_id);
    assert_eq!(Caller::User { user, domain, token_id }.actor_name(), "201@acme.example");
}

async fn an_expired_session_is_refused(store: Arc<dyn Store>) {
    let config = AppConfig { session_ttl: Duration::from_millis(1500), ..AppConfig::default() };
    let app = app_with(store, config).await;
    let login = app.login("201@acme.example", PASSWORD, None).await.unwrap();
    let token =
        app.create_api_token(&app.authenticate(&login.token).await.unwrap(), &login.user, "PBX").await.unwrap().secret;
    assert!(app.authenticate(&login.token).await.is_ok());
    tokio::time::sleep(login.expires_at.signed_duration_since(chrono::Utc::now()).to_std().unwrap_or_default()).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(refused(app.authenticate(&login.token).await), "the first request after its expiry is refused");
    assert!(app.authenticate(&token).await.is_ok(), "an API token does not expire");

    // A session that lasts no time at all is refused on its very first request.
    let config = AppConfig { session_ttl: Duration::ZERO, ..AppConfig::default() };
    let instant = App::new(app.store().clone(), config);
    let secret = session(&instant, "202@acme.example").await;
    assert!(refused(instant.authenticate(&secret).await));
}

async fn an_ended_session_and_a_revoked_token_are_refused_on_the_next_request(store: Arc<dyn Store>) {
    let app = app(store).await;
    let (first, second) = (session(&app, "201@acme.example").await, session(&app, "201@acme.example").await);
    let ben = app.authenticate(&first).await.unwrap();
    let Caller::User { user, .. } = &ben else { panic!() };
    let token = app.create_api_token(&ben, user, "PBX").await.unwrap();
    let other = app.create_api_token(&ben, user, "CRM").await.unwrap();
    assert!(app.authenticate(&token.secret).await.is_ok());

    app.revoke_api_token(&ben, user, token.token.id).await.unwrap();
    assert!(refused(app.authenticate(&token.secret).await), "revoked");
    assert!(app.authenticate(&other.secret).await.is_ok(), "only that token");

    app.logout(&ben).await.unwrap();
    assert!(refused(app.authenticate(&first).await), "logged out");
    assert!(app.authenticate(&second).await.is_ok(), "only that session");

    // Logging out with an API token revokes it.
    let by_token = app.authenticate(&other.secret).await.unwrap();
    app.logout(&by_token).await.unwrap();
    assert!(refused(app.authenticate(&other.secret).await));
}

async fn a_deleted_user_or_domain_is_refused(store: Arc<dyn Store>) {
    let app = app(store).await;
    let olivia = caller(&app, "200@acme.example").await;
    let ben_session = session(&app, "201@acme.example").await;
    let ben = app.authenticate(&ben_session).await.unwrap();
    let Caller::User { user, .. } = &ben else { panic!() };
    let ben_token = app.create_api_token(&ben, user, "PBX").await.unwrap().secret;
    let hal_session = session(&app, "202@acme.example").await;
    let otto_session = session(&app, "200@other.example").await;

    app.delete_user(&olivia, ACME, "201").await.unwrap();
    assert!(refused(app.authenticate(&ben_session).await), "a deleted user's session");
    assert!(refused(app.authenticate(&ben_token).await), "a deleted user's API token");
    assert!(app.authenticate(&hal_session).await.is_ok());

    app.delete_domain(&Caller::System, ACME).await.unwrap();
    assert!(refused(app.authenticate(&hal_session).await), "a deleted domain's user");
    assert!(app.authenticate(&otto_session).await.is_ok());
}

async fn malformed_and_unknown_secrets_are_refused(store: Arc<dyn Store>) {
    let app = app(store).await;
    let real = session(&app, "201@acme.example").await;
    let long = format!("sb_{}", "a".repeat(120));
    let flipped = format!("{}{}", &real[..real.len() - 1], if real.ends_with('A') { 'B' } else { 'A' });
    for secret in ["", "sb_", "nope", "sb_unknown", long.as_str(), real.trim_start_matches("sb_"), flipped.as_str()] {
        assert!(refused(app.authenticate(secret).await), "{secret:?}");
    }
    assert!(app.authenticate(&real).await.is_ok());
}

async fn failed_logins_are_still_throttled(store: Arc<dyn Store>) {
    let mut config = AppConfig::default();
    config.login.delay_step = Duration::from_millis(1);
    config.login.lock_after = 3;
    let app = app_with(store, config).await;
    for _ in 0..3 {
        let wrong = app.login("201@acme.example", "wrong password", None).await;
        assert!(matches!(wrong, Err(AppError::Unauthorized(_))), "{wrong:?}");
    }
    let locked = app.login("201@acme.example", PASSWORD, None).await;
    assert!(matches!(locked, Err(AppError::TooManyAttempts { .. })), "{locked:?}");
    // Another account is not locked, and its session works.
    assert!(app.authenticate(&session(&app, "202@acme.example").await).await.is_ok());
}

async fn the_system_caller_is_unchanged(store: Arc<dyn Store>) {
    let app = app(store).await;
    assert_eq!(Caller::System.actor_name(), "cli");
    let Caller::User { user, .. } = caller(&app, "201@acme.example").await else { panic!() };
    let token = app.create_api_token(&Caller::System, &user, "feed").await.unwrap();
    let Caller::User { user: owner, .. } = app.authenticate(&token.secret).await.unwrap() else { panic!() };
    assert_eq!(owner.id, user.id);
    assert_eq!(app.list_api_tokens(&Caller::System, &user).await.unwrap().len(), 1);
    app.revoke_api_token(&Caller::System, &user, token.token.id).await.unwrap();
    assert!(refused(app.authenticate(&token.secret).await));
    let answer = app.lookup(&Caller::System, ACME, "201", Some("202")).await.unwrap();
    assert_eq!((answer.name.as_deref(), answer.rule), (Some("Ben Tester"), MatchRule::Extension));
}

async fn a_look_up_in_the_callers_own_domain_answers_as_before(store: Arc<dyn Store>) {
    let app = app(store).await;
    let mine = ContactInput {
        first_name: "Mia".into(),
        last_name: "Mine".into(),
        work_phone: "+1 206 555 0101".into(),
        ..Default::default()
    };
    let personal = BookRef::Personal { domain: ACME.into(), extension: "201".into() };
    app.create_contact(&Caller::System, &personal, mine).await.unwrap();
    let (olivia, ben) = (caller(&app, "200@acme.example").await, caller(&app, "201@acme.example").await);
    let otto = caller(&app, "200@other.example").await;
    let sue = caller(&app, "900@other.example").await;
    let name = |answer: switchboard_app::LookupAnswer| answer.name;

    // Their own domain however it is written, for themselves with or without their extension.
    for domain in [ACME, "ACME.Example", " acme.example "] {
        for ext in [None, Some("201"), Some(" 201 ")] {
            let answer = app.lookup(&ben, domain, "+12065550101", ext).await.unwrap();
            assert_eq!(name(answer).as_deref(), Some("Mia Mine"), "{domain:?} {ext:?}");
        }
        let coworker = app.lookup(&ben, domain, "202", None).await.unwrap();
        assert_eq!((coworker.name.as_deref(), coworker.rule), (Some("Hal Tester"), MatchRule::Extension));
    }
    // For a coworker: a manager may (and does not read their own contacts' names); a basic user may not.
    let for_ben = app.lookup(&olivia, ACME, "+12065550101", Some("201")).await.unwrap();
    assert_eq!(for_ben.name, None);
    assert!(matches!(app.lookup(&ben, ACME, "+12065550101", Some("202")).await, Err(AppError::NotFound)));
    assert!(matches!(app.lookup(&olivia, ACME, "202", Some("299")).await, Err(AppError::NotFound)));
    assert!(matches!(app.lookup(&olivia, ACME, "202", Some("x")).await, Err(AppError::NotFound)));
    // The same extension in another domain is someone else; other domains stay closed.
    assert!(matches!(app.lookup(&otto, ACME, "202", Some("200")).await, Err(AppError::NotFound)));
    assert!(matches!(app.lookup(&otto, ACME, "202", None).await, Err(AppError::NotFound)));
    assert!(matches!(app.lookup(&ben, OTHER, "200", None).await, Err(AppError::NotFound)));
    assert!(matches!(app.lookup(&ben, "no such domain", "200", None).await, Err(AppError::NotFound)));
    // A super-user reaches another domain, and looks up for its users there.
    let answer = app.lookup(&sue, ACME, "+12065550101", Some("201")).await.unwrap();
    assert_eq!(answer.name.as_deref(), Some("Mia Mine"));
    let answer = app.lookup(&sue, OTHER, "200", Some("900")).await.unwrap();
    assert_eq!(answer.name.as_deref(), Some("Otto Tester"));
}
