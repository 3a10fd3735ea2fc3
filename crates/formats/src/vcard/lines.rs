//! Physical lines to logical (unfolded) vCard lines, in bounded memory.
//!
//! Folding: a line starting with a space or tab continues the previous one. vCard 2.1
//! quoted-printable values also continue after a line ending in `=` (a soft line break).
//! Binary properties (`LOGO`, `SOUND`, `KEY`) are skipped as they stream by; a `PHOTO`
//! line has a larger limit of its own.

use std::io::{self, BufRead};

/// One unfolded line, as bytes (decoding depends on the property's CHARSET).
pub(crate) struct Line {
    pub bytes: Vec<u8>,
    /// The physical line it starts on, from 1.
    pub number: usize,
    /// It was longer than the limit and was cut.
    pub overlong: bool,
    /// A binary property that was not kept.
    pub skipped: bool,
    /// A `PHOTO` (its limit is the photo's, and going past it is no fault of the card).
    pub photo: bool,
}

struct Physical {
    bytes: Vec<u8>,
    overlong: bool,
}

pub(crate) struct LineReader<R> {
    inner: R,
    max: usize,
    /// The limit of a `PHOTO` line (at least `max`): physical lines are read up to it.
    photo_max: usize,
    line_number: usize,
    peeked: Option<Physical>,
}

/// Logos, sounds and keys: large, and not kept.
const SKIPPED: [&[u8]; 4] = [b"LOGO", b"SOUND", b"KEY", b"X-MS-CARDPICTURE"];

impl<R: BufRead> LineReader<R> {
    pub fn new(inner: R, max: usize, photo_max: usize) -> Self {
        LineReader { inner, max, photo_max: photo_max.max(max), line_number: 0, peeked: None }
    }

    /// Reads up to a line feed, keeping at most `photo_max` bytes of it (the caller cuts
    /// other lines to `max`).
    fn read_physical(&mut self) -> io::Result<Option<Physical>> {
        let mut bytes = Vec::new();
        let mut overlong = false;
        let mut any = false;
        loop {
            let buf = self.inner.fill_buf()?;
            if buf.is_empty() {
                break;
            }
            any = true;
            let end = buf.iter().position(|b| *b == b'\n');
            let chunk = &buf[..end.map_or(buf.len(), |i| i + 1)];
            let room = self.photo_max.saturating_sub(bytes.len());
            overlong |= chunk.len() > room;
            bytes.extend_from_slice(&chunk[..chunk.len().min(room)]);
            let used = chunk.len();
            self.inner.consume(used);
            if end.is_some() {
                break;
            }
        }
        if !any {
            return Ok(None);
        }
        while bytes.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            bytes.pop();
        }
        if self.line_number == 0 && bytes.starts_with(b"\xef\xbb\xbf") {
            bytes.drain(..3);
        }
        self.line_number += 1;
        Ok(Some(Physical { bytes, overlong }))
    }

    fn next_physical(&mut self) -> io::Result<Option<Physical>> {
        match self.peeked.take() {
            Some(line) => Ok(Some(line)),
            None => self.read_physical(),
        }
    }

    fn peek_physical(&mut self) -> io::Result<Option<&Physical>> {
        if self.peeked.is_none() {
            self.peeked = self.read_physical()?;
        }
        Ok(self.peeked.as_ref())
    }

    /// The next logical line, or `None` at the end of the input.
    pub fn next_line(&mut self) -> io::Result<Option<Line>> {
        let Some(first) = self.next_physical()? else { return Ok(None) };
        let number = self.line_number;
        let skipped = is_skipped(&first.bytes);
        let photo = property_name(&first.bytes).eq_ignore_ascii_case(b"PHOTO");
        let max = if photo { self.photo_max } else { self.max };
        let soft_breaks = !skipped && is_quoted_printable(&first.bytes);
        let mut line = Line { bytes: first.bytes, number, overlong: first.overlong, skipped, photo };
        if skipped {
            line.bytes.clear();
        }
        if line.bytes.len() > max {
            line.bytes.truncate(max);
            line.overlong = true;
        }
        while let Some(next) = self.peek_physical()? {
            let folded = next.bytes.first().is_some_and(|b| *b == b' ' || *b == b'\t');
            let soft = soft_breaks && line.bytes.ends_with(b"=") && !starts_with_ignore_case(&next.bytes, b"END:VCARD");
            if !folded && !soft {
                break;
            }
            let Some(next) = self.peeked.take() else { break };
            if skipped {
                continue;
            }
            if soft {
                line.bytes.pop();
            }
            let rest = if folded && !soft { &next.bytes[1..] } else { &next.bytes[..] };
            let room = max.saturating_sub(line.bytes.len());
            line.overlong |= next.overlong || rest.len() > room;
            line.bytes.extend_from_slice(&rest[..rest.len().min(room)]);
        }
        Ok(Some(line))
    }
}

fn starts_with_ignore_case(bytes: &[u8], start: &[u8]) -> bool {
    bytes.get(..start.len()).is_some_and(|b| b.eq_ignore_ascii_case(start))
}

/// The property name of a raw line, without its group (`item1.TEL;…` → `TEL`).
pub(crate) fn property_name(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().position(|b| *b == b';' || *b == b':').unwrap_or(bytes.len());
    let name = &bytes[..end];
    name.iter().rposition(|b| *b == b'.').map_or(name, |dot| &name[dot + 1..])
}

fn is_skipped(bytes: &[u8]) -> bool {
    let name = property_name(bytes);
    SKIPPED.iter().any(|s| name.eq_ignore_ascii_case(s))
}

/// Whether the parameters (before the first `:`) ask for quoted-printable.
fn is_quoted_printable(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.iter().position(|b| *b == b':').unwrap_or(bytes.len())];
    head.windows(16).any(|w| w.eq_ignore_ascii_case(b"QUOTED-PRINTABLE"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &[u8], max: usize) -> Vec<(String, usize, bool, bool)> {
        let mut reader = LineReader::new(text, max, max);
        let mut out = Vec::new();
        while let Some(line) = reader.next_line().unwrap() {
            out.push((String::from_utf8(line.bytes).unwrap(), line.number, line.overlong, line.skipped));
        }
        out
    }

    #[test]
    fn unfolds_and_keeps_line_numbers() {
        let text = b"\xef\xbb\xbfBEGIN:VCARD\r\nNOTE:ab\r\n c\r\n\td\r\nFN:x\nEND:VCARD";
        let got = lines(text, 100);
        let texts: Vec<(&str, usize)> = got.iter().map(|l| (l.0.as_str(), l.1)).collect();
        assert_eq!(texts, [("BEGIN:VCARD", 1), ("NOTE:abcd", 2), ("FN:x", 5), ("END:VCARD", 6)]);
    }

    #[test]
    fn quoted_printable_soft_breaks_join_lines() {
        let text = b"NOTE;ENCODING=QUOTED-PRINTABLE:one=0D=0A=\r\ntwo=\r\nthree\r\nEND:VCARD\r\n";
        let got = lines(text, 100);
        assert_eq!(got[0].0, "NOTE;ENCODING=QUOTED-PRINTABLE:one=0D=0Atwothree");
        assert_eq!(got[1].0, "END:VCARD");
    }

    #[test]
    fn logos_are_skipped_and_long_lines_cut() {
        let mut text = b"LOGO;ENCODING=b:".to_vec();
        text.extend(std::iter::repeat_n(b'A', 10_000));
        text.extend_from_slice(b"\r\n AAAA\r\nNOTE:");
        text.extend(std::iter::repeat_n(b'x', 50));
        let got = lines(&text, 20);
        assert_eq!(got[0], (String::new(), 1, true, true));
        assert_eq!(got[1], ("NOTE:xxxxxxxxxxxxxxx".into(), 3, true, false));
    }

    #[test]
    fn photos_have_a_limit_of_their_own() {
        let mut text = b"PHOTO;ENCODING=b:".to_vec();
        text.extend(std::iter::repeat_n(b'A', 40));
        text.extend_from_slice(b"\r\n AAAA\r\nNOTE:");
        text.extend(std::iter::repeat_n(b'x', 50));
        let mut reader = LineReader::new(&text[..], 20, 100);
        let photo = reader.next_line().unwrap().unwrap();
        assert_eq!((photo.bytes.len(), photo.overlong, photo.photo), (17 + 44, false, true));
        let note = reader.next_line().unwrap().unwrap();
        assert_eq!((note.bytes.len(), note.overlong, note.photo), (20, true, false));
        let mut reader = LineReader::new(&text[..], 20, 30);
        assert!(reader.next_line().unwrap().unwrap().overlong, "a photo past its own limit");
    }
}
