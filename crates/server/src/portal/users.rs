//! The Users page (office and site managers) and the Agents page (call-center
//! supervisors): one table of a domain's users, searchable and paged, with the Add and
//! Edit modals. Both pages share this code; the Agents page lists and creates agents only.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;
use serde_json::json;
use switchboard_app::{AppError, ListParams, UserInput, UserPatchInput};
use switchboard_core::Scope;
use switchboard_core::model::User;
use switchboard_core::paging::Page;

use super::{Frame, PortalError, PortalResult, Viewer, capitalize, html, triggers};
use crate::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new().merge(roster_routes(Roster::Users)).merge(roster_routes(Roster::Agents))
}

fn roster_routes(roster: Roster) -> Router<AppState> {
    let base = roster.path();
    Router::new()
        .route(
            base,
            get(move |state, viewer, query| page(state, viewer, roster, query))
                .post(move |state, viewer, form| create(state, viewer, roster, form)),
        )
        .route(&format!("{base}/rows"), get(move |state, viewer, query| rows(state, viewer, roster, query)))
        .route(&format!("{base}/new"), get(move |state, viewer| new_form(state, viewer, roster)))
        .route(
            &format!("{base}/{{ext}}"),
            axum::routing::post(move |state, viewer, ext, form| update(state, viewer, roster, ext, form)),
        )
        .route(&format!("{base}/{{ext}}/edit"), get(move |state, viewer, ext| edit_form(state, viewer, roster, ext)))
        .route(
            &format!("{base}/{{ext}}/delete"),
            get(move |state, viewer, ext| confirm_delete(state, viewer, roster, ext))
                .post(move |state, viewer, ext| delete(state, viewer, roster, ext)),
        )
}

/// Which page: every user the viewer may manage, or the call-center agents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Roster {
    Users,
    Agents,
}

impl Roster {
    fn path(self) -> &'static str {
        match self {
            Roster::Users => "/users",
            Roster::Agents => "/agents",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Roster::Users => "Users",
            Roster::Agents => "Agents",
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Roster::Users => "user",
            Roster::Agents => "agent",
        }
    }

    /// The menu entry of `layout.html`.
    fn menu(self) -> &'static str {
        match self {
            Roster::Users => "users",
            Roster::Agents => "agents",
        }
    }

    /// The page is offered to whom the app gives the capability; the app decides each change again.
    fn check(self, viewer: &Viewer) -> PortalResult<()> {
        let (allowed, what) = match self {
            Roster::Users => (viewer.caps.manage_users, "manage users"),
            Roster::Agents => (viewer.caps.manage_agents, "manage call-center agents"),
        };
        if allowed { Ok(()) } else { Err(AppError::Forbidden(format!("you may not {what}")).into()) }
    }

    /// The scope every user of this roster has, if fixed.
    fn fixed_scope(self) -> Option<Scope> {
        match self {
            Roster::Users => None,
            Roster::Agents => Some(Scope::CallCenterAgent),
        }
    }

    async fn list(self, state: &AppState, viewer: &Viewer, params: &ListParams) -> Result<Page<User>, AppError> {
        let domain = viewer.domain_name();
        match self {
            Roster::Users => state.app.list_users(&viewer.caller, &domain, params).await,
            Roster::Agents => state.app.list_agents(&viewer.caller, &domain, params).await,
        }
    }

    /// A user of this roster by extension (an agent page shows agents only).
    async fn user(self, state: &AppState, viewer: &Viewer, ext: &str) -> PortalResult<User> {
        let user = state.app.get_user(&viewer.caller, &viewer.domain_name(), ext).await?;
        match self.fixed_scope() {
            Some(scope) if user.scope != scope => Err(AppError::NotFound.into()),
            _ => Ok(user),
        }
    }
}

/// How scopes read on the page.
pub(crate) fn scope_label(scope: Scope) -> &'static str {
    match scope {
        Scope::SuperUser => "Super user",
        Scope::Reseller => "Reseller",
        Scope::OfficeManager => "Office manager",
        Scope::SiteManager => "Site manager",
        Scope::CallCenterSupervisor => "Call-center supervisor",
        Scope::CallCenterAgent => "Call-center agent",
        Scope::BasicUser => "Basic user",
        Scope::SimpleUser => "Simple user",
    }
}

// --- The list -------------------------------------------------------------------

/// A page of rows is this long; the last row fetches the next.
const PAGE_SIZE: &str = "50";

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ListQuery {
    q: String,
    cursor: String,
}

impl ListQuery {
    fn params(&self) -> ListParams {
        let given = |text: &str| (!text.trim().is_empty()).then(|| text.trim().to_string());
        ListParams { q: given(&self.q), sort: None, limit: Some(PAGE_SIZE.into()), cursor: given(&self.cursor) }
    }

    fn next(&self, cursor: &str) -> String {
        serde_urlencoded::to_string([("q", self.q.as_str()), ("cursor", cursor)]).unwrap_or_default()
    }
}

/// A user as a row shows it.
struct UserRow {
    extension: String,
    name: String,
    email: String,
    department: String,
    site: String,
    scope: &'static str,
    listed: bool,
}

impl From<&User> for UserRow {
    fn from(user: &User) -> UserRow {
        UserRow {
            extension: user.extension.to_string(),
            name: full_name(user),
            email: user.email.clone(),
            department: user.department.clone(),
            site: user.site.clone(),
            scope: scope_label(user.scope),
            listed: user.listed,
        }
    }
}

fn full_name(user: &User) -> String {
    format!("{} {}", user.first_name, user.last_name).trim().to_string()
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    frame: Frame,
    roster: Roster,
    q: String,
    rows: RowsFragment,
}

#[derive(Template)]
#[template(path = "user_rows.html")]
struct RowsFragment {
    roster: Roster,
    rows: Vec<UserRow>,
    /// Query string of the next page, if there is one.
    next: Option<String>,
    searching: bool,
}

async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    roster: Roster,
    Query(query): Query<ListQuery>,
) -> PortalResult<Response> {
    roster.check(&viewer)?;
    let rows = fragment(&state, &viewer, roster, &query).await?;
    html(&UsersPage { frame: viewer.frame(roster.menu()), roster, q: query.q.clone(), rows })
}

async fn rows(
    State(state): State<AppState>,
    viewer: Viewer,
    roster: Roster,
    Query(query): Query<ListQuery>,
) -> PortalResult<Response> {
    roster.check(&viewer)?;
    html(&fragment(&state, &viewer, roster, &query).await?)
}

async fn fragment(state: &AppState, viewer: &Viewer, roster: Roster, query: &ListQuery) -> PortalResult<RowsFragment> {
    let page = roster.list(state, viewer, &query.params()).await?;
    Ok(RowsFragment {
        roster,
        rows: page.items.iter().map(UserRow::from).collect(),
        next: page.next_cursor.map(|cursor| query.next(&cursor)),
        searching: !query.q.trim().is_empty(),
    })
}

// --- The Add and Edit modal -------------------------------------------------------

/// What the form posts; a missing field is empty.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct UserForm {
    extension: String,
    first_name: String,
    last_name: String,
    email: String,
    department: String,
    site: String,
    scope: String,
    /// The "List in Directory" checkbox: present when ticked.
    listed: Option<String>,
    /// Empty: generated (new users) or unchanged (edits).
    password: String,
    /// The version the edit was made against.
    version: Option<i64>,
}

impl UserForm {
    fn of(user: &User) -> UserForm {
        UserForm {
            extension: user.extension.to_string(),
            first_name: user.first_name.clone(),
            last_name: user.last_name.clone(),
            email: user.email.clone(),
            department: user.department.clone(),
            site: user.site.clone(),
            scope: user.scope.as_str().into(),
            listed: user.listed.then(|| "yes".into()),
            password: String::new(),
            version: Some(user.version),
        }
    }

    fn password(&self) -> Option<String> {
        (!self.password.is_empty()).then(|| self.password.clone())
    }
}

/// One text input of the form.
struct TextField {
    name: &'static str,
    label: &'static str,
    kind: &'static str,
    autocomplete: &'static str,
    value: String,
    error: Option<String>,
    hint: &'static str,
}

/// A choice of the scope select.
struct ScopeOption {
    value: &'static str,
    label: &'static str,
    selected: bool,
}

#[derive(Template)]
#[template(path = "user_form.html")]
struct FormModal {
    /// Whether to wrap the form in its `<dialog>` (first opening) or answer the form alone.
    dialog: bool,
    roster: Roster,
    /// The extension of the user edited; `None` when adding.
    editing: Option<String>,
    extension: TextField,
    fields: Vec<TextField>,
    /// The scopes the viewer may grant; empty when the roster fixes the scope.
    scopes: Vec<ScopeOption>,
    scope_error: Option<String>,
    fixed_scope: Option<&'static str>,
    listed: bool,
    version: Option<i64>,
    /// Why saving failed, when no one field is to blame.
    failure: Option<String>,
}

impl FormModal {
    fn new(
        roster: Roster,
        editing: Option<String>,
        form: &UserForm,
        grantable: &[Scope],
        errors: &BTreeMap<String, String>,
    ) -> FormModal {
        let field = |name, label, kind, autocomplete, value: &str, hint| TextField {
            name,
            label,
            kind,
            autocomplete,
            value: value.to_string(),
            error: errors.get(name).cloned(),
            hint,
        };
        let password_hint = if editing.is_some() {
            "Leave empty to keep the current password."
        } else {
            "Leave empty to generate a strong one, shown once."
        };
        let scopes = match roster.fixed_scope() {
            Some(_) => Vec::new(),
            None => grantable
                .iter()
                .map(|scope| ScopeOption {
                    value: scope.as_str(),
                    label: scope_label(*scope),
                    selected: scope.as_str() == form.scope,
                })
                .collect(),
        };
        FormModal {
            dialog: true,
            roster,
            editing,
            extension: field(
                "extension",
                "Extension",
                "text",
                "off",
                &form.extension,
                "Fixed once the user is created.",
            ),
            fields: vec![
                field("first_name", "First name", "text", "off", &form.first_name, ""),
                field("last_name", "Last name", "text", "off", &form.last_name, ""),
                field("email", "Email", "email", "off", &form.email, ""),
                field("department", "Department", "text", "off", &form.department, ""),
                field("site", "Site", "text", "off", &form.site, ""),
                field("password", "Password", "password", "new-password", "", password_hint),
            ],
            scopes,
            scope_error: errors.get("scope").cloned(),
            fixed_scope: roster.fixed_scope().map(scope_label),
            listed: form.listed.is_some(),
            version: form.version,
            failure: None,
        }
    }

    fn action(&self) -> String {
        match &self.editing {
            Some(ext) => format!("{}/{ext}", self.roster.path()),
            None => self.roster.path().to_string(),
        }
    }
}

async fn new_form(State(state): State<AppState>, viewer: Viewer, roster: Roster) -> PortalResult<Response> {
    roster.check(&viewer)?;
    let grantable = state.app.grantable_scopes(&viewer.caller, &viewer.domain_name()).await?;
    let scope = roster
        .fixed_scope()
        .or_else(|| grantable.iter().copied().find(|s| *s == Scope::BasicUser))
        .or(grantable.last().copied());
    // A new user starts at the viewer's own site (a site manager's only choice) and listed.
    let form = UserForm {
        site: viewer.user().site.clone(),
        scope: scope.map(|s| s.as_str().to_string()).unwrap_or_default(),
        listed: Some("yes".into()),
        ..Default::default()
    };
    html(&FormModal::new(roster, None, &form, &grantable, &BTreeMap::new()))
}

async fn edit_form(
    State(state): State<AppState>,
    viewer: Viewer,
    roster: Roster,
    Path(ext): Path<String>,
) -> PortalResult<Response> {
    roster.check(&viewer)?;
    let user = roster.user(&state, &viewer, &ext).await?;
    let grantable = state.app.grantable_scopes(&viewer.caller, &viewer.domain_name()).await?;
    html(&FormModal::new(roster, Some(user.extension.to_string()), &UserForm::of(&user), &grantable, &BTreeMap::new()))
}

async fn create(
    State(state): State<AppState>,
    viewer: Viewer,
    roster: Roster,
    Form(form): Form<UserForm>,
) -> PortalResult<Response> {
    roster.check(&viewer)?;
    let scope = roster.fixed_scope().map(|s| s.as_str().to_string()).unwrap_or_else(|| form.scope.clone());
    let input = UserInput {
        extension: form.extension.trim().to_string(),
        first_name: form.first_name.clone(),
        last_name: form.last_name.clone(),
        email: form.email.clone(),
        department: form.department.clone(),
        site: form.site.clone(),
        scope: Some(scope),
        listed: Some(form.listed.is_some()),
        password: form.password(),
    };
    match state.app.create_user(&viewer.caller, &viewer.domain_name(), input).await {
        Ok(created) => {
            let user = &created.user;
            let message = format!("Added {} {}.", roster.noun(), describe(user));
            let Some(password) = created.generated_password else { return Ok(saved(message)) };
            let login = format!("{}@{}", user.extension, viewer.domain_name());
            let panel =
                CreatedPanel { roster, extension: user.extension.to_string(), login, name: full_name(user), password };
            let answer = html(&panel)?;
            Ok(triggers(json!({ "toast": { "message": message }, "users-changed": true }), answer))
        }
        Err(error) => refused(&state, &viewer, roster, None, &form, error).await,
    }
}

async fn update(
    State(state): State<AppState>,
    viewer: Viewer,
    roster: Roster,
    Path(ext): Path<String>,
    Form(form): Form<UserForm>,
) -> PortalResult<Response> {
    roster.check(&viewer)?;
    // The agents page edits agents only (the app decides whether this viewer may).
    roster.user(&state, &viewer, &ext).await?;
    let patch = UserPatchInput {
        first_name: Some(form.first_name.clone()),
        last_name: Some(form.last_name.clone()),
        email: Some(form.email.clone()),
        department: Some(form.department.clone()),
        site: Some(form.site.clone()),
        scope: if roster.fixed_scope().is_some() { None } else { Some(form.scope.clone()) },
        listed: Some(form.listed.is_some()),
        password: form.password(),
        current_password: None,
    };
    match state.app.update_user(&viewer.caller, &viewer.domain_name(), &ext, form.version, patch).await {
        Ok(user) => Ok(saved(format!("Saved {} {}.", roster.noun(), describe(&user)))),
        Err(error) => {
            let form = UserForm { extension: ext.clone(), ..form };
            refused(&state, &viewer, roster, Some(ext), &form, error).await
        }
    }
}

/// `200 (Ann Lee)`, as messages name a user.
fn describe(user: &User) -> String {
    match full_name(user) {
        name if name.is_empty() => user.extension.to_string(),
        name => format!("{} ({name})", user.extension),
    }
}

/// Saved and done: close the modal, refresh the list, say so.
fn saved(message: String) -> Response {
    let events = json!({ "toast": { "message": message }, "close-modal": true, "users-changed": true });
    triggers(events, ([("hx-reswap", "none")], StatusCode::OK).into_response())
}

/// Answers a refused save with the form again (422), each message next to its field.
async fn refused(
    state: &AppState,
    viewer: &Viewer,
    roster: Roster,
    editing: Option<String>,
    form: &UserForm,
    error: AppError,
) -> PortalResult<Response> {
    let mut errors = BTreeMap::new();
    let mut failure = None;
    match error {
        AppError::Invalid(invalid) => errors.extend(invalid.0.into_iter().map(|e| (e.field, capitalize(&e.message)))),
        AppError::Conflict(why) if editing.is_none() => {
            errors.insert("extension".to_string(), capitalize(&why));
        }
        AppError::Stale { .. } => {
            failure = Some(format!(
                "Someone changed this {} while you were editing. Close this window and open it again to see their change.",
                roster.noun()
            ))
        }
        other => return Err(PortalError::from(other)),
    }
    // One's own password is changed on the account page, which asks for the current one.
    if errors.remove("current_password").is_some() {
        errors.insert("password".into(), "To change your own password, use Your account (click your name).".into());
    }
    let grantable = state.app.grantable_scopes(&viewer.caller, &viewer.domain_name()).await?;
    let mut modal = FormModal::new(roster, editing, form, &grantable, &errors);
    modal.dialog = false;
    modal.failure = failure;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, html(&modal)?).into_response())
}

/// After adding a user whose password was generated: shown once, here.
#[derive(Template)]
#[template(path = "user_created.html")]
struct CreatedPanel {
    roster: Roster,
    extension: String,
    login: String,
    name: String,
    password: String,
}

// --- Deleting ---------------------------------------------------------------------

/// The modal's footer asking to confirm; it replaces the footer with Delete.
#[derive(Template)]
#[template(path = "user_delete.html")]
struct ConfirmDelete {
    roster: Roster,
    extension: String,
    name: String,
}

async fn confirm_delete(
    State(state): State<AppState>,
    viewer: Viewer,
    roster: Roster,
    Path(ext): Path<String>,
) -> PortalResult<Response> {
    roster.check(&viewer)?;
    let user = roster.user(&state, &viewer, &ext).await?;
    html(&ConfirmDelete { roster, extension: user.extension.to_string(), name: full_name(&user) })
}

async fn delete(
    State(state): State<AppState>,
    viewer: Viewer,
    roster: Roster,
    Path(ext): Path<String>,
) -> PortalResult<Response> {
    roster.check(&viewer)?;
    let user = roster.user(&state, &viewer, &ext).await?;
    state.app.delete_user(&viewer.caller, &viewer.domain_name(), &ext).await?;
    let message = format!("Deleted {} {}.", roster.noun(), describe(&user));
    let events = json!({ "toast": { "message": message, "undo": format!("/users/deleted/{}/restore", user.id) },
        "close-modal": true, "users-changed": true });
    Ok(triggers(events, ([("hx-reswap", "none")], StatusCode::OK).into_response()))
}
