//! Helpers shared by the use cases: audit records and list parameters.

use serde_json::{Map, Value, json};
use switchboard_core::model::Book;
use switchboard_core::paging::{Cursor, Limit, Sort};
use switchboard_core::text::SearchTerm;
use switchboard_core::{FieldError, Invalid};
use switchboard_store::{AuditRecord, ListQuery};
use uuid::Uuid;

use crate::App;
use crate::auth::Caller;
use crate::inputs::ListParams;

impl App {
    pub(crate) fn audit(
        &self,
        caller: &Caller,
        domain_id: Option<Uuid>,
        action: &str,
        target_id: Option<Uuid>,
        details: Value,
    ) -> AuditRecord {
        AuditRecord { domain_id, actor: caller.actor_name(), action: action.to_string(), target_id, details }
    }
}

/// What the audit log keeps of a change in `book`. Managers and providers read the log,
/// and a person's own contacts are theirs alone, so for a personal book it keeps whose
/// book it was and the numbers (counts, row numbers), never names, numbers or notes.
pub(crate) fn contact_audit_details(book: Book, details: Value) -> Value {
    let Book::Personal { owner_id, .. } = book else { return details };
    let mut kept = Map::new();
    kept.insert("book".into(), json!("personal"));
    kept.insert("owner_id".into(), json!(owner_id));
    if let Value::Object(fields) = details {
        kept.extend(fields.into_iter().filter(|(_, value)| value.is_number()));
    }
    Value::Object(kept)
}

/// Reads a page size given as text: 1 to 500, 50 when absent or empty.
pub(crate) fn limit_param(limit: Option<&str>) -> Result<Limit, String> {
    match limit.map(str::trim).filter(|text| !text.is_empty()) {
        None => Ok(Limit::default()),
        Some(text) => {
            text.parse::<u32>().map_err(|_| format!("`{text}` is not a number")).and_then(|n| Limit::parse(Some(n)))
        }
    }
}

/// Reads `q`, `sort`, `limit` and `cursor`, reporting every bad one.
pub(crate) fn list_query(params: &ListParams) -> Result<ListQuery, Invalid> {
    let mut errors = Vec::new();
    let mut fail = |field: &str, message: String| errors.push(FieldError { field: field.into(), message });
    let search = SearchTerm::parse(params.q.as_deref().unwrap_or_default()).unwrap_or_else(|m| {
        fail("q", m);
        None
    });
    let sort = Sort::parse(params.sort.as_deref().unwrap_or_default()).unwrap_or_else(|m| {
        fail("sort", m);
        Sort::Name
    });
    let limit = limit_param(params.limit.as_deref()).unwrap_or_else(|m| {
        fail("limit", m);
        Limit::default()
    });
    let after = match params.cursor.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(text) => Cursor::decode(text, sort).map_err(|m| fail("cursor", m)).ok(),
    };
    if errors.is_empty() { Ok(ListQuery { search, sort, limit, after }) } else { Err(Invalid(errors)) }
}

/// Builds the "changes" part of an audit entry: every field whose value differs.
pub(crate) fn changes(before: &Value, after: &Value) -> Value {
    let (Value::Object(before), Value::Object(after)) = (before, after) else {
        return Value::Null;
    };
    let changed: serde_json::Map<String, Value> = after
        .iter()
        .filter(|(key, value)| before.get(*key) != Some(value))
        .map(|(key, value)| (key.clone(), serde_json::json!({ "from": before.get(key), "to": value })))
        .collect();
    Value::Object(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn personal_contacts_leave_only_counts_in_the_audit_log() {
        let details = json!({ "book": "personal", "import_row": 7, "created": 2, "format": "vcard",
            "contact": { "first_name": "Mum", "mobile_phone": "+1 206 555 0111", "notes": "secret" },
            "changes": { "notes": ["a", "b"] } });
        let (domain_id, owner_id) = (Uuid::now_v7(), Uuid::now_v7());
        let kept = contact_audit_details(Book::Personal { domain_id, owner_id }, details.clone());
        assert_eq!(kept, json!({ "book": "personal", "owner_id": owner_id, "import_row": 7, "created": 2 }));
        assert_eq!(contact_audit_details(Book::Shared { domain_id }, details.clone()), details, "shared: all of it");
    }
}
