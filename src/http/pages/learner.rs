//! A learner's profile page, `/learners/{did}`: credentials with their status, skills grouped with
//! the active credentials that evidence them, and a form to publish a signed bundle as a share
//! link (`/assets/publish.js` signs the request in the browser: the key file is never sent).

use std::fmt::Write;

use super::{Robots, esc, number, page};
use crate::projection::Profile;
use crate::share::{DEFAULT_DAYS, MAX_DAYS};

/// The link lifetimes the form offers, in days.
const LIFETIMES: [(u32, &str); 4] = [(7, "1 week"), (DEFAULT_DAYS, "30 days"), (90, "90 days"), (MAX_DAYS, "1 year")];

/// The profile page.
pub fn page_of(p: &Profile) -> String {
    let mut html = String::new();
    let did = esc(p.learner.as_str());
    let _ = write!(
        html,
        "<h1>Learner profile</h1>\
         <p><strong>{} credits</strong> and <strong>{} apprenticeship hours</strong> from active credentials.</p>",
        number(p.totals.credits),
        p.totals.apprenticeship_hours
    );
    html.push_str("<h2>Credentials</h2>");
    if p.credentials.is_empty() {
        html.push_str("<p>No credentials on this ledger.</p>");
    } else {
        html.push_str("<table class=\"cards\"><thead><tr><th scope=\"col\">Title</th><th scope=\"col\">Kind</th><th scope=\"col\">Issuer</th><th scope=\"col\">Date</th><th scope=\"col\">Status</th></tr></thead><tbody>");
        for c in &p.credentials {
            let status = c.status.as_str();
            let class = if status == "active" { "pass" } else { "fail" };
            let _ = write!(
                html,
                "<tr><td data-label=\"Title\">{}</td><td data-label=\"Kind\">{}</td><td data-label=\"Issuer\">{}</td>\
                 <td data-label=\"Date\">{}</td><td data-label=\"Status\" class=\"status {class}\">{status}</td></tr>",
                esc(&c.summary.title),
                format!("{:?}", c.summary.kind).to_lowercase(),
                esc(&c.issuer.name),
                c.summary.completed_on
            );
        }
        html.push_str("</tbody></table>");
    }
    html.push_str("<h2>Skills, with the credentials that evidence them</h2>");
    if p.skills.is_empty() {
        html.push_str("<p>No skills evidenced by an active credential.</p>");
    } else {
        html.push_str("<ul class=\"skills\">");
        for s in &p.skills {
            let _ = write!(html, "<li>{}<ul>", super::verdict::skill_name(&s.label, &s.id));
            for id in &s.evidence {
                let title = p.credentials.iter().find(|c| &c.summary.id == id).map_or("", |c| &c.summary.title);
                let _ = write!(html, "<li>{}</li>", esc(title));
            }
            html.push_str("</ul></li>");
        }
        html.push_str("</ul>");
    }
    let _ = write!(
        html,
        "<section aria-labelledby=\"publish-heading\"><h2 id=\"publish-heading\">Share as a link</h2>\
         <p>Publish a bundle you signed (<code>credledger share --out bundle.json</code>) as a link that \
         shows an employer its verification. Your key file signs the request in this browser and is never \
         sent. Only people you give the link to can open it; you can withdraw it at any time.</p>\
         <form id=\"publish\" data-learner=\"{did}\">\
         <label for=\"publish-bundle\">Signed bundle file</label>\
         <input type=\"file\" id=\"publish-bundle\" accept=\".json,application/json\" required>\
         <label for=\"publish-key\">Your key file</label>\
         <input type=\"file\" id=\"publish-key\" required aria-describedby=\"publish-key-hint\">\
         <p class=\"hint\" id=\"publish-key-hint\">Used here to sign; never uploaded.</p>\
         <label for=\"publish-days\">The link works for</label><select id=\"publish-days\">"
    );
    for (days, words) in LIFETIMES {
        let selected = if days == DEFAULT_DAYS { " selected" } else { "" };
        let _ = write!(html, "<option value=\"{days}\"{selected}>{words}</option>");
    }
    html.push_str(
        "</select><button type=\"submit\">Publish the link</button></form>\
         <div id=\"published\" aria-live=\"polite\"></div></section>",
    );
    let _ = write!(
        html,
        "<p class=\"muted\">Learner <code>{did}</code></p><p><a href=\"/verify\">Verify a shared bundle</a></p>"
    );
    page("Learner profile", Robots::Index, &html, &["/assets/publish.js"])
}
