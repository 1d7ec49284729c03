//! Believable sample data: a community college, a university, a training provider and an
//! employer that sponsors apprenticeships issue to a dozen learners, with skills named by O*NET-SOC
//! occupation codes and Lightcast Open Skills ids; one credential is revoked and one issuer
//! rotates its key. Everything derives from a 32-byte seed, so the same seed and time give the
//! same events.

use time::OffsetDateTime;

use crate::event::{
    ApprenticeshipCompleted, ApprenticeshipStarted, CertificateAwarded, CourseCompleted, Date, Event, EventError,
    Genesis, HoursLogged, IssuerCategory, IssuerRegistered, KeyAdded, KeyRevoked, Payload, SignedEvent, Skill,
    StatusChange, Timestamp,
};
use crate::id::Did;
use crate::keys::SecretKey;

/// The demo's keys (by file stem) and its signed events, in log order.
#[derive(Debug)]
pub struct Demo {
    pub keys: Vec<(String, SecretKey)>,
    pub events: Vec<SignedEvent>,
    /// The learner whose profile shows the most.
    pub featured_learner: Did,
}

/// Derives key and id material from the seed.
struct Seeds([u8; 32]);

impl Seeds {
    fn bytes(&self, label: &str) -> [u8; 32] {
        let mut h = blake3::Hasher::new_keyed(&self.0);
        h.update(label.as_bytes());
        *h.finalize().as_bytes()
    }
    fn key(&self, label: &str) -> SecretKey {
        SecretKey::from_seed(&self.bytes(&format!("key:{label}")))
    }
    /// A version-4 UUID from the seed.
    fn uuid(&self, label: &str) -> String {
        let b = self.bytes(&format!("uuid:{label}"));
        let mut raw = [0u8; 16];
        raw.copy_from_slice(&b[..16]);
        uuid::Builder::from_random_bytes(raw).into_uuid().to_string()
    }
}

fn skills(list: &[(&str, &str)]) -> Vec<Skill> {
    list.iter().map(|(id, label)| Skill { id: (*id).into(), label: Some((*label).into()), level: None }).collect()
}

fn date(text: &str) -> Date {
    text.parse().expect("demo dates are valid")
}

const PYTHON: (&str, &str) = ("KS1200364C9C1LK3V5Q1", "Python (Programming Language)");
const SQL: (&str, &str) = ("KS440W865GC4VRBW6LJP", "SQL (Programming Language)");
const SOFTWARE_DEV: (&str, &str) = ("15-1252.00", "Software Developers");
const SUPPORT: (&str, &str) = ("15-1232.00", "Computer User Support Specialists");
const NETWORK_ADMIN: (&str, &str) = ("15-1244.00", "Network and Computer Systems Administrators");
const DATA_SCIENCE: (&str, &str) = ("15-2051.00", "Data Scientists");
const LPN: (&str, &str) = ("29-2061.00", "Licensed Practical and Licensed Vocational Nurses");
const NURSING_ASSISTANT: (&str, &str) = ("31-1131.00", "Nursing Assistants");
const EMT: (&str, &str) = ("29-2042.00", "Emergency Medical Technicians");
const ELECTRICIAN: (&str, &str) = ("47-2111.00", "Electricians");
const WELDER: (&str, &str) = ("51-4121.00", "Welders, Cutters, Solderers, and Brazers");
const CNC: (&str, &str) = ("51-4011.00", "Computer Numerically Controlled Tool Operators");
const HVAC: (&str, &str) = ("49-9021.00", "Heating, Air Conditioning, and Refrigeration Mechanics and Installers");
const BOOKKEEPING: (&str, &str) = ("43-3031.00", "Bookkeeping, Accounting, and Auditing Clerks");
const ACCOUNTANT: (&str, &str) = ("13-2011.00", "Accountants and Auditors");

/// Builds the demo's events for a ledger whose operator is `operator`, signed at `now`, its
/// credentials' status lists served at `https://<origin>`.
pub fn build(operator: &SecretKey, origin: &str, seed: [u8; 32], now: OffsetDateTime) -> Result<Demo, EventError> {
    build_at(operator, origin, &format!("https://{origin}"), seed, now)
}

/// [`build`], with the credentials' status lists served under `public_url`.
// A `Did` caches its parsed key in a `OnceLock`; its order and equality are its text's alone.
#[allow(clippy::mutable_key_type)]
pub fn build_at(
    operator: &SecretKey,
    origin: &str,
    public_url: &str,
    seed: [u8; 32],
    now: OffsetDateTime,
) -> Result<Demo, EventError> {
    let seeds = Seeds(seed);
    let at = Timestamp::whole_seconds(now);
    let college = seeds.key("lakeside-college");
    let college_2026 = seeds.key("lakeside-college-2026");
    let university = seeds.key("northfield-university");
    let provider = seeds.key("keystone-skills");
    let sponsor = seeds.key("riverside-manufacturing");
    let learners: Vec<SecretKey> = (1..=12).map(|i| seeds.key(&format!("learner-{i:02}"))).collect();
    let lrn = |i: usize| learners[i - 1].did().clone();

    // Every event but genesis names the log it is for.
    let ledger = || Some(origin.to_owned());
    let mut events = Vec::new();
    let names: std::collections::BTreeMap<Did, &str> = [
        (&college, "Lakeside Community College"),
        (&college_2026, "Lakeside Community College"),
        (&university, "Northfield State University"),
        (&provider, "Keystone Skills Institute"),
        (&sponsor, "Riverside Manufacturing Co."),
    ]
    .into_iter()
    .map(|(key, name)| (key.did().clone(), name))
    .collect();
    let mut taken = std::collections::BTreeSet::new();
    let mut sign = |key: &SecretKey, payload: Payload| -> Result<SignedEvent, EventError> {
        // Credentials are standard form 2, each at a seeded index of its key's first list.
        let form = payload.credential_uuid().zip(names.get(key.did())).map(|(uuid, name)| {
            let bytes = seeds.bytes(&format!("status-{uuid}"));
            let mut index = u32::from_le_bytes(bytes[..4].try_into().expect("4 bytes")) % crate::status_list::LIST_SIZE;
            while !taken.insert((key.did().clone(), index)) {
                index = (index + 1) % crate::status_list::LIST_SIZE;
            }
            crate::event::StandardForm {
                form: 2,
                issuer_name: (*name).to_owned(),
                status_base: public_url.to_owned(),
                status_list: 0,
                status_index: index,
            }
        });
        let payload = payload.with_standard_form(form);
        let event =
            crate::vc::attach_proof(Event::new(key.did().clone(), at, payload), key).map_err(EventError::Encode)?;
        let signed = event.sign(key, None)?;
        events.push(signed.clone());
        Ok(signed)
    };
    sign(operator, Payload::Genesis(Genesis { origin: origin.into(), operator: operator.did().clone() }))?;
    for (key, name, category) in [
        (&college, "Lakeside Community College", IssuerCategory::College),
        (&university, "Northfield State University", IssuerCategory::University),
        (&provider, "Keystone Skills Institute", IssuerCategory::Provider),
        (&sponsor, "Riverside Manufacturing Co.", IssuerCategory::Employer),
    ] {
        sign(
            operator,
            Payload::IssuerRegistered(IssuerRegistered {
                issuer: key.did().clone(),
                name: name.into(),
                category,
                ledger: ledger(),
            }),
        )?;
    }

    let mut n = 0;
    let mut course = |learner: Did, title: &str, code: &str, s: &[(&str, &str)], credits: f64, on: &str| {
        n += 1;
        Payload::CourseCompleted(CourseCompleted {
            credential_uuid: seeds.uuid(&format!("course-{n}")),
            learner,
            title: title.into(),
            code: code.into(),
            skills: skills(s),
            credits,
            completed_on: date(on),
            ledger: ledger(),
            vc_proof: None,
            vc: None,
        })
    };
    // The featured learner: a career changer into software and data work.
    sign(
        &college,
        course(lrn(1), "Intro to Python Programming", "CIS 121", &[SOFTWARE_DEV, PYTHON], 3.0, "2025-12-12"),
    )?;
    sign(&college, course(lrn(1), "Database Fundamentals", "CIS 140", &[SQL, DATA_SCIENCE], 3.0, "2026-05-08"))?;
    sign(&college, course(lrn(2), "Practical Nursing I", "NUR 101", &[LPN], 6.0, "2025-12-18"))?;
    sign(&college, course(lrn(3), "Residential Wiring", "ELT 110", &[ELECTRICIAN], 4.0, "2026-05-15"))?;
    sign(
        &college,
        course(lrn(4), "Principles of Accounting I", "ACC 101", &[BOOKKEEPING, ACCOUNTANT], 3.0, "2025-12-10"),
    )?;
    sign(&college, course(lrn(5), "Welding Fundamentals", "WLD 100", &[WELDER], 4.0, "2026-05-01"))?;
    sign(&university, course(lrn(1), "Applied Statistics", "STAT 2040", &[DATA_SCIENCE], 4.0, "2026-05-20"))?;
    sign(&university, course(lrn(6), "Data Structures", "CS 2110", &[SOFTWARE_DEV, PYTHON], 4.0, "2025-12-15"))?;
    sign(&university, course(lrn(7), "Financial Accounting", "ACCT 2010", &[ACCOUNTANT], 3.0, "2026-05-12"))?;
    sign(&university, course(lrn(8), "Health Assessment", "NURS 3100", &[LPN], 3.5, "2026-05-14"))?;

    let mut m = 0;
    let mut certificate = |learner: Did, title: &str, s: &[(&str, &str)], on: &str, until: Option<&str>| {
        m += 1;
        Payload::CertificateAwarded(CertificateAwarded {
            credential_uuid: seeds.uuid(&format!("certificate-{m}")),
            learner,
            title: title.into(),
            skills: skills(s),
            awarded_on: date(on),
            valid_until: until.map(date),
            ledger: ledger(),
            vc_proof: None,
            vc: None,
        })
    };
    sign(
        &provider,
        certificate(lrn(1), "Data Analytics Certificate", &[PYTHON, SQL, DATA_SCIENCE], "2026-06-15", None),
    )?;
    sign(
        &provider,
        certificate(lrn(9), "IT Support Professional Certificate", &[SUPPORT, NETWORK_ADMIN], "2026-03-02", None),
    )?;
    sign(&provider, certificate(lrn(10), "EMT-Basic Certification", &[EMT], "2026-02-20", Some("2028-02-20")))?;
    sign(
        &provider,
        certificate(lrn(11), "Certified Nursing Assistant", &[NURSING_ASSISTANT], "2026-01-30", Some("2028-01-30")),
    )?;
    let in_error = sign(&provider, certificate(lrn(12), "HVAC Technician Certificate", &[HVAC], "2026-04-10", None))?;
    sign(
        &provider,
        Payload::CredentialRevoked(StatusChange {
            credential: in_error.id(),
            reason: "Issued in error: the final practical exam was not passed".into(),
            ledger: ledger(),
        }),
    )?;

    // The college rotates its signing key; later credentials carry the new one.
    sign(&college, Payload::KeyAdded(KeyAdded { issuer: None, key: college_2026.did().clone(), ledger: ledger() }))?;
    sign(
        &college_2026,
        Payload::KeyRevoked(KeyRevoked {
            issuer: None,
            key: college.did().clone(),
            reason: "Scheduled annual key rotation".into(),
            compromised_since: None,
            ledger: ledger(),
        }),
    )?;
    sign(
        &college_2026,
        course(lrn(1), "Web Development with Python", "CIS 230", &[SOFTWARE_DEV, PYTHON], 3.0, "2026-08-14"),
    )?;
    sign(&college_2026, course(lrn(12), "Refrigeration Systems", "HVA 120", &[HVAC], 4.0, "2026-08-07"))?;

    // An apprenticeship at the manufacturing sponsor, from start to completion.
    let started = sign(
        &sponsor,
        Payload::ApprenticeshipStarted(ApprenticeshipStarted {
            learner: lrn(5),
            title: "CNC Machinist Registered Apprenticeship".into(),
            employer: "Riverside Manufacturing Co.".into(),
            started_on: date("2025-01-06"),
            ledger: ledger(),
        }),
    )?;
    for (hours, through) in [(1000, "2025-06-30"), (1000, "2025-12-31")] {
        sign(
            &sponsor,
            Payload::HoursLogged(HoursLogged {
                apprenticeship: started.id(),
                hours,
                through: date(through),
                ledger: ledger(),
            }),
        )?;
    }
    sign(
        &sponsor,
        Payload::ApprenticeshipCompleted(ApprenticeshipCompleted {
            credential_uuid: seeds.uuid("apprenticeship-1"),
            learner: lrn(5),
            title: "CNC Machinist Registered Apprenticeship".into(),
            employer: "Riverside Manufacturing Co.".into(),
            hours: 2000,
            skills: skills(&[CNC, WELDER]),
            completed_on: date("2026-01-09"),
            apprenticeship: Some(started.id()),
            ledger: ledger(),
            vc_proof: None,
            vc: None,
        }),
    )?;
    sign(
        &sponsor,
        Payload::ApprenticeshipStarted(ApprenticeshipStarted {
            learner: lrn(3),
            title: "Industrial Electrician Apprenticeship".into(),
            employer: "Riverside Manufacturing Co.".into(),
            started_on: date("2026-06-01"),
            ledger: ledger(),
        }),
    )?;

    let mut keys = vec![
        ("lakeside-college".to_owned(), college),
        ("lakeside-college-2026".to_owned(), college_2026),
        ("northfield-university".to_owned(), university),
        ("keystone-skills".to_owned(), provider),
        ("riverside-manufacturing".to_owned(), sponsor),
    ];
    let featured_learner = lrn(1);
    keys.extend(learners.into_iter().enumerate().map(|(i, k)| (format!("learner-{:02}", i + 1), k)));
    Ok(Demo { keys, events, featured_learner })
}
