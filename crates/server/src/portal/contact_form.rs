//! The Add / Edit contact modal and the changes it sends, for both the domain's
//! shared contacts (`/shared-contacts/…`) and a user's own (`/contacts/mine/…`).

use std::collections::BTreeMap;

use askama::Template;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde_json::json;
use switchboard_app::{AppError, BookRef};
use switchboard_core::Invalid;
use switchboard_core::contact::{ContactFields, ContactInput, ContactPatch};
use switchboard_core::model::Contact;
use uuid::Uuid;

use super::contact_more::{MoreFields, MoreView, address_and_birthday, form_field, kept_beyond_the_form};
use super::{PortalError, PortalResult, Viewer, capitalize, html, triggers};
use crate::AppState;
use crate::api::photos::{content_type, photo_body, photo_response};

/// Which address book a form writes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Which {
    Shared,
    Mine,
}

impl Which {
    /// Where the book's pages and changes live.
    pub fn path(self) -> &'static str {
        match self {
            Which::Shared => "/shared-contacts",
            Which::Mine => "/contacts/mine",
        }
    }

    pub fn book(self, viewer: &Viewer) -> BookRef {
        match self {
            Which::Shared => BookRef::Shared { domain: viewer.domain_name() },
            Which::Mine => BookRef::Personal { domain: viewer.domain_name(), extension: viewer.extension() },
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Which::Shared => "Shared Contact",
            Which::Mine => "Personal Contact",
        }
    }
}

/// The modal's routes for one book.
pub(crate) fn routes(which: Which) -> Router<AppState> {
    let base = which.path();
    Router::new()
        .route(&format!("{base}/new"), get(move |viewer: Viewer| new_form(viewer, which)))
        .route(base, post(move |state, viewer, form| create(state, viewer, which, form)))
        .route(&format!("{base}/{{id}}/edit"), get(move |state, viewer, id| edit_form(state, viewer, which, id)))
        .route(
            &format!("{base}/{{id}}/photo"),
            get(move |state, viewer, id, headers| photo(state, viewer, which, id, headers))
                .post(move |state, viewer, id, headers, body| upload_photo(state, viewer, which, id, headers, body)),
        )
        .route(
            &format!("{base}/{{id}}/photo/delete"),
            post(move |state, viewer, id| remove_photo(state, viewer, which, id)),
        )
        .route(&format!("{base}/{{id}}"), post(move |state, viewer, id, form| update(state, viewer, which, id, form)))
        .route(&format!("{base}/{{id}}/delete"), post(move |state, viewer, id| delete(state, viewer, which, id)))
        .route(&format!("{base}/{{id}}/restore"), post(move |state, viewer, id| restore(state, viewer, which, id)))
}

/// What the form posts; every field may be missing (empty).
#[derive(Debug, Default)]
pub(crate) struct ContactForm {
    first_name: String,
    last_name: String,
    company: String,
    title: String,
    work_phone: String,
    mobile_phone: String,
    home_phone: String,
    fax: String,
    email: String,
    notes: String,
    /// The version the edit was made against (edits only).
    version: Option<i64>,
    /// `another` keeps the modal open for the next contact.
    save: String,
    /// More numbers and emails, the first address and the birthday.
    more: MoreFields,
}

impl ContactForm {
    /// Reads the posted pairs (the rows of more numbers repeat their names).
    fn read(pairs: Vec<(String, String)>) -> Result<ContactForm, AppError> {
        let mut form = ContactForm::default();
        for (name, value) in pairs {
            let field = match name.as_str() {
                "first_name" => &mut form.first_name,
                "last_name" => &mut form.last_name,
                "company" => &mut form.company,
                "title" => &mut form.title,
                "work_phone" => &mut form.work_phone,
                "mobile_phone" => &mut form.mobile_phone,
                "home_phone" => &mut form.home_phone,
                "fax" => &mut form.fax,
                "email" => &mut form.email,
                "notes" => &mut form.notes,
                "save" => &mut form.save,
                "version" => {
                    let version =
                        value.trim().parse().map_err(|_| Invalid::field("version", "not a version number"))?;
                    form.version = Some(version);
                    continue;
                }
                _ => {
                    form.more.take(&name, value);
                    continue;
                }
            };
            *field = value;
        }
        Ok(form)
    }

    /// A new contact: the single fields, then the rows.
    fn input(&self) -> ContactInput {
        let mut input = self.single_fields();
        self.more.add_to(&mut input);
        input
    }

    fn single_fields(&self) -> ContactInput {
        ContactInput {
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            company: self.company.clone(),
            title: self.title.clone(),
            work_phone: self.work_phone.clone(),
            mobile_phone: self.mobile_phone.clone(),
            home_phone: self.home_phone.clone(),
            fax: self.fax.clone(),
            email: self.email.clone(),
            notes: self.notes.clone(),
            ..ContactInput::default()
        }
    }

    /// An edit: what the form shows replaces what it showed, and the rest (a second
    /// address, an anniversary, properties of a file) stays as it is.
    fn patch(&self, current: &ContactFields) -> ContactPatch {
        let single = self.single_fields();
        let (phones, emails) = self.more.numbers_and_emails(current, &single);
        ContactPatch {
            first_name: Some(single.first_name),
            last_name: Some(single.last_name),
            company: Some(single.company),
            title: Some(single.title),
            notes: Some(single.notes),
            phones: Some(phones),
            emails: Some(emails),
            addresses: Some(self.more.addresses(current)),
            dates: Some(self.more.dates(&current.dates)),
            ..ContactPatch::default()
        }
    }
}

/// One input of the form.
struct FieldView {
    name: &'static str,
    label: &'static str,
    kind: &'static str,
    autocomplete: &'static str,
    value: String,
    error: Option<String>,
    wide: bool,
}

#[derive(Template)]
#[template(path = "contact_form.html")]
struct FormModal {
    /// Whether to wrap the form in its `<dialog>` (first opening) or answer the form alone.
    dialog: bool,
    heading: String,
    action: String,
    fields: Vec<FieldView>,
    more: MoreView,
    /// The first address and the birthday.
    details: Vec<FieldView>,
    /// What the contact keeps beyond the form, one line each.
    kept: Vec<String>,
    version: Option<i64>,
    editing: bool,
    /// A message above the fields: what was just saved, or why saving failed.
    notice: Option<String>,
    failure: Option<String>,
    /// The photo panel (`contact_photo.html`), when editing.
    photo: Option<String>,
}

/// A contact's photo with "Upload photo" and "Remove photo" for those who may change it.
#[derive(Template)]
#[template(path = "contact_photo.html")]
struct PhotoPanel {
    base: &'static str,
    id: Uuid,
    name: String,
    has_photo: bool,
    /// Also in the image's URL, so a changed photo is fetched again.
    version: i64,
    can_write: bool,
    /// Just changed: the form's version moves on with the contact's (out of band).
    changed: bool,
}

impl PhotoPanel {
    fn of(which: Which, viewer: &Viewer, contact: &Contact, changed: bool) -> PhotoPanel {
        PhotoPanel {
            base: which.path(),
            id: contact.id,
            name: display_name(&contact.fields.to_input()),
            has_photo: contact.has_photo,
            version: contact.version,
            can_write: may_write(viewer, which).is_ok(),
            changed,
        }
    }
}

impl FormModal {
    fn new(which: Which, id: Option<Uuid>, input: &ContactInput) -> FormModal {
        let action = match id {
            Some(id) => format!("{}/{id}", which.path()),
            None => which.path().to_string(),
        };
        let verb = if id.is_some() { "Edit" } else { "Add" };
        FormModal {
            dialog: true,
            heading: format!("{verb} {}", which.noun()),
            action,
            fields: field_views(input, &BTreeMap::new()),
            more: MoreView::of(input),
            details: detail_views(input, &BTreeMap::new()),
            kept: kept_beyond_the_form(input),
            version: None,
            editing: id.is_some(),
            notice: None,
            failure: None,
            photo: None,
        }
    }
}

fn field_views(input: &ContactInput, errors: &BTreeMap<String, String>) -> Vec<FieldView> {
    let field = |name, label, kind, autocomplete, value: &String, wide| FieldView {
        name,
        label,
        kind,
        autocomplete,
        value: value.clone(),
        error: errors.get(name).map(|message| capitalize(message)),
        wide,
    };
    vec![
        field("first_name", "First name", "text", "given-name", &input.first_name, false),
        field("last_name", "Last name", "text", "family-name", &input.last_name, false),
        field("company", "Company", "text", "organization", &input.company, false),
        field("title", "Job title", "text", "organization-title", &input.title, false),
        field("work_phone", "Work number", "tel", "tel", &input.work_phone, false),
        field("mobile_phone", "Mobile number", "tel", "tel", &input.mobile_phone, false),
        field("home_phone", "Home number", "tel", "tel", &input.home_phone, false),
        field("fax", "Fax number", "tel", "tel", &input.fax, false),
        field("email", "Email", "email", "email", &input.email, true),
        field("notes", "Notes", "textarea", "off", &input.notes, true),
    ]
}

/// The first address and the birthday, after the rows of more numbers and emails.
fn detail_views(input: &ContactInput, errors: &BTreeMap<String, String>) -> Vec<FieldView> {
    address_and_birthday(input)
        .into_iter()
        .map(|(name, label, value)| FieldView {
            name,
            label,
            kind: "text",
            autocomplete: "off",
            value,
            error: errors.get(name).map(|message| capitalize(message)),
            wide: name == "street",
        })
        .collect()
}

async fn new_form(viewer: Viewer, which: Which) -> PortalResult<Response> {
    may_write(&viewer, which)?;
    html(&FormModal::new(which, None, &ContactInput::default()))
}

async fn edit_form(
    State(state): State<AppState>,
    viewer: Viewer,
    which: Which,
    Path(id): Path<Uuid>,
) -> PortalResult<Response> {
    let contact = state.app.get_contact(&viewer.caller, &which.book(&viewer), id).await?;
    let mut modal = FormModal::new(which, Some(id), &contact.fields.to_input());
    modal.version = Some(contact.version);
    modal.photo = Some(PhotoPanel::of(which, &viewer, &contact, false).render()?);
    html(&modal)
}

/// The photo itself, for the panel's `<img>` (the session decides, as for the contact).
async fn photo(
    State(state): State<AppState>,
    viewer: Viewer,
    which: Which,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
) -> PortalResult<Response> {
    let photo = state.app.contact_photo(&viewer.caller, &which.book(&viewer), id).await?;
    Ok(photo_response(photo, &headers))
}

/// The chosen image, sent as it is by the page script; answers the panel again.
async fn upload_photo(
    State(state): State<AppState>,
    viewer: Viewer,
    which: Which,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    body: Body,
) -> PortalResult<Response> {
    let bytes = photo_body(&headers, body).await?;
    let declared = content_type(&headers);
    let contact = state.app.set_contact_photo(&viewer.caller, &which.book(&viewer), id, bytes, declared).await?;
    photo_changed(which, &viewer, &contact, "Photo saved.")
}

async fn remove_photo(
    State(state): State<AppState>,
    viewer: Viewer,
    which: Which,
    Path(id): Path<Uuid>,
) -> PortalResult<Response> {
    let contact = state.app.delete_contact_photo(&viewer.caller, &which.book(&viewer), id).await?;
    photo_changed(which, &viewer, &contact, "Photo removed.")
}

fn photo_changed(which: Which, viewer: &Viewer, contact: &Contact, message: &str) -> PortalResult<Response> {
    let trigger = json!({ "toast": { "message": message }, "contacts-changed": true });
    Ok(triggers(trigger, html(&PhotoPanel::of(which, viewer, contact, true))?))
}

/// The portal offers these forms only to those who may write; the app decides again on save.
fn may_write(viewer: &Viewer, which: Which) -> PortalResult<()> {
    let allowed = match which {
        Which::Shared => viewer.caps.edit_shared,
        Which::Mine => viewer.caps.keep_own_contacts,
    };
    if allowed { Ok(()) } else { Err(AppError::Forbidden("change these contacts".into()).into()) }
}

async fn create(
    State(state): State<AppState>,
    viewer: Viewer,
    which: Which,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PortalResult<Response> {
    let form = ContactForm::read(pairs)?;
    let input = form.input();
    match state.app.create_contact(&viewer.caller, &which.book(&viewer), input.clone()).await {
        Ok(contact) => {
            let name = display_name(&contact.fields.to_input());
            if form.save == "another" {
                let mut modal = FormModal::new(which, None, &ContactInput::default());
                modal.dialog = false;
                modal.notice = Some(format!("Saved {name}. Add the next one."));
                let trigger = json!({ "contacts-changed": true });
                return Ok(triggers(trigger, html(&modal)?));
            }
            Ok(saved(format!("Saved {name}.")))
        }
        Err(error) => refused(which, None, &input, form.version, error),
    }
}

async fn update(
    State(state): State<AppState>,
    viewer: Viewer,
    which: Which,
    Path(id): Path<Uuid>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PortalResult<Response> {
    let form = ContactForm::read(pairs)?;
    let input = form.input();
    let current = state.app.get_contact(&viewer.caller, &which.book(&viewer), id).await?;
    let patch = form.patch(&current.fields);
    match state.app.update_contact(&viewer.caller, &which.book(&viewer), id, form.version, patch).await {
        Ok(contact) => Ok(saved(format!("Saved {}.", display_name(&contact.fields.to_input())))),
        Err(error) => refused(which, Some(id), &input, form.version, error),
    }
}

/// Saved and done: close the modal, refresh the lists, say so.
fn saved(message: String) -> Response {
    let trigger = json!({ "toast": { "message": message }, "close-modal": true, "contacts-changed": true });
    triggers(trigger, ([("hx-reswap", "none")], StatusCode::OK).into_response())
}

/// Answers a refused save with the form again (422), its messages next to the fields.
fn refused(
    which: Which,
    id: Option<Uuid>,
    input: &ContactInput,
    version: Option<i64>,
    error: AppError,
) -> PortalResult<Response> {
    let mut modal = FormModal::new(which, id, input);
    modal.dialog = false;
    modal.version = version;
    match error {
        AppError::Invalid(invalid) => {
            let errors =
                invalid.0.into_iter().map(|e| (form_field(&e.field).to_string(), e.message)).collect::<BTreeMap<_, _>>();
            modal.fields = field_views(input, &errors);
            modal.details = detail_views(input, &errors);
            let shown = |k: &String| modal.fields.iter().chain(&modal.details).any(|f| f.name == k);
            if errors.contains_key("name") || !errors.keys().any(shown) {
                modal.failure = errors.values().next().cloned().map(|m| capitalize(&m));
            }
        }
        AppError::Conflict(why) => modal.failure = Some(capitalize(&why)),
        AppError::Stale { .. } => {
            modal.failure = Some(
                "Someone changed this contact while you were editing it. Close this window and open it again to see their version."
                    .into(),
            )
        }
        other => return Err(PortalError::from(other)),
    }
    Ok((StatusCode::UNPROCESSABLE_ENTITY, html(&modal)?).into_response())
}

async fn delete(
    State(state): State<AppState>,
    viewer: Viewer,
    which: Which,
    Path(id): Path<Uuid>,
) -> PortalResult<Response> {
    let contact = state.app.delete_contact(&viewer.caller, &which.book(&viewer), id).await?;
    let undo = format!("{}/{id}/restore", which.path());
    let message = format!("Deleted {}.", display_name(&contact.fields.to_input()));
    Ok(triggers(json!({ "toast": { "message": message, "undo": undo } }), StatusCode::OK.into_response()))
}

async fn restore(
    State(state): State<AppState>,
    viewer: Viewer,
    which: Which,
    Path(id): Path<Uuid>,
) -> PortalResult<Response> {
    let contact = state.app.restore_contact(&viewer.caller, &which.book(&viewer), id).await?;
    let message = format!("Restored {}.", display_name(&contact.fields.to_input()));
    Ok(triggers(json!({ "toast": { "message": message }, "contacts-changed": true }), StatusCode::OK.into_response()))
}

/// How a contact is named in messages: its names, else its company.
pub(crate) fn display_name(input: &ContactInput) -> String {
    let name = format!("{} {}", input.first_name, input.last_name).trim().to_string();
    if name.is_empty() { input.company.clone() } else { name }
}
