//! Switchboard's use cases. Every interface (REST, portal, phones, LDAP, CLI)
//! calls this crate and none talks to the store directly, so who may do what
//! is decided here and only here (see [`authz`]).

mod app_passwords;
mod audit;
pub mod auth;
pub mod authz;
mod blocking;
mod book_index;
pub mod capabilities;
mod chat;
mod connections;
mod contacts;
pub mod dav;
pub mod devices;
mod directory;
mod domains;
mod duplicates;
mod error;
mod events;
mod export;
mod feed;
mod groups;
mod import;
pub mod inputs;
mod limits;
mod lookup;
mod photos;
mod presence;
pub mod provisioning;
mod records;
mod settings;
mod user_trash;
mod users;
pub mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use switchboard_store::Store;

pub use app_passwords::{AppPasswordInput, CreatedAppPassword, MAX_APP_PASSWORDS};
pub use audit::{AUDIT_ACTIONS, AuditParams};
pub use auth::{Caller, Login, NewApiToken, PasswordHashStats};
pub use blocking::{AllowedNumberInput, AllowedNumberView, BlockKind, BlockedNumberInput, BlockedNumberView};
pub use capabilities::Capabilities;
pub use chat::{ChatPageParams, ConversationList, MessageList};
pub use connections::{BoundReader, binds_as_user};
pub use contacts::BookRef;
pub use devices::{
    CreatedDevice, DeviceInput, DeviceView, LDAP_ALLOW_ANONYMOUS, PhoneSharing, PhonebookPage, PhonebookQuery,
    PhonebookReader,
};
pub use domains::DomainView;
pub use duplicates::{DuplicateParams, MergeInput, MergePreview, NotDuplicatesInput};
pub use error::{AppError, Result};
pub use events::{Notice, Subscription};
pub use export::{Export, ExportSource, parse_export_format};
pub use feed::{FeedChange, FeedOp, FeedPage};
pub use groups::{ContactGroup, GroupMember};
pub use import::{ImportMode, ImportOptions, ImportPermit, ImportReport, RowAction, RowProblem, parse_import_options};
pub use inputs::*;
pub use limits::RateLimit;
pub use lookup::{LookupAnswer, MatchRule, MatchedEntry};
pub use photos::{StoredPhoto, new_photo, photo_too_large};
pub use presence::{LineInput, LineResult, LinesInput, LinesReport, MAX_LINES, NewPbxToken, PresenceConnection};
pub use settings::{LayeredSettings, SettingsLayer, SettingsView};
pub use switchboard_formats::ExportFormat;
pub use user_trash::DeletedUserView;
pub use users::CreatedUser;
pub use webhooks::{WebhookConfig, WebhookInput, WebhookUpdate, WebhookWithSecret};

/// Tunables of the use cases; the defaults are what production runs.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// How long a login session lasts.
    pub session_ttl: Duration,
    /// How long deleted contacts stay in the trash.
    pub trash_retention: Duration,
    pub login: LoginPolicy,
    /// Most rows (CSV records or vCards) one import reads; a longer file is refused.
    pub max_import_rows: usize,
    /// Imports running at once on this server, in all and into one domain; more are
    /// answered "busy" (HTTP 429 with `Retry-After`).
    pub max_imports: usize,
    pub max_imports_per_domain: usize,
    /// How long one import may take; a longer one is undone and refused.
    pub import_time_limit: Duration,
    /// Whether phones' searches, caller-ID look-ups and users' directories use in-memory
    /// copies of the books (see `book_index`); off only to compare both ways in tests and
    /// benchmarks.
    pub book_index: bool,
    /// Entries the in-memory copies hold over all domains, the least recently used
    /// domains' dropped first; about 0.5 KB each (the benchmark measures it).
    pub book_index_max_entries: usize,
    /// Password hashes (argon2, about 19 MiB each) that may run at once, over logins,
    /// HTTP Basic and LDAP user binds and new passwords.
    pub password_hashes_at_once: usize,
    /// Password checks that may wait for one of those; past them a login is answered
    /// 503 with `Retry-After` at once.
    pub password_hash_queue: usize,
    /// Event streams one user may have open at once (each browser tab has one).
    pub max_event_streams_per_user: usize,
    /// How often an event stream whose directory changed reads the feed, tells the
    /// changes and gives a new event id: a client that reconnects with `Last-Event-ID`
    /// is told again at most this much.
    pub event_checkpoint: Duration,
    /// How often one user's presence may change.
    pub presence_limit: RateLimit,
    /// How often one user may send a chat message.
    pub chat_limit: RateLimit,
    /// How often one user's address-book apps may read a whole book (a listing, a first
    /// sync, a search): each costs every card of it, so one user's apps cannot starve others.
    pub dav_book_limit: RateLimit,
    /// How often one user's address-book apps may send any request at all (a sync, a
    /// card read or written): generous for a phone uploading its contacts, a cap for a
    /// client that never stops.
    pub dav_request_limit: RateLimit,
    /// How many bytes of rendered own cards the CardDAV server keeps, by contact version,
    /// so a card that has not changed is neither read whole nor written again.
    pub dav_card_cache_bytes: u64,
    /// How often one domain's line states may be reported (calls, each up to 500 lines),
    /// so a PBX flooding one domain slows no other.
    pub line_limit: RateLimit,
    /// How long someone connected may do nothing before they show as away from chat.
    pub chat_away_after: Duration,
    /// How long a server's record of an open session lasts unless renewed (a third of
    /// it before its end): a crashed server's sessions end after at most this long.
    pub presence_connection_ttl: Duration,
    /// How webhooks are delivered and retried, and whether they may reach private addresses.
    pub webhooks: webhooks::WebhookConfig,
}

/// Failed logins per account and per client address: after `slow_after` failures
/// each attempt waits `delay_step` more; after `lock_after` failures the key is
/// refused for `lock_for` (counted from the last failure).
#[derive(Debug, Clone)]
pub struct LoginPolicy {
    pub slow_after: i64,
    pub delay_step: Duration,
    pub max_delay: Duration,
    pub lock_after: i64,
    pub lock_for: Duration,
}

impl Default for AppConfig {
    fn default() -> Self {
        AppConfig {
            session_ttl: Duration::from_secs(12 * 3600),
            trash_retention: Duration::from_secs(30 * 24 * 3600),
            login: LoginPolicy {
                slow_after: 3,
                delay_step: Duration::from_millis(250),
                max_delay: Duration::from_secs(2),
                lock_after: 10,
                lock_for: Duration::from_secs(15 * 60),
            },
            max_import_rows: 100_000,
            max_imports: 4,
            max_imports_per_domain: 1,
            import_time_limit: Duration::from_secs(10 * 60),
            book_index: true,
            book_index_max_entries: 300_000,
            password_hashes_at_once: std::thread::available_parallelism().map_or(2, usize::from),
            password_hash_queue: 64,
            max_event_streams_per_user: 16,
            event_checkpoint: Duration::from_secs(5),
            presence_limit: RateLimit { burst: 10, refill_every: Duration::from_secs(1) },
            // Typing fast in bursts, but not a script: 20 at once, then one every 2 s.
            chat_limit: RateLimit { burst: 20, refill_every: Duration::from_secs(2) },
            dav_book_limit: RateLimit { burst: 30, refill_every: Duration::from_secs(2) },
            // A first upload of a phone's contacts: 1,000 at once, then 100 a second.
            dav_request_limit: RateLimit { burst: 1000, refill_every: Duration::from_millis(10) },
            dav_card_cache_bytes: 64 * 1024 * 1024,
            // A PBX reports as calls come and go: 20 batches at once, then 10 a second.
            line_limit: RateLimit { burst: 20, refill_every: Duration::from_millis(100) },
            chat_away_after: presence::AWAY_AFTER,
            presence_connection_ttl: presence::CONNECTION_TTL,
            webhooks: webhooks::WebhookConfig::default(),
        }
    }
}

#[derive(Clone)]
pub struct App {
    store: Arc<dyn Store>,
    config: Arc<AppConfig>,
    /// Set once to end every event subscription (see [`App::close_subscriptions`]).
    closing: Arc<tokio::sync::watch::Sender<bool>>,
    book_indexes: Arc<book_index::BookIndexes>,
    password_hashing: Arc<auth::PasswordHashing>,
    /// Account passwords checked lately, for HTTP Basic clients sending them on every request.
    verified_passwords: Arc<app_passwords::VerifiedPasswords>,
    event_streams: Arc<limits::StreamCounts>,
    presence_updates: Arc<limits::RateLimiter>,
    chat_messages: Arc<limits::RateLimiter>,
    dav_book_reads: Arc<limits::RateLimiter>,
    dav_requests: Arc<limits::RateLimiter>,
    dav_rendered: Arc<dav::RenderedCards>,
    line_reports: Arc<limits::RateLimiter>,
    live_connections: presence::SharedLiveConnections,
    import_slots: Arc<import::ImportSlots>,
}

impl App {
    pub fn new(store: Arc<dyn Store>, config: AppConfig) -> App {
        let password_hashing =
            Arc::new(auth::PasswordHashing::new(config.password_hashes_at_once, config.password_hash_queue));
        let dav_rendered = Arc::new(dav::rendered_cards(config.dav_card_cache_bytes));
        App {
            store,
            config: Arc::new(config),
            closing: Arc::new(tokio::sync::watch::Sender::new(false)),
            book_indexes: Arc::default(),
            password_hashing,
            verified_passwords: Arc::new(app_passwords::VerifiedPasswords::new(
                app_passwords::VerifiedPasswords::KEEP,
                app_passwords::VerifiedPasswords::MAX_ENTRIES,
            )),
            event_streams: Arc::default(),
            presence_updates: Arc::default(),
            chat_messages: Arc::default(),
            dav_book_reads: Arc::default(),
            dav_requests: Arc::default(),
            dav_rendered,
            line_reports: Arc::default(),
            live_connections: Arc::default(),
            import_slots: Arc::default(),
        }
    }

    /// The store, for health checks and metrics only.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn config(&self) -> &AppConfig {
        &self.config
    }
}
