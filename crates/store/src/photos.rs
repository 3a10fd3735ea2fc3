//! Contacts' photos: part of [`Store`](crate::Store); the SQL is in `photos_queries.rs`.
//! A photo lives in a table of its own, so reading contacts never reads its bytes; a
//! contact's `has_photo` says whether it has one.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use switchboard_core::model::{Book, Contact};
use uuid::Uuid;

use crate::{AuditRecord, Result};

/// A photo to store: the app has checked it (type from its bytes, size).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPhoto {
    pub media_type: String,
    pub bytes: Vec<u8>,
    /// SHA-256 of the bytes, hex: the photo's `ETag`.
    pub hash: String,
}

/// A stored photo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Photo {
    pub media_type: String,
    pub bytes: Vec<u8>,
    pub hash: String,
    pub updated_at: DateTime<Utc>,
}

#[async_trait]
pub trait PhotoStore {
    /// The photo of a live contact of the book.
    async fn photo(&self, book: Book, contact_id: Uuid) -> Result<Option<Photo>>;
    /// Gives a live contact of the book this photo, in place of any it had. The contact's
    /// version moves on, as for any change of it. `NotFound` if it is not a live contact.
    async fn set_photo(&self, book: Book, contact_id: Uuid, photo: NewPhoto, audit: AuditRecord) -> Result<Contact>;
    /// Removes a live contact's photo; `NotFound` if it is not a live contact or has none.
    async fn delete_photo(&self, book: Book, contact_id: Uuid, audit: AuditRecord) -> Result<Contact>;
    /// The photos of those of `contact_ids` that are live contacts of the book and have
    /// one (a page of an export at a time).
    async fn photos(&self, book: Book, contact_ids: &[Uuid]) -> Result<HashMap<Uuid, Photo>>;
}
