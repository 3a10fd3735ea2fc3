//! The Contacts page and the contacts dock: the merged directory a user sees
//! (coworkers, shared contacts, their own), with groups, search, favorites and presence.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use switchboard_app::{BookRef, ContactGroup};
use switchboard_core::contact::NumberKind;
use switchboard_core::model::{DirectoryEntry, EntryKind, PresenceState};
use switchboard_core::phone::Country;
use uuid::Uuid;

use super::contact_form::{self, Which};
use super::shared::{ListQuery, NumberLine};
use super::{Frame, PortalResult, Viewer, html, triggers};
use crate::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/contacts", get(page))
        .route("/contacts/rows", get(rows))
        .route("/contacts/{id}/favorite", post(favorite))
        .route("/dock", get(dock))
        .route("/dock/rows", get(dock_rows))
        .merge(contact_form::routes(Which::Mine))
}

/// The Contacts page's sort that lists the viewer's favorites before the others.
const FAVORITES_FIRST: &str = "favorites";

/// The group filter and the list's search and position.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct DirectoryQuery {
    group: String,
    #[serde(flatten)]
    list: ListQuery,
}

impl DirectoryQuery {
    fn next(&self, cursor: &str) -> String {
        let list = self.list.next(cursor);
        let group = serde_urlencoded::to_string([("group", self.group.as_str())]).unwrap_or_default();
        format!("{group}&{list}")
    }
}

/// A directory entry as a row shows it.
struct EntryRow {
    id: String,
    kind: &'static str,
    name: String,
    detail: String,
    numbers: Vec<NumberLine>,
    /// `available`, `busy` or `offline` for coworkers; empty for contacts.
    presence: &'static str,
    chat: bool,
    /// A session is open but idle: shown as a hollow chat dot.
    chat_away: bool,
    /// The coworker's extension, whose chat the row's chat button opens; empty for contacts.
    chat_with: String,
    status: String,
    department: String,
    site: String,
    favorite: bool,
    /// Where the edit form comes from, when the viewer may edit.
    edit: Option<String>,
    /// Where deleting posts to (own contacts).
    delete: Option<String>,
}

impl EntryRow {
    fn new(entry: &DirectoryEntry, country: Country) -> EntryRow {
        let name = format!("{} {}", entry.first_name, entry.last_name).trim().to_string();
        let (name, company) =
            if name.is_empty() { (entry.company.clone(), String::new()) } else { (name, entry.company.clone()) };
        // A coworker's extension is among their numbers: it is not repeated here.
        let detail = company;
        let base = match entry.kind {
            EntryKind::Shared => Some(Which::Shared.path()),
            EntryKind::Personal => Some(Which::Mine.path()),
            EntryKind::Coworker => None,
        };
        let edit = base.filter(|_| entry.editable).map(|base| format!("{base}/{}/edit", entry.id));
        let delete = (entry.kind == EntryKind::Personal && entry.editable)
            .then(|| format!("{}/{}/delete", Which::Mine.path(), entry.id));
        let presence = entry.presence.as_ref();
        EntryRow {
            id: entry.id.to_string(),
            kind: match entry.kind {
                EntryKind::Coworker => "coworker",
                EntryKind::Shared => "shared",
                EntryKind::Personal => "personal",
            },
            name,
            detail,
            numbers: entry
                .numbers
                .iter()
                .map(|n| NumberLine::new(number_label(n.kind), &n.typed, n.e164.as_deref(), country))
                .collect(),
            presence: presence.map_or("", |p| p.state.as_str()),
            chat: presence.is_some_and(|p| p.chat && p.state != PresenceState::Offline),
            chat_away: presence.is_some_and(|p| p.chat_away && !p.chat && p.state != PresenceState::Offline),
            // Coworkers in the directory are listed, so anyone who sees them may write to them.
            chat_with: match (entry.kind, &entry.extension) {
                (EntryKind::Coworker, Some(extension)) => extension.to_string(),
                _ => String::new(),
            },
            status: presence.map(|p| p.message.clone()).unwrap_or_default(),
            department: entry.department.clone(),
            site: entry.site.clone(),
            favorite: entry.favorite,
            edit,
            delete,
        }
    }
}

impl EntryRow {
    fn presence_label(&self) -> &'static str {
        match self.presence {
            "available" => "Available",
            "busy" => "Busy",
            _ => "Offline",
        }
    }
}

fn number_label(kind: NumberKind) -> &'static str {
    match kind {
        NumberKind::Work => "Work",
        NumberKind::Mobile => "Mobile",
        NumberKind::Home => "Home",
        NumberKind::Fax => "Fax",
        NumberKind::Extension => "Ext.",
        NumberKind::Other => "Other",
    }
}

/// The group dropdown: fixed groups, then the domain's departments and sites.
struct Groups {
    selected: String,
    see_shared: bool,
    departments: Vec<String>,
    sites: Vec<String>,
}

#[derive(Template)]
#[template(path = "contacts.html")]
struct ContactsPage {
    frame: Frame,
    groups: Groups,
    rows: EntryRows,
    /// The viewer's own contact groups (made in their address-book apps).
    contact_groups: Vec<GroupRow>,
}

/// A contact group as the Contacts page lists it: a group, not a person.
struct GroupRow {
    id: String,
    name: String,
    /// `3 members`.
    count: String,
    /// The members' names where My contacts has them, and how many it has not.
    members: String,
}

impl GroupRow {
    fn new(group: &ContactGroup) -> GroupRow {
        let count = match group.members.len() {
            0 => "No members".to_string(),
            1 => "1 member".to_string(),
            n => format!("{} members", thousands(n as u64)),
        };
        let named: Vec<&str> = group.named().collect();
        let unnamed = group.members.len() - named.len();
        let mut members = named.join(", ");
        if unnamed > 0 {
            let others = if unnamed == 1 { "1 other".to_string() } else { format!("{unnamed} others") };
            let sep = if members.is_empty() { "" } else { ", and " };
            members = format!("{members}{sep}{others} not in My contacts");
        }
        GroupRow { id: group.id.to_string(), name: group.name.clone(), count, members }
    }
}

/// The viewer's own groups, when they keep own contacts.
async fn contact_groups(state: &AppState, viewer: &Viewer) -> PortalResult<Vec<GroupRow>> {
    if !viewer.caps.keep_own_contacts {
        return Ok(Vec::new());
    }
    let book = BookRef::Personal { domain: viewer.domain_name(), extension: viewer.extension() };
    let groups = state.app.contact_groups(&viewer.caller, &book).await?;
    Ok(groups.iter().map(GroupRow::new).collect())
}

#[derive(Template)]
#[template(path = "directory_rows.html")]
struct EntryRows {
    rows: Vec<EntryRow>,
    next: Option<String>,
    /// The search typed, trimmed; the group chosen, and whether that is everyone: each
    /// empty list says which of them found nobody.
    query: String,
    group: String,
    all_groups: bool,
    /// How many entries the search finds (first pages of the Contacts page only).
    count: Option<u64>,
    /// `contacts` or `dock`: the page the rows belong to (the dock's are compact).
    place: &'static str,
}

/// Counting stops here: "more than 1,000" says enough, and costs a bounded read.
const COUNT_CAP: u32 = 1000;

impl EntryRows {
    fn count_text(&self) -> String {
        match self.count {
            None => String::new(),
            Some(0) => "No entries".into(),
            Some(1) => "1 entry".into(),
            Some(n) if n > u64::from(COUNT_CAP) => format!("More than {} entries", thousands(COUNT_CAP.into())),
            Some(n) => format!("{} entries", thousands(n)),
        }
    }
}

/// `12345` as `12,345`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

async fn groups(state: &AppState, viewer: &Viewer, selected: &str) -> PortalResult<Groups> {
    let (domain, ext) = (viewer.domain_name(), viewer.extension());
    Ok(Groups {
        selected: if selected.is_empty() { "all".into() } else { selected.to_string() },
        see_shared: viewer.caps.see_shared,
        departments: state.app.departments(&viewer.caller, &domain, &ext).await?,
        sites: state.app.sites(&viewer.caller, &domain, &ext).await?,
    })
}

async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<DirectoryQuery>,
) -> PortalResult<Response> {
    let rows = entries(&state, &viewer, &query, "contacts").await?;
    let groups = groups(&state, &viewer, &query.group).await?;
    let contact_groups = contact_groups(&state, &viewer).await?;
    html(&ContactsPage { frame: viewer.frame("contacts"), groups, rows, contact_groups })
}

/// The rows of a search, sort or page; a first page also tells the page's count (an
/// `HX-Trigger` the script writes into `#directory-count`).
async fn rows(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<DirectoryQuery>,
) -> PortalResult<Response> {
    let rows = entries(&state, &viewer, &query, "contacts").await?;
    let response = html(&rows)?;
    if rows.count.is_none() {
        return Ok(response);
    }
    let count = serde_json::json!({ "list-count": { "id": "directory-count", "text": rows.count_text() } });
    Ok(triggers(count, response))
}

async fn entries(
    state: &AppState,
    viewer: &Viewer,
    query: &DirectoryQuery,
    place: &'static str,
) -> PortalResult<EntryRows> {
    let (caller, domain, ext) = (&viewer.caller, viewer.domain_name(), viewer.extension());
    let (group, params) = (&query.group, query.list.params());
    let page = if query.list.sort.trim() == FAVORITES_FIRST {
        state.app.directory_favorites_first(caller, &domain, &ext, group, &params).await?
    } else {
        state.app.directory(caller, &domain, &ext, group, &params).await?
    };
    let first_page = query.list.cursor.trim().is_empty();
    let count = if place == "contacts" && first_page {
        Some(state.app.directory_count(caller, &domain, &ext, group, &params, COUNT_CAP).await?)
    } else {
        None
    };
    let country = state.app.reading_country(caller).await?;
    Ok(EntryRows {
        rows: page.items.iter().map(|entry| EntryRow::new(entry, country)).collect(),
        next: page.next_cursor.map(|cursor| query.next(&cursor)),
        query: query.list.q.trim().to_string(),
        all_groups: matches!(query.group.as_str(), "" | "all"),
        group: query.group.clone(),
        count,
        place,
    })
}

#[derive(Deserialize)]
struct FavoriteForm {
    on: bool,
}

#[derive(Template)]
#[template(path = "star.html")]
struct Star {
    id: String,
    favorite: bool,
}

/// Stars or unstars an entry; answers the new star button.
async fn favorite(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<Uuid>,
    axum::Form(form): axum::Form<FavoriteForm>,
) -> PortalResult<Response> {
    state.app.set_favorite(&viewer.caller, &viewer.domain_name(), &viewer.extension(), id, form.on).await?;
    // The lists read again: the other list (page or dock) shows the star too, and a list
    // a live update rendered while this request ran does not keep the old star.
    Ok(triggers(
        serde_json::json!({ "contacts-changed": true }),
        html(&Star { id: id.to_string(), favorite: form.on })?,
    ))
}

#[derive(Template)]
#[template(path = "dock.html")]
struct Dock {
    groups: Groups,
    rows: EntryRows,
}

async fn dock(State(state): State<AppState>, viewer: Viewer) -> PortalResult<Response> {
    let query = DirectoryQuery::default();
    let rows = entries(&state, &viewer, &query, "dock").await?;
    let groups = groups(&state, &viewer, "").await?;
    html(&Dock { groups, rows })
}

async fn dock_rows(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<DirectoryQuery>,
) -> PortalResult<Response> {
    html(&entries(&state, &viewer, &query, "dock").await?)
}
