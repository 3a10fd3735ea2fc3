//! Conformance of app passwords: a user's own, found by their hash, limited in number,
//! audited, and gone with their user.

use super::*;
use crate::NewAppPassword;

fn new_app_password(user: &User, name: &str, secret_hash: &str) -> NewAppPassword {
    NewAppPassword { user_id: user.id, domain_id: user.domain_id, name: name.into(), secret_hash: secret_hash.into() }
}

pub async fn app_passwords(store: &dyn Store) {
    let acme = domain(store, "acme.example").await;
    let ann = user(store, &acme, "200", "Ann", "Lee").await;
    let bob = user(store, &acme, "201", "Bob", "Ray").await;
    let create =
        |new: NewAppPassword, max: i64| store.create_app_password(new, max, audit_in(acme.id, "app_password.create"));

    let phone = create(new_app_password(&ann, "iPhone", "h-phone"), 3).await.unwrap().expect("under the limit");
    assert_eq!((phone.name.as_str(), phone.user_id, phone.domain_id), ("iPhone", ann.id, acme.id));
    assert_eq!(phone.last_used_at, None);
    let laptop = create(new_app_password(&ann, "Laptop", "h-laptop"), 3).await.unwrap().unwrap();
    create(new_app_password(&bob, "Bob's phone", "h-bob"), 3).await.unwrap().unwrap();
    assert_eq!(store.app_passwords(ann.id).await.unwrap(), [phone.clone(), laptop.clone()], "oldest first");

    // Found by the user and the hash together: another user's secret finds nothing.
    assert_eq!(store.app_password_by_secret_hash(ann.id, "h-phone").await.unwrap(), Some(phone.clone()));
    assert_eq!(store.app_password_by_secret_hash(ann.id, "h-bob").await.unwrap(), None);
    assert_eq!(store.app_password_by_secret_hash(bob.id, "h-phone").await.unwrap(), None);

    // The limit counts the user's own only.
    create(new_app_password(&ann, "Tablet", "h-tablet"), 3).await.unwrap().unwrap();
    assert_eq!(create(new_app_password(&ann, "Fourth", "h-4"), 3).await.unwrap(), None);
    assert_eq!(store.app_passwords(ann.id).await.unwrap().len(), 3, "nothing written past the limit");
    assert!(is_not_found(create(new_app_password(&User { id: Uuid::now_v7(), ..ann.clone() }, "x", "h"), 3).await));

    // A use is recorded, and not again within the window given.
    let used = micros_now();
    store.touch_app_password(phone.id, used, used - TimeDelta::minutes(1)).await.unwrap();
    let later = used + TimeDelta::seconds(30);
    store.touch_app_password(phone.id, later, later - TimeDelta::minutes(1)).await.unwrap();
    let found = store.app_password_by_secret_hash(ann.id, "h-phone").await.unwrap().unwrap();
    assert_eq!(found.last_used_at, Some(used));

    // Deleting: only the user's own, once; audited without any secret.
    let revoke = |user: Uuid, id: Uuid| store.delete_app_password(user, id, audit_in(acme.id, "app_password.revoke"));
    assert!(!revoke(bob.id, phone.id).await.unwrap(), "another user's is not theirs to delete");
    assert!(revoke(ann.id, phone.id).await.unwrap());
    assert!(!revoke(ann.id, phone.id).await.unwrap());
    assert_eq!(store.app_password_by_secret_hash(ann.id, "h-phone").await.unwrap(), None);
    let actions = audit_actions(store, acme.id).await;
    assert_eq!(actions.iter().filter(|a| a.starts_with("app_password.")).count(), 5);

    // They go with their user.
    store.delete_user(ann.id, audit_in(acme.id, "user.delete")).await.unwrap();
    assert_eq!(store.app_passwords(ann.id).await.unwrap(), []);
    assert_eq!(store.app_password_by_secret_hash(ann.id, "h-laptop").await.unwrap(), None);
    assert_eq!(store.app_passwords(bob.id).await.unwrap().len(), 1);
}
