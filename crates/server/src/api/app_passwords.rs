//! App passwords: one secret per address-book app (CardDAV) and device, made by the user
//! themself, listed with its last use, revocable (by the user, and by the domain's
//! managers as a security response). The rules are in `app::app_passwords`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use switchboard_app::{AppPasswordInput, CreatedAppPassword};
use switchboard_core::model::AppPassword;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Items, location, segment};
use crate::AppState;
use crate::auth::Auth;
use crate::extract::{ApiJson, ApiPath};
use crate::problem::{ActionErrors, ApiResult, ListErrors, WriteErrors};

/// A user's app passwords.
#[derive(ToSchema)]
#[allow(dead_code)] // documents `api::Items<AppPassword>`, never built
pub struct AppPasswordList {
    items: Vec<AppPassword>,
}

/// The user's app passwords, oldest first, with their last use (never their secrets):
/// to the user, and to the domain's office managers and providers.
#[utoipa::path(get, path = "/api/v1/domains/{domain}/users/{ext}/app-passwords", operation_id = "listAppPasswords", tag = "app passwords",
    params(("domain" = String, Path, description = "Domain name"), ("ext" = String, Path, description = "The user's extension")),
    responses((status = 200, description = "The user's app passwords", body = AppPasswordList), ListErrors))]
pub async fn list(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiPath((domain, ext)): ApiPath<(String, String)>,
) -> ApiResult<Json<Items<AppPassword>>> {
    Ok(Json(Items { items: state.app.list_app_passwords(&caller, &domain, &ext).await? }))
}

/// Makes an app password for one address-book app; only the user themself may (403 to
/// their managers). The `secret` is in this answer only. At most 20 a user (409).
#[utoipa::path(post, path = "/api/v1/domains/{domain}/users/{ext}/app-passwords", operation_id = "createAppPassword", tag = "app passwords",
    request_body = AppPasswordInput,
    params(("domain" = String, Path, description = "Domain name"), ("ext" = String, Path, description = "The user's extension")),
    responses((status = 201, description = "Made; type the secret into the app", body = CreatedAppPassword,
        headers(("Location" = String, description = "The app password's URL"))), WriteErrors))]
pub async fn create(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiPath((domain, ext)): ApiPath<(String, String)>,
    ApiJson(input): ApiJson<AppPasswordInput>,
) -> ApiResult<impl IntoResponse> {
    let created = state.app.create_app_password(&caller, &domain, &ext, input).await?;
    let id = created.app_password.id;
    let url = format!("/api/v1/domains/{}/users/{}/app-passwords/{id}", segment(&domain), segment(&ext));
    Ok((StatusCode::CREATED, [location(url)], Json(created)))
}

/// Revokes an app password: the app's next request is refused.
#[utoipa::path(delete, path = "/api/v1/domains/{domain}/users/{ext}/app-passwords/{id}", operation_id = "revokeAppPassword", tag = "app passwords",
    params(("domain" = String, Path, description = "Domain name"), ("ext" = String, Path, description = "The user's extension"),
        ("id" = Uuid, Path, description = "The app password's id")),
    responses((status = 204, description = "Revoked"), ActionErrors))]
pub async fn revoke(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiPath((domain, ext, id)): ApiPath<(String, String, Uuid)>,
) -> ApiResult<StatusCode> {
    state.app.revoke_app_password(&caller, &domain, &ext, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
