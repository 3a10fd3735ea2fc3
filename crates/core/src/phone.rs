//! Phone numbers: kept as the user typed them and, when they can be read, as E.164.
//!
//! People write numbers many ways: `(418) 656-9254 ext. 102`, `tel:+1-418-656-9254;ext=102`,
//! `1-800-FLOWERS`, `+44 (0)20 7946 0958`, `206 555 0100 (cell)`, `0011 44 20 7946 0958`.
//! [`PhoneNumber::parse`] first reads the text on its own (a [`Reading`]: the main number
//! with vanity letters turned into keypad digits and a trunk `(0)` after the country code
//! dropped, the extension kept apart, labels skipped), then hands the main number alone to
//! libphonenumber, which knows each country's trunk and international call prefixes.
//!
//! - `typed` is what the user wrote (trimmed) and is never rewritten: edit forms and
//!   exports that copy a number as is (CSV, the API) use it.
//! - `e164` is the main number's E.164 form, only when it is a valid number: a typo or a
//!   local number without its area code gets none rather than a made-up one.
//! - `extension` holds the extension's digits (`102`), never part of `e164` nor of the
//!   digits a number is matched or searched by.
//! - Text that holds no number (`ask reception`) is kept as typed, without E.164:
//!   [`PhoneNumber::has_number`] tells it apart. Only control characters and text over
//!   [`MAX_TYPED_LEN`] characters are refused.
//! - An extension written alone (`200`, `Ext 4410`, `x200`) is a short code: the main number
//!   is its digits, so caller ID finds the coworker calling from it and phones dial it.
//! - German direct-dial numbers (`030/1234567-12`) are one number: the digits after the
//!   dash are dialled straight through, so they stay in `e164` (as libphonenumber reads
//!   them) and are not an extension.
//! - Readers see [`PhoneNumber::display`]: the national format for numbers of the domain's
//!   country, the international one otherwise, then ` ext. 102`; what has no E.164 is
//!   shown as typed. Writers that reformat (vCard) use [`PhoneNumber::with_extension`].

use serde::{Deserialize, Serialize};

/// Longest number text we accept: room for a number, an extension and a label.
pub const MAX_TYPED_LEN: usize = 100;
/// Digit strings this short without a `+` are extensions or short codes: kept as they are.
const MAX_SHORT_CODE_DIGITS: usize = 6;
/// E.164 numbers have at most 15 digits; a typed number may add a trunk or exit prefix.
const MAX_E164_DIGITS: usize = 15;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PhoneNumber {
    /// Exactly as typed (trimmed).
    pub typed: String,
    /// `+12065550100`, or `null` for extensions, short codes and what is no valid number.
    pub e164: Option<String>,
    /// The extension's digits (`102` in `(418) 656-9254 ext. 102`), kept apart from `e164`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension: Option<String>,
}

/// A region (ISO 3166 alpha-2 code) used to read numbers written without `+`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Country(phonenumber::country::Id);

impl Country {
    pub fn parse(code: &str) -> Result<Country, String> {
        code.trim()
            .to_ascii_uppercase()
            .parse::<phonenumber::country::Id>()
            .map(Country)
            .map_err(|_| format!("`{code}` is not a country code (two letters, like US or DE)"))
    }

    pub fn code(self) -> String {
        format!("{:?}", self.0)
    }
}

/// Every region `Country::parse` reads (those of libphonenumber's metadata), for the API document.
pub const COUNTRY_CODES: [&str; 245] = [
    "AC", "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AR", "AS", "AT", "AU", "AW", "AX", "AZ", "BA", "BB", "BD",
    "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS", "BT", "BW", "BY", "BZ", "CA", "CC",
    "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN", "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ",
    "DK", "DM", "DO", "DZ", "EC", "EE", "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB",
    "GD", "GE", "GF", "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GT", "GU", "GW", "GY", "HK", "HN", "HR",
    "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM", "JO", "JP", "KE", "KG", "KH",
    "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC", "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY",
    "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK", "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV",
    "MW", "MX", "MY", "MZ", "NA", "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE",
    "PF", "PG", "PH", "PK", "PL", "PM", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW", "SA", "SB",
    "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS", "ST", "SV", "SX", "SY", "SZ",
    "TA", "TC", "TD", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO", "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "US",
    "UY", "UZ", "VA", "VC", "VE", "VG", "VI", "VN", "VU", "WF", "WS", "XK", "YE", "YT", "ZA", "ZM", "ZW",
];

/// A country code as the API takes it: one of [`COUNTRY_CODES`].
pub struct CountryCode;

impl utoipa::PartialSchema for CountryCode {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(COUNTRY_CODES))
            .examples(["US"])
            .into()
    }
}

impl utoipa::ToSchema for CountryCode {}

impl Default for Country {
    fn default() -> Self {
        Country(phonenumber::country::Id::US)
    }
}

impl PhoneNumber {
    /// Reads a number as typed. Empty input is `Ok(None)`; text without digits is kept as
    /// typed (see [`has_number`](Self::has_number)). Refuses only control characters and
    /// text over [`MAX_TYPED_LEN`] characters.
    pub fn parse(typed: &str, country: Country) -> Result<Option<PhoneNumber>, String> {
        let typed = typed.trim();
        if typed.is_empty() {
            return Ok(None);
        }
        if typed.chars().count() > MAX_TYPED_LEN {
            return Err(format!("a phone number has at most {MAX_TYPED_LEN} characters"));
        }
        if typed.chars().any(char::is_control) {
            return Err("a phone number cannot hold control characters (line breaks, tabs)".to_string());
        }
        let reading = Reading::of(typed);
        let e164 = reading.parsed(country).filter(phonenumber::is_valid).map(|parsed| e164_of(&parsed));
        Ok(Some(PhoneNumber { typed: typed.to_string(), e164, extension: reading.extension }))
    }

    /// A number as stored (typed and E.164): the extension is read again from `typed`.
    pub fn stored(typed: String, e164: Option<String>) -> PhoneNumber {
        let extension = Reading::of(&typed).extension;
        PhoneNumber { typed, e164, extension }
    }

    /// Whether digits of a main number were read (`false` for `ask reception`).
    pub fn has_number(&self) -> bool {
        self.e164.is_some() || !Reading::of(&self.typed).main_digits().is_empty()
    }

    /// Digits a search should find this number by: the main number as typed (vanity
    /// letters as keypad digits) and in E.164; never the extension.
    pub fn search_digits(&self) -> String {
        let mut digits = Reading::of(&self.typed).main_digits().to_string();
        if let Some(e164) = &self.e164 {
            digits.push(' ');
            digits.push_str(&digits_of(e164));
        }
        digits
    }
}

fn e164_of(parsed: &phonenumber::PhoneNumber) -> String {
    parsed.format().mode(phonenumber::Mode::E164).to_string()
}

/// Digits of the last part of a number a caller-ID look-up goes by.
const LOOKUP_KEY_DIGITS: usize = 7;

impl PhoneNumber {
    /// An extension or short code (`200`, `Ext 4410`): kept as typed, never read as a phone number.
    pub fn is_short_code(&self) -> bool {
        self.e164.is_none() && Reading::of(&self.typed).is_short_code()
    }

    /// The digits this number is compared by: those of its E.164 form, else those of the
    /// main number typed (vanity letters as keypad digits, without the extension).
    pub fn match_digits(&self) -> String {
        match &self.e164 {
            Some(e164) => digits_of(e164),
            None => Reading::of(&self.typed).main_digits().to_string(),
        }
    }

    /// What a caller-ID look-up finds this number by, however it was written: the last
    /// seven of its [`match_digits`](Self::match_digits), or all of them when fewer.
    /// Every caller-ID rule (same E.164, same national number, one number's digits ending
    /// the other's with seven or more) implies equal keys, so one indexed column finds
    /// every candidate.
    pub fn lookup_key(&self) -> String {
        let digits = self.match_digits();
        digits[digits.len().saturating_sub(LOOKUP_KEY_DIGITS)..].to_string()
    }

    /// The country calling code and national significant number the number reads as in
    /// `country` (`(1, "2065550100")` for `206.555.0100` in the US), even when it is outside
    /// the numbering plan; `None` for short codes and what cannot be read.
    pub fn national(&self, country: Country) -> Option<(u16, String)> {
        if self.is_short_code() {
            return None;
        }
        let parsed = match &self.e164 {
            Some(e164) => phonenumber::parse(Some(country.0), e164).ok()?,
            None => Reading::of(&self.typed).parsed(country)?,
        };
        let code = parsed.code().value();
        // The stored E.164 is what the number was read as: take its digits after the code.
        let national = match &self.e164 {
            Some(e164) => e164.strip_prefix(&format!("+{code}"))?.to_string(),
            None => parsed.national().to_string(),
        };
        Some((code, national))
    }
}

/// How a writer puts an extension after the main number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtensionStyle {
    /// An RFC 3966 URI, as vCard 4 writes numbers: `tel:+1-418-656-9254;ext=102`.
    Uri,
    /// The international format then ` x102`, as CSV files and vCard 3 carry it:
    /// `+1 418-656-9254 x102`.
    Text,
}

impl PhoneNumber {
    /// The number as a reader sees it in a domain of `country`: the national format for
    /// that country's numbers (`(206) 555-0100`, `020 7946 0958`), the international one
    /// for others (`+44 20 7946 0958`), then ` ext. 102`. Without E.164, as typed.
    pub fn display(&self, country: Country) -> String {
        let Some(parsed) = self.parsed_e164() else {
            return self.typed.clone();
        };
        let mode = match parsed.country().id() == Some(country.0) {
            true => phonenumber::Mode::National,
            false => phonenumber::Mode::International,
        };
        let mut shown = parsed.format().mode(mode).to_string();
        if let Some(extension) = &self.extension {
            shown.push_str(" ext. ");
            shown.push_str(extension);
        }
        shown
    }

    /// The main number and its extension written in `style`, for writers that reformat
    /// numbers; `None` without E.164, where writers keep [`typed`](Self::typed).
    pub fn with_extension(&self, style: ExtensionStyle) -> Option<String> {
        let parsed = self.parsed_e164()?;
        let (mode, mark) = match style {
            ExtensionStyle::Uri => (phonenumber::Mode::Rfc3966, ";ext="),
            ExtensionStyle::Text => (phonenumber::Mode::International, " x"),
        };
        let mut written = parsed.format().mode(mode).to_string();
        if let Some(extension) = &self.extension {
            written.push_str(mark);
            written.push_str(extension);
        }
        Some(written)
    }

    fn parsed_e164(&self) -> Option<phonenumber::PhoneNumber> {
        phonenumber::parse(None, self.e164.as_deref()?).ok()
    }
}

/// What the text of a number says before any numbering plan is consulted.
#[derive(Debug, Default, PartialEq, Eq)]
struct Reading {
    /// The main number: digits, after a `+` when written internationally; vanity letters
    /// as keypad digits, a trunk `(0)` after the country code dropped.
    main: String,
    /// The extension's digits.
    extension: Option<String>,
    /// Only an extension marker and digits (`Ext 4410`, `x200`).
    marked_extension_only: bool,
    /// Digits alone, nothing else typed (`200`).
    digits_only: bool,
}

impl Reading {
    fn of(typed: &str) -> Reading {
        let typed = typed.trim();
        let mut reading = match strip_prefix_ignore_case(typed, "tel:") {
            Some(uri) => Reading::of_uri(uri),
            None => Reading::of_text(typed),
        };
        reading.digits_only = !typed.is_empty() && typed.bytes().all(|b| b.is_ascii_digit());
        reading
    }

    /// An RFC 3966 `tel:` URI: `+1-418-656-9254;ext=102`, `656-9254;phone-context=+1-418`.
    fn of_uri(uri: &str) -> Reading {
        let mut parts = uri.split(';');
        let mut reading = Reading::of_text(parts.next().unwrap_or_default());
        for parameter in parts {
            let (name, value) = parameter.split_once('=').unwrap_or((parameter, ""));
            if name.eq_ignore_ascii_case("ext") && !digits_of(value).is_empty() {
                reading.extension = Some(digits_of(value));
            } else if name.eq_ignore_ascii_case("phone-context")
                && value.starts_with('+')
                && !reading.main.starts_with('+')
            {
                // A local number whose context is a global number prefix: prefix + local.
                reading.main = format!("+{}{}", digits_of(value), reading.main);
            }
        }
        reading
    }

    /// Free text, read token by token.
    fn of_text(text: &str) -> Reading {
        let tokens = tokens(text);
        let mut reading = Reading::default();
        // Parentheses open, and whether a label ended the main number.
        let (mut depth, mut ended) = (0usize, false);
        // Where the last vanity letters were: more may follow after a dash.
        let mut last_vanity = None;
        for (at, token) in tokens.iter().enumerate() {
            let after_number = !reading.main_digits().is_empty();
            if let Some(digits) = extension_after(&tokens, at, after_number) {
                if after_number {
                    reading.extension = Some(digits.to_string());
                } else {
                    // `Ext 4410` alone: the extension is the number to dial.
                    reading.main = digits.to_string();
                    reading.marked_extension_only = true;
                }
                break;
            }
            match token {
                Token::Plus if reading.main.is_empty() => reading.main.push('+'),
                Token::Open => depth += 1,
                Token::Close => depth = depth.saturating_sub(1),
                Token::Digits(digits) if !ended && !is_trunk_in_parentheses(&tokens, at, &reading.main) => {
                    reading.main.push_str(digits)
                }
                Token::Word(word) if depth == 0 && !ended && is_vanity(&tokens, at, last_vanity, &reading) => {
                    reading.main.extend(word.chars().filter_map(keypad_digit));
                    last_vanity = Some(at);
                }
                // A label after the number (`mobile`, `(cell)`) or a pause without an
                // extension (`206 555 0100, 206 555 0101`) ends it.
                Token::Word(_) | Token::Pause => ended |= !reading.main_digits().is_empty(),
                _ => {}
            }
        }
        reading
    }

    fn main_digits(&self) -> &str {
        self.main.trim_start_matches('+')
    }

    fn is_short_code(&self) -> bool {
        let digits = self.main_digits();
        (self.digits_only || self.marked_extension_only)
            && !self.main.starts_with('+')
            && self.extension.is_none()
            && (1..=MAX_SHORT_CODE_DIGITS).contains(&digits.len())
    }

    /// The main number as libphonenumber reads it in `country`, valid or not.
    fn parsed(&self, country: Country) -> Option<phonenumber::PhoneNumber> {
        let digits = self.main_digits();
        if self.is_short_code() || digits.is_empty() || digits.len() > MAX_E164_DIGITS + 3 {
            return None;
        }
        phonenumber::parse(Some(country.0), &self.main).ok()
    }
}

/// Text cut into what matters for reading a number.
#[derive(Debug, PartialEq, Eq)]
enum Token {
    Digits(String),
    /// Letters, lowercased.
    Word(String),
    Plus,
    Open,
    Close,
    /// `,` `;` `#`: a dialling pause or an extension mark when digits follow.
    Pause,
    /// A separator inside a number: `-` `.` `/` and unicode dashes.
    Joiner,
    /// Spaces of any kind.
    Space,
    /// Anything else (`:` `=` `*`…): skipped.
    Other,
}

fn tokens(text: &str) -> Vec<Token> {
    let mut tokens: Vec<Token> = Vec::new();
    for c in text.chars() {
        let token = if let Some(digit) = ascii_digit(c) {
            Token::Digits(digit.to_string())
        } else if c.is_alphabetic() {
            Token::Word(c.to_lowercase().collect())
        } else {
            match c {
                '+' | '\u{FF0B}' => Token::Plus,
                '(' | '[' => Token::Open,
                ')' | ']' => Token::Close,
                ',' | ';' | '#' => Token::Pause,
                '-' | '.' | '/' | '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FF0D}' => Token::Joiner,
                c if c.is_whitespace() => Token::Space,
                _ => Token::Other,
            }
        };
        match (tokens.last_mut(), token) {
            (Some(Token::Digits(run)), Token::Digits(more)) | (Some(Token::Word(run)), Token::Word(more)) => {
                run.push_str(&more)
            }
            (_, token) => tokens.push(token),
        }
    }
    tokens
}

/// ASCII and full-width digits.
fn ascii_digit(c: char) -> Option<char> {
    match c {
        '0'..='9' => Some(c),
        '\u{FF10}'..='\u{FF19}' => char::from_u32(c as u32 - 0xFF10 + '0' as u32),
        _ => None,
    }
}

/// The extension's digits when the token at `at` marks one: `x`, `ext`, `extn`,
/// `extension` (then `.`, `:`, `=` or spaces), or after a main number a pause (`,`, `;`,
/// `#`, `w`, `p`).
fn extension_after(tokens: &[Token], at: usize, after_number: bool) -> Option<&str> {
    let (marker, pause) = match &tokens[at] {
        Token::Word(word) => match word.as_str() {
            "x" | "ext" | "extn" | "extension" => (true, false),
            "w" | "p" => (after_number, true),
            _ => (false, false),
        },
        Token::Pause => (after_number, true),
        _ => (false, false),
    };
    if !marker {
        return None;
    }
    // The digits come past `.`, `:`, `=`, spaces and more pauses.
    let skipped = |t: &Token| matches!(t, Token::Joiner | Token::Space | Token::Other | Token::Pause);
    let from = at + 1 + tokens.get(at + 1..)?.iter().position(|t| !skipped(t))?;
    let Token::Digits(digits) = &tokens[from] else {
        return None;
    };
    // After a pause only the extension's digits may follow: `206 555 0100, 206 555 0101`
    // is two numbers, not an extension.
    let more = tokens[from + 1..].iter().any(|t| matches!(t, Token::Digits(_) | Token::Word(_)));
    (!pause || !more).then_some(digits.as_str())
}

/// `(0)` after a country code (`+44 (0)20`, `0044 (0)20`): the trunk prefix dialled
/// inside the country, not part of the international number.
fn is_trunk_in_parentheses(tokens: &[Token], at: usize, main: &str) -> bool {
    tokens[at] == Token::Digits("0".into())
        && at > 0
        && tokens[at - 1] == Token::Open
        && tokens.get(at + 1) == Some(&Token::Close)
        && !main.is_empty()
}

/// Words that label a number rather than spell it.
const LABELS: [&str; 14] = [
    "cell", "mobile", "home", "work", "office", "fax", "main", "direct", "tel", "phone", "voice", "pager", "private",
    "business",
];

/// Letters are part of the number (`1-800-FLOWERS`) when they follow its digits, or other
/// vanity letters, with at most a dash or dot between; a word after a space or in
/// parentheses is a label.
fn is_vanity(tokens: &[Token], at: usize, last_vanity: Option<usize>, reading: &Reading) -> bool {
    let Token::Word(word) = &tokens[at] else { return false };
    if !word.chars().all(|c| c.is_ascii_alphabetic()) || LABELS.contains(&word.as_str()) {
        return false;
    }
    if reading.main_digits().is_empty() {
        return false;
    }
    match at.checked_sub(1).map(|i| &tokens[i]) {
        Some(Token::Digits(_)) => true,
        Some(Token::Joiner) if at >= 2 => matches!(tokens[at - 2], Token::Digits(_)) || last_vanity == Some(at - 2),
        _ => false,
    }
}

/// The telephone keypad's digit for a letter (ITU E.161).
fn keypad_digit(letter: char) -> Option<char> {
    let digit = match letter.to_ascii_lowercase() {
        'a'..='c' => '2',
        'd'..='f' => '3',
        'g'..='i' => '4',
        'j'..='l' => '5',
        'm'..='o' => '6',
        'p'..='s' => '7',
        't'..='v' => '8',
        'w'..='z' => '9',
        _ => return None,
    };
    Some(digit)
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &text[prefix.len()..])
}

pub fn digits_of(text: &str) -> String {
    text.chars().filter(|c| c.is_ascii_digit()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_country_code_is_read_and_no_other() {
        for code in COUNTRY_CODES {
            assert!(Country::parse(code).is_ok(), "{code}");
        }
        for letter_a in 'A'..='Z' {
            for letter_b in 'A'..='Z' {
                let code = format!("{letter_a}{letter_b}");
                assert_eq!(Country::parse(&code).is_ok(), COUNTRY_CODES.contains(&code.as_str()), "{code}");
            }
        }
    }

    fn us(typed: &str) -> Result<Option<PhoneNumber>, String> {
        PhoneNumber::parse(typed, Country::default())
    }

    #[test]
    fn national_and_international_forms_meet_in_e164() {
        for typed in ["+1 (206) 555-0100", "2065550100", "(206) 555-0100", "1-206-555-0100", "+12065550100"] {
            assert_eq!(us(typed).unwrap().unwrap().e164.as_deref(), Some("+12065550100"), "{typed}");
        }
        let de = Country::parse("de").unwrap();
        let number = PhoneNumber::parse("030 1234567", de).unwrap().unwrap();
        assert_eq!(number.e164.as_deref(), Some("+49301234567"));
        assert_eq!(number.typed, "030 1234567");
    }

    #[test]
    fn numbers_outside_the_numbering_plan_get_no_e164() {
        let local = us("555-0100").unwrap().unwrap();
        assert_eq!((local.typed.as_str(), local.e164), ("555-0100", None));
        assert_eq!(us("030 1234567").unwrap().unwrap().e164, None, "a German national number is no US number");
    }

    #[test]
    fn extensions_stay_as_typed() {
        let ext = us("200").unwrap().unwrap();
        assert_eq!((ext.typed.as_str(), ext.e164, ext.extension), ("200", None, None));
        assert_eq!(us("  ").unwrap(), None);
    }

    #[test]
    fn only_control_characters_and_overlong_text_are_refused() {
        for bad in ["206 555\n0100", "206\t555 0100", "\u{7}", &"1".repeat(MAX_TYPED_LEN + 1)] {
            assert!(us(bad).is_err(), "{bad:?} accepted");
        }
        assert!(us(&"1".repeat(MAX_TYPED_LEN)).unwrap().is_some());
    }

    #[test]
    fn text_without_a_number_is_kept_as_typed() {
        for typed in ["ask reception", "n/a", "+", "call me", "-"] {
            let number = us(typed).unwrap().unwrap();
            assert_eq!(number, PhoneNumber { typed: typed.into(), e164: None, extension: None }, "{typed}");
            assert!(!number.has_number(), "{typed}");
            assert!(!number.is_short_code(), "{typed}");
            assert_eq!((number.match_digits(), number.national(Country::default())), (String::new(), None));
        }
        assert!(us("200").unwrap().unwrap().has_number());
        assert!(us("555-CALL").unwrap().unwrap().has_number());
    }

    /// Country (the domain's, for reading and display), as typed, E.164, extension, display.
    type Reads = (&'static str, &'static str, Option<&'static str>, Option<&'static str>, &'static str);

    const READINGS: &[Reads] = &[
        // Extensions in every usual spelling. 418 is Québec: shown as a number from abroad in the US.
        ("US", "(206) 555-0100 ext. 102", Some("+12065550100"), Some("102"), "(206) 555-0100 ext. 102"),
        ("US", "(418) 656-9254 ext. 102", Some("+14186569254"), Some("102"), "+1 418-656-9254 ext. 102"),
        ("US", "418-656-9254 Ext 102", Some("+14186569254"), Some("102"), "+1 418-656-9254 ext. 102"),
        ("US", "418.656.9254 x102", Some("+14186569254"), Some("102"), "+1 418-656-9254 ext. 102"),
        ("US", "418.656.9254 X. 102", Some("+14186569254"), Some("102"), "+1 418-656-9254 ext. 102"),
        ("US", "418 656 9254 extn 102", Some("+14186569254"), Some("102"), "+1 418-656-9254 ext. 102"),
        ("US", "418 656 9254 extension 102", Some("+14186569254"), Some("102"), "+1 418-656-9254 ext. 102"),
        ("US", "418 656 9254 ext: 102", Some("+14186569254"), Some("102"), "+1 418-656-9254 ext. 102"),
        ("US", "418 656 9254 #102", Some("+14186569254"), Some("102"), "+1 418-656-9254 ext. 102"),
        ("US", "+1-418-656-9254;ext=102", Some("+14186569254"), Some("102"), "+1 418-656-9254 ext. 102"),
        ("US", "+1 418 656 9254,,102", Some("+14186569254"), Some("102"), "+1 418-656-9254 ext. 102"),
        ("US", "+1 418 656 9254, 102", Some("+14186569254"), Some("102"), "+1 418-656-9254 ext. 102"),
        ("US", "4186569254;102", Some("+14186569254"), Some("102"), "+1 418-656-9254 ext. 102"),
        ("US", "4186569254w102", Some("+14186569254"), Some("102"), "+1 418-656-9254 ext. 102"),
        ("US", "4186569254p102", Some("+14186569254"), Some("102"), "+1 418-656-9254 ext. 102"),
        ("US", "418 656 9254 x", Some("+14186569254"), None, "+1 418-656-9254"),
        // RFC 3966 URIs.
        ("US", "tel:+1-418-656-9254", Some("+14186569254"), None, "+1 418-656-9254"),
        ("US", "TEL:+1.418.656.9254;ext=102", Some("+14186569254"), Some("102"), "+1 418-656-9254 ext. 102"),
        ("US", "tel:656-9254;phone-context=+1-418", Some("+14186569254"), None, "+1 418-656-9254"),
        ("US", "tel:(418)656-9254;phone-context=example.com", Some("+14186569254"), None, "+1 418-656-9254"),
        ("NZ", "tel:03-331-6005;phone-context=+64", Some("+6433316005"), None, "03 331 6005"),
        // Vanity letters, and labels that are not.
        ("US", "1-800-FLOWERS", Some("+18003569377"), None, "(800) 356-9377"),
        ("US", "1-800-Flowers x12", Some("+18003569377"), Some("12"), "(800) 356-9377 ext. 12"),
        ("US", "1-800-GOT-JUNK", Some("+18004685865"), None, "(800) 468-5865"),
        ("US", "555-CALL", None, None, "555-CALL"),
        ("US", "206 555 0100 (cell)", Some("+12065550100"), None, "(206) 555-0100"),
        ("US", "+1 206 555 0100 mobile", Some("+12065550100"), None, "(206) 555-0100"),
        ("US", "Mobile: 206 555 0100", Some("+12065550100"), None, "(206) 555-0100"),
        ("US", "206-555-0100 home", Some("+12065550100"), None, "(206) 555-0100"),
        ("US", "206 555 0100 (office) ext 7", Some("+12065550100"), Some("7"), "(206) 555-0100 ext. 7"),
        ("US", "206 555 0100, 206 555 0101", Some("+12065550100"), None, "(206) 555-0100"),
        ("US", "206 555 0100; fax 206 555 0101", Some("+12065550100"), None, "(206) 555-0100"),
        ("US", "206 555 0100, ext. 7", Some("+12065550100"), Some("7"), "(206) 555-0100 ext. 7"),
        // Mixed separators.
        ("US", "206/555/0100", Some("+12065550100"), None, "(206) 555-0100"),
        ("US", "206\u{a0}555\u{2013}0100", Some("+12065550100"), None, "(206) 555-0100"),
        ("US", "(206)\u{202f}555\u{2011}0100", Some("+12065550100"), None, "(206) 555-0100"),
        ("US", "[206] 555.0100", Some("+12065550100"), None, "(206) 555-0100"),
        ("US", "\u{ff12}\u{ff10}\u{ff16} 555 0100", Some("+12065550100"), None, "(206) 555-0100"),
        // International call prefixes of the domain's country.
        ("US", "011 44 20 7946 0958", Some("+442079460958"), None, "+44 20 7946 0958"),
        ("CA", "011 49 30 1234567", Some("+49301234567"), None, "+49 30 1234567"),
        ("US", "+44 (0)20 7946 0958", Some("+442079460958"), None, "+44 20 7946 0958"),
        // GB.
        ("GB", "020 7946 0958", Some("+442079460958"), None, "020 7946 0958"),
        ("GB", "+44 (0)20 7946 0958", Some("+442079460958"), None, "020 7946 0958"),
        ("GB", "+44 020 7946 0958", Some("+442079460958"), None, "020 7946 0958"),
        ("GB", "0044 20 7946 0958", Some("+442079460958"), None, "020 7946 0958"),
        ("GB", "+44 (0)7400 123456", Some("+447400123456"), None, "07400 123456"),
        // 07700 900xxx is Ofcom's range for drama: libphonenumber knows it is no number.
        ("GB", "+44 (0)7700 900123", None, None, "+44 (0)7700 900123"),
        ("GB", "020 7946 0958 ext 12", Some("+442079460958"), Some("12"), "020 7946 0958 ext. 12"),
        // DE: digits after a dash are a direct-dial extension, dialled as part of the number.
        ("DE", "030 1234567", Some("+49301234567"), None, "030 1234567"),
        ("DE", "+49 (0)30 1234567", Some("+49301234567"), None, "030 1234567"),
        ("DE", "0049 30 1234567", Some("+49301234567"), None, "030 1234567"),
        ("DE", "030/1234567", Some("+49301234567"), None, "030 1234567"),
        ("DE", "030/1234567-12", Some("+4930123456712"), None, "030 123456712"),
        ("DE", "+49 (0)30 1234567-12", Some("+4930123456712"), None, "030 123456712"),
        ("DE", "0151 23456789", Some("+4915123456789"), None, "01512 3456789"),
        // FR.
        ("FR", "01 23 45 67 89", Some("+33123456789"), None, "01 23 45 67 89"),
        ("FR", "01.23.45.67.89", Some("+33123456789"), None, "01 23 45 67 89"),
        ("FR", "+33 (0)1 23 45 67 89", Some("+33123456789"), None, "01 23 45 67 89"),
        ("FR", "0033 1 23 45 67 89", Some("+33123456789"), None, "01 23 45 67 89"),
        ("FR", "06 12 34 56 78", Some("+33612345678"), None, "06 12 34 56 78"),
        // AU.
        ("AU", "(02) 9876 5432", Some("+61298765432"), None, "(02) 9876 5432"),
        ("AU", "+61 (0)2 9876 5432", Some("+61298765432"), None, "(02) 9876 5432"),
        ("AU", "0011 44 20 7946 0958", Some("+442079460958"), None, "+44 20 7946 0958"),
        ("AU", "0011 61 2 9876 5432", Some("+61298765432"), None, "(02) 9876 5432"),
        ("AU", "0412 345 678", Some("+61412345678"), None, "0412 345 678"),
        // Short codes and extensions alone: the extension is the number to dial.
        ("US", "200", None, None, "200"),
        ("US", "Ext 4410", None, None, "Ext 4410"),
        ("US", "x200", None, None, "x200"),
    ];

    #[test]
    fn numbers_are_read_as_people_write_them() {
        for &(country, typed, e164, extension, display) in READINGS {
            let country = Country::parse(country).unwrap();
            let number = PhoneNumber::parse(typed, country).unwrap().unwrap();
            let expected =
                PhoneNumber { typed: typed.into(), e164: e164.map(Into::into), extension: extension.map(Into::into) };
            assert_eq!(number, expected, "{country:?} {typed:?}");
            assert_eq!(number.display(country), display, "{country:?} {typed:?}");
            assert!(number.has_number(), "{country:?} {typed:?}");
            let stored = PhoneNumber::stored(number.typed.clone(), number.e164.clone());
            assert_eq!(stored, number, "the extension is read again from what is stored");
        }
    }

    #[test]
    fn numbers_of_the_domains_country_are_shown_nationally_others_internationally() {
        let london = PhoneNumber::parse("+44 (0)20 7946 0958 x 3", Country::default()).unwrap().unwrap();
        assert_eq!(london.display(Country::default()), "+44 20 7946 0958 ext. 3");
        assert_eq!(london.display(Country::parse("GB").unwrap()), "020 7946 0958 ext. 3");
        let seattle = us("206.555.0100").unwrap().unwrap();
        assert_eq!(seattle.display(Country::parse("DE").unwrap()), "+1 206-555-0100");
        assert_eq!(seattle.display(Country::parse("CA").unwrap()), "+1 206-555-0100");
    }

    #[test]
    fn writers_get_the_extension_in_their_syntax() {
        let number = us("(418) 656-9254 ext. 102").unwrap().unwrap();
        assert_eq!(number.with_extension(ExtensionStyle::Uri).as_deref(), Some("tel:+1-418-656-9254;ext=102"));
        assert_eq!(number.with_extension(ExtensionStyle::Text).as_deref(), Some("+1 418-656-9254 x102"));
        let plain = PhoneNumber::parse("020 7946 0958", Country::parse("GB").unwrap()).unwrap().unwrap();
        assert_eq!(plain.with_extension(ExtensionStyle::Uri).as_deref(), Some("tel:+44-20-7946-0958"));
        assert_eq!(plain.with_extension(ExtensionStyle::Text).as_deref(), Some("+44 20 7946 0958"));
        for kept_as_typed in ["555-0100 ext 12", "200", "ask reception"] {
            let number = us(kept_as_typed).unwrap().unwrap();
            assert_eq!(number.with_extension(ExtensionStyle::Uri), None, "{kept_as_typed}");
            assert_eq!(number.with_extension(ExtensionStyle::Text), None, "{kept_as_typed}");
            assert_eq!(number.display(Country::default()), kept_as_typed);
        }
    }

    #[test]
    fn matching_and_search_use_the_main_number_only() {
        let number = us("(418) 656-9254 ext. 102").unwrap().unwrap();
        assert_eq!(number.match_digits(), "14186569254");
        assert_eq!(number.lookup_key(), "6569254");
        assert_eq!(number.search_digits(), "4186569254 14186569254");
        assert_eq!(number.national(Country::default()), Some((1, "4186569254".into())));
        let invalid = us("555-0100 ext 12").unwrap().unwrap();
        assert_eq!((invalid.e164.as_deref(), invalid.extension.as_deref()), (None, Some("12")));
        assert_eq!((invalid.match_digits().as_str(), invalid.lookup_key().as_str()), ("5550100", "5550100"));
        assert_eq!(invalid.national(Country::default()), Some((1, "5550100".into())));
        let vanity = us("555-CALL").unwrap().unwrap();
        assert_eq!((vanity.match_digits().as_str(), vanity.search_digits().as_str()), ("5552255", "5552255"));
        let labelled = us("206 555 0100 (cell)").unwrap().unwrap();
        assert_eq!(labelled.search_digits(), "2065550100 12065550100");
    }

    #[test]
    fn search_digits_cover_both_forms() {
        let number = us("(206) 555-0100").unwrap().unwrap();
        assert_eq!(number.search_digits(), "2065550100 12065550100");
    }

    #[test]
    fn every_form_of_a_number_has_the_same_lookup_key() {
        for typed in ["+1 (206) 555-0100", "206.555.0100", "12065550100", "555-0100", "5550100"] {
            assert_eq!(us(typed).unwrap().unwrap().lookup_key(), "5550100", "{typed}");
        }
        assert_eq!(us("200").unwrap().unwrap().lookup_key(), "200");
    }

    #[test]
    fn national_numbers_are_read_in_the_given_country() {
        let de = Country::parse("DE").unwrap();
        let national = |typed: &str, country| us(typed).unwrap().unwrap().national(country);
        assert_eq!(national("+1 206 555 0100", de), Some((1, "2065550100".into())));
        assert_eq!(national("206.555.0100", Country::default()), Some((1, "2065550100".into())));
        assert_eq!(national("5550100", Country::default()), Some((1, "5550100".into())));
        assert_eq!(national("200", Country::default()), None, "an extension");
        assert_eq!(national("030 1234567", de), Some((49, "301234567".into())), "without the trunk prefix");
    }

    #[test]
    fn short_codes_are_told_apart() {
        assert!(us("200").unwrap().unwrap().is_short_code());
        assert!(us("Ext 4410").unwrap().unwrap().is_short_code(), "an extension alone is dialled as one");
        assert_eq!(us("Ext 4410").unwrap().unwrap().lookup_key(), "4410", "caller ID finds the coworker");
        for longer in ["20-0", "5550100", "+12065550100", "+200", "200 ext 1", "call 200"] {
            assert!(!us(longer).unwrap().unwrap().is_short_code(), "{longer}");
        }
    }

    #[test]
    fn country_codes_are_checked() {
        assert_eq!(Country::parse("gb").unwrap().code(), "GB");
        assert!(Country::parse("XX").is_err());
        assert!(Country::parse("USA").is_err());
    }
}
