//! The permission matrix: every scope × every action × own and foreign domain,
//! with default settings, with basic users allowed to edit shared contacts, and
//! with shared contacts hidden — on SQLite and on PostgreSQL.

use std::collections::BTreeMap;
use std::sync::Arc;

use switchboard_app::{App, AppConfig, AppError, BookRef, Caller, ContactInput, DomainInput, ListParams, UserInput};
use switchboard_core::Scope;
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
    ManageUsers,
    ChangeSettings,
}
const ACTIONS: [Action; 6] = [
    Action::ReadShared,
    Action::CreateShared,
    Action::EditShared,
    Action::DeleteShared,
    Action::ManageUsers,
    Action::ChangeSettings,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Variant {
    Defaults,
    BasicUsersEdit,
    SharedHidden,
}

const HOME: &str = "home.example";
const FOREIGN: &str = "foreign.example";
const SITE: &str = "Seattle";

fn outcome<T>(result: Result<T, AppError>) -> Outcome {
    match result {
        Ok(_) => Allowed,
        Err(AppError::Forbidden(_)) => Forbidden,
        Err(AppError::NotFound) => NotFound,
        Err(other) => panic!("unexpected error {other:?}"),
    }
}

/// What `docs/permissions.md` says each scope may do.
fn expected(scope: Scope, action: Action, foreign: bool, variant: Variant) -> Outcome {
    let provider = matches!(scope, Scope::SuperUser | Scope::Reseller);
    // The foreign domain belongs to another reseller: only super-users reach it.
    if foreign {
        return if scope == Scope::SuperUser { Allowed } else { NotFound };
    }
    let shared_action =
        matches!(action, Action::ReadShared | Action::CreateShared | Action::EditShared | Action::DeleteShared);
    if variant == Variant::SharedHidden && shared_action && !provider {
        return NotFound;
    }
    let allowed = match action {
        Action::ReadShared => true,
        Action::CreateShared | Action::EditShared | Action::DeleteShared => {
            provider
                || matches!(scope, Scope::OfficeManager | Scope::SiteManager | Scope::CallCenterSupervisor)
                || (variant == Variant::BasicUsersEdit && scope == Scope::BasicUser)
        }
        Action::ManageUsers => provider || matches!(scope, Scope::OfficeManager | Scope::SiteManager),
        Action::ChangeSettings => provider || scope == Scope::OfficeManager,
    };
    if allowed { Allowed } else { Forbidden }
}

struct World {
    app: App,
    callers: Vec<(Scope, Caller)>,
}

async fn world(store: Arc<dyn Store>, variant: Variant) -> World {
    let app = App::new(store, AppConfig::default());
    let system = Caller::System;
    for (name, reseller) in [(HOME, "Home Reseller"), (FOREIGN, "Foreign Reseller")] {
        let input = DomainInput { name: name.into(), reseller: Some(reseller.into()), ..Default::default() };
        app.create_domain(&system, input).await.unwrap();
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
    World { app, callers }
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
        Action::ManageUsers => {
            let user = UserInput {
                extension: format!("{}", 5000 + serial),
                site: SITE.into(),
                scope: Some("basic-user".into()),
                password: Some("password-123".into()),
                ..Default::default()
            };
            outcome(app.create_user(caller, domain, user).await)
        }
        Action::ChangeSettings => {
            let changes = BTreeMap::from([("DEFAULT_COUNTRY".to_string(), Some("US".to_string()))]);
            outcome(app.put_settings(caller, &switchboard_app::SettingsLayer::Domain(domain.into()), changes).await)
        }
    }
}

async fn run_matrix(open: impl AsyncFn() -> Arc<dyn Store>) {
    let mut mismatches = Vec::new();
    let mut checked = 0;
    for variant in [Variant::Defaults, Variant::BasicUsersEdit, Variant::SharedHidden] {
        let world = world(open().await, variant).await;
        for (scope, caller) in &world.callers {
            for action in ACTIONS {
                for (foreign, domain) in [(false, HOME), (true, FOREIGN)] {
                    checked += 1;
                    let got = attempt(&world, caller, action, domain, checked).await;
                    let want = expected(*scope, action, foreign, variant);
                    if got != want {
                        mismatches
                            .push(format!("{variant:?} {scope} {action:?} on {domain}: got {got:?}, want {want:?}"));
                    }
                }
            }
        }
    }
    assert_eq!(checked, 3 * 8 * 6 * 2);
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
