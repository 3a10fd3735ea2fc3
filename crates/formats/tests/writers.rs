//! Exact bytes of every writer for a fixed set of contacts (goldens under
//! `tests/fixtures/export/`; `UPDATE_GOLDEN=1` rewrites them), and what the readers make
//! of them.

use std::fs;
use std::path::Path;

use switchboard_core::PhoneNumber;
use switchboard_core::details::{
    Address, ContactKind, DateEntry, DateKind, Email, ExtraFormat, ExtraProperty, Labeled, NameParts, Phone, PhoneKind,
    PlaceKind,
};
use switchboard_formats::{
    ContactFields, ContactInput, ExportContact, ExportFormat, Format, ImportedRow, ReadOptions, read, write_all,
};

/// The contact in input form as readers give it: in the lists, without the single fields.
fn lists_only(fields: &ContactFields) -> ContactInput {
    ContactInput {
        work_phone: String::new(),
        mobile_phone: String::new(),
        home_phone: String::new(),
        fax: String::new(),
        email: String::new(),
        ..fields.to_input()
    }
}

fn contact(uid: &str, fields: ContactFields) -> ExportContact {
    ExportContact { uid: uid.into(), fields, extension: None, starred: false, photo: None }
}

fn phone(kind: PhoneKind, label: &str, typed: &str) -> Phone {
    Phone { kind, label: label.into(), number: PhoneNumber { typed: typed.into(), e164: None, extension: None } }
}

fn email(kind: PlaceKind, label: &str, address: &str) -> Email {
    Email { kind, label: label.into(), address: address.into() }
}

fn labeled(kind: &str, label: &str, value: &str) -> Labeled {
    Labeled { kind: kind.into(), label: label.into(), value: value.into() }
}

fn extra(format: ExtraFormat, name: &str, value: &str) -> ExtraProperty {
    ExtraProperty { format, name: name.into(), value: value.into() }
}

/// A contact with every kind of value, and properties kept for each family.
fn grace() -> ContactFields {
    ContactFields {
        first_name: "Grace".into(),
        last_name: "Hopper".into(),
        company: "Navy Labs".into(),
        title: "Rear Admiral".into(),
        department: "Computing".into(),
        name: NameParts {
            prefix: "Rear Adm.".into(),
            middle: "Brewster".into(),
            suffix: "PhD".into(),
            nickname: "Amazing Grace".into(),
            phonetic_first: "GRAY-s".into(),
            phonetic_last: "HOP-er".into(),
        },
        phones: vec![
            phone(PhoneKind::Work, "", "+1 202 555 0100"),
            phone(PhoneKind::Work, "", "+1 202 555 0101"),
            phone(PhoneKind::Mobile, "", "+1 202 555 0102"),
            phone(PhoneKind::Main, "", "+1 202 555 0103"),
            phone(PhoneKind::HomeFax, "", "+1 202 555 0104"),
            phone(PhoneKind::Pager, "", "+1 202 555 0105"),
            phone(PhoneKind::Other, "Car", "+1 202 555 0106"),
            phone(PhoneKind::Work, "", "tel:+1-202-555-0107;ext=12"),
        ],
        emails: vec![
            email(PlaceKind::Work, "", "grace@navy.example"),
            email(PlaceKind::Home, "", "grace@home.example"),
            email(PlaceKind::Other, "Club", "grace@club.example"),
        ],
        addresses: vec![
            Address {
                kind: PlaceKind::Work,
                street: "1 Navy Way\nBuilding 4".into(),
                city: "Arlington".into(),
                region: "VA".into(),
                postal_code: "22202".into(),
                country: "USA".into(),
                ..Address::default()
            },
            Address { kind: PlaceKind::Home, po_box: "PO 7".into(), city: "New York".into(), ..Address::default() },
        ],
        urls: vec![labeled("homepage", "", "https://grace.example"), labeled("work", "", "https://navy.example/gh")],
        dates: vec![
            DateEntry { kind: DateKind::Birthday, label: String::new(), date: "1906-12-09".into() },
            DateEntry { kind: DateKind::Anniversary, label: String::new(), date: "1930-06-15".into() },
            DateEntry { kind: DateKind::Other, label: "Name day".into(), date: "--07-26".into() },
        ],
        ims: vec![labeled("skype", "", "grace.h"), labeled("xmpp", "work", "xmpp:grace@navy.example")],
        notes: "Found the first bug.".into(),
        extra: vec![
            extra(ExtraFormat::Vcard, "X-SOCIALPROFILE;type=twitter", "https://twitter.example/grace"),
            extra(ExtraFormat::Outlook, "Hobby", "=HYPERLINK(\"x\")"),
            extra(ExtraFormat::Outlook, "Spouse", "Vincent"),
            extra(ExtraFormat::Outlook, "Business Phone", "kept columns never overwrite a field"),
            extra(ExtraFormat::Google, "Relation 1 - Label", "Spouse"),
            extra(ExtraFormat::Google, "Relation 1 - Value", "Vincent"),
        ],
        ..ContactFields::default()
    }
}

/// A colleague, a shared supplier, a company with awkward text, a favorite, a contact with everything.
fn sample() -> Vec<ExportContact> {
    vec![
        ExportContact {
            extension: Some("201".into()),
            ..contact(
                "0195e0a2-0000-7000-8000-000000000201",
                ContactFields {
                    first_name: "Ann".into(),
                    last_name: "Lee".into(),
                    title: "Sales".into(),
                    phones: vec![phone(PhoneKind::Mobile, "", "+1 206 555 0102")],
                    emails: vec![email(PlaceKind::Work, "", "ann@switchboard.example")],
                    ..ContactFields::default()
                },
            )
        },
        contact(
            "0195e0a2-0000-7000-8000-000000000002",
            ContactFields {
                first_name: "Jürgen".into(),
                last_name: "Müller".into(),
                company: "Bäckerei Müller & Söhne".into(),
                phones: vec![
                    phone(PhoneKind::Work, "", "+49 89 1234567"),
                    phone(PhoneKind::Home, "", "089 7654321"),
                    phone(PhoneKind::Fax, "", "+49 89 1234568"),
                ],
                notes: "Liefert donnerstags.\nTor 3; klingeln, \"bitte\".".into(),
                ..ContactFields::default()
            },
        ),
        contact(
            "0195e0a2-0000-7000-8000-000000000003",
            ContactFields {
                kind: ContactKind::Organization,
                company: "=cmd|' /C calc'!A0, Inc.".into(),
                phones: vec![phone(PhoneKind::Work, "", "+1 (800) 555-0199")],
                notes: format!("@risk {}", "a long note that must be folded in a vCard, with ünïcödé ".repeat(2)),
                ..ContactFields::default()
            },
        ),
        ExportContact {
            starred: true,
            ..contact(
                "0195e0a2-0000-7000-8000-000000000004",
                ContactFields {
                    first_name: "'Quoted".into(),
                    last_name: "Smith\\Jones".into(),
                    phones: vec![phone(PhoneKind::Mobile, "", "-5")],
                    ..ContactFields::default()
                },
            )
        },
        contact("0195e0a2-0000-7000-8000-000000000005", grace()),
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
    assert!(header.contains("\"User 4\",\"Web Page\",\"Nickname\","));
    assert_eq!(header.matches(',').count(), 96);
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
        for (row, original) in rows.iter().zip(&contacts[..4]) {
            let mut expected = lists_only(&original.fields);
            if let Some(extension) = &original.extension {
                let number = extension.clone();
                expected.phones.insert(0, switchboard_core::details::PhoneInput { number, ..Default::default() });
            }
            if format.format() != Format::VCard {
                // CSV files have no kinds: a company reads back as a contact with a company.
                expected.kind = ContactKind::Individual;
            }
            assert_eq!(row.contact, expected, "{format:?}");
            assert_eq!(row.uid.as_deref(), Some(original.uid.as_str()), "{format:?}");
            // Outlook has no place for favorites.
            assert_eq!(row.starred, original.starred && format != ExportFormat::OutlookCsv, "{format:?}");
        }
    }
}

/// What a file of `format` gives back of [`grace`]: everything, but the kept properties of
/// its own family only, and numbers in the syntax of the format.
fn grace_as(format: ExportFormat) -> ContactInput {
    let family = match format {
        ExportFormat::OutlookCsv => ExtraFormat::Outlook,
        ExportFormat::GoogleCsv => ExtraFormat::Google,
        _ => ExtraFormat::Vcard,
    };
    let mut fields = grace();
    fields.extra.retain(|e| e.format == family && e.name != "Business Phone");
    if format != ExportFormat::VCard4 {
        fields.phones[7].number.typed = "+1-202-555-0107 x12".into();
    }
    lists_only(&fields)
}

#[test]
fn every_value_reads_back_in_vcard_and_each_family_keeps_its_own_properties() {
    for format in [ExportFormat::VCard3, ExportFormat::VCard4] {
        let rows = read_back(format, &sample());
        assert_eq!(rows[4].contact, grace_as(format), "{format:?}");
    }
    // CSV has no labels for most values: the kinds, numbers and kept columns come back.
    for format in [ExportFormat::OutlookCsv, ExportFormat::GoogleCsv] {
        let got = &read_back(format, &sample())[4].contact;
        let mut want = grace_as(format);
        if format == ExportFormat::OutlookCsv {
            // Outlook has two business phone columns: a third work number goes to the notes.
            want.phones.pop();
            // Outlook's date columns are the birthday and anniversary, with a year.
            want.dates.pop();
            assert!(got.notes.contains("\nName day: --07-26"), "{}", got.notes);
            assert!(got.notes.contains("\nPhone (work): +1-202-555-0107 x12"), "{}", got.notes);
        }
        let numbers =
            |c: &switchboard_core::ContactInput| c.phones.iter().map(|p| p.number.clone()).collect::<Vec<_>>();
        let mut sorted = (numbers(got), numbers(&want));
        sorted.0.sort();
        sorted.1.sort();
        assert_eq!(sorted.0, sorted.1, "{format:?}");
        assert_eq!(got.extra, want.extra, "{format:?}");
        assert_eq!(
            (&got.dates, &got.name_prefix, &got.department),
            (&want.dates, &want.name_prefix, &want.department),
            "{format:?}"
        );
        assert_eq!(got.addresses.len(), 2, "{format:?}");
        assert!(got.notes.starts_with("Found the first bug."), "{format:?}");
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
    let outlook = String::from_utf8(write_all(Vec::new(), ExportFormat::OutlookCsv, &sample()).unwrap()).unwrap();
    assert!(outlook.contains("\"'=HYPERLINK(\"\"x\"\")\""), "a kept column is guarded too: {outlook}");
    assert!(!outlook.contains("never overwrite"), "{outlook}");
}

#[test]
fn helpers_for_downloads() {
    assert_eq!(ExportFormat::default(), ExportFormat::VCard3);
    assert_eq!(ExportFormat::VCard4.file_extension(), "vcf");
    assert_eq!(ExportFormat::OutlookCsv.content_type(), "text/csv; charset=utf-8");
    assert_eq!(ExportFormat::VCard3.content_type(), "text/vcard; charset=utf-8");
}
