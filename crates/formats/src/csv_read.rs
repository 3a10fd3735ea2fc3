//! Streaming CSV reader for Outlook and Google files.
//!
//! UTF-16 is transcoded to UTF-8 on the fly (`encoding_rs_io`); UTF-8 and Windows-1252
//! are parsed as bytes and decoded cell by cell, so a cell with invalid UTF-8 is reported
//! on its row instead of being silently replaced.

use std::io::{self, Read};

use encoding_rs::{UTF_16BE, UTF_16LE, WINDOWS_1252};
use encoding_rs_io::DecodeReaderBytesBuilder;

use crate::builder::{Builder, Section, normalize_newlines, present};
use crate::charset::Charset;
use crate::detect::dialect_of;
use crate::guard::unguard;
use crate::tables::{Col, Dialect, GOOGLE_UID_LABEL, Group, GroupPart, Part, phone_label};
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
            ignored: Vec::new(),
            options,
            record: csv::ByteRecord::new(),
            records: 0,
            cr_lines: cr_only.then_some(1),
            done: false,
            stopped: None,
        };
        rows.read_header(dialect_of(detected.variant))?;
        Ok(rows)
    }

    fn read_header(&mut self, dialect: Dialect) -> Result<(), FileError> {
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
        let builder = map_row(&self.columns, values);
        if builder.is_blank() {
            return Ok(None);
        }
        let (uid, starred) = (builder.uid.clone(), builder.starred);
        let contact = builder.finish().map_err(|m| RowError::new(row, None, m))?;
        Ok(Some(ImportedRow { row, uid, starred, contact }))
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

/// Google's numbered group: label and value, or address / organization parts.
#[derive(Default)]
struct GroupCells {
    label: String,
    value: String,
    address: Vec<(Part, String)>,
    org: [String; 3],
}

/// Everything one row says, gathered before it is filed (groups and addresses span columns).
#[derive(Default)]
struct RowParts {
    first: String,
    middle: String,
    full_name: String,
    addresses: Vec<(&'static str, Vec<(Part, String)>)>,
    groups: std::collections::BTreeMap<(Group, u32), GroupCells>,
}

fn map_row(columns: &[Col], cells: Vec<String>) -> Builder {
    let mut b = Builder::default();
    let mut parts = RowParts::default();
    for (col, value) in columns.iter().zip(cells) {
        if present(&value) {
            map_cell(&mut b, &mut parts, *col, value);
        }
    }
    b.first_name(&parts.first);
    b.first_name(&parts.middle);
    for (label, address) in parts.addresses {
        b.extra(Section::Address, label, &one_line_address(address));
    }
    for ((group, _), cells) in parts.groups {
        map_group(&mut b, group, cells);
    }
    b.full_name(&parts.full_name);
    b
}

fn map_cell(b: &mut Builder, parts: &mut RowParts, col: Col, value: String) {
    match col {
        Col::Ignored => {}
        Col::NamePrefix => b.extra(Section::Name, "Name prefix", &value),
        Col::First => parts.first = value,
        Col::Middle => parts.middle = value,
        Col::Last => b.last_name(&value),
        Col::FullName => parts.full_name = value,
        Col::NameSuffix => b.extra(Section::Name, "Name suffix", &value),
        Col::Company => b.company(&value),
        Col::Department => b.extra(Section::Organization, "Department", &value),
        Col::JobTitle => b.title(&value),
        Col::Phone(kind, label) => b.phone(kind, label, &value),
        Col::Email => b.email(None, &value),
        Col::Notes => b.note(&value),
        Col::Uid => b.uid(&value),
        // Outlook writes an all-zero date (`0/0/00`, German `0.0.00`) in every empty date column.
        Col::Extra(_, _) if is_zero_date(&value) => {}
        Col::Extra(section, label) => b.extra(section, label, &value),
        Col::Address(label, part) => match parts.addresses.iter_mut().find(|(l, _)| *l == label) {
            Some((_, address)) => address.push((part, value)),
            None => parts.addresses.push((label, vec![(part, value)])),
        },
        Col::Labels => map_labels(b, &value),
        Col::Group(group, number, part) => {
            let cells = parts.groups.entry((group, number)).or_default();
            match part {
                GroupPart::Label => cells.label = value,
                GroupPart::Value => cells.value = value,
                GroupPart::Address(part) => cells.address.push((part, value)),
                GroupPart::OrgName => cells.org[0] = value,
                GroupPart::OrgTitle => cells.org[1] = value,
                GroupPart::OrgDepartment => cells.org[2] = value,
                GroupPart::Ignored => {}
            }
        }
    }
}

fn is_zero_date(value: &str) -> bool {
    let value = value.trim();
    value.contains('0') && value.chars().all(|c| matches!(c, '0' | '/' | '.' | '-'))
}

/// Google joins several values of one cell with ` ::: `.
fn split_multi(value: &str) -> impl Iterator<Item = &str> {
    value.split(" ::: ").filter(|v| present(v))
}

/// Google's `Labels`: `* starred` is a favorite, other `* ` groups are Google's own.
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
    b.extra(Section::Other, "Labels", &own.join(", "));
}

fn labelled(kind: &str, label: &str) -> String {
    let label = label.trim().trim_start_matches("* ").trim();
    if label.is_empty() { kind.to_string() } else { format!("{kind} ({})", label.to_lowercase()) }
}

fn map_group(b: &mut Builder, group: Group, cells: GroupCells) {
    let GroupCells { label, value, address, org } = cells;
    match group {
        Group::Phone => {
            let (kind, notes_label) = phone_label(&label);
            split_multi(&value).for_each(|v| b.phone(kind, &notes_label, v));
        }
        Group::Email => {
            let label = label.trim().trim_start_matches("* ");
            split_multi(&value).for_each(|v| b.email(Some(label), v));
        }
        Group::Address => {
            let text = if present(&value) { value } else { one_line_address(address) };
            let label = labelled("Address", &label);
            split_multi(&text).for_each(|v| b.extra(Section::Address, &label, v));
        }
        Group::Organization => {
            b.company(&org[0]);
            b.title(&org[1]);
            b.extra(Section::Organization, "Department", &org[2]);
        }
        Group::Website => split_multi(&value).for_each(|v| b.extra(Section::Web, &labelled("Website", &label), v)),
        Group::Custom if label.trim().eq_ignore_ascii_case(GOOGLE_UID_LABEL) => b.uid(&value),
        Group::Custom | Group::Event | Group::Relation => {
            let fallback = match group {
                Group::Event => "Date",
                Group::Relation => "Relation",
                _ => "Custom field",
            };
            let label = label.trim().trim_start_matches("* ").trim();
            b.extra(Section::Other, if label.is_empty() { fallback } else { label }, &value);
        }
        Group::Im => split_multi(&value).for_each(|v| b.extra(Section::Other, &labelled("IM", &label), v)),
    }
}

/// Address parts in reading order: "1 Main St, Springfield, IL, 62701, USA".
fn one_line_address(mut parts: Vec<(Part, String)>) -> String {
    parts.sort_by_key(|(part, _)| *part);
    if let Some((_, formatted)) = parts.iter().find(|(p, _)| *p == Part::Formatted) {
        return formatted.clone();
    }
    let lines: Vec<&str> = parts.iter().map(|(_, v)| v.as_str()).filter(|v| present(v)).collect();
    lines.join(", ")
}
