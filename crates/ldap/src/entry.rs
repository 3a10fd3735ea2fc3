//! Directory entries as LDAP `inetOrgPerson` entries, and the attributes a client asked for.

use std::cell::OnceCell;

use ldap3_proto::proto::{LdapPartialAttribute, LdapSearchResultEntry};
use switchboard_core::contact::NumberKind;
use switchboard_core::model::DirectoryEntry;
use switchboard_core::phone::digits_of;
use switchboard_core::text::fold;

use crate::dn;

/// How an attribute's values are compared in filters and sorts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Matching {
    /// Case- and accent-insensitive text, and part of the app's search text, so a
    /// substring of it can be looked up in the index.
    IndexedText,
    /// Phone numbers: compared by their digits, as typed or in E.164; indexed.
    Number,
    /// Case-insensitive text the index does not hold.
    Text,
}

/// An attribute type this server knows: its name in answers, its aliases, how it matches.
pub struct AttributeType {
    pub name: &'static str,
    aliases: &'static [&'static str],
    pub matching: Matching,
}

const fn attribute(name: &'static str, aliases: &'static [&'static str], matching: Matching) -> AttributeType {
    AttributeType { name, aliases, matching }
}

pub const OBJECT_CLASS: &str = "objectClass";

const ATTRIBUTE_TYPES: &[AttributeType] = &[
    attribute(OBJECT_CLASS, &[], Matching::Text),
    attribute("uid", &["userid"], Matching::Text),
    attribute("ou", &["organizationalUnitName"], Matching::Text),
    attribute("cn", &["commonName", "displayName"], Matching::IndexedText),
    attribute("sn", &["surname"], Matching::IndexedText),
    attribute("givenName", &["gn"], Matching::IndexedText),
    attribute("o", &["organizationName"], Matching::IndexedText),
    attribute("mail", &["rfc822Mailbox"], Matching::IndexedText),
    attribute("title", &[], Matching::Text),
    attribute("telephoneNumber", &[], Matching::Number),
    attribute("mobile", &["mobileTelephoneNumber"], Matching::Number),
    attribute("homePhone", &["homeTelephoneNumber"], Matching::Number),
    attribute("facsimileTelephoneNumber", &["fax"], Matching::Number),
];

/// The attribute type a client's name (any case, alias or `name;option`) refers to.
pub fn attribute_type(name: &str) -> Option<&'static AttributeType> {
    let name = name.split(';').next().unwrap_or_default();
    ATTRIBUTE_TYPES
        .iter()
        .find(|t| t.name.eq_ignore_ascii_case(name) || t.aliases.iter().any(|a| a.eq_ignore_ascii_case(name)))
}

/// One attribute of an entry: the values sent, and the keys filters and sorts compare.
#[derive(Debug, Clone)]
pub struct Attribute {
    pub name: &'static str,
    pub values: Vec<String>,
    keys: OnceCell<Vec<String>>,
}

impl Attribute {
    /// Text to be compared folded.
    pub fn text(name: &'static str, values: Vec<String>) -> Attribute {
        Attribute { name, values, keys: OnceCell::new() }
    }

    /// What filters and sorts compare: the digits of each number as typed and in
    /// E.164, or the folded text — folded on first use, as most attributes of an
    /// entry are never compared.
    pub fn keys(&self) -> &[String] {
        self.keys.get_or_init(|| self.values.iter().map(|v| fold(v)).collect())
    }
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub dn: String,
    pub attributes: Vec<Attribute>,
}

impl Entry {
    pub fn get(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }

    fn push_text(&mut self, name: &'static str, values: Vec<String>) {
        let values: Vec<String> = values.into_iter().map(|v| v.trim().to_string()).filter(|v| !v.is_empty()).collect();
        if !values.is_empty() {
            self.attributes.push(Attribute::text(name, values));
        }
    }

    fn push_numbers(&mut self, name: &'static str, numbers: Vec<(String, Option<String>)>) {
        let (mut values, mut keys) = (Vec::new(), Vec::new());
        for (typed, e164) in numbers {
            keys.push(digits_of(&typed));
            keys.extend(e164.as_deref().map(digits_of));
            // Phones dial what they are given: E.164 where the number could be read.
            values.push(e164.unwrap_or(typed));
        }
        if !values.is_empty() {
            self.attributes.push(Attribute { name, values, keys: OnceCell::from(keys) });
        }
    }

    /// The attributes to send for a client's attribute list (RFC 4511 §4.5.1.8):
    /// none for `1.1`, every user attribute for an empty list or `*`.
    pub fn to_ldap(&self, requested: &[String], types_only: bool) -> LdapSearchResultEntry {
        let everything = requested.is_empty() || requested.iter().any(|r| r == "*");
        let wanted: Vec<&str> = requested.iter().filter_map(|r| attribute_type(r)).map(|t| t.name).collect();
        let attributes = self
            .attributes
            .iter()
            .filter(|a| everything || wanted.contains(&a.name))
            .map(|a| LdapPartialAttribute {
                atype: a.name.to_string(),
                vals: if types_only { Vec::new() } else { a.values.iter().map(|v| v.as_bytes().to_vec()).collect() },
            })
            .collect();
        LdapSearchResultEntry { dn: self.dn.clone(), attributes }
    }
}

/// The container every entry of a domain sits in.
pub fn container(domain: &str) -> Entry {
    let mut entry = Entry { dn: dn::contacts_dn(domain), attributes: Vec::new() };
    entry.push_text(OBJECT_CLASS, vec!["top".into(), "organizationalUnit".into()]);
    entry.push_text("ou", vec!["contacts".into()]);
    entry
}

/// A coworker, shared or personal contact as an `inetOrgPerson`.
pub fn person(domain: &str, source: &DirectoryEntry) -> Entry {
    person_in(&dn::contacts_dn(domain), source)
}

/// [`person`] under the domain's container DN, made once for many entries.
pub fn person_in(container: &str, source: &DirectoryEntry) -> Entry {
    let mut entry = Entry { dn: dn::entry_dn_in(container, source.id), attributes: Vec::new() };
    let names = [source.first_name.trim(), source.last_name.trim(), source.company.trim()];
    let full_name = names[..2].iter().filter(|n| !n.is_empty()).copied().collect::<Vec<_>>().join(" ");
    let common_name = [full_name.as_str(), names[2]].into_iter().find(|n| !n.is_empty()).unwrap_or("(no name)");
    // `sn` is required by the schema: the last name, else whichever name there is.
    let surname = [names[1], names[0], names[2]].into_iter().find(|n| !n.is_empty()).unwrap_or(common_name);
    let classes = ["top", "person", "organizationalPerson", "inetOrgPerson"];
    entry.push_text(OBJECT_CLASS, classes.iter().map(|c| c.to_string()).collect());
    entry.push_text("uid", vec![source.id.to_string()]);
    entry.push_text("cn", vec![common_name.to_string()]);
    entry.push_text("sn", vec![surname.to_string()]);
    entry.push_text("givenName", vec![source.first_name.clone()]);
    entry.push_text("o", vec![source.company.clone()]);
    entry.push_text("title", vec![source.title.clone()]);
    entry.push_text("mail", vec![source.email.clone()]);
    for (name, kinds) in [
        ("telephoneNumber", &[NumberKind::Work, NumberKind::Extension][..]),
        ("mobile", &[NumberKind::Mobile]),
        ("homePhone", &[NumberKind::Home]),
        ("facsimileTelephoneNumber", &[NumberKind::Fax]),
    ] {
        let numbers =
            source.numbers.iter().filter(|n| kinds.contains(&n.kind)).map(|n| (n.typed.clone(), n.e164.clone()));
        entry.push_numbers(name, numbers.collect());
    }
    entry
}

#[cfg(test)]
mod tests {
    use switchboard_core::model::{EntryKind, NumberView};
    use uuid::Uuid;

    use super::*;

    fn contact(first: &str, last: &str, company: &str) -> DirectoryEntry {
        DirectoryEntry {
            id: Uuid::now_v7(),
            kind: EntryKind::Shared,
            first_name: first.into(),
            last_name: last.into(),
            company: company.into(),
            title: "Buyer".into(),
            extension: None,
            numbers: vec![
                NumberView {
                    kind: NumberKind::Work,
                    typed: "(206) 555-0100".into(),
                    e164: Some("+12065550100".into()),
                },
                NumberView { kind: NumberKind::Fax, typed: "0044 20 7946 0000".into(), e164: None },
            ],
            email: "ann@example.com".into(),
            department: String::new(),
            site: String::new(),
            presence: None,
            favorite: false,
            editable: false,
        }
    }

    fn values(entry: &Entry, name: &str) -> Vec<String> {
        entry.get(name).map(|a| a.values.clone()).unwrap_or_default()
    }

    #[test]
    fn people_get_the_inet_org_person_attributes() {
        let entry = person("acme.example", &contact("Ann", "Élan", "Acme"));
        assert!(entry.dn.starts_with("uid=") && entry.dn.ends_with(",ou=contacts,dc=acme,dc=example"));
        assert_eq!(values(&entry, "cn"), ["Ann Élan"]);
        assert_eq!(values(&entry, "sn"), ["Élan"]);
        assert_eq!(entry.get("sn").unwrap().keys(), ["elan"]);
        assert_eq!(values(&entry, "telephoneNumber"), ["+12065550100"]);
        assert_eq!(entry.get("telephoneNumber").unwrap().keys(), ["2065550100", "12065550100"]);
        assert_eq!(values(&entry, "facsimileTelephoneNumber"), ["0044 20 7946 0000"]);
        assert_eq!(values(&entry, "title"), ["Buyer"]);
        assert_eq!(entry.get("title").unwrap().keys(), ["buyer"]);
        assert!(entry.get("mobile").is_none());
    }

    #[test]
    fn the_surname_falls_back_to_another_name() {
        assert_eq!(values(&person("a.example", &contact("Ann", "", "Acme")), "sn"), ["Ann"]);
        let company = person("a.example", &contact("", "", "Acme"));
        assert_eq!(values(&company, "sn"), ["Acme"]);
        assert_eq!(values(&company, "cn"), ["Acme"]);
    }

    #[test]
    fn attribute_lists_are_honoured() {
        let entry = person("acme.example", &contact("Ann", "Lee", ""));
        let names = |requested: &[&str], types_only| {
            let requested: Vec<String> = requested.iter().map(|r| r.to_string()).collect();
            let ldap = entry.to_ldap(&requested, types_only);
            ldap.attributes.iter().map(|a| (a.atype.clone(), a.vals.len())).collect::<Vec<_>>()
        };
        assert_eq!(names(&["1.1"], false), []);
        assert_eq!(names(&["CN", "surname", "nonsense"], false), [("cn".into(), 1), ("sn".into(), 1)]);
        assert_eq!(names(&["mail"], true), [("mail".to_string(), 0)]);
        assert_eq!(names(&[], false).len(), names(&["*"], false).len());
        assert!(names(&[], false).len() > 5);
    }
}
