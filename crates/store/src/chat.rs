//! Chat between coworkers: part of [`Store`](crate::Store); the SQL is in
//! `chat_queries.rs`, the tables in migration 0015. The store keeps messages and each
//! person's side of a conversation consistent; who may write to whom is the app's to decide.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use switchboard_core::chat::{ChatMessage, Conversation};
use switchboard_core::model::User;
use uuid::Uuid;

use crate::{AuditRecord, Result};

/// A page of one person's conversations, most recent first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationPage {
    pub conversations: Vec<Conversation>,
    /// Messages not read yet, in all their conversations.
    pub unread_total: u32,
}

#[async_trait]
pub trait ChatStore {
    /// Stores a message from `sender` to `recipient` (users of one domain) with its audit
    /// record: both people's conversation moves to it, the recipient has one more unread
    /// message, and the sender has read everything before it.
    async fn send_chat(&self, sender: &User, recipient: &User, text: &str, audit: AuditRecord) -> Result<ChatMessage>;
    /// Whether either of the two has written to the other.
    async fn have_chatted(&self, a: Uuid, b: Uuid) -> Result<bool>;
    /// Messages between `me` and `peer` sent before the message `before` (all when
    /// `None`), newest first, at most `limit`, with the marks `me` sees.
    async fn chat_messages(&self, me: &User, peer: &User, before: Option<Uuid>, limit: u32)
    -> Result<Vec<ChatMessage>>;
    /// `me`'s conversations whose latest message is older than the message `before`,
    /// newest first, at most `limit`.
    async fn chat_conversations(&self, me: &User, before: Option<Uuid>, limit: u32) -> Result<ConversationPage>;
    /// Records that `me` received messages: `peer`'s up to `up_to`, or (`None`) every
    /// message of every conversation. Returns the peers whose mark moved (a mark never
    /// moves back): only they have something new to hear.
    async fn mark_chat_delivered(&self, me: &User, up_to: Option<(&User, Uuid)>) -> Result<Vec<Uuid>>;
    /// Marks `me`'s conversation with `peer` read up to the message `up_to` (a read mark
    /// never moves back); whether it moved. `NotFound` when `up_to` is no message
    /// between the two.
    async fn mark_chat_read(&self, me: &User, peer: &User, up_to: Uuid) -> Result<bool>;
    /// Deletes, for both, the text of a message `me` sent to `peer` no earlier than
    /// `sent_since`. `NotFound` when there is no such message of theirs; `Conflict` when
    /// it was sent earlier or is deleted already.
    async fn delete_chat_message(
        &self,
        me: &User,
        peer: &User,
        id: Uuid,
        sent_since: DateTime<Utc>,
        audit: AuditRecord,
    ) -> Result<()>;
    /// Deletes a domain's messages sent before `before` (its retention), and the
    /// conversations left without any; returns how many messages.
    async fn purge_chat_before(&self, domain_id: Uuid, before: DateTime<Utc>) -> Result<u64>;
}
