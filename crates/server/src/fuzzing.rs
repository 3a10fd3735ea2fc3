//! The body of the cargo-fuzz target for the API's JSON request bodies (`fuzz/`), here so
//! that the crate's own tests run it too (cargo-fuzz needs nightly; CI runs stable). Not
//! part of the API.
//!
//! Each input type is read as the API reads a body, then checked as far as it can be
//! without a database. What the promise is: any body is accepted, or refused with a 400
//! (not JSON) or a 422 naming what was wrong; never a panic, never a 500.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use switchboard_app::{
    AllowedNumberInput, AppError, BlockedNumberInput, ContactPatch, DeviceInput, DomainInput, DomainPatchInput,
    MergeInput, NotDuplicatesInput, PresenceInput, UserInput, UserPatchInput,
};
use switchboard_core::contact::{ContactFields, ContactInput};
use switchboard_core::phone::Country;

use crate::extract::parse_json;
use crate::problem::Problem;

pub fn json_bodies(data: &[u8]) {
    if let Some(contact) = read::<ContactInput>(data) {
        match ContactFields::parse(&contact, Country::default()) {
            Ok(fields) => {
                let _ = (fields.search_text(), fields.sort_key(), fields.duplicate_key());
            }
            Err(invalid) => {
                assert!(!invalid.0.is_empty(), "a refused contact names what is wrong");
                refused(Problem::from(AppError::Invalid(invalid)));
            }
        }
    }
    read::<ContactPatch>(data);
    read::<UserInput>(data);
    read::<UserPatchInput>(data);
    read::<DomainInput>(data);
    read::<DomainPatchInput>(data);
    read::<PresenceInput>(data);
    read::<switchboard_app::LinesInput>(data);
    read::<DeviceInput>(data);
    read::<BlockedNumberInput>(data);
    read::<AllowedNumberInput>(data);
    read::<MergeInput>(data);
    read::<NotDuplicatesInput>(data);
    if let Some(settings) = read::<BTreeMap<String, Option<String>>>(data) {
        for (key, value) in settings {
            if let Some(value) = value {
                let _ = switchboard_core::settings::validate(&key, &value);
            }
        }
    }
}

/// The body as `T`, or `None` after checking the refusal is one a client can act on.
fn read<T: DeserializeOwned>(data: &[u8]) -> Option<T> {
    match parse_json::<T>(data) {
        Ok(value) => Some(value),
        Err(problem) => {
            refused(problem);
            None
        }
    }
}

fn refused(problem: Problem) {
    assert!(matches!(problem.status, 400 | 422), "a body is refused with 400 or 422, not {}", problem.status);
    assert!(!problem.detail.is_empty(), "a refusal says why");
    serde_json::to_vec(&problem).expect("a problem serializes");
}

/// Sample bodies: what the API's clients send.
pub fn seeds() -> Vec<Vec<u8>> {
    [
        r#"{"first_name":"Ann","last_name":"Lee","company":"Lee & Co","work_phone":"+1 206-555-0100","email":"ann@lee.example"}"#,
        r#"{"title":"Buyer","mobile_phone":"(425) 555-0100","notes":"line\nbreak"}"#,
        r#"{"extension":"300","first_name":"Sue","scope":"basic-user","password":"password-123","listed":true}"#,
        r#"{"name":"acme.example"}"#,
        r#"{"state":"busy","message":"in a meeting","chat":true}"#,
        r#"{"name":"Lobby phone","user":"200","allowed_networks":["10.0.0.0/8","2001:db8::/32"]}"#,
        r#"{"number":"+1206555","kind":"prefix","note":"spam"}"#,
        r#"{"DEFAULT_COUNTRY":"DE","PORTAL_SHOW_SHARED_CONTACTS":null}"#,
        r#"{"ids":["0190a0b0-0000-7000-8000-000000000001","0190a0b0-0000-7000-8000-000000000002"],"keep":{"first_name":"0190a0b0-0000-7000-8000-000000000002"}}"#,
        r#"{"first_name":1}"#,
        r#"[]"#,
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect()
}
