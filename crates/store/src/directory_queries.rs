//! The merged directory (coworkers, shared and personal contacts as one list), favorites, presence,
//! departments and sites: part of `queries.rs`, compiled once per back-end with it.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{Executor, Row as _};
use switchboard_core::contact::NumberKind;
use switchboard_core::model::{Book, DirectoryEntry, EntryKind, NumberView, Presence};
use switchboard_core::paging::Page;
use switchboard_core::text;
use uuid::Uuid;

use super::presence::{PRESENCE_COLUMNS, derive, expire_sessions, presence_of};
use super::{
    Backend, Builder, CONTACT_KEYS, Db, ENTRY_KEYS, Keys, Row, USER_KEYS, begin_write, mark_changed, now, page, phones,
    push_book, push_book_of_named, push_ids, push_order_limit, push_page, push_search, push_visible, record_for,
    record_users, walk_sort_index,
};
use crate::{DirectoryQuery, DirectoryStore, Group, ListQuery, PresenceTimers, Result};

#[async_trait]
impl DirectoryStore for Backend {
    async fn directory(&self, query: &DirectoryQuery) -> Result<Page<DirectoryEntry>> {
        let walk = walk_sort_index(&self.pool, &query.list).await?;
        let rows = directory_rows(&self.pool, query, Filter::default(), walk).await?;
        page(rows, &query.list, directory_entry)
    }

    async fn directory_starred(&self, query: &DirectoryQuery, starred: bool) -> Result<Page<DirectoryEntry>> {
        // A person's favorites are few: fetched by the favorites' key and sorted, rather
        // than found by walking the whole book in order.
        let walk = !starred && walk_sort_index(&self.pool, &query.list).await?;
        let rows =
            directory_rows(&self.pool, query, Filter { starred: Some(starred), ..Filter::default() }, walk).await?;
        page(rows, &query.list, directory_entry)
    }

    async fn directory_count(&self, query: &DirectoryQuery, cap: u32) -> Result<u64> {
        let kinds = query.kinds();
        if kinds.is_empty() {
            return Ok(0);
        }
        // Each branch stops after `cap + 1` rows, and so does their union.
        let limit = i64::from(cap) + 1;
        let mut qb = Builder::new("SELECT COUNT(*) FROM (SELECT id FROM (");
        for (i, kind) in kinds.into_iter().enumerate() {
            if i > 0 {
                qb.push(" UNION ALL ");
            }
            qb.push("SELECT id FROM (");
            push_filtered_branch(&mut qb, query, kind, &Filter::default());
            qb.push(" LIMIT ").push_bind(limit).push(format_args!(") AS branch{i}"));
        }
        qb.push(") AS entries LIMIT ").push_bind(limit).push(") AS counted");
        let count: i64 = qb.build_query_scalar().fetch_one(&self.pool).await?;
        Ok(u64::try_from(count).unwrap_or_default())
    }

    async fn directory_entry(
        &self,
        domain_id: Uuid,
        viewer_id: Uuid,
        include_shared: bool,
        include_own: bool,
        entry_id: Uuid,
    ) -> Result<Option<DirectoryEntry>> {
        let (group, list) = (Group::All, ListQuery::default());
        let query = DirectoryQuery { domain_id, viewer_id, include_shared, include_own, group, list };
        let only = Filter { only: Some(std::slice::from_ref(&entry_id)), ..Filter::default() };
        // A few ids are found by their primary keys, not by walking the sort index.
        let rows = directory_rows(&self.pool, &query, only, false).await?;
        rows.first().map(directory_entry).transpose()
    }

    async fn departments(&self, domain_id: Uuid) -> Result<Vec<String>> {
        let sql = "SELECT DISTINCT department FROM users WHERE domain_id = $1 AND listed AND department <> ''";
        listed_values(&self.pool, sql, domain_id).await
    }

    async fn sites(&self, domain_id: Uuid) -> Result<Vec<String>> {
        let sql = "SELECT DISTINCT site FROM users WHERE domain_id = $1 AND listed AND site <> ''";
        listed_values(&self.pool, sql, domain_id).await
    }

    async fn set_favorite(&self, user_id: Uuid, entry_id: Uuid, favorite: bool) -> Result<()> {
        let sql = if favorite {
            "INSERT INTO favorites (user_id, entry_id) VALUES ($1, $2) ON CONFLICT DO NOTHING"
        } else {
            "DELETE FROM favorites WHERE user_id = $1 AND entry_id = $2"
        };
        let mut tx = begin_write(&self.pool).await?;
        let changed = sqlx::query(sql).bind(user_id).bind(entry_id).execute(&mut *tx).await?.rows_affected();
        if changed > 0 {
            // A device bound to this user shows its favorites.
            let domain_id: Option<Uuid> = sqlx::query_scalar("SELECT domain_id FROM users WHERE id = $1")
                .bind(user_id)
                .fetch_optional(&mut *tx)
                .await?;
            mark_changed(&mut tx, &self.changes, domain_id).await?;
            if let Some(domain_id) = domain_id {
                record_for(&mut tx, domain_id, user_id, &[entry_id]).await?;
            }
        }
        Ok(tx.commit().await?)
    }

    async fn set_presence(&self, user_id: Uuid, presence: &Presence, timers: PresenceTimers) -> Result<()> {
        let at = now();
        let mut tx = begin_write(&self.pool).await?;
        sqlx::query(
            "INSERT INTO presence (user_id, state, chat, message, updated_at, message_until, busy_until, \
             manual_state, manual_chat) VALUES ($1, $2, $3, $4, $5, $6, $7, $2, $3) \
             ON CONFLICT (user_id) DO UPDATE SET manual_state = excluded.manual_state, \
             manual_chat = excluded.manual_chat, message = excluded.message, updated_at = excluded.updated_at, \
             message_until = excluded.message_until, busy_until = excluded.busy_until",
        )
        .bind(user_id)
        .bind(presence.state.as_str())
        .bind(presence.chat)
        .bind(&presence.message)
        .bind(at)
        .bind(timers.message_until.map(|at| at.timestamp_micros()))
        .bind(timers.busy_until.map(|at| at.timestamp_micros()))
        .execute(&mut *tx)
        .await?;
        derive(&mut tx, &[user_id], at).await?;
        // The message may have changed without the state.
        record_users(&mut tx, &[user_id]).await?;
        Ok(tx.commit().await?)
    }

    async fn expire_presence(&self, at: DateTime<Utc>, idle_before: DateTime<Utc>) -> Result<Vec<(Uuid, Uuid)>> {
        let at = at.timestamp_micros();
        let mut tx = begin_write(&self.pool).await?;
        let mut changed: Vec<Uuid> = sqlx::query_scalar(
            "UPDATE presence SET message = '', message_until = NULL, updated_at = $1 \
             WHERE message_until IS NOT NULL AND message_until <= $1 RETURNING user_id",
        )
        .bind(at)
        .fetch_all(&mut *tx)
        .await?;
        // A "busy" set by hand ends as "available" set by hand: a busy line still shows.
        let mut touched: Vec<Uuid> = sqlx::query_scalar(
            "UPDATE presence SET manual_state = 'available', busy_until = NULL, updated_at = $1 \
             WHERE busy_until IS NOT NULL AND busy_until <= $1 RETURNING user_id",
        )
        .bind(at)
        .fetch_all(&mut *tx)
        .await?;
        touched.extend(expire_sessions(&mut tx, at, idle_before.timestamp_micros()).await?);
        touched.sort_unstable();
        touched.dedup();
        changed.extend(derive(&mut tx, &touched, at).await?);
        changed.sort_unstable();
        changed.dedup();
        // Those `derive` did not note: a message that ended.
        let changed = record_users(&mut tx, &changed).await?;
        tx.commit().await?;
        Ok(changed)
    }

    async fn presence(&self, user_id: Uuid) -> Result<Presence> {
        let row = sqlx::query(
            "SELECT state, chat, message, chat_away, manual_state, line_state FROM presence WHERE user_id = $1",
        )
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(Presence::default()) };
        presence_of(&row, "")
    }

    async fn favorites_among(&self, user_id: Uuid, entry_ids: &[Uuid]) -> Result<HashSet<Uuid>> {
        if entry_ids.is_empty() {
            return Ok(HashSet::new());
        }
        let mut qb = Builder::new("SELECT entry_id FROM favorites WHERE user_id = ");
        qb.push_bind(user_id).push(" AND entry_id IN (");
        push_ids(&mut qb, entry_ids);
        let ids: Vec<Uuid> = qb.build_query_scalar().fetch_all(&self.pool).await?;
        Ok(ids.into_iter().collect())
    }

    async fn presences(&self, user_ids: &[Uuid]) -> Result<HashMap<Uuid, Presence>> {
        if user_ids.is_empty() {
            return Ok(HashMap::new());
        }
        let mut qb = Builder::new(format!("SELECT user_id, {PRESENCE_COLUMNS} FROM presence WHERE user_id IN ("));
        push_ids(&mut qb, user_ids);
        let rows = qb.build().fetch_all(&self.pool).await?;
        rows.iter().map(|row| Ok((row.try_get("user_id")?, presence_of(row, "")?))).collect()
    }
}

/// What narrows the directory beyond its query: one entry, or the viewer's favorites
/// (or all but them).
#[derive(Default)]
pub(super) struct Filter<'a> {
    pub only: Option<&'a [Uuid]>,
    pub starred: Option<bool>,
    /// Groups too: the directory (users', phones', LDAP's) lists people and companies only;
    /// the feed tells a group's changes to its book's address-book apps.
    pub groups: bool,
}

/// Each branch of the union reads one index in the list's order and stops after a page,
/// so the merged first page costs three short index scans, however big the books are.
/// `walk` as for [`push_page`].
pub(super) async fn directory_rows<'c>(
    db: impl Executor<'c, Database = Db>,
    query: &DirectoryQuery,
    filter: Filter<'_>,
    walk: bool,
) -> Result<Vec<Row>> {
    let kinds = query.kinds();
    if kinds.is_empty() {
        return Ok(Vec::new());
    }
    let mut qb = Builder::new("SELECT * FROM (");
    for (i, kind) in kinds.into_iter().enumerate() {
        if i > 0 {
            qb.push(" UNION ALL ");
        }
        qb.push("SELECT * FROM (");
        push_filtered_branch(&mut qb, query, kind, &filter);
        push_page(&mut qb, &query.list, keys_of(kind), walk);
        qb.push(format_args!(") AS branch{i}"));
    }
    qb.push(") AS entries");
    push_order_limit(&mut qb, &query.list, &ENTRY_KEYS);
    Ok(qb.build().fetch_all(db).await?)
}

fn keys_of(kind: EntryKind) -> &'static Keys {
    if kind == EntryKind::Coworker { &USER_KEYS } else { &CONTACT_KEYS }
}

/// One kind's entries of the query, searched and filtered, without order or page.
fn push_filtered_branch(qb: &mut Builder, query: &DirectoryQuery, kind: EntryKind, filter: &Filter) {
    let by_id = filter.only.is_some();
    let table = match kind {
        EntryKind::Coworker => {
            push_coworkers(qb, query);
            "users"
        }
        EntryKind::Shared => {
            let book = Book::Shared { domain_id: query.domain_id };
            push_contact_entries(qb, query, "shared", book, by_id, filter.groups);
            "contacts"
        }
        EntryKind::Personal => {
            let book = Book::Personal { domain_id: query.domain_id, owner_id: query.viewer_id };
            push_contact_entries(qb, query, "personal", book, by_id, filter.groups);
            "contacts"
        }
    };
    if let Some(ids) = filter.only {
        qb.push(format_args!(" AND {table}.id IN ("));
        push_ids(qb, ids);
    }
    let starred = match (&query.group, filter.starred) {
        (Group::Favorites, Some(false)) => {
            // Favorites that are not favorites: nothing.
            qb.push(" AND 1 = 0");
            None
        }
        (Group::Favorites, _) => Some(true),
        (_, starred) => starred,
    };
    if let Some(starred) = starred {
        let not = if starred { "" } else { "NOT " };
        qb.push(format_args!(" AND {table}.id {not}IN (SELECT entry_id FROM favorites WHERE user_id = "));
        qb.push_bind(query.viewer_id).push(")");
    }
    if let Some(term) = &query.list.search {
        push_search(qb, table, term);
    }
}

pub(super) fn push_coworkers(qb: &mut Builder, query: &DirectoryQuery) {
    qb.push(
        "SELECT users.id AS id, 'coworker' AS kind, users.first_name AS first_name, users.last_name AS last_name, \
         '' AS company, '' AS title, users.extension AS extension, \
         CAST(NULL AS TEXT) AS work_phone, CAST(NULL AS TEXT) AS work_phone_e164, \
         CAST(NULL AS TEXT) AS mobile_phone, CAST(NULL AS TEXT) AS mobile_phone_e164, \
         CAST(NULL AS TEXT) AS home_phone, CAST(NULL AS TEXT) AS home_phone_e164, \
         CAST(NULL AS TEXT) AS fax, CAST(NULL AS TEXT) AS fax_e164, \
         users.email AS email, users.department AS department, users.site AS site, \
         COALESCE(presence.state, 'offline') AS presence_state, COALESCE(presence.chat, FALSE) AS presence_chat, \
         COALESCE(presence.message, '') AS presence_message, \
         COALESCE(presence.chat_away, FALSE) AS presence_chat_away, presence.manual_state AS presence_manual_state, \
         presence.line_state AS presence_line_state, \
         users.sort_key AS sort_key, users.updated_at AS updated_at, ",
    );
    push_favorite_flag(qb, "users", query.viewer_id);
    qb.push(" FROM users LEFT JOIN presence ON presence.user_id = users.id WHERE users.domain_id = ");
    qb.push_bind(query.domain_id).push(" AND users.listed AND users.id <> ").push_bind(query.viewer_id);
    match &query.group {
        Group::Department(department) => qb.push(" AND users.department = ").push_bind(department.clone()),
        Group::Site(site) => qb.push(" AND users.site = ").push_bind(site.clone()),
        Group::Presence(state) => qb.push(" AND COALESCE(presence.state, 'offline') = ").push_bind(state.as_str()),
        _ => qb,
    };
}

/// `by_id`: the query names its entries by id (see `push_book_of_named`). `groups`: groups
/// are entries too (see [`Filter::groups`]).
pub(super) fn push_contact_entries(
    qb: &mut Builder,
    query: &DirectoryQuery,
    kind: &str,
    book: Book,
    by_id: bool,
    groups: bool,
) {
    qb.push(format_args!(
        "SELECT contacts.id AS id, '{kind}' AS kind, contacts.first_name AS first_name, \
         contacts.last_name AS last_name, contacts.company AS company, contacts.title AS title, \
         CAST(NULL AS TEXT) AS extension, \
         contacts.work_phone AS work_phone, contacts.work_phone_e164 AS work_phone_e164, \
         contacts.mobile_phone AS mobile_phone, contacts.mobile_phone_e164 AS mobile_phone_e164, \
         contacts.home_phone AS home_phone, contacts.home_phone_e164 AS home_phone_e164, \
         contacts.fax AS fax, contacts.fax_e164 AS fax_e164, \
         contacts.email AS email, '' AS department, '' AS site, \
         CAST(NULL AS TEXT) AS presence_state, CAST(NULL AS BOOLEAN) AS presence_chat, \
         CAST(NULL AS TEXT) AS presence_message, CAST(NULL AS BOOLEAN) AS presence_chat_away, \
         CAST(NULL AS TEXT) AS presence_manual_state, CAST(NULL AS TEXT) AS presence_line_state, \
         contacts.sort_key AS sort_key, contacts.updated_at AS updated_at, "
    ));
    push_favorite_flag(qb, "contacts", query.viewer_id);
    qb.push(" FROM contacts WHERE ");
    match by_id {
        true => push_book_of_named(qb, book),
        false => push_book(qb, book),
    }
    qb.push(" AND contacts.deleted_at IS NULL");
    if !groups {
        qb.push(" AND contacts.kind <> 'group'");
    }
    push_visible(qb, "contacts", None);
}

fn push_favorite_flag(qb: &mut Builder, table: &str, viewer_id: Uuid) {
    qb.push("EXISTS (SELECT 1 FROM favorites WHERE favorites.user_id = ").push_bind(viewer_id);
    qb.push(format_args!(" AND favorites.entry_id = {table}.id) AS favorite"));
}

pub(super) fn directory_entry(row: &Row) -> Result<DirectoryEntry> {
    let kind = match row.try_get::<String, _>("kind")?.as_str() {
        "coworker" => EntryKind::Coworker,
        "shared" => EntryKind::Shared,
        _ => EntryKind::Personal,
    };
    let extension: Option<String> = row.try_get("extension")?;
    let numbers = match &extension {
        Some(extension) => vec![NumberView { kind: NumberKind::Extension, typed: extension.clone(), e164: None }],
        None => phones(row)?
            .into_iter()
            .filter_map(|(kind, number)| number.map(|n| NumberView { kind, typed: n.typed, e164: n.e164 }))
            .collect(),
    };
    let presence = match kind {
        EntryKind::Coworker => Some(presence_of(row, "presence_")?),
        _ => None,
    };
    Ok(DirectoryEntry {
        id: row.try_get("id")?,
        kind,
        first_name: row.try_get("first_name")?,
        last_name: row.try_get("last_name")?,
        company: row.try_get("company")?,
        title: row.try_get("title")?,
        extension,
        numbers,
        email: row.try_get("email")?,
        department: row.try_get("department")?,
        site: row.try_get("site")?,
        presence,
        favorite: row.try_get("favorite")?,
        editable: false,
    })
}

/// Distinct values of the listed users of a domain, in a case- and accent-blind order
/// that is the same on both back-ends (their collations differ).
async fn listed_values<'c>(
    db: impl Executor<'c, Database = Db>,
    sql: &'static str,
    domain_id: Uuid,
) -> Result<Vec<String>> {
    let mut values: Vec<String> = sqlx::query_scalar(sql).bind(domain_id).fetch_all(db).await?;
    values.sort_by_cached_key(|value| (text::fold(value), value.clone()));
    Ok(values)
}
