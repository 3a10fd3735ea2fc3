//! Possible duplicates in a book, pairs said not to be, and merging: part of
//! [`Store`](crate::Store); the SQL is in `duplicates_queries.rs`.

use async_trait::async_trait;
use switchboard_core::contact::ContactFields;
use switchboard_core::model::{Book, Contact};
use uuid::Uuid;

use crate::{AuditRecord, Result};

/// Live contacts of one book that share a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateGroup {
    /// What they share: `phone:+12065550100`, `email:bob@example.com`, or `name:` and the
    /// sort key (folded names and company). Groups come in the order of their keys.
    pub key: String,
    /// How many live contacts share it (more than [`MAX_GROUP_MEMBERS`] are not all listed).
    pub size: i64,
    /// The contacts, oldest first, at most [`MAX_GROUP_MEMBERS`].
    pub contacts: Vec<Contact>,
}

/// The contacts listed per group, and merged at once: a number many contacts share (a
/// company's main line) makes a large group that is rarely one person.
pub const MAX_GROUP_MEMBERS: usize = 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicatePage {
    pub groups: Vec<DuplicateGroup>,
    /// The key to continue after, when more groups may follow.
    pub next_key: Option<String>,
}

/// A merge of live contacts of one book into the first.
#[derive(Debug, Clone)]
pub struct Merge {
    pub book: Book,
    /// The survivor's id and the version its fields were read at.
    pub survivor: (Uuid, i64),
    /// The survivor's fields after the merge.
    pub fields: ContactFields,
    /// The contacts merged into it, each with the version it was read at: they go to the
    /// trash, and their ids stand for the survivor from now on.
    pub merged: Vec<(Uuid, i64)>,
}

#[async_trait]
pub trait DuplicateStore {
    /// Groups of live contacts of `book` sharing a key, after the key `after`, at most
    /// `limit` of them. A contact is left out of a group where every other member was
    /// marked not a duplicate of it; a group left with fewer than two is skipped, as is
    /// one with the same contacts as a group before it on the page.
    async fn duplicate_groups(&self, book: Book, limit: u32, after: Option<&str>) -> Result<DuplicatePage>;
    /// Records that two live contacts of the book are different people (`NotFound` if
    /// either is not one); marking a pair again changes nothing.
    async fn mark_not_duplicates(&self, book: Book, a: Uuid, b: Uuid, audit: AuditRecord) -> Result<()>;
    /// In one transaction: trashes the merged contacts, gives the survivor its new fields,
    /// points the merged ids (and any merged into them before) at the survivor, and gives
    /// everyone who starred a merged contact a star on the survivor. `Stale` if any
    /// changed since it was read, `NotFound` if any is not a live contact of the book.
    async fn merge_contacts(&self, merge: Merge, audit: AuditRecord) -> Result<Contact>;
}
