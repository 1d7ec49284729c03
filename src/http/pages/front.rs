//! The front door, `/`: what this ledger is, who runs it (origin, operator did, latest
//! checkpoint), and where to go next; and the page a browser gets for a path that does not exist.

use std::fmt::Write;

use super::{Robots, esc, page};

/// The front page of the ledger `origin`, run by `operator`, whose latest signed checkpoint (if
/// any) covers `size` records and reads `note`.
pub fn front(origin: &str, operator: &str, checkpoint: Option<(u64, &str)>) -> String {
    let mut html = String::new();
    let _ = write!(
        html,
        "<h1>{}</h1><p>A credentialing ledger: colleges and training providers record the courses, \
         certificates and apprenticeships they award as signed events on an append-only log; learners share \
         them, and anyone can check that a credential is genuine and whether it is still active, without \
         trusting this server.</p>",
        esc(origin)
    );
    html.push_str(
        "<ul class=\"next\"><li><a href=\"/verify\">Verify credentials a learner shared with you</a></li>\
                   <li><a href=\"/openapi.json\">The API (OpenAPI document)</a></li></ul>",
    );
    html.push_str("<h2>Who runs this ledger</h2><dl class=\"facts\">");
    let _ = write!(html, "<dt>Log origin</dt><dd><code>{}</code></dd>", esc(origin));
    let _ = write!(html, "<dt>Operator key</dt><dd><code>{}</code></dd>", esc(operator));
    match checkpoint {
        Some((size, note)) => {
            let _ = write!(
                html,
                "<dt>Latest signed checkpoint</dt><dd>{size} records<details><summary>The signed checkpoint</summary>\
                 <pre>{}</pre></details></dd>",
                esc(note)
            );
        }
        None => html.push_str("<dt>Latest signed checkpoint</dt><dd>none yet</dd>"),
    }
    html.push_str("</dl>");
    page(origin, Robots::Index, &html, &[])
}

/// What a browser gets for a path this ledger does not serve.
pub fn not_found() -> String {
    let body = "<h1>Page not found</h1><p>This ledger has no page at this address.</p>\
                <ul class=\"next\"><li><a href=\"/\">The ledger's front page</a></li>\
                <li><a href=\"/verify\">Verify credentials</a></li></ul>";
    page("Page not found", Robots::NoIndex, body, &[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_front_door_names_the_ledger_and_escapes_it() {
        let html = front("a<b", "did:key:z6Mk", Some((3, "a<b\n3\nroot\n")));
        assert!(html.contains("<h1>a&lt;b</h1>") && html.contains("3 records"), "{html}");
        assert!(front("o", "d", None).contains("none yet"));
    }
}
