//! The store's SQL, written once and compiled once per back-end: `sqlite.rs` and
//! `postgres.rs` each include this file as a module beside their `Db` type, their
//! store type (`Backend`, which has a `pool`), `begin_write`, `push_search`, and how an
//! import inserts a batch (`insert_contact_rows`, `insert_audit_rows`) and its new
//! entries' feed rows (`insert_feed_rows`).
//! Everything here must read the same to SQLite and PostgreSQL: `$n` placeholders,
//! row-value comparisons, `ON CONFLICT`, `RETURNING`, ids bound as `Uuid`, times as
//! microseconds.

use std::str::FromStr;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use sqlx::{Encode, QueryBuilder, Row as _, Type};
use switchboard_core::paging::{Cursor, Page};
use switchboard_core::text::SearchTerm;
use uuid::Uuid;

#[allow(unused_imports, reason = "each back-end's bulk inserts take what they need")]
pub(super) use self::contacts::{CONTACT_VALUE_COLUMNS, ContactRow, INSERT_CHUNK};
use self::contacts::{
    DUPLICATE_CONTACT, PHONE_COLUMNS, contact, insert_created, insert_favorites, insert_more_numbers, live_contact_ids,
    live_contact_of_import, matching_contacts, phones, push_book, push_book_of_named, push_visible, record_import,
    split_changes, trash_live_contact_at, update_live_contact, why_not_updated,
};
use self::copy::{copy_table, insert_copy_rows};
use self::devices::device_with;
use self::directory::{Filter, directory_entry, directory_rows, push_contact_entries, push_coworkers};
use self::domains::domain;
use self::duplicates::survivors;
use self::feed::{record_entries, record_for, record_new_and_changed, record_users};
use self::photos::{carry_photo, upsert_photo};
use self::users::{fetch_user, user, user_with};
use super::{
    BYTE_ORDER, Backend, DETAIL_EMAIL, DETAIL_EMAILS, Db, JSON_ROWS, NO_OWNER, Pool, STAGED_IMPORTS, begin_write,
    begin_write_on, id_text, import_writes, insert_audit_rows, insert_contact_rows, insert_feed_rows, push_search,
    search_is_broad, unindexed,
};
use crate::changes::ChangeCache;
use crate::columns::contact_values;
use crate::{AuditRecord, ChangeStamp, Layer, ListQuery, Result, Store, StoreError};

pub(super) type Tx = sqlx::Transaction<'static, Db>;
pub(super) type Builder = QueryBuilder<Db>;
type Row = <Db as sqlx::Database>::Row;
type JsonRow = Map<String, Value>;
/// A statement with its arguments bound, owning them.
type Query = sqlx::query::Query<'static, Db, <Db as sqlx::Database>::Arguments>;

macro_rules! domain_select {
    () => {
        "SELECT domains.id, domains.name, domains.name AS sort_key, domains.description, domains.reseller_id, \
         resellers.name AS reseller, domains.created_at, domains.updated_at \
         FROM domains LEFT JOIN resellers ON resellers.id = domains.reseller_id"
    };
}

macro_rules! user_columns {
    () => {
        "id, domain_id, extension, first_name, last_name, email, department, site, scope, listed, version, \
         created_at, updated_at, sort_key"
    };
}

macro_rules! contact_columns {
    () => {
        "id, domain_id, owner_user_id, first_name, last_name, company, title, work_phone, work_phone_e164, \
         mobile_phone, mobile_phone_e164, home_phone, home_phone_e164, fax, fax_e164, email, notes, sort_key, \
         version, created_at, updated_at, deleted_at, details, kind, \
         EXISTS (SELECT 1 FROM contact_photos WHERE contact_photos.contact_id = contacts.id) AS has_photo"
    };
}

macro_rules! device_columns {
    () => {
        "id, domain_id, name, user_id, allowed_networks, created_at, last_used_at, revoked_at, created_by"
    };
}

macro_rules! token_columns {
    () => {
        "id, user_id, kind, name, created_at, expires_at"
    };
}

#[async_trait]
impl Store for Backend {
    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    fn pool_state(&self) -> (u32, u32) {
        let idle = u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX);
        (self.pool.size().saturating_sub(idle), idle)
    }

    async fn change_stamp(&self, domain_id: Uuid) -> Result<Option<ChangeStamp>> {
        let read_at = std::time::Instant::now();
        if let Some(stamp) = self.changes.recent(domain_id, read_at) {
            return Ok(Some(stamp));
        }
        let row: Option<(i64, i64)> = sqlx::query_as("SELECT change_seq, changed_at FROM domains WHERE id = $1")
            .bind(domain_id)
            .fetch_optional(&self.lookups)
            .await?;
        let stamp = row.map(|(seq, at)| Ok::<_, StoreError>(ChangeStamp { seq, at: time(at)? })).transpose()?;
        if let Some(stamp) = stamp {
            self.changes.read(domain_id, stamp, read_at);
        }
        Ok(stamp)
    }
}

fn now() -> i64 {
    Utc::now().timestamp_micros()
}

fn time(micros: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_micros(micros).ok_or_else(|| decode_error(format!("time out of range: {micros}")))
}

fn decode_error(message: String) -> StoreError {
    StoreError::Database(sqlx::Error::Decode(message.into()))
}

/// Replaces the database's wording of a unique violation with one a person understands.
fn conflict(message: impl Into<String>) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |error| match StoreError::from(error) {
        StoreError::Conflict(_) => StoreError::Conflict(message.into()),
        other => other,
    }
}

fn expect_one(rows_affected: u64) -> Result<()> {
    if rows_affected == 0 { Err(StoreError::NotFound) } else { Ok(()) }
}

fn parsed<T: FromStr<Err = String>>(row: &Row, column: &str) -> Result<T> {
    let text: String = row.try_get(column)?;
    text.parse().map_err(|error| decode_error(format!("{column}: {error}")))
}

async fn write_audit(tx: &mut sqlx::Transaction<'_, Db>, changes: &ChangeCache, audit: &AuditRecord) -> Result<()> {
    write_audits(tx, changes, std::slice::from_ref(audit)).await
}

/// Writes audit records in one statement, and marks their domains changed: every change
/// is audited, so this is the one place that keeps the change counters true.
async fn write_audits(tx: &mut sqlx::Transaction<'_, Db>, changes: &ChangeCache, audits: &[AuditRecord]) -> Result<()> {
    insert_audits(tx, audits).await?;
    let mut domains: Vec<Uuid> =
        audits.iter().filter(|audit| changes_books(&audit.action)).filter_map(|audit| audit.domain_id).collect();
    domains.sort_unstable();
    domains.dedup();
    for domain_id in domains {
        mark_changed(tx, changes, Some(domain_id)).await?;
        // What was changed is in the feed too: an audited change names its entry.
        let targets: Vec<Uuid> = audits
            .iter()
            .filter(|audit| audit.domain_id == Some(domain_id) && changes_books(&audit.action))
            .filter_map(|audit| audit.target_id)
            .collect();
        record_entries(tx, domain_id, &targets).await?;
    }
    Ok(())
}

/// Whether a change of this audited kind can change what a book shows. A device
/// credential is in no book (each request checks its own), so adding or revoking one
/// leaves every phone's cached book and the in-memory copy as they are; nor is a chat
/// message, a PBX credential, a webhook subscription or an app password.
fn changes_books(action: &str) -> bool {
    !["device.", "chat.", "pbx.", "webhook.", "app_password."].iter().any(|kind| action.starts_with(kind))
}

/// Bumps a domain's change counter (see [`ChangeStamp`]); the time never goes backwards.
/// The new value is the domain's floor in `changes` before the transaction commits.
async fn mark_changed(
    tx: &mut sqlx::Transaction<'_, Db>,
    changes: &ChangeCache,
    domain_id: Option<Uuid>,
) -> Result<()> {
    let Some(domain_id) = domain_id else { return Ok(()) };
    let seq: Option<i64> = sqlx::query_scalar(
        "UPDATE domains SET change_seq = change_seq + 1, \
         changed_at = CASE WHEN changed_at < $1 THEN $1 ELSE changed_at END WHERE id = $2 RETURNING change_seq",
    )
    .bind(now())
    .bind(domain_id)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(seq) = seq {
        changes.changing(domain_id, seq);
    }
    Ok(())
}

/// A system or reseller setting reaches every domain below it: mark those changed.
async fn mark_inheritors_changed(tx: &mut Tx, changes: &ChangeCache, layer: Layer) -> Result<()> {
    let (filter, reseller) = match layer {
        Layer::System => ("", None),
        Layer::Reseller(id) => (" WHERE reseller_id = $2", Some(id)),
        Layer::Domain(_) | Layer::Scope(..) | Layer::User(_) => return Ok(()),
    };
    let sql = format!(
        "UPDATE domains SET change_seq = change_seq + 1, \
         changed_at = CASE WHEN changed_at < $1 THEN $1 ELSE changed_at END{filter} RETURNING id, change_seq"
    );
    let mut query = sqlx::query_as::<_, (Uuid, i64)>(sqlx::AssertSqlSafe(sql)).bind(now());
    if let Some(id) = reseller {
        query = query.bind(id);
    }
    for (domain_id, seq) in query.fetch_all(&mut **tx).await? {
        changes.changing(domain_id, seq);
    }
    Ok(())
}

async fn insert_audits(tx: &mut sqlx::Transaction<'_, Db>, audits: &[AuditRecord]) -> Result<()> {
    let rows: Vec<&AuditRecord> = audits.iter().collect();
    insert_audits_of(tx, &rows, None).await
}

/// Writes audit records, marked with the import they belong to (see `push_visible`).
pub(super) async fn insert_audits_of(conn: &mut Conn, audits: &[&AuditRecord], import_id: Option<Uuid>) -> Result<()> {
    let mut qb =
        Builder::new("INSERT INTO audit_log (id, domain_id, at, actor, action, target_id, details, import_id) ");
    let at = now();
    qb.push_values(audits, |mut row, audit| {
        row.push_bind(Uuid::now_v7()).push_bind(audit.domain_id).push_bind(at).push_bind(audit.actor.clone());
        row.push_bind(audit.action.clone()).push_bind(audit.target_id).push_bind(audit.details.to_string());
        row.push_bind(import_id);
    });
    qb.build().execute(&mut *conn).await?;
    Ok(())
}

// Paging: every list selects `sort_key`, `updated_at` and `id`, and pages by keyset.

/// The columns a list is ordered by, as its query names them.
struct Keys {
    name: &'static str,
    updated: &'static str,
    id: &'static str,
}

const DOMAIN_KEYS: Keys = Keys { name: "domains.name", updated: "domains.updated_at", id: "domains.id" };
const USER_KEYS: Keys = Keys { name: "users.sort_key", updated: "users.updated_at", id: "users.id" };
const CONTACT_KEYS: Keys = Keys { name: "contacts.sort_key", updated: "contacts.updated_at", id: "contacts.id" };
const ENTRY_KEYS: Keys = Keys { name: "entries.sort_key", updated: "entries.updated_at", id: "entries.id" };

/// `walk_sort_index`: read rows in sort order from the sort index, testing each against
/// the search (fast when most rows match, or without a search), or else fetch the
/// search's matches from its index and sort them (fast when few match). Ordering by an
/// expression rather than the bare column keeps both planners from walking the index.
fn push_page(qb: &mut Builder, list: &ListQuery, keys: &Keys, walk_sort_index: bool) {
    push_after(qb, list, keys);
    push_order(qb, list, keys, walk_sort_index);
}

/// Whether a contacts list should walk its sort index (see [`push_page`]).
async fn walk_sort_index(pool: &Pool, list: &ListQuery) -> Result<bool> {
    match &list.search {
        None => Ok(true),
        Some(term) => search_is_broad(pool, term).await,
    }
}

fn push_after(qb: &mut Builder, list: &ListQuery, keys: &Keys) {
    let Some(after) = &list.after else { return };
    let op = if list.sort.descending() { "<" } else { ">" };
    if list.sort.by_name() {
        qb.push(format_args!(" AND ({}, {}) {op} (", keys.name, keys.id));
        qb.push_bind(after.key.clone().unwrap_or_default());
    } else {
        qb.push(format_args!(" AND ({}, {}) {op} (", keys.updated, keys.id));
        qb.push_bind(after.micros.unwrap_or_default());
    }
    qb.push(", ").push_bind(after.id).push(")");
}

/// Orders by the list's sort and fetches one row more than a page, to know whether another follows.
fn push_order_limit(qb: &mut Builder, list: &ListQuery, keys: &Keys) {
    push_order(qb, list, keys, true);
}

fn push_order(qb: &mut Builder, list: &ListQuery, keys: &Keys, by_index: bool) {
    let direction = if list.sort.descending() { " DESC" } else { "" };
    let key = match (list.sort.by_name(), by_index) {
        (true, true) => keys.name.to_string(),
        (true, false) => format!("({} || '')", keys.name),
        (false, true) => keys.updated.to_string(),
        (false, false) => format!("({} + 0)", keys.updated),
    };
    qb.push(format_args!(" ORDER BY {key}{direction}, {}{direction} LIMIT ", keys.id));
    qb.push_bind(i64::from(list.limit.get()) + 1);
}

fn page<T>(rows: Vec<Row>, list: &ListQuery, item: impl Fn(&Row) -> Result<T>) -> Result<Page<T>> {
    let limit = list.limit.get() as usize;
    let next_cursor = match rows.get(limit) {
        Some(_) => Some(cursor(&rows[limit - 1], list)?.encode()),
        None => None,
    };
    let items = rows.iter().take(limit).map(item).collect::<Result<_>>()?;
    Ok(Page { items, next_cursor })
}

fn cursor(row: &Row, list: &ListQuery) -> Result<Cursor> {
    let by_name = list.sort.by_name();
    Ok(Cursor {
        sort: list.sort,
        key: if by_name { Some(row.try_get("sort_key")?) } else { None },
        micros: if by_name { None } else { Some(row.try_get("updated_at")?) },
        id: row.try_get("id")?,
    })
}

/// `LIKE` over a folded text: the PostgreSQL search, and SQLite's for terms too short for trigrams.
pub(super) fn push_like(qb: &mut Builder, column: &str, term: &SearchTerm) {
    qb.push(format_args!(" AND {column} LIKE ")).push_bind(term.like_pattern()).push(" ESCAPE '\\'");
}

/// A connection, in a transaction or not.
pub(super) type Conn = <Db as sqlx::Database>::Connection;
/// `(VALUES ($1), ($2)…) AS wanted`, a list of values to join on, one index probe each.
fn push_wanted<'t, T: Encode<'t, Db> + Type<Db>>(qb: &mut Builder, values: impl IntoIterator<Item = T>) {
    qb.push("(");
    qb.push_values(values, |mut wanted, value| {
        wanted.push_bind(value);
    });
    qb.push(") AS wanted");
}

/// ` column IN ($1, $2…)`, a parameter per value: callers keep the values few, and not none.
fn push_in<'t, T: Encode<'t, Db> + Type<Db>>(qb: &mut Builder, column: &str, values: impl IntoIterator<Item = T>) {
    qb.push(format_args!(" {column} IN ("));
    let mut list = qb.separated(", ");
    for value in values {
        list.push_bind(value);
    }
    list.push_unseparated(")");
}

/// `id, id, …)`: the rest of an `IN (` list.
fn push_ids(qb: &mut Builder, ids: &[Uuid]) {
    let mut list = qb.separated(", ");
    for id in ids {
        list.push_bind(*id);
    }
    qb.push(")");
}

/// Deletes the row `id` of `table` that belongs to `owner` (by `owner_column`), with its
/// audit record naming it, in one transaction; false when there was no such row.
async fn delete_owned_row(
    pool: &Pool,
    changes: &ChangeCache,
    table: &'static str,
    owner_column: &'static str,
    (owner, id): (Uuid, Uuid),
    audit: AuditRecord,
) -> Result<bool> {
    let mut tx = begin_write(pool).await?;
    let deleted =
        sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table} WHERE {owner_column} = $1 AND id = $2")))
            .bind(owner)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    if deleted == 0 {
        return Ok(false);
    }
    write_audit(&mut tx, changes, &AuditRecord { target_id: Some(id), ..audit }).await?;
    tx.commit().await?;
    Ok(true)
}

// Each resource's SQL has its own file, compiled twice with this one.
#[path = "app_passwords_queries.rs"]
mod app_passwords;
#[path = "audit_queries.rs"]
mod audit;
#[path = "auth_queries.rs"]
mod auth;
#[path = "callerid_queries.rs"]
mod callerid;
#[path = "chat_queries.rs"]
mod chat;
#[path = "contacts_queries.rs"]
mod contacts;
#[path = "copy_queries.rs"]
mod copy;
#[path = "dav_queries.rs"]
mod dav;
#[path = "devices_queries.rs"]
mod devices;
#[path = "directory_queries.rs"]
mod directory;
#[path = "domains_queries.rs"]
mod domains;
#[path = "duplicates_queries.rs"]
mod duplicates;
#[path = "feed_queries.rs"]
mod feed;
#[path = "import_queries.rs"]
mod imports;
#[path = "phones_queries.rs"]
mod phones;
#[path = "photos_queries.rs"]
mod photos;
#[path = "presence_queries.rs"]
mod presence;
#[path = "settings_queries.rs"]
mod settings;
#[path = "user_trash_queries.rs"]
mod user_trash;
#[path = "users_queries.rs"]
mod users;
#[path = "webhooks_queries.rs"]
mod webhooks;
