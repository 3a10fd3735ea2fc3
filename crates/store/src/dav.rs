//! The names address-book apps gave the user's own contacts (CardDAV): part of
//! [`Store`](crate::Store); the SQL is in `dav_queries.rs`, the table in migration 0021.

use async_trait::async_trait;
use uuid::Uuid;

use crate::Result;

/// A card's resource name and UID, as a client chose them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DavName {
    pub contact_id: Uuid,
    pub name: String,
    pub uid: String,
}

#[async_trait]
pub trait DavStore {
    /// The names of those of `ids` that have one (contacts of `owner_id` only).
    async fn dav_names(&self, owner_id: Uuid, ids: &[Uuid]) -> Result<Vec<DavName>>;
    /// Those of `names` given to contacts of `owner_id`.
    async fn dav_names_named(&self, owner_id: Uuid, names: &[String]) -> Result<Vec<DavName>>;
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
