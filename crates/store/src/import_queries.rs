//! Imports in short transactions, compiled once per back-end as a part of `queries.rs`
//! (SQLite uses them; see `STAGED_IMPORTS`). The design is in
//! `migrations/sqlite/0008_pending_imports.sql`: rows marked with a pending import's id
//! are seen by that import alone, and one short last commit makes them everyone's.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row as _;
use switchboard_core::contact::ContactFields;
use switchboard_core::model::{Book, Contact};
use uuid::Uuid;

use super::{
    Builder, CONTACT_VALUE_COLUMNS, Conn, DUPLICATE_CONTACT, Db, INSERT_CHUNK, Pool, begin_write, begin_write_on,
    conflict, contact, contact_values, import_writes, insert_created, insert_favorites, insert_more_numbers,
    live_contact_ids, live_contact_of_import, matching_contacts, now, push_book, push_ids, push_in, push_visible,
    record_import, split_changes, write_audit,
};
use crate::changes::ChangeCache;
use crate::{AuditRecord, ImportChange, ImportWriter, NewPhoto, Result, RowKeys, StoreError};

/// Rows deleted or cleared per short transaction when discarding or finishing an import.
const TIDY_CHUNK: i64 = 5000;

/// An import writing in short transactions: see the module documentation.
pub(super) struct StagedImport {
    pool: Pool,
    id: Uuid,
    book: Book,
    changes: ChangeCache,
    /// Committed or discarded; dropped otherwise, the import is discarded in the background.
    finished: bool,
    /// Whether updates wait in `import_changes`, which look-ups must then take into account.
    staged_updates: bool,
    /// Whether any update or trashing waits there, for the last commit to apply.
    staged_any: bool,
    /// The contacts it created, for the feed at the last commit.
    created: Vec<Uuid>,
    /// The connection its writes go through (see `import_writes`); else the pool's.
    writes: Option<Conn>,
    /// Whether it has a connection of its own, which makes no checkpoints.
    own_writes: bool,
    /// The checkpoint running beside it (see [`StagedImport::checkpoint_meanwhile`]).
    checkpoint: Option<tokio::task::JoinHandle<()>>,
    /// Batches written since the write-ahead log last started over.
    batches_logged: u32,
}

/// Batches an import writes before it starts the write-ahead log over (see
/// [`StagedImport::catch_up_checkpoint`]): a batch of 5,000 contacts logs about 28 MB.
const BATCHES_PER_LOG: u32 = 2;

/// The connection an import writes through now: its own, or one of the pool's.
enum Writes {
    Own(Conn),
    Pooled(sqlx::pool::PoolConnection<Db>),
}

impl std::ops::Deref for Writes {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        match self {
            Writes::Own(conn) => conn,
            Writes::Pooled(conn) => conn,
        }
    }
}

impl std::ops::DerefMut for Writes {
    fn deref_mut(&mut self) -> &mut Conn {
        match self {
            Writes::Own(conn) => conn,
            Writes::Pooled(conn) => conn,
        }
    }
}

impl StagedImport {
    pub(super) async fn begin(pool: &Pool, book: Book, changes: ChangeCache) -> Result<StagedImport> {
        let id = Uuid::now_v7();
        let mut tx = begin_write(pool).await?;
        sqlx::query("INSERT INTO pending_imports (id, domain_id, started_at, alive_at) VALUES ($1, $2, $3, $3)")
            .bind(id)
            .bind(book.domain_id())
            .bind(now())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        let writes = import_writes(pool).await?;
        Ok(StagedImport {
            pool: pool.clone(),
            id,
            book,
            changes,
            finished: false,
            staged_updates: false,
            staged_any: false,
            created: Vec::new(),
            own_writes: writes.is_some(),
            writes,
            checkpoint: None,
            batches_logged: 0,
        })
    }

    async fn writes(&mut self) -> Result<Writes> {
        Ok(match self.writes.take() {
            Some(conn) => Writes::Own(conn),
            None => Writes::Pooled(self.pool.acquire().await?),
        })
    }

    fn done_writing(&mut self, writes: Writes) {
        if let Writes::Own(conn) = writes {
            self.writes = Some(conn);
            self.checkpoint_meanwhile();
        }
    }

    /// Copies what the import committed from the write-ahead log into the database file,
    /// on one of the pool's connections while the import goes on. Its own connection makes
    /// no checkpoints (`import_writes`), so its commits do not wait for that copy, which
    /// took them longer than the commit itself. One at a time; a `PASSIVE` checkpoint never
    /// holds up a writer.
    fn checkpoint_meanwhile(&mut self) {
        if self.checkpoint.as_ref().is_some_and(|running| !running.is_finished()) {
            return;
        }
        let pool = self.pool.clone();
        self.checkpoint = Some(tokio::spawn(async move { checkpoint(&pool).await }));
    }

    /// Waits for the checkpoint running beside it and copies what is left on its own
    /// connection, so that its next transaction starts the write-ahead log over: a writer
    /// reuses the log only when it begins with every page copied, which the checkpoints
    /// made beside it never let happen (the log of a 100,000-row import grew to 576 MB).
    /// Also after its last commit, so that the next writer's commit does not copy the rest.
    async fn catch_up_checkpoint(&mut self, conn: &mut Conn) {
        if let Some(running) = self.checkpoint.take() {
            let _ = running.await;
        }
        checkpoint(&mut *conn).await;
        self.batches_logged = 1;
    }

    /// Marks the import alive, inside a transaction of its own; fails if it was discarded
    /// meanwhile (a restarted server's sweep), so nothing is written for it afterwards.
    async fn still_pending(&self, conn: &mut Conn) -> Result<()> {
        let alive = sqlx::query("UPDATE pending_imports SET alive_at = $1 WHERE id = $2")
            .bind(now())
            .bind(self.id)
            .execute(&mut *conn)
            .await?;
        if alive.rows_affected() == 0 {
            return Err(StoreError::Conflict(
                "the import was cancelled before it finished; nothing was changed".into(),
            ));
        }
        Ok(())
    }

    /// One batch in one short transaction on `conn` (see `ImportWriter::apply`).
    async fn apply_on(&mut self, conn: &mut Conn, changes: &[ImportChange]) -> Result<Vec<Uuid>> {
        let (created, others) = split_changes(changes);
        let mut tx = begin_write_on(conn).await?;
        self.still_pending(&mut tx).await?;
        let staged: Vec<(Uuid, Option<&ContactFields>)> = others
            .iter()
            .map(|change| match change {
                ImportChange::Update { id, fields, .. } => (*id, Some(fields)),
                ImportChange::Trash { id, .. } => (*id, None),
                ImportChange::Create(_) => unreachable!("split_changes keeps creations apart"),
            })
            .collect();
        expect_live(&mut tx, self.book, self.id, staged.iter().map(|(id, _)| *id)).await?;
        stage_changes(&mut tx, self.id, &staged).await?;
        self.staged_updates |= staged.iter().any(|(_, fields)| fields.is_some());
        self.staged_any |= !staged.is_empty();
        let audits: Vec<&AuditRecord> = others.iter().filter_map(|change| change.audit()).collect();
        insert_created(&mut tx, self.book, Some(self.id), &created, &audits).await?;
        tx.commit().await?;
        let created: Vec<Uuid> = created.into_iter().map(|(id, _)| id).collect();
        self.created.extend_from_slice(&created);
        Ok(created)
    }

    /// The last commit (see `ImportWriter::commit`), on `conn`.
    async fn commit_on(&self, conn: &mut Conn, summary: &AuditRecord, favorites: &[Uuid]) -> Result<()> {
        let mut tx = begin_write_on(conn).await?;
        let ended = sqlx::query("DELETE FROM pending_imports WHERE id = $1").bind(self.id).execute(&mut *tx).await?;
        if ended.rows_affected() == 0 {
            return Err(StoreError::Conflict(
                "the import was cancelled before it finished; nothing was changed".into(),
            ));
        }
        // Everything it created or changed goes to the feed now, as it becomes visible.
        let mut changed: Vec<Uuid> = Vec::new();
        if self.staged_any {
            changed = sqlx::query_scalar("SELECT contact_id FROM import_changes WHERE import_id = $1")
                .bind(self.id)
                .fetch_all(&mut *tx)
                .await?;
        }
        changed.extend_from_slice(favorites);
        record_import(&mut tx, self.book, &self.created, &changed).await?;
        if self.staged_any {
            // Trashing first: it may free a duplicate key an updated contact takes.
            apply_staged_trash(&mut tx, self.book, self.id).await?;
            apply_staged_updates(&mut tx, self.book, self.id).await?;
        }
        apply_staged_photos(&mut tx, self.id).await?;
        insert_favorites(&mut tx, self.book, favorites).await?;
        write_audit(&mut tx, &self.changes, summary).await?;
        Ok(tx.commit().await?)
    }
}

#[async_trait]
impl ImportWriter for StagedImport {
    async fn live_contact(&mut self, id: Uuid) -> Result<Option<Contact>> {
        let mut conn = self.pool.acquire().await?;
        let found = live_contact_of_import(&mut conn, self.book, Some(self.id), id).await?;
        if !self.staged_updates || found.is_none() {
            return Ok(found);
        }
        let staged = staged_versions(&mut conn, self.id, &[id], &[]).await?;
        Ok(staged.into_iter().next().map(|(contact, _)| contact).or(found))
    }

    async fn matching_contacts(&mut self, rows: &[RowKeys]) -> Result<Vec<Option<Contact>>> {
        let mut conn = self.pool.acquire().await?;
        let found = matching_contacts(&mut conn, self.book, Some(self.id), rows).await?;
        if !self.staged_updates {
            return Ok(found);
        }
        let mut overlaid = Vec::with_capacity(rows.len());
        for (chunk, found) in rows.chunks(INSERT_CHUNK).zip(found.chunks(INSERT_CHUNK)) {
            overlaid.extend(overlay_staged(&mut conn, self.id, chunk, found.to_vec()).await?);
        }
        Ok(overlaid)
    }

    async fn live_contact_ids(&mut self) -> Result<Vec<Uuid>> {
        live_contact_ids(&mut *self.pool.acquire().await?, self.book, Some(self.id)).await
    }

    async fn apply(&mut self, changes: Vec<ImportChange>) -> Result<Vec<Uuid>> {
        let mut conn = self.writes().await?;
        if self.own_writes {
            self.batches_logged += 1;
            if self.batches_logged > BATCHES_PER_LOG {
                self.catch_up_checkpoint(&mut conn).await;
            }
        }
        let created = self.apply_on(&mut conn, &changes).await;
        self.done_writing(conn);
        created
    }

    async fn set_photos(&mut self, photos: &[(Uuid, NewPhoto)]) -> Result<()> {
        let mut tx = begin_write(&self.pool).await?;
        self.still_pending(&mut tx).await?;
        for (id, photo) in photos {
            sqlx::query(
                "INSERT INTO import_photos (import_id, contact_id, media_type, bytes, hash) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (import_id, contact_id) DO UPDATE SET \
                 media_type = excluded.media_type, bytes = excluded.bytes, hash = excluded.hash",
            )
            .bind(self.id)
            .bind(*id)
            .bind(&photo.media_type)
            .bind(&photo.bytes)
            .bind(&photo.hash)
            .execute(&mut *tx)
            .await?;
        }
        Ok(tx.commit().await?)
    }

    async fn commit(mut self: Box<Self>, summary: AuditRecord, favorites: &[Uuid]) -> Result<()> {
        let mut conn = self.writes().await?;
        self.commit_on(&mut conn, &summary, favorites).await?;
        self.finished = true;
        // Visible now; clearing the marks only keeps `contacts_of_import` small, so a
        // failure here is left for the next sweep.
        if let Err(error) = tidy_committed(&mut conn, self.id).await {
            tracing::warn!(%error, import = %self.id, "could not clear a committed import's marks; the next start will");
        }
        if self.own_writes {
            self.catch_up_checkpoint(&mut conn).await;
        }
        Ok(())
    }

    async fn discard(mut self: Box<Self>) -> Result<()> {
        self.finished = true;
        discard(&self.pool, self.id).await
    }
}

impl Drop for StagedImport {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        // Abandoned mid-way (a cancelled request): nobody sees its rows; remove them soon.
        let (pool, id) = (self.pool.clone(), self.id);
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    if let Err(error) = discard(&pool, id).await {
                        tracing::warn!(%error, import = %id, "could not discard an import; the next start will");
                    }
                });
            }
            Err(_) => tracing::warn!(import = %id, "an abandoned import is left for the next start to discard"),
        }
    }
}

/// The rows' matches as the import leaves the book: the look-up read the book without
/// the updates waiting for the commit, so a contact found by what an update changes no
/// longer matches, and one an update gives the row's duplicate key does. (The one rule
/// left out: same names and a number, when the update gave the names.)
async fn overlay_staged(
    conn: &mut Conn,
    import_id: Uuid,
    rows: &[RowKeys],
    mut found: Vec<Option<Contact>>,
) -> Result<Vec<Option<Contact>>> {
    let ids: Vec<Uuid> = found.iter().flatten().map(|contact| contact.id).collect();
    let keys: Vec<&str> = rows.iter().map(|row| row.duplicate_key.as_str()).collect();
    let staged = staged_versions(conn, import_id, &ids, &keys).await?;
    let by_id: HashMap<Uuid, &(Contact, String)> = staged.iter().map(|version| (version.0.id, version)).collect();
    let by_key: HashMap<&str, &Contact> = staged.iter().map(|(contact, key)| (key.as_str(), contact)).collect();
    for (row, found) in rows.iter().zip(&mut found) {
        if let Some((now, key)) = found.as_ref().and_then(|contact| by_id.get(&contact.id).copied()) {
            let shares_a_number = || {
                now.fields.numbers().iter().any(|(_, n)| n.e164.as_ref().is_some_and(|e164| row.numbers.contains(e164)))
            };
            let still = row.id == Some(now.id)
                || *key == row.duplicate_key
                || (now.fields.sort_key() == row.sort_key && shares_a_number());
            *found = still.then(|| now.clone());
        }
        if found.is_none() {
            *found = by_key.get(row.duplicate_key.as_str()).map(|contact| (*contact).clone());
        }
    }
    Ok(found)
}

/// Contacts as this import's waiting updates leave them (with their new duplicate keys):
/// those among `ids`, and those the updates give one of `keys`.
async fn staged_versions(
    conn: &mut Conn,
    import_id: Uuid,
    ids: &[Uuid],
    keys: &[&str],
) -> Result<Vec<(Contact, String)>> {
    let mut qb = Builder::new(
        "SELECT contacts.id, contacts.domain_id, contacts.owner_user_id, contacts.version, contacts.created_at, \
         contacts.updated_at, contacts.deleted_at, \
         EXISTS (SELECT 1 FROM contact_photos WHERE contact_photos.contact_id = contacts.id) AS has_photo",
    );
    for column in CONTACT_VALUE_COLUMNS {
        qb.push(format_args!(", staged.{column}"));
    }
    qb.push(" FROM import_changes AS staged JOIN contacts ON contacts.id = staged.contact_id");
    qb.push(" WHERE staged.import_id = ").push_bind(import_id).push(" AND NOT staged.trash AND (false");
    if !ids.is_empty() {
        qb.push(" OR staged.contact_id IN (");
        push_ids(&mut qb, ids);
    }
    if !keys.is_empty() {
        qb.push(" OR");
        push_in(&mut qb, "staged.duplicate_key", keys.iter().copied());
    }
    qb.push(")");
    let rows = qb.build().fetch_all(&mut *conn).await?;
    rows.iter().map(|row| Ok((contact(row)?, row.try_get("duplicate_key")?))).collect()
}

/// Fails with `NotFound` unless every id is a live contact of the book (as the import
/// sees it), as updating or trashing it at once would.
async fn expect_live(conn: &mut Conn, book: Book, import_id: Uuid, ids: impl Iterator<Item = Uuid>) -> Result<()> {
    let ids: HashSet<Uuid> = ids.collect();
    let ids: Vec<Uuid> = ids.into_iter().collect();
    for chunk in ids.chunks(INSERT_CHUNK) {
        let mut qb = Builder::new("SELECT count(*) FROM contacts WHERE ");
        push_book(&mut qb, book);
        qb.push(" AND contacts.deleted_at IS NULL");
        push_visible(&mut qb, "contacts", Some(import_id));
        qb.push(" AND contacts.id IN (");
        push_ids(&mut qb, chunk);
        let live: i64 = qb.build_query_scalar().fetch_one(&mut *conn).await?;
        if live != chunk.len() as i64 {
            return Err(StoreError::NotFound);
        }
    }
    Ok(())
}

/// Records updates (with their new values) and contacts to trash (no values) for the
/// last commit; the last one planned for a contact wins.
async fn stage_changes(conn: &mut Conn, import_id: Uuid, staged: &[(Uuid, Option<&ContactFields>)]) -> Result<()> {
    // One row per contact within a statement (PostgreSQL refuses to upsert a row twice in one).
    let last: HashMap<Uuid, usize> = staged.iter().enumerate().map(|(at, (id, _))| (*id, at)).collect();
    let staged: Vec<_> = staged.iter().enumerate().filter(|(at, (id, _))| last[id] == *at).map(|(_, s)| s).collect();
    let columns = CONTACT_VALUE_COLUMNS;
    for chunk in staged.chunks(INSERT_CHUNK) {
        let mut qb = Builder::new("INSERT INTO import_changes (import_id, contact_id, trash");
        for column in &columns {
            qb.push(", ").push(column);
        }
        qb.push(") ");
        qb.push_values(chunk, |mut row, (id, fields)| {
            row.push_bind(import_id).push_bind(*id).push_bind(fields.is_none());
            match fields {
                Some(fields) => contact_values(fields).into_iter().for_each(|(_, value)| {
                    row.push_bind(value);
                }),
                None => columns.iter().for_each(|_| {
                    row.push_bind(None::<String>);
                }),
            }
        });
        qb.push(" ON CONFLICT (import_id, contact_id) DO UPDATE SET trash = excluded.trash");
        for column in &columns {
            qb.push(format_args!(", {column} = excluded.{column}"));
        }
        qb.build().execute(&mut *conn).await?;
    }
    Ok(())
}

async fn apply_staged_trash(conn: &mut Conn, book: Book, import_id: Uuid) -> Result<()> {
    let now = now();
    let mut qb = Builder::new("UPDATE contacts SET version = version + 1, updated_at = ");
    qb.push_bind(now).push(", deleted_at = ").push_bind(now);
    qb.push(" WHERE contacts.id IN (SELECT contact_id FROM import_changes WHERE import_id = ").push_bind(import_id);
    qb.push(" AND trash) AND ");
    push_book(&mut qb, book);
    qb.push(" AND contacts.deleted_at IS NULL");
    qb.build().execute(&mut *conn).await?;
    Ok(())
}

/// One statement for every update, so the last commit stays short. A contact trashed or
/// changed by someone else meanwhile keeps that change (`deleted_at`), or takes the file's.
async fn apply_staged_updates(conn: &mut Conn, book: Book, import_id: Uuid) -> Result<()> {
    let mut qb = Builder::new("UPDATE contacts SET version = contacts.version + 1, updated_at = ");
    qb.push_bind(now());
    for column in CONTACT_VALUE_COLUMNS {
        qb.push(format_args!(", {column} = staged.{column}"));
    }
    qb.push(" FROM import_changes AS staged WHERE staged.import_id = ").push_bind(import_id);
    qb.push(" AND NOT staged.trash AND contacts.id = staged.contact_id AND ");
    push_book(&mut qb, book);
    qb.push(" AND contacts.deleted_at IS NULL");
    qb.build().execute(&mut *conn).await.map_err(conflict(DUPLICATE_CONTACT))?;
    renumber_updated(conn, book, import_id).await
}

/// The caller-ID keys of the numbers beyond the four columns, for the contacts the
/// import's waiting updates just changed (only contacts with details can have any).
async fn renumber_updated(conn: &mut Conn, book: Book, import_id: Uuid) -> Result<()> {
    sqlx::query(
        "DELETE FROM contact_numbers WHERE contact_id IN \
         (SELECT contact_id FROM import_changes WHERE import_id = $1 AND NOT trash)",
    )
    .bind(import_id)
    .execute(&mut *conn)
    .await?;
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {} FROM contacts WHERE details <> '{{}}' AND id IN \
         (SELECT contact_id FROM import_changes WHERE import_id = $1 AND NOT trash)",
        contact_columns!()
    )))
    .bind(import_id)
    .fetch_all(&mut *conn)
    .await?;
    let updated = rows.iter().map(contact).collect::<Result<Vec<_>>>()?;
    insert_more_numbers(conn, book, updated.iter().map(|c| (c.id, &c.fields))).await
}

/// Runs `sql` (with the import's id as `$1` and a chunk size as `$2`) in short
/// transactions until it changes no more rows.
async fn in_chunks(conn: &mut Conn, sql: &'static str, import_id: Uuid) -> Result<()> {
    loop {
        let mut tx = begin_write_on(conn).await?;
        let changed = sqlx::query(sql).bind(import_id).bind(TIDY_CHUNK).execute(&mut *tx).await?.rows_affected();
        tx.commit().await?;
        if changed == 0 {
            return Ok(());
        }
    }
}

/// The import's photos, for its contacts that still exist (one trashed meanwhile keeps
/// its photo in the trash; one purged has no row left to take it).
async fn apply_staged_photos(conn: &mut Conn, import_id: Uuid) -> Result<()> {
    sqlx::query(
        "INSERT INTO contact_photos (contact_id, media_type, bytes, hash, updated_at) \
         SELECT contact_id, media_type, bytes, hash, $2 FROM import_photos \
         WHERE import_id = $1 AND contact_id IN (SELECT id FROM contacts) \
         ON CONFLICT (contact_id) DO UPDATE SET media_type = excluded.media_type, bytes = excluded.bytes, \
         hash = excluded.hash, updated_at = excluded.updated_at",
    )
    .bind(import_id)
    .bind(now())
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM import_photos WHERE import_id = $1").bind(import_id).execute(&mut *conn).await?;
    Ok(())
}

/// Clears a committed import's marks on its audit records and its staged changes. Its
/// contacts keep theirs: once its `pending_imports` row is gone they are seen by everyone
/// (`push_visible`), and clearing them would rewrite every row it created again, which
/// took a 100,000-row import longer than its last commit.
/// Copies the write-ahead log's committed pages into the database file, as far as no
/// reader still needs them. A failure leaves them for the next checkpoint to copy.
async fn checkpoint<'c>(db: impl sqlx::Executor<'c, Database = Db>) {
    if let Err(error) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(db).await {
        tracing::warn!(%error, "a checkpoint during an import failed; the next one copies its pages");
    }
}

async fn tidy_committed(conn: &mut Conn, import_id: Uuid) -> Result<()> {
    in_chunks(
        conn,
        "UPDATE audit_log SET import_id = NULL WHERE id IN \
         (SELECT id FROM audit_log WHERE import_id = $1 LIMIT $2)",
        import_id,
    )
    .await?;
    delete_staged(conn, import_id).await
}

async fn delete_staged(conn: &mut Conn, import_id: Uuid) -> Result<()> {
    in_chunks(
        conn,
        "DELETE FROM import_changes WHERE import_id = $1 AND contact_id IN \
         (SELECT contact_id FROM import_changes WHERE import_id = $1 LIMIT $2)",
        import_id,
    )
    .await
}

/// Removes what an import that never committed wrote. Its `pending_imports` row goes
/// last, in the same transaction as any rows still left, so no reader ever sees them
/// and a write of the import after this fails (see `StagedImport::still_pending`).
pub(super) async fn discard(pool: &Pool, import_id: Uuid) -> Result<()> {
    const DELETE_CONTACTS: &str =
        "DELETE FROM contacts WHERE id IN (SELECT id FROM contacts WHERE import_id = $1 LIMIT $2)";
    const DELETE_AUDITS: &str =
        "DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE import_id = $1 LIMIT $2)";
    let mut conn = pool.acquire().await?;
    in_chunks(&mut conn, DELETE_CONTACTS, import_id).await?;
    in_chunks(&mut conn, DELETE_AUDITS, import_id).await?;
    delete_staged(&mut conn, import_id).await?;
    let mut tx = begin_write_on(&mut conn).await?;
    for sql in [
        "DELETE FROM contacts WHERE import_id = $1",
        "DELETE FROM audit_log WHERE import_id = $1",
        "DELETE FROM import_changes WHERE import_id = $1",
        "DELETE FROM import_photos WHERE import_id = $1",
        "DELETE FROM pending_imports WHERE id = $1",
    ] {
        sqlx::query(sql).bind(import_id).execute(&mut *tx).await?;
    }
    Ok(tx.commit().await?)
}

/// Discards pending imports (all, or those idle since `idle_since`), and clears what
/// committed imports left marked (a process that died while tidying).
pub(super) async fn discard_pending(pool: &Pool, idle_since: Option<DateTime<Utc>>) -> Result<u64> {
    let cutoff = idle_since.map_or(i64::MAX, |at| at.timestamp_micros());
    let dead: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM pending_imports WHERE alive_at < $1 ORDER BY id")
        .bind(cutoff)
        .fetch_all(pool)
        .await?;
    for id in &dead {
        discard(pool, *id).await?;
    }
    let committed: Vec<Uuid> = sqlx::query_scalar(
        "SELECT DISTINCT import_id FROM audit_log WHERE import_id IS NOT NULL \
         AND import_id NOT IN (SELECT id FROM pending_imports) \
         UNION SELECT DISTINCT import_id FROM import_changes WHERE import_id NOT IN (SELECT id FROM pending_imports)",
    )
    .fetch_all(pool)
    .await?;
    for id in committed {
        tidy_committed(&mut *pool.acquire().await?, id).await?;
    }
    Ok(dead.len() as u64)
}
