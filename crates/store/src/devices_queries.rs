//! Device credentials: part of `queries.rs`, compiled once per back-end with it.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row as _;
use switchboard_core::paging::{Limit, Page};
use uuid::Uuid;

use super::{Backend, Builder, Row, begin_write, now, time, write_audit};
use crate::{AuditRecord, Device, DeviceStore, NewDevice, Result, StoreError};

#[async_trait]
impl DeviceStore for Backend {
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
}

fn device(row: &Row) -> Result<Device> {
    device_with(row, "")
}

/// A device from columns named with `prefix` (a join reads several tables' `id`s).
pub(super) fn device_with(row: &Row, prefix: &str) -> Result<Device> {
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
