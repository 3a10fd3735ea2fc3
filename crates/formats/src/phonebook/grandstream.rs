//! Grandstream: `<AddressBook><Contact><FirstName/><LastName/><Phone type="Work">
//! <phonenumber/><accountindex>1</accountindex></Phone>…</Contact>…`.

use std::io;

use quick_xml::Writer;
use switchboard_core::contact::NumberKind;

use super::text::{NAME_CHARS, cut_chars};
use super::{Book, text_element};

pub(super) fn address_book(writer: &mut Writer<Vec<u8>>, book: &Book<'_>) -> io::Result<()> {
    writer.create_element("AddressBook").write_inner_content(|writer| {
        for entry in book.entries.iter().filter(|entry| !entry.numbers.is_empty()) {
            let no_names = entry.first_name.trim().is_empty() && entry.last_name.trim().is_empty();
            let first = if no_names { &entry.company } else { &entry.first_name };
            writer.create_element("Contact").write_inner_content(|writer| {
                text_element(writer, "FirstName", &cut_chars(first, NAME_CHARS))?;
                text_element(writer, "LastName", &cut_chars(&entry.last_name, NAME_CHARS))?;
                for number in &entry.numbers {
                    writer
                        .create_element("Phone")
                        .with_attribute(("type", phone_type(number.kind)))
                        .write_inner_content(|writer| {
                            text_element(writer, "phonenumber", &number.dial)?;
                            text_element(writer, "accountindex", "1")
                        })?;
                }
                Ok(())
            })?;
        }
        Ok(())
    })?;
    Ok(())
}

/// Grandstream's types are Work, Home, Mobile and Fax: an extension is a work number.
fn phone_type(kind: NumberKind) -> &'static str {
    match kind {
        NumberKind::Work | NumberKind::Extension | NumberKind::Other => "Work",
        NumberKind::Home => "Home",
        NumberKind::Mobile => "Mobile",
        NumberKind::Fax => "Fax",
    }
}
