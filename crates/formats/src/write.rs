//! Streaming writers: one contact at a time into any [`Write`].

use std::io::{self, Write};

use crate::csv_write::{google_row, outlook_row};
use crate::tables::{OUTLOOK_EXPORT_HEADER, google_export_header};
use crate::vcard::write::write_card;
use crate::{ExportContact, ExportFormat};

/// Writes contacts in one format. A CSV header is written at once, so a file with no
/// contacts is the header alone (the template admins fill in); an empty vCard file is empty.
pub struct Writer<W: Write> {
    inner: Inner<W>,
}

enum Inner<W: Write> {
    Outlook(csv::Writer<W>),
    Google(csv::Writer<W>, Vec<String>),
    VCard { out: W, version4: bool },
}

impl<W: Write> Writer<W> {
    pub fn new(mut out: W, format: ExportFormat) -> io::Result<Self> {
        let inner = match format {
            ExportFormat::OutlookCsv => {
                // Outlook reads a CSV without BOM as the Windows code page; the BOM says UTF-8.
                out.write_all(b"\xef\xbb\xbf")?;
                // Outlook itself quotes every cell.
                let mut writer = csv_writer(out, csv::QuoteStyle::Always);
                writer.write_record(OUTLOOK_EXPORT_HEADER)?;
                Inner::Outlook(writer)
            }
            ExportFormat::GoogleCsv => {
                let mut writer = csv_writer(out, csv::QuoteStyle::Necessary);
                let header = google_export_header();
                writer.write_record(&header)?;
                Inner::Google(writer, header)
            }
            ExportFormat::VCard3 => Inner::VCard { out, version4: false },
            ExportFormat::VCard4 => Inner::VCard { out, version4: true },
        };
        Ok(Writer { inner })
    }

    /// Writes one contact. A group is written only in vCard: neither CSV format has a
    /// record for a list of other contacts (a group's members would arrive as a person
    /// named after the group), so CSV files leave groups out.
    pub fn write(&mut self, contact: &ExportContact) -> io::Result<()> {
        let group = contact.fields.kind == switchboard_core::details::ContactKind::Group;
        match &mut self.inner {
            Inner::Outlook(_) | Inner::Google(..) if group => Ok(()),
            Inner::Outlook(csv) => Ok(csv.write_record(outlook_row(contact))?),
            Inner::Google(csv, header) => Ok(csv.write_record(google_row(contact, header))?),
            Inner::VCard { out, version4 } => write_card(out, contact, *version4),
        }
    }

    /// Pushes everything written so far to the output (to stream a file in chunks).
    pub fn flush(&mut self) -> io::Result<()> {
        match &mut self.inner {
            Inner::Outlook(csv) | Inner::Google(csv, _) => csv.flush(),
            Inner::VCard { out, .. } => out.flush(),
        }
    }

    /// Flushes and gives the output back.
    pub fn finish(self) -> io::Result<W> {
        match self.inner {
            Inner::Outlook(csv) | Inner::Google(csv, _) => csv.into_inner().map_err(|e| e.into_error()),
            Inner::VCard { mut out, .. } => {
                out.flush()?;
                Ok(out)
            }
        }
    }
}

fn csv_writer<W: Write>(out: W, style: csv::QuoteStyle) -> csv::Writer<W> {
    let mut builder = csv::WriterBuilder::new();
    builder.quote_style(style).terminator(csv::Terminator::CRLF);
    builder.from_writer(out)
}

/// Writes all `contacts` and gives the output back.
pub fn write_all<'c, W: Write>(
    out: W,
    format: ExportFormat,
    contacts: impl IntoIterator<Item = &'c ExportContact>,
) -> io::Result<W> {
    let mut writer = Writer::new(out, format)?;
    for contact in contacts {
        writer.write(contact)?;
    }
    writer.finish()
}
