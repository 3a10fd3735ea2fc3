//! The records Switchboard keeps, as the layers above see them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::contact::{ContactFields, NumberKind};
use crate::details::{Address, ContactKind, DateEntry, Email, ExtraProperty, Labeled, Phone, PhoneKind};
use crate::names::{DomainName, Extension};
use crate::phone::PhoneNumber;
use crate::scope::Scope;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Reseller {
    pub id: Uuid,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Domain {
    #[serde(skip)]
    pub id: Uuid,
    #[schema(value_type = String, example = "acme.example")]
    pub name: DomainName,
    pub description: String,
    /// Name of the reseller the domain belongs to.
    pub reseller: Option<String>,
    #[serde(skip)]
    pub reseller_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct User {
    pub id: Uuid,
    #[serde(skip)]
    pub domain_id: Uuid,
    #[schema(value_type = String, example = "200")]
    pub extension: Extension,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub department: String,
    pub site: String,
    pub scope: Scope,
    /// "List in Directory": when false the user is absent from every coworker list.
    pub listed: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Which address book a contact lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Book {
    /// The domain's shared contacts.
    Shared { domain_id: Uuid },
    /// One user's own contacts.
    Personal { domain_id: Uuid, owner_id: Uuid },
}

impl Book {
    pub fn domain_id(self) -> Uuid {
        match self {
            Book::Shared { domain_id } | Book::Personal { domain_id, .. } => domain_id,
        }
    }

    pub fn owner_id(self) -> Option<Uuid> {
        match self {
            Book::Shared { .. } => None,
            Book::Personal { owner_id, .. } => Some(owner_id),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub id: Uuid,
    pub book: Book,
    pub fields: ContactFields,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
    /// Whether it has a photo (kept apart from the contact, and read at its own URL).
    pub has_photo: bool,
}

/// A contact as the API shows it: the input fields plus E.164 forms and metadata.
///
/// `work_phone`, `mobile_phone`, `home_phone`, `fax` and `email` repeat the first entry
/// of their kind in `phones` and `emails` (what desk phones show).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ContactView {
    pub id: Uuid,
    pub version: i64,
    pub first_name: String,
    pub last_name: String,
    pub company: String,
    pub title: String,
    pub department: String,
    pub name_prefix: String,
    pub middle_name: String,
    pub name_suffix: String,
    pub nickname: String,
    pub phonetic_first_name: String,
    pub phonetic_last_name: String,
    pub work_phone: String,
    pub work_phone_e164: Option<String>,
    pub mobile_phone: String,
    pub mobile_phone_e164: Option<String>,
    pub home_phone: String,
    pub home_phone_e164: Option<String>,
    pub fax: String,
    pub fax_e164: Option<String>,
    pub email: String,
    pub phones: Vec<PhoneView>,
    pub emails: Vec<Email>,
    pub addresses: Vec<Address>,
    pub urls: Vec<Labeled>,
    pub dates: Vec<DateEntry>,
    pub ims: Vec<Labeled>,
    pub extra: Vec<ExtraProperty>,
    pub notes: String,
    /// `individual`, `organization` or `group`.
    pub kind: ContactKind,
    /// A group's members as its clients wrote them (`urn:uuid:…`), in order; empty for
    /// anyone else.
    pub members: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Set while the contact is in the trash.
    pub deleted_at: Option<DateTime<Utc>>,
    /// Whether the contact has a photo, read at the contact's URL followed by `/photo`.
    pub has_photo: bool,
}

/// One of a contact's numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PhoneView {
    pub kind: PhoneKind,
    pub label: String,
    /// As typed.
    pub number: String,
    /// The main number in E.164, when it is a valid number.
    pub e164: Option<String>,
    /// The extension's digits, kept apart from the main number.
    pub extension: Option<String>,
}

impl PhoneView {
    pub fn of(phone: &Phone) -> PhoneView {
        PhoneView {
            kind: phone.kind,
            label: phone.label.clone(),
            number: phone.number.typed.clone(),
            e164: phone.number.e164.clone(),
            extension: phone.number.extension.clone(),
        }
    }
}

impl Contact {
    pub fn view(&self) -> ContactView {
        let f = &self.fields;
        let typed = |n: Option<&PhoneNumber>| n.map(|n| n.typed.clone()).unwrap_or_default();
        let e164 = |n: Option<&PhoneNumber>| n.and_then(|n| n.e164.clone());
        ContactView {
            id: self.id,
            version: self.version,
            first_name: f.first_name.clone(),
            last_name: f.last_name.clone(),
            company: f.company.clone(),
            title: f.title.clone(),
            department: f.department.clone(),
            name_prefix: f.name.prefix.clone(),
            middle_name: f.name.middle.clone(),
            name_suffix: f.name.suffix.clone(),
            nickname: f.name.nickname.clone(),
            phonetic_first_name: f.name.phonetic_first.clone(),
            phonetic_last_name: f.name.phonetic_last.clone(),
            work_phone: typed(f.work_phone()),
            work_phone_e164: e164(f.work_phone()),
            mobile_phone: typed(f.mobile_phone()),
            mobile_phone_e164: e164(f.mobile_phone()),
            home_phone: typed(f.home_phone()),
            home_phone_e164: e164(f.home_phone()),
            fax: typed(f.fax()),
            fax_e164: e164(f.fax()),
            email: f.email().to_string(),
            phones: f.phones.iter().map(PhoneView::of).collect(),
            emails: f.emails.clone(),
            addresses: f.addresses.clone(),
            urls: f.urls.clone(),
            dates: f.dates.clone(),
            ims: f.ims.clone(),
            extra: f.extra.clone(),
            notes: f.notes.clone(),
            kind: f.kind,
            members: f.members.clone(),
            created_at: self.created_at,
            updated_at: self.updated_at,
            deleted_at: self.deleted_at,
            has_photo: self.has_photo,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PresenceState {
    Available,
    Busy,
    #[default]
    Offline,
}

impl PresenceState {
    pub fn as_str(self) -> &'static str {
        match self {
            PresenceState::Available => "available",
            PresenceState::Busy => "busy",
            PresenceState::Offline => "offline",
        }
    }

    pub fn parse(value: &str) -> Option<PresenceState> {
        [PresenceState::Available, PresenceState::Busy, PresenceState::Offline]
            .into_iter()
            .find(|s| s.as_str() == value)
    }
}

/// What a phone system reports of a user's line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LineState {
    /// Registered, no call.
    Idle,
    Ringing,
    OnCall,
    OnHold,
    /// Do-not-disturb set on the phone or the PBX.
    Dnd,
    /// Not registered: the line says nothing about the person.
    Offline,
}

impl LineState {
    pub const ALL: [LineState; 6] =
        [LineState::Idle, LineState::Ringing, LineState::OnCall, LineState::OnHold, LineState::Dnd, LineState::Offline];

    pub fn as_str(self) -> &'static str {
        match self {
            LineState::Idle => "idle",
            LineState::Ringing => "ringing",
            LineState::OnCall => "on_call",
            LineState::OnHold => "on_hold",
            LineState::Dnd => "dnd",
            LineState::Offline => "offline",
        }
    }

    pub fn parse(value: &str) -> Option<LineState> {
        LineState::ALL.into_iter().find(|s| s.as_str() == value)
    }
}

/// What a person's presence shows, and what it is made of.
///
/// `state` (the dot) is derived: a state set by hand as `busy` or `offline` wins;
/// otherwise a line that is ringing, on a call, on hold or on do-not-disturb shows
/// `busy`; otherwise a state set by hand as `available`, an idle line or an open portal
/// or app session shows `available`; otherwise `offline`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Presence {
    pub state: PresenceState,
    /// Available to chat (the blue dot): a portal or app session of the person is open
    /// and was active in the last minutes, or the person said so with their state.
    pub chat: bool,
    /// A status message such as "In a meeting".
    pub message: String,
    /// A session is open but nothing was done in it for a while (10 minutes by default).
    #[serde(default)]
    #[schema(required = true)]
    pub chat_away: bool,
    /// The state the person (or their manager) set by hand; `null`: none, the state
    /// follows the line and the sessions.
    #[serde(default)]
    #[schema(required = true)]
    pub manual_state: Option<PresenceState>,
    /// The line state the phone system last reported; `null`: none reported.
    #[serde(default)]
    #[schema(required = true)]
    pub line: Option<LineState>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    Coworker,
    Shared,
    Personal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct NumberView {
    #[serde(rename = "type")]
    pub kind: NumberKind,
    pub typed: String,
    pub e164: Option<String>,
}

/// One line of the merged directory a user sees.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DirectoryEntry {
    pub id: Uuid,
    pub kind: EntryKind,
    pub first_name: String,
    pub last_name: String,
    pub company: String,
    /// The job title; contacts only (empty for coworkers).
    pub title: String,
    /// Coworkers only.
    pub extension: Option<String>,
    pub numbers: Vec<NumberView>,
    pub email: String,
    pub department: String,
    pub site: String,
    /// Coworkers only.
    pub presence: Option<Presence>,
    pub favorite: bool,
    /// Whether the viewer may edit this entry.
    pub editable: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    /// Who did it: `200@acme.example`, or `cli` for the command line.
    pub actor: String,
    /// `contact.create`, `contact.update`, `user.delete`, `settings.update`…
    pub action: String,
    pub target_id: Option<Uuid>,
    /// What changed: for updates, `{"field": {"from": …, "to": …}}`.
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    /// A login session (cookie or bearer), expires.
    Session,
    /// A named API token, lives until revoked.
    Api,
}

/// A credential a phone system (PBX) or another integration reports its domain's line
/// states with, and nothing else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PbxCredential {
    pub id: Uuid,
    #[serde(skip)]
    pub domain_id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Token {
    pub id: Uuid,
    #[serde(skip)]
    pub user_id: Uuid,
    pub kind: TokenKind,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// A webhook subscription: the domain's directory changes of the kinds chosen, POSTed
/// to `url` as they happen (see the README's "Webhooks"). Its secret is shown once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Webhook {
    pub id: Uuid,
    #[serde(skip)]
    pub domain_id: Uuid,
    pub url: String,
    /// Shared contacts' changes are delivered.
    pub contacts: bool,
    /// Coworkers' changes (their presence among them) are delivered.
    pub presence: bool,
    pub created_at: DateTime<Utc>,
    /// The last delivery tried, if any.
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// Its HTTP status, when the receiver answered.
    pub last_status: Option<i64>,
    /// Why it failed: a short excerpt of the answer, or what went wrong before one.
    pub last_error: Option<String>,
    /// Deliveries failed in a row.
    pub failures: i64,
    /// Since when deliveries have failed (`None` while they succeed).
    pub failing_since: Option<DateTime<Utc>>,
    /// No longer delivered after failing too long, until a manager resumes it.
    pub paused: bool,
}

/// An app password: a secret made for one address-book app (CardDAV) on one device, so
/// the account's own password need not be stored there. The secret is shown once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AppPassword {
    pub id: Uuid,
    #[serde(skip)]
    pub user_id: Uuid,
    #[serde(skip)]
    pub domain_id: Uuid,
    /// What the user called it (the device or app it is for).
    pub name: String,
    pub created_at: DateTime<Utc>,
    /// When an app last signed in with it (to the minute), if ever.
    pub last_used_at: Option<DateTime<Utc>>,
}
