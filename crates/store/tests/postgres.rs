//! The conformance suite on PostgreSQL, each test in a new database on the server
//! named by `SWITCHBOARD_TEST_POSTGRES` (`scripts/with-postgres` starts one).

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, Executor, PgConnection};
use switchboard_store::{PostgresStore, SqliteStore, Store, conformance};

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
