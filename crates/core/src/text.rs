//! Text folding for search and sorting: one definition used by every back-end.

use unicode_normalization::{UnicodeNormalization, char::is_combining_mark};

use crate::phone::digits_of;

/// Lowercase with accents removed: `Élodie Ærø` → `elodie ærø`.
pub fn fold(text: &str) -> String {
    // ASCII has no accents to strip: the same result without Unicode decomposition,
    // which dominated the cost of building LDAP entries.
    if text.is_ascii() {
        return text.bytes().filter(|b| !b.is_ascii_control()).map(|b| char::from(b.to_ascii_lowercase())).collect();
    }
    text.nfd().filter(|c| !is_combining_mark(*c)).flat_map(char::to_lowercase).filter(|c| !c.is_control()).collect()
}

/// Separates the parts of a search text so a query never matches across two fields.
pub const FIELD_SEPARATOR: char = '\n';

/// Builds the text a substring search runs over from an entry's searchable parts.
pub fn search_text<'a>(words: impl IntoIterator<Item = &'a str>, numbers: impl IntoIterator<Item = String>) -> String {
    let mut parts: Vec<String> = words.into_iter().filter(|w| !w.is_empty()).map(fold).collect();
    parts.extend(numbers.into_iter().filter(|n| !n.is_empty()));
    parts.join(&FIELD_SEPARATOR.to_string())
}

/// The sort key for "by name": last name, then first name, then company. An entry
/// with no last name sorts by whichever name it has, so `Acme Corp` sorts under A.
pub fn name_sort_key(first: &str, last: &str, company: &str) -> String {
    let primary = [last, first, company].into_iter().find(|s| !s.trim().is_empty()).unwrap_or("");
    [primary, first, company].iter().map(|part| fold(part.trim())).collect::<Vec<_>>().join("\u{1}")
}

/// A user's search query, normalised the same way as the texts it is matched against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchTerm(String);

pub const MAX_QUERY_LEN: usize = 100;

impl SearchTerm {
    /// `None` for a blank query. A query that looks like a phone number is reduced to
    /// its digits, so `(206) 555-0100` and `2065550100` find the same entries.
    pub fn parse(query: &str) -> Result<Option<SearchTerm>, String> {
        let query = query.trim();
        if query.chars().count() > MAX_QUERY_LEN {
            return Err(format!("a search has at most {MAX_QUERY_LEN} characters"));
        }
        if query.is_empty() {
            return Ok(None);
        }
        let looks_like_number = query.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c))
            && query.chars().any(|c| c.is_ascii_digit());
        let term = if looks_like_number { digits_of(query) } else { fold(query) };
        Ok(Some(SearchTerm(term)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The pattern for `LIKE … ESCAPE '\'`.
    pub fn like_pattern(&self) -> String {
        let mut pattern = String::from("%");
        for c in self.0.chars() {
            if matches!(c, '%' | '_' | '\\') {
                pattern.push('\\');
            }
            pattern.push(c);
        }
        pattern.push('%');
        pattern
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_removes_case_and_accents() {
        assert_eq!(fold("Élodie MÜLLER"), "elodie muller");
        assert_eq!(fold("Zoë\u{7}"), "zoe");
    }

    #[test]
    fn ascii_folds_as_unicode_does() {
        let every_ascii: String = (0u8..=127).map(char::from).collect();
        let unicode_way: String = every_ascii
            .nfd()
            .filter(|c| !is_combining_mark(*c))
            .flat_map(char::to_lowercase)
            .filter(|c| !c.is_control())
            .collect();
        assert_eq!(fold(&every_ascii), unicode_way);
        assert_eq!(fold("Ann O'Neil\t<ann@EXAMPLE.com>"), "ann o'neil<ann@example.com>");
    }

    #[test]
    fn phone_like_queries_become_digits() {
        let term = SearchTerm::parse(" +1 (206) 555-0100 ").unwrap().unwrap();
        assert_eq!(term.as_str(), "12065550100");
        assert_eq!(SearchTerm::parse("Müll").unwrap().unwrap().as_str(), "mull");
        assert_eq!(SearchTerm::parse("   ").unwrap(), None);
        assert!(SearchTerm::parse(&"a".repeat(101)).is_err());
    }

    #[test]
    fn like_patterns_escape_wildcards() {
        let term = SearchTerm::parse("50%_a\\").unwrap().unwrap();
        assert_eq!(term.like_pattern(), "%50\\%\\_a\\\\%");
    }

    #[test]
    fn name_sort_key_uses_company_when_there_is_no_name() {
        assert!(name_sort_key("", "", "Acme") < name_sort_key("Bob", "Baker", ""));
        assert!(name_sort_key("Zed", "Adams", "") < name_sort_key("Al", "Baker", ""));
        assert!(name_sort_key("Émile", "Zola", "") > name_sort_key("Emil", "Zola", ""));
    }
}
