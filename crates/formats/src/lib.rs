//! Contact files in and out: Outlook CSV, Google CSV and vCard.
//!
//! Pure code: the only I/O is the [`std::io::Read`] or [`std::io::Write`] a caller hands in.
//! Readers stream, so memory stays bounded whatever the size of the file.
//!
//! ```
//! use switchboard_formats::{read, write_all, ContactFields, ExportContact, ExportFormat, ReadOptions};
//!
//! let contact = ExportContact {
//!     uid: "4f1c".into(),
//!     fields: ContactFields { first_name: "Ann".into(), ..Default::default() },
//!     extension: Some("201".into()),
//!     starred: false,
//!     photo: None,
//! };
//! let file = write_all(Vec::new(), ExportFormat::GoogleCsv, [&contact]).unwrap();
//! let reader = read(file.as_slice(), ReadOptions::default()).unwrap();
//! assert_eq!(reader.detected().to_string(), "Google CSV, UTF-8");
//! let rows: Vec<_> = reader.collect::<Result<_, _>>().unwrap();
//! assert_eq!(rows[0].uid.as_deref(), Some("4f1c"));
//! assert_eq!(rows[0].contact.phones[0].number, "201"); // the extension, as there was no work number
//! ```
//!
//! # Choices
//!
//! - **Detection** looks at content only, never at a file name: the first [`SNIFF_LEN`]
//!   bytes give the encoding (BOM, then NUL patterns of BOM-less UTF-16, then UTF-8, else
//!   Windows-1252) and the format (`BEGIN:VCARD`, or a CSV header whose columns are
//!   matched by name against the Outlook EN/DE/FR, Outlook.com and Google tables).
//! - **Bytes that do not fit the encoding**: where UTF-8 is declared (a BOM, vCard
//!   `CHARSET=UTF-8`, vCard 4.0) a value with invalid bytes is a [`RowError`] naming the
//!   field; where UTF-8 was only guessed from the first [`SNIFF_LEN`] bytes, such a value is
//!   read as Windows-1252 (the usual cause: a Windows file that is plain ASCII at first).
//! - **Row numbers** ([`ImportedRow::row`], [`RowError::row`]) are what a person finds in
//!   the file: for CSV the line on which the record starts (the header is line 1, so the
//!   first contact is usually row 2; a note with line breaks makes later rows jump), for
//!   vCard the card's position (the first card is 1).
//! - **A file cut short** is refused whole ([`FileError::UnclosedQuote`],
//!   [`FileError::UnfinishedCard`]): a CSV file that ends inside a quoted field (`Ada,"Love`
//!   with no closing quote), or a vCard file whose last card has no `END:VCARD`, has lost
//!   an unknown part of its last record, and its first part alone must not pass for the
//!   whole. A mid-file quote left open swallows the rest of the file into one record,
//!   which [`ReadOptions::max_record_len`] stops; a card missing its `END:VCARD` before
//!   the next `BEGIN:VCARD` is that card's own error.
//! - **Stable ids**: the writers put [`ExportContact::uid`] in vCard `UID`, in Outlook's
//!   `User 1` column (German `Benutzer 1`, French `Utilisateur 1`; Outlook keeps user
//!   fields through its own import and export), and in Google's `Custom Field 1` with the
//!   label `Switchboard UID`. The readers give them back in [`ImportedRow::uid`]. A value
//!   found there was not necessarily written by us: treat an unknown uid as a new contact.
//! - **Formula injection guard** (CWE-1236): the CSV writers prefix a cell with `'` when it
//!   starts with `=`, `+`, `-`, `@`, tab or carriage return, or with one or more `'`
//!   followed by one of those (so that a value really starting with `'` survives). Cells of
//!   phone columns that look like a phone number (digits and `+ ( ) - .` and spaces) stay
//!   as they are so they remain dialable. The CSV readers undo exactly that, in every cell
//!   of every CSV file: one leading `'` is removed when what follows is `'`s and then one of
//!   those characters (so a foreign cell `'=x` reads as `=x`, as a spreadsheet shows it).
//! - **Outlook export** has a UTF-8 BOM (Outlook otherwise reads the Windows code page),
//!   quotes every cell and writes notes with CRLF line breaks, as Outlook does.
//! - **Favorites** travel in Google CSV (`* starred` in `Labels`) and in vCard as
//!   `CATEGORIES:starred` (Google's name for the group); Outlook CSV has no place for them.
//! - **Mapping**: a contact keeps everything its file gives. Every number, email, postal
//!   address, web address, date and messaging handle goes into its list in
//!   [`ContactInput`] with its kind and label: vCard `TYPE`s and Apple's
//!   `itemN.X-ABLabel` (Apple's own words such as `_$!<Main>!$_` give a kind, other text
//!   is a custom label), Google's `Phone 2 - Label` words (`Work Fax`; other text is a
//!   custom label), and Outlook's named columns (each phone column is a kind and a label,
//!   such as `Car Phone` = other + "Car", see `tables::OUTLOOK_PHONES`). A `pref` number is
//!   listed first, the `pref` email becomes the first; the first number of each kind is the
//!   one phones list. Names come from vCard `N` (all five parts), `NICKNAME`,
//!   `X-PHONETIC-FIRST-NAME`/`LAST-NAME`, and the Outlook and Google name columns; the
//!   department is `ORG`'s second part (further units are joined with `, `); `FN` gives
//!   the name only when `N` does not (split at its last space), the company on a company
//!   card (`X-ABShowAs:COMPANY`, 4.0 `KIND:org`). A vCard `ADR`'s extended address, and
//!   Outlook's `Street 2` and `3`, are further lines of the street. Dates are `YYYY-MM-DD`
//!   or `--MM-DD`: vCard `BDAY`, `ANNIVERSARY`, `X-ANNIVERSARY`, Apple's `X-ABDATE` (and its
//!   `X-APPLE-OMIT-YEAR`), Google's `Birthday` and `Event N`, Outlook's `Birthday` and
//!   `Anniversary` in the file's locale (`4/12/1985` English, `12.04.1985` German,
//!   `12/04/1985` French). Handles: `IMPP` (service from `X-SERVICE-TYPE`, else the URI's
//!   scheme; the URI is kept whole), `X-SKYPE`, `X-AIM`…, Google's `IM N - Service`.
//!   CSV lists come in a fixed order (Outlook's phone columns by the table, Google's
//!   groups by number) whatever the file's column order. `notes` holds only the file's
//!   own notes. Numbers stay as typed (a 4.0 `tel:` URI too): the app reads them.
//!   Google cells holding several values joined by ` ::: ` are split. Line breaks read as `\n`.
//! - **Kinds and groups**: a contact is an individual, an organization or a group
//!   ([`ContactKind`](switchboard_core::details::ContactKind)). A company card
//!   (`X-ABShowAs:COMPANY`, 4.0 `KIND:org`) reads as an organization; the writers mark
//!   organizations, and any card with a company and no person's name (as before kinds),
//!   as company cards, so such a card reads back as an organization (the app stores such
//!   a contact as one, whatever its file said, so a book re-imports unchanged). A group is vCard 4.0
//!   `KIND:group` with its `MEMBER`s, or Apple's 3.0 `X-ADDRESSBOOKSERVER-KIND:group` with
//!   its `X-ADDRESSBOOKSERVER-MEMBER`s: its members are kept exactly as written
//!   (`urn:uuid:…`), in order, and its `FN` is its name, whole (never split into a
//!   person's parts; Apple's `N` repeating it is not kept). 4.0 writes `KIND:group`,
//!   `FN` and `MEMBER`s (a group needs no `N`); 3.0 writes Apple's two properties and the
//!   name as `N` too, as Apple does (3.0 wants an `N`). A `MEMBER` on a card that is no
//!   group means nothing (RFC 6350 §6.6.5) and is read past. **CSV files leave groups
//!   out**: neither Outlook nor Google has a record for a list of other contacts (Google
//!   marks membership on each member), and a group written as a row would come back as a
//!   person named after it.
//! - **Kept as they came**: what no field holds is kept in the contact's `extra`, with
//!   its family ([`ExtraFormat`](switchboard_core::details::ExtraFormat)): for vCard (any
//!   version) each other property with its group and parameters as written and its value
//!   still escaped (`item5.X-SOCIALPROFILE;type=twitter` / `https://…`), an `X-ABLabel` of
//!   such a property's group, a second `TITLE` or `ORG`, `FN` when it is not the name the
//!   writer makes, and the person's own `CATEGORIES`; for Outlook and Google each other
//!   non-empty column under its header name (Outlook German and French columns under their
//!   English names, so that the English writer gives them back; Outlook's "not set"
//!   values such as `Normal` or `Unspecified` are not kept), and Google's own `Labels`.
//!   Only properties the writer makes anew are dropped (`VERSION`, `PRODID`, `REV`, `UID`,
//!   `N`, `KIND`, `X-ABShowAs`, `X-ADDRESSBOOKSERVER-KIND`, `CLIENTPIDMAP`), and binary properties: `LOGO`, `SOUND`,
//!   `KEY` and Outlook's `X-MS-CARDPICTURE` are read past without being kept.
//! - **Photos**: an inline vCard `PHOTO` (2.1 `PHOTO;ENCODING=BASE64;JPEG:`, 3.0
//!   `PHOTO;ENCODING=b;TYPE=JPEG:`, 4.0 `PHOTO:data:image/jpeg;base64,…`) is decoded into
//!   [`ImportedRow::photo`] (stored apart from the contact by the app), and written back
//!   in each version's syntax from [`ExportContact::photo`]. A photo given by URL
//!   (`PHOTO;VALUE=uri:https://…`, Google's `Photo` column) is never fetched — that would
//!   let a file make the server call any address — and is kept as it came, like any other
//!   property or column. At most 50 entries of each list are
//!   kept (what the app accepts), a property too long for the app is left out, labels are
//!   cut to 60 characters.
//! - **Writers** write every field in each format's own syntax, lists in their order,
//!   and the kept properties of their own family only (vCard ones in any vCard version,
//!   never in CSV; Outlook's and Google's in their CSV columns when the header has them).
//!   A label is Apple's `itemN.X-ABLabel` in vCard (groups not used by kept properties),
//!   Google's label cell, or Outlook's column. Numbers are as typed, except the extension
//!   syntax: vCard 4.0 writes `TEL;VALUE=uri;TYPE=…:tel:+1-418-656-9254;ext=102` when the
//!   number has an E.164 form (a typed `tel:` URI as it is, else the typed text), CSV and
//!   vCard 3.0 write a `tel:` URI or `;ext=` as `<number> x<extension>`. What a CSV format
//!   has no column for (a fourth email, a second car phone, a date without year in
//!   Outlook) becomes a readable line after the notes (`Phone (car): …`), so an export
//!   loses nothing. The Outlook header is Outlook's own 92 columns followed by
//!   Outlook.com's `Nickname`, `Given Yomi`, `Surname Yomi`, `Personal Web Page` and
//!   `IMAddress`; the Google header has Google's current columns with up to 10 phones, 5
//!   emails, 3 addresses, 4 relations, websites, events and handles and 5 custom fields.
//!   A coworker's extension is written as the work number when there is none (and is not
//!   written otherwise).
//! - **vCard parsing** is our own small line-based parser rather than the `calcard` crate:
//!   calcard parses a whole file held in memory as `&str` (we stream, and frame cards
//!   ourselves anyway), wants valid UTF-8 up front (we must report a card with invalid
//!   bytes and decode 2.1 `CHARSET=windows-1252` quoted-printable values byte-exactly), and
//!   brings iCalendar, time zones and JSContact we do not need.

mod builder;
mod charset;
mod csv_read;
mod csv_write;
mod detect;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod guard;
pub mod phonebook;
mod tables;
mod values;
mod vcard;
mod write;

use std::fmt;
use std::io::Read;

pub use detect::{SNIFF_LEN, detect};
pub use error::{FileError, RowError};
pub use switchboard_core::{ContactFields, ContactInput};
pub use write::{Writer, write_all};

/// A kind of contacts file, as read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    OutlookCsv,
    GoogleCsv,
    /// vCard 2.1, 3.0 or 4.0 (the version is read card by card).
    VCard,
}

impl Format {
    /// The usual file name extension, without the dot.
    pub fn file_extension(self) -> &'static str {
        match self {
            Format::OutlookCsv | Format::GoogleCsv => "csv",
            Format::VCard => "vcf",
        }
    }

    /// The media type of the files our writers produce (always UTF-8).
    pub fn content_type(self) -> &'static str {
        match self {
            Format::OutlookCsv | Format::GoogleCsv => "text/csv; charset=utf-8",
            Format::VCard => "text/vcard; charset=utf-8",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::OutlookCsv => "Outlook CSV",
            Format::GoogleCsv => "Google CSV",
            Format::VCard => "vCard",
        })
    }
}

/// What the writers produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ExportFormat {
    /// The standard English Outlook for Windows header (92 columns), UTF-8 with BOM.
    OutlookCsv,
    /// Google Contacts' current header, UTF-8.
    GoogleCsv,
    /// vCard 3.0: what Apple and Google import best.
    #[default]
    VCard3,
    /// vCard 4.0 (RFC 6350).
    VCard4,
}

impl ExportFormat {
    /// The kind of file written.
    pub fn format(self) -> Format {
        match self {
            ExportFormat::OutlookCsv => Format::OutlookCsv,
            ExportFormat::GoogleCsv => Format::GoogleCsv,
            ExportFormat::VCard3 | ExportFormat::VCard4 => Format::VCard,
        }
    }

    pub fn file_extension(self) -> &'static str {
        self.format().file_extension()
    }

    pub fn content_type(self) -> &'static str {
        self.format().content_type()
    }
}

/// The detected flavour of a file, for the person importing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Variant {
    /// Outlook for Windows, English header.
    OutlookDesktop,
    /// Outlook.com (web), English header.
    OutlookWeb,
    OutlookGerman,
    OutlookFrench,
    GoogleCurrent,
    GoogleLegacy,
    VCard21,
    VCard30,
    VCard40,
}

impl Variant {
    pub fn format(self) -> Format {
        match self {
            Variant::OutlookDesktop | Variant::OutlookWeb | Variant::OutlookGerman | Variant::OutlookFrench => {
                Format::OutlookCsv
            }
            Variant::GoogleCurrent | Variant::GoogleLegacy => Format::GoogleCsv,
            Variant::VCard21 | Variant::VCard30 | Variant::VCard40 => Format::VCard,
        }
    }
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Variant::OutlookDesktop => "Outlook CSV",
            Variant::OutlookWeb => "Outlook.com CSV",
            Variant::OutlookGerman => "Outlook CSV (German)",
            Variant::OutlookFrench => "Outlook CSV (French)",
            Variant::GoogleCurrent => "Google CSV",
            Variant::GoogleLegacy => "Google CSV (legacy)",
            Variant::VCard21 => "vCard 2.1",
            Variant::VCard30 => "vCard 3.0",
            Variant::VCard40 => "vCard 4.0",
        })
    }
}

/// The text encoding of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TextEncoding {
    Utf8 {
        bom: bool,
    },
    Utf16Le {
        bom: bool,
    },
    Utf16Be {
        bom: bool,
    },
    /// The fallback when the start of the file is not UTF-8 (every byte is valid).
    Windows1252,
}

impl fmt::Display for TextEncoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (name, bom) = match *self {
            TextEncoding::Utf8 { bom } => ("UTF-8", bom),
            TextEncoding::Utf16Le { bom } => ("UTF-16LE", bom),
            TextEncoding::Utf16Be { bom } => ("UTF-16BE", bom),
            TextEncoding::Windows1252 => ("Windows-1252", false),
        };
        f.write_str(name)?;
        if bom { f.write_str(" with BOM") } else { Ok(()) }
    }
}

/// What [`detect`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detected {
    pub variant: Variant,
    pub encoding: TextEncoding,
    /// The CSV field separator (`,`, `;` or tab); `None` for vCard.
    pub delimiter: Option<u8>,
}

impl Detected {
    pub fn format(&self) -> Format {
        self.variant.format()
    }
}

/// For example "Outlook CSV (German), Windows-1252, `;`-separated".
impl fmt::Display for Detected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}, {}", self.variant, self.encoding)?;
        match self.delimiter {
            Some(b'\t') => f.write_str(", tab-separated"),
            Some(d) if d != b',' => write!(f, ", `{}`-separated", d as char),
            _ => Ok(()),
        }
    }
}

/// How to read a file, and the limits that keep memory bounded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadOptions {
    /// `None` detects the format from the content; `Some` insists on one.
    pub format: Option<Format>,
    /// Reading stops with an error after this many CSV records or vCards.
    pub max_rows: usize,
    /// Most cells in a CSV record, or properties in a vCard.
    pub max_columns: usize,
    /// Longest cell or vCard property value, in bytes (a vCard `PHOTO` has a limit of its
    /// own: [`MAX_PHOTO_LINE`]).
    pub max_field_len: usize,
    /// Longest CSV record in bytes; longer means an unclosed quote, and reading stops.
    pub max_record_len: usize,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            format: None,
            max_rows: 100_000,
            max_columns: 200,
            max_field_len: 32 * 1024,
            max_record_len: 1024 * 1024,
        }
    }
}

/// Longest vCard `PHOTO` line kept, in bytes: base64 of a photo as large as the app takes,
/// with room to spare. A longer one is reported as too large, and the card read without it.
pub const MAX_PHOTO_LINE: usize = 2 * switchboard_core::photo::MAX_PHOTO_BYTES;

/// One contact read from a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedRow {
    /// CSV: the line the record starts on (header = line 1). vCard: the card number, from 1.
    pub row: usize,
    /// The stable id our writers put in the file (vCard `UID`, Outlook `User 1`, Google
    /// custom field `Switchboard UID`), or one another program wrote there.
    pub uid: Option<String>,
    /// A favorite: Google's `* starred` group, or `starred` in vCard `CATEGORIES`.
    pub starred: bool,
    /// Fields as typed in the file, not validated: the app runs `ContactFields::parse`.
    pub contact: ContactInput,
    /// A vCard's inline `PHOTO`, decoded but not checked (the app checks its type and
    /// size), or why it could not be read. A photo given by URL is never fetched: it is
    /// kept in `contact.extra` like any other property.
    pub photo: Option<Result<FilePhoto, String>>,
}

/// An image a file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilePhoto {
    /// The type the file names (`JPEG`, `image/png`), which only the image's bytes can confirm.
    pub declared: Option<String>,
    pub bytes: Vec<u8>,
}

/// A contact's photo, to write in a vCard (CSV files have no place for one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportPhoto {
    pub kind: switchboard_core::photo::PhotoType,
    pub bytes: Vec<u8>,
}

/// One contact to write.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExportContact {
    pub uid: String,
    /// Everything the contact keeps; numbers carry their E.164 form and extension for
    /// vCard 4.0 `tel:` URIs.
    pub fields: ContactFields,
    /// A coworker's extension: written as the work number when there is none.
    pub extension: Option<String>,
    /// A favorite: Google's `* starred` label, vCard `CATEGORIES:starred` (not in Outlook CSV).
    pub starred: bool,
    /// Written in vCard files, in each version's syntax.
    pub photo: Option<ExportPhoto>,
}

impl ExportContact {
    /// The numbers to write: a coworker's extension first, as the work number, when the
    /// contact has none.
    pub(crate) fn phones(&self) -> Vec<switchboard_core::details::Phone> {
        let mut phones = Vec::with_capacity(self.fields.phones.len() + 1);
        let extension = self.extension.as_deref().map(str::trim).filter(|e| !e.is_empty());
        if let Some(extension) = extension.filter(|_| self.fields.work_phone().is_none()) {
            let number = switchboard_core::PhoneNumber { typed: extension.to_string(), e164: None, extension: None };
            phones.push(switchboard_core::details::Phone {
                kind: switchboard_core::details::PhoneKind::Work,
                label: String::new(),
                number,
            });
        }
        phones.extend(self.fields.phones.iter().cloned());
        phones
    }
}

/// Reads contacts from a file, streaming, one [`ImportedRow`] or [`RowError`] per record.
///
/// Errors that make the whole file unreadable come at once as a [`FileError`]. One that
/// stops reading half-way (an I/O error, an unclosed quote, too many rows) ends the
/// iteration with a last [`RowError`] saying so; [`Reader::file_error`] then has it.
pub struct Reader<'a> {
    detected: Detected,
    rows: Rows<'a>,
}

enum Rows<'a> {
    Csv(csv_read::CsvRows<'a>),
    VCard(vcard::CardRows<'a>),
}

impl<'a> Reader<'a> {
    /// What the file was detected (or told) to be.
    pub fn detected(&self) -> &Detected {
        &self.detected
    }

    /// Header columns this reader does not use (CSV only): for the import report.
    pub fn ignored_columns(&self) -> &[String] {
        match &self.rows {
            Rows::Csv(rows) => rows.ignored_columns(),
            Rows::VCard(_) => &[],
        }
    }

    /// The error that stopped reading before the end of the file, if one did.
    pub fn file_error(&self) -> Option<&FileError> {
        match &self.rows {
            Rows::Csv(rows) => rows.file_error(),
            Rows::VCard(rows) => rows.file_error(),
        }
    }
}

impl Iterator for Reader<'_> {
    type Item = Result<ImportedRow, RowError>;

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.rows {
            Rows::Csv(rows) => rows.next(),
            Rows::VCard(rows) => rows.next(),
        }
    }
}

/// Detects the file's encoding and format from its first bytes and starts reading it.
///
/// The input is read as it is consumed (a few buffers at a time); the reader is `Send`, so
/// it can move to a blocking thread.
pub fn read<'a>(mut input: impl Read + Send + 'a, options: ReadOptions) -> Result<Reader<'a>, FileError> {
    let prefix = read_prefix(&mut input)?;
    let detected = detect::detect_as(&prefix, options.format)?;
    let cr_only = prefix.contains(&b'\r') && !prefix.contains(&b'\n');
    let rest = std::io::Cursor::new(prefix).chain(input);
    let rows = match detected.format() {
        Format::VCard => Rows::VCard(vcard::CardRows::new(Box::new(rest), &detected, options)?),
        Format::OutlookCsv | Format::GoogleCsv => {
            Rows::Csv(csv_read::CsvRows::new(Box::new(rest), &detected, cr_only, options)?)
        }
    };
    Ok(Reader { detected, rows })
}

fn read_prefix(input: &mut impl Read) -> Result<Vec<u8>, FileError> {
    let mut prefix = Vec::with_capacity(SNIFF_LEN);
    input.take(SNIFF_LEN as u64).read_to_end(&mut prefix).map_err(FileError::io)?;
    Ok(prefix)
}

/// The stream a reader decodes: the sniffed prefix followed by the rest of the input.
pub(crate) type Input<'a> = Box<dyn Read + Send + 'a>;

#[cfg(test)]
mod tests {
    #[test]
    fn readers_and_writers_can_move_between_threads() {
        fn send<T: Send>() {}
        send::<super::Reader<'static>>();
        send::<super::Writer<Vec<u8>>>();
    }
}
