//! `credledger submit FILE`: appends a file of signed events (JSON Lines, or one JSON event or
//! array) in groups, and reports each line's fate as its group commits, in line order. What it
//! holds does not grow with the file: lines are read as the groups go, and their outcomes are
//! written out as they come (with `--atomic`, all or nothing, they wait for the one group).

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::io::{self, BufRead, Read, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::cli::target::{GROUP, Outcome, Target};

/// Each event of a file with its line number (or place in a JSON array), or why it is not one.
type Events = Box<dyn Iterator<Item = (usize, std::result::Result<Value, String>)>>;

/// Appends the events of `file` to `target` and reports them; exit 1 if any was refused.
pub fn run(target: &Target, json: bool, file: &Path, atomic: bool, now: OffsetDateTime) -> Result<ExitCode> {
    let mut events = read_events(file)?.peekable();
    if events.peek().is_none() {
        bail!("{}: no events in the file", file.display());
    }
    let progress = crate::cli::progress::bar(count_lines(file)?, json, "appending");
    // Filled as the chunks are read, drained as their outcomes come.
    let unreported = RefCell::new(Unreported::default());
    let group = if atomic { usize::MAX } else { GROUP };
    let mut chunks = std::iter::from_fn(|| {
        let mut chunk = Vec::new();
        for (line, parsed) in events.by_ref() {
            let mut unreported = unreported.borrow_mut();
            match parsed {
                Ok(value) => {
                    chunk.push(value);
                    unreported.handed_over.push_back(line);
                }
                Err(e) => {
                    unreported.malformed.insert(line, e);
                }
            }
            if chunk.len() >= group {
                break;
            }
        }
        (!chunk.is_empty()).then_some(chunk)
    });
    let mut report = Report::start(json);
    if atomic {
        // All or nothing: read everything first, and refuse it all if any line is malformed.
        let all: Vec<Vec<Value>> = chunks.by_ref().collect();
        let mut unreported = unreported.into_inner();
        let mut outcomes: Vec<Outcome> = Vec::new();
        if unreported.malformed.is_empty() {
            target.append(all, true, now, &mut |o| outcomes.extend(o))?;
        }
        let refused_all = !unreported.malformed.is_empty() || outcomes.iter().any(Result::is_err);
        let mut outcomes = outcomes.into_iter();
        while let Some(line) = unreported.handed_over.pop_front() {
            let outcome = outcomes.next().unwrap_or(Err(String::new()));
            unreported.report_malformed_before(line, &mut report);
            report.line(line, &outcome, refused_all);
        }
        unreported.report_malformed_before(usize::MAX, &mut report);
        return Ok(report.finish(refused_all));
    }
    let mut done = 0u64;
    target.append(&mut chunks, false, now, &mut |outcomes| {
        let mut unreported = unreported.borrow_mut();
        done += outcomes.len() as u64;
        for outcome in outcomes {
            let line = unreported.handed_over.pop_front().unwrap_or(0);
            unreported.report_malformed_before(line, &mut report);
            report.line(line, &outcome, false);
        }
        progress.set_position(done);
    })?;
    unreported.into_inner().report_malformed_before(usize::MAX, &mut report);
    progress.finish_and_clear();
    Ok(report.finish(false))
}

/// Lines read and not reported yet.
#[derive(Default)]
struct Unreported {
    /// The lines of the events handed to the ledger, in order.
    handed_over: VecDeque<usize>,
    /// Lines that are not JSON, by line number.
    malformed: BTreeMap<usize, String>,
}

impl Unreported {
    /// Reports the malformed lines before `line`, so that the report stays in line order.
    fn report_malformed_before(&mut self, line: usize, report: &mut Report) {
        while let Some(entry) = self.malformed.first_entry() {
            if *entry.key() >= line {
                break;
            }
            let (line, why) = entry.remove_entry();
            report.line(line, &Err(why), false);
        }
    }
}

/// The report, written as it goes: a line per event (text), or one JSON object whose `events`
/// are written one by one and whose counts come last.
struct Report {
    json: bool,
    out: io::BufWriter<io::Stdout>,
    entries: usize,
    appended: usize,
    already_present: usize,
    rejected: usize,
}

impl Report {
    fn start(json: bool) -> Self {
        let mut out = io::BufWriter::new(io::stdout());
        if json {
            let _ = write!(out, "{{\n  \"events\": [");
        }
        Report { json, out, entries: 0, appended: 0, already_present: 0, rejected: 0 }
    }

    /// One line's fate. With `refused_all` (`--atomic` and something refused) nothing was
    /// appended, and lines without a reason of their own say so.
    fn line(&mut self, line: usize, outcome: &Outcome, refused_all: bool) {
        match outcome {
            Ok(_) if refused_all => {}
            Ok(a) if a.new => self.appended += 1,
            Ok(_) => self.already_present += 1,
            Err(e) if e.is_empty() => {}
            Err(e) => {
                self.rejected += 1;
                eprintln!("line {line}: rejected: {e}");
            }
        }
        // A closed pipe (e.g. `| head`) is not an error worth reporting.
        let _ = if self.json {
            let entry = match outcome {
                Ok(a) if refused_all => json!({"line": line, "id": a.id, "appended": false}),
                Ok(a) => json!({"line": line, "id": a.id, "seq": a.seq, "new": a.new}),
                Err(e) if e.is_empty() => json!({"line": line, "appended": false}),
                Err(e) => json!({"line": line, "error": e}),
            };
            let comma = if self.entries == 0 { "" } else { "," };
            write!(self.out, "{comma}\n    {entry}")
        } else {
            match outcome {
                Ok(a) if !refused_all => {
                    let note = if a.new { "" } else { " (already on the log)" };
                    writeln!(self.out, "line {line}: seq {} id {}{note}", a.seq, a.id)
                }
                _ => Ok(()),
            }
        };
        self.entries += 1;
    }

    /// The counts; exit 1 if anything was refused.
    fn finish(mut self, refused_all: bool) -> ExitCode {
        let Report { appended, already_present, rejected, .. } = self;
        let _ = if self.json {
            let counts = json!({
                "appended": appended,
                "already_present": already_present,
                "rejected": rejected,
                "peak_memory_bytes": peak_memory_bytes(),
            });
            let counts = counts
                .as_object()
                .map(|o| o.iter().map(|(k, v)| format!(",\n  {}: {v}", Value::from(k.as_str()))).collect::<String>());
            writeln!(self.out, "\n  ]{}\n}}", counts.unwrap_or_default())
        } else {
            let note = if refused_all { " (--atomic: nothing appended)" } else { "" };
            writeln!(self.out, "{appended} appended, {already_present} already on the log, {rejected} rejected{note}")
        };
        let _ = self.out.flush();
        if rejected > 0 || refused_all { ExitCode::from(1) } else { ExitCode::SUCCESS }
    }
}

/// This process's peak resident memory, where the system tells it (Linux: `VmHWM`).
fn peak_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix("VmHWM:"))?;
    let kib: u64 = line.trim().strip_suffix("kB")?.trim().parse().ok()?;
    Some(kib * 1024)
}

/// The events in a file, each with its line number: one JSON event, a JSON array, or JSON Lines.
/// JSON Lines are read one line at a time, so a large file never sits in memory whole.
fn read_events(file: &Path) -> Result<Events> {
    let open = || std::fs::File::open(file).with_context(|| format!("reading {}", file.display()));
    let mut first = String::new();
    io::BufReader::new(open()?).read_line(&mut first)?;
    let parse = |line: &str| credledger::canonical::parse_strict(line.as_bytes()).map_err(|e| e.to_string());
    if first.trim().is_empty() || first.trim_start().starts_with('[') || parse(&first).is_err() {
        // One JSON document (an event or an array of events), or a file that is neither.
        let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        return Ok(match credledger::canonical::parse_strict(&bytes) {
            Ok(Value::Array(events)) => Box::new(events.into_iter().enumerate().map(|(i, v)| (i + 1, Ok(v)))),
            Ok(event) => Box::new(std::iter::once((1, Ok(event)))),
            Err(e) => Box::new(std::iter::once((1, Err(e.to_string())))),
        });
    }
    let lines = io::BufReader::new(open()?).lines().enumerate();
    Ok(Box::new(lines.filter_map(move |(i, line)| match line {
        Ok(line) if line.trim().is_empty() => None,
        Ok(line) => Some((i + 1, parse(&line))),
        Err(e) => Some((i + 1, Err(e.to_string()))),
    })))
}

/// The number of lines in a file (at least 1), for the progress bar.
fn count_lines(file: &Path) -> Result<u64> {
    let mut reader = std::fs::File::open(file).with_context(|| format!("reading {}", file.display()))?;
    let (mut buf, mut lines) = (vec![0u8; 1 << 16], 0u64);
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            return Ok(lines.max(1));
        }
        lines += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
    }
}
