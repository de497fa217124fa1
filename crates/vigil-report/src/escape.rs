//! Text into HTML and SVG as data: markup characters become entities, and control characters
//! (terminal escapes included) become visible `\u{…}` sequences instead of reaching the page.

/// `text`, safe as HTML element content and as a quoted attribute value.
pub fn html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn markup_and_terminal_escapes_are_inert() {
        assert_eq!(
            super::html("<script>alert('x')</script>"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"
        );
        assert_eq!(super::html("\u{1b}[31mred"), "\\u{1b}[31mred");
        assert_eq!(super::html("a \"b\" & c"), "a &quot;b&quot; &amp; c");
    }
}
