//! What a card says, property by property, onto a contact.
//!
//! Modelled properties fill fields and lists; Apple's `itemN.X-ABLabel` labels the
//! property of its group. Every other property is kept verbatim in `extra` (name, group,
//! parameters and escaped value), except those the writer makes anew.

use std::collections::{HashMap, HashSet};

use switchboard_core::details::{ContactKind, DateKind, ExtraFormat, PhoneKind, PlaceKind};

use super::parse::{Property, structured, unescape};
use crate::builder::{Builder, Field, normalize_newlines, present};
use crate::charset::Charset;
use crate::csv_read::address_of;
use crate::tables::{Part, date_label, phone_label, place_label, url_label};
use crate::values::vcard_date;

/// Properties the writer makes anew from the fields: not kept.
const REGENERATED: [&str; 7] =
    ["VERSION", "PRODID", "REV", "KIND", "X-ABSHOWAS", "X-ADDRESSBOOKSERVER-KIND", "CLIENTPIDMAP"];

/// Messaging properties older than `IMPP`, each for one service.
const IM_PROPERTIES: [&str; 11] = [
    "X-SKYPE",
    "X-SKYPE-USERNAME",
    "X-AIM",
    "X-JABBER",
    "X-MSN",
    "X-YAHOO",
    "X-ICQ",
    "X-GOOGLE-TALK",
    "X-GTALK",
    "X-QQ",
    "X-GADUGADU",
];

/// Properties that fill fields or lists.
const MODELLED: [&str; 22] = [
    "FN",
    "N",
    "ORG",
    "TITLE",
    "NICKNAME",
    "X-PHONETIC-FIRST-NAME",
    "X-PHONETIC-LAST-NAME",
    "TEL",
    "EMAIL",
    "ADR",
    "URL",
    "BDAY",
    "ANNIVERSARY",
    "X-ANNIVERSARY",
    "X-ABDATE",
    "IMPP",
    "CATEGORIES",
    "NOTE",
    "UID",
    "X-ABLABEL",
    "MEMBER",
    "X-ADDRESSBOOKSERVER-MEMBER",
];

fn is_modelled(name: &str) -> bool {
    MODELLED.contains(&name) || IM_PROPERTIES.contains(&name)
}

/// An Apple label: `_$!<Mobile>!$_` is one of Apple's words, anything else the user's text.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Label {
    Builtin(String),
    Custom(String),
}

fn apple_label(label: &str) -> Label {
    let label = label.trim();
    match label.strip_prefix("_$!<").and_then(|l| l.strip_suffix(">!$_")) {
        Some(word) => Label::Builtin(word.to_string()),
        None => Label::Custom(label.to_string()),
    }
}

/// What the whole card says before its properties are read one by one.
struct Card<'p> {
    version4: bool,
    file_charset: Charset,
    /// `X-ABLabel` of each group whose property is modelled (the others are kept as they are).
    labels: HashMap<&'p str, Label>,
    company_card: bool,
    /// vCard 4.0 `KIND:group`, Apple's `X-ADDRESSBOOKSERVER-KIND:group`.
    group: bool,
    has_full_name: bool,
}

impl Card<'_> {
    fn text(&self, p: &Property) -> Result<String, (String, String)> {
        p.raw_text(self.version4, self.file_charset).map(normalize_newlines).map_err(|m| (p.name.clone(), m))
    }

    fn label(&self, p: &Property) -> Option<&Label> {
        p.group.as_deref().and_then(|g| self.labels.get(g))
    }
}

fn read_card<'p>(properties: &'p [Property], file_charset: Charset) -> Result<Card<'p>, (String, String)> {
    let version4 = properties
        .iter()
        .any(|p| p.name == "VERSION" && p.raw_text(false, Charset::Utf8).is_ok_and(|v| v.trim() == "4.0"));
    let has_full_name = properties.iter().any(|p| p.name == "FN");
    let mut card =
        Card { version4, file_charset, labels: HashMap::new(), company_card: false, group: false, has_full_name };
    let modelled_groups: HashSet<&str> = properties
        .iter()
        .filter(|p| p.name != "X-ABLABEL" && is_modelled(&p.name))
        .filter_map(|p| p.group.as_deref())
        .collect();
    for p in properties {
        match p.name.as_str() {
            "X-ABLABEL" => {
                if let Some(group) = p.group.as_deref().filter(|g| modelled_groups.contains(g)) {
                    card.labels.insert(group, apple_label(&unescape(&card.text(p)?)));
                }
            }
            "X-ABSHOWAS" | "KIND" | "X-ADDRESSBOOKSERVER-KIND" => {
                let value = card.text(p)?.trim().to_lowercase();
                card.group |= value == "group" && p.name != "X-ABSHOWAS";
                card.company_card |= value == "company" || value == "org" || value == "organization";
            }
            _ => {}
        }
    }
    Ok(card)
}

/// What a card says. An error names the modelled property at fault; a kept property
/// that cannot be decoded is left out.
pub(crate) fn map_card(properties: &[Property], file_charset: Charset) -> Result<Builder, (String, String)> {
    let card = read_card(properties, file_charset)?;
    let mut b = Builder::new(ExtraFormat::Vcard);
    let mut full_name = None;
    for p in properties.iter().filter(|p| !REGENERATED.contains(&p.name.as_str())) {
        let labelled_away = p.name == "X-ABLABEL" && card.label(p).is_some();
        if labelled_away {
            continue;
        }
        if p.name == "PHOTO" {
            // An inline image is the row's photo (`photo.rs`); a linked one is kept.
            if super::photo::is_linked(p) {
                keep(&mut b, p, &card);
            }
            continue;
        }
        if !is_modelled(&p.name) || p.name == "X-ABLABEL" {
            keep(&mut b, p, &card);
            continue;
        }
        let value = card.text(p)?;
        if p.name == "FN" {
            full_name.get_or_insert((p, unescape(&value)));
        } else if !map_property(&mut b, p, &value, &card) {
            keep(&mut b, p, &card);
        }
    }
    if let Some((p, name)) = full_name {
        map_full_name(&mut b, p, &name, &card);
    }
    b.kind(match () {
        _ if card.group => ContactKind::Group,
        _ if card.company_card => ContactKind::Organization,
        _ => ContactKind::Individual,
    });
    Ok(b)
}

/// Keeps a property as it was written.
fn keep(b: &mut Builder, p: &Property, card: &Card) {
    if let Ok(value) = p.raw_text(card.version4, card.file_charset) {
        // A quoted-printable value may hold real line breaks: written back escaped.
        let value = normalize_newlines(value).replace(['\r', '\n'], "\\n");
        b.extra(&p.verbatim_head(), &value);
    }
}

/// `FN` gives the name when `N` does not (the company's on a company card), and is kept
/// when it says something else than the name the writer would make.
fn map_full_name(b: &mut Builder, p: &Property, full_name: &str, card: &Card) {
    if card.group {
        // A group's name is one name, never split into a person's parts.
        b.set(Field::First, full_name);
        return;
    }
    if card.company_card && !present(&b.contact().company) {
        b.set(Field::Company, full_name);
        return;
    }
    if !b.has_name() {
        if !card.company_card {
            b.full_name(full_name);
        }
        return;
    }
    let c = b.contact();
    let squashed = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let candidates = [
        display_name([&c.name_prefix, &c.first_name, &c.middle_name, &c.last_name, &c.name_suffix]),
        display_name(["", &c.first_name, &c.middle_name, &c.last_name, ""]),
        display_name(["", &c.first_name, "", &c.last_name, ""]),
        squashed(&c.company),
    ];
    if !candidates.contains(&squashed(full_name)) {
        keep(b, p, card);
    }
}

/// A name as the writers show it: its parts that are given, with single spaces.
pub(crate) fn display_name(parts: [&str; 5]) -> String {
    let words: Vec<&str> = parts.iter().flat_map(|p| p.split_whitespace()).collect();
    words.join(" ")
}

/// Fills what `p` says; `false` when it says it a second time and should be kept instead.
fn map_property(b: &mut Builder, p: &Property, value: &str, card: &Card) -> bool {
    let text = || unescape(value);
    match p.name.as_str() {
        // Apple repeats a group's name as its `N`; its `FN` is the name.
        "N" if card.group && card.has_full_name => {}
        "N" => map_name(b, value),
        // Members mean something only on a group (RFC 6350 §6.6.5); a URI is not escaped.
        "MEMBER" | "X-ADDRESSBOOKSERVER-MEMBER" if card.group => b.member(value.trim()),
        "MEMBER" | "X-ADDRESSBOOKSERVER-MEMBER" => {}
        "ORG" => {
            let parts = structured(value);
            let units: Vec<&str> = parts[1..].iter().map(String::as_str).filter(|u| present(u)).collect();
            return b.set(Field::Company, &parts[0]) && b.set(Field::Department, &units.join(", "));
        }
        "TITLE" => return b.set(Field::Title, &text()),
        "NICKNAME" => return b.set(Field::Nickname, &text()),
        "X-PHONETIC-FIRST-NAME" => return b.set(Field::PhoneticFirst, &text()),
        "X-PHONETIC-LAST-NAME" => return b.set(Field::PhoneticLast, &text()),
        "TEL" => map_tel(b, p, &text(), card.label(p)),
        "EMAIL" => {
            let (kind, label) = place_of(p, card.label(p));
            b.email(kind, &label, &text(), is_preferred(p));
        }
        "ADR" => map_address(b, p, value, card.label(p)),
        "URL" => map_url(b, p, &text(), card.label(p)),
        "BDAY" | "ANNIVERSARY" | "X-ANNIVERSARY" | "X-ABDATE" => map_date(b, p, &text(), card.label(p)),
        "IMPP" => map_impp(b, p, &text(), card.label(p)),
        name if IM_PROPERTIES.contains(&name) => {
            let service = name.trim_start_matches("X-").trim_end_matches("-USERNAME");
            b.im(service, &im_label(p, card.label(p)), &text());
        }
        "CATEGORIES" => map_categories(b, p, value),
        "NOTE" => b.note(&text()),
        "UID" => b.uid(&text()),
        _ => {}
    }
    true
}

/// `N`: family; given; additional; prefix; suffix.
fn map_name(b: &mut Builder, value: &str) {
    let parts = structured(value);
    let fields = [Field::Last, Field::First, Field::Middle, Field::Prefix, Field::Suffix];
    for (field, part) in fields.into_iter().zip(&parts) {
        b.set(field, part);
    }
}

/// 3.0 `type=pref`, 2.1 `PREF`, 4.0 `PREF=1`.
fn is_preferred(p: &Property) -> bool {
    p.types().iter().any(|t| t == "pref") || p.param("PREF").is_some_and(|v| v.trim() == "1")
}

/// A number's kind by its vCard types (2.1 `WORK;FAX`, 3.0 `type=CELL`, 4.0 `TYPE=work,voice`).
fn tel_kind(types: &[String]) -> Option<PhoneKind> {
    let has = |t: &str| types.iter().any(|x| x == t);
    Some(match () {
        _ if has("fax") && has("home") => PhoneKind::HomeFax,
        _ if has("fax") => PhoneKind::Fax,
        _ if has("cell") || has("mobile") || has("iphone") => PhoneKind::Mobile,
        _ if has("pager") => PhoneKind::Pager,
        _ if has("main") => PhoneKind::Main,
        _ if has("work") => PhoneKind::Work,
        _ if has("home") => PhoneKind::Home,
        _ if has("other") => PhoneKind::Other,
        _ => return None,
    })
}

/// The number as written: a 4.0 `tel:` URI stays one (the app reads its extension).
fn map_tel(b: &mut Builder, p: &Property, number: &str, label: Option<&Label>) {
    let types = p.types();
    let (kind, label) = match label {
        Some(Label::Builtin(word)) => phone_label(word),
        Some(Label::Custom(text)) => (tel_kind(&types).unwrap_or(PhoneKind::Other), text.clone()),
        // An untyped number is a voice number: the work one, for a business directory.
        None => (tel_kind(&types).unwrap_or(PhoneKind::Work), String::new()),
    };
    b.phone(kind, &label, number, is_preferred(p));
}

fn place_kind(types: &[String]) -> Option<PlaceKind> {
    let has = |t: &str| types.iter().any(|x| x == t);
    Some(match () {
        _ if has("work") => PlaceKind::Work,
        _ if has("home") => PlaceKind::Home,
        _ if has("other") => PlaceKind::Other,
        _ => return None,
    })
}

/// The kind and label of an email or address.
fn place_of(p: &Property, label: Option<&Label>) -> (PlaceKind, String) {
    let types = p.types();
    match label {
        Some(Label::Builtin(word)) => place_label(word),
        Some(Label::Custom(text)) => (place_kind(&types).unwrap_or(PlaceKind::Other), text.clone()),
        None => (place_kind(&types).unwrap_or(PlaceKind::Work), String::new()),
    }
}

/// `ADR`: PO box; extended address; street; city; region; postal code; country.
fn map_address(b: &mut Builder, p: &Property, value: &str, label: Option<&Label>) {
    let order = [Part::PoBox, Part::Extended, Part::Street, Part::City, Part::Region, Part::PostalCode, Part::Country];
    let parts = order.into_iter().zip(structured(value)).collect();
    let (kind, label) = place_of(p, label);
    b.address(address_of(kind, &label, parts));
}

fn first_type(p: &Property) -> String {
    p.types().into_iter().find(|t| !matches!(t.as_str(), "pref" | "internet" | "voice")).unwrap_or_default()
}

fn map_url(b: &mut Builder, p: &Property, url: &str, label: Option<&Label>) {
    let (kind, label) = match label {
        Some(Label::Builtin(word)) => url_label(word),
        Some(Label::Custom(text)) => {
            let kind = first_type(p);
            (if kind.is_empty() { "other".into() } else { kind }, text.clone())
        }
        None => (first_type(p), String::new()),
    };
    b.url(&kind, &label, url);
}

fn map_date(b: &mut Builder, p: &Property, value: &str, label: Option<&Label>) {
    let date = vcard_date(value, p.param("X-APPLE-OMIT-YEAR"));
    let (kind, label) = match (p.name.as_str(), label) {
        (_, Some(Label::Builtin(word))) => date_label(word),
        ("BDAY", Some(Label::Custom(text))) => (DateKind::Birthday, text.clone()),
        (_, Some(Label::Custom(text))) => (DateKind::Other, text.clone()),
        ("BDAY", None) => (DateKind::Birthday, String::new()),
        ("ANNIVERSARY" | "X-ANNIVERSARY", None) => (DateKind::Anniversary, String::new()),
        _ => (DateKind::Other, String::new()),
    };
    b.date(kind, &label, &date);
}

/// A handle's label: Apple's, else its `home`/`work`/`other` type.
fn im_label(p: &Property, label: Option<&Label>) -> String {
    match label {
        Some(Label::Builtin(word)) => word.to_lowercase(),
        Some(Label::Custom(text)) => text.clone(),
        None => p.types().into_iter().find(|t| matches!(t.as_str(), "home" | "work" | "other")).unwrap_or_default(),
    }
}

/// The scheme of a handle's URI (`xmpp` in `xmpp:ann@example.com`).
pub(crate) fn scheme(value: &str) -> Option<&str> {
    let (scheme, _) = value.split_once(':')?;
    (!scheme.is_empty() && scheme.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')).then_some(scheme)
}

/// `IMPP`: the service is Apple's `X-SERVICE-TYPE`, else the URI's scheme; the URI is kept whole.
fn map_impp(b: &mut Builder, p: &Property, value: &str, label: Option<&Label>) {
    let service = p.param("X-SERVICE-TYPE").map(str::to_string).or_else(|| scheme(value).map(str::to_string));
    b.im(&service.unwrap_or_default(), &im_label(p, label), value);
}

/// `starred` (Google's name for favorites) marks a favorite, `myContacts` is Google's own;
/// the person's own categories are kept.
fn map_categories(b: &mut Builder, p: &Property, value: &str) {
    let mut own = Vec::new();
    for category in split_list(value) {
        if category.eq_ignore_ascii_case("starred") {
            b.starred = true;
        } else if !category.eq_ignore_ascii_case("myContacts") && present(&category) {
            own.push(category.replace('\\', "\\\\").replace(',', "\\,"));
        }
    }
    if !own.is_empty() {
        b.extra(&p.verbatim_head(), &own.join(","));
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn card(lines: &[&str]) -> switchboard_core::ContactInput {
        let properties: Vec<Property> = lines.iter().filter_map(|l| Property::parse(l.as_bytes())).collect();
        map_card(&properties, Charset::Utf8).unwrap().finish().unwrap()
    }

    fn kept(c: &switchboard_core::ContactInput) -> Vec<(&str, &str)> {
        c.extra.iter().map(|e| (e.name.as_str(), e.value.as_str())).collect()
    }

    #[test]
    fn older_properties_and_second_values() {
        let c = card(&[
            "VERSION:3.0",
            "N:Lee;Ann;;;",
            "FN:Annie L.",
            "TITLE:CEO",
            "TITLE:Founder",
            "X-ANNIVERSARY:2001-05-06",
            "X-SKYPE-USERNAME:ann.lee",
            "item1.X-ABRELATEDNAMES:Bob",
            "item1.X-ABLabel:_$!<Friend>!$_",
            "X-EVOLUTION-FILE-AS:Lee\\, Ann",
        ]);
        assert_eq!(c.title, "CEO");
        assert_eq!((c.dates[0].kind, c.dates[0].date.as_str()), (DateKind::Anniversary, "2001-05-06"));
        assert_eq!((c.ims[0].kind.as_str(), c.ims[0].value.as_str()), ("skype", "ann.lee"));
        assert_eq!(
            kept(&c),
            [
                ("TITLE", "Founder"),
                ("item1.X-ABRELATEDNAMES", "Bob"),
                ("item1.X-ABLabel", "_$!<Friend>!$_"),
                ("X-EVOLUTION-FILE-AS", "Lee\\, Ann"),
                ("FN", "Annie L."),
            ]
        );
    }

    #[test]
    fn a_name_the_writer_would_make_is_not_kept() {
        let c = card(&["VERSION:3.0", "N:Lee;Ann;Marie;Dr.;", "FN:Dr. Ann  Marie Lee", "REV:2024", "PRODID:x"]);
        assert!(c.extra.is_empty(), "{:?}", c.extra);
        let from_fn = card(&["VERSION:3.0", "FN:Ada King Lovelace"]);
        assert_eq!((from_fn.first_name.as_str(), from_fn.last_name.as_str()), ("Ada King", "Lovelace"));
        assert!(from_fn.extra.is_empty());
    }

    #[test]
    fn quoted_printable_values_are_kept_decoded_and_escaped() {
        let c = card(&[
            "VERSION:2.1",
            "N:Lee;Ann",
            "LABEL;WORK;ENCODING=QUOTED-PRINTABLE;CHARSET=UTF-8:1 Main St=0D=0AT=C3=BCbingen",
        ]);
        assert_eq!(kept(&c), [("LABEL;WORK", "1 Main St\\nTübingen")]);
    }
}
