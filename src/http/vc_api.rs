//! The W3C VC API's verify operation (`POST /credentials/verify`), the shape W3C's interop test
//! suites call: the request `{verifiableCredential, options}` and the answer `{verified, checks,
//! warnings, errors}`, 200 when the credential verifies and 400 when it does not. The checks are
//! the ledger's own ([`VcReport`]), which the answer also carries whole, with the verdict.

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::http::problem::Problem;
use crate::vc::{VcCheck, VcReport, VcVerdict};

/// A verification request: the credential, and what the caller expects of its proofs.
#[derive(Debug)]
pub(crate) struct VerifyRequest {
    pub credential: Value,
    /// `options.challenge` / `options.domain`: every proof must carry them.
    pub challenge: Option<String>,
    pub domain: Option<String>,
}

/// Reads a request body (already JSON), naming the member that is wrong.
pub(crate) fn request(body: Value) -> Result<VerifyRequest, Problem> {
    let bad = |detail: &str| Problem::bad_request("bad-request", detail);
    let Value::Object(mut body) = body else { return Err(bad("the body is not a JSON object")) };
    let credential = match body.remove("verifiableCredential") {
        Some(credential @ Value::Object(_)) => credential,
        Some(_) => return Err(bad("verifiableCredential: not a JSON object")),
        None => return Err(bad("verifiableCredential: missing")),
    };
    let options = match body.remove("options") {
        None | Some(Value::Null) => serde_json::Map::new(),
        Some(Value::Object(options)) => options,
        Some(_) => return Err(bad("options: not a JSON object")),
    };
    let text = |name: &str| match options.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(bad(&format!("options.{name}: not a string"))),
    };
    Ok(VerifyRequest { credential, challenge: text("challenge")?, domain: text("domain")? })
}

/// The checks that every proof carries the `challenge` and `domain` the caller expects.
pub(crate) fn expectations(request: &VerifyRequest) -> Vec<VcCheck> {
    let proofs: Vec<&Value> = match request.credential.get("proof") {
        Some(Value::Array(list)) => list.iter().collect(),
        Some(one) => vec![one],
        None => vec![],
    };
    [("challenge", &request.challenge), ("domain", &request.domain)]
        .into_iter()
        .filter_map(|(name, want)| {
            let want = want.as_deref()?;
            let all = !proofs.is_empty() && proofs.iter().all(|p| p.get(name).and_then(Value::as_str) == Some(want));
            let detail = if all {
                format!("every proof's {name} is the one expected")
            } else {
                format!("a proof's {name} is not the one expected (options.{name})")
            };
            Some(VcCheck { name: format!("proof.{name}"), ok: all, ran: true, detail })
        })
        .collect()
}

/// One check that failed, or was not made.
#[derive(Serialize, ToSchema, Debug)]
pub(crate) struct Finding {
    /// The check's name (`proof.signature`, `credential.status.revocation`, …).
    pub name: String,
    pub message: String,
}

/// The VC API's verification result.
#[derive(Serialize, ToSchema, Debug)]
pub(crate) struct VerificationResult {
    /// Did the credential verify (proofs, validity and status)?
    pub verified: bool,
    /// The checks that passed, by name.
    pub checks: Vec<String>,
    /// Checks that were not made.
    pub warnings: Vec<Finding>,
    /// Checks that failed.
    pub errors: Vec<Finding>,
    /// The ledger's verdict: VALID, INVALID, REVOKED, SUSPENDED or STATUS-UNKNOWN.
    pub verdict: String,
    /// The ledger's whole report: `{verdict, signer, checks}`.
    #[schema(value_type = Object)]
    pub report: Value,
}

/// The result of a report, and whether it is the VC API's success (200) or failure (400).
pub(crate) fn result(report: &VcReport) -> (bool, VerificationResult) {
    let finding = |c: &VcCheck| Finding { name: c.name.clone(), message: c.detail.clone() };
    let verified = report.verdict == VcVerdict::Valid;
    let result = VerificationResult {
        verified,
        checks: report.checks.iter().filter(|c| c.ran && c.ok).map(|c| c.name.clone()).collect(),
        warnings: report.checks.iter().filter(|c| !c.ran).map(finding).collect(),
        errors: report.checks.iter().filter(|c| c.ran && !c.ok).map(finding).collect(),
        verdict: report.verdict.to_string(),
        report: serde_json::to_value(report).unwrap_or(Value::Null),
    };
    (verified, result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn requests_are_read_naming_what_is_wrong() {
        let ok =
            request(json!({"verifiableCredential": {"proof": {"challenge": "c1"}}, "options": {"challenge": "c1"}}))
                .unwrap();
        assert_eq!(ok.challenge.as_deref(), Some("c1"));
        assert!(expectations(&ok).iter().all(|c| c.ok));
        let other = VerifyRequest { challenge: Some("c2".into()), ..ok };
        assert_eq!(expectations(&other).iter().filter(|c| !c.ok).count(), 1);
        for (body, why) in [
            (json!([]), "the body is not a JSON object"),
            (json!({}), "verifiableCredential: missing"),
            (json!({"verifiableCredential": "x"}), "verifiableCredential: not a JSON object"),
            (json!({"verifiableCredential": {}, "options": 1}), "options: not a JSON object"),
            (json!({"verifiableCredential": {}, "options": {"domain": 1}}), "options.domain: not a string"),
        ] {
            let problem = request(body).unwrap_err();
            assert_eq!(problem.detail, why);
        }
    }
}
