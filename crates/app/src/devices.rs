//! Device credentials, and the phone book a desk phone reads with one.
//!
//! The interfaces for phones call exactly these:
//! - `App::device_by_token(token: &str, client: Option<IpAddr>) -> Result<PhonebookReader>` for XML
//!   phonebook URLs (`/phonebook/{token}/…`);
//! - `App::device_by_bind(bind_dn: &str, password: &str, client: Option<IpAddr>) -> Result<PhonebookReader>`
//!   for LDAP simple binds and HTTP Basic: a device's bind DN
//!   (`cn=<device id>,ou=devices,dc=acme,dc=example`, see [`bind_dn`]) or a user's login
//!   (`200@acme.example`) with its password; an empty DN and password is an anonymous bind,
//!   always refused here; the LDAP server asks `App::anonymous_reader(domain: &str)` once it
//!   knows the domain, which allows it only where the domain sets `LDAP_ALLOW_ANONYMOUS=yes`;
//! - `App::phonebook(reader: &PhonebookReader, query: &PhonebookQuery) -> Result<Page<DirectoryEntry>>`
//!   (and `App::phonebook_page`, the same with a link to the previous page, for phones that
//!   page back), and `App::phonebook_stamp(reader: &PhonebookReader) -> Result<ChangeStamp>`
//!   for `ETag`/`Last-Modified`.
//!
//! Wrong or revoked credentials answer `AppError::Unauthorized`, a client outside the
//! device's allowed networks `AppError::Forbidden`; wrong guesses are counted and slowed
//! down by the login throttle, in buckets of their own (URL tokens per address; device
//! binds per DN and per address), apart from people's passwords.
//!
//! Secrets: the URL token (`sbd_…`, 256 random bits) and the bind password (192 random
//! bits) are shown once and stored as SHA-256 hashes, like API tokens. A fast hash is
//! enough for secrets this random (nobody can search 2^192 candidates, however fast the
//! hash) and keeps a bind cheap: phones bind before every search, and argon2's deliberate
//! slowness, right for people's passwords, would cost each bind tens of milliseconds.
//!
//! What a book holds: the domain's listed coworkers, its shared contacts when
//! `PORTAL_SHOW_SHARED_CONTACTS` (resolved for the bound user, else the domain's value)
//! shows them, and for a device bound to a user (or a user reading their own book) that
//! user's own contacts, merged in name order. Favorites are not moved first inside that
//! one keyset-paged list (that would need a second sort order per page); they are their
//! own book, `group=favorites`, which `switchboard device show` lists first.

use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, TimeDelta, Utc};
use ipnet::IpNet;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::json;
use switchboard_core::contact::single_line;
use switchboard_core::model::{DirectoryEntry, Domain, User};
use switchboard_core::paging::{Cursor, Limit, Page, Sort};
use switchboard_core::text::SearchTerm;
use switchboard_core::{DomainName, FieldError, Invalid};
use switchboard_store::{ChangeStamp, Device, DeviceAccess, DeviceKey, DirectoryQuery, Group, ListQuery, NewDevice};
use uuid::Uuid;

use crate::App;
use crate::auth::{Caller, Credential, sha256_hex, throttle_keys};
use crate::authz::{access, phonebook_audience};
use crate::book_index::BookIndex;
use crate::directory::parse_group;
use crate::error::{AppError, Result, forbidden};

/// The domain setting that lets LDAP clients search without binding (`yes`; default `no`).
pub const LDAP_ALLOW_ANONYMOUS: &str = "LDAP_ALLOW_ANONYMOUS";
const TOKEN_PREFIX: &str = "sbd_";
const MAX_NAME_LEN: usize = 100;
const MAX_NETWORKS: usize = 20;
/// `last_used_at` is written at most this often, so a busy phone costs no write per request.
const TOUCH_EVERY: TimeDelta = TimeDelta::minutes(1);
const WRONG_CREDENTIALS: &str = "wrong or revoked device credentials";

/// Who reads a phone book: a device credential of a domain (bound to one of its users or
/// not), a user of the domain, or — where the domain allows it — an anonymous LDAP client.
#[derive(Debug, Clone)]
pub enum PhonebookReader {
    /// `stamp` is the domain's change stamp when the reader was made (see [`PhonebookReader::stamp_when_made`]).
    Device {
        device: Box<Device>,
        domain: Box<Domain>,
        user: Option<Box<User>>,
        /// Whether the book includes `user`'s own contacts and favorites (see
        /// [`crate::authz::phone_shows_own_contacts`]).
        shows_own_contacts: bool,
        stamp: Option<ChangeStamp>,
    },
    User {
        user: Box<User>,
        domain: Box<Domain>,
    },
    Anonymous {
        domain: Box<Domain>,
    },
}

impl PhonebookReader {
    /// A logged-in user reading their own domain's book; `None` for the operator's CLI.
    pub fn from_caller(caller: &Caller) -> Option<PhonebookReader> {
        match caller {
            Caller::User { user, domain, .. } => {
                Some(PhonebookReader::User { user: user.clone(), domain: domain.clone() })
            }
            Caller::System | Caller::Pbx { .. } => None,
        }
    }

    /// The domain whose book this reader reads; it never reads another.
    pub fn domain(&self) -> &Domain {
        match self {
            PhonebookReader::Device { domain, .. }
            | PhonebookReader::User { domain, .. }
            | PhonebookReader::Anonymous { domain } => domain,
        }
    }

    /// The user the reader reads for: the bound user of a device, or the user reading
    /// their own book. Their settings decide what the book shows.
    pub fn user(&self) -> Option<&User> {
        match self {
            PhonebookReader::Device { user, .. } => user.as_deref(),
            PhonebookReader::User { user, .. } => Some(user),
            PhonebookReader::Anonymous { .. } => None,
        }
    }

    /// The user whose own contacts and favorites the book includes, if any: a user reading
    /// their own book, or a device's bound user when the device may show them.
    pub fn own_contacts_of(&self) -> Option<&User> {
        match self {
            PhonebookReader::Device { user, shows_own_contacts: true, .. } => user.as_deref(),
            PhonebookReader::Device { .. } | PhonebookReader::Anonymous { .. } => None,
            PhonebookReader::User { user, .. } => Some(user),
        }
    }

    /// The domain's change stamp read with the reader's credential, when the reader is
    /// made for one request (by [`App::device_by_token`], for a phonebook URL): it saves
    /// reading it again. Readers that may be kept (a bind's, for an LDAP connection) have
    /// none, and [`App::phonebook_stamp`] reads it when needed.
    pub fn stamp_when_made(&self) -> Option<ChangeStamp> {
        match self {
            PhonebookReader::Device { stamp, .. } => *stamp,
            PhonebookReader::User { .. } | PhonebookReader::Anonymous { .. } => None,
        }
    }

    /// A stable name of the reader, distinct for every device, user and domain (for cache keys and logs).
    pub fn identity(&self) -> String {
        match self {
            PhonebookReader::Device { device, .. } => format!("device:{}", device.id),
            PhonebookReader::User { user, .. } => format!("user:{}", user.id),
            PhonebookReader::Anonymous { domain } => format!("anonymous:{}", domain.id),
        }
    }
}

/// What a phone asks of its book.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PhonebookQuery {
    /// Substring search over names, company, email and number digits (the API's search).
    pub q: Option<String>,
    /// `all` (default), `shared`, `coworkers`, `favorites`, `mine`, `department:NAME`, `site:NAME`.
    pub group: Option<String>,
    /// A `next_cursor` or `previous_cursor` given out with an earlier page.
    pub cursor: Option<String>,
    /// Entries per page, 1 to 500 (default 50).
    pub limit: Option<u32>,
    /// Whether the book shows coworkers' presence: it is then read fresh for the page.
    pub presence: bool,
}

impl PhonebookQuery {
    /// Whether the answer changes with coworkers' presence, which changes without
    /// changing the book: a book that shows it, or one of a presence group.
    pub fn follows_presence(&self) -> bool {
        self.presence || matches!(parse_group(self.group.as_deref().unwrap_or_default()), Ok(Group::Presence(_)))
    }
}

/// One page of a phone book, with where the pages before and after it start.
#[derive(Debug, Clone)]
pub struct PhonebookPage {
    pub entries: Vec<DirectoryEntry>,
    pub next_cursor: Option<String>,
    /// `None` on the first page.
    pub previous_cursor: Option<String>,
}

/// A device credential as managers see it (never its secrets).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeviceView {
    pub id: Uuid,
    pub name: String,
    /// Extension of the user the device is bound to.
    pub user: Option<String>,
    /// CIDR ranges the device may connect from; empty means anywhere.
    pub allowed_networks: Vec<String>,
    /// The LDAP bind DN (the password was shown once, at creation).
    pub bind_dn: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A new device credential: its secrets are shown in this answer only.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CreatedDevice {
    pub device: DeviceView,
    /// The secret of the phonebook URLs: `/phonebook/{token}/{vendor}.xml`.
    pub token: String,
    /// The LDAP bind DN (also the HTTP Basic user name).
    pub bind_dn: String,
    /// The LDAP bind password (also the HTTP Basic password).
    pub password: String,
}

/// A device credential to create.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceInput {
    /// What the device is, such as `Reception T54W`.
    #[schema(
        max_length = 100,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub name: String,
    /// Extension of the user the phone is for: their settings apply to its book, which
    /// includes their own contacts and favorites only if they set it up themself or agreed
    /// (`PUT …/users/{ext}/phone-sharing`).
    #[serde(default)]
    #[schema(pattern = "^([0-9]{1,15})?$")]
    pub user: Option<String>,
    /// CIDR ranges (or single addresses) the device may connect from; empty means anywhere.
    #[serde(default)]
    pub allowed_networks: Vec<String>,
}

/// Whether desk phones someone else set up for a user may show the user's own contacts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PhoneSharing {
    /// `true`: phones that a manager or provider set up for the user include the user's own
    /// contacts and favorites (in XML books, LDAP and caller ID). Phones the user set up
    /// themself always do. Off until the user turns it on; only the user may change it.
    pub own_contacts: bool,
}

/// The distinguished name of a domain: `acme.example` → `dc=acme,dc=example`.
pub fn domain_dn(domain: &DomainName) -> String {
    domain.as_str().split('.').map(|label| format!("dc={label}")).collect::<Vec<_>>().join(",")
}

/// A device's LDAP bind DN: its id (unique, unchanging and needing no DN escaping, unlike
/// a name) under `ou=devices` of its domain.
pub fn bind_dn(domain: &DomainName, device_id: Uuid) -> String {
    format!("cn={device_id},ou=devices,{}", domain_dn(domain))
}

/// Reads a device bind DN back into its device id and domain; attribute names and
/// spacing are forgiven, as LDAP clients vary in both.
pub fn parse_bind_dn(dn: &str) -> Option<(Uuid, DomainName)> {
    let mut parts = dn.split(',').map(|rdn| {
        let (attribute, value) = rdn.split_once('=')?;
        Some((attribute.trim().to_ascii_lowercase(), value.trim().to_ascii_lowercase()))
    });
    let (cn, id) = parts.next()??;
    let (ou, devices) = parts.next()??;
    if cn != "cn" || ou != "ou" || devices != "devices" {
        return None;
    }
    let labels =
        parts.map(|part| part.filter(|(dc, _)| dc == "dc").map(|(_, label)| label)).collect::<Option<Vec<_>>>()?;
    let domain = labels.join(".").parse().ok()?;
    Some((Uuid::parse_str(&id).ok()?, domain))
}

/// Reads allowed networks: CIDR ranges, or single addresses (a /32 or /128).
pub fn parse_networks(values: &[String]) -> Result<Vec<IpNet>, Invalid> {
    let mut errors = Vec::new();
    let mut networks = Vec::new();
    if values.len() > MAX_NETWORKS {
        errors.push(FieldError { field: "allowed_networks".into(), message: format!("at most {MAX_NETWORKS} ranges") });
    }
    for (i, value) in values.iter().enumerate() {
        let value = value.trim();
        match IpNet::from_str(value).or_else(|_| IpAddr::from_str(value).map(IpNet::from)) {
            Ok(network) => networks.push(network.trunc()),
            Err(_) => errors.push(FieldError {
                field: format!("allowed_networks[{i}]"),
                message: format!("`{value}` is not an address range; write it as 192.0.2.0/24 or 2001:db8::/32"),
            }),
        }
    }
    if errors.is_empty() { Ok(networks) } else { Err(Invalid(errors)) }
}

fn random_secret(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buffer);
    URL_SAFE_NO_PAD.encode(buffer)
}

/// Compares two hashes in time that does not depend on where they differ.
fn same_hash(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

impl App {
    /// Creates a device credential; office managers and providers only.
    pub async fn create_device(&self, caller: &Caller, domain: &str, input: DeviceInput) -> Result<CreatedDevice> {
        let domain = self.devices_domain(caller, domain).await?;
        let (name, user, networks) = self.checked_device_input(&domain, &input).await?;
        let token = format!("{TOKEN_PREFIX}{}", random_secret(32));
        let password = random_secret(24);
        let new = NewDevice {
            domain_id: domain.id,
            name: name.clone(),
            user_id: user.as_ref().map(|u| u.id),
            allowed_networks: networks.iter().map(IpNet::to_string).collect(),
            token_hash: sha256_hex(&token),
            password_hash: sha256_hex(&password),
            created_by: match caller {
                Caller::User { user, .. } => Some(user.id),
                Caller::System | Caller::Pbx { .. } => None,
            },
        };
        let details = json!({ "name": name, "user": user.as_ref().map(|u| u.extension.to_string()),
            "allowed_networks": new.allowed_networks });
        let audit = self.audit(caller, Some(domain.id), "device.create", None, details);
        let device = self.store.create_device(new, audit).await?;
        let bind_dn = bind_dn(&domain.name, device.id);
        let device = device_view(&domain, device, user.as_ref());
        Ok(CreatedDevice { device, token, bind_dn, password })
    }

    /// A domain's device credentials, oldest first (`cursor` is the previous page's `next_cursor`).
    pub async fn list_devices(
        &self,
        caller: &Caller,
        domain: &str,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<Page<DeviceView>> {
        let domain = self.devices_domain(caller, domain).await?;
        let limit = Limit::parse(limit).map_err(|m| Invalid::field("limit", m))?;
        let after = match cursor.map(str::trim).filter(|c| !c.is_empty()) {
            Some(text) => {
                Some(Uuid::parse_str(text).map_err(|_| Invalid::field("cursor", "not a cursor we gave out"))?)
            }
            None => None,
        };
        let page = self.store.list_devices(domain.id, limit, after).await?;
        let mut items = Vec::with_capacity(page.items.len());
        for device in page.items {
            items.push(self.view_of(&domain, device).await?);
        }
        Ok(Page { items, next_cursor: page.next_cursor })
    }

    pub async fn device(&self, caller: &Caller, domain: &str, id: Uuid) -> Result<DeviceView> {
        let domain = self.devices_domain(caller, domain).await?;
        let device = self.store.device(domain.id, id).await?.ok_or(AppError::NotFound)?;
        self.view_of(&domain, device).await
    }

    /// Revokes a device credential: its token and password stop working at once.
    pub async fn revoke_device(&self, caller: &Caller, domain: &str, id: Uuid) -> Result<DeviceView> {
        let domain = self.devices_domain(caller, domain).await?;
        let audit = self.audit(caller, Some(domain.id), "device.revoke", Some(id), json!({}));
        let device = self.store.revoke_device(domain.id, id, audit).await?;
        self.view_of(&domain, device).await
    }

    /// Whether desk phones someone else set up for the user `ext` may show the user's own
    /// contacts and favorites; only the user themself may ask.
    pub async fn phone_sharing(&self, caller: &Caller, domain: &str, ext: &str) -> Result<PhoneSharing> {
        let (_, user) = self.own_contacts_owner(caller, domain, ext).await?;
        Ok(PhoneSharing { own_contacts: self.store.own_contacts_on_phones(user.id).await? })
    }

    /// Gives or takes back that consent (only the user themself may); phones' books
    /// change with it.
    pub async fn set_phone_sharing(
        &self,
        caller: &Caller,
        domain: &str,
        ext: &str,
        sharing: PhoneSharing,
    ) -> Result<PhoneSharing> {
        let (domain, user) = self.own_contacts_owner(caller, domain, ext).await?;
        let on = sharing.own_contacts;
        let audit =
            self.audit(caller, Some(domain.id), "user.own_contacts_on_phones", Some(user.id), json!({ "on": on }));
        self.store.set_own_contacts_on_phones(user.id, on, audit).await?;
        Ok(sharing)
    }

    /// The user `ext` of `domain`, when the caller is that user; "not found" to anyone else.
    async fn own_contacts_owner(&self, caller: &Caller, domain: &str, ext: &str) -> Result<(Domain, User)> {
        let domain = self.reachable_domain(caller, domain).await?;
        let user = self.domain_user(&domain, ext).await?;
        if !access(caller, &domain).ok_or(AppError::NotFound)?.can_share_own_contacts_of(&user) {
            return Err(AppError::NotFound);
        }
        Ok((domain, user))
    }

    /// The reader behind a phonebook URL token, for one request: it carries the domain's
    /// change stamp as of now, so make another for the next request.
    pub async fn device_by_token(&self, token: &str, client: Option<IpAddr>) -> Result<PhonebookReader> {
        let well_formed = token.starts_with(TOKEN_PREFIX) && token.len() <= 100;
        let hash = sha256_hex(token);
        let found = if well_formed { self.store.device_access(DeviceKey::TokenHash(&hash)).await? } else { None };
        match found {
            Some(access) => self.reader_of(access, client, OneRequest::Yes).await,
            None => Err(self.wrong_guess(&throttle_keys(Credential::UrlToken, "", client)).await),
        }
    }

    /// The reader behind an LDAP simple bind (or HTTP Basic): a device's bind DN and
    /// password, or a user's `extension@domain` and password.
    pub async fn device_by_bind(
        &self,
        bind_dn: &str,
        password: &str,
        client: Option<IpAddr>,
    ) -> Result<PhonebookReader> {
        let bind_dn = bind_dn.trim();
        if bind_dn.is_empty() {
            return Err(AppError::Unauthorized("anonymous access is not allowed here; bind with a device's DN".into()));
        }
        if !bind_dn.contains('=') && bind_dn.contains('@') {
            return self.user_bind(bind_dn, password, client).await;
        }
        let keys = throttle_keys(Credential::DeviceBind, bind_dn, client);
        let Some((id, domain_name)) = parse_bind_dn(bind_dn) else { return Err(self.wrong_guess(&keys).await) };
        let found = self.store.device_access(DeviceKey::Bind { domain: &domain_name, id }).await?;
        match found {
            Some(access) if same_hash(&sha256_hex(password), &access.password_hash) => {
                self.reader_of(access, client, OneRequest::No).await
            }
            _ => Err(self.wrong_guess(&keys).await),
        }
    }

    /// An LDAP client that did not bind, searching `domain`: allowed only where the
    /// domain's `LDAP_ALLOW_ANONYMOUS` is `yes`.
    pub async fn anonymous_reader(&self, domain: &str) -> Result<PhonebookReader> {
        let refused = || AppError::Unauthorized("anonymous access is not allowed; bind first".into());
        let name: DomainName = domain.parse().map_err(|_| refused())?;
        let domain = self.store.domain_by_name(&name).await?.ok_or_else(refused)?;
        let allowed = self.domain_settings(&domain).await?.get(LDAP_ALLOW_ANONYMOUS) == Some("yes");
        if !allowed {
            return Err(refused());
        }
        Ok(PhonebookReader::Anonymous { domain: Box::new(domain) })
    }

    /// One page of the reader's phone book.
    pub async fn phonebook(&self, reader: &PhonebookReader, query: &PhonebookQuery) -> Result<Page<DirectoryEntry>> {
        let page = self.phonebook_page(reader, query).await?;
        Ok(Page { items: page.entries, next_cursor: page.next_cursor })
    }

    /// One page of the reader's phone book, with the cursors of the pages around it.
    /// Both directions are keyset reads of the directory's indexes: a backward page reads
    /// the same index in descending order from where the page after it starts.
    pub async fn phonebook_page(&self, reader: &PhonebookReader, query: &PhonebookQuery) -> Result<PhonebookPage> {
        let position = Position::parse(query.cursor.as_deref())?;
        let list = phonebook_list(query, &position)?;
        let group = parse_group(query.group.as_deref().unwrap_or_default())?;
        let index = self.current_book_index(reader).await?;
        let shows_shared = match &index {
            Some(index) => self.indexed_settings(index, reader.domain(), reader.user()).await?.show_shared_contacts(),
            None => self.reader_shows_shared(reader).await?,
        };
        let audience = phonebook_audience(reader, shows_shared);
        let directory = DirectoryQuery {
            domain_id: audience.domain_id,
            // No user: the nil id owns no contacts and no favorites, and is nobody's id.
            viewer_id: audience.viewer_id.unwrap_or(Uuid::nil()),
            include_shared: audience.include_shared,
            include_own: audience.include_own,
            group,
            list,
        };
        let from_index = match (&index, reader.own_contacts_of()) {
            (Some(index), Some(user)) => {
                index.page(&self.indexed_personal(index, audience.domain_id, user.id).await?, &directory)
            }
            (Some(index), None) => index.page(&[], &directory),
            (None, _) => None,
        };
        let page = match from_index {
            Some(mut page) => {
                self.answered_from_copy();
                if query.presence {
                    self.read_presence(&mut page.items).await?;
                }
                page
            }
            None => {
                let mut page = self.store.directory(&directory).await?;
                // Phones show no favorite or edit marks: the same entries as from the index.
                for entry in &mut page.items {
                    (entry.favorite, entry.editable) = (false, false);
                }
                page
            }
        };
        Ok(position.around(page))
    }

    /// The in-memory copy of the reader's domain's book, if it is current.
    async fn current_book_index(&self, reader: &PhonebookReader) -> Result<Option<Arc<BookIndex>>> {
        if !self.config().book_index {
            return Ok(None);
        }
        let stamp = match reader.stamp_when_made() {
            Some(stamp) => stamp,
            None => self.phonebook_stamp(reader).await?,
        };
        Ok(self.book_index(reader.domain().id, stamp.seq))
    }

    /// How far the reader's domain has changed: phone books are cached by it.
    pub async fn phonebook_stamp(&self, reader: &PhonebookReader) -> Result<ChangeStamp> {
        self.store.change_stamp(reader.domain().id).await?.ok_or(AppError::NotFound)
    }

    /// The number of the domain's latest change of anything its directories show,
    /// presence included (the head of its change feed): books that follow presence
    /// are cached by it too.
    pub async fn phonebook_presence_stamp(&self, reader: &PhonebookReader) -> Result<i64> {
        let bounds = self.store.feed_bounds(reader.domain().id).await?.ok_or(AppError::NotFound)?;
        Ok(bounds.head)
    }

    async fn reader_shows_shared(&self, reader: &PhonebookReader) -> Result<bool> {
        let settings = match reader.user() {
            Some(user) => self.user_settings(reader.domain(), user).await?,
            None => self.domain_settings(reader.domain()).await?,
        };
        Ok(settings.show_shared_contacts())
    }

    /// The domain, if the caller may manage its devices.
    async fn devices_domain(&self, caller: &Caller, domain: &str) -> Result<Domain> {
        let domain = self.reachable_domain(caller, domain).await?;
        let access = access(caller, &domain).ok_or(AppError::NotFound)?;
        if !access.can_manage_devices() {
            return Err(forbidden("manage the domain's devices"));
        }
        Ok(domain)
    }

    async fn checked_device_input(
        &self,
        domain: &Domain,
        input: &DeviceInput,
    ) -> Result<(String, Option<User>, Vec<IpNet>)> {
        let mut errors = Vec::new();
        let name = match single_line(&input.name, MAX_NAME_LEN) {
            Ok(name) if name.is_empty() => {
                errors.push(FieldError { field: "name".into(), message: "give the device a name".into() });
                name
            }
            Ok(name) => name,
            Err(message) => {
                errors.push(FieldError { field: "name".into(), message });
                String::new()
            }
        };
        let user = match input.user.as_deref().map(str::trim).filter(|ext| !ext.is_empty()) {
            Some(ext) => match self.domain_user(domain, ext).await {
                Ok(user) => Some(user),
                Err(AppError::NotFound) => {
                    errors.push(FieldError { field: "user".into(), message: format!("no user has extension `{ext}`") });
                    None
                }
                Err(other) => return Err(other),
            },
            None => None,
        };
        let networks = parse_networks(&input.allowed_networks).unwrap_or_else(|invalid| {
            errors.extend(invalid.0);
            Vec::new()
        });
        if errors.is_empty() { Ok((name, user, networks)) } else { Err(Invalid(errors).into()) }
    }

    async fn view_of(&self, domain: &Domain, device: Device) -> Result<DeviceView> {
        let user = match device.user_id {
            Some(id) => self.store.user_by_id(id).await?,
            None => None,
        };
        Ok(device_view(domain, device, user.as_ref()))
    }

    /// A device whose secret matched: refused if revoked or connecting from elsewhere.
    pub(crate) async fn reader_of(
        &self,
        access: DeviceAccess,
        client: Option<IpAddr>,
        scope: OneRequest,
    ) -> Result<PhonebookReader> {
        let DeviceAccess { device, domain, stamp, user, user_shares_own_contacts, .. } = access;
        if device.revoked_at.is_some() {
            // Not counted as a guess: a forgotten phone retrying must not lock its office out.
            return Err(AppError::Unauthorized(WRONG_CREDENTIALS.into()));
        }
        let networks = parse_networks(&device.allowed_networks).unwrap_or_default();
        if !crate::authz::device_may_connect(&networks, client) {
            let from = client.map_or_else(|| "an unknown address".to_string(), |ip| ip.to_string());
            return Err(AppError::Forbidden(format!("this device may not connect from {from}")));
        }
        let now = Utc::now();
        if device.last_used_at.is_none_or(|last| now - last >= TOUCH_EVERY) {
            self.store.touch_device(device.id, now).await?;
        }
        let shows_own_contacts = user
            .as_ref()
            .is_some_and(|user| crate::authz::phone_shows_own_contacts(&device, user, user_shares_own_contacts));
        Ok(PhonebookReader::Device {
            shows_own_contacts,
            device: Box::new(device),
            domain: Box::new(domain),
            user: user.map(Box::new),
            stamp: (scope == OneRequest::Yes).then_some(stamp),
        })
    }

    async fn user_bind(&self, login: &str, password: &str, client: Option<IpAddr>) -> Result<PhonebookReader> {
        let (user, domain) = self.password_login(login, password, client).await?;
        Ok(PhonebookReader::User { user: Box::new(user), domain: Box::new(domain) })
    }

    /// A wrong token or device password: the throttle is consulted only now, so phones
    /// with the right secret pay nothing for it (their secrets are too random to guess;
    /// what it stops is someone trying many). Returns the error to answer.
    async fn wrong_guess(&self, keys: &[String]) -> AppError {
        if let Err(error) = self.check_throttle(keys).await {
            return error;
        }
        for key in keys {
            if let Err(error) = self.record_failure(key).await {
                return error;
            }
        }
        AppError::Unauthorized(WRONG_CREDENTIALS.into())
    }

    /// One entry of the reader's phone book by its id, if the reader's book holds it: the
    /// same rules as [`App::phonebook_page`] (listed coworkers, shared contacts where the
    /// reader is shown them, the bound user's own contacts only), within its domain.
    pub async fn phonebook_entry(&self, reader: &PhonebookReader, id: Uuid) -> Result<Option<DirectoryEntry>> {
        let shows_shared = self.reader_shows_shared(reader).await?;
        let audience = phonebook_audience(reader, shows_shared);
        // No user: the nil id owns no contacts, as in `phonebook_page`.
        let viewer_id = audience.viewer_id.unwrap_or(Uuid::nil());
        let (domain_id, include_shared, include_own) =
            (audience.domain_id, audience.include_shared, audience.include_own);
        Ok(self.store.directory_entry(domain_id, viewer_id, include_shared, include_own, id).await?)
    }
}

fn device_view(domain: &Domain, device: Device, user: Option<&User>) -> DeviceView {
    DeviceView {
        bind_dn: bind_dn(&domain.name, device.id),
        id: device.id,
        name: device.name,
        user: user.map(|u| u.extension.to_string()),
        allowed_networks: device.allowed_networks,
        created_at: device.created_at,
        last_used_at: device.last_used_at,
        revoked_at: device.revoked_at,
    }
}

/// Whether a reader serves one request only (see [`PhonebookReader::stamp_when_made`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OneRequest {
    Yes,
    No,
}

/// Where a phonebook page starts: at the beginning, after an entry (forward), or before
/// one (backward, `p.` before the cursor).
enum Position {
    First,
    After(Cursor),
    Before(Cursor),
}

const BACKWARD: &str = "p.";

impl Position {
    fn parse(cursor: Option<&str>) -> Result<Position> {
        let invalid = |m: String| AppError::from(Invalid::field("cursor", m));
        Ok(match cursor.map(str::trim).filter(|c| !c.is_empty()) {
            None => Position::First,
            Some(text) => match text.strip_prefix(BACKWARD) {
                Some(rest) => Position::Before(Cursor::decode(rest, Sort::NameDesc).map_err(invalid)?),
                None => Position::After(Cursor::decode(text, Sort::Name).map_err(invalid)?),
            },
        })
    }

    /// The page read from the store, in name order, with the cursors around it.
    fn around(self, page: Page<DirectoryEntry>) -> PhonebookPage {
        match self {
            Position::First => {
                PhonebookPage { entries: page.items, next_cursor: page.next_cursor, previous_cursor: None }
            }
            Position::After(after) => PhonebookPage {
                entries: page.items,
                next_cursor: page.next_cursor,
                // The page before ends with the entry this one starts after: read backwards
                // from just past it (ids are discrete, so "after id + 1" includes id).
                previous_cursor: Some(backward(Cursor { sort: Sort::NameDesc, id: next_id(after.id), ..after })),
            },
            Position::Before(before) => {
                let mut entries = page.items;
                entries.reverse();
                PhonebookPage {
                    entries,
                    // The page after is where the page we came back from started.
                    next_cursor: Some(Cursor { sort: Sort::Name, id: previous_id(before.id), ..before }.encode()),
                    previous_cursor: page.next_cursor.map(|c| format!("{BACKWARD}{c}")),
                }
            }
        }
    }
}

fn backward(cursor: Cursor) -> String {
    format!("{BACKWARD}{}", cursor.encode())
}

fn next_id(id: Uuid) -> Uuid {
    Uuid::from_u128(id.as_u128().saturating_add(1))
}

fn previous_id(id: Uuid) -> Uuid {
    Uuid::from_u128(id.as_u128().saturating_sub(1))
}

fn phonebook_list(query: &PhonebookQuery, position: &Position) -> Result<ListQuery> {
    let search = SearchTerm::parse(query.q.as_deref().unwrap_or_default()).map_err(|m| Invalid::field("q", m))?;
    let limit = Limit::parse(query.limit).map_err(|m| Invalid::field("limit", m))?;
    let (sort, after) = match position {
        Position::First => (Sort::Name, None),
        Position::After(cursor) => (Sort::Name, Some(cursor.clone())),
        Position::Before(cursor) => (Sort::NameDesc, Some(cursor.clone())),
    };
    Ok(ListQuery { search, sort, limit, after })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bind_dns_round_trip_and_forgive_case_and_spaces() {
        let domain: DomainName = "acme.example".parse().unwrap();
        let id = Uuid::now_v7();
        let dn = bind_dn(&domain, id);
        assert_eq!(dn, format!("cn={id},ou=devices,dc=acme,dc=example"));
        assert_eq!(parse_bind_dn(&dn), Some((id, domain.clone())));
        let loose = format!("CN = {} , OU=Devices, DC=Acme ,dc=example", id.to_string().to_uppercase());
        assert_eq!(parse_bind_dn(&loose), Some((id, domain)));
        for bad in [
            "",
            "cn=x,ou=devices,dc=acme",
            &format!("cn={id},ou=users,dc=acme"),
            &format!("cn={id},ou=devices"),
            &format!("cn={id},ou=devices,o=acme"),
        ] {
            assert_eq!(parse_bind_dn(bad), None, "{bad}");
        }
    }

    #[test]
    fn networks_accept_ranges_and_single_addresses() {
        let parsed = parse_networks(&["192.0.2.7/24".into(), "2001:db8::1".into(), " 10.0.0.1 ".into()]).unwrap();
        let shown: Vec<String> = parsed.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["192.0.2.0/24", "2001:db8::1/128", "10.0.0.1/32"]);
        let errors = parse_networks(&["10.0.0.0/8".into(), "office".into(), "10.0.0.0/33".into()]).unwrap_err().0;
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["allowed_networks[1]", "allowed_networks[2]"]);
    }

    #[test]
    fn hashes_compare_whole() {
        assert!(same_hash("abc", "abc"));
        assert!(!same_hash("abc", "abd") && !same_hash("abc", "ab"));
    }

    #[test]
    fn backward_cursors_include_the_entry_the_next_page_started_after() {
        let after = Cursor { sort: Sort::Name, key: Some("lee".into()), micros: None, id: Uuid::from_u128(41) };
        let page = Position::After(after.clone()).around(Page { items: vec![], next_cursor: None });
        let previous = page.previous_cursor.unwrap();
        let Position::Before(before) = Position::parse(Some(&previous)).unwrap() else { panic!("not backward") };
        assert_eq!((before.sort, before.key.as_deref(), before.id), (Sort::NameDesc, Some("lee"), Uuid::from_u128(42)));
        let back = Position::Before(before).around(Page { items: vec![], next_cursor: None });
        assert_eq!(back.next_cursor.as_deref(), Some(after.encode().as_str()), "forward again from where we were");
        assert_eq!(back.previous_cursor, None);
        assert!(Position::parse(Some("p.garbage")).is_err());
    }
}
