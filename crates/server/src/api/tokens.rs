//! The caller's own API tokens.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use switchboard_app::Caller;
use switchboard_app::NewApiToken;
use switchboard_core::model::{Token, User};
use utoipa::ToSchema;
use uuid::Uuid;

use super::Items;
use crate::AppState;
use crate::auth::Auth;
use crate::docs::TokenList;
use crate::extract::{ApiJson, ApiPath};
use crate::problem::{ActionErrors, ApiResult, Problem, ReadErrors, WriteErrors};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenInput {
    /// What the token is for, such as `PBX presence`.
    #[schema(
        max_length = 100,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub name: String,
}

/// Tokens belong to a user; the operator's CLI never comes through HTTP.
fn user_of(caller: &Caller) -> ApiResult<&User> {
    match caller {
        Caller::User { user, .. } => Ok(user),
        Caller::System | Caller::Pbx { .. } => Err(Problem::not_found()),
    }
}

/// The caller's API tokens (never their secrets).
#[utoipa::path(get, path = "/api/v1/tokens", operation_id = "listTokens", tag = "tokens",
    responses((status = 200, description = "The caller's API tokens", body = TokenList), ReadErrors))]
pub async fn list(State(state): State<AppState>, Auth(caller): Auth) -> ApiResult<Json<Items<Token>>> {
    let items = state.app.list_api_tokens(&caller, user_of(&caller)?).await?;
    Ok(Json(Items { items }))
}

/// Creates an API token; its `secret` is shown in this answer only.
#[utoipa::path(post, path = "/api/v1/tokens", operation_id = "createToken", tag = "tokens", request_body = TokenInput,
    responses((status = 201, description = "Created; keep the secret", body = NewApiToken), WriteErrors))]
pub async fn create(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiJson(input): ApiJson<TokenInput>,
) -> ApiResult<(StatusCode, Json<NewApiToken>)> {
    let token = state.app.create_api_token(&caller, user_of(&caller)?, &input.name).await?;
    Ok((StatusCode::CREATED, Json(token)))
}

/// Revokes one of the caller's API tokens.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", operation_id = "revokeToken", tag = "tokens",
    params(("id" = Uuid, Path, description = "The token's id")),
    responses((status = 204, description = "Revoked"), ActionErrors))]
pub async fn revoke(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    state.app.revoke_api_token(&caller, user_of(&caller)?, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
