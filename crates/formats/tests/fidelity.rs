//! Contacts keep everything they were given: each hand-written file under
//! `tests/fidelity/` is read, validated as the app does (`ContactFields::parse` in the
//! file's country), written in the same format, read and validated again, and must come
//! back whole. Specific fields of the first read are checked too, so a reader that
//! dropped them could not pass.

use std::fs;
use std::path::Path;

use switchboard_core::details::{DateKind, ExtraFormat, PhoneKind, PlaceKind};
use switchboard_core::phone::Country;
use switchboard_core::photo::PhotoType;
use switchboard_formats::{ContactFields, ExportContact, ExportFormat, ExportPhoto, ReadOptions, read, write_all};

fn fixture(name: &str) -> Vec<u8> {
    fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fidelity").join(name)).unwrap()
}

/// A contact as the app keeps it, with its uid, favorite mark and photo.
type Kept = (ContactFields, Option<String>, bool, Option<Vec<u8>>);

/// Every contact of a file as the app keeps it.
fn contacts(file: &[u8], country: &str) -> Vec<Kept> {
    let country = Country::parse(country).unwrap();
    let reader = read(file, ReadOptions::default()).unwrap();
    reader
        .map(|row| {
            let row = row.unwrap();
            let fields = ContactFields::parse(&row.contact, country)
                .unwrap_or_else(|err| panic!("row {}: {err:?}\n{:#?}", row.row, row.contact));
            let photo = row.photo.map(|photo| photo.unwrap_or_else(|err| panic!("row {}: {err}", row.row)).bytes);
            (fields, row.uid, row.starred, photo)
        })
        .collect()
}

fn exports(contacts: &[Kept]) -> Vec<ExportContact> {
    let uid = |i: usize, uid: &Option<String>| uid.clone().unwrap_or_else(|| format!("generated-{i}"));
    contacts
        .iter()
        .enumerate()
        .map(|(i, (fields, id, starred, photo))| ExportContact {
            uid: uid(i, id),
            fields: fields.clone(),
            extension: None,
            starred: *starred,
            photo: photo.as_ref().map(|bytes| ExportPhoto {
                kind: PhotoType::sniff(bytes).expect("the fixtures' photos are images"),
                bytes: bytes.clone(),
            }),
        })
        .collect()
}

/// Reads `name`, writes it as `format`, reads that back: both reads must be equal (the
/// photos too, in vCard). Returns the first read.
fn round_trip(name: &str, format: ExportFormat, country: &str) -> Vec<ContactFields> {
    round_trip_with_photos(name, format, country).into_iter().map(|c| c.0).collect()
}

fn round_trip_with_photos(name: &str, format: ExportFormat, country: &str) -> Vec<Kept> {
    let first = contacts(&fixture(name), country);
    assert!(!first.is_empty(), "{name}");
    let written = write_all(Vec::new(), format, &exports(&first)).unwrap();
    let second = contacts(&written, country);
    assert_eq!(second.len(), first.len(), "{name}");
    for (i, (before, after)) in first.iter().zip(&second).enumerate() {
        assert_eq!(after.0, before.0, "{name}, contact {i}:\n{}", String::from_utf8_lossy(&written));
        assert_eq!(after.1.as_deref(), Some(exports(&first)[i].uid.as_str()), "{name}, contact {i}");
        assert_eq!(after.2, before.2 && format != ExportFormat::OutlookCsv, "{name}, contact {i}");
        assert_eq!(after.3, before.3, "{name}, contact {i}: the photo, byte for byte");
    }
    first
}

fn numbers(fields: &ContactFields) -> Vec<(PhoneKind, &str, &str)> {
    fields.phones.iter().map(|p| (p.kind, p.label.as_str(), p.number.typed.as_str())).collect()
}

fn kept(fields: &ContactFields) -> Vec<(ExtraFormat, &str, &str)> {
    fields.extra.iter().map(|e| (e.format, e.name.as_str(), e.value.as_str())).collect()
}

fn dates(fields: &ContactFields) -> Vec<(DateKind, &str, &str)> {
    fields.dates.iter().map(|d| (d.kind, d.label.as_str(), d.date.as_str())).collect()
}

#[test]
fn outlook_english() {
    let read = round_trip("outlook_en.csv", ExportFormat::OutlookCsv, "US");
    let ann = &read[0];
    assert_eq!(
        (ann.name.prefix.as_str(), ann.name.middle.as_str(), ann.name.suffix.as_str(), ann.name.nickname.as_str()),
        ("Dr.", "Marie", "Jr.", "Annie")
    );
    assert_eq!((ann.name.phonetic_first.as_str(), ann.department.as_str()), ("AN", "Purchasing"));
    assert_eq!(ann.phones.len(), 19, "every phone column");
    let phones = numbers(ann);
    assert_eq!(
        phones[..3],
        [
            (PhoneKind::Work, "", "+1 (206) 555-0100"),
            (PhoneKind::Work, "", "+1 206 555 0101 x12"),
            (PhoneKind::Mobile, "", "+1 206 555 0119")
        ]
    );
    assert!(phones.contains(&(PhoneKind::Other, "Car", "+1 206 555 0113")));
    assert!(phones.contains(&(PhoneKind::Fax, "Other", "+1 206 555 0120")));
    assert!(phones.contains(&(PhoneKind::HomeFax, "", "+1 503 555 0115")));
    assert_eq!(ann.work_phone().unwrap().typed, "+1 (206) 555-0100");
    assert_eq!(
        ann.emails.iter().map(|e| e.address.as_str()).collect::<Vec<_>>(),
        ["ann.lee@smithsons.example", "ann@home.example", "ann@club.example"]
    );
    assert_eq!(ann.addresses.len(), 3);
    assert_eq!(ann.addresses[0].street, "1200 Harbor Ave\nSuite 300");
    assert_eq!((ann.addresses[2].kind, ann.addresses[2].po_box.as_str()), (PlaceKind::Other, "PO Box 77"));
    assert_eq!(dates(ann), [(DateKind::Birthday, "", "1985-04-12"), (DateKind::Anniversary, "", "2010-06-20")]);
    assert_eq!(ann.urls.iter().map(|u| u.kind.as_str()).collect::<Vec<_>>(), ["work", "home"]);
    assert_eq!(ann.ims[0].value, "ann.lee@im.example");
    assert_eq!(ann.notes, "Met at the Portland trade fair.\nPrefers email, \"never\" calls before 10am.");
    let extra = kept(ann);
    assert!(extra.contains(&(ExtraFormat::Outlook, "Categories", "Suppliers;VIP")), "{extra:?}");
    assert!(extra.contains(&(ExtraFormat::Outlook, "E-mail 2 Display Name", "Ann at home")), "{extra:?}");
    assert!(extra.contains(&(ExtraFormat::Outlook, "User 2", "B-17")), "{extra:?}");
    assert!(!extra.iter().any(|(_, name, _)| ["Gender", "Priority", "E-mail Type"].contains(name)), "{extra:?}");
    assert!(read[1].dates.is_empty(), "Outlook's empty date 0/0/00");
}

#[test]
fn outlook_german() {
    let read = round_trip("outlook_de.csv", ExportFormat::OutlookCsv, "DE");
    let j = &read[0];
    assert_eq!(
        (j.name.prefix.as_str(), j.name.suffix.as_str(), j.name.nickname.as_str()),
        ("Prof. Dr.", "sen.", "Jürgi")
    );
    assert_eq!(j.phones.len(), 12);
    assert!(numbers(j).contains(&(PhoneKind::Other, "Car", "0172 9876543")));
    assert_eq!(j.fax().unwrap().e164.as_deref(), Some("+49891234568"));
    assert_eq!(j.home_phone().unwrap().e164.as_deref(), Some("+49897654321"), "read in the file's country");
    assert_eq!(dates(j), [(DateKind::Birthday, "", "1975-04-03"), (DateKind::Anniversary, "", "2001-06-12")]);
    assert_eq!(j.addresses[0].street, "Hauptstraße 5\nHinterhaus");
    assert_eq!(j.emails.len(), 3);
    let extra = kept(j);
    assert!(extra.contains(&(ExtraFormat::Outlook, "Categories", "Lieferanten;Stammkunden")), "{extra:?}");
    assert!(extra.contains(&(ExtraFormat::Outlook, "Spouse", "Anna Müller")), "by its English column: {extra:?}");
    assert!(!extra.iter().any(|(_, name, _)| *name == "Gender"), "{extra:?}");
    assert_eq!(j.notes, "Liefert donnerstags.\nGrüße an Frau Weiß.");
}

#[test]
fn outlook_french() {
    let read = round_trip("outlook_fr.csv", ExportFormat::OutlookCsv, "FR");
    let h = &read[0];
    assert_eq!(dates(h), [(DateKind::Birthday, "", "1982-07-14"), (DateKind::Anniversary, "", "2006-09-02")]);
    assert_eq!((h.name.middle.as_str(), h.name.nickname.as_str(), h.department.as_str()), ("Marie", "Léna", "Ventes"));
    assert_eq!(h.mobile_phone().unwrap().e164.as_deref(), Some("+33612345678"));
    assert!(numbers(h).contains(&(PhoneKind::Pager, "", "06 11 22 33 44")));
    assert!(kept(h).contains(&(ExtraFormat::Outlook, "Spouse", "Paul Lefèvre")));
    assert_eq!(h.addresses[1].city, "Lyon");
    assert_eq!(dates(&read[1]), [(DateKind::Birthday, "", "1990-02-01")], "day first");
}

#[test]
fn google() {
    let read = round_trip("google.csv", ExportFormat::GoogleCsv, "US");
    let g = &read[0];
    assert_eq!((g.name.phonetic_last.as_str(), g.name.nickname.as_str()), ("HOP-er", "Amazing Grace"));
    assert_eq!(
        numbers(g),
        [
            (PhoneKind::Mobile, "", "+1 202 555 0170"),
            (PhoneKind::Mobile, "", "+1 202 555 0171"),
            (PhoneKind::Work, "", "+1 202 555 0172"),
            (PhoneKind::Other, "Assistant", "+1 202 555 0173"),
            (PhoneKind::Fax, "", "+1 202 555 0174"),
            (PhoneKind::Main, "", "+1 202 555 0175"),
        ]
    );
    assert_eq!((g.emails[2].kind, g.emails[2].label.as_str()), (PlaceKind::Other, "Club"));
    assert_eq!(g.addresses[0].street, "1 Navy Way\nBuilding 4");
    assert_eq!((g.addresses[1].label.as_str(), g.addresses[1].po_box.as_str()), ("Lake house", "PO Box 9"));
    assert_eq!(
        dates(g),
        [
            (DateKind::Birthday, "", "1906-12-09"),
            (DateKind::Anniversary, "", "1930-06-15"),
            (DateKind::Other, "Name day", "--07-26"),
        ]
    );
    assert_eq!(g.urls.iter().map(|u| u.kind.as_str()).collect::<Vec<_>>(), ["profile", "blog"]);
    assert_eq!((g.ims[0].kind.as_str(), g.ims[0].label.as_str(), g.ims[1].kind.as_str()), ("skype", "Work", "jabber"));
    let extra = kept(g);
    for expected in [
        ("Phonetic Middle Name", "BRU-ster"),
        ("File As", "Hopper, Grace"),
        ("Labels", "Pioneers"),
        ("Relation 1 - Value", "Vincent Hopper"),
        ("Custom Field 1 - Label", "Employee ID"),
    ] {
        assert!(extra.contains(&(ExtraFormat::Google, expected.0, expected.1)), "{expected:?} in {extra:?}");
    }
    assert!(!extra.iter().any(|(_, name, _)| *name == "Photo"), "the photo link is not kept");
}

#[test]
fn apple_vcard_3() {
    let with_photos = round_trip_with_photos("apple.vcf", ExportFormat::VCard3, "US");
    let photo = with_photos[0].3.as_deref().expect("the inline photo is read");
    assert_eq!((photo.len(), &photo[..3], &photo[photo.len() - 2..]), (278, &b"\xff\xd8\xff"[..], &b"\xff\xd9"[..]));
    assert_eq!(with_photos[1].3, None, "a linked photo is not fetched");
    let link = (ExtraFormat::Vcard, "PHOTO;VALUE=uri", "https://photos.example/k.jpg");
    assert!(kept(&with_photos[1].0).contains(&link), "but kept as it came");
    let read: Vec<ContactFields> = with_photos.into_iter().map(|c| c.0).collect();
    let k = &read[0];
    assert_eq!((k.name.middle.as_str(), k.name.prefix.as_str(), k.name.suffix.as_str()), ("Taro", "Dr.", "PhD"));
    assert_eq!((k.name.phonetic_first.as_str(), k.department.as_str()), ("ケンジ", "Research"));
    assert_eq!(
        numbers(k),
        [
            (PhoneKind::Mobile, "", "+81 90-1234-5678"),
            (PhoneKind::Mobile, "", "+81 90-5555-0000"),
            (PhoneKind::Work, "", "+81 3-1234-5678"),
            (PhoneKind::HomeFax, "", "+81 3-9876-5432"),
            (PhoneKind::Pager, "", "+81 20-1234-5678"),
            (PhoneKind::Main, "", "+81 3-1234-5600"),
            (PhoneKind::Other, "Lab bench", "+81 80-9999-0000"),
        ]
    );
    assert_eq!(k.email(), "kenji@sakura.example", "the preferred email first");
    assert_eq!((k.emails[2].label.as_str(), k.addresses[0].street.as_str()), ("Lab", "1-2-3 Shibuya\nFloor 3"));
    assert_eq!((k.addresses[2].kind, k.addresses[2].label.as_str()), (PlaceKind::Other, "Cabin"));
    assert_eq!(k.urls[0].kind, "homepage");
    assert_eq!(
        dates(k),
        [
            (DateKind::Birthday, "", "1985-04-01"),
            (DateKind::Anniversary, "", "2012-10-20"),
            (DateKind::Other, "Name day", "--11-03"),
        ]
    );
    let ims: Vec<(&str, &str, &str)> =
        k.ims.iter().map(|i| (i.kind.as_str(), i.label.as_str(), i.value.as_str())).collect();
    assert_eq!(
        ims,
        [
            ("skype", "home", "skype:kenji.nakamura"),
            ("jabber", "work", "xmpp:kenji@sakura.example"),
            ("aim", "home", "kenjiaim"),
        ]
    );
    assert_eq!(
        kept(k),
        [
            (ExtraFormat::Vcard, "item4.X-ABADR", "jp"),
            (ExtraFormat::Vcard, "item9.X-ABRELATEDNAMES;type=pref", "Yuki Nakamura"),
            (ExtraFormat::Vcard, "item9.X-ABLabel", "_$!<Spouse>!$_"),
            (ExtraFormat::Vcard, "item10.X-SOCIALPROFILE;type=twitter;x-user=kenji_n", "https://twitter.com/kenji_n"),
            (ExtraFormat::Vcard, "X-SOCIALPROFILE;type=linkedin", "https://linkedin.com/in/kenji"),
            (ExtraFormat::Vcard, "X-ABUID", "8C3E1E9A-4C0B-4D5E-9A0F-1F2E3D4C5B6A:ABPerson"),
            (ExtraFormat::Vcard, "CATEGORIES", "Robotics,Friends"),
        ]
    );
    assert_eq!(k.notes, "Prefers Slack; answers email weekly.\nSpeaks Japanese, English.");
    let company = &read[1];
    assert_eq!((company.company.as_str(), company.first_name.as_str()), ("Blue Bottle Coffee", ""));
    assert_eq!(numbers(company), [(PhoneKind::Main, "", "+1 510 555 0123"), (PhoneKind::Fax, "", "+1 510 555 0124")]);
}

#[test]
fn vcard_4_with_the_rfc_6350_example() {
    let with_photos = round_trip_with_photos("rfc6350.vcf", ExportFormat::VCard4, "US");
    let photo = with_photos[0].3.as_deref().expect("the data URI photo is read");
    assert_eq!((photo.len(), PhotoType::sniff(photo)), (70, Some(PhotoType::Png)));
    // The same photo written as 3.0 reads back the same.
    let as_v3 = write_all(Vec::new(), ExportFormat::VCard3, &exports(&with_photos[..1])).unwrap();
    assert!(String::from_utf8_lossy(&as_v3).contains("PHOTO;ENCODING=b;TYPE=PNG:iVBOR"));
    assert_eq!(contacts(&as_v3, "US")[0].3.as_deref(), Some(photo));
    let read: Vec<ContactFields> = with_photos.into_iter().map(|c| c.0).collect();
    let simon = &read[0];
    assert_eq!(simon.name.suffix, "ing. jr,M.Sc.");
    assert_eq!(
        numbers(simon),
        [(PhoneKind::Work, "", "tel:+1-418-656-9254;ext=102"), (PhoneKind::Mobile, "", "tel:+1-418-262-6501"),]
    );
    assert_eq!(dates(simon), [(DateKind::Birthday, "", "--02-03"), (DateKind::Anniversary, "", "2009-08-08")]);
    assert_eq!(simon.addresses[0].street, "2875 Laurier\nSuite D2-630");
    assert_eq!(simon.addresses[0].city, "Quebec");
    let names: Vec<&str> = simon.extra.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["GENDER", "LANG;PREF=1", "LANG;PREF=2", "GEO;TYPE=work", "TZ"]);
    let ada = &read[1];
    assert_eq!((ada.department.as_str(), ada.name.middle.as_str()), ("Mathematics, Research", "King"));
    assert_eq!(ada.email(), "ada@engines.example");
    assert!(numbers(ada).contains(&(PhoneKind::Other, "Boat", "tel:+44-7700-900123")));
    assert!(numbers(ada).contains(&(PhoneKind::Main, "", "200")));
    assert_eq!(ada.ims[1].kind, "skype");
    assert!(kept(ada).contains(&(
        ExtraFormat::Vcard,
        "RELATED;TYPE=spouse",
        "urn:uuid:03a0e51f-d1aa-4385-8a53-e29025acd8af"
    )));
}

#[test]
fn vcard_4_writes_uris_and_older_formats_the_extension_after_an_x() {
    let read = contacts(&fixture("rfc6350.vcf"), "US");
    let text = |format| String::from_utf8(write_all(Vec::new(), format, &exports(&read)).unwrap()).unwrap();
    assert!(text(ExportFormat::VCard4).contains("\r\nTEL;VALUE=uri;TYPE=work,voice:tel:+1-418-656-9254;ext=102\r\n"));
    assert!(text(ExportFormat::VCard3).contains("\r\nTEL;TYPE=WORK,VOICE:+1 418-656-9254 x102\r\n"));
    assert!(text(ExportFormat::GoogleCsv).contains(",+1 418-656-9254 x102,"));
    assert!(text(ExportFormat::OutlookCsv).contains("\"+1 418-656-9254 x102\""));
}

#[test]
fn vcard_properties_go_to_vcard_only() {
    let read = contacts(&fixture("apple.vcf"), "US");
    let social = "https://twitter.com/kenji_n";
    let as_v4 = write_all(Vec::new(), ExportFormat::VCard4, &exports(&read)).unwrap();
    let again = contacts(&as_v4, "US");
    let socials = |c: &ContactFields| c.extra.iter().filter(|e| e.value == social).count();
    assert_eq!(socials(&again[0].0), 1, "a vCard 3 X- property survives into vCard 4");
    assert_eq!(again[0].0.extra, read[0].0.extra);
    for format in [ExportFormat::OutlookCsv, ExportFormat::GoogleCsv] {
        let file = write_all(Vec::new(), format, &exports(&read)).unwrap();
        assert!(!String::from_utf8(file.clone()).unwrap().contains(social), "{format:?}");
        assert!(contacts(&file, "US")[0].0.extra.iter().all(|e| e.format != ExtraFormat::Vcard), "{format:?}");
    }
}

#[test]
fn vcard_2_1_photos_are_read() {
    let card = "BEGIN:VCARD\r\nVERSION:2.1\r\nN:Lee;Ann\r\nPHOTO;ENCODING=BASE64;JPEG:\r\n /9j/4AAQ\r\n SkZJRg==\r\n\r\nEND:VCARD\r\n";
    let read = contacts(card.as_bytes(), "US");
    assert_eq!(read[0].3.as_deref(), Some(&b"\xff\xd8\xff\xe0\x00\x10JFIF"[..]));
    let reader = read_rows(card);
    assert_eq!(reader[0].photo.as_ref().unwrap().as_ref().unwrap().declared.as_deref(), Some("jpeg"));
    let broken = read_rows(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Lee;Ann\r\nPHOTO;ENCODING=b;TYPE=JPEG:#not base64#\r\nEND:VCARD\r\n",
    );
    assert_eq!(broken[0].photo, Some(Err("the photo is not valid base64".into())), "the contact is still read");
}

fn read_rows(file: &str) -> Vec<switchboard_formats::ImportedRow> {
    read(file.as_bytes(), ReadOptions::default()).unwrap().map(Result::unwrap).collect()
}
