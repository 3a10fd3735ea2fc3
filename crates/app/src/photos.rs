//! Contacts' photos: read by whoever may read the contact, changed by whoever may change
//! it (`open_book` and `writable_book`, decided in `authz`). The bytes decide the type
//! (`core::photo`), and the audit log records the change without them.

use serde_json::json;
use sha2::{Digest, Sha256};
use switchboard_core::Invalid;
use switchboard_core::event::ContactAction;
use switchboard_core::model::Contact;
use switchboard_core::photo::{MAX_PHOTO_BYTES, Photo, PhotoError};
use switchboard_store::NewPhoto;
use uuid::Uuid;

use crate::App;
use crate::auth::Caller;
use crate::contacts::{BookRef, book_name};
use crate::error::{AppError, Result};

pub use switchboard_store::Photo as StoredPhoto;

/// Checks an image for a photo (see [`Photo::check`]) and makes it ready to store.
pub fn new_photo(bytes: Vec<u8>, declared: Option<&str>) -> Result<NewPhoto, PhotoError> {
    let photo = Photo::check(bytes, declared)?;
    let media_type = photo.kind().media_type().to_string();
    let hash = hex(&Sha256::digest(photo.bytes()));
    Ok(NewPhoto { media_type, bytes: photo.into_bytes(), hash })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// 413 for a photo too large, 415 for what is not an image we take.
fn refused(error: PhotoError) -> AppError {
    match error {
        PhotoError::TooLarge { .. } => AppError::TooLarge(error.to_string()),
        PhotoError::Empty => AppError::Invalid(Invalid::field("photo", error.to_string())),
        PhotoError::Unrecognised | PhotoError::Mismatch { .. } => AppError::Unsupported(error.to_string()),
    }
}

/// The message for a body longer than a photo may be, before it is all read.
pub fn photo_too_large() -> AppError {
    AppError::TooLarge(format!("a photo may be at most {} KiB", MAX_PHOTO_BYTES / 1024))
}

impl App {
    /// The photo of a live contact the caller may read.
    pub async fn contact_photo(&self, caller: &Caller, book: &BookRef, id: Uuid) -> Result<StoredPhoto> {
        let open = self.open_book(caller, book).await?;
        self.store.photo(open.book, id).await?.ok_or(AppError::NotFound)
    }

    /// Gives a contact the caller may change a photo, in place of any it had. `declared`
    /// is the type the client named, which must agree with the bytes when it names an image.
    pub async fn set_contact_photo(
        &self,
        caller: &Caller,
        book: &BookRef,
        id: Uuid,
        bytes: Vec<u8>,
        declared: Option<&str>,
    ) -> Result<Contact> {
        let open = self.writable_book(caller, book).await?;
        let photo = new_photo(bytes, declared).map_err(refused)?;
        let details = json!({
            "book": book_name(open.book), "media_type": photo.media_type, "bytes": photo.bytes.len()
        });
        let audit = self.contact_audit(caller, &open, "contact.photo_set", Some(id), details);
        let contact = self.store.set_photo(open.book, id, photo, audit).await?;
        self.publish_contact(open.book, Some(id), ContactAction::Updated).await;
        Ok(contact)
    }

    /// Removes the photo of a contact the caller may change (404 when it has none).
    pub async fn delete_contact_photo(&self, caller: &Caller, book: &BookRef, id: Uuid) -> Result<Contact> {
        let open = self.writable_book(caller, book).await?;
        let details = json!({ "book": book_name(open.book) });
        let audit = self.contact_audit(caller, &open, "contact.photo_remove", Some(id), details);
        let contact = self.store.delete_photo(open.book, id, audit).await?;
        self.publish_contact(open.book, Some(id), ContactAction::Updated).await;
        Ok(contact)
    }
}
