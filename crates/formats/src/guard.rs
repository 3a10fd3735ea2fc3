//! The CSV formula-injection guard (CWE-1236) and its exact inverse.
//!
//! Spreadsheets run a cell starting with `=`, `+`, `-` or `@` (and some a tab or carriage
//! return) as a formula; a leading `'` makes it text. A value that already starts with
//! `'`s followed by such a character gets one more `'`, so reading removes exactly one
//! and every value survives a write and a read unchanged.

const TRIGGERS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

fn needs_guard(value: &str) -> bool {
    value.trim_start_matches('\'').starts_with(TRIGGERS)
}

/// A phone number stays dialable: digits, `+ ( ) - .` and spaces, with at least one digit,
/// and maybe an extension ` x102` (no letter else, so no function can be called).
pub(crate) fn is_phone_like(value: &str) -> bool {
    let main = match value.rsplit_once(" x") {
        Some((main, ext)) if !ext.is_empty() && ext.chars().all(|c| c.is_ascii_digit()) => main,
        _ => value,
    };
    main.chars().any(|c| c.is_ascii_digit())
        && main.chars().all(|c| c.is_ascii_digit() || matches!(c, '+' | '(' | ')' | '-' | '.' | ' '))
}

/// The cell text for `value`; `phone` marks a phone column.
pub(crate) fn guard(value: &str, phone: bool) -> std::borrow::Cow<'_, str> {
    if needs_guard(value) && !(phone && is_phone_like(value)) { format!("'{value}").into() } else { value.into() }
}

/// The value a guarded cell stands for.
pub(crate) fn unguard(cell: String) -> String {
    match cell.strip_prefix('\'') {
        Some(rest) if needs_guard(rest) => rest.to_string(),
        _ => cell,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_guarded_and_numbers_stay_dialable() {
        assert_eq!(guard("=1+2", false), "'=1+2");
        assert_eq!(guard("@SUM(A1)", false), "'@SUM(A1)");
        assert_eq!(guard("\tx", false), "'\tx");
        assert_eq!(guard("\rx", false), "'\rx");
        assert_eq!(guard("+1 206 555 0100", true), "+1 206 555 0100");
        assert_eq!(guard("+1 206 555 0100", false), "'+1 206 555 0100");
        assert_eq!(guard("-5", true), "-5");
        assert_eq!(guard("=HYPERLINK(\"x\")", true), "'=HYPERLINK(\"x\")");
        assert_eq!(guard("+", true), "'+");
        assert_eq!(guard("+1-418-656-9254 x102", true), "+1-418-656-9254 x102");
        assert_eq!(guard("+1 x", true), "'+1 x");
        assert_eq!(guard("+1 xA1", true), "'+1 xA1");
        assert_eq!(guard("Ann", false), "Ann");
    }

    #[test]
    fn values_starting_with_a_quote_survive() {
        for value in ["'=x", "''=x", "'x", "'", "''", "=x", "x'", "'+1 206", "-"] {
            for phone in [false, true] {
                assert_eq!(unguard(guard(value, phone).into_owned()), value, "{value:?} phone={phone}");
            }
        }
        assert_eq!(guard("'=x", false), "''=x");
        assert_eq!(guard("'x", false), "'x");
    }
}
