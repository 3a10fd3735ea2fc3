//! "Possible duplicates" of Shared Contacts and of one's own contacts: groups of contacts
//! that share a number, an email, or names and company, each with Merge… (a dialog that
//! chooses between conflicting values) and Not duplicates. A merge's toast offers Undo,
//! which restores the merged contacts from the trash.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use serde_json::json;
use switchboard_app::{AppError, DuplicateParams, MergeInput, NotDuplicatesInput};
use switchboard_core::merge::SINGLE_FIELDS;
use uuid::Uuid;

use super::contact_form::{Which, display_name};
use super::shared::ContactRow;
use super::{Frame, PortalResult, Viewer, html, triggers};
use crate::AppState;

pub(crate) fn routes(which: Which) -> Router<AppState> {
    let base = which.path();
    Router::new()
        .route(&format!("{base}/duplicates"), get(move |state, viewer, query| page(state, viewer, which, query)))
        .route(
            &format!("{base}/merge"),
            get(move |state, viewer, query| merge_form(state, viewer, which, query))
                .post(move |state, viewer, form| merge(state, viewer, which, form)),
        )
        .route(&format!("{base}/merge/undo"), post(move |state, viewer, query| undo(state, viewer, which, query)))
        .route(
            &format!("{base}/not-duplicates"),
            post(move |state, viewer, query| not_duplicates(state, viewer, which, query)),
        )
}

/// Contacts named in a URL or form: `ids=<id>,<id>…`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Ids {
    ids: String,
}

impl Ids {
    fn parse(&self) -> PortalResult<Vec<Uuid>> {
        let ids: Result<Vec<Uuid>, _> = self.ids.split(',').map(|id| id.trim().parse()).collect();
        ids.map_err(|_| AppError::NotFound.into())
    }
}

fn joined(ids: impl IntoIterator<Item = Uuid>) -> String {
    ids.into_iter().map(|id| id.to_string()).collect::<Vec<_>>().join(",")
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PageQuery {
    cursor: String,
}

struct GroupView {
    heading: String,
    rows: Vec<ContactRow>,
    ids: String,
}

#[derive(Template)]
#[template(path = "duplicates.html")]
struct DuplicatesPage {
    frame: Frame,
    path: &'static str,
    back: &'static str,
    title: &'static str,
    groups: Vec<GroupView>,
    next: Option<String>,
}

async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    which: Which,
    Query(query): Query<PageQuery>,
) -> PortalResult<Response> {
    let cursor = (!query.cursor.trim().is_empty()).then(|| query.cursor.clone());
    let params = DuplicateParams { limit: Some("20".into()), cursor };
    let page = state.app.duplicates(&viewer.caller, &which.book(&viewer), &params).await?;
    let country = state.app.reading_country(&viewer.caller).await?;
    let groups = page.items.iter().map(|group| {
        let api = crate::api::contacts::DuplicateGroupView::of(group.clone());
        let reason = match api.reason.as_str() {
            "phone" => "Same number",
            "email" => "Same email",
            _ => "Same name and company",
        };
        GroupView {
            heading: format!("{reason}: {}", api.shared),
            rows: group.contacts.iter().map(|contact| ContactRow::new(contact, country)).collect(),
            ids: joined(group.contacts.iter().map(|c| c.id)),
        }
    });
    let (active, back, title) = match which {
        Which::Shared => ("shared", "/shared-contacts", "Shared Contacts"),
        Which::Mine => ("contacts", "/contacts", "Contacts"),
    };
    html(&DuplicatesPage {
        frame: viewer.frame(active),
        path: which.path(),
        back,
        title,
        groups: groups.collect(),
        next: page.next_cursor,
    })
}

struct ChoiceView {
    id: String,
    value: String,
    checked: bool,
}

struct ConflictView {
    field: String,
    label: &'static str,
    choices: Vec<ChoiceView>,
}

#[derive(Template)]
#[template(path = "merge_modal.html")]
struct MergeModal {
    path: &'static str,
    ids: String,
    name: String,
    numbers: usize,
    emails: usize,
    conflicts: Vec<ConflictView>,
}

async fn merge_form(
    State(state): State<AppState>,
    viewer: Viewer,
    which: Which,
    Query(ids): Query<Ids>,
) -> PortalResult<Response> {
    let input = MergeInput { ids: ids.parse()?, ..Default::default() };
    let preview = state.app.merge_preview(&viewer.caller, &which.book(&viewer), &input).await?;
    let conflicts = preview.conflicts.into_iter().map(|conflict| ConflictView {
        label: SINGLE_FIELDS.iter().find(|(name, _)| *name == conflict.field).map_or("Field", |(_, label)| label),
        choices: conflict
            .choices
            .into_iter()
            .map(|c| ChoiceView { id: c.id.to_string(), value: c.value, checked: c.id == conflict.chosen })
            .collect(),
        field: conflict.field,
    });
    let contact = &preview.contact;
    html(&MergeModal {
        path: which.path(),
        ids: joined(input.ids.iter().copied()),
        name: display_name(contact),
        numbers: contact.phones.len(),
        emails: contact.emails.len(),
        conflicts: conflicts.collect(),
    })
}

/// The form's `ids` and its `keep.<field>` choices.
async fn merge(
    State(state): State<AppState>,
    viewer: Viewer,
    which: Which,
    Form(form): Form<Vec<(String, String)>>,
) -> PortalResult<Response> {
    let ids = Ids { ids: form.iter().find(|(k, _)| k == "ids").map(|(_, v)| v.clone()).unwrap_or_default() };
    let mut input = MergeInput { ids: ids.parse()?, ..Default::default() };
    for (key, value) in &form {
        if let (Some(field), Ok(id)) = (key.strip_prefix("keep."), value.parse()) {
            input.keep.insert(field.to_string(), id);
        }
    }
    let others = joined(input.ids.iter().skip(1).copied());
    let count = input.ids.len();
    let contact = state.app.merge_contacts(&viewer.caller, &which.book(&viewer), input).await?;
    let message = format!("Merged {count} contacts into {}.", display_name(&contact.fields.to_input()));
    let undo = format!("{}/merge/undo?ids={others}", which.path());
    let events =
        json!({ "toast": { "message": message, "undo": undo }, "close-modal": true, "contacts-changed": true });
    Ok(triggers(events, ([("hx-reswap", "none")], StatusCode::OK).into_response()))
}

/// Undoes a merge: the merged contacts come back from the trash.
async fn undo(
    State(state): State<AppState>,
    viewer: Viewer,
    which: Which,
    Query(ids): Query<Ids>,
) -> PortalResult<Response> {
    let book = which.book(&viewer);
    let ids = ids.parse()?;
    for id in &ids {
        state.app.restore_contact(&viewer.caller, &book, *id).await?;
    }
    let message = format!("Restored {} contacts.", ids.len());
    Ok(triggers(json!({ "toast": { "message": message }, "contacts-changed": true }), StatusCode::OK.into_response()))
}

/// Marks every two contacts of a group as different people.
async fn not_duplicates(
    State(state): State<AppState>,
    viewer: Viewer,
    which: Which,
    Query(ids): Query<Ids>,
) -> PortalResult<Response> {
    let book = which.book(&viewer);
    let ids = ids.parse()?;
    for (i, a) in ids.iter().enumerate() {
        for b in &ids[i + 1..] {
            let pair = NotDuplicatesInput { ids: vec![*a, *b] };
            state.app.mark_not_duplicates(&viewer.caller, &book, &pair).await?;
        }
    }
    let message = "They will not be offered as duplicates again.";
    Ok(triggers(json!({ "toast": { "message": message }, "contacts-changed": true }), StatusCode::OK.into_response()))
}
