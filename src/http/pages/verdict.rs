//! A bundle's verdict in plain words: the one renderer behind the `/verify` page and share links.
//! First one line per credential ("Intro to Python Programming — Lakeside Community College —
//! issued 2025-12-12 — genuine and active"), each state spelled out (revoked, suspended and
//! expired are words, never colour alone); an INVALID verdict names the credential or record that
//! failed and why, in words; the technical checks follow, folded.

use std::fmt::Write;

use time::Date;

use super::{esc, when};
use crate::bundle::{Check, PresentedCredential, Report};
use crate::projection::status::CredentialState;

/// What a check establishes, in words.
fn check_label(name: &str) -> &'static str {
    match name {
        "bundle.format" => "The file is a readable bundle",
        "checkpoint.signature" => "The ledger's operator signed the log it comes from",
        "entries.inclusion" => "Every record is in that signed log, unchanged",
        "events.signatures" => "Every issuer's signature verifies",
        "issuer.authority" => "Every issuer was authorized when it signed",
        "credentials.status" => "The operator's status statement covers every credential",
        "credentials.current" => "Every credential is still active on this ledger now",
        "status.age" => "The status statement is recent enough",
        "learner.holder" => "The learner holds the key the credentials were issued to",
        "learner.signature" => "The learner signed the bundle",
        "request.audience" => "The bundle is for the audience required",
        "request.nonce" => "The bundle answers the request (nonce) required",
        _ => "Another check",
    }
}

/// Why a record fails a check, in words.
fn failure_words(name: &str) -> &'static str {
    match name {
        "bundle.format" => "the file is not a bundle this ledger can read",
        "checkpoint.signature" => "it is not signed by this ledger's operator",
        "entries.inclusion" => "it was changed after the ledger recorded it",
        "events.signatures" => "its issuer's signature does not verify",
        "issuer.authority" => "its issuer was not authorized to issue it",
        "credentials.status" => "the operator's status statement does not show it active",
        "credentials.current" => "it is no longer active on this ledger",
        "status.age" => "its status statement is older than this verifier accepts",
        "learner.holder" => "it was not issued to the learner who presents it",
        "learner.signature" => "the learner's signature on the bundle does not verify",
        "request.audience" => "the bundle was made for another audience",
        "request.nonce" => "the bundle was made for another request",
        _ => "a check failed",
    }
}

/// A check's detail without code quoting.
fn plain(detail: &str) -> String {
    esc(&detail.replace('`', ""))
}

/// A skill's name: its label, and its code after it only when the label is not the code.
pub fn skill_name(label: &str, id: &str) -> String {
    if label == id || label.is_empty() {
        format!("<strong>{}</strong>", esc(id))
    } else {
        format!("<strong>{}</strong> <code>{}</code>", esc(label), esc(id))
    }
}

/// A credential's state in words, and the class that marks it (besides the words).
fn state_words(c: &PresentedCredential, today: Date) -> (&'static str, String) {
    let now = c.status_now.or(c.status);
    match now {
        Some(CredentialState::Revoked) if c.status == Some(CredentialState::Active) => {
            ("revoked", "genuine, but revoked by its issuer since this bundle was made".into())
        }
        Some(CredentialState::Revoked) => ("revoked", "genuine, but revoked by its issuer".into()),
        Some(CredentialState::Suspended) => ("suspended", "genuine, but suspended by its issuer".into()),
        Some(CredentialState::Active) => match expired_on(c, today) {
            Some(day) => ("expired", format!("genuine, but expired on {day}")),
            None => ("active", "genuine and active".into()),
        },
        None => ("unknown", "genuine, status unknown".into()),
    }
}

/// The day a certificate expired, if it has.
fn expired_on(c: &PresentedCredential, today: Date) -> Option<&str> {
    let day = c.expires_on.as_deref()?;
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(day, &format).ok().filter(|d| *d < today).map(|_| day)
}

/// The first check that ran and failed.
fn first_failure(report: &Report) -> Option<&Check> {
    report.checks.iter().find(|c| c.ran && !c.ok)
}

/// Did the bundle fail only because a credential's status changed on this ledger since?
fn only_status_changed(report: &Report) -> bool {
    let failed: Vec<&Check> = report.checks.iter().filter(|c| c.ran && !c.ok).collect();
    !failed.is_empty() && failed.iter().all(|c| c.name == "credentials.current")
}

/// "Title — Issuer — issued 2025-12-12".
fn credential_name(c: &PresentedCredential) -> String {
    format!(
        "<strong>{}</strong> — {} — issued {}",
        esc(&c.title),
        esc(c.issuer_name.as_deref().unwrap_or("issuer not named")),
        esc(&c.completed_on)
    )
}

/// The verdict as an HTML fragment (a `<section>`), judged `today`.
pub fn fragment(report: &Report, today: Date) -> String {
    let mut html = String::from("<section class=\"verdict\" aria-labelledby=\"verdict\">");
    let shown = report.shown_credentials();
    let failure = first_failure(report);
    let culprit = report.failed_record.and_then(|seq| shown.iter().find(|c| c.seq == seq));
    let status_changed = only_status_changed(report);
    // The headline: the verdict, and for INVALID what failed and why.
    if report.is_valid() {
        let _ = write!(
            html,
            "<h2 id=\"verdict\" class=\"pass\" data-verdict=\"VALID\" tabindex=\"-1\">✓ VALID: {}</h2>",
            match shown.len() {
                1 => "this credential is genuine".to_owned(),
                n => format!("these {n} credentials are genuine"),
            }
        );
    } else {
        let why = match (culprit, failure) {
            (Some(c), _) if status_changed => format!("{}: {}", esc(&c.title), state_words(c, today).1),
            (Some(c), Some(f)) => format!("{} failed: {}", esc(&c.title), failure_words(f.name)),
            (None, Some(f)) => match report.failed_record {
                Some(seq) => format!("the record at position {seq} of the log failed: {}", failure_words(f.name)),
                None => format!("this bundle failed: {}", failure_words(f.name)),
            },
            (_, None) => "this bundle failed a check".to_owned(),
        };
        let _ = write!(
            html,
            "<h2 id=\"verdict\" class=\"fail\" data-verdict=\"INVALID\" tabindex=\"-1\">✗ INVALID: {why}</h2>"
        );
    }
    if let Some(at) = &report.status_as_of {
        let current = report.checks.iter().any(|c| c.name == "credentials.current" && c.ran);
        let _ = write!(
            html,
            "<p>Status as of {}{}.</p>",
            when(at),
            if current { ", and checked against this ledger now" } else { "" }
        );
    }
    if !shown.is_empty() {
        if !report.is_valid() && !status_changed {
            html.push_str("<p>What the bundle presents (not verified as a whole):</p>");
        }
        html.push_str("<ul class=\"credentials\" id=\"credentials\">");
        for c in shown {
            let (state, words) = if report.is_valid() || status_changed {
                state_words(c, today)
            } else if Some(c.seq) == report.failed_record {
                ("failed", format!("NOT genuine: {}", failure.map_or("a check failed", |f| failure_words(f.name))))
            } else {
                ("unverified", "not verified: the bundle it came in failed".to_owned())
            };
            let class = if state == "active" { "pass" } else { "fail" };
            let _ = write!(
                html,
                "<li class=\"credential\" data-state=\"{state}\" data-seq=\"{}\">{} — <span class=\"state {class}\">{words}</span></li>",
                c.seq,
                credential_name(c)
            );
        }
        html.push_str("</ul>");
    }
    if !report.skills.is_empty() {
        html.push_str("<h3>Skills, with the credentials that evidence them</h3><ul class=\"skills\" id=\"skills\">");
        for s in &report.skills {
            let _ = write!(html, "<li>{}<ul>", skill_name(&s.label, &s.id));
            for id in &s.evidence {
                let title = shown.iter().find(|c| &c.id == id).map_or("", |c| &c.title);
                let _ = write!(html, "<li>{}</li>", esc(title));
            }
            html.push_str("</ul></li>");
        }
        html.push_str("</ul>");
    }
    if let Some(learner) = &report.learner {
        let _ = write!(html, "<p class=\"muted\">Learner <code>{}</code></p>", esc(learner.as_str()));
    }
    if !report.holders.is_empty() {
        let dids: Vec<String> = report.holders.iter().map(|d| format!("<code>{}</code>", esc(d.as_str()))).collect();
        let _ = write!(
            html,
            "<p class=\"muted\" id=\"holders\">Also presented under the learner's other keys, each signing the bundle: {}</p>",
            dids.join(", ")
        );
    }
    for (what, value) in [("audience", &report.audience), ("nonce", &report.nonce)] {
        let required = report.checks.iter().any(|c| c.name == format!("request.{what}"));
        if let (Some(value), false) = (value, required) {
            let _ = write!(
                html,
                "<p class=\"binding\" data-binding=\"{what}\">Bound to {what} <code>{}</code>; not required by this verifier.</p>",
                esc(value)
            );
        }
    }
    let passed = report.checks.iter().filter(|c| c.ok).count();
    let failed = report.checks.iter().filter(|c| c.ran && !c.ok).count();
    let not_run = report.checks.iter().filter(|c| !c.ran).count();
    let _ = write!(
        html,
        "<details class=\"technical\"><summary>Technical checks: {passed} passed, {failed} failed, {not_run} not run</summary><ul class=\"checks\" id=\"checks\">"
    );
    for c in &report.checks {
        let (class, mark) = match (c.ran, c.ok) {
            (false, _) => ("skipped", "– Not run"),
            (true, true) => ("pass", "✓ Passed"),
            (true, false) => ("fail", "✗ Failed"),
        };
        let _ = write!(
            html,
            "<li class=\"{class}\" data-check=\"{}\"><span class=\"mark\">{mark}</span> <strong>{}</strong>: {}</li>",
            c.name,
            check_label(c.name),
            plain(&c.detail)
        );
    }
    html.push_str("</ul></details></section>");
    html
}

/// What the page shows instead of a verdict when there is nothing to verify.
pub fn nothing_to_verify() -> String {
    "<section class=\"verdict\"><p id=\"verdict\" class=\"ask\" role=\"status\" tabindex=\"-1\">Choose a bundle file \
     (or paste one) first, then press Verify.</p></section>"
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::{Trust, VerifyOptions};

    fn today() -> Date {
        time::macros::date!(2026 - 06 - 01)
    }

    #[test]
    fn an_unreadable_file_fails_in_words_without_code() {
        let did = crate::keys::SecretKey::from_seed(&[1; 32]).did().clone();
        let report = crate::bundle::verify(
            b"{",
            &Trust::operator(did),
            &VerifyOptions::default(),
            time::OffsetDateTime::UNIX_EPOCH,
        );
        let html = fragment(&report, today());
        assert!(html.contains("INVALID: this bundle failed: the file is not a bundle"), "{html}");
        assert!(!html.contains('`'), "{html}");
        assert!(html.contains("<details"), "the technical checks are folded: {html}");
    }

    #[test]
    fn a_skill_without_a_label_shows_its_code_once() {
        assert_eq!(skill_name("esco:x", "esco:x"), "<strong>esco:x</strong>");
        assert_eq!(skill_name("Welding", "esco:w"), "<strong>Welding</strong> <code>esco:w</code>");
    }

    #[test]
    fn states_are_spelled_out() {
        let mut c = PresentedCredential {
            id: crate::id::EventId(crate::id::Hash32([0; 32])),
            seq: 3,
            kind: crate::event::CredentialKind::Certificate,
            title: "Welding".into(),
            issuer: None,
            issuer_name: Some("College".into()),
            status: Some(CredentialState::Active),
            status_now: None,
            skills: vec![],
            completed_on: "2025-12-12".into(),
            expires_on: Some("2026-01-01".into()),
        };
        assert_eq!(state_words(&c, today()), ("expired", "genuine, but expired on 2026-01-01".into()));
        c.expires_on = None;
        assert_eq!(state_words(&c, today()).1, "genuine and active");
        c.status_now = Some(CredentialState::Revoked);
        assert_eq!(state_words(&c, today()).0, "revoked");
        c.status_now = Some(CredentialState::Suspended);
        assert!(state_words(&c, today()).1.contains("suspended"));
    }
}
