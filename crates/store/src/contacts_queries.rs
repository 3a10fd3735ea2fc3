//! Contacts: the book's CRUD and trash, the mapping of a contact's row, and the look-ups and
//! inserts an import shares (`import_queries.rs`): part of `queries.rs`, compiled once per back-end
//! with it.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row as _;
use switchboard_core::PhoneNumber;
use switchboard_core::contact::{ContactDetails, ContactFields, NumberKind};
use switchboard_core::details::ContactKind;
use switchboard_core::model::{Book, Contact};
use switchboard_core::paging::Page;
use uuid::Uuid;

use super::{
    Backend, Builder, CONTACT_KEYS, Conn, NO_OWNER, Row, STAGED_IMPORTS, Tx, begin_write, conflict, decode_error,
    insert_audit_rows, insert_contact_rows, now, page, push_in, push_page, push_search, push_wanted,
    record_new_and_changed, survivors, time, unindexed, upsert_photo, walk_sort_index, write_audit,
};
use crate::changes::ChangeCache;
pub(in super::super) use crate::columns::CONTACT_VALUE_COLUMNS;
use crate::columns::{ContactValues, PreparedContact, contact_values, emails_of_column, phones_of_columns};
use crate::{AuditRecord, ContactStore, ImportChange, ImportWriter, ListQuery, NewPhoto, Result, RowKeys, StoreError};

#[async_trait]
impl ContactStore for Backend {
    async fn create_contact(&self, book: Book, fields: ContactFields, audit: AuditRecord) -> Result<Contact> {
        let mut tx = begin_write(&self.pool).await?;
        let row = insert_contact(&mut tx, book, &fields).await?;
        finish_contact(tx, &self.changes, &row, &audit).await
    }

    async fn begin_import(&self, book: Book) -> Result<Box<dyn ImportWriter>> {
        if STAGED_IMPORTS {
            return Ok(Box::new(super::imports::StagedImport::begin(&self.pool, book, self.changes.clone()).await?));
        }
        let tx = begin_write(&self.pool).await?;
        Ok(Box::new(ImportTx {
            tx: Some(tx),
            book,
            changes: self.changes.clone(),
            created: Vec::new(),
            touched: Vec::new(),
        }))
    }

    async fn discard_pending_imports(&self, idle_since: Option<DateTime<Utc>>) -> Result<u64> {
        super::imports::discard_pending(&self.pool, idle_since).await
    }

    async fn contact(&self, book: Book, id: Uuid) -> Result<Option<Contact>> {
        let mut qb = Builder::new(concat!("SELECT ", contact_columns!(), " FROM contacts WHERE contacts.id = "));
        qb.push_bind(id).push(" AND ");
        push_book(&mut qb, book);
        push_visible(&mut qb, "contacts", None);
        qb.build().fetch_optional(&self.pool).await?.as_ref().map(contact).transpose()
    }

    async fn contacts(&self, book: Book, ids: &[Uuid]) -> Result<Vec<Contact>> {
        let Some(mut qb) = live_by_id(concat!("SELECT ", contact_columns!(), " FROM contacts WHERE"), book, ids) else {
            return Ok(Vec::new());
        };
        qb.build().fetch_all(&self.pool).await?.iter().map(contact).collect()
    }

    async fn contact_versions(&self, book: Book, ids: &[Uuid]) -> Result<Vec<(Uuid, i64)>> {
        let Some(mut qb) = live_by_id("SELECT id, version FROM contacts WHERE", book, ids) else {
            return Ok(Vec::new());
        };
        let rows = qb.build().fetch_all(&self.pool).await?;
        rows.iter().map(|row| Ok((row.try_get("id")?, row.try_get("version")?))).collect()
    }

    async fn contact_groups(&self, book: Book, limit: u32) -> Result<Vec<Contact>> {
        let mut qb = Builder::new(concat!("SELECT ", contact_columns!(), " FROM contacts WHERE "));
        push_book(&mut qb, book);
        // The partial index of migration 0022 holds exactly these rows.
        qb.push(" AND contacts.kind = 'group' AND contacts.deleted_at IS NULL");
        push_visible(&mut qb, "contacts", None);
        qb.push(" ORDER BY contacts.sort_key, contacts.id LIMIT ").push_bind(i64::from(limit));
        let rows = qb.build().fetch_all(&self.pool).await?;
        rows.iter().map(contact).collect()
    }

    async fn list_contacts(&self, book: Book, list: &ListQuery) -> Result<Page<Contact>> {
        let mut qb = Builder::new(concat!("SELECT ", contact_columns!(), " FROM contacts WHERE "));
        push_book(&mut qb, book);
        qb.push(" AND contacts.deleted_at IS NULL");
        push_visible(&mut qb, "contacts", None);
        if let Some(term) = &list.search {
            push_search(&mut qb, "contacts", term);
        }
        push_page(&mut qb, list, &CONTACT_KEYS, walk_sort_index(&self.pool, list).await?);
        page(qb.build().fetch_all(&self.pool).await?, list, contact)
    }

    async fn update_contact(
        &self,
        book: Book,
        id: Uuid,
        expected_version: Option<i64>,
        fields: ContactFields,
        audit: AuditRecord,
    ) -> Result<Contact> {
        let mut tx = begin_write(&self.pool).await?;
        match update_live_contact(&mut tx, book, id, expected_version, &fields).await? {
            Some(row) => finish_contact(tx, &self.changes, &row, &audit).await,
            None => Err(why_not_updated(&mut tx, book, id).await?),
        }
    }

    async fn delete_contact(&self, book: Book, id: Uuid, audit: AuditRecord) -> Result<Contact> {
        let mut tx = begin_write(&self.pool).await?;
        let row = trash_live_contact(&mut tx, book, id).await?.ok_or(StoreError::NotFound)?;
        finish_contact(tx, &self.changes, &row, &audit).await
    }

    async fn restore_contact(&self, book: Book, id: Uuid, audit: AuditRecord) -> Result<Contact> {
        let mut tx = begin_write(&self.pool).await?;
        let mut qb = Builder::new("UPDATE contacts SET version = version + 1, deleted_at = NULL, updated_at = ");
        qb.push_bind(now()).push(" WHERE contacts.id = ").push_bind(id).push(" AND ");
        push_book(&mut qb, book);
        qb.push(concat!(" AND contacts.deleted_at IS NOT NULL RETURNING ", contact_columns!()));
        let row = qb
            .build()
            .fetch_optional(&mut *tx)
            .await
            .map_err(conflict(DUPLICATE_CONTACT))?
            .ok_or(StoreError::NotFound)?;
        // A merged contact back from the trash stands for itself again (see `merge_contacts`).
        sqlx::query("DELETE FROM merged_contacts WHERE id = $1").bind(id).execute(&mut *tx).await?;
        finish_contact(tx, &self.changes, &row, &audit).await
    }

    async fn list_trash(&self, domain_id: Uuid, owner_id: Option<Uuid>, list: &ListQuery) -> Result<Page<Contact>> {
        let mut qb = Builder::new(concat!("SELECT ", contact_columns!(), " FROM contacts WHERE contacts.domain_id = "));
        qb.push_bind(domain_id).push(" AND contacts.deleted_at IS NOT NULL AND (contacts.owner_user_id IS NULL");
        if let Some(owner_id) = owner_id {
            qb.push(" OR contacts.owner_user_id = ").push_bind(owner_id);
        }
        qb.push(")");
        if let Some(term) = &list.search {
            push_search(&mut qb, "contacts", term);
        }
        push_page(&mut qb, list, &CONTACT_KEYS, walk_sort_index(&self.pool, list).await?);
        page(qb.build().fetch_all(&self.pool).await?, list, contact)
    }

    async fn purge_trash(&self, before: DateTime<Utc>) -> Result<u64> {
        let purged = sqlx::query("DELETE FROM contacts WHERE deleted_at IS NOT NULL AND deleted_at < $1")
            .bind(before.timestamp_micros())
            .execute(&self.pool)
            .await?;
        Ok(purged.rows_affected())
    }
}

pub(super) const DUPLICATE_CONTACT: &str = "an identical contact (same names and numbers) is already in this book";

/// The numbers beyond the four columns in `contact_numbers`: their caller-ID keys, and
/// their E.164 forms for finding duplicates.
pub(super) async fn insert_more_numbers<'a>(
    conn: &mut Conn,
    book: Book,
    contacts: impl IntoIterator<Item = (Uuid, &'a ContactFields)>,
) -> Result<()> {
    let rows: Vec<(Uuid, i64, &PhoneNumber)> = contacts
        .into_iter()
        .flat_map(|(id, fields)| {
            fields.more_phones().map(move |(position, phone)| (id, position as i64, &phone.number)).collect::<Vec<_>>()
        })
        .collect();
    for chunk in rows.chunks(INSERT_CHUNK) {
        let mut qb = Builder::new(
            "INSERT INTO contact_numbers (contact_id, domain_id, owner_user_id, position, lookup_key, e164) ",
        );
        qb.push_values(chunk, |mut row, (id, position, number)| {
            row.push_bind(*id)
                .push_bind(book.domain_id())
                .push_bind(book.owner_id())
                .push_bind(*position)
                .push_bind(number.lookup_key())
                .push_bind(number.e164.clone());
        });
        qb.build().execute(&mut *conn).await?;
    }
    Ok(())
}

async fn replace_more_numbers(conn: &mut Conn, book: Book, id: Uuid, fields: &ContactFields) -> Result<()> {
    sqlx::query("DELETE FROM contact_numbers WHERE contact_id = $1").bind(id).execute(&mut *conn).await?;
    insert_more_numbers(conn, book, [(id, fields)]).await
}

/// An import in one transaction, and the book it writes to: PostgreSQL's way (see
/// `begin_import`), where an open transaction holds up no other writer.
pub(super) struct ImportTx {
    /// Away while a task of its own writes through it (see [`own_task`]).
    tx: Option<Tx>,
    book: Book,
    changes: ChangeCache,
    /// The contacts it created, and those it changed otherwise, for the feed, which
    /// numbers them at the commit.
    created: Vec<Uuid>,
    touched: Vec<Uuid>,
}

impl ImportTx {
    fn tx(&mut self) -> Result<&mut Tx> {
        self.tx.as_mut().ok_or_else(cut_off)
    }
}

/// An import whose transaction was lost with a task that never ended (the runtime shut down).
fn cut_off() -> StoreError {
    StoreError::Database(sqlx::Error::Io(std::io::Error::other("the import's transaction was cut off")))
}

/// Awaits a task that writes an import's rows. Writes run in a task of their own because
/// a bulk `COPY` must not be cut off half-way by a dropped import (a cancelled request):
/// sqlx does not bring such a connection back in step with the server. The task goes on
/// to the end of its statements, and the transaction then rolls back as it is dropped.
async fn own_task<T>(task: tokio::task::JoinHandle<T>) -> Result<T> {
    match task.await {
        Ok(done) => Ok(done),
        Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
        Err(_) => Err(cut_off()),
    }
}

#[async_trait]
impl ImportWriter for ImportTx {
    async fn live_contact(&mut self, id: Uuid) -> Result<Option<Contact>> {
        let book = self.book;
        live_contact_of_import(self.tx()?, book, None, id).await
    }

    async fn matching_contacts(&mut self, rows: &[RowKeys]) -> Result<Vec<Option<Contact>>> {
        let book = self.book;
        matching_contacts(self.tx()?, book, None, rows).await
    }

    async fn live_contact_ids(&mut self) -> Result<Vec<Uuid>> {
        let book = self.book;
        live_contact_ids(self.tx()?, book, None).await
    }

    async fn apply(&mut self, changes: Vec<ImportChange>) -> Result<Vec<Uuid>> {
        let mut tx = self.tx.take().ok_or_else(cut_off)?;
        let book = self.book;
        let (tx, applied) = own_task(tokio::spawn(async move {
            let applied = apply_in_tx(&mut tx, book, &changes).await;
            (tx, applied)
        }))
        .await?;
        self.tx = Some(tx);
        let (created, touched) = applied?;
        self.created.extend_from_slice(&created);
        self.touched.extend(touched);
        Ok(created)
    }

    async fn set_photos(&mut self, photos: &[(Uuid, NewPhoto)]) -> Result<()> {
        for (id, photo) in photos {
            upsert_photo(self.tx()?, *id, photo).await?;
        }
        Ok(())
    }

    async fn commit(self: Box<Self>, summary: AuditRecord, favorites: &[Uuid]) -> Result<()> {
        let ImportTx { tx, book, changes, created, mut touched } = *self;
        let mut tx = tx.ok_or_else(cut_off)?;
        let favorites = favorites.to_vec();
        touched.extend_from_slice(&favorites);
        own_task(tokio::spawn(async move {
            insert_favorites(&mut tx, book, &favorites).await?;
            write_audit(&mut tx, &changes, &summary).await?;
            record_import(&mut tx, book, &created, &touched).await?;
            Ok(tx.commit().await?)
        }))
        .await?
    }

    async fn discard(self: Box<Self>) -> Result<()> {
        match self.tx {
            Some(tx) => Ok(tx.rollback().await?),
            None => Ok(()),
        }
    }
}

/// One batch of an import in its transaction: the ids of the contacts it created, and of
/// those it updated or trashed.
async fn apply_in_tx(tx: &mut Tx, book: Book, changes: &[ImportChange]) -> Result<(Vec<Uuid>, Vec<Uuid>)> {
    // Updates and trashing first: they may free a duplicate key a created contact takes.
    let (created, others) = split_changes(changes);
    let mut audits = Vec::with_capacity(others.len());
    let mut touched = Vec::with_capacity(others.len());
    for change in others {
        let changed = match change {
            ImportChange::Update { id, fields, audit } => {
                audits.push(audit);
                update_live_contact(tx, book, *id, None, fields).await?.map(|_| *id)
            }
            ImportChange::Trash { id, audit } => {
                audits.push(audit);
                trash_live_contact(tx, book, *id).await?.map(|_| *id)
            }
            ImportChange::Create(_) => unreachable!("split_changes keeps creations apart"),
        };
        touched.push(changed.ok_or(StoreError::NotFound)?);
    }
    // Not `write_audits`: the domain's change counter is bumped once, at commit, so
    // a long import does not hold its row lock (and block the domain's other writers).
    insert_created(tx, book, None, &created, &audits).await?;
    Ok((created.into_iter().map(|(id, ..)| id).collect(), touched))
}

/// A live contact of the book by id, as the import `own` sees the book (with its own rows).
pub(super) async fn live_contact_of_import(
    conn: &mut Conn,
    book: Book,
    own: Option<Uuid>,
    id: Uuid,
) -> Result<Option<Contact>> {
    let mut qb = Builder::new(concat!("SELECT ", contact_columns!(), " FROM contacts WHERE contacts.id = "));
    qb.push_bind(id).push(" AND ");
    push_book(&mut qb, book);
    qb.push(" AND contacts.deleted_at IS NULL");
    push_visible(&mut qb, "contacts", own);
    qb.build().fetch_optional(&mut *conn).await?.as_ref().map(contact).transpose()
}

/// See [`ImportWriter::matching_contacts`]; `own` as for [`live_contact_of_import`].
pub(super) async fn matching_contacts(
    conn: &mut Conn,
    book: Book,
    own: Option<Uuid>,
    rows: &[RowKeys],
) -> Result<Vec<Option<Contact>>> {
    let mut found = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(MATCH_CHUNK) {
        found.extend(match_chunk(conn, book, own, chunk).await?);
    }
    Ok(found)
}

pub(super) async fn live_contact_ids(conn: &mut Conn, book: Book, own: Option<Uuid>) -> Result<Vec<Uuid>> {
    let mut qb = Builder::new("SELECT contacts.id FROM contacts WHERE ");
    push_book(&mut qb, book);
    qb.push(" AND contacts.deleted_at IS NULL");
    push_visible(&mut qb, "contacts", own);
    qb.push(" ORDER BY contacts.id");
    Ok(qb.build_query_scalar().fetch_all(&mut *conn).await?)
}

/// A contact an import creates: its new id and what it is made of.
pub(super) type Created<'a> = (Uuid, &'a PreparedContact);

/// The contacts to create (with new ids), and the other changes in their order.
pub(super) fn split_changes(changes: &[ImportChange]) -> (Vec<Created<'_>>, Vec<&ImportChange>) {
    let mut created = Vec::new();
    let mut others = Vec::new();
    for change in changes {
        match change {
            ImportChange::Create(contact) => created.push((Uuid::now_v7(), contact)),
            other => others.push(other),
        }
    }
    (created, others)
}

/// Inserts the created contacts, then the audit records of the other changes, all marked
/// with `import_id`: many rows per statement, one round trip per chunk.
pub(super) async fn insert_created(
    conn: &mut Conn,
    book: Book,
    import_id: Option<Uuid>,
    created: &[Created<'_>],
    audits: &[&AuditRecord],
) -> Result<()> {
    let rows: Vec<ContactRow> = created.iter().map(|(id, contact)| (*id, &contact.values)).collect();
    insert_contact_rows(conn, book, import_id, now(), &rows).await.map_err(conflict(DUPLICATE_CONTACT))?;
    insert_more_numbers(conn, book, created.iter().map(|(id, contact)| (*id, &contact.fields))).await?;
    if audits.is_empty() {
        return Ok(());
    }
    insert_audit_rows(conn, audits, import_id, now()).await
}

/// Stars contacts for a personal book's owner (an import's `* starred` rows).
pub(super) async fn insert_favorites(conn: &mut Conn, book: Book, favorites: &[Uuid]) -> Result<()> {
    let Some(owner_id) = book.owner_id() else { return Ok(()) };
    for chunk in favorites.chunks(INSERT_CHUNK) {
        let mut qb = Builder::new("INSERT INTO favorites (user_id, entry_id) ");
        qb.push_values(chunk, |mut row, id| {
            row.push_bind(owner_id).push_bind(*id);
        });
        qb.push(" ON CONFLICT DO NOTHING");
        qb.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// Imported rows looked up per statement. A row binds its id, its duplicate key, or its
/// sort key and up to four numbers (each matched against the four number columns): at
/// most 500 × 17 parameters, far under both databases' limits (SQLite 32,766; PostgreSQL 65,535).
const MATCH_CHUNK: usize = 500;

/// The contacts some imported rows stand for (see [`ImportWriter::matching_contacts`]), in
/// three statements at most: by id, by duplicate key for the rows still unmatched, then by
/// names and number for those still unmatched.
async fn match_chunk(conn: &mut Conn, book: Book, own: Option<Uuid>, rows: &[RowKeys]) -> Result<Vec<Option<Contact>>> {
    let by_id = live_contacts_by_id(conn, book, own, rows.iter().filter_map(|row| row.id)).await?;
    let mut found: Vec<Option<Contact>> =
        rows.iter().map(|row| row.id.and_then(|id| by_id.get(&id).cloned())).collect();
    let unmatched = |found: &[Option<Contact>]| -> Vec<&RowKeys> {
        rows.iter().zip(found).filter(|(_, contact)| contact.is_none()).map(|(row, _)| row).collect()
    };
    let by_key = live_contacts_by_duplicate_key(conn, book, own, &unmatched(&found)).await?;
    for (row, contact) in rows.iter().zip(&mut found) {
        if contact.is_none() {
            *contact = by_key.get(&row.duplicate_key).cloned();
        }
    }
    let by_name = live_contacts_by_name_and_number(conn, book, own, &unmatched(&found)).await?;
    for (row, contact) in rows.iter().zip(&mut found) {
        if contact.is_none() {
            *contact = first_sharing_a_number(&by_name, row).cloned();
        }
    }
    Ok(found)
}

/// One probe of the primary key per id, from a `VALUES` list. Not `id IN (…)` nor a plain
/// join: without statistics SQLite takes the book's index for the more selective and reads
/// the whole book (90 ms per 250 ids in a book of 100,000, against 2 ms for the probes).
async fn live_contacts_by_id(
    conn: &mut Conn,
    book: Book,
    own: Option<Uuid>,
    ids: impl Iterator<Item = Uuid>,
) -> Result<HashMap<Uuid, Contact>> {
    let asked: Vec<Uuid> = ids.collect::<HashSet<_>>().into_iter().collect();
    if asked.is_empty() {
        return Ok(HashMap::new());
    }
    // An id merged into another contact stands for it (see `DuplicateStore::merge_contacts`).
    let survivors = survivors(conn, book, &asked).await?;
    let ids: HashSet<Uuid> = asked.iter().map(|id| survivors.get(id).copied().unwrap_or(*id)).collect();
    let mut qb = Builder::new(concat!("SELECT ", contact_columns!(), " FROM "));
    push_wanted(&mut qb, ids);
    // CROSS JOIN: SQLite keeps the list outside (it never reorders one); PostgreSQL plans it as any join.
    qb.push(" CROSS JOIN contacts WHERE contacts.id = wanted.column1 AND ");
    push_book(&mut qb, book);
    qb.push(" AND contacts.deleted_at IS NULL");
    push_visible(&mut qb, "contacts", own);
    let rows = qb.build().fetch_all(&mut *conn).await?;
    let found: HashMap<Uuid, Contact> =
        rows.iter().map(|row| contact(row).map(|contact| (contact.id, contact))).collect::<Result<_>>()?;
    let by_asked = asked.into_iter().filter_map(|id| {
        let live = found.get(survivors.get(&id).unwrap_or(&id))?;
        Some((id, live.clone()))
    });
    Ok(by_asked.collect())
}

/// One probe of `live_contacts_unique` per key, from a `VALUES` list. Not `duplicate_key
/// IN (…)`: PostgreSQL has no statistics on the index's owner expression, guesses that a
/// book holds a few hundred contacts, and reads all of the book's index entries to filter
/// them (25 ms per 500 keys in a book of 100,000, against 4 ms for the probes).
async fn live_contacts_by_duplicate_key(
    conn: &mut Conn,
    book: Book,
    own: Option<Uuid>,
    rows: &[&RowKeys],
) -> Result<HashMap<String, Contact>> {
    let keys: HashSet<&str> = rows.iter().map(|row| row.duplicate_key.as_str()).collect();
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    let mut qb = Builder::new(concat!("SELECT ", contact_columns!(), ", contacts.duplicate_key FROM "));
    push_wanted(&mut qb, keys);
    qb.push(" JOIN contacts ON contacts.id = (SELECT live.id FROM contacts AS live WHERE ");
    // The book written as in `live_contacts_unique`, so that index answers each probe.
    qb.push("live.domain_id = ").push_bind(book.domain_id());
    qb.push(format_args!(" AND coalesce(live.owner_user_id, {NO_OWNER}) = coalesce("));
    qb.push_bind(book.owner_id()).push(format_args!(", {NO_OWNER})"));
    qb.push(" AND live.deleted_at IS NULL AND live.duplicate_key = wanted.column1");
    push_visible(&mut qb, "live", own);
    qb.push(")");
    let found = qb.build().fetch_all(&mut *conn).await?;
    found.iter().map(|row| Ok((row.try_get("duplicate_key")?, contact(row)?))).collect()
}

/// Live contacts with the sort key of one of the rows and one of their numbers, grouped
/// by sort key, each group in id order. Which row shares a number with which contact is
/// sorted out in [`first_sharing_a_number`].
async fn live_contacts_by_name_and_number(
    conn: &mut Conn,
    book: Book,
    own: Option<Uuid>,
    rows: &[&RowKeys],
) -> Result<HashMap<String, Vec<Contact>>> {
    let rows: Vec<&RowKeys> = rows.iter().copied().filter(|row| !row.numbers.is_empty()).collect();
    if rows.is_empty() {
        return Ok(HashMap::new());
    }
    let sort_keys: HashSet<&str> = rows.iter().map(|row| row.sort_key.as_str()).collect();
    let numbers: HashSet<&str> = rows.iter().flat_map(|row| row.numbers.iter().map(String::as_str)).collect();
    let mut qb = Builder::new(concat!("SELECT ", contact_columns!(), " FROM contacts WHERE "));
    push_book(&mut qb, book);
    qb.push(" AND contacts.deleted_at IS NULL");
    push_visible(&mut qb, "contacts", own);
    qb.push(" AND");
    push_in(&mut qb, "contacts.sort_key", sort_keys);
    qb.push(" AND (false");
    for (_, _, e164_column) in PHONE_COLUMNS {
        qb.push(" OR");
        push_in(&mut qb, &format!("contacts.{e164_column}"), numbers.iter().copied());
    }
    qb.push(") ORDER BY contacts.id");
    let mut by_name: HashMap<String, Vec<Contact>> = HashMap::new();
    for row in qb.build().fetch_all(&mut *conn).await? {
        by_name.entry(row.try_get("sort_key")?).or_default().push(contact(&row)?);
    }
    Ok(by_name)
}

/// The first contact (by id) with the row's sort key that has one of the row's numbers.
fn first_sharing_a_number<'a>(by_name: &'a HashMap<String, Vec<Contact>>, row: &RowKeys) -> Option<&'a Contact> {
    let shares_a_number = |contact: &&Contact| {
        let numbers = contact.fields.numbers();
        numbers.iter().any(|(_, number)| number.e164.as_ref().is_some_and(|e164| row.numbers.contains(e164)))
    };
    by_name.get(&row.sort_key)?.iter().find(shares_a_number)
}

async fn insert_contact(tx: &mut Tx, book: Book, fields: &ContactFields) -> Result<Row> {
    let id = Uuid::now_v7();
    insert_contacts(tx, book, None, [(id, fields)]).await?;
    let mut qb = Builder::new(concat!("SELECT ", contact_columns!(), " FROM contacts"));
    push_live_contact(&mut qb, book, id);
    Ok(qb.build().fetch_one(&mut **tx).await?)
}

/// Rows per multi-row INSERT: well under both databases' limits on bound parameters
/// (SQLite 32,766; PostgreSQL 65,535) at 28 per contact and 7 per audit record.
pub(in super::super) const INSERT_CHUNK: usize = 500;

/// Inserts contacts with the given ids into a book in one statement.
async fn insert_contacts<'a>(
    conn: &mut Conn,
    book: Book,
    import_id: Option<Uuid>,
    contacts: impl IntoIterator<Item = (Uuid, &'a ContactFields)>,
) -> Result<()> {
    let contacts: Vec<(Uuid, &ContactFields)> = contacts.into_iter().collect();
    let values: Vec<ContactValues> = contacts.iter().map(|(_, fields)| contact_values(fields)).collect();
    let rows: Vec<ContactRow> = contacts.iter().zip(&values).map(|((id, _), values)| (*id, values)).collect();
    insert_contact_values(conn, book, import_id, now(), &rows).await.map_err(conflict(DUPLICATE_CONTACT))?;
    insert_more_numbers(conn, book, contacts).await
}

/// A contact to insert: its id and the values of its columns.
pub(in super::super) type ContactRow<'a> = (Uuid, &'a ContactValues);

/// Inserts contacts into a book with one multi-row `INSERT … VALUES` (at most
/// [`INSERT_CHUNK`] rows), created and updated `now`.
async fn insert_contact_values(
    conn: &mut Conn,
    book: Book,
    import_id: Option<Uuid>,
    now: i64,
    rows: &[ContactRow<'_>],
) -> sqlx::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut qb =
        Builder::new("INSERT INTO contacts (id, domain_id, owner_user_id, import_id, version, created_at, updated_at");
    for column in CONTACT_VALUE_COLUMNS {
        qb.push(", ").push(column);
    }
    qb.push(") ");
    qb.push_values(rows, |mut row, (id, values)| {
        row.push_bind(*id).push_bind(book.domain_id()).push_bind(book.owner_id()).push_bind(import_id).push("1");
        row.push_bind(now).push_bind(now);
        for (_, value) in values.iter() {
            row.push_bind(value.as_deref());
        }
    });
    qb.build().execute(&mut *conn).await?;
    Ok(())
}

/// Updates a live contact (at `expected_version`, when given); `None` when nothing matched.
pub(super) async fn update_live_contact(
    tx: &mut Tx,
    book: Book,
    id: Uuid,
    expected_version: Option<i64>,
    fields: &ContactFields,
) -> Result<Option<Row>> {
    let mut qb = Builder::new("UPDATE contacts SET version = version + 1, updated_at = ");
    qb.push_bind(now());
    for (column, value) in contact_values(fields) {
        qb.push(format_args!(", {column} = ")).push_bind(value);
    }
    push_live_contact(&mut qb, book, id);
    if let Some(expected) = expected_version {
        qb.push(" AND version = ").push_bind(expected);
    }
    qb.push(concat!(" RETURNING ", contact_columns!()));
    let row = qb.build().fetch_optional(&mut **tx).await.map_err(conflict(DUPLICATE_CONTACT))?;
    if row.is_some() {
        replace_more_numbers(tx, book, id, fields).await?;
    }
    Ok(row)
}

async fn trash_live_contact(tx: &mut Tx, book: Book, id: Uuid) -> Result<Option<Row>> {
    trash_live_contact_of(tx, book, id, None).await
}

/// Trashes a live contact if it is still at `version` (a merge's); `None` when nothing matched.
pub(super) async fn trash_live_contact_at(tx: &mut Tx, book: Book, id: Uuid, version: i64) -> Result<Option<Row>> {
    trash_live_contact_of(tx, book, id, Some(version)).await
}

async fn trash_live_contact_of(tx: &mut Tx, book: Book, id: Uuid, version: Option<i64>) -> Result<Option<Row>> {
    let now = now();
    let mut qb = Builder::new("UPDATE contacts SET version = version + 1, updated_at = ");
    qb.push_bind(now).push(", deleted_at = ").push_bind(now);
    push_live_contact(&mut qb, book, id);
    if let Some(version) = version {
        qb.push(" AND version = ").push_bind(version);
    }
    qb.push(concat!(" RETURNING ", contact_columns!()));
    Ok(qb.build().fetch_optional(&mut **tx).await?)
}

/// The phone columns in the order phones list them.
pub(super) const PHONE_COLUMNS: [(NumberKind, &str, &str); 4] = [
    (NumberKind::Work, "work_phone", "work_phone_e164"),
    (NumberKind::Mobile, "mobile_phone", "mobile_phone_e164"),
    (NumberKind::Home, "home_phone", "home_phone_e164"),
    (NumberKind::Fax, "fax", "fax_e164"),
];

/// `select` (ending in `WHERE`) for those of `ids` that are live contacts of the book;
/// `None` when there are no ids.
fn live_by_id(select: &'static str, book: Book, ids: &[Uuid]) -> Option<Builder> {
    if ids.is_empty() {
        return None;
    }
    let mut qb = Builder::new(select);
    push_in(&mut qb, "contacts.id", ids.iter().copied());
    qb.push(format_args!(" AND {} IS NULL AND ", unindexed("contacts.deleted_at")));
    push_book_of_named(&mut qb, book);
    push_visible(&mut qb, "contacts", None);
    Some(qb)
}

/// The tenant key of every contact query: the domain and the book's owner (none for shared).
pub(super) fn push_book(qb: &mut Builder, book: Book) {
    push_book_terms(qb, book, |column| column.to_string());
}

/// [`push_book`] for a query that names its contacts by id: the book's terms are kept
/// from choosing an index (`unindexed`), as a planner without statistics would rather
/// walk every contact of the book through them than look the ids up.
pub(super) fn push_book_of_named(qb: &mut Builder, book: Book) {
    push_book_terms(qb, book, unindexed);
}

fn push_book_terms(qb: &mut Builder, book: Book, column: fn(&str) -> String) {
    qb.push(format_args!("{} = ", column("contacts.domain_id"))).push_bind(book.domain_id());
    let owner = column("contacts.owner_user_id");
    match book.owner_id() {
        None => qb.push(format_args!(" AND {owner} IS NULL")),
        Some(owner_id) => qb.push(format_args!(" AND {owner} = ")).push_bind(owner_id),
    };
}

fn push_live_contact(qb: &mut Builder, book: Book, id: Uuid) {
    qb.push(" WHERE contacts.id = ").push_bind(id).push(" AND ");
    push_book(qb, book);
    qb.push(" AND contacts.deleted_at IS NULL");
    push_visible(qb, "contacts", None);
}

/// Leaves out the rows of imports not yet committed (see `import_queries.rs`), except
/// those of the import `own`, which sees its own writes.
pub(super) fn push_visible(qb: &mut Builder, table: &str, own: Option<Uuid>) {
    qb.push(format_args!(" AND ({table}.import_id IS NULL"));
    if let Some(own) = own {
        qb.push(format_args!(" OR {table}.import_id = ")).push_bind(own);
    }
    qb.push(format_args!(" OR {table}.import_id NOT IN (SELECT id FROM pending_imports))"));
}

/// After an update matched nothing: the contact is absent (or trashed), or at another version.
pub(super) async fn why_not_updated(tx: &mut Tx, book: Book, id: Uuid) -> Result<StoreError> {
    let mut qb = Builder::new("SELECT version FROM contacts");
    push_live_contact(&mut qb, book, id);
    let version: Option<i64> = qb.build_query_scalar().fetch_optional(&mut **tx).await?;
    Ok(version.map_or(StoreError::NotFound, |current| StoreError::Stale { current }))
}

async fn finish_contact(mut tx: Tx, changes: &ChangeCache, row: &Row, audit: &AuditRecord) -> Result<Contact> {
    let contact = contact(row)?;
    // A created contact's record names it, as the feed needs (its id is made here).
    let audit = AuditRecord { target_id: audit.target_id.or(Some(contact.id)), ..audit.clone() };
    write_audit(&mut tx, changes, &audit).await?;
    tx.commit().await?;
    Ok(contact)
}

pub(super) fn contact(row: &Row) -> Result<Contact> {
    let domain_id = row.try_get("domain_id")?;
    let book = match row.try_get("owner_user_id")? {
        None => Book::Shared { domain_id },
        Some(owner_id) => Book::Personal { domain_id, owner_id },
    };
    let details: String = row.try_get("details")?;
    let mut details: ContactDetails =
        serde_json::from_str(&details).map_err(|e| decode_error(format!("contact details: {e}")))?;
    if details.phones.is_empty() {
        details.phones = phones_of_columns(&phones(row)?);
    }
    if details.emails.is_empty() {
        details.emails = emails_of_column(row.try_get("email")?);
    }
    let fields = ContactFields {
        first_name: row.try_get("first_name")?,
        last_name: row.try_get("last_name")?,
        company: row.try_get("company")?,
        title: row.try_get("title")?,
        department: details.department,
        name: details.name,
        phones: details.phones,
        emails: details.emails,
        addresses: details.addresses,
        urls: details.urls,
        dates: details.dates,
        ims: details.ims,
        notes: row.try_get("notes")?,
        extra: details.extra,
        kind: ContactKind::from_stored(&row.try_get::<String, _>("kind")?),
        members: details.members,
    };
    let deleted_at: Option<i64> = row.try_get("deleted_at")?;
    Ok(Contact {
        id: row.try_get("id")?,
        book,
        fields,
        version: row.try_get("version")?,
        created_at: time(row.try_get("created_at")?)?,
        updated_at: time(row.try_get("updated_at")?)?,
        deleted_at: deleted_at.map(time).transpose()?,
        has_photo: row.try_get("has_photo")?,
    })
}

pub(super) fn phones(row: &Row) -> Result<[(NumberKind, Option<PhoneNumber>); 4]> {
    let mut numbers = PHONE_COLUMNS.map(|(kind, _, _)| (kind, None));
    for ((_, typed, e164), (_, number)) in PHONE_COLUMNS.iter().zip(numbers.iter_mut()) {
        let typed: Option<String> = row.try_get(*typed)?;
        if let Some(typed) = typed {
            *number = Some(PhoneNumber::stored(typed, row.try_get(*e164)?));
        }
    }
    Ok(numbers)
}

/// Notes an import's changes in the feed: the contacts it `created` and those it
/// `changed` otherwise (see `record_new_and_changed`). They are all of one book, seen by
/// its owner or (shared) by everyone.
pub(super) async fn record_import(conn: &mut Conn, book: Book, created: &[Uuid], changed: &[Uuid]) -> Result<()> {
    let audience = book.owner_id().unwrap_or(Uuid::nil());
    record_new_and_changed(conn, book.domain_id(), audience, created, changed).await
}
