//! Property: any contact (with a first name, last name or company) survives write → read
//! in every format, including awkward text: unicode, quotes, commas, semicolons, line
//! breaks, backslashes, leading `=` `+` `-` `@` `'`, empty fields.

use proptest::prelude::*;
use switchboard_formats::{ContactInput, ExportContact, ExportFormat, ReadOptions, read, write_all};

/// One character a person might type, weighted towards the troublesome ones.
fn a_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => proptest::char::range(' ', '~'),
        2 => prop::sample::select(vec![',', ';', '"', '\'', '\\', '\n', '\t', '=', '+', '-', '@', ':', ' ']),
        2 => any::<char>().prop_map(|c| if c.is_control() { '?' } else { c }),
    ]
}

/// A field: empty, or text that is not blank (the readers treat blank as empty).
fn a_field() -> impl Strategy<Value = String> {
    prop::collection::vec(a_char(), 0..24)
        .prop_map(|chars| chars.into_iter().collect::<String>())
        .prop_map(|s| if s.trim().is_empty() { String::new() } else { s })
}

/// Google joins several values of a phone or email cell with ` ::: `; one value cannot hold it.
fn a_value_field() -> impl Strategy<Value = String> {
    a_field().prop_map(|s| s.replace(" ::: ", " :: "))
}

fn a_contact() -> impl Strategy<Value = ExportContact> {
    let names = (a_field(), a_field(), a_field(), a_field());
    let numbers = (a_value_field(), a_value_field(), a_value_field(), a_value_field(), a_value_field());
    let rest = (a_field(), a_field(), proptest::option::of(a_value_field()), any::<bool>());
    (names, numbers, rest)
        .prop_filter("a first name, last name or company", |((first, last, company, _), _, _)| {
            !(first.is_empty() && last.is_empty() && company.is_empty())
        })
        .prop_map(|((first_name, last_name, company, title), numbers, (notes, uid, extension, starred))| {
            let (work_phone, mobile_phone, home_phone, fax, email) = numbers;
            let uid = if uid.is_empty() { "uid-0".into() } else { uid };
            let contact = ContactInput {
                first_name,
                last_name,
                company,
                title,
                work_phone,
                mobile_phone,
                home_phone,
                fax,
                email,
                notes,
                ..ContactInput::default()
            };
            ExportContact { uid, contact, extension, starred }
        })
}

/// What a reader should give back for `export` in `format`.
fn expected(export: &ExportContact, format: ExportFormat) -> (ContactInput, Option<String>, bool) {
    let mut contact = export.contact.clone();
    if contact.work_phone.is_empty() {
        contact.work_phone = export.extension.clone().filter(|e| !e.trim().is_empty()).unwrap_or_default();
    }
    (contact, Some(export.uid.clone()), export.starred && format != ExportFormat::OutlookCsv)
}

const FORMATS: [ExportFormat; 4] =
    [ExportFormat::OutlookCsv, ExportFormat::GoogleCsv, ExportFormat::VCard3, ExportFormat::VCard4];

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn contacts_survive_write_then_read(contacts in prop::collection::vec(a_contact(), 1..4)) {
        for format in FORMATS {
            let file = write_all(Vec::new(), format, &contacts).unwrap();
            let reader = read(file.as_slice(), ReadOptions::default()).unwrap();
            prop_assert_eq!(reader.detected().format(), format.format());
            let rows: Vec<_> = reader.collect::<Result<_, _>>().unwrap();
            prop_assert_eq!(rows.len(), contacts.len());
            for (row, export) in rows.iter().zip(&contacts) {
                let got = (row.contact.clone(), row.uid.clone(), row.starred);
                prop_assert_eq!(got, expected(export, format), "{:?}", format);
            }
        }
    }
}
