//! Errors for a whole file and for one record.

use std::fmt;

use crate::Format;

/// The file as a whole cannot be read (or cannot be read further).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    #[error("the file is empty")]
    Empty,
    #[error("this is not a text file{}: export contacts as CSV or vCard", kind.map(|k| format!(" (it looks like {k})")).unwrap_or_default())]
    Binary { kind: Option<&'static str> },
    #[error(
        "the CSV header was not recognised: found columns {}; expected the columns of {expected}",
        quote_list(found)
    )]
    UnknownHeader { found: Vec<String>, expected: String },
    #[error("this is neither a CSV file with a header nor a vCard file (BEGIN:VCARD)")]
    UnknownFormat,
    #[error("expected {expected}, but the file is {found}")]
    WrongFormat { expected: Format, found: String },
    #[error("the file has more than {max} contacts; reading stopped there")]
    TooManyRows { max: usize },
    #[error("a record is longer than {max} bytes (is a quote on line {row} not closed?); reading stopped there")]
    RecordTooLong { row: usize, max: usize },
    #[error(
        "the file ends inside a quoted field that opens on row {row} in column \"{field}\": a closing quote is \
         missing, or the file was cut short"
    )]
    UnclosedQuote { row: usize, field: String },
    #[error(
        "the file ends inside card {card} (BEGIN:VCARD on line {line}), before its END:VCARD: the file was cut short"
    )]
    UnfinishedCard { card: usize, line: usize },
    #[error("the file could not be read: {0}")]
    Io(String),
}

impl FileError {
    pub(crate) fn io(err: std::io::Error) -> FileError {
        FileError::Io(err.to_string())
    }
}

fn quote_list(columns: &[String]) -> String {
    const SHOWN: usize = 8;
    let mut list: Vec<String> = columns.iter().take(SHOWN).map(|c| format!("\"{c}\"")).collect();
    if columns.len() > SHOWN {
        list.push(format!("and {} more", columns.len() - SHOWN));
    }
    list.join(", ")
}

/// One record could not be read; the others still can.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// Numbered like [`crate::ImportedRow::row`].
    pub row: usize,
    /// The CSV column header or vCard property name, when one field is at fault.
    pub field: Option<String>,
    pub message: String,
}

impl RowError {
    pub(crate) fn new(row: usize, field: Option<&str>, message: impl Into<String>) -> RowError {
        RowError { row, field: field.map(str::to_string), message: message.into() }
    }
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(f, "row {}, {field}: {}", self.row, self.message),
            None => write!(f, "row {}: {}", self.row, self.message),
        }
    }
}

impl std::error::Error for RowError {}
