//! The store's SQL, written once and compiled once per back-end: `sqlite.rs` and
//! `postgres.rs` each include this file as a module beside their `Db` type, their
//! store type (`Backend`, which has a `pool`), `begin_write` and `push_search`.
//! Everything here must read the same to SQLite and PostgreSQL: `$n` placeholders,
//! row-value comparisons, `ON CONFLICT`, `RETURNING`, ids bound as `Uuid`, times as
//! microseconds.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::str::FromStr;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use sqlx::{Encode, Executor, QueryBuilder, Row as _, Type};
use switchboard_core::contact::{ContactFields, NumberKind};
use switchboard_core::model::{
    AuditEntry, Book, Contact, DirectoryEntry, Domain, EntryKind, NumberView, Presence, PresenceState, Reseller, Token,
    TokenKind, User,
};
use switchboard_core::paging::{Cursor, Limit, Page};
use switchboard_core::text::{self, SearchTerm};
use switchboard_core::{DomainName, Extension, PhoneNumber};
use uuid::Uuid;

use super::{Backend, Db, NO_OWNER, Pool, STAGED_IMPORTS, begin_write, push_search, search_is_broad};
use crate::changes::ChangeCache;
use crate::{
    AuditFilter, AuditRecord, COPY_TABLES, ChangeStamp, CopyWriter, Device, DirectoryQuery, DomainPatch, Group,
    ImportChange, ImportWriter, Layer, ListQuery, LoginFailures, NewDevice, NewDomain, NewToken, NewUser,
    PasswordChange, Result, RowKeys, Store, StoreError, TableCounts, TokenOwner, UserFilter, UserPatch,
};

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
         version, created_at, updated_at, deleted_at"
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

const DUPLICATE_CONTACT: &str = "an identical contact (same names and numbers) is already in this book";

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

    async fn create_reseller(&self, name: &str) -> Result<Reseller> {
        let id = Uuid::now_v7();
        sqlx::query("INSERT INTO resellers (id, name) VALUES ($1, $2)")
            .bind(id)
            .bind(name)
            .execute(&self.pool)
            .await
            .map_err(conflict(format!("a reseller named `{name}` already exists")))?;
        Ok(Reseller { id, name: name.to_string() })
    }

    async fn reseller_by_name(&self, name: &str) -> Result<Option<Reseller>> {
        let row =
            sqlx::query("SELECT id, name FROM resellers WHERE name = $1").bind(name).fetch_optional(&self.pool).await?;
        row.map(|row| Ok(Reseller { id: row.try_get("id")?, name: row.try_get("name")? })).transpose()
    }

    async fn create_domain(&self, new: NewDomain, audit: AuditRecord) -> Result<Domain> {
        let mut tx = begin_write(&self.pool).await?;
        let id = Uuid::now_v7();
        let now = now();
        sqlx::query(
            "INSERT INTO domains (id, name, description, reseller_id, created_at, updated_at, changed_at) \
             VALUES ($1, $2, $3, $4, $5, $5, $5)",
        )
        .bind(id)
        .bind(new.name.as_str())
        .bind(&new.description)
        .bind(new.reseller_id)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(conflict(format!("the domain `{}` already exists", new.name)))?;
        finish_domain(tx, &self.changes, id, &audit).await
    }

    async fn domain_by_name(&self, name: &DomainName) -> Result<Option<Domain>> {
        let row = sqlx::query(concat!(domain_select!(), " WHERE domains.name = $1"))
            .bind(name.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(domain).transpose()
    }

    async fn domain_by_id(&self, id: Uuid) -> Result<Option<Domain>> {
        fetch_domain(&self.pool, id).await
    }

    async fn list_domains(&self, reseller_id: Option<Uuid>, list: &ListQuery) -> Result<Page<Domain>> {
        let mut qb = Builder::new(concat!(domain_select!(), " WHERE TRUE"));
        if let Some(reseller_id) = reseller_id {
            qb.push(" AND domains.reseller_id = ").push_bind(reseller_id);
        }
        if let Some(term) = &list.search {
            push_like(&mut qb, "domains.name", term);
        }
        push_page(&mut qb, list, &DOMAIN_KEYS, list.search.is_none());
        page(qb.build().fetch_all(&self.pool).await?, list, domain)
    }

    async fn update_domain(&self, id: Uuid, patch: DomainPatch, audit: AuditRecord) -> Result<Domain> {
        let mut tx = begin_write(&self.pool).await?;
        let mut qb = Builder::new("UPDATE domains SET updated_at = ");
        qb.push_bind(now());
        if let Some(description) = patch.description {
            qb.push(", description = ").push_bind(description);
        }
        if let Some(reseller_id) = patch.reseller_id {
            qb.push(", reseller_id = ").push_bind(reseller_id);
        }
        qb.push(" WHERE id = ").push_bind(id);
        expect_one(qb.build().execute(&mut *tx).await?.rows_affected())?;
        finish_domain(tx, &self.changes, id, &audit).await
    }

    async fn delete_domain(&self, id: Uuid, audit: AuditRecord) -> Result<()> {
        let mut tx = begin_write(&self.pool).await?;
        let deleted = sqlx::query("DELETE FROM domains WHERE id = $1").bind(id).execute(&mut *tx).await?;
        expect_one(deleted.rows_affected())?;
        write_audit(&mut tx, &self.changes, &audit).await?;
        Ok(tx.commit().await?)
    }

    async fn create_user(&self, new: NewUser, audit: AuditRecord) -> Result<User> {
        let mut tx = begin_write(&self.pool).await?;
        let (sort_key, search_text) = user_keys(&new.first_name, &new.last_name, &new.email, &new.extension);
        let row = sqlx::query(concat!(
            "INSERT INTO users (id, domain_id, extension, first_name, last_name, email, department, site, scope, \
             listed, password_hash, version, created_at, updated_at, sort_key, search_text) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1, $12, $12, $13, $14) RETURNING ",
            user_columns!()
        ))
        .bind(Uuid::now_v7())
        .bind(new.domain_id)
        .bind(new.extension.as_str())
        .bind(&new.first_name)
        .bind(&new.last_name)
        .bind(&new.email)
        .bind(&new.department)
        .bind(&new.site)
        .bind(new.scope.as_str())
        .bind(new.listed)
        .bind(&new.password_hash)
        .bind(now())
        .bind(sort_key)
        .bind(search_text)
        .fetch_one(&mut *tx)
        .await
        .map_err(conflict(format!("extension {} is already taken in this domain", new.extension)))?;
        write_audit(&mut tx, &self.changes, &audit).await?;
        tx.commit().await?;
        user(&row)
    }

    async fn user_by_extension(&self, domain_id: Uuid, ext: &Extension) -> Result<Option<User>> {
        let row =
            sqlx::query(concat!("SELECT ", user_columns!(), " FROM users WHERE domain_id = $1 AND extension = $2"))
                .bind(domain_id)
                .bind(ext.as_str())
                .fetch_optional(&self.pool)
                .await?;
        row.as_ref().map(user).transpose()
    }

    async fn user_by_id(&self, id: Uuid) -> Result<Option<User>> {
        fetch_user(&self.pool, id).await
    }

    async fn list_users(&self, domain_id: Uuid, filter: &UserFilter, list: &ListQuery) -> Result<Page<User>> {
        let mut qb = Builder::new(concat!("SELECT ", user_columns!(), " FROM users WHERE users.domain_id = "));
        qb.push_bind(domain_id);
        if let Some(site) = &filter.site {
            qb.push(" AND users.site = ").push_bind(site.clone());
        }
        if let Some(scope) = filter.scope {
            qb.push(" AND users.scope = ").push_bind(scope.as_str());
        }
        if let Some(term) = &list.search {
            push_search(&mut qb, "users", term);
        }
        push_page(&mut qb, list, &USER_KEYS, list.search.is_none());
        page(qb.build().fetch_all(&self.pool).await?, list, user)
    }

    async fn update_user(
        &self,
        id: Uuid,
        expected_version: Option<i64>,
        patch: UserPatch,
        audit: AuditRecord,
    ) -> Result<User> {
        let mut tx = begin_write(&self.pool).await?;
        let current = fetch_user(&mut *tx, id).await?.ok_or(StoreError::NotFound)?;
        if let Some(expected) = expected_version
            && expected != current.version
        {
            return Err(StoreError::Stale { current: current.version });
        }
        let password = patch.password.clone();
        let row = write_user(&mut tx, patched(current, patch)).await?;
        if let Some(change) = password {
            write_password(&mut tx, id, &change).await?;
            write_audit(&mut tx, &self.changes, &change.audit).await?;
        }
        write_audit(&mut tx, &self.changes, &audit).await?;
        tx.commit().await?;
        user(&row)
    }

    async fn password_hash(&self, user_id: Uuid) -> Result<Option<String>> {
        Ok(sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn set_password_hash(&self, user_id: Uuid, hash: &str, audit: AuditRecord) -> Result<()> {
        let update = sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2").bind(hash.to_string());
        self.update_one_user(update.bind(user_id), audit).await
    }

    async fn own_contacts_on_phones(&self, user_id: Uuid) -> Result<bool> {
        let on: Option<bool> = sqlx::query_scalar("SELECT own_contacts_on_phones FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await?;
        on.ok_or(StoreError::NotFound)
    }

    async fn set_own_contacts_on_phones(&self, user_id: Uuid, on: bool, audit: AuditRecord) -> Result<()> {
        let update = sqlx::query("UPDATE users SET own_contacts_on_phones = $1 WHERE id = $2").bind(on);
        self.update_one_user(update.bind(user_id), audit).await
    }

    async fn create_contact(&self, book: Book, fields: ContactFields, audit: AuditRecord) -> Result<Contact> {
        let mut tx = begin_write(&self.pool).await?;
        let row = insert_contact(&mut tx, book, &fields).await?;
        finish_contact(tx, &self.changes, &row, &audit).await
    }

    async fn begin_import(&self, book: Book) -> Result<Box<dyn ImportWriter>> {
        if STAGED_IMPORTS {
            return Ok(Box::new(imports::StagedImport::begin(&self.pool, book, self.changes.clone()).await?));
        }
        let tx = begin_write(&self.pool).await?;
        Ok(Box::new(ImportTx { tx, book, changes: self.changes.clone() }))
    }

    async fn discard_pending_imports(&self, idle_since: Option<DateTime<Utc>>) -> Result<u64> {
        imports::discard_pending(&self.pool, idle_since).await
    }

    async fn contact(&self, book: Book, id: Uuid) -> Result<Option<Contact>> {
        let mut qb = Builder::new(concat!("SELECT ", contact_columns!(), " FROM contacts WHERE contacts.id = "));
        qb.push_bind(id).push(" AND ");
        push_book(&mut qb, book);
        push_visible(&mut qb, "contacts", None);
        qb.build().fetch_optional(&self.pool).await?.as_ref().map(contact).transpose()
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

    async fn directory(&self, query: &DirectoryQuery) -> Result<Page<DirectoryEntry>> {
        let walk = walk_sort_index(&self.pool, &query.list).await?;
        let rows = directory_rows(&self.pool, query, None, walk).await?;
        page(rows, &query.list, directory_entry)
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
        let rows = directory_rows(&self.pool, &query, Some(entry_id), true).await?;
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
        }
        Ok(tx.commit().await?)
    }

    async fn set_presence(&self, user_id: Uuid, presence: &Presence) -> Result<()> {
        sqlx::query(
            "INSERT INTO presence (user_id, state, chat, message, updated_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (user_id) DO UPDATE SET state = excluded.state, chat = excluded.chat, \
             message = excluded.message, updated_at = excluded.updated_at",
        )
        .bind(user_id)
        .bind(presence.state.as_str())
        .bind(presence.chat)
        .bind(&presence.message)
        .bind(now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn presence(&self, user_id: Uuid) -> Result<Presence> {
        let row = sqlx::query("SELECT state, chat, message FROM presence WHERE user_id = $1")
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(Presence::default()) };
        Ok(Presence {
            state: presence_state(row.try_get("state")?),
            chat: row.try_get("chat")?,
            message: row.try_get("message")?,
        })
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
        let mut qb = Builder::new("SELECT user_id, state, chat, message FROM presence WHERE user_id IN (");
        push_ids(&mut qb, user_ids);
        let rows = qb.build().fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                let presence = Presence {
                    state: presence_state(row.try_get("state")?),
                    chat: row.try_get("chat")?,
                    message: row.try_get("message")?,
                };
                Ok((row.try_get("user_id")?, presence))
            })
            .collect()
    }

    async fn settings(&self, layer: Layer) -> Result<BTreeMap<String, String>> {
        let (kind, owner) = layer_key(layer);
        let pairs: Vec<(String, String)> =
            sqlx::query_as("SELECT key, value FROM settings WHERE layer = $1 AND owner = $2")
                .bind(kind)
                .bind(owner)
                .fetch_all(&self.pool)
                .await?;
        Ok(pairs.into_iter().collect())
    }

    async fn settings_layers(&self, layers: &[Layer]) -> Result<Vec<BTreeMap<String, String>>> {
        let keys: Vec<(&str, String)> = layers.iter().map(|layer| layer_key(*layer)).collect();
        let mut qb = Builder::new("SELECT layer, owner, key, value FROM settings WHERE false");
        for (kind, owner) in &keys {
            qb.push(" OR (layer = ").push_bind(*kind).push(" AND owner = ").push_bind(owner.clone()).push(")");
        }
        let rows: Vec<(String, String, String, String)> = qb.build_query_as().fetch_all(&self.pool).await?;
        let mut maps = vec![BTreeMap::new(); keys.len()];
        for (kind, owner, key, value) in rows {
            if let Some(i) = keys.iter().position(|(k, o)| *k == kind && *o == owner) {
                maps[i].insert(key, value);
            }
        }
        Ok(maps)
    }

    async fn put_settings(
        &self,
        layer: Layer,
        changes: &BTreeMap<String, Option<String>>,
        audit: AuditRecord,
    ) -> Result<()> {
        let mut tx = begin_write(&self.pool).await?;
        for (key, value) in changes {
            match value {
                Some(value) => put_setting(&mut tx, layer, key, value).await?,
                None => remove_setting(&mut tx, layer, key).await?,
            }
        }
        mark_inheritors_changed(&mut tx, &self.changes, layer).await?;
        write_audit(&mut tx, &self.changes, &audit).await?;
        Ok(tx.commit().await?)
    }

    async fn list_audit(
        &self,
        domain_id: Uuid,
        filter: &AuditFilter,
        limit: Limit,
        before: Option<Uuid>,
    ) -> Result<Page<AuditEntry>> {
        let fetch = i64::from(limit.get()) + 1;
        let mut qb = Builder::new("");
        match filter.actions.as_slice() {
            [] => push_audit_select(&mut qb, domain_id, filter, None, before, fetch),
            [action] => push_audit_select(&mut qb, domain_id, filter, Some(action), before, fetch),
            // One index walk per action, each stopping after a page, then merged: no
            // sort of every entry of those actions.
            actions => {
                qb.push("SELECT * FROM (");
                for (i, action) in actions.iter().enumerate() {
                    if i > 0 {
                        qb.push(" UNION ALL ");
                    }
                    qb.push("SELECT * FROM (");
                    push_audit_select(&mut qb, domain_id, filter, Some(action), before, fetch);
                    qb.push(format!(") AS action_{i}"));
                }
                qb.push(") AS picked ORDER BY id DESC LIMIT ").push_bind(fetch);
            }
        }
        let rows = qb.build().fetch_all(&self.pool).await?;
        let mut items = rows.iter().map(audit_entry).collect::<Result<Vec<_>>>()?;
        let more = items.len() > limit.get() as usize;
        items.truncate(limit.get() as usize);
        let next_cursor = if more { items.last().map(|entry| entry.id.to_string()) } else { None };
        Ok(Page { items, next_cursor })
    }

    async fn create_token(&self, new: NewToken) -> Result<Token> {
        let row = sqlx::query(concat!(
            "INSERT INTO tokens (id, user_id, kind, name, secret_hash, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ",
            token_columns!()
        ))
        .bind(Uuid::now_v7())
        .bind(new.user_id)
        .bind(token_kind_str(new.kind))
        .bind(&new.name)
        .bind(&new.secret_hash)
        .bind(now())
        .bind(new.expires_at.map(|at| at.timestamp_micros()))
        .fetch_one(&self.pool)
        .await
        .map_err(conflict("a token with this secret already exists"))?;
        token(&row)
    }

    async fn token_by_secret_hash(&self, secret_hash: &str, now: DateTime<Utc>) -> Result<Option<Token>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            token_columns!(),
            " FROM tokens WHERE secret_hash = $1 AND (expires_at IS NULL OR expires_at > $2)"
        ))
        .bind(secret_hash)
        .bind(now.timestamp_micros())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(token).transpose()
    }

    async fn token_owner_by_secret_hash(&self, secret_hash: &str, now: DateTime<Utc>) -> Result<Option<TokenOwner>> {
        let row = sqlx::query(
            "SELECT users.id, users.domain_id, users.extension, users.first_name, users.last_name, users.email, \
             users.department, users.site, users.scope, users.listed, users.version, users.created_at, \
             users.updated_at, \
             tokens.id AS token_id, tokens.user_id AS token_user_id, tokens.kind AS token_kind, \
             tokens.name AS token_name, tokens.created_at AS token_created_at, \
             tokens.expires_at AS token_expires_at, \
             domains.name AS domain_name, domains.description AS domain_description, \
             domains.reseller_id AS domain_reseller_id, resellers.name AS domain_reseller, \
             domains.created_at AS domain_created_at, domains.updated_at AS domain_updated_at \
             FROM tokens JOIN users ON users.id = tokens.user_id \
             JOIN domains ON domains.id = users.domain_id \
             LEFT JOIN resellers ON resellers.id = domains.reseller_id \
             WHERE tokens.secret_hash = $1 AND (tokens.expires_at IS NULL OR tokens.expires_at > $2)",
        )
        .bind(secret_hash)
        .bind(now.timestamp_micros())
        .fetch_optional(&self.lookups)
        .await?;
        row.as_ref().map(token_owner).transpose()
    }

    async fn list_tokens(&self, user_id: Uuid, kind: TokenKind) -> Result<Vec<Token>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            token_columns!(),
            " FROM tokens WHERE user_id = $1 AND kind = $2 ORDER BY id"
        ))
        .bind(user_id)
        .bind(token_kind_str(kind))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(token).collect()
    }

    async fn delete_user_tokens(&self, user_id: Uuid) -> Result<u64> {
        let deleted = sqlx::query("DELETE FROM tokens WHERE user_id = $1").bind(user_id).execute(&self.pool).await?;
        Ok(deleted.rows_affected())
    }

    async fn delete_token(&self, user_id: Uuid, token_id: Uuid) -> Result<bool> {
        let deleted = sqlx::query("DELETE FROM tokens WHERE id = $1 AND user_id = $2")
            .bind(token_id)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(deleted.rows_affected() > 0)
    }

    async fn create_device(&self, new: NewDevice, audit: AuditRecord) -> Result<Device> {
        let mut tx = begin_write(&self.pool).await?;
        let row = sqlx::query(concat!(
            "INSERT INTO devices (id, domain_id, name, user_id, allowed_networks, token_hash, password_hash, \
             created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ",
            device_columns!()
        ))
        .bind(Uuid::now_v7())
        .bind(new.domain_id)
        .bind(&new.name)
        .bind(new.user_id)
        .bind(new.allowed_networks.join(","))
        .bind(&new.token_hash)
        .bind(&new.password_hash)
        .bind(now())
        .bind(new.created_by)
        .fetch_one(&mut *tx)
        .await?;
        let device = device(&row)?;
        write_audit(&mut tx, &self.changes, &AuditRecord { target_id: Some(device.id), ..audit }).await?;
        tx.commit().await?;
        Ok(device)
    }

    async fn device(&self, domain_id: Uuid, id: Uuid) -> Result<Option<Device>> {
        let sql = concat!("SELECT ", device_columns!(), " FROM devices WHERE domain_id = $1 AND id = $2");
        let row = sqlx::query(sql).bind(domain_id).bind(id).fetch_optional(&self.pool).await?;
        row.as_ref().map(device).transpose()
    }

    async fn list_devices(&self, domain_id: Uuid, limit: Limit, after: Option<Uuid>) -> Result<Page<Device>> {
        let mut qb = Builder::new(concat!("SELECT ", device_columns!(), " FROM devices WHERE domain_id = "));
        qb.push_bind(domain_id);
        if let Some(after) = after {
            qb.push(" AND id > ").push_bind(after);
        }
        qb.push(" ORDER BY id LIMIT ").push_bind(i64::from(limit.get()) + 1);
        let rows = qb.build().fetch_all(&self.pool).await?;
        let mut items = rows.iter().map(device).collect::<Result<Vec<_>>>()?;
        let more = items.len() > limit.get() as usize;
        items.truncate(limit.get() as usize);
        let next_cursor = if more { items.last().map(|last| last.id.to_string()) } else { None };
        Ok(Page { items, next_cursor })
    }

    async fn revoke_device(&self, domain_id: Uuid, id: Uuid, audit: AuditRecord) -> Result<Device> {
        let mut tx = begin_write(&self.pool).await?;
        let revoked =
            sqlx::query("UPDATE devices SET revoked_at = $1 WHERE domain_id = $2 AND id = $3 AND revoked_at IS NULL")
                .bind(now())
                .bind(domain_id)
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        let sql = concat!("SELECT ", device_columns!(), " FROM devices WHERE domain_id = $1 AND id = $2");
        let row = sqlx::query(sql).bind(domain_id).bind(id).fetch_optional(&mut *tx).await?;
        let device = row.as_ref().map(device).transpose()?.ok_or(StoreError::NotFound)?;
        if revoked > 0 {
            write_audit(&mut tx, &self.changes, &audit).await?;
        }
        tx.commit().await?;
        Ok(device)
    }

    async fn touch_device(&self, id: Uuid, at: DateTime<Utc>) -> Result<()> {
        sqlx::query("UPDATE devices SET last_used_at = $1 WHERE id = $2")
            .bind(at.timestamp_micros())
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
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

    async fn login_failures(&self, key: &str) -> Result<LoginFailures> {
        let row = sqlx::query("SELECT count, last_failure FROM login_failures WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(login_failures).transpose().map(Option::unwrap_or_default)
    }

    async fn record_login_failure(&self, key: &str, at: DateTime<Utc>) -> Result<LoginFailures> {
        let row = sqlx::query(
            "INSERT INTO login_failures (key, count, last_failure) VALUES ($1, 1, $2) \
             ON CONFLICT (key) DO UPDATE SET count = login_failures.count + 1, last_failure = excluded.last_failure \
             RETURNING count, last_failure",
        )
        .bind(key)
        .bind(at.timestamp_micros())
        .fetch_one(&self.pool)
        .await?;
        login_failures(&row)
    }

    async fn clear_login_failures(&self, key: &str) -> Result<()> {
        sqlx::query("DELETE FROM login_failures WHERE key = $1").bind(key).execute(&self.pool).await?;
        Ok(())
    }

    async fn count_login_failure(
        &self,
        key: &str,
        at: DateTime<Utc>,
        window_start: DateTime<Utc>,
    ) -> Result<LoginFailures> {
        let row = sqlx::query(
            "INSERT INTO login_failures (key, count, last_failure) VALUES ($1, 1, $2) \
             ON CONFLICT (key) DO UPDATE SET \
             count = CASE WHEN login_failures.last_failure < $3 THEN 1 ELSE login_failures.count + 1 END, \
             last_failure = excluded.last_failure \
             RETURNING count, last_failure",
        )
        .bind(key)
        .bind(at.timestamp_micros())
        .bind(window_start.timestamp_micros())
        .fetch_one(&self.pool)
        .await?;
        login_failures(&row)
    }

    async fn forgive_login_failure(&self, key: &str) -> Result<()> {
        sqlx::query("UPDATE login_failures SET count = count - 1 WHERE key = $1 AND count > 0")
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn purge_login_failures(&self, before: DateTime<Utc>) -> Result<u64> {
        let purged = sqlx::query("DELETE FROM login_failures WHERE last_failure < $1")
            .bind(before.timestamp_micros())
            .execute(&self.pool)
            .await?;
        Ok(purged.rows_affected())
    }

    async fn purge_expired_tokens(&self, now: DateTime<Utc>) -> Result<u64> {
        let purged = sqlx::query("DELETE FROM tokens WHERE expires_at IS NOT NULL AND expires_at <= $1")
            .bind(now.timestamp_micros())
            .execute(&self.pool)
            .await?;
        Ok(purged.rows_affected())
    }

    async fn table_counts(&self) -> Result<TableCounts> {
        let mut conn = self.pool.acquire().await?;
        count_rows(&mut conn).await
    }

    async fn export_rows(&self, table: &str, offset: i64, limit: i64) -> Result<Vec<JsonRow>> {
        let table = copy_table(table)?;
        let sql = format!(
            "SELECT {} FROM {}{} ORDER BY {} LIMIT $1 OFFSET $2",
            table.column_list(),
            table.name,
            copied_rows(table.name),
            table.key
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(limit).bind(offset).fetch_all(&self.pool).await?;
        rows.iter().map(|row| table.to_json(row)).collect()
    }

    async fn import_rows(&self, table: &str, rows: &[JsonRow]) -> Result<()> {
        let mut copy = self.begin_copy().await?;
        copy.insert_rows(table, rows).await?;
        copy.commit().await
    }

    async fn begin_copy(&self) -> Result<Box<dyn CopyWriter>> {
        Ok(Box::new(CopyTx { tx: begin_write(&self.pool).await? }))
    }
}

/// `db copy`'s one transaction on the receiving database.
struct CopyTx {
    tx: Tx,
}

#[async_trait]
impl CopyWriter for CopyTx {
    async fn insert_rows(&mut self, table: &str, rows: &[JsonRow]) -> Result<()> {
        insert_copy_rows(&mut self.tx, copy_table(table)?, rows).await
    }

    async fn table_counts(&mut self) -> Result<TableCounts> {
        count_rows(&mut self.tx).await
    }

    async fn commit(self: Box<Self>) -> Result<()> {
        Ok(self.tx.commit().await?)
    }
}

async fn count_rows(conn: &mut <Db as sqlx::Database>::Connection) -> Result<TableCounts> {
    let mut counts = TableCounts::new();
    for table in COPY_TABLES {
        let sql = format!("SELECT COUNT(*) FROM {table}{}", copied_rows(table));
        let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_one(&mut *conn).await?;
        counts.insert(table.to_string(), count);
    }
    Ok(counts)
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

// Devices.

fn device(row: &Row) -> Result<Device> {
    device_with(row, "")
}

/// A device from columns named with `prefix` (a join reads several tables' `id`s).
fn device_with(row: &Row, prefix: &str) -> Result<Device> {
    let column = |name: &str| format!("{prefix}{name}");
    let networks: String = row.try_get(column("allowed_networks").as_str())?;
    let optional_time = |name: &str| -> Result<Option<DateTime<Utc>>> {
        row.try_get::<Option<i64>, _>(column(name).as_str())?.map(time).transpose()
    };
    Ok(Device {
        id: row.try_get(column("id").as_str())?,
        domain_id: row.try_get(column("domain_id").as_str())?,
        name: row.try_get(column("name").as_str())?,
        user_id: row.try_get(column("user_id").as_str())?,
        allowed_networks: networks.split(',').filter(|n| !n.is_empty()).map(str::to_string).collect(),
        created_at: time(row.try_get(column("created_at").as_str())?)?,
        last_used_at: optional_time("last_used_at")?,
        revoked_at: optional_time("revoked_at")?,
        created_by: row.try_get(column("created_by").as_str())?,
    })
}

fn expect_one(rows_affected: u64) -> Result<()> {
    if rows_affected == 0 { Err(StoreError::NotFound) } else { Ok(()) }
}

fn parsed<T: FromStr<Err = String>>(row: &Row, column: &str) -> Result<T> {
    let text: String = row.try_get(column)?;
    text.parse().map_err(|error| decode_error(format!("{column}: {error}")))
}

async fn write_audit(tx: &mut Tx, changes: &ChangeCache, audit: &AuditRecord) -> Result<()> {
    write_audits(tx, changes, std::slice::from_ref(audit)).await
}

/// Writes audit records in one statement, and marks their domains changed: every change
/// is audited, so this is the one place that keeps the change counters true.
async fn write_audits(tx: &mut Tx, changes: &ChangeCache, audits: &[AuditRecord]) -> Result<()> {
    insert_audits(tx, audits).await?;
    let mut domains: Vec<Uuid> =
        audits.iter().filter(|audit| changes_books(&audit.action)).filter_map(|audit| audit.domain_id).collect();
    domains.sort_unstable();
    domains.dedup();
    for domain_id in domains {
        mark_changed(tx, changes, Some(domain_id)).await?;
    }
    Ok(())
}

/// Whether a change of this audited kind can change what a book shows. A device
/// credential is in no book (each request checks its own), so adding or revoking one
/// leaves every phone's cached book and the in-memory copy as they are.
fn changes_books(action: &str) -> bool {
    !action.starts_with("device.")
}

/// Bumps a domain's change counter (see [`ChangeStamp`]); the time never goes backwards.
/// The new value is the domain's floor in `changes` before the transaction commits.
async fn mark_changed(tx: &mut Tx, changes: &ChangeCache, domain_id: Option<Uuid>) -> Result<()> {
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

async fn insert_audits(tx: &mut Tx, audits: &[AuditRecord]) -> Result<()> {
    insert_audits_of(tx, audits, None).await
}

/// Writes audit records, marked with the import they belong to (see `push_visible`).
async fn insert_audits_of(conn: &mut Conn, audits: &[AuditRecord], import_id: Option<Uuid>) -> Result<()> {
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

/// How far an entry's id time may be from its `at`: both are taken when the entry is
/// written, so a minute is ample.
const AUDIT_ID_SLACK: chrono::TimeDelta = chrono::TimeDelta::minutes(1);

/// One page of a domain's audit entries of one action (or any), newest first. Ids are
/// UUIDv7, ordered by the time they were made, so a time range is also an id range:
/// every filter is a range of the `(domain_id, id)`, `(domain_id, action, id)` or
/// `(domain_id, actor, id)` index, walked in order. `at` keeps the range exact.
fn push_audit_select(
    qb: &mut Builder,
    domain_id: Uuid,
    filter: &AuditFilter,
    action: Option<&String>,
    before: Option<Uuid>,
    fetch: i64,
) {
    qb.push("SELECT id, at, actor, action, target_id, details FROM audit_log WHERE domain_id = ").push_bind(domain_id);
    push_visible(qb, "audit_log", None);
    if let Some(action) = action {
        qb.push(" AND action = ").push_bind(action.clone());
    }
    if let Some(actor) = &filter.actor {
        qb.push(" AND actor = ").push_bind(actor.clone());
    }
    if let Some(since) = filter.since {
        qb.push(" AND id >= ").push_bind(first_id_at(since - AUDIT_ID_SLACK));
        qb.push(" AND at >= ").push_bind(since.timestamp_micros());
    }
    if let Some(until) = filter.until {
        qb.push(" AND id < ").push_bind(first_id_at(until + AUDIT_ID_SLACK));
        qb.push(" AND at < ").push_bind(until.timestamp_micros());
    }
    if let Some(before) = before {
        qb.push(" AND id < ").push_bind(before);
    }
    qb.push(" ORDER BY id DESC LIMIT ").push_bind(fetch);
}

/// The smallest UUIDv7 made at `time` (its millisecond, then zeros): every id made
/// at or after `time` sorts after it, every id made before sorts before.
fn first_id_at(time: DateTime<Utc>) -> Uuid {
    const TIMESTAMP_BITS: u32 = 48;
    let millis = u128::try_from(time.timestamp_millis()).unwrap_or(0).min((1 << TIMESTAMP_BITS) - 1);
    Uuid::from_u128(millis << (128 - TIMESTAMP_BITS))
}

fn audit_entry(row: &Row) -> Result<AuditEntry> {
    let details: String = row.try_get("details")?;
    Ok(AuditEntry {
        id: row.try_get("id")?,
        at: time(row.try_get("at")?)?,
        actor: row.try_get("actor")?,
        action: row.try_get("action")?,
        target_id: row.try_get("target_id")?,
        details: serde_json::from_str(&details).map_err(|error| decode_error(format!("audit details: {error}")))?,
    })
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

// Domains.

async fn fetch_domain<'c>(db: impl Executor<'c, Database = Db>, id: Uuid) -> Result<Option<Domain>> {
    let row = sqlx::query(concat!(domain_select!(), " WHERE domains.id = $1")).bind(id).fetch_optional(db).await?;
    row.as_ref().map(domain).transpose()
}

/// Audits a domain change and returns the domain as it now is, reseller name included.
async fn finish_domain(mut tx: Tx, changes: &ChangeCache, id: Uuid, audit: &AuditRecord) -> Result<Domain> {
    write_audit(&mut tx, changes, audit).await?;
    let domain = fetch_domain(&mut *tx, id).await?.ok_or(StoreError::NotFound)?;
    tx.commit().await?;
    Ok(domain)
}

fn domain(row: &Row) -> Result<Domain> {
    Ok(Domain {
        id: row.try_get("id")?,
        name: parsed(row, "name")?,
        description: row.try_get("description")?,
        reseller: row.try_get("reseller")?,
        reseller_id: row.try_get("reseller_id")?,
        created_at: time(row.try_get("created_at")?)?,
        updated_at: time(row.try_get("updated_at")?)?,
    })
}

// Users.

async fn fetch_user<'c>(db: impl Executor<'c, Database = Db>, id: Uuid) -> Result<Option<User>> {
    let row = sqlx::query(concat!("SELECT ", user_columns!(), " FROM users WHERE id = $1"))
        .bind(id)
        .fetch_optional(db)
        .await?;
    row.as_ref().map(user).transpose()
}

fn user_keys(first: &str, last: &str, email: &str, extension: &Extension) -> (String, String) {
    let sort_key = text::name_sort_key(first, last, "");
    let first_last = format!("{first} {last}");
    let last_first = format!("{last} {first}");
    let search_text =
        text::search_text([first_last.trim(), last_first.trim(), email], [extension.as_str().to_string()]);
    (sort_key, search_text)
}

fn patched(user: User, patch: UserPatch) -> User {
    User {
        first_name: patch.first_name.unwrap_or(user.first_name),
        last_name: patch.last_name.unwrap_or(user.last_name),
        email: patch.email.unwrap_or(user.email),
        department: patch.department.unwrap_or(user.department),
        site: patch.site.unwrap_or(user.site),
        scope: patch.scope.unwrap_or(user.scope),
        listed: patch.listed.unwrap_or(user.listed),
        ..user
    }
}

/// Sets a user's password hash and ends their sessions but `keep_session`.
async fn write_password(tx: &mut Tx, user_id: Uuid, change: &PasswordChange) -> Result<()> {
    sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(&change.hash)
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    // The nil id is no token's: with nothing to keep, every session goes.
    sqlx::query("DELETE FROM tokens WHERE user_id = $1 AND kind = 'session' AND id <> $2")
        .bind(user_id)
        .bind(change.keep_session.unwrap_or(Uuid::nil()))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Writes a user's new fields if nobody changed the user since it was read.
async fn write_user(tx: &mut Tx, user: User) -> Result<Row> {
    let (sort_key, search_text) = user_keys(&user.first_name, &user.last_name, &user.email, &user.extension);
    let row = sqlx::query(concat!(
        "UPDATE users SET first_name = $1, last_name = $2, email = $3, department = $4, site = $5, scope = $6, \
         listed = $7, sort_key = $8, search_text = $9, version = version + 1, updated_at = $10 \
         WHERE id = $11 AND version = $12 RETURNING ",
        user_columns!()
    ))
    .bind(&user.first_name)
    .bind(&user.last_name)
    .bind(&user.email)
    .bind(&user.department)
    .bind(&user.site)
    .bind(user.scope.as_str())
    .bind(user.listed)
    .bind(sort_key)
    .bind(search_text)
    .bind(now())
    .bind(user.id)
    .bind(user.version)
    .fetch_optional(&mut **tx)
    .await?;
    match row {
        Some(row) => Ok(row),
        None => match fetch_user(&mut **tx, user.id).await? {
            Some(current) => Err(StoreError::Stale { current: current.version }),
            None => Err(StoreError::NotFound),
        },
    }
}

fn user(row: &Row) -> Result<User> {
    user_with(row, "")
}

/// A user from columns named with `prefix` (a join reads several tables' `id`s).
fn user_with(row: &Row, prefix: &str) -> Result<User> {
    let column = |name: &str| format!("{prefix}{name}");
    Ok(User {
        id: row.try_get(column("id").as_str())?,
        domain_id: row.try_get(column("domain_id").as_str())?,
        extension: parsed(row, &column("extension"))?,
        first_name: row.try_get(column("first_name").as_str())?,
        last_name: row.try_get(column("last_name").as_str())?,
        email: row.try_get(column("email").as_str())?,
        department: row.try_get(column("department").as_str())?,
        site: row.try_get(column("site").as_str())?,
        scope: parsed(row, &column("scope"))?,
        listed: row.try_get(column("listed").as_str())?,
        version: row.try_get(column("version").as_str())?,
        created_at: time(row.try_get(column("created_at").as_str())?)?,
        updated_at: time(row.try_get(column("updated_at").as_str())?)?,
    })
}

// Contacts.

/// The columns a contact's fields are stored in, in the order of [`contact_values`].
const CONTACT_VALUE_COLUMNS: [&str; 21] = [
    "first_name",
    "last_name",
    "company",
    "title",
    "work_phone",
    "work_phone_e164",
    "mobile_phone",
    "mobile_phone_e164",
    "home_phone",
    "home_phone_e164",
    "fax",
    "fax_e164",
    "email",
    "notes",
    "duplicate_key",
    "sort_key",
    "search_text",
    "work_phone_key",
    "mobile_phone_key",
    "home_phone_key",
    "fax_key",
];

/// The columns a contact's fields are stored in, with their values.
fn contact_values(fields: &ContactFields) -> [(&'static str, Option<String>); 21] {
    let typed = |number: &Option<PhoneNumber>| number.as_ref().map(|n| n.typed.clone());
    let e164 = |number: &Option<PhoneNumber>| number.as_ref().and_then(|n| n.e164.clone());
    let key = |number: &Option<PhoneNumber>| number.as_ref().map(PhoneNumber::lookup_key);
    let values = [
        Some(fields.first_name.clone()),
        Some(fields.last_name.clone()),
        Some(fields.company.clone()),
        Some(fields.title.clone()),
        typed(&fields.work_phone),
        e164(&fields.work_phone),
        typed(&fields.mobile_phone),
        e164(&fields.mobile_phone),
        typed(&fields.home_phone),
        e164(&fields.home_phone),
        typed(&fields.fax),
        e164(&fields.fax),
        Some(fields.email.clone()),
        Some(fields.notes.clone()),
        Some(fields.duplicate_key()),
        Some(fields.sort_key()),
        Some(fields.search_text()),
        key(&fields.work_phone),
        key(&fields.mobile_phone),
        key(&fields.home_phone),
        key(&fields.fax),
    ];
    let mut values = values.into_iter();
    CONTACT_VALUE_COLUMNS.map(|column| (column, values.next().flatten()))
}

/// An import in one transaction, and the book it writes to: PostgreSQL's way (see
/// `begin_import`), where an open transaction holds up no other writer.
pub(super) struct ImportTx {
    tx: Tx,
    book: Book,
    changes: ChangeCache,
}

#[async_trait]
impl ImportWriter for ImportTx {
    async fn live_contact(&mut self, id: Uuid) -> Result<Option<Contact>> {
        live_contact_of_import(&mut self.tx, self.book, None, id).await
    }

    async fn matching_contacts(&mut self, rows: &[RowKeys]) -> Result<Vec<Option<Contact>>> {
        matching_contacts(&mut self.tx, self.book, None, rows).await
    }

    async fn live_contact_ids(&mut self) -> Result<Vec<Uuid>> {
        live_contact_ids(&mut self.tx, self.book, None).await
    }

    async fn apply(&mut self, changes: &[(ImportChange, AuditRecord)]) -> Result<Vec<Uuid>> {
        // Updates and trashing first: they may free a duplicate key a created contact takes.
        let (created, others) = split_changes(changes);
        let mut audits = Vec::with_capacity(changes.len());
        for (change, audit) in others {
            match change {
                ImportChange::Update { id, fields } => {
                    update_live_contact(&mut self.tx, self.book, *id, None, fields)
                        .await?
                        .ok_or(StoreError::NotFound)?;
                }
                ImportChange::Trash(id) => {
                    trash_live_contact(&mut self.tx, self.book, *id).await?.ok_or(StoreError::NotFound)?;
                }
                ImportChange::Create(_) => unreachable!("split_changes keeps creations apart"),
            }
            audits.push(audit.clone());
        }
        // Not `write_audits`: the domain's change counter is bumped once, at commit, so
        // a long import does not hold its row lock (and block the domain's other writers).
        insert_created(&mut self.tx, self.book, None, &created, audits).await?;
        Ok(created.into_iter().map(|(id, ..)| id).collect())
    }

    async fn commit(mut self: Box<Self>, summary: AuditRecord, favorites: &[Uuid]) -> Result<()> {
        insert_favorites(&mut self.tx, self.book, favorites).await?;
        write_audit(&mut self.tx, &self.changes, &summary).await?;
        Ok(self.tx.commit().await?)
    }

    async fn discard(self: Box<Self>) -> Result<()> {
        Ok(self.tx.rollback().await?)
    }
}

/// A connection, in a transaction or not.
pub(super) type Conn = <Db as sqlx::Database>::Connection;

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

/// A contact an import creates: its new id, its fields and its audit record.
pub(super) type Created<'a> = (Uuid, &'a ContactFields, &'a AuditRecord);

/// The contacts to create (with new ids), and the other changes in their order.
pub(super) fn split_changes(
    changes: &[(ImportChange, AuditRecord)],
) -> (Vec<Created<'_>>, Vec<&(ImportChange, AuditRecord)>) {
    let mut created = Vec::new();
    let mut others = Vec::new();
    for change in changes {
        match change {
            (ImportChange::Create(fields), audit) => created.push((Uuid::now_v7(), fields, audit)),
            other => others.push(other),
        }
    }
    (created, others)
}

/// Inserts the created contacts, then `audits` and the created contacts' audit records,
/// all marked with `import_id`: many rows per statement, one round trip per chunk.
pub(super) async fn insert_created(
    conn: &mut Conn,
    book: Book,
    import_id: Option<Uuid>,
    created: &[Created<'_>],
    mut audits: Vec<AuditRecord>,
) -> Result<()> {
    for chunk in created.chunks(INSERT_CHUNK) {
        insert_contacts(conn, book, import_id, chunk.iter().map(|(id, fields, _)| (*id, *fields))).await?;
    }
    audits.extend(created.iter().map(|(id, _, audit)| AuditRecord { target_id: Some(*id), ..(*audit).clone() }));
    for chunk in audits.chunks(INSERT_CHUNK) {
        insert_audits_of(conn, chunk, import_id).await?;
    }
    Ok(())
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
    let ids: HashSet<Uuid> = ids.collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut qb = Builder::new(concat!("SELECT ", contact_columns!(), " FROM "));
    push_wanted(&mut qb, ids);
    // CROSS JOIN: SQLite keeps the list outside (it never reorders one); PostgreSQL plans it as any join.
    qb.push(" CROSS JOIN contacts WHERE contacts.id = wanted.column1 AND ");
    push_book(&mut qb, book);
    qb.push(" AND contacts.deleted_at IS NULL");
    push_visible(&mut qb, "contacts", own);
    let rows = qb.build().fetch_all(&mut *conn).await?;
    rows.iter().map(|row| contact(row).map(|contact| (contact.id, contact))).collect()
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

async fn insert_contact(tx: &mut Tx, book: Book, fields: &ContactFields) -> Result<Row> {
    let id = Uuid::now_v7();
    insert_contacts(tx, book, None, [(id, fields)]).await?;
    let mut qb = Builder::new(concat!("SELECT ", contact_columns!(), " FROM contacts"));
    push_live_contact(&mut qb, book, id);
    Ok(qb.build().fetch_one(&mut **tx).await?)
}

/// Rows per multi-row INSERT: well under both databases' limits on bound parameters
/// (SQLite 32,766; PostgreSQL 65,535) at 27 per contact and 7 per audit record.
const INSERT_CHUNK: usize = 500;

/// Inserts contacts with the given ids into a book in one statement.
async fn insert_contacts<'a>(
    conn: &mut Conn,
    book: Book,
    import_id: Option<Uuid>,
    contacts: impl IntoIterator<Item = (Uuid, &'a ContactFields)>,
) -> Result<()> {
    let rows: Vec<_> = contacts.into_iter().map(|(id, fields)| (id, contact_values(fields))).collect();
    let Some((_, first)) = rows.first() else { return Ok(()) };
    let mut qb =
        Builder::new("INSERT INTO contacts (id, domain_id, owner_user_id, import_id, version, created_at, updated_at");
    for (column, _) in first {
        qb.push(", ").push(column);
    }
    qb.push(") ");
    let now = now();
    qb.push_values(rows, |mut row, (id, values)| {
        row.push_bind(id).push_bind(book.domain_id()).push_bind(book.owner_id()).push_bind(import_id).push("1");
        row.push_bind(now).push_bind(now);
        for (_, value) in values {
            row.push_bind(value);
        }
    });
    qb.build().execute(&mut *conn).await.map_err(conflict(DUPLICATE_CONTACT))?;
    Ok(())
}

/// Updates a live contact (at `expected_version`, when given); `None` when nothing matched.
async fn update_live_contact(
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
    qb.build().fetch_optional(&mut **tx).await.map_err(conflict(DUPLICATE_CONTACT))
}

async fn trash_live_contact(tx: &mut Tx, book: Book, id: Uuid) -> Result<Option<Row>> {
    let now = now();
    let mut qb = Builder::new("UPDATE contacts SET version = version + 1, updated_at = ");
    qb.push_bind(now).push(", deleted_at = ").push_bind(now);
    push_live_contact(&mut qb, book, id);
    qb.push(concat!(" RETURNING ", contact_columns!()));
    Ok(qb.build().fetch_optional(&mut **tx).await?)
}

/// The phone columns in the order phones list them.
const PHONE_COLUMNS: [(NumberKind, &str, &str); 4] = [
    (NumberKind::Work, "work_phone", "work_phone_e164"),
    (NumberKind::Mobile, "mobile_phone", "mobile_phone_e164"),
    (NumberKind::Home, "home_phone", "home_phone_e164"),
    (NumberKind::Fax, "fax", "fax_e164"),
];

/// The tenant key of every contact query: the domain and the book's owner (none for shared).
fn push_book(qb: &mut Builder, book: Book) {
    qb.push("contacts.domain_id = ").push_bind(book.domain_id());
    match book.owner_id() {
        None => qb.push(" AND contacts.owner_user_id IS NULL"),
        Some(owner_id) => qb.push(" AND contacts.owner_user_id = ").push_bind(owner_id),
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
async fn why_not_updated(tx: &mut Tx, book: Book, id: Uuid) -> Result<StoreError> {
    let mut qb = Builder::new("SELECT version FROM contacts");
    push_live_contact(&mut qb, book, id);
    let version: Option<i64> = qb.build_query_scalar().fetch_optional(&mut **tx).await?;
    Ok(version.map_or(StoreError::NotFound, |current| StoreError::Stale { current }))
}

async fn finish_contact(mut tx: Tx, changes: &ChangeCache, row: &Row, audit: &AuditRecord) -> Result<Contact> {
    let contact = contact(row)?;
    write_audit(&mut tx, changes, audit).await?;
    tx.commit().await?;
    Ok(contact)
}

fn contact(row: &Row) -> Result<Contact> {
    let domain_id = row.try_get("domain_id")?;
    let book = match row.try_get("owner_user_id")? {
        None => Book::Shared { domain_id },
        Some(owner_id) => Book::Personal { domain_id, owner_id },
    };
    let [work_phone, mobile_phone, home_phone, fax] = phones(row)?.map(|(_, number)| number);
    let fields = ContactFields {
        first_name: row.try_get("first_name")?,
        last_name: row.try_get("last_name")?,
        company: row.try_get("company")?,
        title: row.try_get("title")?,
        work_phone,
        mobile_phone,
        home_phone,
        fax,
        email: row.try_get("email")?,
        notes: row.try_get("notes")?,
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
    })
}

fn phones(row: &Row) -> Result<[(NumberKind, Option<PhoneNumber>); 4]> {
    let mut numbers = PHONE_COLUMNS.map(|(kind, _, _)| (kind, None));
    for ((_, typed, e164), (_, number)) in PHONE_COLUMNS.iter().zip(numbers.iter_mut()) {
        let typed: Option<String> = row.try_get(*typed)?;
        if let Some(typed) = typed {
            *number = Some(PhoneNumber { typed, e164: row.try_get(*e164)? });
        }
    }
    Ok(numbers)
}

// The directory: coworkers, shared and personal contacts as one list.

/// Each branch of the union reads one index in the list's order and stops after a page,
/// so the merged first page costs three short index scans, however big the books are.
/// `walk` as for [`push_page`].
/// `id, id, …)`: the rest of an `IN (` list.
fn push_ids(qb: &mut Builder, ids: &[Uuid]) {
    let mut list = qb.separated(", ");
    for id in ids {
        list.push_bind(*id);
    }
    qb.push(")");
}

async fn directory_rows<'c>(
    db: impl Executor<'c, Database = Db>,
    query: &DirectoryQuery,
    only: Option<Uuid>,
    walk: bool,
) -> Result<Vec<Row>> {
    let kinds = directory_kinds(query);
    if kinds.is_empty() {
        return Ok(Vec::new());
    }
    let mut qb = Builder::new("SELECT * FROM (");
    for (i, kind) in kinds.into_iter().enumerate() {
        if i > 0 {
            qb.push(" UNION ALL ");
        }
        qb.push("SELECT * FROM (");
        push_branch(&mut qb, query, kind, only, walk);
        qb.push(format_args!(") AS branch{i}"));
    }
    qb.push(") AS entries");
    push_order_limit(&mut qb, &query.list, &ENTRY_KEYS);
    Ok(qb.build().fetch_all(db).await?)
}

fn directory_kinds(query: &DirectoryQuery) -> Vec<EntryKind> {
    let kinds: &[EntryKind] = match query.group {
        Group::Favorites | Group::Mine if !query.include_own => &[],
        Group::All | Group::Favorites => &[EntryKind::Coworker, EntryKind::Shared, EntryKind::Personal],
        Group::Shared => &[EntryKind::Shared],
        Group::Mine => &[EntryKind::Personal],
        Group::Coworkers | Group::Department(_) | Group::Site(_) | Group::Presence(_) => &[EntryKind::Coworker],
    };
    kinds
        .iter()
        .copied()
        .filter(|kind| *kind != EntryKind::Shared || query.include_shared)
        .filter(|kind| *kind != EntryKind::Personal || query.include_own)
        .collect()
}

fn push_branch(qb: &mut Builder, query: &DirectoryQuery, kind: EntryKind, only: Option<Uuid>, walk: bool) {
    let (table, keys) = match kind {
        EntryKind::Coworker => {
            push_coworkers(qb, query);
            ("users", &USER_KEYS)
        }
        EntryKind::Shared => {
            push_contact_entries(qb, query, "shared", Book::Shared { domain_id: query.domain_id });
            ("contacts", &CONTACT_KEYS)
        }
        EntryKind::Personal => {
            let book = Book::Personal { domain_id: query.domain_id, owner_id: query.viewer_id };
            push_contact_entries(qb, query, "personal", book);
            ("contacts", &CONTACT_KEYS)
        }
    };
    if let Some(id) = only {
        qb.push(format_args!(" AND {table}.id = ")).push_bind(id);
    }
    if query.group == Group::Favorites {
        qb.push(format_args!(" AND {table}.id IN (SELECT entry_id FROM favorites WHERE user_id = "));
        qb.push_bind(query.viewer_id).push(")");
    }
    if let Some(term) = &query.list.search {
        push_search(qb, table, term);
    }
    push_page(qb, &query.list, keys, walk);
}

fn push_coworkers(qb: &mut Builder, query: &DirectoryQuery) {
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

fn push_contact_entries(qb: &mut Builder, query: &DirectoryQuery, kind: &str, book: Book) {
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
         CAST(NULL AS TEXT) AS presence_message, \
         contacts.sort_key AS sort_key, contacts.updated_at AS updated_at, "
    ));
    push_favorite_flag(qb, "contacts", query.viewer_id);
    qb.push(" FROM contacts WHERE ");
    push_book(qb, book);
    qb.push(" AND contacts.deleted_at IS NULL");
    push_visible(qb, "contacts", None);
}

fn push_favorite_flag(qb: &mut Builder, table: &str, viewer_id: Uuid) {
    qb.push("EXISTS (SELECT 1 FROM favorites WHERE favorites.user_id = ").push_bind(viewer_id);
    qb.push(format_args!(" AND favorites.entry_id = {table}.id) AS favorite"));
}

fn directory_entry(row: &Row) -> Result<DirectoryEntry> {
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
        EntryKind::Coworker => Some(Presence {
            state: presence_state(row.try_get("presence_state")?),
            chat: row.try_get("presence_chat")?,
            message: row.try_get("presence_message")?,
        }),
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

fn presence_state(value: String) -> PresenceState {
    PresenceState::parse(&value).unwrap_or_default()
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

// Settings.

/// The layer's kind and owner as stored; a scope layer is owned by `domain/scope`.
fn layer_key(layer: Layer) -> (&'static str, String) {
    match layer {
        Layer::System => ("system", String::new()),
        Layer::Reseller(id) => ("reseller", id.to_string()),
        Layer::Domain(id) => ("domain", id.to_string()),
        Layer::Scope(id, scope) => ("scope", format!("{id}/{scope}")),
        Layer::User(id) => ("user", id.to_string()),
    }
}

/// The domain or user whose deletion takes the layer with it.
fn layer_parents(layer: Layer) -> (Option<Uuid>, Option<Uuid>) {
    match layer {
        Layer::Domain(id) | Layer::Scope(id, _) => (Some(id), None),
        Layer::User(id) => (None, Some(id)),
        Layer::System | Layer::Reseller(_) => (None, None),
    }
}

async fn put_setting(tx: &mut Tx, layer: Layer, key: &str, value: &str) -> Result<()> {
    let (kind, owner) = layer_key(layer);
    let (domain_id, user_id) = layer_parents(layer);
    sqlx::query(
        "INSERT INTO settings (layer, owner, key, value, domain_id, user_id) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (layer, owner, key) DO UPDATE SET value = excluded.value",
    )
    .bind(kind)
    .bind(owner)
    .bind(key)
    .bind(value)
    .bind(domain_id)
    .bind(user_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn remove_setting(tx: &mut Tx, layer: Layer, key: &str) -> Result<()> {
    let (kind, owner) = layer_key(layer);
    sqlx::query("DELETE FROM settings WHERE layer = $1 AND owner = $2 AND key = $3")
        .bind(kind)
        .bind(owner)
        .bind(key)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

// Tokens and login throttling.

fn token_kind_str(kind: TokenKind) -> &'static str {
    match kind {
        TokenKind::Session => "session",
        TokenKind::Api => "api",
    }
}

fn token(row: &Row) -> Result<Token> {
    let kind = match row.try_get::<String, _>("kind")?.as_str() {
        "session" => TokenKind::Session,
        "api" => TokenKind::Api,
        other => return Err(decode_error(format!("unknown token kind `{other}`"))),
    };
    let expires_at: Option<i64> = row.try_get("expires_at")?;
    Ok(Token {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        kind,
        name: row.try_get("name")?,
        created_at: time(row.try_get("created_at")?)?,
        expires_at: expires_at.map(time).transpose()?,
    })
}

/// A row of `token_owner_by_secret_hash`: the user's columns under their own names, the
/// token's and the domain's prefixed.
fn token_owner(row: &Row) -> Result<TokenOwner> {
    let kind = match row.try_get::<String, _>("token_kind")?.as_str() {
        "session" => TokenKind::Session,
        "api" => TokenKind::Api,
        other => return Err(decode_error(format!("unknown token kind `{other}`"))),
    };
    let expires_at: Option<i64> = row.try_get("token_expires_at")?;
    let user = user(row)?;
    Ok(TokenOwner {
        token: Token {
            id: row.try_get("token_id")?,
            user_id: row.try_get("token_user_id")?,
            kind,
            name: row.try_get("token_name")?,
            created_at: time(row.try_get("token_created_at")?)?,
            expires_at: expires_at.map(time).transpose()?,
        },
        domain: Domain {
            id: user.domain_id,
            name: parsed(row, "domain_name")?,
            description: row.try_get("domain_description")?,
            reseller: row.try_get("domain_reseller")?,
            reseller_id: row.try_get("domain_reseller_id")?,
            created_at: time(row.try_get("domain_created_at")?)?,
            updated_at: time(row.try_get("domain_updated_at")?)?,
        },
        user,
    })
}

fn login_failures(row: &Row) -> Result<LoginFailures> {
    let last_failure: Option<i64> = row.try_get("last_failure")?;
    Ok(LoginFailures { count: row.try_get("count")?, last_failure: last_failure.map(time).transpose()? })
}

// `db copy`: rows as backend-neutral JSON, typed by one description of each table.

#[derive(Clone, Copy)]
enum Kind {
    Id,
    Text,
    Int,
    Bool,
}

struct CopyTable {
    name: &'static str,
    /// The primary key, for a stable order across pages.
    key: &'static str,
    columns: &'static [(&'static str, Kind)],
}

const CONTACT_COPY_COLUMNS: &[(&str, Kind)] = &[
    ("id", Kind::Id),
    ("domain_id", Kind::Id),
    ("owner_user_id", Kind::Id),
    ("first_name", Kind::Text),
    ("last_name", Kind::Text),
    ("company", Kind::Text),
    ("title", Kind::Text),
    ("work_phone", Kind::Text),
    ("work_phone_e164", Kind::Text),
    ("mobile_phone", Kind::Text),
    ("mobile_phone_e164", Kind::Text),
    ("home_phone", Kind::Text),
    ("home_phone_e164", Kind::Text),
    ("fax", Kind::Text),
    ("fax_e164", Kind::Text),
    ("email", Kind::Text),
    ("notes", Kind::Text),
    ("duplicate_key", Kind::Text),
    ("sort_key", Kind::Text),
    ("search_text", Kind::Text),
    ("version", Kind::Int),
    ("created_at", Kind::Int),
    ("updated_at", Kind::Int),
    ("deleted_at", Kind::Int),
    ("work_phone_key", Kind::Text),
    ("mobile_phone_key", Kind::Text),
    ("home_phone_key", Kind::Text),
    ("fax_key", Kind::Text),
];

const USER_COPY_COLUMNS: &[(&str, Kind)] = &[
    ("id", Kind::Id),
    ("domain_id", Kind::Id),
    ("extension", Kind::Text),
    ("first_name", Kind::Text),
    ("last_name", Kind::Text),
    ("email", Kind::Text),
    ("department", Kind::Text),
    ("site", Kind::Text),
    ("scope", Kind::Text),
    ("listed", Kind::Bool),
    ("password_hash", Kind::Text),
    ("version", Kind::Int),
    ("created_at", Kind::Int),
    ("updated_at", Kind::Int),
    ("sort_key", Kind::Text),
    ("search_text", Kind::Text),
    ("own_contacts_on_phones", Kind::Bool),
];

const COPY: &[CopyTable] = &[
    CopyTable { name: "resellers", key: "id", columns: &[("id", Kind::Id), ("name", Kind::Text)] },
    CopyTable {
        name: "domains",
        key: "id",
        columns: &[
            ("id", Kind::Id),
            ("name", Kind::Text),
            ("description", Kind::Text),
            ("reseller_id", Kind::Id),
            ("created_at", Kind::Int),
            ("updated_at", Kind::Int),
            ("change_seq", Kind::Int),
            ("changed_at", Kind::Int),
        ],
    },
    CopyTable { name: "users", key: "id", columns: USER_COPY_COLUMNS },
    CopyTable { name: "contacts", key: "id", columns: CONTACT_COPY_COLUMNS },
    CopyTable {
        name: "blocked_numbers",
        key: "id",
        columns: &[
            ("id", Kind::Id),
            ("domain_id", Kind::Id),
            ("pattern", Kind::Text),
            ("is_prefix", Kind::Bool),
            ("note", Kind::Text),
            ("created_by", Kind::Text),
            ("created_at", Kind::Int),
        ],
    },
    CopyTable {
        name: "allowed_numbers",
        key: "id",
        columns: &[
            ("id", Kind::Id),
            ("domain_id", Kind::Id),
            ("user_id", Kind::Id),
            ("number", Kind::Text),
            ("note", Kind::Text),
            ("created_by", Kind::Text),
            ("created_at", Kind::Int),
        ],
    },
    CopyTable {
        name: "favorites",
        key: "user_id, entry_id",
        columns: &[("user_id", Kind::Id), ("entry_id", Kind::Id)],
    },
    CopyTable {
        name: "presence",
        key: "user_id",
        columns: &[
            ("user_id", Kind::Id),
            ("state", Kind::Text),
            ("chat", Kind::Bool),
            ("message", Kind::Text),
            ("updated_at", Kind::Int),
        ],
    },
    CopyTable {
        name: "settings",
        key: "layer, owner, key",
        columns: &[
            ("layer", Kind::Text),
            ("owner", Kind::Text),
            ("key", Kind::Text),
            ("value", Kind::Text),
            ("domain_id", Kind::Id),
            ("user_id", Kind::Id),
        ],
    },
    CopyTable {
        name: "audit_log",
        key: "id",
        columns: &[
            ("id", Kind::Id),
            ("domain_id", Kind::Id),
            ("at", Kind::Int),
            ("actor", Kind::Text),
            ("action", Kind::Text),
            ("target_id", Kind::Id),
            ("details", Kind::Text),
        ],
    },
    CopyTable {
        name: "tokens",
        key: "id",
        columns: &[
            ("id", Kind::Id),
            ("user_id", Kind::Id),
            ("kind", Kind::Text),
            ("name", Kind::Text),
            ("secret_hash", Kind::Text),
            ("created_at", Kind::Int),
            ("expires_at", Kind::Int),
        ],
    },
    CopyTable {
        name: "login_failures",
        key: "key",
        columns: &[("key", Kind::Text), ("count", Kind::Int), ("last_failure", Kind::Int)],
    },
    CopyTable {
        name: "devices",
        key: "id",
        columns: &[
            ("id", Kind::Id),
            ("domain_id", Kind::Id),
            ("name", Kind::Text),
            ("user_id", Kind::Id),
            ("allowed_networks", Kind::Text),
            ("token_hash", Kind::Text),
            ("password_hash", Kind::Text),
            ("created_at", Kind::Int),
            ("last_used_at", Kind::Int),
            ("revoked_at", Kind::Int),
            ("created_by", Kind::Id),
        ],
    },
    CopyTable {
        name: "deleted_users",
        key: "id",
        columns: &[
            ("id", Kind::Id),
            ("domain_id", Kind::Id),
            ("extension", Kind::Text),
            ("first_name", Kind::Text),
            ("last_name", Kind::Text),
            ("scope", Kind::Text),
            ("site", Kind::Text),
            ("deleted_at", Kind::Int),
            ("deleted_by", Kind::Text),
            ("snapshot", Kind::Text),
        ],
    },
];

/// Inserts rows in `db copy`'s JSON form into `table`.
async fn insert_copy_rows(tx: &mut Tx, table: &CopyTable, rows: &[JsonRow]) -> Result<()> {
    let cells = rows.iter().map(|row| table.cells(row)).collect::<Result<Vec<_>>>()?;
    // Stays under both databases' limits on parameters per statement (SQLite's is 32766).
    let rows_per_insert = 30_000 / table.columns.len();
    for chunk in cells.chunks(rows_per_insert) {
        let mut qb = Builder::new(format!("INSERT INTO {} ({}) ", table.name, table.column_list()));
        qb.push_values(chunk, |mut values, row| {
            for cell in row {
                cell.bind(&mut values);
            }
        });
        qb.build().execute(&mut **tx).await?;
    }
    Ok(())
}

/// Which rows of a table `db copy` moves: not those of an unfinished import (nobody sees
/// them, and the copy would show them).
fn copied_rows(table: &str) -> &'static str {
    match table {
        "contacts" | "audit_log" => " WHERE import_id IS NULL OR import_id NOT IN (SELECT id FROM pending_imports)",
        _ => "",
    }
}

fn copy_table(name: &str) -> Result<&'static CopyTable> {
    COPY.iter().find(|table| table.name == name).ok_or(StoreError::NotFound)
}

fn copy_error(message: String) -> StoreError {
    StoreError::Database(sqlx::Error::Encode(message.into()))
}

/// One value to import, typed so that even a NULL is bound with its column's type.
enum Cell {
    Id(Option<Uuid>),
    Text(Option<String>),
    Int(Option<i64>),
    Bool(Option<bool>),
}

impl Cell {
    fn read(kind: Kind, value: &Value) -> Option<Cell> {
        Some(match (kind, value) {
            (Kind::Id, Value::Null) => Cell::Id(None),
            (Kind::Id, Value::String(id)) => Cell::Id(Some(Uuid::parse_str(id).ok()?)),
            (Kind::Text, Value::Null) => Cell::Text(None),
            (Kind::Text, Value::String(text)) => Cell::Text(Some(text.clone())),
            (Kind::Int, Value::Null) => Cell::Int(None),
            (Kind::Int, Value::Number(number)) => Cell::Int(Some(number.as_i64()?)),
            (Kind::Bool, Value::Null) => Cell::Bool(None),
            (Kind::Bool, Value::Bool(flag)) => Cell::Bool(Some(*flag)),
            _ => return None,
        })
    }

    fn bind(&self, values: &mut sqlx::query_builder::Separated<'_, Db, &'static str>) {
        match self {
            Cell::Id(id) => values.push_bind(*id),
            Cell::Text(text) => values.push_bind(text.clone()),
            Cell::Int(number) => values.push_bind(*number),
            Cell::Bool(flag) => values.push_bind(*flag),
        };
    }
}

impl CopyTable {
    fn column_list(&self) -> String {
        self.columns.iter().map(|(name, _)| *name).collect::<Vec<_>>().join(", ")
    }

    fn to_json(&self, row: &Row) -> Result<JsonRow> {
        self.columns.iter().map(|(name, kind)| Ok((name.to_string(), json_value(row, name, *kind)?))).collect()
    }

    fn cells(&self, row: &JsonRow) -> Result<Vec<Cell>> {
        if let Some(unknown) = row.keys().find(|key| !self.columns.iter().any(|(name, _)| name == key)) {
            return Err(copy_error(format!("{} has no column `{unknown}`", self.name)));
        }
        self.columns
            .iter()
            .map(|(name, kind)| {
                let value = row.get(*name).unwrap_or(&Value::Null);
                Cell::read(*kind, value)
                    .ok_or_else(|| copy_error(format!("{}.{name}: unexpected value {value}", self.name)))
            })
            .collect()
    }
}

fn json_value(row: &Row, column: &str, kind: Kind) -> Result<Value> {
    let value = match kind {
        Kind::Id => row.try_get::<Option<Uuid>, _>(column)?.map(|id| Value::String(id.to_string())),
        Kind::Text => row.try_get::<Option<String>, _>(column)?.map(Value::String),
        Kind::Int => row.try_get::<Option<i64>, _>(column)?.map(Value::from),
        Kind::Bool => row.try_get::<Option<bool>, _>(column)?.map(Value::Bool),
    };
    Ok(value.unwrap_or(Value::Null))
}

// Caller-ID look-ups and call blocking: their own file, the same two compilations.
#[path = "callerid_queries.rs"]
mod callerid;

// Imports in short transactions: their own file, the same two compilations.
#[path = "import_queries.rs"]
mod imports;

// Desk phones' hot paths: their own file, the same two compilations.
#[path = "phones_queries.rs"]
mod phones;

// Deleted users: their own file, the same two compilations.
#[path = "user_trash_queries.rs"]
mod user_trash;

impl Backend {
    /// Runs an update of one user's row and its audit record in one transaction;
    /// "not found" when no row changed.
    async fn update_one_user(&self, update: Query, audit: AuditRecord) -> Result<()> {
        let mut tx = begin_write(&self.pool).await?;
        expect_one(update.execute(&mut *tx).await?.rows_affected())?;
        write_audit(&mut tx, &self.changes, &audit).await?;
        Ok(tx.commit().await?)
    }
}
