//! What the CardDAV server (`server::dav`) serves: a user's two address books as vCards.
//!
//! - **Company directory** (`directory`): the listed coworkers and the shared contacts the
//!   user is shown, read-only; a favorite carries the `starred` category.
//! - **My contacts** (`contacts`): the user's own contacts.
//!
//! A card of the directory is named by its entry's id (`{id}.vcf`); one of the user's
//! own is named as the client that stored it chose, with the UID it gave (kept in
//! `dav_names`), or else by its id. ETags are strong. A directory card's is a digest of
//! its vCard 3.0 bytes (cheap: such cards are a few lines, without photos). An own card's
//! is a digest of what its vCard is made of: the contact's version (which moves on with
//! every change, its photo's too), the UID a client gave, and the revision of the vCard
//! writer ([`WRITER_REVISION`]); so listing a book's ETags renders no card and reads no
//! photo. Books are read a page at a time ([`CardPages`]) and answered as they are read.
//! Changes are read from the directory's change feed (`App::directory_changes`), whose
//! cursor is the books' sync token: a sync after ten changes reads ten entries.
//!
//! The caller is always the user whose books they are: [`App::dav_login`] makes a
//! [`Caller::User`] from HTTP Basic credentials, and every read goes through
//! `App::viewer`, which refuses anyone else.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;

use futures::stream::{self, BoxStream, StreamExt};

use sha2::{Digest, Sha256};
use switchboard_core::contact::{ContactInput, ContactPatch};
use switchboard_core::model::{Book, Contact, DirectoryEntry, Domain, EntryKind, User};
use switchboard_core::paging::{Cursor, Limit, Page};
use switchboard_core::photo::PhotoType;
use switchboard_core::settings::CARDDAV_ONE_BOOK;
use switchboard_core::{FieldError, Invalid};
use switchboard_formats::{ExportContact, ExportFormat, ExportPhoto, Format, ImportedRow, ReadOptions, Writer};
use switchboard_store::{CardVersion, DavName, DirectoryQuery, Group, ListQuery, StoreError};
use uuid::Uuid;

use crate::App;
use crate::auth::Caller;
use crate::contacts::BookRef;
use crate::error::{AppError, Result};
use crate::export::{from_contact, from_entry};
use crate::feed::FeedOp;

/// Entries read per page while listing a book or following the feed.
const PAGE: u32 = 500;
/// The largest card a client may store, photo included (published as `max-resource-size`).
pub const MAX_CARD_BYTES: usize = 1024 * 1024;
/// The longest resource name a client may give a card.
const MAX_NAME_LEN: usize = 200;
/// Part of every own card's ETag: a release whose vCard writer writes the same contact
/// differently changes every ETag, so clients read the cards again. Bump the suffix
/// when the writer changes within a release.
const WRITER_REVISION: &str = concat!(env!("CARGO_PKG_VERSION"), "/1");

/// A book's cards, a page at a time (at most [`PAGE`] cards each).
pub type CardPages = BoxStream<'static, Result<Vec<DavCard>>>;

/// Own cards as last written, by what they are made of (as their ETag is): a card whose
/// contact has not changed is neither read whole nor written again. Bounded in bytes
/// (`AppConfig::dav_card_cache_bytes`), the least used dropped first; entries of old
/// versions are never asked for again and age out.
pub(crate) type RenderedCards = quick_cache::sync::Cache<CardKey, Arc<[u8]>, CardWeight>;

pub(crate) fn rendered_cards(bytes: u64) -> RenderedCards {
    // About 1 KB a card: the estimate only sizes the cache's tables.
    RenderedCards::with_weighter((bytes / 1024).max(16) as usize, bytes, CardWeight)
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct CardKey {
    id: Uuid,
    version: i64,
    uid: String,
    vcard: VCardVersion,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct CardWeight;

impl quick_cache::Weighter<CardKey, Arc<[u8]>> for CardWeight {
    fn weight(&self, key: &CardKey, card: &Arc<[u8]>) -> u64 {
        (card.len() + key.uid.len() + std::mem::size_of::<CardKey>()) as u64
    }
}

/// One of a user's address books.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DavBook {
    Directory,
    Contacts,
    /// Both in one book, for apps that sync one book an account (Apple's): own contacts
    /// may be written there, the directory's entries not.
    All,
}

impl DavBook {
    pub const ALL: [DavBook; 3] = [DavBook::Directory, DavBook::Contacts, DavBook::All];

    /// The book's segment in URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            DavBook::Directory => "directory",
            DavBook::Contacts => "contacts",
            DavBook::All => "all",
        }
    }

    pub fn parse(segment: &str) -> Option<DavBook> {
        DavBook::ALL.into_iter().find(|book| book.as_str() == segment)
    }

    pub fn display_name(self) -> &'static str {
        match self {
            DavBook::Directory => "Company directory",
            DavBook::Contacts => "My contacts",
            DavBook::All => "Contacts",
        }
    }

    /// Whether the user may add cards to the book.
    pub fn takes_own_contacts(self) -> bool {
        self != DavBook::Directory
    }

    fn shows_directory(self) -> bool {
        self != DavBook::Contacts
    }

    /// Whether an entry of this kind is a card of the book.
    fn holds(self, kind: EntryKind) -> bool {
        match kind {
            EntryKind::Personal => self.takes_own_contacts(),
            _ => self.shows_directory(),
        }
    }
}

/// The vCard versions clients may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum VCardVersion {
    #[default]
    V3,
    V4,
}

/// One card of a book.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DavCard {
    pub id: Uuid,
    /// One of the user's own contacts (which they may change), not a directory entry.
    pub own: bool,
    /// Its resource name in its book (`{id}.vcf`, or the name a client chose).
    pub name: String,
    /// Quoted, strong: `"1f0c…"`.
    pub etag: String,
    /// The card in the version asked for; `None` when the request needs only its ETag.
    pub vcard: Option<Vec<u8>>,
}

/// What changed in a book since a sync token.
pub struct DavChanges {
    /// The cards added or changed, a page at a time.
    pub changed: CardPages,
    /// Names of the cards gone (or no longer shown to the user).
    pub removed: Vec<String>,
    /// The token to sync from next time.
    pub token: String,
    /// More changes follow: the client asks again from `token`.
    pub truncated: bool,
}

/// What a client's write asks to hold before it is done (`If-Match`, `If-None-Match: *`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DavConditions {
    /// The ETag the card must have now.
    pub if_match: Option<String>,
    /// The card must not exist yet.
    pub if_none_match_any: bool,
}

/// How a write ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DavWrite {
    Created,
    Updated,
    Deleted,
    /// A condition did not hold (412).
    ConditionFailed,
    /// Another card of the book has this UID (`no-uid-conflict`): its name.
    UidTaken(String),
}

impl App {
    /// The user an address-book app logs in as, with `200@acme.example` and an app
    /// password or the account password (`App::basic_login`: throttled, and fast on
    /// every request of a sync).
    /// Every request counts against the user's `dav_request_limit` (429 past it).
    pub async fn dav_login(&self, username: &str, password: &str, client: Option<IpAddr>) -> Result<Caller> {
        let (user, domain) = self.basic_login(username, password, client).await?;
        let refusal = "your address-book apps send too many requests; wait a moment";
        self.dav_requests.take(user.id, self.config.dav_request_limit, refusal)?;
        Ok(Caller::User { user: Box::new(user), domain: Box::new(domain), token_id: Uuid::nil() })
    }

    /// Every card of the book, a page at a time: the directory's in name order, then the
    /// user's own. `body`: the version to write the cards in, or none when only their
    /// ETags are needed.
    pub async fn dav_card_pages(
        &self,
        caller: &Caller,
        book: DavBook,
        body: Option<VCardVersion>,
    ) -> Result<CardPages> {
        let (domain, user) = dav_owner(caller)?;
        self.count_book_read(user)?;
        let directory = match book.shows_directory() {
            true => Some(self.dav_directory_query(caller, domain, user).await?),
            false => None,
        };
        let walk = BookWalk {
            app: self.clone(),
            owner: own_book(domain, user),
            directory,
            own: book.takes_own_contacts().then(page_list),
            body,
        };
        Ok(Box::pin(stream::try_unfold(walk, BookWalk::next_page)))
    }

    /// The cards of the book with these names, [`PAGE`] names at a time (a multiget may
    /// ask for a whole book); names it does not hold are left out.
    pub fn dav_cards_named_pages(
        &self,
        caller: &Caller,
        book: DavBook,
        names: Vec<String>,
        body: Option<VCardVersion>,
    ) -> CardPages {
        let (app, caller) = (self.clone(), caller.clone());
        in_pages(names, move |names| {
            let (app, caller) = (app.clone(), caller.clone());
            async move { app.dav_cards_named(&caller, book, &names, body).await }
        })
    }

    /// The cards of the book with these names (names it does not hold are left out),
    /// found in a few queries however many they are.
    pub async fn dav_cards_named(
        &self,
        caller: &Caller,
        book: DavBook,
        names: &[String],
        body: Option<VCardVersion>,
    ) -> Result<Vec<DavCard>> {
        let (domain, user) = dav_owner(caller)?;
        let mut cards = Vec::new();
        if book.takes_own_contacts() {
            let owner = own_book(domain, user);
            let mut found = self.store.card_versions_named(owner, names).await?;
            // Names that are ids: those contacts may have been given another name.
            let named: HashSet<&str> = found.iter().filter_map(|card| card.named.as_ref()).map(|n| &*n.name).collect();
            let by_id: Vec<Uuid> = names
                .iter()
                .filter(|name| !named.contains(name.as_str()))
                .filter_map(|name| id_of_name(name))
                .collect();
            found.extend(self.card_versions(user, owner, &by_id).await?);
            let wanted: HashSet<String> = names.iter().cloned().collect();
            cards.extend(self.own_cards(owner, found, body, Some(&wanted)).await?);
        }
        if book.shows_directory() {
            // The names that are none of the user's own cards: perhaps directory entries.
            let own: HashSet<&str> = cards.iter().map(|card| card.name.as_str()).collect();
            let ids: Vec<Uuid> =
                names.iter().filter(|name| !own.contains(name.as_str())).filter_map(|name| id_of_name(name)).collect();
            if !ids.is_empty() {
                let query = self.dav_directory_query(caller, domain, user).await?;
                let entries = self.store.directory_entries(&query, &ids).await?;
                let shown = entries.iter().filter(|entry| entry.kind != EntryKind::Personal);
                cards.extend(shown.map(|entry| directory_card(entry, body)));
            }
        }
        Ok(cards)
    }

    /// Whether the user's address-book apps see one book (`CARDDAV_ONE_BOOK`).
    pub async fn dav_one_book(&self, caller: &Caller) -> Result<bool> {
        let (domain, user) = dav_owner(caller)?;
        Ok(self.user_settings(domain, user).await?.get(CARDDAV_ONE_BOOK) == Some("yes"))
    }

    /// A sync token for the books as they are now.
    pub async fn dav_token(&self, caller: &Caller) -> Result<String> {
        let (domain, user) = dav_owner(caller)?;
        self.directory_head_cursor(caller, &domain.name.to_string(), user.extension.as_str()).await
    }

    /// What changed in the book after `token` (everything when there is none), at most
    /// `limit` changes (RFC 6578 §3.7): past it the answer is `truncated` and its token
    /// covers only what it holds. A token that is not one, or is another user's or too
    /// old, is `AppError::Gone` or `AppError::Invalid`: the client starts again.
    pub async fn dav_changes(
        &self,
        caller: &Caller,
        book: DavBook,
        token: Option<&str>,
        limit: Option<usize>,
        body: Option<VCardVersion>,
    ) -> Result<DavChanges> {
        let (domain, user) = dav_owner(caller)?;
        if token.is_none() && limit.is_none() {
            // The whole book, read as it is listed. The token is taken first: what
            // changes while the pages are read is sent again next time, never missed.
            let token = self.dav_token(caller).await?;
            let changed = self.dav_card_pages(caller, book, body).await?;
            return Ok(DavChanges { changed, removed: Vec::new(), token, truncated: false });
        }
        if token.is_none() {
            self.count_book_read(user)?;
        }
        let domain_name = domain.name.to_string();
        // The feed gives each entry once, at its latest change; keyed, an entry that
        // changes again while the pages are read is told once.
        let mut upserts = BTreeMap::new();
        let mut removed = Vec::new();
        let mut cursor = token.map(str::to_string);
        let limit = limit.unwrap_or(usize::MAX);
        let mut read = 0;
        let truncated = loop {
            // Each feed row is at most one change, so reading no more rows than the limit
            // has room for keeps the answer within it, with the token at the last row read.
            let room = (limit - read).min(PAGE as usize);
            if room == 0 {
                break true;
            }
            let page = self
                .directory_changes(caller, &domain_name, user.extension.as_str(), cursor.as_deref(), Some(room as u32))
                .await?;
            read += page.changes.len();
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
                break false;
            }
        };
        let (own, directory): (Vec<_>, Vec<_>) =
            upserts.into_values().partition(|entry| entry.kind == EntryKind::Personal);
        let directory: Vec<DavCard> = directory.iter().map(|entry| directory_card(entry, body)).collect();
        let mut names = HashMap::new();
        let mut own_ids = Vec::new();
        if book.takes_own_contacts() {
            own_ids = own.iter().map(|entry| entry.id).collect();
            names = self.card_names(user, &removed).await?;
        }
        let removed = removed.iter().map(|id| names.remove(id).unwrap_or_else(|| format!("{id}.vcf"))).collect();
        let changed =
            stream::iter([Ok(directory)]).chain(self.own_cards_by_id(user, own_book(domain, user), own_ids, body));
        Ok(DavChanges { changed: Box::pin(changed), removed, token: cursor.unwrap_or_default(), truncated })
    }

    /// Stores a card a client PUT into the user's own book under `name`: a new contact,
    /// or the one there replaced whole (its photo too), keeping the client's name and UID.
    pub async fn dav_put(
        &self,
        caller: &Caller,
        book: DavBook,
        name: &str,
        body: &[u8],
        conditions: &DavConditions,
    ) -> Result<DavWrite> {
        let (domain, user) = dav_owner(caller)?;
        self.check_writable(caller, book, name).await?;
        check_name(name)?;
        let row = read_card(body)?;
        let uid = row.uid.clone().unwrap_or_default();
        let owner = own_book(domain, user);
        let existing = self.own_contact_named(user, owner, name).await?;
        if !conditions_hold(conditions, existing.as_ref().map(|(contact, uid)| own_etag(contact, uid)).as_deref()) {
            return Ok(DavWrite::ConditionFailed);
        }
        let existing = existing.map(|(contact, _)| contact);
        if let Some(other) = self.uid_holder(user, owner, &uid).await?
            && existing.as_ref().is_none_or(|contact| contact.id != other.contact_id)
        {
            return Ok(DavWrite::UidTaken(other.name));
        }
        let book = BookRef::Personal { domain: domain.name.to_string(), extension: user.extension.to_string() };
        let photo = row.photo.clone().transpose().map_err(|message| Invalid::field("PHOTO", message))?;
        let contact = match &existing {
            Some(contact) => {
                let patch = ContactPatch::from(row.contact);
                self.update_contact(caller, &book, contact.id, Some(contact.version), patch).await?
            }
            None => self.create_contact(caller, &book, row.contact).await?,
        };
        let dav_name = DavName { contact_id: contact.id, name: name.to_string(), uid };
        if let Err(error) = self.store.set_dav_name(user.id, &dav_name).await {
            // Another client took the name or UID in between: leave no unnamed twin behind.
            if existing.is_none() {
                self.delete_contact(caller, &book, contact.id).await?;
            }
            return match error {
                StoreError::Conflict(_) => Ok(DavWrite::ConditionFailed),
                other => Err(other.into()),
            };
        }
        match photo {
            Some(photo) => {
                self.set_contact_photo(caller, &book, contact.id, photo.bytes, photo.declared.as_deref()).await?;
            }
            None if contact.has_photo => {
                self.delete_contact_photo(caller, &book, contact.id).await?;
            }
            None => {}
        }
        Ok(if existing.is_some() { DavWrite::Updated } else { DavWrite::Created })
    }

    /// Moves the card named `name` of the user's own book to the trash.
    pub async fn dav_delete(
        &self,
        caller: &Caller,
        book: DavBook,
        name: &str,
        conditions: &DavConditions,
    ) -> Result<DavWrite> {
        let (domain, user) = dav_owner(caller)?;
        self.check_writable(caller, book, name).await?;
        let owner = own_book(domain, user);
        let Some((contact, uid)) = self.own_contact_named(user, owner, name).await? else {
            return Err(AppError::NotFound);
        };
        if !conditions_hold(conditions, Some(&own_etag(&contact, &uid))) {
            return Ok(DavWrite::ConditionFailed);
        }
        let book = BookRef::Personal { domain: domain.name.to_string(), extension: user.extension.to_string() };
        self.delete_contact(caller, &book, contact.id).await?;
        Ok(DavWrite::Deleted)
    }

    /// Counts a read of a whole book against the user's `dav_book_limit` (429 past it).
    fn count_book_read(&self, user: &User) -> Result<()> {
        let refusal = "your address-book apps read whole books too often; sync from a token, or wait";
        self.dav_book_reads.take(user.id, self.config.dav_book_limit, refusal)
    }

    /// Refuses a write to the directory: to its book, or to one of its cards in the
    /// merged book.
    async fn check_writable(&self, caller: &Caller, book: DavBook, name: &str) -> Result<()> {
        let read_only = || AppError::Forbidden("the company directory is read-only".into());
        if !book.takes_own_contacts() {
            return Err(read_only());
        }
        if book.shows_directory() {
            let names = [name.to_string()];
            let found = self.dav_cards_named(caller, book, &names, None).await?;
            if found.iter().any(|card| !card.own) {
                return Err(read_only());
            }
        }
        Ok(())
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

    /// The live contact of the user's own book a card name stands for, with the UID a
    /// client gave it (empty if none): the one a client gave that name, else the one whose
    /// id it is. A name left on a contact in the trash is freed.
    async fn own_contact_named(&self, user: &User, owner: Book, name: &str) -> Result<Option<(Contact, String)>> {
        let named = self.store.dav_name_by_name(user.id, name).await?;
        let id = match &named {
            Some(named) => named.contact_id,
            None => match id_of_name(name) {
                Some(id) => id,
                None => return Ok(None),
            },
        };
        match self.store.contact(owner, id).await? {
            Some(contact) if contact.deleted_at.is_none() => {
                Ok(Some((contact, named.map(|n| n.uid).unwrap_or_default())))
            }
            Some(_) if named.is_some() => {
                self.store.delete_dav_name(user.id, id).await?;
                Ok(None)
            }
            _ => Ok(None),
        }
    }

    /// The cards of these of the user's own contacts (those still live), [`PAGE`] at a time.
    fn own_cards_by_id(&self, user: &User, owner: Book, ids: Vec<Uuid>, body: Option<VCardVersion>) -> CardPages {
        let (app, user) = (self.clone(), user.clone());
        in_pages(ids, move |ids| {
            let (app, user) = (app.clone(), user.clone());
            async move {
                let found = app.card_versions(&user, owner, &ids).await?;
                app.own_cards(owner, found, body, None).await
            }
        })
    }

    /// What the cards of these of the user's own contacts (those still live) are made of.
    async fn card_versions(&self, user: &User, owner: Book, ids: &[Uuid]) -> Result<Vec<CardVersion>> {
        let versions = self.store.contact_versions(owner, ids).await?;
        let mut names: HashMap<Uuid, DavName> =
            self.store.dav_names(user.id, ids).await?.into_iter().map(|name| (name.contact_id, name)).collect();
        Ok(versions.into_iter().map(|(id, version)| CardVersion { id, version, named: names.remove(&id) }).collect())
    }

    /// The live card of the user's own book that has this UID (a trashed one lets it go).
    async fn uid_holder(&self, user: &User, owner: Book, uid: &str) -> Result<Option<DavName>> {
        let Some(holder) = self.store.dav_name_by_uid(user.id, uid).await? else { return Ok(None) };
        match self.store.contact(owner, holder.contact_id).await? {
            Some(contact) if contact.deleted_at.is_none() => Ok(Some(holder)),
            _ => {
                self.store.delete_dav_name(user.id, holder.contact_id).await?;
                Ok(None)
            }
        }
    }

    /// The names clients gave to these of the user's contacts.
    async fn card_names(&self, user: &User, ids: &[Uuid]) -> Result<HashMap<Uuid, String>> {
        let names = self.store.dav_names(user.id, ids).await?;
        Ok(names.into_iter().map(|name| (name.contact_id, name.name)).collect())
    }

    /// The cards of own contacts known by id, version and name; with `wanted`, only those
    /// of these names. With a `body`, each card comes from the rendered cards, else the
    /// contacts missing there are read and written (and kept).
    async fn own_cards(
        &self,
        owner: Book,
        found: Vec<CardVersion>,
        body: Option<VCardVersion>,
        wanted: Option<&HashSet<String>>,
    ) -> Result<Vec<DavCard>> {
        let mut cards = Vec::with_capacity(found.len());
        let mut missing = Vec::new();
        let mut missing_names = HashMap::new();
        for CardVersion { id, version, named } in found {
            let (name, uid) = match &named {
                Some(named) => (named.name.clone(), named.uid.clone()),
                None => (format!("{id}.vcf"), String::new()),
            };
            if wanted.is_some_and(|wanted| !wanted.contains(&name)) {
                continue;
            }
            let etag = own_etag_of(id, version, &uid);
            let vcard = match body {
                None => None,
                Some(vcard) => match self.dav_rendered.get(&CardKey { id, version, uid, vcard }) {
                    Some(bytes) => Some(bytes.to_vec()),
                    None => {
                        missing.push(id);
                        missing_names.extend(named.map(|named| (id, named)));
                        continue;
                    }
                },
            };
            cards.push(DavCard { id, own: true, name, etag, vcard });
        }
        if !missing.is_empty() {
            let contacts = self.store.contacts(owner, &missing).await?;
            let keys: HashMap<Uuid, (i64, String)> = contacts
                .iter()
                .map(|c| {
                    (c.id, (c.version, missing_names.get(&c.id).map(|n: &DavName| n.uid.clone()).unwrap_or_default()))
                })
                .collect();
            let written = self.contact_cards(owner, &contacts, body, missing_names).await?;
            for card in &written {
                if let (Some(bytes), Some(vcard), Some((version, uid))) = (&card.vcard, body, keys.get(&card.id)) {
                    let key = CardKey { id: card.id, version: *version, uid: uid.clone(), vcard };
                    self.dav_rendered.insert(key, Arc::from(bytes.as_slice()));
                }
            }
            cards.extend(written);
        }
        Ok(cards)
    }

    /// The cards of own contacts, read whole: named and with the UIDs `names` gives (else
    /// by id), with their photos when the cards are written.
    async fn contact_cards(
        &self,
        owner: Book,
        contacts: &[Contact],
        body: Option<VCardVersion>,
        mut names: HashMap<Uuid, DavName>,
    ) -> Result<Vec<DavCard>> {
        let named: Vec<(&Contact, String, String)> = contacts
            .iter()
            .map(|contact| {
                let given = names.remove(&contact.id);
                let (name, uid) =
                    given.map_or_else(|| (format!("{}.vcf", contact.id), String::new()), |n| (n.name, n.uid));
                (contact, name, uid)
            })
            .collect();
        let with_photo: Vec<Uuid> = match body {
            Some(_) => named.iter().filter(|(c, ..)| c.has_photo).map(|(c, ..)| c.id).collect(),
            None => Vec::new(),
        };
        let mut photos = match with_photo.is_empty() {
            true => HashMap::new(),
            false => self.store.photos(owner, &with_photo).await?,
        };
        Ok(named
            .into_iter()
            .map(|(contact, name, uid)| {
                let etag = own_etag(contact, &uid);
                let vcard = body.map(|version| {
                    let mut export = from_contact(contact);
                    export.photo = photos.remove(&contact.id).and_then(|photo| {
                        Some(ExportPhoto { kind: PhotoType::from_media_type(&photo.media_type)?, bytes: photo.bytes })
                    });
                    if !uid.is_empty() {
                        export.uid = uid;
                    }
                    render(&export, version)
                });
                DavCard { id: contact.id, own: true, name, etag, vcard }
            })
            .collect())
    }
}

/// Walks a book for [`App::dav_card_pages`]: the directory's pages, then the own book's.
struct BookWalk {
    app: App,
    owner: Book,
    /// The directory's query, at the next page (`None`: not in the book, or read).
    directory: Option<DirectoryQuery>,
    /// The own book's listing, at the next page (`None`: not in the book, or read).
    own: Option<ListQuery>,
    body: Option<VCardVersion>,
}

impl BookWalk {
    async fn next_page(mut self) -> Result<Option<(Vec<DavCard>, BookWalk)>> {
        if let Some(query) = &mut self.directory {
            let Page { items, next_cursor } = self.app.store.directory(query).await?;
            match next_cursor {
                Some(next) => query.list.after = Some(decode(&next, &query.list)?),
                None => self.directory = None,
            }
            let cards = items.iter().map(|entry| directory_card(entry, self.body)).collect();
            return Ok(Some((cards, self)));
        }
        if let Some(list) = &mut self.own {
            // The contacts' versions tell the ETags and which cards are written already.
            let Page { items, next_cursor } = self.app.store.list_card_versions(self.owner, list).await?;
            advance(&mut self.own, next_cursor)?;
            let cards = self.app.own_cards(self.owner, items, self.body, None).await?;
            return Ok(Some((cards, self)));
        }
        Ok(None)
    }
}

/// `items` cut into pages of [`PAGE`], each made into its cards by `cards` only when the
/// stream is read that far.
fn in_pages<T, F, Fut>(items: Vec<T>, cards: F) -> CardPages
where
    T: Clone + Send + 'static,
    F: FnMut(Vec<T>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Vec<DavCard>>> + Send + 'static,
{
    let pages: Vec<Vec<T>> = items.chunks(PAGE as usize).map(<[T]>::to_vec).collect();
    Box::pin(stream::iter(pages).then(cards))
}

/// Moves a listing on to the page after this one, or ends it.
fn advance(list: &mut Option<ListQuery>, next_cursor: Option<String>) -> Result<()> {
    match (list.as_mut(), next_cursor) {
        (Some(query), Some(next)) => query.after = Some(decode(&next, query)?),
        _ => *list = None,
    }
    Ok(())
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

/// The id a `{id}.vcf` name stands for.
fn id_of_name(name: &str) -> Option<Uuid> {
    name.strip_suffix(".vcf")?.parse().ok()
}

/// A name a client may give a card: one path segment, of a sane length.
fn check_name(name: &str) -> Result<()> {
    let fine = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && !matches!(name, "." | "..")
        && !name.chars().any(|c| c == '/' || c == '\\' || c.is_control());
    match fine {
        true => Ok(()),
        false => {
            Err(Invalid::field("name", format!("a card's name is 1 to {MAX_NAME_LEN} characters, without slashes"))
                .into())
        }
    }
}

/// Whether the card's current ETag (`None`: no card) allows the write.
fn conditions_hold(conditions: &DavConditions, current: Option<&str>) -> bool {
    if conditions.if_none_match_any && current.is_some() {
        return false;
    }
    match (&conditions.if_match, current) {
        (Some(wanted), Some(current)) => wanted.trim() == "*" || wanted.split(',').any(|tag| tag.trim() == current),
        (Some(_), None) => false,
        (None, _) => true,
    }
}

/// The one vCard of a PUT body, with the UID and name every card must have.
fn read_card(body: &[u8]) -> Result<ImportedRow> {
    if body.len() > MAX_CARD_BYTES {
        return Err(AppError::TooLarge(format!("a card may have at most {MAX_CARD_BYTES} bytes, photo included")));
    }
    let options = ReadOptions { format: Some(Format::VCard), max_rows: 2, ..ReadOptions::default() };
    let invalid = |message: String| AppError::Invalid(Invalid(vec![FieldError { field: "vcard".into(), message }]));
    let mut reader = switchboard_formats::read(body, options).map_err(|error| invalid(error.to_string()))?;
    let row = match reader.next() {
        Some(Ok(row)) => row,
        Some(Err(error)) => return Err(invalid(error.to_string())),
        None => return Err(invalid("the body holds no vCard".into())),
    };
    if reader.next().is_some() {
        return Err(invalid("a card is one vCard; this body holds several".into()));
    }
    if row.uid.as_deref().is_none_or(|uid| uid.trim().is_empty()) {
        return Err(Invalid::field("UID", "a card needs a UID (RFC 6352)").into());
    }
    if !has_a_name(&row.contact) {
        return Err(Invalid::field("FN", "a card needs a name (FN or N), or at least an organization").into());
    }
    Ok(row)
}

fn has_a_name(contact: &ContactInput) -> bool {
    [&contact.first_name, &contact.last_name, &contact.company].iter().any(|part| !part.trim().is_empty())
}

/// A card of the directory, named by its entry's id, its ETag the digest of its vCard 3.0.
fn directory_card(entry: &DirectoryEntry, body: Option<VCardVersion>) -> DavCard {
    let export = from_entry(entry);
    let v3 = render(&export, VCardVersion::V3);
    let etag = quoted_digest(Sha256::digest(&v3));
    let vcard = match body {
        Some(VCardVersion::V3) => Some(v3),
        Some(VCardVersion::V4) => Some(render(&export, VCardVersion::V4)),
        None => None,
    };
    DavCard { id: entry.id, own: false, name: format!("{}.vcf", entry.id), etag, vcard }
}

/// The ETag of one of the user's own cards: the digest of what its vCard is made of.
fn own_etag(contact: &Contact, uid: &str) -> String {
    own_etag_of(contact.id, contact.version, uid)
}

fn own_etag_of(id: Uuid, version: i64, uid: &str) -> String {
    let mut digest = Sha256::new();
    digest.update(id.as_bytes());
    digest.update(version.to_be_bytes());
    digest.update(uid.as_bytes());
    digest.update(WRITER_REVISION.as_bytes());
    quoted_digest(digest.finalize())
}

fn quoted_digest(digest: impl AsRef<[u8]>) -> String {
    let hex: String = digest.as_ref()[..12].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

fn render(contact: &ExportContact, version: VCardVersion) -> Vec<u8> {
    let format = match version {
        VCardVersion::V3 => ExportFormat::VCard3,
        VCardVersion::V4 => ExportFormat::VCard4,
    };
    let mut writer = Writer::new(Vec::new(), format).expect("writing to memory cannot fail");
    writer.write(contact).expect("writing to memory cannot fail");
    writer.finish().expect("writing to memory cannot fail")
}
