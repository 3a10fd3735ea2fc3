//! Every fixture file is read and compared with its golden `.expected.json` (exactly).
//! `UPDATE_GOLDEN=1 cargo test -p switchboard-formats --test fixtures` rewrites the
//! goldens; check the diff by eye before committing it.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use switchboard_formats::{ReadOptions, read};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// What a person would see of a file: its kind and each row or error.
fn describe(path: &Path) -> Value {
    let bytes = fs::read(path).unwrap();
    let reader = match read(bytes.as_slice(), ReadOptions::default()) {
        Ok(reader) => reader,
        Err(err) => return json!({ "file_error": err.to_string() }),
    };
    let detected = reader.detected().to_string();
    let rows: Vec<Value> = reader
        .map(|row| match row {
            Ok(row) => json!({ "row": row.row, "uid": row.uid, "starred": row.starred, "contact": row.contact }),
            Err(err) => json!({ "error": { "row": err.row, "field": err.field, "message": err.message } }),
        })
        .collect();
    json!({ "detected": detected, "rows": rows })
}

fn check_golden(input: &Path) {
    let golden = input.with_extension(format!("{}.expected.json", input.extension().unwrap().to_str().unwrap()));
    let actual = serde_json::to_string_pretty(&describe(input)).unwrap() + "\n";
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        fs::write(&golden, &actual).unwrap();
    }
    let expected = fs::read_to_string(&golden).unwrap_or_else(|_| panic!("missing golden {}", golden.display()));
    assert_eq!(actual, expected, "{} differs from its golden", input.display());
}

#[test]
fn every_fixture_matches_its_golden() {
    let mut checked = 0;
    for entry in fs::read_dir(fixtures()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap();
        if path.is_file() && !name.ends_with(".json") {
            check_golden(&path);
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} fixtures");
}
