//! Webhook subscriptions (`WebhookStore`, migration 0019): part of `queries.rs`,
//! compiled once per back-end with it.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use switchboard_core::model::Webhook;
use uuid::Uuid;

use super::{Backend, Row, begin_write, delete_owned_row, now, time, write_audit};
use crate::{AuditRecord, DeliveryRecord, NewWebhook, Result, WebhookPatch, WebhookStore, WebhookTarget};
use sqlx::Row as _;

const COLUMNS: &str = "id, domain_id, url, contacts, presence, created_at, last_attempt_at, last_status, \
                       last_error, failures, failing_since, paused";

#[async_trait]
impl WebhookStore for Backend {
    async fn create_webhook(&self, new: NewWebhook, audit: AuditRecord) -> Result<Webhook> {
        let mut tx = begin_write(&self.pool).await?;
        let id = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO webhooks (id, domain_id, url, contacts, presence, secret, cursor, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(id)
        .bind(new.domain_id)
        .bind(&new.url)
        .bind(new.contacts)
        .bind(new.presence)
        .bind(&new.secret)
        .bind(&new.cursor)
        .bind(now())
        .execute(&mut *tx)
        .await?;
        write_audit(&mut tx, &self.changes, &AuditRecord { target_id: Some(id), ..audit }).await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM webhooks WHERE id = $1")))
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        webhook(&row)
    }

    async fn webhooks(&self, domain_id: Uuid) -> Result<Vec<Webhook>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM webhooks WHERE domain_id = $1 ORDER BY id LIMIT 1000"
        )))
        .bind(domain_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(webhook).collect()
    }

    async fn webhook(&self, domain_id: Uuid, id: Uuid) -> Result<Option<Webhook>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM webhooks WHERE domain_id = $1 AND id = $2"
        )))
        .bind(domain_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(webhook).transpose()
    }

    async fn update_webhook(
        &self,
        domain_id: Uuid,
        id: Uuid,
        patch: WebhookPatch,
        audit: AuditRecord,
    ) -> Result<Option<Webhook>> {
        let mut tx = begin_write(&self.pool).await?;
        let updated = sqlx::query(
            "UPDATE webhooks SET url = COALESCE($3, url), contacts = COALESCE($4, contacts), \
             presence = COALESCE($5, presence), secret = COALESCE($6, secret), \
             paused = CASE WHEN $7 THEN FALSE ELSE paused END, \
             failures = CASE WHEN $7 THEN 0 ELSE failures END, \
             failing_since = CASE WHEN $7 THEN NULL ELSE failing_since END, \
             next_attempt_at = CASE WHEN $7 THEN 0 ELSE next_attempt_at END \
             WHERE domain_id = $1 AND id = $2",
        )
        .bind(domain_id)
        .bind(id)
        .bind(patch.url)
        .bind(patch.contacts)
        .bind(patch.presence)
        .bind(patch.secret)
        .bind(patch.resume)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated == 0 {
            return Ok(None);
        }
        write_audit(&mut tx, &self.changes, &AuditRecord { target_id: Some(id), ..audit }).await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM webhooks WHERE id = $1")))
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(webhook(&row)?))
    }

    async fn delete_webhook(&self, domain_id: Uuid, id: Uuid, audit: AuditRecord) -> Result<bool> {
        delete_owned_row(&self.pool, &self.changes, "webhooks", "domain_id", (domain_id, id), audit).await
    }

    async fn due_webhooks(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<Uuid>> {
        let rows: Vec<(Uuid,)> = sqlx::query_as(
            "SELECT id FROM webhooks WHERE NOT paused AND next_attempt_at <= $1 ORDER BY next_attempt_at, id LIMIT $2",
        )
        .bind(now.timestamp_micros())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    async fn lease_webhook(
        &self,
        id: Uuid,
        owner: Uuid,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Option<WebhookTarget>> {
        // One statement decides: of two servers, the second finds the lease taken.
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE webhooks SET lease_owner = $2, lease_until = $4 \
             WHERE id = $1 AND NOT paused AND next_attempt_at <= $3 \
             AND (lease_owner IS NULL OR lease_owner = $2 OR lease_until < $3) \
             RETURNING {COLUMNS}, secret, cursor"
        )))
        .bind(id)
        .bind(owner)
        .bind(now.timestamp_micros())
        .bind(until.timestamp_micros())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(WebhookTarget {
            webhook: webhook(&row)?,
            secret: row.try_get("secret")?,
            cursor: row.try_get("cursor")?,
        }))
    }

    async fn record_delivery(&self, id: Uuid, owner: Uuid, record: DeliveryRecord) -> Result<bool> {
        let updated = sqlx::query(
            "UPDATE webhooks SET cursor = COALESCE($3, cursor), last_attempt_at = COALESCE($4, last_attempt_at), \
             last_status = CASE WHEN $4 IS NULL THEN last_status ELSE $5 END, \
             last_error = CASE WHEN $4 IS NULL THEN last_error ELSE $6 END, failures = $7, failing_since = $8, next_attempt_at = $9, paused = $10, \
             lease_owner = NULL, lease_until = NULL \
             WHERE id = $1 AND lease_owner = $2",
        )
        .bind(id)
        .bind(owner)
        .bind(record.cursor)
        .bind(record.at.map(|at| at.timestamp_micros()))
        .bind(record.status)
        .bind(record.error)
        .bind(record.failures)
        .bind(record.failing_since.map(|at| at.timestamp_micros()))
        .bind(record.next_attempt_at.timestamp_micros())
        .bind(record.paused)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(updated == 1)
    }
}

fn webhook(row: &Row) -> Result<Webhook> {
    let optional_time = |column: &str| -> Result<Option<DateTime<Utc>>> {
        row.try_get::<Option<i64>, _>(column)?.map(time).transpose()
    };
    Ok(Webhook {
        id: row.try_get("id")?,
        domain_id: row.try_get("domain_id")?,
        url: row.try_get("url")?,
        contacts: row.try_get("contacts")?,
        presence: row.try_get("presence")?,
        created_at: time(row.try_get("created_at")?)?,
        last_attempt_at: optional_time("last_attempt_at")?,
        last_status: row.try_get("last_status")?,
        last_error: row.try_get("last_error")?,
        failures: row.try_get("failures")?,
        failing_since: optional_time("failing_since")?,
        paused: row.try_get("paused")?,
    })
}
