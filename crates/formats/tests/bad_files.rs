//! Files a person may pick by mistake, and malformed records: clear errors, never a panic.

use switchboard_formats::{
    ExportFormat, FileError, Format, ImportedRow, ReadOptions, Reader, RowError, TextEncoding, read, write_all,
};

fn open(bytes: &[u8]) -> Result<Reader<'_>, FileError> {
    read(bytes, ReadOptions::default())
}

fn rows(bytes: &[u8]) -> Vec<Result<ImportedRow, RowError>> {
    open(bytes).unwrap().collect()
}

/// Row numbers and error messages, to compare whole outcomes at once.
fn outline(rows: &[Result<ImportedRow, RowError>]) -> Vec<String> {
    rows.iter()
        .map(|r| match r {
            Ok(row) => format!("{} ok {} {}", row.row, row.contact.first_name, row.contact.last_name),
            Err(err) => err.to_string(),
        })
        .collect()
}

#[test]
fn an_empty_file() {
    assert_eq!(open(b"").err(), Some(FileError::Empty));
    assert_eq!(open(b"\xef\xbb\xbf\r\n").err(), Some(FileError::Empty));
    assert_eq!(FileError::Empty.to_string(), "the file is empty");
}

#[test]
fn binary_garbage() {
    // A fixed pseudo-random sequence (an LCG), so the test is the same every time.
    let mut state = 0x2545_f491_u32;
    let garbage: Vec<u8> = (0..4096)
        .map(|_| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (state >> 24) as u8
        })
        .collect();
    assert_eq!(open(&garbage).err(), Some(FileError::Binary { kind: None }));
}

#[test]
fn a_png_renamed_csv() {
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";
    let err = open(png).err().unwrap();
    assert_eq!(err.to_string(), "this is not a text file (it looks like a PNG image): export contacts as CSV or vCard");
}

#[test]
fn an_excel_workbook() {
    let err = open(b"PK\x03\x04\x14\0\x06\0").err().unwrap();
    assert!(err.to_string().contains("Excel"), "{err}");
}

#[test]
fn a_header_only_csv_is_zero_rows_not_an_error() {
    for format in [ExportFormat::OutlookCsv, ExportFormat::GoogleCsv] {
        let template = write_all(Vec::new(), format, []).unwrap();
        let mut reader = open(&template).unwrap();
        assert_eq!(reader.detected().format(), format.format());
        assert!(reader.next().is_none());
        assert_eq!(reader.file_error(), None);
    }
    assert!(rows(b"First Name,Last Name").is_empty());
}

#[test]
fn an_unknown_header_names_the_expected_columns() {
    let err = open(b"Artikel;Preis;Menge\r\n1;2;3\r\n").err().unwrap();
    let text = err.to_string();
    assert!(
        text.starts_with("the CSV header was not recognised: found columns \"Artikel\", \"Preis\", \"Menge\""),
        "{text}"
    );
    assert!(text.contains("E-mail Address") && text.contains("Vorname") && text.contains("Phone 1 - Value"), "{text}");
}

#[test]
fn a_file_that_is_not_the_format_asked_for() {
    let options = ReadOptions { format: Some(Format::VCard), ..ReadOptions::default() };
    let err = read(&b"First Name,Last Name\nAnn,Lee\n"[..], options).err().unwrap();
    assert_eq!(err.to_string(), "expected vCard, but the file is a CSV file");
}

#[test]
fn a_row_with_500_columns_is_one_row_error() {
    let mut file = "First Name,Last Name\r\nAnn,Lee\r\n".to_string();
    file.push_str(&"x,".repeat(499));
    file.push_str("x\r\nBob,Ray\r\n");
    let got = rows(file.as_bytes());
    assert_eq!(outline(&got), ["2 ok Ann Lee", "row 3: has 500 cells, more than the 200 read", "4 ok Bob Ray"]);
}

#[test]
fn broken_quoting_stays_on_its_row() {
    // A quote inside an unquoted cell is kept; extra cells past the header are refused.
    let file = b"First Name,Last Name\nAn\"n,Lee\nBob,Ray,\"x\",y\nCy,Dee,,\n";
    let got = rows(file);
    assert_eq!(
        outline(&got),
        ["2 ok An\"n Lee", "row 3: has more cells than the header has columns (a stray quote?)", "4 ok Cy Dee"]
    );
}

#[test]
fn an_unclosed_quote_stops_reading_without_swallowing_the_file() {
    let mut file = b"First Name,Last Name\nAnn,Lee\nBob,\"Ray\n".to_vec();
    file.extend(b"Cy,Dee\n".repeat(400_000));
    let options = ReadOptions { max_record_len: 64 * 1024, ..ReadOptions::default() };
    let mut reader = read(file.as_slice(), options).unwrap();
    let got: Vec<_> = reader.by_ref().collect();
    assert_eq!(
        outline(&got),
        [
            "2 ok Ann Lee",
            "row 3: a record is longer than 65536 bytes (is a quote on line 3 not closed?); reading stopped there"
        ]
    );
    assert_eq!(reader.file_error(), Some(&FileError::RecordTooLong { row: 3, max: 64 * 1024 }));
}

#[test]
fn invalid_utf8_in_a_utf8_csv_is_reported_on_its_row() {
    let file = b"\xef\xbb\xbfFirst Name,Last Name,Notes\r\nAnn,Lee,ok\r\nBob,Ray,caf\xe9\r\nCy,Dee,\r\n";
    let got = rows(file);
    assert_eq!(
        outline(&got),
        ["2 ok Ann Lee", "row 3, Notes: is not valid UTF-8 (byte 0xE9 after \"caf\")", "4 ok Cy Dee"]
    );
}

#[test]
fn blank_rows_are_skipped_silently() {
    let got = rows(b"First Name,Last Name,Notes\n,,\n  , ,\nAnn,Lee,\n");
    assert_eq!(outline(&got), ["4 ok Ann Lee"]);
}

#[test]
fn a_vcard_without_end_before_the_next_card_is_an_error_for_that_card_only() {
    let file = b"BEGIN:VCARD\r\nVERSION:3.0\r\nN:Lee;Ann\r\nBEGIN:VCARD\r\nVERSION:3.0\r\nN:Ray;Bob\r\nEND:VCARD\r\n\
                 BEGIN:VCARD\r\nVERSION:3.0\r\nN:Dee;Cy\r\nEND:VCARD\r\n";
    let mut reader = open(file).unwrap();
    let got: Vec<_> = reader.by_ref().collect();
    assert_eq!(
        outline(&got),
        ["row 1: no END:VCARD before the next BEGIN:VCARD (line 4)", "2 ok Bob Ray", "3 ok Cy Dee"]
    );
    assert_eq!(reader.file_error(), None);
}

/// The csv crate ends a quoted field at the end of the file as if it were closed.
#[test]
fn a_csv_cut_short_inside_a_quoted_field_is_refused_whole() {
    let cut = b"First Name,Last Name\nBob,Ray\nAda,\"Love";
    let mut reader = open(cut).unwrap();
    let got: Vec<_> = reader.by_ref().collect();
    let message = "the file ends inside a quoted field that opens on row 3 in column \"Last Name\": \
                   a closing quote is missing, or the file was cut short";
    assert_eq!(outline(&got), ["2 ok Bob Ray".to_string(), format!("row 3: {message}")]);
    let stop = FileError::UnclosedQuote { row: 3, field: "Last Name".into() };
    assert_eq!(reader.file_error(), Some(&stop));
    assert_eq!(stop.to_string(), message);
}

#[test]
fn every_way_of_ending_inside_a_quote_is_found() {
    let cases: [(&[u8], usize, &str); 7] = [
        // CRLF lines, a note cut short after its line break.
        (b"First Name,Last Name,Notes\r\nBob,Ray,\"one\r\ntwo", 2, "Notes"),
        // A quote opened mid-file runs to the end: the rows after it are inside it.
        (b"First Name,Last Name\nAda,\"Love\nBob,Ray\nCy,Dee\n", 2, "Last Name"),
        // `""` is a quote inside the field, not its end.
        (b"First Name,Last Name\nAda,\"Love\"\"", 2, "Last Name"),
        // Google's columns, `;`-separated German Outlook, bare-`\r` lines.
        (b"Given Name,Family Name,Notes\r\nAda,Lovelace,\"first\r\n", 2, "Notes"),
        ("Vorname;Nachname\r\nAda;\"Love".as_bytes(), 2, "Nachname"),
        (b"First Name,Last Name\rBob,Ray\rAda,\"Love\rlace", 3, "Last Name"),
        // A cell past the header's columns.
        (b"First Name,Last Name\nAda,Love,\"x", 2, "column 3"),
    ];
    for (file, row, field) in cases {
        let mut reader = open(file).unwrap();
        let got: Vec<_> = reader.by_ref().collect();
        let text = String::from_utf8_lossy(file);
        let stop = FileError::UnclosedQuote { row, field: field.into() };
        assert_eq!(reader.file_error(), Some(&stop), "{text:?}: {:?}", outline(&got));
        assert!(got.last().is_some_and(Result::is_err), "{text:?}: the last row says why");
    }
    let utf16: Vec<u8> =
        "\u{feff}First Name,Last Name\r\nAda,\"Love".encode_utf16().flat_map(u16::to_le_bytes).collect();
    let mut reader = open(&utf16).unwrap();
    reader.by_ref().for_each(drop);
    assert_eq!(reader.file_error(), Some(&FileError::UnclosedQuote { row: 2, field: "Last Name".into() }));
}

#[test]
fn a_header_cut_short_inside_a_quote_is_refused() {
    let err = open(b"First Name,\"Last Name").err();
    assert_eq!(err, Some(FileError::UnclosedQuote { row: 1, field: "column 2".into() }));
}

#[test]
fn closed_quotes_and_stray_quotes_at_the_end_are_not_cut_short() {
    let whole: [&[u8]; 5] = [
        b"First Name,Last Name\nAda,\"Love\"",
        b"First Name,Last Name\nAda,\"Love\"\n",
        b"First Name,Last Name\nAda,\"Lo\"\"ve\"",
        // A quote inside an unquoted cell is kept as it is, even at the very end.
        b"First Name,Last Name\nAda,Love\"",
        b"First Name,Last Name,Notes\r\nAda,Love,\"one\r\ntwo\"\r\n",
    ];
    for file in whole {
        let mut reader = open(file).unwrap();
        let got: Vec<_> = reader.by_ref().collect();
        let text = String::from_utf8_lossy(file);
        assert_eq!(reader.file_error(), None, "{text:?}");
        assert!(got.len() == 1 && got[0].is_ok(), "{text:?}: {:?}", outline(&got));
    }
}

#[test]
fn a_vcard_cut_short_before_its_last_end_is_refused_whole() {
    let file = b"BEGIN:VCARD\r\nVERSION:3.0\r\nN:Lee;Ann\r\nEND:VCARD\r\n\
                 BEGIN:VCARD\r\nVERSION:3.0\r\nN:Ray;Bob\r\nNOTE:first line=\r\n";
    let mut reader = open(file).unwrap();
    let got: Vec<_> = reader.by_ref().collect();
    let message = "the file ends inside card 2 (BEGIN:VCARD on line 5), before its END:VCARD: the file was cut short";
    assert_eq!(outline(&got), ["1 ok Ann Lee".to_string(), format!("row 2: {message}")]);
    let stop = FileError::UnfinishedCard { card: 2, line: 5 };
    assert_eq!(reader.file_error(), Some(&stop));
    assert_eq!(stop.to_string(), message);
    // Cut in the middle of the END line itself.
    let mut reader = open(b"BEGIN:VCARD\r\nVERSION:3.0\r\nN:Lee;Ann\r\nEND:VCA").unwrap();
    reader.by_ref().for_each(drop);
    assert_eq!(reader.file_error(), Some(&FileError::UnfinishedCard { card: 1, line: 1 }));
}

#[test]
fn invalid_utf8_in_a_utf8_declared_vcard() {
    let file = b"BEGIN:VCARD\r\nVERSION:3.0\r\nN:Lee;Ann\r\nEND:VCARD\r\n\
                 BEGIN:VCARD\r\nVERSION:3.0\r\nN:Ray;Bob\r\nNOTE;CHARSET=UTF-8:caf\xe9\r\nEND:VCARD\r\n\
                 BEGIN:VCARD\r\nVERSION:4.0\r\nN:Dee;Cy\r\nNOTE:na\xefve\r\nEND:VCARD\r\n\
                 BEGIN:VCARD\r\nVERSION:3.0\r\nN:Eve;Ed\r\nEND:VCARD\r\n";
    let got = rows(file);
    assert_eq!(
        outline(&got),
        [
            "1 ok Ann Lee",
            "row 2, NOTE: is not valid UTF-8 (byte 0xE9 after \"caf\")",
            "row 3, NOTE: is not valid UTF-8 (byte 0xEF after \"na\")",
            "4 ok Ed Eve"
        ]
    );
}

#[test]
fn a_vcard_with_too_many_properties_or_a_huge_value() {
    let mut file = b"BEGIN:VCARD\r\nVERSION:3.0\r\nN:Lee;Ann\r\n".to_vec();
    file.extend(b"NOTE:x\r\n".repeat(300));
    file.extend(b"END:VCARD\r\nBEGIN:VCARD\r\nN:Ray;Bob\r\nNOTE:");
    file.extend(b"y".repeat(200_000));
    file.extend(b"\r\nEND:VCARD\r\nBEGIN:VCARD\r\nN:Dee;Cy\r\nEND:VCARD\r\n");
    let got = rows(&file);
    assert_eq!(
        outline(&got),
        ["row 1: has more than 200 properties", "row 2, NOTE: is longer than 32768 bytes (line 307)", "3 ok Cy Dee"]
    );
}

#[test]
fn bomless_utf16_is_read() {
    let text = "Given Name,Family Name,Group Membership\r\nSøren,Kierkegaard,* starred\r\n";
    let bytes: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let reader = open(&bytes).unwrap();
    assert_eq!(reader.detected().encoding, TextEncoding::Utf16Le { bom: false });
    let got: Vec<_> = reader.collect::<Result<_, _>>().unwrap();
    assert!(got[0].starred);
    assert_eq!(got[0].contact.first_name, "Søren");
}

#[test]
fn a_windows_1252_file_decodes_umlauts() {
    let reader = open(b"Vorname;Nachname;Firma\r\nJ\xfcrgen;Gr\xf6\xdfe;M\xfcller & S\xf6hne\r\n").unwrap();
    assert_eq!(reader.detected().encoding, TextEncoding::Windows1252);
    let row = reader.into_iter().next().unwrap().unwrap();
    assert_eq!((row.contact.first_name.as_str(), row.contact.last_name.as_str()), ("Jürgen", "Größe"));
    assert_eq!(row.contact.company, "Müller & Söhne");
}

#[test]
fn unknown_columns_are_kept_and_only_dropped_ones_are_listed_for_the_report() {
    let reader = open(b"First Name,Last Name,Gender,Hobby\nAnn,Lee,Unspecified,Chess\n").unwrap();
    assert!(reader.ignored_columns().is_empty());
    let row = reader.into_iter().next().unwrap().unwrap();
    let kept: Vec<(&str, &str)> = row.contact.extra.iter().map(|e| (e.name.as_str(), e.value.as_str())).collect();
    assert_eq!(kept, [("Hobby", "Chess")], "Outlook's \"not set\" gender is not kept");
    let google = open(b"First Name,Photo,Phone 1 - Value\nAnn,https://photo.example/1,200\n").unwrap();
    assert_eq!(google.ignored_columns(), ["Photo"]);
}

#[test]
fn old_mac_line_ends_are_read_with_their_line_numbers() {
    let got = rows(b"First Name,Last Name,Notes\rAnn,Lee,\"two\rlines\"\rBob,Ray,\r");
    assert_eq!(outline(&got), ["2 ok Ann Lee", "4 ok Bob Ray"]);
    assert_eq!(got[0].as_ref().unwrap().contact.notes, "two\nlines");
}

#[test]
fn a_guessed_utf8_file_reads_a_later_windows_byte_as_windows_1252() {
    // ASCII for longer than the sniffed prefix, then a Windows-1252 "é": UTF-8 was a guess.
    let mut file = b"First Name,Last Name\r\n".to_vec();
    file.extend(b"Ann,Lee\r\n".repeat(10_000));
    file.extend(b"Ren\xe9,Dupont\r\n");
    let got = rows(&file);
    assert_eq!(got.len(), 10_001);
    assert_eq!(got[10_000].as_ref().unwrap().contact.first_name, "René");
    let card = b"BEGIN:VCARD\r\nVERSION:3.0\r\nN:Dupont;Ren\xe9\r\nEND:VCARD\r\n";
    let mut file = b"BEGIN:VCARD\r\nVERSION:3.0\r\nN:Lee;Ann\r\nEND:VCARD\r\n".repeat(2_000);
    file.extend(card);
    assert_eq!(rows(&file)[2_000].as_ref().unwrap().contact.first_name, "René");
}
