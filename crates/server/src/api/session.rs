//! Logging in and out.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use switchboard_app::{Caller, Login};
use switchboard_core::model::User;
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::{Auth, cleared_cookie_header, session_cookie_header};
use crate::extract::{ApiJson, ClientAddr};
use crate::problem::{ApiResult, LoginErrors, Problem, ReadErrors};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginInput {
    /// `extension@domain`, such as `200@acme.example`.
    #[schema(example = "200@acme.example")]
    pub username: String,
    pub password: String,
}

/// Who the session belongs to.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionInfo {
    pub user: User,
    /// The user's domain name.
    pub domain: String,
}

/// Logs in; answers the token and sets it as the `sb_session` cookie.
///
/// A wrong user and a wrong password answer the same. Repeated failures slow the next
/// attempts, then lock the account and the client address for a while (429).
#[utoipa::path(post, path = "/api/v1/session", operation_id = "login", tag = "session", security(()),
    request_body = LoginInput,
    responses(
        (status = 200, description = "Logged in", body = Login,
            headers(("Set-Cookie" = String, description = "`sb_session=<token>; HttpOnly; SameSite=Strict; Path=/`"))),
        LoginErrors,
    ))]
pub async fn login(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    ApiJson(input): ApiJson<LoginInput>,
) -> ApiResult<impl IntoResponse> {
    let login = state.app.login(&input.username, &input.password, client).await?;
    let cookie = session_cookie_header(&login.token, state.config.secure_cookies);
    Ok(([(header::SET_COOKIE, cookie)], Json(login)))
}

/// The logged-in user and their domain.
#[utoipa::path(get, path = "/api/v1/session", operation_id = "getSession", tag = "session",
    responses((status = 200, description = "The caller", body = SessionInfo), ReadErrors))]
pub async fn current(Auth(caller): Auth) -> ApiResult<Json<SessionInfo>> {
    match caller {
        Caller::User { user, domain, .. } => Ok(Json(SessionInfo { user: *user, domain: domain.name.to_string() })),
        Caller::System | Caller::Pbx { .. } => Err(Problem::not_found()),
    }
}

/// Logs out: ends the session (or revokes the bearer token used) and clears the cookie.
#[utoipa::path(delete, path = "/api/v1/session", operation_id = "logout", tag = "session",
    responses((status = 204, description = "Logged out"), ReadErrors))]
pub async fn logout(State(state): State<AppState>, Auth(caller): Auth) -> ApiResult<impl IntoResponse> {
    state.app.logout(&caller).await?;
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cleared_cookie_header(state.config.secure_cookies))]))
}

/// Signs out everywhere: ends every session of the caller (this one too) and revokes
/// all their API tokens, and clears the cookie.
#[utoipa::path(delete, path = "/api/v1/session/everywhere", operation_id = "signOutEverywhere", tag = "session",
    responses((status = 204, description = "Every session ended and every API token revoked"), ReadErrors))]
pub async fn sign_out_everywhere(State(state): State<AppState>, Auth(caller): Auth) -> ApiResult<impl IntoResponse> {
    state.app.sign_out_everywhere(&caller).await?;
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cleared_cookie_header(state.config.secure_cookies))]))
}
