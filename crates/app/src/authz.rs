//! Who may do what: the one place where permissions and tenant isolation are
//! decided. Every use case asks an [`Access`] before it touches the store.
//!
//! Rules (`docs/permissions.md` states them in full):
//! - A caller reaches its own domain; a reseller also the domains of its reseller;
//!   a super-user (and the CLI) every domain. Anything else answers "not found".
//! - Shared contacts: everyone in the domain reads them (unless
//!   `PORTAL_SHOW_SHARED_CONTACTS=no` applies to them); the scopes listed in the
//!   domain's `SHARED_CONTACTS_EDITOR_SCOPES` edit them; providers always may.
//! - Users: office-managers manage the domain's users, site-managers those of
//!   their site, call-center supervisors the agents (and list no one else); nobody
//!   grants a scope above their own.
//! - Settings and the audit log: office-managers and providers.
//! - Personal contacts, favorites and the merged directory belong to their user
//!   alone; other users (even managers) find nothing there.
//! - Device credentials (desk phones): office-managers and providers create, list and
//!   revoke them. A device reads its own domain's phone book only: listed coworkers,
//!   shared contacts if `PORTAL_SHOW_SHARED_CONTACTS` shows them to its bound user (or,
//!   unbound, in the domain), and its bound user's own contacts and favorites only when
//!   that user set the phone up themself or agreed to phones set up by others showing
//!   them (a consent only the user can give); a device limited to address ranges is
//!   refused from anywhere else.
//! - Caller-ID look-ups from a user's view: the user, those who manage them, and
//!   providers (a PBX answering calls). Only the user and providers get names from the
//!   user's own contacts; a manager's look-up for someone else skips them.
//! - Call blocking: everyone in the domain reads its blocked numbers; those who manage
//!   its settings change them. A user's allow list: the user and those who manage them.
//! - PBX credentials (phone systems and other integrations): office-managers and
//!   providers create, list and revoke them. A PBX credential reports the line state of
//!   its own domain's users and does nothing else: it reaches no domain (everything
//!   else answers "not found"), and another domain's lines are "not found" too. Nobody
//!   else reports line states ("forbidden" to those who reach the domain).
//! - Presence set by hand: the user and those who manage them.
//! - App passwords (address-book apps' own secrets): only the user makes theirs (one
//!   made by anyone else would open the user's own contacts to its maker); the user and
//!   the domain's managers (office-managers over users they manage, providers) list and
//!   revoke them, the latter as a security response. The CLI may do all three.
//! - Change events: a user hears about their own domain only (providers too: not
//!   about the domains they manage), about personal contacts only when they are
//!   theirs, and about shared contacts only when those are shown to them.

use switchboard_core::Scope;
use switchboard_core::event::{Event, EventBook, EventKind};
use switchboard_core::model::{Domain, User};
use switchboard_store::Device;
use uuid::Uuid;

use crate::auth::Caller;
use crate::devices::PhonebookReader;

/// A caller's standing in one domain it can reach.
pub struct Access<'a> {
    caller: &'a Caller,
    domain: &'a Domain,
}

/// Which users a caller may list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserListing {
    All,
    Site(String),
    /// The domain's call-center agents (a supervisor's team), no one else.
    Agents,
}

/// The caller's standing in `domain`, or `None` when the domain is outside its reach
/// (the caller must then be told "not found", never "forbidden").
pub fn access<'a>(caller: &'a Caller, domain: &'a Domain) -> Option<Access<'a>> {
    let access = Access { caller, domain };
    let reaches = match caller {
        Caller::System => true,
        Caller::User { domain: home, .. } => home.id == domain.id || access.is_provider(),
        // A PBX has no standing anywhere: it only reports lines (`may_report_lines`).
        Caller::Pbx { .. } => false,
    };
    reaches.then_some(access)
}

/// Whether the caller may report the line states of `domain`'s users: its own PBX
/// credentials (and the operator's CLI).
pub fn may_report_lines(caller: &Caller, domain: &Domain) -> bool {
    match caller {
        Caller::System => true,
        Caller::Pbx { domain: home, .. } => home.id == domain.id,
        Caller::User { .. } => false,
    }
}

/// Whether the caller may create domains under `reseller_id` (`None` = no reseller).
pub fn can_create_domain(caller: &Caller, reseller_id: Option<uuid::Uuid>) -> bool {
    match caller {
        Caller::System => true,
        Caller::User { user, domain, .. } => match user.scope {
            Scope::SuperUser => true,
            Scope::Reseller => domain.reseller_id.is_some() && domain.reseller_id == reseller_id,
            _ => false,
        },
        Caller::Pbx { .. } => false,
    }
}

/// Whether the caller may change a reseller's settings layer.
pub fn can_manage_reseller(caller: &Caller, reseller_id: uuid::Uuid) -> bool {
    match caller {
        Caller::System => true,
        Caller::User { user, domain, .. } => match user.scope {
            Scope::SuperUser => true,
            Scope::Reseller => domain.reseller_id == Some(reseller_id),
            _ => false,
        },
        Caller::Pbx { .. } => false,
    }
}

/// Whether the caller may change the system-wide settings layer.
pub fn can_manage_system(caller: &Caller) -> bool {
    match caller {
        Caller::System => true,
        Caller::User { user, .. } => user.scope == Scope::SuperUser,
        Caller::Pbx { .. } => false,
    }
}

/// Who receives a stream of change events: worked out when they subscribe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventAudience {
    /// `None` for the operator's CLI, which hears every domain.
    domain_id: Option<Uuid>,
    user_id: Option<Uuid>,
    sees_shared: bool,
}

/// The audience `caller` makes; `sees_shared` is whether shared contacts are shown to
/// them (`PORTAL_SHOW_SHARED_CONTACTS`, resolved for them).
pub fn event_audience(caller: &Caller, sees_shared: bool) -> EventAudience {
    match caller {
        Caller::System => EventAudience { domain_id: None, user_id: None, sees_shared: true },
        Caller::User { user, domain, .. } => {
            EventAudience { domain_id: Some(domain.id), user_id: Some(user.id), sees_shared }
        }
        // Never reached (`App::subscribe` refuses a PBX); hears nothing of anyone.
        Caller::Pbx { .. } => {
            EventAudience { domain_id: Some(Uuid::nil()), user_id: Some(Uuid::nil()), sees_shared: false }
        }
    }
}

impl EventAudience {
    /// Whether this audience may be told about `event` at all.
    pub fn may_see(&self, event: &Event) -> bool {
        if self.domain_id.is_some_and(|home| home != event.domain_id) {
            return false;
        }
        match &event.kind {
            EventKind::ContactChanged { book: EventBook::Shared, .. } => self.sees_shared,
            EventKind::ContactChanged { book: EventBook::Personal { owner_id }, .. } => {
                self.user_id.is_none_or(|me| me == *owner_id)
            }
            EventKind::PresenceChanged { .. } | EventKind::UserChanged { .. } | EventKind::SettingsChanged => true,
            EventKind::ChatChanged { between } => self.user_id.is_none_or(|me| between.contains(&me)),
        }
    }

    /// Whether `event` may change what this audience sees (its settings or its own user).
    pub fn is_affected_by(&self, event: &Event) -> bool {
        match event.kind {
            EventKind::SettingsChanged => true,
            EventKind::UserChanged { user_id } => self.user_id == Some(user_id),
            _ => false,
        }
    }
}

impl Access<'_> {
    pub fn domain(&self) -> &Domain {
        self.domain
    }

    /// The calling user when they belong to this domain (not a visiting provider).
    pub fn member(&self) -> Option<&User> {
        match self.caller {
            Caller::User { user, domain, .. } if domain.id == self.domain.id => Some(user),
            _ => None,
        }
    }

    /// The CLI, a super-user, or a reseller of this domain's reseller.
    pub fn is_provider(&self) -> bool {
        match self.caller {
            Caller::System => true,
            Caller::User { user, domain, .. } => match user.scope {
                Scope::SuperUser => true,
                Scope::Reseller => {
                    domain.id == self.domain.id
                        || (domain.reseller_id.is_some() && domain.reseller_id == self.domain.reseller_id)
                }
                _ => false,
            },
            Caller::Pbx { .. } => false,
        }
    }

    fn member_scope(&self) -> Option<Scope> {
        self.member().map(|user| user.scope)
    }

    /// The highest scope the caller may give a user.
    fn max_grantable_rank(&self) -> u8 {
        match self.caller {
            Caller::System => Scope::SuperUser.rank(),
            Caller::User { user, .. } => user.scope.rank(),
            Caller::Pbx { .. } => 0,
        }
    }

    pub fn is_user(&self, user: &User) -> bool {
        self.member().is_some_and(|me| me.id == user.id)
    }

    /// `editors` is the domain's `SHARED_CONTACTS_EDITOR_SCOPES`.
    pub fn can_edit_shared(&self, editors: &[Scope]) -> bool {
        self.is_provider() || self.member_scope().is_some_and(|scope| editors.contains(&scope))
    }

    /// Whether the caller may create, edit or delete a user of this scope and site.
    pub fn can_manage_user(&self, scope: Scope, site: &str) -> bool {
        if scope.rank() > self.max_grantable_rank() {
            return false;
        }
        if self.is_provider() {
            return true;
        }
        match self.member() {
            Some(me) => match me.scope {
                Scope::OfficeManager => true,
                Scope::SiteManager => !me.site.is_empty() && me.site == site,
                Scope::CallCenterSupervisor => scope == Scope::CallCenterAgent,
                _ => false,
            },
            None => false,
        }
    }

    /// The scopes the caller may give a user: those of users it may manage at its own
    /// site (a site manager only has its site; providers and office managers any).
    pub fn grantable_scopes(&self) -> Vec<Scope> {
        let site = self.member().map_or("", |me| me.site.as_str());
        Scope::ALL.into_iter().filter(|scope| self.can_manage_user(*scope, site)).collect()
    }

    /// Which users the caller may list, if any.
    pub fn user_listing(&self) -> Option<UserListing> {
        if self.is_provider() {
            return Some(UserListing::All);
        }
        match self.member()?.scope {
            Scope::OfficeManager => Some(UserListing::All),
            Scope::SiteManager => Some(UserListing::Site(self.member()?.site.clone())),
            Scope::CallCenterSupervisor => Some(UserListing::Agents),
            _ => None,
        }
    }

    /// Domain settings, the scope layers within it, users' layers and the audit log.
    pub fn can_manage_settings(&self) -> bool {
        self.is_provider() || self.member_scope() == Some(Scope::OfficeManager)
    }

    pub fn can_read_audit(&self) -> bool {
        self.can_manage_settings()
    }

    /// Changing the domain's description.
    pub fn can_edit_domain(&self) -> bool {
        self.can_manage_settings()
    }

    /// Deleting the domain or moving it to another reseller.
    pub fn can_administer_domain(&self) -> bool {
        self.is_provider()
    }

    /// Keeping contacts of one's own (all scopes but simple-user, which only reads).
    pub fn can_keep_own_contacts(&self) -> bool {
        self.member_scope().is_some_and(|scope| scope != Scope::SimpleUser)
    }

    /// Creating, listing and revoking the domain's device credentials.
    pub fn can_manage_devices(&self) -> bool {
        self.can_manage_settings()
    }

    /// Creating, listing and revoking the domain's PBX credentials.
    pub fn can_manage_pbx_credentials(&self) -> bool {
        self.can_manage_settings()
    }

    /// Registering, changing and removing the domain's webhooks, which receive its
    /// coworkers and shared contacts as they change.
    pub fn can_manage_webhooks(&self) -> bool {
        self.can_manage_settings()
    }

    /// Caller-ID look-ups as `user` would see them (see the module's rules).
    pub fn can_look_up_for(&self, user: &User) -> bool {
        self.is_user(user) || self.is_provider() || self.can_manage_user(user.scope, &user.site)
    }

    /// Whether a look-up for `user` may name one of their own contacts.
    pub fn reads_personal_names_of(&self, user: &User) -> bool {
        self.is_user(user) || self.is_provider()
    }

    /// Adding and removing the domain's blocked numbers and prefixes.
    pub fn can_manage_blocked_numbers(&self) -> bool {
        self.can_manage_settings()
    }

    /// Reading and changing the numbers `user` lets through the domain's block list.
    pub fn can_manage_allowed_numbers_of(&self, user: &User) -> bool {
        self.can_look_up_for(user)
    }

    /// Reading and changing whether phones set up by others may show `user`'s own
    /// contacts: the user alone (their managers and providers set up those phones).
    pub fn can_share_own_contacts_of(&self, user: &User) -> bool {
        self.is_user(user)
    }

    /// Making an app password for `user`: the user themself (or the CLI), never anyone
    /// else: the app password would read the user's own contacts.
    pub fn can_create_app_password_for(&self, user: &User) -> bool {
        self.is_user(user) || matches!(self.caller, Caller::System)
    }

    /// Listing and revoking `user`'s app passwords: the user, and those who manage the
    /// domain's settings and may manage this user (a security response).
    pub fn can_manage_app_passwords_of(&self, user: &User) -> bool {
        self.is_user(user) || (self.can_manage_settings() && self.can_manage_user(user.scope, &user.site))
    }

    /// Setting a user's presence by hand: the user, their managers, or a provider.
    pub fn can_set_presence(&self, user: &User) -> bool {
        self.is_user(user) || self.can_manage_user(user.scope, &user.site)
    }
}

/// Whether `sender` may write to `recipient`, another user of their domain: someone
/// listed in the directory, or anyone who has written to them (or they to them) before.
pub fn may_write_chat(sender: &User, recipient: &User, have_chatted: bool) -> bool {
    sender.domain_id == recipient.domain_id && sender.id != recipient.id && (recipient.listed || have_chatted)
}

/// What a phone book reader sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhonebookAudience {
    /// The reader's own domain: the only one it ever reads.
    pub domain_id: Uuid,
    /// The user the reader reads for (left out of their coworkers), if any.
    pub viewer_id: Option<Uuid>,
    pub include_shared: bool,
    /// Whether that user's own contacts and favorites are in the book.
    pub include_own: bool,
}

/// The audience a reader makes; `shows_shared` is `PORTAL_SHOW_SHARED_CONTACTS` resolved
/// for its user (or its domain, when it has none).
pub fn phonebook_audience(reader: &PhonebookReader, shows_shared: bool) -> PhonebookAudience {
    PhonebookAudience {
        domain_id: reader.domain().id,
        viewer_id: reader.user().map(|user| user.id),
        include_shared: shows_shared,
        include_own: reader.own_contacts_of().is_some(),
    }
}

/// Whether a desk phone bound to `user` shows that user's own contacts and favorites: a
/// phone they set up themself does; one someone else set up (a manager, a provider, the
/// operator) only once `user` agreed, a consent only they can give or take back.
pub fn phone_shows_own_contacts(device: &Device, user: &User, user_agreed: bool) -> bool {
    device.user_id == Some(user.id) && (device.created_by == Some(user.id) || user_agreed)
}

/// Whether a device limited to `networks` may connect from `client` (an unknown address
/// is refused when there is any limit).
pub fn device_may_connect(networks: &[ipnet::IpNet], client: Option<std::net::IpAddr>) -> bool {
    if networks.is_empty() {
        return true;
    }
    client.is_some_and(|ip| {
        // An IPv4 client seen through an IPv6 socket (::ffff:a.b.c.d) is still that IPv4 client.
        let ip = match ip {
            std::net::IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, std::net::IpAddr::V4),
            v4 => v4,
        };
        networks.iter().any(|network| network.contains(&ip))
    })
}
