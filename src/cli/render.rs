//! How the CLI shows results to people: padded tables and short summaries. (With `--json`
//! every command prints JSON instead.)

use credledger::event::Timestamp;
use credledger::projection::Profile;
use credledger::projection::registry::Issuer;
use credledger::vc::VcReport;
use credledger::{Did, Payload, Record};

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
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        padded.join("  ").trim_end().to_owned()
    };
    let mut out = vec![line(headers.to_vec())];
    out.extend(rows.iter().map(|r| line(r.iter().map(String::as_str).collect())));
    out.join("\n")
}

fn short(did: &Did) -> String {
    let s = did.multibase();
    format!("{}…{}", &s[..8], &s[s.len() - 4..])
}

pub fn log_table(records: &[Record]) -> String {
    let rows = records
        .iter()
        .map(|r| {
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
            vec![
                r.seq.to_string(),
                r.recorded_at.to_string(),
                p.kind().to_owned(),
                short(&r.event.event.author),
                summary,
            ]
        })
        .collect();
    table(&["SEQ", "RECORDED", "KIND", "AUTHOR", "SUMMARY"], rows)
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
