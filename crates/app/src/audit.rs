//! Reading the audit log.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use switchboard_core::model::AuditEntry;
use switchboard_core::paging::{Limit, Page};
use switchboard_core::{Extension, FieldError, Invalid};
use switchboard_store::AuditFilter;
use uuid::Uuid;

use crate::App;
use crate::auth::Caller;
use crate::authz::access;
use crate::error::{AppError, Result, forbidden};

/// Every action the audit log records. Keep it in step with the use cases that write
/// entries: a family filter (`user.*`) finds the actions listed here.
pub const AUDIT_ACTIONS: [&str; 31] = [
    "contact.create",
    "contact.update",
    "contact.photo_set",
    "contact.photo_remove",
    "contact.delete",
    "contact.restore",
    "contact.merge",
    "contact.not_duplicates",
    "contacts.import",
    "user.create",
    "user.update",
    "user.password",
    "user.delete",
    "user.restore",
    "user.own_contacts_on_phones",
    "settings.update",
    "domain.create",
    "domain.update",
    "domain.delete",
    "device.create",
    "device.revoke",
    "pbx.create",
    "pbx.revoke",
    "blocked_number.add",
    "blocked_number.remove",
    "allowed_number.add",
    "allowed_number.remove",
    "chat.send",
    "chat.delete",
    "app_password.create",
    "app_password.revoke",
];

/// What a client asks of the audit log, as text so each bad part gets its own message.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AuditParams {
    /// One action (`contact.update`), or a family of them (`user.*`).
    pub action: Option<String>,
    /// Who: `200@acme.example`, `cli`, or an extension of the domain (`200`).
    pub actor: Option<String>,
    /// First day (`2024-03-01`, UTC) or instant (RFC 3339) to include.
    pub from: Option<String>,
    /// Last day to include (`2024-03-31`, UTC, the whole day) or the instant to stop before.
    pub to: Option<String>,
    /// Page size, 1 to 500 (default 50).
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl App {
    /// A domain's audit log, newest first. `cursor` is the `next_cursor` of the previous page.
    pub async fn audit_log(
        &self,
        caller: &Caller,
        domain: &str,
        limit: Option<&str>,
        cursor: Option<&str>,
    ) -> Result<Page<AuditEntry>> {
        let params =
            AuditParams { limit: limit.map(str::to_string), cursor: cursor.map(str::to_string), ..Default::default() };
        self.search_audit_log(caller, domain, &params).await
    }

    /// A domain's audit log narrowed by action, actor and time, newest first.
    pub async fn search_audit_log(
        &self,
        caller: &Caller,
        domain: &str,
        params: &AuditParams,
    ) -> Result<Page<AuditEntry>> {
        let domain = self.reachable_domain(caller, domain).await?;
        if !access(caller, &domain).ok_or(AppError::NotFound)?.can_read_audit() {
            return Err(forbidden("read the audit log"));
        }
        let query = AuditQuery::parse(params, domain.name.as_str())?;
        Ok(self.store.list_audit(domain.id, &query.filter, query.limit, query.before).await?)
    }
}

/// Checked [`AuditParams`].
struct AuditQuery {
    filter: AuditFilter,
    limit: Limit,
    before: Option<Uuid>,
}

impl AuditQuery {
    /// Reads every part, reporting each bad one.
    fn parse(params: &AuditParams, domain: &str) -> Result<AuditQuery, Invalid> {
        let mut errors = Vec::new();
        let mut check = |field: &str, result: Result<(), String>| {
            if let Err(message) = result {
                errors.push(FieldError { field: field.into(), message });
            }
        };
        let mut query = AuditQuery { filter: AuditFilter::default(), limit: Limit::default(), before: None };
        if let Some(action) = given(&params.action) {
            check("action", actions(action).map(|found| query.filter.actions = found));
        }
        query.filter.actor = given(&params.actor).map(|actor| actor_name(actor, domain));
        if let Some(from) = given(&params.from) {
            check("from", start_of(from).map(|at| query.filter.since = Some(at)));
        }
        if let Some(to) = given(&params.to) {
            check("to", end_of(to).map(|at| query.filter.until = Some(at)));
        }
        if let (Some(since), Some(until)) = (query.filter.since, query.filter.until)
            && until <= since
        {
            check("to", Err("the end of the range is before its start".into()));
        }
        if let Some(text) = given(&params.limit) {
            let limit = text
                .parse::<u32>()
                .map_err(|_| format!("`{text}` is not a number"))
                .and_then(|n| Limit::parse(Some(n)));
            check("limit", limit.map(|limit| query.limit = limit));
        }
        if let Some(text) = given(&params.cursor) {
            let before = text.parse::<Uuid>().map_err(|_| "this cursor is not one we gave out".to_string());
            check("cursor", before.map(|id| query.before = Some(id)));
        }
        if errors.is_empty() { Ok(query) } else { Err(Invalid(errors)) }
    }
}

/// A parameter with something in it, trimmed.
fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// The actions one filter value stands for: itself, or every action of its family.
fn actions(value: &str) -> Result<Vec<String>, String> {
    let found: Vec<String> = match value.strip_suffix('*') {
        Some(family) => AUDIT_ACTIONS.iter().filter(|a| a.starts_with(family)).map(|a| a.to_string()).collect(),
        None => AUDIT_ACTIONS.iter().filter(|a| **a == value).map(|a| a.to_string()).collect(),
    };
    if found.is_empty() {
        return Err(format!(
            "`{value}` is not an audit action; use one of {}, or a family like `user.*`",
            AUDIT_ACTIONS.join(", ")
        ));
    }
    Ok(found)
}

/// Actors are recorded as `extension@domain`: a bare extension means one of this domain.
fn actor_name(actor: &str, domain: &str) -> String {
    match actor.parse::<Extension>() {
        Ok(extension) if !actor.contains('@') => format!("{extension}@{domain}"),
        _ => actor.to_string(),
    }
}

/// A day (from its first instant, UTC) or an RFC 3339 instant.
fn start_of(text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(day.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc());
    }
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|_| format!("`{text}` is not a date: use YYYY-MM-DD (UTC) or an RFC 3339 time"))
}

/// The instant a range ends before: after the whole of a day, or at an instant.
fn end_of(text: &str) -> Result<DateTime<Utc>, String> {
    match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        Ok(day) => day
            .succ_opt()
            .map(|next| next.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc())
            .ok_or_else(|| format!("`{text}` is too far in the future")),
        Err(_) => start_of(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(params: AuditParams) -> Result<AuditQuery, Invalid> {
        AuditQuery::parse(&params, "acme.example")
    }

    fn fields(error: Invalid) -> Vec<String> {
        error.0.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn a_family_stands_for_each_of_its_actions() {
        assert_eq!(
            actions("user.*").unwrap(),
            [
                "user.create",
                "user.update",
                "user.password",
                "user.delete",
                "user.restore",
                "user.own_contacts_on_phones"
            ]
        );
        assert_eq!(actions("settings.*").unwrap(), ["settings.update"]);
        assert_eq!(actions("contact.delete").unwrap(), ["contact.delete"]);
        assert!(actions("contact.burn").is_err());
        assert!(actions("nothing.*").is_err());
    }

    #[test]
    fn a_bare_extension_is_an_actor_of_the_domain() {
        assert_eq!(actor_name("200", "acme.example"), "200@acme.example");
        assert_eq!(actor_name("200@other.example", "acme.example"), "200@other.example");
        assert_eq!(actor_name("cli", "acme.example"), "cli");
    }

    #[test]
    fn days_cover_their_whole_day() {
        let query = parse(AuditParams {
            from: Some("2024-03-01".into()),
            to: Some(" 2024-03-01 ".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(query.filter.since.unwrap().to_rfc3339(), "2024-03-01T00:00:00+00:00");
        assert_eq!(query.filter.until.unwrap().to_rfc3339(), "2024-03-02T00:00:00+00:00");
        let instant = parse(AuditParams { from: Some("2024-03-01T10:30:00+01:00".into()), ..Default::default() });
        assert_eq!(instant.unwrap().filter.since.unwrap().to_rfc3339(), "2024-03-01T09:30:00+00:00");
    }

    #[test]
    fn every_bad_part_is_named() {
        let bad = AuditParams {
            action: Some("contact.burn".into()),
            from: Some("yesterday".into()),
            to: Some("2024-13-01".into()),
            limit: Some("0".into()),
            cursor: Some("abc".into()),
            ..Default::default()
        };
        assert_eq!(fields(parse(bad).err().unwrap()), ["action", "from", "to", "limit", "cursor"]);
        let backwards =
            AuditParams { from: Some("2024-03-02".into()), to: Some("2024-03-01".into()), ..Default::default() };
        assert_eq!(fields(parse(backwards).err().unwrap()), ["to"]);
        let empty = parse(AuditParams { action: Some(" ".into()), actor: Some("".into()), ..Default::default() });
        assert_eq!(empty.unwrap().filter, AuditFilter::default());
    }
}
