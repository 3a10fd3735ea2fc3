//! "My desk phones", opened from the Contacts page: whether phones that someone else set
//! up for the logged-in user may show the user's own contacts. Only the user sees it.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;
use serde_json::json;
use switchboard_app::PhoneSharing;

use super::{PortalResult, Viewer, html, triggers};
use crate::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/contacts/phone-sharing", get(panel).post(save))
}

#[derive(Template)]
#[template(path = "sharing_modal.html")]
struct SharingModal {
    own_contacts: bool,
}

async fn panel(State(state): State<AppState>, viewer: Viewer) -> PortalResult<Response> {
    let sharing = state.app.phone_sharing(&viewer.caller, &viewer.domain_name(), &viewer.extension()).await?;
    html(&SharingModal { own_contacts: sharing.own_contacts })
}

/// The form: the checkbox is sent only when ticked.
#[derive(Debug, Deserialize)]
struct SharingForm {
    own_contacts: Option<String>,
}

async fn save(State(state): State<AppState>, viewer: Viewer, Form(form): Form<SharingForm>) -> PortalResult<Response> {
    let sharing = PhoneSharing { own_contacts: form.own_contacts.is_some() };
    state.app.set_phone_sharing(&viewer.caller, &viewer.domain_name(), &viewer.extension(), sharing).await?;
    let message = if sharing.own_contacts {
        "Desk phones set up for you now show your own contacts"
    } else {
        "Your own contacts stay off desk phones others set up"
    };
    let events = json!({ "toast": { "message": message }, "close-modal": true });
    Ok(triggers(events, StatusCode::NO_CONTENT.into_response()))
}
