//! Call blocking: a domain's blocked numbers and prefixes, and each user's allow list
//! of numbers that ring through anyway (seed 004). Look-ups report both
//! ([`crate::LookupAnswer`]).
//!
//! Everything is kept in international form: `+` and E.164 digits. A blocked number
//! must be a complete number (read with the domain's `DEFAULT_COUNTRY` when written
//! without `+`); a prefix is `+` and the first digits of the numbers it blocks (`+1900`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use switchboard_core::contact::single_line;
use switchboard_core::model::{Domain, User};
use switchboard_core::paging::{Cursor, Limit, Page, Sort};
use switchboard_core::phone::{Country, digits_of};
use switchboard_core::{FieldError, Invalid, PhoneNumber};
use switchboard_store::{AllowedNumber, BlockedNumber, NewAllowedNumber, NewBlockedNumber};
use uuid::Uuid;

use crate::App;
use crate::auth::Caller;
use crate::authz::access;
use crate::error::{AppError, Result, forbidden};

const MAX_NOTE_LEN: usize = 200;
/// E.164 numbers have at most 15 digits; a prefix is shorter than a whole number.
const MAX_PREFIX_DIGITS: usize = 14;

/// What a manager adds to the domain's block list: a `number` or a `prefix`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BlockedNumberInput {
    /// A whole number, in any format (`+1 206-555-0100`, or national with the domain's country).
    #[serde(default)]
    pub number: Option<String>,
    /// `+`, the country code and the first digits of the numbers to block (`+1900`).
    #[serde(default)]
    pub prefix: Option<String>,
    /// Why it is blocked, for the people who manage the list.
    #[serde(default)]
    #[schema(max_length = 200, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub note: String,
}

/// A number a user lets through the domain's block list.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AllowedNumberInput {
    /// A whole number, in any format (national ones are read with the user's country).
    #[schema(max_length = 40, pattern = r"^[ +\-().,/#*xX]*[0-9][0-9 +\-().,/#*xX]*$")]
    pub number: String,
    #[serde(default)]
    #[schema(max_length = 200, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub note: String,
}

/// Whether a block-list entry is one number or every number starting with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum BlockKind {
    Number,
    Prefix,
}

/// One entry of a domain's block list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct BlockedNumberView {
    pub id: Uuid,
    pub kind: BlockKind,
    /// `+12065550100` (a number) or `+1900` (a prefix).
    pub pattern: String,
    pub note: String,
    /// Who added it: `200@acme.example`, `cli`.
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

impl From<BlockedNumber> for BlockedNumberView {
    fn from(entry: BlockedNumber) -> Self {
        BlockedNumberView {
            id: entry.id,
            kind: if entry.is_prefix { BlockKind::Prefix } else { BlockKind::Number },
            pattern: entry.pattern,
            note: entry.note,
            created_by: entry.created_by,
            created_at: entry.created_at,
        }
    }
}

/// One number of a user's allow list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AllowedNumberView {
    pub id: Uuid,
    /// E.164.
    pub number: String,
    pub note: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

impl From<AllowedNumber> for AllowedNumberView {
    fn from(entry: AllowedNumber) -> Self {
        AllowedNumberView {
            id: entry.id,
            number: entry.number,
            note: entry.note,
            created_by: entry.created_by,
            created_at: entry.created_at,
        }
    }
}

/// The form block lists compare a calling number in: its E.164 form, or for a number
/// outside the numbering plan `+`, its country code and national number (so a prefix
/// still catches it). `None` for extensions and short codes, which are never blocked.
pub(crate) fn international_form(number: &PhoneNumber, country: Country) -> Option<String> {
    if let Some(e164) = &number.e164 {
        return Some(e164.clone());
    }
    number.national(country).map(|(code, national)| format!("+{code}{national}"))
}

/// A whole number in E.164, or a message saying why it is not one.
fn whole_number(field: &str, text: &str, country: Country) -> Result<String, Invalid> {
    let number = PhoneNumber::parse(text, country)
        .map_err(|message| Invalid::field(field, message))?
        .ok_or_else(|| Invalid::field(field, "give a phone number"))?;
    number.e164.ok_or_else(|| {
        Invalid::field(
            field,
            format!(
                "`{}` is not a complete phone number in {}: write it with its area code, or with + and its country code",
                number.typed,
                country.code()
            ),
        )
    })
}

/// `+1 900` → `+1900`.
fn prefix(text: &str) -> Result<String, Invalid> {
    let text = text.trim();
    let invalid = |why: &str| {
        Invalid::field(
            "prefix",
            format!("`{text}` is not a prefix: {why}; write + and the first digits of the numbers, like +1900"),
        )
    };
    let rest = text.strip_prefix('+').ok_or_else(|| invalid("it starts without +"))?;
    if let Some(bad) = rest.chars().find(|c| !c.is_ascii_digit() && !" -.()".contains(*c)) {
        return Err(invalid(&format!("unexpected `{bad}`")));
    }
    let digits = digits_of(rest);
    match digits.len() {
        0 => Err(invalid("it has no digits")),
        n if n > MAX_PREFIX_DIGITS => Err(invalid("it has as many digits as a whole number; block the number instead")),
        _ if digits.starts_with('0') => Err(invalid("no country code starts with 0")),
        _ => Ok(format!("+{digits}")),
    }
}

fn note(text: &str) -> Result<String, Invalid> {
    single_line(text, MAX_NOTE_LEN).map_err(|message| Invalid::field("note", message))
}

/// Reads `limit` and `cursor` of a short sorted list.
fn page_params(limit: Option<&str>, cursor: Option<&str>) -> Result<(Limit, Option<String>), Invalid> {
    let mut errors = Vec::new();
    let limit = crate::records::limit_param(limit).unwrap_or_else(|message| {
        errors.push(FieldError { field: "limit".into(), message });
        Limit::default()
    });
    let after = match cursor.map(str::trim).filter(|text| !text.is_empty()) {
        None => None,
        Some(text) => match Cursor::decode(text, Sort::Name) {
            Ok(cursor) => cursor.key,
            Err(message) => {
                errors.push(FieldError { field: "cursor".into(), message });
                None
            }
        },
    };
    if errors.is_empty() { Ok((limit, after)) } else { Err(Invalid(errors)) }
}

impl App {
    /// The domain's block list, by pattern; everyone in the domain may read it.
    pub async fn list_blocked_numbers(
        &self,
        caller: &Caller,
        domain: &str,
        limit: Option<&str>,
        cursor: Option<&str>,
    ) -> Result<Page<BlockedNumberView>> {
        let domain = self.reachable_domain(caller, domain).await?;
        let (limit, after) = page_params(limit, cursor)?;
        let page = self.store.list_blocked_numbers(domain.id, limit, after.as_deref()).await?;
        Ok(Page { items: page.items.into_iter().map(BlockedNumberView::from).collect(), next_cursor: page.next_cursor })
    }

    pub async fn add_blocked_number(
        &self,
        caller: &Caller,
        domain: &str,
        input: BlockedNumberInput,
    ) -> Result<BlockedNumberView> {
        let domain = self.block_list_manager(caller, domain).await?;
        let country = self.domain_settings(&domain).await?.country();
        let (pattern, is_prefix) = match (input.number.as_deref(), input.prefix.as_deref()) {
            (Some(number), None) => (whole_number("number", number, country), false),
            (None, Some(text)) => (prefix(text), true),
            _ => {
                return Err(Invalid::field("number", "give either a `number` or a `prefix` to block").into());
            }
        };
        let (pattern, note) = both(pattern, note(&input.note))?;
        let details = json!({ "pattern": pattern, "kind": if is_prefix { "prefix" } else { "number" }, "note": note });
        let audit = self.audit(caller, Some(domain.id), "blocked_number.add", None, details);
        let created_by = caller.actor_name();
        let new = NewBlockedNumber { domain_id: domain.id, pattern, is_prefix, note, created_by };
        Ok(self.store.add_blocked_number(new, audit).await?.into())
    }

    pub async fn delete_blocked_number(&self, caller: &Caller, domain: &str, id: Uuid) -> Result<BlockedNumberView> {
        let domain = self.block_list_manager(caller, domain).await?;
        let audit = self.audit(caller, Some(domain.id), "blocked_number.remove", Some(id), json!({}));
        Ok(self.store.delete_blocked_number(domain.id, id, audit).await?.into())
    }

    async fn block_list_manager(&self, caller: &Caller, domain: &str) -> Result<Domain> {
        let domain = self.reachable_domain(caller, domain).await?;
        if !access(caller, &domain).ok_or(AppError::NotFound)?.can_manage_blocked_numbers() {
            return Err(forbidden("change the domain's blocked numbers"));
        }
        Ok(domain)
    }

    /// A user's allow list, by number: the user and those who manage them.
    pub async fn list_allowed_numbers(
        &self,
        caller: &Caller,
        domain: &str,
        ext: &str,
        limit: Option<&str>,
        cursor: Option<&str>,
    ) -> Result<Page<AllowedNumberView>> {
        let (domain, user) = self.allow_list_owner(caller, domain, ext).await?;
        let (limit, after) = page_params(limit, cursor)?;
        let page = self.store.list_allowed_numbers(domain.id, user.id, limit, after.as_deref()).await?;
        Ok(Page { items: page.items.into_iter().map(AllowedNumberView::from).collect(), next_cursor: page.next_cursor })
    }

    pub async fn add_allowed_number(
        &self,
        caller: &Caller,
        domain: &str,
        ext: &str,
        input: AllowedNumberInput,
    ) -> Result<AllowedNumberView> {
        let (domain, user) = self.allow_list_owner(caller, domain, ext).await?;
        let country = self.user_settings(&domain, &user).await?.country();
        let (number, note) = both(whole_number("number", &input.number, country), note(&input.note))?;
        let details = json!({ "user": user.extension, "number": number, "note": note });
        let audit = self.audit(caller, Some(domain.id), "allowed_number.add", None, details);
        let created_by = caller.actor_name();
        let new = NewAllowedNumber { domain_id: domain.id, user_id: user.id, number, note, created_by };
        Ok(self.store.add_allowed_number(new, audit).await?.into())
    }

    pub async fn delete_allowed_number(
        &self,
        caller: &Caller,
        domain: &str,
        ext: &str,
        id: Uuid,
    ) -> Result<AllowedNumberView> {
        let (domain, user) = self.allow_list_owner(caller, domain, ext).await?;
        let details = json!({ "user": user.extension });
        let audit = self.audit(caller, Some(domain.id), "allowed_number.remove", Some(id), details);
        Ok(self.store.delete_allowed_number(domain.id, user.id, id, audit).await?.into())
    }

    /// The user whose allow list the caller may read and change; anyone else finds nothing.
    async fn allow_list_owner(&self, caller: &Caller, domain: &str, ext: &str) -> Result<(Domain, User)> {
        let domain = self.reachable_domain(caller, domain).await?;
        let user = self.domain_user(&domain, ext).await?;
        if !access(caller, &domain).ok_or(AppError::NotFound)?.can_manage_allowed_numbers_of(&user) {
            return Err(AppError::NotFound);
        }
        Ok((domain, user))
    }
}

/// Both values, or every message of the two.
fn both<A, B>(a: Result<A, Invalid>, b: Result<B, Invalid>) -> Result<(A, B), Invalid> {
    match (a, b) {
        (Ok(a), Ok(b)) => Ok((a, b)),
        (a, b) => {
            let mut errors = a.err().map(|e| e.0).unwrap_or_default();
            errors.extend(b.err().map(|e| e.0).unwrap_or_default());
            Err(Invalid(errors))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_plus_and_digits() {
        assert_eq!(prefix("+1 900").unwrap(), "+1900");
        assert_eq!(prefix(" +44-20 ").unwrap(), "+4420");
        for bad in ["1900", "+", "+0044", "+1900abc", &format!("+{}", "1".repeat(15))] {
            assert!(prefix(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn blocked_numbers_must_be_whole() {
        let us = Country::default();
        assert_eq!(whole_number("number", "(206) 555-0100", us).unwrap(), "+12065550100");
        let message = whole_number("number", "555-0100", us).unwrap_err().0.remove(0).message;
        assert!(message.contains("area code"), "{message}");
        assert!(whole_number("number", "call me", us).is_err());
        assert!(whole_number("number", "200", us).is_err(), "an extension is no outside number");
    }
}
