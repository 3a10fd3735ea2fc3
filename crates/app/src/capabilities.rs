//! What a logged-in user may see and do in their own domain, in one answer, so an
//! interface (the portal's menus and buttons) never works it out for itself.

use serde::Serialize;
use switchboard_core::Scope;

use crate::App;
use crate::auth::Caller;
use crate::authz::{UserListing, access};
use crate::error::{AppError, Result};

/// The answers of [`crate::authz`] for the caller in their home domain.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Capabilities {
    /// Shared contacts appear for this user (`PORTAL_SHOW_SHARED_CONTACTS`).
    pub see_shared: bool,
    /// May add, edit, delete and import shared contacts.
    pub edit_shared: bool,
    /// May keep contacts of their own (everyone but simple users).
    pub keep_own_contacts: bool,
    /// May list and manage users (office and site managers, providers).
    pub manage_users: bool,
    /// May manage call-center agents (supervisors).
    pub manage_agents: bool,
    /// May change the domain's settings.
    pub manage_settings: bool,
    /// May read the audit log and the trash.
    pub read_audit: bool,
    /// May add and revoke the credentials desk phones read the directory with.
    pub manage_devices: bool,
}

impl App {
    /// The caller's capabilities in their own domain; the CLI has no home domain.
    pub async fn capabilities(&self, caller: &Caller) -> Result<Capabilities> {
        let Caller::User { user, domain, .. } = caller else { return Err(AppError::NotFound) };
        let access = access(caller, domain).ok_or(AppError::NotFound)?;
        let see_shared = self.shows_shared(caller, domain).await?;
        let editors = self.domain_settings(domain).await?.shared_contact_editors();
        let listing = access.user_listing();
        Ok(Capabilities {
            see_shared,
            edit_shared: see_shared && access.can_edit_shared(&editors),
            keep_own_contacts: access.can_keep_own_contacts(),
            manage_users: matches!(listing, Some(UserListing::All | UserListing::Site(_))),
            manage_agents: access.can_manage_user(Scope::CallCenterAgent, &user.site),
            manage_settings: access.can_manage_settings(),
            read_audit: access.can_read_audit(),
            manage_devices: access.can_manage_devices(),
        })
    }
}
