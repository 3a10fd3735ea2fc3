//! Exact bytes of every writer for a fixed set of contacts (goldens under
//! `tests/fixtures/export/`; `UPDATE_GOLDEN=1` rewrites them), and what the readers make
//! of them.

use std::fs;
use std::path::Path;

use switchboard_formats::{ContactInput, ExportContact, ExportFormat, ImportedRow, ReadOptions, read, write_all};

fn contact(uid: &str, fields: ContactInput) -> ExportContact {
    ExportContact { uid: uid.into(), contact: fields, extension: None, starred: false }
}

/// A colleague, a shared supplier, a company with awkward text, a favorite.
fn sample() -> Vec<ExportContact> {
    vec![
        ExportContact {
            extension: Some("201".into()),
            ..contact(
                "0195e0a2-0000-7000-8000-000000000201",
                ContactInput {
                    first_name: "Ann".into(),
                    last_name: "Lee".into(),
                    title: "Sales".into(),
                    mobile_phone: "+1 206 555 0102".into(),
                    email: "ann@switchboard.example".into(),
                    ..ContactInput::default()
                },
            )
        },
        contact(
            "0195e0a2-0000-7000-8000-000000000002",
            ContactInput {
                first_name: "Jürgen".into(),
                last_name: "Müller".into(),
                company: "Bäckerei Müller & Söhne".into(),
                work_phone: "+49 89 1234567".into(),
                home_phone: "089 7654321".into(),
                fax: "+49 89 1234568".into(),
                notes: "Liefert donnerstags.\nTor 3; klingeln, \"bitte\".".into(),
                ..ContactInput::default()
            },
        ),
        contact(
            "0195e0a2-0000-7000-8000-000000000003",
            ContactInput {
                company: "=cmd|' /C calc'!A0, Inc.".into(),
                work_phone: "+1 (800) 555-0199".into(),
                notes: format!("@risk {}", "a long note that must be folded in a vCard, with ünïcödé ".repeat(2)),
                ..ContactInput::default()
            },
        ),
        ExportContact {
            starred: true,
            ..contact(
                "0195e0a2-0000-7000-8000-000000000004",
                ContactInput {
                    first_name: "'Quoted".into(),
                    last_name: "Smith\\Jones".into(),
                    mobile_phone: "-5".into(),
                    ..ContactInput::default()
                },
            )
        },
    ]
}

const FORMATS: [(ExportFormat, &str); 4] = [
    (ExportFormat::OutlookCsv, "outlook.csv"),
    (ExportFormat::GoogleCsv, "google.csv"),
    (ExportFormat::VCard3, "vcard3.vcf"),
    (ExportFormat::VCard4, "vcard4.vcf"),
];

fn check_golden(name: &str, actual: &[u8]) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/export").join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, actual).unwrap();
    }
    let expected = fs::read(&path).unwrap_or_else(|_| panic!("missing golden {}", path.display()));
    assert!(actual == expected.as_slice(), "{name} differs from its golden:\n{}", String::from_utf8_lossy(actual));
}

#[test]
fn writers_match_their_goldens() {
    let contacts = sample();
    for (format, name) in FORMATS {
        check_golden(name, &write_all(Vec::new(), format, &contacts).unwrap());
        check_golden(&format!("empty-{name}"), &write_all(Vec::new(), format, []).unwrap());
    }
}

#[test]
fn an_empty_export_is_the_header_or_nothing() {
    let outlook = write_all(Vec::new(), ExportFormat::OutlookCsv, []).unwrap();
    let header = String::from_utf8(outlook).unwrap();
    assert!(header.starts_with("\u{feff}\"Title\",\"First Name\",\"Middle Name\",\"Last Name\","), "{header}");
    assert!(header.ends_with("\"User 4\",\"Web Page\"\r\n"));
    assert_eq!(header.matches(',').count(), 91);
    assert!(write_all(Vec::new(), ExportFormat::VCard3, []).unwrap().is_empty());
}

fn read_back(format: ExportFormat, contacts: &[ExportContact]) -> Vec<ImportedRow> {
    let file = write_all(Vec::new(), format, contacts).unwrap();
    let reader = read(file.as_slice(), ReadOptions::default()).unwrap();
    assert_eq!(reader.detected().format(), format.format());
    reader.collect::<Result<_, _>>().unwrap()
}

#[test]
fn every_format_reads_back_what_it_wrote() {
    let contacts = sample();
    for (format, _) in FORMATS {
        let rows = read_back(format, &contacts);
        assert_eq!(rows.len(), contacts.len(), "{format:?}");
        for (row, original) in rows.iter().zip(&contacts) {
            let mut expected = original.contact.clone();
            if expected.work_phone.is_empty() {
                expected.work_phone = original.extension.clone().unwrap_or_default();
            }
            assert_eq!(row.contact, expected, "{format:?}");
            assert_eq!(row.uid.as_deref(), Some(original.uid.as_str()), "{format:?}");
            // Outlook has no place for favorites.
            assert_eq!(row.starred, original.starred && format != ExportFormat::OutlookCsv, "{format:?}");
        }
    }
}

#[test]
fn formula_cells_are_guarded_but_numbers_stay_dialable() {
    let file = write_all(Vec::new(), ExportFormat::GoogleCsv, &sample()).unwrap();
    let text = String::from_utf8(file).unwrap();
    assert!(text.contains("\"'=cmd|' /C calc'!A0, Inc.\""), "{text}");
    assert!(text.contains(",\"'@risk "), "{text}");
    assert!(text.contains(",+1 (800) 555-0199,"), "{text}");
    assert!(text.contains(",-5,"), "{text}");
    assert!(text.contains("\n'Quoted,"), "a quote not followed by a formula character is left alone: {text}");
}

#[test]
fn helpers_for_downloads() {
    assert_eq!(ExportFormat::default(), ExportFormat::VCard3);
    assert_eq!(ExportFormat::VCard4.file_extension(), "vcf");
    assert_eq!(ExportFormat::OutlookCsv.content_type(), "text/csv; charset=utf-8");
    assert_eq!(ExportFormat::VCard3.content_type(), "text/vcard; charset=utf-8");
}
