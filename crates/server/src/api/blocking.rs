//! Call blocking: a domain's blocked numbers and prefixes, and each user's allow list.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use switchboard_app::{AllowedNumberInput, AllowedNumberView, BlockedNumberInput, BlockedNumberView};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{ListPage, location, segment};
use crate::AppState;
use crate::auth::Auth;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::problem::{ActionErrors, ApiResult, ListErrors, WriteErrors};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Page size, 1 to 500 (default 50).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 500)]
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    #[param(min_length = 1)]
    pub cursor: Option<String>,
}

/// A page of a domain's block list, by pattern.
#[derive(ToSchema)]
#[allow(dead_code)] // documents `ListPage<BlockedNumberView>`, never built
pub struct BlockedNumberPage {
    items: Vec<BlockedNumberView>,
    /// Pass as `cursor` for the next page; null on the last one.
    #[schema(required = true)]
    next_cursor: Option<String>,
}

/// A page of a user's allow list, by number.
#[derive(ToSchema)]
#[allow(dead_code)] // documents `ListPage<AllowedNumberView>`, never built
pub struct AllowedNumberPage {
    items: Vec<AllowedNumberView>,
    /// Pass as `cursor` for the next page; null on the last one.
    #[schema(required = true)]
    next_cursor: Option<String>,
}

/// The numbers and prefixes the domain blocks; everyone in the domain may read them.
#[utoipa::path(get, path = "/api/v1/domains/{domain}/blocked-numbers", operation_id = "listBlockedNumbers", tag = "call blocking",
    params(("domain" = String, Path, description = "Domain name"), PageParams),
    responses((status = 200, description = "A page of blocked numbers and prefixes", body = BlockedNumberPage), ListErrors))]
pub async fn list_blocked(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiPath(domain): ApiPath<String>,
    ApiQuery(params): ApiQuery<PageParams>,
) -> ApiResult<Json<ListPage<BlockedNumberView>>> {
    let page =
        state.app.list_blocked_numbers(&caller, &domain, params.limit.as_deref(), params.cursor.as_deref()).await?;
    Ok(Json(ListPage::of(page, |entry| entry)))
}

/// Blocks a number (`number`, in any format) or every number starting with a `prefix`
/// (`+1900`), for the whole domain (those who manage its settings).
#[utoipa::path(post, path = "/api/v1/domains/{domain}/blocked-numbers", operation_id = "addBlockedNumber", tag = "call blocking",
    request_body = BlockedNumberInput,
    params(("domain" = String, Path, description = "Domain name")),
    responses((status = 201, description = "Blocked", body = BlockedNumberView,
        headers(("Location" = String, description = "The entry's URL"))), WriteErrors))]
pub async fn add_blocked(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiPath(domain): ApiPath<String>,
    ApiJson(input): ApiJson<BlockedNumberInput>,
) -> ApiResult<impl IntoResponse> {
    let entry = state.app.add_blocked_number(&caller, &domain, input).await?;
    let url = format!("/api/v1/domains/{}/blocked-numbers/{}", segment(&domain), entry.id);
    Ok((StatusCode::CREATED, [location(url)], Json(entry)))
}

/// Unblocks a number or prefix.
#[utoipa::path(delete, path = "/api/v1/domains/{domain}/blocked-numbers/{id}", operation_id = "removeBlockedNumber", tag = "call blocking",
    params(("domain" = String, Path, description = "Domain name"), ("id" = Uuid, Path, description = "The entry's id")),
    responses((status = 204, description = "Removed"), ActionErrors))]
pub async fn remove_blocked(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiPath((domain, id)): ApiPath<(String, Uuid)>,
) -> ApiResult<StatusCode> {
    state.app.delete_blocked_number(&caller, &domain, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The numbers this user lets ring through although the domain blocks them (the user
/// and those who manage them).
#[utoipa::path(get, path = "/api/v1/domains/{domain}/users/{ext}/allowed-numbers", operation_id = "listAllowedNumbers", tag = "call blocking",
    params(("domain" = String, Path, description = "Domain name"), ("ext" = String, Path, description = "The user's extension"),
        PageParams),
    responses((status = 200, description = "A page of allowed numbers", body = AllowedNumberPage), ListErrors))]
pub async fn list_allowed(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiPath((domain, ext)): ApiPath<(String, String)>,
    ApiQuery(params): ApiQuery<PageParams>,
) -> ApiResult<Json<ListPage<AllowedNumberView>>> {
    let (limit, cursor) = (params.limit.as_deref(), params.cursor.as_deref());
    let page = state.app.list_allowed_numbers(&caller, &domain, &ext, limit, cursor).await?;
    Ok(Json(ListPage::of(page, |entry| entry)))
}

/// Lets a number through the domain's block list for this user.
#[utoipa::path(post, path = "/api/v1/domains/{domain}/users/{ext}/allowed-numbers", operation_id = "addAllowedNumber", tag = "call blocking",
    request_body = AllowedNumberInput,
    params(("domain" = String, Path, description = "Domain name"), ("ext" = String, Path, description = "The user's extension")),
    responses((status = 201, description = "Allowed", body = AllowedNumberView,
        headers(("Location" = String, description = "The entry's URL"))), WriteErrors))]
pub async fn add_allowed(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiPath((domain, ext)): ApiPath<(String, String)>,
    ApiJson(input): ApiJson<AllowedNumberInput>,
) -> ApiResult<impl IntoResponse> {
    let entry = state.app.add_allowed_number(&caller, &domain, &ext, input).await?;
    let url = format!("/api/v1/domains/{}/users/{}/allowed-numbers/{}", segment(&domain), segment(&ext), entry.id);
    Ok((StatusCode::CREATED, [location(url)], Json(entry)))
}

/// Takes a number off the user's allow list.
#[utoipa::path(delete, path = "/api/v1/domains/{domain}/users/{ext}/allowed-numbers/{id}", operation_id = "removeAllowedNumber", tag = "call blocking",
    params(("domain" = String, Path, description = "Domain name"), ("ext" = String, Path, description = "The user's extension"),
        ("id" = Uuid, Path, description = "The entry's id")),
    responses((status = 204, description = "Removed"), ActionErrors))]
pub async fn remove_allowed(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiPath((domain, ext, id)): ApiPath<(String, String, Uuid)>,
) -> ApiResult<StatusCode> {
    state.app.delete_allowed_number(&caller, &domain, &ext, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
