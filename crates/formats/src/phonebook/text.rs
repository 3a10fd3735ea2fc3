//! Cutting names to what a phone shows, and keeping text XML can carry.

/// Characters most phones show of a name.
pub const NAME_CHARS: usize = 32;

/// The first `max` characters of `text` (trimmed), without leaving a combining mark,
/// joiner or emoji modifier cut off from the character it belongs to.
pub fn cut_chars(text: &str, max: usize) -> String {
    let text = text.trim();
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some((end, _)) => back_to_boundary(text, end).trim_end().to_string(),
    }
}

/// The longest start of `text` (trimmed) of at most `max` bytes, cut as [`cut_chars`] cuts.
pub fn cut_bytes(text: &str, max: usize) -> String {
    let text = text.trim();
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    back_to_boundary(text, end).trim_end().to_string()
}

/// `text[..end]`, shortened while the character at `end` would attach to the one before.
fn back_to_boundary(text: &str, mut end: usize) -> &str {
    while end > 0 && text[end..].chars().next().is_some_and(attaches_to_previous) {
        end = text[..end].char_indices().next_back().map_or(0, |(i, _)| i);
    }
    // A joiner left at the end would glue to nothing.
    text[..end].trim_end_matches('\u{200d}')
}

/// Characters drawn together with the one before them.
fn attaches_to_previous(c: char) -> bool {
    matches!(c,
        '\u{0300}'..='\u{036f}'   // combining diacritical marks
        | '\u{1ab0}'..='\u{1aff}'
        | '\u{1dc0}'..='\u{1dff}'
        | '\u{20d0}'..='\u{20ff}'
        | '\u{fe20}'..='\u{fe2f}'
        | '\u{200d}'              // zero-width joiner (emoji sequences)
        | '\u{fe00}'..='\u{fe0f}' // variation selectors
        | '\u{1f3fb}'..='\u{1f3ff}' // skin tones
        | '\u{e0020}'..='\u{e007f}' // tag characters (flag sequences)
    )
}

/// `name (label)` within `max` characters, cutting the name rather than the label.
pub fn with_label(name: &str, label: &str, max: usize) -> String {
    let suffix = format!(" ({label})");
    let room = max.saturating_sub(suffix.chars().count());
    format!("{}{suffix}", cut_chars(name, room))
}

/// The characters of a typed number a phone can dial: a leading `+`, digits, `*`, `#`.
pub fn dialable(typed: &str) -> String {
    let typed = typed.trim();
    let plus = if typed.starts_with('+') { "+" } else { "" };
    let rest: String = typed.chars().filter(|c| c.is_ascii_digit() || matches!(c, '*' | '#')).collect();
    if rest.is_empty() { String::new() } else { format!("{plus}{rest}") }
}

/// `text` without the characters XML 1.0 cannot carry, even escaped.
pub fn xml_chars(text: &str) -> std::borrow::Cow<'_, str> {
    let allowed =
        |c: char| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..);
    if text.chars().all(allowed) {
        text.into()
    } else {
        text.chars().filter(|c| allowed(*c)).collect::<String>().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_count_characters_not_bytes() {
        assert_eq!(cut_chars("Zoë Ångström-Ølsen", 5), "Zoë Å");
        assert_eq!(cut_chars("  short  ", 32), "short");
        assert_eq!(cut_chars("ab cd", 3), "ab");
    }

    #[test]
    fn cuts_keep_accents_and_emoji_sequences_whole() {
        // "e" + combining acute: cutting after "e" would strip the accent off.
        assert_eq!(cut_chars("Rene\u{301}e", 4), "Ren");
        // Thumbs up with a skin tone, and a family joined by ZWJs.
        assert_eq!(cut_chars("Ok \u{1f44d}\u{1f3fd}", 4), "Ok");
        assert_eq!(cut_chars("\u{1f468}\u{200d}\u{1f469}\u{200d}\u{1f467}", 2), "\u{1f468}");
    }

    #[test]
    fn byte_cuts_fall_on_character_boundaries() {
        assert_eq!(cut_bytes("Ångström", 2), "Å");
        assert_eq!(cut_bytes("Ångström", 1), "");
        assert_eq!(cut_bytes("\u{1f600}\u{1f600}", 5), "\u{1f600}");
        assert_eq!(cut_bytes("plain", 40), "plain");
    }

    #[test]
    fn labels_survive_cutting() {
        assert_eq!(with_label("Bartholomew Featherstonehaugh-Smythe", "Mobile", 20), "Bartholomew (Mobile)");
    }

    #[test]
    fn numbers_keep_only_what_dials() {
        assert_eq!(dialable("+1 (206) 555-0100"), "+12065550100");
        assert_eq!(dialable("*72#"), "*72#");
        assert_eq!(dialable("n/a"), "");
    }

    #[test]
    fn control_characters_are_dropped() {
        assert_eq!(xml_chars("a\u{1}b\u{fffe}c\td"), "abc\td");
        assert!(matches!(xml_chars("plain & <fine>"), std::borrow::Cow::Borrowed(_)));
    }
}
