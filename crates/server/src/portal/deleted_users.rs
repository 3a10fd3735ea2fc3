//! "Deleted users", opened from the Users page: the users deleted in the last 30 days that
//! the viewer may manage, each restorable with their own contacts, favorites and devices.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;
use switchboard_app::{AppError, DeletedUserView};
use uuid::Uuid;

use super::users::scope_label;
use super::{PortalResult, Viewer, html, timestamp, triggers};
use crate::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/users/deleted", get(panel))
        .route("/users/deleted/list", get(list))
        .route("/users/deleted/{id}/restore", post(restore))
}

struct DeletedRow {
    id: Uuid,
    extension: String,
    name: String,
    scope: &'static str,
    deleted: String,
    deleted_by: String,
    purged: String,
}

#[derive(Template)]
#[template(path = "deleted_users.html")]
struct DeletedList {
    rows: Vec<DeletedRow>,
    next_cursor: Option<String>,
}

#[derive(Template)]
#[template(path = "deleted_users_modal.html")]
struct DeletedModal {
    list: DeletedList,
}

impl DeletedList {
    async fn load(state: &AppState, viewer: &Viewer, cursor: Option<&str>) -> PortalResult<DeletedList> {
        if !viewer.caps.manage_users {
            return Err(AppError::Forbidden("you may not manage users".into()).into());
        }
        let page = state.app.deleted_users(&viewer.caller, &viewer.domain_name(), None, cursor).await?;
        Ok(DeletedList { rows: page.items.into_iter().map(row).collect(), next_cursor: page.next_cursor })
    }
}

fn row(user: DeletedUserView) -> DeletedRow {
    DeletedRow {
        id: user.id,
        name: format!("{} {}", user.first_name, user.last_name).trim().to_string(),
        extension: user.extension,
        scope: scope_label(user.scope),
        deleted: timestamp(user.deleted_at),
        deleted_by: user.deleted_by,
        purged: timestamp(user.purged_at),
    }
}

async fn panel(State(state): State<AppState>, viewer: Viewer) -> PortalResult<Response> {
    html(&DeletedModal { list: DeletedList::load(&state, &viewer, None).await? })
}

#[derive(Debug, Deserialize)]
struct ListPage {
    cursor: Option<String>,
}

async fn list(State(state): State<AppState>, viewer: Viewer, Query(page): Query<ListPage>) -> PortalResult<Response> {
    html(&DeletedList::load(&state, &viewer, page.cursor.as_deref()).await?)
}

/// Restores a user; answers the list as it is now (the toast's Undo ignores it).
async fn restore(State(state): State<AppState>, viewer: Viewer, Path(id): Path<Uuid>) -> PortalResult<Response> {
    let user = state.app.restore_user(&viewer.caller, &viewer.domain_name(), id).await?;
    let name = format!("{} {}", user.first_name, user.last_name).trim().to_string();
    let message = format!(
        "Restored user {}{}",
        user.extension,
        if name.is_empty() { String::new() } else { format!(" ({name})") }
    );
    let events = json!({ "toast": { "message": message }, "users-changed": true });
    // A supervisor's Undo on the Agents page restores an agent but has no list to show.
    let answer = match viewer.caps.manage_users {
        true => html(&DeletedList::load(&state, &viewer, None).await?)?,
        false => StatusCode::NO_CONTENT.into_response(),
    };
    Ok(triggers(events, answer))
}
