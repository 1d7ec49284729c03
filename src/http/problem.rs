//! Errors as RFC 9457 `application/problem+json`, each with a stable `type` per reason.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::ledger::AppendError;
use crate::text::clip;

/// The base of every problem type URI; the reason code follows it.
pub const TYPE_BASE: &str = "https://credledger.dev/problems/";

/// The longest `detail`, in characters: the backstop behind quoting input bounded at the source.
pub const MAX_DETAIL: usize = 1024;

/// An HTTP problem: status, a stable reason code, a title and the detail.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// For a problem about one event of an array, its index.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
}

impl Problem {
    /// A problem with this status, reason code and detail (cut to [`MAX_DETAIL`] characters).
    pub fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> Self {
        Problem {
            kind: format!("{TYPE_BASE}{code}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: clip(&detail.into(), MAX_DETAIL),
            index: None,
        }
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", detail)
    }

    pub fn bad_request(code: &str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, detail)
    }

    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", detail)
    }
}

impl From<&AppendError> for Problem {
    fn from(e: &AppendError) -> Self {
        let code = e.code();
        let status = match code {
            "malformed-json" => StatusCode::BAD_REQUEST,
            "schema" | "bad-signature" | "future-event" | "unbound-event" | "compromised-since" => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            "unauthorized-issuer" | "revoked-key" | "issuer-suspended" | "not-operator" | "other-issuer" => {
                StatusCode::FORBIDDEN
            }
            "unknown-credential"
            | "unknown-issuer"
            | "unknown-key"
            | "issuer-name"
            | "unknown-status-list"
            | "status-list-proof" => StatusCode::UNPROCESSABLE_ENTITY,
            "unavailable" | "outcome-unknown" => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::CONFLICT,
        };
        Problem::new(status, code, e.to_string())
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind, self.detail)
    }
}

impl ResponseError for Problem {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        if matches!(self.status_code(), StatusCode::PAYLOAD_TOO_LARGE | StatusCode::REQUEST_TIMEOUT) {
            // The rest of the body may be unread: this connection cannot carry another request.
            response.force_close();
        }
        response.content_type("application/problem+json").json(self)
    }
}
