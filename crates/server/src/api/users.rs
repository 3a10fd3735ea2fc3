//! Users of a domain.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use switchboard_app::{CreatedUser, DeletedUserView, ListParams, UserInput, UserPatchInput};
use switchboard_core::model::User;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{ListPage, etag_header, location, segment};
use crate::AppState;
use crate::auth::Auth;
use crate::docs::UserPage;
use crate::extract::{ApiJson, ApiPath, ApiQuery, IfMatch};
use crate::problem::{ActionErrors, ApiResult, ListErrors, PatchErrors, ReadErrors, WriteErrors};

/// Users of the domain the caller may list (managers; site-managers see their site).
#[utoipa::path(get, path = "/api/v1/domains/{domain}/users", operation_id = "listUsers", tag = "users",
    params(("domain" = String, Path, description = "Domain name"), ListParams),
    responses((status = 200, description = "A page of users", body = UserPage), ListErrors))]
pub async fn list(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiPath(domain): ApiPath<String>,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<ListPage<User>>> {
    let page = state.app.list_users(&caller, &domain, &params).await?;
    Ok(Json(ListPage::of(page, |user| user)))
}

/// Creates a user; without a `password` one is generated and shown in this answer only.
#[utoipa::path(post, path = "/api/v1/domains/{domain}/users", operation_id = "createUser", tag = "users", request_body = UserInput,
    params(("domain" = String, Path, description = "Domain name")),
    responses((status = 201, description = "Created", body = CreatedUser,
        headers(("Location" = String, description = "The new user's URL"), ("ETag" = String, description = "The user's version"))),
        WriteErrors))]
pub async fn create(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiPath(domain): ApiPath<String>,
    ApiJson(input): ApiJson<UserInput>,
) -> ApiResult<impl IntoResponse> {
    let created = state.app.create_user(&caller, &domain, input).await?;
    let url = format!("/api/v1/domains/{}/users/{}", segment(&domain), segment(created.user.extension.as_str()));
    Ok((StatusCode::CREATED, [location(url)], etag_header(created.user.version), Json(created)))
}

#[utoipa::path(get, path = "/api/v1/domains/{domain}/users/{ext}", operation_id = "getUser", tag = "users",
    params(("domain" = String, Path, description = "Domain name"), ("ext" = String, Path, description = "Extension")),
    responses((status = 200, description = "The user", body = User,
        headers(("ETag" = String, description = "The user's version, for `If-Match`"))), ReadErrors))]
pub async fn get(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiPath((domain, ext)): ApiPath<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    let user = state.app.get_user(&caller, &domain, &ext).await?;
    Ok((etag_header(user.version), Json(user)))
}

/// Changes a user. Users may change their own names and password; scope, site,
/// department and listing are their managers'. Send `If-Match` to refuse a stale edit.
///
/// Changing one's own `password` needs `current_password` and ends one's other
/// sessions; a manager setting someone's password ends all of that user's sessions.
/// A refused change (412 included) changes nothing, the password neither.
#[utoipa::path(patch, path = "/api/v1/domains/{domain}/users/{ext}", operation_id = "updateUser", tag = "users", request_body = UserPatchInput,
    params(("domain" = String, Path, description = "Domain name"), ("ext" = String, Path, description = "Extension"),
        ("If-Match" = Option<String>, Header, description = "The `ETag` the change was based on")),
    responses((status = 200, description = "The changed user", body = User,
        headers(("ETag" = String, description = "The new version"))), PatchErrors))]
pub async fn update(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiPath((domain, ext)): ApiPath<(String, String)>,
    IfMatch(version): IfMatch,
    ApiJson(patch): ApiJson<UserPatchInput>,
) -> ApiResult<impl IntoResponse> {
    let user = state.app.update_user(&caller, &domain, &ext, version, patch).await?;
    Ok((etag_header(user.version), Json(user)))
}

/// Moves a user to the trash with their own contacts, favorites, settings and devices,
/// restorable for 30 days; their sessions and API tokens end at once.
#[utoipa::path(delete, path = "/api/v1/domains/{domain}/users/{ext}", operation_id = "deleteUser", tag = "users",
    params(("domain" = String, Path, description = "Domain name"), ("ext" = String, Path, description = "Extension")),
    responses((status = 204, description = "Deleted"), ActionErrors))]
pub async fn delete(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiPath((domain, ext)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    state.app.delete_user(&caller, &domain, &ext).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Paging of the deleted users.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeletedUserParams {
    /// Page size, 1 to 500 (default 50).
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A page of deleted users; pass `next_cursor` as `cursor` for the next (null on the last page).
#[derive(ToSchema)]
#[allow(dead_code)] // documents `ListPage<DeletedUserView>`, never built
pub struct DeletedUserPage {
    items: Vec<DeletedUserView>,
    #[schema(required = true)]
    next_cursor: Option<String>,
}

/// Users deleted within the last 30 days that the caller could restore.
#[utoipa::path(get, path = "/api/v1/domains/{domain}/deleted-users", operation_id = "listDeletedUsers", tag = "users",
    params(("domain" = String, Path, description = "Domain name"), DeletedUserParams),
    responses((status = 200, description = "A page of deleted users", body = DeletedUserPage), ListErrors))]
pub async fn list_deleted(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiPath(domain): ApiPath<String>,
    ApiQuery(params): ApiQuery<DeletedUserParams>,
) -> ApiResult<Json<ListPage<DeletedUserView>>> {
    let page = state.app.deleted_users(&caller, &domain, params.limit.as_deref(), params.cursor.as_deref()).await?;
    Ok(Json(ListPage::of(page, |user| user)))
}

/// Brings a deleted user back as they were, with their own contacts, favorites, settings
/// and devices; 409 when their extension has been given to someone else since.
#[utoipa::path(post, path = "/api/v1/domains/{domain}/deleted-users/{id}/restore", operation_id = "restoreUser",
    tag = "users",
    params(("domain" = String, Path, description = "Domain name"), ("id" = Uuid, Path, description = "The deleted user's id")),
    responses((status = 200, description = "The restored user", body = User,
        headers(("ETag" = String, description = "The user's version"))), ActionErrors))]
pub async fn restore(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiPath((domain, id)): ApiPath<(String, Uuid)>,
) -> ApiResult<impl IntoResponse> {
    let user = state.app.restore_user(&caller, &domain, id).await?;
    Ok((etag_header(user.version), Json(user)))
}
