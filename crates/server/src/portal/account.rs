//! "Your account": the logged-in user changes their own password (with the current
//! one; their other sessions end), connects address-book apps (CardDAV, with app
//! passwords: `app_passwords.rs`) or signs out everywhere (every session and API token).

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use serde_json::json;
use switchboard_app::AppError;

use super::app_passwords::{AppPasswordPanel, CardDavAddress};
use super::{Frame, PortalResult, Viewer, capitalize, html, triggers};
use crate::AppState;
use crate::auth::cleared_cookie_header;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/account", get(page))
        .route("/account/password", post(change_password))
        .route("/account/sign-out-everywhere", post(sign_out_everywhere))
        .merge(super::app_passwords::routes())
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    frame: Frame,
    form: PasswordForm,
    carddav: CardDavAddress,
    apps: AppPasswordPanel,
}

/// The password form; its values are never sent back, only the messages by field:
/// `current_password`, `password`, `confirm_password`.
#[derive(Template, Default)]
#[template(path = "account_password.html")]
struct PasswordForm {
    errors: BTreeMap<String, String>,
}

async fn page(State(state): State<AppState>, headers: HeaderMap, viewer: Viewer) -> PortalResult<Response> {
    let carddav = CardDavAddress::of(&state, &headers, &viewer);
    let apps = AppPasswordPanel::load(&state, &viewer).await?;
    html(&AccountPage { frame: viewer.frame("account"), form: PasswordForm::default(), carddav, apps })
}

#[derive(Deserialize)]
struct PasswordInput {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm_password: String,
}

async fn change_password(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(input): Form<PasswordInput>,
) -> PortalResult<Response> {
    if input.password != input.confirm_password {
        let errors = BTreeMap::from([("confirm_password".to_string(), "The two new passwords differ.".to_string())]);
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, html(&PasswordForm { errors })?).into_response());
    }
    match state.app.change_own_password(&viewer.caller, &input.current_password, &input.password).await {
        Ok(()) => {
            let message = "Password changed. You were signed out everywhere else.";
            Ok(triggers(json!({ "toast": { "message": message } }), html(&PasswordForm::default())?))
        }
        Err(AppError::Invalid(invalid)) => {
            let errors = invalid.0.into_iter().map(|e| (e.field, capitalize(&e.message))).collect();
            Ok((StatusCode::UNPROCESSABLE_ENTITY, html(&PasswordForm { errors })?).into_response())
        }
        Err(other) => Err(other.into()),
    }
}

async fn sign_out_everywhere(State(state): State<AppState>, viewer: Viewer) -> PortalResult<Response> {
    state.app.sign_out_everywhere(&viewer.caller).await?;
    let cleared = cleared_cookie_header(state.config.secure_cookies);
    // htmx follows `HX-Redirect` itself, as after logging out.
    Ok(([(header::SET_COOKIE, cleared), (HeaderName::from_static("hx-redirect"), "/login".into())], "").into_response())
}
