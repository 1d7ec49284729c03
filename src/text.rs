//! Quoting untrusted input in messages, bounded: an error names what it refused (a member name, a
//! path, a value) without echoing megabytes of it back.

/// The most characters of one piece of input a message quotes.
pub const QUOTE: usize = 80;

/// `text` cut to at most `max_chars` characters, with `…` marking a cut.
pub fn clip(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        None => text.to_owned(),
        Some((cut, _)) => format!("{}…", &text[..cut]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_kept_and_long_text_is_cut_on_a_character_boundary() {
        assert_eq!(clip("abc", 3), "abc");
        assert_eq!(clip("abcd", 3), "abc…");
        assert_eq!(clip("ééé", 2), "éé…");
        assert_eq!(clip(&"x".repeat(1 << 20), QUOTE).chars().count(), QUOTE + 1);
    }
}
