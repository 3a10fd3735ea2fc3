//! Presence in the portal. The "Phone system" section of the Desk phones page: the
//! credentials a PBX (or another integration) reports its line states with, for those
//! who may manage them (adding one shows its secret once; any can be revoked). And the
//! activity every page reports on input (`app.js`), so its person is not shown away.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use serde_json::json;
use switchboard_app::AppError;
use uuid::Uuid;

use super::{PortalResult, Viewer, capitalize, html, timestamp, triggers};
use crate::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/phones/pbx", get(panel).post(create))
        .route("/phones/pbx/{id}/revoke", post(revoke))
        .route("/presence/activity", post(activity))
}

/// The person did something on a page: available to chat, not away.
async fn activity(State(state): State<AppState>, viewer: Viewer) -> PortalResult<Response> {
    let user = viewer.user().extension.to_string();
    state.app.presence_activity(&viewer.caller, &viewer.domain_name(), &user).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A credential as its row shows it.
struct PbxRow {
    id: Uuid,
    name: String,
    created: String,
}

/// The section's content: the list, the add form, and a secret just made.
#[derive(Template, Default)]
#[template(path = "pbx_credentials.html")]
pub(super) struct PbxPanel {
    domain: String,
    rows: Vec<PbxRow>,
    /// The name typed, kept when refused.
    name: String,
    error: Option<String>,
    /// The name and secret of the credential just added, shown this once.
    created: Option<(String, String)>,
}

impl PbxPanel {
    pub(super) async fn load(state: &AppState, viewer: &Viewer) -> PortalResult<PbxPanel> {
        let domain = viewer.domain_name();
        let credentials = state.app.list_pbx_credentials(&viewer.caller, &domain).await?;
        let rows = credentials
            .into_iter()
            .map(|c| PbxRow { id: c.id, name: c.name, created: timestamp(c.created_at) })
            .collect();
        Ok(PbxPanel { domain, rows, ..PbxPanel::default() })
    }
}

async fn panel(State(state): State<AppState>, viewer: Viewer) -> PortalResult<Response> {
    html(&PbxPanel::load(&state, &viewer).await?)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PbxForm {
    name: String,
}

async fn create(State(state): State<AppState>, viewer: Viewer, Form(form): Form<PbxForm>) -> PortalResult<Response> {
    let created = state.app.create_pbx_credential(&viewer.caller, &viewer.domain_name(), &form.name).await;
    let mut panel = PbxPanel::load(&state, &viewer).await?;
    match created {
        Ok(token) => {
            let message = format!("Added {}", token.credential.name);
            panel.created = Some((token.credential.name, token.secret));
            Ok(triggers(json!({ "toast": { "message": message } }), html(&panel)?))
        }
        Err(AppError::Invalid(invalid)) => {
            panel.name = form.name;
            panel.error = invalid.0.first().map(|e| capitalize(&e.message));
            Ok((StatusCode::UNPROCESSABLE_ENTITY, html(&panel)?).into_response())
        }
        Err(other) => Err(other.into()),
    }
}

async fn revoke(State(state): State<AppState>, viewer: Viewer, Path(id): Path<Uuid>) -> PortalResult<Response> {
    state.app.revoke_pbx_credential(&viewer.caller, &viewer.domain_name(), id).await?;
    let panel = PbxPanel::load(&state, &viewer).await?;
    let message = "Revoked: the phone system using it can no longer report line states";
    Ok(triggers(json!({ "toast": { "message": message } }), html(&panel)?))
}
