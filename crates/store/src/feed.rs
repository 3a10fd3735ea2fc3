//! The directory feed: what changed in a domain's directory, in commit order. Part of
//! [`Store`](crate::Store); the SQL is in `feed_queries.rs`, the table and the rule that
//! keeps the order in migration 0018.
//!
//! The store records *which* entries changed, for whom, in the transaction that changes
//! them; what they are now is read when the feed is read (`App::directory_changes`), so
//! the reader's permissions of that moment apply and a superseded change costs nothing.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{DirectoryQuery, Result};
use switchboard_core::model::DirectoryEntry;

/// A place in a domain's feed: rows are read in this order, after the place a reader
/// reached. Rows changed by one transaction share its `seq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct FeedPosition {
    pub seq: i64,
    pub entry_id: Uuid,
    pub audience_id: Uuid,
}

impl FeedPosition {
    /// Before every row, those of the entries that existed when the feed began (number 0) included.
    pub const START: FeedPosition = FeedPosition { seq: -1, entry_id: Uuid::nil(), audience_id: Uuid::nil() };
}

/// How far a domain's feed goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedBounds {
    /// The latest change's number.
    pub head: i64,
    /// Deleted entries whose number is at most this are forgotten: a reader that has not
    /// reached it must start again.
    pub floor: i64,
}

#[async_trait]
pub trait FeedStore {
    /// The rows after `after` that `viewer_id` may be shown (everyone's and their own),
    /// in feed order, at most `limit`. Whether each is still there is for the reader to see.
    async fn feed_rows(
        &self,
        domain_id: Uuid,
        viewer_id: Uuid,
        after: FeedPosition,
        limit: u32,
    ) -> Result<Vec<FeedPosition>>;
    /// `None` when the domain is gone.
    async fn feed_bounds(&self, domain_id: Uuid) -> Result<Option<FeedBounds>>;
    /// The entries among `ids` that the query's viewer sees now, in no particular order
    /// (the query's group and list are ignored).
    async fn directory_entries(&self, query: &DirectoryQuery, ids: &[Uuid]) -> Result<Vec<DirectoryEntry>>;
    /// Forgets the rows of entries that no longer exist and last changed before `before`
    /// (raising each domain's floor); returns how many went.
    async fn purge_feed(&self, before: DateTime<Utc>) -> Result<u64>;
}
