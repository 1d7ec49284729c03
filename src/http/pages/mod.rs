//! The pages the server renders, all without inline script or style (the CSP forbids both):
//! `/verify` (static HTML and a small script that inserts the server-rendered verdict),
//! `/learners/{did}` ([`learner`]), a share link `/s/{token}` ([`share`]), and the one renderer of
//! a bundle's verdict in plain words that both use ([`verdict`]).

pub mod front;
pub mod learner;
pub mod share;
pub mod verdict;

use std::fmt::Write;

pub const VERIFY_HTML: &str = include_str!("../assets/verify.html");
pub const VERIFY_JS: &str = include_str!("../assets/verify.js");
pub const PUBLISH_JS: &str = include_str!("../assets/publish.js");
pub const STYLE_CSS: &str = include_str!("../assets/style.css");

/// Escapes text for HTML content and attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn number(n: f64) -> String {
    if n.fract() == 0.0 { format!("{n:.0}") } else { format!("{n}") }
}

/// Whether search engines may index a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Robots {
    Index,
    NoIndex,
}

/// A whole page: the head every page shares, then `body` inside `<main>`, then `scripts` (paths
/// under this origin).
pub fn page(title: &str, robots: Robots, body: &str, scripts: &[&str]) -> String {
    let mut html = String::with_capacity(body.len() + 600);
    let _ = write!(
        html,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">{}\
         <title>{} · credledger</title><link rel=\"stylesheet\" href=\"/assets/style.css\"></head>\
         <body><main>{body}</main>",
        if robots == Robots::NoIndex { "<meta name=\"robots\" content=\"noindex, nofollow\">" } else { "" },
        esc(title)
    );
    for src in scripts {
        let _ = write!(html, "<script src=\"{}\"></script>", esc(src));
    }
    html.push_str("</body></html>");
    html
}

/// A timestamp as people read it: `2026-12-03 10:00 UTC`.
pub fn when(at: &crate::event::Timestamp) -> String {
    let text = at.to_string();
    format!("{} {} UTC", &text[..10.min(text.len())], text.get(11..16).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(esc("<b a=\"x\">&'"), "&lt;b a=&quot;x&quot;&gt;&amp;&#39;");
    }

    #[test]
    fn pages_that_must_not_be_indexed_say_so() {
        assert!(page("x", Robots::NoIndex, "", &[]).contains("<meta name=\"robots\" content=\"noindex"));
        assert!(!page("x", Robots::Index, "", &[]).contains("robots"));
        assert!(page("<x>", Robots::Index, "", &["/a.js"]).contains("<title>&lt;x&gt; · credledger</title>"));
    }
}
