//! What clients send: raw inputs, checked by the use cases.

use serde::Deserialize;

pub use switchboard_core::contact::{ContactInput, ContactPatch};

/// Query parameters of every list: all text so each bad one gets its own message.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Substring search over names, company, email and numbers (case- and accent-insensitive; digits match any number format).
    pub q: Option<String>,
    /// `name` (default: last, first, company), `-name`, `updated` or `-updated`.
    pub sort: Option<String>,
    /// Page size, 1 to 500 (default 50).
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DomainInput {
    /// `acme.example`
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Reseller name; created when it does not exist yet (super-users). Resellers create in their own.
    #[serde(default)]
    pub reseller: Option<String>,
    /// Region for numbers written without `+` (sets the domain's `DEFAULT_COUNTRY`).
    #[serde(default)]
    pub default_country: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DomainPatchInput {
    pub description: Option<String>,
    /// Reseller name, or `""` to detach the domain from its reseller (providers only).
    pub reseller: Option<String>,
    pub default_country: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserInput {
    pub extension: String,
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub last_name: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub department: String,
    #[serde(default)]
    pub site: String,
    /// `office-manager`, `basic-user`… (default `basic-user`).
    #[serde(default)]
    pub scope: Option<String>,
    /// List in Directory (default true).
    #[serde(default)]
    pub listed: Option<bool>,
    /// When absent a strong password is generated and returned once.
    #[serde(default)]
    pub password: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatchInput {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub department: Option<String>,
    pub site: Option<String>,
    pub scope: Option<String>,
    pub listed: Option<bool>,
    /// A new password. Changing one's own needs `current_password`; it ends the user's
    /// other sessions (a manager's reset ends all of them).
    pub password: Option<String>,
    /// One's current password, needed to change it.
    pub current_password: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PresenceInput {
    /// `available`, `busy` or `offline`.
    pub state: String,
    #[serde(default)]
    pub chat: bool,
    #[serde(default)]
    pub message: String,
}
