//! Webhooks: a domain's directory changes POSTed to an integration's URL, signed. The
//! rules (who may, which targets, delivery and retries) are in `app::webhooks`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use switchboard_app::{WebhookInput, WebhookUpdate, WebhookWithSecret};
use switchboard_core::model::Webhook;
use utoipa::ToSchema;
use uuid::Uuid;

use super::Items;
use crate::AppState;
use crate::auth::Auth;
use crate::extract::{ApiJson, ApiPath};
use crate::problem::{ActionErrors, ApiResult, ReadErrors, WriteErrors};

/// A domain's webhooks.
#[derive(ToSchema)]
#[allow(dead_code)] // documents `api::Items<Webhook>`, never built
pub struct WebhookList {
    items: Vec<Webhook>,
}

/// The domain's webhooks with their last delivery's outcome (office managers and
/// providers), never their secrets.
#[utoipa::path(get, path = "/api/v1/domains/{domain}/webhooks", operation_id = "listWebhooks", tag = "webhooks",
    params(("domain" = String, Path, description = "Domain name")),
    responses((status = 200, description = "The domain's webhooks", body = WebhookList), ReadErrors))]
pub async fn list(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiPath(domain): ApiPath<String>,
) -> ApiResult<Json<Items<Webhook>>> {
    Ok(Json(Items { items: state.app.list_webhooks(&caller, &domain).await? }))
}

/// Registers a webhook (at most 10 a domain): the changes made from now on are POSTed
/// to its URL, signed with its `secret`, which is in this answer only. A URL whose host
/// resolves to a loopback, private or link-local address is refused (422) unless the
/// operator allows them.
#[utoipa::path(post, path = "/api/v1/domains/{domain}/webhooks", operation_id = "createWebhook", tag = "webhooks",
    request_body = WebhookInput,
    params(("domain" = String, Path, description = "Domain name")),
    responses((status = 201, description = "Registered; keep the secret", body = WebhookWithSecret), WriteErrors))]
pub async fn create(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiPath(domain): ApiPath<String>,
    ApiJson(input): ApiJson<WebhookInput>,
) -> ApiResult<(StatusCode, Json<WebhookWithSecret>)> {
    Ok((StatusCode::CREATED, Json(state.app.create_webhook(&caller, &domain, input).await?)))
}

/// One webhook and its last delivery's outcome.
#[utoipa::path(get, path = "/api/v1/domains/{domain}/webhooks/{id}", operation_id = "getWebhook", tag = "webhooks",
    params(("domain" = String, Path, description = "Domain name"), ("id" = Uuid, Path, description = "The webhook's id")),
    responses((status = 200, description = "The webhook", body = Webhook), ReadErrors))]
pub async fn get(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiPath((domain, id)): ApiPath<(String, Uuid)>,
) -> ApiResult<Json<Webhook>> {
    Ok(Json(state.app.get_webhook(&caller, &domain, id).await?))
}

/// Changes a webhook's URL or kinds, or rotates its secret (`rotate_secret`: the new
/// one is in this answer only, and signs every delivery from now on).
#[utoipa::path(patch, path = "/api/v1/domains/{domain}/webhooks/{id}", operation_id = "updateWebhook", tag = "webhooks",
    request_body = WebhookUpdate,
    params(("domain" = String, Path, description = "Domain name"), ("id" = Uuid, Path, description = "The webhook's id")),
    responses((status = 200, description = "Changed", body = WebhookWithSecret), WriteErrors))]
pub async fn update(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiPath((domain, id)): ApiPath<(String, Uuid)>,
    ApiJson(input): ApiJson<WebhookUpdate>,
) -> ApiResult<Json<WebhookWithSecret>> {
    Ok(Json(state.app.update_webhook(&caller, &domain, id, input).await?))
}

/// Deletes a webhook: nothing more is delivered to it.
#[utoipa::path(delete, path = "/api/v1/domains/{domain}/webhooks/{id}", operation_id = "deleteWebhook", tag = "webhooks",
    params(("domain" = String, Path, description = "Domain name"), ("id" = Uuid, Path, description = "The webhook's id")),
    responses((status = 204, description = "Deleted"), ActionErrors))]
pub async fn delete(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiPath((domain, id)): ApiPath<(String, Uuid)>,
) -> ApiResult<StatusCode> {
    state.app.delete_webhook(&caller, &domain, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Resumes a webhook paused after failing too long: deliveries start again from the
/// first change it missed.
#[utoipa::path(post, path = "/api/v1/domains/{domain}/webhooks/{id}/resume", operation_id = "resumeWebhook", tag = "webhooks",
    params(("domain" = String, Path, description = "Domain name"), ("id" = Uuid, Path, description = "The webhook's id")),
    responses((status = 200, description = "Resumed", body = Webhook), ActionErrors))]
pub async fn resume(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiPath((domain, id)): ApiPath<(String, Uuid)>,
) -> ApiResult<Json<Webhook>> {
    Ok(Json(state.app.resume_webhook(&caller, &domain, id).await?))
}
