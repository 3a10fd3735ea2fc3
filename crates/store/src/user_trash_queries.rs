//! The SQL of [`UserTrashStore`], compiled once per back-end as a part of `queries.rs`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use sqlx::Row as _;
use switchboard_core::model::User;
use switchboard_core::paging::{Limit, Page};
use uuid::Uuid;

use super::{
    Backend, Builder, JsonRow, Row, Tx, begin_write, copy_table, decode_error, expect_one, fetch_user,
    insert_copy_rows, now, parsed, time, write_audit,
};
use crate::user_trash::{DeletedUser, UserTrashStore};
use crate::{AuditRecord, Result, StoreError};

/// The rows kept of a deleted user, table by table, parents first, and what picks the
/// user's rows in each (the user's id is `$1`). Their columns are `db copy`'s, so every
/// column a migration adds (and registers for the copy) is kept too.
const KEPT: &[(&str, &str)] = &[
    ("users", "id = $1"),
    ("contacts", "owner_user_id = $1"),
    ("contact_photos", "contact_id IN (SELECT id FROM contacts WHERE owner_user_id = $1)"),
    ("allowed_numbers", "user_id = $1"),
    ("favorites", "user_id = $1"),
    ("presence", "user_id = $1"),
    ("settings", "user_id = $1"),
    ("devices", "user_id = $1"),
    ("not_duplicates", "owner_user_id = $1"),
    ("merged_contacts", "owner_user_id = $1"),
];

const DELETED_USER_COLUMNS: &str =
    "id, domain_id, extension, first_name, last_name, scope, site, deleted_at, deleted_by";

#[async_trait]
impl UserTrashStore for Backend {
    async fn delete_user(&self, id: Uuid, audit: AuditRecord) -> Result<()> {
        let mut tx = begin_write(&self.pool).await?;
        let snapshot = snapshot(&mut tx, id).await?;
        let kept = sqlx::query(
            "INSERT INTO deleted_users (id, domain_id, extension, first_name, last_name, scope, site, deleted_at, \
             deleted_by, snapshot) \
             SELECT id, domain_id, extension, first_name, last_name, scope, site, $2, $3, $4 FROM users WHERE id = $1",
        )
        .bind(id)
        .bind(now())
        .bind(&audit.actor)
        .bind(Value::Object(snapshot).to_string())
        .execute(&mut *tx)
        .await?;
        expect_one(kept.rows_affected())?;
        sqlx::query("DELETE FROM users WHERE id = $1").bind(id).execute(&mut *tx).await?;
        write_audit(&mut tx, &self.changes, &audit).await?;
        Ok(tx.commit().await?)
    }

    async fn deleted_users(&self, domain_id: Uuid, limit: Limit, after: Option<Uuid>) -> Result<Page<DeletedUser>> {
        let mut qb = Builder::new(format!("SELECT {DELETED_USER_COLUMNS} FROM deleted_users WHERE domain_id = "));
        qb.push_bind(domain_id);
        if let Some(after) = after {
            qb.push(" AND id > ").push_bind(after);
        }
        qb.push(" ORDER BY id LIMIT ").push_bind(i64::from(limit.get()) + 1);
        let rows = qb.build().fetch_all(&self.pool).await?;
        let mut items = rows.iter().map(deleted_user).collect::<Result<Vec<_>>>()?;
        let more = items.len() > limit.get() as usize;
        items.truncate(limit.get() as usize);
        let next_cursor = if more { items.last().map(|last| last.id.to_string()) } else { None };
        Ok(Page { items, next_cursor })
    }

    async fn deleted_user(&self, domain_id: Uuid, id: Uuid) -> Result<Option<DeletedUser>> {
        let sql = format!("SELECT {DELETED_USER_COLUMNS} FROM deleted_users WHERE domain_id = $1 AND id = $2");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(domain_id).bind(id).fetch_optional(&self.pool).await?;
        row.as_ref().map(deleted_user).transpose()
    }

    async fn restore_user(&self, domain_id: Uuid, id: Uuid, audit: AuditRecord) -> Result<User> {
        let mut tx = begin_write(&self.pool).await?;
        let kept: Option<(String, String)> =
            sqlx::query_as("SELECT extension, snapshot FROM deleted_users WHERE domain_id = $1 AND id = $2")
                .bind(domain_id)
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        let (extension, snapshot) = kept.ok_or(StoreError::NotFound)?;
        let mut parts: Map<String, Value> = serde_json::from_str(&snapshot)
            .map_err(|error| decode_error(format!("deleted user {id}: unreadable snapshot: {error}")))?;
        for (table, _) in KEPT {
            let rows = rows_of(&mut parts, table)?;
            insert_copy_rows(&mut tx, copy_table(table)?, &rows).await.map_err(|error| match error {
                StoreError::Conflict(_) if *table == "users" => {
                    StoreError::Conflict(format!("extension {extension} belongs to another user now"))
                }
                other => other,
            })?;
        }
        sqlx::query("DELETE FROM deleted_users WHERE id = $1").bind(id).execute(&mut *tx).await?;
        write_audit(&mut tx, &self.changes, &audit).await?;
        tx.commit().await?;
        fetch_user(&self.pool, id).await?.ok_or(StoreError::NotFound)
    }

    async fn purge_deleted_users(&self, before: DateTime<Utc>) -> Result<u64> {
        let purged = sqlx::query("DELETE FROM deleted_users WHERE deleted_at < $1")
            .bind(before.timestamp_micros())
            .execute(&self.pool)
            .await?;
        Ok(purged.rows_affected())
    }
}

/// Every row that names the user, by table, in `db copy`'s form.
async fn snapshot(tx: &mut Tx, id: Uuid) -> Result<Map<String, Value>> {
    let mut parts = Map::new();
    for (table, mine) in KEPT {
        let table = copy_table(table)?;
        let sql = format!("SELECT {} FROM {} WHERE {mine} ORDER BY {}", table.column_list(), table.name, table.key);
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_all(&mut **tx).await?;
        let rows = rows.iter().map(|row| table.to_json(row).map(Value::Object)).collect::<Result<Vec<_>>>()?;
        parts.insert(table.name.to_string(), Value::Array(rows));
    }
    Ok(parts)
}

fn rows_of(parts: &mut Map<String, Value>, table: &str) -> Result<Vec<JsonRow>> {
    let unreadable = || decode_error(format!("deleted user snapshot: `{table}` is not a list of rows"));
    match parts.remove(table) {
        None => Ok(Vec::new()),
        Some(Value::Array(rows)) => rows
            .into_iter()
            .map(|row| match row {
                Value::Object(row) => Ok(row),
                _ => Err(unreadable()),
            })
            .collect(),
        Some(_) => Err(unreadable()),
    }
}

fn deleted_user(row: &Row) -> Result<DeletedUser> {
    Ok(DeletedUser {
        id: row.try_get("id")?,
        domain_id: row.try_get("domain_id")?,
        extension: parsed(row, "extension")?,
        first_name: row.try_get("first_name")?,
        last_name: row.try_get("last_name")?,
        scope: parsed(row, "scope")?,
        site: row.try_get("site")?,
        deleted_at: time(row.try_get("deleted_at")?)?,
        deleted_by: row.try_get("deleted_by")?,
    })
}
