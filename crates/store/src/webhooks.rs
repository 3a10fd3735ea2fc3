//! Webhook subscriptions and their delivery state. Part of [`Store`](crate::Store); the
//! SQL is in `webhooks_queries.rs`, the table in migration 0019. A subscription follows
//! its domain's feed with its own cursor; one server at a time delivers it, holding a
//! lease (`lease_webhook`), and only that holder may record the outcome.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use switchboard_core::model::Webhook;
use uuid::Uuid;

use crate::{AuditRecord, Result};

#[derive(Debug, Clone)]
pub struct NewWebhook {
    pub domain_id: Uuid,
    pub url: String,
    pub contacts: bool,
    pub presence: bool,
    pub secret: String,
    /// Where in the domain's feed its deliveries begin.
    pub cursor: String,
}

/// What a manager changes; `None` keeps the value.
#[derive(Debug, Clone, Default)]
pub struct WebhookPatch {
    pub url: Option<String>,
    pub contacts: Option<bool>,
    pub presence: Option<bool>,
    pub secret: Option<String>,
    /// Delivers it again at once, its failures forgotten.
    pub resume: bool,
}

/// A subscription as its deliverer needs it.
#[derive(Debug, Clone)]
pub struct WebhookTarget {
    pub webhook: Webhook,
    pub secret: String,
    pub cursor: String,
}

/// The outcome of a delivery, as the deliverer worked it out.
#[derive(Debug, Clone)]
pub struct DeliveryRecord {
    /// When it was tried; `None` when nothing was sent (nothing subscribed to changed),
    /// which keeps the last attempt, status and error.
    pub at: Option<DateTime<Utc>>,
    /// The feed cursor after what was delivered (success only).
    pub cursor: Option<String>,
    pub status: Option<i64>,
    pub error: Option<String>,
    pub failures: i64,
    pub failing_since: Option<DateTime<Utc>>,
    pub next_attempt_at: DateTime<Utc>,
    pub paused: bool,
}

#[async_trait]
pub trait WebhookStore {
    async fn create_webhook(&self, new: NewWebhook, audit: AuditRecord) -> Result<Webhook>;
    /// A domain's subscriptions, oldest first.
    async fn webhooks(&self, domain_id: Uuid) -> Result<Vec<Webhook>>;
    async fn webhook(&self, domain_id: Uuid, id: Uuid) -> Result<Option<Webhook>>;
    /// `None` when the domain has no such subscription.
    async fn update_webhook(
        &self,
        domain_id: Uuid,
        id: Uuid,
        patch: WebhookPatch,
        audit: AuditRecord,
    ) -> Result<Option<Webhook>>;
    async fn delete_webhook(&self, domain_id: Uuid, id: Uuid, audit: AuditRecord) -> Result<bool>;
    /// Subscriptions not paused whose next delivery is due at `now`, soonest first.
    async fn due_webhooks(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<Uuid>>;
    /// Takes (or renews) the right to deliver a subscription until `until`, unless another
    /// owner holds it; `None` when it is held, paused, not due or gone.
    async fn lease_webhook(
        &self,
        id: Uuid,
        owner: Uuid,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Option<WebhookTarget>>;
    /// Records a delivery and gives up the lease; false when `owner` no longer held it.
    async fn record_delivery(&self, id: Uuid, owner: Uuid, record: DeliveryRecord) -> Result<bool>;
}
