//! The "Allowed numbers" panel, opened from the Contacts page: the numbers the logged-in
//! user lets through their domain's block list (seed 004).

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use serde_json::json;
use switchboard_app::{AllowedNumberInput, AppError};
use uuid::Uuid;

use super::{PortalResult, Viewer, capitalize, html, triggers};
use crate::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/contacts/allowed-numbers", get(panel).post(allow))
        .route("/contacts/allowed-numbers/list", get(list))
        .route("/contacts/allowed-numbers/{id}/delete", post(disallow))
}

struct AllowedRow {
    id: Uuid,
    number: String,
    note: String,
}

#[derive(Template)]
#[template(path = "allowed_numbers.html")]
struct AllowedList {
    rows: Vec<AllowedRow>,
    next_cursor: Option<String>,
    /// The add form's values (kept when refused) and messages by field: `number`, `note`.
    number: String,
    note: String,
    errors: BTreeMap<String, String>,
}

#[derive(Template)]
#[template(path = "allowed_modal.html")]
struct AllowedModal {
    list: AllowedList,
}

impl AllowedList {
    async fn load(state: &AppState, viewer: &Viewer, cursor: Option<&str>) -> PortalResult<AllowedList> {
        let (domain, ext) = (viewer.domain_name(), viewer.extension());
        let page = state.app.list_allowed_numbers(&viewer.caller, &domain, &ext, None, cursor).await?;
        let rows = page
            .items
            .into_iter()
            .map(|entry| AllowedRow { id: entry.id, number: entry.number, note: entry.note })
            .collect();
        Ok(AllowedList {
            rows,
            next_cursor: page.next_cursor,
            number: String::new(),
            note: String::new(),
            errors: BTreeMap::new(),
        })
    }
}

async fn panel(State(state): State<AppState>, viewer: Viewer) -> PortalResult<Response> {
    html(&AllowedModal { list: AllowedList::load(&state, &viewer, None).await? })
}

#[derive(Debug, Deserialize)]
struct ListPage {
    cursor: Option<String>,
}

async fn list(State(state): State<AppState>, viewer: Viewer, Query(page): Query<ListPage>) -> PortalResult<Response> {
    html(&AllowedList::load(&state, &viewer, page.cursor.as_deref()).await?)
}

async fn allow(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(input): Form<AllowedNumberInput>,
) -> PortalResult<Response> {
    let (domain, ext) = (viewer.domain_name(), viewer.extension());
    let refusal = match state.app.add_allowed_number(&viewer.caller, &domain, &ext, input.clone()).await {
        Ok(entry) => {
            let list = AllowedList::load(&state, &viewer, None).await?;
            let toast = json!({ "toast": { "message": format!("Calls from {} reach you", entry.number) } });
            return Ok(triggers(toast, html(&list)?));
        }
        Err(AppError::Invalid(invalid)) => invalid.0.into_iter().map(|e| (e.field, capitalize(&e.message))).collect(),
        Err(AppError::Conflict(message)) => BTreeMap::from([("number".to_string(), capitalize(&message))]),
        Err(other) => return Err(other.into()),
    };
    let mut list = AllowedList::load(&state, &viewer, None).await?;
    (list.number, list.note, list.errors) = (input.number, input.note, refusal);
    Ok((StatusCode::UNPROCESSABLE_ENTITY, html(&list)?).into_response())
}

async fn disallow(State(state): State<AppState>, viewer: Viewer, Path(id): Path<Uuid>) -> PortalResult<Response> {
    let (domain, ext) = (viewer.domain_name(), viewer.extension());
    let removed = state.app.delete_allowed_number(&viewer.caller, &domain, &ext, id).await?;
    let list = AllowedList::load(&state, &viewer, None).await?;
    let toast = json!({ "toast": { "message": format!("{} is off your allow list", removed.number) } });
    Ok(triggers(toast, html(&list)?))
}
