//! The directory feed (`FeedStore`, migration 0018): part of `queries.rs`, compiled once
//! per back-end with it. Writers note what changed with the `record_*` functions, in
//! their own transaction; readers page through `directory_changes` by its order.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use switchboard_core::model::DirectoryEntry;
use uuid::Uuid;

use super::{
    Backend, Builder, Conn, Filter, begin_write, directory_entry, directory_rows, insert_feed_rows, now, push_ids,
};
use crate::{DirectoryQuery, FeedBounds, FeedPosition, FeedStore, Group, ListQuery, Result};

/// Ids per statement: three binds a row stays well below both back-ends' limits.
const CHUNK: usize = 1000;

#[async_trait]
impl FeedStore for Backend {
    async fn feed_rows(
        &self,
        domain_id: Uuid,
        viewer_id: Uuid,
        after: FeedPosition,
        limit: u32,
    ) -> Result<Vec<FeedPosition>> {
        let rows: Vec<(i64, Uuid, Uuid)> = sqlx::query_as(
            "SELECT seq, entry_id, audience_id FROM directory_changes \
             WHERE domain_id = $1 AND (seq, entry_id, audience_id) > ($2, $3, $4) AND audience_id IN ($5, $6) \
             ORDER BY seq, entry_id, audience_id LIMIT $7",
        )
        .bind(domain_id)
        .bind(after.seq)
        .bind(after.entry_id)
        .bind(after.audience_id)
        .bind(Uuid::nil())
        .bind(viewer_id)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(seq, entry_id, audience_id)| FeedPosition { seq, entry_id, audience_id }).collect())
    }

    async fn feed_bounds(&self, domain_id: Uuid) -> Result<Option<FeedBounds>> {
        let row: Option<(i64, i64)> = sqlx::query_as("SELECT feed_seq, feed_floor FROM domains WHERE id = $1")
            .bind(domain_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|(head, floor)| FeedBounds { head, floor }))
    }

    async fn directory_entries(&self, query: &DirectoryQuery, ids: &[Uuid]) -> Result<Vec<DirectoryEntry>> {
        let mut entries = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(switchboard_core::paging::Limit::MAX as usize) {
            let limit = switchboard_core::paging::Limit::parse(Some(chunk.len() as u32)).unwrap_or_default();
            let list = ListQuery { limit, ..ListQuery::default() };
            let query = DirectoryQuery { group: Group::All, list, ..query.clone() };
            // Found by their primary keys and sorted, not by walking the sort index past
            // every other entry of the domain.
            let only = Filter { only: Some(chunk), groups: true, ..Filter::default() };
            for row in directory_rows(&self.pool, &query, only, false).await? {
                entries.push(directory_entry(&row)?);
            }
        }
        Ok(entries)
    }

    async fn purge_feed(&self, before: DateTime<Utc>) -> Result<u64> {
        let mut tx = begin_write(&self.pool).await?;
        // A row is a tombstone when its entry is gone: no live contact, no user, and for
        // a star, no star.
        let gone = "changed_at < $1 \
             AND NOT EXISTS (SELECT 1 FROM contacts WHERE contacts.id = directory_changes.entry_id \
                             AND contacts.deleted_at IS NULL) \
             AND NOT EXISTS (SELECT 1 FROM users WHERE users.id = directory_changes.entry_id)";
        let floors: Vec<(Uuid, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT domain_id, MAX(seq) FROM directory_changes WHERE {gone} GROUP BY domain_id"
        )))
        .bind(before.timestamp_micros())
        .fetch_all(&mut *tx)
        .await?;
        for (domain_id, floor) in &floors {
            sqlx::query("UPDATE domains SET feed_floor = $1 WHERE id = $2 AND feed_floor < $1")
                .bind(floor)
                .bind(domain_id)
                .execute(&mut *tx)
                .await?;
        }
        let purged = sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM directory_changes WHERE {gone}")))
            .bind(before.timestamp_micros())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(purged)
    }
}

/// Takes the domain's next feed number. The row lock this takes is held to the end of
/// the caller's transaction, so the domain's numbers commit in order (see migration
/// 0018). `None` when the domain is gone.
async fn take_feed_number(conn: &mut Conn, domain_id: Uuid) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar("UPDATE domains SET feed_seq = feed_seq + 1 WHERE id = $1 RETURNING feed_seq")
        .bind(domain_id)
        .fetch_optional(&mut *conn)
        .await?)
}

/// Notes that the domain's entries among `ids` changed (contacts, deleted ones included,
/// and users; other ids are ignored): each for whoever sees it.
pub(super) async fn record_entries(conn: &mut Conn, domain_id: Uuid, ids: &[Uuid]) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let Some(seq) = take_feed_number(conn, domain_id).await? else { return Ok(()) };
    let at = now();
    for chunk in ids.chunks(CHUNK) {
        // Rows already there (the entry's, and the stars it has) move to the end; this
        // also tells of an entry that is gone.
        let mut qb = Builder::new("UPDATE directory_changes SET seq = ");
        qb.push_bind(seq).push(", changed_at = ").push_bind(at);
        qb.push(" WHERE domain_id = ").push_bind(domain_id).push(" AND entry_id IN (");
        push_ids(&mut qb, chunk);
        qb.build().execute(&mut *conn).await?;
        // Entries new to the feed: a contact is seen by its book's owner or by everyone,
        // a coworker by everyone.
        for (table, owner) in [("contacts", "owner_user_id"), ("users", "NULL")] {
            let mut qb =
                Builder::new("INSERT INTO directory_changes (domain_id, entry_id, audience_id, seq, changed_at) ");
            qb.push(format_args!("SELECT domain_id, id, coalesce({owner}, ")).push_bind(Uuid::nil()).push("), ");
            qb.push_bind(seq).push(", ").push_bind(at);
            qb.push(format_args!(" FROM {table} WHERE domain_id = ")).push_bind(domain_id).push(" AND id IN (");
            push_ids(&mut qb, chunk);
            qb.push(" ON CONFLICT DO NOTHING");
            qb.build().execute(&mut *conn).await?;
        }
    }
    Ok(())
}

/// Notes that entries changed for one reader alone (`audience_id`): their stars, or the
/// contacts of their own book.
pub(super) async fn record_for(conn: &mut Conn, domain_id: Uuid, audience_id: Uuid, ids: &[Uuid]) -> Result<()> {
    record_new_and_changed(conn, domain_id, audience_id, &[], ids).await
}

/// [`record_for`] for an import: `created` are entries it made (new to the feed, so
/// written in bulk: `insert_feed_rows`), `changed` the others it touched (updated,
/// trashed, starred: they may have a row already, which moves to the end). All take one
/// number.
pub(super) async fn record_new_and_changed(
    conn: &mut Conn,
    domain_id: Uuid,
    audience_id: Uuid,
    created: &[Uuid],
    changed: &[Uuid],
) -> Result<()> {
    // One statement may not name a row twice (an import's contact may also be starred).
    let mut changed = changed.to_vec();
    changed.sort_unstable();
    changed.dedup();
    let created: Vec<Uuid> = created.iter().copied().filter(|id| changed.binary_search(id).is_err()).collect();
    if created.is_empty() && changed.is_empty() {
        return Ok(());
    }
    let Some(seq) = take_feed_number(conn, domain_id).await? else { return Ok(()) };
    let at = now();
    insert_feed_rows(conn, domain_id, audience_id, (seq, at), &created).await?;
    for chunk in changed.chunks(CHUNK) {
        let mut qb = Builder::new("INSERT INTO directory_changes (domain_id, entry_id, audience_id, seq, changed_at) ");
        qb.push_values(chunk, |mut row, id| {
            row.push_bind(domain_id).push_bind(*id).push_bind(audience_id).push_bind(seq).push_bind(at);
        });
        qb.push(" ON CONFLICT (domain_id, entry_id, audience_id) DO UPDATE SET seq = excluded.seq, changed_at = excluded.changed_at");
        qb.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// Notes that these users changed as coworkers (their presence), in each one's domain;
/// returns them with their domains.
pub(super) async fn record_users(conn: &mut Conn, user_ids: &[Uuid]) -> Result<Vec<(Uuid, Uuid)>> {
    if user_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut qb = Builder::new("SELECT domain_id, id FROM users WHERE id IN (");
    push_ids(&mut qb, user_ids);
    let mut users: Vec<(Uuid, Uuid)> = qb.build_query_as().fetch_all(&mut *conn).await?;
    // Domains in one order, so two writers never wait on each other's domains.
    users.sort_unstable();
    for domain_users in users.chunk_by(|a, b| a.0 == b.0) {
        let ids: Vec<Uuid> = domain_users.iter().map(|(_, id)| *id).collect();
        record_entries(conn, domain_users[0].0, &ids).await?;
    }
    Ok(users)
}
