//! What the reports' HTML files share: the self-contained document around a body (a
//! Content-Security-Policy that allows no script and nothing from elsewhere) and a case's
//! reference, a link to its page when the report is shown on the server.

use crate::escape::html as esc;

/// `body` (already escaped) as one self-contained HTML file titled `title`, styled by `style`.
pub(crate) fn document(title: &str, style: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{}</title><style>{style}</style></head><body>{body}</body></html>\n",
        esc(title)
    )
}

/// A case's short id, linked to `/ui/cases/<id>` when `link` (only its letters, digits, `-` and
/// `_` go into the address).
pub(crate) fn case_ref(id: &str, link: bool) -> String {
    let short = esc(id.get(..12).unwrap_or(id));
    if link {
        let path: String =
            id.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();
        format!("<a href=\"/ui/cases/{path}\"><code>{short}</code></a>")
    } else {
        format!("<code>{short}</code>")
    }
}
