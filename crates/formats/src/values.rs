//! Dates and numbers in each format's own syntax.

use switchboard_core::PhoneNumber;
use switchboard_core::phone::ExtensionStyle;

/// A date as a CSV cell holds it, in ISO form (`1985-04-12`) when it can be read:
/// ISO itself, or three numbers in the dialect's order (`4/12/1985` month first,
/// `12.04.1985` and `12/04/1985` day first). A time after the date is dropped. Anything
/// else comes back as it is, for the app to report.
pub(crate) fn locale_date(value: &str, day_first: bool) -> String {
    let value = value.trim();
    let date = value.split_whitespace().next().unwrap_or("");
    let parts: Vec<&str> = date.split(['/', '.', '-']).collect();
    let numbers: Option<Vec<u32>> = parts.iter().map(|p| p.parse().ok()).collect();
    match (numbers.as_deref(), parts.first().map(|p| p.len())) {
        (Some(&[year, month, day]), Some(4)) => format!("{year:04}-{month:02}-{day:02}"),
        (Some(&[a, b, year]), _) if parts[2].len() == 4 => {
            let (month, day) = if day_first { (b, a) } else { (a, b) };
            format!("{year:04}-{month:02}-{day:02}")
        }
        _ => value.to_string(),
    }
}

/// Outlook's all-zero date (`0/0/00`, German `0.0.00`), written in every empty date column.
pub(crate) fn is_zero_date(value: &str) -> bool {
    let value = value.trim();
    value.contains('0') && value.chars().all(|c| matches!(c, '0' | '/' | '.' | '-'))
}

/// `1985-04-12` as English Outlook writes it (`4/12/1985`); `None` without a year.
pub(crate) fn outlook_date(date: &str) -> Option<String> {
    let (year, month, day) = split_iso(date)?;
    Some(format!("{}/{}/{year}", month.trim_start_matches('0'), day.trim_start_matches('0')))
}

fn split_iso(date: &str) -> Option<(&str, &str, &str)> {
    let mut parts = date.splitn(3, '-');
    let (year, month, day) = (parts.next()?, parts.next()?, parts.next()?);
    (year.len() == 4).then_some((year, month, day))
}

/// A vCard date value: a time after it is dropped, and Apple's year-less dates
/// (`X-APPLE-OMIT-YEAR=1604` with `1604-04-12`) become `--04-12`.
pub(crate) fn vcard_date(value: &str, omit_year: Option<&str>) -> String {
    let date = value.trim();
    let date = date.split_once('T').map_or(date, |(day, _)| day);
    match omit_year {
        Some(year) if date.starts_with(year.trim()) && year.trim().len() == 4 => {
            let rest = date[4..].trim_start_matches('-');
            if rest.len() == 4 { format!("--{}-{}", &rest[..2], &rest[2..]) } else { format!("--{rest}") }
        }
        _ => date.to_string(),
    }
}

/// A date as vCard 4.0 writes it: the basic form (`19850412`, `--0412`).
pub(crate) fn v4_date(date: &str) -> String {
    match date.strip_prefix("--") {
        Some(rest) => format!("--{}", rest.replace('-', "")),
        None => date.replace('-', ""),
    }
}

/// A date as vCard 3.0 writes it: a year-less date the way Apple does, with a parameter.
pub(crate) fn v3_date(date: &str) -> (&'static str, String) {
    match date.strip_prefix("--") {
        Some(rest) => (";X-APPLE-OMIT-YEAR=1604", format!("1604-{rest}")),
        None => ("", date.to_string()),
    }
}

/// A number for CSV and vCard 3.0: as typed, except that a `tel:` URI or a `;ext=`
/// extension becomes `<number> x<extension>`, which every program reads: the
/// international form when the number has one (a `;phone-context=` is part of its
/// meaning), else the URI's text.
pub(crate) fn typed_text(number: &PhoneNumber) -> String {
    let typed = number.typed.as_str();
    let lower = typed.to_ascii_lowercase();
    let uri = lower.starts_with("tel:");
    if !uri && !lower.contains(";ext=") {
        return typed.to_string();
    }
    if let Some(text) = number.with_extension(ExtensionStyle::Text) {
        return text;
    }
    let body = if uri { &typed[4..] } else { typed };
    let mut parts = body.split(';');
    let main = parts.next().unwrap_or("").trim();
    let extension = parts.find_map(|p| {
        let (name, value) = p.split_once('=')?;
        name.trim().eq_ignore_ascii_case("ext").then(|| value.trim())
    });
    match extension {
        Some(ext) if !ext.is_empty() => format!("{main} x{ext}"),
        _ => main.to_string(),
    }
}

/// A number for vCard 4.0: an RFC 3966 `tel:` URI (`tel:+1-418-656-9254;ext=102`) when
/// it has an E.164 form, else the typed text. A `tel:` URI typed as such is kept as it is.
/// `true` for a URI.
pub(crate) fn v4_number(number: &PhoneNumber) -> (String, bool) {
    let typed = number.typed.as_str();
    if typed.get(..4).is_some_and(|s| s.eq_ignore_ascii_case("tel:")) {
        return (typed.to_string(), true);
    }
    match number.with_extension(ExtensionStyle::Uri) {
        Some(uri) => (uri, true),
        None => (typed_text(number), false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outlook_dates_in_each_locale() {
        assert_eq!(locale_date("4/12/1985", false), "1985-04-12");
        assert_eq!(locale_date("12.04.1985", true), "1985-04-12");
        assert_eq!(locale_date("12/04/1985", true), "1985-04-12");
        assert_eq!(locale_date("1985-04-12", true), "1985-04-12");
        assert_eq!(locale_date("4/12/1985 12:00:00 AM", false), "1985-04-12");
        assert_eq!(locale_date("April 12", false), "April 12");
        assert!(is_zero_date("0/0/00") && is_zero_date("0.0.00") && !is_zero_date("1/1/2000"));
        assert_eq!(outlook_date("1985-04-02").as_deref(), Some("4/2/1985"));
        assert_eq!(outlook_date("--04-02"), None);
    }

    #[test]
    fn vcard_dates() {
        assert_eq!(vcard_date("1604-04-12", Some("1604")), "--04-12");
        assert_eq!(vcard_date("16040412", Some("1604")), "--04-12");
        assert_eq!(vcard_date("1985-04-12T00:00:00Z", None), "1985-04-12");
        assert_eq!(v4_date("1985-04-12"), "19850412");
        assert_eq!(v4_date("--04-12"), "--0412");
        assert_eq!(v3_date("--04-12"), (";X-APPLE-OMIT-YEAR=1604", "1604-04-12".into()));
    }

    #[test]
    fn numbers_keep_their_text_but_not_uri_syntax_outside_vcard_4() {
        let us = switchboard_core::phone::Country::default();
        let text = |typed: &str| typed_text(&PhoneNumber::parse(typed, us).unwrap().unwrap());
        assert_eq!(text("+1 206 555 0100"), "+1 206 555 0100");
        assert_eq!(text("tel:+1-418-656-9254;ext=102"), "+1 418-656-9254 x102");
        assert_eq!(text("+1 418 656 9254;ext=102"), "+1 418-656-9254 x102");
        assert_eq!(text("tel:+1-418-656-9254"), "+1 418-656-9254");
        assert_eq!(text("tel:656-9254;phone-context=+1-418"), "+1 418-656-9254", "the context is kept");
        assert_eq!(text("tel:1234;ext=5"), "1234 x5", "no E.164: the URI's text");
        let uri = |typed: &str| v4_number(&PhoneNumber::parse(typed, us).unwrap().unwrap());
        assert_eq!(uri("+1 206 555 0100"), ("tel:+1-206-555-0100".into(), true));
        assert_eq!(uri("(418) 656-9254 ext. 102"), ("tel:+1-418-656-9254;ext=102".into(), true));
        assert_eq!(uri("200"), ("200".into(), false));
        assert_eq!(uri("ask reception"), ("ask reception".into(), false));
        assert_eq!(uri("tel:+1-418-656-9254;ext=102"), ("tel:+1-418-656-9254;ext=102".into(), true), "as typed");
    }
}
