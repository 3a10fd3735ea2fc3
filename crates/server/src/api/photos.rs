//! A contact's photo (`…/shared-contacts/{id}/photo`, `…/users/{ext}/contacts/{id}/photo`):
//! the image as it was given, with the type its bytes say and its hash as `ETag`. Who may
//! read or change it is who may read or change the contact (the app decides).

use axum::body::{Body, to_bytes};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use switchboard_app::{AppError, BookRef, Caller, StoredPhoto, photo_too_large};
use switchboard_core::Invalid;
use switchboard_core::photo::MAX_PHOTO_BYTES;
use uuid::Uuid;

use super::etag_header;
use crate::AppState;
use crate::problem::ApiResult;

/// The photo's bytes, or 304 when the client's copy (`If-None-Match`) is this one.
async fn get(state: &AppState, caller: &Caller, book: BookRef, id: Uuid, headers: &HeaderMap) -> ApiResult<Response> {
    let photo = state.app.contact_photo(caller, &book, id).await?;
    Ok(photo_response(photo, headers))
}

/// Answers a stored photo: private to the caller's cache, never sniffed as another type.
pub(crate) fn photo_response(photo: StoredPhoto, request: &HeaderMap) -> Response {
    let tag = format!("\"{}\"", photo.hash);
    let mut response = if client_has(request, &tag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let media_type = HeaderValue::from_str(&photo.media_type)
            .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
        ([(header::CONTENT_TYPE, media_type)], photo.bytes).into_response()
    };
    let headers = response.headers_mut();
    if let Ok(tag) = HeaderValue::from_str(&tag) {
        headers.insert(header::ETAG, tag);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

/// Whether `If-None-Match` names this tag (weak or strong, or `*`).
fn client_has(request: &HeaderMap, tag: &str) -> bool {
    request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|value| value.split(',').map(str::trim).any(|given| given == "*" || given.trim_start_matches("W/") == tag))
}

/// Reads a photo's body, refusing (413) one longer than a photo may be before reading it all.
pub(crate) async fn photo_body(headers: &HeaderMap, body: Body) -> Result<Vec<u8>, AppError> {
    let declared_length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok());
    if declared_length.is_some_and(|length| length > MAX_PHOTO_BYTES) {
        return Err(photo_too_large());
    }
    match to_bytes(body, MAX_PHOTO_BYTES).await {
        Ok(bytes) => Ok(bytes.to_vec()),
        Err(error) if is_length_limit(&error) => Err(photo_too_large()),
        Err(_) => Err(AppError::Invalid(Invalid::field("photo", "the photo could not be read to its end"))),
    }
}

fn is_length_limit(error: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(error) = source {
        if error.to_string().contains("length limit exceeded") {
            return true;
        }
        source = error.source();
    }
    false
}

pub(crate) fn content_type(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok())
}

async fn put(
    state: &AppState,
    caller: &Caller,
    book: BookRef,
    id: Uuid,
    headers: &HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let bytes = photo_body(headers, body).await?;
    let contact = state.app.set_contact_photo(caller, &book, id, bytes, content_type(headers)).await?;
    Ok((etag_header(contact.version), axum::Json(contact.view())).into_response())
}

async fn delete(state: &AppState, caller: &Caller, book: BookRef, id: Uuid) -> ApiResult<Response> {
    let contact = state.app.delete_contact_photo(caller, &book, id).await?;
    Ok((etag_header(contact.version), axum::Json(contact.view())).into_response())
}

/// A shared contact's photo.
pub mod shared {
    use axum::body::Body;
    use axum::extract::State;
    use axum::http::HeaderMap;
    use axum::response::Response;
    use switchboard_app::BookRef;
    use switchboard_core::model::ContactView;
    use uuid::Uuid;

    use crate::AppState;
    use crate::auth::Auth;
    use crate::extract::ApiPath;
    use crate::problem::{ActionErrors, ApiResult, PhotoErrors, ReadErrors};

    /// The photo as it was given, with its type as `Content-Type` and its hash as `ETag`
    /// (`If-None-Match` answers 304); 404 when the contact has none.
    #[utoipa::path(get, path = "/api/v1/domains/{domain}/shared-contacts/{id}/photo", operation_id = "getSharedContactPhoto", tag = "shared contacts",
        params(("domain" = String, Path, description = "Domain name"), ("id" = Uuid, Path, description = "Contact id"),
            ("If-None-Match" = Option<String>, Header, description = "The `ETag` of the photo the client has")),
        responses((status = 200, description = "The image", content(
                (Vec<u8> = "image/jpeg"), (Vec<u8> = "image/png"), (Vec<u8> = "image/gif"), (Vec<u8> = "image/webp")),
            headers(("ETag" = String, description = "The photo's hash"))),
            (status = 304, description = "The client's copy is this photo"), ReadErrors))]
    pub async fn get(
        State(state): State<AppState>,
        Auth(caller): Auth,
        ApiPath((domain, id)): ApiPath<(String, Uuid)>,
        headers: HeaderMap,
    ) -> ApiResult<Response> {
        super::get(&state, &caller, BookRef::Shared { domain }, id, &headers).await
    }

    /// Gives the contact this photo, in place of any it had: a JPEG, PNG, GIF or WebP image
    /// of at most 256 KiB, kept as it is. Its first bytes decide its type; a `Content-Type`
    /// naming another image type is refused (415).
    #[utoipa::path(put, path = "/api/v1/domains/{domain}/shared-contacts/{id}/photo", operation_id = "putSharedContactPhoto", tag = "shared contacts",
        request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The image"),
        params(("domain" = String, Path, description = "Domain name"), ("id" = Uuid, Path, description = "Contact id")),
        responses((status = 200, description = "The contact, with its new version", body = ContactView,
            headers(("ETag" = String, description = "The contact's new version"))), PhotoErrors))]
    pub async fn put(
        State(state): State<AppState>,
        Auth(caller): Auth,
        ApiPath((domain, id)): ApiPath<(String, Uuid)>,
        headers: HeaderMap,
        body: Body,
    ) -> ApiResult<Response> {
        super::put(&state, &caller, BookRef::Shared { domain }, id, &headers, body).await
    }

    /// Removes the contact's photo (404 when it has none).
    #[utoipa::path(delete, path = "/api/v1/domains/{domain}/shared-contacts/{id}/photo", operation_id = "deleteSharedContactPhoto", tag = "shared contacts",
        params(("domain" = String, Path, description = "Domain name"), ("id" = Uuid, Path, description = "Contact id")),
        responses((status = 200, description = "The contact, with its new version", body = ContactView,
            headers(("ETag" = String, description = "The contact's new version"))), ActionErrors))]
    pub async fn delete(
        State(state): State<AppState>,
        Auth(caller): Auth,
        ApiPath((domain, id)): ApiPath<(String, Uuid)>,
    ) -> ApiResult<Response> {
        super::delete(&state, &caller, BookRef::Shared { domain }, id).await
    }
}

/// The photo of one of a user's own contacts.
pub mod personal {
    use axum::body::Body;
    use axum::extract::State;
    use axum::http::HeaderMap;
    use axum::response::Response;
    use switchboard_app::BookRef;
    use switchboard_core::model::ContactView;
    use uuid::Uuid;

    use crate::AppState;
    use crate::auth::Auth;
    use crate::extract::ApiPath;
    use crate::problem::{ActionErrors, ApiResult, PhotoErrors, ReadErrors};

    fn book(domain: String, extension: String) -> BookRef {
        BookRef::Personal { domain, extension }
    }

    /// The photo (see `getSharedContactPhoto`).
    #[utoipa::path(get, path = "/api/v1/domains/{domain}/users/{ext}/contacts/{id}/photo", operation_id = "getPersonalContactPhoto", tag = "personal contacts",
        params(("domain" = String, Path, description = "Domain name"), ("ext" = String, Path, description = "The owner's extension"),
            ("id" = Uuid, Path, description = "Contact id"),
            ("If-None-Match" = Option<String>, Header, description = "The `ETag` of the photo the client has")),
        responses((status = 200, description = "The image", content(
                (Vec<u8> = "image/jpeg"), (Vec<u8> = "image/png"), (Vec<u8> = "image/gif"), (Vec<u8> = "image/webp")),
            headers(("ETag" = String, description = "The photo's hash"))),
            (status = 304, description = "The client's copy is this photo"), ReadErrors))]
    pub async fn get(
        State(state): State<AppState>,
        Auth(caller): Auth,
        ApiPath((domain, ext, id)): ApiPath<(String, String, Uuid)>,
        headers: HeaderMap,
    ) -> ApiResult<Response> {
        super::get(&state, &caller, book(domain, ext), id, &headers).await
    }

    /// Gives the contact this photo (see `putSharedContactPhoto`).
    #[utoipa::path(put, path = "/api/v1/domains/{domain}/users/{ext}/contacts/{id}/photo", operation_id = "putPersonalContactPhoto", tag = "personal contacts",
        request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The image"),
        params(("domain" = String, Path, description = "Domain name"), ("ext" = String, Path, description = "The owner's extension"),
            ("id" = Uuid, Path, description = "Contact id")),
        responses((status = 200, description = "The contact, with its new version", body = ContactView,
            headers(("ETag" = String, description = "The contact's new version"))), PhotoErrors))]
    pub async fn put(
        State(state): State<AppState>,
        Auth(caller): Auth,
        ApiPath((domain, ext, id)): ApiPath<(String, String, Uuid)>,
        headers: HeaderMap,
        body: Body,
    ) -> ApiResult<Response> {
        super::put(&state, &caller, book(domain, ext), id, &headers, body).await
    }

    /// Removes the contact's photo (404 when it has none).
    #[utoipa::path(delete, path = "/api/v1/domains/{domain}/users/{ext}/contacts/{id}/photo", operation_id = "deletePersonalContactPhoto", tag = "personal contacts",
        params(("domain" = String, Path, description = "Domain name"), ("ext" = String, Path, description = "The owner's extension"),
            ("id" = Uuid, Path, description = "Contact id")),
        responses((status = 200, description = "The contact, with its new version", body = ContactView,
            headers(("ETag" = String, description = "The contact's new version"))), ActionErrors))]
    pub async fn delete(
        State(state): State<AppState>,
        Auth(caller): Auth,
        ApiPath((domain, ext, id)): ApiPath<(String, String, Uuid)>,
    ) -> ApiResult<Response> {
        super::delete(&state, &caller, book(domain, ext), id).await
    }
}
