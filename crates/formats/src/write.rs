//! Streaming writers: one contact at a time into any [`Write`].

use std::borrow::Cow;
use std::io::{self, Write};

use crate::builder::present;
use crate::guard::guard;
use crate::tables::{GOOGLE_EXPORT_HEADER, GOOGLE_UID_LABEL, OUTLOOK_EXPORT_HEADER};
use crate::vcard::write::write_card;
use crate::{ExportContact, ExportFormat};

/// Writes contacts in one format. A CSV header is written at once, so a file with no
/// contacts is the header alone (the template admins fill in); an empty vCard file is empty.
pub struct Writer<W: Write> {
    inner: Inner<W>,
}

enum Inner<W: Write> {
    Outlook(csv::Writer<W>),
    Google(csv::Writer<W>),
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
                writer.write_record(GOOGLE_EXPORT_HEADER)?;
                Inner::Google(writer)
            }
            ExportFormat::VCard3 => Inner::VCard { out, version4: false },
            ExportFormat::VCard4 => Inner::VCard { out, version4: true },
        };
        Ok(Writer { inner })
    }

    pub fn write(&mut self, contact: &ExportContact) -> io::Result<()> {
        match &mut self.inner {
            Inner::Outlook(csv) => Ok(csv.write_record(outlook_row(contact).iter().map(|c| c.as_bytes()))?),
            Inner::Google(csv) => Ok(csv.write_record(google_row(contact).iter().map(|c| c.as_bytes()))?),
            Inner::VCard { out, version4 } => write_card(out, contact, *version4),
        }
    }

    /// Pushes everything written so far to the output (to stream a file in chunks).
    pub fn flush(&mut self) -> io::Result<()> {
        match &mut self.inner {
            Inner::Outlook(csv) | Inner::Google(csv) => csv.flush(),
            Inner::VCard { out, .. } => out.flush(),
        }
    }

    /// Flushes and gives the output back.
    pub fn finish(self) -> io::Result<W> {
        match self.inner {
            Inner::Outlook(csv) | Inner::Google(csv) => csv.into_inner().map_err(|e| e.into_error()),
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

/// The work number, or a coworker's extension when there is none.
fn work_number(export: &ExportContact) -> &str {
    let c = &export.contact;
    if present(&c.work_phone) { &c.work_phone } else { export.extension.as_deref().unwrap_or("") }
}

/// Puts guarded values into the columns of `header` named in `cells`.
fn row<'a>(header: &[&str], cells: &[(&str, &'a str, bool)]) -> Vec<Cow<'a, str>> {
    let mut row = vec![Cow::Borrowed(""); header.len()];
    for (name, value, phone) in cells {
        let index = header.iter().position(|h| h == name).expect("a column of our own header");
        row[index] = guard(value, *phone);
    }
    row
}

fn outlook_row(export: &ExportContact) -> Vec<Cow<'_, str>> {
    let c = &export.contact;
    let mut cells = row(
        &OUTLOOK_EXPORT_HEADER,
        &[
            ("First Name", &c.first_name, false),
            ("Last Name", &c.last_name, false),
            ("Company", &c.company, false),
            ("Job Title", &c.title, false),
            ("Business Phone", work_number(export), true),
            ("Mobile Phone", &c.mobile_phone, true),
            ("Home Phone", &c.home_phone, true),
            ("Business Fax", &c.fax, true),
            ("E-mail Address", &c.email, false),
            ("User 1", &export.uid, false),
        ],
    );
    // Outlook writes Windows line breaks in notes; the readers turn them back into `\n`.
    let notes = c.notes.replace("\r\n", "\n").replace('\n', "\r\n");
    let index = OUTLOOK_EXPORT_HEADER.iter().position(|h| *h == "Notes").expect("Notes column");
    cells[index] = Cow::Owned(guard(&notes, false).into_owned());
    cells
}

fn google_row(export: &ExportContact) -> Vec<Cow<'_, str>> {
    let c = &export.contact;
    let labels = if export.starred { "* myContacts ::: * starred" } else { "* myContacts" };
    let numbers = [
        ("Mobile", c.mobile_phone.as_str()),
        ("Work", work_number(export)),
        ("Home", &c.home_phone),
        ("Work Fax", &c.fax),
    ];
    let numbers: Vec<(&str, &str)> = numbers.into_iter().filter(|(_, n)| present(n)).collect();
    const PHONE_COLUMNS: [(&str, &str); 4] = [
        ("Phone 1 - Label", "Phone 1 - Value"),
        ("Phone 2 - Label", "Phone 2 - Value"),
        ("Phone 3 - Label", "Phone 3 - Value"),
        ("Phone 4 - Label", "Phone 4 - Value"),
    ];
    let mut cells = vec![
        ("First Name", c.first_name.as_str(), false),
        ("Last Name", &c.last_name, false),
        ("Organization Name", &c.company, false),
        ("Organization Title", &c.title, false),
        ("Notes", &c.notes, false),
        ("Labels", labels, false),
    ];
    if present(&c.email) {
        cells.extend([("E-mail 1 - Label", "Work", false), ("E-mail 1 - Value", &c.email, false)]);
    }
    for ((label_column, value_column), (label, number)) in PHONE_COLUMNS.iter().zip(numbers) {
        cells.extend([(*label_column, label, false), (*value_column, number, true)]);
    }
    if present(&export.uid) {
        cells.extend([
            ("Custom Field 1 - Label", GOOGLE_UID_LABEL, false),
            ("Custom Field 1 - Value", &export.uid, false),
        ]);
    }
    row(&GOOGLE_EXPORT_HEADER, &cells)
}
