//! Property: any contact (with a first name, last name or company; every name part, a
//! number of each kind, an email) survives write → read in every format, including awkward text: unicode, quotes, commas, semicolons, line
//! breaks, backslashes, leading `=` `+` `-` `@` `'`, empty fields.

use proptest::prelude::*;
use switchboard_core::PhoneNumber;
use switchboard_core::details::{ContactKind, Email, NameParts, Phone, PhoneInput, PhoneKind};
use switchboard_formats::{ContactFields, ContactInput, ExportContact, ExportFormat, ReadOptions, read, write_all};

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

fn number(kind: PhoneKind, typed: String) -> Option<Phone> {
    let number = PhoneNumber { typed, e164: None, extension: None };
    (!number.typed.is_empty()).then_some(Phone { kind, label: String::new(), number })
}

/// Fields are trimmed, as the app keeps them.
fn trimmed(fields: Vec<String>) -> Vec<String> {
    fields.into_iter().map(|f| f.trim().to_string()).collect()
}

fn a_contact() -> impl Strategy<Value = ExportContact> {
    let names = prop::collection::vec(a_field(), 11).prop_map(trimmed);
    let numbers = prop::collection::vec(a_value_field(), 5).prop_map(trimmed);
    let rest = (a_field(), a_field(), proptest::option::of(a_value_field()), any::<bool>());
    (names, numbers, rest)
        .prop_filter("a first name, last name or company", |(names, _, _)| names[..3].iter().any(|n| !n.is_empty()))
        .prop_map(|(names, numbers, (notes, uid, extension, starred))| {
            let [
                first_name,
                last_name,
                company,
                title,
                prefix,
                middle,
                suffix,
                nickname,
                phonetic_first,
                phonetic_last,
                department,
            ] = <[String; 11]>::try_from(names).unwrap();
            let [work, mobile, home, fax, email] = <[String; 5]>::try_from(numbers).unwrap();
            let kinds = [PhoneKind::Work, PhoneKind::Mobile, PhoneKind::Home, PhoneKind::Fax];
            let phones = kinds.into_iter().zip([work, mobile, home, fax]).filter_map(|(k, n)| number(k, n)).collect();
            let emails = if email.is_empty() { vec![] } else { vec![Email { address: email, ..Email::default() }] };
            let fields = ContactFields {
                first_name,
                last_name,
                company,
                title,
                department,
                name: NameParts { prefix, middle, suffix, nickname, phonetic_first, phonetic_last },
                phones,
                emails,
                notes: notes.trim().to_string(),
                ..ContactFields::default()
            };
            let uid = if uid.is_empty() { "uid-0".into() } else { uid };
            ExportContact { uid, fields, extension, starred, photo: None }
        })
}

/// The contact in input form as readers give it: in the lists, without the single fields.
fn lists_only(fields: &ContactFields) -> ContactInput {
    let input = fields.to_input();
    ContactInput {
        work_phone: String::new(),
        mobile_phone: String::new(),
        home_phone: String::new(),
        fax: String::new(),
        email: String::new(),
        ..input
    }
}

/// What a reader should give back for `export` in `format`.
fn expected(export: &ExportContact, format: ExportFormat) -> (ContactInput, Option<String>, bool) {
    let mut contact = lists_only(&export.fields);
    let extension = export.extension.as_deref().map(str::trim).filter(|e| !e.is_empty());
    if let Some(extension) = extension.filter(|_| export.fields.work_phone().is_none()) {
        contact.phones.insert(0, PhoneInput { kind: PhoneKind::Work, label: String::new(), number: extension.into() });
    }
    // A card with no person's name is a company card in vCard, read back as an organization.
    let f = &export.fields;
    let vcard = matches!(format, ExportFormat::VCard3 | ExportFormat::VCard4);
    if vcard && [&f.first_name, &f.name.middle, &f.last_name].iter().all(|n| n.is_empty()) {
        contact.kind = ContactKind::Organization;
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
