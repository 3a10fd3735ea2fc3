//! What clients send: raw inputs, checked by the use cases.

use serde::Deserialize;

pub use switchboard_core::contact::{ContactInput, ContactPatch};

/// Query parameters of every list: all text so each bad one gets its own message.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Substring search over names, company, email and numbers (case- and accent-insensitive; digits match any number format).
    #[param(max_length = 100)]
    pub q: Option<String>,
    /// `name` (default: last, first, company), `-name`, `updated` or `-updated`.
    #[param(pattern = "^-?(name|updated)$")]
    pub sort: Option<String>,
    /// Page size, 1 to 500 (default 50).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 500)]
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    #[param(min_length = 1)]
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DomainInput {
    /// `acme.example`
    #[schema(
        pattern = "^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(\\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*$",
        max_length = 253
    )]
    pub name: String,
    #[serde(default)]
    #[schema(max_length = 200, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub description: String,
    /// Reseller name; created when it does not exist yet (super-users). Resellers create in their own.
    #[serde(default)]
    #[schema(max_length = 100, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub reseller: Option<String>,
    /// Region for numbers written without `+` (sets the domain's `DEFAULT_COUNTRY`).
    #[serde(default)]
    #[schema(value_type = Option<switchboard_core::phone::CountryCode>)]
    pub default_country: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DomainPatchInput {
    #[schema(max_length = 200, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub description: Option<String>,
    /// Reseller name, or `""` to detach the domain from its reseller (providers only).
    #[schema(max_length = 100, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub reseller: Option<String>,
    #[schema(value_type = Option<switchboard_core::phone::CountryCode>)]
    pub default_country: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserInput {
    #[schema(pattern = "^[0-9]{1,15}$", example = "200")]
    pub extension: String,
    #[schema(max_length = 100, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    #[serde(default)]
    pub first_name: String,
    #[schema(max_length = 100, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    #[serde(default)]
    pub last_name: String,
    #[schema(
        max_length = 254,
        pattern = r"^([^@\s\u0000-\u001f\u007f-\u009f]+@[^@\s\u0000-\u001f\u007f-\u009f.][^@\s\u0000-\u001f\u007f-\u009f]*\.[^@\s\u0000-\u001f\u007f-\u009f]*[^@\s\u0000-\u001f\u007f-\u009f.])?$"
    )]
    #[serde(default)]
    pub email: String,
    #[schema(max_length = 100, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    #[serde(default)]
    pub department: String,
    #[schema(max_length = 100, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    #[serde(default)]
    pub site: String,
    /// `office-manager`, `basic-user`… (default `basic-user`).
    #[serde(default)]
    #[schema(value_type = Option<switchboard_core::Scope>)]
    pub scope: Option<String>,
    /// List in Directory (default true).
    #[serde(default)]
    pub listed: Option<bool>,
    /// When absent a strong password is generated and returned once.
    #[serde(default)]
    #[schema(min_length = 8, max_length = 256)]
    pub password: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatchInput {
    #[schema(max_length = 100, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub first_name: Option<String>,
    #[schema(max_length = 100, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub last_name: Option<String>,
    #[schema(
        max_length = 254,
        pattern = r"^([^@\s\u0000-\u001f\u007f-\u009f]+@[^@\s\u0000-\u001f\u007f-\u009f.][^@\s\u0000-\u001f\u007f-\u009f]*\.[^@\s\u0000-\u001f\u007f-\u009f]*[^@\s\u0000-\u001f\u007f-\u009f.])?$"
    )]
    pub email: Option<String>,
    #[schema(max_length = 100, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub department: Option<String>,
    #[schema(max_length = 100, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub site: Option<String>,
    #[schema(value_type = Option<switchboard_core::Scope>)]
    pub scope: Option<String>,
    pub listed: Option<bool>,
    /// A new password. Changing one's own needs `current_password`; it ends the user's
    /// other sessions (a manager's reset ends all of them).
    #[schema(min_length = 8, max_length = 256)]
    pub password: Option<String>,
    /// One's current password, needed to change it.
    pub current_password: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PresenceInput {
    /// `available`, `busy` or `offline`.
    #[schema(value_type = switchboard_core::model::PresenceState)]
    pub state: String,
    #[serde(default)]
    pub chat: bool,
    #[serde(default)]
    #[schema(max_length = 100, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub message: String,
    /// When the message clears by itself (RFC 3339, within a year); none: it stays.
    #[serde(default)]
    pub message_until: Option<chrono::DateTime<chrono::Utc>>,
    /// With `busy`: when the state turns back to available by itself (RFC 3339, within a year).
    #[serde(default)]
    pub busy_until: Option<chrono::DateTime<chrono::Utc>>,
}
