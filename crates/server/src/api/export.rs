//! File exports: shared contacts, or a group of a user's directory, as Outlook CSV,
//! Google CSV or vCard, streamed page by page.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde::Deserialize;
use switchboard_app::{AppError, Export, ExportSource, parse_export_format};
use utoipa::IntoParams;

use crate::AppState;
use crate::auth::Auth;
use crate::extract::{ApiPath, ApiQuery};
use crate::problem::{ApiResult, ListErrors};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// `outlook`, `google`, `vcard` (3.0, the default; also `vcard3`) or `vcard4`.
    #[param(pattern = "^(outlook|google|vcard|vcard3|vcard4)$")]
    pub format: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DirectoryExportParams {
    /// `outlook`, `google`, `vcard` (3.0, the default; also `vcard3`) or `vcard4`.
    #[param(pattern = "^(outlook|google|vcard|vcard3|vcard4)$")]
    pub format: Option<String>,
    /// `all` (default), `favorites`, `shared`, `mine`, `coworkers`, `department:NAME`,
    /// `site:NAME`, `available`, `busy` or `offline`.
    #[param(pattern = r"^(all|favorites|shared|mine|coworkers|available|busy|offline|(department|site):[\s\S]*)$")]
    pub group: Option<String>,
}

/// The domain's shared contacts as a file; with none, the header alone (a template to fill in).
#[utoipa::path(get, path = "/api/v1/domains/{domain}/shared-contacts/export", operation_id = "exportSharedContacts", tag = "shared contacts",
    params(("domain" = String, Path, description = "Domain name"), ExportParams),
    responses((status = 200, description = "The file (`Content-Disposition: attachment`): CSV for `outlook` and `google`, vCard otherwise",
        content((String = "text/csv"), (String = "text/vcard"))), ListErrors))]
pub async fn shared(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiPath(domain): ApiPath<String>,
    ApiQuery(params): ApiQuery<ExportParams>,
) -> ApiResult<Response> {
    let format = parse_export_format(params.format.as_deref()).map_err(AppError::from)?;
    let export = state.app.export(&caller, &ExportSource::Shared { domain }, format).await?;
    Ok(file(export))
}

/// One group of the user's directory as a file; coworkers carry their extension as work number.
#[utoipa::path(get, path = "/api/v1/domains/{domain}/users/{ext}/directory/export", operation_id = "exportDirectory", tag = "directory",
    params(("domain" = String, Path, description = "Domain name"), ("ext" = String, Path, description = "The user's extension"), DirectoryExportParams),
    responses((status = 200, description = "The file (`Content-Disposition: attachment`): CSV for `outlook` and `google`, vCard otherwise",
        content((String = "text/csv"), (String = "text/vcard"))), ListErrors))]
pub async fn directory(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiPath((domain, extension)): ApiPath<(String, String)>,
    ApiQuery(params): ApiQuery<DirectoryExportParams>,
) -> ApiResult<Response> {
    let format = parse_export_format(params.format.as_deref()).map_err(AppError::from)?;
    let group = params.group.unwrap_or_default();
    let export = state.app.export(&caller, &ExportSource::Directory { domain, extension, group }, format).await?;
    Ok(file(export))
}

/// Streams the file. A failure half-way can no longer change the status: it is
/// logged and the connection closed, so the client sees a cut-off download.
fn file(export: Export) -> Response {
    let disposition = format!("attachment; filename=\"{}\"", export.file_name);
    let body = Body::from_stream(
        export.chunks.map(|chunk| chunk.inspect_err(|error| tracing::error!(%error, "export failed half-way"))),
    );
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static(export.format.content_type())),
        (header::CONTENT_DISPOSITION, HeaderValue::from_str(&disposition).expect("the file name is sanitised")),
    ];
    (headers, body).into_response()
}
