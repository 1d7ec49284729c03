//! A share link's pages, `/s/{token}`: the learner's bundle verified now (the verdict from
//! [`super::verdict`]), or why the link no longer works. Never indexed.

use std::fmt::Write;

use time::Date;

use super::{Robots, esc, page, verdict, when};
use crate::bundle::Report;
use crate::event::Timestamp;
use crate::share::LinkState;

/// A live link: the bundle verified against this ledger now.
pub fn live(report: &Report, origin: &str, expires_at: &Timestamp, now: &Timestamp, today: Date) -> String {
    let mut html = String::from("<h1>Credentials shared with you</h1>");
    let _ = write!(
        html,
        "<p>A learner shared these credentials through the ledger <strong>{}</strong>, which checked them \
         just now ({}). The link works until {}.</p>",
        esc(origin),
        when(now),
        when(expires_at)
    );
    html.push_str(&verdict::fragment(report, today));
    html.push_str("<p class=\"noprint\"><a href=\"/verify\">Verify a bundle file yourself</a></p>");
    page("Shared credentials", Robots::NoIndex, &html, &[])
}

/// A link that expired or that the learner withdrew.
pub fn gone(state: LinkState) -> String {
    let words = match state {
        LinkState::Expired(at) => format!("This share link expired on {}.", when(&at)),
        LinkState::Revoked(at) => format!("The learner withdrew this share link on {}.", when(&at)),
        LinkState::Live => "This share link no longer works.".to_owned(),
    };
    let body = format!(
        "<h1>This link no longer works</h1><p>{words}</p><p>Ask the learner for a new link, or for the bundle file, \
         which you can <a href=\"/verify\">verify here</a>.</p>"
    );
    page("Link no longer works", Robots::NoIndex, &body, &[])
}

/// A link this ledger never made (or a mistyped one).
pub fn unknown() -> String {
    let body = "<h1>No such link</h1><p>This ledger has no share link at this address. Check that the whole \
                link was copied, or ask the learner for it again.</p>";
    page("No such link", Robots::NoIndex, body, &[])
}
