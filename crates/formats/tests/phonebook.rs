//! Golden files of every vendor's phonebook (`tests/golden/phonebook/<vendor>-<case>.xml`),
//! every output checked by `xmllint --noout`, and names read back through an XML parser.
//! `UPDATE_GOLDEN=1 cargo test -p switchboard-formats --test phonebook` rewrites the files
//! after a deliberate change; review their diff.

use std::path::{Path, PathBuf};
use std::process::Command;

use quick_xml::Reader;
use quick_xml::XmlVersion;
use quick_xml::events::Event;
use switchboard_core::contact::NumberKind;
use switchboard_formats::phonebook::{Book, BookEntry, CISCO_MAX_LINES, DialNumber, Vendor, cisco_fit, render};

fn number(kind: NumberKind, dial: &str) -> DialNumber {
    DialNumber { kind, dial: dial.into(), extension: None }
}

fn person(first: &str, last: &str, dial: &str) -> BookEntry {
    BookEntry {
        first_name: first.into(),
        last_name: last.into(),
        numbers: vec![number(NumberKind::Work, dial)],
        ..Default::default()
    }
}

fn company(name: &str, dial: &str) -> BookEntry {
    BookEntry { company: name.into(), numbers: vec![number(NumberKind::Work, dial)], ..Default::default() }
}

/// The named books every vendor is rendered for.
fn cases() -> Vec<(&'static str, Vec<BookEntry>)> {
    vec![
        (
            "special",
            vec![
                company("Smith & Sons <Plumbing>", "+12065550100"),
                person("Tom \"TJ\"", "O'Brien & Co", "+12065550101"),
                person("A<B", "C>D", "+12065550102"),
                // Same number as Smith & Sons: Polycom lists it once.
                person("Second", "Smith", "+12065550100"),
                // Nothing to dial: left out everywhere.
                BookEntry { first_name: "No".into(), last_name: "Number".into(), ..Default::default() },
                BookEntry {
                    first_name: "Extension".into(),
                    last_name: "Only".into(),
                    numbers: vec![number(NumberKind::Extension, "204")],
                    ..Default::default()
                },
            ],
        ),
        (
            "accents",
            vec![
                person("Zoë", "Ångström", "+4930123456"),
                person("Renée", "Çelik-Øberg", "+33142685300"),
                person("Łukasz", "Żółć", "+48221234567"),
                company("Crème Brûlée S.à r.l.", "+35227123456"),
            ],
        ),
        (
            "emoji",
            vec![
                company("Pizza 🍕 Place", "+12065550200"),
                person("Thumbs 👍🏽", "Up", "+12065550201"),
                person("👨‍👩‍👧 Family", "Account", "+12065550202"),
            ],
        ),
        (
            "long",
            vec![
                person("Maximiliane-Alexandra", "Featherstonehaugh-Worthington", "+441632960123"),
                company("Internationale Handelsgesellschaft für Bürobedarf mbH", "+493012345678"),
                // The 32nd character is the last e, its accent (a combining mark) the 33rd:
                // the cut leaves out the e rather than strip its accent.
                person("Abcdefghijklmnopqrstuvwxyz", "Renee\u{301}", "+12065550300"),
                // Multibyte characters around Polycom's 40-byte limit.
                person("Ωmega Ωmega Ωmega Ωmega Ωmega Ωmega Ω", "Ünterwäldner-Größenbühl Ängstöm Ø", "+41441234567"),
            ],
        ),
        (
            "four-numbers",
            vec![
                BookEntry {
                    first_name: "Quinn".into(),
                    last_name: "Fourways".into(),
                    company: "Many Lines Ltd".into(),
                    numbers: vec![
                        number(NumberKind::Work, "+12065550401"),
                        number(NumberKind::Mobile, "+12065550402"),
                        number(NumberKind::Home, "+12065550403"),
                        number(NumberKind::Fax, "+12065550404"),
                    ],
                },
                person("Single", "Line", "+12065550405"),
            ],
        ),
        (
            "extensions",
            vec![
                // The phone dials the main number; the extension is named beside it.
                BookEntry {
                    first_name: "Ext".into(),
                    last_name: "Single".into(),
                    numbers: vec![DialNumber {
                        extension: Some("102".into()),
                        ..number(NumberKind::Work, "+14186569254")
                    }],
                    ..Default::default()
                },
                BookEntry {
                    first_name: "Ext".into(),
                    last_name: "Two".into(),
                    numbers: vec![
                        DialNumber { extension: Some("12".into()), ..number(NumberKind::Work, "+442079460958") },
                        number(NumberKind::Mobile, "+447700900123"),
                    ],
                    ..Default::default()
                },
            ],
        ),
        ("empty", vec![]),
    ]
}

fn numbered(count: usize) -> Vec<BookEntry> {
    (0..count).map(|i| person("Person", &format!("{i:03}"), &format!("+1206555{:04}", 1000 + i))).collect()
}

const NEXT: &str = "https://pbx.example/phonebook/sbd_token/cisco.xml?page=next&q=a";
const PREVIOUS: &str = "https://pbx.example/phonebook/sbd_token/cisco.xml?page=p.previous";

/// Cisco pages as the phonebook route makes them: as many entries as fit, with links.
fn cisco_pages() -> Vec<(String, Vec<u8>)> {
    let mut pages = Vec::new();
    for total in [32, 33, 64] {
        let entries = numbered(total);
        let mut start = 0;
        let mut page = 1;
        while start < entries.len() || (start == 0 && entries.is_empty()) {
            let fit = cisco_fit(&entries[start..]);
            let end = start + fit;
            let book = Book {
                title: "Acme",
                entries: &entries[start..end],
                next_url: (end < entries.len()).then_some(NEXT),
                previous_url: (start > 0).then_some(PREVIOUS),
            };
            pages.push((format!("cisco-paging-{total}-page{page}"), render(Vendor::Cisco, &book)));
            start = end;
            page += 1;
        }
    }
    pages
}

fn all_outputs() -> Vec<(String, Vec<u8>)> {
    let mut outputs = Vec::new();
    for vendor in Vendor::ALL {
        for (case, entries) in cases() {
            let book = Book { title: "Acme & Co", entries: &entries, next_url: None, previous_url: None };
            outputs.push((format!("{}-{case}", vendor.as_str()), render(vendor, &book)));
        }
    }
    outputs.extend(cisco_pages());
    outputs
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/phonebook")
}

#[test]
fn every_vendor_matches_its_golden_files() {
    let dir = golden_dir();
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    if update {
        std::fs::create_dir_all(&dir).unwrap();
    }
    let mut differing = Vec::new();
    for (name, bytes) in all_outputs() {
        let path = dir.join(format!("{name}.xml"));
        if update {
            std::fs::write(&path, &bytes).unwrap();
            continue;
        }
        let expected =
            std::fs::read(&path).unwrap_or_else(|_| panic!("{} is missing (UPDATE_GOLDEN=1)", path.display()));
        if expected != bytes {
            differing.push(format!("{name}:\n{}", String::from_utf8_lossy(&bytes)));
        }
    }
    assert!(differing.is_empty(), "differs from the golden file:\n{}", differing.join("\n"));
}

#[test]
fn every_output_passes_xmllint() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (name, bytes) in all_outputs() {
        let path = dir.path().join(format!("{name}.xml"));
        std::fs::write(&path, bytes).unwrap();
        files.push(path);
    }
    let output = Command::new("xmllint")
        .arg("--noout")
        .args(&files)
        .output()
        .expect("xmllint is needed for this test (Debian package libxml2-utils; scripts/test installs it)");
    assert!(output.status.success(), "xmllint refused: {}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(files.len(), 7 * 7 + 1 + 2 + 2);
}

/// Every text and attribute value of a document, unescaped by a real parser.
fn values(bytes: &[u8]) -> Vec<String> {
    let mut reader = Reader::from_reader(bytes);
    let mut values = Vec::new();
    // quick-xml reports entities apart from the text around them: join the pieces.
    let mut text = String::new();
    loop {
        let event = reader.read_event().unwrap();
        match &event {
            Event::Text(piece) => text.push_str(&piece.xml10_content().unwrap()),
            Event::GeneralRef(reference) => text.push_str(match reference.decode().unwrap().as_ref() {
                "amp" => "&",
                "lt" => "<",
                "gt" => ">",
                "quot" => "\"",
                "apos" => "'",
                other => panic!("unexpected entity {other}"),
            }),
            _ => {
                if !text.trim().is_empty() {
                    values.push(text.trim().to_string());
                }
                text.clear();
            }
        }
        match event {
            Event::Eof => return values,
            Event::Start(element) | Event::Empty(element) => {
                for attribute in element.attributes() {
                    values.push(attribute.unwrap().normalized_value(XmlVersion::Implicit1_0).unwrap().into_owned());
                }
            }
            _ => {}
        }
    }
}

#[test]
fn names_read_back_as_they_were_written() {
    let nasty = "Tom & \"Jerry\" <'s>";
    let entries = [person(nasty, "", "+12065550100")];
    for vendor in Vendor::ALL {
        let book =
            Book { title: "T", entries: &entries, next_url: Some("https://x.example/?a=1&b=2"), previous_url: None };
        let bytes = render(vendor, &book);
        let found = values(&bytes);
        assert!(found.iter().any(|v| v == nasty), "{vendor:?}: {found:?}");
        if vendor == Vendor::Cisco {
            assert!(found.iter().any(|v| v == "https://x.example/?a=1&b=2"), "{found:?}");
        }
    }
}

#[test]
fn cisco_never_exceeds_its_line_limit() {
    let mut entries = numbered(40);
    entries[3].numbers.push(number(NumberKind::Mobile, "+12065559999"));
    entries.insert(0, cases()[4].1[0].clone());
    let fit = cisco_fit(&entries);
    // Four lines for the first contact, two for the fifth, one for each other one.
    assert_eq!(fit, 28);
    let book = Book { title: "Acme", entries: &entries, next_url: None, previous_url: None };
    let xml = String::from_utf8(render(Vendor::Cisco, &book)).unwrap();
    assert_eq!(xml.matches("<DirectoryEntry>").count(), CISCO_MAX_LINES);
}
