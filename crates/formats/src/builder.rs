//! Gathers what a record says and maps it onto the ten fields of a contact.
//!
//! Readers feed values in file order; the first number of each kind wins its field,
//! everything else that would be lost becomes a readable line in the notes.

use switchboard_core::ContactInput;

/// The contact field a number may fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot {
    Work,
    Mobile,
    Home,
    Fax,
}

/// How a number is filed: a slot it may fill (and how strongly), or only a notes line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PhoneKind {
    /// Fills the slot; the first of its kind wins.
    Is(Slot),
    /// Fills the slot only when no `Is` number does ("main", untyped numbers).
    Fallback(Slot),
    /// Never fills a slot: pager, "other", custom labels.
    Other,
}

struct Phone {
    kind: PhoneKind,
    label: String,
    value: String,
    preferred: bool,
}

/// Sections of the notes lines, in the order they are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Section {
    Name,
    Organization,
    Phone,
    Email,
    Address,
    Web,
    Other,
}

#[derive(Default)]
pub(crate) struct Builder {
    first: Vec<String>,
    last: String,
    company: String,
    title: String,
    notes: Vec<String>,
    phones: Vec<Phone>,
    emails: Vec<(Option<String>, String)>,
    extras: Vec<(Section, String)>,
    preferred_email_seen: bool,
    pub uid: Option<String>,
    pub starred: bool,
}

/// Whether a value says anything (blank cells are common in CSV).
pub(crate) fn present(value: &str) -> bool {
    !value.trim().is_empty()
}

fn set_once(field: &mut String, value: &str) -> bool {
    if present(value) && !present(field) {
        *field = value.to_string();
        return true;
    }
    false
}

impl Builder {
    /// Given names; a middle name comes as a second call and is joined with a space.
    pub fn first_name(&mut self, value: &str) {
        if present(value) {
            self.first.push(value.to_string());
        }
    }

    pub fn last_name(&mut self, value: &str) {
        set_once(&mut self.last, value);
    }

    /// A whole name (vCard `FN`, Google legacy `Name`), split at its last space into first
    /// and last name; used only when no first or last name was given and it is not just
    /// the company's name (company-only contacts repeat the company there).
    pub fn full_name(&mut self, value: &str) {
        let value = value.trim();
        if self.has_name() || value.is_empty() || value == self.company.trim() {
            return;
        }
        match value.rsplit_once(char::is_whitespace) {
            Some((first, last)) => {
                self.first_name(first.trim_end());
                self.last_name(last);
            }
            None => self.first_name(value),
        }
    }

    pub fn has_name(&self) -> bool {
        !self.first.is_empty() || present(&self.last)
    }

    pub fn company(&mut self, value: &str) {
        if !set_once(&mut self.company, value) && present(value) && value != self.company {
            self.extra(Section::Organization, "Company", value);
        }
    }

    pub fn company_name(&self) -> &str {
        &self.company
    }

    pub fn title(&mut self, value: &str) {
        if !set_once(&mut self.title, value) && present(value) && value != self.title {
            self.extra(Section::Organization, "Job title", value);
        }
    }

    pub fn phone(&mut self, kind: PhoneKind, label: &str, value: &str) {
        self.phone_with(kind, label, value, false);
    }

    /// A number marked preferred (vCard `type=pref`, `PREF=1`) wins its slot over file order.
    pub fn phone_with(&mut self, kind: PhoneKind, label: &str, value: &str, preferred: bool) {
        if present(value) {
            self.phones.push(Phone { kind, label: label.to_string(), value: value.to_string(), preferred });
        }
    }

    /// An email address; `label` (e.g. "home") shows in the notes line if it is not the first.
    pub fn email(&mut self, label: Option<&str>, value: &str) {
        if present(value) {
            let label = label.filter(|l| present(l)).map(|l| l.trim().to_lowercase());
            self.emails.push((label, value.to_string()));
        }
    }

    /// A preferred email address becomes the contact's email, whatever its place in the file.
    pub fn preferred_email(&mut self, label: Option<&str>, value: &str) {
        let before = self.emails.len();
        self.email(label, value);
        if self.emails.len() > before && !self.preferred_email_seen {
            self.preferred_email_seen = true;
            let email = self.emails.pop().expect("just pushed");
            self.emails.insert(0, email);
        }
    }

    /// The file's own notes; several are joined by a line break.
    pub fn note(&mut self, value: &str) {
        if present(value) {
            self.notes.push(value.to_string());
        }
    }

    /// A line `label: value` for the notes.
    pub fn extra(&mut self, section: Section, label: &str, value: &str) {
        if present(value) {
            let value = one_line(value);
            let line = if label.is_empty() { value } else { format!("{label}: {value}") };
            self.extras.push((section, line));
        }
    }

    pub fn uid(&mut self, value: &str) {
        if present(value) && self.uid.is_none() {
            self.uid = Some(value.to_string());
        }
    }

    /// Whether nothing at all was given (a blank CSV row).
    pub fn is_blank(&self) -> bool {
        self.first.is_empty()
            && !present(&self.last)
            && !present(&self.company)
            && !present(&self.title)
            && self.notes.is_empty()
            && self.phones.is_empty()
            && self.emails.is_empty()
            && self.extras.is_empty()
            && self.uid.is_none()
    }

    /// The contact, or why it cannot be one.
    pub fn finish(mut self) -> Result<ContactInput, String> {
        let mut contact = ContactInput {
            first_name: self.first.join(" "),
            last_name: std::mem::take(&mut self.last),
            company: std::mem::take(&mut self.company),
            title: std::mem::take(&mut self.title),
            ..ContactInput::default()
        };
        self.fill_phones(&mut contact);
        self.fill_emails(&mut contact);
        let useful =
            [&contact.first_name, &contact.last_name, &contact.company, &contact.email].iter().any(|v| present(v))
                || [&contact.work_phone, &contact.mobile_phone, &contact.home_phone, &contact.fax]
                    .iter()
                    .any(|v| present(v));
        if !useful {
            return Err("no name, company, number or email".into());
        }
        contact.notes = self.notes_text();
        Ok(contact)
    }

    fn fill_phones(&mut self, contact: &mut ContactInput) {
        let mut used = vec![false; self.phones.len()];
        for slot in [Slot::Work, Slot::Mobile, Slot::Home, Slot::Fax] {
            let is = |p: &Phone| p.kind == PhoneKind::Is(slot);
            let preferred = self.phones.iter().position(|p| is(p) && p.preferred);
            let strong = preferred.or_else(|| self.phones.iter().position(is));
            let chosen = strong.or_else(|| self.phones.iter().position(|p| p.kind == PhoneKind::Fallback(slot)));
            if let Some(index) = chosen {
                used[index] = true;
                *slot_field(contact, slot) = self.phones[index].value.clone();
            }
        }
        let rest: Vec<(String, String)> = self
            .phones
            .iter()
            .zip(used)
            .filter(|(_, used)| !used)
            .map(|(p, _)| (p.label.clone(), p.value.clone()))
            .collect();
        for (label, value) in rest {
            self.extra(Section::Phone, &label, &value);
        }
    }

    fn fill_emails(&mut self, contact: &mut ContactInput) {
        let mut emails = std::mem::take(&mut self.emails).into_iter();
        if let Some((_, first)) = emails.next() {
            contact.email = first;
        }
        for (label, value) in emails {
            let label = label.map(|l| format!("Email ({l})")).unwrap_or_else(|| "Email".into());
            self.extra(Section::Email, &label, &value);
        }
    }

    fn notes_text(&mut self) -> String {
        // Sections order the lines; within one, the file's order is kept (stable sort).
        self.extras.sort_by_key(|(section, _)| *section);
        let mut lines = std::mem::take(&mut self.notes);
        lines.extend(self.extras.drain(..).map(|(_, line)| line));
        lines.join("\n")
    }
}

fn slot_field(contact: &mut ContactInput, slot: Slot) -> &mut String {
    match slot {
        Slot::Work => &mut contact.work_phone,
        Slot::Mobile => &mut contact.mobile_phone,
        Slot::Home => &mut contact.home_phone,
        Slot::Fax => &mut contact.fax,
    }
}

/// Multi-line values (street addresses) become one readable line.
fn one_line(value: &str) -> String {
    let parts: Vec<&str> = value.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    parts.join(", ")
}

/// Line breaks as the app stores them: `\r\n` becomes `\n` (a lone `\r` is kept).
pub(crate) fn normalize_newlines(value: String) -> String {
    if value.contains("\r\n") { value.replace("\r\n", "\n") } else { value }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_number_of_a_kind_wins_and_the_rest_go_to_notes() {
        let mut b = Builder::default();
        b.first_name("Ann");
        b.phone(PhoneKind::Fallback(Slot::Work), "Main phone", "100");
        b.phone(PhoneKind::Is(Slot::Work), "Work phone", "200");
        b.phone(PhoneKind::Is(Slot::Work), "Work phone", "300");
        b.phone(PhoneKind::Other, "Pager", "400");
        b.email(Some("WORK"), "a@x.co");
        b.email(Some("home"), "b@x.co");
        b.note("hello");
        let c = b.finish().unwrap();
        assert_eq!(c.work_phone, "200");
        assert_eq!(c.email, "a@x.co");
        assert_eq!(c.notes, "hello\nMain phone: 100\nWork phone: 300\nPager: 400\nEmail (home): b@x.co");
    }

    #[test]
    fn preferred_numbers_and_emails_win() {
        let mut b = Builder::default();
        b.first_name("Ann");
        b.phone(PhoneKind::Is(Slot::Mobile), "Mobile phone", "1");
        b.phone_with(PhoneKind::Is(Slot::Mobile), "Mobile phone", "2", true);
        b.email(None, "a@x.co");
        b.preferred_email(None, "b@x.co");
        b.preferred_email(None, "c@x.co");
        let c = b.finish().unwrap();
        assert_eq!((c.mobile_phone.as_str(), c.email.as_str()), ("2", "b@x.co"));
        assert_eq!(c.notes, "Mobile phone: 1\nEmail: a@x.co\nEmail: c@x.co");
    }

    #[test]
    fn a_record_with_only_notes_is_rejected() {
        let mut b = Builder::default();
        b.note("just a note");
        assert_eq!(b.finish().unwrap_err(), "no name, company, number or email");
    }
}
