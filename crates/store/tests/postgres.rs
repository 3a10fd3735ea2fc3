//! The conformance suite on PostgreSQL, each test in a new database on the server
//! named by `SWITCHBOARD_TEST_POSTGRES` (`scripts/with-postgres` starts one).

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, Executor, PgConnection};
use switchboard_core::event::{Event, EventKind};
use switchboard_store::{EventBus, PostgresStore, SqliteStore, Store, conformance};

async fn fresh_database() -> PostgresStore {
    let server = std::env::var("SWITCHBOARD_TEST_POSTGRES").unwrap_or_else(|_| {
        panic!(
            "SWITCHBOARD_TEST_POSTGRES is not set: run the PostgreSQL tests through \
             `scripts/with-postgres cargo test -p switchboard-store`"
        )
    });
    let name = format!("switchboard_test_{}", uuid::Uuid::now_v7().simple());
    let mut admin = PgConnection::connect(&server).await.unwrap();
    admin.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).await.unwrap();
    admin.close().await.unwrap();
    let options: PgConnectOptions = server.parse().unwrap();
    PostgresStore::connect(options.database(&name).to_url_lossy().as_str()).await.unwrap()
}

async fn run(test: impl AsyncFnOnce(&dyn Store)) {
    test(&fresh_database().await).await;
}

switchboard_store::conformance_tests!(run);

#[tokio::test]
async fn two_stores_on_one_database_share_events() {
    let url = switchboard_store::testing::fresh_postgres_database().await;
    let (a, b) = (PostgresStore::connect(&url).await.unwrap(), PostgresStore::connect(&url).await.unwrap());
    conformance::events_between(&a, &b).await;
}

#[tokio::test]
async fn two_stores_on_one_database_share_change_stamps() {
    let url = switchboard_store::testing::fresh_postgres_database().await;
    let (a, b) = (PostgresStore::connect(&url).await.unwrap(), PostgresStore::connect(&url).await.unwrap());
    conformance::change_stamps_between(&a, &b).await;
}

/// A server told of another's change by its event reads the change at once (a page
/// reloaded on a live update), not after the kept stamp has aged.
#[tokio::test]
async fn an_event_from_another_server_shows_its_change_at_once() {
    let url = switchboard_store::testing::fresh_postgres_database().await;
    let (a, b) = (PostgresStore::connect(&url).await.unwrap(), PostgresStore::connect(&url).await.unwrap());
    conformance::changes_told_by_events(&a, &b).await;
}

#[tokio::test]
async fn events_flow_again_after_the_listening_connection_is_lost() {
    let url = switchboard_store::testing::fresh_postgres_database().await;
    let store = PostgresStore::connect(&url).await.unwrap();
    let mut before = store.subscribe();
    let mut admin = PgConnection::connect(&url).await.unwrap();
    // Find it first: a filter next to pg_terminate_backend could be applied after it.
    let listening: Vec<i32> = sqlx::query_scalar(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'",
    )
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert_eq!(listening.len(), 1, "one connection listens");
    sqlx::query("SELECT pg_terminate_backend($1)").bind(listening[0]).execute(&mut admin).await.unwrap();
    // Subscribers learn that they may have missed events (the app turns this into a resync)…
    let told = tokio::time::timeout(std::time::Duration::from_secs(10), before.recv()).await.expect("told in time");
    assert_eq!(told, Err(tokio::sync::broadcast::error::RecvError::Closed));
    // …and once they are, the store listens again.
    let mut after = store.subscribe();
    let event = Event { domain_id: uuid::Uuid::now_v7(), kind: EventKind::SettingsChanged };
    store.publish(&event).await.unwrap();
    assert_eq!(conformance::next_event(&mut after).await, event);
}

#[tokio::test]
async fn copy_from_sqlite_to_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(dir.path().join("source.db").to_str().unwrap()).await.unwrap();
    conformance::copy(&sqlite, &fresh_database().await).await;
}

#[tokio::test]
async fn copy_from_postgres_to_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(dir.path().join("target.db").to_str().unwrap()).await.unwrap();
    conformance::copy(&fresh_database().await, &sqlite).await;
}
