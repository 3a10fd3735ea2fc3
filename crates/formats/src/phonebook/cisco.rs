//! Cisco (SPA and CP series): `<CiscoIPPhoneDirectory><Title/><Prompt/><DirectoryEntry>
//! <Name/><Telephone/></DirectoryEntry>…<SoftKeyItem/>…`, one number per entry and at
//! most 32 entries per document; `Next`/`Previous` soft keys link the pages.

use std::io;

use quick_xml::Writer;

use super::text::{NAME_CHARS, cut_chars};
use super::{Book, BookEntry, labelled_lines, text_element};

/// Directory entries one document may hold.
pub const CISCO_MAX_LINES: usize = 32;

/// How many of `entries` (from the start) fit in one document: each takes a line per number.
pub fn cisco_fit(entries: &[BookEntry]) -> usize {
    let mut lines = 0;
    entries
        .iter()
        .take_while(|entry| {
            lines += entry.numbers.len();
            lines <= CISCO_MAX_LINES
        })
        .count()
}

pub(super) fn directory(writer: &mut Writer<Vec<u8>>, book: &Book<'_>) -> io::Result<()> {
    let lines: Vec<_> = book.entries.iter().flat_map(|entry| labelled_lines(entry, NAME_CHARS)).collect();
    writer.create_element("CiscoIPPhoneDirectory").write_inner_content(|writer| {
        text_element(writer, "Title", &cut_chars(book.title, NAME_CHARS))?;
        let prompt = if lines.is_empty() { "No entries" } else { "Select an entry" };
        text_element(writer, "Prompt", prompt)?;
        for (name, number) in lines.iter().take(CISCO_MAX_LINES) {
            writer.create_element("DirectoryEntry").write_inner_content(|writer| {
                text_element(writer, "Name", name)?;
                text_element(writer, "Telephone", &number.dial)
            })?;
        }
        let mut position = 0;
        let mut soft_key = |writer: &mut Writer<Vec<u8>>, name: &str, url: &str| {
            position += 1;
            writer.create_element("SoftKeyItem").write_inner_content(|writer| {
                text_element(writer, "Name", name)?;
                text_element(writer, "URL", url)?;
                text_element(writer, "Position", &position.to_string())
            })?;
            Ok::<_, io::Error>(())
        };
        if !lines.is_empty() {
            soft_key(writer, "Dial", "SoftKey:Dial")?;
        }
        if let Some(url) = book.previous_url {
            soft_key(writer, "Previous", url)?;
        }
        if let Some(url) = book.next_url {
            soft_key(writer, "Next", url)?;
        }
        soft_key(writer, "Exit", "SoftKey:Exit")
    })?;
    Ok(())
}
