//! Recognises encoding and format from the first bytes of a file.

use encoding_rs::{UTF_16BE, UTF_16LE, WINDOWS_1252};

use crate::tables::{Col, Dialect, GroupPart};
use crate::{Detected, FileError, Format, TextEncoding, Variant};

/// How many bytes [`crate::read`] looks at before deciding. A CSV header must fit in it.
pub const SNIFF_LEN: usize = 64 * 1024;

/// Detects encoding and format from the start of a file (at most [`SNIFF_LEN`] bytes are used).
pub fn detect(prefix: &[u8]) -> Result<Detected, FileError> {
    detect_as(prefix, None)
}

/// Like [`detect`], but a `forced` format must fit the file.
pub(crate) fn detect_as(prefix: &[u8], forced: Option<Format>) -> Result<Detected, FileError> {
    let prefix = &prefix[..prefix.len().min(SNIFF_LEN)];
    if prefix.is_empty() {
        return Err(FileError::Empty);
    }
    if let Some(kind) = magic(prefix) {
        return Err(FileError::Binary { kind: Some(kind) });
    }
    let encoding = sniff_encoding(prefix);
    let text = decode_prefix(prefix, encoding);
    if looks_binary(&text) {
        return Err(FileError::Binary { kind: None });
    }
    let text = text.trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n']);
    if text.is_empty() {
        return Err(FileError::Empty);
    }
    let (variant, delimiter) = if starts_with_ignore_case(text, "BEGIN:VCARD") {
        (vcard_version(text), None)
    } else {
        let (variant, delimiter) = csv_variant(text, forced)?;
        (variant, Some(delimiter))
    };
    if let Some(expected) = forced.filter(|f| *f != variant.format()) {
        return Err(FileError::WrongFormat { expected, found: variant.to_string() });
    }
    Ok(Detected { variant, encoding, delimiter })
}

/// Well-known binary signatures, to tell a person what they picked by mistake.
fn magic(prefix: &[u8]) -> Option<&'static str> {
    const SIGNATURES: [(&[u8], &str); 8] = [
        (b"\x89PNG\r\n\x1a\n", "a PNG image"),
        (b"GIF8", "a GIF image"),
        (b"\xff\xd8\xff", "a JPEG image"),
        (b"%PDF", "a PDF document"),
        (b"PK\x03\x04", "a ZIP archive or an Excel workbook; save it as CSV"),
        (b"\xd0\xcf\x11\xe0", "an old Excel workbook; save it as CSV"),
        (b"\x1f\x8b", "a gzip archive"),
        (b"\xff\xfe\x00\x00", "UTF-32 text, which is not supported"),
    ];
    SIGNATURES.iter().find(|(sig, _)| prefix.starts_with(sig)).map(|(_, kind)| *kind)
}

fn sniff_encoding(prefix: &[u8]) -> TextEncoding {
    if prefix.starts_with(b"\xef\xbb\xbf") {
        return TextEncoding::Utf8 { bom: true };
    }
    if prefix.starts_with(b"\xff\xfe") {
        return TextEncoding::Utf16Le { bom: true };
    }
    if prefix.starts_with(b"\xfe\xff") {
        return TextEncoding::Utf16Be { bom: true };
    }
    if let Some(encoding) = bomless_utf16(prefix) {
        return encoding;
    }
    if is_utf8_prefix(prefix) { TextEncoding::Utf8 { bom: false } } else { TextEncoding::Windows1252 }
}

/// ASCII text in UTF-16 has a NUL in every other byte: in the odd bytes for little-endian,
/// the even ones for big-endian. Text files never have that many NULs otherwise.
fn bomless_utf16(prefix: &[u8]) -> Option<TextEncoding> {
    let sample = &prefix[..prefix.len().min(4096)];
    let pairs = sample.len() / 2;
    if pairs < 4 {
        return None;
    }
    let zeros = |offset: usize| sample.iter().skip(offset).step_by(2).filter(|b| **b == 0).count();
    let (even, odd) = (zeros(0), zeros(1));
    let mostly = |n: usize| n * 10 >= pairs * 6;
    let hardly = |n: usize| n * 20 <= pairs;
    if mostly(odd) && hardly(even) {
        Some(TextEncoding::Utf16Le { bom: false })
    } else if mostly(even) && hardly(odd) {
        Some(TextEncoding::Utf16Be { bom: false })
    } else {
        None
    }
}

/// Valid UTF-8, allowing a character cut off by the end of the prefix.
fn is_utf8_prefix(prefix: &[u8]) -> bool {
    match std::str::from_utf8(prefix) {
        Ok(_) => true,
        Err(err) => err.error_len().is_none() && prefix.len() - err.valid_up_to() < 4,
    }
}

fn decode_prefix(prefix: &[u8], encoding: TextEncoding) -> String {
    match encoding {
        TextEncoding::Utf8 { .. } => String::from_utf8_lossy(prefix).into_owned(),
        TextEncoding::Utf16Le { bom } => {
            UTF_16LE.decode_without_bom_handling(&prefix[if bom { 2 } else { 0 }..]).0.into()
        }
        TextEncoding::Utf16Be { bom } => {
            UTF_16BE.decode_without_bom_handling(&prefix[if bom { 2 } else { 0 }..]).0.into()
        }
        TextEncoding::Windows1252 => WINDOWS_1252.decode_without_bom_handling(prefix).0.into(),
    }
}

/// NULs, or more than a few control characters, mean this is not a text file.
fn looks_binary(text: &str) -> bool {
    let mut chars = 0usize;
    let mut controls = 0usize;
    for c in text.chars() {
        chars += 1;
        if c == '\0' {
            return true;
        }
        if c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\x0c' | '\x1a') {
            controls += 1;
        }
    }
    controls >= 2 && controls * 100 > chars
}

fn starts_with_ignore_case(text: &str, start: &str) -> bool {
    text.get(..start.len()).is_some_and(|s| s.eq_ignore_ascii_case(start))
}

/// The first `VERSION:` line decides (a file may mix versions; each card is read by its own).
fn vcard_version(text: &str) -> Variant {
    let version = text
        .lines()
        .map(str::trim)
        .find(|line| starts_with_ignore_case(line, "VERSION:"))
        .map(|line| line["VERSION:".len()..].trim());
    match version {
        Some("2.1") => Variant::VCard21,
        Some("4.0") => Variant::VCard40,
        _ => Variant::VCard30,
    }
}

fn csv_variant(text: &str, forced: Option<Format>) -> Result<(Variant, u8), FileError> {
    let delimiter = sniff_delimiter(text);
    let header = read_header(text, delimiter).ok_or(FileError::UnknownFormat)?;
    if forced == Some(Format::VCard) {
        return Err(FileError::WrongFormat { expected: Format::VCard, found: "a CSV file".into() });
    }
    let allowed: Vec<Dialect> =
        Dialect::ALL.into_iter().filter(|d| forced.is_none_or(|f| f == dialect_format(*d))).collect();
    let dialect = best_dialect(&header, &allowed).ok_or_else(|| FileError::UnknownHeader {
        found: header.clone(),
        expected: allowed.iter().map(|d| d.example_columns()).collect::<Vec<_>>().join(" or "),
    })?;
    Ok((variant_of(dialect, &header), delimiter))
}

fn dialect_format(dialect: Dialect) -> Format {
    if dialect == Dialect::Google { Format::GoogleCsv } else { Format::OutlookCsv }
}

/// The most frequent of `,` `;` and tab on the header line, outside quotes.
fn sniff_delimiter(text: &str) -> u8 {
    let mut counts = [0usize; 3];
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '"' => quoted = !quoted,
            '\n' | '\r' if !quoted => break,
            ',' if !quoted => counts[0] += 1,
            ';' if !quoted => counts[1] += 1,
            '\t' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    let best = (0..3).max_by_key(|i| (counts[*i], std::cmp::Reverse(*i))).unwrap_or(0);
    [b',', b';', b'\t'][best]
}

fn read_header(text: &str, delimiter: u8) -> Option<Vec<String>> {
    let mut reader =
        csv::ReaderBuilder::new().delimiter(delimiter).has_headers(false).flexible(true).from_reader(text.as_bytes());
    let record = reader.records().next()?.ok()?;
    Some(record.iter().map(|h| h.trim().to_string()).collect())
}

/// The dialect that knows the most identifying columns of the header (names, company,
/// numbers, emails); ties go to the earlier dialect.
fn best_dialect(header: &[String], allowed: &[Dialect]) -> Option<Dialect> {
    let score = |dialect: &Dialect| header.iter().filter(|h| identifies(dialect.column(h))).count();
    let best = allowed.iter().copied().rev().max_by_key(score)?;
    (score(&best) > 0).then_some(best)
}

fn identifies(col: Col) -> bool {
    matches!(
        col,
        Col::First
            | Col::Last
            | Col::Company
            | Col::Phone(..)
            | Col::Email(..)
            | Col::Uid
            | Col::JobTitle
            | Col::Group(..)
    )
}

fn variant_of(dialect: Dialect, header: &[String]) -> Variant {
    let has = |name: &str| header.iter().any(|h| h.eq_ignore_ascii_case(name));
    match dialect {
        Dialect::Google => {
            let typed_group = header.iter().any(|h| {
                h.ends_with(" - Type") && matches!(Dialect::Google.column(h), Col::Group(_, _, GroupPart::Label))
            });
            if has("Given Name") || has("Family Name") || has("Group Membership") || typed_group {
                Variant::GoogleLegacy
            } else {
                Variant::GoogleCurrent
            }
        }
        Dialect::OutlookDe => Variant::OutlookGerman,
        Dialect::OutlookFr => Variant::OutlookFrench,
        Dialect::OutlookEn => {
            let desktop = has("E-mail Type") || has("User 1") || has("Business Street 2") || header.len() >= 80;
            let web = has("Given Yomi") || has("Surname Yomi") || has("Company Yomi");
            if web && !desktop { Variant::OutlookWeb } else { Variant::OutlookDesktop }
        }
    }
}

/// Which column table reads a detected CSV variant.
pub(crate) fn dialect_of(variant: Variant) -> Dialect {
    match variant {
        Variant::OutlookGerman => Dialect::OutlookDe,
        Variant::OutlookFrench => Dialect::OutlookFr,
        Variant::GoogleCurrent | Variant::GoogleLegacy => Dialect::Google,
        _ => Dialect::OutlookEn,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16le(text: &str) -> Vec<u8> {
        text.encode_utf16().flat_map(u16::to_le_bytes).collect()
    }

    #[test]
    fn encodings() {
        let enc = |bytes: &[u8]| detect(bytes).unwrap().encoding;
        assert_eq!(enc(b"First Name,Last Name\n"), TextEncoding::Utf8 { bom: false });
        assert_eq!(enc(b"\xef\xbb\xbfFirst Name,Last Name\n"), TextEncoding::Utf8 { bom: true });
        assert_eq!(enc(b"Vorname;Nachname\nJ\xfcrgen;M\xfcller\n"), TextEncoding::Windows1252);
        assert_eq!(enc(&utf16le("Name,Given Name,Family Name\n")), TextEncoding::Utf16Le { bom: false });
        let be: Vec<u8> = "BEGIN:VCARD\r\n".encode_utf16().flat_map(u16::to_be_bytes).collect();
        assert_eq!(enc(&be), TextEncoding::Utf16Be { bom: false });
    }

    #[test]
    fn a_character_cut_by_the_sniff_window_is_still_utf8() {
        let mut text = "First Name,Last Name\nJ".to_string().into_bytes();
        text.extend_from_slice(&"ü".as_bytes()[..1]);
        assert_eq!(detect(&text).unwrap().encoding, TextEncoding::Utf8 { bom: false });
    }

    #[test]
    fn delimiters_and_variants() {
        let d = detect(b"Vorname;Nachname;Firma;\"E-Mail-Adresse\"\r\n").unwrap();
        assert_eq!((d.variant, d.delimiter), (Variant::OutlookGerman, Some(b';')));
        let d = detect(b"First Name,Last Name,Given Yomi,Business Phone\n").unwrap();
        assert_eq!(d.variant, Variant::OutlookWeb);
        let d = detect(b"First Name\tLast Name\tOrganization Name\tPhone 1 - Value\n").unwrap();
        assert_eq!((d.variant, d.delimiter), (Variant::GoogleCurrent, Some(b'\t')));
        assert_eq!(detect(b"BEGIN:VCARD\nVERSION:2.1\n").unwrap().variant, Variant::VCard21);
        assert_eq!(detect(b"\n\nbegin:vcard\nversion:4.0\n").unwrap().variant, Variant::VCard40);
    }

    #[test]
    fn unknown_headers_say_what_was_expected() {
        let err = detect(b"id,amount,date\n1,2,3\n").unwrap_err();
        let FileError::UnknownHeader { found, expected } = &err else { panic!("{err:?}") };
        assert_eq!(found, &["id", "amount", "date"]);
        assert!(expected.contains("Business Phone") && expected.contains("Phone 1 - Value"), "{expected}");
        assert!(err.to_string().contains("\"amount\""));
    }

    #[test]
    fn binary_and_empty() {
        assert_eq!(detect(b""), Err(FileError::Empty));
        assert_eq!(detect(b"\r\n \n"), Err(FileError::Empty));
        assert_eq!(detect(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), Err(FileError::Binary { kind: Some("a PNG image") }));
        assert_eq!(detect(b"First\0Name\x01\x02"), Err(FileError::Binary { kind: None }));
        assert_eq!(detect(b"a\x01b\x02c\x03d,e\n"), Err(FileError::Binary { kind: None }));
    }

    #[test]
    fn a_forced_format_must_fit() {
        let err = detect_as(b"BEGIN:VCARD\nVERSION:3.0\n", Some(Format::GoogleCsv)).unwrap_err();
        assert_eq!(err.to_string(), "expected Google CSV, but the file is vCard 3.0");
        let d = detect_as(b"First Name,Last Name\n", Some(Format::GoogleCsv)).unwrap();
        assert_eq!(d.variant, Variant::GoogleCurrent);
    }
}
