//! How a contact's fields are stored in the columns of `contacts`: compiled once, for both
//! back-ends, and for imports, which work the values out while they plan (see
//! [`PreparedContact`]).

use switchboard_core::PhoneNumber;
use switchboard_core::contact::{ContactDetails, ContactFields, NumberKind};
use switchboard_core::details::{Email, Phone, PhoneKind};

/// The values of a contact's columns, in [`CONTACT_VALUE_COLUMNS`] order, with their names.
pub(crate) type ContactValues = [(&'static str, Option<String>); 23];

/// A contact an import creates, with the values of its columns worked out when it is
/// made: an import plans its next batch while the last one is written, so this work is
/// done on the planner's core rather than while the database waits for it.
#[derive(Debug, Clone)]
pub struct PreparedContact {
    pub fields: ContactFields,
    pub(crate) values: ContactValues,
}

impl From<ContactFields> for PreparedContact {
    fn from(fields: ContactFields) -> PreparedContact {
        let values = contact_values(&fields);
        PreparedContact { fields, values }
    }
}

/// The columns a contact's fields are stored in, in the order of [`contact_values`].
pub(crate) const CONTACT_VALUE_COLUMNS: [&str; 23] = [
    "first_name",
    "last_name",
    "company",
    "title",
    "work_phone",
    "work_phone_e164",
    "mobile_phone",
    "mobile_phone_e164",
    "home_phone",
    "home_phone_e164",
    "fax",
    "fax_e164",
    "email",
    "notes",
    "duplicate_key",
    "sort_key",
    "search_text",
    "work_phone_key",
    "mobile_phone_key",
    "home_phone_key",
    "fax_key",
    "details",
    "kind",
];

/// The columns a contact's fields are stored in, with their values.
pub(crate) fn contact_values(fields: &ContactFields) -> ContactValues {
    let [work, mobile, home, fax] =
        [NumberKind::Work, NumberKind::Mobile, NumberKind::Home, NumberKind::Fax].map(|kind| fields.first_phone(kind));
    let typed = |number: Option<&PhoneNumber>| number.map(|n| n.typed.clone());
    let e164 = |number: Option<&PhoneNumber>| number.and_then(|n| n.e164.clone());
    let key = |number: Option<&PhoneNumber>| number.map(PhoneNumber::lookup_key);
    let values = [
        Some(fields.first_name.clone()),
        Some(fields.last_name.clone()),
        Some(fields.company.clone()),
        Some(fields.title.clone()),
        typed(work),
        e164(work),
        typed(mobile),
        e164(mobile),
        typed(home),
        e164(home),
        typed(fax),
        e164(fax),
        Some(fields.email().to_string()),
        Some(fields.notes.clone()),
        Some(fields.duplicate_key()),
        Some(fields.sort_key()),
        Some(fields.search_text()),
        key(work),
        key(mobile),
        key(home),
        key(fax),
        Some(details_json(fields)),
        Some(fields.kind.as_str().to_string()),
    ];
    let mut values = values.into_iter();
    CONTACT_VALUE_COLUMNS.map(|column| (column, values.next().flatten()))
}

/// The `details` column: `{}` when the columns say everything (see migration 0010), so
/// plain contacts cost nothing more to write or read.
fn details_json(fields: &ContactFields) -> String {
    let details = fields.details();
    let plain = ContactDetails {
        phones: phones_of_columns(
            &fields.numbers().into_iter().map(|(kind, n)| (kind, Some(column_number(n)))).collect::<Vec<_>>(),
        ),
        emails: emails_of_column(fields.email()),
        ..ContactDetails::default()
    };
    if details == plain { "{}".to_string() } else { serde_json::to_string(&details).unwrap_or_else(|_| "{}".into()) }
}

/// A number as its columns give it back: as typed and E.164, the extension read again
/// from the typed text.
fn column_number(number: &PhoneNumber) -> PhoneNumber {
    PhoneNumber::stored(number.typed.clone(), number.e164.clone())
}

/// The numbers of a contact that has no details: one per column, without labels.
pub(crate) fn phones_of_columns(numbers: &[(NumberKind, Option<PhoneNumber>)]) -> Vec<Phone> {
    let kind_of = |kind| match kind {
        NumberKind::Mobile => PhoneKind::Mobile,
        NumberKind::Home => PhoneKind::Home,
        NumberKind::Fax => PhoneKind::Fax,
        NumberKind::Work | NumberKind::Extension => PhoneKind::Work,
        NumberKind::Other => PhoneKind::Other,
    };
    numbers
        .iter()
        .filter_map(|(kind, number)| {
            number.clone().map(|number| Phone { kind: kind_of(*kind), label: String::new(), number })
        })
        .collect()
}

pub(crate) fn emails_of_column(email: &str) -> Vec<Email> {
    if email.is_empty() { Vec::new() } else { vec![Email { address: email.to_string(), ..Email::default() }] }
}
