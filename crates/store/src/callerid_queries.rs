//! The SQL of [`CallerIdStore`], compiled once per back-end as a part of `queries.rs`.

use async_trait::async_trait;
use sqlx::Row as _;
use switchboard_core::model::{Book, Contact};
use switchboard_core::paging::{Cursor, Limit, Page, Sort};
use uuid::Uuid;

use super::{
    Backend, Builder, PHONE_COLUMNS, Row, begin_write, conflict, contact, now, push_book, push_in, push_visible, time,
    write_audit,
};
use crate::callerid::{AllowedNumber, BlockedNumber, CallerIdStore, NewAllowedNumber, NewBlockedNumber};
use crate::{AuditRecord, Result, StoreError};

const BLOCKED_COLUMNS: &str = "id, domain_id, pattern, is_prefix, note, created_by, created_at";
const ALLOWED_COLUMNS: &str = "id, domain_id, user_id, number, note, created_by, created_at";

#[async_trait]
impl CallerIdStore for Backend {
    async fn contacts_by_lookup_key(
        &self,
        book: Book,
        key: &str,
        e164: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Contact>> {
        // One branch per number column, each answered by that column's key index.
        let mut qb = Builder::new("SELECT * FROM (");
        for (i, (_, column, e164_column)) in PHONE_COLUMNS.iter().enumerate() {
            if i > 0 {
                qb.push(" UNION ALL ");
            }
            qb.push(concat!("SELECT ", contact_columns!()));
            qb.push(format_args!(", CASE WHEN contacts.{e164_column} = ")).push_bind(e164);
            qb.push(" THEN 0 ELSE 1 END AS exact_rank FROM contacts WHERE ");
            push_book(&mut qb, book);
            // A group is nobody to name a caller by.
            qb.push(format_args!(
                " AND contacts.deleted_at IS NULL AND contacts.kind <> 'group' AND contacts.{column}_key = "
            ))
            .push_bind(key);
            push_visible(&mut qb, "contacts", None);
        }
        // And the numbers beyond the four columns, by their key index.
        qb.push(concat!(" UNION ALL SELECT ", contact_columns!(), ", 1 AS exact_rank FROM contacts WHERE "));
        push_book(&mut qb, book);
        qb.push(" AND contacts.deleted_at IS NULL AND contacts.kind <> 'group'");
        qb.push(" AND contacts.id IN (SELECT contact_id FROM contact_numbers WHERE ");
        qb.push("contact_numbers.domain_id = ").push_bind(book.domain_id());
        match book.owner_id() {
            None => qb.push(" AND contact_numbers.owner_user_id IS NULL"),
            Some(owner_id) => qb.push(" AND contact_numbers.owner_user_id = ").push_bind(owner_id),
        };
        qb.push(" AND contact_numbers.lookup_key = ").push_bind(key).push(")");
        push_visible(&mut qb, "contacts", None);
        qb.push(") AS candidates ORDER BY exact_rank, id LIMIT ").push_bind(i64::from(limit));
        let rows = qb.build().fetch_all(&self.pool).await?;
        rows.iter().map(contact).collect()
    }

    async fn add_blocked_number(&self, new: NewBlockedNumber, audit: AuditRecord) -> Result<BlockedNumber> {
        let mut tx = begin_write(&self.pool).await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO blocked_numbers ({BLOCKED_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             RETURNING {BLOCKED_COLUMNS}"
        )))
        .bind(Uuid::now_v7())
        .bind(new.domain_id)
        .bind(&new.pattern)
        .bind(new.is_prefix)
        .bind(&new.note)
        .bind(&new.created_by)
        .bind(now())
        .fetch_one(&mut *tx)
        .await
        .map_err(conflict(format!("{} is already on the block list", new.pattern)))?;
        write_audit(&mut tx, &self.changes, &AuditRecord { target_id: Some(row.try_get("id")?), ..audit }).await?;
        tx.commit().await?;
        blocked_number(&row)
    }

    async fn list_blocked_numbers(
        &self,
        domain_id: Uuid,
        limit: Limit,
        after: Option<&str>,
    ) -> Result<Page<BlockedNumber>> {
        let mut qb = Builder::new(format!("SELECT {BLOCKED_COLUMNS} FROM blocked_numbers WHERE domain_id = "));
        qb.push_bind(domain_id);
        push_sorted_page(&mut qb, "pattern", limit, after);
        let rows = qb.build().fetch_all(&self.pool).await?;
        sorted_page(rows, limit, blocked_number, |entry| (entry.pattern.clone(), entry.id))
    }

    async fn all_blocked_numbers(&self, domain_id: Uuid) -> Result<Vec<BlockedNumber>> {
        let sql = format!("SELECT {BLOCKED_COLUMNS} FROM blocked_numbers WHERE domain_id = $1");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(domain_id).fetch_all(&self.pool).await?;
        rows.iter().map(blocked_number).collect()
    }

    async fn blocked_numbers_among(&self, domain_id: Uuid, patterns: &[String]) -> Result<Vec<BlockedNumber>> {
        if patterns.is_empty() {
            return Ok(Vec::new());
        }
        let mut qb = Builder::new(format!("SELECT {BLOCKED_COLUMNS} FROM blocked_numbers WHERE domain_id = "));
        qb.push_bind(domain_id).push(" AND");
        push_in(&mut qb, "pattern", patterns.iter().map(String::as_str));
        qb.push(" ORDER BY pattern");
        let rows = qb.build().fetch_all(&self.pool).await?;
        rows.iter().map(blocked_number).collect()
    }

    async fn delete_blocked_number(&self, domain_id: Uuid, id: Uuid, audit: AuditRecord) -> Result<BlockedNumber> {
        let mut tx = begin_write(&self.pool).await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM blocked_numbers WHERE domain_id = $1 AND id = $2 RETURNING {BLOCKED_COLUMNS}"
        )))
        .bind(domain_id)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        write_audit(&mut tx, &self.changes, &audit).await?;
        tx.commit().await?;
        blocked_number(&row)
    }

    async fn add_allowed_number(&self, new: NewAllowedNumber, audit: AuditRecord) -> Result<AllowedNumber> {
        let mut tx = begin_write(&self.pool).await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO allowed_numbers ({ALLOWED_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             RETURNING {ALLOWED_COLUMNS}"
        )))
        .bind(Uuid::now_v7())
        .bind(new.domain_id)
        .bind(new.user_id)
        .bind(&new.number)
        .bind(&new.note)
        .bind(&new.created_by)
        .bind(now())
        .fetch_one(&mut *tx)
        .await
        .map_err(conflict(format!("{} is already on this allow list", new.number)))?;
        write_audit(&mut tx, &self.changes, &AuditRecord { target_id: Some(row.try_get("id")?), ..audit }).await?;
        tx.commit().await?;
        allowed_number(&row)
    }

    async fn list_allowed_numbers(
        &self,
        domain_id: Uuid,
        user_id: Uuid,
        limit: Limit,
        after: Option<&str>,
    ) -> Result<Page<AllowedNumber>> {
        let mut qb = Builder::new(format!("SELECT {ALLOWED_COLUMNS} FROM allowed_numbers WHERE domain_id = "));
        qb.push_bind(domain_id).push(" AND user_id = ").push_bind(user_id);
        push_sorted_page(&mut qb, "number", limit, after);
        let rows = qb.build().fetch_all(&self.pool).await?;
        sorted_page(rows, limit, allowed_number, |entry| (entry.number.clone(), entry.id))
    }

    async fn allowed_number(&self, domain_id: Uuid, user_id: Uuid, number: &str) -> Result<Option<AllowedNumber>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ALLOWED_COLUMNS} FROM allowed_numbers WHERE user_id = $1 AND number = $2 AND domain_id = $3"
        )))
        .bind(user_id)
        .bind(number)
        .bind(domain_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(allowed_number).transpose()
    }

    async fn delete_allowed_number(
        &self,
        domain_id: Uuid,
        user_id: Uuid,
        id: Uuid,
        audit: AuditRecord,
    ) -> Result<AllowedNumber> {
        let mut tx = begin_write(&self.pool).await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM allowed_numbers WHERE domain_id = $1 AND user_id = $2 AND id = $3 RETURNING {ALLOWED_COLUMNS}"
        )))
        .bind(domain_id)
        .bind(user_id)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        write_audit(&mut tx, &self.changes, &audit).await?;
        tx.commit().await?;
        allowed_number(&row)
    }
}

/// ` AND column > after ORDER BY column LIMIT n+1`: the extra row tells whether a next page exists.
fn push_sorted_page(qb: &mut Builder, column: &str, limit: Limit, after: Option<&str>) {
    if let Some(after) = after {
        qb.push(format_args!(" AND {column} > ")).push_bind(after.to_string());
    }
    qb.push(format_args!(" ORDER BY {column} LIMIT ")).push_bind(i64::from(limit.get()) + 1);
}

/// A page of rows fetched by [`push_sorted_page`]; its cursor carries the last sort value.
fn sorted_page<T>(
    rows: Vec<Row>,
    limit: Limit,
    item: impl Fn(&Row) -> Result<T>,
    position: impl Fn(&T) -> (String, Uuid),
) -> Result<Page<T>> {
    let mut items = rows.iter().map(item).collect::<Result<Vec<T>>>()?;
    let more = items.len() > limit.get() as usize;
    items.truncate(limit.get() as usize);
    let next_cursor = more
        .then(|| items.last().map(&position))
        .flatten()
        .map(|(key, id)| Cursor { sort: Sort::Name, key: Some(key), micros: None, id }.encode());
    Ok(Page { items, next_cursor })
}

fn blocked_number(row: &Row) -> Result<BlockedNumber> {
    Ok(BlockedNumber {
        id: row.try_get("id")?,
        domain_id: row.try_get("domain_id")?,
        pattern: row.try_get("pattern")?,
        is_prefix: row.try_get("is_prefix")?,
        note: row.try_get("note")?,
        created_by: row.try_get("created_by")?,
        created_at: time(row.try_get("created_at")?)?,
    })
}

fn allowed_number(row: &Row) -> Result<AllowedNumber> {
    Ok(AllowedNumber {
        id: row.try_get("id")?,
        domain_id: row.try_get("domain_id")?,
        user_id: row.try_get("user_id")?,
        number: row.try_get("number")?,
        note: row.try_get("note")?,
        created_by: row.try_get("created_by")?,
        created_at: time(row.try_get("created_at")?)?,
    })
}
