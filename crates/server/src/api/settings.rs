//! Settings layers: system → reseller → domain → scope within a domain → user.
//! Each layer's GET answers its own values and what is in force there; PUT sets keys
//! given a string and removes keys given `null` (back to the inherited value).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::response::IntoResponse;
use serde_json::json;
use switchboard_app::{SettingsLayer, SettingsView};
use switchboard_core::Scope;
use switchboard_core::phone::COUNTRY_CODES;
use switchboard_core::settings::{DEFAULT_COUNTRY, SHARED_CONTACTS_EDITOR_SCOPES, SHOW_SHARED_CONTACTS};
use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
use utoipa::openapi::{RefOr, Schema};

use crate::AppState;
use crate::auth::Auth;
use crate::extract::{ApiJson, ApiPath};
use crate::problem::{ApiResult, ReadErrors, WriteErrors};

/// Key → new value, or `null` to remove the key from this layer.
type Changes = BTreeMap<String, Option<String>>;

/// Documents `Changes`: keys are `A-Z`, `0-9` and `_`; the known keys take only their values.
pub struct SettingsChanges;

impl utoipa::PartialSchema for SettingsChanges {
    fn schema() -> RefOr<Schema> {
        let text_or_null = || SchemaType::from_iter([Type::String, Type::Null]);
        let value = ObjectBuilder::new()
            .schema_type(text_or_null())
            .max_length(Some(1000))
            .pattern(Some(r"^[^\u0000-\u001f\u007f-\u009f]*$"));
        let scopes = Scope::ALL.iter().filter(|s| !s.is_provider()).map(|s| s.as_str()).collect::<Vec<_>>().join("|");
        // Comma-separated domain scopes; empty parts and spaces (not control characters) around them are ignored.
        let space = r"[^\S\u0000-\u001f\u007f-\u009f]*";
        let scope_list = format!(r"^{space}({scopes})?{space}(,{space}({scopes})?{space})*$");
        let one_of = |values: Vec<serde_json::Value>| {
            ObjectBuilder::new().schema_type(text_or_null()).enum_values(Some(values.into_iter().chain([json!(null)])))
        };
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(
                "Key → new value, or `null` to remove the key from this layer (back to the inherited value)",
            ))
            .property_names(Some(ObjectBuilder::new().schema_type(Type::String).pattern(Some("^[A-Z0-9_]{1,64}$"))))
            .additional_properties(Some(value))
            .property(SHOW_SHARED_CONTACTS, one_of(vec![json!("yes"), json!("no")]))
            .property(
                SHARED_CONTACTS_EDITOR_SCOPES,
                ObjectBuilder::new().schema_type(text_or_null()).pattern(Some(scope_list)),
            )
            .property(DEFAULT_COUNTRY, one_of(COUNTRY_CODES.iter().map(|code| json!(code)).collect()))
            .into()
    }
}

impl utoipa::ToSchema for SettingsChanges {}

async fn get_layer(state: &AppState, auth: Auth, layer: SettingsLayer) -> ApiResult<impl IntoResponse + use<>> {
    Ok(Json(state.app.get_settings(&auth.0, &layer).await?))
}

async fn put_layer(
    state: &AppState,
    auth: Auth,
    layer: SettingsLayer,
    changes: Changes,
) -> ApiResult<impl IntoResponse + use<>> {
    Ok(Json(state.app.put_settings(&auth.0, &layer, changes).await?))
}

/// System-wide settings (super-users).
#[utoipa::path(get, path = "/api/v1/system/settings", operation_id = "getSystemSettings", tag = "settings",
    responses((status = 200, description = "The layer's values and what is in force", body = SettingsView), ReadErrors))]
pub async fn get_system(State(state): State<AppState>, auth: Auth) -> ApiResult<impl IntoResponse> {
    get_layer(&state, auth, SettingsLayer::System).await
}

#[utoipa::path(put, path = "/api/v1/system/settings", operation_id = "putSystemSettings", tag = "settings", request_body = SettingsChanges,
    responses((status = 200, description = "The layer after the change", body = SettingsView), WriteErrors))]
pub async fn put_system(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(changes): ApiJson<Changes>,
) -> ApiResult<impl IntoResponse> {
    put_layer(&state, auth, SettingsLayer::System, changes).await
}

/// A reseller's settings (super-users, and the reseller's own users).
#[utoipa::path(get, path = "/api/v1/resellers/{reseller}/settings", operation_id = "getResellerSettings", tag = "settings",
    params(("reseller" = String, Path, description = "Reseller name")),
    responses((status = 200, description = "The layer's values and what is in force", body = SettingsView), ReadErrors))]
pub async fn get_reseller(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(reseller): ApiPath<String>,
) -> ApiResult<impl IntoResponse> {
    get_layer(&state, auth, SettingsLayer::Reseller(reseller)).await
}

#[utoipa::path(put, path = "/api/v1/resellers/{reseller}/settings", operation_id = "putResellerSettings", tag = "settings", request_body = SettingsChanges,
    params(("reseller" = String, Path, description = "Reseller name")),
    responses((status = 200, description = "The layer after the change", body = SettingsView), WriteErrors))]
pub async fn put_reseller(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(reseller): ApiPath<String>,
    ApiJson(changes): ApiJson<Changes>,
) -> ApiResult<impl IntoResponse> {
    put_layer(&state, auth, SettingsLayer::Reseller(reseller), changes).await
}

/// A domain's settings (office-managers and providers).
#[utoipa::path(get, path = "/api/v1/domains/{domain}/settings", operation_id = "getDomainSettings", tag = "settings",
    params(("domain" = String, Path, description = "Domain name")),
    responses((status = 200, description = "The layer's values and what is in force", body = SettingsView), ReadErrors))]
pub async fn get_domain(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(domain): ApiPath<String>,
) -> ApiResult<impl IntoResponse> {
    get_layer(&state, auth, SettingsLayer::Domain(domain)).await
}

#[utoipa::path(put, path = "/api/v1/domains/{domain}/settings", operation_id = "putDomainSettings", tag = "settings", request_body = SettingsChanges,
    params(("domain" = String, Path, description = "Domain name")),
    responses((status = 200, description = "The layer after the change", body = SettingsView), WriteErrors))]
pub async fn put_domain(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(domain): ApiPath<String>,
    ApiJson(changes): ApiJson<Changes>,
) -> ApiResult<impl IntoResponse> {
    put_layer(&state, auth, SettingsLayer::Domain(domain), changes).await
}

/// Settings of one scope within a domain, such as `basic-user`.
#[utoipa::path(get, path = "/api/v1/domains/{domain}/scopes/{scope}/settings", operation_id = "getScopeSettings", tag = "settings",
    params(("domain" = String, Path, description = "Domain name"), ("scope" = String, Path, description = "Scope, such as `basic-user`")),
    responses((status = 200, description = "The layer's values and what is in force", body = SettingsView), ReadErrors))]
pub async fn get_scope(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath((domain, scope)): ApiPath<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    get_layer(&state, auth, SettingsLayer::Scope(domain, scope)).await
}

#[utoipa::path(put, path = "/api/v1/domains/{domain}/scopes/{scope}/settings", operation_id = "putScopeSettings", tag = "settings", request_body = SettingsChanges,
    params(("domain" = String, Path, description = "Domain name"), ("scope" = String, Path, description = "Scope, such as `basic-user`")),
    responses((status = 200, description = "The layer after the change", body = SettingsView), WriteErrors))]
pub async fn put_scope(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath((domain, scope)): ApiPath<(String, String)>,
    ApiJson(changes): ApiJson<Changes>,
) -> ApiResult<impl IntoResponse> {
    put_layer(&state, auth, SettingsLayer::Scope(domain, scope), changes).await
}

/// One user's own settings layer.
#[utoipa::path(get, path = "/api/v1/domains/{domain}/users/{ext}/settings", operation_id = "getUserSettings", tag = "settings",
    params(("domain" = String, Path, description = "Domain name"), ("ext" = String, Path, description = "Extension")),
    responses((status = 200, description = "The layer's values and what is in force", body = SettingsView), ReadErrors))]
pub async fn get_user(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath((domain, ext)): ApiPath<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    get_layer(&state, auth, SettingsLayer::User(domain, ext)).await
}

#[utoipa::path(put, path = "/api/v1/domains/{domain}/users/{ext}/settings", operation_id = "putUserSettings", tag = "settings", request_body = SettingsChanges,
    params(("domain" = String, Path, description = "Domain name"), ("ext" = String, Path, description = "Extension")),
    responses((status = 200, description = "The layer after the change", body = SettingsView), WriteErrors))]
pub async fn put_user(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath((domain, ext)): ApiPath<(String, String)>,
    ApiJson(changes): ApiJson<Changes>,
) -> ApiResult<impl IntoResponse> {
    put_layer(&state, auth, SettingsLayer::User(domain, ext), changes).await
}

/// Every setting in force for a user after resolving all layers (the user, or their managers).
#[utoipa::path(get, path = "/api/v1/domains/{domain}/users/{ext}/settings/effective", operation_id = "getEffectiveSettings", tag = "settings",
    params(("domain" = String, Path, description = "Domain name"), ("ext" = String, Path, description = "Extension")),
    responses((status = 200, description = "Key → value in force", body = BTreeMap<String, String>), ReadErrors))]
pub async fn effective(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiPath((domain, ext)): ApiPath<(String, String)>,
) -> ApiResult<Json<BTreeMap<String, String>>> {
    Ok(Json(state.app.effective_settings(&caller, &domain, &ext).await?))
}
