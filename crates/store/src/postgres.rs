//! The PostgreSQL back-end, for several servers sharing one database. Searches use
//! `LIKE` on `search_text`, which the `pg_trgm` GIN index answers.

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use switchboard_core::text::SearchTerm;

use crate::Result;

#[allow(clippy::duplicate_mod, reason = "the shared SQL is compiled once per back-end, on purpose")]
#[path = "queries.rs"]
mod queries;

/// The owner standing for "no owner" (shared contacts) in `live_contacts_unique`.
const NO_OWNER: &str = "'00000000-0000-0000-0000-000000000000'::uuid";
type Db = sqlx::Postgres;
type Pool = PgPool;
type Backend = PostgresStore;

/// The store for several servers sharing one PostgreSQL database.
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects to the database at `url` and migrates it.
    pub async fn connect(url: &str) -> Result<PostgresStore> {
        // sqlx reuses prepared statements; after a few runs PostgreSQL would switch a
        // search to a generic plan that cannot use the trigram index for an unknown
        // pattern. Planning each execution keeps searches on the index.
        let options = PgConnectOptions::from_str(url)?.options([("plan_cache_mode", "force_custom_plan")]);
        let pool = PgPoolOptions::new().connect_with(options).await?;
        sqlx::migrate!("migrations/postgres").run(&pool).await?;
        Ok(PostgresStore { pool })
    }
}

async fn begin_write(pool: &PgPool) -> Result<queries::Tx> {
    Ok(pool.begin().await?)
}

fn push_search(qb: &mut queries::Builder, table: &str, term: &SearchTerm) {
    queries::push_like(qb, &format!("{table}.search_text"), term);
}

/// PostgreSQL's planner weighs the trigram index against the sort index itself, with
/// statistics kept by autovacuum: no need to count matches first.
async fn search_is_broad(_pool: &Pool, _term: &SearchTerm) -> Result<bool> {
    Ok(false)
}
