//! vCard 2.1, 3.0 and 4.0: a streaming reader (card by card) and the writer.

mod lines;
mod parse;
pub(crate) mod write;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};

use encoding_rs::{UTF_16BE, UTF_16LE, WINDOWS_1252};

use crate::builder::{Builder, PhoneKind, Section, Slot, normalize_newlines, present};
use crate::charset::Charset;
use crate::csv_read::transcode;
use crate::tables::phone_label;
use crate::{Detected, FileError, ImportedRow, Input, ReadOptions, RowError, TextEncoding};
use lines::{Line, LineReader};
use parse::{Property, structured, unescape};

/// A card being read: its raw lines until `END:VCARD`.
struct Card {
    number: usize,
    /// The line of its BEGIN:VCARD.
    begun_on: usize,
    lines: Vec<Line>,
    too_many: bool,
}

pub(crate) struct CardRows<'a> {
    lines: LineReader<Box<dyn BufRead + Send + 'a>>,
    /// What a value without `CHARSET` is in (vCard 4.0 is always UTF-8).
    file_charset: Charset,
    options: ReadOptions,
    card: Option<Card>,
    cards: usize,
    done: bool,
    stopped: Option<FileError>,
}

impl<'a> CardRows<'a> {
    pub fn new(input: Input<'a>, detected: &Detected, options: ReadOptions) -> Result<Self, FileError> {
        let (input, file_charset) = match detected.encoding {
            TextEncoding::Utf16Le { .. } => (transcode(input, UTF_16LE), Charset::Utf8),
            TextEncoding::Utf16Be { .. } => (transcode(input, UTF_16BE), Charset::Utf8),
            TextEncoding::Utf8 { bom: true } => (input, Charset::Utf8),
            TextEncoding::Utf8 { bom: false } => (input, Charset::Utf8OrWindows1252),
            TextEncoding::Windows1252 => (input, Charset::Other(WINDOWS_1252)),
        };
        // Quoted-printable and escapes can triple a value's length on the line.
        let max_line = options.max_field_len.saturating_mul(3).saturating_add(256);
        let reader: Box<dyn BufRead + Send + 'a> = Box::new(BufReader::with_capacity(64 * 1024, input));
        Ok(CardRows {
            lines: LineReader::new(reader, max_line),
            file_charset,
            options,
            card: None,
            cards: 0,
            done: false,
            stopped: None,
        })
    }

    pub fn file_error(&self) -> Option<&FileError> {
        self.stopped.as_ref()
    }

    fn stop(&mut self, err: FileError, row: usize) -> RowError {
        self.done = true;
        let message = err.to_string();
        self.stopped = Some(err);
        RowError::new(row, None, message)
    }

    /// Starts a new card; an unfinished one before it is reported.
    fn begin(&mut self, line: &Line) -> Option<RowError> {
        self.cards += 1;
        if self.cards > self.options.max_rows {
            return Some(self.stop(FileError::TooManyRows { max: self.options.max_rows }, self.cards));
        }
        let unfinished =
            self.card.replace(Card { number: self.cards, begun_on: line.number, lines: Vec::new(), too_many: false });
        unfinished.map(|card| {
            let message = format!("no END:VCARD before the next BEGIN:VCARD (line {})", line.number);
            RowError::new(card.number, None, message)
        })
    }

    fn finish(&self, card: Card) -> Result<ImportedRow, RowError> {
        let row = card.number;
        if card.too_many {
            let message = format!("has more than {} properties", self.options.max_columns);
            return Err(RowError::new(row, None, message));
        }
        if let Some(line) = card.lines.iter().find(|l| l.overlong) {
            let name = String::from_utf8_lossy(lines::property_name(&line.bytes)).to_uppercase();
            let message = format!("is longer than {} bytes (line {})", self.options.max_field_len, line.number);
            return Err(RowError::new(row, Some(&name), message));
        }
        let properties: Vec<Property> = card.lines.iter().filter_map(|l| Property::parse(&l.bytes)).collect();
        let builder =
            map_card(&properties, self.file_charset).map_err(|(field, m)| RowError::new(row, Some(&field), m))?;
        let (uid, starred) = (builder.uid.clone(), builder.starred);
        let contact = builder.finish().map_err(|m| RowError::new(row, None, m))?;
        Ok(ImportedRow { row, uid, starred, contact })
    }
}

fn is(line: &Line, text: &[u8]) -> bool {
    line.bytes.trim_ascii().eq_ignore_ascii_case(text)
}

impl Iterator for CardRows<'_> {
    type Item = Result<ImportedRow, RowError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            let line = match self.lines.next_line() {
                Ok(Some(line)) => line,
                Ok(None) => {
                    self.done = true;
                    // A file cut short is refused whole: its last card may have lost any line.
                    let card = self.card.take()?;
                    let cut_short = FileError::UnfinishedCard { card: card.number, line: card.begun_on };
                    return Some(Err(self.stop(cut_short, card.number)));
                }
                Err(err) => return Some(Err(self.stop(FileError::io(err), self.cards))),
            };
            if is(&line, b"BEGIN:VCARD") {
                match self.begin(&line) {
                    Some(err) => return Some(Err(err)),
                    None => continue,
                }
            }
            if is(&line, b"END:VCARD") {
                match self.card.take() {
                    Some(card) => return Some(self.finish(card)),
                    None => continue,
                }
            }
            // Lines outside a card, and binary properties, are of no use.
            let Some(card) = self.card.as_mut().filter(|_| !line.skipped) else { continue };
            if card.lines.len() < self.options.max_columns {
                card.lines.push(line);
            } else {
                card.too_many = true;
            }
        }
        None
    }
}

/// Apple's labels: `_$!<Mobile>!$_` is a built-in one, anything else is the user's text.
fn apple_label(label: &str) -> String {
    let label = label.trim();
    label.strip_prefix("_$!<").and_then(|l| l.strip_suffix(">!$_")).unwrap_or(label).to_string()
}

/// The properties [`map_property`] reads (and `FN`).
const USED: [&str; 19] = [
    "FN",
    "N",
    "ORG",
    "TITLE",
    "ROLE",
    "TEL",
    "EMAIL",
    "ADR",
    "URL",
    "BDAY",
    "ANNIVERSARY",
    "X-ABDATE",
    "NICKNAME",
    "IMPP",
    "X-ABRELATEDNAMES",
    "RELATED",
    "CATEGORIES",
    "NOTE",
    "UID",
];

/// What a card says, property by property. An error names the property at fault.
fn map_card(properties: &[Property], file_charset: Charset) -> Result<Builder, (String, String)> {
    let version4 = properties
        .iter()
        .any(|p| p.name == "VERSION" && p.raw_text(false, Charset::Utf8).is_ok_and(|v| v.trim() == "4.0"));
    let text =
        |p: &Property| p.raw_text(version4, file_charset).map(normalize_newlines).map_err(|m| (p.name.clone(), m));
    let mut labels = HashMap::new();
    let mut company_card = false;
    for p in properties {
        match p.name.as_str() {
            "X-ABLABEL" => {
                if let Some(group) = &p.group {
                    labels.insert(group.clone(), apple_label(&unescape(&text(p)?)));
                }
            }
            "X-ABSHOWAS" | "KIND" => {
                let value = text(p)?.trim().to_lowercase();
                company_card |= value == "company" || value == "org" || value == "organization";
            }
            _ => {}
        }
    }
    let mut b = Builder::default();
    let mut full_name = String::new();
    // Only properties we use are decoded: a bad CHARSET on `X-SOMETHING` does not matter.
    for p in properties.iter().filter(|p| USED.contains(&p.name.as_str())) {
        let label = p.group.as_ref().and_then(|g| labels.get(g)).map(String::as_str);
        let value = text(p)?;
        if p.name == "FN" {
            full_name = unescape(&value);
        } else {
            map_property(&mut b, p, &value, label, company_card);
        }
    }
    if company_card && !present(b.company_name()) {
        b.company(&full_name);
    } else if !company_card {
        b.full_name(&full_name);
    }
    Ok(b)
}

fn map_property(b: &mut Builder, p: &Property, value: &str, label: Option<&str>, company_card: bool) {
    match p.name.as_str() {
        // On a company card, a name in N is the contact person there.
        "N" if company_card => {
            let parts = structured(value);
            let names: Vec<&str> =
                [1, 2, 0].iter().filter_map(|i| parts.get(*i)).map(|s| s.trim()).filter(|s| !s.is_empty()).collect();
            b.extra(Section::Name, "Contact person", &names.join(" "));
        }
        "N" => {
            let parts = structured(value);
            let part = |i: usize| parts.get(i).map_or("", String::as_str);
            b.last_name(part(0));
            b.first_name(part(1));
            b.first_name(part(2));
            b.extra(Section::Name, "Name prefix", part(3));
            b.extra(Section::Name, "Name suffix", part(4));
        }
        "ORG" => {
            let parts = structured(value);
            b.company(parts.first().map_or("", String::as_str));
            let units: Vec<&str> = parts[1..].iter().map(String::as_str).filter(|u| present(u)).collect();
            b.extra(Section::Organization, "Department", &units.join(", "));
        }
        "TITLE" => b.title(&unescape(value)),
        "ROLE" => b.extra(Section::Organization, "Role", &unescape(value)),
        "TEL" => map_tel(b, p, &unescape(value), label),
        "EMAIL" => {
            let types = p.types();
            let kind =
                types.iter().find(|t| !matches!(t.as_str(), "internet" | "pref" | "x400") && !t.starts_with("x-"));
            let label = label.or(kind.map(String::as_str));
            if is_preferred(p) {
                b.preferred_email(label, &unescape(value));
            } else {
                b.email(label, &unescape(value));
            }
        }
        "ADR" => {
            let parts = structured(value);
            // PO box, extended, street, city, region, postal code, country: already reading order.
            let line: Vec<&str> = parts.iter().map(String::as_str).filter(|s| present(s)).collect();
            let kind = label.map(str::to_lowercase).or_else(|| first_type(p, &["home", "work"]));
            b.extra(Section::Address, &with_kind("Address", kind), &line.join(", "));
        }
        "URL" => b.extra(Section::Web, &with_kind("Website", label.map(str::to_lowercase)), &unescape(value)),
        "BDAY" => b.extra(Section::Other, "Birthday", &unescape(value)),
        "ANNIVERSARY" => b.extra(Section::Other, "Anniversary", &unescape(value)),
        "X-ABDATE" => b.extra(Section::Other, label.unwrap_or("Date"), &unescape(value)),
        "NICKNAME" => b.extra(Section::Name, "Nickname", &unescape(value)),
        "IMPP" => b.extra(Section::Other, "IM", &unescape(value)),
        "X-ABRELATEDNAMES" | "RELATED" => b.extra(Section::Other, label.unwrap_or("Related"), &unescape(value)),
        "CATEGORIES" => map_categories(b, value),
        "NOTE" => b.note(&unescape(value)),
        "UID" => b.uid(&unescape(value)),
        _ => {}
    }
}

fn with_kind(what: &str, kind: Option<String>) -> String {
    match kind {
        Some(kind) => format!("{what} ({kind})"),
        None => what.to_string(),
    }
}

fn first_type(p: &Property, wanted: &[&str]) -> Option<String> {
    p.types().into_iter().find(|t| wanted.contains(&t.as_str()))
}

/// `starred` (Google's name for favorites) marks a favorite; `myContacts` is Google's own.
fn map_categories(b: &mut Builder, value: &str) {
    let mut own = Vec::new();
    for category in split_list(value) {
        if category.eq_ignore_ascii_case("starred") {
            b.starred = true;
        } else if !category.eq_ignore_ascii_case("myContacts") && present(&category) {
            own.push(category);
        }
    }
    b.extra(Section::Other, "Categories", &own.join(", "));
}

/// A list value: split at unescaped commas.
fn split_list(value: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            ',' => {
                items.push(unescape(&value[start..i]));
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(unescape(&value[start..]));
    items
}

fn map_tel(b: &mut Builder, p: &Property, value: &str, label: Option<&str>) {
    // vCard 4.0 numbers may be `tel:` URIs; the app reads the number itself.
    let number = value.strip_prefix("tel:").or_else(|| value.strip_prefix("TEL:")).unwrap_or(value);
    let (kind, notes_label) = match label {
        Some(label) => phone_label(label),
        None => tel_kind(&p.types()),
    };
    b.phone_with(kind, &notes_label, number, is_preferred(p));
}

/// 3.0 `type=pref`, 2.1 `PREF`, 4.0 `PREF=1`.
fn is_preferred(p: &Property) -> bool {
    p.types().iter().any(|t| t == "pref") || p.param("PREF").is_some_and(|v| v.trim() == "1")
}

/// Files a number by its vCard types (2.1 `WORK;FAX`, 3.0 `type=CELL`, 4.0 `TYPE=work,voice`).
fn tel_kind(types: &[String]) -> (PhoneKind, String) {
    let has = |t: &str| types.iter().any(|x| x == t);
    let (kind, label) = if has("fax") {
        (PhoneKind::Is(Slot::Fax), if has("home") { "Home fax" } else { "Fax" })
    } else if has("cell") || has("mobile") || has("iphone") {
        (PhoneKind::Is(Slot::Mobile), "Mobile phone")
    } else if has("pager") {
        (PhoneKind::Other, "Pager")
    } else if has("work") {
        (PhoneKind::Is(Slot::Work), "Work phone")
    } else if has("home") {
        (PhoneKind::Is(Slot::Home), "Home phone")
    } else if has("main") {
        (PhoneKind::Fallback(Slot::Work), "Main phone")
    } else if has("other") {
        (PhoneKind::Other, "Other phone")
    } else {
        (PhoneKind::Fallback(Slot::Work), "Phone")
    };
    (kind, label.to_string())
}
