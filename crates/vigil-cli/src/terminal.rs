//! Text from logs and rules is untrusted: before it reaches a terminal, control characters
//! (escape sequences among them) are shown as escapes instead of being interpreted.

use std::fmt::Write;

/// `text` with every control character written as `\u{..}`, cut to `max` characters.
pub fn safe(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max));
    for (i, c) in text.chars().enumerate() {
        if i == max {
            out.push('…');
            break;
        }
        if c.is_control() {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_and_newlines_are_shown_not_interpreted() {
        assert_eq!(safe("ws-12\u{1b}[2J\nroot", 80), "ws-12\\u{1b}[2J\\u{a}root");
        assert_eq!(safe("abcdef", 3), "abc…");
    }
}
