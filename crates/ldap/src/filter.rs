//! Search filters: which index lookups can find every entry a filter may match, and
//! whether one entry matches.
//!
//! A filter is never run as a scan of the book. [`candidates`] derives search terms such
//! that every entry the filter can match contains one of them in its search text (the
//! app's indexed substring search); the candidates those terms find are then checked
//! against the whole filter with [`matches`]. Only a filter without any usable term
//! (`(objectClass=*)`) walks the book, and the caller bounds that walk.

use std::collections::BTreeSet;

use ldap3_proto::proto::{LdapFilter, LdapSubstringFilter};
use switchboard_core::phone::digits_of;
use switchboard_core::text::{MAX_QUERY_LEN, SearchTerm, fold};

use crate::entry::{Entry, Matching, attribute_type};

/// What must be read to find every entry a filter can match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Candidates {
    /// No entry can match.
    Nothing,
    /// Entries whose search text contains one of these terms.
    Terms(BTreeSet<String>),
    /// Any entry may match: the book must be walked.
    Everything,
}

impl Candidates {
    fn term(term: Option<String>) -> Candidates {
        term.map_or(Candidates::Everything, |t| Candidates::Terms(BTreeSet::from([t])))
    }

    /// How good a choice this is inside an AND: fewer lookups of longer terms first.
    fn selectivity(&self) -> (usize, std::cmp::Reverse<usize>) {
        match self {
            Candidates::Nothing => (usize::MAX, std::cmp::Reverse(0)),
            Candidates::Terms(terms) => {
                let shortest = terms.iter().map(|t| t.chars().count()).min().unwrap_or(0);
                (shortest, std::cmp::Reverse(terms.len()))
            }
            Candidates::Everything => (0, std::cmp::Reverse(0)),
        }
    }
}

/// How many items (assertions such as `(cn=*ann*)`, and the AND, OR and NOT around them)
/// a filter holds: what bounds the look-ups it expands to and the work of checking each
/// candidate against it. Counted without recursion.
pub fn size(filter: &LdapFilter) -> usize {
    let mut count = 0;
    let mut pending = vec![filter];
    while let Some(item) = pending.pop() {
        count += 1;
        match item {
            LdapFilter::And(parts) | LdapFilter::Or(parts) => pending.extend(parts),
            LdapFilter::Not(inner) => pending.push(inner),
            _ => {}
        }
    }
    count
}

pub fn candidates(filter: &LdapFilter) -> Candidates {
    match filter {
        LdapFilter::And(parts) => {
            let parts: Vec<Candidates> = parts.iter().map(candidates).collect();
            parts.into_iter().max_by_key(Candidates::selectivity).unwrap_or(Candidates::Everything)
        }
        LdapFilter::Or(parts) => parts.iter().map(candidates).fold(Candidates::Nothing, union),
        // What a NOT matches is everything its inner filter does not: no term helps.
        LdapFilter::Not(_) => Candidates::Everything,
        LdapFilter::Equality(name, value) | LdapFilter::Approx(name, value) => {
            match attribute_type(name).map(|t| t.matching) {
                Some(Matching::IndexedText) => Candidates::term(text_term(value)),
                Some(Matching::Number) => match digits_of(value) {
                    digits if digits.is_empty() => Candidates::Nothing,
                    digits => Candidates::term(Some(digits)),
                },
                Some(Matching::Text) => Candidates::Everything,
                None => Candidates::Nothing,
            }
        }
        LdapFilter::Substring(name, parts) => match attribute_type(name).map(|t| t.matching) {
            Some(Matching::IndexedText) => Candidates::term(longest(pieces(parts).filter_map(|p| text_term(p)))),
            Some(Matching::Number) => {
                Candidates::term(longest(pieces(parts).map(|p| digits_of(p)).filter(|d| !d.is_empty())))
            }
            Some(Matching::Text) => Candidates::Everything,
            None => Candidates::Nothing,
        },
        LdapFilter::Present(name) => match attribute_type(name) {
            Some(_) => Candidates::Everything,
            None => Candidates::Nothing,
        },
        // Ordering and extensible matches are not supported: they match nothing.
        LdapFilter::GreaterOrEqual(..) | LdapFilter::LessOrEqual(..) | LdapFilter::Extensible(_) => Candidates::Nothing,
    }
}

fn union(a: Candidates, b: Candidates) -> Candidates {
    match (a, b) {
        (Candidates::Everything, _) | (_, Candidates::Everything) => Candidates::Everything,
        (Candidates::Nothing, other) | (other, Candidates::Nothing) => other,
        (Candidates::Terms(mut a), Candidates::Terms(b)) => {
            a.extend(b);
            Candidates::Terms(a)
        }
    }
}

fn pieces(parts: &LdapSubstringFilter) -> impl Iterator<Item = &String> {
    parts.initial.iter().chain(&parts.any).chain(&parts.final_)
}

fn longest(terms: impl Iterator<Item = String>) -> Option<String> {
    terms.max_by_key(|t| t.chars().count())
}

/// The term the app's search will look for exactly as given: folded text, cut to the
/// longest query the app takes (any piece of a substring still finds the entry).
/// Text that the app would read as a phone number (`1-2`) is not looked up, as it
/// would be reduced to its digits.
fn text_term(value: &str) -> Option<String> {
    let folded: String = fold(value.trim()).chars().take(MAX_QUERY_LEN).collect();
    let folded = folded.trim().to_string();
    match SearchTerm::parse(&folded) {
        Ok(Some(term)) if term.as_str() == folded => Some(folded),
        _ => None,
    }
}

/// Whether `entry` matches `filter`. Attributes the server does not know, and
/// unsupported match kinds, are false (not "undefined"), so NOT of them is true.
pub fn matches(filter: &LdapFilter, entry: &Entry) -> bool {
    match filter {
        LdapFilter::And(parts) => parts.iter().all(|p| matches(p, entry)),
        LdapFilter::Or(parts) => parts.iter().any(|p| matches(p, entry)),
        LdapFilter::Not(inner) => !matches(inner, entry),
        LdapFilter::Equality(name, value) | LdapFilter::Approx(name, value) => {
            keys(entry, name).is_some_and(|(matching, keys)| {
                let wanted = normalize(matching, value);
                !wanted.is_empty() && keys.contains(&wanted)
            })
        }
        LdapFilter::Substring(name, parts) => keys(entry, name).is_some_and(|(matching, keys)| {
            let pattern = Pattern {
                initial: parts.initial.as_ref().map(|p| normalize(matching, p)).unwrap_or_default(),
                any: parts.any.iter().map(|p| normalize(matching, p)).collect(),
                last: parts.final_.as_ref().map(|p| normalize(matching, p)).unwrap_or_default(),
            };
            keys.iter().any(|k| pattern.matches(k))
        }),
        LdapFilter::Present(name) => keys(entry, name).is_some(),
        LdapFilter::GreaterOrEqual(..) | LdapFilter::LessOrEqual(..) | LdapFilter::Extensible(_) => false,
    }
}

fn keys<'e>(entry: &'e Entry, name: &str) -> Option<(Matching, &'e [String])> {
    let attribute_type = attribute_type(name)?;
    entry.get(attribute_type.name).map(|a| (attribute_type.matching, a.keys()))
}

fn normalize(matching: Matching, value: &str) -> String {
    match matching {
        Matching::Number => digits_of(value),
        Matching::IndexedText | Matching::Text => fold(value.trim()),
    }
}

/// `initial*any*…*last`: empty pieces match anything.
struct Pattern {
    initial: String,
    any: Vec<String>,
    last: String,
}

impl Pattern {
    fn matches(&self, value: &str) -> bool {
        let Some(mut rest) = value.strip_prefix(self.initial.as_str()) else { return false };
        for piece in &self.any {
            match rest.find(piece.as_str()) {
                Some(at) => rest = &rest[at + piece.len()..],
                None => return false,
            }
        }
        rest.len() >= self.last.len() && rest.ends_with(self.last.as_str())
    }
}

#[cfg(test)]
mod tests {
    use ldap3_proto::parse_ldap_filter_str;
    use switchboard_core::contact::NumberKind;
    use switchboard_core::model::{DirectoryEntry, EntryKind, NumberView};
    use uuid::Uuid;

    use super::*;
    use crate::entry::person;

    /// The test parser takes no spaces in values: `_` stands for one.
    fn filter(text: &str) -> LdapFilter {
        let parsed = parse_ldap_filter_str(text).unwrap_or_else(|e| panic!("{text}: {e:?}"));
        with_spaces(parsed)
    }

    fn with_spaces(filter: LdapFilter) -> LdapFilter {
        let spaced = |value: String| value.replace('_', " ");
        match filter {
            LdapFilter::And(parts) => LdapFilter::And(parts.into_iter().map(with_spaces).collect()),
            LdapFilter::Or(parts) => LdapFilter::Or(parts.into_iter().map(with_spaces).collect()),
            LdapFilter::Not(inner) => LdapFilter::Not(Box::new(with_spaces(*inner))),
            LdapFilter::Equality(name, value) => LdapFilter::Equality(name, spaced(value)),
            LdapFilter::Substring(name, parts) => LdapFilter::Substring(
                name,
                LdapSubstringFilter {
                    initial: parts.initial.map(spaced),
                    any: parts.any.into_iter().map(spaced).collect(),
                    final_: parts.final_.map(spaced),
                },
            ),
            other => other,
        }
    }

    fn terms(text: &str) -> Candidates {
        candidates(&filter(text))
    }

    fn set(terms: &[&str]) -> Candidates {
        Candidates::Terms(terms.iter().map(|t| t.to_string()).collect())
    }

    fn ann() -> Entry {
        let source = DirectoryEntry {
            id: Uuid::now_v7(),
            kind: EntryKind::Shared,
            first_name: "Ann".into(),
            last_name: "Zoë-Smith".into(),
            company: "Acme".into(),
            title: "Head of Sales".into(),
            extension: None,
            numbers: vec![NumberView {
                kind: NumberKind::Work,
                typed: "+1 206-555-0100".into(),
                e164: Some("+12065550100".into()),
            }],
            email: "ann@acme.example".into(),
            department: String::new(),
            site: String::new(),
            presence: None,
            favorite: false,
            editable: false,
        };
        person("acme.example", &source)
    }

    #[test]
    fn phone_filters_become_index_terms() {
        assert_eq!(terms("(|(cn=*ann*)(sn=*ann*))"), set(&["ann"]));
        assert_eq!(terms("(|(cn=*Smi*)(sn=smi*))"), set(&["smi"]));
        assert_eq!(
            terms("(|(telephoneNumber=*5550100*)(mobile=*555-0100*)(homePhone=*555*))"),
            set(&["5550100", "555"])
        );
        assert_eq!(terms("(cn=Ann_Zoë*)"), set(&["ann zoe"]));
        assert_eq!(terms("(&(objectClass=inetOrgPerson)(|(cn=*ann*)(mail=*acme*)))"), set(&["ann", "acme"]));
        assert_eq!(terms("(&(cn=*an*)(sn=*smith*))"), set(&["smith"]));
        assert_eq!(terms("(sn=*a*b*long_part*)"), set(&["long part"]));
    }

    #[test]
    fn a_filter_size_counts_every_item() {
        assert_eq!(size(&filter("(cn=*ann*)")), 1);
        assert_eq!(size(&filter("(&(objectClass=inetOrgPerson)(|(cn=*ann*)(sn=*ann*)))")), 5);
        assert_eq!(size(&filter("(!(!(cn=x)))")), 3);
        let wide = LdapFilter::Or((0..4000).map(|n| LdapFilter::Equality("cn".into(), format!("n{n}"))).collect());
        assert_eq!(size(&wide), 4001);
    }

    #[test]
    fn filters_without_a_term_walk_and_impossible_ones_read_nothing() {
        assert_eq!(terms("(objectClass=*)"), Candidates::Everything);
        assert_eq!(terms("(|(cn=*ann*)(objectClass=*))"), Candidates::Everything);
        assert_eq!(terms("(!(cn=*ann*))"), Candidates::Everything);
        assert_eq!(terms("(cn=*1-2*)"), Candidates::Everything);
        assert_eq!(terms("(title=boss)"), Candidates::Everything);
        assert_eq!(terms("(&(cn=*ann*)(title=*sales*))"), set(&["ann"]));
        assert_eq!(terms("(nonsense=x)"), Candidates::Nothing);
        assert_eq!(terms("(telephoneNumber=abc)"), Candidates::Nothing);
        assert_eq!(terms("(|(nonsense=x)(cn=ann))"), set(&["ann"]));
        assert_eq!(terms("(&(nonsense=x)(cn=ann))"), Candidates::Nothing);
    }

    #[test]
    fn every_entry_a_filter_matches_holds_its_term() {
        let entry = ann();
        let search_text = "ann zoe-smith\nzoe-smith ann\nacme\nann@acme.example\n12065550100 12065550100";
        for text in [
            "(|(cn=*ann*)(sn=*ann*))",
            "(|(telephoneNumber=*5550100*)(mobile=*5550100*))",
            "(sn=zoe*)",
            "(cn=ANN_ZOË-SMITH)",
            "(o~=acme)",
            "(&(objectClass=person)(mail=ann@*))",
            "(telephoneNumber=+1_206.555.0100)",
        ] {
            assert!(matches(&filter(text), &entry), "{text}");
            match terms(text) {
                Candidates::Terms(terms) => assert!(terms.iter().any(|t| search_text.contains(t.as_str())), "{text}"),
                other => panic!("{text}: {other:?}"),
            }
        }
    }

    #[test]
    fn filters_are_evaluated_on_the_whole_entry() {
        let entry = ann();
        for (text, expected) in [
            ("(objectClass=*)", true),
            ("(objectClass=inetOrgPerson)", true),
            ("(objectClass=organizationalUnit)", false),
            ("(mobile=*)", false),
            ("(!(mobile=*))", true),
            ("(sn=smith*)", false),
            ("(sn=*smith)", true),
            ("(cn=ann*smith)", true),
            ("(cn=ann*smith*ann)", false),
            ("(telephoneNumber=*0100)", true),
            ("(telephoneNumber=12065550100)", true),
            ("(telephoneNumber=+1-206-555-0100)", true),
            ("(telephoneNumber=5550100)", false),
            ("(telephoneNumber=*9999*)", false),
            ("(&(cn=*ann*)(!(o=acme)))", false),
            ("(title=HEAD_OF_SALES)", true),
            ("(title=*sales*)", true),
            ("(title=head*)", true),
            ("(title=*boss*)", false),
            ("(&(cn=*ann*)(title=*sales))", true),
            ("(nonsense=*)", false),
            ("(sn>=a)", false),
        ] {
            assert_eq!(matches(&filter(text), &entry), expected, "{text}");
        }
    }
}
