//! The Shared Contacts page: the domain's shared address book, its trash, and the
//! buttons to add, edit, delete (with Undo), import and export.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use switchboard_app::ListParams;
use switchboard_core::PhoneNumber;
use switchboard_core::model::Contact;
use switchboard_core::phone::Country;

use super::contact_form::{self, Which, display_name};
use super::{Frame, PortalResult, Viewer, html};
use crate::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/shared-contacts", get(page))
        .route("/shared-contacts/rows", get(rows))
        .route("/shared-contacts/trash", get(trash))
        .route("/shared-contacts/trash/rows", get(trash_rows))
        .merge(contact_form::routes(Which::Shared))
}

/// A page of rows is this long; the last row fetches the next when it scrolls into view.
const PAGE_SIZE: &str = "50";

/// The list's search, sort and position.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ListQuery {
    pub q: String,
    pub sort: String,
    pub cursor: String,
}

impl ListQuery {
    pub fn params(&self) -> ListParams {
        let given = |text: &str| (!text.trim().is_empty()).then(|| text.trim().to_string());
        ListParams {
            q: given(&self.q),
            sort: given(&self.sort),
            limit: Some(PAGE_SIZE.into()),
            cursor: given(&self.cursor),
        }
    }

    /// The query string that fetches the page after `cursor`.
    pub fn next(&self, cursor: &str) -> String {
        serde_urlencoded::to_string([("q", self.q.as_str()), ("sort", self.sort.as_str()), ("cursor", cursor)])
            .unwrap_or_default()
    }
}

/// A contact as a row shows it.
pub(crate) struct ContactRow {
    pub id: String,
    pub name: String,
    pub detail: String,
    pub numbers: Vec<NumberLine>,
    pub email: String,
}

/// A number with its label and the `tel:` target.
pub(crate) struct NumberLine {
    pub label: &'static str,
    /// Formatted for the reader: nationally for their country, else internationally.
    pub shown: String,
    /// As typed, for the tooltip.
    pub typed: String,
    pub dial: String,
}

impl NumberLine {
    pub fn new(label: &'static str, typed: &str, e164: Option<&str>, country: Country) -> NumberLine {
        let dial = e164
            .map(str::to_string)
            .unwrap_or_else(|| typed.chars().filter(|c| c.is_ascii_digit() || *c == '+').collect());
        let shown = PhoneNumber::stored(typed.to_string(), e164.map(str::to_string)).display(country);
        NumberLine { label, shown, typed: typed.to_string(), dial }
    }
}

impl ContactRow {
    pub fn new(contact: &Contact, country: Country) -> ContactRow {
        let fields = &contact.fields;
        let input = fields.to_input();
        let name = display_name(&input);
        let company = if name == fields.company { String::new() } else { fields.company.clone() };
        let detail = [fields.title.as_str(), company.as_str()]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(", ");
        let labels = ["Work", "Mobile", "Home", "Fax"];
        let numbers = [fields.work_phone(), fields.mobile_phone(), fields.home_phone(), fields.fax()]
            .into_iter()
            .zip(labels)
            .filter_map(|(number, label)| number.map(|n| NumberLine::new(label, &n.typed, n.e164.as_deref(), country)))
            .collect();
        ContactRow { id: contact.id.to_string(), name, detail, numbers, email: fields.email().to_string() }
    }
}

#[derive(Template)]
#[template(path = "shared.html")]
struct SharedPage {
    frame: Frame,
    rows: RowsFragment,
}

#[derive(Template)]
#[template(path = "shared_rows.html")]
struct RowsFragment {
    rows: Vec<ContactRow>,
    can_edit: bool,
    /// Query string of the next page, if there is one.
    next: Option<String>,
    searching: bool,
    /// `rows` or `trash/rows`: where the next page comes from.
    source: &'static str,
}

async fn page(State(state): State<AppState>, viewer: Viewer, Query(query): Query<ListQuery>) -> PortalResult<Response> {
    let rows = fragment(&state, &viewer, &query).await?;
    html(&SharedPage { frame: viewer.frame("shared"), rows })
}

async fn rows(State(state): State<AppState>, viewer: Viewer, Query(query): Query<ListQuery>) -> PortalResult<Response> {
    html(&fragment(&state, &viewer, &query).await?)
}

async fn fragment(state: &AppState, viewer: &Viewer, query: &ListQuery) -> PortalResult<RowsFragment> {
    let page = state.app.list_contacts(&viewer.caller, &Which::Shared.book(viewer), &query.params()).await?;
    let country = state.app.reading_country(&viewer.caller).await?;
    Ok(RowsFragment {
        rows: page.items.iter().map(|contact| ContactRow::new(contact, country)).collect(),
        can_edit: viewer.caps.edit_shared,
        next: page.next_cursor.map(|cursor| query.next(&cursor)),
        searching: !query.q.trim().is_empty(),
        source: "rows",
    })
}

#[derive(Template)]
#[template(path = "trash.html")]
struct TrashPage {
    frame: Frame,
    rows: RowsFragment,
}

async fn trash(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<ListQuery>,
) -> PortalResult<Response> {
    let rows = trash_fragment(&state, &viewer, &query).await?;
    html(&TrashPage { frame: viewer.frame("shared"), rows })
}

async fn trash_rows(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<ListQuery>,
) -> PortalResult<Response> {
    html(&trash_fragment(&state, &viewer, &query).await?)
}

/// The deleted shared contacts (the trash also holds personal ones: those stay on their owner's page).
async fn trash_fragment(state: &AppState, viewer: &Viewer, query: &ListQuery) -> PortalResult<RowsFragment> {
    let page = state.app.trash(&viewer.caller, &viewer.domain_name(), &query.params()).await?;
    let country = state.app.reading_country(&viewer.caller).await?;
    Ok(RowsFragment {
        rows: page.items.iter().filter(|c| c.book.owner_id().is_none()).map(|c| ContactRow::new(c, country)).collect(),
        can_edit: viewer.caps.edit_shared,
        next: page.next_cursor.map(|cursor| query.next(&cursor)),
        searching: !query.q.trim().is_empty(),
        source: "trash/rows",
    })
}
