//! vCard 3.0 and 4.0 output: escaped values, lines folded at 75 octets, CRLF.
//!
//! Every list is written in its order; a label goes in Apple's `itemN.X-ABLabel` beside
//! its property, and the vCard properties kept in `extra` are written back verbatim.

use std::collections::HashSet;
use std::io::{self, Write};

use switchboard_core::ContactFields;
use switchboard_core::details::{
    Address, ContactKind, DateEntry, DateKind, Email, ExtraFormat, Labeled, Phone, PhoneKind, PlaceKind,
};

use super::map::{display_name, scheme};
use crate::builder::present;
use crate::values::{typed_text, v3_date, v4_date, v4_number};
use crate::{ExportContact, ExportPhoto};

/// Longest line in octets, without its CRLF (RFC 2426 and RFC 6350 both say 75).
const LINE_OCTETS: usize = 75;

/// Text escaping: backslash, line break, comma and semicolon.
fn escape(value: &str) -> String {
    let value = value.replace("\r\n", "\n").replace('\r', "\n");
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            ',' => out.push_str("\\,"),
            ';' => out.push_str("\\;"),
            c => out.push(c),
        }
    }
    out
}

/// A parameter value: quoted unless it is a plain word, without characters that would end it.
fn param(value: &str) -> String {
    let plain = value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'));
    if plain { value.to_string() } else { format!("\"{}\"", value.replace(['"', '\r', '\n'], "")) }
}

/// Writes `line` folded: at most 75 octets per line, continuations start with a space,
/// and a UTF-8 character is never split.
fn write_folded(out: &mut impl Write, line: &str) -> io::Result<()> {
    let mut rest = line;
    let mut limit = LINE_OCTETS;
    loop {
        if rest.len() <= limit {
            out.write_all(rest.as_bytes())?;
            return out.write_all(b"\r\n");
        }
        let mut cut = limit;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        out.write_all(&rest.as_bytes()[..cut])?;
        out.write_all(b"\r\n ")?;
        rest = &rest[cut..];
        limit = LINE_OCTETS - 1;
    }
}

pub(crate) fn write_card(out: &mut impl Write, export: &ExportContact, version4: bool) -> io::Result<()> {
    let mut card = Card::new(export, version4);
    card.head(export);
    card.phones(&export.phones());
    let f = &export.fields;
    f.emails.iter().for_each(|e| card.email(e));
    f.addresses.iter().for_each(|a| card.address(a));
    f.urls.iter().for_each(|u| card.url(u));
    card.dates(&f.dates);
    f.ims.iter().for_each(|im| card.im(im));
    card.tail(export);
    card.lines.iter().try_for_each(|line| write_folded(out, line))
}

/// Properties only the writer makes, which a kept property must not pose as.
const MADE_HERE: [&str; 21] = [
    "BEGIN",
    "END",
    "VERSION",
    "PRODID",
    "REV",
    "UID",
    "KIND",
    "N",
    "ORG",
    "TITLE",
    "NICKNAME",
    "TEL",
    "EMAIL",
    "ADR",
    "URL",
    "BDAY",
    "NOTE",
    "X-ABSHOWAS",
    "MEMBER",
    "X-ADDRESSBOOKSERVER-KIND",
    "X-ADDRESSBOOKSERVER-MEMBER",
];

/// A kept vCard property that may be written back: `group.NAME;params`, with a name of
/// letters, digits and dashes that is not one of ours.
fn writable(name: &str) -> bool {
    let head = name.split(';').next().unwrap_or("");
    let (group, property) = head.rsplit_once('.').unwrap_or(("", head));
    let token = |t: &str| !t.is_empty() && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    (group.is_empty() || token(group)) && token(property) && !MADE_HERE.iter().any(|m| m.eq_ignore_ascii_case(property))
}

struct Card<'e> {
    version4: bool,
    lines: Vec<String>,
    /// The kept properties to write back, and the `itemN` groups they use.
    kept: Vec<(&'e str, &'e str)>,
    groups_taken: HashSet<String>,
    next_group: usize,
}

impl<'e> Card<'e> {
    fn new(export: &'e ExportContact, version4: bool) -> Self {
        let kept: Vec<(&str, &str)> = export
            .fields
            .extra
            .iter()
            .filter(|e| e.format == ExtraFormat::Vcard && writable(&e.name))
            .map(|e| (e.name.as_str(), e.value.as_str()))
            .collect();
        let groups_taken = kept
            .iter()
            .filter_map(|(name, _)| name.split(';').next()?.rsplit_once('.'))
            .map(|(g, _)| g.to_lowercase())
            .collect();
        Card { version4, lines: Vec::new(), kept, groups_taken, next_group: 0 }
    }

    fn push(&mut self, line: String) {
        self.lines.push(line);
    }

    /// `line` with its label in an `itemN` group when it has one.
    fn labelled(&mut self, label: &str, line: String) {
        if label.is_empty() {
            return self.push(line);
        }
        let group = loop {
            self.next_group += 1;
            let group = format!("item{}", self.next_group);
            if !self.groups_taken.contains(&group) {
                break group;
            }
        };
        self.push(format!("{group}.{line}"));
        self.push(format!("{group}.X-ABLabel:{}", escape(label)));
    }

    fn head(&mut self, export: &ExportContact) {
        let f = &export.fields;
        let group = f.kind == ContactKind::Group;
        // A person's card with no person's name shows its company, as before kinds (the
        // app stores such a contact as an organization: the two agree).
        let company_card = f.kind == ContactKind::Organization || (!group && f.names_a_company_only());
        self.push("BEGIN:VCARD".into());
        self.push(format!("VERSION:{}", if self.version4 { "4.0" } else { "3.0" }));
        match (self.version4, group, company_card) {
            (true, true, _) => self.push("KIND:group".into()),
            (true, false, true) => self.push("KIND:org".into()),
            _ => {}
        }
        self.push("PRODID:-//Switchboard//Contacts//EN".into());
        if present(&export.uid) {
            self.push(format!("UID:{}", escape(&export.uid)));
        }
        let kept_fn = self.kept.iter().position(|(name, _)| name.eq_ignore_ascii_case("FN"));
        let name = match kept_fn.map(|i| self.kept.remove(i)) {
            Some((_, value)) => value.to_string(),
            None => escape(&full_name(f, company_card)),
        };
        self.push(format!("FN:{name}"));
        if group {
            self.group_head(f, &name);
        } else {
            let n = &f.name;
            let parts = [&f.last_name, &f.first_name, &n.middle, &n.prefix, &n.suffix].map(|p| escape(p));
            self.push(format!("N:{}", parts.join(";")));
        }
        if company_card && !self.version4 {
            // Apple's marker for a company card; 4.0 says KIND:org instead.
            self.push("X-ABShowAs:COMPANY".into());
        }
        self.names(f);
    }

    /// A group has a name and members: 4.0 `MEMBER`s after `KIND:group`; in 3.0 Apple's
    /// `X-ADDRESSBOOKSERVER-KIND:group` and `-MEMBER`s, with the name as `N` as Apple
    /// writes it (3.0 wants an `N`; 4.0 does not).
    fn group_head(&mut self, f: &ContactFields, name: &str) {
        if !self.version4 {
            self.push(format!("N:{name};;;;"));
            self.push("X-ADDRESSBOOKSERVER-KIND:group".into());
        }
        let property = if self.version4 { "MEMBER" } else { "X-ADDRESSBOOKSERVER-MEMBER" };
        for member in &f.members {
            // Kept as the client wrote it (a URI is not escaped); one line whatever it holds.
            self.push(format!("{property}:{}", member.replace(['\r', '\n'], "")));
        }
    }

    fn names(&mut self, f: &ContactFields) {
        let singles = [
            ("NICKNAME", &f.name.nickname),
            ("X-PHONETIC-FIRST-NAME", &f.name.phonetic_first),
            ("X-PHONETIC-LAST-NAME", &f.name.phonetic_last),
        ];
        for (name, value) in singles.into_iter().filter(|(_, v)| present(v)) {
            self.push(format!("{name}:{}", escape(value)));
        }
        if present(&f.company) || present(&f.department) {
            let department = if present(&f.department) { format!(";{}", escape(&f.department)) } else { String::new() };
            self.push(format!("ORG:{}{department}", escape(&f.company)));
        }
        if present(&f.title) {
            self.push(format!("TITLE:{}", escape(&f.title)));
        }
    }

    fn phones(&mut self, phones: &[Phone]) {
        for phone in phones {
            let types = tel_types(phone.kind, self.version4);
            let line = if self.version4 {
                match v4_number(&phone.number) {
                    (uri, true) => format!("TEL;VALUE=uri;TYPE={types}:{uri}"),
                    (text, false) => format!("TEL;TYPE={types}:{}", escape(&text)),
                }
            } else {
                format!("TEL;TYPE={types}:{}", escape(&typed_text(&phone.number)))
            };
            self.labelled(&phone.label, line);
        }
    }

    fn email(&mut self, email: &Email) {
        let kind = place_type(email.kind);
        let types = if self.version4 { kind.to_string() } else { format!("INTERNET,{}", kind.to_uppercase()) };
        self.labelled(&email.label, format!("EMAIL;TYPE={types}:{}", escape(&email.address)));
    }

    fn address(&mut self, a: &Address) {
        let kind = place_type(a.kind);
        let kind = if self.version4 { kind.to_string() } else { kind.to_uppercase() };
        let parts = [&a.po_box, "", &a.street, &a.city, &a.region, &a.postal_code, &a.country].map(escape);
        self.labelled(&a.label, format!("ADR;TYPE={kind}:{}", parts.join(";")));
    }

    fn url(&mut self, url: &Labeled) {
        let types = if url.kind.is_empty() { String::new() } else { format!(";TYPE={}", param(&url.kind)) };
        self.labelled(&url.label, format!("URL{types}:{}", escape(&url.value)));
    }

    /// The first birthday is `BDAY`, a 4.0 anniversary `ANNIVERSARY`; other days are
    /// Apple's `X-ABDATE` with their label (Apple's own words for its kinds).
    fn dates(&mut self, dates: &[DateEntry]) {
        let mut birthday_written = false;
        let mut anniversary_written = false;
        for d in dates {
            let unlabelled = d.label.is_empty();
            if d.kind == DateKind::Birthday && unlabelled && !birthday_written {
                birthday_written = true;
                self.push(self.date_line("BDAY", &d.date));
            } else if d.kind == DateKind::Anniversary && unlabelled && self.version4 && !anniversary_written {
                anniversary_written = true;
                self.push(format!("ANNIVERSARY:{}", v4_date(&d.date)));
            } else {
                let label = if unlabelled { apple_date_word(d.kind).to_string() } else { d.label.clone() };
                let (omit_year, date) = v3_date(&d.date);
                self.labelled(&label, format!("X-ABDATE{omit_year}:{date}"));
            }
        }
    }

    fn date_line(&self, name: &str, date: &str) -> String {
        if self.version4 {
            return format!("{name}:{}", v4_date(date));
        }
        let (omit_year, date) = v3_date(date);
        format!("{name}{omit_year}:{date}")
    }

    /// `IMPP`, with Apple's `X-SERVICE-TYPE` when the handle's URI does not name its service.
    fn im(&mut self, im: &Labeled) {
        let mut line = "IMPP".to_string();
        if !im.kind.is_empty() && scheme(&im.value).is_none_or(|s| !s.eq_ignore_ascii_case(&im.kind)) {
            line.push_str(&format!(";X-SERVICE-TYPE={}", param(&im.kind)));
        }
        let place = ["home", "work", "other"].into_iter().find(|p| p.eq_ignore_ascii_case(&im.label));
        if let Some(place) = place {
            line.push_str(&format!(";TYPE={place}"));
        }
        line.push_str(&format!(":{}", escape(&im.value)));
        self.labelled(if place.is_some() { "" } else { &im.label }, line);
    }

    fn tail(&mut self, export: &ExportContact) {
        if present(&export.fields.notes) {
            self.push(format!("NOTE:{}", escape(&export.fields.notes)));
        }
        for (name, value) in std::mem::take(&mut self.kept) {
            // Kept values are already escaped; a line break must not end the line.
            self.push(format!("{name}:{}", value.replace("\r\n", "\\n").replace(['\r', '\n'], "\\n")));
        }
        if export.starred {
            // Google's group name for favorites; the reader maps it back.
            self.push("CATEGORIES:starred".into());
        }
        if let Some(photo) = &export.photo {
            self.photo(photo);
        }
        self.push("END:VCARD".into());
    }
}

impl Card<'_> {
    /// 3.0 `PHOTO;ENCODING=b;TYPE=JPEG:…`, 4.0 `PHOTO:data:image/jpeg;base64,…` (folded
    /// like any line).
    fn photo(&mut self, photo: &ExportPhoto) {
        let data = super::photo::encode(&photo.bytes);
        if self.version4 {
            self.push(format!("PHOTO:data:{};base64,{data}", photo.kind.media_type()));
        } else {
            self.push(format!("PHOTO;ENCODING=b;TYPE={}:{data}", photo.kind.vcard_name()));
        }
    }
}

/// The card's `FN`: a company card's company, else the person's (or group's) name, else
/// the company.
fn full_name(f: &ContactFields, company_card: bool) -> String {
    if company_card && present(&f.company) {
        return f.company.clone();
    }
    let n = &f.name;
    let name = display_name([&n.prefix, &f.first_name, &n.middle, &f.last_name, &n.suffix]);
    if name.is_empty() { f.company.clone() } else { name }
}

fn tel_types(kind: PhoneKind, version4: bool) -> &'static str {
    match (kind, version4) {
        (PhoneKind::Work, false) => "WORK,VOICE",
        (PhoneKind::Mobile, false) => "CELL,VOICE",
        (PhoneKind::Home, false) => "HOME,VOICE",
        (PhoneKind::Main, false) => "MAIN",
        (PhoneKind::Fax, false) => "WORK,FAX",
        (PhoneKind::HomeFax, false) => "HOME,FAX",
        (PhoneKind::Pager, false) => "PAGER",
        (PhoneKind::Other, false) => "OTHER,VOICE",
        (PhoneKind::Work, true) => "work,voice",
        (PhoneKind::Mobile, true) => "cell,voice",
        (PhoneKind::Home, true) => "home,voice",
        (PhoneKind::Main, true) => "main",
        (PhoneKind::Fax, true) => "work,fax",
        (PhoneKind::HomeFax, true) => "home,fax",
        (PhoneKind::Pager, true) => "pager",
        (PhoneKind::Other, true) => "other,voice",
    }
}

fn place_type(kind: PlaceKind) -> &'static str {
    match kind {
        PlaceKind::Work => "work",
        PlaceKind::Home => "home",
        PlaceKind::Other => "other",
    }
}

fn apple_date_word(kind: DateKind) -> &'static str {
    match kind {
        DateKind::Birthday => "_$!<Birthday>!$_",
        DateKind::Anniversary => "_$!<Anniversary>!$_",
        DateKind::Other => "_$!<Other>!$_",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folded(line: &str) -> String {
        let mut out = Vec::new();
        write_folded(&mut out, line).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn folds_at_75_octets_without_splitting_characters() {
        let line = format!("NOTE:{}", "é".repeat(80));
        let text = folded(&line);
        for physical in text.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(physical.len() <= 75, "{} octets", physical.len());
        }
        let unfolded = text.trim_end_matches("\r\n").replace("\r\n ", "");
        assert_eq!(unfolded, line);
        assert_eq!(folded("FN:Ann"), "FN:Ann\r\n");
    }

    #[test]
    fn escapes() {
        assert_eq!(escape("a,b;c\\d\r\ne\rf\ng"), r"a\,b\;c\\d\ne\nf\ng");
        assert_eq!(param("skype"), "skype");
        assert_eq!(param("google talk;x"), "\"google talk;x\"");
    }

    #[test]
    fn kept_properties_cannot_pose_as_ours() {
        assert!(writable("X-SOCIALPROFILE;type=twitter") && writable("item5.X-ABLabel") && writable("FN"));
        for bad in ["END", "item1.END", "BEGIN;x=1", "TEL", "X FOO", "a.b.X-FOO", ""] {
            assert!(!writable(bad), "{bad}");
        }
    }
}
