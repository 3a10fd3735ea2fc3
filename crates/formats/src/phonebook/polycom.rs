//! Polycom: `<directory><item_list><item><fn/><ln/><ct/></item>…`. `ct` (the number) must
//! be non-empty and unique in the list, and names are at most 40 bytes.

use std::collections::HashSet;
use std::io;

use quick_xml::Writer;

use super::text::{cut_bytes, with_label};
use super::{Book, BookEntry, DialNumber, text_element};

const NAME_BYTES: usize = 40;

pub(super) fn directory(writer: &mut Writer<Vec<u8>>, book: &Book<'_>) -> io::Result<()> {
    let mut listed = HashSet::new();
    writer.create_element("directory").write_inner_content(|writer| {
        writer.create_element("item_list").write_inner_content(|writer| {
            for entry in book.entries {
                for number in &entry.numbers {
                    // The first entry with a number keeps it; Polycom refuses repeats.
                    if !listed.insert(number.dial.as_str()) {
                        continue;
                    }
                    let (first, last) = names(entry, number);
                    writer.create_element("item").write_inner_content(|writer| {
                        text_element(writer, "fn", &first)?;
                        text_element(writer, "ln", &last)?;
                        text_element(writer, "ct", &number.dial)
                    })?;
                }
            }
            Ok(())
        })?;
        Ok(())
    })?;
    Ok(())
}

/// First and last name fields: the company stands in for a missing last name, and the
/// label follows the last name when the contact has several numbers or an extension.
fn names(entry: &BookEntry, number: &DialNumber) -> (String, String) {
    let mut last = entry.last_name.trim().to_string();
    if last.is_empty() && entry.first_name.trim().is_empty() {
        last = entry.company.trim().to_string();
    }
    if entry.labels(number) {
        last = label_within_bytes(&last, &number.label());
    }
    (cut_bytes(&entry.first_name, NAME_BYTES), cut_bytes(&last, NAME_BYTES))
}

/// `last (label)` within the byte limit, cutting the name rather than the label.
fn label_within_bytes(last: &str, label: &str) -> String {
    let labelled = with_label(last, label, usize::MAX);
    if labelled.len() <= NAME_BYTES {
        return labelled.trim().to_string();
    }
    let suffix = format!(" ({label})");
    format!("{}{suffix}", cut_bytes(last, NAME_BYTES - suffix.len())).trim().to_string()
}
