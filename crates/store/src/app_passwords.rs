//! App passwords (CardDAV clients' own secrets). Part of [`Store`](crate::Store); the SQL
//! is in `app_passwords_queries.rs`, the table in migration 0020. Only SHA-256 hashes of
//! the secrets are kept.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use switchboard_core::model::AppPassword;
use uuid::Uuid;

use crate::{AuditRecord, Result};

#[derive(Debug, Clone)]
pub struct NewAppPassword {
    pub user_id: Uuid,
    pub domain_id: Uuid,
    pub name: String,
    /// SHA-256 (hex) of the secret.
    pub secret_hash: String,
}

#[async_trait]
pub trait AppPasswordStore {
    /// Creates an app password unless the user already has `max` of them (`None`); the
    /// count and the insert are one statement. `NotFound` when the user is gone.
    async fn create_app_password(
        &self,
        new: NewAppPassword,
        max: i64,
        audit: AuditRecord,
    ) -> Result<Option<AppPassword>>;
    /// A user's app passwords, oldest first.
    async fn app_passwords(&self, user_id: Uuid) -> Result<Vec<AppPassword>>;
    /// Deletes one of the user's app passwords; false when the user has no such one.
    async fn delete_app_password(&self, user_id: Uuid, id: Uuid, audit: AuditRecord) -> Result<bool>;
    /// The user's app password whose secret has this hash (one indexed read).
    async fn app_password_by_secret_hash(&self, user_id: Uuid, secret_hash: &str) -> Result<Option<AppPassword>>;
    /// Records a use at `at`, unless one at or after `unless_since` is recorded already
    /// (so that parallel requests write it once).
    async fn touch_app_password(&self, id: Uuid, at: DateTime<Utc>, unless_since: DateTime<Utc>) -> Result<()>;
}
