//! Chat between coworkers (see `chat.rs` and migration 0015): part of `queries.rs`,
//! compiled once per back-end with it.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row as _;
use switchboard_core::chat::{ChatMessage, Conversation};
use switchboard_core::model::User;
use uuid::Uuid;

use super::{Backend, Row, begin_write, now, time, write_audit};
use crate::chat::{ChatStore, ConversationPage};
use crate::{AuditRecord, Result, StoreError};

/// A conversation's unread count, worked out again from its messages.
const RECOUNT_UNREAD: &str = "unread = (SELECT count(*) FROM chat_messages AS m \
     WHERE m.recipient_id = chat_conversations.user_id AND m.sender_id = chat_conversations.peer_id \
     AND NOT m.deleted AND (chat_conversations.read_up_to IS NULL OR m.id > chat_conversations.read_up_to))";

/// The two people of a conversation in the order the table keeps them.
fn pair(a: Uuid, b: Uuid) -> (Uuid, Uuid) {
    if a < b { (a, b) } else { (b, a) }
}

/// How far one person has read and received the other's messages.
#[derive(Debug, Default, Clone, Copy)]
struct Marks {
    read_up_to: Option<Uuid>,
    delivered_up_to: Option<Uuid>,
}

impl Marks {
    fn read(&self, id: Uuid) -> bool {
        self.read_up_to.is_some_and(|mark| id <= mark)
    }

    fn delivered(&self, id: Uuid) -> bool {
        self.delivered_up_to.is_some_and(|mark| id <= mark) || self.read(id)
    }
}

#[async_trait]
impl ChatStore for Backend {
    async fn send_chat(&self, sender: &User, recipient: &User, text: &str, audit: AuditRecord) -> Result<ChatMessage> {
        let (id, at) = (Uuid::now_v7(), now());
        let (low, high) = pair(sender.id, recipient.id);
        let mut tx = begin_write(&self.pool).await?;
        sqlx::query(
            "INSERT INTO chat_messages (id, domain_id, sender_id, recipient_id, low_id, high_id, text, sent_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(id)
        .bind(sender.domain_id)
        .bind(sender.id)
        .bind(recipient.id)
        .bind(low)
        .bind(high)
        .bind(text)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        // The sender has read what came before their answer.
        sqlx::query(
            "INSERT INTO chat_conversations (user_id, peer_id, domain_id, last_message_id, read_up_to, unread) \
             VALUES ($1, $2, $3, $4, $4, 0) ON CONFLICT (user_id, peer_id) DO UPDATE \
             SET last_message_id = excluded.last_message_id, read_up_to = excluded.read_up_to, unread = 0",
        )
        .bind(sender.id)
        .bind(recipient.id)
        .bind(sender.domain_id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO chat_conversations (user_id, peer_id, domain_id, last_message_id, unread) \
             VALUES ($1, $2, $3, $4, 1) ON CONFLICT (user_id, peer_id) DO UPDATE \
             SET last_message_id = excluded.last_message_id, unread = chat_conversations.unread + 1",
        )
        .bind(recipient.id)
        .bind(sender.id)
        .bind(sender.domain_id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        write_audit(&mut tx, &self.changes, &audit).await?;
        tx.commit().await?;
        Ok(ChatMessage {
            id,
            from: sender.extension.to_string(),
            to: recipient.extension.to_string(),
            text: text.to_string(),
            sent_at: time(at)?,
            deleted: false,
            delivered: false,
            read: false,
        })
    }

    async fn have_chatted(&self, a: Uuid, b: Uuid) -> Result<bool> {
        let found: Option<i32> =
            sqlx::query_scalar("SELECT 1 FROM chat_conversations WHERE user_id = $1 AND peer_id = $2")
                .bind(a)
                .bind(b)
                .fetch_optional(&self.pool)
                .await?;
        Ok(found.is_some())
    }

    async fn chat_messages(
        &self,
        me: &User,
        peer: &User,
        before: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<ChatMessage>> {
        let (low, high) = pair(me.id, peer.id);
        let rows = sqlx::query(
            "SELECT id, sender_id, text, sent_at, deleted FROM chat_messages \
             WHERE low_id = $1 AND high_id = $2 AND ($3 IS NULL OR id < $3) ORDER BY id DESC LIMIT $4",
        )
        .bind(low)
        .bind(high)
        .bind(before)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let (mine, theirs) = self.marks(me.id, peer.id).await?;
        let messages = rows
            .iter()
            .map(|row| message(row, me, peer.extension.as_str(), mine, theirs))
            .collect::<Result<Vec<ChatMessage>>>()?;
        Ok(messages)
    }

    async fn chat_conversations(&self, me: &User, before: Option<Uuid>, limit: u32) -> Result<ConversationPage> {
        let rows = sqlx::query(
            "SELECT c.unread, c.read_up_to, c.delivered_up_to, theirs.read_up_to AS peer_read, \
             theirs.delivered_up_to AS peer_delivered, \
             u.extension, u.first_name, u.last_name, m.id, m.sender_id, m.text, m.sent_at, m.deleted \
             FROM chat_conversations AS c JOIN users AS u ON u.id = c.peer_id \
             JOIN chat_messages AS m ON m.id = c.last_message_id \
             LEFT JOIN chat_conversations AS theirs ON theirs.user_id = c.peer_id AND theirs.peer_id = c.user_id \
             WHERE c.user_id = $1 AND ($2 IS NULL OR c.last_message_id < $2) \
             ORDER BY c.last_message_id DESC LIMIT $3",
        )
        .bind(me.id)
        .bind(before)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let conversations = rows.iter().map(|row| conversation(row, me)).collect::<Result<Vec<_>>>()?;
        let unread_total: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(unread), 0) AS BIGINT) FROM chat_conversations WHERE user_id = $1",
        )
        .bind(me.id)
        .fetch_one(&self.pool)
        .await?;
        Ok(ConversationPage { conversations, unread_total: u32::try_from(unread_total).unwrap_or(u32::MAX) })
    }

    async fn mark_chat_delivered(&self, me: &User, up_to: Option<(&User, Uuid)>) -> Result<Vec<Uuid>> {
        let query = match up_to {
            Some((peer, up_to)) => sqlx::query_scalar(
                "UPDATE chat_conversations SET delivered_up_to = $3 WHERE user_id = $1 AND peer_id = $2 \
                 AND (delivered_up_to IS NULL OR delivered_up_to < $3) RETURNING peer_id",
            )
            .bind(me.id)
            .bind(peer.id)
            .bind(up_to),
            None => sqlx::query_scalar(
                "UPDATE chat_conversations SET delivered_up_to = last_message_id WHERE user_id = $1 AND unread > 0 \
                 AND (delivered_up_to IS NULL OR delivered_up_to < last_message_id) RETURNING peer_id",
            )
            .bind(me.id),
        };
        Ok(query.fetch_all(&self.pool).await?)
    }

    async fn mark_chat_read(&self, me: &User, peer: &User, up_to: Uuid) -> Result<bool> {
        let (low, high) = pair(me.id, peer.id);
        let mut tx = begin_write(&self.pool).await?;
        let found: Option<i32> =
            sqlx::query_scalar("SELECT 1 FROM chat_messages WHERE id = $1 AND low_id = $2 AND high_id = $3")
                .bind(up_to)
                .bind(low)
                .bind(high)
                .fetch_optional(&mut *tx)
                .await?;
        if found.is_none() {
            return Err(StoreError::NotFound);
        }
        let moved = sqlx::query(
            "UPDATE chat_conversations SET read_up_to = $1, \
             delivered_up_to = CASE WHEN delivered_up_to IS NULL OR delivered_up_to < $1 THEN $1 \
             ELSE delivered_up_to END WHERE user_id = $2 AND peer_id = $3 \
             AND (read_up_to IS NULL OR read_up_to < $1)",
        )
        .bind(up_to)
        .bind(me.id)
        .bind(peer.id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        recount_unread(&mut tx, me.id, peer.id).await?;
        tx.commit().await?;
        Ok(moved > 0)
    }

    async fn delete_chat_message(
        &self,
        me: &User,
        peer: &User,
        id: Uuid,
        sent_since: DateTime<Utc>,
        audit: AuditRecord,
    ) -> Result<()> {
        let mut tx = begin_write(&self.pool).await?;
        let found: Option<(i64, bool)> = sqlx::query_as(
            "SELECT sent_at, deleted FROM chat_messages WHERE id = $1 AND sender_id = $2 AND recipient_id = $3",
        )
        .bind(id)
        .bind(me.id)
        .bind(peer.id)
        .fetch_optional(&mut *tx)
        .await?;
        match found {
            None => return Err(StoreError::NotFound),
            Some((_, true)) => return Err(StoreError::Conflict("the message is deleted already".into())),
            Some((sent_at, false)) if sent_at < sent_since.timestamp_micros() => {
                return Err(StoreError::Conflict("the time to delete this message has passed".into()));
            }
            Some(_) => {}
        }
        sqlx::query("UPDATE chat_messages SET text = '', deleted = TRUE WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        recount_unread(&mut tx, peer.id, me.id).await?;
        write_audit(&mut tx, &self.changes, &audit).await?;
        Ok(tx.commit().await?)
    }

    async fn purge_chat_before(&self, domain_id: Uuid, before: DateTime<Utc>) -> Result<u64> {
        let mut tx = begin_write(&self.pool).await?;
        let purged = sqlx::query("DELETE FROM chat_messages WHERE domain_id = $1 AND sent_at < $2")
            .bind(domain_id)
            .bind(before.timestamp_micros())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if purged > 0 {
            // A conversation whose latest message went has no message left.
            sqlx::query(
                "DELETE FROM chat_conversations WHERE domain_id = $1 AND NOT EXISTS \
                 (SELECT 1 FROM chat_messages WHERE chat_messages.id = chat_conversations.last_message_id)",
            )
            .bind(domain_id)
            .execute(&mut *tx)
            .await?;
            let sql = format!("UPDATE chat_conversations SET {RECOUNT_UNREAD} WHERE domain_id = $1 AND unread > 0");
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(domain_id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(purged)
    }
}

impl Backend {
    /// `me`'s marks on `peer`'s messages, and `peer`'s on `me`'s.
    async fn marks(&self, me: Uuid, peer: Uuid) -> Result<(Marks, Marks)> {
        let rows: Vec<(Uuid, Option<Uuid>, Option<Uuid>)> = sqlx::query_as(
            "SELECT user_id, read_up_to, delivered_up_to FROM chat_conversations \
             WHERE (user_id = $1 AND peer_id = $2) OR (user_id = $2 AND peer_id = $1)",
        )
        .bind(me)
        .bind(peer)
        .fetch_all(&self.pool)
        .await?;
        let marks_of = |user| {
            rows.iter().find(|(id, _, _)| *id == user).map_or(Marks::default(), |(_, read_up_to, delivered_up_to)| {
                Marks { read_up_to: *read_up_to, delivered_up_to: *delivered_up_to }
            })
        };
        Ok((marks_of(me), marks_of(peer)))
    }
}

async fn recount_unread(tx: &mut super::Tx, user: Uuid, peer: Uuid) -> Result<()> {
    let sql = format!("UPDATE chat_conversations SET {RECOUNT_UNREAD} WHERE user_id = $1 AND peer_id = $2");
    sqlx::query(sqlx::AssertSqlSafe(sql)).bind(user).bind(peer).execute(&mut **tx).await?;
    Ok(())
}

/// A message between `me` and the peer as `me` sees it, from a row of `chat_messages`
/// columns; `mine` are `me`'s marks on the peer's messages, `theirs` the peer's on `me`'s.
fn message(row: &Row, me: &User, peer_extension: &str, mine: Marks, theirs: Marks) -> Result<ChatMessage> {
    let id: Uuid = row.try_get("id")?;
    let from_me = row.try_get::<Uuid, _>("sender_id")? == me.id;
    let (me_extension, peer_extension) = (me.extension.to_string(), peer_extension.to_string());
    let (from, to) = if from_me { (me_extension, peer_extension) } else { (peer_extension, me_extension) };
    Ok(ChatMessage {
        id,
        from,
        to,
        text: row.try_get("text")?,
        sent_at: time(row.try_get("sent_at")?)?,
        deleted: row.try_get("deleted")?,
        delivered: if from_me { theirs.delivered(id) } else { true },
        read: if from_me { theirs.read(id) } else { mine.read(id) },
    })
}

/// One row of `chat_conversations` with its peer, latest message and both people's marks.
fn conversation(row: &Row, me: &User) -> Result<Conversation> {
    let extension: String = row.try_get("extension")?;
    let first: String = row.try_get("first_name")?;
    let last: String = row.try_get("last_name")?;
    let name = format!("{first} {last}").trim().to_string();
    let mine = Marks { read_up_to: row.try_get("read_up_to")?, delivered_up_to: row.try_get("delivered_up_to")? };
    let theirs = Marks { read_up_to: row.try_get("peer_read")?, delivered_up_to: row.try_get("peer_delivered")? };
    let last_message = message(row, me, &extension, mine, theirs)?;
    let unread: i64 = row.try_get("unread")?;
    Ok(Conversation {
        peer_name: if name.is_empty() { extension.clone() } else { name },
        peer: extension,
        last_message,
        unread: u32::try_from(unread).unwrap_or(0),
    })
}
