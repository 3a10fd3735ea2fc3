//! Helpers for the test suites of every crate (not used in production).

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, Executor, PgConnection};

/// Creates an empty database on the test PostgreSQL server named by
/// `SWITCHBOARD_TEST_POSTGRES` (started by `scripts/with-postgres`) and returns its URL.
/// Panics when the variable is missing: a PostgreSQL test never skips silently.
pub async fn fresh_postgres_database() -> String {
    let server = std::env::var("SWITCHBOARD_TEST_POSTGRES").unwrap_or_else(|_| {
        panic!("SWITCHBOARD_TEST_POSTGRES is not set: run the tests through `scripts/test` or `scripts/with-postgres cargo test`")
    });
    let name = format!("switchboard_test_{}", uuid::Uuid::now_v7().simple());
    let mut admin = PgConnection::connect(&server).await.expect("the test PostgreSQL answers");
    admin.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).await.expect("CREATE DATABASE");
    admin.close().await.expect("close");
    let options: PgConnectOptions = server.parse().expect("a PostgreSQL URL");
    options.database(&name).to_url_lossy().to_string()
}
