//! The one place this crate calls the app: binding a reader, and reading pages of the
//! phone book it may see. Who may read what is decided by the app.

use std::net::IpAddr;

use switchboard_app::{App, AppError, BoundReader, PhonebookQuery, PhonebookReader};
use switchboard_core::model::DirectoryEntry;
use switchboard_core::paging::Page;

/// Why a reader was not let in.
#[derive(Debug)]
pub enum Refusal {
    /// Unknown, wrong, revoked, out of its networks, throttled or not allowed: the
    /// client learns nothing more.
    Refused,
    /// The server could not check (the database is down…).
    Unavailable(AppError),
}

impl From<AppError> for Refusal {
    fn from(error: AppError) -> Self {
        match error {
            AppError::Unauthorized(_)
            | AppError::Forbidden(_)
            | AppError::TooManyAttempts { .. }
            | AppError::NotFound
            | AppError::Invalid(_) => Refusal::Refused,
            other => Refusal::Unavailable(other),
        }
    }
}

/// A simple bind: a device's bind DN or a user's `extension@domain`, and its password.
/// The app counts and slows down failures.
pub async fn bind(app: &App, name: &str, password: &str, client: IpAddr) -> Result<BoundReader, Refusal> {
    Ok(app.bind_connection(name, password, Some(client)).await?)
}

/// The reader for one more operation of a bound connection: refused once its device is
/// revoked or gone, its user deleted or their password changed.
pub async fn recheck(app: &App, bound: &BoundReader, client: IpAddr) -> Result<PhonebookReader, Refusal> {
    Ok(app.recheck_bound(bound, Some(client)).await?)
}

/// A client that did not bind, reading `domain`: only where the domain allows it.
pub async fn anonymous(app: &App, domain: &str) -> Result<PhonebookReader, Refusal> {
    Ok(app.anonymous_reader(domain).await?)
}

/// One page of the reader's book, found by the app's phone book search for `q` (or the
/// whole book in name order without one).
pub async fn page(
    app: &App,
    reader: &PhonebookReader,
    q: Option<&str>,
    cursor: Option<String>,
    limit: u32,
) -> Result<Page<DirectoryEntry>, AppError> {
    let query = PhonebookQuery { q: q.map(str::to_string), cursor, limit: Some(limit), ..Default::default() };
    app.phonebook(reader, &query).await
}

/// The entry `id` of the reader's book, or `None` where the reader may not see it (another
/// domain's, another user's own contact, a shared contact the reader is not shown).
pub async fn entry(app: &App, reader: &PhonebookReader, id: uuid::Uuid) -> Result<Option<DirectoryEntry>, AppError> {
    app.phonebook_entry(reader, id).await
}
