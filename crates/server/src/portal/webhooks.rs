//! The "Webhooks" section of the Desk phones page, for those who may manage the
//! domain's webhooks: the list with each one's last delivery, a warning for those
//! paused after failing (with a resume button), adding one (its secret shown once) and
//! deleting. The rules are in `app::webhooks`.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use serde_json::json;
use switchboard_app::{AppError, WebhookInput};
use switchboard_core::model::Webhook;
use uuid::Uuid;

use super::{PortalResult, Viewer, capitalize, html, timestamp, triggers};
use crate::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/phones/webhooks", get(panel).post(create))
        .route("/phones/webhooks/{id}/resume", post(resume))
        .route("/phones/webhooks/{id}/delete", post(delete))
}

/// A webhook as its row shows it.
struct WebhookRow {
    id: Uuid,
    url: String,
    kinds: &'static str,
    /// The last delivery: when, and how it went.
    last: String,
    paused: bool,
    failing: bool,
}

impl WebhookRow {
    fn of(webhook: Webhook) -> WebhookRow {
        let kinds = match (webhook.contacts, webhook.presence) {
            (true, true) => "Contacts and presence",
            (true, false) => "Contacts",
            _ => "Presence",
        };
        let outcome = match (&webhook.last_error, webhook.last_status) {
            (Some(error), _) => error.clone(),
            (None, Some(status)) => format!("Delivered ({status})"),
            (None, None) => String::new(),
        };
        let last = match webhook.last_attempt_at {
            Some(at) => format!("{}: {outcome}", timestamp(at)),
            None => "Nothing sent yet".into(),
        };
        WebhookRow {
            id: webhook.id,
            url: webhook.url,
            kinds,
            last,
            paused: webhook.paused,
            failing: webhook.failures > 0,
        }
    }
}

/// The section's content: the list, the add form, and a secret just made.
#[derive(Template, Default)]
#[template(path = "webhooks.html")]
pub(super) struct WebhookPanel {
    rows: Vec<WebhookRow>,
    /// What was typed, kept when refused.
    url: String,
    contacts: bool,
    presence: bool,
    error: Option<String>,
    /// The URL and secret of the webhook just added, shown this once.
    created: Option<(String, String)>,
}

impl WebhookPanel {
    pub(super) async fn load(state: &AppState, viewer: &Viewer) -> PortalResult<WebhookPanel> {
        let webhooks = state.app.list_webhooks(&viewer.caller, &viewer.domain_name()).await?;
        let rows = webhooks.into_iter().map(WebhookRow::of).collect();
        Ok(WebhookPanel { rows, contacts: true, presence: true, ..WebhookPanel::default() })
    }

    fn paused(&self) -> usize {
        self.rows.iter().filter(|row| row.paused).count()
    }
}

async fn panel(State(state): State<AppState>, viewer: Viewer) -> PortalResult<Response> {
    html(&WebhookPanel::load(&state, &viewer).await?)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WebhookForm {
    url: String,
    /// Checkboxes: present ("on") when ticked.
    contacts: Option<String>,
    presence: Option<String>,
}

async fn create(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<WebhookForm>,
) -> PortalResult<Response> {
    let input =
        WebhookInput { url: form.url.clone(), contacts: form.contacts.is_some(), presence: form.presence.is_some() };
    let created = state.app.create_webhook(&viewer.caller, &viewer.domain_name(), input).await;
    let mut panel = WebhookPanel::load(&state, &viewer).await?;
    match created {
        Ok(created) => {
            let message = format!("Added the webhook to {}", created.webhook.url);
            panel.created = created.secret.map(|secret| (created.webhook.url, secret));
            Ok(triggers(json!({ "toast": { "message": message } }), html(&panel)?))
        }
        Err(AppError::Invalid(invalid)) => {
            panel.url = form.url;
            panel.contacts = form.contacts.is_some();
            panel.presence = form.presence.is_some();
            panel.error = invalid.0.first().map(|e| capitalize(&e.message));
            Ok((StatusCode::UNPROCESSABLE_ENTITY, html(&panel)?).into_response())
        }
        Err(other) => Err(other.into()),
    }
}

async fn resume(State(state): State<AppState>, viewer: Viewer, Path(id): Path<Uuid>) -> PortalResult<Response> {
    let webhook = state.app.resume_webhook(&viewer.caller, &viewer.domain_name(), id).await?;
    let panel = WebhookPanel::load(&state, &viewer).await?;
    let message = format!("Resumed: {} receives the changes it missed", webhook.url);
    Ok(triggers(json!({ "toast": { "message": message } }), html(&panel)?))
}

async fn delete(State(state): State<AppState>, viewer: Viewer, Path(id): Path<Uuid>) -> PortalResult<Response> {
    state.app.delete_webhook(&viewer.caller, &viewer.domain_name(), id).await?;
    let panel = WebhookPanel::load(&state, &viewer).await?;
    Ok(triggers(json!({ "toast": { "message": "Deleted the webhook" } }), html(&panel)?))
}
