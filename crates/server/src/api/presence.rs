//! Presence fed by reality: line states from a phone system's PBX credential, the
//! credentials themselves, a person's activity (chat away), and clearing a state set by
//! hand. The rules are in `app::presence` and `core::model::Presence`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use switchboard_app::{LinesInput, LinesReport, NewPbxToken};
use switchboard_core::model::{PbxCredential, Presence};
use utoipa::ToSchema;
use uuid::Uuid;

use super::Items;
use crate::AppState;
use crate::auth::Auth;
use crate::extract::{ApiJson, ApiPath};
use crate::problem::{ActionErrors, ApiResult, ReadErrors, Throttled, WriteErrors};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PbxCredentialInput {
    /// What the credential is for, such as `Main office PBX`.
    #[schema(
        max_length = 100,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub name: String,
}

/// A domain's PBX credentials.
#[derive(ToSchema)]
#[allow(dead_code)] // documents `api::Items<PbxCredential>`, never built
pub struct PbxCredentialList {
    items: Vec<PbxCredential>,
}

/// Reports the line state of users of the domain, up to 500 at once, with a PBX
/// credential of the domain (`Authorization: Bearer sbp_…`). A malformed line refuses
/// the whole batch (422, naming it); an extension that is no user is reported in its
/// line and the others are recorded. A line ringing, on a call, on hold or on
/// do-not-disturb shows its user busy; an idle one available, unless the person set a
/// state by hand (busy and offline set by hand win). Too many calls for one domain: 429.
#[utoipa::path(post, path = "/api/v1/domains/{domain}/presence/lines", operation_id = "reportLines", tag = "presence",
    request_body = LinesInput,
    params(("domain" = String, Path, description = "Domain name")),
    responses((status = 200, description = "What became of each line", body = LinesReport), ReadErrors, Throttled))]
pub async fn lines(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiPath(domain): ApiPath<String>,
    ApiJson(input): ApiJson<LinesInput>,
) -> ApiResult<Json<LinesReport>> {
    Ok(Json(state.app.report_lines(&caller, &domain, input).await?))
}

/// Clears the state, chat and message set by hand (the user and their managers): the
/// presence follows the line and the person's sessions again.
#[utoipa::path(delete, path = "/api/v1/domains/{domain}/users/{ext}/presence", operation_id = "clearPresence", tag = "presence",
    params(("domain" = String, Path, description = "Domain name"), ("ext" = String, Path, description = "The user's extension")),
    responses((status = 200, description = "The presence now shown", body = Presence), ReadErrors, Throttled))]
pub async fn clear(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiPath((domain, ext)): ApiPath<(String, String)>,
) -> ApiResult<Json<Presence>> {
    Ok(Json(state.app.clear_presence(&caller, &domain, &ext).await?))
}

/// The caller did something (a key press, a click): while one of their sessions is
/// open they are available to chat, not away. Clients send it on input, at most about
/// once a minute; opening an event stream counts too.
#[utoipa::path(post, path = "/api/v1/domains/{domain}/users/{ext}/presence/activity", operation_id = "reportActivity", tag = "presence",
    params(("domain" = String, Path, description = "Domain name"), ("ext" = String, Path, description = "The caller's extension")),
    responses((status = 204, description = "Recorded"), ReadErrors))]
pub async fn activity(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiPath((domain, ext)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    state.app.presence_activity(&caller, &domain, &ext).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The domain's PBX credentials (office managers and providers), never their secrets.
#[utoipa::path(get, path = "/api/v1/domains/{domain}/pbx-credentials", operation_id = "listPbxCredentials", tag = "presence",
    params(("domain" = String, Path, description = "Domain name")),
    responses((status = 200, description = "The domain's PBX credentials", body = PbxCredentialList), ReadErrors))]
pub async fn list_credentials(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiPath(domain): ApiPath<String>,
) -> ApiResult<Json<Items<PbxCredential>>> {
    Ok(Json(Items { items: state.app.list_pbx_credentials(&caller, &domain).await? }))
}

/// Creates a PBX credential (office managers and providers): it reports the domain's
/// line states and can do nothing else. Its `secret` is in this answer only.
#[utoipa::path(post, path = "/api/v1/domains/{domain}/pbx-credentials", operation_id = "createPbxCredential", tag = "presence",
    request_body = PbxCredentialInput,
    params(("domain" = String, Path, description = "Domain name")),
    responses((status = 201, description = "Created; keep the secret", body = NewPbxToken), WriteErrors))]
pub async fn create_credential(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiPath(domain): ApiPath<String>,
    ApiJson(input): ApiJson<PbxCredentialInput>,
) -> ApiResult<(StatusCode, Json<NewPbxToken>)> {
    let created = state.app.create_pbx_credential(&caller, &domain, &input.name).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Revokes a PBX credential: refused from its next request on.
#[utoipa::path(delete, path = "/api/v1/domains/{domain}/pbx-credentials/{id}", operation_id = "revokePbxCredential", tag = "presence",
    params(("domain" = String, Path, description = "Domain name"), ("id" = Uuid, Path, description = "The credential's id")),
    responses((status = 204, description = "Revoked"), ActionErrors))]
pub async fn revoke_credential(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiPath((domain, id)): ApiPath<(String, Uuid)>,
) -> ApiResult<StatusCode> {
    state.app.revoke_pbx_credential(&caller, &domain, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
