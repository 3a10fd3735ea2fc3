//! Deleted contacts, until they are restored or purged.

use axum::Json;
use axum::extract::State;
use switchboard_app::ListParams;
use switchboard_core::model::ContactView;

use super::ListPage;
use crate::AppState;
use crate::auth::Auth;
use crate::docs::ContactPage;
use crate::extract::{ApiPath, ApiQuery};
use crate::problem::{ApiResult, ListErrors};

/// The domain's trash as the caller may see it: shared contacts for those who edit
/// them, and always the caller's own deleted contacts. Restore with `…/{id}/restore`.
#[utoipa::path(get, path = "/api/v1/domains/{domain}/trash", operation_id = "listTrash", tag = "trash",
    params(("domain" = String, Path, description = "Domain name"), ListParams),
    responses((status = 200, description = "A page of deleted contacts (with `deleted_at`)", body = ContactPage), ListErrors))]
pub async fn list(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiPath(domain): ApiPath<String>,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<ListPage<ContactView>>> {
    let page = state.app.trash(&caller, &domain, &params).await?;
    Ok(Json(ListPage::of(page, |contact| contact.view())))
}
