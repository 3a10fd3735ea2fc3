//! Reading the audit log (writing it is `write_audits` in `queries.rs`): part of `queries.rs`,
//! compiled once per back-end with it.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row as _;
use switchboard_core::model::AuditEntry;
use switchboard_core::paging::{Limit, Page};
use uuid::Uuid;

use super::{Backend, Builder, Row, decode_error, push_visible, time};
use crate::{AuditFilter, AuditStore, Result};

#[async_trait]
impl AuditStore for Backend {
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
