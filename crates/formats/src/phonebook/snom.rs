//! Snom: `<SnomIPPhoneDirectory><Title/><Prompt/><DirectoryEntry><Name/><Telephone/>…`,
//! one number per entry.

use std::io;

use quick_xml::Writer;

use super::text::{NAME_CHARS, cut_chars};
use super::{Book, labelled_lines, text_element};

pub(super) fn directory(writer: &mut Writer<Vec<u8>>, book: &Book<'_>) -> io::Result<()> {
    writer.create_element("SnomIPPhoneDirectory").write_inner_content(|writer| {
        text_element(writer, "Title", &cut_chars(book.title, NAME_CHARS))?;
        text_element(writer, "Prompt", "Dial")?;
        for entry in book.entries {
            for (name, number) in labelled_lines(entry, NAME_CHARS) {
                writer.create_element("DirectoryEntry").write_inner_content(|writer| {
                    text_element(writer, "Name", &name)?;
                    text_element(writer, "Telephone", &number.dial)
                })?;
            }
        }
        Ok(())
    })?;
    Ok(())
}
