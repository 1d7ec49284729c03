//! Reading a student system's export: CSV with named columns (renamed by a [`ColumnMap`]), each
//! row checked and turned into an [`Award`], or into the row and column that are wrong and why.
//! An award's identity is the hash of its normalized row, so importing a file twice finds the
//! same awards. Pure: a reader in, awards and errors out; streaming, one record at a time.

use std::collections::BTreeMap;
use std::io::Read;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::event::{ApprenticeshipCompleted, CertificateAwarded, CourseCompleted, Date, Payload, Skill};
use crate::id::{Did, Hash32};
use crate::text::clip;

/// The columns an export may have, as they are named after the map.
pub const COLUMNS: [&str; 10] =
    ["student_id", "email", "kind", "title", "code", "credits", "hours", "employer", "completed", "skills"];
/// The columns every export must have.
const REQUIRED: [&str; 6] = ["student_id", "email", "kind", "title", "completed", "skills"];
/// The longest student id and email address kept.
const MAX_ID: usize = 200;

/// What kind of credential an award becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Course,
    Certificate,
    Apprenticeship,
}

/// One completion from the export: who (kept only at the agent) and what (the credential).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Award {
    /// BLAKE3 of the normalized row, hex: the award's identity.
    pub id: String,
    pub student_id: String,
    pub email: String,
    pub kind: Kind,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credits: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hours: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employer: Option<String>,
    pub completed: Date,
    pub skills: Vec<Skill>,
}

/// A wrong row: where (the file's row number, the header being row 1; the column as the file
/// names it) and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowError {
    pub row: u64,
    pub column: String,
    pub reason: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "row {}, column {}: {}", self.row, self.column, self.reason)
    }
}

/// Renames of the file's header names to [`COLUMNS`]: `Student ID=student_id,E-mail=email`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColumnMap(BTreeMap<String, String>);

impl ColumnMap {
    /// Reads `FROM=TO` pairs separated by commas; each TO must be one of [`COLUMNS`].
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut map = BTreeMap::new();
        for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (from, to) = pair.split_once('=').ok_or_else(|| format!("map: `{}` is not FROM=TO", clip(pair, 60)))?;
            let to = to.trim();
            if !COLUMNS.contains(&to) {
                return Err(format!("map: `{}` is not a column; the columns are {}", clip(to, 60), COLUMNS.join(", ")));
            }
            map.insert(from.trim().to_owned(), to.to_owned());
        }
        Ok(ColumnMap(map))
    }

    fn rename<'a>(&'a self, header: &'a str) -> &'a str {
        self.0.get(header.trim()).map_or(header.trim(), String::as_str)
    }
}

/// Reads an export: `each` hears every row's number and its award or its errors, in order. Fails as a whole
/// (row 1) when the header lacks a required column or is not CSV.
pub fn read(
    input: impl Read,
    map: &ColumnMap,
    mut each: impl FnMut(u64, Result<Award, Vec<RowError>>),
) -> Result<u64, RowError> {
    let mut reader = csv::ReaderBuilder::new().flexible(false).trim(csv::Trim::All).from_reader(input);
    let header_error = |column: &str, reason: String| RowError { row: 1, column: column.to_owned(), reason };
    let headers = reader.headers().map_err(|e| header_error("(header)", format!("not CSV: {e}")))?.clone();
    // Column name (after the map) → (index, the name in the file).
    let mut at: BTreeMap<&str, (usize, String)> = BTreeMap::new();
    for (index, name) in headers.iter().enumerate() {
        let column = map.rename(name);
        if let Some(known) = COLUMNS.iter().find(|c| **c == column) {
            if at.insert(known, (index, name.to_owned())).is_some() {
                return Err(header_error(name, format!("a second `{known}` column")));
            }
        }
    }
    if let Some(missing) = REQUIRED.iter().find(|c| !at.contains_key(*c)) {
        return Err(header_error(
            missing,
            format!(
                "missing; the header names {} (rename others with --map)",
                headers.iter().collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    Ok(records(&mut reader, |row, record| match record {
        Ok(record) => {
            let fields: BTreeMap<&str, (&str, &str)> = at
                .iter()
                .map(|(column, (index, name))| (*column, (record.get(*index).unwrap_or_default(), name.as_str())))
                .collect();
            each(row, award(row, &fields));
        }
        Err(e) => each(row, Err(vec![RowError { row, column: "(row)".to_owned(), reason: format!("not CSV: {e}") }])),
    }))
}

/// Each record after the header with its row number (the line it starts on, the header's being
/// 1), or why it could not be read: how many there were.
pub fn records<R: Read>(
    reader: &mut csv::Reader<R>,
    mut each: impl FnMut(u64, Result<&csv::StringRecord, csv::Error>),
) -> u64 {
    let mut rows = 0;
    let mut record = csv::StringRecord::new();
    loop {
        let next = reader.position().line() + 1;
        match reader.read_record(&mut record) {
            Ok(false) => return rows,
            Ok(true) => each(record.position().map_or(next, |p| p.line()), Ok(&record)),
            Err(e) => each(e.position().map_or(next, |p| p.line()), Err(e)),
        }
        rows += 1;
    }
}

/// One row's award, or every error in it.
fn award(row: u64, fields: &BTreeMap<&str, (&str, &str)>) -> Result<Award, Vec<RowError>> {
    let mut errors = Vec::new();
    let mut error = |column: &str, reason: String| {
        let name = fields.get(column).map_or(column, |(_, name)| name);
        errors.push(RowError { row, column: name.to_owned(), reason });
    };
    let text = |column: &str| fields.get(column).map(|(value, _)| *value).filter(|v| !v.is_empty());

    let student_id = text("student_id").unwrap_or_default().to_owned();
    if student_id.is_empty() || student_id.len() > MAX_ID {
        error("student_id", format!("required, at most {MAX_ID} characters"));
    }
    let email = text("email").unwrap_or_default().to_ascii_lowercase();
    let plausible = email.split_once('@').is_some_and(|(user, host)| !user.is_empty() && host.contains('.'));
    if !plausible || email.len() > MAX_ID || email.contains(char::is_whitespace) {
        error("email", format!("`{}` is not an email address", clip(&email, 60)));
    }
    let kind = match text("kind").map(str::to_ascii_lowercase).as_deref() {
        Some("course") => Some(Kind::Course),
        Some("certificate") => Some(Kind::Certificate),
        Some("apprenticeship") => Some(Kind::Apprenticeship),
        other => {
            let found = other.map_or_else(|| "nothing".to_owned(), |k| format!("`{}`", clip(k, 40)));
            error("kind", format!("{found}; must be course, certificate or apprenticeship"));
            None
        }
    };
    let completed = match text("completed").map(str::parse::<Date>) {
        Some(Ok(date)) => Some(date),
        Some(Err(e)) => {
            error("completed", e);
            None
        }
        None => {
            error("completed", "required, a date like 2026-05-01".to_owned());
            None
        }
    };
    let skills = parse_skills(text("skills").unwrap_or_default());
    if skills.is_empty() {
        error("skills", "name at least one skill, as ID=Label;ID=Label".to_owned());
    }
    let needed = |column: &str, kinds: &[Kind]| kind.is_some_and(|k| kinds.contains(&k)) && text(column).is_none();
    for (column, kinds) in [
        ("code", &[Kind::Course][..]),
        ("credits", &[Kind::Course][..]),
        ("hours", &[Kind::Apprenticeship][..]),
        ("employer", &[Kind::Apprenticeship][..]),
    ] {
        if needed(column, kinds) {
            error(column, format!("required for a {}", kind_name(kind)));
        }
    }
    let credits = match text("credits").filter(|_| kind == Some(Kind::Course)).map(str::parse::<f64>) {
        Some(Ok(n)) if n.is_finite() => Some(n),
        Some(_) => {
            error("credits", "not a number".to_owned());
            None
        }
        None => None,
    };
    let hours = match text("hours").filter(|_| kind == Some(Kind::Apprenticeship)).map(str::parse::<u32>) {
        Some(Ok(n)) => Some(n),
        Some(Err(_)) => {
            error("hours", "not a whole number of hours".to_owned());
            None
        }
        None => None,
    };
    let (Some(kind), Some(completed), true) = (kind, completed, errors.is_empty()) else {
        return Err(errors);
    };
    let mut award = Award {
        id: String::new(),
        student_id,
        email,
        kind,
        title: text("title").unwrap_or_default().to_owned(),
        code: text("code").filter(|_| kind == Kind::Course).map(str::to_owned),
        credits,
        hours,
        employer: text("employer").filter(|_| kind == Kind::Apprenticeship).map(str::to_owned),
        completed,
        skills,
    };
    // The ledger's own schema judges what goes on the log (lengths, patterns, ranges).
    if let Err(e) = crate::schema::validate_body(award.event_kind(), &award.body_for_check()) {
        let column = column_of(&e.field);
        return Err(vec![RowError {
            row,
            column: fields.get(column).map_or(column, |(_, name)| name).to_owned(),
            reason: e.reason,
        }]);
    }
    award.id = Hash32::digest(&crate::canonical::to_vec_of(&award).unwrap_or_default()).to_hex();
    Ok(award)
}

fn kind_name(kind: Option<Kind>) -> &'static str {
    match kind {
        Some(Kind::Course) => "course",
        Some(Kind::Certificate) => "certificate",
        Some(Kind::Apprenticeship) | None => "apprenticeship",
    }
}

/// `ID=Label;ID=Label` (a bare ID has no label).
fn parse_skills(text: &str) -> Vec<Skill> {
    Skill::parse_list(&text.replace(';', ","))
}

/// The column a body field comes from.
fn column_of(field: &str) -> &'static str {
    let name = field.strip_prefix("body.").unwrap_or(field);
    let name = name.split(['.', '[']).next().unwrap_or(name);
    match name {
        "title" => "title",
        "code" => "code",
        "credits" => "credits",
        "hours" => "hours",
        "employer" => "employer",
        "skills" => "skills",
        "completed_on" | "awarded_on" => "completed",
        _ => "(row)",
    }
}

/// A did that stands in for the learner while a row is checked, before any wallet has one.
const PLACEHOLDER_LEARNER: &str = "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2";

impl Award {
    /// The event kind this award is issued as.
    pub fn event_kind(&self) -> &'static str {
        match self.kind {
            Kind::Course => "credential.course_completed",
            Kind::Certificate => "credential.certificate_awarded",
            Kind::Apprenticeship => "credential.apprenticeship_completed",
        }
    }

    fn body_for_check(&self) -> Value {
        let learner: Did = PLACEHOLDER_LEARNER.parse().expect("a valid did");
        let payload = self.payload(learner, "00000000-0000-4000-8000-000000000000".to_owned(), "agent.invalid");
        serde_json::to_value(&payload).ok().and_then(|v| v.get("body").cloned()).unwrap_or_else(|| json!({}))
    }

    /// The credential this award is, issued to `learner` on the log `origin`, with the issuer's
    /// `credential_uuid`.
    pub fn payload(&self, learner: Did, credential_uuid: String, origin: &str) -> Payload {
        let ledger = Some(origin.to_owned());
        match self.kind {
            Kind::Course => Payload::CourseCompleted(CourseCompleted {
                credential_uuid,
                learner,
                title: self.title.clone(),
                code: self.code.clone().unwrap_or_default(),
                skills: self.skills.clone(),
                credits: self.credits.unwrap_or_default(),
                completed_on: self.completed,
                ledger,
                vc_proof: None,
                vc: None,
            }),
            Kind::Certificate => Payload::CertificateAwarded(CertificateAwarded {
                credential_uuid,
                learner,
                title: self.title.clone(),
                skills: self.skills.clone(),
                awarded_on: self.completed,
                valid_until: None,
                ledger,
                vc_proof: None,
                vc: None,
            }),
            Kind::Apprenticeship => Payload::ApprenticeshipCompleted(ApprenticeshipCompleted {
                credential_uuid,
                learner,
                title: self.title.clone(),
                employer: self.employer.clone().unwrap_or_default(),
                hours: self.hours.unwrap_or_default(),
                skills: self.skills.clone(),
                completed_on: self.completed,
                apprenticeship: None,
                ledger,
                vc_proof: None,
                vc: None,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "student_id,email,kind,title,code,credits,hours,employer,completed,skills\n";

    fn read_all(text: &str, map: &ColumnMap) -> (Vec<Award>, Vec<RowError>) {
        let (mut good, mut bad) = (Vec::new(), Vec::new());
        read(text.as_bytes(), map, |_, r| match r {
            Ok(a) => good.push(a),
            Err(e) => bad.extend(e),
        })
        .unwrap();
        (good, bad)
    }

    #[test]
    fn good_rows_become_awards_with_stable_ids() {
        let text = format!(
            "{HEADER}S1,Ana@Example.edu,course,Welding I,WLD-101,3,,,2026-05-01,esco:1=Welding;esco:2=Safety\n\
             S2,bo@example.edu,apprenticeship,Electrician,,,2000,Acme Power,2026-06-01,onet:47-2111\n\
             S3,cy@example.edu,certificate,First Aid,,,,,2026-04-01,x:1=First aid\n"
        );
        let (good, bad) = read_all(&text, &ColumnMap::default());
        assert_eq!(bad, []);
        assert_eq!(good.len(), 3);
        assert_eq!(good[0].email, "ana@example.edu");
        assert_eq!(good[0].skills.len(), 2);
        assert_eq!(good[1].hours, Some(2000));
        let (again, _) = read_all(&text, &ColumnMap::default());
        assert_eq!(good.iter().map(|a| &a.id).collect::<Vec<_>>(), again.iter().map(|a| &a.id).collect::<Vec<_>>());
        assert_ne!(good[0].id, good[1].id);
    }

    #[test]
    fn bad_rows_name_their_row_and_column() {
        let text = format!(
            "{HEADER}S1,not-an-email,course,Welding I,WLD-101,3,,,2026-05-01,esco:1=Welding\n\
             S2,bo@example.edu,course,Welding I,WLD-101,3,,,2026-13-01,esco:1=Welding\n\
             S3,cy@example.edu,diploma,X,,,,,2026-04-01,x:1\n\
             S4,d@example.edu,apprenticeship,Electrician,,,,,2026-06-01,x:1\n\
             S5,e@example.edu,course,Welding I,WLD-101,3.1,,,2026-05-01,esco:1=Welding\n"
        );
        let (good, bad) = read_all(&text, &ColumnMap::default());
        assert!(good.is_empty());
        let at = |row: u64| bad.iter().filter(|e| e.row == row).map(|e| e.column.as_str()).collect::<Vec<_>>();
        assert_eq!(at(2), ["email"]);
        assert_eq!(at(3), ["completed"]);
        assert_eq!(at(4), ["kind"]);
        assert_eq!(at(5), ["hours", "employer"]);
        assert_eq!(at(6), ["credits"], "{bad:?}");
    }

    #[test]
    fn a_map_renames_columns_and_a_missing_column_is_refused() {
        let map = ColumnMap::parse("Student ID=student_id, E-mail=email").unwrap();
        let text = "Student ID,E-mail,kind,title,completed,skills\nS1,a@b.edu,certificate,T,2026-01-01,x:1\n";
        let (good, bad) = read_all(text, &map);
        assert_eq!((good.len(), bad.len()), (1, 0));
        let refused = read("Student ID,kind\n".as_bytes(), &ColumnMap::default(), |_, _| {}).unwrap_err();
        assert_eq!((refused.row, refused.column.as_str()), (1, "student_id"));
        assert!(ColumnMap::parse("A=nope").is_err());
    }
}
