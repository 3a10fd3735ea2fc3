//! The SQLite back-end: one database file in WAL mode, searched through FTS5 trigram
//! indexes that triggers keep in step with `contacts` and `users`.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use switchboard_core::event::Event;
use switchboard_core::model::Book;
use switchboard_core::text::SearchTerm;
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::Result;
use crate::changes::ChangeCache;
use crate::events::{EventBus, Hub};

#[allow(clippy::duplicate_mod, reason = "the shared SQL is compiled once per back-end, on purpose")]
#[path = "queries.rs"]
mod queries;

/// The owner standing for "no owner" (shared contacts) in `live_contacts_unique`.
const NO_OWNER: &str = "x''";
/// A column in a term that must not choose an index (`push_book_of_named`):
/// a unary plus keeps a term from choosing an index.
fn unindexed(column: &str) -> String {
    format!("+{column}")
}

/// Compares text byte by byte (as sort keys are), whatever collation a column has.
const BYTE_ORDER: &str = " COLLATE BINARY";
/// Opens and closes the values of rows (an id first, as text) gathered into one JSON
/// array of arrays.
const JSON_ROWS: (&str, &str) = ("json_group_array(json_array(", "))");
/// An id column as text for [`JSON_ROWS`] (ids are 16-byte blobs here).
fn id_text(column: &str) -> String {
    format!("hex({column})")
}
/// Contacts with every email their details list, each as `emails.value`.
const DETAIL_EMAILS: &str = "contacts, json_each(contacts.details, '$.emails') AS emails";
/// One of those emails' addresses, case folded.
const DETAIL_EMAIL: &str = "lower(json_extract(emails.value, '$.address'))";
type Db = sqlx::Sqlite;
type Pool = SqlitePool;
type Backend = SqliteStore;
/// An import's transaction would hold the database's one write lock for its whole length
/// and hold up every other domain's writes: it writes in short ones instead.
const STAGED_IMPORTS: bool = true;

/// The default store: everything in one SQLite file next to the server.
pub struct SqliteStore {
    pool: SqlitePool,
    /// The same pool: SQLite plans every statement alike (see `PostgresStore::lookups`).
    lookups: SqlitePool,
    // One process owns a SQLite file, so its events need go no further than this channel.
    events: Hub,
    changes: ChangeCache,
}

impl SqliteStore {
    /// Opens (creating it if needed) the database at a path or `sqlite:` URL and migrates it.
    pub async fn open(url_or_path: &str) -> Result<SqliteStore> {
        if matches!(url_or_path, ":memory:" | "sqlite::memory:") {
            return Self::open_in_memory().await;
        }
        let options = if url_or_path.starts_with("sqlite:") {
            SqliteConnectOptions::from_str(url_or_path)?
        } else {
            SqliteConnectOptions::new().filename(url_or_path)
        };
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // With WAL, NORMAL loses at most the last commits on power loss, never consistency.
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            // Reads go through a mapping of the file (up to 256 MiB), shared by every
            // connection, rather than copied from the system's cache into each one's page
            // cache: a walk of 10,000 contacts took half as long.
            .pragma("mmap_size", "268435456")
            // Rows a query may have ready before the caller takes them: with the default 50,
            // a page of 500 went back and forth between the threads ten times.
            .row_buffer_size(1024);
        Self::migrated(SqlitePoolOptions::new().connect_with(options).await?).await
    }

    /// A private database that lives as long as the store, for tests.
    pub async fn open_in_memory() -> Result<SqliteStore> {
        // Every connection to `:memory:` is a database of its own, so keep exactly one, forever.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(SqliteConnectOptions::new().in_memory(true).foreign_keys(true))
            .await?;
        Self::migrated(pool).await
    }

    async fn migrated(pool: SqlitePool) -> Result<SqliteStore> {
        sqlx::migrate!("migrations/sqlite").run(&pool).await?;
        Ok(SqliteStore { lookups: pool.clone(), pool, events: Hub::new(), changes: ChangeCache::default() })
    }
}

#[async_trait]
impl EventBus for SqliteStore {
    async fn publish(&self, event: &Event) -> Result<()> {
        self.events.send(event.clone());
        Ok(())
    }

    fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    fn subscribe_domain(&self, domain_id: Uuid) -> broadcast::Receiver<Event> {
        self.events.subscribe_domain(domain_id)
    }
}

/// Takes the write lock up front: a read that later turns into a write could otherwise
/// fail at once with SQLITE_BUSY instead of waiting for the busy timeout.
async fn begin_write(pool: &SqlitePool) -> Result<queries::Tx> {
    Ok(pool.begin_with("BEGIN IMMEDIATE").await?)
}

/// Begins a write on a connection already taken (see [`begin_write`]).
async fn begin_write_on(conn: &mut queries::Conn) -> Result<sqlx::Transaction<'_, Db>> {
    Ok(sqlx::Connection::begin_with(conn, "BEGIN IMMEDIATE").await?)
}

/// The connection an import writes through while it runs: one of its own, closed with
/// it, with a page cache of 32 MiB (the pool's 2 MiB spilled a batch's pages to the log
/// mid-way and read them back for every index: more than half of the batch's time) and
/// statement journals in memory (not a temporary file written for every multi-row
/// statement). It makes no checkpoints (`wal_autocheckpoint` 0): the import has them made
/// beside it on another connection (`StagedImport::checkpoint_meanwhile`). `None` for a
/// database in memory, which has only the pool's connection.
async fn import_writes(pool: &Pool) -> Result<Option<queries::Conn>> {
    use sqlx::ConnectOptions as _;
    let options = pool.connect_options();
    if options.get_filename() == std::path::Path::new(":memory:") {
        return Ok(None);
    }
    let options = (*options)
        .clone()
        .pragma("cache_size", "-32768")
        .pragma("temp_store", "memory")
        .pragma("wal_autocheckpoint", "0");
    Ok(Some(options.connect().await?))
}

/// Inserts an import's batch of contacts with one statement: SQLite has no arrays to
/// bind, so the rows travel as one JSON array of arrays (the id in hex, then the values
/// in [`queries::CONTACT_VALUE_COLUMNS`] order), read back by `json_each` in order.
///
/// One statement rather than one per few hundred rows because every statement writing to
/// the trigram index (`contacts_fts`, through its trigger) opens a savepoint, at which
/// FTS5 flushes the terms it holds to a new segment of the index; later writes merge the
/// segments again. Ten statements a batch made ten segments, and their merging was much
/// of the commits' time.
async fn insert_contact_rows(
    conn: &mut queries::Conn,
    book: Book,
    import_id: Option<Uuid>,
    now: i64,
    rows: &[queries::ContactRow<'_>],
) -> sqlx::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let sql = SQL.get_or_init(|| {
        let columns = queries::CONTACT_VALUE_COLUMNS.join(", ");
        let values: Vec<String> =
            (1..=queries::CONTACT_VALUE_COLUMNS.len()).map(|n| format!("value ->> {n}")).collect();
        format!(
            "INSERT INTO contacts (id, domain_id, owner_user_id, import_id, version, created_at, updated_at, {columns}) \
             SELECT unhex(value ->> 0), $1, $2, $3, 1, $4, $4, {} FROM json_each($5)",
            values.join(", ")
        )
    });
    sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
        .bind(book.domain_id())
        .bind(book.owner_id())
        .bind(import_id)
        .bind(now)
        .bind(rows_as_json(rows))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// `[["<id in hex>", "value", null, …], …]`: see [`insert_contact_rows`].
fn rows_as_json(rows: &[queries::ContactRow]) -> String {
    let mut json = Vec::with_capacity(rows.len() * 512);
    json.push(b'[');
    for (n, (id, values)) in rows.iter().enumerate() {
        if n > 0 {
            json.push(b',');
        }
        json.extend_from_slice(b"[\"");
        json.extend_from_slice(id.simple().encode_lower(&mut Uuid::encode_buffer()).as_bytes());
        json.push(b'"');
        for (_, value) in values.iter() {
            json.push(b',');
            match value {
                // Writing a string to memory cannot fail.
                Some(text) => serde_json::to_writer(&mut json, text).expect("a string is written to memory"),
                None => json.extend_from_slice(b"null"),
            }
        }
        json.push(b']');
    }
    json.push(b']');
    String::from_utf8(json).expect("JSON of strings is UTF-8")
}

/// Writes an import's audit records, [`queries::INSERT_CHUNK`] per statement.
async fn insert_audit_rows(
    conn: &mut queries::Conn,
    audits: &[&crate::AuditRecord],
    import_id: Option<Uuid>,
    _now: i64,
) -> Result<()> {
    for chunk in audits.chunks(queries::INSERT_CHUNK) {
        queries::insert_audits_of(conn, chunk, import_id).await?;
    }
    Ok(())
}

/// Writes the feed rows of entries an import created (none has a row yet), under one
/// number and time, a thousand per statement.
async fn insert_feed_rows(
    conn: &mut queries::Conn,
    domain_id: Uuid,
    audience_id: Uuid,
    (seq, at): (i64, i64),
    ids: &[Uuid],
) -> Result<()> {
    for chunk in ids.chunks(1000) {
        let mut qb =
            queries::Builder::new("INSERT INTO directory_changes (domain_id, entry_id, audience_id, seq, changed_at) ");
        qb.push_values(chunk, |mut row, id| {
            row.push_bind(domain_id).push_bind(*id).push_bind(audience_id).push_bind(seq).push_bind(at);
        });
        qb.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// Terms of three characters or more go through the trigram index; shorter ones have no trigram.
fn push_search(qb: &mut queries::Builder, table: &str, term: &SearchTerm) {
    if term.as_str().chars().count() < 3 {
        return queries::push_like(qb, &format!("{table}.search_text"), term);
    }
    let phrase = format!("\"{}\"", term.as_str().replace('"', "\"\""));
    qb.push(format_args!(" AND {table}.seq IN (SELECT rowid FROM {table}_fts WHERE {table}_fts MATCH "));
    qb.push_bind(phrase).push(")");
}

/// A search with more matches than this reads the sort index in order instead:
/// the first page then fills after a few rows, while sorting thousands costs more.
const BROAD_SEARCH: i64 = 2000;

/// Whether a search matches so many contacts (in any domain) that walking the sort
/// index beats sorting the matches. Terms too short for trigrams always are.
async fn search_is_broad(pool: &Pool, term: &SearchTerm) -> Result<bool> {
    if term.as_str().chars().count() < 3 {
        return Ok(true);
    }
    let phrase = format!("\"{}\"", term.as_str().replace('"', "\"\""));
    let hits: i64 =
        sqlx::query_scalar("SELECT count(*) FROM (SELECT 1 FROM contacts_fts WHERE contacts_fts MATCH $1 LIMIT $2)")
            .bind(phrase)
            .bind(BROAD_SEARCH + 1)
            .fetch_one(pool)
            .await?;
    Ok(hits > BROAD_SEARCH)
}
