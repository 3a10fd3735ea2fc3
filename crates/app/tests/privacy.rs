//! A person's own contacts are theirs alone: the audit log, which managers and providers
//! read, says that a user changed their own contacts and how many, never what they hold —
//! on SQLite and PostgreSQL.

#[macro_use]
mod support;

use std::io::Cursor;
use std::sync::Arc;

use switchboard_app::{
    App, AppConfig, AuditParams, BookRef, Caller, ContactInput, ContactPatch, DomainInput, ImportOptions, UserInput,
};
use switchboard_store::Store;

const ACME: &str = "acme.example";
/// Words that appear only inside the personal contacts of this test.
const SECRETS: [&str; 6] = ["Mumsy", "Secretson", "5550111", "Hush Ltd", "hidden note", "Imported"];

on_both_backends!(the_audit_log_keeps_nothing_of_personal_contacts);

async fn login(app: &App, ext: &str, scope: &str) -> Caller {
    let input = UserInput {
        extension: ext.into(),
        first_name: "Pat".into(),
        scope: Some(scope.into()),
        password: Some("password-123".into()),
        ..Default::default()
    };
    app.create_user(&Caller::System, ACME, input).await.unwrap();
    let login = app.login(&format!("{ext}@{ACME}"), "password-123", None).await.unwrap();
    app.authenticate(&login.token).await.unwrap()
}

async fn the_audit_log_keeps_nothing_of_personal_contacts(store: Arc<dyn Store>) {
    let app = App::new(store, AppConfig::default());
    app.create_domain(&Caller::System, DomainInput { name: ACME.into(), ..Default::default() }).await.unwrap();
    let manager = login(&app, "100", "office-manager").await;
    let basic = login(&app, "201", "basic-user").await;
    let mine = BookRef::Personal { domain: ACME.into(), extension: "201".into() };
    let secret = ContactInput {
        first_name: "Mumsy".into(),
        last_name: "Secretson".into(),
        company: "Hush Ltd".into(),
        mobile_phone: "+1 206 555 0111".into(),
        notes: "hidden note".into(),
        ..Default::default()
    };
    let contact = app.create_contact(&basic, &mine, secret).await.unwrap();
    let patch = ContactPatch { notes: Some("hidden note, again".into()), ..Default::default() };
    app.update_contact(&basic, &mine, contact.id, None, patch).await.unwrap();
    app.delete_contact(&basic, &mine, contact.id).await.unwrap();
    app.restore_contact(&basic, &mine, contact.id).await.unwrap();
    // The operator's CLI changing someone's book is held to the same rule.
    let patch = ContactPatch { last_name: Some("Secretson Jr".into()), ..Default::default() };
    app.update_contact(&Caller::System, &mine, contact.id, None, patch).await.unwrap();
    let file = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Imported Secretson\r\nN:Secretson;Imported;;;\r\n\
                TEL:+1 206 555 0111\r\nEND:VCARD\r\n";
    let report = app.import(&basic, &mine, Box::new(Cursor::new(file)), ImportOptions::default()).await.unwrap();
    assert_eq!(report.created, 1);
    let shared = BookRef::Shared { domain: ACME.into() };
    let vendor = ContactInput { company: "Open Vendor".into(), ..Default::default() };
    app.create_contact(&manager, &shared, vendor).await.unwrap();

    let log = app.search_audit_log(&manager, ACME, &AuditParams::default()).await.unwrap().items;
    let text = serde_json::to_string(&log).unwrap();
    for secret in SECRETS {
        assert!(!text.contains(secret), "the audit log shows `{secret}`: {text}");
    }
    assert!(text.contains("Open Vendor"), "shared contacts are audited in full");
    let personal: Vec<_> = log.iter().filter(|entry| entry.details["book"] == "personal").collect();
    let actions: Vec<&str> = personal.iter().map(|entry| entry.action.as_str()).collect();
    for action in ["contact.create", "contact.update", "contact.delete", "contact.restore", "contacts.import"] {
        assert!(actions.contains(&action), "{action} is still recorded: {actions:?}");
    }
    let import = personal.iter().find(|entry| entry.action == "contacts.import").unwrap();
    assert_eq!(import.details["created"], 1, "how many, not what");
    assert!(personal.iter().all(|entry| entry.details["owner_id"] == serde_json::json!(contact_owner(&basic))));
}

fn contact_owner(caller: &Caller) -> uuid::Uuid {
    match caller {
        Caller::User { user, .. } => user.id,
        Caller::System | Caller::Pbx { .. } => unreachable!("a user logged in"),
    }
}
