//! A domain's device credentials: what its desk phones read the directory with.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use switchboard_app::{CreatedDevice, DeviceInput, DeviceView, PhoneSharing};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{ListPage, location, segment};
use crate::AppState;
use crate::auth::Auth;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::problem::{ActionErrors, ApiResult, ListErrors, ReadErrors, WriteErrors};

/// Paging of the device list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeviceListParams {
    /// Page size, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[param(format = Uuid)]
    pub cursor: Option<String>,
}

/// A page of device credentials; pass `next_cursor` as `cursor` for the next (null on the last page).
#[derive(ToSchema)]
#[allow(dead_code)] // documents `ListPage<DeviceView>`, never built
pub struct DevicePage {
    items: Vec<DeviceView>,
    #[schema(required = true)]
    next_cursor: Option<String>,
}

/// The domain's device credentials, oldest first, revoked ones included (office managers and providers).
#[utoipa::path(get, path = "/api/v1/domains/{domain}/devices", operation_id = "listDevices", tag = "devices",
    params(("domain" = String, Path, description = "Domain name"), DeviceListParams),
    responses((status = 200, description = "A page of device credentials", body = DevicePage), ListErrors))]
pub async fn list(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiPath(domain): ApiPath<String>,
    ApiQuery(params): ApiQuery<DeviceListParams>,
) -> ApiResult<Json<ListPage<DeviceView>>> {
    let page = state.app.list_devices(&caller, &domain, params.limit, params.cursor.as_deref()).await?;
    Ok(Json(ListPage::of(page, |device| device)))
}

/// Creates a device credential. Its phonebook URL token and its LDAP bind DN and password
/// are in this answer only: nothing shows them again.
#[utoipa::path(post, path = "/api/v1/domains/{domain}/devices", operation_id = "createDevice", tag = "devices",
    request_body = DeviceInput,
    params(("domain" = String, Path, description = "Domain name")),
    responses((status = 201, description = "Created; keep the token and password", body = CreatedDevice,
        headers(("Location" = String, description = "The device's URL"))), WriteErrors))]
pub async fn create(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiPath(domain): ApiPath<String>,
    ApiJson(input): ApiJson<DeviceInput>,
) -> ApiResult<impl IntoResponse> {
    let created = state.app.create_device(&caller, &domain, input).await?;
    let url = format!("/api/v1/domains/{}/devices/{}", segment(&domain), created.device.id);
    Ok((StatusCode::CREATED, [location(url)], Json(created)))
}

#[utoipa::path(get, path = "/api/v1/domains/{domain}/devices/{id}", operation_id = "getDevice", tag = "devices",
    params(("domain" = String, Path, description = "Domain name"), ("id" = Uuid, Path, description = "The device's id")),
    responses((status = 200, description = "The device credential (without its secrets)", body = DeviceView), ReadErrors))]
pub async fn get(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiPath((domain, id)): ApiPath<(String, Uuid)>,
) -> ApiResult<Json<DeviceView>> {
    Ok(Json(state.app.device(&caller, &domain, id).await?))
}

/// Revokes a device credential: its token and password stop working at once. The
/// record stays, with `revoked_at`, for the audit trail; revoking again changes nothing.
#[utoipa::path(delete, path = "/api/v1/domains/{domain}/devices/{id}", operation_id = "revokeDevice", tag = "devices",
    params(("domain" = String, Path, description = "Domain name"), ("id" = Uuid, Path, description = "The device's id")),
    responses((status = 200, description = "The revoked device credential", body = DeviceView), ActionErrors))]
pub async fn revoke(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiPath((domain, id)): ApiPath<(String, Uuid)>,
) -> ApiResult<Json<DeviceView>> {
    Ok(Json(state.app.revoke_device(&caller, &domain, id).await?))
}

/// Whether desk phones someone else set up for the user may show the user's own contacts
/// and favorites. Only the user themself reads and changes it; to anyone else the user's
/// answer is 404.
#[utoipa::path(get, path = "/api/v1/domains/{domain}/users/{ext}/phone-sharing", operation_id = "getPhoneSharing",
    tag = "devices",
    params(("domain" = String, Path, description = "Domain name"), ("ext" = String, Path, description = "Extension")),
    responses((status = 200, description = "The user's choice", body = PhoneSharing), ReadErrors))]
pub async fn get_sharing(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiPath((domain, ext)): ApiPath<(String, String)>,
) -> ApiResult<Json<PhoneSharing>> {
    Ok(Json(state.app.phone_sharing(&caller, &domain, &ext).await?))
}

/// Gives or takes back the user's consent; phones' books change at once.
#[utoipa::path(put, path = "/api/v1/domains/{domain}/users/{ext}/phone-sharing", operation_id = "putPhoneSharing",
    tag = "devices", request_body = PhoneSharing,
    params(("domain" = String, Path, description = "Domain name"), ("ext" = String, Path, description = "Extension")),
    responses((status = 200, description = "The user's choice, as stored", body = PhoneSharing), WriteErrors))]
pub async fn put_sharing(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiPath((domain, ext)): ApiPath<(String, String)>,
    ApiJson(sharing): ApiJson<PhoneSharing>,
) -> ApiResult<Json<PhoneSharing>> {
    Ok(Json(state.app.set_phone_sharing(&caller, &domain, &ext, sharing).await?))
}
