//! Conformance of the login bookkeeping: failures counted in one statement, and the
//! periodic purge of expired sessions and old counters.

use futures::future::join_all;

use super::*;
use crate::PasswordChange;

/// Parallel failures each get their own count (none is lost, none repeated); a quiet
/// window starts the count again; a right password takes one back.
pub async fn counted_login_failures(store: &dyn Store) {
    let key = "password:account:200@acme.example";
    let start = micros_now();
    let counts = join_all((0..40).map(|_| store.count_login_failure(key, start, start - TimeDelta::minutes(15)))).await;
    let mut counts: Vec<i64> = counts.into_iter().map(|c| c.unwrap().count).collect();
    counts.sort_unstable();
    assert_eq!(counts, (1..=40).collect::<Vec<i64>>(), "every parallel failure is counted once");
    assert_eq!(store.login_failures(key).await.unwrap(), LoginFailures { count: 40, last_failure: Some(start) });

    // Within the window the count goes on; after a quiet window it starts again.
    let later = start + TimeDelta::minutes(10);
    let next = store.count_login_failure(key, later, later - TimeDelta::minutes(15)).await.unwrap();
    assert_eq!(next, LoginFailures { count: 41, last_failure: Some(later) });
    let much_later = later + TimeDelta::minutes(16);
    let again = store.count_login_failure(key, much_later, much_later - TimeDelta::minutes(15)).await.unwrap();
    assert_eq!(again, LoginFailures { count: 1, last_failure: Some(much_later) });

    // Forgiving takes one back, never below zero, and leaves other keys alone.
    let other = "password:address:192.0.2.1";
    store.count_login_failure(other, start, start).await.unwrap();
    store.forgive_login_failure(key).await.unwrap();
    assert_eq!(store.login_failures(key).await.unwrap().count, 0);
    store.forgive_login_failure(key).await.unwrap();
    store.forgive_login_failure("never counted").await.unwrap();
    assert_eq!(store.login_failures(key).await.unwrap().count, 0);
    assert_eq!(store.login_failures(other).await.unwrap().count, 1);
}

/// Expired sessions and tokens go, live ones and API tokens without expiry stay; old
/// failure counters go, recent ones stay.
pub async fn purges_of_expired_logins(store: &dyn Store) {
    let acme = domain(store, "acme.example").await;
    let ann = user(store, &acme, "200", "Ann", "Lee").await;
    let now = micros_now();
    let token = |hash: &str, kind, expires_at| NewToken {
        user_id: ann.id,
        kind,
        name: hash.into(),
        secret_hash: hash.into(),
        expires_at,
    };
    for (hash, kind, expires_at) in [
        ("expired", TokenKind::Session, Some(now - TimeDelta::hours(1))),
        ("at-now", TokenKind::Session, Some(now)),
        ("live", TokenKind::Session, Some(now + TimeDelta::hours(1))),
        ("api", TokenKind::Api, None),
    ] {
        store.create_token(token(hash, kind, expires_at)).await.unwrap();
    }
    assert_eq!(store.purge_expired_tokens(now).await.unwrap(), 2);
    let left: Vec<String> =
        store.list_tokens(ann.id, TokenKind::Session).await.unwrap().into_iter().map(|t| t.name).collect();
    assert_eq!(left, ["live"]);
    assert_eq!(store.list_tokens(ann.id, TokenKind::Api).await.unwrap().len(), 1);
    assert_eq!(store.purge_expired_tokens(now).await.unwrap(), 0);

    store.count_login_failure("old", now - TimeDelta::hours(2), now).await.unwrap();
    store.count_login_failure("recent", now - TimeDelta::minutes(1), now).await.unwrap();
    assert_eq!(store.purge_login_failures(now - TimeDelta::hours(1)).await.unwrap(), 1);
    assert_eq!(store.login_failures("old").await.unwrap(), LoginFailures::default());
    assert_eq!(store.login_failures("recent").await.unwrap().count, 1);
}

/// A new password is written with the user's version check, in one transaction with
/// the end of the user's sessions (but the one kept) and its audit entry: a stale
/// change writes nothing at all. Signing out everywhere deletes sessions and API tokens.
pub async fn password_changes(store: &dyn Store) {
    let acme = domain(store, "acme.example").await;
    let (ann, bob) = (user(store, &acme, "200", "Ann", "Lee").await, user(store, &acme, "201", "Bob", "Ray").await);
    let now = micros_now();
    let token = |user: &User, hash: &str, kind| NewToken {
        user_id: user.id,
        kind,
        name: hash.into(),
        secret_hash: hash.into(),
        expires_at: None,
    };
    let here = store.create_token(token(&ann, "here", TokenKind::Session)).await.unwrap();
    store.create_token(token(&ann, "elsewhere", TokenKind::Session)).await.unwrap();
    store.create_token(token(&ann, "feed", TokenKind::Api)).await.unwrap();
    store.create_token(token(&bob, "bobs", TokenKind::Session)).await.unwrap();
    let live = async |hash: &str| store.token_by_secret_hash(hash, now).await.unwrap().is_some();
    let change = |hash: &str, keep_session| UserPatch {
        password: Some(PasswordChange { hash: hash.into(), keep_session, audit: audit_in(acme.id, "user.password") }),
        ..Default::default()
    };
    let before = store.password_hash(ann.id).await.unwrap();
    let audits = audit_actions(store, acme.id).await.len();

    let stale = store
        .update_user(ann.id, Some(ann.version + 7), change("new-hash", None), audit_in(acme.id, "user.update"))
        .await;
    assert!(matches!(stale, Err(StoreError::Stale { .. })), "{stale:?}");
    assert_eq!(store.password_hash(ann.id).await.unwrap(), before, "a stale change writes no password");
    assert!(live("here").await && live("elsewhere").await, "nor ends a session");
    assert_eq!(audit_actions(store, acme.id).await.len(), audits, "nor audits anything");

    let changed = store
        .update_user(ann.id, Some(ann.version), change("new-hash", Some(here.id)), audit_in(acme.id, "user.update"))
        .await
        .unwrap();
    assert_eq!(changed.version, ann.version + 1);
    assert_eq!(store.password_hash(ann.id).await.unwrap().as_deref(), Some("new-hash"));
    assert!(live("here").await, "the session that changed it lives on");
    assert!(!live("elsewhere").await, "the others end");
    assert!(live("feed").await && live("bobs").await, "API tokens and other users' sessions stay");
    let actions = audit_actions(store, acme.id).await;
    assert_eq!(actions.len(), audits + 2, "{actions:?}");
    assert!(actions.iter().any(|a| a == "user.password"), "{actions:?}");

    store.update_user(ann.id, None, change("newer-hash", None), audit_in(acme.id, "user.update")).await.unwrap();
    assert!(!live("here").await, "a reset ends every session");
    assert!(live("feed").await);

    store.create_token(token(&ann, "again", TokenKind::Session)).await.unwrap();
    assert_eq!(store.delete_user_tokens(ann.id).await.unwrap(), 2, "the session and the API token");
    assert!(!live("again").await && !live("feed").await);
    assert!(live("bobs").await, "only that user's");
    assert_eq!(store.delete_user_tokens(ann.id).await.unwrap(), 0);
}
