//! The committed OpenAPI document must be the one the code generates, so API changes
//! show up in review and clients can be generated from the repository.

use std::path::PathBuf;

fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json")
}

#[test]
fn committed_openapi_document_is_current() {
    let generated = switchboard_server::openapi_json();
    let path = committed_path();
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &generated).expect("write docs/openapi.json");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/openapi.json is not what the code generates; regenerate it with\n\n    \
         UPDATE_OPENAPI=1 cargo test -p switchboard-server --test openapi\n\nand commit the result"
    );
}

#[test]
fn every_operation_is_documented_with_its_answers() {
    let doc: serde_json::Value = serde_json::from_str(&switchboard_server::openapi_json()).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 25, "only {} paths", paths.len());
    for (path, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            let responses =
                operation["responses"].as_object().unwrap_or_else(|| panic!("{method} {path} has no responses"));
            assert!(responses.keys().any(|status| status.starts_with('2')), "{method} {path} documents no success");
        }
    }
    let mut ids: Vec<&str> = paths
        .values()
        .flat_map(|item| item.as_object().unwrap().values())
        .map(|operation| operation["operationId"].as_str().expect("every operation has an id"))
        .collect();
    let count = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), count, "operation ids must be unique for client generators");
    // Every schema referenced anywhere is defined.
    let text = doc.to_string();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for reference in text.split("\"#/components/schemas/").skip(1) {
        let name = reference.split('"').next().unwrap();
        assert!(schemas.contains_key(name), "schema {name} is referenced but not defined");
    }
    for name in ["DomainView", "CreatedUser", "SettingsView", "ContactView", "Problem", "Login"] {
        assert!(schemas.contains_key(name), "{name} is missing");
    }
}
