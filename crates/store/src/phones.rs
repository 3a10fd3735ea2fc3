//! What the desk phones' hot paths ask of the store, each in one statement: a device
//! credential with its domain, change stamp and bound user (a phone's every request
//! starts there), and whole parts of a domain's book with the keys its directory sorts
//! and searches by (for the app's in-memory book index). Part of [`Store`](crate::Store);
//! the SQL is in `phones_queries.rs`.

use async_trait::async_trait;
use switchboard_core::DomainName;
use switchboard_core::details::Phone;
use switchboard_core::model::{DirectoryEntry, Domain, User};
use uuid::Uuid;

use crate::{ChangeStamp, Device, Result};

/// How a phone names its credential.
#[derive(Debug, Clone, Copy)]
pub enum DeviceKey<'a> {
    /// The SHA-256 hash of a phonebook URL token.
    TokenHash(&'a str),
    /// A bind DN's domain and device id.
    Bind { domain: &'a DomainName, id: Uuid },
}

/// A device credential (revoked or not) with everything a request by it needs.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceAccess {
    pub device: Device,
    pub password_hash: String,
    pub domain: Domain,
    /// The domain's change stamp as of this read.
    pub stamp: ChangeStamp,
    /// The user the device is bound to.
    pub user: Option<User>,
    /// Whether that user lets phones set up by others show their own contacts.
    pub user_shares_own_contacts: bool,
}

/// One part of a domain's book.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookPart {
    /// The listed users.
    Coworkers,
    /// The shared contacts (not in the trash).
    Shared,
    /// One user's own contacts (not in the trash).
    Personal(Uuid),
}

/// A directory entry (as nobody in particular sees it: not a favorite, not editable)
/// with the keys the store sorts and searches it by.
#[derive(Debug, Clone, PartialEq)]
pub struct BookRow {
    pub entry: DirectoryEntry,
    /// What "by name" orders by (with the id after it).
    pub sort_key: String,
    /// What a search term must be a substring of.
    pub search_text: String,
    /// A contact's numbers beyond the four `entry.numbers` lists, for caller-ID.
    pub more_numbers: Vec<Phone>,
}

#[async_trait]
pub trait PhoneStore {
    /// A device by its token or bind DN, with its domain, the domain's change stamp and
    /// its bound user.
    async fn device_access(&self, key: DeviceKey<'_>) -> Result<Option<DeviceAccess>>;
    /// Every entry of one part of a domain's book, in no particular order.
    async fn book_rows(&self, domain_id: Uuid, part: BookPart) -> Result<Vec<BookRow>>;
}
