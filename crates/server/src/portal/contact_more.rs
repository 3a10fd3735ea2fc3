//! The parts of the contact form beyond its single fields: more numbers and emails (rows
//! with a kind and a label), the first postal address and the birthday.
//!
//! The single number fields show the first number of exactly their kind; every other
//! number is a row. An edit replaces what the form showed and keeps what it did not (a
//! second address, an anniversary, properties kept from a file).

use switchboard_core::contact::{ContactFields, ContactInput};
use switchboard_core::details::{Address, DateEntry, DateKind, Email, PhoneInput, PhoneKind};

/// Empty rows offered for new numbers and emails.
const BLANK_PHONE_ROWS: usize = 2;
const BLANK_EMAIL_ROWS: usize = 1;

/// The kinds the single number fields stand for.
const SINGLE_KINDS: [PhoneKind; 4] = [PhoneKind::Work, PhoneKind::Mobile, PhoneKind::Home, PhoneKind::Fax];

#[derive(Debug, Default)]
pub(crate) struct MoreFields {
    phone_kinds: Vec<String>,
    phone_labels: Vec<String>,
    phone_numbers: Vec<String>,
    email_labels: Vec<String>,
    email_addresses: Vec<String>,
    address: Address,
    birthday: String,
}

impl MoreFields {
    /// Keeps one posted pair; names the form does not have are ignored.
    pub fn take(&mut self, name: &str, value: String) {
        let address = &mut self.address;
        match name {
            "more_phone_kind" => self.phone_kinds.push(value),
            "more_phone_label" => self.phone_labels.push(value),
            "more_phone_number" => self.phone_numbers.push(value),
            "more_email_label" => self.email_labels.push(value),
            "more_email_address" => self.email_addresses.push(value),
            "street" => address.street = value,
            "city" => address.city = value,
            "region" => address.region = value,
            "postal_code" => address.postal_code = value,
            "country" => address.country = value,
            "birthday" => self.birthday = value,
            _ => {}
        }
    }

    /// The filled rows of numbers.
    fn phone_rows(&self) -> Vec<PhoneInput> {
        let at = |list: &[String], i: usize| list.get(i).cloned().unwrap_or_default();
        (0..self.phone_numbers.len())
            .filter(|&i| !self.phone_numbers[i].trim().is_empty())
            .map(|i| PhoneInput {
                kind: PhoneKind::parse(&at(&self.phone_kinds, i)).unwrap_or(PhoneKind::Other),
                label: at(&self.phone_labels, i),
                number: at(&self.phone_numbers, i),
            })
            .collect()
    }

    fn email_rows(&self) -> Vec<Email> {
        let label = |i: usize| self.email_labels.get(i).cloned().unwrap_or_default();
        (0..self.email_addresses.len())
            .filter(|&i| !self.email_addresses[i].trim().is_empty())
            .map(|i| Email { label: label(i), address: self.email_addresses[i].clone(), ..Email::default() })
            .collect()
    }

    /// A new contact: its single fields first, then the rows.
    pub fn add_to(&self, input: &mut ContactInput) {
        input.phones = SINGLE_KINDS
            .into_iter()
            .zip(single_numbers(input))
            .filter(|(_, number)| !number.trim().is_empty())
            .map(|(kind, number)| PhoneInput { kind, label: String::new(), number })
            .chain(self.phone_rows())
            .collect();
        let first =
            (!input.email.trim().is_empty()).then(|| Email { address: input.email.clone(), ..Email::default() });
        input.emails = first.into_iter().chain(self.email_rows()).collect();
        input.addresses = self.address(None).into_iter().collect();
        input.dates = self.dates(&[]);
    }

    /// An edit's numbers and emails: those the single fields showed take their new values
    /// (keeping their labels and places), the rows replace every other.
    pub fn numbers_and_emails(&self, current: &ContactFields, single: &ContactInput) -> (Vec<PhoneInput>, Vec<Email>) {
        let typed = single_numbers(single);
        let mut shown = [false; 4];
        let mut phones = Vec::new();
        for phone in &current.phones {
            let Some(slot) = SINGLE_KINDS.iter().position(|kind| *kind == phone.kind) else { continue };
            if std::mem::replace(&mut shown[slot], true) {
                continue;
            }
            if !typed[slot].trim().is_empty() {
                phones.push(PhoneInput { kind: phone.kind, label: phone.label.clone(), number: typed[slot].clone() });
            }
        }
        for (slot, kind) in SINGLE_KINDS.into_iter().enumerate() {
            if !shown[slot] && !typed[slot].trim().is_empty() {
                phones.push(PhoneInput { kind, label: String::new(), number: typed[slot].clone() });
            }
        }
        phones.extend(self.phone_rows());
        let first = current.emails.first().cloned().unwrap_or_default();
        let first = (!single.email.trim().is_empty()).then(|| Email { address: single.email.clone(), ..first });
        let emails = first.into_iter().chain(self.email_rows()).collect();
        (phones, emails)
    }

    /// The form's address in place of the first one; the others stay.
    pub fn addresses(&self, current: &ContactFields) -> Vec<Address> {
        self.address(current.addresses.first()).into_iter().chain(current.addresses.iter().skip(1).cloned()).collect()
    }

    fn address(&self, first: Option<&Address>) -> Option<Address> {
        let base = first.cloned().unwrap_or_default();
        let given =
            Address { kind: base.kind, label: base.label.clone(), po_box: base.po_box.clone(), ..self.address.clone() };
        (!given.is_empty()).then_some(given)
    }

    /// The form's birthday in place of the first one; other dates stay.
    pub fn dates(&self, current: &[DateEntry]) -> Vec<DateEntry> {
        let birthday = (!self.birthday.trim().is_empty()).then(|| DateEntry {
            kind: DateKind::Birthday,
            label: String::new(),
            date: self.birthday.clone(),
        });
        let mut dates: Vec<DateEntry> = current.to_vec();
        match (dates.iter().position(|d| d.kind == DateKind::Birthday), birthday) {
            (Some(at), Some(new)) => dates[at] = DateEntry { label: dates[at].label.clone(), ..new },
            (Some(at), None) => {
                dates.remove(at);
            }
            (None, Some(new)) => dates.push(new),
            (None, None) => {}
        }
        dates
    }
}

fn single_numbers(input: &ContactInput) -> [String; 4] {
    [input.work_phone.clone(), input.mobile_phone.clone(), input.home_phone.clone(), input.fax.clone()]
}

/// One row of the "More numbers" part.
pub(crate) struct PhoneRow {
    pub kind: &'static str,
    pub label: String,
    pub number: String,
}

/// One row of the "More emails" part.
pub(crate) struct EmailRow {
    pub label: String,
    pub address: String,
}

/// What the form shows beyond the single fields, for a contact as input.
pub(crate) struct MoreView {
    pub phones: Vec<PhoneRow>,
    pub emails: Vec<EmailRow>,
    pub kinds: Vec<(&'static str, &'static str)>,
}

impl MoreView {
    pub fn of(input: &ContactInput) -> MoreView {
        let mut shown = [false; 4];
        let mut phones: Vec<PhoneRow> = input
            .phones
            .iter()
            .filter(|phone| {
                // The first number of a single field's kind is in that field.
                let slot = SINGLE_KINDS.iter().position(|kind| *kind == phone.kind);
                slot.is_none_or(|slot| std::mem::replace(&mut shown[slot], true))
            })
            .map(|phone| PhoneRow {
                kind: phone.kind.as_str(),
                label: phone.label.clone(),
                number: phone.number.clone(),
            })
            .collect();
        phones.extend((0..BLANK_PHONE_ROWS).map(|_| PhoneRow {
            kind: "other",
            label: String::new(),
            number: String::new(),
        }));
        let mut emails: Vec<EmailRow> = input
            .emails
            .iter()
            .skip(1)
            .map(|email| EmailRow { label: email.label.clone(), address: email.address.clone() })
            .collect();
        emails.extend((0..BLANK_EMAIL_ROWS).map(|_| EmailRow { label: String::new(), address: String::new() }));
        let kinds = PhoneKind::ALL.into_iter().map(|kind| (kind.as_str(), kind.word())).collect();
        MoreView { phones, emails, kinds }
    }
}

/// The first address's parts and the birthday, as the form's fields show them.
pub(crate) fn address_and_birthday(input: &ContactInput) -> [(&'static str, &'static str, String); 6] {
    let address = input.addresses.first().cloned().unwrap_or_default();
    let birthday =
        input.dates.iter().find(|d| d.kind == DateKind::Birthday).map(|d| d.date.clone()).unwrap_or_default();
    [
        ("street", "Street", address.street),
        ("city", "City", address.city),
        ("region", "State or region", address.region),
        ("postal_code", "Postal code", address.postal_code),
        ("country", "Country", address.country),
        ("birthday", "Birthday (YYYY-MM-DD)", birthday),
    ]
}

/// What the contact keeps that the form does not show, one line each, so that whoever
/// edits it knows it is there (and that saving the form keeps it).
pub(crate) fn kept_beyond_the_form(input: &ContactInput) -> Vec<String> {
    let named = [
        ("Name prefix", &input.name_prefix),
        ("Middle name", &input.middle_name),
        ("Name suffix", &input.name_suffix),
        ("Nickname", &input.nickname),
        ("Phonetic first name", &input.phonetic_first_name),
        ("Phonetic last name", &input.phonetic_last_name),
        ("Department", &input.department),
    ];
    let mut kept: Vec<String> =
        named.iter().filter(|(_, value)| !value.is_empty()).map(|(label, value)| format!("{label}: {value}")).collect();
    if let Some(po_box) = input.addresses.first().map(|a| &a.po_box).filter(|p| !p.is_empty()) {
        kept.push(format!("PO box: {po_box}"));
    }
    kept.extend(input.addresses.iter().skip(1).map(|a| {
        let parts: Vec<&str> = a.parts().into_iter().filter(|p| !p.is_empty()).collect();
        format!("Address: {}", parts.join(", ").replace('\n', ", "))
    }));
    let birthday = input.dates.iter().position(|d| d.kind == DateKind::Birthday);
    kept.extend(input.dates.iter().enumerate().filter(|(i, _)| Some(*i) != birthday).map(|(_, d)| {
        let label = match (d.label.as_str(), d.kind) {
            ("", DateKind::Birthday) => "Birthday",
            ("", DateKind::Anniversary) => "Anniversary",
            ("", DateKind::Other) => "Date",
            (label, _) => label,
        };
        format!("{label}: {}", d.date)
    }));
    kept.extend(input.urls.iter().map(|u| format!("Web: {}", u.value)));
    kept.extend(
        input.ims.iter().map(|im| format!("{}: {}", if im.kind.is_empty() { "Chat" } else { &im.kind }, im.value)),
    );
    match input.extra.len() {
        0 => {}
        1 => kept.push("1 property kept from a file".into()),
        n => kept.push(format!("{n} properties kept from files")),
    }
    kept
}

/// The form field an error of the app names (`addresses[0].city` → `city`).
pub(crate) fn form_field(field: &str) -> &str {
    if let Some(part) = field.strip_prefix("addresses[0].") {
        return part;
    }
    if field.starts_with("dates[") {
        return "birthday";
    }
    field
}
