//! Chat between coworkers of one domain. A person's conversations are theirs alone: only
//! they read them or write in their name (not their managers, not the provider), as
//! [`App::viewer`] decides; who may write to whom is `authz::may_write_chat`. Sending is
//! rate limited per person, audited without the text, and told to both people as a
//! `chat` event.

use chrono::{Duration, Utc};
use serde::{Deserialize, Serialize};
use switchboard_core::chat::{ChatInput, ChatMessage, Conversation, DELETE_WINDOW_SECS, ReadMark, message_text};
use switchboard_core::event::EventKind;
use switchboard_core::model::{Domain, User};
use switchboard_core::paging::{Cursor, Limit};
use switchboard_core::{FieldError, Invalid};
use switchboard_store::{AuditRecord, ListQuery, StoreError};
use uuid::Uuid;

use crate::App;
use crate::auth::Caller;
use crate::authz;
use crate::error::{AppError, Result, forbidden};

/// Items per page when the client does not say, and at most.
const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 100;

/// Paging of conversations and messages: newest first, `before` the oldest one seen.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChatPageParams {
    /// Items per page, 1 to 100 (default 50).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// The `next_before` of the previous page: the id of the oldest message it showed.
    #[param(value_type = Option<String>, format = Uuid)]
    pub before: Option<String>,
}

/// A page of a person's conversations, the most recent first.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ConversationList {
    pub items: Vec<Conversation>,
    /// Messages not read yet, in all of the person's conversations.
    pub unread_total: u32,
    /// Pass as `before` for the next page; null on the last.
    pub next_before: Option<Uuid>,
}

/// A page of one conversation's messages, newest first.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MessageList {
    pub items: Vec<ChatMessage>,
    /// Pass as `before` for older messages; null when there are none.
    pub next_before: Option<Uuid>,
}

impl App {
    pub async fn conversations(
        &self,
        caller: &Caller,
        domain: &str,
        ext: &str,
        params: &ChatPageParams,
    ) -> Result<ConversationList> {
        let (limit, before) = chat_paging(params)?;
        let (_, me) = self.viewer(caller, domain, ext).await?;
        let page = self.store.chat_conversations(&me, before, limit + 1).await?;
        let mut items = page.conversations;
        let next_before = next_page(&mut items, limit, |c| c.last_message.id);
        // Their senders see what has reached this person.
        if items.iter().any(|c| c.unread > 0) {
            for peer_id in self.store.mark_chat_delivered(&me, None).await? {
                self.publish(me.domain_id, pair_event(me.id, peer_id)).await;
            }
        }
        Ok(ConversationList { items, unread_total: page.unread_total, next_before })
    }

    pub async fn chat_messages(
        &self,
        caller: &Caller,
        domain: &str,
        ext: &str,
        peer: &str,
        params: &ChatPageParams,
    ) -> Result<MessageList> {
        let (limit, before) = chat_paging(params)?;
        let (domain, me, peer) = self.chat_pair(caller, domain, ext, peer).await?;
        let mut items = self.store.chat_messages(&me, &peer, before, limit + 1).await?;
        let next_before = next_page(&mut items, limit, |m| m.id);
        // The sender sees what has reached this person; told only when that moved, so
        // that clients reading again on every event do not go round in circles.
        if let Some(newest) = items.iter().filter(|m| m.from == peer.extension.as_str()).map(|m| m.id).max()
            && !self.store.mark_chat_delivered(&me, Some((&peer, newest))).await?.is_empty()
        {
            self.publish(domain.id, chat_event(&me, &peer)).await;
        }
        Ok(MessageList { items, next_before })
    }

    pub async fn send_chat(
        &self,
        caller: &Caller,
        domain: &str,
        ext: &str,
        peer: &str,
        input: ChatInput,
    ) -> Result<ChatMessage> {
        let (domain, me, peer) = self.chat_pair(caller, domain, ext, peer).await?;
        let text = message_text(&input.text).map_err(|m| Invalid::field("text", m))?;
        let have_chatted = !peer.listed && self.store.have_chatted(me.id, peer.id).await?;
        if !authz::may_write_chat(&me, &peer, have_chatted) {
            return Err(forbidden("write to this person: they are not listed in the directory"));
        }
        let refusal = "you are sending messages too fast; wait a moment";
        self.chat_messages.take(me.id, self.config.chat_limit, refusal)?;
        let details = serde_json::json!({ "to": peer.extension.as_str(), "characters": text.chars().count() });
        let audit = chat_audit(&domain, &me, "chat.send", details);
        let message = self.store.send_chat(&me, &peer, &text, audit).await?;
        self.publish(domain.id, chat_event(&me, &peer)).await;
        Ok(message)
    }

    pub async fn mark_chat_read(
        &self,
        caller: &Caller,
        domain: &str,
        ext: &str,
        peer: &str,
        mark: ReadMark,
    ) -> Result<()> {
        let (domain, me, peer) = self.chat_pair(caller, domain, ext, peer).await?;
        let moved = self.store.mark_chat_read(&me, &peer, mark.up_to).await.map_err(|error| match error {
            StoreError::NotFound => Invalid::field("up_to", "not a message of this conversation").into(),
            other => AppError::from(other),
        })?;
        if moved {
            self.publish(domain.id, chat_event(&me, &peer)).await;
        }
        Ok(())
    }

    /// Deletes a message its sender sent within the last five minutes, for both people.
    pub async fn delete_chat_message(
        &self,
        caller: &Caller,
        domain: &str,
        ext: &str,
        peer: &str,
        id: Uuid,
    ) -> Result<()> {
        let (domain, me, peer) = self.chat_pair(caller, domain, ext, peer).await?;
        let since = Utc::now() - Duration::seconds(DELETE_WINDOW_SECS);
        let details = serde_json::json!({ "to": peer.extension.as_str(), "message_id": id });
        let audit = chat_audit(&domain, &me, "chat.delete", details);
        self.store.delete_chat_message(&me, &peer, id, since, audit).await?;
        self.publish(domain.id, chat_event(&me, &peer)).await;
        Ok(())
    }

    /// Deletes the messages older than each domain's `CHAT_RETENTION_DAYS` (domains
    /// without one keep theirs); returns how many went. Run every hour by `serve`.
    pub async fn purge_old_chat(&self) -> Result<u64> {
        let mut purged = 0;
        let mut list =
            ListQuery { limit: Limit::parse(Some(Limit::MAX)).expect("the largest page"), ..ListQuery::default() };
        loop {
            let page = self.store.list_domains(None, &list).await?;
            for domain in &page.items {
                if let Some(days) = self.domain_settings(domain).await?.chat_retention_days() {
                    let cutoff = Utc::now() - Duration::days(i64::from(days));
                    purged += self.store.purge_chat_before(domain.id, cutoff).await?;
                }
            }
            match page.next_cursor.map(|text| Cursor::decode(&text, list.sort)) {
                Some(Ok(next)) => list.after = Some(next),
                _ => return Ok(purged),
            }
        }
    }

    /// The caller as `ext` of `domain` (nobody else reads or writes their chats) and the
    /// person of the conversation, another user of the same domain.
    async fn chat_pair(&self, caller: &Caller, domain: &str, ext: &str, peer: &str) -> Result<(Domain, User, User)> {
        let (domain, me) = self.viewer(caller, domain, ext).await?;
        let peer = self.domain_user(&domain, peer).await?;
        if peer.id == me.id {
            return Err(Invalid::field("peer", "a conversation is with someone else").into());
        }
        Ok((domain, me, peer))
    }
}

fn chat_event(a: &User, b: &User) -> EventKind {
    pair_event(a.id, b.id)
}

/// The event of two people's conversation: the same whichever of them caused it.
fn pair_event(a: Uuid, b: Uuid) -> EventKind {
    EventKind::ChatChanged { between: if a < b { [a, b] } else { [b, a] } }
}

fn chat_audit(domain: &Domain, me: &User, action: &str, details: serde_json::Value) -> AuditRecord {
    AuditRecord {
        domain_id: Some(domain.id),
        actor: format!("{}@{}", me.extension, domain.name),
        action: action.into(),
        target_id: Some(me.id),
        details,
    }
}

/// Reads `limit` and `before`, reporting both when both are wrong.
fn chat_paging(params: &ChatPageParams) -> Result<(u32, Option<Uuid>), Invalid> {
    let mut errors = Vec::new();
    let limit = match params.limit.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        None => DEFAULT_PAGE,
        Some(text) => match text.parse::<u32>() {
            Ok(n) if (1..=MAX_PAGE).contains(&n) => n,
            _ => {
                let message = format!("`{text}` is not a page size; use 1 to {MAX_PAGE}");
                errors.push(FieldError { field: "limit".into(), message });
                DEFAULT_PAGE
            }
        },
    };
    let before = match params.before.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        None => None,
        Some(text) => text.parse::<Uuid>().map(Some).unwrap_or_else(|_| {
            let message = "use the `next_before` of the previous page".to_string();
            errors.push(FieldError { field: "before".into(), message });
            None
        }),
    };
    if errors.is_empty() { Ok((limit, before)) } else { Err(Invalid(errors)) }
}

/// Keeps `limit` of `items` (one more was asked for) and gives the id to continue before.
fn next_page<T>(items: &mut Vec<T>, limit: u32, id: impl Fn(&T) -> Uuid) -> Option<Uuid> {
    if items.len() <= limit as usize {
        return None;
    }
    items.truncate(limit as usize);
    items.last().map(id)
}
