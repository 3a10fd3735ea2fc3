//! Shared contacts (`/domains/{domain}/shared-contacts`) and personal contacts
//! (`/domains/{domain}/users/{ext}/contacts`): the same operations on two kinds of
//! book, so each path's handler only names its book and calls the common code.

use axum::Json;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use switchboard_app::{
    BookRef, Caller, ContactInput, ContactPatch, DuplicateParams, ListParams, MergeInput, MergePreview,
    NotDuplicatesInput,
};
use switchboard_core::model::{Contact, ContactView};
use switchboard_store::DuplicateGroup;
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

/// Contacts of one book that may be the same person.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DuplicateGroupView {
    /// What they share: `phone` (an E.164 number), `email`, or `name` (folded names and company).
    #[schema(example = "email")]
    pub reason: String,
    /// The number or email they share; for `name`, the folded names and company.
    pub shared: String,
    /// How many live contacts share it; at most 20 are listed.
    pub size: i64,
    pub contacts: Vec<ContactView>,
}

impl DuplicateGroupView {
    pub fn of(group: DuplicateGroup) -> DuplicateGroupView {
        let (reason, shared) = group.key.split_once(':').unwrap_or(("name", group.key.as_str()));
        DuplicateGroupView {
            reason: reason.to_string(),
            shared: shared.split('\u{1}').filter(|part| !part.is_empty()).collect::<Vec<_>>().join(", "),
            size: group.size,
            contacts: group.contacts.iter().map(Contact::view).collect(),
        }
    }
}

async fn duplicates(
    state: &AppState,
    caller: &Caller,
    book: BookRef,
    params: &DuplicateParams,
) -> ApiResult<Json<ListPage<DuplicateGroupView>>> {
    let page = state.app.duplicates(caller, &book, params).await?;
    Ok(Json(ListPage::of(page, DuplicateGroupView::of)))
}

async fn merge_preview(
    state: &AppState,
    caller: &Caller,
    book: BookRef,
    input: &MergeInput,
) -> ApiResult<Json<MergePreview>> {
    Ok(Json(state.app.merge_preview(caller, &book, input).await?))
}

async fn merge(state: &AppState, caller: &Caller, book: BookRef, input: MergeInput) -> ApiResult<Response> {
    Ok(tagged(&state.app.merge_contacts(caller, &book, input).await?).into_response())
}

async fn not_duplicates(
    state: &AppState,
    caller: &Caller,
    book: BookRef,
    input: &NotDuplicatesInput,
) -> ApiResult<StatusCode> {
    state.app.mark_not_duplicates(caller, &book, input).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The domain's shared address book: everyone in the domain reads it; the scopes in
/// `SHARED_CONTACTS_EDITOR_SCOPES` (and providers) change it.
pub mod shared {
    use axum::Json;
    use axum::extract::State;
    use axum::http::StatusCode;
    use axum::response::Response;
    use switchboard_app::{
        BookRef, ContactInput, ContactPatch, DuplicateParams, ListParams, MergeInput, MergePreview, NotDuplicatesInput,
    };
    use switchboard_core::model::ContactView;
    use uuid::Uuid;

    use super::DuplicateGroupView;
    use crate::AppState;
    use crate::api::ListPage;
    use crate::auth::Auth;
    use crate::docs::{ContactPage, DuplicatePage};
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

    /// Groups of shared contacts that share a number, an email, or names and company (for
    /// those who may change shared contacts). Pairs marked not duplicates are left out.
    #[utoipa::path(get, path = "/api/v1/domains/{domain}/shared-contacts/duplicates", operation_id = "listSharedDuplicates", tag = "shared contacts",
        params(("domain" = String, Path, description = "Domain name"), DuplicateParams),
        responses((status = 200, description = "A page of groups of possible duplicates", body = DuplicatePage), ListErrors))]
    pub async fn duplicates(
        State(state): State<AppState>,
        Auth(caller): Auth,
        ApiPath(domain): ApiPath<String>,
        ApiQuery(params): ApiQuery<DuplicateParams>,
    ) -> ApiResult<Json<ListPage<DuplicateGroupView>>> {
        super::duplicates(&state, &caller, book(domain), &params).await
    }

    /// What merging these contacts would make, and the fields they disagree on; changes nothing.
    #[utoipa::path(post, path = "/api/v1/domains/{domain}/shared-contacts/merge/preview", operation_id = "previewSharedMerge", tag = "shared contacts", request_body = MergeInput,
        params(("domain" = String, Path, description = "Domain name")),
        responses((status = 200, description = "The merged contact and the conflicts", body = MergePreview), ReadErrors))]
    pub async fn merge_preview(
        State(state): State<AppState>,
        Auth(caller): Auth,
        ApiPath(domain): ApiPath<String>,
        ApiJson(input): ApiJson<MergeInput>,
    ) -> ApiResult<Json<MergePreview>> {
        super::merge_preview(&state, &caller, book(domain), &input).await
    }

    /// Merges contacts into the first, which keeps its id and gets every number, email and
    /// field; the others go to the trash (restoring one undoes its part), and their ids,
    /// favorites and UIDs lead to the survivor.
    #[utoipa::path(post, path = "/api/v1/domains/{domain}/shared-contacts/merge", operation_id = "mergeSharedContacts", tag = "shared contacts", request_body = MergeInput,
        params(("domain" = String, Path, description = "Domain name")),
        responses((status = 200, description = "The merged contact", body = ContactView,
            headers(("ETag" = String, description = "Its version"))), PatchErrors))]
    pub async fn merge(
        State(state): State<AppState>,
        Auth(caller): Auth,
        ApiPath(domain): ApiPath<String>,
        ApiJson(input): ApiJson<MergeInput>,
    ) -> ApiResult<Response> {
        super::merge(&state, &caller, book(domain), input).await
    }

    /// Records that two contacts are different people: they are not offered as duplicates again.
    #[utoipa::path(post, path = "/api/v1/domains/{domain}/shared-contacts/not-duplicates", operation_id = "markSharedNotDuplicates", tag = "shared contacts", request_body = NotDuplicatesInput,
        params(("domain" = String, Path, description = "Domain name")),
        responses((status = 204, description = "Recorded"), ActionErrors))]
    pub async fn not_duplicates(
        State(state): State<AppState>,
        Auth(caller): Auth,
        ApiPath(domain): ApiPath<String>,
        ApiJson(input): ApiJson<NotDuplicatesInput>,
    ) -> ApiResult<StatusCode> {
        super::not_duplicates(&state, &caller, book(domain), &input).await
    }
}

/// A user's own address book, seen by that user alone.
pub mod personal {
    use axum::Json;
    use axum::extract::State;
    use axum::http::StatusCode;
    use axum::response::Response;
    use switchboard_app::{
        BookRef, ContactInput, ContactPatch, DuplicateParams, ListParams, MergeInput, MergePreview, NotDuplicatesInput,
    };
    use switchboard_core::model::ContactView;
    use uuid::Uuid;

    use super::DuplicateGroupView;
    use crate::AppState;
    use crate::api::ListPage;
    use crate::auth::Auth;
    use crate::docs::{ContactPage, DuplicatePage};
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

    /// Groups of the user's contacts that share a number, an email, or names and company
    /// (for the owner). Pairs marked not duplicates are left out.
    #[utoipa::path(get, path = "/api/v1/domains/{domain}/users/{ext}/contacts/duplicates", operation_id = "listPersonalDuplicates", tag = "personal contacts",
        params(("domain" = String, Path, description = "Domain name"), ("ext" = String, Path, description = "The owner's extension"), DuplicateParams),
        responses((status = 200, description = "A page of groups of possible duplicates", body = DuplicatePage), ListErrors))]
    pub async fn duplicates(
        State(state): State<AppState>,
        Auth(caller): Auth,
        ApiPath((domain, ext)): ApiPath<(String, String)>,
        ApiQuery(params): ApiQuery<DuplicateParams>,
    ) -> ApiResult<Json<ListPage<DuplicateGroupView>>> {
        super::duplicates(&state, &caller, book(domain, ext), &params).await
    }

    /// What merging these contacts would make, and the fields they disagree on; changes nothing.
    #[utoipa::path(post, path = "/api/v1/domains/{domain}/users/{ext}/contacts/merge/preview", operation_id = "previewPersonalMerge", tag = "personal contacts", request_body = MergeInput,
        params(("domain" = String, Path, description = "Domain name"), ("ext" = String, Path, description = "The owner's extension")),
        responses((status = 200, description = "The merged contact and the conflicts", body = MergePreview), ReadErrors))]
    pub async fn merge_preview(
        State(state): State<AppState>,
        Auth(caller): Auth,
        ApiPath((domain, ext)): ApiPath<(String, String)>,
        ApiJson(input): ApiJson<MergeInput>,
    ) -> ApiResult<Json<MergePreview>> {
        super::merge_preview(&state, &caller, book(domain, ext), &input).await
    }

    /// Merges contacts into the first (see `mergeSharedContacts`).
    #[utoipa::path(post, path = "/api/v1/domains/{domain}/users/{ext}/contacts/merge", operation_id = "mergePersonalContacts", tag = "personal contacts", request_body = MergeInput,
        params(("domain" = String, Path, description = "Domain name"), ("ext" = String, Path, description = "The owner's extension")),
        responses((status = 200, description = "The merged contact", body = ContactView,
            headers(("ETag" = String, description = "Its version"))), PatchErrors))]
    pub async fn merge(
        State(state): State<AppState>,
        Auth(caller): Auth,
        ApiPath((domain, ext)): ApiPath<(String, String)>,
        ApiJson(input): ApiJson<MergeInput>,
    ) -> ApiResult<Response> {
        super::merge(&state, &caller, book(domain, ext), input).await
    }

    /// Records that two contacts are different people: they are not offered as duplicates again.
    #[utoipa::path(post, path = "/api/v1/domains/{domain}/users/{ext}/contacts/not-duplicates", operation_id = "markPersonalNotDuplicates", tag = "personal contacts", request_body = NotDuplicatesInput,
        params(("domain" = String, Path, description = "Domain name"), ("ext" = String, Path, description = "The owner's extension")),
        responses((status = 204, description = "Recorded"), ActionErrors))]
    pub async fn not_duplicates(
        State(state): State<AppState>,
        Auth(caller): Auth,
        ApiPath((domain, ext)): ApiPath<(String, String)>,
        ApiJson(input): ApiJson<NotDuplicatesInput>,
    ) -> ApiResult<StatusCode> {
        super::not_duplicates(&state, &caller, book(domain, ext), &input).await
    }
}
