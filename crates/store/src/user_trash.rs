//! Deleted users, kept for a while with everything that was theirs so that a mistaken
//! delete can be undone. Part of [`Store`](crate::Store); the SQL is in
//! `user_trash_queries.rs`.
//!
//! Deleting a user takes their rows out of every live table in one transaction (so no
//! directory, book, look-up or login can meet them) and keeps them as one JSON snapshot
//! in `deleted_users`: the user, their own contacts (trashed ones too), their favorites,
//! settings, device credentials, allowed numbers and presence, in `db copy`'s row form.
//! Sessions and API tokens are not kept: they end with the delete. Restoring puts the
//! rows back as they were, ids and secrets' hashes included, so the user's phones work again.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use switchboard_core::model::User;
use switchboard_core::paging::{Limit, Page};
use switchboard_core::{Extension, Scope};
use uuid::Uuid;

use crate::{AuditRecord, Result};

/// A user in the trash: who they were, never what they kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeletedUser {
    /// The user's id, kept across the delete and the restore.
    pub id: Uuid,
    pub domain_id: Uuid,
    pub extension: Extension,
    pub first_name: String,
    pub last_name: String,
    pub scope: Scope,
    pub site: String,
    pub deleted_at: DateTime<Utc>,
    /// Who deleted them: `100@acme.example`, or `cli`.
    pub deleted_by: String,
}

#[async_trait]
pub trait UserTrashStore {
    /// Moves a user and everything theirs to the trash; `audit.actor` is kept as who did it.
    async fn delete_user(&self, id: Uuid, audit: AuditRecord) -> Result<()>;
    /// A domain's deleted users by id, after the user `after`.
    async fn deleted_users(&self, domain_id: Uuid, limit: Limit, after: Option<Uuid>) -> Result<Page<DeletedUser>>;
    async fn deleted_user(&self, domain_id: Uuid, id: Uuid) -> Result<Option<DeletedUser>>;
    /// Puts a deleted user back with everything kept; `Conflict` when their extension has
    /// been given to someone else since.
    async fn restore_user(&self, domain_id: Uuid, id: Uuid, audit: AuditRecord) -> Result<User>;
    /// Forgets users deleted before `before`, with everything kept of them.
    async fn purge_deleted_users(&self, before: DateTime<Utc>) -> Result<u64>;
}
