//! Line states, sessions and PBX credentials: part of `queries.rs`, compiled once per
//! back-end with it. Every write here and in `directory_queries.rs`'s presence methods
//! ends with [`derive`], in its transaction.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row as _;
use switchboard_core::model::{LineState, PbxCredential, Presence, PresenceState};
use uuid::Uuid;

use super::{Backend, Builder, Row, Tx, begin_write, delete_owned_row, now, push_ids, record_users, time, write_audit};
use crate::presence::{LineUpdate, NewPbxCredential, PresenceStore};
use crate::{AuditRecord, Result};

/// The shown state, from what the row holds (see `core::model::Presence`): a state set
/// by hand as busy or offline wins; then a busy line; then anything that says the person
/// is there (a state set by hand as available, an idle line, an open session).
const SHOWN_STATE: &str = "(CASE WHEN manual_state IN ('busy', 'offline') THEN manual_state \
     WHEN line_state IN ('ringing', 'on_call', 'on_hold', 'dnd') THEN 'busy' \
     WHEN manual_state = 'available' OR line_state = 'idle' OR connected THEN 'available' \
     ELSE 'offline' END)";

/// Columns a presence is read from.
pub(super) const PRESENCE_COLUMNS: &str = "state, chat, message, chat_away, manual_state, line_state";

/// Writes the shown state, chat and away marks of `user_ids` from their rows, and
/// returns those whose shown presence changed. Someone shown offline is neither
/// available to chat nor away (they chose to appear offline).
pub(super) async fn derive(tx: &mut Tx, user_ids: &[Uuid], at: i64) -> Result<Vec<Uuid>> {
    if user_ids.is_empty() {
        return Ok(Vec::new());
    }
    let chat = format!("({SHOWN_STATE} <> 'offline' AND (manual_chat OR (connected AND NOT away)))");
    let away = format!("({SHOWN_STATE} <> 'offline' AND connected AND away AND NOT manual_chat)");
    let mut qb = Builder::new(format!(
        "UPDATE presence SET state = {SHOWN_STATE}, chat = {chat}, chat_away = {away}, updated_at = "
    ));
    qb.push_bind(at).push(" WHERE user_id IN (");
    push_ids(&mut qb, user_ids);
    qb.push(format!(" AND (state <> {SHOWN_STATE} OR chat <> {chat} OR chat_away <> {away}) RETURNING user_id"));
    let changed: Vec<Uuid> = qb.build_query_scalar().fetch_all(&mut **tx).await?;
    // Each shown change is a change of the coworker's entry, for the feed.
    record_users(tx, &changed).await?;
    Ok(changed)
}

/// A presence row (of [`PRESENCE_COLUMNS`], with `prefix` before each name).
pub(super) fn presence_of(row: &Row, prefix: &str) -> Result<Presence> {
    let state = |column: &str| -> Result<Option<String>> { Ok(row.try_get(format!("{prefix}{column}").as_str())?) };
    Ok(Presence {
        state: state("state")?.and_then(|s| PresenceState::parse(&s)).unwrap_or_default(),
        chat: row.try_get::<Option<bool>, _>(format!("{prefix}chat").as_str())?.unwrap_or(false),
        message: state("message")?.unwrap_or_default(),
        chat_away: row.try_get::<Option<bool>, _>(format!("{prefix}chat_away").as_str())?.unwrap_or(false),
        manual_state: state("manual_state")?.and_then(|s| PresenceState::parse(&s)),
        line: state("line_state")?.and_then(|s| LineState::parse(&s)),
    })
}

/// Makes sure the user has a presence row, and locks it until the transaction ends, so
/// that writes about one person's sessions on several servers take turns.
async fn lock_presence(tx: &mut Tx, user_id: Uuid, at: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO presence (user_id, state, chat, message, updated_at) VALUES ($1, 'offline', FALSE, '', $2) \
         ON CONFLICT (user_id) DO UPDATE SET updated_at = presence.updated_at",
    )
    .bind(user_id)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Sets `connected` of `user_id` from its live connections (read after the row's lock
/// was taken, so every other server's change of this person is seen).
async fn recount_connections(tx: &mut Tx, user_id: Uuid, at: i64) -> Result<()> {
    sqlx::query(
        "UPDATE presence SET connected = EXISTS (SELECT 1 FROM presence_connections c \
         WHERE c.user_id = presence.user_id AND c.expires_at > $2) WHERE user_id = $1",
    )
    .bind(user_id)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Ends the connections no server renewed (a crashed server's), marks not connected
/// whoever has none left, and away whoever was last active before `idle_before`;
/// returns the users touched.
pub(super) async fn expire_sessions(tx: &mut Tx, at: i64, idle_before: i64) -> Result<Vec<Uuid>> {
    sqlx::query("DELETE FROM presence_connections WHERE expires_at <= $1").bind(at).execute(&mut **tx).await?;
    let lost_sql = "SELECT user_id FROM presence WHERE connected AND NOT EXISTS (SELECT 1 FROM presence_connections c \
         WHERE c.user_id = presence.user_id AND c.expires_at > $1)";
    let lost: Vec<Uuid> = sqlx::query_scalar(lost_sql).bind(at).fetch_all(&mut **tx).await?;
    let mut touched = Vec::new();
    if !lost.is_empty() {
        // Their rows are locked first and their connections counted by a later statement,
        // which sees a session another server opened meanwhile (it took the lock first).
        let mut lock = Builder::new("UPDATE presence SET connected = connected WHERE user_id IN (");
        push_ids(&mut lock, &lost);
        lock.build().execute(&mut **tx).await?;
        let mut qb = Builder::new(
            "UPDATE presence SET connected = FALSE WHERE connected AND NOT EXISTS (SELECT 1 FROM presence_connections c \
             WHERE c.user_id = presence.user_id AND c.expires_at > ",
        );
        qb.push_bind(at).push(") AND user_id IN (");
        push_ids(&mut qb, &lost);
        qb.push(" RETURNING user_id");
        touched = qb.build_query_scalar().fetch_all(&mut **tx).await?;
    }
    let idle: Vec<Uuid> = sqlx::query_scalar(
        "UPDATE presence SET away = TRUE WHERE connected AND NOT away AND active_at <= $1 RETURNING user_id",
    )
    .bind(idle_before)
    .fetch_all(&mut **tx)
    .await?;
    touched.extend(idle);
    Ok(touched)
}

#[async_trait]
impl PresenceStore for Backend {
    async fn create_pbx_credential(&self, new: NewPbxCredential, audit: AuditRecord) -> Result<PbxCredential> {
        let mut tx = begin_write(&self.pool).await?;
        let credential =
            PbxCredential { id: Uuid::now_v7(), domain_id: new.domain_id, name: new.name, created_at: time(now())? };
        sqlx::query(
            "INSERT INTO pbx_credentials (id, domain_id, name, secret_hash, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(credential.id)
        .bind(credential.domain_id)
        .bind(&credential.name)
        .bind(&new.secret_hash)
        .bind(credential.created_at.timestamp_micros())
        .execute(&mut *tx)
        .await?;
        write_audit(&mut tx, &self.changes, &AuditRecord { target_id: Some(credential.id), ..audit }).await?;
        tx.commit().await?;
        Ok(credential)
    }

    async fn pbx_credentials(&self, domain_id: Uuid) -> Result<Vec<PbxCredential>> {
        let rows = sqlx::query(
            "SELECT id, domain_id, name, created_at FROM pbx_credentials WHERE domain_id = $1 ORDER BY id LIMIT 1000",
        )
        .bind(domain_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(pbx_credential).collect()
    }

    async fn revoke_pbx_credential(&self, domain_id: Uuid, id: Uuid, audit: AuditRecord) -> Result<bool> {
        delete_owned_row(&self.pool, &self.changes, "pbx_credentials", "domain_id", (domain_id, id), audit).await
    }

    async fn pbx_credential_by_secret_hash(&self, secret_hash: &str) -> Result<Option<PbxCredential>> {
        let row = sqlx::query("SELECT id, domain_id, name, created_at FROM pbx_credentials WHERE secret_hash = $1")
            .bind(secret_hash)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(pbx_credential).transpose()
    }

    async fn set_line_states(
        &self,
        domain_id: Uuid,
        lines: &[(String, LineState)],
        at: DateTime<Utc>,
    ) -> Result<LineUpdate> {
        let at = at.timestamp_micros();
        let mut tx = begin_write(&self.pool).await?;
        let users = users_by_extension(&mut tx, domain_id, lines).await?;
        // The last report of an extension counts (one statement may change a row once).
        let mut latest: HashMap<Uuid, LineState> = HashMap::new();
        let mut unknown = Vec::new();
        for (ext, state) in lines {
            match users.get(ext) {
                Some(user_id) => _ = latest.insert(*user_id, *state),
                None => unknown.push(ext.clone()),
            }
        }
        let mut ids: Vec<Uuid> = latest.keys().copied().collect();
        ids.sort_unstable();
        let moved = lines_that_move(&mut tx, &latest).await?;
        if !ids.is_empty() {
            let mut qb =
                Builder::new("INSERT INTO presence (user_id, state, chat, message, updated_at, line_state, line_at) ");
            qb.push_values(&ids, |mut row, id| {
                row.push_bind(*id).push("'offline'").push("FALSE").push("''").push_bind(at);
                row.push_bind(latest[id].as_str()).push_bind(at);
            });
            qb.push(
                " ON CONFLICT (user_id) DO UPDATE SET line_state = excluded.line_state, line_at = excluded.line_at",
            );
            qb.build().execute(&mut *tx).await?;
        }
        let changed = derive(&mut tx, &ids, at).await?;
        // The line shows in the entry even when the state stays the same (`derive` noted
        // the others); a line reported again as it was is no change.
        let line_only: Vec<Uuid> = moved.into_iter().filter(|id| !changed.contains(id)).collect();
        record_users(&mut tx, &line_only).await?;
        tx.commit().await?;
        Ok(LineUpdate { changed, line_only, unknown })
    }

    async fn clear_presence(&self, user_id: Uuid, at: DateTime<Utc>) -> Result<bool> {
        let at = at.timestamp_micros();
        let mut tx = begin_write(&self.pool).await?;
        let cleared = sqlx::query(
            "UPDATE presence SET manual_state = NULL, manual_chat = FALSE, message = '', message_until = NULL, \
             busy_until = NULL, updated_at = $2 WHERE user_id = $1 AND (manual_state IS NOT NULL OR manual_chat \
             OR message <> '')",
        )
        .bind(user_id)
        .bind(at)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let changed = derive(&mut tx, &[user_id], at).await?;
        tx.commit().await?;
        Ok(cleared > 0 || !changed.is_empty())
    }

    async fn connect_presence(
        &self,
        connection_id: Uuid,
        user_id: Uuid,
        at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<bool> {
        let at = at.timestamp_micros();
        let mut tx = begin_write(&self.pool).await?;
        lock_presence(&mut tx, user_id, at).await?;
        sqlx::query("INSERT INTO presence_connections (id, user_id, expires_at) VALUES ($1, $2, $3)")
            .bind(connection_id)
            .bind(user_id)
            .bind(expires_at.timestamp_micros())
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE presence SET connected = TRUE, active_at = $2, away = FALSE WHERE user_id = $1")
            .bind(user_id)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        let changed = derive(&mut tx, &[user_id], at).await?;
        tx.commit().await?;
        Ok(!changed.is_empty())
    }

    async fn disconnect_presence(&self, connection_id: Uuid, at: DateTime<Utc>) -> Result<Option<Uuid>> {
        let at = at.timestamp_micros();
        let mut tx = begin_write(&self.pool).await?;
        let user_id: Option<Uuid> = sqlx::query_scalar("SELECT user_id FROM presence_connections WHERE id = $1")
            .bind(connection_id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(user_id) = user_id else { return Ok(None) };
        lock_presence(&mut tx, user_id, at).await?;
        sqlx::query("DELETE FROM presence_connections WHERE id = $1").bind(connection_id).execute(&mut *tx).await?;
        recount_connections(&mut tx, user_id, at).await?;
        let changed = derive(&mut tx, &[user_id], at).await?;
        tx.commit().await?;
        Ok(changed.first().copied())
    }

    async fn presence_activity(&self, user_id: Uuid, at: DateTime<Utc>) -> Result<bool> {
        let at = at.timestamp_micros();
        let mut tx = begin_write(&self.pool).await?;
        sqlx::query("UPDATE presence SET active_at = $2, away = FALSE WHERE user_id = $1 AND connected")
            .bind(user_id)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        let changed = derive(&mut tx, &[user_id], at).await?;
        tx.commit().await?;
        Ok(!changed.is_empty())
    }

    async fn renew_presence_connections(&self, connection_ids: &[Uuid], expires_at: DateTime<Utc>) -> Result<()> {
        for chunk in connection_ids.chunks(1000) {
            let mut qb = Builder::new("UPDATE presence_connections SET expires_at = ");
            qb.push_bind(expires_at.timestamp_micros()).push(" WHERE id IN (");
            push_ids(&mut qb, chunk);
            qb.build().execute(&self.pool).await?;
        }
        Ok(())
    }
}

/// The users of `domain_id` among the extensions of `lines`, by extension.
/// The users among `latest` whose line state is not already the one reported.
async fn lines_that_move(tx: &mut Tx, latest: &HashMap<Uuid, LineState>) -> Result<Vec<Uuid>> {
    if latest.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = latest.keys().copied().collect();
    let mut qb = Builder::new("SELECT user_id, line_state FROM presence WHERE user_id IN (");
    push_ids(&mut qb, &ids);
    let now: HashMap<Uuid, Option<String>> = qb.build_query_as().fetch_all(&mut **tx).await?.into_iter().collect();
    Ok(ids.into_iter().filter(|id| now.get(id).and_then(Option::as_deref) != Some(latest[id].as_str())).collect())
}

async fn users_by_extension(
    tx: &mut Tx,
    domain_id: Uuid,
    lines: &[(String, LineState)],
) -> Result<HashMap<String, Uuid>> {
    if lines.is_empty() {
        return Ok(HashMap::new());
    }
    let mut qb = Builder::new("SELECT extension, id FROM users WHERE domain_id = ");
    qb.push_bind(domain_id).push(" AND extension IN (");
    let mut list = qb.separated(", ");
    for (ext, _) in lines {
        list.push_bind(ext.clone());
    }
    qb.push(")");
    let rows: Vec<(String, Uuid)> = qb.build_query_as().fetch_all(&mut **tx).await?;
    Ok(rows.into_iter().collect())
}

fn pbx_credential(row: &Row) -> Result<PbxCredential> {
    Ok(PbxCredential {
        id: row.try_get("id")?,
        domain_id: row.try_get("domain_id")?,
        name: row.try_get("name")?,
        created_at: time(row.try_get("created_at")?)?,
    })
}
