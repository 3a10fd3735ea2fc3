//! Domains (tenants).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use switchboard_app::{DomainInput, DomainPatchInput, DomainView, ListParams};

use super::{ListPage, location, segment};
use crate::AppState;
use crate::auth::Auth;
use crate::docs::DomainPage;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::problem::{ActionErrors, ApiResult, ListErrors, ReadErrors, WriteErrors};

/// Domains the caller can reach: every one for super-users, their reseller's for resellers, else their own.
#[utoipa::path(get, path = "/api/v1/domains", operation_id = "listDomains", tag = "domains", params(ListParams),
    responses((status = 200, description = "A page of domains", body = DomainPage), ListErrors))]
pub async fn list(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<impl IntoResponse> {
    let page = state.app.list_domains(&caller, &params).await?;
    Ok(Json(ListPage::of(page, |domain| domain)))
}

/// Creates a domain (super-users, and resellers within their reseller).
#[utoipa::path(post, path = "/api/v1/domains", operation_id = "createDomain", tag = "domains", request_body = DomainInput,
    responses((status = 201, description = "Created", body = DomainView,
        headers(("Location" = String, description = "The new domain's URL"))), WriteErrors))]
pub async fn create(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiJson(input): ApiJson<DomainInput>,
) -> ApiResult<impl IntoResponse> {
    let view = state.app.create_domain(&caller, input).await?;
    let url = format!("/api/v1/domains/{}", segment(view.domain.name.as_str()));
    Ok((StatusCode::CREATED, [location(url)], Json(view)))
}

#[utoipa::path(get, path = "/api/v1/domains/{domain}", operation_id = "getDomain", tag = "domains",
    params(("domain" = String, Path, description = "Domain name, such as `acme.example`")),
    responses((status = 200, description = "The domain", body = DomainView), ReadErrors))]
pub async fn get(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiPath(domain): ApiPath<String>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(state.app.get_domain(&caller, &domain).await?))
}

/// Changes a domain's description or default country; providers may also move it to another reseller.
#[utoipa::path(patch, path = "/api/v1/domains/{domain}", operation_id = "updateDomain", tag = "domains", request_body = DomainPatchInput,
    params(("domain" = String, Path, description = "Domain name")),
    responses((status = 200, description = "The changed domain", body = DomainView), WriteErrors))]
pub async fn update(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiPath(domain): ApiPath<String>,
    ApiJson(patch): ApiJson<DomainPatchInput>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(state.app.update_domain(&caller, &domain, patch).await?))
}

/// Deletes a domain and everything in it (providers, not from inside the domain itself).
#[utoipa::path(delete, path = "/api/v1/domains/{domain}", operation_id = "deleteDomain", tag = "domains",
    params(("domain" = String, Path, description = "Domain name")),
    responses((status = 204, description = "Deleted"), ActionErrors))]
pub async fn delete(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiPath(domain): ApiPath<String>,
) -> ApiResult<StatusCode> {
    state.app.delete_domain(&caller, &domain).await?;
    Ok(StatusCode::NO_CONTENT)
}
