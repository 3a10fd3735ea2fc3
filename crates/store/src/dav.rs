//! The names address-book apps gave the user's own contacts (CardDAV): part of
//! [`Store`](crate::Store); the SQL is in `dav_queries.rs`, the table in migration 0021.

use async_trait::async_trait;
use switchboard_core::model::Book;
use switchboard_core::paging::Page;
use uuid::Uuid;

use crate::{ListQuery, Result};

/// A card's resource name and UID, as a client chose them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DavName {
    pub contact_id: Uuid,
    pub name: String,
    pub uid: String,
}

/// What a card's ETag and name are made of: a live own contact's id and version, and the
/// name and UID a client gave it (none: it is `{id}.vcf`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardVersion {
    pub id: Uuid,
    pub version: i64,
    pub named: Option<DavName>,
}

#[async_trait]
pub trait DavStore {
    /// A page of a personal book's live contacts as [`CardVersion`]s, in the order of
    /// [`ContactStore::list_contacts`](crate::ContactStore::list_contacts): one query
    /// for what a listing of ETags needs, without reading the contacts.
    async fn list_card_versions(&self, book: Book, list: &ListQuery) -> Result<Page<CardVersion>>;
    /// The live contacts of a personal book that have been given these names.
    async fn card_versions_named(&self, book: Book, names: &[String]) -> Result<Vec<CardVersion>>;
    /// The names of those of `ids` that have one (contacts of `owner_id` only).
    async fn dav_names(&self, owner_id: Uuid, ids: &[Uuid]) -> Result<Vec<DavName>>;
    /// The contact of `owner_id` a resource name is given to.
    async fn dav_name_by_name(&self, owner_id: Uuid, name: &str) -> Result<Option<DavName>>;
    /// The contact of `owner_id` a UID is given to.
    async fn dav_name_by_uid(&self, owner_id: Uuid, uid: &str) -> Result<Option<DavName>>;
    /// Gives a contact of `owner_id` its name and UID, replacing any it had; a name or
    /// UID another of the owner's contacts holds is a `Conflict`.
    async fn set_dav_name(&self, owner_id: Uuid, name: &DavName) -> Result<()>;
    /// Forgets a contact's name and UID (it is `{id}.vcf` again).
    async fn delete_dav_name(&self, owner_id: Uuid, contact_id: Uuid) -> Result<()>;
}
