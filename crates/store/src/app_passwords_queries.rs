//! App passwords (`AppPasswordStore`, migration 0020): part of `queries.rs`, compiled
//! once per back-end with it.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use switchboard_core::model::AppPassword;
use uuid::Uuid;

use super::{Backend, Row, begin_write, delete_owned_row, now, time, write_audit};
use crate::{AppPasswordStore, AuditRecord, NewAppPassword, Result};
use sqlx::Row as _;

const COLUMNS: &str = "id, user_id, domain_id, name, created_at, last_used_at";

#[async_trait]
impl AppPasswordStore for Backend {
    async fn create_app_password(
        &self,
        new: NewAppPassword,
        max: i64,
        audit: AuditRecord,
    ) -> Result<Option<AppPassword>> {
        let mut tx = begin_write(&self.pool).await?;
        let id = Uuid::now_v7();
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO app_passwords (id, user_id, domain_id, name, secret_hash, created_at) \
             SELECT $1, $2, $3, $4, $5, $6 \
             WHERE (SELECT count(*) FROM app_passwords WHERE user_id = $2) < $7 \
             RETURNING {COLUMNS}"
        )))
        .bind(id)
        .bind(new.user_id)
        .bind(new.domain_id)
        .bind(&new.name)
        .bind(&new.secret_hash)
        .bind(now())
        .bind(max)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return Ok(None) };
        write_audit(&mut tx, &self.changes, &AuditRecord { target_id: Some(id), ..audit }).await?;
        tx.commit().await?;
        Ok(Some(app_password(&row)?))
    }

    async fn app_passwords(&self, user_id: Uuid) -> Result<Vec<AppPassword>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM app_passwords WHERE user_id = $1 ORDER BY id LIMIT 1000"
        )))
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(app_password).collect()
    }

    async fn delete_app_password(&self, user_id: Uuid, id: Uuid, audit: AuditRecord) -> Result<bool> {
        delete_owned_row(&self.pool, &self.changes, "app_passwords", "user_id", (user_id, id), audit).await
    }

    async fn app_password_by_secret_hash(&self, user_id: Uuid, secret_hash: &str) -> Result<Option<AppPassword>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM app_passwords WHERE user_id = $1 AND secret_hash = $2"
        )))
        .bind(user_id)
        .bind(secret_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(app_password).transpose()
    }

    async fn touch_app_password(&self, id: Uuid, at: DateTime<Utc>, unless_since: DateTime<Utc>) -> Result<()> {
        sqlx::query(
            "UPDATE app_passwords SET last_used_at = $2 \
             WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $3)",
        )
        .bind(id)
        .bind(at.timestamp_micros())
        .bind(unless_since.timestamp_micros())
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

fn app_password(row: &Row) -> Result<AppPassword> {
    Ok(AppPassword {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        domain_id: row.try_get("domain_id")?,
        name: row.try_get("name")?,
        created_at: time(row.try_get("created_at")?)?,
        last_used_at: row.try_get::<Option<i64>, _>("last_used_at")?.map(time).transpose()?,
    })
}
