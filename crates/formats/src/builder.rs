//! Gathers what a record says into a contact: every value in its list, the file's own
//! notes in `notes`, and what no field holds in `extra`.
//!
//! Readers feed values in the order the contact should list them. Each list keeps at most
//! [`MAX_ENTRIES`] entries (what the app accepts); labels are cut to what it accepts, and a
//! property too long to keep is left out, so that a lenient `ContactFields::read` keeps
//! every entry the reader gives it.

use switchboard_core::ContactInput;
use switchboard_core::details::{
    Address, DateEntry, DateKind, Email, ExtraFormat, ExtraProperty, Labeled, MAX_ENTRIES, MAX_EXTRA_NAME_LEN,
    MAX_EXTRA_VALUE_LEN, MAX_LABEL_LEN, PhoneInput, PhoneKind, PlaceKind,
};

/// A one-value field of the contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    Prefix,
    First,
    Middle,
    Last,
    Suffix,
    Nickname,
    PhoneticFirst,
    PhoneticLast,
    Company,
    Department,
    Title,
}

pub(crate) struct Builder {
    contact: ContactInput,
    notes: Vec<String>,
    /// Parallel to `contact.phones`: marked preferred in the file.
    preferred_phones: Vec<bool>,
    preferred_email: Option<usize>,
    full_name: String,
    format: ExtraFormat,
    pub uid: Option<String>,
    pub starred: bool,
}

/// Whether a value says anything (blank cells are common in CSV).
pub(crate) fn present(value: &str) -> bool {
    !value.trim().is_empty()
}

/// A label or kind as the app keeps it: one line, at most [`MAX_LABEL_LEN`] characters.
pub(crate) fn clean_label(label: &str) -> String {
    label.trim().chars().filter(|c| !c.is_control()).take(MAX_LABEL_LEN).collect::<String>().trim().to_string()
}

fn push<T>(list: &mut Vec<T>, value: T) -> bool {
    let room = list.len() < MAX_ENTRIES;
    if room {
        list.push(value);
    }
    room
}

impl Builder {
    /// `format`: the family the file's unmodelled properties are kept for.
    pub fn new(format: ExtraFormat) -> Builder {
        Builder {
            contact: ContactInput::default(),
            notes: Vec::new(),
            preferred_phones: Vec::new(),
            preferred_email: None,
            full_name: String::new(),
            format,
            uid: None,
            starred: false,
        }
    }

    fn field(&mut self, field: Field) -> &mut String {
        let c = &mut self.contact;
        match field {
            Field::Prefix => &mut c.name_prefix,
            Field::First => &mut c.first_name,
            Field::Middle => &mut c.middle_name,
            Field::Last => &mut c.last_name,
            Field::Suffix => &mut c.name_suffix,
            Field::Nickname => &mut c.nickname,
            Field::PhoneticFirst => &mut c.phonetic_first_name,
            Field::PhoneticLast => &mut c.phonetic_last_name,
            Field::Company => &mut c.company,
            Field::Department => &mut c.department,
            Field::Title => &mut c.title,
        }
    }

    /// Sets a field the first time it is given. `false` when it already held another
    /// value (the caller may keep the second one as an extra).
    pub fn set(&mut self, field: Field, value: &str) -> bool {
        let current = self.field(field);
        if !present(value) || current == value {
            return true;
        }
        if present(current) {
            return false;
        }
        *current = value.to_string();
        true
    }

    pub fn kind(&mut self, kind: switchboard_core::details::ContactKind) {
        self.contact.kind = kind;
    }

    /// A group's member, as written; past what a group may hold, the rest are left out.
    pub fn member(&mut self, member: &str) {
        let fits = member.len() <= switchboard_core::details::MAX_MEMBER_LEN && !member.chars().any(char::is_control);
        if present(member) && fits && self.contact.members.len() < switchboard_core::details::MAX_MEMBERS {
            self.contact.members.push(member.to_string());
        }
    }

    /// What was gathered so far.
    pub fn contact(&self) -> &ContactInput {
        &self.contact
    }

    pub fn has_name(&self) -> bool {
        [&self.contact.first_name, &self.contact.middle_name, &self.contact.last_name].iter().any(|n| present(n))
    }

    /// A whole name (vCard `FN`, Google legacy `Name`), split at its last space into first
    /// and last name when the record gives neither and it is not just the company's name.
    pub fn full_name(&mut self, value: &str) {
        if present(value) && !present(&self.full_name) {
            self.full_name = value.trim().to_string();
        }
    }

    /// A number marked `preferred` (vCard `type=pref`, Google's `* `) is listed first.
    pub fn phone(&mut self, kind: PhoneKind, label: &str, number: &str, preferred: bool) {
        let phone = PhoneInput { kind, label: clean_label(label), number: number.trim().to_string() };
        if present(number) && push(&mut self.contact.phones, phone) {
            self.preferred_phones.push(preferred);
        }
    }

    /// The first preferred email becomes the contact's email, wherever it is in the file.
    pub fn email(&mut self, kind: PlaceKind, label: &str, address: &str, preferred: bool) {
        let email = Email { kind, label: clean_label(label), address: address.trim().to_string() };
        if present(address) && push(&mut self.contact.emails, email) && preferred && self.preferred_email.is_none() {
            self.preferred_email = Some(self.contact.emails.len() - 1);
        }
    }

    pub fn address(&mut self, mut address: Address) {
        address.label = clean_label(&address.label);
        if !address.is_empty() {
            push(&mut self.contact.addresses, address);
        }
    }

    pub fn url(&mut self, kind: &str, label: &str, value: &str) {
        if present(value) {
            let url = Labeled { kind: clean_label(kind), label: clean_label(label), value: value.trim().to_string() };
            push(&mut self.contact.urls, url);
        }
    }

    /// A messaging handle; `service` is lowercased (`Skype` and `skype` are one service).
    pub fn im(&mut self, service: &str, label: &str, value: &str) {
        if present(value) {
            let kind = clean_label(&service.to_lowercase());
            push(&mut self.contact.ims, Labeled { kind, label: clean_label(label), value: value.trim().to_string() });
        }
    }

    /// A date, in the extended form (`1985-04-12`, `--04-12`) when it is one; anything
    /// else as given, for the app to report.
    pub fn date(&mut self, kind: DateKind, label: &str, date: &str) {
        if present(date) {
            let date = switchboard_core::details::date(date).unwrap_or_else(|_| date.trim().to_string());
            push(&mut self.contact.dates, DateEntry { kind, label: clean_label(label), date });
        }
    }

    /// A property or column no field holds, kept verbatim for the file's family. One too
    /// long to keep, or with characters the app refuses, is left out.
    pub fn extra(&mut self, name: &str, value: &str) {
        let name = name.trim();
        let fits = present(name)
            && present(value)
            && name.chars().count() <= MAX_EXTRA_NAME_LEN
            && value.chars().count() <= MAX_EXTRA_VALUE_LEN
            && !name.chars().any(char::is_control)
            && !value.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r'));
        if fits {
            let extra = ExtraProperty { format: self.format, name: name.to_string(), value: value.to_string() };
            push(&mut self.contact.extra, extra);
        }
    }

    /// Orders the kept properties by `rank` (file order among equals).
    pub fn sort_extra(&mut self, rank: impl Fn(&str) -> usize) {
        self.contact.extra.sort_by_key(|e| rank(&e.name));
    }

    /// The file's own notes; several are joined by a line break.
    pub fn note(&mut self, value: &str) {
        if present(value) {
            self.notes.push(value.to_string());
        }
    }

    pub fn uid(&mut self, value: &str) {
        if present(value) && self.uid.is_none() {
            self.uid = Some(value.to_string());
        }
    }

    /// Whether nothing at all was given (a blank CSV row; kept columns alone do not count).
    pub fn is_blank(&self) -> bool {
        let without_extra = ContactInput { extra: Vec::new(), ..self.contact.clone() };
        without_extra == ContactInput::default() && self.notes.is_empty() && self.uid.is_none() && !self.starred
    }

    /// The contact, or why it cannot be one.
    pub fn finish(mut self) -> Result<ContactInput, String> {
        self.name_from_full_name();
        self.preferred_first();
        let c = &mut self.contact;
        let useful = [&c.first_name, &c.middle_name, &c.last_name, &c.company].iter().any(|v| present(v))
            || !c.phones.is_empty()
            || !c.emails.is_empty();
        if !useful {
            return Err("no name, company, number or email".into());
        }
        c.notes = self.notes.join("\n");
        Ok(self.contact)
    }

    fn name_from_full_name(&mut self) {
        let full = std::mem::take(&mut self.full_name);
        if self.has_name() || !present(&full) || full == self.contact.company.trim() {
            return;
        }
        match full.rsplit_once(char::is_whitespace) {
            Some((first, last)) => {
                self.contact.first_name = first.trim_end().to_string();
                self.contact.last_name = last.to_string();
            }
            None => self.contact.first_name = full,
        }
    }

    /// Preferred numbers go before the others (in file order), the preferred email first.
    fn preferred_first(&mut self) {
        let phones = std::mem::take(&mut self.contact.phones);
        let mut marked: Vec<(bool, PhoneInput)> = self.preferred_phones.iter().copied().zip(phones).collect();
        marked.sort_by_key(|(preferred, _)| !preferred);
        self.contact.phones = marked.into_iter().map(|(_, p)| p).collect();
        if let Some(index) = self.preferred_email {
            let email = self.contact.emails.remove(index);
            self.contact.emails.insert(0, email);
        }
    }
}

/// Line breaks as the app stores them: `\r\n` becomes `\n` (a lone `\r` is kept).
pub(crate) fn normalize_newlines(value: String) -> String {
    if value.contains("\r\n") { value.replace("\r\n", "\n") } else { value }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(c: &ContactInput) -> Vec<(PhoneKind, &str)> {
        c.phones.iter().map(|p| (p.kind, p.number.as_str())).collect()
    }

    #[test]
    fn every_number_is_kept_and_preferred_ones_come_first() {
        let mut b = Builder::new(ExtraFormat::Vcard);
        b.set(Field::First, "Ann");
        b.phone(PhoneKind::Mobile, "", "1", false);
        b.phone(PhoneKind::Mobile, "", "2", true);
        b.phone(PhoneKind::Other, "Car", "3", false);
        b.email(PlaceKind::Home, "", "a@x.co", false);
        b.email(PlaceKind::Work, "", "b@x.co", true);
        b.note("hello");
        let c = b.finish().unwrap();
        assert_eq!(kinds(&c), [(PhoneKind::Mobile, "2"), (PhoneKind::Mobile, "1"), (PhoneKind::Other, "3")]);
        assert_eq!(c.phones[2].label, "Car");
        assert_eq!(c.emails.iter().map(|e| e.address.as_str()).collect::<Vec<_>>(), ["b@x.co", "a@x.co"]);
        assert_eq!(c.notes, "hello");
    }

    #[test]
    fn lists_and_labels_stay_within_what_the_app_keeps() {
        let mut b = Builder::new(ExtraFormat::Outlook);
        b.set(Field::First, "Ann");
        for i in 0..60 {
            b.phone(PhoneKind::Other, &"L".repeat(80), &i.to_string(), false);
            b.extra(&format!("X-{i}"), "v");
        }
        b.extra("X-LONG", &"v".repeat(MAX_EXTRA_VALUE_LEN + 1));
        let c = b.finish().unwrap();
        assert_eq!((c.phones.len(), c.extra.len()), (MAX_ENTRIES, MAX_ENTRIES));
        assert_eq!(c.phones[0].label.chars().count(), MAX_LABEL_LEN);
    }

    #[test]
    fn a_second_value_of_a_field_is_refused_and_a_full_name_splits() {
        let mut b = Builder::new(ExtraFormat::Vcard);
        assert!(b.set(Field::Title, "CEO"));
        assert!(!b.set(Field::Title, "CTO"));
        b.full_name("Ada King Lovelace");
        let c = b.finish().unwrap();
        assert_eq!((c.first_name.as_str(), c.last_name.as_str(), c.title.as_str()), ("Ada King", "Lovelace", "CEO"));
    }

    #[test]
    fn a_record_with_only_notes_is_rejected() {
        let mut b = Builder::new(ExtraFormat::Google);
        b.note("just a note");
        assert_eq!(b.finish().unwrap_err(), "no name, company, number or email");
    }
}
