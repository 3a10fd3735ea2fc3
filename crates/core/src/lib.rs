//! Switchboard's domain types. Nothing here does I/O.
//!
//! "Parse, don't validate": a value of these types is always valid, so the
//! layers above never re-check a domain name, an extension or a phone number.

pub mod chat;
pub mod contact;
pub mod details;
pub mod error;
pub mod event;
pub mod merge;
pub mod model;
pub mod names;
pub mod paging;
pub mod phone;
pub mod photo;
pub mod scope;
pub mod settings;
pub mod text;

pub use contact::{ContactFields, ContactInput, ContactPatch};
pub use error::{FieldError, Invalid};
pub use names::{DomainName, Extension};
pub use paging::{Cursor, Limit, Sort};
pub use phone::PhoneNumber;
pub use scope::Scope;
