//! Contact groups and company cards in vCard: Apple's 3.0 form
//! (`X-ADDRESSBOOKSERVER-KIND:group`, `X-ADDRESSBOOKSERVER-MEMBER`) and vCard 4.0's
//! (`KIND:group`, `MEMBER`) read into a group with its members in order, written back in
//! each version's own form, and carried field for field from one version to the other.
//! CSV files have no groups and leave them out.

use switchboard_core::details::ContactKind;
use switchboard_core::phone::Country;
use switchboard_formats::{ContactFields, ExportContact, ExportFormat, ImportedRow, ReadOptions, read, write_all};

const MEMBERS: [&str; 3] = [
    "urn:uuid:5e1b1c7a-4b8e-4a57-9d0c-4a1b2c3d4e5f",
    "urn:uuid:0a9f6b1e-2c3d-4e5f-8a7b-9c0d1e2f3a4b",
    "urn:uuid:c3d4e5f6-a7b8-49c0-8d1e-2f3a4b5c6d7e",
];

/// A group as macOS Contacts stores it on a CardDAV server.
fn apple_group() -> String {
    let members: String = MEMBERS.iter().map(|m| format!("X-ADDRESSBOOKSERVER-MEMBER:{m}\r\n")).collect();
    format!(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nPRODID:-//Apple Inc.//macOS 14.4//EN\r\nN:Book Club\r\nFN:Book Club\r\n\
         X-ADDRESSBOOKSERVER-KIND:group\r\n{members}REV:2026-03-01T10:00:00Z\r\nUID:9d7c2e4a-group\r\nEND:VCARD\r\n"
    )
}

/// The same group as a vCard 4.0 client writes it (no `N`: a group needs only `FN`).
fn v4_group() -> String {
    let members: String = MEMBERS.iter().map(|m| format!("MEMBER:{m}\r\n")).collect();
    format!("BEGIN:VCARD\r\nVERSION:4.0\r\nKIND:group\r\nFN:Book Club\r\n{members}UID:9d7c2e4a-group\r\nEND:VCARD\r\n")
}

fn one(file: &[u8]) -> ImportedRow {
    let rows: Vec<_> = read(file, ReadOptions::default()).unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!(rows.len(), 1);
    rows.into_iter().next().unwrap()
}

fn fields(row: &ImportedRow) -> ContactFields {
    ContactFields::parse(&row.contact, Country::default()).unwrap()
}

fn written(fields: &ContactFields, uid: &str, format: ExportFormat) -> String {
    let export = ExportContact { uid: uid.into(), fields: fields.clone(), ..ExportContact::default() };
    String::from_utf8(write_all(Vec::new(), format, [&export]).unwrap()).unwrap()
}

fn lines(card: &str) -> Vec<&str> {
    card.split("\r\n").filter(|l| !l.is_empty()).collect()
}

#[test]
fn both_forms_read_as_the_same_group_with_its_members_in_order() {
    let apple = one(apple_group().as_bytes());
    let v4 = one(v4_group().as_bytes());
    for row in [&apple, &v4] {
        let c = &row.contact;
        assert_eq!(c.kind, ContactKind::Group);
        assert_eq!(c.members, MEMBERS);
        assert_eq!((c.first_name.as_str(), c.last_name.as_str()), ("Book Club", ""), "one name, never split");
        assert!(c.extra.is_empty(), "nothing of a group is kept verbatim: {:?}", c.extra);
        assert_eq!(row.uid.as_deref(), Some("9d7c2e4a-group"));
    }
    assert_eq!(apple.contact, v4.contact);
}

#[test]
fn each_version_writes_its_own_form() {
    let group = fields(&one(apple_group().as_bytes()));
    let v3 = written(&group, "9d7c2e4a-group", ExportFormat::VCard3);
    let v3_lines = lines(&v3);
    for line in ["FN:Book Club", "N:Book Club;;;;", "X-ADDRESSBOOKSERVER-KIND:group"] {
        assert!(v3_lines.contains(&line), "{line} in {v3}");
    }
    let v3_members: Vec<&str> = v3_lines.iter().filter_map(|l| l.strip_prefix("X-ADDRESSBOOKSERVER-MEMBER:")).collect();
    assert_eq!(v3_members, MEMBERS);
    assert!(!v3_lines.contains(&"KIND:group"), "vCard 3.0 has no KIND: {v3}");

    let v4 = written(&group, "9d7c2e4a-group", ExportFormat::VCard4);
    let v4_lines = lines(&v4);
    assert!(v4_lines.contains(&"KIND:group") && v4_lines.contains(&"FN:Book Club"), "{v4}");
    assert!(!v4_lines.iter().any(|l| l.starts_with("N:") || l.starts_with("X-ADDRESSBOOKSERVER")), "{v4}");
    let v4_members: Vec<&str> = v4_lines.iter().filter_map(|l| l.strip_prefix("MEMBER:")).collect();
    assert_eq!(v4_members, MEMBERS);
}

#[test]
fn a_group_survives_each_version_and_one_into_the_other_and_back() {
    let from_apple = fields(&one(apple_group().as_bytes()));
    let from_v4 = fields(&one(v4_group().as_bytes()));
    assert_eq!(from_apple, from_v4);
    for there in [ExportFormat::VCard3, ExportFormat::VCard4] {
        for back in [ExportFormat::VCard3, ExportFormat::VCard4] {
            let out = fields(&one(written(&from_apple, "g", there).as_bytes()));
            assert_eq!(out, from_apple, "{there:?}");
            let again = fields(&one(written(&out, "g", back).as_bytes()));
            assert_eq!(again, from_apple, "{there:?} then {back:?}");
        }
    }
}

#[test]
fn members_on_a_card_that_is_no_group_mean_nothing() {
    let card = "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Ann Lee\r\nMEMBER:urn:uuid:x\r\nEND:VCARD\r\n";
    let row = one(card.as_bytes());
    assert_eq!((row.contact.kind, row.contact.members.len()), (ContactKind::Individual, 0));
    assert!(row.contact.extra.is_empty());
}

#[test]
fn a_company_card_is_an_organization_and_stays_one() {
    // Apple's company card with a contact person: the company is its name.
    let apple =
        "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Lee;Ann;;;\r\nFN:Acme\r\nORG:Acme;\r\nX-ABShowAs:COMPANY\r\nEND:VCARD\r\n";
    let org = fields(&one(apple.as_bytes()));
    assert_eq!((org.kind, org.first_name.as_str(), org.company.as_str()), (ContactKind::Organization, "Ann", "Acme"));
    let v3 = written(&org, "o", ExportFormat::VCard3);
    assert!(lines(&v3).contains(&"X-ABShowAs:COMPANY") && lines(&v3).contains(&"FN:Acme"), "{v3}");
    let v4 = written(&org, "o", ExportFormat::VCard4);
    assert!(lines(&v4).contains(&"KIND:org"), "{v4}");
    for format in [ExportFormat::VCard3, ExportFormat::VCard4] {
        assert_eq!(fields(&one(written(&org, "o", format).as_bytes())), org, "{format:?}");
    }
    let v4_org = "BEGIN:VCARD\r\nVERSION:4.0\r\nKIND:org\r\nFN:Acme Corp\r\nEND:VCARD\r\n";
    let c = one(v4_org.as_bytes()).contact;
    assert_eq!((c.kind, c.company.as_str(), c.first_name.as_str()), (ContactKind::Organization, "Acme Corp", ""));
}

#[test]
fn csv_files_leave_groups_out() {
    let group = fields(&one(v4_group().as_bytes()));
    let person = ContactFields { first_name: "Ann".into(), last_name: "Lee".into(), ..ContactFields::default() };
    for format in [ExportFormat::OutlookCsv, ExportFormat::GoogleCsv] {
        let contacts =
            [&group, &person].map(|f| ExportContact { uid: "u".into(), fields: f.clone(), ..Default::default() });
        let file = write_all(Vec::new(), format, &contacts).unwrap();
        let rows: Vec<_> = read(file.as_slice(), ReadOptions::default()).unwrap().collect::<Result<_, _>>().unwrap();
        let names: Vec<&str> = rows.iter().map(|r| r.contact.first_name.as_str()).collect();
        assert_eq!(names, ["Ann"], "{format:?}");
    }
}
