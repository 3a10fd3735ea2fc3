//! vCard 2.1, 3.0 and 4.0: a streaming reader (card by card) and the writer.

mod lines;
mod map;
mod parse;
mod photo;
pub(crate) mod write;

use std::io::{BufRead, BufReader};

use encoding_rs::{UTF_16BE, UTF_16LE, WINDOWS_1252};

use crate::charset::Charset;
use crate::csv_read::transcode;
use crate::{Detected, FileError, FilePhoto, ImportedRow, Input, MAX_PHOTO_LINE, ReadOptions, RowError, TextEncoding};
use lines::{Line, LineReader};
use map::map_card;
use parse::Property;

/// A card being read: its raw lines until `END:VCARD`.
struct Card {
    number: usize,
    /// The line of its BEGIN:VCARD.
    begun_on: usize,
    lines: Vec<Line>,
    too_many: bool,
}

pub(crate) struct CardRows<'a> {
    lines: LineReader<Box<dyn BufRead + Send + 'a>>,
    /// What a value without `CHARSET` is in (vCard 4.0 is always UTF-8).
    file_charset: Charset,
    options: ReadOptions,
    card: Option<Card>,
    cards: usize,
    done: bool,
    stopped: Option<FileError>,
}

impl<'a> CardRows<'a> {
    pub fn new(input: Input<'a>, detected: &Detected, options: ReadOptions) -> Result<Self, FileError> {
        let (input, file_charset) = match detected.encoding {
            TextEncoding::Utf16Le { .. } => (transcode(input, UTF_16LE), Charset::Utf8),
            TextEncoding::Utf16Be { .. } => (transcode(input, UTF_16BE), Charset::Utf8),
            TextEncoding::Utf8 { bom: true } => (input, Charset::Utf8),
            TextEncoding::Utf8 { bom: false } => (input, Charset::Utf8OrWindows1252),
            TextEncoding::Windows1252 => (input, Charset::Other(WINDOWS_1252)),
        };
        // Quoted-printable and escapes can triple a value's length on the line.
        let max_line = options.max_field_len.saturating_mul(3).saturating_add(256);
        let reader: Box<dyn BufRead + Send + 'a> = Box::new(BufReader::with_capacity(64 * 1024, input));
        Ok(CardRows {
            lines: LineReader::new(reader, max_line, MAX_PHOTO_LINE),
            file_charset,
            options,
            card: None,
            cards: 0,
            done: false,
            stopped: None,
        })
    }

    pub fn file_error(&self) -> Option<&FileError> {
        self.stopped.as_ref()
    }

    fn stop(&mut self, err: FileError, row: usize) -> RowError {
        self.done = true;
        let message = err.to_string();
        self.stopped = Some(err);
        RowError::new(row, None, message)
    }

    /// Starts a new card; an unfinished one before it is reported.
    fn begin(&mut self, line: &Line) -> Option<RowError> {
        self.cards += 1;
        if self.cards > self.options.max_rows {
            return Some(self.stop(FileError::TooManyRows { max: self.options.max_rows }, self.cards));
        }
        let unfinished =
            self.card.replace(Card { number: self.cards, begun_on: line.number, lines: Vec::new(), too_many: false });
        unfinished.map(|card| {
            let message = format!("no END:VCARD before the next BEGIN:VCARD (line {})", line.number);
            RowError::new(card.number, None, message)
        })
    }

    fn finish(&self, card: Card) -> Result<ImportedRow, RowError> {
        let row = card.number;
        if card.too_many {
            let message = format!("has more than {} properties", self.options.max_columns);
            return Err(RowError::new(row, None, message));
        }
        if let Some(line) = card.lines.iter().find(|l| l.overlong && !l.photo) {
            let name = String::from_utf8_lossy(lines::property_name(&line.bytes)).to_uppercase();
            let message = format!("is longer than {} bytes (line {})", self.options.max_field_len, line.number);
            return Err(RowError::new(row, Some(&name), message));
        }
        let properties: Vec<Property> = card.lines.iter().filter_map(|l| Property::parse(&l.bytes)).collect();
        let builder =
            map_card(&properties, self.file_charset).map_err(|(field, m)| RowError::new(row, Some(&field), m))?;
        let (uid, starred) = (builder.uid.clone(), builder.starred);
        let contact = builder.finish().map_err(|m| RowError::new(row, None, m))?;
        Ok(ImportedRow { row, uid, starred, contact, photo: card_photo(&card, &properties) })
    }
}

/// The card's first inline photo; one cut at the photo line limit is too large.
fn card_photo(card: &Card, properties: &[Property]) -> Option<Result<FilePhoto, String>> {
    if card.lines.iter().any(|l| l.photo && l.overlong) {
        let limit = switchboard_core::photo::MAX_PHOTO_BYTES / 1024;
        return Some(Err(format!("the photo is larger than {limit} KiB")));
    }
    let p = properties.iter().find(|p| p.name == "PHOTO" && !photo::is_linked(p))?;
    Some(photo::inline_photo(p))
}

fn is(line: &Line, text: &[u8]) -> bool {
    line.bytes.trim_ascii().eq_ignore_ascii_case(text)
}

impl Iterator for CardRows<'_> {
    type Item = Result<ImportedRow, RowError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            let line = match self.lines.next_line() {
                Ok(Some(line)) => line,
                Ok(None) => {
                    self.done = true;
                    // A file cut short is refused whole: its last card may have lost any line.
                    let card = self.card.take()?;
                    let cut_short = FileError::UnfinishedCard { card: card.number, line: card.begun_on };
                    return Some(Err(self.stop(cut_short, card.number)));
                }
                Err(err) => return Some(Err(self.stop(FileError::io(err), self.cards))),
            };
            if is(&line, b"BEGIN:VCARD") {
                match self.begin(&line) {
                    Some(err) => return Some(Err(err)),
                    None => continue,
                }
            }
            if is(&line, b"END:VCARD") {
                match self.card.take() {
                    Some(card) => return Some(self.finish(card)),
                    None => continue,
                }
            }
            // Lines outside a card, and binary properties, are of no use.
            let Some(card) = self.card.as_mut().filter(|_| !line.skipped) else { continue };
            if card.lines.len() < self.options.max_columns {
                card.lines.push(line);
            } else {
                card.too_many = true;
            }
        }
        None
    }
}
