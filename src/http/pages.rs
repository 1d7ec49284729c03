//! The pages the server renders: `/verify` (static HTML and a small script, no CDN, no build
//! step) and `/learners/{did}` (a profile rendered on the server, no script needed).

use std::fmt::Write;

use crate::projection::Profile;

pub const VERIFY_HTML: &str = include_str!("assets/verify.html");
pub const VERIFY_JS: &str = include_str!("assets/verify.js");
pub const STYLE_CSS: &str = include_str!("assets/style.css");

/// Escapes text for HTML content and attribute values.
fn esc(text: &str) -> String {
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

/// A learner's profile page: credentials with their status, and skills grouped with the active
/// credentials that evidence them.
pub fn learner(p: &Profile) -> String {
    let mut html = String::new();
    let did = esc(p.learner.as_str());
    let _ = write!(
        html,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Learner profile · credledger</title><link rel=\"stylesheet\" href=\"/assets/style.css\"></head>\
         <body><main><h1>Learner profile</h1><p>Learner <code>{did}</code>{}</p>",
        p.as_of_seq.map(|s| format!(", as of log record {s}")).unwrap_or_default()
    );
    let _ = write!(
        html,
        "<p><strong>{} credits</strong> and <strong>{} apprenticeship hours</strong> from active credentials.</p>",
        number(p.totals.credits),
        p.totals.apprenticeship_hours
    );
    html.push_str("<h2>Skills, with the credentials that evidence them</h2>");
    if p.skills.is_empty() {
        html.push_str("<p>No skills evidenced by an active credential.</p>");
    } else {
        html.push_str("<ul class=\"skills\">");
        for s in &p.skills {
            let _ = write!(html, "<li><strong>{}</strong> <code>{}</code><ul>", esc(&s.label), esc(&s.id));
            for id in &s.evidence {
                let title = p
                    .credentials
                    .iter()
                    .find(|c| &c.summary.id == id)
                    .map_or(String::new(), |c| c.summary.title.clone());
                let _ = write!(html, "<li>{}</li>", esc(&title));
            }
            html.push_str("</ul></li>");
        }
        html.push_str("</ul>");
    }
    html.push_str("<h2>Credentials</h2>");
    if p.credentials.is_empty() {
        html.push_str("<p>No credentials on this ledger.</p>");
    } else {
        html.push_str("<table><thead><tr><th scope=\"col\">Title</th><th scope=\"col\">Kind</th><th scope=\"col\">Issuer</th><th scope=\"col\">Date</th><th scope=\"col\">Status</th></tr></thead><tbody>");
        for c in &p.credentials {
            let status = c.status.as_str();
            let class = if status == "active" { "pass" } else { "fail" };
            let _ = write!(
                html,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"{class}\">{status}</td></tr>",
                esc(&c.summary.title),
                format!("{:?}", c.summary.kind).to_lowercase(),
                esc(&c.issuer.name),
                c.summary.completed_on
            );
        }
        html.push_str("</tbody></table>");
    }
    html.push_str("<p><a href=\"/verify\">Verify a shared bundle</a></p></main></body></html>");
    html
}

#[cfg(test)]
mod tests {
    use super::esc;

    #[test]
    fn escapes_markup() {
        assert_eq!(esc("<b a=\"x\">&'"), "&lt;b a=&quot;x&quot;&gt;&amp;&#39;");
    }
}
