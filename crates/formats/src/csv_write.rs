//! One CSV row per contact, for Outlook and Google: every field in its column, lists in
//! their columns or groups, the format's kept columns back where they came from, and
//! what has no column left as readable lines after the notes, so nothing is lost.

use switchboard_core::details::{Address, DateKind, ExtraFormat, Phone, PhoneKind, PlaceKind};

use crate::ExportContact;
use crate::builder::present;
use crate::guard::guard;
use crate::tables::{
    GOOGLE_GROUPS, GOOGLE_UID_LABEL, OUTLOOK_ADDRESSES, OUTLOOK_EMAILS, OUTLOOK_EXPORT_HEADER, OUTLOOK_PHONES,
    date_word, phone_word, place_word, url_word,
};
use crate::values::{outlook_date, typed_text};

/// The cells of one row, by column name.
struct Row<'h> {
    names: Vec<&'h str>,
    cells: Vec<String>,
    phone: Vec<bool>,
    /// Lines for what found no column.
    overflow: Vec<String>,
}

impl<'h> Row<'h> {
    fn new(names: Vec<&'h str>) -> Self {
        let len = names.len();
        Row { names, cells: vec![String::new(); len], phone: vec![false; len], overflow: Vec::new() }
    }

    fn index(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| *n == name)
    }

    /// Whether the header has the column and nothing is in it yet.
    fn free(&self, name: &str) -> bool {
        self.index(name).is_some_and(|i| self.cells[i].is_empty())
    }

    fn set(&mut self, name: &str, value: &str) {
        if let Some(i) = self.index(name) {
            self.cells[i] = value.to_string();
        }
    }

    fn set_phone(&mut self, name: &str, value: &str) {
        if let Some(i) = self.index(name) {
            self.cells[i] = value.to_string();
            self.phone[i] = true;
        }
    }

    fn overflow(&mut self, what: &str, value: &str) {
        self.overflow.push(format!("{what}: {}", value.replace(['\r', '\n'], " ")));
    }

    /// The file's kept columns of `format` go back to their columns, when free.
    fn kept(&mut self, export: &ExportContact, format: ExtraFormat) {
        for extra in export.fields.extra.iter().filter(|e| e.format == format) {
            if self.free(&extra.name) {
                self.set(&extra.name, &extra.value);
            }
        }
    }

    /// The guarded cells, with the notes and the lines that found no column in `notes`.
    fn finish(mut self, notes_column: &str, notes: &str, crlf: bool) -> Vec<String> {
        let mut lines: Vec<&str> = if present(notes) { vec![notes] } else { Vec::new() };
        lines.extend(self.overflow.iter().map(String::as_str));
        let mut text = lines.join("\n");
        if crlf {
            // Outlook writes Windows line breaks in notes; the readers turn them back into `\n`.
            text = text.replace("\r\n", "\n").replace('\n', "\r\n");
        }
        self.set(notes_column, &text);
        self.cells.iter().zip(&self.phone).map(|(cell, phone)| guard(cell, *phone).into_owned()).collect()
    }
}

fn names_of(fields: &switchboard_core::ContactFields) -> [(&str, &str); 7] {
    [
        ("First Name", &fields.first_name),
        ("Middle Name", &fields.name.middle),
        ("Last Name", &fields.last_name),
        ("Nickname", &fields.name.nickname),
        ("Company", &fields.company),
        ("Department", &fields.department),
        ("Job Title", &fields.title),
    ]
}

fn phone_overflow(row: &mut Row, phone: &Phone, text: &str) {
    let what = if phone.label.is_empty() { phone.kind.as_str().replace('_', " ") } else { phone.label.clone() };
    row.overflow(&format!("Phone ({what})"), text);
}

fn one_line(address: &Address) -> String {
    let parts: Vec<&str> =
        address.parts().into_iter().flat_map(str::lines).map(str::trim).filter(|p| present(p)).collect();
    parts.join(", ")
}

fn date_overflow(row: &mut Row, kind: DateKind, label: &str, date: &str) {
    row.overflow(&date_word(kind, label), date);
}

pub(crate) fn outlook_row(export: &ExportContact) -> Vec<String> {
    let f = &export.fields;
    let mut row = Row::new(OUTLOOK_EXPORT_HEADER.to_vec());
    for (column, value) in names_of(f) {
        row.set(column, value);
    }
    let singles = [
        ("Title", &f.name.prefix),
        ("Suffix", &f.name.suffix),
        ("Given Yomi", &f.name.phonetic_first),
        ("Surname Yomi", &f.name.phonetic_last),
        ("User 1", &export.uid),
    ];
    singles.into_iter().for_each(|(column, value)| row.set(column, value));
    outlook_phones(&mut row, &export.phones());
    for (i, email) in f.emails.iter().enumerate() {
        match OUTLOOK_EMAILS.get(i) {
            Some(column) => row.set(column, &email.address),
            None => row.overflow("Email", &email.address),
        }
    }
    outlook_addresses(&mut row, &f.addresses);
    outlook_dates(&mut row, export);
    for url in &f.urls {
        let own = if url.kind == "home" { "Personal Web Page" } else { "Web Page" };
        match [own, "Web Page", "Personal Web Page"].into_iter().find(|c| row.free(c)) {
            Some(column) => row.set(column, &url.value),
            None => row.overflow("Website", &url.value),
        }
    }
    for im in &f.ims {
        if row.free("IMAddress") { row.set("IMAddress", &im.value) } else { row.overflow("IM", &im.value) }
    }
    row.kept(export, ExtraFormat::Outlook);
    row.finish("Notes", &f.notes, true)
}

/// Each number goes to the column of its kind and label, else a free one of its kind.
fn outlook_phones(row: &mut Row, phones: &[Phone]) {
    for phone in phones {
        let text = typed_text(&phone.number);
        let exact = |(_, kind, label): &&(&str, PhoneKind, &str)| {
            *kind == phone.kind && label.eq_ignore_ascii_case(&phone.label)
        };
        let same_kind = |(_, kind, label): &&(&str, PhoneKind, &str)| *kind == phone.kind && label.is_empty();
        let column = OUTLOOK_PHONES.iter().filter(|(c, _, _)| row.free(c));
        match column.clone().find(exact).or_else(|| column.clone().find(same_kind)) {
            Some((column, _, _)) => row.set_phone(column, &text),
            None => phone_overflow(row, phone, &text),
        }
    }
}

/// Outlook has one business, home and other address: a second one of a kind goes to
/// "other" when that is free.
fn outlook_addresses(row: &mut Row, addresses: &[Address]) {
    let mut used = Vec::new();
    for address in addresses {
        let slot = [address.kind, PlaceKind::Other].into_iter().find(|k| !used.contains(k));
        let Some((kind, prefix)) = slot.and_then(|k| OUTLOOK_ADDRESSES.iter().find(|(place, _)| *place == k)) else {
            row.overflow("Address", &one_line(address));
            continue;
        };
        used.push(*kind);
        let mut lines = address.street.splitn(3, '\n');
        for suffix in ["Street", "Street 2", "Street 3"] {
            row.set(&format!("{prefix} {suffix}"), lines.next().unwrap_or(""));
        }
        let parts = [
            ("Address PO Box", &address.po_box),
            ("City", &address.city),
            ("State", &address.region),
            ("Postal Code", &address.postal_code),
            ("Country/Region", &address.country),
        ];
        for (suffix, value) in parts {
            row.set(&format!("{prefix} {suffix}"), value);
        }
    }
}

fn outlook_dates(row: &mut Row, export: &ExportContact) {
    for d in &export.fields.dates {
        let column = match d.kind {
            DateKind::Birthday if d.label.is_empty() => "Birthday",
            DateKind::Anniversary if d.label.is_empty() => "Anniversary",
            _ => "",
        };
        match outlook_date(&d.date).filter(|_| row.free(column)) {
            Some(date) => row.set(column, &date),
            None => date_overflow(row, d.kind, &d.label, &d.date),
        }
    }
}

/// The first Google group `group n` whose columns are all free.
fn free_group(row: &Row, group: &str) -> Option<usize> {
    let (_, count, parts) = GOOGLE_GROUPS.iter().find(|(name, _, _)| *name == group)?;
    (1..=*count).find(|n| parts.iter().all(|part| row.free(&format!("{group} {n} - {part}"))))
}

/// Fills `group n - part` for each given part; `false` when every group is taken.
fn set_group(row: &mut Row, group: &str, cells: &[(&str, &str)], phone: bool) -> bool {
    let Some(n) = free_group(row, group) else { return false };
    for (part, value) in cells {
        let column = format!("{group} {n} - {part}");
        if phone && *part == "Value" { row.set_phone(&column, value) } else { row.set(&column, value) }
    }
    true
}

pub(crate) fn google_row(export: &ExportContact, header: &[String]) -> Vec<String> {
    let f = &export.fields;
    let mut row = Row::new(header.iter().map(String::as_str).collect());
    for (column, value) in names_of(f) {
        let column = match column {
            "Company" => "Organization Name",
            "Department" => "Organization Department",
            "Job Title" => "Organization Title",
            other => other,
        };
        row.set(column, value);
    }
    let singles = [
        ("Name Prefix", &f.name.prefix),
        ("Name Suffix", &f.name.suffix),
        ("Phonetic First Name", &f.name.phonetic_first),
        ("Phonetic Last Name", &f.name.phonetic_last),
    ];
    singles.into_iter().for_each(|(column, value)| row.set(column, value));
    row.set("Labels", &google_labels(export));
    // Kept columns first: a kept relation or custom field keeps its group's number.
    row.kept(export, ExtraFormat::Google);
    google_lists(&mut row, export);
    if present(&export.uid) {
        set_group(&mut row, "Custom Field", &[("Label", GOOGLE_UID_LABEL), ("Value", &export.uid)], false);
    }
    row.finish("Notes", &f.notes, false)
}

/// `* myContacts`, the person's own labels, and `* starred` for a favorite.
fn google_labels(export: &ExportContact) -> String {
    let mut labels = vec!["* myContacts"];
    let own = export.fields.extra.iter().find(|e| e.format == ExtraFormat::Google && e.name == "Labels");
    labels.extend(own.map(|e| e.value.as_str()).filter(|v| present(v)));
    if export.starred {
        labels.push("* starred");
    }
    labels.join(" ::: ")
}

fn google_lists(row: &mut Row, export: &ExportContact) {
    let f = &export.fields;
    for phone in export.phones() {
        let text = typed_text(&phone.number);
        let label = phone_word(phone.kind, &phone.label);
        if !set_group(row, "Phone", &[("Label", &label), ("Value", &text)], true) {
            phone_overflow(row, &phone, &text);
        }
    }
    for email in &f.emails {
        let label = place_word(email.kind, &email.label);
        if !set_group(row, "E-mail", &[("Label", &label), ("Value", &email.address)], false) {
            row.overflow("Email", &email.address);
        }
    }
    for address in &f.addresses {
        let label = place_word(address.kind, &address.label);
        if !set_group(row, "Address", &google_address(address, &label), false) {
            row.overflow("Address", &one_line(address));
        }
    }
    for url in &f.urls {
        if !set_group(row, "Website", &[("Label", &url_word(&url.kind, &url.label)), ("Value", &url.value)], false) {
            row.overflow("Website", &url.value);
        }
    }
    google_dates(row, export);
    for im in &f.ims {
        if !set_group(row, "IM", &[("Label", &im.label), ("Service", &im.kind), ("Value", &im.value)], false) {
            row.overflow("IM", &im.value);
        }
    }
}

fn google_address<'a>(a: &'a Address, label: &'a str) -> [(&'static str, &'a str); 7] {
    [
        ("Label", label),
        ("Street", &a.street),
        ("City", &a.city),
        ("PO Box", &a.po_box),
        ("Region", &a.region),
        ("Postal Code", &a.postal_code),
        ("Country", &a.country),
    ]
}

/// The first unlabelled birthday is Google's `Birthday`; other days are events.
fn google_dates(row: &mut Row, export: &ExportContact) {
    for d in &export.fields.dates {
        if d.kind == DateKind::Birthday && d.label.is_empty() && row.free("Birthday") {
            row.set("Birthday", &d.date);
        } else if !set_group(row, "Event", &[("Label", &date_word(d.kind, &d.label)), ("Value", &d.date)], false) {
            date_overflow(row, d.kind, &d.label, &d.date);
        }
    }
}
