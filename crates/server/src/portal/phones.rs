//! The "Desk phones" page: the credentials phones read the directory with (issue: desk
//! phones), for those who may manage them. Adding one shows its secrets once, with the
//! text to paste into each vendor's provisioning; any credential's settings can be shown
//! again (with placeholders for the secrets), and a credential can be revoked.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;
use serde_json::json;
use switchboard_app::provisioning::{DEFAULT_LDAP_PORT, DeviceSettings, PublicAddress, Secrets, settings};
use switchboard_app::{AppError, CreatedDevice, DeviceInput, DeviceView};
use uuid::Uuid;

use super::{Frame, PortalResult, Viewer, capitalize, html, timestamp, triggers};
use crate::AppState;

/// Credentials a page of the list shows.
const PAGE_SIZE: u32 = 50;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/phones", get(page).post(create))
        .route("/phones/rows", get(rows))
        .route("/phones/new", get(new_form))
        .route("/phones/{id}/settings", get(show_settings))
        .route("/phones/{id}/revoke", get(confirm_revoke).post(revoke))
}

fn check(viewer: &Viewer) -> PortalResult<()> {
    if viewer.caps.manage_devices {
        Ok(())
    } else {
        Err(AppError::Forbidden("you may not manage your domain's desk phones".into()).into())
    }
}

#[derive(Template)]
#[template(path = "phones.html")]
struct PhonesPage {
    frame: Frame,
    domain: String,
    /// Whether phones can read the directory over LDAP here.
    ldap_served: bool,
    form: PhoneForm,
    rows: PhoneRows,
    pbx: super::presence::PbxPanel,
    webhooks: super::webhooks::WebhookPanel,
}

async fn page(State(state): State<AppState>, viewer: Viewer) -> PortalResult<Response> {
    check(&viewer)?;
    let rows = PhoneRows::load(&state, &viewer, None).await?;
    let ldap_served = state.config.ldap_port.is_some() || state.config.public_ldap.is_some();
    let domain = viewer.domain_name();
    let pbx = super::presence::PbxPanel::load(&state, &viewer).await?;
    let webhooks = super::webhooks::WebhookPanel::load(&state, &viewer).await?;
    let form = PhoneForm::default();
    html(&PhonesPage { frame: viewer.frame("phones"), domain, ldap_served, form, rows, pbx, webhooks })
}

// --- The list ---------------------------------------------------------------------

/// A credential as its row shows it.
struct PhoneRow {
    id: Uuid,
    name: String,
    user: String,
    networks: String,
    last_used: String,
    revoked: bool,
}

impl From<&DeviceView> for PhoneRow {
    fn from(device: &DeviceView) -> PhoneRow {
        PhoneRow {
            id: device.id,
            name: device.name.clone(),
            user: device.user.clone().unwrap_or_default(),
            networks: device.allowed_networks.join(", "),
            last_used: device.last_used_at.map(timestamp).unwrap_or_else(|| "never".into()),
            revoked: device.revoked_at.is_some(),
        }
    }
}

#[derive(Template)]
#[template(path = "phone_rows.html")]
struct PhoneRows {
    rows: Vec<PhoneRow>,
    next_cursor: Option<String>,
}

impl PhoneRows {
    async fn load(state: &AppState, viewer: &Viewer, cursor: Option<&str>) -> PortalResult<PhoneRows> {
        let page = state.app.list_devices(&viewer.caller, &viewer.domain_name(), Some(PAGE_SIZE), cursor).await?;
        Ok(PhoneRows { rows: page.items.iter().map(PhoneRow::from).collect(), next_cursor: page.next_cursor })
    }
}

#[derive(Debug, Deserialize)]
struct ListPage {
    cursor: Option<String>,
}

async fn rows(State(state): State<AppState>, viewer: Viewer, Query(page): Query<ListPage>) -> PortalResult<Response> {
    check(&viewer)?;
    html(&PhoneRows::load(&state, &viewer, page.cursor.as_deref()).await?)
}

// --- Adding -----------------------------------------------------------------------

/// The add form's values (kept when refused) and its messages by field: `name`, `user`, `networks`.
#[derive(Template, Debug, Default, Deserialize)]
#[template(path = "phone_form.html")]
#[serde(default)]
struct PhoneForm {
    name: String,
    user: String,
    networks: String,
    #[serde(skip)]
    errors: BTreeMap<String, String>,
}

impl PhoneForm {
    fn input(&self) -> DeviceInput {
        let networks = self.networks.split([',', ' ', '\n', '\r', '\t']).filter(|n| !n.is_empty());
        DeviceInput {
            name: self.name.clone(),
            user: Some(self.user.trim().to_string()).filter(|ext| !ext.is_empty()),
            allowed_networks: networks.map(str::to_string).collect(),
        }
    }
}

async fn new_form(viewer: Viewer) -> PortalResult<Response> {
    check(&viewer)?;
    html(&PhoneForm::default())
}

/// After adding: the secrets, shown this once, and the settings made with them.
#[derive(Template)]
#[template(path = "phone_created.html")]
struct CreatedPanel {
    name: String,
    token: String,
    bind_dn: String,
    password: String,
    settings: String,
}

async fn create(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(mut form): Form<PhoneForm>,
) -> PortalResult<Response> {
    check(&viewer)?;
    let errors = match state.app.create_device(&viewer.caller, &viewer.domain_name(), form.input()).await {
        Ok(CreatedDevice { device, token, bind_dn, password }) => {
            let secrets = Some(Secrets { token: &token, password: &password });
            let public = public_address(&state, &headers);
            let settings = settings(&viewer.domain().name, &DeviceSettings::from(&device), secrets, &public);
            let events = json!({ "toast": { "message": format!("Added {}", device.name) }, "phones-changed": true });
            let panel = CreatedPanel { name: device.name, token, bind_dn, password, settings };
            return Ok(triggers(events, html(&panel)?));
        }
        Err(AppError::Invalid(invalid)) => {
            invalid.0.into_iter().map(|e| (form_field(&e.field), capitalize(&e.message)))
        }
        Err(other) => return Err(other.into()),
    };
    form.errors = errors.collect();
    Ok((StatusCode::UNPROCESSABLE_ENTITY, html(&form)?).into_response())
}

/// The form field an app field error belongs to (`allowed_networks[2]` is the networks field).
fn form_field(field: &str) -> String {
    if field.starts_with("allowed_networks") { "networks".into() } else { field.to_string() }
}

// --- Settings and revoking ---------------------------------------------------------

#[derive(Template)]
#[template(path = "phone_settings.html")]
struct SettingsPanel {
    name: String,
    revoked: bool,
    settings: String,
}

async fn show_settings(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
) -> PortalResult<Response> {
    check(&viewer)?;
    let device = state.app.device(&viewer.caller, &viewer.domain_name(), id).await?;
    let text = settings(&viewer.domain().name, &DeviceSettings::from(&device), None, &public_address(&state, &headers));
    html(&SettingsPanel { name: device.name, revoked: device.revoked_at.is_some(), settings: text })
}

/// The row asking to confirm; Keep reloads the list.
#[derive(Template)]
#[template(path = "phone_revoke.html")]
struct ConfirmRevoke {
    id: Uuid,
    name: String,
}

async fn confirm_revoke(State(state): State<AppState>, viewer: Viewer, Path(id): Path<Uuid>) -> PortalResult<Response> {
    check(&viewer)?;
    let device = state.app.device(&viewer.caller, &viewer.domain_name(), id).await?;
    html(&ConfirmRevoke { id, name: device.name })
}

async fn revoke(State(state): State<AppState>, viewer: Viewer, Path(id): Path<Uuid>) -> PortalResult<Response> {
    check(&viewer)?;
    let device = state.app.revoke_device(&viewer.caller, &viewer.domain_name(), id).await?;
    let rows = PhoneRows::load(&state, &viewer, None).await?;
    let message = format!("Revoked {}: phones using it no longer reach the directory", device.name);
    Ok(triggers(json!({ "toast": { "message": message } }), html(&rows)?))
}

// --- Where phones reach the server ----------------------------------------------------

/// The addresses the settings name: as configured, else as this page was reached (the
/// `Host` the browser sent, when it is a plain host and port) and at the `--ldap` port.
pub(super) fn public_address(state: &AppState, headers: &HeaderMap) -> PublicAddress {
    let config = &state.config;
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .filter(|host| !host.is_empty() && host.chars().all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c)))
        .unwrap_or("localhost:8080");
    let scheme = if config.secure_cookies { "https" } else { "http" };
    let base_url = config.public_url.clone().unwrap_or_else(|| format!("{scheme}://{host}"));
    let ldap_port = config.ldap_port.unwrap_or(DEFAULT_LDAP_PORT);
    PublicAddress { base_url, ldap: config.public_ldap.clone(), ldap_port }
}
