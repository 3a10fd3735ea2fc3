//! The permission matrix: every scope × every action × own domain, another domain of
//! the same reseller and another reseller's domain, with default settings, with basic
//! users allowed to edit shared contacts, and with shared contacts hidden — on SQLite and
//! on PostgreSQL. The actions cover shared and personal contacts, exports, users and
//! deleted users, settings, the audit log, the trash, devices, caller-ID look-ups, API
//! tokens, phone sharing, finding and merging duplicates, chat, PBX credentials and line
//! states, each aimed at a basic user of the domain where they need one. A PBX credential
//! of the home domain is a caller of its own: it reports the home domain's lines and
//! finds nothing else anywhere.

use std::collections::BTreeMap;
use std::sync::Arc;

use switchboard_app::{
    App, AppConfig, AppError, AppPasswordInput, AuditParams, BookRef, Caller, ChatPageParams, ContactInput,
    DeviceInput, DomainInput, ExportFormat, ExportSource, LineInput, LinesInput, ListParams, MergeInput, PhoneSharing,
    UserInput, WebhookInput,
};
use switchboard_core::Scope;
use switchboard_core::chat::ChatInput;
use switchboard_store::{PostgresStore, SqliteStore, Store};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Allowed,
    Forbidden,
    NotFound,
}
use Outcome::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    ReadShared,
    CreateShared,
    EditShared,
    DeleteShared,
    ExportShared,
    ManageUsers,
    ChangeSettings,
    ReadAudit,
    ReadTrash,
    CreateDevice,
    ListDevices,
    /// The target user's own contacts.
    ReadPersonal,
    /// The groups of the target user's own contacts, with their members' names.
    ReadPersonalGroups,
    /// A caller-ID look-up as the target user.
    LookUpForUser,
    /// An API token for the target user.
    CreateTokenFor,
    /// The target user's consent to phones showing their own contacts.
    SharePersonalWithPhones,
    ListDeletedUsers,
    RestoreUser,
    /// The shared book's possible duplicates.
    ListSharedDuplicates,
    MergeShared,
    /// Two of the target user's own contacts.
    MergePersonal,
    /// The target user's conversations.
    ReadChatsOf,
    /// The changes of the target user's directory (the feed).
    ReadFeedOf,
    /// A message in the target user's name.
    WriteChatAs,
    /// A message of the caller's own to the target user.
    ChatWithTarget,
    /// A shared contact's photo.
    ReadSharedPhoto,
    SetSharedPhoto,
    RemoveSharedPhoto,
    /// The photo of one of the target user's own contacts.
    ReadPersonalPhoto,
    SetPersonalPhoto,
    /// The target user's line state, as a PBX reports it.
    ReportLines,
    CreatePbxCredential,
    ListPbxCredentials,
    CreateWebhook,
    ListWebhooks,
    /// An app password for the target user (which would read their own contacts).
    CreateAppPasswordFor,
    /// The target user's app passwords (listed and revoked alike).
    ListAppPasswordsOf,
}
const ACTIONS: [Action; 37] = [
    Action::ReadShared,
    Action::CreateShared,
    Action::EditShared,
    Action::DeleteShared,
    Action::ExportShared,
    Action::ManageUsers,
    Action::ChangeSettings,
    Action::ReadAudit,
    Action::ReadTrash,
    Action::CreateDevice,
    Action::ListDevices,
    Action::ReadPersonal,
    Action::ReadPersonalGroups,
    Action::LookUpForUser,
    Action::CreateTokenFor,
    Action::SharePersonalWithPhones,
    Action::ListDeletedUsers,
    Action::RestoreUser,
    Action::ListSharedDuplicates,
    Action::MergeShared,
    Action::MergePersonal,
    Action::ReadChatsOf,
    Action::ReadFeedOf,
    Action::WriteChatAs,
    Action::ChatWithTarget,
    Action::ReadSharedPhoto,
    Action::SetSharedPhoto,
    Action::RemoveSharedPhoto,
    Action::ReadPersonalPhoto,
    Action::SetPersonalPhoto,
    Action::ReportLines,
    Action::CreatePbxCredential,
    Action::ListPbxCredentials,
    Action::CreateWebhook,
    Action::ListWebhooks,
    Action::CreateAppPasswordFor,
    Action::ListAppPasswordsOf,
];

/// The smallest PNG: its signature and header chunk.
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

/// Where the acted-on domain stands to the caller's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Home,
    /// Another domain of the caller's reseller.
    Sibling,
    /// A domain of another reseller.
    Foreign,
}
const PLACES: [(Place, &str); 3] = [(Place::Home, HOME), (Place::Sibling, SIBLING), (Place::Foreign, FOREIGN)];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Variant {
    Defaults,
    BasicUsersEdit,
    SharedHidden,
}

const HOME: &str = "home.example";
const SIBLING: &str = "sibling.example";
const FOREIGN: &str = "foreign.example";
const SITE: &str = "Seattle";
/// A basic user at `SITE` in every domain, with a contact of their own: the target of the
/// actions on someone else's things.
const TARGET: &str = "9000";

fn outcome<T>(result: Result<T, AppError>) -> Outcome {
    match result {
        Ok(_) => Allowed,
        Err(AppError::Forbidden(_)) => Forbidden,
        Err(AppError::NotFound) => NotFound,
        Err(other) => panic!("unexpected error {other:?}"),
    }
}

/// What `docs/permissions.md` says each scope may do.
fn expected(scope: Scope, action: Action, place: Place, variant: Variant) -> Outcome {
    // A reseller reaches its reseller's domains, a super-user every domain; anyone else
    // only their own, and "not found" elsewhere.
    let provider = scope == Scope::SuperUser || (scope == Scope::Reseller && place != Place::Foreign);
    if place != Place::Home && !provider {
        return NotFound;
    }
    let shared_action = matches!(
        action,
        Action::ReadShared
            | Action::CreateShared
            | Action::EditShared
            | Action::DeleteShared
            | Action::ExportShared
            | Action::ListSharedDuplicates
            | Action::MergeShared
            | Action::ReadSharedPhoto
            | Action::SetSharedPhoto
            | Action::RemoveSharedPhoto
    );
    if variant == Variant::SharedHidden && shared_action && !provider {
        return NotFound;
    }
    let office = scope == Scope::OfficeManager;
    let manages_target = provider || office || scope == Scope::SiteManager;
    let allowed = match action {
        Action::ReadShared | Action::ExportShared | Action::ReadTrash | Action::ReadSharedPhoto => true,
        Action::CreateShared
        | Action::EditShared
        | Action::SetSharedPhoto
        | Action::RemoveSharedPhoto
        | Action::DeleteShared
        | Action::ListSharedDuplicates
        | Action::MergeShared => {
            provider
                || matches!(scope, Scope::OfficeManager | Scope::SiteManager | Scope::CallCenterSupervisor)
                || (variant == Variant::BasicUsersEdit && scope == Scope::BasicUser)
        }
        Action::ManageUsers | Action::RestoreUser => manages_target,
        Action::ChangeSettings
        | Action::ReadAudit
        | Action::CreateDevice
        | Action::ListDevices
        | Action::CreatePbxCredential
        | Action::ListPbxCredentials
        | Action::CreateWebhook
        | Action::ListWebhooks => provider || office,
        // Only a PBX credential reports lines.
        Action::ReportLines => false,
        // A person's own things are theirs alone: to everyone else they do not exist.
        Action::ReadPersonal
        | Action::ReadPersonalGroups
        | Action::CreateTokenFor
        | Action::SharePersonalWithPhones
        | Action::MergePersonal
        | Action::ReadChatsOf
        | Action::ReadFeedOf
        | Action::WriteChatAs
        | Action::ReadPersonalPhoto
        | Action::SetPersonalPhoto => {
            return NotFound;
        }
        // One writes as oneself, in one's own domain, where providers have no extension.
        Action::ChatWithTarget if place != Place::Home => return NotFound,
        Action::ChatWithTarget => true,
        // Those who manage the domain see a person's app passwords (and may revoke them),
        // but may never make one: it would open the person's own contacts to them.
        Action::CreateAppPasswordFor | Action::ListAppPasswordsOf if !(provider || office) => return NotFound,
        Action::CreateAppPasswordFor => false,
        Action::ListAppPasswordsOf => true,
        Action::LookUpForUser if !manages_target => return NotFound,
        Action::LookUpForUser => true,
        Action::ListDeletedUsers => manages_target || scope == Scope::CallCenterSupervisor,
    };
    if allowed { Allowed } else { Forbidden }
}

/// What a PBX credential of the home domain may do: report its lines, nothing else.
fn expected_of_pbx(action: Action, place: Place) -> Outcome {
    if action == Action::ReportLines && place == Place::Home { Allowed } else { NotFound }
}

struct World {
    app: App,
    callers: Vec<(Scope, Caller)>,
    pbx: Caller,
}

async fn world(store: Arc<dyn Store>, variant: Variant) -> World {
    let app = App::new(store, AppConfig::default());
    let system = Caller::System;
    for (name, reseller) in [(HOME, "Home Reseller"), (SIBLING, "Home Reseller"), (FOREIGN, "Foreign Reseller")] {
        let input = DomainInput { name: name.into(), reseller: Some(reseller.into()), ..Default::default() };
        app.create_domain(&system, input).await.unwrap();
        app.create_user(&system, name, basic_user(TARGET)).await.unwrap();
        let own = BookRef::Personal { domain: name.into(), extension: TARGET.into() };
        let mum =
            ContactInput { first_name: "Mum".into(), mobile_phone: "+1 206 555 0111".into(), ..Default::default() };
        app.create_contact(&system, &own, mum).await.unwrap();
    }
    let mut callers = Vec::new();
    for (i, scope) in Scope::ALL.into_iter().enumerate() {
        let user = UserInput {
            extension: format!("{}", 100 + i),
            first_name: scope.as_str().into(),
            last_name: "Tester".into(),
            site: SITE.into(),
            scope: Some(scope.as_str().into()),
            password: Some("password-123".into()),
            ..Default::default()
        };
        app.create_user(&system, HOME, user).await.unwrap();
        let login = app.login(&format!("{}@{HOME}", 100 + i), "password-123", None).await.unwrap();
        callers.push((scope, app.authenticate(&login.token).await.unwrap()));
    }
    let settings = match variant {
        Variant::Defaults => BTreeMap::new(),
        Variant::BasicUsersEdit => BTreeMap::from([(
            "SHARED_CONTACTS_EDITOR_SCOPES".into(),
            Some("office-manager,site-manager,call-center-supervisor,basic-user".into()),
        )]),
        Variant::SharedHidden => BTreeMap::from([("PORTAL_SHOW_SHARED_CONTACTS".into(), Some("no".into()))]),
    };
    app.put_settings(&system, &switchboard_app::SettingsLayer::Domain(HOME.into()), settings).await.unwrap();
    let secret = app.create_pbx_credential(&system, HOME, "PBX").await.unwrap().secret;
    let pbx = app.authenticate(&secret).await.unwrap();
    World { app, callers, pbx }
}

fn basic_user(extension: &str) -> UserInput {
    UserInput {
        extension: extension.into(),
        site: SITE.into(),
        scope: Some("basic-user".into()),
        password: Some("password-123".into()),
        ..Default::default()
    }
}

async fn attempt(world: &World, caller: &Caller, action: Action, domain: &str, serial: usize) -> Outcome {
    let app = &world.app;
    let book = BookRef::Shared { domain: domain.into() };
    // A contact made by the operator for the actions that need one.
    let target = || async {
        let contact = ContactInput { company: format!("Target {serial}"), ..Default::default() };
        app.create_contact(&Caller::System, &book, contact).await.unwrap().id
    };
    match action {
        Action::ReadShared => outcome(app.list_contacts(caller, &book, &ListParams::default()).await),
        Action::CreateShared => {
            let contact = ContactInput { company: format!("New {serial}"), ..Default::default() };
            outcome(app.create_contact(caller, &book, contact).await)
        }
        Action::EditShared => {
            let id = target().await;
            let patch = switchboard_app::ContactPatch { title: Some("Edited".into()), ..Default::default() };
            outcome(app.update_contact(caller, &book, id, None, patch).await)
        }
        Action::DeleteShared => {
            let id = target().await;
            outcome(app.delete_contact(caller, &book, id).await)
        }
        Action::ExportShared => {
            let source = ExportSource::Shared { domain: domain.into() };
            outcome(app.export(caller, &source, ExportFormat::OutlookCsv).await)
        }
        Action::ManageUsers => {
            outcome(app.create_user(caller, domain, basic_user(&format!("{}", 5000 + serial))).await)
        }
        Action::ChangeSettings => {
            let changes = BTreeMap::from([("DEFAULT_COUNTRY".to_string(), Some("US".to_string()))]);
            outcome(app.put_settings(caller, &switchboard_app::SettingsLayer::Domain(domain.into()), changes).await)
        }
        Action::ReadAudit => outcome(app.search_audit_log(caller, domain, &AuditParams::default()).await),
        Action::ReadTrash => outcome(app.trash(caller, domain, &ListParams::default()).await),
        Action::CreateDevice => {
            let device =
                DeviceInput { name: format!("Phone {serial}"), user: Some(TARGET.into()), ..Default::default() };
            outcome(app.create_device(caller, domain, device).await)
        }
        Action::ListDevices => outcome(app.list_devices(caller, domain, None, None).await),
        Action::ReadPersonal => {
            let theirs = BookRef::Personal { domain: domain.into(), extension: TARGET.into() };
            outcome(app.list_contacts(caller, &theirs, &ListParams::default()).await)
        }
        Action::ReadPersonalGroups => {
            let theirs = BookRef::Personal { domain: domain.into(), extension: TARGET.into() };
            outcome(app.contact_groups(caller, &theirs).await)
        }
        Action::LookUpForUser => outcome(app.lookup(caller, domain, "+12065550111", Some(TARGET)).await),
        Action::CreateTokenFor => {
            let target = app.get_user(&Caller::System, domain, TARGET).await.unwrap();
            outcome(app.create_api_token(caller, &target, "script").await)
        }
        Action::SharePersonalWithPhones => {
            let on = PhoneSharing { own_contacts: true };
            outcome(app.set_phone_sharing(caller, domain, TARGET, on).await)
        }
        Action::ListDeletedUsers => outcome(app.deleted_users(caller, domain, None, None).await),
        Action::RestoreUser => {
            let extension = format!("{}", 7000 + serial);
            let gone = app.create_user(&Caller::System, domain, basic_user(&extension)).await.unwrap().user;
            app.delete_user(&Caller::System, domain, &extension).await.unwrap();
            outcome(app.restore_user(caller, domain, gone.id).await)
        }
        Action::ListSharedDuplicates => {
            outcome(app.duplicates(caller, &book, &switchboard_app::DuplicateParams::default()).await)
        }
        Action::MergeShared => {
            let ids = twins(app, &book, serial).await;
            outcome(app.merge_contacts(caller, &book, MergeInput { ids, ..Default::default() }).await)
        }
        Action::MergePersonal => {
            let theirs = BookRef::Personal { domain: domain.into(), extension: TARGET.into() };
            let ids = twins(app, &theirs, serial).await;
            outcome(app.merge_contacts(caller, &theirs, MergeInput { ids, ..Default::default() }).await)
        }
        Action::ReadChatsOf => outcome(app.conversations(caller, domain, TARGET, &ChatPageParams::default()).await),
        Action::ReadFeedOf => outcome(app.directory_changes(caller, domain, TARGET, None, None).await),
        Action::WriteChatAs => outcome(app.send_chat(caller, domain, TARGET, &own_extension(caller), hello()).await),
        Action::ChatWithTarget => outcome(app.send_chat(caller, domain, &own_extension(caller), TARGET, hello()).await),
        Action::ReadSharedPhoto | Action::SetSharedPhoto | Action::RemoveSharedPhoto => {
            let id = target().await;
            photo_attempt(app, caller, action, &book, id).await
        }
        Action::ReadPersonalPhoto | Action::SetPersonalPhoto => {
            let theirs = BookRef::Personal { domain: domain.into(), extension: TARGET.into() };
            let contact = ContactInput { first_name: format!("Pictured {serial}"), ..Default::default() };
            let id = app.create_contact(&Caller::System, &theirs, contact).await.unwrap().id;
            photo_attempt(app, caller, action, &theirs, id).await
        }
        Action::ReportLines => {
            let lines = vec![LineInput { ext: TARGET.into(), state: "on_call".into() }];
            outcome(app.report_lines(caller, domain, LinesInput { lines }).await)
        }
        Action::CreatePbxCredential => outcome(app.create_pbx_credential(caller, domain, "PBX").await),
        Action::ListPbxCredentials => outcome(app.list_pbx_credentials(caller, domain).await),
        Action::CreateWebhook => {
            // A public address written out: nothing is resolved or reached on registration.
            let input = WebhookInput { url: "https://93.184.216.34/hook".into(), contacts: true, presence: false };
            outcome(app.create_webhook(caller, domain, input).await)
        }
        Action::ListWebhooks => outcome(app.list_webhooks(caller, domain).await),
        Action::CreateAppPasswordFor => {
            let input = AppPasswordInput { name: "Their phone".into() };
            outcome(app.create_app_password(caller, domain, TARGET, input).await)
        }
        Action::ListAppPasswordsOf => outcome(app.list_app_passwords(caller, domain, TARGET).await),
    }
}

/// Reads, sets or removes the photo of a contact the operator gave one.
async fn photo_attempt(app: &App, caller: &Caller, action: Action, book: &BookRef, id: uuid::Uuid) -> Outcome {
    app.set_contact_photo(&Caller::System, book, id, PNG.to_vec(), None).await.unwrap();
    match action {
        Action::ReadSharedPhoto | Action::ReadPersonalPhoto => outcome(app.contact_photo(caller, book, id).await),
        Action::RemoveSharedPhoto => outcome(app.delete_contact_photo(caller, book, id).await),
        _ => outcome(app.set_contact_photo(caller, book, id, PNG.to_vec(), Some("image/png")).await),
    }
}

fn own_extension(caller: &Caller) -> String {
    match caller {
        Caller::User { user, .. } => user.extension.to_string(),
        // Any extension: a PBX finds no one to write as.
        Caller::Pbx { .. } => "100".into(),
        Caller::System => unreachable!("the matrix's callers are users"),
    }
}

fn hello() -> ChatInput {
    ChatInput { text: "Hello".into() }
}

/// Two contacts made by the operator to be merged.
async fn twins(app: &App, book: &BookRef, serial: usize) -> Vec<uuid::Uuid> {
    let mut ids = Vec::new();
    for name in ["Twin", "Twain"] {
        let contact = ContactInput { first_name: format!("{name} {serial}"), ..Default::default() };
        ids.push(app.create_contact(&Caller::System, book, contact).await.unwrap().id);
    }
    ids
}

async fn run_matrix(open: impl AsyncFn() -> Arc<dyn Store>) {
    let mut mismatches = Vec::new();
    let mut checked = 0;
    for variant in [Variant::Defaults, Variant::BasicUsersEdit, Variant::SharedHidden] {
        let world = world(open().await, variant).await;
        for (scope, caller) in &world.callers {
            for action in ACTIONS {
                for (place, domain) in PLACES {
                    checked += 1;
                    let got = attempt(&world, caller, action, domain, checked).await;
                    let want = expected(*scope, action, place, variant);
                    if got != want {
                        mismatches
                            .push(format!("{variant:?} {scope} {action:?} on {domain}: got {got:?}, want {want:?}"));
                    }
                }
            }
        }
        for action in ACTIONS {
            for (place, domain) in PLACES {
                checked += 1;
                let got = attempt(&world, &world.pbx, action, domain, checked).await;
                let want = expected_of_pbx(action, place);
                if got != want {
                    mismatches.push(format!("{variant:?} PBX {action:?} on {domain}: got {got:?}, want {want:?}"));
                }
            }
        }
    }
    assert_eq!(checked, 3 * (8 + 1) * ACTIONS.len() * 3);
    assert!(mismatches.is_empty(), "permission mismatches:\n{}", mismatches.join("\n"));
}

#[tokio::test]
async fn permission_matrix_on_sqlite() {
    run_matrix(async || {
        let dir = tempfile::tempdir().unwrap().keep();
        let url = format!("sqlite://{}", dir.join("matrix.db").display());
        Arc::new(SqliteStore::open(&url).await.unwrap()) as Arc<dyn Store>
    })
    .await;
}

#[tokio::test]
async fn permission_matrix_on_postgres() {
    run_matrix(async || {
        let url = switchboard_store::testing::fresh_postgres_database().await;
        Arc::new(PostgresStore::connect(&url).await.unwrap()) as Arc<dyn Store>
    })
    .await;
}
