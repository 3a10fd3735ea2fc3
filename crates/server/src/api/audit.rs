//! A domain's audit log: who changed what, newest first.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use switchboard_core::model::AuditEntry;
use utoipa::IntoParams;

use super::ListPage;
use crate::AppState;
use crate::auth::Auth;
use crate::docs::AuditPage;
use crate::extract::{ApiPath, ApiQuery};
use crate::problem::{ApiResult, ListErrors};

/// Text, like every list parameter, so the app can name a bad one.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Page size, 1 to 500 (default 50).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 500)]
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    #[param(format = Uuid)]
    pub cursor: Option<String>,
}

/// The domain's audit log (office-managers and providers).
#[utoipa::path(get, path = "/api/v1/domains/{domain}/audit", operation_id = "listAudit", tag = "audit",
    params(("domain" = String, Path, description = "Domain name"), AuditParams),
    responses((status = 200, description = "A page of audit entries, newest first", body = AuditPage), ListErrors))]
pub async fn list(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiPath(domain): ApiPath<String>,
    ApiQuery(params): ApiQuery<AuditParams>,
) -> ApiResult<Json<ListPage<AuditEntry>>> {
    let page = state.app.audit_log(&caller, &domain, params.limit.as_deref(), params.cursor.as_deref()).await?;
    Ok(Json(ListPage::of(page, |entry| entry)))
}
