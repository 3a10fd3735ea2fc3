//! Phone numbers: kept as the user typed them and, when they can be read, as E.164.

use serde::{Deserialize, Serialize};

/// Longest number text we accept; real numbers with extensions stay well below.
const MAX_TYPED_LEN: usize = 40;
/// Digit strings this short without a `+` are extensions or short codes: kept as they are.
const MAX_SHORT_CODE_DIGITS: usize = 6;
/// E.164 numbers have at most 15 digits; a typed number may add a trunk or exit prefix.
const MAX_E164_DIGITS: usize = 15;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PhoneNumber {
    /// Exactly as typed (trimmed).
    pub typed: String,
    /// `+12065550100`, or `null` for extensions and short codes.
    pub e164: Option<String>,
    /// The extension's digits, kept apart from the main number.
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
    /// Reads a number as typed. Empty input is `Ok(None)`.
    pub fn parse(typed: &str, country: Country) -> Result<Option<PhoneNumber>, String> {
        let typed = typed.trim();
        if typed.is_empty() {
            return Ok(None);
        }
        if typed.chars().count() > MAX_TYPED_LEN {
            return Err(format!("a phone number has at most {MAX_TYPED_LEN} characters"));
        }
        let allowed = |c: char| c.is_ascii_digit() || " +-().,/#*x".contains(c);
        if let Some(bad) = typed.chars().find(|c| !allowed(c.to_ascii_lowercase())) {
            return Err(format!("`{typed}` is not a phone number: unexpected `{bad}`"));
        }
        let digits = digits_of(typed);
        if digits.is_empty() {
            return Err(format!("`{typed}` is not a phone number: it has no digits"));
        }
        if !typed.starts_with('+') && digits.len() <= MAX_SHORT_CODE_DIGITS && digits == typed {
            return Ok(Some(PhoneNumber { typed: typed.to_string(), e164: None, extension: None }));
        }
        if digits.len() > MAX_E164_DIGITS + 3 {
            return Err(format!("`{typed}` has too many digits for a phone number"));
        }
        let parsed = phonenumber::parse(Some(country.0), typed)
            .map_err(|_| format!("`{typed}` is not a phone number that can be dialled"))?;
        // A number that does not exist in its region's numbering plan (a typo, or a
        // local number without area code) is kept as typed, without a made-up E.164.
        let e164 = phonenumber::is_valid(&parsed).then(|| parsed.format().mode(phonenumber::Mode::E164).to_string());
        Ok(Some(PhoneNumber { typed: typed.to_string(), e164, extension: None }))
    }

    /// Digits a search should find this number by: as typed and in E.164.
    pub fn search_digits(&self) -> String {
        let mut digits = digits_of(&self.typed);
        if let Some(e164) = &self.e164 {
            digits.push(' ');
            digits.push_str(&digits_of(e164));
        }
        digits
    }
}

/// Digits of the last part of a number a caller-ID look-up goes by.
const LOOKUP_KEY_DIGITS: usize = 7;

impl PhoneNumber {
    /// An extension or short code (`200`): kept as typed, never read as a phone number.
    pub fn is_short_code(&self) -> bool {
        self.e164.is_none() && !self.typed.starts_with('+') && self.typed.len() <= MAX_SHORT_CODE_DIGITS && {
            let digits = digits_of(&self.typed);
            !digits.is_empty() && digits == self.typed
        }
    }

    /// The digits this number is compared by: those of its E.164 form, else those typed.
    pub fn match_digits(&self) -> String {
        digits_of(self.e164.as_deref().unwrap_or(&self.typed))
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
        let parsed = phonenumber::parse(Some(country.0), self.e164.as_deref().unwrap_or(&self.typed)).ok()?;
        let code = parsed.code().value();
        // The stored E.164 is what the number was read as: take its digits after the code.
        let national = match &self.e164 {
            Some(e164) => e164.strip_prefix(&format!("+{code}"))?.to_string(),
            None => parsed.national().to_string(),
        };
        Some((code, national))
    }
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
        assert_eq!((ext.typed.as_str(), ext.e164), ("200", None));
        assert_eq!(us("  ").unwrap(), None);
    }

    #[test]
    fn garbage_is_refused_with_a_reason() {
        for bad in ["call me", "555-CALL", "+", "=1+2", &"1".repeat(41), "123456789012345678901"] {
            assert!(us(bad).is_err(), "{bad:?} accepted");
        }
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
        for longer in ["20-0", "5550100", "+12065550100"] {
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
