//! Caller-ID look-ups: for API users (`/api/v1/domains/{domain}/lookup`) and for phones
//! and PBXes holding a device credential (`/phonebook/{token}/lookup`).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use switchboard_app::LookupAnswer;
use utoipa::IntoParams;

use crate::AppState;
use crate::auth::Auth;
use crate::extract::{ApiPath, ApiQuery, ClientAddr};
use crate::problem::{ApiResult, ListErrors, Problem, Throttled};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LookupParams {
    /// The calling number, in any format (`+1 (206) 555-0100`, `2065550100`, `5550100`, `204`).
    #[param(required = true, max_length = 40, pattern = r"^[ +\-().,/#*xX]*[0-9][0-9 +\-().,/#*xX]*$")]
    pub number: Option<String>,
    /// Extension of the user being called, whose view is taken (default: the caller;
    /// providers without it get the domain's view).
    #[param(pattern = "^[0-9]{1,15}$")]
    pub user: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PhoneLookupParams {
    /// The calling number, in any format.
    #[param(required = true, max_length = 40, pattern = r"^[ +\-().,/#*xX]*[0-9][0-9 +\-().,/#*xX]*$")]
    pub number: Option<String>,
}

/// The name to show for an incoming call, from the called user's view (their own
/// contacts, then shared contacts, then coworkers), and whether the domain blocks the
/// number for them. Users look up for themselves; their managers and providers for anyone.
#[utoipa::path(get, path = "/api/v1/domains/{domain}/lookup", operation_id = "lookupNumber", tag = "caller id",
    params(("domain" = String, Path, description = "Domain name"), LookupParams),
    responses((status = 200, description = "Who is calling, by which rule, and whether it is blocked", body = LookupAnswer),
        ListErrors))]
pub async fn lookup(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiPath(domain): ApiPath<String>,
    ApiQuery(params): ApiQuery<LookupParams>,
) -> ApiResult<Json<LookupAnswer>> {
    let number = params.number.unwrap_or_default();
    Ok(Json(state.app.lookup(&caller, &domain, &number, params.user.as_deref()).await?))
}

/// The caller's name for a phone, authenticated by a device credential's URL token: plain
/// text (empty when unknown or ambiguous) for phones that show a name fetched from a URL,
/// or the whole answer as JSON when `Accept: application/json` asks for it (PBXes).
#[utoipa::path(get, path = "/phonebook/{token}/lookup", operation_id = "phonebookLookup", tag = "caller id",
    security(()),
    params(("token" = String, Path, description = "A device credential's URL token"), PhoneLookupParams),
    responses(
        (status = 200, description = "The name to show", content(
            (String = "text/plain", example = "Ann Archer"),
            (LookupAnswer = "application/json"))),
        (status = 401, description = "The token is unknown or revoked", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The device may not connect from this address", body = Problem, content_type = "application/problem+json"),
        Throttled))]
pub async fn phonebook(
    State(state): State<AppState>,
    ApiPath(token): ApiPath<String>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    ApiQuery(params): ApiQuery<PhoneLookupParams>,
) -> ApiResult<Response> {
    let reader = state.app.device_by_token(&token, client).await?;
    let answer = state.app.lookup_for_reader(&reader, &params.number.unwrap_or_default()).await?;
    if wants_json(&headers) {
        return Ok(Json(answer).into_response());
    }
    let content_type = [(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"))];
    Ok((content_type, answer.name.unwrap_or_default()).into_response())
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|accept| accept.split(',').any(|kind| kind.trim().starts_with("application/json")))
}
