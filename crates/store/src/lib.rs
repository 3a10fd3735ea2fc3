//! The `Store` trait: everything Switchboard keeps, behind one interface with
//! two back-ends (SQLite by default, PostgreSQL to scale out). The same
//! conformance suite (`conformance`) runs against both.
//!
//! The store enforces integrity (uniqueness, versions, tenant keys on every
//! query) but never permissions: deciding who may do what is the app's job.

use std::collections::{BTreeMap, HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use switchboard_core::contact::ContactFields;
use switchboard_core::model::{
    AuditEntry, Book, Contact, DirectoryEntry, Domain, EntryKind, Presence, Reseller, Token, TokenKind, User,
};
use switchboard_core::paging::{Cursor, Limit, Page, Sort};
use switchboard_core::settings::LayerKind;
use switchboard_core::text::SearchTerm;
use switchboard_core::{DomainName, Extension, Scope};
use uuid::Uuid;

mod app_passwords;
mod callerid;
pub mod changes;
mod chat;
mod columns;
pub mod conformance;
mod dav;
mod duplicates;
mod events;
mod feed;
mod phones;
mod photos;
mod postgres;
mod postgres_copy;
mod presence;
mod sqlite;
pub mod testing;
mod user_trash;
mod webhooks;

pub use app_passwords::{AppPasswordStore, NewAppPassword};
pub use callerid::{AllowedNumber, BlockedNumber, CallerIdStore, NewAllowedNumber, NewBlockedNumber};
pub use chat::{ChatStore, ConversationPage};
pub use columns::PreparedContact;
pub use dav::{CardVersion, DavName, DavStore};
pub use duplicates::{DuplicateGroup, DuplicatePage, DuplicateStore, MAX_GROUP_MEMBERS, Merge};
pub use events::EventBus;
pub use feed::{FeedBounds, FeedPosition, FeedStore};
pub use phones::{BookPart, BookRow, DeviceAccess, DeviceKey, PhoneStore};
pub use photos::{NewPhoto, Photo, PhotoStore};
pub use postgres::PostgresStore;
pub use presence::{LineUpdate, NewPbxCredential, PresenceStore};
pub use sqlite::SqliteStore;
pub use user_trash::{DeletedUser, UserTrashStore};
pub use webhooks::{DeliveryRecord, NewWebhook, WebhookPatch, WebhookStore, WebhookTarget};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique key is taken (domain name, extension, exact duplicate contact…).
    #[error("already exists: {0}")]
    Conflict(String),
    /// The record changed since the caller read it (optimistic locking).
    #[error("the record was changed by someone else (now at version {current})")]
    Stale { current: i64 },
    #[error("not found")]
    NotFound,
    #[error("database error: {0}")]
    Database(sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A taken unique key is the caller's problem (`Conflict`), never a database failure;
/// a missing parent (foreign key) means what was referred to is `NotFound`.
impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match &error {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(db.message().to_string()),
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::NotFound,
            _ => StoreError::Database(error),
        }
    }
}

/// What an audit entry records; written in the same transaction as the change.
#[derive(Debug, Clone)]
pub struct AuditRecord {
    pub domain_id: Option<Uuid>,
    pub actor: String,
    pub action: String,
    pub target_id: Option<Uuid>,
    pub details: serde_json::Value,
}

#[derive(Debug, Clone)]
pub struct NewDomain {
    pub name: DomainName,
    pub description: String,
    pub reseller_id: Option<Uuid>,
}

#[derive(Debug, Clone, Default)]
pub struct DomainPatch {
    pub description: Option<String>,
    /// `Some(None)` removes the domain from its reseller.
    pub reseller_id: Option<Option<Uuid>>,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub domain_id: Uuid,
    pub extension: Extension,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub department: String,
    pub site: String,
    pub scope: Scope,
    pub listed: bool,
    pub password_hash: String,
}

#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub department: Option<String>,
    pub site: Option<String>,
    pub scope: Option<Scope>,
    pub listed: Option<bool>,
    /// A new password, written in the same transaction as the rest, after the version
    /// check: a stale edit changes nothing.
    pub password: Option<PasswordChange>,
}

/// A new password hash; the user's sessions end with the change, in its transaction.
#[derive(Debug, Clone)]
pub struct PasswordChange {
    pub hash: String,
    /// The one session that lives on (the user's own, changing their password); `None`
    /// ends them all. API tokens are kept.
    pub keep_session: Option<Uuid>,
    /// The `user.password` audit entry.
    pub audit: AuditRecord,
}

/// Parameters shared by every paged list.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub search: Option<SearchTerm>,
    pub sort: Sort,
    pub limit: Limit,
    pub after: Option<Cursor>,
}

/// Which users a user list shows; each part given narrows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserFilter {
    pub site: Option<String>,
    pub scope: Option<Scope>,
}

/// Which audit entries a list shows; each part given narrows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Entries of any of these actions; every action when empty.
    pub actions: Vec<String>,
    /// Entries of exactly this actor (`200@acme.example`, `cli`).
    pub actor: Option<String>,
    /// Entries written at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Entries written before this time.
    pub until: Option<DateTime<Utc>>,
}

/// When a presence's parts end by themselves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PresenceTimers {
    /// The status message is cleared then.
    pub message_until: Option<DateTime<Utc>>,
    /// A "busy" set by hand turns back to available then (a busy line still shows).
    pub busy_until: Option<DateTime<Utc>>,
}

/// Which part of the merged directory to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Group {
    All,
    Favorites,
    Shared,
    Mine,
    Coworkers,
    Department(String),
    Site(String),
    Presence(switchboard_core::model::PresenceState),
}

#[derive(Debug, Clone)]
pub struct DirectoryQuery {
    pub domain_id: Uuid,
    /// The user looking: they are not among the coworkers; their own contacts and
    /// favorites are included when `include_own` says so.
    pub viewer_id: Uuid,
    /// False when `PORTAL_SHOW_SHARED_CONTACTS=no` applies to the viewer.
    pub include_shared: bool,
    /// False for a desk phone whose user has not let it show their own contacts: then
    /// neither those nor the user's favorites are in the book.
    pub include_own: bool,
    pub group: Group,
    pub list: ListQuery,
}

/// What a reader sees of the merged directory: the one rule both the database query
/// (`directory_queries.rs`) and the in-memory books (`app::book_index`) follow.
impl DirectoryQuery {
    /// The kinds of entries the group holds for this viewer.
    pub fn kinds(&self) -> Vec<EntryKind> {
        let kinds: &[EntryKind] = match self.group {
            Group::Favorites | Group::Mine if !self.include_own => &[],
            Group::All | Group::Favorites => &[EntryKind::Coworker, EntryKind::Shared, EntryKind::Personal],
            Group::Shared => &[EntryKind::Shared],
            Group::Mine => &[EntryKind::Personal],
            Group::Coworkers | Group::Department(_) | Group::Site(_) | Group::Presence(_) => &[EntryKind::Coworker],
        };
        kinds
            .iter()
            .copied()
            .filter(|kind| *kind != EntryKind::Shared || self.include_shared)
            .filter(|kind| *kind != EntryKind::Personal || self.include_own)
            .collect()
    }

    /// Whether a listed coworker belongs to the group (the SQL of `push_coworkers` says
    /// the same): never the viewer, and of the group's department or site. Presence
    /// groups need the presence table: `None`.
    pub fn has_coworker(&self, id: Uuid, department: &str, site: &str) -> Option<bool> {
        if id == self.viewer_id {
            return Some(false);
        }
        match &self.group {
            Group::Department(wanted) => Some(department == wanted),
            Group::Site(wanted) => Some(site == wanted),
            Group::Presence(_) => None,
            _ => Some(true),
        }
    }
}

/// A settings layer, identified by its kind and owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    System,
    Reseller(Uuid),
    Domain(Uuid),
    /// A scope within one domain.
    Scope(Uuid, Scope),
    User(Uuid),
}

impl Layer {
    pub fn kind(self) -> LayerKind {
        match self {
            Layer::System => LayerKind::System,
            Layer::Reseller(_) => LayerKind::Reseller,
            Layer::Domain(_) => LayerKind::Domain,
            Layer::Scope(..) => LayerKind::Scope,
            Layer::User(_) => LayerKind::User,
        }
    }
}

/// One change an import makes to a book. A created contact has no audit record of its
/// own: the import's summary record, written by [`ImportWriter::commit`], stands for
/// every contact it created (an import of 100,000 rows is one entry in the log, not
/// 100,000). An update or a trashing changes what was there, so each keeps its record.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant, reason = "a batch holds a few thousand at most, each moved once")]
pub enum ImportChange {
    Create(PreparedContact),
    Update {
        id: Uuid,
        fields: ContactFields,
        audit: AuditRecord,
    },
    /// Moves a live contact to the trash (`replace` imports).
    Trash {
        id: Uuid,
        audit: AuditRecord,
    },
}

impl ImportChange {
    /// The audit record of an update or a trashing.
    pub fn audit(&self) -> Option<&AuditRecord> {
        match self {
            ImportChange::Create(_) => None,
            ImportChange::Update { audit, .. } | ImportChange::Trash { audit, .. } => Some(audit),
        }
    }
}

/// What an imported row is matched by (see [`ImportWriter::matching_contacts`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowKeys {
    /// The row's UID, when it is an id (our own exports carry it).
    pub id: Option<Uuid>,
    pub duplicate_key: String,
    pub sort_key: String,
    /// The row's numbers that have an E.164 form.
    pub numbers: Vec<String>,
}

impl RowKeys {
    pub fn new(id: Option<Uuid>, fields: &ContactFields) -> RowKeys {
        RowKeys {
            id,
            duplicate_key: fields.duplicate_key(),
            sort_key: fields.sort_key(),
            numbers: fields.numbers().into_iter().filter_map(|(_, number)| number.e164.clone()).collect(),
        }
    }
}

/// The reads and writes of one import, inside its transaction.
#[async_trait]
pub trait ImportWriter: Send {
    /// For each row, in the order given, the live contact of the book it stands for: the
    /// one its id names, else an exact duplicate (same names and numbers), else the first
    /// by id with the same names sharing an E.164 number. A few round trips for the whole
    /// slice, however long, rather than some per row.
    async fn matching_contacts(&mut self, rows: &[RowKeys]) -> Result<Vec<Option<Contact>>>;
    /// A live contact of the book by id.
    async fn live_contact(&mut self, id: Uuid) -> Result<Option<Contact>>;
    /// The live contact one row without a UID stands for (see [`Self::matching_contacts`]).
    async fn matching_contact(&mut self, fields: &ContactFields) -> Result<Option<Contact>> {
        Ok(self.matching_contacts(&[RowKeys::new(None, fields)]).await?.pop().flatten())
    }
    /// Ids of every live contact of the book (for imports that replace the book).
    async fn live_contact_ids(&mut self) -> Result<Vec<Uuid>>;
    /// Applies changes (see [`ImportChange`] for their audit records); returns the ids of
    /// the created contacts in order.
    /// Nobody but this import sees them before [`Self::commit`]. The changes are given, not
    /// lent: a back-end may hand them to a task of its own without copying them.
    async fn apply(&mut self, changes: Vec<ImportChange>) -> Result<Vec<Uuid>>;
    /// Gives contacts this import created or updated their photos (in place of any they
    /// had), shown with the rest at [`Self::commit`].
    async fn set_photos(&mut self, photos: &[(Uuid, NewPhoto)]) -> Result<()>;
    /// Writes the summary audit record, stars `favorites` for the owner of a personal
    /// book, and makes everything visible at once.
    async fn commit(self: Box<Self>, summary: AuditRecord, favorites: &[Uuid]) -> Result<()>;
    /// Undoes everything applied (also done, later, when the writer is dropped without
    /// `commit` or `discard`).
    async fn discard(self: Box<Self>) -> Result<()>;
}

/// A stored token (session or API) with the secret's hash only.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub user_id: Uuid,
    pub kind: TokenKind,
    pub name: String,
    /// SHA-256 of the secret, hex.
    pub secret_hash: String,
    pub expires_at: Option<DateTime<Utc>>,
}

/// A live session or API token with its user and the user's domain: everything
/// authenticating a request needs, read in one statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenOwner {
    pub token: Token,
    pub user: User,
    pub domain: Domain,
}

/// A device credential of a domain (desk phones reading the directory over XML or LDAP).
/// The secrets themselves are never stored, only their hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub id: Uuid,
    pub domain_id: Uuid,
    pub name: String,
    /// The user whose own contacts and favorites the device's book also shows.
    pub user_id: Option<Uuid>,
    /// CIDR ranges the device may connect from, as given; empty means anywhere.
    pub allowed_networks: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// The user who created the credential (`None`: the operator, or made before this was kept).
    pub created_by: Option<Uuid>,
}

#[derive(Debug, Clone)]
pub struct NewDevice {
    pub domain_id: Uuid,
    pub name: String,
    pub user_id: Option<Uuid>,
    pub allowed_networks: Vec<String>,
    /// SHA-256 of the URL token, hex (looked up by it).
    pub token_hash: String,
    /// Hash of the LDAP bind password (checked against it).
    pub password_hash: String,
    pub created_by: Option<Uuid>,
}

/// How far a domain's data has changed: a counter bumped in the same transaction as
/// every change of its contacts, users, favorites or settings, and the time of the last
/// bump. Phones cache their books by it (`ETag`, `Last-Modified`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChangeStamp {
    pub seq: i64,
    pub at: DateTime<Utc>,
}

/// Failed-login bookkeeping for one key (an account or a client address).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LoginFailures {
    pub count: i64,
    pub last_failure: Option<DateTime<Utc>>,
}

/// Row counts per table, to verify `db copy`.
pub type TableCounts = BTreeMap<String, i64>;

/// Everything Switchboard keeps, and the change events about it ([`EventBus`]). Each kind
/// of record has its own part (`DomainStore`, `ContactStore`…), implemented by both back-ends.
#[async_trait]
pub trait Store:
    EventBus
    + DomainStore
    + UserStore
    + ContactStore
    + DirectoryStore
    + SettingsStore
    + AuditStore
    + AuthStore
    + DeviceStore
    + CopyStore
    + CallerIdStore
    + PhoneStore
    + UserTrashStore
    + DuplicateStore
    + ChatStore
    + PhotoStore
    + PresenceStore
    + FeedStore
    + WebhookStore
    + AppPasswordStore
    + DavStore
    + Send
    + Sync
    + 'static
{
    /// Checks the database answers (for `/healthz`).
    async fn ping(&self) -> Result<()>;
    /// Connections in use and idle, for metrics.
    fn pool_state(&self) -> (u32, u32);
    /// The domain's change counter (see [`ChangeStamp`]); `None` for an unknown domain.
    /// Every change made through this store shows at once; a change made through another
    /// (another process or server on the same database) within [`changes::FRESH_FOR`],
    /// since a stamp read that recently is answered again without asking the database.
    async fn change_stamp(&self, domain_id: Uuid) -> Result<Option<ChangeStamp>>;
}

/// Resellers and domains. Part of [`Store`]; the SQL is in `domains_queries.rs`.
#[async_trait]
pub trait DomainStore {
    async fn create_reseller(&self, name: &str) -> Result<Reseller>;
    async fn reseller_by_name(&self, name: &str) -> Result<Option<Reseller>>;
    async fn create_domain(&self, new: NewDomain, audit: AuditRecord) -> Result<Domain>;
    async fn domain_by_name(&self, name: &DomainName) -> Result<Option<Domain>>;
    async fn domain_by_id(&self, id: Uuid) -> Result<Option<Domain>>;
    /// Domains by name; only those of `reseller_id` when given.
    async fn list_domains(&self, reseller_id: Option<Uuid>, list: &ListQuery) -> Result<Page<Domain>>;
    async fn update_domain(&self, id: Uuid, patch: DomainPatch, audit: AuditRecord) -> Result<Domain>;
    /// Deletes a domain and everything in it.
    async fn delete_domain(&self, id: Uuid, audit: AuditRecord) -> Result<()>;
}

/// Users, their passwords and their consent to show their own contacts on phones. Part of
/// [`Store`]; the SQL is in `users_queries.rs`.
#[async_trait]
pub trait UserStore {
    async fn create_user(&self, new: NewUser, audit: AuditRecord) -> Result<User>;
    async fn user_by_extension(&self, domain_id: Uuid, ext: &Extension) -> Result<Option<User>>;
    async fn user_by_id(&self, id: Uuid) -> Result<Option<User>>;
    /// Users of a domain, listed or not, narrowed by `filter`.
    async fn list_users(&self, domain_id: Uuid, filter: &UserFilter, list: &ListQuery) -> Result<Page<User>>;
    async fn update_user(
        &self,
        id: Uuid,
        expected_version: Option<i64>,
        patch: UserPatch,
        audit: AuditRecord,
    ) -> Result<User>;
    async fn password_hash(&self, user_id: Uuid) -> Result<Option<String>>;
    async fn set_password_hash(&self, user_id: Uuid, hash: &str, audit: AuditRecord) -> Result<()>;
    /// Whether the user lets desk phones set up by others show their own contacts.
    async fn own_contacts_on_phones(&self, user_id: Uuid) -> Result<bool>;
    /// Changes that consent; phones' books change with it (the domain's change counter moves).
    async fn set_own_contacts_on_phones(&self, user_id: Uuid, on: bool, audit: AuditRecord) -> Result<()>;
}

/// Contacts (shared and personal). Deleted contacts stay in the trash. Part of [`Store`]; the SQL
/// is in `contacts_queries.rs`.
#[async_trait]
pub trait ContactStore {
    /// Refuses an exact duplicate (same `duplicate_key`) in the same book with `Conflict`.
    async fn create_contact(&self, book: Book, fields: ContactFields, audit: AuditRecord) -> Result<Contact>;
    /// A contact of this book, including one in the trash.
    async fn contact(&self, book: Book, id: Uuid) -> Result<Option<Contact>>;
    /// The live contacts of a book that have these ids (others are left out).
    async fn contacts(&self, book: Book, ids: &[Uuid]) -> Result<Vec<Contact>>;
    /// The versions of those of `ids` that are live contacts of the book.
    async fn contact_versions(&self, book: Book, ids: &[Uuid]) -> Result<Vec<(Uuid, i64)>>;
    /// Live contacts of a book.
    async fn list_contacts(&self, book: Book, list: &ListQuery) -> Result<Page<Contact>>;
    /// The first `limit` live groups of a book (`ContactKind::Group`), by name.
    async fn contact_groups(&self, book: Book, limit: u32) -> Result<Vec<Contact>>;
    /// Updates a live contact if it is still at `expected_version` (when given).
    async fn update_contact(
        &self,
        book: Book,
        id: Uuid,
        expected_version: Option<i64>,
        fields: ContactFields,
        audit: AuditRecord,
    ) -> Result<Contact>;
    /// Moves a live contact to the trash.
    async fn delete_contact(&self, book: Book, id: Uuid, audit: AuditRecord) -> Result<Contact>;
    /// Brings a contact back from the trash (`Conflict` if an identical live one exists).
    async fn restore_contact(&self, book: Book, id: Uuid, audit: AuditRecord) -> Result<Contact>;
    /// Starts an import into `book`, which sees its own writes and shows them to nobody
    /// else until it commits; without `commit` the book stays exactly as before, even if
    /// the process dies. It holds up no writer of another book for long: on SQLite it
    /// writes in short transactions into rows no reader sees, made visible by one short
    /// last commit (see `migrations/sqlite/0008_pending_imports.sql`); on PostgreSQL it
    /// is one transaction.
    async fn begin_import(&self, book: Book) -> Result<Box<dyn ImportWriter>>;
    /// Discards the imports that never committed: all of them (at start-up, when no
    /// import of this database can be running), or those idle since `idle_since`.
    /// Returns how many.
    async fn discard_pending_imports(&self, idle_since: Option<DateTime<Utc>>) -> Result<u64>;
    /// Contacts in the trash of a domain: shared ones, and personal ones of `owner_id` when given.
    async fn list_trash(&self, domain_id: Uuid, owner_id: Option<Uuid>, list: &ListQuery) -> Result<Page<Contact>>;
    /// Removes for good what was deleted before `before`; returns how many.
    async fn purge_trash(&self, before: DateTime<Utc>) -> Result<u64>;
}

/// The merged directory: coworkers, shared and personal contacts as one list, with
/// favorites, presence, departments and sites. Part of [`Store`]; the SQL is in
/// `directory_queries.rs`.
#[async_trait]
pub trait DirectoryStore {
    async fn directory(&self, query: &DirectoryQuery) -> Result<Page<DirectoryEntry>>;
    /// A page of the directory holding only the viewer's favorites (`starred`) or only
    /// the others: the two halves of "favorites first", each paged by the list's sort
    /// index like [`DirectoryStore::directory`] (the favorites' primary key filters).
    async fn directory_starred(&self, query: &DirectoryQuery, starred: bool) -> Result<Page<DirectoryEntry>>;
    /// How many entries the query finds (its cursor and page size ignored), counted up
    /// to `cap`: past it the answer is `cap + 1`, so a count never reads a whole book.
    async fn directory_count(&self, query: &DirectoryQuery, cap: u32) -> Result<u64>;
    /// One directory entry as the viewer sees it, if visible to them.
    async fn directory_entry(
        &self,
        domain_id: Uuid,
        viewer_id: Uuid,
        include_shared: bool,
        include_own: bool,
        entry_id: Uuid,
    ) -> Result<Option<DirectoryEntry>>;
    /// Distinct departments (or sites) of the listed users of a domain, sorted.
    async fn departments(&self, domain_id: Uuid) -> Result<Vec<String>>;
    async fn sites(&self, domain_id: Uuid) -> Result<Vec<String>>;
    async fn set_favorite(&self, user_id: Uuid, entry_id: Uuid, favorite: bool) -> Result<()>;
    /// Sets the state, chat and message a user set by hand (`presence.state`,
    /// `presence.chat`, `presence.message`), and when its message and its "busy" end
    /// (none: they last).
    async fn set_presence(&self, user_id: Uuid, presence: &Presence, timers: PresenceTimers) -> Result<()>;
    /// Clears the status messages and ends the "busy" states whose time has come by
    /// `now`, drops session connections that were not renewed, and marks away the
    /// connected users last active before `idle_before`; returns each user whose shown
    /// presence changed, with their domain. Each change is made once, whichever server
    /// asks first.
    async fn expire_presence(&self, now: DateTime<Utc>, idle_before: DateTime<Utc>) -> Result<Vec<(Uuid, Uuid)>>;
    async fn presence(&self, user_id: Uuid) -> Result<Presence>;
    /// Which of `entry_ids` the user has starred (for a page of the directory read elsewhere).
    async fn favorites_among(&self, user_id: Uuid, entry_ids: &[Uuid]) -> Result<HashSet<Uuid>>;
    /// The presence of each of `user_ids` that reported one (the others are offline).
    async fn presences(&self, user_ids: &[Uuid]) -> Result<HashMap<Uuid, Presence>>;
}

/// Settings layers. Part of [`Store`]; the SQL is in `settings_queries.rs`.
#[async_trait]
pub trait SettingsStore {
    async fn settings(&self, layer: Layer) -> Result<BTreeMap<String, String>>;
    /// Several layers in one round trip, in the order given (for resolving them).
    async fn settings_layers(&self, layers: &[Layer]) -> Result<Vec<BTreeMap<String, String>>>;
    /// Sets keys (`Some`) and removes them (`None`) in one layer.
    async fn put_settings(
        &self,
        layer: Layer,
        changes: &BTreeMap<String, Option<String>>,
        audit: AuditRecord,
    ) -> Result<()>;
}

/// The audit log, newest first. Part of [`Store`]; the SQL is in `audit_queries.rs`.
#[async_trait]
pub trait AuditStore {
    /// Entries of a domain matching `filter`, newest first, older than the entry `before`.
    async fn list_audit(
        &self,
        domain_id: Uuid,
        filter: &AuditFilter,
        limit: Limit,
        before: Option<Uuid>,
    ) -> Result<Page<AuditEntry>>;
}

/// Tokens and sessions, and login throttling shared by every server on the database. Part of
/// [`Store`]; the SQL is in `auth_queries.rs`.
#[async_trait]
pub trait AuthStore {
    async fn create_token(&self, new: NewToken) -> Result<Token>;
    /// The live (not expired) token with this secret hash.
    async fn token_by_secret_hash(&self, secret_hash: &str, now: DateTime<Utc>) -> Result<Option<Token>>;
    /// The live (not expired) token with this secret hash, with its user and the user's
    /// domain, in one statement: the whole database cost of authenticating a request.
    async fn token_owner_by_secret_hash(&self, secret_hash: &str, now: DateTime<Utc>) -> Result<Option<TokenOwner>>;
    async fn list_tokens(&self, user_id: Uuid, kind: TokenKind) -> Result<Vec<Token>>;
    /// Deletes a token of this user; false if there was none.
    async fn delete_token(&self, user_id: Uuid, token_id: Uuid) -> Result<bool>;
    /// Deletes every session and API token of this user; returns how many.
    async fn delete_user_tokens(&self, user_id: Uuid) -> Result<u64>;

    // Login throttling, shared by every server on the database.
    async fn login_failures(&self, key: &str) -> Result<LoginFailures>;
    async fn record_login_failure(&self, key: &str, at: DateTime<Utc>) -> Result<LoginFailures>;
    async fn clear_login_failures(&self, key: &str) -> Result<()>;
    /// Counts one failure for `key` and returns the new count, in one statement (so
    /// parallel attempts each see their own count): a count whose last failure is
    /// before `window_start` starts again at one.
    async fn count_login_failure(
        &self,
        key: &str,
        at: DateTime<Utc>,
        window_start: DateTime<Utc>,
    ) -> Result<LoginFailures>;
    /// Takes one failure back (an attempt counted before it turned out right).
    async fn forgive_login_failure(&self, key: &str) -> Result<()>;
    /// Deletes the counters whose last failure is before `before`; returns how many.
    async fn purge_login_failures(&self, before: DateTime<Utc>) -> Result<u64>;
    /// Deletes sessions and tokens that expired at `now` or before; returns how many.
    async fn purge_expired_tokens(&self, now: DateTime<Utc>) -> Result<u64>;
}

/// Device credentials. Part of [`Store`]; the SQL is in `devices_queries.rs`.
#[async_trait]
pub trait DeviceStore {
    async fn create_device(&self, new: NewDevice, audit: AuditRecord) -> Result<Device>;
    /// A device of this domain, revoked or not.
    async fn device(&self, domain_id: Uuid, id: Uuid) -> Result<Option<Device>>;
    /// Devices of a domain by id (creation order), after the device `after`.
    async fn list_devices(&self, domain_id: Uuid, limit: Limit, after: Option<Uuid>) -> Result<Page<Device>>;
    /// Marks a device revoked (kept for the audit trail); revoking it again changes nothing.
    async fn revoke_device(&self, domain_id: Uuid, id: Uuid, audit: AuditRecord) -> Result<Device>;
    /// Records that a device was used at `at`.
    async fn touch_device(&self, id: Uuid, at: DateTime<Utc>) -> Result<()>;
}

/// Maintenance: row counts and `db copy`. Part of [`Store`]; the SQL is in `copy_queries.rs`.
#[async_trait]
pub trait CopyStore {
    async fn table_counts(&self) -> Result<TableCounts>;
    /// Rows of one table (see [`COPY_TABLES`]) as JSON objects, in primary-key order,
    /// for `db copy`. Ids are strings, times are microseconds since the epoch.
    async fn export_rows(
        &self,
        table: &str,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<serde_json::Map<String, serde_json::Value>>>;
    /// Inserts rows produced by `export_rows` (of either back-end) in one transaction.
    async fn import_rows(&self, table: &str, rows: &[serde_json::Map<String, serde_json::Value>]) -> Result<()>;
    /// Starts writing a whole copy of another database (`db copy`) in one transaction.
    async fn begin_copy(&self) -> Result<Box<dyn CopyWriter>>;
}

/// The receiving side of `db copy`: every row goes into one transaction, so a copy that
/// fails or is stopped half-way leaves the database as it was, and can simply be run again.
/// Dropped without [`CopyWriter::commit`], it writes nothing.
#[async_trait]
pub trait CopyWriter: Send {
    /// Inserts rows produced by `export_rows` (of either back-end) into `table`.
    async fn insert_rows(&mut self, table: &str, rows: &[serde_json::Map<String, serde_json::Value>]) -> Result<()>;
    /// Row counts of every table of [`COPY_TABLES`], this transaction's rows included.
    async fn table_counts(&mut self) -> Result<TableCounts>;
    async fn commit(self: Box<Self>) -> Result<()>;
}

/// Every table `db copy` moves, parents before children.
pub const COPY_TABLES: &[&str] = &[
    "resellers",
    "domains",
    "users",
    "contacts",
    "blocked_numbers",
    "allowed_numbers",
    "favorites",
    "presence",
    "directory_changes",
    "settings",
    "audit_log",
    "tokens",
    "login_failures",
    "devices",
    "deleted_users",
    "not_duplicates",
    "merged_contacts",
    "chat_messages",
    "chat_conversations",
    "contact_photos",
    "pbx_credentials",
    "webhooks",
    "app_passwords",
    "dav_names",
];

/// Rows of `table` that `db copy` reads and writes at a time: photos are large (up to
/// 256 KiB each), so they go a few at a time.
pub fn copy_batch(table: &str) -> i64 {
    if table == "contact_photos" { 50 } else { 1000 }
}
