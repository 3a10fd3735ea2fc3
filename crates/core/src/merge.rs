//! Merging contacts that are the same person into one that keeps everything.
//!
//! Lists (numbers, emails, addresses, web addresses, dates, handles, file properties) are
//! joined in order, the first contact's first, leaving out an entry already there (a
//! number by its E.164 form, an email or address case aside). A single value (a name, the
//! company…) that differs is a conflict: the value of the contact chosen for that field
//! wins (by default the first contact that has one), and every other value is written
//! into the notes, labelled with its field, so nothing is lost.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::contact::{ContactFields, ContactInput};
use crate::details::{ContactKind, PhoneInput};
use crate::text::fold;

/// One single-value field two or more contacts disagree on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MergeConflict {
    /// The field, as `ContactInput` names it (`first_name`…).
    pub field: String,
    /// Each distinct value with the first contact that has it, in the order given.
    pub choices: Vec<MergeChoice>,
    /// The contact whose value the merge keeps.
    pub chosen: Uuid,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MergeChoice {
    pub id: Uuid,
    pub value: String,
}

/// The single-value fields of a contact, with the label their other values get in the notes.
pub const SINGLE_FIELDS: [(&str, &str); 11] = [
    ("first_name", "First name"),
    ("last_name", "Last name"),
    ("company", "Company"),
    ("title", "Title"),
    ("department", "Department"),
    ("name_prefix", "Name prefix"),
    ("middle_name", "Middle name"),
    ("name_suffix", "Name suffix"),
    ("nickname", "Nickname"),
    ("phonetic_first_name", "Phonetic first name"),
    ("phonetic_last_name", "Phonetic last name"),
];

fn single_field<'a>(input: &'a mut ContactInput, field: &str) -> Option<&'a mut String> {
    Some(match field {
        "first_name" => &mut input.first_name,
        "last_name" => &mut input.last_name,
        "company" => &mut input.company,
        "title" => &mut input.title,
        "department" => &mut input.department,
        "name_prefix" => &mut input.name_prefix,
        "middle_name" => &mut input.middle_name,
        "name_suffix" => &mut input.name_suffix,
        "nickname" => &mut input.nickname,
        "phonetic_first_name" => &mut input.phonetic_first_name,
        "phonetic_last_name" => &mut input.phonetic_last_name,
        _ => return None,
    })
}

/// Whether `field` names a single-value field a merge can choose.
pub fn is_single_field(field: &str) -> bool {
    SINGLE_FIELDS.iter().any(|(name, _)| *name == field)
}

/// The merged contact of `contacts` (at least one, the survivor first) as input to
/// validate, and the conflicts; `keep` names, per single field, the contact whose value
/// wins (a field or id it does not know is ignored: the default applies).
pub fn merge(contacts: &[(Uuid, &ContactFields)], keep: &BTreeMap<String, Uuid>) -> (ContactInput, Vec<MergeConflict>) {
    let mut inputs: Vec<(Uuid, ContactInput)> =
        contacts.iter().map(|(id, fields)| (*id, plain_input(fields))).collect();
    let mut merged = inputs.first().map(|(_, input)| input.clone()).unwrap_or_default();
    let mut conflicts = Vec::new();
    let mut set_aside = Vec::new();
    for (field, label) in SINGLE_FIELDS {
        let choices = distinct_values(&mut inputs, field);
        let chosen = keep
            .get(field)
            .and_then(|id| choices.iter().find(|c| c.id == *id))
            .or(choices.first())
            .map(|c| (c.id, c.value.clone()));
        let (chosen_id, value) = chosen.unwrap_or((Uuid::nil(), String::new()));
        if let Some(slot) = single_field(&mut merged, field) {
            *slot = value.clone();
        }
        let others = choices.iter().filter(|c| c.value != value);
        set_aside.extend(others.map(|c| format!("{label} (merged): {}", c.value)));
        if choices.len() > 1 {
            conflicts.push(MergeConflict { field: field.to_string(), choices, chosen: chosen_id });
        }
    }
    let all: Vec<&ContactInput> = inputs.iter().map(|(_, input)| input).collect();
    merge_lists(&mut merged, &all);
    merged.phones = merged_phones(contacts);
    merged.notes = merged_notes(&all, &set_aside);
    (merged, conflicts)
}

/// The contact's input with only its lists (the single number and email fields left empty).
fn plain_input(fields: &ContactFields) -> ContactInput {
    ContactInput {
        work_phone: String::new(),
        mobile_phone: String::new(),
        home_phone: String::new(),
        fax: String::new(),
        email: String::new(),
        ..fields.to_input()
    }
}

/// The distinct non-empty values of a field (case and accents aside), each with the first contact that has it.
fn distinct_values(inputs: &mut [(Uuid, ContactInput)], field: &str) -> Vec<MergeChoice> {
    let mut seen = HashSet::new();
    let mut choices = Vec::new();
    for (id, input) in inputs.iter_mut() {
        let value = single_field(input, field).map(|v| v.trim().to_string()).unwrap_or_default();
        if !value.is_empty() && seen.insert(fold(&value)) {
            choices.push(MergeChoice { id: *id, value });
        }
    }
    choices
}

fn merge_lists(merged: &mut ContactInput, all: &[&ContactInput]) {
    merged.emails = joined(all, |i| &i.emails, |e| e.address.to_lowercase());
    merged.addresses = joined(all, |i| &i.addresses, |a| fold(&a.parts().join("\u{1}")));
    merged.urls = joined(all, |i| &i.urls, |u| u.value.to_lowercase());
    merged.dates = joined(all, |i| &i.dates, |d| format!("{:?}{}", d.kind, d.date));
    merged.ims = joined(all, |i| &i.ims, |m| format!("{}\u{1}{}", m.kind, m.value.to_lowercase()));
    merged.extra = joined(all, |i| &i.extra, |x| format!("{:?}\u{1}{}\u{1}{}", x.format, x.name, x.value));
    // The kept contact's kind decides: a group gathers every merged group's members once;
    // a person or company has none.
    merged.members = match merged.kind {
        ContactKind::Group => joined(all, |i| &i.members, String::clone),
        _ => Vec::new(),
    };
}

/// Every number once: two spellings of one E.164 number are the same number.
fn merged_phones(contacts: &[(Uuid, &ContactFields)]) -> Vec<PhoneInput> {
    let mut seen = HashSet::new();
    let phones = contacts.iter().flat_map(|(_, fields)| fields.phones.iter());
    phones
        .filter(|p| seen.insert(p.number.e164.clone().unwrap_or_else(|| p.number.match_digits())))
        .map(|p| PhoneInput { kind: p.kind, label: p.label.clone(), number: p.number.typed.clone() })
        .collect()
}

/// Every entry of one list over all contacts, in order, without repeating a key.
fn joined<T: Clone>(
    all: &[&ContactInput],
    list: impl Fn(&ContactInput) -> &Vec<T>,
    key: impl Fn(&T) -> String,
) -> Vec<T> {
    let mut seen = HashSet::new();
    all.iter().flat_map(|input| list(input).iter()).filter(|entry| seen.insert(key(entry))).cloned().collect()
}

/// Every contact's distinct notes, then the single values that lost, one per line.
fn merged_notes(all: &[&ContactInput], set_aside: &[String]) -> String {
    let mut seen = HashSet::new();
    let notes = all.iter().map(|input| input.notes.trim()).filter(|n| !n.is_empty() && seen.insert(*n));
    let mut parts: Vec<String> = notes.map(str::to_string).collect();
    if !set_aside.is_empty() {
        parts.push(set_aside.join("\n"));
    }
    parts.join("\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phone::Country;

    fn fields(input: ContactInput) -> ContactFields {
        ContactFields::parse(&input, Country::default()).unwrap()
    }

    #[test]
    fn merged_groups_gather_their_members_and_a_person_keeps_none() {
        let group = |members: &[&str]| {
            fields(ContactInput {
                first_name: "Team".into(),
                kind: ContactKind::Group,
                members: members.iter().map(|m| m.to_string()).collect(),
                ..Default::default()
            })
        };
        let (a, b) = (group(&["urn:uuid:1", "urn:uuid:2"]), group(&["urn:uuid:2", "urn:uuid:3"]));
        let (merged, _) = merge(&[(Uuid::nil(), &a), (Uuid::max(), &b)], &BTreeMap::new());
        assert_eq!(merged.members, ["urn:uuid:1", "urn:uuid:2", "urn:uuid:3"]);
        let person = fields(ContactInput { first_name: "Team".into(), ..Default::default() });
        let (merged, _) = merge(&[(Uuid::nil(), &person), (Uuid::max(), &a)], &BTreeMap::new());
        assert!(merged.members.is_empty() && merged.kind == ContactKind::Individual);
        assert!(ContactFields::parse(&merged, Country::default()).is_ok());
    }

    fn bob_and_robert() -> (ContactFields, ContactFields) {
        let bob = ContactInput {
            first_name: "Bob".into(),
            last_name: "Smith".into(),
            work_phone: "(206) 555-0100".into(),
            email: "bob@example.com".into(),
            ..Default::default()
        };
        let robert = ContactInput {
            first_name: "Robert".into(),
            last_name: "smith".into(),
            mobile_phone: "206 555 0101".into(),
            work_phone: "+1 206 555 0100".into(),
            email: "BOB@example.com".into(),
            company: "Acme".into(),
            notes: "Met at the fair".into(),
            ..Default::default()
        };
        (fields(bob), fields(robert))
    }

    #[test]
    fn a_merge_keeps_every_number_and_email_once_and_notes_the_values_that_lost() {
        let (bob, robert) = bob_and_robert();
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let (merged, conflicts) = merge(&[(a, &bob), (b, &robert)], &BTreeMap::new());
        let merged = ContactFields::parse(&merged, Country::default()).unwrap();
        let numbers: Vec<&str> = merged.phones.iter().map(|p| p.number.typed.as_str()).collect();
        assert_eq!(numbers, ["(206) 555-0100", "206 555 0101"], "the same number in another spelling is one");
        assert_eq!(merged.emails.len(), 1);
        assert_eq!((merged.first_name.as_str(), merged.last_name.as_str()), ("Bob", "Smith"));
        assert_eq!(merged.company, "Acme", "a value only one contact has is no conflict");
        assert_eq!(conflicts.len(), 1, "`smith` and `Smith` are the same name: {conflicts:?}");
        assert_eq!(conflicts[0].field, "first_name");
        assert_eq!(conflicts[0].chosen, a);
        assert_eq!(merged.notes, "Met at the fair\n\nFirst name (merged): Robert");
    }

    #[test]
    fn the_chosen_contact_gives_its_value() {
        let (bob, robert) = bob_and_robert();
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let keep = BTreeMap::from([("first_name".to_string(), b)]);
        let (merged, conflicts) = merge(&[(a, &bob), (b, &robert)], &keep);
        assert_eq!(merged.first_name, "Robert");
        assert_eq!(conflicts[0].chosen, b);
        assert!(merged.notes.ends_with("First name (merged): Bob"));
    }
}
