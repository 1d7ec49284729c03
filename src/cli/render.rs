//! How the CLI shows results to people: padded tables and short summaries. (With `--json`
//! every command prints JSON instead.)

use credledger::event::Timestamp;
use credledger::projection::Profile;
use credledger::projection::registry::Issuer;
use credledger::vc::VcReport;
use credledger::{Did, Payload, Record};
use serde_json::Value;

pub fn report_text(report: &credledger::bundle::Report) -> String {
    let mut lines: Vec<String> =
        report.checks.iter().map(|c| check_line(if c.ran { Some(c.ok) } else { None }, c.name, &c.detail)).collect();
    for c in &report.credentials {
        let mut status = c.status.map_or("no status", |s| s.as_str()).to_owned();
        if let Some(now) = c.status_now.filter(|now| Some(*now) != c.status) {
            status = format!("{status}, {} now", now.as_str());
        }
        lines.push(format!(
            "      credential {} {:?} \"{}\" from {}: {status}",
            c.id,
            c.kind,
            c.title,
            c.issuer_name.as_deref().unwrap_or("?")
        ));
    }
    // A binding the verifier did not ask for is shown, not checked.
    for (what, bound, check) in
        [("audience", &report.audience, "request.audience"), ("nonce", &report.nonce, "request.nonce")]
    {
        if let Some(bound) = bound
            && !report.checks.iter().any(|c| c.name == check)
        {
            lines.push(format!("      bound to {what} `{bound}`; not required by this verifier"));
        }
    }
    lines.push(match &report.status_as_of {
        Some(at) => format!("{} — status as of {}", report.verdict, minute_utc(at)),
        None => report.verdict.to_owned(),
    });
    lines.join("\n")
}

/// An instant as people read it: `2026-12-03 10:00 UTC`.
pub fn minute_utc(at: &Timestamp) -> String {
    at.0.format(time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC"))
        .unwrap_or_else(|_| at.to_string())
}

/// One named check: `pass`, `FAIL`, or `skip` for one an earlier failure left unrun.
pub fn check_line(ok: Option<bool>, name: &str, detail: &str) -> String {
    let mark = match ok {
        Some(true) => "pass",
        Some(false) => "FAIL",
        None => "skip",
    };
    format!("{mark}  {name:<22} {detail}")
}

/// A standard credential's checks, then the verdict (saying so when its status was not checked).
pub fn vc_report_text(report: &VcReport) -> String {
    let mut lines: Vec<String> =
        report.checks.iter().map(|c| check_line(c.ran.then_some(c.ok), &c.name, &c.detail)).collect();
    if let Some(issuer) = &report.issuer {
        let signed = if report.proved_by_issuer() { "is signed by" } else { "names as its issuer" };
        lines.push(format!("issuer: the credential {signed} {}", issuer.describe()));
    }
    let unchecked = report.status_unchecked();
    lines.push(if report.is_valid() && unchecked {
        format!("{} — status not checked", report.verdict)
    } else {
        report.verdict.to_string()
    });
    lines.join("\n")
}

/// Columns padded to their widest cell.
pub fn table(headers: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut widths = header_widths(headers);
    widen(&mut widths, &rows);
    let mut out = vec![line(headers.iter().copied(), &widths)];
    out.extend(rows.iter().map(|r| line(r.iter().map(String::as_str), &widths)));
    out.join("\n")
}

fn header_widths(headers: &[&str]) -> Vec<usize> {
    headers.iter().map(|h| h.chars().count()).collect()
}

/// Widens each column to its widest cell in `rows`.
fn widen(widths: &mut [usize], rows: &[Vec<String>]) {
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
}

/// One row, each cell padded to its column's width, with no trailing blanks.
fn line<'a>(cells: impl Iterator<Item = &'a str>, widths: &[usize]) -> String {
    let padded: Vec<String> = cells.zip(widths).map(|(c, w)| format!("{c:<w$}")).collect();
    padded.join("  ").trim_end().to_owned()
}

fn short(did: &Did) -> String {
    let s = did.multibase();
    format!("{}…{}", &s[..8], &s[s.len() - 4..])
}

const LOG_HEADERS: [&str; 5] = ["SEQ", "RECORDED", "KIND", "AUTHOR", "SUMMARY"];

/// The log as a table, rendered a page of records at a time, so that printing a log of any
/// length holds one page. Each column is as wide as its widest cell so far: one page renders as
/// [`table`] would, and a later page with a wider cell (a longer seq or kind) widens that column
/// from there on.
pub struct LogTable {
    widths: Vec<usize>,
    started: bool,
}

impl Default for LogTable {
    fn default() -> LogTable {
        LogTable { widths: header_widths(&LOG_HEADERS), started: false }
    }
}

impl LogTable {
    /// The lines of `records` (after the header, for the first page), each ending in a newline.
    pub fn page(&mut self, records: &[Record]) -> String {
        let rows: Vec<Vec<String>> = records.iter().map(log_row).collect();
        widen(&mut self.widths, &rows);
        let mut out = String::new();
        if !std::mem::replace(&mut self.started, true) {
            out.extend([line(LOG_HEADERS.into_iter(), &self.widths), "\n".into()]);
        }
        for row in &rows {
            out.extend([line(row.iter().map(String::as_str), &self.widths), "\n".into()]);
        }
        out
    }
}

fn log_row(r: &Record) -> Vec<String> {
    let p = &r.event.event.payload;
    let summary = match p {
        Payload::Genesis(g) => format!("origin {}", g.origin),
        Payload::IssuerRegistered(i) => {
            format!("{} ({})", i.name, format!("{:?}", i.category).to_lowercase())
        }
        Payload::CredentialRevoked(c) | Payload::CredentialSuspended(c) | Payload::CredentialReinstated(c) => {
            format!("{}… {}", &c.credential.to_string()[..12], c.reason)
        }
        Payload::KeyAdded(k) => format!("+ {}", short(&k.key)),
        Payload::KeyRevoked(k) => format!("- {} {}", short(&k.key), k.reason),
        other => other.credential().map(|c| format!("{} → {}", c.title, short(c.learner))).unwrap_or_default(),
    };
    vec![r.seq.to_string(), r.recorded_at.to_string(), p.kind().to_owned(), short(&r.event.event.author), summary]
}

/// A JSON array rendered an element at a time, byte for byte as `serde_json::to_string_pretty`
/// renders the whole array (strings escape their line breaks, so indenting each line of an
/// element's own pretty form is exact).
#[derive(Default)]
pub struct JsonArray {
    started: bool,
}

impl JsonArray {
    /// The next element, with what comes before it.
    pub fn item(&mut self, value: &Value) -> String {
        let lead = if std::mem::replace(&mut self.started, true) { ",\n  " } else { "[\n  " };
        let pretty = serde_json::to_string_pretty(value).unwrap_or_default();
        format!("{lead}{}", pretty.replace('\n', "\n  "))
    }

    /// The end of the array, and of the line.
    pub fn end(&self) -> &'static str {
        if self.started { "\n]\n" } else { "[]\n" }
    }
}

fn number(n: f64) -> String {
    if n.fract() == 0.0 { format!("{n:.0}") } else { format!("{n}") }
}

pub fn profile_text(p: &Profile) -> String {
    let mut out = vec![format!("Learner {}", p.learner)];
    if let Some(seq) = p.as_of_seq {
        out.push(format!("As of seq {seq}"));
    }
    out.push(String::new());
    out.push(format!("Credentials ({})", p.credentials.len()));
    let rows = p
        .credentials
        .iter()
        .map(|c| {
            let s = &c.summary;
            let amount = match (s.credits, s.hours) {
                (Some(cr), _) => format!("{} credits", number(cr)),
                (_, Some(h)) => format!("{h} hours"),
                _ => String::new(),
            };
            vec![
                c.status.as_str().into(),
                format!("{:?}", s.kind).to_lowercase(),
                s.title.clone(),
                c.issuer.name.clone(),
                s.completed_on.to_string(),
                amount,
                s.id.to_string(),
            ]
        })
        .collect();
    out.push(table(&["STATUS", "KIND", "TITLE", "ISSUER", "DATE", "AMOUNT", "ID"], rows));
    out.push(String::new());
    out.push(format!("Skills ({}), with the active credentials that evidence them", p.skills.len()));
    let rows = p
        .skills
        .iter()
        .map(|s| {
            vec![s.id.clone(), s.label.clone(), s.evidence.len().to_string(), number(s.credits), s.hours.to_string()]
        })
        .collect();
    out.push(table(&["SKILL", "LABEL", "EVIDENCE", "CREDITS", "HOURS"], rows));
    if !p.apprenticeships_in_progress.is_empty() {
        out.push(String::new());
        out.push("Apprenticeships in progress".into());
        let rows = p
            .apprenticeships_in_progress
            .iter()
            .map(|a| vec![a.title.clone(), a.employer.clone(), a.started_on.to_string(), a.hours_logged.to_string()])
            .collect();
        out.push(table(&["TITLE", "EMPLOYER", "STARTED", "HOURS LOGGED"], rows));
    }
    out.push(String::new());
    out.push(format!(
        "Totals: {} credits, {} apprenticeship hours",
        number(p.totals.credits),
        p.totals.apprenticeship_hours
    ));
    out.join("\n")
}

/// Issuers and their keys, one row per key.
pub fn issuers_table(issuers: &[Issuer]) -> String {
    let rows = issuers.iter().flat_map(|i| {
        i.keys.iter().map(move |k| {
            let state = match (i.suspended_seq, &k.void, k.revoked_seq) {
                (Some(s), ..) => format!("issuer suspended at seq {s}"),
                (None, Some(v), _) if v.compromised == k.key => {
                    format!("compromised since {} (seq {})", v.from, v.declared_seq)
                }
                (None, Some(v), _) => format!("void: added under a compromised key (seq {})", v.declared_seq),
                (None, None, Some(s)) => format!("revoked at seq {s}"),
                (None, None, None) => "active".into(),
            };
            vec![
                i.name.clone(),
                format!("{:?}", i.category).to_lowercase(),
                k.key.to_string(),
                k.added_seq.to_string(),
                state,
            ]
        })
    });
    table(&["ISSUER", "KIND", "KEY", "ADDED", "STATE"], rows.collect())
}
