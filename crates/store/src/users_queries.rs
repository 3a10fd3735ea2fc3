//! Users, their passwords and their consent to show their own contacts on phones: part of
//! `queries.rs`, compiled once per back-end with it.

use async_trait::async_trait;
use sqlx::{Executor, Row as _};
use switchboard_core::model::User;
use switchboard_core::paging::Page;
use switchboard_core::{Extension, text};
use uuid::Uuid;

use super::{
    Backend, Builder, Db, Query, Row, Tx, USER_KEYS, begin_write, conflict, expect_one, now, page, parsed, push_page,
    push_search, time, write_audit,
};
use crate::{AuditRecord, ListQuery, NewUser, PasswordChange, Result, StoreError, UserFilter, UserPatch, UserStore};

#[async_trait]
impl UserStore for Backend {
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
        let user = user(&row)?;
        // The record names the user made here, as the feed needs.
        let audit = AuditRecord { target_id: audit.target_id.or(Some(user.id)), ..audit };
        write_audit(&mut tx, &self.changes, &audit).await?;
        tx.commit().await?;
        Ok(user)
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
}

pub(super) async fn fetch_user<'c>(db: impl Executor<'c, Database = Db>, id: Uuid) -> Result<Option<User>> {
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

pub(super) fn user(row: &Row) -> Result<User> {
    user_with(row, "")
}

/// A user from columns named with `prefix` (a join reads several tables' `id`s).
pub(super) fn user_with(row: &Row, prefix: &str) -> Result<User> {
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
