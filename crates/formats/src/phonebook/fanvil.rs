//! Fanvil: `FanvilIPPhoneDirectory`, whose `DirectoryEntry` holds a `Name` and at most one
//! each of `Telephone`, `Mobile` and `Other`. Fanvil firmware does not read several
//! `Telephone` elements in one entry (as Yealink's does), so the numbers are sorted into
//! those three slots: the first mobile number is `Mobile`, the first other one (extension,
//! work, home, fax, in that order) `Telephone` and the next `Other`; anything more is left
//! out. An entry always has a `Telephone`: a contact with only mobile numbers gets its
//! first one there.

use std::io;

use quick_xml::Writer;
use switchboard_core::contact::NumberKind;

use super::text::{NAME_CHARS, cut_chars};
use super::{Book, BookEntry, DialNumber, text_element};

/// `<FanvilIPPhoneDirectory><DirectoryEntry><Name/><Telephone/><Mobile/><Other/>…`.
pub(super) fn directory(writer: &mut Writer<Vec<u8>>, book: &Book<'_>) -> io::Result<()> {
    writer.create_element("FanvilIPPhoneDirectory").write_inner_content(|writer| {
        for entry in book.entries {
            let Some(slots) = Slots::of(entry) else { continue };
            writer.create_element("DirectoryEntry").write_inner_content(|writer| {
                text_element(writer, "Name", &cut_chars(&entry.display_name(), NAME_CHARS))?;
                text_element(writer, "Telephone", &slots.telephone.dial)?;
                if let Some(mobile) = slots.mobile {
                    text_element(writer, "Mobile", &mobile.dial)?;
                }
                if let Some(other) = slots.other {
                    text_element(writer, "Other", &other.dial)?;
                }
                Ok(())
            })?;
        }
        Ok(())
    })?;
    Ok(())
}

/// The three numbers of an entry a Fanvil phone shows.
#[derive(Debug, PartialEq, Eq)]
struct Slots<'a> {
    telephone: &'a DialNumber,
    mobile: Option<&'a DialNumber>,
    other: Option<&'a DialNumber>,
}

impl<'a> Slots<'a> {
    /// `None` when the entry has nothing to dial.
    fn of(entry: &'a BookEntry) -> Option<Slots<'a>> {
        let mobile = entry.numbers.iter().find(|number| number.kind == NumberKind::Mobile);
        let mut rest = entry.numbers.iter().filter(|number| number.kind != NumberKind::Mobile);
        match rest.next() {
            Some(telephone) => Some(Slots { telephone, mobile, other: rest.next() }),
            None => mobile.map(|telephone| Slots { telephone, mobile: None, other: None }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(kind: NumberKind, dial: &str) -> DialNumber {
        DialNumber { kind, dial: dial.into(), extension: None }
    }

    fn dials(entry: &BookEntry) -> Option<(String, Option<String>, Option<String>)> {
        Slots::of(entry).map(|slots| {
            (slots.telephone.dial.clone(), slots.mobile.map(|n| n.dial.clone()), slots.other.map(|n| n.dial.clone()))
        })
    }

    #[test]
    fn numbers_go_to_their_slots() {
        let mut entry = BookEntry {
            numbers: vec![
                number(NumberKind::Extension, "204"),
                number(NumberKind::Work, "+1"),
                number(NumberKind::Mobile, "+2"),
                number(NumberKind::Mobile, "+3"),
                number(NumberKind::Home, "+4"),
            ],
            ..Default::default()
        };
        assert_eq!(dials(&entry), Some(("204".into(), Some("+2".into()), Some("+1".into()))));
        entry.numbers.retain(|n| n.kind == NumberKind::Mobile);
        assert_eq!(dials(&entry), Some(("+2".into(), None, None)), "a mobile-only contact still has a Telephone");
        entry.numbers.clear();
        assert_eq!(dials(&entry), None);
    }
}
