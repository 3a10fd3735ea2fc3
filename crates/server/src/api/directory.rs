//! The merged directory of one user (coworkers, shared and own contacts), their
//! favorites, and presence.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use switchboard_app::{FeedPage, ListParams, PresenceInput};
use switchboard_core::model::{DirectoryEntry, Presence};
use utoipa::IntoParams;
use uuid::Uuid;

use super::{Items, ListPage};
use crate::AppState;
use crate::auth::Auth;
use crate::docs::{DirectoryPage, NameList};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::problem::{ActionErrors, ApiResult, FeedErrors, ListErrors, ReadErrors, Throttled, WriteErrors};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GroupParam {
    /// `all` (default), `favorites`, `shared`, `mine`, `coworkers`, `department:NAME`,
    /// `site:NAME`, `available`, `busy` or `offline`.
    #[param(pattern = r"^(all|favorites|shared|mine|coworkers|available|busy|offline|(department|site):[\s\S]*)$")]
    pub group: Option<String>,
}

/// The directory as this user sees it; only the user themself may look.
#[utoipa::path(get, path = "/api/v1/domains/{domain}/users/{ext}/directory", operation_id = "getDirectory", tag = "directory",
    params(("domain" = String, Path, description = "Domain name"), ("ext" = String, Path, description = "The viewer's extension"),
        GroupParam, ListParams),
    responses((status = 200, description = "A page of directory entries", body = DirectoryPage), ListErrors))]
pub async fn list(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiPath((domain, ext)): ApiPath<(String, String)>,
    ApiQuery(group): ApiQuery<GroupParam>,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<ListPage<DirectoryEntry>>> {
    let group = group.group.unwrap_or_default();
    let page = state.app.directory(&caller, &domain, &ext, &group, &params).await?;
    Ok(Json(ListPage::of(page, |entry| entry)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeedParams {
    /// `next_cursor` of the previous page; none to read the whole directory first.
    pub cursor: Option<String>,
    /// Rows read at most (1 to 500, default 50); a page may hold fewer changes.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
}

/// What changed in this user's directory after `cursor`, in the order it was changed:
/// coworkers (with presence), shared and own contacts, stars. Without a cursor, the whole
/// directory, page after page, then a cursor for what follows. An entry the user may no
/// longer see is a `delete`. Keep asking while `has_more`; the event stream says when to
/// ask again. A cursor older than 30 days, another user's, or given before the user's
/// view changed (scope, site, sharing settings) answers 410: start again without one.
#[utoipa::path(get, path = "/api/v1/domains/{domain}/users/{ext}/directory/changes", operation_id = "getDirectoryChanges", tag = "directory",
    params(("domain" = String, Path, description = "Domain name"), ("ext" = String, Path, description = "The viewer's extension"),
        FeedParams),
    responses((status = 200, description = "A page of changes", body = FeedPage), FeedErrors))]
pub async fn changes(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiPath((domain, ext)): ApiPath<(String, String)>,
    ApiQuery(params): ApiQuery<FeedParams>,
) -> ApiResult<Json<FeedPage>> {
    let cursor = params.cursor.as_deref();
    Ok(Json(state.app.directory_changes(&caller, &domain, &ext, cursor, params.limit).await?))
}

/// Departments of the domain's listed users, for the directory's group filter.
#[utoipa::path(get, path = "/api/v1/domains/{domain}/users/{ext}/directory/departments", operation_id = "listDepartments", tag = "directory",
    params(("domain" = String, Path, description = "Domain name"), ("ext" = String, Path, description = "The viewer's extension")),
    responses((status = 200, description = "Department names, sorted", body = NameList), ReadErrors))]
pub async fn departments(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiPath((domain, ext)): ApiPath<(String, String)>,
) -> ApiResult<Json<Items<String>>> {
    Ok(Json(Items { items: state.app.departments(&caller, &domain, &ext).await? }))
}

/// Sites of the domain's listed users, for the directory's group filter.
#[utoipa::path(get, path = "/api/v1/domains/{domain}/users/{ext}/directory/sites", operation_id = "listSites", tag = "directory",
    params(("domain" = String, Path, description = "Domain name"), ("ext" = String, Path, description = "The viewer's extension")),
    responses((status = 200, description = "Site names, sorted", body = NameList), ReadErrors))]
pub async fn sites(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiPath((domain, ext)): ApiPath<(String, String)>,
) -> ApiResult<Json<Items<String>>> {
    Ok(Json(Items { items: state.app.sites(&caller, &domain, &ext).await? }))
}

/// Stars a directory entry (a coworker, shared or own contact the user can see).
#[utoipa::path(put, path = "/api/v1/domains/{domain}/users/{ext}/favorites/{entry_id}", operation_id = "addFavorite", tag = "directory",
    params(("domain" = String, Path, description = "Domain name"), ("ext" = String, Path, description = "The user's extension"),
        ("entry_id" = Uuid, Path, description = "The directory entry's id")),
    responses((status = 204, description = "Starred"), ActionErrors))]
pub async fn favorite(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiPath((domain, ext, entry)): ApiPath<(String, String, Uuid)>,
) -> ApiResult<StatusCode> {
    state.app.set_favorite(&caller, &domain, &ext, entry, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Unstars a directory entry.
#[utoipa::path(delete, path = "/api/v1/domains/{domain}/users/{ext}/favorites/{entry_id}", operation_id = "removeFavorite", tag = "directory",
    params(("domain" = String, Path, description = "Domain name"), ("ext" = String, Path, description = "The user's extension"),
        ("entry_id" = Uuid, Path, description = "The directory entry's id")),
    responses((status = 204, description = "Unstarred"), ActionErrors))]
pub async fn unfavorite(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiPath((domain, ext, entry)): ApiPath<(String, String, Uuid)>,
) -> ApiResult<StatusCode> {
    state.app.set_favorite(&caller, &domain, &ext, entry, false).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sets a user's presence by hand (the user, their managers, or a provider). A state set
/// by hand as `busy` or `offline` wins over the line a PBX reports; `available` lets a
/// busy line show busy. It lasts until cleared (`DELETE`), or, for `busy_until`, until then.
#[utoipa::path(put, path = "/api/v1/domains/{domain}/users/{ext}/presence", operation_id = "setPresence", tag = "directory", request_body = PresenceInput,
    params(("domain" = String, Path, description = "Domain name"), ("ext" = String, Path, description = "The user's extension")),
    responses((status = 200, description = "The presence now shown", body = Presence), WriteErrors, Throttled))]
pub async fn presence(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiPath((domain, ext)): ApiPath<(String, String)>,
    ApiJson(input): ApiJson<PresenceInput>,
) -> ApiResult<Json<Presence>> {
    Ok(Json(state.app.set_presence(&caller, &domain, &ext, input).await?))
}
