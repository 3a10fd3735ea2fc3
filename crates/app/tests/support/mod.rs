//! What the use-case tests share: a fresh store of each back-end, and a macro that runs
//! each scenario on both.

use std::path::Path;
use std::sync::Arc;

use switchboard_store::{PostgresStore, SqliteStore, Store};

/// A fresh SQLite database in a file under `dir` (a file, unlike memory, is shared by
/// every connection of the pool, as in production).
pub async fn sqlite(dir: &Path) -> Arc<dyn Store> {
    let url = format!("sqlite://{}", dir.join("test.db").display());
    Arc::new(SqliteStore::open(&url).await.unwrap())
}

/// A fresh database on the test PostgreSQL server (see `scripts/with-postgres`).
pub async fn postgres() -> Arc<dyn Store> {
    let url = switchboard_store::testing::fresh_postgres_database().await;
    Arc::new(PostgresStore::connect(&url).await.unwrap())
}

/// Each scenario, an `async fn(Arc<dyn Store>)`, as two tests: `sqlite::…` and `postgres::…`.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let dir = tempfile::tempdir().unwrap();
                    super::$name(crate::support::sqlite(dir.path()).await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(crate::support::postgres().await).await;
                }
            )*
        }
    };
}
