//! Resellers and domains: part of `queries.rs`, compiled once per back-end with it.

use async_trait::async_trait;
use sqlx::{Executor, Row as _};
use switchboard_core::DomainName;
use switchboard_core::model::{Domain, Reseller};
use switchboard_core::paging::Page;
use uuid::Uuid;

use super::{
    Backend, Builder, DOMAIN_KEYS, Db, Row, Tx, begin_write, conflict, expect_one, now, page, parsed, push_like,
    push_page, time, write_audit,
};
use crate::changes::ChangeCache;
use crate::{AuditRecord, DomainPatch, DomainStore, ListQuery, NewDomain, Result, StoreError};

#[async_trait]
impl DomainStore for Backend {
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
        // The feed's rows have no foreign key to cascade (see migration 0023).
        sqlx::query("DELETE FROM directory_changes WHERE domain_id = $1").bind(id).execute(&mut *tx).await?;
        let deleted = sqlx::query("DELETE FROM domains WHERE id = $1").bind(id).execute(&mut *tx).await?;
        expect_one(deleted.rows_affected())?;
        write_audit(&mut tx, &self.changes, &audit).await?;
        Ok(tx.commit().await?)
    }
}

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

pub(super) fn domain(row: &Row) -> Result<Domain> {
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
