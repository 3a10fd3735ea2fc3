//! Chat availability across servers: two servers (two `App`s, each with its own store)
//! share one PostgreSQL database. A person connected on both counts once; closing one
//! server's session leaves them connected; a server that stops without closing (it
//! crashed) stops renewing its sessions, which expire, and another server's sweep turns
//! the person off, once. The same holds for two processes on one SQLite file.

use std::sync::Arc;
use std::time::Duration;

use switchboard_app::{App, AppConfig, Caller, DomainInput, UserInput};
use switchboard_core::model::PresenceState;
use switchboard_store::{PostgresStore, SqliteStore, Store};

const DOMAIN: &str = "acme.example";

fn config() -> AppConfig {
    // Sessions live 1.5 s unless renewed (every 0.5 s by each server's sweep).
    AppConfig { presence_connection_ttl: Duration::from_millis(1500), ..Default::default() }
}

async fn seed(app: &App) -> (Caller, uuid::Uuid) {
    app.create_domain(&Caller::System, DomainInput { name: DOMAIN.into(), ..Default::default() }).await.unwrap();
    let input = UserInput {
        extension: "201".into(),
        scope: Some("basic-user".into()),
        password: Some("password-123".into()),
        ..Default::default()
    };
    let user = app.create_user(&Caller::System, DOMAIN, input).await.unwrap().user;
    let login = app.login(&format!("201@{DOMAIN}"), "password-123", None).await.unwrap();
    (app.authenticate(&login.token).await.unwrap(), user.id)
}

async fn chat(app: &App, user_id: uuid::Uuid) -> (PresenceState, bool) {
    let presence = app.store().presence(user_id).await.unwrap();
    (presence.state, presence.chat)
}

/// Waits for the drop of a session to reach the database (it is written by a task).
async fn until_chat(app: &App, user_id: uuid::Uuid, wanted: bool) -> bool {
    for _ in 0..100 {
        if chat(app, user_id).await.1 == wanted {
            return wanted;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    !wanted
}

async fn sessions_on_two_servers(first: App, second: App) {
    let (ben, ben_id) = seed(&first).await;
    let on_first = first.open_session(&ben).await.unwrap().expect("a user has a session");
    let on_second = second.open_session(&ben).await.unwrap().expect("a user has a session");
    assert_eq!(chat(&second, ben_id).await, (PresenceState::Available, true));

    drop(on_first);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(chat(&first, ben_id).await, (PresenceState::Available, true), "still open on the second");

    // The second server crashes: its session is never closed, nor renewed. The first
    // server's sweep (every second in `serve`) ends it once it expires.
    std::mem::forget(on_second);
    assert_eq!(first.expire_presence().await.unwrap(), 0, "not expired yet");
    tokio::time::sleep(Duration::from_millis(1600)).await;
    assert_eq!(first.expire_presence().await.unwrap(), 1);
    assert_eq!(chat(&first, ben_id).await, (PresenceState::Offline, false));
    assert_eq!(second.expire_presence().await.unwrap(), 0, "changed once, whichever server asks first");

    // A live server renews its sessions: they outlive their first lifetime.
    let kept = second.open_session(&ben).await.unwrap().unwrap();
    for _ in 0..6 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        second.expire_presence().await.unwrap();
        first.expire_presence().await.unwrap();
    }
    assert_eq!(chat(&first, ben_id).await, (PresenceState::Available, true), "renewed");
    drop(kept);
    assert!(!until_chat(&first, ben_id, false).await, "closed: off");
}

#[tokio::test]
async fn sessions_on_two_servers_sharing_postgres() {
    let url = switchboard_store::testing::fresh_postgres_database().await;
    let store = |url: String| async move { Arc::new(PostgresStore::connect(&url).await.unwrap()) as Arc<dyn Store> };
    let first = App::new(store(url.clone()).await, config());
    let second = App::new(store(url).await, config());
    sessions_on_two_servers(first, second).await;
}

/// Two processes on one SQLite file: what they keep in the database agrees the same way.
#[tokio::test]
async fn sessions_on_two_processes_sharing_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("presence.db").display());
    let first = App::new(Arc::new(SqliteStore::open(&url).await.unwrap()), config());
    let second = App::new(Arc::new(SqliteStore::open(&url).await.unwrap()), config());
    sessions_on_two_servers(first, second).await;
}
