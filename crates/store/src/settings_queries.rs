//! Settings layers: part of `queries.rs`, compiled once per back-end with it.

use std::collections::BTreeMap;

use async_trait::async_trait;
use uuid::Uuid;

use super::{Backend, Builder, Tx, begin_write, mark_inheritors_changed, write_audit};
use crate::{AuditRecord, Layer, Result, SettingsStore};

#[async_trait]
impl SettingsStore for Backend {
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
}

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
