//! Contact input, validated once into [`ContactFields`].

use serde::{Deserialize, Serialize};

use crate::details::{
    Address, ContactKind, DateEntry, Email, ExtraProperty, Labeled, MAX_ENTRIES, MAX_EXTRA_NAME_LEN,
    MAX_EXTRA_VALUE_LEN, MAX_LABEL_LEN, MAX_MEMBER_LEN, MAX_MEMBERS, MAX_VALUE_LEN, NameParts, Phone, PhoneInput,
    PhoneKind,
};
use crate::error::{Errors, FieldError, Invalid};
use crate::phone::{Country, ExtensionStyle, PhoneNumber};
use crate::text::fold;

/// A contact as a client sends it: every field optional, unknown fields refused.
///
/// Numbers and emails are lists (`phones`, `emails`). The single fields `work_phone`,
/// `mobile_phone`, `home_phone`, `fax` and `email` are a shorthand for the first entry
/// of their kind: when given, they replace that entry's number (or add one).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ContactInput {
    #[schema(max_length = 100, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub first_name: String,
    #[schema(max_length = 100, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub last_name: String,
    #[schema(max_length = 200, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub company: String,
    #[schema(max_length = 100, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub title: String,
    #[schema(max_length = 100, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub work_phone: String,
    #[schema(max_length = 100, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub mobile_phone: String,
    #[schema(max_length = 100, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub home_phone: String,
    #[schema(max_length = 100, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub fax: String,
    #[schema(
        max_length = 254,
        pattern = r"^([^@\s\u0000-\u001f\u007f-\u009f]+@[^@\s\u0000-\u001f\u007f-\u009f.][^@\s\u0000-\u001f\u007f-\u009f]*\.[^@\s\u0000-\u001f\u007f-\u009f]*[^@\s\u0000-\u001f\u007f-\u009f.])?$"
    )]
    pub email: String,
    #[schema(max_length = 4000, pattern = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$")]
    pub notes: String,
    #[schema(max_length = 100, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name_prefix: String,
    #[schema(max_length = 100, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    #[serde(skip_serializing_if = "String::is_empty")]
    pub middle_name: String,
    #[schema(max_length = 100, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name_suffix: String,
    #[schema(max_length = 100, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    #[serde(skip_serializing_if = "String::is_empty")]
    pub nickname: String,
    #[schema(max_length = 100, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    #[serde(skip_serializing_if = "String::is_empty")]
    pub phonetic_first_name: String,
    #[schema(max_length = 100, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    #[serde(skip_serializing_if = "String::is_empty")]
    pub phonetic_last_name: String,
    #[schema(max_length = 100, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    #[serde(skip_serializing_if = "String::is_empty")]
    pub department: String,
    /// Every number, in order; see the type's description for the single fields.
    #[schema(max_items = 50)]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub phones: Vec<PhoneInput>,
    #[schema(max_items = 50)]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub emails: Vec<Email>,
    #[schema(max_items = 50)]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<Address>,
    /// Web addresses; `kind` is `work`, `home`, `other` or a custom word.
    #[schema(max_items = 50)]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub urls: Vec<Labeled>,
    #[schema(max_items = 50)]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dates: Vec<DateEntry>,
    /// Messaging handles; `kind` is the service (`skype`, `xmpp`…).
    #[schema(max_items = 50)]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ims: Vec<Labeled>,
    /// Properties of a file that no field holds, written back to the same kind of file.
    #[schema(max_items = 50)]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extra: Vec<ExtraProperty>,
    /// A person (the default), a company, or a group of other contacts of the book.
    #[serde(skip_serializing_if = "is_default")]
    pub kind: ContactKind,
    /// A group's members, in order: the UIDs or URIs of other cards of its book
    /// (`urn:uuid:…`), kept as given (space around one aside). Only a group has members.
    #[schema(max_items = 1000)]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<String>,
}

/// A partial update: only the fields present change. A list given replaces the whole list.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactPatch {
    #[schema(max_length = 100, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub first_name: Option<String>,
    #[schema(max_length = 100, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub last_name: Option<String>,
    #[schema(max_length = 200, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub company: Option<String>,
    #[schema(max_length = 100, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub title: Option<String>,
    /// Replaces the first work number; empty removes it.
    #[schema(max_length = 100, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub work_phone: Option<String>,
    #[schema(max_length = 100, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub mobile_phone: Option<String>,
    #[schema(max_length = 100, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub home_phone: Option<String>,
    #[schema(max_length = 100, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub fax: Option<String>,
    /// Replaces the first email; empty removes it.
    #[schema(
        max_length = 254,
        pattern = r"^([^@\s\u0000-\u001f\u007f-\u009f]+@[^@\s\u0000-\u001f\u007f-\u009f.][^@\s\u0000-\u001f\u007f-\u009f]*\.[^@\s\u0000-\u001f\u007f-\u009f]*[^@\s\u0000-\u001f\u007f-\u009f.])?$"
    )]
    pub email: Option<String>,
    #[schema(max_length = 4000, pattern = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$")]
    pub notes: Option<String>,
    #[schema(max_length = 100, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub name_prefix: Option<String>,
    #[schema(max_length = 100, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub middle_name: Option<String>,
    #[schema(max_length = 100, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub name_suffix: Option<String>,
    #[schema(max_length = 100, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub nickname: Option<String>,
    #[schema(max_length = 100, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub phonetic_first_name: Option<String>,
    #[schema(max_length = 100, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub phonetic_last_name: Option<String>,
    #[schema(max_length = 100, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub department: Option<String>,
    #[schema(max_items = 50)]
    pub phones: Option<Vec<PhoneInput>>,
    #[schema(max_items = 50)]
    pub emails: Option<Vec<Email>>,
    #[schema(max_items = 50)]
    pub addresses: Option<Vec<Address>>,
    #[schema(max_items = 50)]
    pub urls: Option<Vec<Labeled>>,
    #[schema(max_items = 50)]
    pub dates: Option<Vec<DateEntry>>,
    #[schema(max_items = 50)]
    pub ims: Option<Vec<Labeled>>,
    #[schema(max_items = 50)]
    pub extra: Option<Vec<ExtraProperty>>,
    pub kind: Option<ContactKind>,
    /// Replaces the whole list of members.
    #[schema(max_items = 1000)]
    pub members: Option<Vec<String>>,
}

/// A whole form's worth of fields replaces every field.
impl From<ContactInput> for ContactPatch {
    fn from(input: ContactInput) -> ContactPatch {
        let phones = phones_with_shorthands(&input);
        let emails = emails_with_shorthand(&input);
        ContactPatch {
            first_name: Some(input.first_name),
            last_name: Some(input.last_name),
            company: Some(input.company),
            title: Some(input.title),
            work_phone: None,
            mobile_phone: None,
            home_phone: None,
            fax: None,
            email: None,
            notes: Some(input.notes),
            name_prefix: Some(input.name_prefix),
            middle_name: Some(input.middle_name),
            name_suffix: Some(input.name_suffix),
            nickname: Some(input.nickname),
            phonetic_first_name: Some(input.phonetic_first_name),
            phonetic_last_name: Some(input.phonetic_last_name),
            department: Some(input.department),
            phones: Some(phones),
            emails: Some(emails),
            addresses: Some(input.addresses),
            urls: Some(input.urls),
            dates: Some(input.dates),
            ims: Some(input.ims),
            extra: Some(input.extra),
            kind: Some(input.kind),
            members: Some(input.members),
        }
    }
}

/// The input's numbers with its single number fields applied (see [`ContactInput`]).
fn phones_with_shorthands(input: &ContactInput) -> Vec<PhoneInput> {
    let mut phones = input.phones.clone();
    for (kind, value) in input.phone_shorthands() {
        if !value.trim().is_empty() {
            set_first_phone(&mut phones, kind, value);
        }
    }
    phones
}

fn emails_with_shorthand(input: &ContactInput) -> Vec<Email> {
    let mut emails = input.emails.clone();
    if !input.email.trim().is_empty() {
        set_first_email(&mut emails, &input.email);
    }
    emails
}

/// Gives the first number of `kind` a new value, adds one when there is none, or removes
/// it when the value is empty.
fn set_first_phone(phones: &mut Vec<PhoneInput>, kind: PhoneKind, value: &str) {
    let position = phones.iter().position(|p| p.kind == kind);
    match (position, value.trim().is_empty()) {
        (Some(i), true) => {
            phones.remove(i);
        }
        (Some(i), false) => phones[i].number = value.to_string(),
        (None, true) => {}
        (None, false) => phones.push(PhoneInput { kind, label: String::new(), number: value.to_string() }),
    }
}

fn set_first_email(emails: &mut Vec<Email>, value: &str) {
    match (emails.is_empty(), value.trim().is_empty()) {
        (false, true) => {
            emails.remove(0);
        }
        (false, false) => emails[0].address = value.to_string(),
        (true, true) => {}
        (true, false) => emails.push(Email { address: value.to_string(), ..Email::default() }),
    }
}

impl ContactInput {
    fn phone_shorthands(&self) -> [(PhoneKind, &str); 4] {
        [
            (PhoneKind::Work, self.work_phone.as_str()),
            (PhoneKind::Mobile, self.mobile_phone.as_str()),
            (PhoneKind::Home, self.home_phone.as_str()),
            (PhoneKind::Fax, self.fax.as_str()),
        ]
    }
}

/// The kinds of number the directory lists, in the order phones list them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum NumberKind {
    Work,
    Mobile,
    Home,
    Fax,
    Extension,
    /// A pager or another number (caller-ID answers only).
    Other,
}

impl NumberKind {
    /// The kind in words, as phones and caller-ID label a number.
    pub fn word(self) -> &'static str {
        match self {
            NumberKind::Work => "Work",
            NumberKind::Mobile => "Mobile",
            NumberKind::Home => "Home",
            NumberKind::Fax => "Fax",
            NumberKind::Extension => "Extension",
            NumberKind::Other => "Other",
        }
    }
}

/// A valid contact. Strings are trimmed; empty means "not given".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactFields {
    pub first_name: String,
    pub last_name: String,
    pub company: String,
    pub title: String,
    pub department: String,
    pub name: NameParts,
    /// Every number in the order given; the first of each kind is the one phones list.
    pub phones: Vec<Phone>,
    /// Every email; the first is the contact's email in lists.
    pub emails: Vec<Email>,
    pub addresses: Vec<Address>,
    pub urls: Vec<Labeled>,
    pub dates: Vec<DateEntry>,
    pub ims: Vec<Labeled>,
    pub notes: String,
    pub extra: Vec<ExtraProperty>,
    pub kind: ContactKind,
    /// A group's members as given (see [`ContactInput::members`]); empty for anyone else.
    pub members: Vec<String>,
}

pub const MAX_NAME_LEN: usize = 100;
pub const MAX_COMPANY_LEN: usize = 200;
pub const MAX_EMAIL_LEN: usize = 254;
pub const MAX_NOTES_LEN: usize = 4000;
/// All of one contact's text together, in bytes: each list is bounded on its own
/// ([`crate::details::MAX_ENTRIES`]), but together they could make a contact of
/// hundreds of kilobytes that every export, sync and copy would carry.
pub const MAX_CONTACT_BYTES: usize = 64 * 1024;

/// Checks a one-line text field: length and no control characters.
pub fn single_line(value: &str, max: usize) -> Result<String, String> {
    let value = value.trim();
    if value.chars().count() > max {
        return Err(format!("at most {max} characters"));
    }
    if value.chars().any(char::is_control) {
        return Err("control characters (such as line breaks) are not allowed".into());
    }
    Ok(value.to_string())
}

/// Checks an email address's shape (`local@host.tld`); empty is allowed.
pub fn email(value: &str) -> Result<String, String> {
    let value = single_line(value, MAX_EMAIL_LEN)?;
    if value.is_empty() {
        return Ok(value);
    }
    let valid = value.split_once('@').is_some_and(|(local, host)| {
        !local.is_empty()
            && host.contains('.')
            && !host.starts_with('.')
            && !host.ends_with('.')
            && !value.contains(char::is_whitespace)
            && !host.contains('@')
    });
    if valid { Ok(value) } else { Err(format!("`{value}` is not an email address")) }
}

/// Checks a text that may have several lines (notes, a street).
fn multi_line(value: &str, max: usize) -> Result<String, String> {
    let value = value.trim();
    if value.chars().count() > max {
        return Err(format!("at most {max} characters"));
    }
    if value.chars().any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r') {
        return Err("control characters are not allowed".into());
    }
    Ok(value.to_string())
}

/// Reads one list of entries, naming a bad entry's field as `list[index].field`.
fn read_list<I, T>(
    errors: &mut Errors,
    list: &str,
    entries: &[I],
    read: impl Fn(&I) -> Result<Option<T>, (&'static str, String)>,
) -> Vec<T> {
    if entries.len() > MAX_ENTRIES {
        errors.push(list, format!("at most {MAX_ENTRIES} entries"));
        return Vec::new();
    }
    let mut kept = Vec::with_capacity(entries.len());
    for (index, entry) in entries.iter().enumerate() {
        match read(entry) {
            Ok(Some(value)) => kept.push(value),
            Ok(None) => {}
            Err((field, message)) => errors.push(&format!("{list}[{index}].{field}"), message),
        }
    }
    kept
}

fn label(value: &str) -> Result<String, (&'static str, String)> {
    single_line(value, MAX_LABEL_LEN).map_err(|m| ("label", m))
}

fn read_phone(entry: &PhoneInput, country: Country) -> Result<Option<Phone>, (&'static str, String)> {
    let label = label(&entry.label)?;
    let number = PhoneNumber::parse(&entry.number, country).map_err(|m| ("number", m))?;
    Ok(number.map(|number| Phone { kind: entry.kind, label, number }))
}

fn read_email(entry: &Email) -> Result<Option<Email>, (&'static str, String)> {
    let address = email(&entry.address).map_err(|m| ("address", m))?;
    let label = label(&entry.label)?;
    Ok((!address.is_empty()).then_some(Email { kind: entry.kind, label, address }))
}

fn read_address(entry: &Address) -> Result<Option<Address>, (&'static str, String)> {
    let line = |field: &'static str, value: &str| single_line(value, MAX_NAME_LEN).map_err(|m| (field, m));
    let address = Address {
        kind: entry.kind,
        label: label(&entry.label)?,
        po_box: line("po_box", &entry.po_box)?,
        street: multi_line(&entry.street, MAX_VALUE_LEN).map_err(|m| ("street", m))?,
        city: line("city", &entry.city)?,
        region: line("region", &entry.region)?,
        postal_code: line("postal_code", &entry.postal_code)?,
        country: line("country", &entry.country)?,
    };
    Ok((!address.is_empty()).then_some(address))
}

fn read_labeled(entry: &Labeled) -> Result<Option<Labeled>, (&'static str, String)> {
    let value = single_line(&entry.value, MAX_VALUE_LEN).map_err(|m| ("value", m))?;
    let kind = single_line(&entry.kind, MAX_LABEL_LEN).map_err(|m| ("kind", m))?;
    let label = label(&entry.label)?;
    Ok((!value.is_empty()).then_some(Labeled { kind, label, value }))
}

fn read_date(entry: &DateEntry) -> Result<Option<DateEntry>, (&'static str, String)> {
    if entry.date.trim().is_empty() {
        return Ok(None);
    }
    let date = crate::details::date(&entry.date).map_err(|m| ("date", m))?;
    Ok(Some(DateEntry { kind: entry.kind, label: label(&entry.label)?, date }))
}

/// A member reference: one line, kept as the client wrote it (space around it aside).
fn read_member(member: &str) -> Result<Option<String>, (&'static str, String)> {
    let member = member.trim();
    let fine = !member.is_empty() && member.len() <= MAX_MEMBER_LEN && !member.chars().any(char::is_control);
    match fine {
        true => Ok(Some(member.to_string())),
        false => Err(("member", format!("a member is a UID or URI of 1 to {MAX_MEMBER_LEN} bytes on one line"))),
    }
}

/// A group's members; anyone else has none.
fn read_members(errors: &mut Errors, kind: ContactKind, members: &[String]) -> Vec<String> {
    if kind != ContactKind::Group {
        if !members.is_empty() {
            errors.push("members", "only a group has members (`kind`: `group`)");
        }
        return Vec::new();
    }
    if members.len() > MAX_MEMBERS {
        errors.push("members", format!("a group has at most {MAX_MEMBERS} members"));
        return Vec::new();
    }
    let mut kept = Vec::with_capacity(members.len());
    for (index, member) in members.iter().enumerate() {
        match read_member(member) {
            Ok(member) => kept.extend(member),
            Err((_, message)) => errors.push(&format!("members[{index}]"), message),
        }
    }
    kept
}

fn read_extra(entry: &ExtraProperty) -> Result<Option<ExtraProperty>, (&'static str, String)> {
    let name = single_line(&entry.name, MAX_EXTRA_NAME_LEN).map_err(|m| ("name", m))?;
    if name.is_empty() {
        return Err(("name", "a property needs a name".into()));
    }
    let value = multi_line(&entry.value, MAX_EXTRA_VALUE_LEN).map_err(|m| ("value", m))?;
    Ok(Some(ExtraProperty { format: entry.format, name, value }))
}

impl ContactFields {
    /// Whether it names a company and no person (no first, middle or last name).
    pub fn names_a_company_only(&self) -> bool {
        let no_person = [&self.first_name, &self.name.middle, &self.last_name].iter().all(|n| n.trim().is_empty());
        no_person && !self.company.trim().is_empty()
    }

    /// Validates every field and reports all problems at once.
    pub fn parse(input: &ContactInput, country: Country) -> Result<ContactFields, Invalid> {
        let (fields, problems) = Self::read(input, country)?;
        if problems.is_empty() { Ok(fields) } else { Err(Invalid(problems)) }
    }

    /// Reads what can be read, as an import does: a field that is wrong is left out and
    /// reported, and only a contact left with nothing to keep (no name, company, number
    /// or email) is refused.
    pub fn read(input: &ContactInput, country: Country) -> Result<(ContactFields, Vec<FieldError>), Invalid> {
        let mut errors = Errors::default();
        let mut line =
            |field: &str, value: &str, max: usize| errors.take(field, single_line(value, max)).unwrap_or_default();
        let first_name = line("first_name", &input.first_name, MAX_NAME_LEN);
        let last_name = line("last_name", &input.last_name, MAX_NAME_LEN);
        let company = line("company", &input.company, MAX_COMPANY_LEN);
        let title = line("title", &input.title, MAX_NAME_LEN);
        let department = line("department", &input.department, MAX_NAME_LEN);
        let name = NameParts {
            prefix: line("name_prefix", &input.name_prefix, MAX_NAME_LEN),
            middle: line("middle_name", &input.middle_name, MAX_NAME_LEN),
            suffix: line("name_suffix", &input.name_suffix, MAX_NAME_LEN),
            nickname: line("nickname", &input.nickname, MAX_NAME_LEN),
            phonetic_first: line("phonetic_first_name", &input.phonetic_first_name, MAX_NAME_LEN),
            phonetic_last: line("phonetic_last_name", &input.phonetic_last_name, MAX_NAME_LEN),
        };
        let mut phones = read_list(&mut errors, "phones", &input.phones, |p| read_phone(p, country));
        for (kind, typed) in input.phone_shorthands() {
            let field = shorthand_field(kind);
            if let Some(Some(number)) = errors.take(field, PhoneNumber::parse(typed, country)) {
                match phones.iter_mut().find(|p| p.kind == kind) {
                    Some(first) => first.number = number,
                    None => phones.push(Phone { kind, label: String::new(), number }),
                }
            }
        }
        let mut emails = read_list(&mut errors, "emails", &input.emails, read_email);
        if let Some(address) = errors.take("email", email(&input.email)).filter(|a| !a.is_empty()) {
            match emails.first_mut() {
                Some(first) => first.address = address,
                None => emails.push(Email { address, ..Email::default() }),
            }
        }
        let mut fields = ContactFields {
            first_name,
            last_name,
            company,
            title,
            department,
            name,
            phones,
            emails,
            addresses: read_list(&mut errors, "addresses", &input.addresses, read_address),
            urls: read_list(&mut errors, "urls", &input.urls, read_labeled),
            dates: read_list(&mut errors, "dates", &input.dates, read_date),
            ims: read_list(&mut errors, "ims", &input.ims, read_labeled),
            notes: errors.take("notes", multi_line(&input.notes, MAX_NOTES_LEN)).unwrap_or_default(),
            extra: read_list(&mut errors, "extra", &input.extra, read_extra),
            kind: input.kind,
            members: read_members(&mut errors, input.kind, &input.members),
        };
        if fields.kind == ContactKind::Individual && fields.names_a_company_only() {
            // A company with no person's name is a company card however it came in, as
            // the vCard writer writes it: read back, it is the same contact.
            fields.kind = ContactKind::Organization;
        }
        let size = fields.text_bytes();
        if size > MAX_CONTACT_BYTES {
            let message = format!(
                "the contact's text comes to {} KB, more than the {} KB one contact may hold: keep fewer \
                 addresses, web addresses, handles or properties from the file",
                size.div_ceil(1024),
                MAX_CONTACT_BYTES / 1024
            );
            return Err(Invalid::field("contact", message));
        }
        let problems = errors.into_vec();
        if !fields.has_something_to_keep() {
            // Fields left out for their errors may be why nothing is left: those say more.
            if problems.is_empty() && fields.kind == ContactKind::Group {
                return Err(Invalid::field("first_name", "a group needs a name"));
            }
            if problems.is_empty() {
                return Err(Invalid::field("first_name", "give a name, a company, a number or an email"));
            }
            return Err(Invalid(problems));
        }
        Ok((fields, problems))
    }

    /// The bytes of all the contact's text: what bounds its size in the store and in
    /// memory, whatever mix of lists it has.
    fn text_bytes(&self) -> usize {
        let names = [&self.first_name, &self.last_name, &self.company, &self.title, &self.department, &self.notes];
        let name_parts = [
            &self.name.prefix,
            &self.name.middle,
            &self.name.suffix,
            &self.name.nickname,
            &self.name.phonetic_first,
            &self.name.phonetic_last,
        ];
        let phones = self.phones.iter().map(|p| p.label.len() + p.number.typed.len());
        let emails = self.emails.iter().map(|e| e.label.len() + e.address.len());
        let addresses = self.addresses.iter().map(|a| a.label.len() + a.parts().iter().map(|p| p.len()).sum::<usize>());
        let labeled = self.urls.iter().chain(&self.ims).map(|l| l.kind.len() + l.label.len() + l.value.len());
        let dates = self.dates.iter().map(|d| d.label.len() + d.date.len());
        let extra = self.extra.iter().map(|e| e.name.len() + e.value.len());
        let members = self.members.iter().map(String::len);
        names.iter().chain(&name_parts).map(|s| s.len()).sum::<usize>()
            + phones
                .chain(emails)
                .chain(addresses)
                .chain(labeled)
                .chain(dates)
                .chain(extra)
                .chain(members)
                .sum::<usize>()
    }

    fn has_something_to_keep(&self) -> bool {
        let named = [&self.first_name, &self.last_name, &self.company].iter().any(|s| !s.is_empty());
        // A group is its name and members: a number or an email names no group.
        if self.kind == ContactKind::Group {
            return named;
        }
        named
            // A note in a number's place (`ask reception`) is kept, but names nobody.
            || self.phones.iter().any(|phone| phone.number.has_number())
            || !self.emails.is_empty()
    }

    /// The fields back in input form, numbers as typed. The single fields repeat the first
    /// entry of exactly their kind, so reading the input back gives the same contact.
    pub fn to_input(&self) -> ContactInput {
        let first =
            |kind| self.phones.iter().find(|p| p.kind == kind).map(|p| p.number.typed.clone()).unwrap_or_default();
        ContactInput {
            work_phone: first(PhoneKind::Work),
            mobile_phone: first(PhoneKind::Mobile),
            home_phone: first(PhoneKind::Home),
            fax: first(PhoneKind::Fax),
            email: self.email().to_string(),
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            company: self.company.clone(),
            title: self.title.clone(),
            notes: self.notes.clone(),
            name_prefix: self.name.prefix.clone(),
            middle_name: self.name.middle.clone(),
            name_suffix: self.name.suffix.clone(),
            nickname: self.name.nickname.clone(),
            phonetic_first_name: self.name.phonetic_first.clone(),
            phonetic_last_name: self.name.phonetic_last.clone(),
            department: self.department.clone(),
            phones: self
                .phones
                .iter()
                .map(|p| PhoneInput { kind: p.kind, label: p.label.clone(), number: p.number.typed.clone() })
                .collect(),
            emails: self.emails.clone(),
            addresses: self.addresses.clone(),
            urls: self.urls.clone(),
            dates: self.dates.clone(),
            ims: self.ims.clone(),
            extra: self.extra.clone(),
            kind: self.kind,
            members: self.members.clone(),
        }
    }

    /// Applies a partial update and validates the result as a whole.
    pub fn patched(&self, patch: &ContactPatch, country: Country) -> Result<ContactFields, Invalid> {
        // The lists hold every number and email; a single field is set only by the patch.
        let mut input = ContactInput {
            work_phone: String::new(),
            mobile_phone: String::new(),
            home_phone: String::new(),
            fax: String::new(),
            email: String::new(),
            ..self.to_input()
        };
        let texts: [(&mut String, &Option<String>); 12] = [
            (&mut input.first_name, &patch.first_name),
            (&mut input.last_name, &patch.last_name),
            (&mut input.company, &patch.company),
            (&mut input.title, &patch.title),
            (&mut input.notes, &patch.notes),
            (&mut input.name_prefix, &patch.name_prefix),
            (&mut input.middle_name, &patch.middle_name),
            (&mut input.name_suffix, &patch.name_suffix),
            (&mut input.nickname, &patch.nickname),
            (&mut input.phonetic_first_name, &patch.phonetic_first_name),
            (&mut input.phonetic_last_name, &patch.phonetic_last_name),
            (&mut input.department, &patch.department),
        ];
        for (field, new_value) in texts {
            if let Some(value) = new_value {
                *field = value.clone();
            }
        }
        replace_if_given(&mut input.phones, &patch.phones);
        replace_if_given(&mut input.emails, &patch.emails);
        replace_if_given(&mut input.addresses, &patch.addresses);
        replace_if_given(&mut input.urls, &patch.urls);
        replace_if_given(&mut input.dates, &patch.dates);
        replace_if_given(&mut input.ims, &patch.ims);
        replace_if_given(&mut input.extra, &patch.extra);
        replace_if_given(&mut input.members, &patch.members);
        if let Some(kind) = patch.kind {
            input.kind = kind;
        }
        // A shorthand stays a shorthand, so its errors name the field the client sent.
        let shorthands = [
            (PhoneKind::Work, &patch.work_phone, &mut input.work_phone),
            (PhoneKind::Mobile, &patch.mobile_phone, &mut input.mobile_phone),
            (PhoneKind::Home, &patch.home_phone, &mut input.home_phone),
            (PhoneKind::Fax, &patch.fax, &mut input.fax),
        ];
        for (kind, value, field) in shorthands {
            match value.as_deref() {
                Some(v) if v.trim().is_empty() => set_first_phone(&mut input.phones, kind, ""),
                Some(v) => *field = v.to_string(),
                None => {}
            }
        }
        match patch.email.as_deref() {
            Some(v) if v.trim().is_empty() => set_first_email(&mut input.emails, ""),
            Some(v) => input.email = v.to_string(),
            None => {}
        }
        ContactFields::parse(&input, country)
    }

    /// The first number of a kind (`Main` stands in for a missing `Work`, a home fax for
    /// a missing fax): what phones and lists show in their four number columns.
    pub fn first_phone(&self, kind: NumberKind) -> Option<&PhoneNumber> {
        let (kind, stand_in) = match kind {
            NumberKind::Work => (PhoneKind::Work, Some(PhoneKind::Main)),
            NumberKind::Mobile => (PhoneKind::Mobile, None),
            NumberKind::Home => (PhoneKind::Home, None),
            NumberKind::Fax => (PhoneKind::Fax, Some(PhoneKind::HomeFax)),
            NumberKind::Extension | NumberKind::Other => return None,
        };
        let find = |kind| self.phones.iter().find(|p| p.kind == kind).map(|p| &p.number);
        find(kind).or_else(|| stand_in.and_then(find))
    }

    pub fn work_phone(&self) -> Option<&PhoneNumber> {
        self.first_phone(NumberKind::Work)
    }

    pub fn mobile_phone(&self) -> Option<&PhoneNumber> {
        self.first_phone(NumberKind::Mobile)
    }

    pub fn home_phone(&self) -> Option<&PhoneNumber> {
        self.first_phone(NumberKind::Home)
    }

    pub fn fax(&self) -> Option<&PhoneNumber> {
        self.first_phone(NumberKind::Fax)
    }

    /// The first email, or empty.
    pub fn email(&self) -> &str {
        self.emails.first().map_or("", |e| e.address.as_str())
    }

    /// The four numbers phones list, with their kinds, in phone order.
    pub fn numbers(&self) -> Vec<(NumberKind, &PhoneNumber)> {
        [NumberKind::Work, NumberKind::Mobile, NumberKind::Home, NumberKind::Fax]
            .into_iter()
            .filter_map(|kind| self.first_phone(kind).map(|n| (kind, n)))
            .collect()
    }

    /// The numbers beyond those [`numbers`](Self::numbers) lists, with their place in `phones`.
    pub fn more_phones(&self) -> impl Iterator<Item = (usize, &Phone)> {
        let listed: Vec<*const PhoneNumber> = self.numbers().into_iter().map(|(_, n)| n as *const _).collect();
        self.phones.iter().enumerate().filter(move |(_, p)| !listed.contains(&(&p.number as *const _)))
    }

    /// Takes back the typed spelling of `existing`'s numbers where this contact holds the
    /// same number (E.164 and extension) in the same place, in the spelling an export
    /// writes for it (`tel:+1-418-656-9254;ext=102` in vCard 4.0, `+1 418-656-9254 x102`
    /// for a number typed as a URI in CSV and vCard 3.0): re-importing an export of the
    /// book then finds every contact unchanged, and what people typed survives the round
    /// trip. Any other spelling is someone's edit, and is taken.
    pub fn keep_typed_spelling(&mut self, existing: &ContactFields) {
        for (phone, before) in self.phones.iter_mut().zip(&existing.phones) {
            let (now, was) = (&phone.number, &before.number);
            let same_number = now.e164.is_some() && now.e164 == was.e164 && now.extension == was.extension;
            let exported = [ExtensionStyle::Uri, ExtensionStyle::Text]
                .into_iter()
                .any(|style| was.with_extension(style).as_deref() == Some(now.typed.as_str()));
            if same_number && exported {
                phone.number.typed = was.typed.clone();
            }
        }
    }

    /// Two contacts with the same key are exact duplicates: same names, same numbers. A
    /// group's key is its own (names and members), so a group is never a person's duplicate.
    pub fn duplicate_key(&self) -> String {
        if self.kind == ContactKind::Group {
            let names = [&self.first_name, &self.last_name, &self.company].map(|n| fold(n));
            return format!("group\u{1}{}\u{1}{}", names.join("\u{1}"), self.members.join(","));
        }
        let mut numbers: Vec<String> =
            self.phones.iter().map(|p| p.number.e164.clone().unwrap_or_else(|| p.number.typed.clone())).collect();
        numbers.sort();
        format!(
            "{}\u{1}{}\u{1}{}\u{1}{}",
            fold(&self.first_name),
            fold(&self.last_name),
            fold(&self.company),
            numbers.join(",")
        )
    }

    /// What a search finds the contact by: its names, company, department, every email
    /// and the digits of every number.
    pub fn search_text(&self) -> String {
        let full_name = format!("{} {}", self.first_name, self.last_name);
        let reversed = format!("{} {}", self.last_name, self.first_name);
        let words = [full_name.trim(), reversed.trim(), &self.company, &self.department, &self.name.nickname];
        crate::text::search_text(
            words.into_iter().chain(self.emails.iter().map(|e| e.address.as_str())),
            self.phones.iter().map(|p| p.number.search_digits()),
        )
    }

    pub fn sort_key(&self) -> String {
        crate::text::name_sort_key(&self.first_name, &self.last_name, &self.company)
    }

    /// The details the store keeps beside the columns it indexes (one JSON document).
    pub fn details(&self) -> ContactDetails {
        ContactDetails {
            name: self.name.clone(),
            department: self.department.clone(),
            phones: self.phones.clone(),
            emails: self.emails.clone(),
            addresses: self.addresses.clone(),
            urls: self.urls.clone(),
            dates: self.dates.clone(),
            ims: self.ims.clone(),
            extra: self.extra.clone(),
            members: self.members.clone(),
        }
    }
}

fn shorthand_field(kind: PhoneKind) -> &'static str {
    match kind {
        PhoneKind::Mobile => "mobile_phone",
        PhoneKind::Home => "home_phone",
        PhoneKind::Fax => "fax",
        _ => "work_phone",
    }
}

fn replace_if_given<T: Clone>(list: &mut Vec<T>, given: &Option<Vec<T>>) {
    if let Some(new) = given {
        list.clone_from(new);
    }
}

/// What a contact keeps besides its names, company, title and notes, as the store writes
/// it. A contact written before these existed has none: its four numbers and email are
/// read from their columns.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContactDetails {
    #[serde(skip_serializing_if = "is_default")]
    pub name: NameParts,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub department: String,
    pub phones: Vec<Phone>,
    pub emails: Vec<Email>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<Address>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub urls: Vec<Labeled>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dates: Vec<DateEntry>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ims: Vec<Labeled>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extra: Vec<ExtraProperty>,
    /// A group's members (the kind itself is a column of its own).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<String>,
}

fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::details::ExtraFormat;

    fn input(first: &str, last: &str, company: &str) -> ContactInput {
        ContactInput { first_name: first.into(), last_name: last.into(), company: company.into(), ..Default::default() }
    }

    #[test]
    fn a_company_alone_is_a_name() {
        assert!(ContactFields::parse(&input("", "", "Acme"), Country::default()).is_ok());
        let err = ContactFields::parse(&input(" ", "", ""), Country::default()).unwrap_err();
        assert_eq!(err.0[0].field, "first_name");
    }

    #[test]
    fn a_group_is_a_name_and_its_members_as_given() {
        let members = vec!["urn:uuid:B".to_string(), "urn:uuid:a".to_string(), "  urn:uuid:c ".to_string()];
        let group = ContactInput { first_name: "Team".into(), kind: ContactKind::Group, members, ..Default::default() };
        let fields = ContactFields::parse(&group, Country::default()).unwrap();
        assert_eq!(fields.members, ["urn:uuid:B", "urn:uuid:a", "urn:uuid:c"], "in order, as written");
        assert_eq!(fields.to_input(), ContactInput { members: fields.members.clone(), ..group.clone() });

        // A number or an email names no group; members need a group.
        let nameless = ContactInput { first_name: String::new(), email: "team@acme.example".into(), ..group.clone() };
        let err = ContactFields::parse(&nameless, Country::default()).unwrap_err();
        assert_eq!((err.0[0].field.as_str(), err.0[0].message.as_str()), ("first_name", "a group needs a name"));
        let person = ContactInput { kind: ContactKind::Individual, ..group.clone() };
        let err = ContactFields::parse(&person, Country::default()).unwrap_err();
        assert_eq!(err.0[0].field, "members");
        let bad = ContactInput { members: vec!["ok".into(), "two\nlines".into(), " ".into()], ..group.clone() };
        let fields: Vec<String> =
            ContactFields::parse(&bad, Country::default()).unwrap_err().0.into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["members[1]", "members[2]"]);

        // A group is never a person's duplicate, nor the same group with other members.
        let team = ContactFields::parse(&group, Country::default()).unwrap();
        let person = ContactFields::parse(&input("Team", "", ""), Country::default()).unwrap();
        assert_ne!(team.duplicate_key(), person.duplicate_key());
        let fewer = ContactInput { members: vec!["urn:uuid:B".into()], ..group.clone() };
        assert_ne!(team.duplicate_key(), ContactFields::parse(&fewer, Country::default()).unwrap().duplicate_key());

        // A patch changes the kind and the members like any field.
        let patch = ContactPatch { members: Some(vec!["urn:uuid:z".into()]), ..Default::default() };
        assert_eq!(team.patched(&patch, Country::default()).unwrap().members, ["urn:uuid:z"]);
        let to_person =
            ContactPatch { kind: Some(ContactKind::Individual), members: Some(vec![]), ..Default::default() };
        assert_eq!(team.patched(&to_person, Country::default()).unwrap().kind, ContactKind::Individual);
    }

    #[test]
    fn a_contact_holds_at_most_64_kb_of_text() {
        let property = |i: usize, size: usize| ExtraProperty {
            format: ExtraFormat::Vcard,
            name: format!("X-NOTE-{i}"),
            value: "x".repeat(size),
        };
        let mut given = input("Ann", "Lee", "");
        given.extra = (0..16).map(|i| property(i, 3900)).collect();
        assert!(ContactFields::parse(&given, Country::default()).is_ok(), "62 KB fit");
        given.extra = (0..20).map(|i| property(i, 3900)).collect();
        let error = ContactFields::read(&given, Country::default()).unwrap_err();
        assert_eq!(error.0[0].field, "contact");
        assert!(error.0[0].message.starts_with("the contact's text comes to 77 KB"), "{}", error.0[0].message);
    }

    #[test]
    fn every_bad_field_is_reported() {
        let bad = ContactInput {
            first_name: "x".repeat(101),
            email: "not-an-email".into(),
            work_phone: "206\u{7}555".into(),
            ..input("", "Doe", "")
        };
        let err = ContactFields::parse(&bad, Country::default()).unwrap_err();
        let fields: Vec<&str> = err.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["first_name", "work_phone", "email"]);
    }

    #[test]
    fn patches_revalidate_the_whole_contact() {
        let contact = ContactFields::parse(&input("Ann", "Lee", ""), Country::default()).unwrap();
        let patch = ContactPatch { mobile_phone: Some("206 555 0100".into()), ..Default::default() };
        let patched = contact.patched(&patch, Country::default()).unwrap();
        assert_eq!(patched.mobile_phone().unwrap().e164.as_deref(), Some("+12065550100"));
        let clear_names =
            ContactPatch { first_name: Some(String::new()), last_name: Some(String::new()), ..Default::default() };
        assert!(contact.patched(&clear_names, Country::default()).is_err());
    }

    #[test]
    fn duplicate_keys_ignore_number_format_and_case() {
        let a = ContactInput { work_phone: "(206) 555-0100".into(), ..input("Ann", "Lee", "") };
        let b = ContactInput { work_phone: "+1 206 555 0100".into(), ..input("ann", "LEE", "") };
        let key = |i| ContactFields::parse(&i, Country::default()).unwrap().duplicate_key();
        assert_eq!(key(a), key(b));
    }

    fn phone(kind: PhoneKind, label: &str, number: &str) -> PhoneInput {
        PhoneInput { kind, label: label.into(), number: number.into() }
    }

    #[test]
    fn a_contact_keeps_every_number_and_the_first_of_a_kind_is_the_listed_one() {
        let given = ContactInput {
            phones: vec![
                phone(PhoneKind::Mobile, "", "206 555 0101"),
                phone(PhoneKind::Mobile, "Second", "206 555 0102"),
                phone(PhoneKind::Main, "", "206 555 0103"),
                phone(PhoneKind::Other, "Car", "206 555 0104"),
            ],
            ..input("Ann", "Lee", "")
        };
        let fields = ContactFields::parse(&given, Country::default()).unwrap();
        assert_eq!(fields.phones.len(), 4);
        assert_eq!(fields.mobile_phone().unwrap().typed, "206 555 0101");
        assert_eq!(fields.work_phone().unwrap().typed, "206 555 0103", "a main number stands in for work");
        let more: Vec<&str> = fields.more_phones().map(|(_, p)| p.number.typed.as_str()).collect();
        assert_eq!(more, ["206 555 0102", "206 555 0104"]);
        assert!(fields.search_text().contains("2065550104"), "every number is searchable");
        assert_eq!(ContactFields::parse(&fields.to_input(), Country::default()).unwrap(), fields);
    }

    #[test]
    fn single_fields_set_the_first_entry_of_their_kind() {
        let given = ContactInput {
            work_phone: "206 555 0199".into(),
            email: "new@example.com".into(),
            phones: vec![phone(PhoneKind::Work, "Desk", "206 555 0100"), phone(PhoneKind::Work, "", "206 555 0101")],
            emails: vec![Email { address: "old@example.com".into(), ..Email::default() }],
            ..input("Ann", "Lee", "")
        };
        let fields = ContactFields::parse(&given, Country::default()).unwrap();
        assert_eq!(fields.phones[0].number.typed, "206 555 0199");
        assert_eq!(fields.phones[0].label, "Desk", "the label stays");
        assert_eq!(fields.phones[1].number.typed, "206 555 0101");
        assert_eq!(fields.email(), "new@example.com");

        let remove_work =
            ContactPatch { work_phone: Some(String::new()), email: Some(String::new()), ..Default::default() };
        let patched = fields.patched(&remove_work, Country::default()).unwrap();
        assert_eq!(patched.phones.len(), 1);
        assert_eq!(patched.work_phone().unwrap().typed, "206 555 0101");
        assert_eq!(patched.email(), "");
    }

    #[test]
    fn errors_in_lists_name_the_entry() {
        let given = ContactInput {
            emails: vec![
                Email { address: "ok@example.com".into(), ..Email::default() },
                Email { address: "nope".into(), ..Email::default() },
            ],
            dates: vec![DateEntry { date: "1985-02-30".into(), ..DateEntry::default() }],
            ..input("Ann", "Lee", "")
        };
        let err = ContactFields::parse(&given, Country::default()).unwrap_err();
        let fields: Vec<&str> = err.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["emails[1].address", "dates[0].date"]);
    }

    #[test]
    fn an_import_keeps_what_it_can_and_refuses_only_what_has_nothing_to_keep() {
        let given = ContactInput { email: "not an email".into(), title: "x".repeat(101), ..input("Ann", "", "") };
        let (fields, warnings) = ContactFields::read(&given, Country::default()).unwrap();
        assert_eq!((fields.first_name.as_str(), fields.email(), fields.title.as_str()), ("Ann", "", ""));
        assert_eq!(warnings.iter().map(|w| w.field.as_str()).collect::<Vec<_>>(), ["title", "email"]);
        let only_a_number = ContactInput { mobile_phone: "206 555 0100".into(), ..ContactInput::default() };
        assert!(ContactFields::parse(&only_a_number, Country::default()).is_ok());
        let only_a_note = ContactInput { mobile_phone: "ask reception".into(), ..ContactInput::default() };
        assert!(ContactFields::read(&only_a_note, Country::default()).is_err(), "a note names nobody");
        let nothing = ContactInput { email: "broken".into(), title: "CEO".into(), ..ContactInput::default() };
        assert!(ContactFields::read(&nothing, Country::default()).is_err());
    }

    #[test]
    fn a_company_without_a_person_is_an_organization() {
        let parse = |input: ContactInput| ContactFields::parse(&input, Country::default()).unwrap().kind;
        let company = || ContactInput { company: "Acme".into(), ..ContactInput::default() };
        assert_eq!(parse(company()), ContactKind::Organization);
        assert_eq!(parse(ContactInput { first_name: "Ann".into(), ..company() }), ContactKind::Individual);
        assert_eq!(parse(ContactInput { middle_name: "Jo".into(), ..company() }), ContactKind::Individual);
        let number_only = ContactInput { work_phone: "+1 206 555 0100".into(), ..ContactInput::default() };
        assert_eq!(parse(number_only), ContactKind::Individual, "no company: not a company card either");
    }

    #[test]
    fn emails_are_checked() {
        assert!(email("a@b.co").is_ok());
        for bad in ["a@b", "@b.co", "a b@c.co", "a@b@c.co"] {
            assert!(email(bad).is_err(), "{bad}");
        }
    }
}
