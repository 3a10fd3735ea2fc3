//! Presence fed by reality: the line states a phone system reports, the person's open
//! sessions, and the credentials phone systems report with. Part of
//! [`Store`](crate::Store); the SQL is in `presence_queries.rs`, the tables in migration
//! 0017. Every presence write (these and `DirectoryStore::set_presence` /
//! `expire_presence`) ends by deriving the shown state in the same transaction
//! (`presence_queries::derive`), which also says whose presence changed.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use switchboard_core::model::{LineState, PbxCredential};
use uuid::Uuid;

use crate::{AuditRecord, Result};

#[derive(Debug, Clone)]
pub struct NewPbxCredential {
    pub domain_id: Uuid,
    pub name: String,
    pub secret_hash: String,
}

/// What a batch of line states changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineUpdate {
    /// Users whose shown presence changed.
    pub changed: Vec<Uuid>,
    /// Users whose line changed while what is shown stayed (on a call, then on hold).
    pub line_only: Vec<Uuid>,
    /// Extensions given that are no user of the domain.
    pub unknown: Vec<String>,
}

#[async_trait]
pub trait PresenceStore {
    async fn create_pbx_credential(&self, new: NewPbxCredential, audit: AuditRecord) -> Result<PbxCredential>;
    /// A domain's PBX credentials, oldest first.
    async fn pbx_credentials(&self, domain_id: Uuid) -> Result<Vec<PbxCredential>>;
    /// Deletes a credential of this domain; false if there was none.
    async fn revoke_pbx_credential(&self, domain_id: Uuid, id: Uuid, audit: AuditRecord) -> Result<bool>;
    async fn pbx_credential_by_secret_hash(&self, secret_hash: &str) -> Result<Option<PbxCredential>>;

    /// Records the line state of users of a domain by extension (the last of an
    /// extension given twice counts), in one transaction.
    async fn set_line_states(
        &self,
        domain_id: Uuid,
        lines: &[(String, LineState)],
        at: DateTime<Utc>,
    ) -> Result<LineUpdate>;
    /// Clears what the person set by hand (state, chat, message and their timers): the
    /// presence follows the line and the sessions again. True if the shown one changed.
    async fn clear_presence(&self, user_id: Uuid, at: DateTime<Utc>) -> Result<bool>;
    /// A session of the user opened (`connection_id`, live until `expires_at` unless
    /// renewed): they are connected and active. True if the shown presence changed.
    async fn connect_presence(
        &self,
        connection_id: Uuid,
        user_id: Uuid,
        at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<bool>;
    /// A session closed: the user whose shown presence changed, if it did.
    async fn disconnect_presence(&self, connection_id: Uuid, at: DateTime<Utc>) -> Result<Option<Uuid>>;
    /// The user did something in a session: no longer away. True if the shown presence changed.
    async fn presence_activity(&self, user_id: Uuid, at: DateTime<Utc>) -> Result<bool>;
    /// Keeps these sessions' connections live until `expires_at`.
    async fn renew_presence_connections(&self, connection_ids: &[Uuid], expires_at: DateTime<Utc>) -> Result<()>;
}
