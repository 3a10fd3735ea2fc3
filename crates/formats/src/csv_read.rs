//! Streaming CSV reader for Outlook and Google files.
//!
//! UTF-16 is transcoded to UTF-8 on the fly (`encoding_rs_io`); UTF-8 and Windows-1252
//! are parsed as bytes and decoded cell by cell, so a cell with invalid UTF-8 is reported
//! on its row instead of being silently replaced.

use std::io::{self, Read};

use encoding_rs::{UTF_16BE, UTF_16LE, WINDOWS_1252};
use encoding_rs_io::DecodeReaderBytesBuilder;

use std::collections::BTreeMap;

use switchboard_core::details::{Address, DateKind, ExtraFormat, PhoneKind, PlaceKind};

use crate::builder::{Builder, Field, normalize_newlines, present};
use crate::charset::Charset;
use crate::detect::dialect_of;
use crate::guard::unguard;
use crate::tables::{
    Col, Dialect, GOOGLE_UID_LABEL, Group, GroupPart, OUTLOOK_EXPORT_HEADER, OUTLOOK_PHONES, Part, date_label,
    google_export_header, is_outlook_default, phone_label, place_label, url_label,
};
use crate::values::{is_zero_date, locale_date};
use crate::{Detected, FileError, ImportedRow, Input, ReadOptions, RowError, TextEncoding};

/// Bytes the CSV parser may read ahead of the record it is on.
const BUFFER: usize = 64 * 1024;

/// Caps how far the parser may read past the start of a record, so an unclosed quote
/// cannot pull the whole file into one record.
pub(crate) struct Budget<R> {
    inner: R,
    read: u64,
    limit: u64,
}

#[derive(Debug)]
struct OverBudget;

impl std::fmt::Display for OverBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("record too long")
    }
}

impl std::error::Error for OverBudget {}

impl<R: Read> Budget<R> {
    fn new(inner: R) -> Self {
        Budget { inner, read: 0, limit: u64::MAX }
    }

    /// Called before each record: it may take `bytes`, plus what is already buffered.
    fn allow(&mut self, bytes: usize) {
        self.limit = self.read.saturating_add((bytes + BUFFER) as u64);
    }
}

impl<R: Read> Read for Budget<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.limit.saturating_sub(self.read);
        if left == 0 {
            return Err(io::Error::other(OverBudget));
        }
        let len = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..len])?;
        self.read += n as u64;
        Ok(n)
    }
}

/// Follows the parser's quoting over the bytes it reads: the csv crate ends a quoted
/// field at the end of the file without a word, so a file cut short inside one (a last
/// line `Ada,"Love`) would read like a whole one. As the csv crate does, a quote opens
/// a quoted field only as a field's first byte, `""` inside one is a quote, and after the
/// closing quote the field goes on unquoted up to the delimiter.
pub(crate) struct QuoteWatch<R> {
    inner: R,
    delimiter: u8,
    /// Bare-`\r` files end records at `\r` too.
    cr_ends_records: bool,
    state: Quoting,
    /// The current field's index in its record.
    field: usize,
    /// The index of the field the last quote opened.
    quoted_field: usize,
    bytes: u64,
    at_end: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quoting {
    FieldStart,
    Unquoted,
    Quoted,
    /// A quote inside a quoted field: its end, or the first of `""`.
    QuoteInQuoted,
}

impl<R: Read> QuoteWatch<R> {
    fn new(inner: R, delimiter: u8, cr_ends_records: bool) -> Self {
        QuoteWatch {
            inner,
            delimiter,
            cr_ends_records,
            state: Quoting::FieldStart,
            field: 0,
            quoted_field: 0,
            bytes: 0,
            at_end: false,
        }
    }

    fn step(&mut self, byte: u8) {
        let ends_record = byte == b'\n' || (self.cr_ends_records && byte == b'\r');
        self.state = match self.state {
            Quoting::Quoted if byte == b'"' => Quoting::QuoteInQuoted,
            Quoting::Quoted => Quoting::Quoted,
            Quoting::QuoteInQuoted if byte == b'"' => Quoting::Quoted,
            _ if byte == self.delimiter => {
                self.field += 1;
                Quoting::FieldStart
            }
            _ if ends_record => {
                self.field = 0;
                Quoting::FieldStart
            }
            Quoting::FieldStart if byte == b'"' => {
                self.quoted_field = self.field;
                Quoting::Quoted
            }
            _ => Quoting::Unquoted,
        };
    }

    /// When the whole input, `consumed` bytes, was read and ends inside a quoted field:
    /// that field's index in its record.
    fn unclosed_at_end(&self, consumed: u64) -> Option<usize> {
        (self.at_end && self.state == Quoting::Quoted && consumed == self.bytes).then_some(self.quoted_field)
    }
}

impl<R: Read> Read for QuoteWatch<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.at_end |= n == 0 && !buf.is_empty();
        buf[..n].iter().for_each(|byte| self.step(*byte));
        self.bytes += n as u64;
        Ok(n)
    }
}

pub(crate) struct CsvRows<'a> {
    reader: csv::Reader<Budget<QuoteWatch<Input<'a>>>>,
    charset: Charset,
    headers: Vec<String>,
    columns: Vec<Col>,
    dialect: Dialect,
    /// The columns of the writer's header for this dialect: the order of kept columns.
    export_order: Vec<String>,
    ignored: Vec<String>,
    options: ReadOptions,
    record: csv::ByteRecord,
    records: usize,
    /// For bare-`\r` files (the csv crate counts `\n` only): the line the next record starts on.
    cr_lines: Option<usize>,
    done: bool,
    stopped: Option<FileError>,
}

impl<'a> CsvRows<'a> {
    /// `cr_only`: the file ends lines with a bare `\r` (old Mac Excel), seen in its prefix.
    pub fn new(input: Input<'a>, detected: &Detected, cr_only: bool, options: ReadOptions) -> Result<Self, FileError> {
        let (input, charset): (Input<'a>, _) = match detected.encoding {
            TextEncoding::Utf16Le { .. } => (transcode(input, UTF_16LE), Charset::Utf8),
            TextEncoding::Utf16Be { .. } => (transcode(input, UTF_16BE), Charset::Utf8),
            TextEncoding::Utf8 { bom: true } => (input, Charset::Utf8),
            TextEncoding::Utf8 { bom: false } => (input, Charset::Utf8OrWindows1252),
            TextEncoding::Windows1252 => (input, Charset::Other(WINDOWS_1252)),
        };
        let delimiter = detected.delimiter.unwrap_or(b',');
        let reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .flexible(true)
            // Records end at `\n` alone: with the default CRLF handling the csv crate counts
            // a record as starting on the previous line, and rows must name the right line.
            // The `\r` this leaves at the end of a record's last cell is removed below.
            // Bare-`\r` files need the default, and their lines are counted by `cr_lines`.
            .terminator(if cr_only { csv::Terminator::CRLF } else { csv::Terminator::Any(b'\n') })
            .buffer_capacity(BUFFER)
            .from_reader(Budget::new(QuoteWatch::new(input, delimiter, cr_only)));
        let mut rows = CsvRows {
            reader,
            charset,
            headers: Vec::new(),
            columns: Vec::new(),
            dialect: dialect_of(detected.variant),
            export_order: export_order(dialect_of(detected.variant)),
            ignored: Vec::new(),
            options,
            record: csv::ByteRecord::new(),
            records: 0,
            cr_lines: cr_only.then_some(1),
            done: false,
            stopped: None,
        };
        rows.read_header()?;
        Ok(rows)
    }

    fn read_header(&mut self) -> Result<(), FileError> {
        let dialect = self.dialect;
        self.reader.get_mut().allow(self.options.max_record_len);
        match self.reader.read_byte_record(&mut self.record) {
            Ok(true) => {}
            Ok(false) => return Err(FileError::UnknownFormat),
            Err(err) => return Err(self.file_error_of(err, 1)),
        }
        self.record_line(1);
        if let Some(column) = self.unclosed_quote() {
            return Err(FileError::UnclosedQuote { row: 1, field: format!("column {}", column + 1) });
        }
        let charset = self.charset;
        let decode =
            |bytes: &[u8]| charset.decode(bytes).unwrap_or_else(|_| String::from_utf8_lossy(bytes).into_owned());
        self.headers =
            self.record.iter().map(|h| decode(h).trim_start_matches('\u{feff}').trim().to_string()).collect();
        self.columns = self.headers.iter().map(|h| dialect.column(h)).collect();
        self.ignored = self
            .headers
            .iter()
            .zip(&self.columns)
            .filter(|(h, c)| **c == Col::Ignored && !h.is_empty())
            .map(|(h, _)| h.clone())
            .collect();
        Ok(())
    }

    /// The line the record just read starts on.
    fn record_line(&mut self, fallback: usize) -> usize {
        let Some(next) = self.cr_lines.as_mut() else {
            return self.record.position().map_or(fallback, |p| usize::try_from(p.line()).unwrap_or(usize::MAX));
        };
        let line = *next;
        let breaks: usize = self.record.iter().map(|cell| cell.iter().filter(|b| **b == b'\r').count()).sum();
        *next += 1 + breaks;
        line
    }

    /// The column of the record just read when it is the file's last and ends inside a
    /// quoted field (the file was cut short).
    fn unclosed_quote(&self) -> Option<usize> {
        self.reader.get_ref().inner.unclosed_at_end(self.reader.position().byte())
    }

    pub fn ignored_columns(&self) -> &[String] {
        &self.ignored
    }

    pub fn file_error(&self) -> Option<&FileError> {
        self.stopped.as_ref()
    }

    fn file_error_of(&self, err: csv::Error, row: usize) -> FileError {
        match err.into_kind() {
            csv::ErrorKind::Io(io) if io.get_ref().is_some_and(|e| e.is::<OverBudget>()) => {
                FileError::RecordTooLong { row, max: self.options.max_record_len }
            }
            csv::ErrorKind::Io(io) => FileError::io(io),
            other => FileError::Io(format!("{other:?}")),
        }
    }

    /// Ends the iteration: the error is kept for [`crate::Reader::file_error`] and reported on `row`.
    fn stop(&mut self, err: FileError, row: usize) -> RowError {
        self.done = true;
        let message = err.to_string();
        self.stopped = Some(err);
        RowError::new(row, None, message)
    }

    /// Reads one record; `Ok(None)` for a blank row, which is skipped silently.
    fn read_row(&mut self, row: usize) -> Result<Option<ImportedRow>, RowError> {
        if self.record.len() > self.options.max_columns {
            let message = format!("has {} cells, more than the {} read", self.record.len(), self.options.max_columns);
            return Err(RowError::new(row, None, message));
        }
        let mut values = Vec::with_capacity(self.columns.len());
        for (index, bytes) in cells(&self.record).enumerate() {
            let field = self.headers.get(index).map(String::as_str);
            if bytes.len() > self.options.max_field_len {
                let message = format!("is longer than {} bytes", self.options.max_field_len);
                return Err(RowError::new(row, Some(field.unwrap_or("a cell")), message));
            }
            let text =
                self.charset.decode(bytes).map_err(|m| RowError::new(row, Some(field.unwrap_or("a cell")), m))?;
            if index >= self.columns.len() {
                if present(&text) {
                    return Err(RowError::new(
                        row,
                        None,
                        "has more cells than the header has columns (a stray quote?)",
                    ));
                }
                continue;
            }
            // Unguard first: the guard was put before the line break of a note like "\r\n…".
            let text = normalize_newlines(unguard(text));
            // In a bare-`\r` file, a line break in a cell is a bare `\r` too.
            values.push(if self.cr_lines.is_some() { text.replace('\r', "\n") } else { text });
        }
        let mut builder = map_row(&self.columns, &self.headers, values, self.dialect);
        builder.sort_extra(|name| self.export_order.iter().position(|h| h == name).unwrap_or(usize::MAX));
        if builder.is_blank() {
            return Ok(None);
        }
        let (uid, starred) = (builder.uid.clone(), builder.starred);
        let contact = builder.finish().map_err(|m| RowError::new(row, None, m))?;
        Ok(Some(ImportedRow { row, uid, starred, contact, photo: None }))
    }
}

/// Kept columns are listed in the order our writer's header has them, so that a file
/// written from a contact reads back with them in the same order whatever the original
/// file's column order.
fn export_order(dialect: Dialect) -> Vec<String> {
    match dialect {
        Dialect::Google => google_export_header(),
        _ => OUTLOOK_EXPORT_HEADER.iter().map(|h| h.to_string()).collect(),
    }
}

/// A record's cells, without the `\r` of a CRLF line end.
fn cells(record: &csv::ByteRecord) -> impl Iterator<Item = &[u8]> {
    let last = record.len().saturating_sub(1);
    record
        .iter()
        .enumerate()
        .map(move |(i, cell)| if i == last { cell.strip_suffix(b"\r").unwrap_or(cell) } else { cell })
}

/// UTF-16 to UTF-8 on the fly. A BOM wins over the given encoding and is removed.
pub(crate) fn transcode<'a>(input: Input<'a>, encoding: &'static encoding_rs::Encoding) -> Input<'a> {
    Box::new(DecodeReaderBytesBuilder::new().encoding(Some(encoding)).build(input))
}

impl Iterator for CsvRows<'_> {
    type Item = Result<ImportedRow, RowError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            let line = usize::try_from(self.reader.position().line()).unwrap_or(usize::MAX);
            self.reader.get_mut().allow(self.options.max_record_len);
            match self.reader.read_byte_record(&mut self.record) {
                Ok(true) => {}
                Ok(false) => self.done = true,
                Err(err) => {
                    let err = self.file_error_of(err, line);
                    return Some(Err(self.stop(err, line)));
                }
            }
            if self.done {
                break;
            }
            self.records += 1;
            let row = self.record_line(line);
            if let Some(column) = self.unclosed_quote() {
                let field = self.headers.get(column).cloned().unwrap_or_else(|| format!("column {}", column + 1));
                return Some(Err(self.stop(FileError::UnclosedQuote { row, field }, row)));
            }
            if self.records > self.options.max_rows {
                return Some(Err(self.stop(FileError::TooManyRows { max: self.options.max_rows }, row)));
            }
            match self.read_row(row) {
                Ok(None) => continue,
                Ok(Some(imported)) => return Some(Ok(imported)),
                Err(err) => return Some(Err(err)),
            }
        }
        None
    }
}

/// One cell of a Google group: its part, header and value.
type GroupCell = (GroupPart, String, String);

/// What one row says about its lists, gathered before they are filed: a contact lists
/// them in a fixed order (Outlook's phone columns by [`OUTLOOK_PHONES`], Google's groups
/// by number), whatever the order of the file's columns, so a written file reads back alike.
#[derive(Default)]
struct RowParts {
    phones: Vec<(usize, String)>,
    emails: Vec<(usize, String)>,
    addresses: Vec<(PlaceKind, Part, String)>,
    dates: Vec<(DateKind, String)>,
    urls: Vec<(&'static str, String)>,
    groups: BTreeMap<(Group, u32), Vec<GroupCell>>,
}

fn map_row(columns: &[Col], headers: &[String], cells: Vec<String>, dialect: Dialect) -> Builder {
    let format = if dialect == Dialect::Google { ExtraFormat::Google } else { ExtraFormat::Outlook };
    let mut b = Builder::new(format);
    let mut parts = RowParts::default();
    for ((col, header), value) in columns.iter().zip(headers).zip(cells) {
        if present(&value) {
            map_cell(&mut b, &mut parts, (*col, header), value, dialect);
        }
    }
    file_parts(&mut b, parts);
    b
}

fn name_field(col: Col) -> Option<Field> {
    Some(match col {
        Col::NamePrefix => Field::Prefix,
        Col::First => Field::First,
        Col::Middle => Field::Middle,
        Col::Last => Field::Last,
        Col::NameSuffix => Field::Suffix,
        Col::Nickname => Field::Nickname,
        Col::PhoneticFirst => Field::PhoneticFirst,
        Col::PhoneticLast => Field::PhoneticLast,
        Col::Company => Field::Company,
        Col::Department => Field::Department,
        Col::JobTitle => Field::Title,
        _ => return None,
    })
}

fn map_cell(b: &mut Builder, parts: &mut RowParts, (col, header): (Col, &str), value: String, dialect: Dialect) {
    if let Some(field) = name_field(col) {
        if !b.set(field, &value) {
            b.extra(header, &value);
        }
        return;
    }
    match col {
        Col::Ignored => {}
        Col::Unknown | Col::Extra(_) => {
            let name = if let Col::Extra(english) = col { english } else { header };
            if !is_outlook_default(name, &value) {
                b.extra(name, &value);
            }
        }
        Col::FullName => b.full_name(&value),
        Col::Phone(column) => {
            let rank = OUTLOOK_PHONES.iter().position(|(name, _, _)| *name == column).unwrap_or(usize::MAX);
            parts.phones.push((rank, value));
        }
        Col::Email(index) => parts.emails.push((index, value)),
        Col::Notes => b.note(&value),
        Col::Uid => b.uid(&value),
        Col::Date(_) if is_zero_date(&value) => {}
        Col::Date(kind) => parts.dates.push((kind, locale_date(&value, dialect.day_first()))),
        Col::Url(kind) => parts.urls.push((kind, value)),
        Col::Im => b.im("", "", &value),
        Col::Address(kind, part) => parts.addresses.push((kind, part, value)),
        Col::Labels => map_labels(b, &value),
        Col::Group(group, number, part) => {
            parts.groups.entry((group, number)).or_default().push((part, header.to_string(), value));
        }
        _ => {}
    }
}

/// Files the lists of a row in their fixed order.
fn file_parts(b: &mut Builder, mut parts: RowParts) {
    parts.phones.sort_by_key(|(rank, _)| *rank);
    for (rank, number) in parts.phones {
        let (_, kind, label) = OUTLOOK_PHONES.get(rank).copied().unwrap_or(("", PhoneKind::Other, ""));
        b.phone(kind, label, &number, false);
    }
    parts.emails.sort_by_key(|(index, _)| *index);
    for (_, address) in parts.emails {
        b.email(PlaceKind::Work, "", &address, false);
    }
    for kind in [PlaceKind::Work, PlaceKind::Home, PlaceKind::Other] {
        let cells: Vec<(Part, String)> =
            parts.addresses.iter().filter(|(k, _, _)| *k == kind).map(|(_, p, v)| (*p, v.clone())).collect();
        b.address(address_of(kind, "", cells));
    }
    parts.dates.sort_by_key(|(kind, _)| *kind != DateKind::Birthday);
    for (kind, date) in parts.dates {
        b.date(kind, "", &date);
    }
    parts.urls.sort_by_key(|(kind, _)| *kind != "work");
    for (kind, url) in parts.urls {
        b.url(kind, "", &url);
    }
    for ((group, number), cells) in parts.groups {
        map_group(b, group, number, cells);
    }
}

/// An address from its parts: the street's lines (Outlook's `Street 2` and `3`, the
/// extended address) joined by line breaks; a formatted address alone becomes the street.
pub(crate) fn address_of(kind: PlaceKind, label: &str, mut parts: Vec<(Part, String)>) -> Address {
    parts.sort_by_key(|(part, _)| *part);
    let get = |wanted: Part| {
        let values: Vec<&str> =
            parts.iter().filter(|(p, v)| *p == wanted && present(v)).map(|(_, v)| v.as_str()).collect();
        values.join("\n")
    };
    let street_parts = [Part::Street, Part::Street2, Part::Street3, Part::Extended];
    let lines: Vec<String> = street_parts.into_iter().map(get).filter(|l| present(l)).collect();
    let mut address = Address {
        kind,
        label: label.to_string(),
        po_box: get(Part::PoBox),
        street: lines.join("\n"),
        city: get(Part::City),
        region: get(Part::Region),
        postal_code: get(Part::PostalCode),
        country: get(Part::Country),
    };
    if address.is_empty() {
        address.street = get(Part::Formatted);
    }
    address
}

/// Google joins several values of one cell with ` ::: `.
fn split_multi(value: &str) -> impl Iterator<Item = &str> {
    value.split(" ::: ").filter(|v| present(v))
}

/// Google's `Labels`: `* starred` is a favorite, `* myContacts` and other `* ` groups are
/// Google's own; the person's own labels are kept.
fn map_labels(b: &mut Builder, value: &str) {
    let mut own = Vec::new();
    for label in split_multi(value) {
        let label = label.trim();
        if label.eq_ignore_ascii_case("* starred") {
            b.starred = true;
        } else if !label.starts_with("* ") {
            own.push(label);
        }
    }
    b.extra("Labels", &own.join(" ::: "));
}

/// The cells of a group by part.
fn part_of(cells: &[GroupCell], wanted: GroupPart) -> &str {
    cells.iter().find(|(part, _, _)| *part == wanted).map_or("", |(_, _, v)| v.as_str())
}

fn keep_all(b: &mut Builder, cells: &[GroupCell]) {
    for (_, header, value) in cells {
        b.extra(header, value);
    }
}

fn map_group(b: &mut Builder, group: Group, number: u32, cells: Vec<GroupCell>) {
    // Google marks the primary value's label with `* `.
    let raw_label = part_of(&cells, GroupPart::Label).trim();
    let preferred = raw_label.starts_with("* ");
    let label = raw_label.trim_start_matches("* ").trim();
    let value = part_of(&cells, GroupPart::Value);
    match group {
        Group::Phone => {
            let (kind, label) = phone_label(label);
            split_multi(value).for_each(|v| b.phone(kind, &label, v, preferred));
        }
        Group::Email => {
            let (kind, label) = place_label(label);
            split_multi(value).for_each(|v| b.email(kind, &label, v, preferred));
        }
        Group::Address => {
            let (kind, label) = place_label(label);
            let parts = cells.iter().filter_map(|(part, _, v)| match part {
                GroupPart::Address(p) => Some((*p, v.clone())),
                _ => None,
            });
            b.address(address_of(kind, &label, parts.collect()));
        }
        Group::Organization if number == 1 => map_organization(b, &cells),
        Group::Website => {
            let (kind, label) = url_label(label);
            split_multi(value).for_each(|v| b.url(&kind, &label, v));
        }
        Group::Event => {
            let (kind, label) = date_label(label);
            b.date(kind, &label, value);
        }
        Group::Im => {
            let service = part_of(&cells, GroupPart::Service);
            split_multi(value).for_each(|v| b.im(service, label, v));
        }
        Group::Custom if label.eq_ignore_ascii_case(GOOGLE_UID_LABEL) => b.uid(value),
        Group::Organization | Group::Relation | Group::Custom => keep_all(b, &cells),
    }
}

/// Google's first organization: company, title and department; its other parts are kept.
fn map_organization(b: &mut Builder, cells: &[GroupCell]) {
    for (part, header, value) in cells {
        let field = match part {
            GroupPart::OrgName => Field::Company,
            GroupPart::OrgTitle => Field::Title,
            GroupPart::OrgDepartment => Field::Department,
            _ => {
                b.extra(header, value);
                continue;
            }
        };
        if !b.set(field, value) {
            b.extra(header, value);
        }
    }
}
