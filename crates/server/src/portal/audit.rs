//! The Audit log page: the domain's changes, newest first, filtered by action, actor
//! and dates (in the store's query), each told in words.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Map, Value};
use switchboard_app::{AppError, AuditParams};
use switchboard_core::model::AuditEntry;
use switchboard_core::paging::Page;

use super::{Frame, PortalError, PortalResult, Viewer, html, timestamp};
use crate::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/audit", get(page)).route("/audit/rows", get(rows))
}

/// The action filter's choices: single actions and families of them.
const ACTION_CHOICES: [(&str, &str); 8] = [
    ("contact.create", "Contact created"),
    ("contact.update", "Contact changed"),
    ("contact.delete", "Contact deleted"),
    ("contact.restore", "Contact restored"),
    ("contact.merge", "Contacts merged"),
    ("contacts.import", "Contacts imported"),
    ("user.*", "Users: any change"),
    ("settings.*", "Settings: any change"),
];

const PAGE_SIZE: &str = "50";

/// The filters as the form sends them.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct Filters {
    action: String,
    actor: String,
    from: String,
    to: String,
    cursor: String,
}

impl Filters {
    fn params(&self) -> AuditParams {
        let given = |text: &str| (!text.trim().is_empty()).then(|| text.trim().to_string());
        AuditParams {
            action: given(&self.action),
            actor: given(&self.actor),
            from: given(&self.from),
            to: given(&self.to),
            limit: Some(PAGE_SIZE.into()),
            cursor: given(&self.cursor),
        }
    }

    fn next(&self, cursor: &str) -> String {
        let pairs = [
            ("action", self.action.as_str()),
            ("actor", self.actor.as_str()),
            ("from", self.from.as_str()),
            ("to", self.to.as_str()),
            ("cursor", cursor),
        ];
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    }

    fn any(&self) -> bool {
        [&self.action, &self.actor, &self.from, &self.to].iter().any(|f| !f.trim().is_empty())
    }
}

fn check(viewer: &Viewer) -> PortalResult<()> {
    if viewer.caps.read_audit {
        Ok(())
    } else {
        Err(AppError::Forbidden("you may not read the audit log".into()).into())
    }
}

/// An option of the action select.
struct ActionChoice {
    value: &'static str,
    label: &'static str,
    selected: bool,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    frame: Frame,
    domain: String,
    actions: Vec<ActionChoice>,
    filters: Filters,
    rows: RowsFragment,
}

/// An entry as a row shows it.
struct EntryRow {
    id: String,
    /// RFC 3339, for `<time datetime>`.
    at: String,
    when: String,
    actor: String,
    action: String,
    action_label: String,
    details: Vec<String>,
}

#[derive(Template)]
#[template(path = "audit_rows.html")]
struct RowsFragment {
    rows: Vec<EntryRow>,
    next: Option<String>,
    filtered: bool,
    /// Why the filters were refused.
    error: Option<String>,
}

async fn page(State(state): State<AppState>, viewer: Viewer, Query(filters): Query<Filters>) -> PortalResult<Response> {
    check(&viewer)?;
    let (status, rows) = fragment(&state, &viewer, &filters).await?;
    let actions = ACTION_CHOICES
        .iter()
        .map(|(value, label)| ActionChoice { value, label, selected: filters.action == *value })
        .collect();
    let page = AuditPage { frame: viewer.frame("audit"), domain: viewer.domain_name(), actions, filters, rows };
    Ok((status, html(&page)?).into_response())
}

async fn rows(State(state): State<AppState>, viewer: Viewer, Query(filters): Query<Filters>) -> PortalResult<Response> {
    check(&viewer)?;
    let (status, rows) = fragment(&state, &viewer, &filters).await?;
    Ok((status, html(&rows)?).into_response())
}

/// The rows for the filters, or (422) the reason they were refused.
async fn fragment(state: &AppState, viewer: &Viewer, filters: &Filters) -> PortalResult<(StatusCode, RowsFragment)> {
    let result = state.app.search_audit_log(&viewer.caller, &viewer.domain_name(), &filters.params()).await;
    let page: Page<AuditEntry> = match result {
        Ok(page) => page,
        Err(AppError::Invalid(invalid)) => {
            let message =
                invalid.0.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; ");
            let rows = RowsFragment { rows: Vec::new(), next: None, filtered: true, error: Some(message) };
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, rows));
        }
        Err(other) => return Err(PortalError::from(other)),
    };
    let rows = RowsFragment {
        rows: page.items.iter().map(entry_row).collect(),
        next: page.next_cursor.map(|cursor| filters.next(&cursor)),
        filtered: filters.any(),
        error: None,
    };
    Ok((StatusCode::OK, rows))
}

fn entry_row(entry: &AuditEntry) -> EntryRow {
    EntryRow {
        id: entry.id.to_string(),
        at: entry.at.to_rfc3339(),
        when: timestamp(entry.at),
        actor: entry.actor.clone(),
        action: entry.action.clone(),
        action_label: action_label(&entry.action),
        details: detail_lines(&entry.details),
    }
}

fn action_label(action: &str) -> String {
    let known = [
        ("user.create", "User created"),
        ("user.update", "User changed"),
        ("user.password", "Password changed"),
        ("user.delete", "User deleted"),
        ("settings.update", "Settings changed"),
        ("domain.update", "Domain changed"),
    ];
    ACTION_CHOICES.iter().chain(known.iter()).find(|(a, _)| *a == action).map_or(action, |(_, label)| label).to_string()
}

/// The details of an entry in words: changed fields as "before → after", a contact by
/// its names, an import's totals, and any other plain value as "key: value".
fn detail_lines(details: &Value) -> Vec<String> {
    let Value::Object(details) = details else { return Vec::new() };
    let mut lines = Vec::new();
    for (key, value) in details {
        match (key.as_str(), value) {
            ("changes", Value::Object(changes)) => lines.extend(change_lines(changes)),
            ("contact", Value::Object(contact)) => lines.push(format!("contact: {}", contact_summary(contact))),
            ("layer", Value::String(layer)) => lines.push(format!("layer: {}", layer_name(layer))),
            (_, Value::Object(_) | Value::Array(_)) => lines.push(format!("{key}: {value}")),
            (_, value) => lines.push(format!("{key}: {}", plain(value))),
        }
    }
    if details.contains_key("created") && details.contains_key("rows") {
        lines = vec![import_totals(details)];
    }
    lines
}

fn change_lines(changes: &Map<String, Value>) -> Vec<String> {
    changes
        .iter()
        .map(|(field, change)| match change {
            Value::Object(pair) if pair.contains_key("from") || pair.contains_key("to") => {
                let side = |name| pair.get(name).map_or("—".to_string(), plain);
                format!("{field}: {} → {}", side("from"), side("to"))
            }
            // Settings changes are the new value, or null for "back to inherited".
            Value::Null => format!("{field} → inherited"),
            other => format!("{field} → {}", plain(other)),
        })
        .collect()
}

/// A settings layer as recorded (`Domain(<id>)`, `Scope(<id>, BasicUser)`), without its ids.
fn layer_name(layer: &str) -> String {
    let (kind, rest) = layer.split_once('(').unwrap_or((layer, ""));
    match rest.trim_end_matches(')').rsplit_once(", ") {
        Some((_, scope)) => format!("{} {scope}", kind.to_lowercase()),
        None => kind.to_lowercase(),
    }
}

fn contact_summary(contact: &Map<String, Value>) -> String {
    let text = |key: &str| contact.get(key).and_then(Value::as_str).unwrap_or_default().trim().to_string();
    let name = format!("{} {}", text("first_name"), text("last_name")).trim().to_string();
    match (name.is_empty(), text("company")) {
        (true, company) if company.is_empty() => "(no name)".into(),
        (true, company) => company,
        (false, company) if company.is_empty() => name,
        (false, company) => format!("{name} ({company})"),
    }
}

fn import_totals(totals: &Map<String, Value>) -> String {
    let count = |key: &str| totals.get(key).and_then(Value::as_u64).unwrap_or(0);
    let format = totals.get("format").map(plain).unwrap_or_default();
    let mut line = format!(
        "{} rows ({format}): {} created, {} updated, {} unchanged, {} rejected",
        count("rows"),
        count("created"),
        count("updated"),
        count("unchanged"),
        count("rejected")
    );
    if count("trashed") > 0 {
        line.push_str(&format!(", {} moved to the trash", count("trashed")));
    }
    line
}

/// A JSON value as a person reads it: strings bare, nothing as "—".
fn plain(value: &Value) -> String {
    match value {
        Value::Null => "—".into(),
        Value::String(text) if text.is_empty() => "(empty)".into(),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn changes_read_before_and_after() {
        let details = json!({ "book": "shared", "changes": { "last_name": { "from": "Lee", "to": "Li" }, "email": { "from": "", "to": "a@b.example" } } });
        assert_eq!(detail_lines(&details), ["book: shared", "email: (empty) → a@b.example", "last_name: Lee → Li"]);
        let settings = json!({ "layer": "Domain(1)", "changes": { "DEFAULT_COUNTRY": "DE", "PORTAL_SHOW_SHARED_CONTACTS": null } });
        assert_eq!(
            detail_lines(&settings),
            ["DEFAULT_COUNTRY → DE", "PORTAL_SHOW_SHARED_CONTACTS → inherited", "layer: domain"]
        );
        let scope = json!({ "layer": "Scope(0190a1b2-0000-7000-8000-000000000000, BasicUser)", "changes": {} });
        assert_eq!(detail_lines(&scope), ["layer: scope BasicUser"]);
    }

    #[test]
    fn imports_read_as_totals_and_contacts_by_name() {
        let totals = json!({ "format": "outlook", "rows": 10, "created": 5, "updated": 2, "unchanged": 1, "rejected": 2, "trashed": 0 });
        assert_eq!(detail_lines(&totals), ["10 rows (outlook): 5 created, 2 updated, 1 unchanged, 2 rejected"]);
        let created = json!({ "contact": { "first_name": "Ann", "last_name": "Lee", "company": "Acme" } });
        assert_eq!(detail_lines(&created), ["contact: Ann Lee (Acme)"]);
    }
}
