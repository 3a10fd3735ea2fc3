//! What the CardDAV server (`server::dav`) serves: a user's two address books as vCards.
//!
//! - **Company directory** (`directory`): the listed coworkers and the shared contacts the
//!   user is shown, read-only; a favorite carries the `starred` category.
//! - **My contacts** (`contacts`): the user's own contacts.
//!
//! A card is named by its entry's id (`{id}.vcf`). Its ETag is strong: a digest of its
//! vCard 3.0 bytes, so it changes exactly when the card does, whatever changed below it.
//! Changes are read from the directory's change feed (`App::directory_changes`), whose
//! cursor is the books' sync token: a sync after ten changes reads ten entries.
//!
//! The caller is always the user whose books they are: [`App::dav_login`] makes a
//! [`Caller::User`] from HTTP Basic credentials, and every read goes through
//! `App::viewer`, which refuses anyone else.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use sha2::{Digest, Sha256};
use switchboard_core::model::{Book, Contact, Domain, EntryKind, User};
use switchboard_core::paging::{Cursor, Limit, Page};
use switchboard_core::photo::PhotoType;
use switchboard_formats::{ExportContact, ExportFormat, ExportPhoto, Writer};
use switchboard_store::{DirectoryQuery, Group, ListQuery};
use uuid::Uuid;

use crate::App;
use crate::auth::Caller;
use crate::error::{AppError, Result};
use crate::export::{from_contact, from_entry};
use crate::feed::FeedOp;

/// Entries read per page while listing a book or following the feed.
const PAGE: u32 = 500;

/// One of a user's address books.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DavBook {
    Directory,
    Contacts,
}

impl DavBook {
    pub const ALL: [DavBook; 2] = [DavBook::Directory, DavBook::Contacts];

    /// The book's segment in URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            DavBook::Directory => "directory",
            DavBook::Contacts => "contacts",
        }
    }

    pub fn parse(segment: &str) -> Option<DavBook> {
        DavBook::ALL.into_iter().find(|book| book.as_str() == segment)
    }

    pub fn display_name(self) -> &'static str {
        match self {
            DavBook::Directory => "Company directory",
            DavBook::Contacts => "My contacts",
        }
    }

    /// Whether an entry of this kind is a card of the book.
    fn holds(self, kind: EntryKind) -> bool {
        match self {
            DavBook::Directory => kind != EntryKind::Personal,
            DavBook::Contacts => kind == EntryKind::Personal,
        }
    }
}

/// The vCard versions clients may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VCardVersion {
    #[default]
    V3,
    V4,
}

/// One card of a book.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DavCard {
    pub id: Uuid,
    /// Quoted, strong: `"1f0c…"`.
    pub etag: String,
    /// The card in the version asked for.
    pub vcard: Vec<u8>,
}

impl DavCard {
    /// The card's resource name in its book.
    pub fn name(&self) -> String {
        format!("{}.vcf", self.id)
    }
}

/// What changed in a book since a sync token.
#[derive(Debug, Clone, Default)]
pub struct DavChanges {
    pub changed: Vec<DavCard>,
    /// Entries gone (or no longer shown to the user), by id.
    pub removed: Vec<Uuid>,
    /// The token to sync from next time.
    pub token: String,
}

impl App {
    /// The user an address-book app logs in as, with `200@acme.example` and a password.
    pub async fn dav_login(&self, username: &str, password: &str, client: Option<IpAddr>) -> Result<Caller> {
        let (user, domain) = self.password_login(username, password, client).await?;
        Ok(Caller::User { user: Box::new(user), domain: Box::new(domain), token_id: Uuid::nil() })
    }

    /// Every card of the book, in name order of the directory.
    pub async fn dav_cards(&self, caller: &Caller, book: DavBook, version: VCardVersion) -> Result<Vec<DavCard>> {
        let (domain, user) = dav_owner(caller)?;
        match book {
            DavBook::Directory => {
                let mut query = self.dav_directory_query(caller, domain, user).await?;
                let mut cards = Vec::new();
                loop {
                    let Page { items, next_cursor } = self.store.directory(&query).await?;
                    cards.extend(items.iter().map(|entry| card(entry.id, &from_entry(entry), version)));
                    let Some(next) = next_cursor else { return Ok(cards) };
                    query.list.after = Some(decode(&next, &query.list)?);
                }
            }
            DavBook::Contacts => {
                let owner = own_book(domain, user);
                let mut list = page_list();
                let mut cards = Vec::new();
                loop {
                    let Page { items, next_cursor } = self.store.list_contacts(owner, &list).await?;
                    cards.extend(self.contact_cards(owner, &items, version).await?);
                    let Some(next) = next_cursor else { return Ok(cards) };
                    list.after = Some(decode(&next, &list)?);
                }
            }
        }
    }

    /// The cards among `ids` that the book holds (those it does not are left out).
    pub async fn dav_cards_by_id(
        &self,
        caller: &Caller,
        book: DavBook,
        ids: &[Uuid],
        version: VCardVersion,
    ) -> Result<Vec<DavCard>> {
        let (domain, user) = dav_owner(caller)?;
        match book {
            DavBook::Directory => {
                let query = self.dav_directory_query(caller, domain, user).await?;
                let entries = self.store.directory_entries(&query, ids).await?;
                let shown = entries.iter().filter(|entry| book.holds(entry.kind));
                Ok(shown.map(|entry| card(entry.id, &from_entry(entry), version)).collect())
            }
            DavBook::Contacts => {
                let owner = own_book(domain, user);
                let mut contacts = Vec::with_capacity(ids.len());
                for id in ids {
                    contacts.extend(self.store.contact(owner, *id).await?);
                }
                self.contact_cards(owner, &contacts, version).await
            }
        }
    }

    /// A sync token for the books as they are now.
    pub async fn dav_token(&self, caller: &Caller) -> Result<String> {
        let (domain, user) = dav_owner(caller)?;
        self.directory_head_cursor(caller, &domain.name.to_string(), user.extension.as_str()).await
    }

    /// What changed in the book after `token` (everything when there is none). A token
    /// that is not one, or is another user's or too old, is `AppError::Gone` or
    /// `AppError::Invalid`: the client starts again.
    pub async fn dav_changes(
        &self,
        caller: &Caller,
        book: DavBook,
        token: Option<&str>,
        version: VCardVersion,
    ) -> Result<DavChanges> {
        let (domain, user) = dav_owner(caller)?;
        let domain_name = domain.name.to_string();
        // The feed gives each entry once, at its latest change; keyed, an entry that
        // changes again while the pages are read is told once.
        let mut upserts = BTreeMap::new();
        let mut removed = Vec::new();
        let mut cursor = token.map(str::to_string);
        loop {
            let page = self
                .directory_changes(caller, &domain_name, user.extension.as_str(), cursor.as_deref(), Some(PAGE))
                .await?;
            for change in page.changes {
                match (change.op, change.entry) {
                    (FeedOp::Upsert, Some(entry)) if book.holds(entry.kind) => {
                        upserts.insert(entry.id, entry);
                    }
                    (FeedOp::Upsert, _) => {}
                    (FeedOp::Delete, _) => {
                        upserts.remove(&change.entry_id);
                        removed.push(change.entry_id);
                    }
                }
            }
            cursor = Some(page.next_cursor);
            if !page.has_more {
                break;
            }
        }
        let changed = match book {
            DavBook::Directory => upserts.values().map(|entry| card(entry.id, &from_entry(entry), version)).collect(),
            DavBook::Contacts => {
                let ids: Vec<Uuid> = upserts.keys().copied().collect();
                self.dav_cards_by_id(caller, book, &ids, version).await?
            }
        };
        Ok(DavChanges { changed, removed, token: cursor.unwrap_or_default() })
    }

    async fn dav_directory_query(&self, caller: &Caller, domain: &Domain, user: &User) -> Result<DirectoryQuery> {
        let include_shared = self.shows_shared(caller, domain).await?;
        Ok(DirectoryQuery {
            domain_id: domain.id,
            viewer_id: user.id,
            include_shared,
            include_own: false,
            group: Group::All,
            list: page_list(),
        })
    }

    /// The cards of own contacts, with their photos.
    async fn contact_cards(&self, owner: Book, contacts: &[Contact], version: VCardVersion) -> Result<Vec<DavCard>> {
        let with_photo: Vec<Uuid> = contacts.iter().filter(|c| c.has_photo).map(|c| c.id).collect();
        let mut photos = match with_photo.is_empty() {
            true => HashMap::new(),
            false => self.store.photos(owner, &with_photo).await?,
        };
        Ok(contacts
            .iter()
            .map(|contact| {
                let mut export = from_contact(contact);
                export.photo = photos.remove(&contact.id).and_then(|photo| {
                    Some(ExportPhoto { kind: PhotoType::from_media_type(&photo.media_type)?, bytes: photo.bytes })
                });
                card(contact.id, &export, version)
            })
            .collect())
    }
}

/// The user whose books a caller may read: themself.
fn dav_owner(caller: &Caller) -> Result<(&Domain, &User)> {
    match caller {
        Caller::User { user, domain, .. } => Ok((domain, user)),
        _ => Err(AppError::NotFound),
    }
}

fn own_book(domain: &Domain, user: &User) -> Book {
    Book::Personal { domain_id: domain.id, owner_id: user.id }
}

fn page_list() -> ListQuery {
    ListQuery { limit: Limit::parse(Some(PAGE)).expect("within bounds"), ..Default::default() }
}

fn decode(cursor: &str, list: &ListQuery) -> Result<Cursor> {
    Cursor::decode(cursor, list.sort).map_err(|_| AppError::NotFound)
}

/// A card with its ETag, the digest of its vCard 3.0 form.
fn card(id: Uuid, contact: &ExportContact, version: VCardVersion) -> DavCard {
    let v3 = render(contact, ExportFormat::VCard3);
    let digest = Sha256::digest(&v3);
    let etag = format!("\"{}\"", digest[..12].iter().map(|b| format!("{b:02x}")).collect::<String>());
    let vcard = match version {
        VCardVersion::V3 => v3,
        VCardVersion::V4 => render(contact, ExportFormat::VCard4),
    };
    DavCard { id, etag, vcard }
}

fn render(contact: &ExportContact, format: ExportFormat) -> Vec<u8> {
    let mut writer = Writer::new(Vec::new(), format).expect("writing to memory cannot fail");
    writer.write(contact).expect("writing to memory cannot fail");
    writer.finish().expect("writing to memory cannot fail")
}
