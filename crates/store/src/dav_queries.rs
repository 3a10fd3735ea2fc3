//! Card names (`DavStore`, migration 0021): part of `queries.rs`, compiled once per
//! back-end with it.

use async_trait::async_trait;
use sqlx::Row as _;
use uuid::Uuid;

use super::{Backend, Builder, Row, push_ids, push_in, unindexed};
use crate::{DavName, DavStore, Result};

fn dav_name(row: &Row) -> Result<DavName> {
    Ok(DavName { contact_id: row.try_get("contact_id")?, name: row.try_get("name")?, uid: row.try_get("uid")? })
}

#[async_trait]
impl DavStore for Backend {
    async fn dav_names(&self, owner_id: Uuid, ids: &[Uuid]) -> Result<Vec<DavName>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        // The owner's column is kept from choosing an index: the ids are looked up by the
        // primary key rather than by walking every name of the owner.
        let mut qb = Builder::new(format!(
            "SELECT contact_id, name, uid FROM dav_names WHERE {} = ",
            unindexed("owner_user_id")
        ));
        qb.push_bind(owner_id).push(" AND contact_id IN (");
        push_ids(&mut qb, ids);
        let rows = qb.build().fetch_all(&self.pool).await?;
        rows.iter().map(dav_name).collect()
    }

    async fn dav_names_named(&self, owner_id: Uuid, names: &[String]) -> Result<Vec<DavName>> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let mut qb = Builder::new("SELECT contact_id, name, uid FROM dav_names WHERE owner_user_id = ");
        qb.push_bind(owner_id).push(" AND");
        push_in(&mut qb, "name", names.iter().cloned());
        let rows = qb.build().fetch_all(&self.pool).await?;
        rows.iter().map(dav_name).collect()
    }

    async fn dav_name_by_name(&self, owner_id: Uuid, name: &str) -> Result<Option<DavName>> {
        let row = sqlx::query("SELECT contact_id, name, uid FROM dav_names WHERE owner_user_id = $1 AND name = $2")
            .bind(owner_id)
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(dav_name).transpose()
    }

    async fn dav_name_by_uid(&self, owner_id: Uuid, uid: &str) -> Result<Option<DavName>> {
        let row = sqlx::query("SELECT contact_id, name, uid FROM dav_names WHERE owner_user_id = $1 AND uid = $2")
            .bind(owner_id)
            .bind(uid)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(dav_name).transpose()
    }

    async fn set_dav_name(&self, owner_id: Uuid, name: &DavName) -> Result<()> {
        sqlx::query(
            "INSERT INTO dav_names (contact_id, owner_user_id, name, uid) \
             SELECT id, owner_user_id, $3, $4 FROM contacts WHERE id = $1 AND owner_user_id = $2 \
             ON CONFLICT (contact_id) DO UPDATE SET name = excluded.name, uid = excluded.uid",
        )
        .bind(name.contact_id)
        .bind(owner_id)
        .bind(&name.name)
        .bind(&name.uid)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn delete_dav_name(&self, owner_id: Uuid, contact_id: Uuid) -> Result<()> {
        sqlx::query("DELETE FROM dav_names WHERE owner_user_id = $1 AND contact_id = $2")
            .bind(owner_id)
            .bind(contact_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
