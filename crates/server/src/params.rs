//! The form of every path parameter and query value, in one place: `ApiPath` and
//! `ApiQuery` check requests against it, and the OpenAPI document states it, so the
//! document says exactly what the server refuses.

use std::str::FromStr;

use serde_json::{Value, json};
use switchboard_core::{DomainName, Extension, Scope};
use uuid::Uuid;

/// One path parameter: its schema in the document and the check the server makes.
pub(crate) struct PathParam {
    pub name: &'static str,
    pub schema: fn() -> Value,
    pub check: fn(&str) -> Result<(), String>,
}

/// A label of a domain name: letters, digits, `-` and `_`, 1 to 63, not starting or ending with `-`.
const LABEL: &str = "[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?";

pub(crate) const PATH_PARAMS: &[PathParam] = &[
    PathParam { name: "domain", schema: domain_schema, check: check_domain },
    PathParam { name: "ext", schema: extension_schema, check: check_extension },
    PathParam { name: "id", schema: uuid_schema, check: check_uuid },
    PathParam { name: "entry_id", schema: uuid_schema, check: check_uuid },
    PathParam { name: "scope", schema: scope_schema, check: check_scope },
];

/// Checks one path parameter against its form; parameters not in the table take any text.
pub(crate) fn check_path_param(name: &str, value: &str) -> Result<(), String> {
    PATH_PARAMS.iter().find(|param| param.name == name).map_or(Ok(()), |param| (param.check)(value))
}

/// The schema of a domain name, in paths and bodies.
pub(crate) fn domain_schema() -> Value {
    json!({
        "type": "string",
        "pattern": format!("^{LABEL}(\\.{LABEL})*$"),
        "minLength": 1,
        "maxLength": 253,
        "examples": ["acme.example"],
    })
}

fn check_domain(value: &str) -> Result<(), String> {
    untrimmed(value)?;
    DomainName::from_str(value).map(drop)
}

pub(crate) fn extension_schema() -> Value {
    json!({ "type": "string", "pattern": "^[0-9]{1,15}$", "examples": ["200"] })
}

fn check_extension(value: &str) -> Result<(), String> {
    untrimmed(value)?;
    Extension::from_str(value).map(drop)
}

fn uuid_schema() -> Value {
    json!({ "type": "string", "format": "uuid" })
}

/// The hyphenated form only, as `format: uuid` says (the uuid crate also reads others).
fn check_uuid(value: &str) -> Result<(), String> {
    match Uuid::try_parse(value) {
        Ok(_) if value.len() == 36 => Ok(()),
        _ => Err(format!("`{value}` is not an id (a UUID such as 0198f3c2-6b1e-7a50-9f2d-3c4b5a697887)")),
    }
}

pub(crate) fn scope_schema() -> Value {
    let names: Vec<&str> = Scope::ALL.iter().map(|scope| scope.as_str()).collect();
    json!({ "type": "string", "enum": names })
}

fn check_scope(value: &str) -> Result<(), String> {
    untrimmed(value)?;
    Scope::from_str(value).map(drop)
}

fn untrimmed(value: &str) -> Result<(), String> {
    if value.trim() == value { Ok(()) } else { Err(format!("`{value}` has spaces around it")) }
}

/// Query parameters that may be given empty (an empty search is no search); any other
/// parameter given as `name=` is refused, so `?limit=` is not silently the default.
pub(crate) const MAY_BE_EMPTY: &[&str] = &["q"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_parameters_are_checked_by_name() {
        assert!(check_path_param("domain", "Acme.example").is_ok());
        assert!(check_path_param("domain", " acme.example").is_err());
        assert!(check_path_param("domain", "a..b").is_err());
        assert!(check_path_param("ext", "200").is_ok());
        assert!(check_path_param("ext", "20a").is_err());
        assert!(check_path_param("id", "0198f3c2-6b1e-7a50-9f2d-3c4b5a697887").is_ok());
        assert!(check_path_param("id", "0198f3c26b1e7a509f2d3c4b5a697887").is_err());
        assert!(check_path_param("scope", "basic-user").is_ok());
        assert!(check_path_param("scope", "boss").is_err());
        assert!(check_path_param("reseller", "any text").is_ok());
    }

    #[test]
    fn the_domain_pattern_is_the_domain_rule() {
        let pattern = regex::Regex::new(domain_schema()["pattern"].as_str().unwrap()).unwrap();
        for name in
            ["acme.example", "A_1.b-2.example", "x", &"a".repeat(63), "-a", "a-", "a..b", "a b", &"a".repeat(64)]
        {
            assert_eq!(pattern.is_match(name), check_domain(name).is_ok(), "{name}");
        }
    }
}
