//! Admission: the checks an event passes on its own, before the rules see it. First what is the
//! event's own ([`SignedEvent::verify`]: JSON, schema, types, its signatures), then the standard
//! proof of the credential it stands for ([`vc::check_event_proof`]: `body.vc_proof`). The
//! ledger's append, the audit's replay and the bundle verifier each call these, so no path that
//! admits an event skips a step.

use serde_json::Value;

use crate::event::{EventError, SignedEvent};
use crate::vc;

/// Verifies untrusted JSON as an event: its own checks, then its standard proof.
pub fn verify(value: Value) -> Result<SignedEvent, EventError> {
    let event = SignedEvent::verify(value)?;
    check_standard_proof(&event)?;
    Ok(event)
}

/// Verifies again an event read with its types and did:keys checked (a bundle's or an audited
/// record, read by [`Record::parse`](crate::record::Record::parse)): its schema, its signatures,
/// then its standard proof.
pub fn reverify(event: &SignedEvent) -> Result<(), EventError> {
    event.reverify()?;
    check_standard_proof(event)
}

/// A credential event's `body.vc_proof`, if it has one, as its author's proof of the credential
/// the event stands for; refused as a bad signature, like the event's own.
pub fn check_standard_proof(event: &SignedEvent) -> Result<(), EventError> {
    vc::check_event_proof(&event.event).map_err(EventError::Signature)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{CourseCompleted, Event, Payload, Skill, Timestamp};
    use crate::keys::SecretKey;

    /// A course for the learner by the issuer, with the issuer's standard proof attached.
    fn proved_course(issuer: &SecretKey, title: &str) -> Event {
        let learner = SecretKey::from_seed(&[2; 32]);
        let payload = Payload::CourseCompleted(CourseCompleted {
            credential_uuid: "6f1c2f4e-8a8b-4d55-9a43-1f2b3c4d5e6f".into(),
            learner: learner.did().clone(),
            title: title.into(),
            code: "CS101".into(),
            skills: Skill::parse_list("15-1252.00=Software Developers"),
            credits: 3.0,
            completed_on: "2026-05-01".parse().unwrap(),
            ledger: None,
            vc_proof: None,
            vc: None,
        });
        let at: Timestamp = "2026-05-01T12:00:00Z".parse().unwrap();
        vc::attach_proof(Event::new(issuer.did().clone(), at, payload), issuer).unwrap()
    }

    fn proof_of(event: &Event) -> Option<String> {
        match &event.payload {
            Payload::CourseCompleted(c) => c.vc_proof.clone(),
            _ => None,
        }
    }

    #[test]
    fn a_signed_event_whose_standard_proof_is_for_another_credential_is_refused() {
        let issuer = SecretKey::from_seed(&[1; 32]);
        let honest = proved_course(&issuer, "Intro to Python").sign(&issuer, None).unwrap();
        verify(honest.value().clone()).expect("the issuer's proof of this very credential");
        reverify(&honest).expect("read again");

        // The author signs the event over the proof of another of its credentials.
        let mut swapped = proved_course(&issuer, "Intro to Python");
        let other = proof_of(&proved_course(&issuer, "Advanced Python"));
        if let Payload::CourseCompleted(c) = &mut swapped.payload {
            c.vc_proof = other;
        }
        let swapped = swapped.sign(&issuer, None).unwrap();
        // The event's own checks pass: the standard proof is admission's step, not the event's.
        SignedEvent::verify(swapped.value().clone()).expect("its own signature verifies");
        let refused = verify(swapped.value().clone()).unwrap_err();
        assert!(matches!(refused, EventError::Signature(_)), "{refused:?}");
        assert!(refused.to_string().starts_with("body.vc_proof: not the author's"), "{refused}");
        let again = reverify(&swapped).unwrap_err().to_string();
        assert!(again.starts_with("body.vc_proof: not the author's"), "{again}");
    }
}
