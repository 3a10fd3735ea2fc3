//! What caller-ID look-ups and call blocking keep and ask: contacts found by the
//! last digits of their numbers, a domain's blocked numbers and prefixes, and each
//! user's allow list. Part of [`Store`](crate::Store); the SQL is in `callerid_queries.rs`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use switchboard_core::model::{Book, Contact};
use switchboard_core::paging::{Limit, Page};
use uuid::Uuid;

use crate::{AuditRecord, Result};

/// One entry of a domain's block list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockedNumber {
    pub id: Uuid,
    pub domain_id: Uuid,
    /// `+` and E.164 digits: a whole number, or the start of the numbers blocked.
    pub pattern: String,
    pub is_prefix: bool,
    pub note: String,
    /// Who added it (`200@acme.example`, `cli`).
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewBlockedNumber {
    pub domain_id: Uuid,
    pub pattern: String,
    pub is_prefix: bool,
    pub note: String,
    pub created_by: String,
}

/// A number one user lets ring through although their domain blocks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedNumber {
    pub id: Uuid,
    pub domain_id: Uuid,
    pub user_id: Uuid,
    /// E.164.
    pub number: String,
    pub note: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewAllowedNumber {
    pub domain_id: Uuid,
    pub user_id: Uuid,
    pub number: String,
    pub note: String,
    pub created_by: String,
}

/// Lists here are short and sorted by their number: a page continues after the last
/// pattern (or number) of the one before.
#[async_trait]
pub trait CallerIdStore {
    /// Live contacts of `book` with a number whose `PhoneNumber::lookup_key` is `key`,
    /// those with a number of E.164 form `e164` first, at most `limit` rows (a contact
    /// with two such numbers may come twice). One index probe per number column.
    async fn contacts_by_lookup_key(
        &self,
        book: Book,
        key: &str,
        e164: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Contact>>;

    /// `Conflict` when the domain already lists this pattern.
    async fn add_blocked_number(&self, new: NewBlockedNumber, audit: AuditRecord) -> Result<BlockedNumber>;
    /// The domain's block list by pattern, after the pattern `after`.
    async fn list_blocked_numbers(
        &self,
        domain_id: Uuid,
        limit: Limit,
        after: Option<&str>,
    ) -> Result<Page<BlockedNumber>>;
    /// The domain's entries whose pattern is one of `patterns` (a number and its prefixes).
    async fn blocked_numbers_among(&self, domain_id: Uuid, patterns: &[String]) -> Result<Vec<BlockedNumber>>;
    /// The domain's whole block list, in no particular order (for the app's in-memory copy).
    async fn all_blocked_numbers(&self, domain_id: Uuid) -> Result<Vec<BlockedNumber>>;
    /// Removes an entry of the domain; `NotFound` when it has none with this id.
    async fn delete_blocked_number(&self, domain_id: Uuid, id: Uuid, audit: AuditRecord) -> Result<BlockedNumber>;

    /// `Conflict` when the user already allows this number.
    async fn add_allowed_number(&self, new: NewAllowedNumber, audit: AuditRecord) -> Result<AllowedNumber>;
    /// A user's allow list by number, after the number `after`.
    async fn list_allowed_numbers(
        &self,
        domain_id: Uuid,
        user_id: Uuid,
        limit: Limit,
        after: Option<&str>,
    ) -> Result<Page<AllowedNumber>>;
    async fn allowed_number(&self, domain_id: Uuid, user_id: Uuid, number: &str) -> Result<Option<AllowedNumber>>;
    /// Removes an entry of the user's list; `NotFound` when they have none with this id.
    async fn delete_allowed_number(
        &self,
        domain_id: Uuid,
        user_id: Uuid,
        id: Uuid,
        audit: AuditRecord,
    ) -> Result<AllowedNumber>;
}
