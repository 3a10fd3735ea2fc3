//! Shared contacts (`/domains/{domain}/shared-contacts`) and personal contacts
//! (`/domains/{domain}/users/{ext}/contacts`): the same operations on two kinds of
//! book, so each path's handler only names its book and calls the common code.

use axum::Json;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use switchboard_app::{BookRef, Caller, ContactInput, ContactPatch, ListParams};
use switchboard_core::model::{Contact, ContactView};
use uuid::Uuid;

use super::{ListPage, etag_header, location, segment};
use crate::AppState;
use crate::problem::ApiResult;

/// The URL of a book, from which each contact's URL follows.
fn book_url(book: &BookRef) -> String {
    match book {
        BookRef::Shared { domain } => format!("/api/v1/domains/{}/shared-contacts", segment(domain)),
        BookRef::Personal { domain, extension } => {
            format!("/api/v1/domains/{}/users/{}/contacts", segment(domain), segment(extension))
        }
    }
}

/// A contact with its version as `ETag`.
fn tagged(contact: &Contact) -> ([(HeaderName, HeaderValue); 1], Json<ContactView>) {
    (etag_header(contact.version), Json(contact.view()))
}

async fn list(
    state: &AppState,
    caller: &Caller,
    book: BookRef,
    params: &ListParams,
) -> ApiResult<Json<ListPage<ContactView>>> {
    let page = state.app.list_contacts(caller, &book, params).await?;
    Ok(Json(ListPage::of(page, |contact| contact.view())))
}

async fn create(state: &AppState, caller: &Caller, book: BookRef, input: ContactInput) -> ApiResult<Response> {
    let contact = state.app.create_contact(caller, &book, input).await?;
    let url = format!("{}/{}", book_url(&book), contact.id);
    Ok((StatusCode::CREATED, [location(url)], tagged(&contact)).into_response())
}

async fn get(state: &AppState, caller: &Caller, book: BookRef, id: Uuid) -> ApiResult<Response> {
    Ok(tagged(&state.app.get_contact(caller, &book, id).await?).into_response())
}

async fn update(
    state: &AppState,
    caller: &Caller,
    book: BookRef,
    id: Uuid,
    version: Option<i64>,
    patch: ContactPatch,
) -> ApiResult<Response> {
    Ok(tagged(&state.app.update_contact(caller, &book, id, version, patch).await?).into_response())
}

/// Answers the trashed contact, so a client can offer Undo (restore) at once.
async fn delete(state: &AppState, caller: &Caller, book: BookRef, id: Uuid) -> ApiResult<Json<ContactView>> {
    Ok(Json(state.app.delete_contact(caller, &book, id).await?.view()))
}

async fn restore(state: &AppState, caller: &Caller, book: BookRef, id: Uuid) -> ApiResult<Response> {
    Ok(tagged(&state.app.restore_contact(caller, &book, id).await?).into_response())
}

/// The domain's shared address book: everyone in the domain reads it; the scopes in
/// `SHARED_CONTACTS_EDITOR_SCOPES` (and providers) change it.
pub mod shared {
    use axum::Json;
    use axum::extract::State;
    use axum::response::Response;
    use switchboard_app::{BookRef, ContactInput, ContactPatch, ListParams};
    use switchboard_core::model::ContactView;
    use uuid::Uuid;

    use crate::AppState;
    use crate::api::ListPage;
    use crate::auth::Auth;
    use crate::docs::ContactPage;
    use crate::extract::{ApiJson, ApiPath, ApiQuery, IfMatch};
    use crate::problem::{ActionErrors, ApiResult, ListErrors, PatchErrors, ReadErrors, WriteErrors};

    fn book(domain: String) -> BookRef {
        BookRef::Shared { domain }
    }

    #[utoipa::path(get, path = "/api/v1/domains/{domain}/shared-contacts", operation_id = "listSharedContacts", tag = "shared contacts",
        params(("domain" = String, Path, description = "Domain name"), ListParams),
        responses((status = 200, description = "A page of shared contacts", body = ContactPage), ListErrors))]
    pub async fn list(
        State(state): State<AppState>,
        Auth(caller): Auth,
        ApiPath(domain): ApiPath<String>,
        ApiQuery(params): ApiQuery<ListParams>,
    ) -> ApiResult<Json<ListPage<ContactView>>> {
        super::list(&state, &caller, book(domain), &params).await
    }

    /// Adds a shared contact; an exact duplicate (same names and numbers) answers 409.
    #[utoipa::path(post, path = "/api/v1/domains/{domain}/shared-contacts", operation_id = "createSharedContact", tag = "shared contacts", request_body = ContactInput,
        params(("domain" = String, Path, description = "Domain name")),
        responses((status = 201, description = "Created", body = ContactView,
            headers(("Location" = String, description = "The contact's URL"), ("ETag" = String, description = "Its version"))), WriteErrors))]
    pub async fn create(
        State(state): State<AppState>,
        Auth(caller): Auth,
        ApiPath(domain): ApiPath<String>,
        ApiJson(input): ApiJson<ContactInput>,
    ) -> ApiResult<Response> {
        super::create(&state, &caller, book(domain), input).await
    }

    #[utoipa::path(get, path = "/api/v1/domains/{domain}/shared-contacts/{id}", operation_id = "getSharedContact", tag = "shared contacts",
        params(("domain" = String, Path, description = "Domain name"), ("id" = Uuid, Path, description = "Contact id")),
        responses((status = 200, description = "The contact", body = ContactView,
            headers(("ETag" = String, description = "Its version, for `If-Match`"))), ReadErrors))]
    pub async fn get(
        State(state): State<AppState>,
        Auth(caller): Auth,
        ApiPath((domain, id)): ApiPath<(String, Uuid)>,
    ) -> ApiResult<Response> {
        super::get(&state, &caller, book(domain), id).await
    }

    /// Changes the fields given; with `If-Match`, refuses (412) if someone else changed the contact first.
    #[utoipa::path(patch, path = "/api/v1/domains/{domain}/shared-contacts/{id}", operation_id = "updateSharedContact", tag = "shared contacts", request_body = ContactPatch,
        params(("domain" = String, Path, description = "Domain name"), ("id" = Uuid, Path, description = "Contact id"),
            ("If-Match" = Option<String>, Header, description = "The `ETag` the change was based on")),
        responses((status = 200, description = "The changed contact", body = ContactView,
            headers(("ETag" = String, description = "The new version"))), PatchErrors))]
    pub async fn update(
        State(state): State<AppState>,
        Auth(caller): Auth,
        ApiPath((domain, id)): ApiPath<(String, Uuid)>,
        IfMatch(version): IfMatch,
        ApiJson(patch): ApiJson<ContactPatch>,
    ) -> ApiResult<Response> {
        super::update(&state, &caller, book(domain), id, version, patch).await
    }

    /// Moves the contact to the trash and answers it (with `deleted_at`), so the client can offer Undo.
    #[utoipa::path(delete, path = "/api/v1/domains/{domain}/shared-contacts/{id}", operation_id = "deleteSharedContact", tag = "shared contacts",
        params(("domain" = String, Path, description = "Domain name"), ("id" = Uuid, Path, description = "Contact id")),
        responses((status = 200, description = "The contact, now in the trash", body = ContactView), ActionErrors))]
    pub async fn delete(
        State(state): State<AppState>,
        Auth(caller): Auth,
        ApiPath((domain, id)): ApiPath<(String, Uuid)>,
    ) -> ApiResult<Json<ContactView>> {
        super::delete(&state, &caller, book(domain), id).await
    }

    /// Brings a contact back from the trash (409 if an identical one was added since).
    #[utoipa::path(post, path = "/api/v1/domains/{domain}/shared-contacts/{id}/restore", operation_id = "restoreSharedContact", tag = "shared contacts",
        params(("domain" = String, Path, description = "Domain name"), ("id" = Uuid, Path, description = "Contact id")),
        responses((status = 200, description = "The restored contact", body = ContactView), ActionErrors))]
    pub async fn restore(
        State(state): State<AppState>,
        Auth(caller): Auth,
        ApiPath((domain, id)): ApiPath<(String, Uuid)>,
    ) -> ApiResult<Response> {
        super::restore(&state, &caller, book(domain), id).await
    }
}

/// A user's own address book, seen by that user alone.
pub mod personal {
    use axum::Json;
    use axum::extract::State;
    use axum::response::Response;
    use switchboard_app::{BookRef, ContactInput, ContactPatch, ListParams};
    use switchboard_core::model::ContactView;
    use uuid::Uuid;

    use crate::AppState;
    use crate::api::ListPage;
    use crate::auth::Auth;
    use crate::docs::ContactPage;
    use crate::extract::{ApiJson, ApiPath, ApiQuery, IfMatch};
    use crate::problem::{ActionErrors, ApiResult, ListErrors, PatchErrors, ReadErrors, WriteErrors};

    fn book(domain: String, extension: String) -> BookRef {
        BookRef::Personal { domain, extension }
    }

    #[utoipa::path(get, path = "/api/v1/domains/{domain}/users/{ext}/contacts", operation_id = "listPersonalContacts", tag = "personal contacts",
        params(("domain" = String, Path, description = "Domain name"), ("ext" = String, Path, description = "The owner's extension"), ListParams),
        responses((status = 200, description = "A page of the user's contacts", body = ContactPage), ListErrors))]
    pub async fn list(
        State(state): State<AppState>,
        Auth(caller): Auth,
        ApiPath((domain, ext)): ApiPath<(String, String)>,
        ApiQuery(params): ApiQuery<ListParams>,
    ) -> ApiResult<Json<ListPage<ContactView>>> {
        super::list(&state, &caller, book(domain, ext), &params).await
    }

    /// Adds a contact of one's own; an exact duplicate answers 409.
    #[utoipa::path(post, path = "/api/v1/domains/{domain}/users/{ext}/contacts", operation_id = "createPersonalContact", tag = "personal contacts", request_body = ContactInput,
        params(("domain" = String, Path, description = "Domain name"), ("ext" = String, Path, description = "The owner's extension")),
        responses((status = 201, description = "Created", body = ContactView,
            headers(("Location" = String, description = "The contact's URL"), ("ETag" = String, description = "Its version"))), WriteErrors))]
    pub async fn create(
        State(state): State<AppState>,
        Auth(caller): Auth,
        ApiPath((domain, ext)): ApiPath<(String, String)>,
        ApiJson(input): ApiJson<ContactInput>,
    ) -> ApiResult<Response> {
        super::create(&state, &caller, book(domain, ext), input).await
    }

    #[utoipa::path(get, path = "/api/v1/domains/{domain}/users/{ext}/contacts/{id}", operation_id = "getPersonalContact", tag = "personal contacts",
        params(("domain" = String, Path, description = "Domain name"), ("ext" = String, Path, description = "The owner's extension"),
            ("id" = Uuid, Path, description = "Contact id")),
        responses((status = 200, description = "The contact", body = ContactView,
            headers(("ETag" = String, description = "Its version, for `If-Match`"))), ReadErrors))]
    pub async fn get(
        State(state): State<AppState>,
        Auth(caller): Auth,
        ApiPath((domain, ext, id)): ApiPath<(String, String, Uuid)>,
    ) -> ApiResult<Response> {
        super::get(&state, &caller, book(domain, ext), id).await
    }

    /// Changes the fields given; with `If-Match`, refuses (412) a change based on an older version.
    #[utoipa::path(patch, path = "/api/v1/domains/{domain}/users/{ext}/contacts/{id}", operation_id = "updatePersonalContact", tag = "personal contacts", request_body = ContactPatch,
        params(("domain" = String, Path, description = "Domain name"), ("ext" = String, Path, description = "The owner's extension"),
            ("id" = Uuid, Path, description = "Contact id"),
            ("If-Match" = Option<String>, Header, description = "The `ETag` the change was based on")),
        responses((status = 200, description = "The changed contact", body = ContactView,
            headers(("ETag" = String, description = "The new version"))), PatchErrors))]
    pub async fn update(
        State(state): State<AppState>,
        Auth(caller): Auth,
        ApiPath((domain, ext, id)): ApiPath<(String, String, Uuid)>,
        IfMatch(version): IfMatch,
        ApiJson(patch): ApiJson<ContactPatch>,
    ) -> ApiResult<Response> {
        super::update(&state, &caller, book(domain, ext), id, version, patch).await
    }

    /// Moves the contact to the trash and answers it, so the client can offer Undo.
    #[utoipa::path(delete, path = "/api/v1/domains/{domain}/users/{ext}/contacts/{id}", operation_id = "deletePersonalContact", tag = "personal contacts",
        params(("domain" = String, Path, description = "Domain name"), ("ext" = String, Path, description = "The owner's extension"),
            ("id" = Uuid, Path, description = "Contact id")),
        responses((status = 200, description = "The contact, now in the trash", body = ContactView), ActionErrors))]
    pub async fn delete(
        State(state): State<AppState>,
        Auth(caller): Auth,
        ApiPath((domain, ext, id)): ApiPath<(String, String, Uuid)>,
    ) -> ApiResult<Json<ContactView>> {
        super::delete(&state, &caller, book(domain, ext), id).await
    }

    /// Brings a contact back from the trash.
    #[utoipa::path(post, path = "/api/v1/domains/{domain}/users/{ext}/contacts/{id}/restore", operation_id = "restorePersonalContact", tag = "personal contacts",
        params(("domain" = String, Path, description = "Domain name"), ("ext" = String, Path, description = "The owner's extension"),
            ("id" = Uuid, Path, description = "Contact id")),
        responses((status = 200, description = "The restored contact", body = ContactView), ActionErrors))]
    pub async fn restore(
        State(state): State<AppState>,
        Auth(caller): Auth,
        ApiPath((domain, ext, id)): ApiPath<(String, String, Uuid)>,
    ) -> ApiResult<Response> {
        super::restore(&state, &caller, book(domain, ext), id).await
    }
}
