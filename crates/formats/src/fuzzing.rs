//! The bodies of the cargo-fuzz targets (`fuzz/`), here so that the crate's own tests run
//! them too (cargo-fuzz needs nightly; CI runs stable). Not part of the API.

use crate::{Format, ReadOptions, read};

/// Small limits, so that a fuzzer explores them instead of running out of memory.
fn options(format: Option<Format>) -> ReadOptions {
    ReadOptions { format, max_rows: 200, max_columns: 64, max_field_len: 2048, max_record_len: 16 * 1024 }
}

/// Reads `data` as `format` and checks what every reader promises: no panic, rows in file
/// order, a stop reported both as a last row error and as [`crate::Reader::file_error`].
fn read_all(data: &[u8], format: Option<Format>) {
    let Ok(mut reader) = read(data, options(format)) else { return };
    let mut last_row = 0;
    let mut last_error = None;
    for item in reader.by_ref() {
        let row = match &item {
            Ok(row) => row.row,
            Err(err) => err.row,
        };
        assert!(row >= last_row, "rows go backwards: {row} after {last_row}");
        last_row = row;
        last_error = item.err();
    }
    if let Some(stop) = reader.file_error() {
        assert_eq!(last_error.map(|e| e.message), Some(stop.to_string()));
    }
}

pub fn detect(data: &[u8]) {
    if let Ok(detected) = crate::detect(data) {
        let _ = detected.to_string();
    }
}

pub fn outlook(data: &[u8]) {
    read_all(data, Some(Format::OutlookCsv));
}

pub fn google(data: &[u8]) {
    read_all(data, Some(Format::GoogleCsv));
}

pub fn vcard(data: &[u8]) {
    read_all(data, Some(Format::VCard));
}

/// Auto-detection, as the app reads an upload.
pub fn any(data: &[u8]) {
    read_all(data, None);
}
