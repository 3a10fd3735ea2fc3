//! Yealink: `YealinkIPPhoneDirectory` with one `Telephone` per number, and
//! `YealinkIPPhoneBook` (`Menu`/`Unit`) for DECT handsets.

use std::io;

use quick_xml::Writer;

use super::text::{NAME_CHARS, cut_chars, xml_chars};
use super::{Book, text_element};

/// Numbers a `Unit` holds (`Phone1` to `Phone3`).
const UNIT_PHONES: usize = 3;

/// `<YealinkIPPhoneDirectory><DirectoryEntry><Name/><Telephone label="Work"/>…`.
pub(super) fn directory(writer: &mut Writer<Vec<u8>>, book: &Book<'_>) -> io::Result<()> {
    writer.create_element("YealinkIPPhoneDirectory").write_inner_content(|writer| {
        for entry in book.entries.iter().filter(|entry| !entry.numbers.is_empty()) {
            writer.create_element("DirectoryEntry").write_inner_content(|writer| {
                text_element(writer, "Name", &cut_chars(&entry.display_name(), NAME_CHARS))?;
                for number in &entry.numbers {
                    let dial = xml_chars(&number.dial);
                    writer
                        .create_element("Telephone")
                        .with_attribute(("label", number.label().as_str()))
                        .write_text_content(quick_xml::events::BytesText::new(&dial))?;
                }
                Ok(())
            })?;
        }
        Ok(())
    })?;
    Ok(())
}

/// `<YealinkIPPhoneBook><Title/><Menu Name=""><Unit Name="" Phone1="" Phone2="" Phone3=""/>…`.
/// A unit holds three numbers: a fourth (the fax, last in order) is left out.
pub(super) fn menu(writer: &mut Writer<Vec<u8>>, book: &Book<'_>) -> io::Result<()> {
    let title = cut_chars(&xml_chars(book.title), NAME_CHARS);
    writer.create_element("YealinkIPPhoneBook").write_inner_content(|writer| {
        text_element(writer, "Title", &title)?;
        writer.create_element("Menu").with_attribute(("Name", title.as_str())).write_inner_content(|writer| {
            for entry in book.entries.iter().filter(|entry| !entry.numbers.is_empty()) {
                let name = xml_chars(&cut_chars(&entry.display_name(), NAME_CHARS)).into_owned();
                let phones: Vec<String> = (0..UNIT_PHONES)
                    .map(|i| entry.numbers.get(i).map(|n| xml_chars(&n.dial).into_owned()).unwrap_or_default())
                    .collect();
                writer
                    .create_element("Unit")
                    .with_attribute(("Name", name.as_str()))
                    .with_attribute(("Phone1", phones[0].as_str()))
                    .with_attribute(("Phone2", phones[1].as_str()))
                    .with_attribute(("Phone3", phones[2].as_str()))
                    .write_empty()?;
            }
            Ok(())
        })?;
        Ok(())
    })?;
    Ok(())
}
