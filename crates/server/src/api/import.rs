//! File imports into shared or personal contacts: the body is the file (raw, or the
//! multipart form field `file`), spooled to a temporary file so memory stays bounded,
//! once the caller is known to be allowed and the server has room for one more import
//! (else 429 with `Retry-After`).

use std::io::{Seek, Write};

use axum::Json;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header;
use futures::{Stream, StreamExt};
use serde::Deserialize;
use switchboard_app::{AppError, BookRef, ImportReport, parse_import_options};
use switchboard_core::Invalid;
use utoipa::IntoParams;

use crate::AppState;
use crate::auth::Auth;
use crate::extract::{ApiPath, ApiQuery};
use crate::problem::{ApiResult, ImportErrors, Problem, too_large};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportParams {
    /// `auto` (default: detected from the content), `outlook`, `google` or `vcard`.
    #[param(pattern = "^(auto|outlook|google|vcard)$")]
    pub format: Option<String>,
    /// `upsert` (default), `add` or `replace` (contacts not in the file go to the trash).
    #[param(pattern = "^(upsert|add|replace)$")]
    pub mode: Option<String>,
    /// `true`: answer what would happen, row by row, and write nothing.
    #[param(value_type = Option<bool>)]
    pub dry_run: Option<String>,
    /// `true`: write nothing when any row is rejected.
    #[param(value_type = Option<bool>)]
    pub strict: Option<String>,
}

/// Documents the raw body: a contacts file, never empty.
pub struct ImportFile;

impl utoipa::PartialSchema for ImportFile {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        let text = utoipa::openapi::ObjectBuilder::new().schema_type(utoipa::openapi::schema::Type::String);
        text.min_length(Some(1)).into()
    }
}

impl utoipa::ToSchema for ImportFile {}

/// Imports a file into the domain's shared contacts.
#[utoipa::path(post, path = "/api/v1/domains/{domain}/shared-contacts/import", operation_id = "importSharedContacts", tag = "shared contacts",
    params(("domain" = String, Path, description = "Domain name"), ImportParams),
    request_body(content = ImportFile, description = "The Outlook CSV, Google CSV or vCard file", content_type = "text/csv"),
    responses((status = 200, description = "What the import did, or would do", body = ImportReport), ImportErrors))]
pub async fn shared(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiPath(domain): ApiPath<String>,
    ApiQuery(params): ApiQuery<ImportParams>,
    request: Request,
) -> ApiResult<Json<ImportReport>> {
    import(&state, &caller, BookRef::Shared { domain }, params, request).await
}

/// Imports a file into a user's own contacts.
#[utoipa::path(post, path = "/api/v1/domains/{domain}/users/{ext}/contacts/import", operation_id = "importPersonalContacts", tag = "personal contacts",
    params(("domain" = String, Path, description = "Domain name"), ("ext" = String, Path, description = "The owner's extension"), ImportParams),
    request_body(content = ImportFile, description = "The Outlook CSV, Google CSV or vCard file", content_type = "text/csv"),
    responses((status = 200, description = "What the import did, or would do", body = ImportReport), ImportErrors))]
pub async fn personal(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiPath((domain, extension)): ApiPath<(String, String)>,
    ApiQuery(params): ApiQuery<ImportParams>,
    request: Request,
) -> ApiResult<Json<ImportReport>> {
    import(&state, &caller, BookRef::Personal { domain, extension }, params, request).await
}

async fn import(
    state: &AppState,
    caller: &switchboard_app::Caller,
    book: BookRef,
    params: ImportParams,
    request: Request,
) -> ApiResult<Json<ImportReport>> {
    let dry_run = flag("dry_run", params.dry_run.as_deref())?;
    let strict = flag("strict", params.strict.as_deref())?;
    let options = parse_import_options(params.format.as_deref(), params.mode.as_deref(), dry_run, strict)
        .map_err(AppError::from)?;
    // Who may import, and whether the server has room for it, is settled before the
    // body is read: a refused caller's upload is never stored.
    let permit = state.app.admit_import(caller, &book).await?;
    let file = spool(request, state.config.max_import_bytes).await?;
    Ok(Json(state.app.run_import(caller, permit, Box::new(file), options).await?))
}

fn flag(field: &str, value: Option<&str>) -> Result<bool, Problem> {
    match value.unwrap_or("false") {
        "false" => Ok(false),
        "true" => Ok(true),
        other => Err(AppError::from(Invalid::field(field, format!("`{other}` is not true or false"))).into()),
    }
}

/// Copies the upload to a temporary file (deleted when dropped), refusing it with 413
/// as soon as it is known to be over the limit.
async fn spool(request: Request, limit: usize) -> Result<std::fs::File, Problem> {
    let declared = request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    if declared.is_some_and(|length| length > limit) {
        return Err(too_large());
    }
    let boundary = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| multer::parse_boundary(v).ok());
    let mut file = tempfile::tempfile().map_err(|_| Problem::internal())?;
    if let Some(boundary) = boundary {
        let body = Body::into_data_stream(request.into_body());
        let mut form = multer::Multipart::new(body, boundary);
        loop {
            let field = form.next_field().await.map_err(|e| Problem::malformed(e.to_string()))?;
            let Some(field) = field else {
                return Err(AppError::from(Invalid::field("file", "the form has no `file` field")).into());
            };
            if field.name() == Some("file") {
                copy(field.map(|chunk| chunk.map_err(|e| e.to_string())), &mut file, limit).await?;
                break;
            }
        }
    } else {
        let body = Body::into_data_stream(request.into_body());
        copy(body.map(|chunk| chunk.map_err(|e| e.to_string())), &mut file, limit).await?;
    }
    file.rewind().map_err(|_| Problem::internal())?;
    Ok(file)
}

async fn copy(
    mut chunks: impl Stream<Item = Result<axum::body::Bytes, String>> + Unpin,
    file: &mut std::fs::File,
    limit: usize,
) -> Result<(), Problem> {
    let mut size = 0;
    while let Some(chunk) = chunks.next().await {
        let chunk =
            chunk.map_err(
                |message| {
                    if message.contains("length limit") { too_large() } else { Problem::malformed(message) }
                },
            )?;
        size += chunk.len();
        if size > limit {
            return Err(too_large());
        }
        file.write_all(&chunk).map_err(|_| Problem::internal())?;
    }
    Ok(())
}
