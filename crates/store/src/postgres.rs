//! The PostgreSQL back-end, for several servers sharing one database. Searches use
//! `LIKE` on `search_text`, which the `pg_trgm` GIN index answers.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions};
use switchboard_core::event::Event;
use switchboard_core::model::Book;
use switchboard_core::text::SearchTerm;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::Result;
use crate::changes::ChangeCache;
use crate::events::{EventBus, Hub};
use crate::postgres_copy::CopyRows;

#[allow(clippy::duplicate_mod, reason = "the shared SQL is compiled once per back-end, on purpose")]
#[path = "queries.rs"]
mod queries;

/// The owner standing for "no owner" (shared contacts) in `live_contacts_unique`.
const NO_OWNER: &str = "'00000000-0000-0000-0000-000000000000'::uuid";
/// A column in a term that must not choose an index (`push_book_of_named`):
/// without statistics (a table just filled) its planner too would walk an index of the
/// book; an expression it does not see through keeps the term off it.
fn unindexed(column: &str) -> String {
    format!("COALESCE({column}, {column})")
}

/// Compares text byte by byte (as sort keys are), whatever collation a column has.
const BYTE_ORDER: &str = " COLLATE \"C\"";
/// Opens and closes the values of rows (an id first, as text) gathered into one JSON
/// array of arrays (none: NULL).
const JSON_ROWS: (&str, &str) = ("json_agg(json_build_array(", "))::text");
/// An id column as text for [`JSON_ROWS`].
fn id_text(column: &str) -> String {
    format!("{column}::text")
}
/// Contacts with every email their details list, each as `emails.value`.
const DETAIL_EMAILS: &str = "contacts, jsonb_array_elements(contacts.details::jsonb -> 'emails') AS emails(value)";
/// One of those emails' addresses, case folded.
const DETAIL_EMAIL: &str = "lower(emails.value ->> 'address')";
type Db = sqlx::Postgres;
type Pool = PgPool;
type Backend = PostgresStore;
/// One transaction per import: PostgreSQL's row versions let every other writer (and
/// reader) go on while it is open, and a crash rolls it back with no cleaning up, which
/// several servers sharing the database could not agree on for pending rows.
const STAGED_IMPORTS: bool = false;

/// The store for several servers sharing one PostgreSQL database.
pub struct PostgresStore {
    pool: PgPool,
    /// For the statements every phone or API request starts with (a credential with its
    /// user and domain, a change stamp): keys look-ups whose plan never depends on the
    /// values, so PostgreSQL may keep one plan instead of planning a join every time.
    lookups: PgPool,
    events: Arc<Hub>,
    changes: ChangeCache,
    _listener: Listener,
}

impl PostgresStore {
    /// Connects to the database at `url` and migrates it.
    pub async fn connect(url: &str) -> Result<PostgresStore> {
        // sqlx reuses prepared statements; after a few runs PostgreSQL would switch a
        // search to a generic plan that cannot use the trigram index for an unknown
        // pattern. Planning each execution keeps searches on the index.
        let options = PgConnectOptions::from_str(url)?.options([("plan_cache_mode", "force_custom_plan")]);
        let pool = PgPoolOptions::new().connect_with(options.clone()).await?;
        sqlx::migrate!("migrations/postgres").run(&pool).await?;
        let lookups = PgPoolOptions::new().max_connections(4).connect_lazy_with(PgConnectOptions::from_str(url)?);
        let events = Arc::new(Hub::new());
        let changes = ChangeCache::default();
        let listener = Listener::start(options, events.clone(), changes.clone()).await?;
        Ok(PostgresStore { pool, lookups, events, changes, _listener: listener })
    }
}

/// Inserts an import's contacts with one binary `COPY` (see `postgres_copy`): the rows
/// go to the server as their columns' bytes, with no statement to parse per batch.
/// A duplicate key fails the `COPY` as it would an `INSERT` (a unique violation).
async fn insert_contact_rows(
    conn: &mut queries::Conn,
    book: Book,
    import_id: Option<Uuid>,
    now: i64,
    rows: &[queries::ContactRow<'_>],
) -> sqlx::Result<()> {
    let fixed = ["id", "domain_id", "owner_user_id", "import_id", "version", "created_at", "updated_at"];
    let mut copy = CopyRows::new(fixed.len() + queries::CONTACT_VALUE_COLUMNS.len(), rows.len());
    for (id, values) in rows {
        copy.row().uuid(Some(*id)).uuid(Some(book.domain_id())).uuid(book.owner_id()).uuid(import_id);
        copy.bigint(1).bigint(now).bigint(now);
        for (_, value) in values.iter() {
            copy.text(value.as_deref());
        }
    }
    let columns = fixed.iter().chain(&queries::CONTACT_VALUE_COLUMNS).copied().collect::<Vec<_>>().join(", ");
    copy.send(conn, &format!("contacts ({columns})")).await
}

/// Writes an import's audit records with one binary `COPY` (see `insert_contact_rows`).
async fn insert_audit_rows(
    conn: &mut queries::Conn,
    audits: &[&crate::AuditRecord],
    import_id: Option<Uuid>,
    now: i64,
) -> Result<()> {
    let mut copy = CopyRows::new(8, audits.len());
    for audit in audits {
        copy.row().uuid(Some(Uuid::now_v7())).uuid(audit.domain_id).bigint(now).text(Some(&audit.actor));
        copy.text(Some(&audit.action)).uuid(audit.target_id).text(Some(&audit.details.to_string())).uuid(import_id);
    }
    copy.send(conn, "audit_log (id, domain_id, at, actor, action, target_id, details, import_id)").await?;
    Ok(())
}

/// Writes the feed rows of entries an import created (none has a row yet), under one
/// number and time, with one binary `COPY` (see `insert_contact_rows`).
async fn insert_feed_rows(
    conn: &mut queries::Conn,
    domain_id: Uuid,
    audience_id: Uuid,
    (seq, at): (i64, i64),
    ids: &[Uuid],
) -> Result<()> {
    let mut copy = CopyRows::new(5, ids.len());
    for id in ids {
        copy.row().uuid(Some(domain_id)).uuid(Some(*id)).uuid(Some(audience_id)).bigint(seq).bigint(at);
    }
    copy.send(conn, "directory_changes (domain_id, entry_id, audience_id, seq, changed_at)").await?;
    Ok(())
}

/// The `LISTEN`/`NOTIFY` channel every server on the database shares.
const EVENTS_CHANNEL: &str = "switchboard_events";

#[async_trait]
impl EventBus for PostgresStore {
    /// Only notifies: this server's subscribers get the event back through its own
    /// listener, like every other server's, so nobody receives it twice.
    async fn publish(&self, event: &Event) -> Result<()> {
        let payload = serde_json::to_string(event).expect("an event always serializes");
        sqlx::query("SELECT pg_notify($1, $2)").bind(EVENTS_CHANNEL).bind(payload).execute(&self.pool).await?;
        Ok(())
    }

    fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    fn subscribe_domain(&self, domain_id: Uuid) -> broadcast::Receiver<Event> {
        self.events.subscribe_domain(domain_id)
    }
}

/// The task that forwards the database's notifications to this process's
/// subscribers, for as long as the store lives.
struct Listener(JoinHandle<()>);

impl Listener {
    /// Returns once the channel is listened to, so nothing published afterwards is missed.
    async fn start(options: PgConnectOptions, events: Arc<Hub>, changes: ChangeCache) -> Result<Listener> {
        // A pool of its own, so the connection held for listening never takes a query's place.
        let pool =
            PgPoolOptions::new().max_connections(1).max_lifetime(None).idle_timeout(None).connect_with(options).await?;
        let listener = listen(&pool).await?;
        Ok(Listener(tokio::spawn(forward(listener, pool, events, changes))))
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn listen(pool: &PgPool) -> sqlx::Result<PgListener> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(EVENTS_CHANNEL).await?;
    Ok(listener)
}

/// Hands each event on, after forgetting its domain's kept change stamp: a subscriber
/// that reads the domain again on the event must see the change (see `changes`).
async fn forward(mut listener: PgListener, pool: PgPool, events: Arc<Hub>, changes: ChangeCache) {
    loop {
        match listener.try_recv().await {
            Ok(Some(notification)) => match serde_json::from_str::<Event>(notification.payload()) {
                Ok(event) => {
                    changes.forget(event.domain_id);
                    events.send(event);
                }
                // Another version of Switchboard on the same database may know kinds this one does not.
                Err(error) => tracing::warn!(%error, payload = notification.payload(), "ignored an unknown event"),
            },
            // The listener reconnected by itself; what was notified meanwhile is lost.
            Ok(None) => {
                tracing::warn!("the connection listening for events was lost and made again");
                changes.forget_all();
                events.restart();
            }
            Err(error) => {
                tracing::warn!(%error, "listening for events failed; reconnecting");
                drop(listener);
                listener = listen_again(&pool).await;
                changes.forget_all();
                events.restart();
            }
        }
    }
}

/// Listens on a new connection, retrying with a growing pause while the database is away.
async fn listen_again(pool: &PgPool) -> PgListener {
    let mut pause = Duration::from_millis(100);
    loop {
        tokio::time::sleep(pause).await;
        match listen(pool).await {
            Ok(listener) => return listener,
            Err(error) => tracing::warn!(%error, "cannot listen for events yet; retrying"),
        }
        pause = (pause * 2).min(Duration::from_secs(10));
    }
}

async fn begin_write(pool: &PgPool) -> Result<queries::Tx> {
    Ok(pool.begin().await?)
}

async fn begin_write_on(conn: &mut queries::Conn) -> Result<sqlx::Transaction<'_, Db>> {
    Ok(sqlx::Connection::begin(conn).await?)
}

/// PostgreSQL's imports are one transaction (see `STAGED_IMPORTS`): no connection of their own.
async fn import_writes(_pool: &Pool) -> Result<Option<queries::Conn>> {
    Ok(None)
}

fn push_search(qb: &mut queries::Builder, table: &str, term: &SearchTerm) {
    queries::push_like(qb, &format!("{table}.search_text"), term);
}

/// PostgreSQL's planner weighs the trigram index against the sort index itself, with
/// statistics kept by autovacuum: no need to count matches first.
async fn search_is_broad(_pool: &Pool, _term: &SearchTerm) -> Result<bool> {
    Ok(false)
}
