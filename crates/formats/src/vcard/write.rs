//! vCard 3.0 and 4.0 output: escaped values, lines folded at 75 octets, CRLF.

use std::io::{self, Write};

use crate::ExportContact;
use crate::builder::present;

/// Longest line in octets, without its CRLF (RFC 2426 and RFC 6350 both say 75).
const LINE_OCTETS: usize = 75;

/// Text escaping: backslash, line break, comma and semicolon.
fn escape(value: &str) -> String {
    let value = value.replace("\r\n", "\n").replace('\r', "\n");
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            ',' => out.push_str("\\,"),
            ';' => out.push_str("\\;"),
            c => out.push(c),
        }
    }
    out
}

/// Writes `line` folded: at most 75 octets per line, continuations start with a space,
/// and a UTF-8 character is never split.
fn write_folded(out: &mut impl Write, line: &str) -> io::Result<()> {
    let mut rest = line;
    let mut limit = LINE_OCTETS;
    loop {
        if rest.len() <= limit {
            out.write_all(rest.as_bytes())?;
            return out.write_all(b"\r\n");
        }
        let mut cut = limit;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        out.write_all(&rest.as_bytes()[..cut])?;
        out.write_all(b"\r\n ")?;
        rest = &rest[cut..];
        limit = LINE_OCTETS - 1;
    }
}

pub(crate) fn write_card(out: &mut impl Write, export: &ExportContact, version4: bool) -> io::Result<()> {
    let c = &export.contact;
    let company_only = !present(&c.first_name) && !present(&c.last_name);
    let mut line = |text: String| write_folded(out, &text);
    line("BEGIN:VCARD".into())?;
    line(format!("VERSION:{}", if version4 { "4.0" } else { "3.0" }))?;
    if version4 && company_only {
        line("KIND:org".into())?;
    }
    line("PRODID:-//Switchboard//Contacts//EN".into())?;
    if present(&export.uid) {
        line(format!("UID:{}", escape(&export.uid)))?;
    }
    line(format!("FN:{}", escape(&display_name(c, company_only))))?;
    line(format!("N:{};{};;;", escape(&c.last_name), escape(&c.first_name)))?;
    if company_only && !version4 {
        // Apple's marker for a company card; 4.0 says KIND:org instead.
        line("X-ABShowAs:COMPANY".into())?;
    }
    for (name, value) in [("ORG", &c.company), ("TITLE", &c.title)] {
        if present(value) {
            line(format!("{name}:{}", escape(value)))?;
        }
    }
    let work = if present(&c.work_phone) { Some(&c.work_phone) } else { export.extension.as_ref() };
    let types = if version4 {
        ["work,voice", "cell,voice", "home,voice", "work,fax"]
    } else {
        ["WORK,VOICE", "CELL,VOICE", "HOME,VOICE", "WORK,FAX"]
    };
    let numbers = [work, Some(&c.mobile_phone), Some(&c.home_phone), Some(&c.fax)];
    for (types, number) in types.iter().zip(numbers) {
        if let Some(number) = number.filter(|n| present(n)) {
            line(format!("TEL;TYPE={types}:{}", escape(number)))?;
        }
    }
    if present(&c.email) {
        line(format!("EMAIL{}:{}", if version4 { "" } else { ";TYPE=INTERNET" }, escape(&c.email)))?;
    }
    if present(&c.notes) {
        line(format!("NOTE:{}", escape(&c.notes)))?;
    }
    if export.starred {
        // Google's group name for favorites; the reader maps it back.
        line("CATEGORIES:starred".into())?;
    }
    line("END:VCARD".into())
}

fn display_name(c: &switchboard_core::ContactInput, company_only: bool) -> String {
    if company_only {
        return c.company.clone();
    }
    let names: Vec<&str> =
        [&c.first_name, &c.last_name].into_iter().map(|n| n.trim()).filter(|n| !n.is_empty()).collect();
    names.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folded(line: &str) -> String {
        let mut out = Vec::new();
        write_folded(&mut out, line).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn folds_at_75_octets_without_splitting_characters() {
        let line = format!("NOTE:{}", "é".repeat(80));
        let text = folded(&line);
        for physical in text.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(physical.len() <= 75, "{} octets", physical.len());
        }
        let unfolded = text.trim_end_matches("\r\n").replace("\r\n ", "");
        assert_eq!(unfolded, line);
        assert_eq!(folded("FN:Ann"), "FN:Ann\r\n");
    }

    #[test]
    fn escapes() {
        assert_eq!(escape("a,b;c\\d\r\ne\rf\ng"), r"a\,b\;c\\d\ne\nf\ng");
    }
}
