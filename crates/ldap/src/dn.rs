//! Distinguished names: the tree each domain's book lives in, and what a search base
//! points at.
//!
//! A domain `acme.example` publishes one container, `ou=contacts,dc=acme,dc=example`,
//! whose children are the entries of the bound reader's book:
//! `uid=<entry id>,ou=contacts,dc=acme,dc=example`.

use uuid::Uuid;

/// The container of a domain's entries.
pub fn contacts_dn(domain: &str) -> String {
    format!("ou=contacts,{}", suffix_dn(domain))
}

/// `dc=acme,dc=example` for `acme.example`.
fn suffix_dn(domain: &str) -> String {
    domain.split('.').map(|label| format!("dc={label}")).collect::<Vec<_>>().join(",")
}

/// An entry's DN under its domain's container DN.
pub fn entry_dn_in(container: &str, id: Uuid) -> String {
    format!("uid={id},{container}")
}

/// What a search base names, seen from a reader of `domain`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Base {
    /// The empty DN: the server's own description.
    RootDse,
    /// `dc=acme,dc=example`: the domain, whose one child is the container.
    Suffix,
    /// `ou=contacts,dc=acme,dc=example`.
    Container,
    /// `uid=<id>,ou=contacts,…`.
    Entry(Uuid),
    /// Anything else, another domain's names included: reported as absent.
    Unknown,
}

pub fn resolve(base: &str, domain: &str) -> Base {
    let Some(rdns) = parse(base) else { return Base::Unknown };
    if rdns.is_empty() {
        return Base::RootDse;
    }
    let suffix = parse(&suffix_dn(domain)).unwrap_or_default();
    let Some(below) = rdns.len().checked_sub(suffix.len()).filter(|_| rdns.ends_with(&suffix)) else {
        return Base::Unknown;
    };
    match &rdns[..below] {
        [] => Base::Suffix,
        [(ou, contacts)] if ou == "ou" && contacts == "contacts" => Base::Container,
        [(uid, id), (ou, contacts)] if uid == "uid" && ou == "ou" && contacts == "contacts" => {
            id.parse().map_or(Base::Unknown, Base::Entry)
        }
        _ => Base::Unknown,
    }
}

/// The domain a DN names (`acme.example` for `ou=contacts,dc=acme,dc=example`), for a
/// client that did not bind; whether it may read there is the app's decision.
pub fn domain_of(dn: &str) -> Option<String> {
    let rdns = parse(dn)?;
    let labels: Vec<&str> = rdns
        .iter()
        .skip_while(|(attribute, _)| attribute != "dc")
        .map(|(a, v)| (a == "dc").then_some(v.as_str()))
        .collect::<Option<_>>()?;
    (!labels.is_empty()).then(|| labels.join("."))
}

/// Splits a DN into lowercased `(attribute, value)` pairs, most specific first, with
/// the spaces around separators dropped and `\,`-style escapes undone. `None` when it
/// is not a DN.
fn parse(dn: &str) -> Option<Vec<(String, String)>> {
    let mut rdns = Vec::new();
    for rdn in split_unescaped(dn.trim(), ',')? {
        let (attribute, value) = rdn.split_once('=')?;
        let attribute = attribute.trim().to_ascii_lowercase();
        let value = unescape(value.trim())?.to_lowercase();
        if attribute.is_empty() || value.is_empty() {
            return None;
        }
        rdns.push((attribute, value));
    }
    Some(rdns)
}

/// Splits on `separator` where it is not escaped by a backslash.
fn split_unescaped(text: &str, separator: char) -> Option<Vec<&str>> {
    if text.is_empty() {
        return Some(Vec::new());
    }
    let mut parts = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (at, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            c if c == separator => {
                parts.push(&text[start..at]);
                start = at + 1;
            }
            _ => {}
        }
    }
    if escaped {
        return None;
    }
    parts.push(&text[start..]);
    Some(parts)
}

/// Undoes `\,` and `\2c` escapes (RFC 4514).
fn unescape(value: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(value.len());
    let mut rest = value.as_bytes();
    while let Some((&byte, tail)) = rest.split_first() {
        rest = tail;
        if byte != b'\\' {
            bytes.push(byte);
            continue;
        }
        let hex = rest.get(..2).and_then(|h| std::str::from_utf8(h).ok()).and_then(|h| u8::from_str_radix(h, 16).ok());
        match hex {
            Some(decoded) => {
                bytes.push(decoded);
                rest = &rest[2..];
            }
            None => {
                let (&escaped, tail) = rest.split_first()?;
                bytes.push(escaped);
                rest = tail;
            }
        }
    }
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bases_are_resolved_within_the_readers_domain_only() {
        let id = Uuid::now_v7();
        assert_eq!(resolve("", "acme.example"), Base::RootDse);
        assert_eq!(resolve("dc=acme,dc=example", "acme.example"), Base::Suffix);
        assert_eq!(resolve("OU=Contacts, DC=Acme, DC=Example", "acme.example"), Base::Container);
        assert_eq!(resolve(&entry_dn_in(&contacts_dn("acme.example"), id), "acme.example"), Base::Entry(id));
        assert_eq!(resolve("ou=contacts,dc=globex,dc=example", "acme.example"), Base::Unknown);
        assert_eq!(resolve("ou=contacts,dc=example", "acme.example"), Base::Unknown);
        assert_eq!(resolve("dc=sub,dc=acme,dc=example", "acme.example"), Base::Unknown);
        assert_eq!(resolve("uid=nope,ou=contacts,dc=acme,dc=example", "acme.example"), Base::Unknown);
        assert_eq!(resolve("not a dn", "acme.example"), Base::Unknown);
        assert_eq!(resolve("ou=con\\74acts,dc=acme,dc=example", "acme.example"), Base::Container);
        assert_eq!(resolve("ou=contacts\\", "acme.example"), Base::Unknown);
    }

    #[test]
    fn the_domain_of_a_base() {
        assert_eq!(domain_of("ou=contacts, dc=Acme,dc=example").as_deref(), Some("acme.example"));
        assert_eq!(domain_of("dc=acme,dc=example").as_deref(), Some("acme.example"));
        assert_eq!(domain_of("dc=acme,o=x,dc=example"), None);
        assert_eq!(domain_of("ou=contacts"), None);
        assert_eq!(domain_of(""), None);
    }
}
